//! Answers that only read: status (what runs where, live from the cloud ports),
//! history and metrics (from the store, each table with its picture attached
//! when there is anything to draw), troubleshooting (a guide plus live
//! diagnostics).

use serde::Serialize;

use super::Agent;
use crate::chat::{Attachment, Incoming, Message};
use crate::cloud::{Cloud, Colour, Readiness, ServiceRef};
use crate::config::Config;
use crate::render::chart;
use crate::store::{DeploymentState, Store};

#[derive(Serialize)]
struct ColourView {
    colour: &'static str,
    role: &'static str,
    version: Option<String>,
    weight: u8,
    healthy: u32,
    desired: u32,
    restarts: u32,
}

#[derive(Serialize)]
struct EnvView {
    name: String,
    colours: Vec<ColourView>,
    lock: Option<String>,
    running: Option<String>,
}

/// The environments asked about: one, or all in promotion order.
fn envs(config: &Config, env: Option<String>) -> Vec<String> {
    match env {
        Some(env) => vec![env],
        None => config.environments.iter().map(|e| e.name.clone()).collect(),
    }
}

/// What runs where, for `status` in chat and `switchyard status`: both colours
/// of each environment's service with weights and health, the running
/// deployment and the lock, as the view of `prompts/status.j2`.
pub async fn status_view(
    config: &Config,
    cloud: &Cloud,
    store: &Store,
    env: Option<String>,
) -> serde_json::Value {
    let service = config
        .services
        .first()
        .map(|s| s.name.clone())
        .unwrap_or_else(|| "app".into());
    let mut out = Vec::new();
    for name in envs(config, env) {
        let svc = ServiceRef::new(&name, &service);
        let lock = store.lock_of(&name).await.ok().flatten().map(|l| {
            let reason = l.reason.map(|r| format!(" ({r})")).unwrap_or_default();
            format!("{}{reason}", l.locked_by)
        });
        let running = store.active_in(&name).await.ok().flatten().map(|d| {
            format!(
                "#{} {} by {} ({})",
                d.id,
                d.version,
                d.requested_by,
                d.state.as_str()
            )
        });
        out.push(EnvView {
            colours: colours(cloud, &svc).await,
            name,
            lock,
            running,
        });
    }
    serde_json::json!({ "envs": out })
}

/// Both colours of `svc` as the cloud reports them now.
async fn colours(cloud: &Cloud, svc: &ServiceRef) -> Vec<ColourView> {
    let weights = cloud.traffic.weights(svc).await.ok();
    let mut out = Vec::new();
    for colour in [Colour::Blue, Colour::Green] {
        let r = cloud
            .compute
            .readiness(svc, colour)
            .await
            .unwrap_or(Readiness {
                version: None,
                desired: 0,
                running: 0,
                healthy: 0,
                restarts: 0,
            });
        let weight = weights.map_or(0, |w| w.of(colour));
        let role = match (weight, r.desired) {
            (100, _) => "Active",
            (0, 0) => "Idle",
            (0, _) => "Standby",
            _ => "Shifting",
        };
        out.push(ColourView {
            colour: colour.as_str(),
            role,
            version: r.version,
            weight,
            healthy: r.healthy,
            desired: r.desired,
            restarts: r.restarts,
        });
    }
    out
}

/// A report's picture as an attachment named `name`, drawn on a blocking
/// thread (a chart is tens of milliseconds of CPU, which would stall every
/// other conversation on this worker). A picture is a bonus to the table:
/// if it cannot be drawn, the table goes alone and the log says why.
async fn picture<F>(name: &str, draw: F) -> Vec<Attachment>
where
    F: FnOnce() -> Result<Vec<u8>, chart::ChartError> + Send + 'static,
{
    match tokio::task::spawn_blocking(draw).await {
        Ok(Ok(bytes)) => vec![Attachment {
            name: name.to_string(),
            bytes,
        }],
        Ok(Err(e)) => {
            tracing::warn!(chart = name, error = %e, "could not draw a chart; sending the table alone");
            Vec::new()
        }
        Err(e) => {
            tracing::warn!(chart = name, error = %e, "drawing a chart failed; sending the table alone");
            Vec::new()
        }
    }
}

impl Agent {
    pub(crate) async fn status(&self, msg: &Incoming, env: Option<String>) {
        let view = status_view(&self.config, &self.cloud, &self.store, env).await;
        let text = self.render("status.j2", view);
        self.say(&msg.channel, text.trim_start().to_string()).await;
    }

    pub(crate) async fn history(&self, msg: &Incoming, env: Option<String>, limit: Option<u32>) {
        let now = self.clock.now_ms();
        match self
            .store
            .history_report(env.as_deref(), limit.unwrap_or(10), now)
            .await
        {
            Ok(summary) => {
                let text = self.renderer.history(env.as_deref(), &summary);
                let attachments = if summary.rows.is_empty() {
                    Vec::new()
                } else {
                    picture("history.png", move || {
                        chart::history_timeline(&summary, env.as_deref(), now)
                    })
                    .await
                };
                self.send(Message {
                    attachments,
                    ..Message::to_channel(&msg.channel, text)
                })
                .await
            }
            Err(e) => self.refuse(&msg.channel, &e.to_string(), None).await,
        }
    }

    pub(crate) async fn metrics(&self, msg: &Incoming, env: Option<String>, days: Option<u32>) {
        let now = self.clock.now_ms();
        let result = self
            .store
            .metrics_report(env.as_deref(), days.unwrap_or(7), now, |e| {
                self.config.position(e)
            })
            .await;
        match result {
            Ok(metrics) => {
                let text = self.renderer.metrics(&metrics);
                let attachments = if metrics.per_env.is_empty() {
                    Vec::new()
                } else {
                    picture("metrics.png", move || chart::metrics_chart(&metrics)).await
                };
                self.send(Message {
                    attachments,
                    ..Message::to_channel(&msg.channel, text)
                })
                .await
            }
            Err(e) => self.refuse(&msg.channel, &e.to_string(), None).await,
        }
    }

    /// The guide from `prompts/troubleshoot.j2`, plus for each environment asked
    /// about: both colours' readiness and weights, and the last failure on record.
    pub(crate) async fn troubleshoot(&self, msg: &Incoming, env: Option<String>) {
        let mut diagnostics = Vec::new();
        for name in envs(&self.config, env.clone()) {
            let svc = self.service(&name);
            let last_failure = self
                .store
                .history(Some(&name), 20)
                .await
                .unwrap_or_default()
                .into_iter()
                .find(|d| matches!(d.state, DeploymentState::Failed | DeploymentState::RolledBack))
                .map(|d| serde_json::json!({"id": d.id, "version": d.version, "reason": d.reason.unwrap_or_default()}));
            diagnostics.push(serde_json::json!({"env": name, "colours": colours(&self.cloud, &svc).await, "last_failure": last_failure}));
        }
        let text = self.render(
            "troubleshoot.j2",
            serde_json::json!({"env": env, "diagnostics": diagnostics}),
        );
        self.say(&msg.channel, text).await;
    }
}
