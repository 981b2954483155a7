//! The rollout engine on the simulator, on tokio's paused clock: the blue-green
//! walk, automatic rollback with its numbers, crash recovery after every journal
//! write, pause/resume/abort, busy and locked environments, throttling.

use std::path::PathBuf;
use std::time::Duration;

use switchyard::clock::Clock;
use switchyard::cloud::sim::{Fault, Sim, SimOptions};
use switchyard::cloud::{Colour, ServiceRef, Weights};
use switchyard::config::{Analysis, Inconclusive, Plan, Recovery};
use switchyard::intent::Strategy;
use switchyard::rollout::{
    DeployRequest, Engine, EngineError, EngineOptions, Event, EventKind, Metric, Retry,
};
use switchyard::store::{DeploymentState, LockOutcome, Store};
use tokio::sync::broadcast;
use tokio::time::Instant;

/// A fresh store file and persisted simulated fleet: prd/storefront-api runs 1.2.0 on blue.
pub(crate) struct World {
    _dir: tempfile::TempDir,
    db: String,
    fleet: PathBuf,
    pub(crate) clock: Clock,
    pub(crate) sim: Sim,
    pub(crate) store: Store,
    pub(crate) svc: ServiceRef,
}

pub(crate) async fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("switchyard.db").display());
    let fleet = dir.path().join("fleet.json");
    let clock = Clock::starting_at(1_767_225_600_000);
    let sim = Sim::open(&fleet, clock, SimOptions::default()).unwrap();
    let svc = ServiceRef::new("prd", "storefront-api");
    sim.add_service(&svc, 3, "1.2.0").unwrap();
    let store = Store::open(&db).await.unwrap();
    World {
        _dir: dir,
        db,
        fleet,
        clock,
        sim,
        store,
        svc,
    }
}

impl World {
    pub(crate) fn engine(&self, options: EngineOptions) -> Engine {
        Engine::new(
            self.store.clone(),
            self.sim.cloud(),
            self.clock,
            retry(),
            options,
        )
    }

    /// The same files, as a restarted process sees them.
    async fn reopen(&self) -> (Sim, Store) {
        let sim = Sim::open(&self.fleet, self.clock, SimOptions::default()).unwrap();
        let store = Store::open(&self.db).await.unwrap();
        (sim, store)
    }

    pub(crate) fn request(&self, version: &str) -> DeployRequest {
        DeployRequest {
            svc: self.svc.clone(),
            version: version.into(),
            strategy: Strategy::BlueGreen,
            plan: plan(),
            requested_by: "alice".into(),
            approvers: vec!["bob".into()],
            emergency: false,
        }
    }

    pub(crate) fn weights(&self) -> Weights {
        self.sim.snapshot(&self.svc).unwrap().weights
    }
}

pub(crate) fn retry() -> Retry {
    Retry {
        deadline: Duration::from_secs(120),
        backoff: Duration::from_millis(200),
    }
}

const INTERVAL: Duration = Duration::from_secs(10);
const BAKE: Duration = Duration::from_secs(60);

fn plan() -> Plan {
    Plan {
        strategy: Strategy::BlueGreen,
        steps: vec![10, 25, 50, 100],
        bake: BAKE,
        verification: Duration::from_secs(120),
        watch: Duration::ZERO,
        analysis: Analysis {
            interval: INTERVAL,
            min_requests: 10,
            inconclusive: Inconclusive::Wait,
            ..Analysis::default()
        },
    }
}

/// Every event until deployment `id` finishes (or `limit` events).
async fn events_until_finished(rx: &mut broadcast::Receiver<Event>) -> Vec<(Instant, Event)> {
    let mut seen = Vec::new();
    while let Ok(e) = rx.recv().await {
        let done = matches!(e.kind, EventKind::Finished { .. });
        seen.push((Instant::now(), e));
        if done {
            break;
        }
    }
    seen
}

fn weight_changes(events: &[(Instant, Event)]) -> Vec<(Instant, Weights)> {
    events
        .iter()
        .filter_map(|(t, e)| match e.kind {
            EventKind::WeightsChanged { weights } => Some((*t, weights)),
            _ => None,
        })
        .collect()
}

#[tokio::test(start_paused = true)]
async fn a_blue_green_deployment_shifts_in_steps_with_bakes_and_keeps_the_old_colour_as_standby() {
    let w = world().await;
    let engine = w.engine(EngineOptions::default());
    let mut rx = engine.subscribe();
    let id = engine.start(w.request("1.3.0")).await.unwrap();
    let events = events_until_finished(&mut rx).await;
    engine.wait(id).await;

    let shifts = weight_changes(&events);
    let greens: Vec<u8> = shifts.iter().map(|(_, wt)| wt.green).collect();
    assert_eq!(
        greens,
        [10, 25, 50, 100],
        "weights went 0 -> 10 -> 25 -> 50 -> 100"
    );
    for pair in shifts.windows(2) {
        let gap = pair[1].0 - pair[0].0;
        assert!(
            gap >= BAKE && gap < BAKE + INTERVAL,
            "each step baked {BAKE:?}, not {gap:?}"
        );
    }

    let kinds: Vec<String> = events
        .iter()
        .map(|(_, e)| {
            serde_json::to_value(&e.kind).unwrap()["event"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    let order = [
        "started",
        "phase_started",
        "deployed",
        "phase_started",
        "ready",
        "phase_started",
        "weights_changed",
    ];
    assert_eq!(&kinds[..order.len()], order, "{kinds:?}");
    assert_eq!(kinds.last().map(String::as_str), Some("finished"));
    let phases: Vec<String> = events
        .iter()
        .filter_map(|(_, e)| match &e.kind {
            EventKind::PhaseStarted { phase } => Some(phase.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(
        phases,
        [
            "deploy",
            "readiness",
            "traffic shift",
            "verification",
            "finalize"
        ]
    );
    assert!(
        events
            .iter()
            .any(|(_, e)| matches!(e.kind, EventKind::Analysis { percent: 10, .. }))
    );

    let d = w.store.deployment(id).await.unwrap().unwrap();
    assert_eq!(d.state, DeploymentState::Succeeded);
    assert_eq!(d.previous_version.as_deref(), Some("1.2.0"));
    let fleet = w.sim.snapshot(&w.svc).unwrap();
    assert_eq!(fleet.weights, Weights::all(Colour::Green));
    assert_eq!(fleet.green.version.as_deref(), Some("1.3.0"));
    assert_eq!(
        fleet.blue.version.as_deref(),
        Some("1.2.0"),
        "the old colour stands by"
    );
    assert!(
        fleet.blue.is_ready(),
        "the standby still runs, for an instant rollback"
    );
    let journal = w.store.journal(id).await.unwrap();
    assert!(
        journal.iter().all(|j| j.is_done()),
        "every step journaled and done"
    );
}

#[tokio::test(start_paused = true)]
async fn a_fault_at_25_percent_is_rolled_back_within_one_interval_with_its_numbers() {
    let w = world().await;
    let engine = w.engine(EngineOptions::default());
    let mut rx = engine.subscribe();
    let id = engine.start(w.request("1.3.0")).await.unwrap();
    let mut fault_at = None;
    let mut reverted_at = None;
    let mut breach = None;
    while let Ok(e) = rx.recv().await {
        match &e.kind {
            EventKind::WeightsChanged { weights } if weights.green == 25 => {
                w.sim
                    .set_fault(
                        "prd",
                        Fault {
                            error_rate_percent: 50.0,
                            version: Some("1.3.0".into()),
                            ..Fault::default()
                        },
                    )
                    .unwrap();
                fault_at = Some(Instant::now());
            }
            EventKind::RollingBack { breach: b, .. } => breach = b.clone(),
            EventKind::WeightsChanged { weights } if *weights == Weights::all(Colour::Blue) => {
                reverted_at = Some(Instant::now());
            }
            EventKind::Finished { .. } => break,
            _ => {}
        }
    }
    engine.wait(id).await;
    let latency = reverted_at.unwrap() - fault_at.unwrap();
    // 50% errors over a 10 s window pass the 5% threshold once 1 s of the window
    // holds the fault: visible 1 s after it starts, reverted by the next judgement.
    assert!(
        latency <= INTERVAL + Duration::from_secs(1),
        "reverted {latency:?} after the fault"
    );
    let breach = breach.expect("the rollback names its breach");
    assert_eq!(breach.metric, Metric::ErrorRate);
    assert!(breach.value > 5.0 && breach.threshold == 5.0, "{breach:?}");
    let d = w.store.deployment(id).await.unwrap().unwrap();
    assert_eq!(d.state, DeploymentState::RolledBack);
    let reason = d.reason.unwrap();
    assert!(
        reason.starts_with("error rate") && reason.contains("> 5.00%"),
        "{reason}"
    );
    assert_eq!(w.weights(), Weights::all(Colour::Blue));
}

/// Journal writes of an undisturbed blue-green run with this plan: 11 steps,
/// each begun and done.
const WRITES: usize = 22;

#[tokio::test(start_paused = true)]
async fn a_crash_after_any_journal_write_is_finished_by_the_next_engine() {
    for crash_after in 1..=WRITES {
        let w = world().await;
        let engine = w.engine(EngineOptions {
            crash_after_journal_writes: Some(crash_after),
            ..EngineOptions::default()
        });
        let id = engine.start(w.request("1.3.0")).await.unwrap();
        tokio::select! {
            _ = engine.crashed() => {}
            _ = engine.wait(id) => panic!("crash {crash_after}: the run ended before the crash"),
        }
        drop(engine); // kill -9: nothing of this process runs any more

        let (sim, store) = w.reopen().await;
        let engine = Engine::new(
            store.clone(),
            sim.cloud(),
            w.clock,
            retry(),
            EngineOptions::default(),
        );
        let finished_before = store
            .deployment(id)
            .await
            .unwrap()
            .unwrap()
            .state
            .is_final();
        let taken = engine.recover().await.unwrap();
        // A crash after the last write (finalize done) leaves nothing to take over.
        let expected: &[i64] = if finished_before { &[] } else { &[id] };
        assert_eq!(taken, expected, "crash {crash_after}");
        engine.wait(id).await;

        let d = store.deployment(id).await.unwrap().unwrap();
        assert!(
            d.state.is_final(),
            "crash {crash_after}: left {:?}",
            d.state
        );
        let weights = sim.snapshot(&w.svc).unwrap().weights;
        assert!(
            weights.whole().is_some(),
            "crash {crash_after}: route left split at {weights}"
        );
        let expected = if d.state == DeploymentState::Succeeded {
            Colour::Green
        } else {
            Colour::Blue
        };
        assert_eq!(
            weights,
            Weights::all(expected),
            "crash {crash_after}: {:?}",
            d.state
        );
        assert!(
            sim.calls().deploy <= 1,
            "crash {crash_after}: the new version was deployed twice"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn a_crash_mid_shift_with_a_sick_new_colour_rolls_back_on_restart() {
    let w = world().await;
    let engine = w.engine(EngineOptions {
        crash_after_journal_writes: Some(8), // just after the 25% shift is done
        ..EngineOptions::default()
    });
    let id = engine.start(w.request("1.3.0")).await.unwrap();
    engine.crashed().await;
    drop(engine);
    w.sim
        .set_fault(
            "prd",
            Fault {
                error_rate_percent: 40.0,
                version: Some("1.3.0".into()),
                ..Fault::default()
            },
        )
        .unwrap();
    tokio::time::sleep(INTERVAL).await; // the fault fills the window while nobody watches

    let (sim, store) = w.reopen().await;
    let engine = Engine::new(
        store.clone(),
        sim.cloud(),
        w.clock,
        retry(),
        EngineOptions::default(),
    );
    let mut rx = engine.subscribe();
    engine.recover().await.unwrap();
    engine.wait(id).await;
    let d = store.deployment(id).await.unwrap().unwrap();
    assert_eq!(d.state, DeploymentState::RolledBack);
    assert!(d.reason.unwrap().contains("restarted mid-deployment"));
    assert_eq!(
        sim.snapshot(&w.svc).unwrap().weights,
        Weights::all(Colour::Blue)
    );
    let recovered = std::iter::from_fn(|| rx.try_recv().ok()).find_map(|e| match e.kind {
        EventKind::Recovered {
            resumed, detail, ..
        } => Some((resumed, detail)),
        _ => None,
    });
    let (resumed, detail) = recovered.expect("the takeover is announced");
    assert!(!resumed && detail.contains("error rate"), "{detail}");
}

#[tokio::test(start_paused = true)]
async fn the_rollback_policy_rolls_back_even_a_healthy_deployment_after_a_restart() {
    let w = world().await;
    let engine = w.engine(EngineOptions {
        crash_after_journal_writes: Some(6),
        ..EngineOptions::default()
    });
    let id = engine.start(w.request("1.3.0")).await.unwrap();
    engine.crashed().await;
    drop(engine);
    let (sim, store) = w.reopen().await;
    let engine = Engine::new(
        store.clone(),
        sim.cloud(),
        w.clock,
        retry(),
        EngineOptions {
            recovery: Recovery::Rollback,
            ..EngineOptions::default()
        },
    );
    engine.recover().await.unwrap();
    engine.wait(id).await;
    assert_eq!(
        store.deployment(id).await.unwrap().unwrap().state,
        DeploymentState::RolledBack
    );
    assert_eq!(
        sim.snapshot(&w.svc).unwrap().weights,
        Weights::all(Colour::Blue)
    );
}

/// Waits for the route to reach `green` percent on the new colour.
async fn until_green(rx: &mut broadcast::Receiver<Event>, green: u8) {
    while let Ok(e) = rx.recv().await {
        if matches!(e.kind, EventKind::WeightsChanged { weights } if weights.green == green) {
            return;
        }
    }
}

#[tokio::test(start_paused = true)]
async fn pause_holds_the_weights_until_resume() {
    let w = world().await;
    let engine = w.engine(EngineOptions::default());
    let mut rx = engine.subscribe();
    let id = engine.start(w.request("1.3.0")).await.unwrap();
    until_green(&mut rx, 25).await;
    assert_eq!(engine.pause("prd").await.unwrap(), id);
    tokio::time::sleep(Duration::from_secs(30 * 60)).await;
    assert_eq!(w.weights().green, 25, "half an hour paused, still at 25%");
    assert_eq!(
        w.store.deployment(id).await.unwrap().unwrap().state,
        DeploymentState::Paused
    );
    engine.resume("prd").await.unwrap();
    engine.wait(id).await;
    assert_eq!(w.weights(), Weights::all(Colour::Green));
    assert_eq!(
        w.store.deployment(id).await.unwrap().unwrap().state,
        DeploymentState::Succeeded
    );
}

#[tokio::test(start_paused = true)]
async fn abort_returns_all_traffic_to_the_stable_colour() {
    let w = world().await;
    let engine = w.engine(EngineOptions::default());
    let mut rx = engine.subscribe();
    let id = engine.start(w.request("1.3.0")).await.unwrap();
    until_green(&mut rx, 50).await;
    engine.abort("prd", "carol").await.unwrap();
    engine.wait(id).await;
    assert_eq!(w.weights(), Weights::all(Colour::Blue));
    let d = w.store.deployment(id).await.unwrap().unwrap();
    assert_eq!(d.state, DeploymentState::Aborted);
    assert_eq!(d.reason.as_deref(), Some("aborted by carol"));
}

#[tokio::test(start_paused = true)]
async fn a_second_deployment_to_a_busy_or_locked_environment_is_refused_with_the_reason() {
    let w = world().await;
    let engine = w.engine(EngineOptions::default());
    let id = engine.start(w.request("1.3.0")).await.unwrap();
    let busy = engine.start(w.request("1.4.0")).await.unwrap_err();
    assert!(matches!(busy, EngineError::Busy { id: busy_id, .. } if busy_id == id));
    assert!(
        busy.to_string()
            .contains(&format!("deployment #{id} of 1.3.0 is running")),
        "{busy}"
    );
    engine.wait(id).await;

    let outcome = engine
        .lock("prd", "dave", Some("quarter-end freeze"))
        .await
        .unwrap();
    assert!(matches!(outcome, LockOutcome::Locked));
    let locked = engine.start(w.request("1.4.0")).await.unwrap_err();
    assert_eq!(
        locked.to_string(),
        "prd is locked by dave (quarter-end freeze); `unlock prd` first"
    );
    assert!(engine.unlock("prd", "dave").await.unwrap());
    let next = engine.start(w.request("1.4.0")).await.unwrap();
    engine.wait(next).await;
    assert_eq!(
        w.store.deployment(next).await.unwrap().unwrap().state,
        DeploymentState::Succeeded
    );
    let audit: Vec<String> = w
        .store
        .audit_log(20)
        .await
        .unwrap()
        .iter()
        .map(|a| format!("{} {} {}", a.actor, a.action, a.outcome))
        .collect();
    let expected = [
        "alice deploy requested",
        "alice deploy started",
        "switchyard finish succeeded",
        "dave lock locked",
        "dave unlock unlocked",
        "alice deploy requested",
        "alice deploy started",
        "switchyard finish succeeded",
    ];
    assert_eq!(
        audit, expected,
        "every command and decision is in the audit log"
    );
}

#[tokio::test(start_paused = true)]
async fn with_30_percent_of_calls_throttled_every_deployment_still_completes() {
    let w = world().await;
    w.sim
        .set_fault(
            "prd",
            Fault {
                throttle_percent: 30.0,
                weights_lag: 1,
                ..Fault::default()
            },
        )
        .unwrap();
    let engine = w.engine(EngineOptions::default());
    for version in ["1.3.0", "1.4.0", "1.5.0"] {
        let id = engine.start(w.request(version)).await.unwrap();
        engine.wait(id).await;
        let d = w.store.deployment(id).await.unwrap().unwrap();
        assert_eq!(
            d.state,
            DeploymentState::Succeeded,
            "{version}: {:?}",
            d.reason
        );
    }
    assert!(w.sim.calls().throttled > 10, "throttling really happened");
}

#[tokio::test(start_paused = true)]
async fn a_permanent_cloud_failure_rolls_back_and_says_so() {
    let w = world().await;
    let engine = w.engine(EngineOptions::default());
    let mut rx = engine.subscribe();
    let id = engine.start(w.request("1.3.0")).await.unwrap();
    until_green(&mut rx, 25).await;
    w.sim
        .set_fault(
            "prd",
            Fault {
                fail_percent: 60.0,
                ..Fault::default()
            },
        )
        .unwrap();
    // Clear the failures after a while so that the rollback itself can land.
    let sim = w.sim.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(60)).await;
        sim.clear_faults("prd").unwrap();
    });
    engine.wait(id).await;
    let d = w.store.deployment(id).await.unwrap().unwrap();
    assert_eq!(d.state, DeploymentState::Failed);
    assert!(d.reason.unwrap().starts_with("cloud error"));
    assert_eq!(w.weights(), Weights::all(Colour::Blue));
}

#[tokio::test(start_paused = true)]
async fn a_finished_deployment_rolls_back_to_the_standby_at_once() {
    let w = world().await;
    let engine = w.engine(EngineOptions::default());
    let id = engine.start(w.request("1.3.0")).await.unwrap();
    engine.wait(id).await;
    let before = Instant::now();
    let done = engine.rollback(&w.svc, "alice").await.unwrap();
    assert_eq!(
        Instant::now() - before,
        Duration::ZERO,
        "no waiting: the standby already runs"
    );
    assert_eq!(
        (done.from_version.as_str(), done.to_version.as_str()),
        ("1.3.0", "1.2.0")
    );
    assert_eq!(w.weights(), Weights::all(Colour::Blue));
    let d = w.store.deployment(id).await.unwrap().unwrap();
    assert_eq!(d.state, DeploymentState::RolledBack);
    assert_eq!(d.reason.as_deref(), Some("rolled back by alice"));
}

#[tokio::test(start_paused = true)]
async fn the_post_deployment_watch_rolls_back_a_late_failure_on_its_own() {
    let w = world().await;
    let engine = w.engine(EngineOptions::default());
    let mut rx = engine.subscribe();
    let mut req = w.request("1.3.0");
    req.plan.watch = Duration::from_secs(3600);
    let id = engine.start(req).await.unwrap();
    while let Ok(e) = rx.recv().await {
        if matches!(
            e.kind,
            EventKind::Finished {
                state: DeploymentState::Succeeded,
                ..
            }
        ) {
            break;
        }
    }
    tokio::time::sleep(Duration::from_secs(600)).await;
    w.sim
        .set_fault(
            "prd",
            Fault {
                extra_latency_ms: 900.0,
                error_rate_percent: 20.0,
                version: Some("1.3.0".into()),
                ..Fault::default()
            },
        )
        .unwrap();
    engine.wait(id).await;
    let d = w.store.deployment(id).await.unwrap().unwrap();
    assert_eq!(d.state, DeploymentState::RolledBack);
    assert!(d.reason.unwrap().contains("error rate"));
    assert_eq!(w.weights(), Weights::all(Colour::Blue));
}

/// Starts a deployment under `fault` and returns the recorded reason.
async fn rolled_back_under(fault: Fault) -> String {
    let w = world().await;
    w.sim.set_fault("prd", fault).unwrap();
    let engine = w.engine(EngineOptions::default());
    let id = engine.start(w.request("1.3.0")).await.unwrap();
    engine.wait(id).await;
    let d = w.store.deployment(id).await.unwrap().unwrap();
    assert_eq!(d.state, DeploymentState::RolledBack);
    assert_eq!(
        w.weights(),
        Weights::all(Colour::Blue),
        "no traffic ever reached the sick colour"
    );
    d.reason.unwrap()
}

#[tokio::test(start_paused = true)]
async fn crash_looping_tasks_roll_back_before_any_traffic_moves() {
    let reason = rolled_back_under(Fault {
        crash_loop: true,
        version: Some("1.3.0".into()),
        ..Fault::default()
    })
    .await;
    assert!(reason.contains("crash loop"), "{reason}");
}

#[tokio::test(start_paused = true)]
async fn tasks_failing_health_checks_for_two_minutes_roll_back() {
    let reason = rolled_back_under(Fault {
        never_healthy: true,
        version: Some("1.3.0".into()),
        ..Fault::default()
    })
    .await;
    assert!(reason.starts_with("health checks failing for"), "{reason}");
}

/// Saves `script` as deployment `id`'s script, as a damaged or hand-edited
/// database would hold it.
async fn corrupt_script(db: &str, id: i64, script: &str) {
    use sqlx::ConnectOptions;
    use std::str::FromStr;
    let mut conn = sqlx::sqlite::SqliteConnectOptions::from_str(db)
        .unwrap()
        .connect()
        .await
        .unwrap();
    sqlx::query("UPDATE deployment_plans SET script = $1 WHERE deployment_id = $2")
        .bind(script)
        .bind(id)
        .execute(&mut conn)
        .await
        .unwrap();
}

#[tokio::test(start_paused = true)]
async fn an_unreadable_saved_script_fails_the_deployment_and_frees_the_environment() {
    // Not JSON, JSON that is no script, and a script without steps.
    for script in ["{\"step\": ", "{\"step\":\"teleport\"}", "[]"] {
        let w = world().await;
        let engine = w.engine(EngineOptions {
            crash_after_journal_writes: Some(6), // the 10% shift is done
            ..EngineOptions::default()
        });
        let id = engine.start(w.request("1.3.0")).await.unwrap();
        engine.crashed().await;
        drop(engine);
        assert_eq!(w.weights(), Weights::to(Colour::Green, 10), "{script}");
        corrupt_script(&w.db, id, script).await;

        let (sim, store) = w.reopen().await;
        let engine = Engine::new(
            store.clone(),
            sim.cloud(),
            w.clock,
            retry(),
            EngineOptions::default(),
        );
        let mut rx = engine.subscribe();
        assert_eq!(engine.recover().await.unwrap(), vec![id], "{script}");
        let events = events_until_finished(&mut rx).await;
        engine.wait(id).await;

        let d = store.deployment(id).await.unwrap().unwrap();
        assert_eq!(d.state, DeploymentState::Failed, "{script}");
        let reason = d.reason.unwrap_or_default();
        assert!(reason.contains("saved"), "{script}: {reason}");
        assert_eq!(
            sim.snapshot(&w.svc).unwrap().weights,
            Weights::all(Colour::Blue),
            "{script}: back on the stable colour"
        );
        // Said in the channel (the events chat renders) and the audit log.
        assert!(
            events.iter().any(|(_, e)| matches!(&e.kind,
                EventKind::Recovered { resumed: false, detail, .. } if detail.contains("saved"))),
            "{script}: {events:?}"
        );
        assert!(
            events.iter().any(|(_, e)| matches!(&e.kind,
                EventKind::Finished { state: DeploymentState::Failed, reason: Some(r), .. } if r.contains("saved"))),
            "{script}: {events:?}"
        );
        let audit = store.audit_log(50).await.unwrap();
        assert!(
            audit.iter().any(|a| a.deployment_id == Some(id)
                && a.outcome == "failed"
                && a.detail.as_deref().unwrap_or("").contains("saved")),
            "{script}: {audit:?}"
        );
        // The environment takes the next deployment.
        let next = engine.start(w.request("1.3.1")).await.unwrap();
        engine.wait(next).await;
        assert_eq!(
            store.deployment(next).await.unwrap().unwrap().state,
            DeploymentState::Succeeded,
            "{script}"
        );
    }
}
