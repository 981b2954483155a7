//! This engine's hold on the deployments it drives: one lease per deployment
//! in the store ([`crate::store::Lease`]), renewed in the background, checked
//! before every journal write (and so before every side effect).
//!
//! Two checks guard each write. The local one: the lease's expiry by this
//! process's own monotonic clock, counted from when the last renewal was
//! *sent*, so a process that was stopped (SIGSTOP, a long GC-like stall, a
//! partition) and wakes after its lease ran out knows it may no longer act,
//! even before it can reach the database. The shared one: the store still
//! shows this replica's token (another replica taking the lease bumps it).
//! Either failing means the lease is lost: the deployment's task is stopped
//! at once, without rolling back or finishing anything, because by then
//! another replica drives it. On the embedded SQLite store no other process
//! can take a lease, so only the local check runs there, and a renewal only
//! moves the local expiry (no write per lease every few seconds).

use std::sync::{Arc, Weak};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

use super::core::Core;
use crate::store::{Backend, Lease, StoreError, Take};

/// What this engine knows of one lease it holds.
pub(super) struct Tenure {
    pub token: i64,
    /// Past this instant the lease may have expired in the store: act no more
    /// until a renewal succeeds.
    pub valid_until: Instant,
    /// Told when the lease is lost; the deployment's task ends on it.
    pub lost: Arc<Notify>,
}

impl Core {
    fn ttl_ms(&self) -> i64 {
        self.lease_ttl.as_millis() as i64
    }

    /// Takes deployment `id`'s lease as `take` allows; `Some` when this
    /// engine now drives it (the lease the store holds, with the previous
    /// owner's name replaced by ours).
    pub async fn take_lease(&self, id: i64, take: Take) -> Result<Option<Lease>, StoreError> {
        let asked = Instant::now();
        let now = self.clock.now_ms();
        let lease = self
            .store
            .take_lease(id, &self.replica, now, self.ttl_ms(), take)
            .await?;
        if let Some(l) = &lease {
            self.tenures.lock().expect("tenures lock").insert(
                id,
                Tenure {
                    token: l.token,
                    valid_until: asked + self.lease_ttl,
                    lost: Arc::new(Notify::new()),
                },
            );
            self.leases_changed.notify_one();
        }
        Ok(lease)
    }

    /// The signal that ends deployment `id`'s task when its lease is lost.
    pub fn lost_signal(&self, id: i64) -> Arc<Notify> {
        match self.tenures.lock().expect("tenures lock").get(&id) {
            Some(t) => t.lost.clone(),
            // Not held: a task for it must not run at all.
            None => {
                let lost = Arc::new(Notify::new());
                lost.notify_one();
                lost
            }
        }
    }

    /// Whether this engine may still act for deployment `id` (see the module
    /// comment). A `false` also marks the lease lost.
    pub async fn still_holds(&self, id: i64) -> bool {
        let held = self
            .tenures
            .lock()
            .expect("tenures lock")
            .get(&id)
            .map(|t| (t.token, t.valid_until));
        let Some((token, valid_until)) = held else {
            return false;
        };
        if Instant::now() >= valid_until {
            self.lose(id, "its lease ran out before it was renewed");
            return false;
        }
        if self.store.backend() == Backend::Sqlite {
            return true;
        }
        match self.store.holds_lease(id, &self.replica, token).await {
            Ok(true) => true,
            Ok(false) => {
                self.lose(id, "another replica took its lease");
                false
            }
            // The local expiry still bounds how long this can go on.
            Err(e) => {
                tracing::warn!(deployment = id, error = %e, "could not check a lease; trusting its expiry");
                true
            }
        }
    }

    /// Forgets the lease of deployment `id` and stops its task.
    pub fn lose(&self, id: i64, why: &str) {
        if let Some(t) = self.tenures.lock().expect("tenures lock").remove(&id) {
            tracing::warn!(
                deployment = id,
                why,
                "lost the deployment's lease; stopped driving it"
            );
            t.lost.notify_one();
        }
    }

    /// Stops renewing the lease of a deployment that ended here.
    pub fn done_with(&self, id: i64) {
        self.tenures.lock().expect("tenures lock").remove(&id);
    }

    /// Gives every held lease back (a clean shutdown): another replica takes
    /// the deployments over at its next look instead of after the expiry.
    /// Returns how many were released.
    pub async fn release_all(&self) -> usize {
        let held: Vec<(i64, Tenure)> = self.tenures.lock().expect("tenures lock").drain().collect();
        let mut released = 0;
        for (id, t) in held {
            t.lost.notify_one();
            match self.store.release_lease(id, &self.replica, t.token).await {
                Ok(true) => released += 1,
                Ok(false) => {}
                Err(e) => tracing::warn!(deployment = id, error = %e, "could not release a lease"),
            }
        }
        released
    }

    /// The ids of the deployments this engine holds leases on.
    pub fn held_ids(&self) -> Vec<i64> {
        let mut ids: Vec<i64> = self
            .tenures
            .lock()
            .expect("tenures lock")
            .keys()
            .copied()
            .collect();
        ids.sort_unstable();
        ids
    }

    /// One round of renewals; a lease another replica took is lost.
    async fn renew_held(&self) {
        let held: Vec<(i64, i64)> = self
            .tenures
            .lock()
            .expect("tenures lock")
            .iter()
            .map(|(id, t)| (*id, t.token))
            .collect();
        // On the embedded store no other process can take a lease: renewing
        // is only this process's own clock (no write, no fsync per lease).
        if self.store.backend() == Backend::Sqlite {
            let until = Instant::now() + self.lease_ttl;
            for t in self.tenures.lock().expect("tenures lock").values_mut() {
                t.valid_until = until;
            }
            return;
        }
        for (id, token) in held {
            let asked = Instant::now();
            let now = self.clock.now_ms();
            match self
                .store
                .renew_lease(id, &self.replica, token, now, self.ttl_ms())
                .await
            {
                Ok(true) => {
                    if let Some(t) = self.tenures.lock().expect("tenures lock").get_mut(&id)
                        && t.token == token
                    {
                        t.valid_until = asked + self.lease_ttl;
                    }
                }
                Ok(false) => self.lose(id, "another replica took its lease"),
                Err(e) => {
                    tracing::warn!(deployment = id, error = %e, "could not renew a lease; retrying")
                }
            }
        }
    }
}

/// How often held leases are renewed: three chances before one expires.
pub(super) fn renew_every(ttl: Duration) -> Duration {
    ttl / 3
}

/// Renews `core`'s leases until the engine is dropped. Sleeps without a
/// timer while nothing is held, so an idle engine does not wake a paused
/// test clock.
pub(super) async fn keep_renewing(core: Weak<Core>) {
    loop {
        let (every, changed) = {
            let Some(core) = core.upgrade() else { return };
            let idle = core.tenures.lock().expect("tenures lock").is_empty();
            (
                (!idle).then(|| renew_every(core.lease_ttl)),
                core.leases_changed.clone(),
            )
        };
        match every {
            Some(every) => tokio::time::sleep(every).await,
            None => {
                // `notified()` registered before the re-check, so a lease taken
                // in between is not missed.
                let notified = changed.notified();
                let idle = match core.upgrade() {
                    Some(core) => core.tenures.lock().expect("tenures lock").is_empty(),
                    None => return,
                };
                if idle {
                    notified.await;
                }
                continue;
            }
        }
        let Some(core) = core.upgrade() else { return };
        core.renew_held().await;
    }
}
