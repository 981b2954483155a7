//! The configured checklist providers (`[[environments.checks]]`) against
//! local stand-ins (`stand_ins.rs`): `http` and `scan` (Trivy) against a file
//! stand-in, `github` against the GitHub stand-in, `soak` against the store on
//! tokio's paused clock. Every provider that cannot be asked fails with the
//! reason, never passes. (Prometheus: `providers_prometheus.rs`; ECR:
//! `providers_ecr.rs`.)

use std::sync::Arc;
use std::time::Duration;

use switchyard::clock::Clock;
use switchyard::cloud::sim::{Sim, SimOptions};
use switchyard::cloud::{Colour, ServiceRef};
use switchyard::config::{CheckSpec, Config};
use switchyard::gates::providers::{Providers, configured};
use switchyard::gates::{self, CheckContext, CheckResult, Outcome};
use switchyard::intent::Strategy;
use switchyard::store::{Build, DeploymentState, NewDeployment, Store};

use crate::stand_ins::{self, runs};

pub const API: &str = "storefront-api";
const TOKEN: &str = "ghp_standInToken0123456789";
const COMMIT: &str = "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678";

/// A store, a simulated fleet (tst runs 1.3.0, prd 1.2.0) and a clock.
pub struct World {
    _dir: tempfile::TempDir,
    pub clock: Clock,
    pub sim: Sim,
    pub store: Store,
}

pub async fn world() -> World {
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
    pub fn promote(&self, version: &str) -> CheckContext {
        CheckContext {
            store: self.store.clone(),
            cloud: self.sim.cloud(),
            service: API.into(),
            version: version.into(),
            source: Some("tst".into()),
            target: "prd".into(),
        }
    }

    pub fn providers(&self) -> Providers {
        Providers {
            clock: self.clock,
            default_source: Some("tst".into()),
            scans: None,
        }
    }

    /// Runs the checks `specs` describe for `ctx`; returns their results.
    pub async fn run(&self, specs: &[CheckSpec], ctx: &CheckContext) -> Vec<CheckResult> {
        let checks = configured(specs, &self.providers());
        gates::run(&checks, ctx, false).await.results
    }

    /// Runs the one check `spec_toml` describes for "promote VERSION from tst to prd".
    pub async fn one(&self, spec_toml: &str, version: &str) -> (Outcome, String) {
        let specs = specs(spec_toml, &[]);
        let result = self.run(&specs, &self.promote(version)).await.remove(0);
        (result.outcome, result.reason)
    }

    /// Records a deployment of `version` in `env` that ended in `state` now.
    pub async fn record(&self, env: &str, version: &str, state: DeploymentState) -> i64 {
        let at = self.clock.now_ms();
        let id = self
            .store
            .create_deployment(&NewDeployment {
                env: env.into(),
                service: API.into(),
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
        id
    }

    /// Records that CI built `version` from `COMMIT`.
    pub async fn built(&self, version: &str) {
        self.store
            .record_build(&Build {
                service: API.into(),
                version: version.into(),
                image: format!("registry.example.com/{API}:{version}"),
                commit: COMMIT.into(),
                branch: "main".into(),
                built_at: self.clock.now_ms(),
            })
            .await
            .unwrap();
    }
}

/// The checks of a config whose `prd` has the `[[environments.checks]]`
/// tables `checks` (secrets from `env`). Panics with the errors if invalid.
pub fn specs(checks: &str, env: &[(&str, &str)]) -> Vec<CheckSpec> {
    let text = format!(
        "[[environments]]\nname = \"tst\"\n\n[[environments]]\nname = \"prd\"\n\n{checks}\n\n\
         [[services]]\nname = \"{API}\"\n"
    );
    let env: Vec<(String, String)> = env
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let lookup = move |var: &str| env.iter().find(|(k, _)| k == var).map(|(_, v)| v.clone());
    let config = Config::from_toml_str_with(&text, &lookup).expect("the checks are valid");
    config.environment("prd").unwrap().checks.clone()
}

fn github_check(api_base: &str, extra: &str) -> String {
    format!(
        "[[environments.checks]]\nname = \"ci\"\nkind = \"github\"\nrepo = \"acme/storefront-api\"\n\
         what = \"Integration tests\"\ntoken = {{ env = \"GITHUB_TOKEN\" }}\napi_base = \"{api_base}\"\n{extra}"
    )
}

async fn github_verdict(w: &World, api_base: &str, extra: &str, version: &str) -> CheckResult {
    let specs = specs(&github_check(api_base, extra), &[("GITHUB_TOKEN", TOKEN)]);
    w.run(&specs, &w.promote(version)).await.remove(0)
}

#[tokio::test]
async fn github_all_runs_passed_shows_the_counts_of_the_builds_commit() {
    let w = world().await;
    w.built("1.3.0").await;
    let gh = stand_ins::github(TOKEN, 50, true).await;
    gh.set_runs("acme/storefront-api", COMMIT, runs(156, &[]));
    let result = github_verdict(&w, &gh.api_base, "", "1.3.0").await;
    assert_eq!(result.name, "ci");
    assert_eq!(result.outcome, Outcome::Pass, "{}", result.reason);
    assert_eq!(
        result.reason,
        "Integration tests: 156/156 passed (commit a1b2c3d)"
    );
    // Four pages of at most 50, followed through the Link header.
    let requests = gh.requests();
    assert_eq!(requests.len(), 4, "{requests:?}");
    assert_eq!(
        requests[0],
        format!("/repos/acme/storefront-api/commits/{COMMIT}/check-runs?per_page=100")
    );
    assert!(requests[3].ends_with("page=4"), "{requests:?}");
    let headers = gh.state.lock().unwrap().headers.clone();
    assert!(
        headers
            .iter()
            .all(|(accept, version)| accept == "application/vnd.github+json"
                && version == "2022-11-28"),
        "{headers:?}"
    );
}

#[tokio::test]
async fn github_failed_runs_fail_with_the_counts_and_names_of_the_tag() {
    let w = world().await;
    // No build recorded: the version's tag is the ref; no Link header: pages by number.
    let gh = stand_ins::github(TOKEN, 100, false).await;
    gh.set_runs(
        "acme/storefront-api",
        "v1.3.0",
        runs(150, &["lint", "e2e-checkout"]),
    );
    let result = github_verdict(&w, &gh.api_base, "tag_template = \"v{{version}}\"", "1.3.0").await;
    assert_eq!(result.outcome, Outcome::Fail);
    assert_eq!(
        result.reason,
        "Integration tests: 150/152 passed; failed: e2e-checkout, lint (tag v1.3.0)"
    );
    assert_eq!(gh.requests().len(), 2, "{:?}", gh.requests());
}

#[tokio::test]
async fn github_runs_still_going_or_never_run_keep_the_check_from_passing() {
    let w = world().await;
    w.built("1.3.0").await;
    let gh = stand_ins::github(TOKEN, 100, true).await;
    let mut all = runs(3, &[]);
    all.push(stand_ins::run(10, "e2e", "in_progress", None));
    all.push(stand_ins::run(11, "perf", "queued", None));
    all.push(stand_ins::run(12, "docs", "completed", Some("skipped")));
    gh.set_runs("acme/storefront-api", COMMIT, all);
    let result = github_verdict(&w, &gh.api_base, "", "1.3.0").await;
    assert_eq!(result.outcome, Outcome::Fail);
    assert_eq!(
        result.reason,
        "Integration tests: 4/6 passed; 2 still running: e2e, perf (commit a1b2c3d)"
    );

    // Only the required runs count; one that never ran fails the check.
    let required = "required = [\"test-001\", \"security-scan\"]";
    let result = github_verdict(&w, &gh.api_base, required, "1.3.0").await;
    assert_eq!(
        result.reason,
        "Integration tests: 1/2 passed; never ran: security-scan (commit a1b2c3d)"
    );
}

#[tokio::test]
async fn github_refusing_the_token_fails_without_showing_it() {
    let w = world().await;
    let gh = stand_ins::github("another-token", 100, true).await;
    gh.set_runs("acme/storefront-api", "1.3.0", runs(3, &[]));
    let result = github_verdict(&w, &gh.api_base, "", "1.3.0").await;
    assert_eq!(result.outcome, Outcome::Fail);
    assert_eq!(
        result.reason,
        "Integration tests: GitHub refused the token (HTTP 401: Bad credentials)"
    );
    assert!(!result.reason.contains(TOKEN));

    // An unset token variable is named, not guessed around.
    let specs = specs(&github_check(&gh.api_base, ""), &[]);
    let result = w.run(&specs, &w.promote("1.3.0")).await.remove(0);
    assert_eq!(
        result.reason,
        "Integration tests: no token: environment variable `GITHUB_TOKEN` is not set"
    );
}

#[tokio::test]
async fn github_unreachable_or_without_the_ref_fails_with_the_reason() {
    let w = world().await;
    let result = github_verdict(&w, &stand_ins::unreachable_url(), "", "1.3.0").await;
    assert_eq!(result.outcome, Outcome::Fail);
    assert!(
        result
            .reason
            .starts_with("Integration tests: could not connect to 127.0.0.1:"),
        "{}",
        result.reason
    );

    let gh = stand_ins::github(TOKEN, 100, true).await;
    let result = github_verdict(&w, &gh.api_base, "", "1.9.9").await;
    assert_eq!(
        result.reason,
        "Integration tests: GitHub knows no ref `1.9.9` in acme/storefront-api \
         (HTTP 422: No commit found for SHA: 1.9.9)"
    );
}

#[tokio::test]
async fn github_errors_and_nonsense_fail_with_the_reason() {
    let w = world().await;
    // A file stand-in in GitHub's place, answering what GitHub never should.
    let site = stand_ins::files().await;
    let path = "/repos/acme/storefront-api/commits/1.3.0/check-runs";
    let host = site.url.trim_start_matches("http://").to_owned();
    let cases = [
        (
            502,
            "<html>Bad gateway</html>",
            "Integration tests: GitHub answered HTTP 502".to_owned(),
        ),
        (
            200,
            "{\"total_count\": 1, \"check_runs\": [{\"id\": 1}]}",
            format!("Integration tests: the answer from {host} is not a list of check runs"),
        ),
        (
            200,
            "[1, 2,",
            format!("Integration tests: the answer from {host} is not a list of check runs"),
        ),
    ];
    for (status, body, want) in cases {
        site.set(path, status, body);
        let result = github_verdict(&w, &site.url, "", "1.3.0").await;
        assert_eq!(result.outcome, Outcome::Fail, "{body}");
        assert_eq!(result.reason, want, "{body}");
    }
    // The token went as a bearer, and only to the API's host.
    assert!(
        site.requests()
            .iter()
            .all(|(_, auth)| auth.as_deref() == Some(&format!("Bearer {TOKEN}")[..]))
    );
}

fn http_check(url: &str, extra: &str) -> String {
    format!(
        "[[environments.checks]]\nname = \"smoke\"\nkind = \"http\"\nwhat = \"smoke tests\"\n\
         url = \"{url}\"\n{extra}"
    )
}

#[tokio::test]
async fn http_passes_on_2xx_and_the_expected_json_value() {
    let w = world().await;
    let site = stand_ins::files().await;
    site.set(
        "/e2e/prd/1.3.0",
        200,
        r#"{"run": {"status": "passed", "failed": 0}}"#,
    );
    let url = format!("{}/e2e/{{{{env}}}}/{{{{version}}}}", site.url);
    let (outcome, reason) = w.one(&http_check(&url, ""), "1.3.0").await;
    assert_eq!(outcome, Outcome::Pass, "{reason}");
    let host = site.url.trim_start_matches("http://");
    assert_eq!(reason, format!("smoke tests: HTTP 200 from {host}"));

    let expect = "json_pointer = \"/run/status\"\nequals = \"passed\"";
    let (outcome, reason) = w.one(&http_check(&url, expect), "1.3.0").await;
    assert_eq!(outcome, Outcome::Pass, "{reason}");
    assert_eq!(reason, "smoke tests: /run/status is \"passed\"");

    let numbers = "json_pointer = \"/run/failed\"\nequals = 0";
    let (outcome, _) = w.one(&http_check(&url, numbers), "1.3.0").await;
    assert_eq!(outcome, Outcome::Pass);

    // A version cannot add path segments or parameters to the URL.
    let (outcome, reason) = w.one(&http_check(&url, ""), "1.3.0/../x?y").await;
    assert_eq!(outcome, Outcome::Fail);
    assert!(reason.starts_with("smoke tests: HTTP 404 from"), "{reason}");
    let asked: Vec<String> = site.requests().into_iter().map(|(p, _)| p).collect();
    assert_eq!(asked.last().unwrap(), "/e2e/prd/1.3.0%2F..%2Fx%3Fy");
}

#[tokio::test]
async fn http_fails_on_the_wrong_value_an_error_status_or_a_body_that_is_not_json() {
    let w = world().await;
    let site = stand_ins::files().await;
    site.set("/failed", 200, r#"{"run": {"status": "failed"}}"#);
    site.set("/down", 503, "upstream unavailable");
    site.set("/html", 200, "<html>ok</html>");
    let expect = "json_pointer = \"/run/status\"\nequals = \"passed\"";
    let cases = [
        (
            "/failed",
            "smoke tests: /run/status is \"failed\", expected \"passed\"",
        ),
        ("/down", "smoke tests: HTTP 503 from HOST"),
        ("/html", "smoke tests: the answer from HOST is not JSON"),
    ];
    let host = site.url.trim_start_matches("http://").to_owned();
    for (path, want) in cases {
        let check = http_check(&format!("{}{path}", site.url), expect);
        let (outcome, reason) = w.one(&check, "1.3.0").await;
        assert_eq!(outcome, Outcome::Fail, "{path}");
        assert_eq!(reason, want.replace("HOST", &host), "{path}");
    }
}

#[tokio::test]
async fn http_sends_its_token_as_a_bearer_and_fails_when_unreachable() {
    let w = world().await;
    let site = stand_ins::files().await;
    site.set("/ok", 204, "");
    let check = http_check(
        &format!("{}/ok", site.url),
        "token = { env = \"SMOKE_TOKEN\" }",
    );
    let specs = specs(&check, &[("SMOKE_TOKEN", "smoke-secret")]);
    let result = w.run(&specs, &w.promote("1.3.0")).await.remove(0);
    assert_eq!(result.outcome, Outcome::Pass, "{}", result.reason);
    assert_eq!(site.requests()[0].1.as_deref(), Some("Bearer smoke-secret"));

    let check = http_check(&format!("{}/ok", stand_ins::unreachable_url()), "");
    let (outcome, reason) = w.one(&check, "1.3.0").await;
    assert_eq!(outcome, Outcome::Fail);
    assert!(
        reason.starts_with("smoke tests: could not connect to 127.0.0.1:"),
        "{reason}"
    );
}

#[tokio::test]
async fn a_provider_that_never_answers_fails_at_its_timeout() {
    let w = world().await;
    // Accepts connections and never says a word.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/never", listener.local_addr().unwrap());
    let held = Arc::new(tokio::sync::Mutex::new(Vec::new()));
    let sockets = held.clone();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            sockets.lock().await.push(socket);
        }
    });
    let check = http_check(&url, "timeout = \"1s\"");
    let started = std::time::Instant::now();
    let (outcome, reason) = w.one(&check, "1.3.0").await;
    assert_eq!(outcome, Outcome::Fail);
    assert_eq!(
        reason,
        "no answer within 1s, so it cannot vouch for this change"
    );
    assert!(started.elapsed() < Duration::from_secs(5));
}

fn trivy_check(url: &str, extra: &str) -> String {
    format!(
        "[[environments.checks]]\nname = \"image-scan\"\nkind = \"scan\"\nsource = \"trivy\"\n\
         url = \"{url}/scans/{{{{service}}}}/{{{{version}}}}.json\"\n{extra}"
    )
}

#[tokio::test]
async fn trivy_findings_at_or_above_the_bar_fail_and_are_listed_worst_first() {
    let w = world().await;
    let site = stand_ins::files().await;
    let image = "registry.example.com/storefront-api:1.3.0";
    let mut findings = vec![
        ("CVE-2024-0001", "CRITICAL", "openssl"),
        ("CVE-2024-0002", "CRITICAL", "glibc"),
        ("CVE-2024-0001", "HIGH", "libssl3"),
        ("CVE-2023-0105", "MEDIUM", "zlib"),
        ("CVE-2023-0106", "LOW", "tar"),
        ("CVE-2023-0107", "UNKNOWN", "bash"),
    ];
    let highs = [
        "CVE-2024-1001",
        "CVE-2024-1002",
        "CVE-2024-1003",
        "CVE-2024-1004",
        "CVE-2024-1005",
    ];
    findings.extend(highs.iter().map(|id| (*id, "HIGH", "libxml2")));
    site.set(
        "/scans/storefront-api/1.3.0.json",
        200,
        stand_ins::trivy_report(image, &findings),
    );
    let (outcome, reason) = w.one(&trivy_check(&site.url, ""), "1.3.0").await;
    assert_eq!(outcome, Outcome::Fail);
    assert_eq!(
        reason,
        "2 critical, 5 high vulnerabilities in registry.example.com/storefront-api:1.3.0 \
         (at or above high): CVE-2024-0001, CVE-2024-0002, CVE-2024-1001, CVE-2024-1002, \
         CVE-2024-1003 and 2 more"
    );

    let (outcome, reason) = w
        .one(
            &trivy_check(
                &site.url,
                "fail_at = \"critical\"\nignore = [\"CVE-2024-0001\", \"CVE-2024-0002\"]",
            ),
            "1.3.0",
        )
        .await;
    assert_eq!(outcome, Outcome::Pass, "{reason}");
    assert_eq!(
        reason,
        "no vulnerabilities at or above critical in registry.example.com/storefront-api:1.3.0 \
         (5 high, 1 medium, 1 low below it; 2 ignored)"
    );

    let (outcome, reason) = w
        .one(
            &trivy_check(
                &site.url,
                "fail_at = \"medium\"\nignore = [\"CVE-2024-0001\", \"CVE-2024-0002\"]",
            ),
            "1.3.0",
        )
        .await;
    assert_eq!(outcome, Outcome::Fail);
    assert!(
        reason.starts_with("5 high, 1 medium vulnerabilities in"),
        "{reason}"
    );
}

#[tokio::test]
async fn a_clean_trivy_report_passes_and_a_missing_or_foreign_one_fails() {
    let w = world().await;
    let site = stand_ins::files().await;
    site.set(
        "/scans/storefront-api/1.3.0.json",
        200,
        r#"{"Results":[{"Target":"x","Vulnerabilities":null}]}"#,
    );
    site.set(
        "/scans/storefront-api/1.3.1.json",
        200,
        r#"{"hello": "world"}"#,
    );
    site.set(
        "/scans/storefront-api/1.3.2.json",
        200,
        r#"{"Results": [1, 2"#,
    );
    let (outcome, reason) = w.one(&trivy_check(&site.url, ""), "1.3.0").await;
    assert_eq!(outcome, Outcome::Pass, "{reason}");
    assert_eq!(
        reason,
        "no vulnerabilities at or above high in storefront-api:1.3.0"
    );
    let host = site.url.trim_start_matches("http://").to_owned();
    for version in ["1.3.1", "1.3.2"] {
        let (outcome, reason) = w.one(&trivy_check(&site.url, ""), version).await;
        assert_eq!(outcome, Outcome::Fail);
        assert_eq!(reason, format!("the report from {host} is not Trivy JSON"));
    }
    let (outcome, reason) = w.one(&trivy_check(&site.url, ""), "9.9.9").await;
    assert_eq!(outcome, Outcome::Fail);
    assert_eq!(reason, format!("no Trivy report: HTTP 404 from {host}"));
}

const SOAK: &str = "[[environments.checks]]\nname = \"soak\"\nkind = \"soak\"\nmin = \"24h\"\n\
                    skippable_in_emergency = true";

#[tokio::test(start_paused = true)]
async fn soak_counts_the_time_since_the_version_went_live_in_the_source() {
    let w = world().await;
    w.record("tst", "1.2.0", DeploymentState::Succeeded).await;
    tokio::time::advance(Duration::from_secs(3600)).await;
    w.record("tst", "1.3.0", DeploymentState::Succeeded).await;
    tokio::time::advance(Duration::from_secs(2 * 3600 + 10 * 60 + 30)).await;
    let (outcome, reason) = w.one(SOAK, "1.3.0").await;
    assert_eq!(outcome, Outcome::Fail);
    assert_eq!(reason, "1.3.0 has run in tst for 2h 10m; needs 24h");

    tokio::time::advance(Duration::from_secs(22 * 3600)).await;
    let (outcome, reason) = w.one(SOAK, "1.3.0").await;
    assert_eq!(outcome, Outcome::Pass);
    assert_eq!(reason, "1.3.0 has run in tst for 24h 10m (needs 24h)");
}

#[tokio::test(start_paused = true)]
async fn soak_fails_once_another_version_replaced_it_or_is_replacing_it() {
    let w = world().await;
    w.record("tst", "1.3.0", DeploymentState::Succeeded).await;
    tokio::time::advance(Duration::from_secs(48 * 3600)).await;
    // A failed attempt does not replace it...
    w.record("tst", "1.3.1", DeploymentState::RolledBack).await;
    assert_eq!(w.one(SOAK, "1.3.0").await.0, Outcome::Pass);
    // ...one under way does...
    let running = w.record("tst", "1.3.2", DeploymentState::Running).await;
    let (outcome, reason) = w.one(SOAK, "1.3.0").await;
    assert_eq!(outcome, Outcome::Fail);
    assert_eq!(
        reason,
        format!("1.3.2 is being deployed to tst (#{running}), replacing 1.3.0")
    );
    // ...and so does one that succeeded.
    w.store
        .finish(running, DeploymentState::Succeeded, None, w.clock.now_ms())
        .await
        .unwrap();
    let (outcome, reason) = w.one(SOAK, "1.3.0").await;
    assert_eq!(outcome, Outcome::Fail);
    assert_eq!(
        reason,
        format!("1.3.0 no longer runs in tst: 1.3.2 replaced it (#{running})")
    );
    let (_, reason) = w.one(SOAK, "1.4.0").await;
    assert_eq!(
        reason,
        "1.4.0 has no successful deployment to tst on record; 1.3.2 runs there"
    );
}

#[tokio::test(start_paused = true)]
async fn soak_needs_a_record_and_a_source() {
    let w = world().await;
    let (outcome, reason) = w.one(SOAK, "1.3.0").await;
    assert_eq!(outcome, Outcome::Fail);
    assert_eq!(
        reason,
        "1.3.0 has no successful deployment to tst on record"
    );

    // A plain deploy soaks in the target's promotion source...
    w.record("tst", "1.3.0", DeploymentState::Succeeded).await;
    tokio::time::advance(Duration::from_secs(25 * 3600)).await;
    let deploy = CheckContext {
        source: None,
        ..w.promote("1.3.0")
    };
    let results = w.run(&specs(SOAK, &[]), &deploy).await;
    assert_eq!(results[0].outcome, Outcome::Pass, "{}", results[0].reason);

    // ...and fails when there is none.
    let checks = configured(
        &specs(SOAK, &[]),
        &Providers {
            default_source: None,
            ..w.providers()
        },
    );
    let list = gates::run(&checks, &deploy, false).await;
    assert_eq!(
        list.results[0].reason,
        "no source environment: the command names none and prd has no promotion source"
    );
    // An emergency skips it: it is marked skippable.
    let list = gates::run(&checks, &deploy, true).await;
    assert_eq!(list.results[0].outcome, Outcome::Skipped);
}
