//! Deployment leases: who drives a running deployment when several replicas
//! share one store. First the store's rules on both backends (a lease is
//! taken once, only after it expired, each take bumps the fencing token),
//! then two engines ("replicas" a and b, one process, one simulated fleet)
//! on one PostgreSQL database, on tokio's paused clock: a replica that dies
//! mid-rollout is taken over within the lease, one that hands over on a clean
//! stop is taken over at once, a live one is never taken over.

use std::time::Duration;

use switchyard::clock::Clock;
use switchyard::cloud::sim::{Sim, SimOptions};
use switchyard::cloud::{ServiceRef, Weights};
use switchyard::config::{Analysis, Inconclusive, Plan};
use switchyard::intent::Strategy;
use switchyard::rollout::{DeployRequest, Engine, EngineOptions, Event, EventKind, Retry};
use switchyard::store::{DeploymentState, NewDeployment, Store, Take};
use tokio::sync::broadcast;
use tokio::time::Instant;

use crate::databases::Db;

/// 2026-01-01T00:00:00Z.
const T0: i64 = 1_767_225_600_000;
const TTL: i64 = 15_000;

fn deployment(env: &str, created_at: i64) -> NewDeployment {
    NewDeployment {
        env: env.into(),
        service: "api".into(),
        version: "1.3.0".into(),
        previous_version: Some("1.2.0".into()),
        strategy: Strategy::BlueGreen,
        requested_by: "alice".into(),
        approvers: vec![],
        emergency: false,
        created_at,
        live_colour: None,
        new_colour: None,
    }
}

crate::on_both_stores!(a_lease_is_taken_once_and_again_only_after_it_expired, db => {
    let store = Store::open(&db.url()).await.unwrap();
    let id = store.create_deployment(&deployment("prd", T0)).await.unwrap();

    let a = store.take_lease(id, "a", T0, TTL, Take::IfFree).await.unwrap().unwrap();
    assert_eq!((a.owner.as_str(), a.token, a.expires_at), ("a", 1, T0 + TTL));
    assert!(
        store.take_lease(id, "b", T0 + TTL - 1, TTL, Take::IfFree).await.unwrap().is_none(),
        "b cannot take a lease a holds"
    );
    assert!(store.renew_lease(id, "a", 1, T0 + 5_000, TTL).await.unwrap());
    assert!(
        store.take_lease(id, "b", T0 + TTL + 1, TTL, Take::IfFree).await.unwrap().is_none(),
        "the renewal moved the expiry to {}", T0 + 5_000 + TTL
    );

    let at = T0 + 5_000 + TTL;
    let b = store.take_lease(id, "b", at, TTL, Take::IfFree).await.unwrap().unwrap();
    assert_eq!((b.owner.as_str(), b.token), ("b", 2), "the take bumps the token");
    assert!(!store.holds_lease(id, "a", 1).await.unwrap(), "a lost it");
    assert!(!store.renew_lease(id, "a", 1, at, TTL).await.unwrap(), "a cannot renew it back");
    assert!(!store.release_lease(id, "a", 1).await.unwrap(), "nor release b's lease");
    assert!(store.holds_lease(id, "b", 2).await.unwrap());
});

crate::on_both_stores!(a_released_lease_is_free_at_once_and_always_takes_any, db => {
    let store = Store::open(&db.url()).await.unwrap();
    let id = store.create_deployment(&deployment("prd", T0)).await.unwrap();
    store.take_lease(id, "a", T0, TTL, Take::IfFree).await.unwrap().unwrap();
    assert!(store.release_lease(id, "a", 1).await.unwrap());
    assert!(
        !store.renew_lease(id, "a", 1, T0 + 1, TTL).await.unwrap(),
        "a renewal on its way when the lease was released cannot revive it"
    );
    let b = store.take_lease(id, "b", T0 + 1, TTL, Take::IfFree).await.unwrap().unwrap();
    assert_eq!(b.token, 3);
    // The embedded store's restart: whoever held it was this process before.
    let c = store.take_lease(id, "c", T0 + 2, TTL, Take::Always).await.unwrap().unwrap();
    assert_eq!((c.owner.as_str(), c.token), ("c", 4));
    assert!(store.take_lease(9_999, "a", T0, TTL, Take::IfFree).await.is_err(), "no such deployment");
});

crate::on_both_stores!(orphans_are_unfinished_deployments_with_an_expired_or_missing_lease, db => {
    let store = Store::open(&db.url()).await.unwrap();
    let held = store.create_deployment(&deployment("prd", T0)).await.unwrap();
    let expired = store.create_deployment(&deployment("tst", T0)).await.unwrap();
    let never_leased = store.create_deployment(&deployment("dev", T0)).await.unwrap();
    let finished = store.create_deployment(&deployment("qa", T0)).await.unwrap();
    let now = T0 + 20_000;
    store.take_lease(held, "a", now - 1_000, TTL, Take::IfFree).await.unwrap().unwrap();
    store.take_lease(expired, "a", T0, TTL, Take::IfFree).await.unwrap().unwrap();
    store.take_lease(finished, "a", T0, TTL, Take::IfFree).await.unwrap().unwrap();
    store.finish(finished, DeploymentState::Aborted, Some("test"), T0 + 1).await.unwrap();

    let orphans = store.orphaned(now, TTL).await.unwrap();
    assert_eq!(
        orphans,
        vec![(expired, Some("a".to_owned())), (never_leased, None)],
        "the held and the finished deployments are nobody's orphans"
    );
    // A deployment recorded moments ago may still be getting its lease.
    assert_eq!(store.orphaned(T0 + 1_000, TTL).await.unwrap(), vec![]);
    let active: Vec<i64> = store.active_leases().await.unwrap().iter().map(|l| l.deployment_id).collect();
    assert_eq!(active, vec![held, expired]);
});

/// One simulated fleet (the world both replicas see) and one PostgreSQL
/// database; engines are the replicas.
pub(crate) struct Cluster {
    _db: Db,
    _dir: tempfile::TempDir,
    pub(crate) url: String,
    pub(crate) clock: Clock,
    pub(crate) sim: Sim,
    pub(crate) svc: ServiceRef,
}

pub(crate) const LEASE: Duration = Duration::from_secs(6);
const BAKE: Duration = Duration::from_secs(60);

pub(crate) async fn cluster() -> Cluster {
    let db = Db::postgres().await;
    let dir = tempfile::tempdir().unwrap();
    let clock = Clock::starting_at(T0);
    let sim = Sim::open(&dir.path().join("fleet.json"), clock, SimOptions::default()).unwrap();
    let svc = ServiceRef::new("prd", "storefront-api");
    sim.add_service(&svc, 3, "1.2.0").unwrap();
    Cluster {
        url: db.url(),
        _db: db,
        _dir: dir,
        clock,
        sim,
        svc,
    }
}

impl Cluster {
    async fn replica(&self, name: &str) -> Engine {
        let store = Store::open(&self.url).await.unwrap();
        Engine::new(
            store,
            self.sim.cloud(),
            self.clock,
            Retry {
                deadline: Duration::from_secs(120),
                backoff: Duration::from_millis(200),
            },
            EngineOptions {
                lease: Some(LEASE),
                replica: Some(name.to_owned()),
                ..EngineOptions::default()
            },
        )
    }

    fn request(&self) -> DeployRequest {
        DeployRequest {
            svc: self.svc.clone(),
            version: "1.3.0".into(),
            strategy: Strategy::BlueGreen,
            plan: Plan {
                strategy: Strategy::BlueGreen,
                steps: vec![10, 50, 100],
                bake: BAKE,
                verification: Duration::from_secs(30),
                watch: Duration::ZERO,
                analysis: Analysis {
                    interval: Duration::from_secs(10),
                    min_requests: 10,
                    inconclusive: Inconclusive::Wait,
                    ..Analysis::default()
                },
            },
            requested_by: "alice".into(),
            approvers: vec![],
            emergency: false,
        }
    }

    pub(crate) fn weights(&self) -> Weights {
        self.sim.snapshot(&self.svc).unwrap().weights
    }
}

/// Replica b takes deployment `id`'s lease as if a's stall had outlived it
/// (b's clock far ahead); returns b's store.
async fn taken_behind_its_back(c: &Cluster, id: i64) -> Store {
    let other = Store::open(&c.url).await.unwrap();
    let far = c.clock.now_ms() + 10 * LEASE.as_millis() as i64;
    other
        .take_lease(id, "replica-b", far, LEASE.as_millis() as i64, Take::IfFree)
        .await
        .unwrap()
        .expect("taken by b");
    other
}

pub(crate) async fn until(
    rx: &mut broadcast::Receiver<Event>,
    what: impl Fn(&EventKind) -> bool,
) -> Event {
    loop {
        match rx.recv().await {
            Ok(e) if what(&e.kind) => return e,
            Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
            Err(broadcast::error::RecvError::Closed) => panic!("the engine went away"),
        }
    }
}

fn at_green(green: u8) -> impl Fn(&EventKind) -> bool {
    move |k| matches!(k, EventKind::WeightsChanged { weights } if weights.green == green)
}

pub(crate) fn finished(k: &EventKind) -> bool {
    matches!(k, EventKind::Finished { .. })
}

/// Replica a driving a rollout (at 10% green), replica b watching for
/// orphans: a, b, b's events and the deployment's id.
pub(crate) async fn a_drives_b_watches(
    c: &Cluster,
) -> (
    Engine,
    std::sync::Arc<Engine>,
    broadcast::Receiver<Event>,
    i64,
) {
    let a = c.replica("replica-a").await;
    let b = std::sync::Arc::new(c.replica("replica-b").await);
    b.watch_orphans();
    let seen_b = b.subscribe();
    let mut seen_a = a.subscribe();
    let id = a.start(c.request()).await.unwrap();
    until(&mut seen_a, at_green(10)).await;
    (a, b, seen_b, id)
}

#[tokio::test(start_paused = true)]
async fn a_replica_that_dies_mid_rollout_is_taken_over_within_the_lease_and_finishes() {
    let c = cluster().await;
    let (a, b, mut seen_b, id) = a_drives_b_watches(&c).await;
    assert!(
        b.take_over_orphans().await.unwrap().is_empty(),
        "a live replica's deployment is not taken over"
    );
    tokio::time::sleep(Duration::from_secs(20)).await;
    assert_eq!(a.driving(), vec![id]);
    assert!(b.driving().is_empty(), "20 s in, a still renews its lease");

    // kill -9: the task and the renewals stop mid-bake, nothing is released.
    drop(a);
    let died = Instant::now();
    let taken = until(&mut seen_b, |k| matches!(k, EventKind::Recovered { .. })).await;
    let takeover = died.elapsed();
    assert!(
        takeover <= LEASE + LEASE / 3,
        "taken over {takeover:?} after the owner died (lease {LEASE:?}, looks every {:?})",
        LEASE / 3
    );
    match &taken.kind {
        EventKind::Recovered {
            resumed,
            detail,
            from,
        } => {
            assert!(*resumed, "green is healthy, so b resumes: {detail}");
            assert_eq!(from.as_deref(), Some("replica-a"));
        }
        _ => unreachable!(),
    }
    assert_eq!(b.driving(), vec![id]);
    until(&mut seen_b, finished).await;
    b.wait(id).await;
    assert_eq!(c.weights(), Weights::all(switchyard::cloud::Colour::Green));
    let d = b.store().deployment(id).await.unwrap().unwrap();
    assert_eq!(d.state, DeploymentState::Succeeded);
    assert!(b.driving().is_empty(), "a finished deployment is nobody's");
}

#[tokio::test(start_paused = true)]
async fn a_clean_stop_hands_the_rollout_over_at_the_survivors_next_look() {
    let c = cluster().await;
    let (a, b, mut seen_b, id) = a_drives_b_watches(&c).await;

    assert_eq!(
        a.hand_over().await,
        1,
        "SIGTERM releases the one lease held"
    );
    let stopped = Instant::now();
    until(&mut seen_b, |k| matches!(k, EventKind::Recovered { .. })).await;
    assert!(
        stopped.elapsed() <= LEASE / 3,
        "no wait for the expiry: {:?}",
        stopped.elapsed()
    );
    until(&mut seen_b, finished).await;
    b.wait(id).await;
    assert_eq!(c.weights(), Weights::all(switchyard::cloud::Colour::Green));
    drop(a);
}

#[tokio::test(start_paused = true)]
async fn a_replica_that_lost_its_lease_stops_at_its_next_step_without_moving_traffic() {
    let c = cluster().await;
    let a = c.replica("replica-a").await;
    let mut seen_a = a.subscribe();
    let id = a.start(c.request()).await.unwrap();
    until(&mut seen_a, at_green(10)).await;

    // Another replica takes the lease behind a's back (as after a's stall
    // outlived it): the store's token moves on.
    let other = taken_behind_its_back(&c, id).await;

    // a finds out at its next renewal, or at the latest before its next write.
    tokio::time::sleep(BAKE * 3).await;
    assert!(a.driving().is_empty(), "a let the deployment go");
    assert_eq!(
        c.weights().green,
        10,
        "a changed no weight after losing the lease"
    );
    let d = other.deployment(id).await.unwrap().unwrap();
    assert_eq!(
        d.state,
        DeploymentState::Running,
        "a did not finish b's deployment"
    );
}

/// The simulated fleet's side of the kill test (the moto side, with real
/// processes, is `replicas_run.rs`): 30 rollouts, each owner dropped (its
/// tasks and renewals stop dead, nothing is released) at a pseudo-random
/// point; a fresh survivor finishes or rolls back every one.
#[tokio::test(start_paused = true)]
async fn thirty_owners_killed_at_random_points_leave_no_rollout_unfinished() {
    let c = cluster().await;
    let mut seed: u64 = 0x0dd_ba11;
    let mut taken_over = 0;
    let mut versions = ["1.3.0", "1.2.0"].iter().cycle();
    for round in 0..30 {
        let mut request = c.request();
        let live = c.sim.snapshot(&c.svc).unwrap();
        let live_version = match live.weights.whole() {
            Some(switchyard::cloud::Colour::Blue) => live.blue.version.clone(),
            Some(switchyard::cloud::Colour::Green) => live.green.version.clone(),
            None => panic!("round {round}: the route is split before it began"),
        };
        request.version = versions
            .find(|v| Some(**v) != live_version.as_deref())
            .unwrap()
            .to_string();
        let owner = c.replica(&format!("owner-{round}")).await;
        let id = owner.start(request).await.unwrap();
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        // The rollout takes about 4 × 60 s of bakes and verification.
        tokio::time::sleep(Duration::from_millis((seed >> 33) % 260_000)).await;
        drop(owner);
        let survivor = std::sync::Arc::new(c.replica(&format!("survivor-{round}")).await);
        survivor.watch_orphans();
        let mut seen = survivor.subscribe();
        let deadline = Instant::now() + Duration::from_secs(3600);
        loop {
            let d = survivor.store().deployment(id).await.unwrap().unwrap();
            if d.state.is_final() {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "round {round}: #{id} never finished"
            );
            if let Ok(Ok(e)) = tokio::time::timeout(Duration::from_secs(5), seen.recv()).await
                && matches!(e.kind, EventKind::Recovered { .. })
            {
                taken_over += 1;
            }
        }
        survivor.wait(id).await;
        let w = c.weights();
        assert!(
            w.whole().is_some(),
            "round {round}: #{id} ended with the route split at {w}"
        );
    }
    assert!(
        taken_over >= 20,
        "most kills land mid-rollout: {taken_over} of 30"
    );
    let store = Store::open(&c.url).await.unwrap();
    assert_eq!(
        store.history(None, 100).await.unwrap().len(),
        30,
        "no record lost"
    );
}

#[tokio::test(start_paused = true)]
async fn a_prepared_deployment_taken_over_while_it_waited_does_not_launch_on_the_old_owner() {
    let c = cluster().await;
    let a = c.replica("replica-a").await;
    let prepared = a.prepare(c.request()).await.unwrap();
    let id = prepared.id;
    // a stalls past its lease while the request waits for approvals; b
    // takes the pending deployment over.
    let other = taken_behind_its_back(&c, id).await;
    tokio::time::sleep(LEASE).await;
    let refused = a.launch(prepared).await.unwrap_err();
    assert!(
        refused.to_string().contains("another replica took"),
        "{refused}"
    );
    assert_eq!(c.weights(), Weights::all(switchyard::cloud::Colour::Blue));
    let d = other.deployment(id).await.unwrap().unwrap();
    assert_eq!(d.state, DeploymentState::Pending, "still b's to launch");
}
