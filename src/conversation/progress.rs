//! Streaming a deployment's progress into the channel that asked for it, in the
//! shape of the seed conversations: phase headers, one line per traffic step
//! with its error rate, the verification figures, and the final state with the
//! standby colour (or the rollback with its reason and numbers).
//!
//! The engine emits many analysis events per step; people need one line per
//! step and every failure, so this keeps a little memory per deployment (which
//! phase number is next, which step was already reported).

use std::collections::HashMap;
use std::sync::Weak;

use tokio::sync::broadcast;

use super::Agent;
use crate::chat::{Message, Progress};
use crate::cloud::{Colour, Weights};
use crate::rollout::analysis::Measurement;
use crate::rollout::{Event, EventKind, Verdict};
use crate::store::DeploymentState;

/// What the stream remembers about one deployment.
#[derive(Default)]
struct Seen {
    phase: u32,
    reported_percent: Option<u8>,
    weights: Option<Weights>,
    /// The latest passing judgement at 100%, for the verification summary.
    verified: Option<Measurement>,
}

/// Spawns the task that renders every engine event for chat.
pub(super) fn stream(agent: Weak<Agent>, mut events: broadcast::Receiver<Event>) {
    tokio::spawn(async move {
        let mut seen: HashMap<i64, Seen> = HashMap::new();
        loop {
            let event = match events.recv().await {
                Ok(e) => e,
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    tracing::warn!(
                        missed = n,
                        "progress stream fell behind; some lines were not shown"
                    );
                    if let Some(agent) = agent.upgrade() {
                        agent
                            .events_shown
                            .fetch_add(n as usize, std::sync::atomic::Ordering::SeqCst);
                    }
                    continue;
                }
                Err(broadcast::error::RecvError::Closed) => return,
            };
            let Some(agent) = agent.upgrade() else { return };
            let memory = seen.entry(event.deployment).or_default();
            if let Some(text) = agent.render_event(&event, memory).await {
                let known = agent
                    .state
                    .lock()
                    .expect("state lock")
                    .channels
                    .get(&event.deployment)
                    .cloned();
                // A deployment this replica took over was asked for elsewhere.
                let channel = match known {
                    Some(c) => c,
                    None => match agent.store.channel_of(event.deployment).await {
                        Ok(found) => {
                            let c =
                                found.unwrap_or_else(|| crate::chat::console::CHANNEL.to_string());
                            agent
                                .state
                                .lock()
                                .expect("state lock")
                                .channels
                                .insert(event.deployment, c.clone());
                            c
                        }
                        _ => crate::chat::console::CHANNEL.to_string(),
                    },
                };
                let news = matches!(
                    event.kind,
                    EventKind::RollingBack { .. }
                        | EventKind::Finished { .. }
                        | EventKind::ScaledDown { .. }
                        | EventKind::RouteDrift { .. }
                );
                let percent = match &event.kind {
                    EventKind::Analysis { percent, .. } => Some(*percent),
                    _ => None,
                };
                // The environment's notification channel hears the news, and
                // that a deployment started, wherever it was asked for.
                if news || matches!(event.kind, EventKind::Started { .. }) {
                    agent.notify(&event.env, text.clone(), Vec::new()).await;
                }
                agent
                    .send(Message {
                        deployment: Some(Progress {
                            id: event.deployment,
                            env: event.env.clone(),
                            live: !news,
                            percent,
                            done: matches!(event.kind, EventKind::Finished { .. }),
                            title: None,
                        }),
                        ..Message::to_channel(&channel, text)
                    })
                    .await;
            }
            // A drift is about a deployment already over: nothing to remember.
            if matches!(
                event.kind,
                EventKind::Finished { .. } | EventKind::RouteDrift { .. }
            ) {
                seen.remove(&event.deployment);
            }
            // A pending deployment taken over from a replica that is gone:
            // its approval request is this replica's now.
            if let EventKind::Recovered { from: Some(_), .. } = &event.kind
                && let Ok(Some(d)) = agent.store.deployment(event.deployment).await
                && d.state == DeploymentState::Pending
            {
                agent.adopt_approval(event.deployment).await;
            }
            agent
                .events_shown
                .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    });
}

fn percent(v: f64) -> String {
    format!("{v:.2}%")
}

fn millis(v: Option<f64>) -> Option<String> {
    v.map(|p| format!("{p:.0}ms"))
}

fn duration(ms: i64) -> String {
    let s = ms.max(0) / 1000;
    if s >= 60 {
        format!("{}m {:02}s", s / 60, s % 60)
    } else {
        format!("{s}s")
    }
}

impl Agent {
    async fn render_event(&self, event: &Event, seen: &mut Seen) -> Option<String> {
        let id = event.deployment;
        let view = match &event.kind {
            EventKind::Started {
                version,
                previous,
                strategy,
                live_colour,
                new_colour,
            } => {
                seen.weights = Some(Weights::all(*live_colour));
                let what = if strategy == "rolling" {
                    "rolling update"
                } else {
                    "deployment"
                };
                serde_json::json!({
                    "kind": "started", "what": what, "id": id, "version": version, "env": event.env,
                    "strategy": strategy, "live": live_colour.as_str(), "new": new_colour.as_str(),
                    "previous": previous,
                })
            }
            EventKind::PhaseStarted { phase } => {
                let title = match phase.as_str() {
                    "deploy" => "Deploying the new version...".to_string(),
                    "readiness" => "Waiting for tasks to be ready and healthy...".to_string(),
                    "traffic shift" => "Traffic shift starting...".to_string(),
                    "verification" => "Verification at 100%...".to_string(),
                    "finalize" => return None,
                    "post-deployment watch" => {
                        "Post-deployment watch (the old colour stands by)...".to_string()
                    }
                    other => other.to_string(),
                };
                // The watch comes after the success message: a note, not a numbered phase.
                let number = (phase != "post-deployment watch").then(|| {
                    seen.phase += 1;
                    seen.phase
                });
                serde_json::json!({"kind": "phase", "number": number, "title": title})
            }
            EventKind::Deployed { colour, version } => {
                serde_json::json!({"kind": "deployed", "colour": colour.as_str(), "version": version})
            }
            EventKind::Ready {
                healthy, desired, ..
            } => {
                serde_json::json!({"kind": "ready", "healthy": healthy, "desired": desired})
            }
            EventKind::WeightsChanged { weights } => {
                seen.weights = Some(*weights);
                return None;
            }
            EventKind::Analysis {
                percent: p,
                verdict,
            } => {
                let m = *verdict.measured();
                let failed = matches!(verdict, Verdict::Fail { .. });
                if matches!(verdict, Verdict::Inconclusive { .. }) {
                    return None;
                }
                if !failed && seen.reported_percent == Some(*p) {
                    // Later judgements of a step already reported: remember the
                    // latest at 100% for the verification summary.
                    if *p == 100 {
                        seen.verified = Some(m);
                    }
                    return None;
                }
                seen.reported_percent = Some(*p);
                let weights = match seen.weights {
                    Some(w) => w,
                    // Taken over after a restart: no Started event was seen here.
                    None => {
                        let svc = crate::cloud::ServiceRef::new(&event.env, &event.service);
                        let w = self.cloud.traffic.weights(&svc).await.ok()?;
                        seen.weights = Some(w);
                        w
                    }
                };
                serde_json::json!({
                    "kind": "step", "percent": p, "blue": weights.blue, "green": weights.green,
                    "mark": if failed { "✗" } else { "✓" }, "error_rate": percent(m.error_rate_percent),
                    "p99": millis(m.p99_ms), "baseline": millis(m.baseline_p99_ms),
                })
            }
            EventKind::Paused => {
                let svc = crate::cloud::ServiceRef::new(&event.env, &event.service);
                let now = self.cloud.traffic.weights(&svc).await.ok();
                let green = now.or(seen.weights).map_or(0, |w| w.green);
                serde_json::json!({"kind": "paused", "id": id, "green": green, "env": event.env})
            }
            EventKind::Resumed => serde_json::json!({"kind": "resumed", "id": id}),
            EventKind::RollingBack { reason, .. } => {
                serde_json::json!({"kind": "rolling_back", "id": id, "reason": reason})
            }
            EventKind::ScaledDown { colour, version } => {
                serde_json::json!({"kind": "scaled_down", "id": id, "colour": colour.as_str(),
                    "version": version, "env": event.env})
            }
            EventKind::Recovered {
                resumed,
                detail,
                from,
            } => {
                serde_json::json!({"kind": "recovered", "id": id, "resumed": resumed, "detail": detail, "from": from})
            }
            EventKind::RouteDrift {
                found,
                expected,
                restored,
                detail,
            } => {
                let colour = expected.whole().unwrap_or(Colour::Blue);
                serde_json::json!({
                    "kind": "drift", "id": id, "env": event.env, "service": event.service,
                    "found_blue": found.blue, "found_green": found.green,
                    "colour": colour.as_str(), "restored": restored, "detail": detail,
                })
            }
            EventKind::Finished {
                state,
                duration_ms,
                reason,
            } => {
                let d = self.store.deployment(id).await.ok().flatten()?;
                let new = d.new_colour.unwrap_or(Colour::Green);
                let stable = d.live_colour.unwrap_or(new.other());
                let kind = if *state == DeploymentState::Succeeded {
                    "succeeded"
                } else {
                    "rolled_back"
                };
                let outcome = match state {
                    DeploymentState::Aborted => "aborted",
                    DeploymentState::Failed => "failed and was rolled back",
                    _ => "rolled back",
                };
                let finished = self.render_progress(
                    serde_json::json!({
                        "kind": kind, "id": id, "duration": duration(*duration_ms), "version": d.version,
                        "previous": d.previous_version, "new": new.as_str(), "stable": stable.as_str(),
                        "outcome": outcome, "reason": reason, "in_place": new == stable,
                    }),
                );
                // The verification figures lead the success message, as in the seed.
                let verified = seen.verified.filter(|_| *state == DeploymentState::Succeeded).map(|m| {
                    self.render_progress(
                        serde_json::json!({"kind": "verified", "error_rate": percent(m.error_rate_percent),
                            "p99": millis(m.p99_ms), "baseline": millis(m.baseline_p99_ms)}),
                    )
                });
                return Some(match verified {
                    Some(v) => format!("{v}\n\n{finished}"),
                    None => finished,
                });
            }
        };
        Some(self.render_progress(view))
    }

    /// A progress message: indented step lines keep their indentation, and the
    /// line breaks around the template's tags go.
    fn render_progress(&self, view: serde_json::Value) -> String {
        self.render("progress.j2", view)
            .trim_matches('\n')
            .to_string()
    }
}
