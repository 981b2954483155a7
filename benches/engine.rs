//! Engine benchmarks, printed as a table the README quotes. Run with
//! `cargo bench --bench engine`.
//!
//! 1. Detect-to-revert latency, in virtual time on the simulator: a 50% error
//!    fault starts at 25% traffic at many offsets within an analysis interval;
//!    the latency is from the moment the fault is visible in the signals (its
//!    share of the window pushes the error rate over the threshold) to the
//!    moment the route shows 100% stable. Target: at most interval + 1 s.
//! 2. Engine overhead: CPU time (user + system, all threads, via getrusage) of
//!    a full blue-green deployment with zero bake, zero verification and
//!    instantly ready tasks, averaged over many runs. Target: at most 5 ms.
//! 3. 500 concurrent deployments (500 environments, one service each) on the
//!    paused clock: wall time, peak RSS, and that all complete. Target RSS ≤ 150 MB.

use std::time::{Duration, Instant};

use switchyard::clock::Clock;
use switchyard::cloud::sim::{Fault, Sim, SimOptions};
use switchyard::cloud::{Colour, ServiceRef, Weights};
use switchyard::config::{Analysis, Plan};
use switchyard::intent::Strategy;
use switchyard::rollout::{DeployRequest, Engine, EngineOptions, EventKind, Retry};
use switchyard::store::{DeploymentState, Store};

fn retry() -> Retry {
    Retry {
        deadline: Duration::from_secs(120),
        backoff: Duration::from_millis(200),
    }
}

fn plan(interval: Duration, bake: Duration, verification: Duration) -> Plan {
    Plan {
        strategy: Strategy::BlueGreen,
        steps: vec![10, 25, 50, 100],
        bake,
        verification,
        watch: Duration::ZERO,
        analysis: Analysis {
            interval,
            min_requests: 10,
            ..Analysis::default()
        },
    }
}

fn request(svc: &ServiceRef, version: &str, plan: Plan) -> DeployRequest {
    DeployRequest {
        svc: svc.clone(),
        version: version.into(),
        strategy: Strategy::BlueGreen,
        plan,
        requested_by: "bench".into(),
        approvers: Vec::new(),
        emergency: false,
    }
}

fn paused_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .expect("runtime")
}

async fn store_in(dir: &tempfile::TempDir) -> Store {
    Store::open(&format!(
        "sqlite://{}",
        dir.path().join("bench.db").display()
    ))
    .await
    .expect("store")
}

/// One rollback: fault `offset` after the 25% shift; returns (fault visible →
/// route back at 100% stable).
async fn detect_to_revert(interval: Duration, offset: Duration) -> Duration {
    let dir = tempfile::tempdir().expect("tempdir");
    let clock = Clock::starting_at(1_767_225_600_000);
    let sim = Sim::new(clock, SimOptions::default());
    let svc = ServiceRef::new("prd", "api");
    sim.add_service(&svc, 3, "1.2.0").expect("service");
    let engine = Engine::new(
        store_in(&dir).await,
        sim.cloud(),
        clock,
        retry(),
        EngineOptions::default(),
    );
    let mut rx = engine.subscribe();
    let bake = interval * 6;
    let id = engine
        .start(request(&svc, "1.3.0", plan(interval, bake, interval * 6)))
        .await
        .expect("start");
    let (error_rate, threshold) = (50.0, Analysis::default().max_error_rate_percent);
    let mut visible_at = None;
    let mut reverted_at = None;
    while let Ok(e) = rx.recv().await {
        match e.kind {
            EventKind::WeightsChanged { weights } if weights.green == 25 => {
                let sim = sim.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(offset).await;
                    let fault = Fault {
                        error_rate_percent: error_rate,
                        version: Some("1.3.0".into()),
                        ..Fault::default()
                    };
                    sim.set_fault("prd", fault).expect("fault");
                });
                // The window's error rate passes the threshold once the fault fills
                // threshold/error_rate of the window (window = interval here).
                let lag = interval.mul_f64(threshold / error_rate);
                visible_at = Some(tokio::time::Instant::now() + offset + lag);
            }
            EventKind::WeightsChanged { weights } if weights == Weights::all(Colour::Blue) => {
                reverted_at = Some(tokio::time::Instant::now());
            }
            EventKind::Finished { .. } => break,
            _ => {}
        }
    }
    engine.wait(id).await;
    reverted_at.expect("reverted") - visible_at.expect("fault injected")
}

fn cpu_time() -> Duration {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage fills the struct it is given; RUSAGE_SELF is always valid.
    let usage = unsafe {
        libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr());
        usage.assume_init()
    };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn main() {
    // `cargo test --benches` runs this with `--bench` absent: keep it quick then.
    let full = std::env::args().any(|a| a == "--bench");
    let rt = paused_runtime();

    println!("## detect-to-revert latency (virtual time, 50% errors at 25% traffic)");
    println!("| analysis interval | offsets | max latency | mean latency | target |");
    println!("|---|---|---|---|---|");
    for secs in [10u64, 30, 60] {
        let interval = Duration::from_secs(secs);
        let offsets: Vec<Duration> = (0..if full { 10 } else { 2 })
            .map(|i| interval * i / 10)
            .collect();
        let latencies: Vec<Duration> = offsets
            .iter()
            .map(|o| rt.block_on(detect_to_revert(interval, *o)))
            .collect();
        let max = latencies.iter().max().copied().unwrap_or_default();
        let mean = latencies.iter().sum::<Duration>() / latencies.len().max(1) as u32;
        println!(
            "| {secs} s | {} | {:.1} s | {:.1} s | ≤ {} s |",
            latencies.len(),
            max.as_secs_f64(),
            mean.as_secs_f64(),
            secs + 1
        );
    }

    println!("\n## engine overhead (zero bakes, tasks ready at once)");
    let runs = if full { 200 } else { 5 };
    let (cpu, wall) = rt.block_on(async {
        let dir = tempfile::tempdir().expect("tempdir");
        let clock = Clock::starting_at(1_767_225_600_000);
        let instant = SimOptions {
            startup: Duration::ZERO,
            health_delay: Duration::ZERO,
            ..SimOptions::default()
        };
        let sim = Sim::new(clock, instant);
        let svc = ServiceRef::new("prd", "api");
        sim.add_service(&svc, 3, "1.0.0").expect("service");
        let engine = Engine::new(
            store_in(&dir).await,
            sim.cloud(),
            clock,
            retry(),
            EngineOptions::default(),
        );
        let zero = plan(Duration::from_secs(10), Duration::ZERO, Duration::ZERO);
        let (cpu0, wall0) = (cpu_time(), Instant::now());
        for i in 0..runs {
            let id = engine
                .start(request(&svc, &format!("1.0.{}", i + 1), zero.clone()))
                .await
                .expect("start");
            engine.wait(id).await;
        }
        ((cpu_time() - cpu0) / runs, (Instant::now() - wall0) / runs)
    });
    println!("| deployments | CPU per deployment | wall per deployment (incl. fsync) | target |");
    println!("|---|---|---|---|");
    println!(
        "| {runs} | {:.2} ms | {:.2} ms | ≤ 5 ms CPU |",
        cpu.as_secs_f64() * 1e3,
        wall.as_secs_f64() * 1e3
    );

    println!("\n## concurrent deployments (paused clock, bake 60 s, verification 120 s)");
    let n = if full { 500 } else { 20 };
    let (wall, done) = rt.block_on(async {
        let dir = tempfile::tempdir().expect("tempdir");
        let clock = Clock::starting_at(1_767_225_600_000);
        let sim = Sim::new(clock, SimOptions::default());
        let engine = Engine::new(
            store_in(&dir).await,
            sim.cloud(),
            clock,
            retry(),
            EngineOptions::default(),
        );
        let started = Instant::now();
        let mut ids = Vec::new();
        for i in 0..n {
            let svc = ServiceRef::new(format!("env-{i}"), "api");
            sim.add_service(&svc, 3, "1.0.0").expect("service");
            let p = plan(
                Duration::from_secs(10),
                Duration::from_secs(60),
                Duration::from_secs(120),
            );
            ids.push(
                engine
                    .start(request(&svc, "1.1.0", p))
                    .await
                    .expect("start"),
            );
        }
        for id in &ids {
            engine.wait(*id).await;
        }
        let mut done = 0;
        for id in &ids {
            let d = engine
                .store()
                .deployment(*id)
                .await
                .expect("read")
                .expect("row");
            done += usize::from(d.state == DeploymentState::Succeeded);
        }
        (started.elapsed(), done)
    });
    println!("| deployments | succeeded | wall time | peak RSS | target |");
    println!("|---|---|---|---|---|");
    println!(
        "| {n} | {done} | {:.1} s | {:.0} MB | all complete, ≤ 150 MB |",
        wall.as_secs_f64(),
        peak_rss_mb()
    );
    assert_eq!(done, n, "every deployment completes");
}
