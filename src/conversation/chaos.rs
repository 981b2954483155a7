//! Demo-only commands, available when the agent runs on the simulator:
//! `chaos ENV error-rate N | latency MS | unhealthy | crash-loop | clear` arms a
//! fault for the next version deployed to ENV (so the live colour stays
//! healthy and the rollback has a baseline to return to), and `code` shows the
//! speaker's current TOTP code, standing in for an authenticator app.
//!
//! These are not in `intents/`: a production agent must not understand them.
//! They exist only in demo mode (`bot.demo = true`, which `switchyard demo`
//! sets) on the simulator; anywhere else `code` would turn MFA into one
//! factor, so both are simply not understood. Arming a fault breaks the next
//! deployment to ENV, so `chaos ENV` needs the right to deploy there.

use std::sync::Arc;

use super::Agent;
use crate::chat::{Incoming, Message};
use crate::cloud::sim::Fault;
use crate::config::Action as PolicyAction;
use crate::rollout::DeployRequest;

const USAGE: &str = "chaos ENV (error-rate PERCENT | latency MS | unhealthy | crash-loop | clear)";

pub(super) fn is_chaos(text: &str) -> bool {
    text.trim_start().to_ascii_lowercase().starts_with("chaos")
}

pub(super) fn is_code_request(text: &str) -> bool {
    matches!(
        text.trim().to_ascii_lowercase().as_str(),
        "code" | "my code" | "totp" | "authenticator" | "show my code"
    )
}

/// Reads `chaos ENV ...` into the environment word and the fault (None = clear).
fn parse(text: &str) -> Result<(String, Option<Fault>, String), String> {
    let words: Vec<String> = text
        .split_whitespace()
        .map(|w| w.to_ascii_lowercase())
        .collect();
    let number = |i: usize| -> Result<f64, String> {
        words
            .get(i)
            .and_then(|w| {
                w.trim_end_matches(['%', 's'])
                    .trim_end_matches("m")
                    .parse::<f64>()
                    .ok()
            })
            .filter(|n| n.is_finite() && *n >= 0.0)
            .ok_or_else(|| format!("give a number; usage: {USAGE}"))
    };
    let env = words
        .get(1)
        .cloned()
        .ok_or_else(|| format!("usage: {USAGE}"))?;
    let what = words.get(2).map(String::as_str).unwrap_or("");
    let (fault, said) = match what {
        "error-rate" | "errors" | "error" => {
            let n = number(3)?.min(100.0);
            (
                Some(Fault {
                    error_rate_percent: n,
                    ..Fault::default()
                }),
                format!("{n}% of requests fail"),
            )
        }
        "latency" => {
            let n = number(3)?;
            (
                Some(Fault {
                    extra_latency_ms: n,
                    ..Fault::default()
                }),
                format!("p99 latency +{n} ms"),
            )
        }
        "unhealthy" => (
            Some(Fault {
                never_healthy: true,
                ..Fault::default()
            }),
            "tasks never pass health checks".into(),
        ),
        "crash-loop" | "crashloop" => (
            Some(Fault {
                crash_loop: true,
                ..Fault::default()
            }),
            "tasks crash-loop".into(),
        ),
        "clear" | "off" | "none" => (None, "cleared".into()),
        _ => return Err(format!("I don't know that fault; usage: {USAGE}")),
    };
    if words.len()
        > if fault
            .as_ref()
            .is_some_and(|f| f.error_rate_percent > 0.0 || f.extra_latency_ms > 0.0)
        {
            4
        } else {
            3
        }
    {
        return Err(format!("too many words; usage: {USAGE}"));
    }
    Ok((env, fault, said))
}

impl Agent {
    /// True when `code` and `chaos` exist: in demo mode, on the simulator.
    pub(super) fn demo_helpers(&self) -> bool {
        self.config.bot.demo && self.sim.is_some()
    }

    pub(super) async fn chaos(self: &Arc<Self>, msg: &Incoming) {
        let (word, fault, said) = match parse(&msg.text) {
            Ok(parsed) => parsed,
            Err(why) => return self.refuse(&msg.channel, &why, None).await,
        };
        let Some(env) = self.config.environment(&word).map(|e| e.name.clone()) else {
            let known: Vec<&str> = self
                .config
                .environments
                .iter()
                .map(|e| e.name.as_str())
                .collect();
            let why = format!(
                "'{word}' is not an environment; the environments are {}",
                known.join(", ")
            );
            return self.refuse(&msg.channel, &why, None).await;
        };
        let doing = format!("arm chaos in {env}");
        if let Err(refusal) =
            crate::policy::may(&self.config, &msg.user, &env, PolicyAction::Deploy, &doing)
        {
            return self
                .refuse(&msg.channel, &refusal.to_string(), Some(&refusal.rule))
                .await;
        }
        let clear = fault.is_none();
        {
            let mut state = self.state.lock().expect("state lock");
            match fault {
                Some(f) => state.chaos.insert(env.clone(), f),
                None => state.chaos.remove(&env),
            };
        }
        // Clearing also ends what the simulator has in force now.
        if clear && let Some(sim) = &self.sim {
            let _ = sim.clear_faults(&env);
        }
        let text = self.render(
            "reply.j2",
            serde_json::json!({"kind": "chaos", "env": env, "what": said}),
        );
        self.say(&msg.channel, text).await;
    }

    /// Applies the fault armed for the request's environment to the version it
    /// deploys, just before it starts.
    pub(super) async fn arm_chaos(&self, req: &DeployRequest) {
        let Some(sim) = &self.sim else { return };
        let fault = self
            .state
            .lock()
            .expect("state lock")
            .chaos
            .get(&req.svc.env)
            .cloned();
        if let Some(fault) = fault {
            let fault = Fault {
                version: Some(req.version.clone()),
                ..fault
            };
            if let Err(e) = sim.set_fault(&req.svc.env, fault) {
                tracing::warn!(error = %e, "could not arm the chaos fault");
            }
        }
    }

    /// The speaker's current TOTP code, privately (the demo's authenticator).
    pub(super) async fn demo_code(&self, msg: &Incoming) {
        match self.mfa.current_code(&msg.user, self.clock.now_ms()).await {
            Ok((code, seconds)) => {
                let text = self.render("reply.j2", serde_json::json!({"kind": "code", "user": msg.user, "code": code, "seconds": seconds}));
                self.send(Message::private(&msg.channel, &msg.user, text))
                    .await;
            }
            Err(e) => self.refuse(&msg.channel, &e.to_string(), None).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chaos_commands_read_their_fault() {
        let (env, fault, _) = parse("chaos prd error-rate 20").unwrap();
        assert_eq!(env, "prd");
        assert_eq!(fault.unwrap().error_rate_percent, 20.0);
        assert!(
            parse("chaos prd unhealthy")
                .unwrap()
                .1
                .unwrap()
                .never_healthy
        );
        assert!(parse("chaos prd clear").unwrap().1.is_none());
        assert!(parse("chaos prd error-rate lots").is_err());
        assert!(parse("chaos prd meteor").is_err());
    }
}
