//! Which replica a line belongs to, when several share one store and each
//! one's chat connection receives every line.
//!
//! Most lines belong to whoever claims them first. Three kinds belong to one
//! replica, because only it holds what the line is about: an answer (or any
//! line) from someone the replica asked a question (it holds the action the
//! "yes" or the code is for, though any replica takes the question over from
//! the store once it is gone); `approve` / `deny` of a request (the replica
//! holding the pending deployment's lease waits for the approvals); and
//! `pause` / `resume` / `abort` of an environment (the replica holding the
//! running deployment's lease drives it). A replica that is no longer alive
//! holds nothing: its question rows and leases expire, and the line goes to
//! whoever claims it (by then a survivor has taken the deployment over).

use super::Agent;
use crate::chat::Incoming;
use crate::intent::Intent;

impl Agent {
    /// The replica other than this one that must handle `msg`, if any. A line
    /// this says nothing about is anybody's; a store that cannot be asked
    /// makes it anybody's too (the claim still keeps it from being handled
    /// twice).
    pub async fn belongs_elsewhere(&self, msg: &Incoming) -> Option<String> {
        let me = self.engine.replica();
        let owner = self.owner_of(msg).await?;
        (owner != me).then_some(owner)
    }

    async fn owner_of(&self, msg: &Incoming) -> Option<String> {
        let now = self.clock.now_ms();
        let store = &self.store;
        if let Ok(Some(open)) = store.open_question(&msg.channel, &msg.user, now).await {
            // A question of a replica that is gone is anybody's: whoever
            // claims the answer takes the question over.
            return self
                .engine
                .is_alive(&open.replica)
                .await
                .then_some(open.replica);
        }
        let deployment = match self.grammar.parse(&msg.text).ok()? {
            Intent::Approve { id } | Intent::Deny { id, .. } => match id {
                Some(id) => i64::try_from(id).ok()?,
                // The one request pending in the channel.
                None => self.pending_in(&msg.channel).await?,
            },
            Intent::Abort { env } | Intent::Pause { env } | Intent::Resume { env } => {
                let env = match env {
                    Some(env) => env.0,
                    None => self.only_active_env().await?,
                };
                store.active_in(&env).await.ok()??.id
            }
            _ => return None,
        };
        store.lease_holder(deployment, now).await.ok()?
    }

    /// The id of the only deployment waiting for approval that was asked for
    /// in `channel`.
    async fn pending_in(&self, channel: &str) -> Option<i64> {
        let unfinished = self.store.unfinished().await.ok()?;
        let mut waiting = Vec::new();
        for d in unfinished
            .iter()
            .filter(|d| d.state == crate::store::DeploymentState::Pending)
        {
            if self.store.channel_of(d.id).await.ok()?.as_deref() == Some(channel) {
                waiting.push(d.id);
            }
        }
        match waiting.as_slice() {
            [one] => Some(*one),
            _ => None,
        }
    }

    /// The environment of the only running or paused deployment.
    async fn only_active_env(&self) -> Option<String> {
        let unfinished = self.store.unfinished().await.ok()?;
        let active: Vec<&crate::store::Deployment> = unfinished
            .iter()
            .filter(|d| d.state != crate::store::DeploymentState::Pending)
            .collect();
        match active.as_slice() {
            [one] => Some(one.env.clone()),
            _ => None,
        }
    }
}
