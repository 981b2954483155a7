//! Two `switchyard run` processes sharing one PostgreSQL store, driving one
//! moto "AWS" (ECS + ALB through the real SDK), judging their bakes on a real
//! Prometheus. One replica is told to deploy; the test then kills it with
//! SIGKILL at a random point of the rollout, or freezes it with SIGSTOP, and
//! watches the other take over: the route must end whole (100/0 or 0/100),
//! every deployment must reach a final state, the survivor must say so in its
//! channel, and a route a frozen owner that wakes after losing its lease
//! leaves split is put back by whichever replica watches the environment.
//! They run with two busy threads beside them ([`crate::load`]).

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sqlx::Row;

use crate::databases::Db;
use crate::moto::{Fixture, Moto, fake_aws_env};
use crate::prometheus_fixture::Prometheus;

/// `engine.lease` of both replicas; the survivor looks every third of it.
const LEASE: Duration = Duration::from_secs(3);

/// `engine.reconcile_every` of both replicas: how often idle routes are compared.
const RECONCILE_EVERY: Duration = Duration::from_secs(1);

/// One environment (prd, no questions asked), bakes of a second judged
/// every second on Prometheus answers that are always healthy.
fn config(f: &Fixture, store: &str, prometheus: &str) -> String {
    format!(
        r#"
cloud = "aws"

[store]
url = "{store}"

[engine]
recovery = "resume-if-healthy"
lease = "{lease}s"
reconcile_every = "{every}s"

[[environments]]
name = "prd"
plan = "stepped"
[environments.policy]
confirm = false
deploy = ["deployer"]

[[services]]
name = "{service}"

[roles.deployer]

[[users]]
name = "alice"
roles = ["deployer"]

[plans.stepped]
strategy = "blue-green"
steps = [10, 50, 100]
bake = "1s"
verification = "1s"
[plans.stepped.analysis]
interval = "1s"
window = "10s"
min_requests = 10

[aws]
region = "{region}"
endpoint_url = "{endpoint}"
cluster = "{cluster}"

[aws.metrics]
source = "prometheus"
url = "{prometheus}"
requests = 'vector(1000)'
errors = 'vector(0)'
p99_ms = 'vector(40)'

{target}"#,
        lease = LEASE.as_secs(),
        every = RECONCILE_EVERY.as_secs(),
        service = f.service,
        region = f.region,
        endpoint = f.endpoint,
        cluster = f.cluster,
        target = f.prd_target_toml(),
    )
}

/// A running `switchyard run`: its standard input stays open (the console
/// keeps reading), what it prints is collected as it comes.
struct Replica {
    child: Child,
    stdin: ChildStdin,
    out: Arc<Mutex<String>>,
    err: Arc<Mutex<String>>,
}

fn collect(from: impl std::io::Read + Send + 'static) -> Arc<Mutex<String>> {
    let text = Arc::new(Mutex::new(String::new()));
    let into = text.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(from).lines().map_while(Result::ok) {
            let mut t = into.lock().unwrap();
            t.push_str(&line);
            t.push('\n');
        }
    });
    text
}

impl Replica {
    fn start(config: &std::path::Path, data: &std::path::Path) -> Replica {
        let mut command = Command::new(env!("CARGO_BIN_EXE_switchyard"));
        command
            .arg("--config")
            .arg(config)
            .arg("run")
            .arg("--data-dir")
            .arg(data)
            .env("RUST_LOG", "warn,switchyard=info")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        fake_aws_env(&mut command);
        let mut child = command.spawn().expect("switchyard starts");
        let stdin = child.stdin.take().unwrap();
        let out = collect(child.stdout.take().unwrap());
        let err = collect(child.stderr.take().unwrap());
        Replica {
            child,
            stdin,
            out,
            err,
        }
    }

    fn say(&mut self, line: &str) {
        writeln!(self.stdin, "{line}").unwrap();
        self.stdin.flush().unwrap();
    }

    fn said(&self) -> String {
        self.out.lock().unwrap().clone()
    }

    fn logged(&self) -> String {
        self.err.lock().unwrap().clone()
    }

    fn signal(&self, signal: i32) {
        // SAFETY: kill(2) on our own child's pid.
        let rc = unsafe { libc::kill(self.child.id() as i32, signal) };
        assert_eq!(rc, 0, "kill({signal}) failed");
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        // SAFETY: as in `signal`; the child may be gone already, which is fine.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGCONT) };
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Polls `what` every 20 ms until it yields or `limit` passes.
async fn until<T>(limit: Duration, mut what: impl AsyncFnMut() -> Option<T>) -> Option<T> {
    let started = Instant::now();
    loop {
        if let Some(found) = what().await {
            return Some(found);
        }
        if started.elapsed() > limit {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The newest deployment: id, state, version, previous version.
async fn newest(pool: &sqlx::PgPool) -> Option<(i64, String, String, Option<String>)> {
    let row = sqlx::query(
        "SELECT id, state, version, previous_version FROM deployments ORDER BY id DESC LIMIT 1",
    )
    .fetch_optional(pool)
    .await
    .unwrap()?;
    Some((
        row.get("id"),
        row.get("state"),
        row.get("version"),
        row.get("previous_version"),
    ))
}

async fn lease_token(pool: &sqlx::PgPool, id: i64) -> i64 {
    sqlx::query("SELECT token FROM leases WHERE deployment_id = $1")
        .bind(id)
        .fetch_one(pool)
        .await
        .unwrap()
        .get("token")
}

async fn lease_expiry(pool: &sqlx::PgPool, id: i64) -> i64 {
    sqlx::query("SELECT expires_at FROM leases WHERE deployment_id = $1")
        .bind(id)
        .fetch_one(pool)
        .await
        .unwrap()
        .get("expires_at")
}

/// Milliseconds since the epoch, as the replicas' clocks (this machine's) say.
fn wall_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

async fn lease_owner(pool: &sqlx::PgPool, id: i64) -> Option<String> {
    sqlx::query("SELECT owner FROM leases WHERE deployment_id = $1")
        .bind(id)
        .fetch_optional(pool)
        .await
        .unwrap()
        .map(|r| r.get("owner"))
}

struct Stage {
    _moto: Moto,
    _prometheus: Prometheus,
    _db: Db,
    dir: tempfile::TempDir,
    f: Fixture,
    config: std::path::PathBuf,
    pool: sqlx::PgPool,
}

async fn stage() -> Stage {
    let (moto, f) = crate::moto::provisioned().await;
    let prometheus = Prometheus::start("").await;
    let db = Db::postgres().await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("switchyard.toml");
    std::fs::write(&config, self::config(&f, &db.url(), &prometheus.url)).unwrap();
    // The schema exists before either replica looks at it.
    let store = switchyard::store::Store::open(&db.url()).await.unwrap();
    store.close().await;
    let pool = sqlx::PgPool::connect(&db.url()).await.unwrap();
    Stage {
        _moto: moto,
        _prometheus: prometheus,
        _db: db,
        dir,
        f,
        config,
        pool,
    }
}

impl Stage {
    fn replica(&self, name: &str) -> Replica {
        let data = self.dir.path().join(name);
        std::fs::create_dir_all(&data).unwrap();
        Replica::start(&self.config, &data)
    }

    /// A replica with its own configuration, serving HTTP on a free port;
    /// returns it and the port.
    fn replica_with_http(&self, name: &str) -> (Replica, u16) {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .unwrap()
            .port();
        let data = self.dir.path().join(name);
        std::fs::create_dir_all(&data).unwrap();
        let config = data.join("switchyard.toml");
        let text = std::fs::read_to_string(&self.config).unwrap();
        std::fs::write(
            &config,
            format!("{text}\n[http]\nlisten = \"127.0.0.1:{port}\"\n"),
        )
        .unwrap();
        (Replica::start(&config, &data), port)
    }

    /// The version the route serves now, from the newest record.
    async fn live_version(&self) -> String {
        match newest(&self.pool).await {
            None => "1.2.0".into(),
            Some((_, state, version, previous)) if state == "succeeded" => {
                let _ = previous;
                version
            }
            Some((_, _, _, previous)) => previous.unwrap_or_else(|| "1.2.0".into()),
        }
    }

    /// Tells `owner` to deploy the version not live; returns the new
    /// deployment's id once it has started.
    async fn deploy(&self, owner: &mut Replica, after: Option<i64>) -> i64 {
        let version = if self.live_version().await == "1.3.0" {
            "1.2.0"
        } else {
            "1.3.0"
        };
        owner.say(&format!("deploy {version} to prd"));
        let pool = &self.pool;
        until(Duration::from_secs(30), async || {
            newest(pool)
                .await
                .filter(|(id, state, _, _)| Some(*id) != after && state == "running")
                .map(|d| d.0)
        })
        .await
        .unwrap_or_else(|| {
            panic!(
                "the deployment did not start:\n{}\n{}",
                owner.said(),
                owner.logged()
            )
        })
    }

    /// Waits for deployment `id` to reach a final state; returns it.
    async fn settled(&self, id: i64, survivor: &Replica) -> String {
        let pool = &self.pool;
        until(Duration::from_secs(60), async || {
            let (newest_id, state, _, _) = newest(pool).await?;
            (newest_id == id && !["pending", "running", "paused"].contains(&state.as_str()))
                .then_some(state)
        })
        .await
        .unwrap_or_else(|| {
            panic!(
                "deployment #{id} never finished; the survivor said:\n{}\nand logged:\n{}",
                survivor.said(),
                survivor.logged()
            )
        })
    }
}

/// How many rollouts to kill (`SWITCHYARD_KILL_ROLLOUTS`, default 30).
fn rollouts() -> usize {
    std::env::var("SWITCHYARD_KILL_ROLLOUTS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(30)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_the_owning_replica_at_random_points_never_loses_a_rollout() {
    let _load = crate::load::CpuLoad::two();
    let s = stage().await;
    let survivor = s.replica("survivor");
    let mut takeovers = Vec::new();
    let mut after = None;
    // A small deterministic generator: the same kill points on every run.
    let mut seed: u64 = 0x5eed_cafe;
    for round in 0..rollouts() {
        let mut owner = s.replica(&format!("owner-{round}"));
        let id = s.deploy(&mut owner, after).await;
        after = Some(id);
        let first_owner = lease_owner(&s.pool, id).await.expect("a lease");
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let delay = Duration::from_millis((seed >> 33) % 2_500);
        tokio::time::sleep(delay).await;
        owner.signal(libc::SIGKILL);
        let killed = Instant::now();
        let pool = &s.pool;
        // When the dead owner's lease runs out (its last renewal + the lease).
        let expires_at = lease_expiry(pool, id).await;
        // Taken over (or already over when the kill came).
        let taken = until(Duration::from_secs(30), async || {
            let owner_now = lease_owner(pool, id).await?;
            let (_, state, _, _) = newest(pool).await?;
            if owner_now != first_owner {
                Some(Some((killed.elapsed(), wall_ms() - expires_at)))
            } else if !["pending", "running", "paused"].contains(&state.as_str()) {
                Some(None)
            } else {
                None
            }
        })
        .await
        .unwrap_or_else(|| {
            panic!(
                "round {round}: #{id} was not taken over; survivor:\n{}\n{}",
                survivor.said(),
                survivor.logged()
            )
        });
        let state = s.settled(id, &survivor).await;
        let route = crate::moto::listener_weights(&s.f).await;
        assert!(
            route == (100, 0) || route == (0, 100),
            "round {round} (killed after {delay:?}): #{id} ended {state} with the route at {route:?}"
        );
        eprintln!(
            "round {round}: #{id} killed after {delay:?}, taken over after {taken:?}, {state}"
        );
        if let Some(t) = taken {
            takeovers.push(t);
            assert!(
                survivor
                    .said()
                    .contains(&format!("↻ Took over #{id} from replica")),
                "round {round}: the channel was not told of the takeover of #{id}:\n{}",
                survivor.said()
            );
        }
        drop(owner);
    }
    let mut after_kill: Vec<Duration> = takeovers.iter().map(|t| t.0).collect();
    after_kill.sort();
    let past_expiry = takeovers.iter().map(|t| t.1).max().unwrap_or_default();
    eprintln!(
        "replicas: {} of {} rollouts taken over after kill -9; after the kill: median {:?}, max {:?}; \
         after the lease expired: max {past_expiry} ms (lease {LEASE:?})",
        takeovers.len(),
        rollouts(),
        after_kill
            .get(after_kill.len() / 2)
            .copied()
            .unwrap_or_default(),
        after_kill.last().copied().unwrap_or_default(),
    );
    assert!(
        takeovers.len() * 2 >= rollouts(),
        "most kills land mid-rollout: {} of {}",
        takeovers.len(),
        rollouts()
    );
    assert!(
        past_expiry <= 2_000,
        "taken over within 2 s of the lease's expiry, took {past_expiry} ms"
    );
    let count: i64 = sqlx::query("SELECT count(*) AS n FROM deployments")
        .fetch_one(&s.pool)
        .await
        .unwrap()
        .get("n");
    assert_eq!(
        count as usize,
        rollouts(),
        "one record per rollout, none lost"
    );
}

/// Polls until moto's listener is at `want` and stays there for two looks
/// of the watcher; how long that took, or `None` by `limit`.
async fn converged(f: &Fixture, want: (i32, i32), limit: Duration) -> Option<Duration> {
    let started = Instant::now();
    until(limit, async || {
        (crate::moto::listener_weights(f).await == want).then_some(())
    })
    .await?;
    let at = started.elapsed();
    tokio::time::sleep(RECONCILE_EVERY * 2).await;
    (crate::moto::listener_weights(f).await == want).then_some(at)
}

/// The audit rows of the watcher of idle routes.
async fn reconciled(pool: &sqlx::PgPool) -> Vec<(String, Option<String>)> {
    sqlx::query("SELECT outcome, detail FROM audit_log WHERE action = 'reconcile' ORDER BY id")
        .fetch_all(pool)
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get("outcome"), r.get("detail")))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frozen_owner_that_wakes_after_losing_its_lease_cannot_leave_the_route_split() {
    let _load = crate::load::CpuLoad::two();
    let s = stage().await;
    let mut owner = s.replica("owner");
    let id = s.deploy(&mut owner, None).await;
    // Frozen at its first bake.
    let pool = &s.pool;
    until(Duration::from_secs(30), async || {
        let n: i64 = sqlx::query(
            "SELECT count(*) AS n FROM journal WHERE deployment_id = $1 AND step LIKE '%shift%'",
        )
        .bind(id)
        .fetch_one(pool)
        .await
        .unwrap()
        .get("n");
        (n >= 1).then_some(())
    })
    .await
    .expect("the first shift");
    owner.signal(libc::SIGSTOP);
    let frozen_at = crate::moto::listener_weights(&s.f).await;

    let survivor = s.replica("survivor");
    let state = s.settled(id, &survivor).await;
    assert_eq!(state, "succeeded", "{}", survivor.said());
    assert!(
        survivor
            .said()
            .contains(&format!("↻ Took over #{id} from replica")),
        "{}",
        survivor.said()
    );

    // The owner wakes: its bake deadline has long passed, its next step
    // would shift traffic, but its lease is gone. Whether a weight change it
    // had begun lands late depends on where the stop caught it; either way
    // the route converges on what the finished rollout left.
    owner.signal(libc::SIGCONT);
    let limit = LEASE * 2 + RECONCILE_EVERY * 6;
    let took = converged(&s.f, (0, 100), limit).await;
    assert!(
        took.is_some(),
        "the route did not return to 0/100 within {limit:?} (frozen at {frozen_at:?}); \
         the survivor said:\n{}\nthe owner logged:\n{}",
        survivor.said(),
        owner.logged()
    );
    assert!(
        owner.logged().contains("lost the deployment's lease"),
        "{}",
        owner.logged()
    );

    // The late change the fresh-clone CI run saw (the stop landed between
    // the lease check and ModifyListener), written as it landed there.
    let before = reconciled(pool).await.len();
    crate::moto::set_listener_weights(&s.f, 90, 10).await;
    let took = converged(&s.f, (0, 100), limit).await.unwrap_or_else(|| {
        panic!(
            "a split left by a late owner was not put back within {limit:?}; survivor:\n{}\n{}\nowner:\n{}\n{}",
            survivor.said(),
            survivor.logged(),
            owner.said(),
            owner.logged()
        )
    });
    eprintln!(
        "replicas: a late 90/10 split put back after {took:?} (a look every {RECONCILE_EVERY:?})"
    );
    // Whichever replica watches prd now says so in its channel, and the
    // audit log records it.
    let said = format!("{}{}", survivor.said(), owner.said());
    assert!(
        said.contains("is Blue 90% | Green 10% with no deployment running")
            && said.contains("Put back: Green 100%."),
        "{said}"
    );
    let audit = reconciled(pool).await;
    assert!(
        audit[before..]
            .iter()
            .any(|(outcome, detail)| outcome == "restored"
                && detail.as_deref().unwrap_or("").contains("blue 90%")),
        "{audit:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_releases_the_lease_so_the_survivor_takes_over_and_readyz_names_the_holder() {
    let _load = crate::load::CpuLoad::two();
    let s = stage().await;
    let (mut owner, _) = s.replica_with_http("owner");
    let (survivor, port) = s.replica_with_http("survivor");
    let id = s.deploy(&mut owner, None).await;
    let first_owner = lease_owner(&s.pool, id).await.expect("a lease");
    let token = lease_token(&s.pool, id).await;
    owner.signal(libc::SIGTERM);
    let pool = &s.pool;
    let new_owner = until(Duration::from_secs(30), async || {
        lease_owner(pool, id).await.filter(|o| *o != first_owner)
    })
    .await
    .unwrap_or_else(|| panic!("#{id} was not taken over:\n{}", survivor.logged()));
    // Released (token + 1), then taken (+ 1); a lease left to expire would
    // have been taken with one bump only.
    assert_eq!(
        lease_token(&s.pool, id).await,
        token + 2,
        "the owner released its lease before the survivor took it"
    );
    let status = owner.child.wait().unwrap();
    assert!(
        status.success(),
        "the owner stopped cleanly on SIGTERM: {status}\n{}",
        owner.logged()
    );
    assert!(
        owner.logged().contains("released the leases"),
        "{}",
        owner.logged()
    );

    let ready: serde_json::Value = reqwest::get(format!("http://127.0.0.1:{port}/readyz"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ready["replica"], serde_json::json!(new_owner), "{ready}");
    // Resumed when the new colour could be vouched for, else rolled back.
    let state = s.settled(id, &survivor).await;
    let route = crate::moto::listener_weights(&s.f).await;
    assert!(
        (state == "succeeded" && route == (0, 100))
            || (state == "rolled_back" && route == (100, 0)),
        "#{id} ended {state} with the route at {route:?}:\n{}",
        survivor.said()
    );
}
