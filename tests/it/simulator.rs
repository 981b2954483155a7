//! The simulated fleet as the engine and the demo see it: deploys take virtual
//! time to become ready, faults break exactly what they name, signals follow the
//! route's weights, chance repeats with its seed, and a persisted fleet survives a
//! restart. Every test runs on tokio's paused clock.

use std::time::Duration;

use proptest::prelude::*;
use switchyard::clock::Clock;
use switchyard::cloud::sim::{CallCounts, Fault, Sim, SimError, SimOptions};
use switchyard::cloud::{CloudError, Colour, Compute, ServiceRef, Signals, Traffic, Weights};
use tokio::time::advance;

/// 2025-08-23 14:30:00 UTC, so timestamps are calendar-like but fixed.
const T0: i64 = 1_755_959_400_000;

fn svc() -> ServiceRef {
    ServiceRef::new("prd", "api")
}

/// A fleet with `prd/api` (3 tasks, blue on 1.0.0) and default options.
fn fleet() -> Sim {
    fleet_with(SimOptions::default())
}

fn fleet_with(options: SimOptions) -> Sim {
    let sim = Sim::new(Clock::starting_at(T0), options);
    sim.add_service(&svc(), 3, "1.0.0")
        .expect("in-memory fleets accept services");
    sim
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

#[tokio::test(start_paused = true)]
async fn a_new_service_runs_its_live_version_on_blue_with_all_traffic() {
    let sim = fleet();
    let blue = sim.readiness(&svc(), Colour::Blue).await.unwrap();
    assert_eq!(blue.version.as_deref(), Some("1.0.0"));
    assert!(blue.is_ready(), "{blue:?}");
    let green = sim.readiness(&svc(), Colour::Green).await.unwrap();
    assert_eq!((green.version, green.desired), (None, 0));
    assert_eq!(
        sim.weights(&svc()).await.unwrap(),
        Weights::all(Colour::Blue)
    );
}

#[tokio::test(start_paused = true)]
async fn a_deploy_becomes_ready_after_startup_and_health_delay_and_not_before() {
    let sim = fleet();
    sim.deploy(&svc(), Colour::Green, "1.1.0").await.unwrap();

    let r = sim.readiness(&svc(), Colour::Green).await.unwrap();
    assert_eq!(
        (r.version.as_deref(), r.desired, r.running, r.healthy),
        (Some("1.1.0"), 3, 0, 0)
    );

    advance(Duration::from_millis(4_999)).await;
    assert_eq!(
        sim.readiness(&svc(), Colour::Green).await.unwrap().running,
        0
    );

    advance(Duration::from_millis(1)).await;
    let r = sim.readiness(&svc(), Colour::Green).await.unwrap();
    assert_eq!((r.running, r.healthy), (3, 0));
    assert!(!r.is_ready());

    advance(Duration::from_millis(4_999)).await;
    assert!(
        !sim.readiness(&svc(), Colour::Green)
            .await
            .unwrap()
            .is_ready()
    );

    advance(Duration::from_millis(1)).await;
    let r = sim.readiness(&svc(), Colour::Green).await.unwrap();
    assert!(r.is_ready(), "{r:?}");
    assert_eq!(r.restarts, 0);
}

#[tokio::test(start_paused = true)]
async fn redeploying_the_version_a_ready_colour_runs_changes_nothing() {
    let sim = fleet();
    sim.deploy(&svc(), Colour::Blue, "1.0.0").await.unwrap();
    assert!(
        sim.readiness(&svc(), Colour::Blue)
            .await
            .unwrap()
            .is_ready()
    );

    // Halfway through a start, a repeated deploy keeps the progress made.
    sim.deploy(&svc(), Colour::Green, "1.1.0").await.unwrap();
    advance(secs(6)).await;
    sim.deploy(&svc(), Colour::Green, "1.1.0").await.unwrap();
    advance(secs(4)).await;
    assert!(
        sim.readiness(&svc(), Colour::Green)
            .await
            .unwrap()
            .is_ready()
    );
}

#[tokio::test(start_paused = true)]
async fn never_healthy_keeps_healthy_at_zero_while_tasks_run() {
    let sim = fleet();
    sim.set_fault(
        "prd",
        Fault {
            never_healthy: true,
            ..Fault::default()
        },
    )
    .unwrap();
    sim.deploy(&svc(), Colour::Green, "1.1.0").await.unwrap();
    advance(secs(60)).await;

    let green = sim.readiness(&svc(), Colour::Green).await.unwrap();
    assert_eq!((green.running, green.healthy), (3, 0));
    assert!(!green.is_ready());
    // Blue was healthy before the fault and stays so.
    assert!(
        sim.readiness(&svc(), Colour::Blue)
            .await
            .unwrap()
            .is_ready()
    );
}

#[tokio::test(start_paused = true)]
async fn a_fault_set_while_tasks_start_breaks_them_and_clearing_it_needs_a_redeploy() {
    let sim = fleet();
    sim.deploy(&svc(), Colour::Green, "1.1.0").await.unwrap();
    advance(secs(2)).await;
    sim.set_fault(
        "prd",
        Fault {
            never_healthy: true,
            ..Fault::default()
        },
    )
    .unwrap();
    advance(secs(30)).await;
    assert_eq!(
        sim.readiness(&svc(), Colour::Green).await.unwrap().healthy,
        0
    );

    sim.clear_faults("prd").unwrap();
    advance(secs(30)).await;
    assert_eq!(
        sim.readiness(&svc(), Colour::Green).await.unwrap().healthy,
        0
    );

    sim.deploy(&svc(), Colour::Green, "1.1.0").await.unwrap();
    advance(secs(10)).await;
    assert!(
        sim.readiness(&svc(), Colour::Green)
            .await
            .unwrap()
            .is_ready()
    );
}

#[tokio::test(start_paused = true)]
async fn a_task_fault_for_one_version_spares_the_others() {
    let sim = fleet();
    let fault = Fault {
        never_healthy: true,
        version: Some("1.2.0".into()),
        ..Fault::default()
    };
    sim.set_fault("prd", fault).unwrap();
    sim.deploy(&svc(), Colour::Green, "1.1.0").await.unwrap();
    advance(secs(10)).await;
    assert!(
        sim.readiness(&svc(), Colour::Green)
            .await
            .unwrap()
            .is_ready()
    );

    sim.deploy(&svc(), Colour::Green, "1.2.0").await.unwrap();
    advance(secs(10)).await;
    assert_eq!(
        sim.readiness(&svc(), Colour::Green).await.unwrap().healthy,
        0
    );
}

#[tokio::test(start_paused = true)]
async fn crash_loop_raises_restarts_and_never_gets_ready() {
    let sim = fleet();
    sim.set_fault(
        "prd",
        Fault {
            crash_loop: true,
            ..Fault::default()
        },
    )
    .unwrap();
    sim.deploy(&svc(), Colour::Green, "1.1.0").await.unwrap();

    let mut restarts = Vec::new();
    let mut running = Vec::new();
    for _ in 0..6 {
        advance(secs(5)).await;
        let r = sim.readiness(&svc(), Colour::Green).await.unwrap();
        assert_eq!(r.healthy, 0);
        assert!(!r.is_ready());
        restarts.push(r.restarts);
        running.push(r.running);
    }
    assert_eq!(restarts, [0, 3, 3, 6, 6, 9]);
    assert_eq!(running, [3, 0, 3, 0, 3, 0], "running flaps");
}

#[tokio::test(start_paused = true)]
async fn scaling_to_zero_stops_a_colour_and_scaling_up_needs_startup_again() {
    let sim = fleet();
    sim.scale(&svc(), Colour::Blue, 0).await.unwrap();
    let blue = sim.readiness(&svc(), Colour::Blue).await.unwrap();
    assert_eq!(
        (blue.desired, blue.running, blue.version.as_deref()),
        (0, 0, Some("1.0.0"))
    );

    sim.scale(&svc(), Colour::Blue, 2).await.unwrap();
    advance(secs(5)).await;
    let blue = sim.readiness(&svc(), Colour::Blue).await.unwrap();
    assert_eq!((blue.desired, blue.running, blue.healthy), (2, 2, 0));
    advance(secs(5)).await;
    assert!(
        sim.readiness(&svc(), Colour::Blue)
            .await
            .unwrap()
            .is_ready()
    );
}

#[tokio::test(start_paused = true)]
async fn scaling_up_keeps_the_tasks_already_serving() {
    let sim = fleet();
    sim.scale(&svc(), Colour::Blue, 5).await.unwrap();
    let blue = sim.readiness(&svc(), Colour::Blue).await.unwrap();
    assert_eq!((blue.desired, blue.running, blue.healthy), (5, 3, 3));
}

#[tokio::test(start_paused = true)]
async fn scaling_up_a_colour_that_runs_nothing_is_refused() {
    let sim = fleet();
    let err = sim.scale(&svc(), Colour::Green, 3).await.unwrap_err();
    assert!(!err.is_retryable(), "{err}");
    sim.scale(&svc(), Colour::Green, 0).await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn weights_round_trip_and_invalid_weights_are_refused() {
    let sim = fleet();
    let split = Weights::to(Colour::Green, 25);
    sim.set_weights(&svc(), split).await.unwrap();
    assert_eq!(sim.weights(&svc()).await.unwrap(), split);

    let err = sim
        .set_weights(
            &svc(),
            Weights {
                blue: 60,
                green: 60,
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(err, CloudError::Permanent(_)), "{err:?}");
    assert_eq!(
        sim.weights(&svc()).await.unwrap(),
        split,
        "a refused change changes nothing"
    );
}

#[tokio::test(start_paused = true)]
async fn a_lagging_route_shows_new_weights_only_after_the_given_number_of_reads() {
    let sim = fleet();
    sim.set_fault(
        "prd",
        Fault {
            weights_lag: 2,
            ..Fault::default()
        },
    )
    .unwrap();
    let split = Weights::to(Colour::Green, 10);
    sim.set_weights(&svc(), split).await.unwrap();
    assert_eq!(sim.snapshot(&svc()).unwrap().pending_weights, Some(split));

    let old = Weights::all(Colour::Blue);
    assert_eq!(sim.weights(&svc()).await.unwrap(), old);
    assert_eq!(sim.weights(&svc()).await.unwrap(), old);
    assert_eq!(sim.weights(&svc()).await.unwrap(), split);
    assert_eq!(sim.snapshot(&svc()).unwrap().pending_weights, None);
}

#[tokio::test(start_paused = true)]
async fn signals_scale_with_the_weight_share() {
    let sim = fleet();
    sim.deploy(&svc(), Colour::Green, "1.1.0").await.unwrap();
    advance(secs(10)).await;
    sim.set_weights(&svc(), Weights::to(Colour::Green, 10))
        .await
        .unwrap();
    advance(secs(60)).await;

    let blue = sim.sample(&svc(), Colour::Blue, secs(60)).await.unwrap();
    let green = sim.sample(&svc(), Colour::Green, secs(60)).await.unwrap();
    assert_eq!((blue.requests, green.requests), (2_700, 300));
    assert_eq!((blue.errors, green.errors), (0, 0));
    let p99 = green.p99_ms.expect("a colour with requests has a p99");
    assert!((44.0..=46.0).contains(&p99), "{p99}");

    // Over a window reaching back before the change, the shares mix.
    let blue = sim.sample(&svc(), Colour::Blue, secs(70)).await.unwrap();
    assert_eq!(blue.requests, 2_700 + 500);
}

#[tokio::test(start_paused = true)]
async fn a_colour_without_traffic_has_no_requests_and_no_latency() {
    let sim = fleet();
    advance(secs(60)).await;
    let green = sim.sample(&svc(), Colour::Green, secs(60)).await.unwrap();
    assert_eq!((green.requests, green.errors, green.p99_ms), (0, 0, None));
    assert_eq!(green.error_rate_percent(), None);
}

#[tokio::test(start_paused = true)]
async fn injected_errors_show_only_on_the_affected_version_and_grow_with_the_window_overlap() {
    let sim = fleet();
    sim.deploy(&svc(), Colour::Green, "1.1.0").await.unwrap();
    advance(secs(10)).await;
    sim.set_weights(&svc(), Weights::to(Colour::Green, 50))
        .await
        .unwrap();
    advance(secs(60)).await;
    let fault = Fault {
        error_rate_percent: 20.0,
        extra_latency_ms: 200.0,
        version: Some("1.1.0".into()),
        ..Fault::default()
    };
    sim.set_fault("prd", fault).unwrap();

    // 25 requests a second on each colour; 20 % of green's fail once the fault is on.
    let mut seen = Vec::new();
    for _ in 0..4 {
        advance(secs(15)).await;
        let green = sim.sample(&svc(), Colour::Green, secs(60)).await.unwrap();
        let blue = sim.sample(&svc(), Colour::Blue, secs(60)).await.unwrap();
        assert_eq!((green.requests, blue.requests), (1_500, 1_500));
        assert_eq!(blue.errors, 0, "blue runs another version");
        assert!(blue.p99_ms.unwrap() < 50.0);
        assert!(
            green.p99_ms.unwrap() > 240.0,
            "the slow share is far above 1 %"
        );
        seen.push(green.errors);
    }
    assert_eq!(seen, [75, 150, 225, 300]);
}

#[tokio::test(start_paused = true)]
async fn a_cleared_fault_fades_out_of_the_window() {
    let sim = fleet();
    sim.set_fault(
        "prd",
        Fault {
            error_rate_percent: 10.0,
            ..Fault::default()
        },
    )
    .unwrap();
    advance(secs(60)).await;
    sim.clear_faults("prd").unwrap();
    advance(secs(30)).await;
    let blue = sim.sample(&svc(), Colour::Blue, secs(60)).await.unwrap();
    assert_eq!((blue.requests, blue.errors), (3_000, 150));
    advance(secs(30)).await;
    assert_eq!(
        sim.sample(&svc(), Colour::Blue, secs(60))
            .await
            .unwrap()
            .errors,
        0
    );
}

/// Which of `n` readiness calls were throttled, in order.
async fn throttle_pattern(seed: u64, n: usize) -> Vec<bool> {
    let sim = fleet_with(SimOptions {
        seed,
        ..SimOptions::default()
    });
    sim.set_fault(
        "prd",
        Fault {
            throttle_percent: 30.0,
            ..Fault::default()
        },
    )
    .unwrap();
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        match sim.readiness(&svc(), Colour::Blue).await {
            Ok(_) => out.push(false),
            Err(CloudError::Retryable(msg)) => {
                assert_eq!(msg, "throttled");
                out.push(true);
            }
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    out
}

#[tokio::test(start_paused = true)]
async fn throttle_percent_throttles_about_that_share_and_the_same_seed_repeats_it() {
    let first = throttle_pattern(7, 1_000).await;
    let throttled = first.iter().filter(|&&t| t).count();
    assert!((250..=350).contains(&throttled), "{throttled} of 1000");
    assert_eq!(throttle_pattern(7, 1_000).await, first);
    assert_ne!(
        throttle_pattern(8, 1_000).await,
        first,
        "another seed, another sequence"
    );
}

#[tokio::test(start_paused = true)]
async fn fail_percent_answers_permanent_errors() {
    let sim = fleet();
    sim.set_fault(
        "prd",
        Fault {
            fail_percent: 100.0,
            ..Fault::default()
        },
    )
    .unwrap();
    let err = sim
        .deploy(&svc(), Colour::Green, "1.1.0")
        .await
        .unwrap_err();
    assert!(matches!(err, CloudError::Permanent(_)), "{err:?}");
    assert_eq!(
        sim.snapshot(&svc()).unwrap().green.version,
        None,
        "a failed call changes nothing"
    );
    assert_eq!(sim.calls().failed, 1);
}

#[tokio::test(start_paused = true)]
async fn api_latency_delays_every_call_in_virtual_time() {
    let sim = fleet_with(SimOptions {
        api_latency: Duration::from_millis(100),
        ..SimOptions::default()
    });
    sim.set_fault(
        "prd",
        Fault {
            api_latency: Some(secs(2)),
            ..Fault::default()
        },
    )
    .unwrap();
    let start = tokio::time::Instant::now();
    sim.weights(&svc()).await.unwrap();
    let took = start.elapsed();
    assert!(
        took >= Duration::from_millis(2_100) && took < Duration::from_millis(2_101),
        "{took:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn an_unknown_service_is_a_permanent_error_for_every_port() {
    let sim = fleet();
    let ghost = ServiceRef::new("prd", "ghost");
    let errors = [
        sim.deploy(&ghost, Colour::Green, "1.1.0")
            .await
            .unwrap_err(),
        sim.readiness(&ghost, Colour::Blue).await.unwrap_err(),
        sim.scale(&ghost, Colour::Blue, 1).await.unwrap_err(),
        sim.set_weights(&ghost, Weights::all(Colour::Green))
            .await
            .unwrap_err(),
        sim.weights(&ghost).await.unwrap_err(),
        sim.sample(&ghost, Colour::Blue, secs(60))
            .await
            .unwrap_err(),
    ];
    for err in errors {
        assert!(
            matches!(&err, CloudError::Permanent(msg) if msg.contains("prd/ghost")),
            "{err:?}"
        );
    }
    assert!(sim.snapshot(&ghost).is_none());
    assert_eq!(sim.calls().refused, 6);
}

#[tokio::test(start_paused = true)]
async fn call_counts_count_each_call_once_by_outcome() {
    let sim = fleet();
    sim.deploy(&svc(), Colour::Green, "1.1.0").await.unwrap();
    sim.readiness(&svc(), Colour::Green).await.unwrap();
    sim.readiness(&svc(), Colour::Green).await.unwrap();
    sim.scale(&svc(), Colour::Blue, 3).await.unwrap();
    sim.set_weights(&svc(), Weights::to(Colour::Green, 10))
        .await
        .unwrap();
    sim.set_weights(&svc(), Weights { blue: 0, green: 0 })
        .await
        .unwrap_err();
    sim.weights(&svc()).await.unwrap();
    sim.sample(&svc(), Colour::Green, secs(60)).await.unwrap();

    let expected = CallCounts {
        deploy: 1,
        readiness: 2,
        scale: 1,
        set_weights: 1,
        weights: 1,
        sample: 1,
        throttled: 0,
        failed: 0,
        refused: 1,
    };
    assert_eq!(sim.calls(), expected);
    assert_eq!(sim.calls().total(), 8);
    sim.snapshot(&svc());
    assert_eq!(sim.calls(), expected, "snapshots are not calls");
}

#[tokio::test(start_paused = true)]
async fn a_persisted_fleet_reopened_from_its_file_is_the_same_fleet() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fleet.json");
    let clock = Clock::starting_at(T0);
    let options = SimOptions {
        seed: 42,
        ..SimOptions::default()
    };

    let sim = Sim::open(&path, clock, options.clone()).unwrap();
    sim.add_service(&svc(), 3, "1.0.0").unwrap();
    sim.deploy(&svc(), Colour::Green, "1.1.0").await.unwrap();
    advance(secs(10)).await;
    sim.set_weights(&svc(), Weights::to(Colour::Green, 30))
        .await
        .unwrap();
    sim.set_fault(
        "prd",
        Fault {
            error_rate_percent: 5.0,
            ..Fault::default()
        },
    )
    .unwrap();
    // A second deploy that is still starting when the process "dies".
    sim.deploy(&svc(), Colour::Blue, "1.2.0").await.unwrap();
    advance(secs(30)).await;
    let before = sim.snapshot(&svc()).unwrap();
    let sample = sim.sample(&svc(), Colour::Green, secs(60)).await.unwrap();
    let calls = sim.calls();
    drop(sim);

    let reopened = Sim::open(&path, clock, options).unwrap();
    assert_eq!(reopened.snapshot(&svc()).unwrap(), before);
    assert!(before.green.is_ready() && before.blue.is_ready());
    assert_eq!(before.weights, Weights::to(Colour::Green, 30));
    assert_eq!(reopened.calls(), calls);
    assert_eq!(
        reopened.fault("prd").map(|f| f.error_rate_percent),
        Some(5.0)
    );
    assert_eq!(
        reopened
            .sample(&svc(), Colour::Green, secs(60))
            .await
            .unwrap(),
        sample
    );
    // Declaring the service again at start-up keeps what happened since.
    reopened.add_service(&svc(), 3, "1.0.0").unwrap();
    assert_eq!(
        reopened.snapshot(&svc()).unwrap().blue.version.as_deref(),
        Some("1.2.0")
    );
}

#[tokio::test(start_paused = true)]
async fn a_deploy_still_starting_when_the_process_dies_finishes_after_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fleet.json");
    let clock = Clock::starting_at(T0);

    let sim = Sim::open(&path, clock, SimOptions::default()).unwrap();
    sim.add_service(&svc(), 3, "1.0.0").unwrap();
    sim.deploy(&svc(), Colour::Green, "1.1.0").await.unwrap();
    drop(sim);

    advance(secs(10)).await;
    let reopened = Sim::open(&path, clock, SimOptions::default()).unwrap();
    assert!(
        reopened
            .readiness(&svc(), Colour::Green)
            .await
            .unwrap()
            .is_ready()
    );
}

#[tokio::test(start_paused = true)]
async fn a_reopened_fleet_continues_its_throttling_sequence_instead_of_replaying_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fleet.json");
    let clock = Clock::starting_at(T0);
    let throttle = Fault {
        throttle_percent: 50.0,
        ..Fault::default()
    };

    // One uninterrupted run of 40 calls...
    let whole = fleet_with(SimOptions {
        seed: 3,
        ..SimOptions::default()
    });
    whole.set_fault("prd", throttle.clone()).unwrap();
    let mut expected = Vec::new();
    for _ in 0..40 {
        expected.push(whole.weights(&svc()).await.is_err());
    }

    // ...equals 20 calls, a restart, and 20 more.
    let options = SimOptions {
        seed: 3,
        ..SimOptions::default()
    };
    let mut seen = Vec::new();
    for _ in 0..2 {
        let sim = Sim::open(&path, clock, options.clone()).unwrap();
        sim.add_service(&svc(), 3, "1.0.0").unwrap();
        sim.set_fault("prd", throttle.clone()).unwrap();
        for _ in 0..20 {
            seen.push(sim.weights(&svc()).await.is_err());
        }
    }
    assert_eq!(seen, expected);
}

#[tokio::test(start_paused = true)]
async fn opening_a_missing_file_starts_empty_and_a_corrupt_one_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fleet.json");
    let sim = Sim::open(&path, Clock::starting_at(T0), SimOptions::default()).unwrap();
    assert!(sim.services().is_empty());
    assert!(path.exists(), "the file is created at once");

    std::fs::write(&path, "{ not json").unwrap();
    let err = Sim::open(&path, Clock::starting_at(T0), SimOptions::default()).unwrap_err();
    assert!(matches!(err, SimError::Corrupt { .. }), "{err:?}");

    std::fs::write(&path, r#"{"format": 99}"#).unwrap();
    let err = Sim::open(&path, Clock::starting_at(T0), SimOptions::default()).unwrap_err();
    assert!(matches!(err, SimError::Format { found: 99, .. }), "{err:?}");
}

#[tokio::test(start_paused = true)]
async fn nonsense_faults_and_services_are_refused() {
    let sim = fleet();
    for fault in [
        Fault {
            error_rate_percent: f64::NAN,
            ..Fault::default()
        },
        Fault {
            throttle_percent: 101.0,
            ..Fault::default()
        },
        Fault {
            throttle_percent: 60.0,
            fail_percent: 60.0,
            ..Fault::default()
        },
        Fault {
            extra_latency_ms: -1.0,
            ..Fault::default()
        },
    ] {
        assert!(matches!(
            sim.set_fault("prd", fault),
            Err(SimError::InvalidFault(_))
        ));
    }
    assert!(
        sim.add_service(&ServiceRef::new("prd", "web"), 0, "1.0.0")
            .is_err()
    );
    assert!(
        sim.add_service(&ServiceRef::new("", "web"), 1, "1.0.0")
            .is_err()
    );
    assert!(sim.deploy(&svc(), Colour::Green, " ").await.is_err());
}

/// One step of an arbitrary script against the fleet.
#[derive(Debug, Clone)]
enum Step {
    Deploy(Colour, &'static str),
    Scale(Colour, u32),
    SetWeights(u8, u8),
    Weights,
    Readiness(Colour),
    Sample(Colour, u64),
    Advance(u64),
    SetFault(Fault),
    ClearFaults,
}

fn colour() -> impl Strategy<Value = Colour> {
    prop_oneof![Just(Colour::Blue), Just(Colour::Green)]
}

fn step() -> impl Strategy<Value = Step> {
    let version = prop_oneof![Just("1.0.0"), Just("1.1.0"), Just("1.2.0")];
    let fault = (
        0.0..=100.0f64,
        0.0..500.0f64,
        prop::option::of(prop_oneof![
            Just("1.1.0".to_string()),
            Just("1.2.0".to_string())
        ]),
        any::<bool>(),
        any::<bool>(),
        0.0..=50.0f64,
        0.0..=50.0f64,
        0u32..4,
    )
        .prop_map(
            |(errors, latency, version, never_healthy, crash_loop, throttle, fail, lag)| Fault {
                error_rate_percent: errors,
                extra_latency_ms: latency,
                version,
                never_healthy,
                crash_loop,
                throttle_percent: throttle,
                fail_percent: fail,
                api_latency: None,
                weights_lag: lag,
            },
        );
    prop_oneof![
        (colour(), version).prop_map(|(c, v)| Step::Deploy(c, v)),
        (colour(), 0u32..6).prop_map(|(c, n)| Step::Scale(c, n)),
        (0u8..=120, 0u8..=120).prop_map(|(b, g)| Step::SetWeights(b, g)),
        Just(Step::Weights),
        colour().prop_map(Step::Readiness),
        (colour(), 0u64..200_000).prop_map(|(c, s)| Step::Sample(c, s)),
        (0u64..30_000).prop_map(Step::Advance),
        fault.prop_map(Step::SetFault),
        Just(Step::ClearFaults),
    ]
}

/// Runs `steps` on a fresh fleet on a paused clock, checks the invariants every
/// answer must keep, and returns the transcript of answers.
fn run_script(steps: &[Step]) -> Vec<String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("a test runtime");
    runtime.block_on(async {
        let sim = fleet_with(SimOptions {
            seed: 11,
            ..SimOptions::default()
        });
        let s = svc();
        let mut transcript = Vec::new();
        for step in steps {
            let answer = match step.clone() {
                Step::Deploy(c, v) => format!("{:?}", sim.deploy(&s, c, v).await),
                Step::Scale(c, n) => format!("{:?}", sim.scale(&s, c, n).await),
                Step::SetWeights(blue, green) => {
                    format!("{:?}", sim.set_weights(&s, Weights { blue, green }).await)
                }
                Step::Weights => {
                    let w = sim.weights(&s).await;
                    if let Ok(w) = w {
                        assert!(w.is_valid(), "{w:?}");
                    }
                    format!("{w:?}")
                }
                Step::Readiness(c) => {
                    let r = sim.readiness(&s, c).await;
                    if let Ok(r) = &r {
                        assert!(r.healthy <= r.running && r.running <= r.desired, "{r:?}");
                    }
                    format!("{r:?}")
                }
                Step::Sample(c, ms) => {
                    let sample = sim.sample(&s, c, Duration::from_millis(ms)).await;
                    if let Ok(sample) = &sample {
                        assert!(sample.errors <= sample.requests, "{sample:?}");
                        assert_eq!(sample.p99_ms.is_some(), sample.requests > 0, "{sample:?}");
                        assert!(sample.p99_ms.is_none_or(f64::is_finite), "{sample:?}");
                    }
                    format!("{sample:?}")
                }
                Step::Advance(ms) => {
                    advance(Duration::from_millis(ms)).await;
                    String::new()
                }
                Step::SetFault(fault) => format!("{:?}", sim.set_fault("prd", fault)),
                Step::ClearFaults => format!("{:?}", sim.clear_faults("prd")),
            };
            transcript.push(answer);
        }
        transcript.push(format!("{:?} {:?}", sim.snapshot(&s), sim.calls()));
        transcript
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn any_script_keeps_the_invariants_and_repeats_exactly(steps in prop::collection::vec(step(), 0..60)) {
        let first = run_script(&steps);
        prop_assert_eq!(run_script(&steps), first);
    }
}
