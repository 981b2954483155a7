//! `switchyard run` with `[http] listen` set, over a real socket: the demo
//! fleet with the console as chat, a CI build webhook signed with the secret
//! from the environment, dev following `main`. The build is announced on the
//! console and deployed to dev; `/versions` and `switchyard versions --format
//! yaml` then show it with its commit; `/metrics` counts it. Real time, no
//! paused clock: the process is the real binary.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use switchyard::http::webhook::sign;

const SECRET: &str = "s3cret-for-the-test";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Kills the agent if the test fails half-way.
struct Agent {
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Agent {
    /// Waits up to `limit` for an output line containing `text`.
    fn wait_for(&mut self, text: &str, limit: Duration) -> String {
        let deadline = Instant::now() + limit;
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line.contains(text) {
                        return line;
                    }
                }
                Err(_) => break,
            }
        }
        panic!(
            "no line with {text:?} within {limit:?}; saw:\n{}",
            self.seen.join("\n")
        );
    }
}

async fn get(client: &reqwest::Client, url: &str) -> (u16, String) {
    let r = client.get(url).send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

/// `switchyard run` on the demo configuration with `[http]` on a free port
/// and the webhook secret from the environment; returns once `/healthz`
/// answers.
struct Running {
    agent: Agent,
    base: String,
    config: std::path::PathBuf,
    data: std::path::PathBuf,
}

async fn start(dir: &std::path::Path, stdin: Stdio, client: &reqwest::Client) -> Running {
    let port = free_port();
    // The demo configuration with its [http] section switched on.
    let config = switchyard::config::DEMO_TOML
        .replace(
            "# listen = \"127.0.0.1:8080\"",
            &format!("listen = \"127.0.0.1:{port}\""),
        )
        .replace(
            "# webhook_secret = { env = \"SWITCHYARD_WEBHOOK_SECRET\" }",
            "webhook_secret = { env = \"SY_TEST_HOOK_SECRET\" }",
        );
    assert!(
        config.contains(&format!("127.0.0.1:{port}")) && config.contains("SY_TEST_HOOK_SECRET")
    );
    let config_path = dir.join("switchyard.toml");
    std::fs::write(&config_path, config).unwrap();
    let data = dir.join("data");
    let mut child = Command::new(env!("CARGO_BIN_EXE_switchyard"))
        .arg("--config")
        .arg(&config_path)
        .arg("run")
        .arg("--data-dir")
        .arg(&data)
        .env("SY_TEST_HOOK_SECRET", SECRET)
        .stdin(stdin)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    let mut agent = Agent {
        child,
        lines,
        seen: Vec::new(),
    };
    let base = format!("http://127.0.0.1:{port}");
    let up = Instant::now();
    loop {
        if let Ok(r) = client.get(format!("{base}/healthz")).send().await
            && r.status().is_success()
        {
            break;
        }
        if let Some(status) = agent.child.try_wait().unwrap() {
            panic!("switchyard run exited ({status}) before /healthz answered");
        }
        assert!(
            up.elapsed() < Duration::from_secs(20),
            "/healthz never answered"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Running {
        agent,
        base,
        config: config_path,
        data,
    }
}

impl Agent {
    /// SIGTERM, then the exit status (within a bounded wait).
    async fn stop(&mut self) -> std::process::ExitStatus {
        // SAFETY: kill(2) on our own child's pid.
        let rc = unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        assert_eq!(rc, 0, "kill(SIGTERM) failed");
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "the agent did not stop on SIGTERM"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// True while the process runs.
    fn running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_build_over_http_is_announced_deployed_to_dev_and_listed_in_versions() {
    // Timing-sensitive beside real processes: run it as on a loaded CI machine.
    let _load = crate::load::CpuLoad::two();
    let dir = tempfile::tempdir().unwrap();
    let client = reqwest::Client::new();
    let Running {
        mut agent,
        base,
        config: config_path,
        data,
    } = start(dir.path(), Stdio::piped(), &client).await;
    let (status, ready) = get(&client, &format!("{base}/readyz")).await;
    assert_eq!(status, 200, "{ready}");

    let body = serde_json::to_vec(&serde_json::json!({
        "service": "storefront-api",
        "version": "main-c0ffee1-20261123",
        "image": "registry.example/storefront-api:main-c0ffee1-20261123",
        "commit": "c0ffee1c0ffee1c0ffee1c0ffee1c0ffee1c0ffe",
        "branch": "main",
    }))
    .unwrap();
    let hook = format!("{base}/hooks/build");
    let unsigned = client
        .post(&hook)
        .header("X-GitHub-Delivery", "run-1")
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(unsigned.status().as_u16(), 401);
    let signed = client
        .post(&hook)
        .header("X-GitHub-Delivery", "run-1")
        .header("X-Hub-Signature-256", sign(SECRET.as_bytes(), &body))
        .header("Content-Type", "application/json")
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(
        signed.status().as_u16(),
        202,
        "{}",
        signed.text().await.unwrap()
    );

    agent.wait_for(
        "Build ready: storefront-api main-c0ffee1-20261123",
        Duration::from_secs(10),
    );
    // The demo fleet's dev takes a few seconds of real time to deploy.
    let deadline = Instant::now() + Duration::from_secs(60);
    let versions = loop {
        let (_, text) = get(&client, &format!("{base}/versions")).await;
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        if v["environments"]["dev"]["storefront-api"]["version"] == "main-c0ffee1-20261123" {
            break v;
        }
        assert!(
            Instant::now() < deadline,
            "dev never showed the build: {text}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    assert_eq!(
        versions["environments"]["dev"]["storefront-api"]["deployed_by"],
        "ci"
    );
    let (_, metrics) = get(&client, &format!("{base}/metrics")).await;
    assert!(
        metrics.contains(r#"switchyard_deployments_total{env="dev",outcome="succeeded"} 1"#),
        "{metrics}"
    );

    // A daemon stops on SIGTERM (not at the end of its input), cleanly.
    let status = agent.stop().await;
    assert!(status.success());

    let out = Command::new(env!("CARGO_BIN_EXE_switchyard"))
        .arg("--config")
        .arg(&config_path)
        .arg("--store")
        .arg(format!("sqlite://{}", data.join("switchyard.db").display()))
        .args(["versions", "--format", "yaml"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let yaml: serde_json::Value = serde_yaml_ng::from_slice(&out.stdout).unwrap();
    let dev = &yaml["environments"]["dev"]["storefront-api"];
    assert_eq!(dev["version"], "main-c0ffee1-20261123");
    assert_eq!(dev["commit"], "c0ffee1c0ffee1c0ffee1c0ffee1c0ffee1c0ffe");
    assert_eq!(
        dev["image"],
        "registry.example/storefront-api:main-c0ffee1-20261123"
    );
    assert_eq!(dev["deployed_by"], "ci");

    let table = Command::new(env!("CARGO_BIN_EXE_switchyard"))
        .arg("--config")
        .arg(&config_path)
        .arg("--store")
        .arg(format!("sqlite://{}", data.join("switchyard.db").display()))
        .arg("versions")
        .output()
        .unwrap();
    let table = String::from_utf8_lossy(&table.stdout);
    assert!(
        table.lines().any(|l| l.starts_with("dev")
            && l.contains("main-c0ffee1-20261123")
            && l.contains("c0ffee1c0ffe")),
        "{table}"
    );

    // History names the commit CI announced for the version.
    let history = Command::new(env!("CARGO_BIN_EXE_switchyard"))
        .arg("--config")
        .arg(&config_path)
        .arg("--store")
        .arg(format!("sqlite://{}", data.join("switchyard.db").display()))
        .args(["history", "--env", "dev"])
        .output()
        .unwrap();
    let history = String::from_utf8_lossy(&history.stdout);
    assert!(
        history.contains("main-c0ffee1-20261123 (c0ffee1)"),
        "{history}"
    );
}

#[test]
fn versions_on_a_store_that_does_not_exist_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_switchyard"))
        .arg("--store")
        .arg(format!("sqlite://{}", dir.path().join("nope.db").display()))
        .arg("versions")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no store at"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_keeps_serving_healthz_after_a_non_utf8_line_on_stdin() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let client = reqwest::Client::new();
    let mut run = start(dir.path(), Stdio::piped(), &client).await;
    let mut stdin = run.agent.child.stdin.take().unwrap();
    // A bad byte used to end the console session, and with it the process.
    stdin.write_all(b"status of \xffdev\n").unwrap();
    stdin.flush().unwrap();
    run.agent.wait_for(
        "I can't run that: the message is not UTF-8 text (byte 11",
        Duration::from_secs(20),
    );
    // It reads on: the next line is answered.
    stdin.write_all(b"status of tst\n").unwrap();
    stdin.flush().unwrap();
    run.agent.wait_for("TST", Duration::from_secs(20));
    let (status, body) = get(&client, &format!("{}/healthz", run.base)).await;
    assert_eq!((status, body.as_str()), (200, "ok\n"));
    assert!(run.agent.running());
    drop(stdin);
    let status = run.agent.stop().await;
    assert!(status.success(), "{status}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_with_stdin_closed_keeps_serving_until_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let client = reqwest::Client::new();
    // A daemon's standard input: /dev/null, at its end from the start. `run`
    // used to exit 0 at once, and /healthz then refused connections.
    let mut run = start(dir.path(), Stdio::null(), &client).await;
    run.agent.wait_for(
        "Standard input ended, so I read no more commands here; I keep running",
        Duration::from_secs(20),
    );
    // Polled over a few seconds: still there, still answering.
    for _ in 0..10 {
        let (status, _) = get(&client, &format!("{}/healthz", run.base)).await;
        assert_eq!(status, 200);
        assert!(
            run.agent.running(),
            "switchyard run exited at the end of its input"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let status = run.agent.stop().await;
    assert!(status.success(), "{status}");
}
