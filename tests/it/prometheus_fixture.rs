//! A real Prometheus per test: the Debian package's `prometheus` binary on a
//! free loopback port with its own temporary storage, scraping every second a
//! small exporter the test runs (an axum server on another free port, serving
//! text-format metrics the test can change).
//!
//! The binary is `SWITCHYARD_PROMETHEUS`, else `prometheus` on `PATH`. A
//! missing one is a panic that says how to install it, never a skipped test.
//! The server runs under `sh` with a watchdog on its standard input: when the
//! handle is dropped, or the test process dies, the pipe closes and the
//! server is killed.

use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::routing::get;

/// How long Prometheus may take to be ready and to land its first scrape
/// (2 cores, tests in parallel, each starting its own server).
const START_DEADLINE: Duration = Duration::from_secs(30);

/// How to get the binary, for the panic when it is missing.
const HOW: &str = "Prometheus is not installed: install the Debian package prometheus \
                   (apt-get install prometheus), or set SWITCHYARD_PROMETHEUS to its binary";

/// Runs `prometheus ARGS` (`$0 "$@"`) and kills it when standard input closes.
const WATCHDOG: &str = "\"$0\" \"$@\" <&- & p=$!; cat >/dev/null; kill $p 2>/dev/null; wait $p";

/// The metrics the exporter serves, changed by the test.
#[derive(Clone, Default)]
pub struct Exporter {
    text: Arc<Mutex<String>>,
}

impl Exporter {
    /// Replaces what the next scrape reads.
    pub fn set(&self, text: &str) {
        *self.text.lock().unwrap() = text.to_owned();
    }
}

/// A running Prometheus scraping the test's exporter.
pub struct Prometheus {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    pub exporter: Exporter,
    /// How long it took from spawn to ready, and to the first scrape.
    pub timings: (Duration, Duration),
    child: Child,
    stdin: Option<ChildStdin>,
    dir: tempfile::TempDir,
}

impl Prometheus {
    /// Starts the exporter serving `metrics`, then Prometheus scraping it, and
    /// waits until the first scrape has landed. Panics with the server's log
    /// if it does not come up.
    pub async fn start(metrics: &str) -> Prometheus {
        let exporter = Exporter::default();
        exporter.set(metrics);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let target = listener.local_addr().unwrap();
        let router = Router::new()
            .route("/metrics", get(serve_metrics))
            .with_state(exporter.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });

        let binary = binary();
        let mut last_log = String::new();
        // The free port may be taken between our probe and Prometheus's bind: retry.
        for _ in 0..3 {
            let dir = tempfile::Builder::new()
                .prefix("switchyard-prometheus-")
                .tempdir()
                .unwrap();
            let config = dir.path().join("prometheus.yml");
            std::fs::write(
                &config,
                format!(
                    "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n\
                     scrape_configs:\n  - job_name: exporter\n    static_configs:\n      - targets: ['{target}']\n"
                ),
            )
            .unwrap();
            let port = free_port();
            let log = std::fs::File::create(dir.path().join("prometheus.log")).unwrap();
            let started = Instant::now();
            let mut child = Command::new("sh")
                .arg("-c")
                .arg(WATCHDOG)
                .arg(binary)
                .arg(format!("--config.file={}", config.display()))
                .arg(format!(
                    "--storage.tsdb.path={}",
                    dir.path().join("data").display()
                ))
                .arg(format!("--web.listen-address=127.0.0.1:{port}"))
                .arg("--log.level=info")
                .stdin(Stdio::piped())
                .stdout(log.try_clone().unwrap())
                .stderr(log)
                .spawn()
                .unwrap_or_else(|e| panic!("cannot run {}: {e}", binary.display()));
            let stdin = child.stdin.take();
            let mut server = Prometheus {
                url: format!("http://127.0.0.1:{port}"),
                exporter: exporter.clone(),
                timings: (Duration::ZERO, Duration::ZERO),
                child,
                stdin,
                dir,
            };
            match server.wait_ready(started).await {
                Ok(ready) => {
                    server.wait_for("up{job=\"exporter\"}", 1.0).await;
                    server.timings = (ready, started.elapsed());
                    return server;
                }
                Err(log) if log.contains("address already in use") => last_log = log,
                Err(log) => panic!("Prometheus did not become ready on {}:\n{log}", server.url),
            }
        }
        panic!("Prometheus could not bind a free port in 3 tries:\n{last_log}");
    }

    /// Waits for `/-/ready`; the error is the server's log.
    async fn wait_ready(&mut self, started: Instant) -> Result<Duration, String> {
        let ready = format!("{}/-/ready", self.url);
        loop {
            if let Ok(r) = client().get(&ready).send().await
                && r.status().is_success()
            {
                return Ok(started.elapsed());
            }
            if let Ok(Some(_)) = self.child.try_wait() {
                return Err(self.log_tail());
            }
            if started.elapsed() > START_DEADLINE {
                return Err(self.log_tail());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until `query` answers `expected` (after the exporter changed,
    /// for the next scrape to land). Panics past the deadline.
    pub async fn wait_for(&self, query: &str, expected: f64) {
        let deadline = Instant::now() + START_DEADLINE;
        let mut last = None;
        while Instant::now() < deadline {
            last = self.value(query).await;
            if last == Some(expected) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!(
            "`{query}` never answered {expected} (last {last:?}):\n{}",
            self.log_tail()
        );
    }

    /// The single value of an instant query, if it has one.
    pub async fn value(&self, query: &str) -> Option<f64> {
        let url = reqwest::Url::parse_with_params(
            &format!("{}/api/v1/query", self.url),
            [("query", query)],
        )
        .ok()?;
        let body: serde_json::Value = client().get(url).send().await.ok()?.json().await.ok()?;
        body["data"]["result"][0]["value"][1].as_str()?.parse().ok()
    }

    /// The last lines of the server's log.
    pub fn log_tail(&self) -> String {
        let text =
            std::fs::read_to_string(self.dir.path().join("prometheus.log")).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        // Closing the watchdog's input stops the server; `sh` waits for it.
        drop(self.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn serve_metrics(
    State(exporter): State<Exporter>,
) -> ([(&'static str, &'static str); 1], String) {
    (
        [("content-type", "text/plain; version=0.0.4")],
        exporter.text.lock().unwrap().clone(),
    )
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap()
}

/// The `prometheus` binary, checked once per test process.
fn binary() -> &'static Path {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| {
        let found = match std::env::var_os("SWITCHYARD_PROMETHEUS") {
            Some(path) if !path.is_empty() => Some(PathBuf::from(path)),
            _ => std::env::var_os("PATH").and_then(|paths| {
                std::env::split_paths(&paths)
                    .map(|dir| dir.join("prometheus"))
                    .find(|candidate| candidate.is_file())
            }),
        };
        let Some(binary) = found else {
            panic!("{HOW} (no `prometheus` on PATH)");
        };
        match Command::new(&binary)
            .arg("--version")
            .stdin(Stdio::null())
            .output()
        {
            Ok(out) if out.status.success() => binary,
            Ok(out) => panic!(
                "{HOW} ({} --version failed: {})",
                binary.display(),
                String::from_utf8_lossy(&out.stderr).trim()
            ),
            Err(e) => panic!("{HOW} ({}: {e})", binary.display()),
        }
    })
}

/// A loopback port that was free a moment ago.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind a free loopback port")
        .port()
}
