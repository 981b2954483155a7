//! The pre-promotion checklist on the simulator and a temporary store, on
//! tokio's paused clock: tst/storefront-api runs 1.3.0 and prd/storefront-api
//! runs 1.2.0, both on blue, ready and healthy, with nothing recorded yet.

use std::time::Duration;

use async_trait::async_trait;
use switchyard::clock::Clock;
use switchyard::cloud::sim::{Sim, SimOptions};
use switchyard::cloud::{Colour, ServiceRef, Weights};
use switchyard::gates::{self, Check, CheckContext, Checklist, Outcome, Verdict, builtin};
use switchyard::intent::Strategy;
use switchyard::store::{DeploymentState, LockOutcome, NewDeployment, Store};
use tokio::time::Instant;

const API: &str = "storefront-api";

struct World {
    _dir: tempfile::TempDir,
    clock: Clock,
    sim: Sim,
    store: Store,
}

async fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("switchyard.db").display());
    let clock = Clock::starting_at(1_767_225_600_000);
    let sim = Sim::new(clock, SimOptions::default());
    sim.add_service(&ServiceRef::new("tst", API), 3, "1.3.0")
        .unwrap();
    sim.add_service(&ServiceRef::new("prd", API), 3, "1.2.0")
        .unwrap();
    let store = Store::open(&db).await.unwrap();
    World {
        _dir: dir,
        clock,
        sim,
        store,
    }
}

impl World {
    /// The context of "promote VERSION from tst to prd".
    fn promote(&self, version: &str) -> CheckContext {
        CheckContext {
            store: self.store.clone(),
            cloud: self.sim.cloud(),
            service: API.into(),
            version: version.into(),
            source: Some("tst".into()),
            target: "prd".into(),
        }
    }

    /// Records a deployment of `service` in `env` that ended in `state`
    /// (or is still `pending` / `running`), and returns its id.
    async fn record(&self, env: &str, service: &str, version: &str, state: DeploymentState) -> i64 {
        let at = self.clock.now_ms();
        let id = self
            .store
            .create_deployment(&NewDeployment {
                env: env.into(),
                service: service.into(),
                version: version.into(),
                previous_version: None,
                strategy: Strategy::BlueGreen,
                requested_by: "alice".into(),
                approvers: Vec::new(),
                emergency: false,
                created_at: at,
                live_colour: Some(Colour::Blue),
                new_colour: Some(Colour::Green),
            })
            .await
            .unwrap();
        if state != DeploymentState::Pending {
            self.store.start(id, at).await.unwrap();
        }
        if state.is_final() {
            self.store.finish(id, state, None, at).await.unwrap();
        }
        // Distinct creation times, so "newest" is unambiguous.
        tokio::time::advance(Duration::from_secs(1)).await;
        id
    }
}

/// Runs one check by name from the promotion list.
async fn check(ctx: &CheckContext, name: &str) -> (Outcome, String) {
    let list = gates::run(&builtin(true), ctx, false).await;
    let result = list.get(name).expect("the check is on the list");
    (result.outcome, result.reason.clone())
}

fn outcomes(list: &Checklist) -> Vec<(&str, Outcome)> {
    list.results
        .iter()
        .map(|r| (r.name.as_str(), r.outcome))
        .collect()
}

#[tokio::test(start_paused = true)]
async fn a_healthy_promotion_passes_every_check_in_order() {
    let w = world().await;
    w.record("tst", API, "1.3.0", DeploymentState::Succeeded)
        .await;
    let list = gates::run(&builtin(true), &w.promote("1.3.0"), false).await;
    assert_eq!(
        outcomes(&list),
        [
            ("source-healthy", Outcome::Pass),
            ("source-last-success", Outcome::Pass),
            ("target-idle", Outcome::Pass),
            ("target-unlocked", Outcome::Pass),
            ("version-changes", Outcome::Pass),
        ]
    );
    assert!(list.passed());
    let reasons: Vec<&str> = list.results.iter().map(|r| r.reason.as_str()).collect();
    assert_eq!(
        reasons,
        [
            "1.3.0 is live in tst on blue, 3/3 tasks healthy",
            "1.3.0 was the last successful deployment of storefront-api to tst (#1)",
            "no deployment is under way in prd",
            "prd is not locked",
            "prd runs 1.2.0; 1.3.0 will replace it",
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn a_deploy_runs_only_the_target_checks() {
    let names: Vec<String> = builtin(false).iter().map(|c| c.name().to_owned()).collect();
    assert_eq!(names, ["target-idle", "target-unlocked", "version-changes"]);

    // Source checks given no source fail rather than pass by default.
    let w = world().await;
    let ctx = CheckContext {
        source: None,
        ..w.promote("1.3.0")
    };
    let (outcome, reason) = check(&ctx, "source-healthy").await;
    assert_eq!(outcome, Outcome::Fail);
    assert!(reason.contains("no source environment"), "{reason}");
}

#[tokio::test(start_paused = true)]
async fn source_healthy_fails_when_the_source_runs_another_version() {
    let w = world().await;
    let (outcome, reason) = check(&w.promote("1.4.0"), "source-healthy").await;
    assert_eq!(outcome, Outcome::Fail);
    assert_eq!(reason, "tst runs 1.3.0, not 1.4.0");
}

#[tokio::test(start_paused = true)]
async fn source_healthy_fails_while_the_live_colour_is_not_ready_or_the_route_is_split() {
    let w = world().await;
    let cloud = w.sim.cloud();
    let tst = ServiceRef::new("tst", API);
    cloud
        .compute
        .deploy(&tst, Colour::Green, "1.4.0")
        .await
        .unwrap();
    cloud
        .traffic
        .set_weights(&tst, Weights::to(Colour::Green, 50))
        .await
        .unwrap();
    let (outcome, reason) = check(&w.promote("1.4.0"), "source-healthy").await;
    assert_eq!(outcome, Outcome::Fail);
    assert!(
        reason.contains("is split (blue 50% | green 50%)"),
        "{reason}"
    );

    cloud
        .traffic
        .set_weights(&tst, Weights::all(Colour::Green))
        .await
        .unwrap();
    let (outcome, reason) = check(&w.promote("1.4.0"), "source-healthy").await;
    assert_eq!(outcome, Outcome::Fail);
    assert_eq!(
        reason,
        "1.4.0 is live in tst but only 0/3 tasks are healthy"
    );

    // Once the tasks have started and passed their health checks it passes.
    tokio::time::advance(Duration::from_secs(11)).await;
    let (outcome, reason) = check(&w.promote("1.4.0"), "source-healthy").await;
    assert_eq!(outcome, Outcome::Pass, "{reason}");
}

#[tokio::test(start_paused = true)]
async fn last_success_fails_when_a_newer_version_succeeded_in_the_source() {
    let w = world().await;
    w.record("tst", API, "1.3.0", DeploymentState::Succeeded)
        .await;
    let newer = w
        .record("tst", API, "1.3.1", DeploymentState::Succeeded)
        .await;
    let (outcome, reason) = check(&w.promote("1.3.0"), "source-last-success").await;
    assert_eq!(outcome, Outcome::Fail);
    assert_eq!(
        reason,
        format!(
            "the last successful deployment of storefront-api to tst was 1.3.1 (#{newer}), not 1.3.0"
        )
    );
}

#[tokio::test(start_paused = true)]
async fn last_success_ignores_later_failures_and_other_services() {
    let w = world().await;
    let good = w
        .record("tst", API, "1.3.0", DeploymentState::Succeeded)
        .await;
    w.record("tst", API, "1.3.1", DeploymentState::RolledBack)
        .await;
    w.record("tst", "storefront-web", "9.0.0", DeploymentState::Succeeded)
        .await;
    w.record("prd", API, "1.3.5", DeploymentState::Succeeded)
        .await;
    let (outcome, reason) = check(&w.promote("1.3.0"), "source-last-success").await;
    assert_eq!(outcome, Outcome::Pass, "{reason}");
    assert!(reason.ends_with(&format!("(#{good})")), "{reason}");
}

#[tokio::test(start_paused = true)]
async fn last_success_fails_when_nothing_of_the_service_succeeded_in_the_source() {
    let w = world().await;
    w.record("tst", API, "1.3.0", DeploymentState::Failed).await;
    let (outcome, reason) = check(&w.promote("1.3.0"), "source-last-success").await;
    assert_eq!(outcome, Outcome::Fail);
    assert_eq!(
        reason,
        "no deployment of storefront-api to tst has succeeded yet"
    );
}

#[tokio::test(start_paused = true)]
async fn without_records_last_success_checks_the_running_version_instead() {
    let w = world().await;
    // Another service's history does not count as this one's.
    w.record("tst", "storefront-web", "1.3.0", DeploymentState::Succeeded)
        .await;
    let (outcome, reason) = check(&w.promote("1.3.0"), "source-last-success").await;
    assert_eq!(outcome, Outcome::Pass);
    assert_eq!(
        reason,
        "no deployments recorded; running version checked instead"
    );

    let (outcome, reason) = check(&w.promote("1.4.0"), "source-last-success").await;
    assert_eq!(outcome, Outcome::Fail);
    assert_eq!(
        reason,
        "no deployments recorded, and tst runs 1.3.0, not 1.4.0"
    );
}

#[tokio::test(start_paused = true)]
async fn target_idle_fails_while_a_deployment_is_pending_or_running_in_the_target() {
    let w = world().await;
    let id = w
        .record("prd", "storefront-web", "2.0.0", DeploymentState::Pending)
        .await;
    let (outcome, reason) = check(&w.promote("1.3.0"), "target-idle").await;
    assert_eq!(outcome, Outcome::Fail);
    assert_eq!(
        reason,
        format!("deployment #{id} (storefront-web 2.0.0, by alice) is pending in prd")
    );

    w.store.start(id, w.clock.now_ms()).await.unwrap();
    let (_, reason) = check(&w.promote("1.3.0"), "target-idle").await;
    assert!(reason.contains("is running in prd"), "{reason}");

    w.store
        .finish(id, DeploymentState::Aborted, Some("test"), w.clock.now_ms())
        .await
        .unwrap();
    let (outcome, _) = check(&w.promote("1.3.0"), "target-idle").await;
    assert_eq!(outcome, Outcome::Pass);
}

#[tokio::test(start_paused = true)]
async fn target_unlocked_fails_on_a_locked_target_and_says_who_and_why() {
    let w = world().await;
    let locked = w
        .store
        .lock("prd", "dave", Some("release\nfreeze"), w.clock.now_ms())
        .await
        .unwrap();
    assert_eq!(locked, LockOutcome::Locked);
    let (outcome, reason) = check(&w.promote("1.3.0"), "target-unlocked").await;
    assert_eq!(outcome, Outcome::Fail);
    assert_eq!(reason, "prd is locked by dave: release freeze", "one line");

    // A lock elsewhere is none of this promotion's business.
    w.store.unlock("prd").await.unwrap();
    let _ = w.store.lock("tst", "dave", None, w.clock.now_ms()).await;
    let (outcome, _) = check(&w.promote("1.3.0"), "target-unlocked").await;
    assert_eq!(outcome, Outcome::Pass);
}

#[tokio::test(start_paused = true)]
async fn version_changes_fails_when_the_target_already_runs_the_version() {
    let w = world().await;
    let ctx = CheckContext {
        source: None,
        ..w.promote("1.2.0")
    };
    let list = gates::run(&builtin(false), &ctx, false).await;
    let result = list.get("version-changes").unwrap();
    assert_eq!(result.outcome, Outcome::Fail);
    assert_eq!(result.reason, "prd already runs 1.2.0");
    assert!(!list.passed());
}

#[tokio::test(start_paused = true)]
async fn a_target_the_cloud_does_not_know_fails_with_the_reason() {
    let w = world().await;
    let ctx = CheckContext {
        target: "qa".into(),
        ..w.promote("1.3.0")
    };
    let (outcome, reason) = check(&ctx, "version-changes").await;
    assert_eq!(outcome, Outcome::Fail);
    assert!(
        reason.starts_with("could not read the route of qa/storefront-api"),
        "{reason}"
    );
}

/// A check with a fixed answer after a fixed (virtual) time.
struct Fixed {
    name: &'static str,
    skippable: bool,
    after: Duration,
    verdict: Verdict,
}

#[async_trait]
impl Check for Fixed {
    fn name(&self) -> &str {
        self.name
    }

    fn skippable_in_emergency(&self) -> bool {
        self.skippable
    }

    async fn run(&self, _ctx: &CheckContext) -> Verdict {
        tokio::time::sleep(self.after).await;
        self.verdict.clone()
    }
}

fn fixed(name: &'static str, skippable: bool, secs: u64, verdict: Verdict) -> Box<dyn Check> {
    Box::new(Fixed {
        name,
        skippable,
        after: Duration::from_secs(secs),
        verdict,
    })
}

#[tokio::test(start_paused = true)]
async fn an_emergency_skips_skippable_checks_but_not_the_others() {
    let w = world().await;
    let mut checks = builtin(true);
    checks.push(fixed("ci", true, 0, Verdict::fail("build is red")));
    let ctx = w.promote("1.3.0");

    let normal = gates::run(&checks, &ctx, false).await;
    assert!(!normal.passed(), "the failing CI check stops it");

    let emergency = gates::run(&checks, &ctx, true).await;
    assert!(emergency.passed(), "{emergency:?}");
    let skipped: Vec<&str> = emergency
        .results
        .iter()
        .filter(|r| r.outcome == Outcome::Skipped)
        .map(|r| r.name.as_str())
        .collect();
    assert_eq!(skipped, ["source-last-success", "ci"]);
    assert_eq!(
        emergency.get("ci").unwrap().reason,
        "skipped for an emergency deployment"
    );

    // A lock is not skippable: the emergency still fails on it.
    let _ = w.store.lock("prd", "dave", None, w.clock.now_ms()).await;
    let locked = gates::run(&checks, &ctx, true).await;
    assert!(!locked.passed());
    let failed: Vec<&str> = locked.failures().map(|r| r.name.as_str()).collect();
    assert_eq!(failed, ["target-unlocked"]);
}

#[tokio::test(start_paused = true)]
async fn the_checklist_keeps_the_order_of_the_checks_while_they_run_concurrently() {
    let w = world().await;
    let checks = vec![
        fixed("slow", false, 3, Verdict::pass("slow")),
        fixed("medium", false, 2, Verdict::warn("medium\nwarning")),
        fixed("fast", false, 1, Verdict::pass("fast")),
    ];
    let started = Instant::now();
    let list = gates::run(&checks, &w.promote("1.3.0"), false).await;
    assert_eq!(
        started.elapsed(),
        Duration::from_secs(3),
        "concurrent, not 6 s"
    );
    assert_eq!(
        outcomes(&list),
        [
            ("slow", Outcome::Pass),
            ("medium", Outcome::Warn),
            ("fast", Outcome::Pass),
        ]
    );
    assert!(list.passed(), "a warning does not stop the change");
    assert_eq!(list.results[1].reason, "medium warning");
}

#[tokio::test(start_paused = true)]
async fn a_check_that_does_not_answer_in_time_fails() {
    let w = world().await;
    let checks = vec![fixed("hangs", false, 3600, Verdict::pass("late"))];
    let list = gates::run(&checks, &w.promote("1.3.0"), false).await;
    assert_eq!(list.results[0].outcome, Outcome::Fail);
    assert_eq!(
        list.results[0].reason,
        "no answer within 30s, so it cannot vouch for this change"
    );
}
