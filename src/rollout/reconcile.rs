//! The watcher of idle routes: every look (`engine.reconcile_every`) it
//! compares each service's route, read back from the Traffic port, with what
//! the last finished deployment left there (Succeeded: all traffic on its new
//! colour; rolled back, failed or aborted: all on its stable colour), and a
//! route that differs (split, or whole on the other colour) while nothing
//! runs in the environment is announced in the channel and the audit log and,
//! with `engine.reconcile = "repair"` (the default), put back. Like Argo
//! Rollouts' reconcile step it trusts observed state over memory, which is
//! what makes the system converge where fencing cannot reach: a replica
//! frozen between its lease check and its weight change (its change lands
//! after a survivor finished), or a weight changed by hand in the console.
//!
//! It never fights a deployment. One replica watches an environment at a
//! time (an environment lease in the store, renewed at every look; the
//! single process on the embedded store), and it looks at an environment
//! only under the lock the engine starts deployments under, only when no
//! deployment there is pending, running or paused, none is still driven by a
//! live lease (a post-deployment watch may still roll back), and just before
//! moving traffic it checks again that its environment lease was not fenced
//! by a deployment or rollback that began meanwhile on another replica.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use tokio::time::Instant;

use super::engine::{Engine, EngineError};
use super::events::EventKind;
use crate::cloud::{Colour, ServiceRef, Weights};
use crate::config::Reconcile;
use crate::intent::Strategy;
use crate::store::{Backend, Deployment, DeploymentState, Take};

/// `engine.reconcile_every` unless configured.
pub const DEFAULT_EVERY: Duration = Duration::from_secs(5);

/// One route found different from what its last finished deployment left.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Drift {
    pub svc: ServiceRef,
    /// The finished deployment whose outcome the route should show.
    pub deployment: i64,
    pub found: Weights,
    pub expected: Weights,
    /// Put back to `expected` in this look.
    pub restored: bool,
    /// Why it was not put back, when it was not (alert mode, the colour it
    /// belongs on cannot take traffic, the cloud refused).
    pub detail: Option<String>,
}

/// The watcher's memory: its mode, its pace, the environments it watches
/// and the drifts it already announced.
pub(super) struct Routes {
    pub mode: Reconcile,
    pub every: Duration,
    /// Environment -> this engine's hold on watching it.
    watches: Mutex<HashMap<String, Watch>>,
    /// Drifts announced and not put back, so that a route left as found (in
    /// alert mode, or while a repair keeps failing) is announced once, not
    /// at every look.
    announced: Mutex<HashMap<ServiceRef, Weights>>,
}

/// This engine's lease on watching one environment.
struct Watch {
    token: i64,
    /// By this process's monotonic clock: past it, a stall may have outlived
    /// the lease, so nothing moves until the next look takes it again.
    valid_until: Instant,
}

impl Routes {
    pub fn new(mode: Reconcile, every: Option<Duration>) -> Routes {
        Routes {
            mode,
            every: every.unwrap_or(DEFAULT_EVERY),
            watches: Mutex::new(HashMap::new()),
            announced: Mutex::new(HashMap::new()),
        }
    }
}

/// What a repair came to.
enum Repair {
    Restored,
    /// Not put back, for this reason (announced).
    Refused(String),
    /// Something began in the environment meanwhile: not ours to judge now.
    StoodBack,
}

/// The colour a finished deployment left all the traffic on; `None` for a
/// row too old to say.
fn left_on(d: &Deployment) -> Option<Colour> {
    let new = d.new_colour?;
    let stable = match d.strategy {
        Strategy::Rolling => new,
        _ => d.live_colour.unwrap_or(new.other()),
    };
    Some(match d.state {
        DeploymentState::Succeeded => new,
        _ => stable,
    })
}

impl Engine {
    /// Looks at every idle route this engine watches once, as described in
    /// the module comment; returns the drifts it announced.
    pub async fn reconcile(&self) -> Result<Vec<Drift>, EngineError> {
        let mut by_env: BTreeMap<String, Vec<Deployment>> = BTreeMap::new();
        for d in self.core.store.last_outcomes().await? {
            by_env.entry(d.env.clone()).or_default().push(d);
        }
        let mut drifts = Vec::new();
        for (env, finished) in by_env {
            let Some(token) = self.watch_env(&env).await? else {
                continue;
            };
            // The lock starts take: no deployment can be recorded here while
            // this environment is judged and repaired.
            let _claim = self.starting.lock().await;
            if self.busy(&env).await? {
                continue;
            }
            for d in &finished {
                if let Some(drift) = self.reconcile_one(d, token).await? {
                    drifts.push(drift);
                }
            }
        }
        Ok(drifts)
    }

    /// Runs [`Engine::reconcile`] every `engine.reconcile_every` for as long
    /// as the engine lives.
    pub fn watch_routes(self: &Arc<Self>) {
        let engine: Weak<Engine> = Arc::downgrade(self);
        let every = self.routes.every;
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                let Some(engine) = engine.upgrade() else {
                    return;
                };
                if let Err(e) = engine.reconcile().await {
                    tracing::warn!(error = %e, "looking at idle routes failed");
                }
            }
        });
    }

    /// Takes `env`'s watch lease whoever holds it, before moving its route
    /// (a deployment being recorded, a rollback): a watcher elsewhere that
    /// looked before finds its token moved on and stands back, and this
    /// engine watches the environment next.
    pub(super) async fn take_route(&self, env: &str) -> Result<(), EngineError> {
        self.take_watch(env, Take::Always).await.map(|_| ())
    }

    /// Takes or renews the lease on watching `env` at a look; its token
    /// while this engine watches it.
    async fn watch_env(&self, env: &str) -> Result<Option<i64>, EngineError> {
        // On the embedded store any other holder is this process's previous life.
        let take = match self.core.store.backend() {
            Backend::Sqlite => Take::Always,
            Backend::Postgres => Take::IfFree,
        };
        self.take_watch(env, take).await
    }

    async fn take_watch(&self, env: &str, take: Take) -> Result<Option<i64>, EngineError> {
        let core = &self.core;
        // Three looks' worth, and never shorter than a deployment lease.
        let ttl = (self.routes.every * 3).max(core.lease_ttl);
        let asked = Instant::now();
        let token = core
            .store
            .take_env_lease(
                env,
                &core.replica,
                core.clock.now_ms(),
                ttl.as_millis() as i64,
                take,
            )
            .await?;
        let mut watches = self.routes.watches.lock().expect("watches lock");
        match token {
            Some(token) => {
                watches.insert(
                    env.to_owned(),
                    Watch {
                        token,
                        valid_until: asked + ttl,
                    },
                );
            }
            None => {
                watches.remove(env);
            }
        }
        Ok(token)
    }

    /// Whether anything may still move `env`'s traffic: a deployment there
    /// that is not finished, a task of this engine, or, on a shared store, a
    /// live lease of another replica's task (a post-deployment watch may
    /// roll back). On the embedded store every task is this engine's, and
    /// its lease rows are not renewed in the store, so only the first two count.
    async fn busy(&self, env: &str) -> Result<bool, EngineError> {
        let core = &self.core;
        if core.store.active_in(env).await?.is_some() || core.drives_in(env) {
            return Ok(true);
        }
        Ok(core.store.backend() == Backend::Postgres
            && core.store.driven_in(env, core.clock.now_ms()).await?)
    }

    /// Whether this engine may move `env`'s traffic now: it still watches
    /// the environment (by its own clock and by the store's token, which a
    /// deployment or rollback begun on another replica moves on), and
    /// nothing began there.
    async fn may_move(&self, env: &str, token: i64) -> Result<bool, EngineError> {
        let valid = self
            .routes
            .watches
            .lock()
            .expect("watches lock")
            .get(env)
            .is_some_and(|w| w.token == token && Instant::now() < w.valid_until);
        let core = &self.core;
        Ok(valid
            && core
                .store
                .holds_env_lease(env, &core.replica, token)
                .await?
            && !self.busy(env).await?)
    }

    /// Compares one service's route with what `d` left; announces (and,
    /// in repair mode, restores) a difference.
    async fn reconcile_one(
        &self,
        d: &Deployment,
        token: i64,
    ) -> Result<Option<Drift>, EngineError> {
        let core = &self.core;
        let Some(colour) = left_on(d) else {
            return Ok(None);
        };
        let svc = ServiceRef::new(&d.env, &d.service);
        let expected = Weights::all(colour);
        let found = match core
            .retry
            .run("reading weights", || core.cloud.traffic.weights(&svc))
            .await
        {
            Ok(found) => found,
            Err(e) => {
                tracing::warn!(%svc, error = %e, "could not read a route to reconcile it");
                return Ok(None);
            }
        };
        if found == expected {
            self.routes
                .announced
                .lock()
                .expect("announced lock")
                .remove(&svc);
            return Ok(None);
        }
        let repair = match self.routes.mode {
            Reconcile::Alert => {
                Repair::Refused("engine.reconcile is \"alert\": a person decides".to_string())
            }
            Reconcile::Repair => self.restore(&svc, colour, token).await?,
        };
        let (restored, detail) = match repair {
            Repair::StoodBack => return Ok(None),
            Repair::Restored => (true, None),
            Repair::Refused(why) => (false, Some(why)),
        };
        {
            let mut announced = self.routes.announced.lock().expect("announced lock");
            if restored {
                announced.remove(&svc);
            } else if announced.insert(svc.clone(), found) == Some(found) {
                // Said at an earlier look; still as it was found then.
                return Ok(None);
            }
        }
        let outcome = if restored {
            "restored"
        } else if self.routes.mode == Reconcile::Alert {
            "alerted"
        } else {
            "not_restored"
        };
        tracing::warn!(%svc, %found, %expected, outcome, "route differs from the last finished deployment");
        let what = format!("found {found}, #{} left {expected}", d.id);
        let audit_detail = match &detail {
            Some(why) => format!("{what}; {why}"),
            None => what,
        };
        core.audit(
            "switchyard",
            "reconcile",
            &d.env,
            Some(d.id),
            outcome,
            Some(&audit_detail),
        )
        .await;
        core.emit(
            d.id,
            &svc,
            EventKind::RouteDrift {
                found,
                expected,
                restored,
                detail: detail.clone(),
            },
        );
        Ok(Some(Drift {
            svc,
            deployment: d.id,
            found,
            expected,
            restored,
            detail,
        }))
    }

    /// Puts all of `svc`'s traffic back on `colour`, if that colour can take
    /// it and nothing began in the environment since the look.
    async fn restore(
        &self,
        svc: &ServiceRef,
        colour: Colour,
        token: i64,
    ) -> Result<Repair, EngineError> {
        let core = &self.core;
        let ready = match core
            .retry
            .run("reading readiness", || {
                core.cloud.compute.readiness(svc, colour)
            })
            .await
        {
            Ok(r) => r,
            Err(e) => {
                return Ok(Repair::Refused(format!(
                    "could not read {colour}'s tasks: {e}"
                )));
            }
        };
        if !ready.is_ready() {
            return Ok(Repair::Refused(format!(
                "{colour} cannot take the traffic: {}/{} tasks healthy",
                ready.healthy, ready.desired
            )));
        }
        if !self.may_move(&svc.env, token).await? {
            return Ok(Repair::StoodBack);
        }
        match core
            .retry
            .set_weights(core.cloud.traffic.as_ref(), svc, Weights::all(colour))
            .await
        {
            Ok(()) => Ok(Repair::Restored),
            Err(e) => Ok(Repair::Refused(format!(
                "the weights could not be set: {e}"
            ))),
        }
    }
}
