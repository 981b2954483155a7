//! The store keeps what the agent must remember across restarts: deployments and
//! their journals, locks, the audit log and MFA state, and it computes the
//! history and metrics reports from them. Each test opens its own database file
//! in a fresh temporary directory.

use serde_json::json;
use switchyard::cloud::Colour;
use switchyard::intent::Strategy;
use switchyard::store::report::{self, DAY_MS};
use switchyard::store::{
    AuditEntry, DeploymentState, LockOutcome, MfaState, NewDeployment, StepOutcome, Store,
    StoreError,
};
use tempfile::TempDir;

use crate::databases::Db;

/// 2025-01-01T00:00:00Z.
const T0: i64 = 1_735_689_600_000;
const MIN: i64 = 60_000;
const HOUR: i64 = 60 * MIN;

fn url(dir: &TempDir) -> String {
    format!("sqlite://{}", dir.path().join("switchyard.db").display())
}

async fn fresh(db: &Db) -> Store {
    Store::open(&db.url()).await.expect("the store opens")
}

fn new_deployment(env: &str, version: &str, created_at: i64) -> NewDeployment {
    NewDeployment {
        env: env.into(),
        service: "api".into(),
        version: version.into(),
        previous_version: Some("1.2.0".into()),
        strategy: Strategy::BlueGreen,
        requested_by: "alice".into(),
        approvers: vec![],
        emergency: false,
        created_at,
        live_colour: Some(Colour::Blue),
        new_colour: Some(Colour::Green),
    }
}

fn audit_entry(at: i64, action: &str) -> AuditEntry {
    AuditEntry {
        at,
        actor: "alice".into(),
        channel: Some("#deploys".into()),
        action: action.into(),
        env: Some("prd".into()),
        deployment_id: None,
        outcome: "accepted".into(),
        detail: None,
    }
}

#[tokio::test]
async fn migrations_run_on_a_fresh_file_and_the_store_reopens_with_its_data() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("switchyard.db");
    assert!(!path.exists());

    let store = Store::open(&url(&dir)).await.expect("opens a new file");
    assert!(path.exists(), "the database file is created");
    let id = store
        .create_deployment(&new_deployment("prd", "1.3.0", T0))
        .await
        .unwrap();
    assert!(
        dir.path().join("switchyard.db-wal").exists(),
        "the database is in WAL mode"
    );
    store.close().await;

    let reopened = Store::open(&url(&dir))
        .await
        .expect("reopens, migrations already applied");
    let found = reopened
        .deployment(id)
        .await
        .unwrap()
        .expect("the row survived");
    assert_eq!(found.version, "1.3.0");
}

#[tokio::test]
async fn an_in_memory_store_works_and_other_urls_are_refused() {
    let store = Store::open("sqlite::memory:")
        .await
        .expect("opens in memory");
    let id = store
        .create_deployment(&new_deployment("dev", "1.0.0", T0))
        .await
        .unwrap();
    assert!(store.deployment(id).await.unwrap().is_some());

    let refused = Store::open("mysql://user:hunter2@db/switchyard").await;
    assert!(matches!(refused, Err(StoreError::UnsupportedUrl)));
    let message = refused.unwrap_err().to_string();
    assert!(!message.contains("hunter2"), "{message}");
}

crate::on_both_stores!(a_deployment_is_created_read_started_and_finished, db => {
    let store = fresh(&db).await;
    let mut new = new_deployment("prd", "1.3.0", T0);
    new.approvers = vec!["bob".into()];
    new.emergency = true;
    new.strategy = Strategy::Canary;
    let id = store.create_deployment(&new).await.unwrap();

    let created = store.deployment(id).await.unwrap().unwrap();
    assert_eq!(created.id, id);
    assert_eq!(
        (
            created.env.as_str(),
            created.service.as_str(),
            created.version.as_str()
        ),
        ("prd", "api", "1.3.0")
    );
    assert_eq!(created.previous_version.as_deref(), Some("1.2.0"));
    assert_eq!(created.strategy, Strategy::Canary);
    assert_eq!(created.requested_by, "alice");
    assert_eq!(created.approvers, ["bob"]);
    assert!(created.emergency);
    assert_eq!(created.state, DeploymentState::Pending);
    assert_eq!((created.created_at, created.state_changed_at), (T0, T0));
    assert_eq!((created.started_at, created.finished_at), (None, None));
    assert_eq!(created.live_colour, Some(Colour::Blue));
    assert_eq!(created.new_colour, Some(Colour::Green));
    assert_eq!(created.duration_ms(), None);

    store.start(id, T0 + MIN).await.unwrap();
    store
        .set_state(id, DeploymentState::Paused, T0 + 2 * MIN)
        .await
        .unwrap();
    store.start(id, T0 + 3 * MIN).await.unwrap();
    let resumed = store.deployment(id).await.unwrap().unwrap();
    assert_eq!(resumed.state, DeploymentState::Running);
    assert_eq!(
        resumed.started_at,
        Some(T0 + MIN),
        "resuming keeps the first start"
    );
    assert_eq!(resumed.state_changed_at, T0 + 3 * MIN);

    let reason = "error rate 12.5% > 5% at 25%";
    store
        .finish(id, DeploymentState::RolledBack, Some(reason), T0 + 13 * MIN)
        .await
        .unwrap();
    let finished = store.deployment(id).await.unwrap().unwrap();
    assert_eq!(finished.state, DeploymentState::RolledBack);
    assert_eq!(finished.reason.as_deref(), Some(reason));
    assert_eq!(finished.finished_at, Some(T0 + 13 * MIN));
    assert_eq!(finished.duration_ms(), Some(12 * MIN));
});

crate::on_both_stores!(a_finished_deployment_never_changes_again, db => {
    let store = fresh(&db).await;
    let id = store
        .create_deployment(&new_deployment("prd", "1.3.0", T0))
        .await
        .unwrap();
    store.start(id, T0 + MIN).await.unwrap();
    store
        .finish(
            id,
            DeploymentState::Aborted,
            Some("stopped by bob"),
            T0 + 2 * MIN,
        )
        .await
        .unwrap();

    // The engine's own finish loses the race against the abort.
    let late = store
        .finish(id, DeploymentState::Succeeded, None, T0 + 3 * MIN)
        .await;
    assert!(
        matches!(
            late,
            Err(StoreError::Finished {
                state: DeploymentState::Aborted,
                ..
            })
        ),
        "{late:?}"
    );
    let resumed = store
        .set_state(id, DeploymentState::Running, T0 + 4 * MIN)
        .await;
    assert!(
        matches!(resumed, Err(StoreError::Finished { .. })),
        "{resumed:?}"
    );
    let approved = store.add_approver(id, "carol").await;
    assert!(
        matches!(approved, Err(StoreError::Finished { .. })),
        "{approved:?}"
    );

    let kept = store.deployment(id).await.unwrap().unwrap();
    assert_eq!(kept.state, DeploymentState::Aborted);
    assert_eq!(kept.finished_at, Some(T0 + 2 * MIN));
});

crate::on_both_stores!(finishing_with_a_state_that_is_not_an_outcome_or_an_unknown_id_is_refused, db => {
    let store = fresh(&db).await;
    let id = store
        .create_deployment(&new_deployment("prd", "1.3.0", T0))
        .await
        .unwrap();
    let not_final = store.finish(id, DeploymentState::Paused, None, T0).await;
    assert!(
        matches!(not_final, Err(StoreError::NotFinal { .. })),
        "{not_final:?}"
    );
    let missing = store
        .finish(id + 1, DeploymentState::Failed, None, T0)
        .await;
    assert!(
        matches!(missing, Err(StoreError::NotFound { .. })),
        "{missing:?}"
    );
    assert_eq!(store.deployment(id + 1).await.unwrap(), None);
});

crate::on_both_stores!(unfinished_deployments_are_found_again_after_a_restart, db => {
    let store = Store::open(&db.url()).await.unwrap();
    let running = store
        .create_deployment(&new_deployment("prd", "1.3.0", T0))
        .await
        .unwrap();
    store.start(running, T0 + MIN).await.unwrap();
    let paused = store
        .create_deployment(&new_deployment("tst", "1.3.1", T0 + MIN))
        .await
        .unwrap();
    store
        .set_state(paused, DeploymentState::Paused, T0 + 2 * MIN)
        .await
        .unwrap();
    let done = store
        .create_deployment(&new_deployment("dev", "1.3.1", T0 + 2 * MIN))
        .await
        .unwrap();
    store
        .finish(done, DeploymentState::Succeeded, None, T0 + 3 * MIN)
        .await
        .unwrap();
    // The process dies here.
    store.close().await;

    let store = Store::open(&db.url()).await.unwrap();
    let unfinished: Vec<(i64, DeploymentState)> = store
        .unfinished()
        .await
        .unwrap()
        .into_iter()
        .map(|d| (d.id, d.state))
        .collect();
    assert_eq!(
        unfinished,
        [
            (running, DeploymentState::Running),
            (paused, DeploymentState::Paused)
        ]
    );
    let active = store.active_in("prd").await.unwrap().expect("prd is busy");
    assert_eq!(active.id, running);
    assert_eq!(store.active_in("dev").await.unwrap(), None);
});

crate::on_both_stores!(approvers_are_recorded_once_each_in_the_order_they_approved, db => {
    let store = fresh(&db).await;
    let id = store
        .create_deployment(&new_deployment("prd", "1.3.0", T0))
        .await
        .unwrap();
    assert_eq!(store.add_approver(id, "bob").await.unwrap(), ["bob"]);
    assert_eq!(
        store.add_approver(id, "carol").await.unwrap(),
        ["bob", "carol"]
    );
    assert_eq!(
        store.add_approver(id, "bob").await.unwrap(),
        ["bob", "carol"]
    );
    let stored = store.deployment(id).await.unwrap().unwrap();
    assert_eq!(stored.approvers, ["bob", "carol"]);
    let missing = store.add_approver(id + 1, "bob").await;
    assert!(
        matches!(missing, Err(StoreError::NotFound { .. })),
        "{missing:?}"
    );
});

crate::on_both_stores!(beginning_the_same_journal_step_twice_is_idempotent, db => {
    let store = fresh(&db).await;
    let id = store
        .create_deployment(&new_deployment("prd", "1.3.0", T0))
        .await
        .unwrap();
    let step = json!({"set_weights": {"blue": 90, "green": 10}});
    store.journal_begin(id, 0, &step, T0).await.unwrap();
    // After a crash the engine begins the same step again: same key order or not.
    let same = json!({"set_weights": {"green": 10, "blue": 90}});
    store.journal_begin(id, 0, &same, T0 + MIN).await.unwrap();

    let journal = store.journal(id).await.unwrap();
    assert_eq!(journal.len(), 1);
    assert_eq!(journal[0].step, step);
    assert_eq!(journal[0].started_at, T0, "the first begin stands");
    assert!(!journal[0].is_done());
});

crate::on_both_stores!(a_different_step_at_a_taken_number_is_refused, db => {
    let store = fresh(&db).await;
    let id = store
        .create_deployment(&new_deployment("prd", "1.3.0", T0))
        .await
        .unwrap();
    store
        .journal_begin(id, 0, &json!({"set_weights": 10}), T0)
        .await
        .unwrap();
    let other = store
        .journal_begin(id, 0, &json!({"set_weights": 25}), T0)
        .await;
    assert!(
        matches!(other, Err(StoreError::JournalConflict { seq: 0, .. })),
        "{other:?}"
    );
    let unknown = store.journal_begin(id + 1, 0, &json!("x"), T0).await;
    assert!(
        matches!(unknown, Err(StoreError::NotFound { .. })),
        "{unknown:?}"
    );
});

crate::on_both_stores!(a_done_step_cannot_be_begun_again_and_last_done_finds_the_latest, db => {
    let store = fresh(&db).await;
    let id = store
        .create_deployment(&new_deployment("prd", "1.3.0", T0))
        .await
        .unwrap();
    assert_eq!(store.last_done(id).await.unwrap(), None);
    for seq in 0..3u32 {
        let step = json!({"set_weights": 10 * (seq + 1)});
        store
            .journal_begin(id, seq, &step, T0 + i64::from(seq))
            .await
            .unwrap();
        if seq < 2 {
            store
                .journal_done(id, seq, Some("ok"), T0 + 10 + i64::from(seq))
                .await
                .unwrap();
        }
    }
    // Marking a done step again is harmless and keeps the first completion.
    store
        .journal_done(id, 1, Some("again"), T0 + 99)
        .await
        .unwrap();

    let last = store
        .last_done(id)
        .await
        .unwrap()
        .expect("two steps are done");
    assert_eq!((last.seq, last.done_at), (1, Some(T0 + 11)));
    assert_eq!(last.result.as_deref(), Some("ok"));

    let redo = store
        .journal_begin(id, 1, &json!({"set_weights": 20}), T0 + 100)
        .await;
    assert!(
        matches!(redo, Err(StoreError::JournalDone { seq: 1, .. })),
        "{redo:?}"
    );

    let journal = store.journal(id).await.unwrap();
    let seqs: Vec<(u32, bool)> = journal.iter().map(|e| (e.seq, e.is_done())).collect();
    assert_eq!(seqs, [(0, true), (1, true), (2, false)]);
    let missing = store.journal_done(id, 7, None, T0).await;
    assert!(
        matches!(missing, Err(StoreError::NotFound { .. })),
        "{missing:?}"
    );
});

crate::on_both_stores!(locking_a_locked_environment_reports_the_original_lock, db => {
    let store = fresh(&db).await;
    let first = store
        .lock("prd", "alice", Some("release freeze"), T0)
        .await
        .unwrap();
    assert_eq!(first, LockOutcome::Locked);
    let second = store
        .lock("prd", "bob", Some("my own reason"), T0 + MIN)
        .await
        .unwrap();
    let LockOutcome::AlreadyLocked(held) = second else {
        panic!("locked twice: {second:?}");
    };
    assert_eq!(held.locked_by, "alice");
    assert_eq!(held.reason.as_deref(), Some("release freeze"));
    assert_eq!(held.locked_at, T0);
    assert_eq!(store.lock_of("prd").await.unwrap(), Some(held));
});

crate::on_both_stores!(unlocking_returns_the_removed_lock_once, db => {
    let store = fresh(&db).await;
    let _ = store.lock("tst", "bob", None, T0).await.unwrap();
    let _ = store
        .lock("prd", "alice", Some("freeze"), T0)
        .await
        .unwrap();
    let envs: Vec<String> = store
        .locks()
        .await
        .unwrap()
        .into_iter()
        .map(|l| l.env)
        .collect();
    assert_eq!(envs, ["prd", "tst"]);

    let removed = store.unlock("prd").await.unwrap().expect("prd was locked");
    assert_eq!(
        (removed.locked_by.as_str(), removed.reason.as_deref()),
        ("alice", Some("freeze"))
    );
    assert_eq!(store.unlock("prd").await.unwrap(), None);
    assert_eq!(store.lock_of("prd").await.unwrap(), None);
    assert_eq!(
        store.lock("prd", "carol", None, T0 + MIN).await.unwrap(),
        LockOutcome::Locked
    );
});

crate::on_both_stores!(audit_rows_come_back_in_the_order_they_were_written, db => {
    let store = fresh(&db).await;
    // All in the same millisecond: the order of writing must still hold.
    for action in ["deploy", "confirm", "mfa", "approve", "rollback"] {
        store.audit(&audit_entry(T0, action)).await.unwrap();
    }
    let mut detailed = audit_entry(T0 + 1, "lock");
    detailed.deployment_id = Some(42);
    detailed.detail = Some("release freeze".into());
    detailed.channel = None;
    store.audit(&detailed).await.unwrap();

    let latest = store.audit_log(3).await.unwrap();
    let actions: Vec<&str> = latest.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["approve", "rollback", "lock"]);
    assert_eq!(latest[2], detailed);
    assert_eq!(store.audit_log(100).await.unwrap().len(), 6);
});

crate::on_both_stores!(a_replayed_totp_step_is_refused, db => {
    let store = fresh(&db).await;
    let mut state = MfaState::new("alice");
    state.secret_enc = Some("sealed:AAAA".into());
    store.put_mfa(&state).await.unwrap();

    assert_eq!(
        store.record_success("alice", 100).await.unwrap(),
        StepOutcome::Accepted
    );
    assert_eq!(
        store.record_success("alice", 100).await.unwrap(),
        StepOutcome::Replayed
    );
    assert_eq!(
        store.record_success("alice", 99).await.unwrap(),
        StepOutcome::Replayed
    );
    assert_eq!(
        store.record_success("alice", 101).await.unwrap(),
        StepOutcome::Accepted
    );

    // Writing the state back with an older last_step cannot reopen the window.
    store.put_mfa(&state).await.unwrap();
    let stored = store.mfa("alice").await.unwrap().unwrap();
    assert_eq!(stored.last_step, Some(101));
    assert_eq!(stored.secret_enc.as_deref(), Some("sealed:AAAA"));

    let unknown = store.record_success("mallory", 1).await;
    assert!(
        matches!(unknown, Err(StoreError::NotFound { .. })),
        "{unknown:?}"
    );
});

crate::on_both_stores!(two_replicas_cannot_both_accept_the_same_totp_step, db => {
    let a = Store::open(&db.url()).await.unwrap();
    let b = Store::open(&db.url()).await.unwrap();
    a.put_mfa(&MfaState::new("alice")).await.unwrap();

    let tries = (0..8).map(|i| {
        let replica = if i % 2 == 0 { a.clone() } else { b.clone() };
        tokio::spawn(async move { replica.record_success("alice", 555).await })
    });
    let mut accepted = 0;
    for task in tries.collect::<Vec<_>>() {
        if task.await.unwrap().unwrap() == StepOutcome::Accepted {
            accepted += 1;
        }
    }
    assert_eq!(accepted, 1);
});

crate::on_both_stores!(repeated_mfa_failures_lock_the_user_out_until_a_success, db => {
    let store = fresh(&db).await;
    store.put_mfa(&MfaState::new("bob")).await.unwrap();
    let (max, lockout) = (3, 5 * MIN);

    let first = store.record_failure("bob", T0, max, lockout).await.unwrap();
    let second = store
        .record_failure("bob", T0 + 1, max, lockout)
        .await
        .unwrap();
    assert_eq!((first.failures, second.failures), (1, 2));
    assert!(!second.is_locked(T0 + 1));

    let third = store
        .record_failure("bob", T0 + 2, max, lockout)
        .await
        .unwrap();
    assert_eq!(third.failures, 3);
    assert_eq!(third.locked_until, Some(T0 + 2 + lockout));
    assert!(third.is_locked(T0 + 3));
    assert!(!third.is_locked(T0 + 2 + lockout));

    // After the lockout, one more wrong code locks again at once.
    let again = store
        .record_failure("bob", T0 + 10 * MIN, max, lockout)
        .await
        .unwrap();
    assert_eq!(again.locked_until, Some(T0 + 15 * MIN));

    assert_eq!(
        store.record_success("bob", 7).await.unwrap(),
        StepOutcome::Accepted
    );
    let cleared = store.mfa("bob").await.unwrap().unwrap();
    assert_eq!((cleared.failures, cleared.locked_until), (0, None));
});

#[tokio::test]
async fn mfa_state_never_prints_its_secrets() {
    let mut state = MfaState::new("alice");
    state.secret_enc = Some("sealed:SECRET".into());
    state.pending_secret_enc = Some("sealed:PENDING".into());
    let printed = format!("{state:?}");
    assert!(
        !printed.contains("SECRET") && !printed.contains("PENDING"),
        "{printed}"
    );
    assert!(printed.contains("alice"));
}

crate::on_both_stores!(history_is_newest_first_and_filtered_by_env, db => {
    let store = fresh(&db).await;
    let mut ids = vec![];
    for (i, env) in ["prd", "tst", "prd", "dev", "prd"].into_iter().enumerate() {
        let created = T0 + i as i64 * HOUR;
        ids.push(
            store
                .create_deployment(&new_deployment(env, &format!("1.{i}.0"), created))
                .await
                .unwrap(),
        );
    }
    let prd: Vec<i64> = store
        .history(Some("prd"), 10)
        .await
        .unwrap()
        .iter()
        .map(|d| d.id)
        .collect();
    assert_eq!(prd, [ids[4], ids[2], ids[0]]);
    let latest_two: Vec<i64> = store
        .history(None, 2)
        .await
        .unwrap()
        .iter()
        .map(|d| d.id)
        .collect();
    assert_eq!(latest_two, [ids[4], ids[3]]);
    assert!(store.history(Some("stg"), 10).await.unwrap().is_empty());
});

/// Writes one deployment of the report fixture; offsets are from `T0`.
async fn record(
    store: &Store,
    env: &str,
    version: &str,
    created: i64,
    started: Option<i64>,
    outcome: Option<(DeploymentState, i64)>,
) -> i64 {
    let id = store
        .create_deployment(&new_deployment(env, version, T0 + created))
        .await
        .unwrap();
    if let Some(started) = started {
        store.start(id, T0 + started).await.unwrap();
    }
    if let Some((state, finished)) = outcome {
        store.finish(id, state, None, T0 + finished).await.unwrap();
    }
    id
}

/// The report fixture: a week of deployments of one service, T0 = 2025-01-01.
///
/// ```text
/// #   env  created    started    finished    outcome
/// 1   dev  0          +1m        +5m         succeeded    (4m)
/// 2   dev  1d         1d+1m      1d+6m       failed       (5m)
/// 3   dev  1d+30m     1d+31m     1d+36m      succeeded    (5m)
/// 4   dev  2d         2d+1m      2d+10m      rolled_back  (9m)
/// 5   dev  3d         -          3d+2m       aborted      (2m, from created)
/// 6   dev  3d+1h      3d+1h+1m   3d+1h+11m   succeeded    (10m)
/// 7   prd  2d         2d+2m      2d+14m      succeeded    (12m)
/// 8   prd  4d         4d+1m      4d+20m      rolled_back  (19m)
/// 9   prd  6d         6d+1m      -           running
/// 10  tst  -1d        -1d+1m     -1d+5m      succeeded    (before the window)
/// 11  tst  3d+2h      3d+2h+1m   3d+2h+7m    succeeded    (6m)
/// ```
async fn report_fixture(store: &Store) -> Vec<i64> {
    use DeploymentState::*;
    const D: i64 = DAY_MS;
    let mut ids = vec![];
    #[rustfmt::skip]
    let rows = [
        // env  version  created           started                   outcome, finished
        ("dev", "1.0.0", 0,                Some(MIN),                Some((Succeeded, 5 * MIN))),
        ("dev", "1.0.1", D,                Some(D + MIN),            Some((Failed, D + 6 * MIN))),
        ("dev", "1.0.1", D + 30 * MIN,     Some(D + 31 * MIN),       Some((Succeeded, D + 36 * MIN))),
        ("dev", "1.1.0", 2 * D,            Some(2 * D + MIN),        Some((RolledBack, 2 * D + 10 * MIN))),
        ("dev", "1.1.1", 3 * D,            None,                     Some((Aborted, 3 * D + 2 * MIN))),
        ("dev", "1.1.2", 3 * D + HOUR,     Some(3 * D + HOUR + MIN), Some((Succeeded, 3 * D + HOUR + 11 * MIN))),
        ("prd", "1.0.0", 2 * D,            Some(2 * D + 2 * MIN),    Some((Succeeded, 2 * D + 14 * MIN))),
        ("prd", "1.1.2", 4 * D,            Some(4 * D + MIN),        Some((RolledBack, 4 * D + 20 * MIN))),
        ("prd", "1.2.0", 6 * D,            Some(6 * D + MIN),        None),
        ("tst", "1.0.0", -D,               Some(-D + MIN),           Some((Succeeded, -D + 5 * MIN))),
        ("tst", "1.1.2", 3 * D + 2 * HOUR, Some(3 * D + 2 * HOUR + MIN), Some((Succeeded, 3 * D + 2 * HOUR + 7 * MIN))),
    ];
    for (env, version, created, started, outcome) in rows {
        ids.push(record(store, env, version, created, started, outcome).await);
    }
    ids
}

crate::on_both_stores!(metrics_for_the_last_seven_days_match_the_hand_computation, db => {
    let store = fresh(&db).await;
    let ids = report_fixture(&store).await;
    let now = T0 + 7 * DAY_MS;
    let week = store.between(now - 7 * DAY_MS, now).await.unwrap();
    assert_eq!(week.len(), 10, "#10 was created before the window");

    let m = report::metrics(&week, now, 7, 3);
    assert_eq!((m.from, m.to), (T0, now));
    let envs: Vec<&str> = m.per_env.iter().map(|e| e.env.as_str()).collect();
    assert_eq!(envs, ["dev", "prd", "tst"]);

    // dev: 6 deployments; succeeded #1 #3 #6, failed #2, rolled back #4,
    // aborted #5 (left out of the rates).
    //   change failure rate = (1 + 1) / (3 + 1 + 1) = 2/5 = 0.4
    //   restores: #2 broke at 1d+6m, next success #3 at 1d+36m -> 30m = 1_800_000
    //             #4 broke at 2d+10m, next success #6 at 3d+1h+11m
    //               -> 1d 1h 1m = 86_400_000 + 3_600_000 + 60_000 = 90_060_000
    //   MTTR = (1_800_000 + 90_060_000) / 2 = 45_930_000 (12h 45m 30s)
    //   frequency = 3 successes / 7 days
    let dev = &m.per_env[0];
    assert_eq!(
        (
            dev.deployments,
            dev.succeeded,
            dev.failed,
            dev.rolled_back,
            dev.aborted
        ),
        (6, 3, 1, 1, 1)
    );
    assert_eq!(dev.change_failure_rate, Some(0.4));
    assert_eq!(dev.mttr_ms, Some(45_930_000));
    assert_eq!(dev.deployment_frequency_per_day, 3.0 / 7.0);

    // prd: 3 deployments; succeeded #7, rolled back #8, #9 still running.
    //   change failure rate = 1 / (1 + 1) = 0.5
    //   MTTR: #8 is never followed by a success -> none
    //   frequency = 1 / 7
    let prd = &m.per_env[1];
    assert_eq!(
        (
            prd.deployments,
            prd.succeeded,
            prd.failed,
            prd.rolled_back,
            prd.aborted
        ),
        (3, 1, 0, 1, 0)
    );
    assert_eq!(prd.change_failure_rate, Some(0.5));
    assert_eq!(prd.mttr_ms, None);
    assert_eq!(prd.deployment_frequency_per_day, 1.0 / 7.0);

    // tst: only #11 is in the window: 1 success, no failures.
    let tst = &m.per_env[2];
    assert_eq!((tst.deployments, tst.succeeded), (1, 1));
    assert_eq!(tst.change_failure_rate, Some(0.0));
    assert_eq!(tst.mttr_ms, None);
    assert_eq!(tst.deployment_frequency_per_day, 1.0 / 7.0);

    // The three newest: #9 (6d), #8 (4d), #11 (3d+2h).
    let recent: Vec<i64> = m.recent.iter().map(|d| d.id).collect();
    assert_eq!(recent, [ids[8], ids[7], ids[10]]);
});

crate::on_both_stores!(history_summaries_match_the_hand_computation, db => {
    let store = fresh(&db).await;
    report_fixture(&store).await;
    let now = T0 + 7 * DAY_MS;

    // prd: #9 running, #8 rolled back (19m), #7 succeeded (12m).
    //   success rate = 1 / (1 + 1) = 0.5
    //   average duration = (12m + 19m) / 2 = 15m30s = 930_000 ms (#9 unfinished)
    //   rollbacks in the last 30 days: #8
    let prd = report::history(&store.history(Some("prd"), 10).await.unwrap(), now);
    assert_eq!(prd.rows.len(), 3);
    assert_eq!(prd.rows[0].state, DeploymentState::Running);
    assert_eq!((prd.succeeded, prd.rated), (1, 2));
    assert_eq!(prd.success_rate, Some(0.5));
    assert_eq!(prd.average_duration_ms, Some(930_000));
    assert_eq!(prd.rollbacks, 1);

    // dev: durations 4m, 5m, 5m, 9m, 2m (aborted, from created), 10m
    //   average = 35m / 6 = 350_000 ms; success rate = 3 / 5 = 0.6
    let dev = report::history(&store.history(Some("dev"), 10).await.unwrap(), now);
    assert_eq!((dev.succeeded, dev.rated), (3, 5));
    assert_eq!(dev.success_rate, Some(0.6));
    assert_eq!(dev.average_duration_ms, Some(350_000));
    assert_eq!(dev.rollbacks, 1);

    // Thirty-one days later the rollbacks are no longer recent.
    let later = report::history(
        &store.history(Some("dev"), 10).await.unwrap(),
        now + 31 * DAY_MS,
    );
    assert_eq!(later.rollbacks, 0);
});

crate::on_both_stores!(a_build_is_recorded_and_a_delivery_is_claimed_once, db => {
    let store = fresh(&db).await;
    let build = switchyard::store::Build {
        service: "storefront-api".into(),
        version: "1.3.0".into(),
        image: "registry/storefront-api:1.3.0".into(),
        commit: "a1b2c3d4".into(),
        branch: "main".into(),
        built_at: T0,
    };
    store.record_build(&build).await.unwrap();
    assert_eq!(store.build("storefront-api", "1.3.0").await.unwrap(), Some(build.clone()));
    // A rebuild of the same version replaces the record.
    let rebuilt = switchyard::store::Build { commit: "ffff0000".into(), ..build };
    store.record_build(&rebuilt).await.unwrap();
    assert_eq!(store.build("storefront-api", "1.3.0").await.unwrap().unwrap().commit, "ffff0000");
    assert_eq!(store.build("storefront-api", "9.9.9").await.unwrap(), None);

    assert!(store.claim_delivery("d-1", T0).await.unwrap());
    assert!(!store.claim_delivery("d-1", T0 + 1).await.unwrap());
    assert!(store.claim_delivery("d-2", T0).await.unwrap());
});

crate::on_both_stores!(exactly_one_of_two_replicas_claims_each_event, db => {
    let a = Store::open(&db.url()).await.unwrap();
    let b = Store::open(&db.url()).await.unwrap();
    let mut won = (0, 0);
    for i in 0..50 {
        let id = format!("m{i}");
        let (x, y) = tokio::join!(
            a.claim("discord-message", &id, "replica-a", T0),
            b.claim("discord-message", &id, "replica-b", T0)
        );
        let (x, y) = (x.unwrap(), y.unwrap());
        assert!(x ^ y, "event {id}: exactly one replica handles it ({x}, {y})");
        won.0 += usize::from(x);
        won.1 += usize::from(y);
    }
    assert_eq!(won.0 + won.1, 50);
    // Another kind is another id space.
    assert!(a.claim("discord-interaction", "m1", "replica-a", T0).await.unwrap());
    // Old claims are pruned; fresh ones stay.
    a.claim("discord-message", "late", "replica-a", T0 + 10 * HOUR).await.unwrap();
    assert_eq!(a.prune_claims(T0 + HOUR).await.unwrap(), 51);
    assert!(!b.claim("discord-message", "late", "replica-b", T0).await.unwrap());
});

crate::on_both_stores!(the_live_version_of_each_service_is_the_latest_success, db => {
    let store = fresh(&db).await;
    let done = |state, at| Some((state, at + 10 * MIN));
    let ok = record(&store, "prd", "1.2.0", 0, Some(0), done(DeploymentState::Succeeded, 0)).await;
    let newer =
        record(&store, "prd", "1.3.0", HOUR, Some(HOUR), done(DeploymentState::Succeeded, HOUR)).await;
    record(&store, "prd", "1.4.0", 2 * HOUR, Some(2 * HOUR), done(DeploymentState::Failed, 2 * HOUR)).await;
    record(&store, "dev", "2.0.0", 0, Some(0), done(DeploymentState::Succeeded, 0)).await;
    let live = store.live_deployments().await.unwrap();
    let seen: Vec<(&str, &str)> = live.iter().map(|d| (d.env.as_str(), d.version.as_str())).collect();
    assert_eq!(seen, [("dev", "2.0.0"), ("prd", "1.3.0")]);
    // A rollback of 1.3.0 makes 1.2.0 the live one again.
    store.revert_success(newer, "rolled back by alice", T0 + 3 * HOUR).await.unwrap();
    let live = store.live_deployments().await.unwrap();
    assert_eq!(live.iter().find(|d| d.env == "prd").unwrap().id, ok);
});
