//! `switchyard history` and `switchyard metrics` as an operator runs them: the
//! binary reads a store written through the store API and prints the tables the
//! chat answers show (checked against `tests/golden/history_prd.txt` and
//! `tests/golden/metrics.txt`) or one JSON object with the numbers.
//!
//! Every run passes the hidden `--now` flag: "last 7 days" and "rollbacks in the
//! last 30 days" count back from it, so with fixed fixture times the output is
//! the same on every day the suite runs. After an intended change, regenerate
//! the golden files with `UPDATE_GOLDEN=1 cargo test --test it report_cli` and
//! review the diff.

use std::process::{Command, Output};

use serde_json::Value;
use switchyard::cloud::Colour;
use switchyard::intent::Strategy;
use switchyard::store::{DeploymentState, NewDeployment, Store};
use tempfile::TempDir;

use super::help_golden::golden;

const MIN: i64 = 60_000;
const HOUR: i64 = 60 * MIN;
const DAY: i64 = 24 * HOUR;
/// 2025-01-01T00:00:00Z.
const T0: i64 = 1_735_689_600_000;
/// 2025-01-08T12:00:00Z: the instant every report is made at.
const NOW: i64 = T0 + 7 * DAY + 12 * HOUR;

/// One fixture row: where and what, when it was requested (from `T0`), and
/// what became of it.
struct Row {
    env: &'static str,
    version: &'static str,
    created: i64,
    strategy: Strategy,
    by: &'static str,
    /// `None`: never started (aborted while pending).
    took: Option<i64>,
    outcome: Option<(DeploymentState, Option<&'static str>)>,
}

/// The fixture: one service, three environments.
///
/// ```text
/// #   env  version  created           strategy     by     took     outcome
/// 1   prd  1.1.4    2024-12-10 14:00  blue-green   carol  10m 45s  succeeded
/// 2   prd  1.1.5    2024-12-15 10:00  blue-green   alice  13m 12s  rolled back (P99 latency spike detected)
/// 3   prd  1.2.0    2024-12-20 09:30  blue-green   bob    11m 30s  succeeded
/// 4   prd  1.3.0    2025-01-03 15:00  blue-green   alice  12m 45s  succeeded
/// 5   prd  1.3.1    2025-01-06 10:00  canary       alice   5m 01s  failed (Error rate above 5% at 25% traffic)
/// 6   prd  1.3.2    2025-01-06 16:00  canary       bob     9m 10s  succeeded
/// 7   prd  1.4.0    2025-01-08 11:00  blue-green   alice   -       running
/// 8   dev  1.2.9    2024-12-31 09:00  all-at-once  bob     3m 50s  succeeded
/// 9   dev  1.3.0    2025-01-02 09:00  all-at-once  bob     4m 12s  succeeded
/// 10  dev  1.3.1    2025-01-04 10:00  all-at-once  alice   5m 01s  failed (Health check timeout)
/// 11  dev  1.3.1    2025-01-04 11:00  all-at-once  bob     4m 28s  succeeded
/// 12  dev  1.3.2    2025-01-05 09:00  rolling      alice   -       aborted after 2m, never started (Wrong build)
/// 13  dev  1.3.3    2025-01-07 09:00  all-at-once  alice   4m 32s  succeeded
/// 14  tst  1.3.0    2025-01-03 10:00  blue-green   carol   6m 15s  succeeded
/// 15  tst  1.3.1    2025-01-05 14:00  blue-green   carol   7m 40s  rolled back (P99 latency 850 ms over 500 ms)
/// ```
///
/// Each deployment that ran started one minute after it was requested and
/// finished `took` later. Now is 2025-01-08 12:00, so the 7-day window is
/// [2025-01-01 12:00, 2025-01-08 12:00): #1, #2, #3 and #8 are outside it.
fn fixture() -> Vec<Row> {
    use DeploymentState::*;
    use Strategy::*;
    let s = |m: i64, s: i64| Some(m * MIN + s * 1_000);
    #[rustfmt::skip]
    let rows = vec![
        Row { env: "prd", version: "1.1.4", created: -22 * DAY + 14 * HOUR, strategy: BlueGreen, by: "carol", took: s(10, 45), outcome: Some((Succeeded, None)) },
        Row { env: "prd", version: "1.1.5", created: -17 * DAY + 10 * HOUR, strategy: BlueGreen, by: "alice", took: s(13, 12), outcome: Some((RolledBack, Some("P99 latency spike detected"))) },
        Row { env: "prd", version: "1.2.0", created: -12 * DAY + 9 * HOUR + 30 * MIN, strategy: BlueGreen, by: "bob", took: s(11, 30), outcome: Some((Succeeded, None)) },
        Row { env: "prd", version: "1.3.0", created: 2 * DAY + 15 * HOUR, strategy: BlueGreen, by: "alice", took: s(12, 45), outcome: Some((Succeeded, None)) },
        Row { env: "prd", version: "1.3.1", created: 5 * DAY + 10 * HOUR, strategy: Canary, by: "alice", took: s(5, 1), outcome: Some((Failed, Some("Error rate above 5% at 25% traffic"))) },
        Row { env: "prd", version: "1.3.2", created: 5 * DAY + 16 * HOUR, strategy: Canary, by: "bob", took: s(9, 10), outcome: Some((Succeeded, None)) },
        Row { env: "prd", version: "1.4.0", created: 7 * DAY + 11 * HOUR, strategy: BlueGreen, by: "alice", took: s(0, 0), outcome: None },
        Row { env: "dev", version: "1.2.9", created: -DAY + 9 * HOUR, strategy: AllAtOnce, by: "bob", took: s(3, 50), outcome: Some((Succeeded, None)) },
        Row { env: "dev", version: "1.3.0", created: DAY + 9 * HOUR, strategy: AllAtOnce, by: "bob", took: s(4, 12), outcome: Some((Succeeded, None)) },
        Row { env: "dev", version: "1.3.1", created: 3 * DAY + 10 * HOUR, strategy: AllAtOnce, by: "alice", took: s(5, 1), outcome: Some((Failed, Some("Health check timeout"))) },
        Row { env: "dev", version: "1.3.1", created: 3 * DAY + 11 * HOUR, strategy: AllAtOnce, by: "bob", took: s(4, 28), outcome: Some((Succeeded, None)) },
        Row { env: "dev", version: "1.3.2", created: 4 * DAY + 9 * HOUR, strategy: Rolling, by: "alice", took: None, outcome: Some((Aborted, Some("Wrong build"))) },
        Row { env: "dev", version: "1.3.3", created: 6 * DAY + 9 * HOUR, strategy: AllAtOnce, by: "alice", took: s(4, 32), outcome: Some((Succeeded, None)) },
        Row { env: "tst", version: "1.3.0", created: 2 * DAY + 10 * HOUR, strategy: BlueGreen, by: "carol", took: s(6, 15), outcome: Some((Succeeded, None)) },
        Row { env: "tst", version: "1.3.1", created: 4 * DAY + 14 * HOUR, strategy: BlueGreen, by: "carol", took: s(7, 40), outcome: Some((RolledBack, Some("P99 latency 850 ms over 500 ms"))) },
    ];
    rows
}

/// A fresh store file holding [`fixture`], written through the store API the
/// engine uses; returns its directory (keep it alive) and its URL.
fn store_with_fixture() -> (TempDir, String) {
    let (dir, url) = empty_store();
    runtime().block_on(async {
        let store = Store::open(&url).await.expect("the store opens");
        for row in fixture() {
            write(&store, &row).await;
        }
        // Closing checkpoints the WAL, so the binary reads a settled file.
        store.close().await;
    });
    (dir, url)
}

/// A store file that exists and holds nothing.
fn empty_store() -> (TempDir, String) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let url = format!("sqlite://{}", dir.path().join("switchyard.db").display());
    runtime().block_on(async {
        Store::open(&url)
            .await
            .expect("the store opens")
            .close()
            .await;
    });
    (dir, url)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime")
}

async fn write(store: &Store, row: &Row) {
    let created = T0 + row.created;
    let id = store
        .create_deployment(&NewDeployment {
            env: row.env.into(),
            service: "storefront-api".into(),
            version: row.version.into(),
            previous_version: None,
            strategy: row.strategy,
            requested_by: row.by.into(),
            approvers: vec![],
            emergency: false,
            created_at: created,
            live_colour: Some(Colour::Blue),
            new_colour: Some(Colour::Green),
        })
        .await
        .expect("created");
    let finished = match row.took {
        Some(took) => {
            store.start(id, created + MIN).await.expect("started");
            created + MIN + took
        }
        // Aborted while pending, two minutes after the request.
        None => created + 2 * MIN,
    };
    if let Some((state, reason)) = row.outcome {
        store
            .finish(id, state, reason, finished)
            .await
            .expect("finished");
    }
}

fn switchyard(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_switchyard"))
        .args(args)
        .env_remove("SWITCHYARD_CONFIG")
        .env_remove("SWITCHYARD_STORE")
        .output()
        .expect("switchyard runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Runs a report against `url` at [`NOW`] and returns its standard output,
/// failing the test unless it exits 0.
fn report(url: &str, args: &[&str]) -> String {
    let now = NOW.to_string();
    let mut all = vec!["--store", url];
    all.extend_from_slice(args);
    all.extend(["--now", &now]);
    let out = switchyard(&all);
    assert_eq!(out.status.code(), Some(0), "{all:?}: {}", stderr(&out));
    stdout(&out)
}

fn json(url: &str, args: &[&str]) -> Value {
    let mut all = args.to_vec();
    all.push("--json");
    let text = report(url, &all);
    serde_json::from_str(text.trim()).unwrap_or_else(|e| panic!("{e}: {text}"))
}

#[test]
fn prd_history_reads_as_the_golden_file_when_asked_by_an_alias() {
    let (_dir, url) = store_with_fixture();
    let text = report(&url, &["history", "--env", "prod"]);
    golden("history_prd.txt", &text);
    assert!(text.starts_with("PRD deployment history:\n"), "{text}");
}

#[test]
fn seven_day_metrics_read_as_the_golden_file() {
    let (_dir, url) = store_with_fixture();
    golden("metrics.txt", &report(&url, &["metrics", "--days", "7"]));
}

#[test]
fn history_json_carries_the_hand_computed_numbers() {
    let (_dir, url) = store_with_fixture();
    let v = json(&url, &["history", "--env", "prd"]);
    // prd, newest first: #7 running, #6 #5 #4 #3 #2 #1.
    //   rated: succeeded #1 #3 #4 #6, failed #5, rolled back #2 -> 4 of 6
    //   success rate = 4 / 6 = 0.666...
    //   average over the six finished: 10m45s + 13m12s + 11m30s + 12m45s
    //     + 5m01s + 9m10s = 3743 s; / 6 = 623.833 s -> 623_833 ms (10m 23s)
    //   rollbacks since 2024-12-09 12:00 (now - 30 days): #2 -> 1
    let versions: Vec<&str> = v["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["version"].as_str().unwrap())
        .collect();
    assert_eq!(
        versions,
        [
            "1.4.0", "1.3.2", "1.3.1", "1.3.0", "1.2.0", "1.1.5", "1.1.4"
        ]
    );
    assert_eq!(
        (v["succeeded"].as_u64(), v["rated"].as_u64()),
        (Some(4), Some(6))
    );
    assert_eq!(v["success_rate"].as_f64(), Some(4.0 / 6.0));
    assert_eq!(v["average_duration_ms"].as_i64(), Some(623_833));
    assert_eq!(v["rollbacks"].as_u64(), Some(1));
}

#[test]
fn metrics_json_carries_the_hand_computed_mttr_and_change_failure_rate() {
    let (_dir, url) = store_with_fixture();
    let v = json(&url, &["metrics", "--days", "7"]);
    assert_eq!(v["from"].as_i64(), Some(NOW - 7 * DAY));
    assert_eq!(v["to"].as_i64(), Some(NOW));
    let envs = v["per_env"].as_array().unwrap();
    let names: Vec<&str> = envs.iter().map(|e| e["env"].as_str().unwrap()).collect();
    assert_eq!(names, ["dev", "tst", "prd"], "promotion order");
    let (dev, tst, prd) = (&envs[0], &envs[1], &envs[2]);
    let counts = |e: &Value| {
        [
            "deployments",
            "succeeded",
            "failed",
            "rolled_back",
            "aborted",
        ]
        .map(|k| e[k].as_u64().unwrap())
    };

    // dev in the window: #9 #10 #11 #12 #13 (#8 is before it).
    //   change failure rate = failed 1 / (succeeded 3 + failed 1) = 0.25
    //     (#12 aborted: counted, but not rated)
    //   MTTR: #10 failed at 01-04 10:06:01; the next success, #11, finished at
    //     11:05:28 -> 59m 27s = 3_567_000 ms
    //   frequency = 3 successes / 7 days
    assert_eq!(counts(dev), [5, 3, 1, 0, 1]);
    assert_eq!(dev["change_failure_rate"].as_f64(), Some(0.25));
    assert_eq!(dev["mttr_ms"].as_i64(), Some(3_567_000));
    assert_eq!(
        dev["deployment_frequency_per_day"].as_f64(),
        Some(3.0 / 7.0)
    );

    // tst: #14 succeeded, #15 rolled back and never followed by a success.
    //   change failure rate = 1 / 2 = 0.5; MTTR undefined
    assert_eq!(counts(tst), [2, 1, 0, 1, 0]);
    assert_eq!(tst["change_failure_rate"].as_f64(), Some(0.5));
    assert_eq!(tst["mttr_ms"], Value::Null);

    // prd in the window: #4 #6 succeeded, #5 failed, #7 running.
    //   change failure rate = 1 / 3
    //   MTTR: #5 failed at 01-06 10:06:01; #6 finished at 16:10:10
    //     -> 6h 04m 09s = 21_849_000 ms
    //   frequency = 2 / 7
    assert_eq!(counts(prd), [4, 2, 1, 0, 0]);
    assert_eq!(prd["change_failure_rate"].as_f64(), Some(1.0 / 3.0));
    assert_eq!(prd["mttr_ms"].as_i64(), Some(21_849_000));
    assert_eq!(
        prd["deployment_frequency_per_day"].as_f64(),
        Some(2.0 / 7.0)
    );

    // Ten most recent of the eleven in the window, newest first: #9 is cut.
    let recent = v["recent"].as_array().unwrap();
    assert_eq!(recent.len(), 10);
    assert_eq!(recent[0]["version"], "1.4.0");
    assert_eq!(recent[9]["env"], "tst");
}

#[test]
fn metrics_for_one_environment_leave_the_others_out() {
    let (_dir, url) = store_with_fixture();
    let v = json(&url, &["metrics", "--env", "production"]);
    let envs = v["per_env"].as_array().unwrap();
    assert_eq!(envs.len(), 1);
    assert_eq!(envs[0]["env"], "prd");
    assert!(
        v["recent"]
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["env"] == "prd")
    );
}

#[test]
fn an_unknown_environment_exits_two_and_names_the_known_ones() {
    let (_dir, url) = store_with_fixture();
    for command in ["history", "metrics"] {
        let out = switchyard(&["--store", &url, command, "--env", "prdd"]);
        assert_eq!(out.status.code(), Some(2), "{command}");
        assert!(out.stdout.is_empty(), "{command}");
        let message = stderr(&out);
        assert!(
            message.contains("'prdd' is not an environment"),
            "{message}"
        );
        assert!(message.contains("dev, tst, prd"), "{message}");
    }
}

#[test]
fn an_empty_store_answers_in_sentences() {
    let (_dir, url) = empty_store();
    assert_eq!(
        report(&url, &["history", "--env", "prd"]),
        "No deployments recorded for prd yet.\n"
    );
    assert_eq!(report(&url, &["history"]), "No deployments recorded yet.\n");
    assert_eq!(
        report(&url, &["metrics", "--days", "30"]),
        "Deployment metrics (2024-12-09 to 2025-01-08):\n\nNo deployments in this period.\n"
    );
}

#[test]
fn a_missing_store_file_is_an_error_and_is_not_created() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("typo.db");
    let url = format!("sqlite://{}", path.display());
    let out = switchyard(&["--store", &url, "history"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("no store at"), "{}", stderr(&out));
    assert!(!path.exists());
}

#[test]
fn the_store_can_be_named_by_the_environment_variable() {
    let (_dir, url) = store_with_fixture();
    let out = Command::new(env!("CARGO_BIN_EXE_switchyard"))
        .args(["history", "--env", "dev", "--limit", "1", "--json"])
        .env_remove("SWITCHYARD_CONFIG")
        .env("SWITCHYARD_STORE", &url)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v: Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(v["rows"][0]["version"], "1.3.3");
}

#[test]
fn report_subcommands_have_help_without_the_test_only_flag() {
    for command in ["history", "metrics"] {
        let out = switchyard(&[command, "--help"]);
        assert_eq!(out.status.code(), Some(0));
        let help = stdout(&out);
        assert!(
            help.contains("--json") && help.contains("--store"),
            "{help}"
        );
        assert!(!help.contains("--now"), "{help}");
    }
}
