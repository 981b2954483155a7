//! The watcher of idle routes (`src/rollout/reconcile.rs`) on the simulator
//! and tokio's paused clock: a route left split by a replica that woke after
//! losing its lease, or changed by hand, is put back within one look and said
//! so in the channel and the audit log; in alert mode it is only said; and a
//! route a deployment is using (pending, running, paused) is never touched.

use std::sync::Arc;
use std::time::Duration;

use switchyard::cloud::{Colour, Traffic, Weights};
use switchyard::config::Reconcile;
use switchyard::rollout::reconcile::DEFAULT_EVERY;
use switchyard::rollout::{Engine, EngineOptions, Event, EventKind};
use switchyard::store::{AuditEntry, DeploymentState, Store};
use tokio::sync::broadcast;
use tokio::time::Instant;

use crate::leases::{LEASE, a_drives_b_watches, cluster, finished, until};
use crate::rollout::{World, world};

fn drifted(k: &EventKind) -> bool {
    matches!(k, EventKind::RouteDrift { .. })
}

/// The audit rows the watcher wrote.
async fn reconciled(store: &Store) -> Vec<AuditEntry> {
    store
        .audit_log(100)
        .await
        .unwrap()
        .into_iter()
        .filter(|a| a.action == "reconcile")
        .collect()
}

/// An engine on `w` in `mode`, its watcher looking every
/// [`DEFAULT_EVERY`], with 1.3.0 deployed (all traffic on green).
async fn deployed(w: &World, mode: Reconcile) -> (Arc<Engine>, i64) {
    let engine = Arc::new(w.engine(EngineOptions {
        reconcile: mode,
        ..EngineOptions::default()
    }));
    let id = engine.start(w.request("1.3.0")).await.unwrap();
    engine.wait(id).await;
    let d = w.store.deployment(id).await.unwrap().unwrap();
    assert_eq!(d.state, DeploymentState::Succeeded);
    assert_eq!(w.weights(), Weights::all(Colour::Green));
    (engine, id)
}

/// Every drift the engine announces while `for_how_long` passes.
async fn drifts_during(rx: &mut broadcast::Receiver<Event>, for_how_long: Duration) -> Vec<Event> {
    let mut seen = Vec::new();
    let end = tokio::time::sleep(for_how_long);
    tokio::pin!(end);
    loop {
        tokio::select! {
            () = &mut end => return seen,
            e = rx.recv() => match e {
                Ok(e) if drifted(&e.kind) => seen.push(e),
                Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => return seen,
            },
        }
    }
}

#[tokio::test(start_paused = true)]
async fn a_split_route_left_by_a_woken_owner_is_restored_within_one_look() {
    let c = cluster().await;
    let (a, b, mut seen_b, id) = a_drives_b_watches(&c).await;
    b.watch_routes();
    // a freezes at 10% green; b takes the rollout over and finishes it.
    drop(a);
    until(&mut seen_b, finished).await;
    let store = Store::open(&c.url).await.unwrap();
    let d = store.deployment(id).await.unwrap().unwrap();
    assert_eq!(d.state, DeploymentState::Succeeded);
    assert_eq!(c.weights(), Weights::all(Colour::Green));
    // b's hold on the finished rollout runs out.
    tokio::time::sleep(LEASE).await;

    // a wakes between its lease check and its weight change: the change
    // lands now, with nothing running (what the fresh-clone CI run saw).
    let late = Weights::to(Colour::Green, 10);
    c.sim.set_weights(&c.svc, late).await.unwrap();
    let landed = Instant::now();

    let drift = until(&mut seen_b, drifted).await;
    assert!(
        landed.elapsed() <= DEFAULT_EVERY,
        "restored within one look, took {:?}",
        landed.elapsed()
    );
    assert_eq!(drift.deployment, id);
    assert_eq!(
        drift.kind,
        EventKind::RouteDrift {
            found: late,
            expected: Weights::all(Colour::Green),
            restored: true,
            detail: None,
        }
    );
    assert_eq!(c.weights(), Weights::all(Colour::Green));
    let audit = reconciled(&store).await;
    assert_eq!(audit.len(), 1, "{audit:?}");
    assert_eq!(
        (audit[0].outcome.as_str(), audit[0].deployment_id),
        ("restored", Some(id))
    );
    assert!(
        audit[0]
            .detail
            .as_deref()
            .unwrap_or("")
            .contains("blue 90%"),
        "{audit:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_weight_changed_by_hand_is_restored_and_announced() {
    let c = crate::conversation::chat().await;
    c.say("deploy 1.3.2 to dev").await;
    c.demo.agent.settle().await;
    let said = c.said.take();
    assert!(said.contains("Deployment successful!"), "{said}");
    let svc = c
        .demo
        .sim
        .services()
        .into_iter()
        .find(|s| s.env == "dev")
        .unwrap();
    let live = c.demo.sim.snapshot(&svc).unwrap().weights;
    let colour = live
        .whole()
        .expect("a finished deployment leaves the route whole");

    // Someone moves half the traffic in the console.
    c.demo
        .sim
        .set_weights(&svc, Weights::to(colour, 50))
        .await
        .unwrap();
    tokio::time::sleep(DEFAULT_EVERY + Duration::from_secs(1)).await;

    assert_eq!(c.demo.sim.snapshot(&svc).unwrap().weights, live);
    let said = c.said.take();
    assert!(
        said.contains(&format!(
            "⚠ The route of {} in DEV is Blue 50% | Green 50% with no deployment running",
            svc.service
        )),
        "{said}"
    );
    assert!(said.contains("Put back:"), "{said}");
    let audit = reconciled(&c.demo.store).await;
    assert_eq!(audit.len(), 1, "{audit:?}");
    assert_eq!(audit[0].outcome, "restored");
    assert_eq!(audit[0].env.as_deref(), Some("dev"));

    // Put back once: later looks find nothing to say.
    tokio::time::sleep(DEFAULT_EVERY * 3).await;
    assert!(!c.said.take().contains("⚠"));
    assert_eq!(reconciled(&c.demo.store).await.len(), 1);
}

#[tokio::test(start_paused = true)]
async fn reconcile_alert_mode_announces_but_does_not_move_traffic() {
    let w = world().await;
    let (engine, id) = deployed(&w, Reconcile::Alert).await;
    let mut seen = engine.subscribe();
    engine.watch_routes();
    let by_hand = Weights::all(Colour::Blue);
    w.sim.set_weights(&w.svc, by_hand).await.unwrap();

    let drifts = drifts_during(&mut seen, DEFAULT_EVERY * 4).await;
    assert_eq!(
        drifts.len(),
        1,
        "announced once, not at every look: {drifts:?}"
    );
    assert_eq!(drifts[0].deployment, id);
    let EventKind::RouteDrift {
        found,
        expected,
        restored,
        detail,
    } = &drifts[0].kind
    else {
        unreachable!()
    };
    assert_eq!(
        (*found, *expected, *restored),
        (by_hand, Weights::all(Colour::Green), false)
    );
    assert!(
        detail.as_deref().unwrap_or("").contains("alert"),
        "{detail:?}"
    );
    assert_eq!(w.weights(), by_hand, "alert mode moves no traffic");
    let audit = reconciled(&w.store).await;
    assert_eq!(audit.len(), 1, "{audit:?}");
    assert_eq!(audit[0].outcome, "alerted");

    // A different drift is news again.
    w.sim
        .set_weights(&w.svc, Weights::to(Colour::Green, 30))
        .await
        .unwrap();
    let drifts = drifts_during(&mut seen, DEFAULT_EVERY * 2).await;
    assert_eq!(drifts.len(), 1, "{drifts:?}");
    assert_eq!(w.weights(), Weights::to(Colour::Green, 30));
}

#[tokio::test(start_paused = true)]
async fn reconcile_never_touches_a_route_while_a_deployment_runs() {
    let w = world().await;
    let (engine, _) = deployed(&w, Reconcile::Repair).await;
    let mut seen = engine.subscribe();
    engine.watch_routes();

    // Waiting for its approvals (prepared): the route is claimed, whatever
    // happens to it meanwhile is for the deployment to judge when it starts.
    let prepared = engine.prepare(w.request("1.4.0")).await.unwrap();
    w.sim
        .set_weights(&w.svc, Weights::to(Colour::Blue, 20))
        .await
        .unwrap();
    assert!(drifts_during(&mut seen, DEFAULT_EVERY * 3).await.is_empty());
    assert_eq!(w.weights(), Weights::to(Colour::Blue, 20));
    engine.cancel(prepared.id, "denied").await.unwrap();
    w.sim
        .set_weights(&w.svc, Weights::all(Colour::Green))
        .await
        .unwrap();

    // Running, then paused mid-shift: every split is the deployment's own.
    let id = engine.start(w.request("1.4.0")).await.unwrap();
    loop {
        let e = seen.recv().await.unwrap();
        assert!(
            !drifted(&e.kind),
            "touched a running deployment's route: {e:?}"
        );
        if let EventKind::WeightsChanged { weights } = e.kind
            && weights.whole().is_none()
        {
            break;
        }
    }
    let split = w.weights();
    engine.pause("prd").await.unwrap();
    assert!(drifts_during(&mut seen, DEFAULT_EVERY * 6).await.is_empty());
    assert_eq!(w.weights(), split, "a paused deployment's split is kept");
    engine.resume("prd").await.unwrap();
    engine.wait(id).await;
    let d = w.store.deployment(id).await.unwrap().unwrap();
    assert_eq!(d.state, DeploymentState::Succeeded, "{:?}", d.reason);
    assert_eq!(w.weights(), Weights::all(Colour::Blue));
    assert!(reconciled(&w.store).await.is_empty());
}
