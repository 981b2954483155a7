//! The moto harness: a local AWS emulator (`moto[server]`) per test, on a free
//! loopback port, and a blue/green ECS + ALB + ECR stack provisioned in it by
//! `tests/fixtures/moto/provision.py` (boto3).
//!
//! moto runs from the Python named by `SWITCHYARD_MOTO_PYTHON` (`scripts/test`
//! sets it to its `.venv`), else `.venv/bin/python` in the crate. A missing moto
//! is a panic that says how to install it, never a skipped test. Everything
//! talks to `http://127.0.0.1:PORT` with fake credentials: never to real AWS.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The region every fixture lives in.
pub const REGION: &str = "us-east-1";

/// How many running tasks moto reports for a new ECS service: with it, new
/// deployments read `COMPLETED` at once (moto's `MOTO_ECS_SERVICE_RUNNING`).
/// moto reports this count at creation whatever the desired count is;
/// `update_service` with a desired count sets the running count to it.
pub const ECS_SERVICE_RUNNING: u32 = 3;

/// How long moto may take to answer HTTP after its start (2 cores, tests in
/// parallel, each starting its own server).
const START_DEADLINE: Duration = Duration::from_secs(30);

/// `python -m moto.server ARGS`, plus a watchdog: the server exits when its
/// stdin closes, so it dies with the test process even if that is killed
/// before `Drop` runs.
const SERVER_SCRIPT: &str = "import os, sys, threading\n\
from moto.server import main\n\
threading.Thread(target=lambda: (sys.stdin.read(), os._exit(0)), daemon=True).start()\n\
main(sys.argv[1:])\n";

/// Fake credentials and region, for moto and for the provisioning script.
const FAKE_AWS_ENV: [(&str, &str); 6] = [
    ("AWS_ACCESS_KEY_ID", "testing"),
    ("AWS_SECRET_ACCESS_KEY", "testing"),
    ("AWS_SESSION_TOKEN", "testing"),
    ("AWS_SECURITY_TOKEN", "testing"),
    ("AWS_DEFAULT_REGION", REGION),
    ("AWS_REGION", REGION),
];

/// Variables of the caller's environment that could point the children at a
/// real account or endpoint.
const REMOVED_AWS_ENV: [&str; 6] = [
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_ENDPOINT_URL",
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
    "AWS_ROLE_ARN",
];

/// A running moto server; dropping it kills the server and waits for it.
pub struct Moto {
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
    addr: SocketAddr,
    child: Child,
    /// Held open for the server's watchdog; closing it stops the server.
    _stdin: ChildStdin,
    log: tempfile::NamedTempFile,
}

/// What `provision.py` created, as it printed it.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct Fixture {
    /// The moto endpoint the stack lives in.
    pub endpoint: String,
    /// `us-east-1`.
    pub region: String,
    /// The ECS cluster name.
    pub cluster: String,
    /// `prd`.
    pub env: String,
    /// `storefront-api`.
    pub service: String,
    /// The blue ECS service name (desired count 3).
    pub blue_service: String,
    /// The green ECS service name (desired count 0).
    pub green_service: String,
    /// The blue target group ARN.
    pub blue_target_group: String,
    /// The green target group ARN.
    pub green_target_group: String,
    /// The application load balancer ARN.
    pub load_balancer: String,
    /// The HTTP:80 listener ARN; its default action forwards blue 100 / green 0.
    pub listener: String,
    /// A listener rule ARN (priority 10, path `/api/*`) forwarding blue 100 / green 0.
    pub rule: String,
    /// The ECR repository name.
    pub repository: String,
    /// The ECR repository URI (`ACCOUNT.dkr.ecr.REGION.amazonaws.com/NAME`).
    pub repository_uri: String,
    /// The container name in both task definitions.
    pub container: String,
    /// The blue task definition family (revision 1 runs `REPO_URI:v1.2.0`).
    pub task_family_blue: String,
    /// The green task definition family (revision 1 runs `REPO_URI:v1.2.0`).
    pub task_family_green: String,
    /// Tags present in the ECR repository.
    pub image_tags: Vec<String>,
    /// The source environment of promotions, in the same cluster and behind
    /// the same listener.
    pub tst: SourceEnv,
}

/// `tst`: blue runs `v1.3.0` (2 tasks) with all the traffic of its rule, green is idle.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct SourceEnv {
    pub env: String,
    pub blue_service: String,
    pub green_service: String,
    pub blue_target_group: String,
    pub green_target_group: String,
    /// A listener rule (priority 20, host `tst.example.com`) forwarding blue 100 / green 0.
    pub rule: String,
}

impl Moto {
    /// Starts a moto server on a free loopback port and waits until it answers
    /// HTTP. Panics (with the server's log) if it does not.
    pub fn start() -> Moto {
        let python = python();
        let mut last_log = String::new();
        // The free port may be taken between our probe and moto's bind: retry.
        for _ in 0..3 {
            let port = free_port();
            let addr = SocketAddr::from(([127, 0, 0, 1], port));
            let log = tempfile::Builder::new()
                .prefix("switchyard-moto-")
                .suffix(".log")
                .tempfile()
                .expect("create the moto log file");
            let out = log.reopen().expect("open the moto log file");
            let err = log.reopen().expect("open the moto log file");
            let mut command = Command::new(python);
            command
                .args([
                    "-c",
                    SERVER_SCRIPT,
                    "-H",
                    "127.0.0.1",
                    "-p",
                    &port.to_string(),
                ])
                .env("MOTO_ECS_SERVICE_RUNNING", ECS_SERVICE_RUNNING.to_string())
                .env("PYTHONUNBUFFERED", "1")
                .stdin(Stdio::piped())
                .stdout(out)
                .stderr(err);
            fake_aws_env(&mut command);
            let mut child = command
                .spawn()
                .unwrap_or_else(|e| panic!("cannot run {}: {e}", python.display()));
            let stdin = child.stdin.take().expect("the server's stdin is piped");
            let mut moto = Moto {
                endpoint: format!("http://{addr}"),
                addr,
                child,
                _stdin: stdin,
                log,
            };
            let deadline = Instant::now() + START_DEADLINE;
            loop {
                if answers_http(addr) {
                    return moto;
                }
                if let Ok(Some(status)) = moto.child.try_wait() {
                    last_log = moto.log_tail();
                    if last_log.contains("Address already in use") {
                        break; // drop `moto`, try another port
                    }
                    panic!(
                        "moto exited ({status}) before answering on {}:\n{last_log}",
                        moto.endpoint
                    );
                }
                if Instant::now() >= deadline {
                    panic!(
                        "moto did not answer on {} within {START_DEADLINE:?}:\n{}",
                        moto.endpoint,
                        moto.log_tail()
                    );
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        panic!("moto could not bind a free port in 3 tries:\n{last_log}");
    }

    /// The server's TCP port.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Whether the server answers an HTTP request now.
    pub fn answers(&self) -> bool {
        answers_http(self.addr)
    }

    /// Provisions the blue/green stack (`tests/fixtures/moto/provision.py`),
    /// once per server (the names are fixed: a second call fails).
    /// Panics with the script's stderr and the server's log if it fails.
    pub fn provision(&self) -> Fixture {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/moto/provision.py");
        let mut command = Command::new(python());
        command
            .arg(&script)
            .args(["--endpoint", &self.endpoint, "--region", REGION])
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .stdin(Stdio::null());
        fake_aws_env(&mut command);
        let output = command
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
        if !output.status.success() {
            panic!(
                "provision.py failed ({}):\n{}\n--- moto log ---\n{}",
                output.status,
                String::from_utf8_lossy(&output.stderr),
                self.log_tail()
            );
        }
        serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
            panic!(
                "provision.py printed no fixture JSON ({e}):\n{}",
                String::from_utf8_lossy(&output.stdout)
            )
        })
    }

    /// The last lines of the server's log.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(self.log.path()).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The Python that has moto, checked once per test process.
fn python() -> &'static Path {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON.get_or_init(|| {
        const HOW: &str = "moto is not installed: run scripts/test (it installs moto[server] into .venv) \
             or `python3 -m pip install 'moto[server]'` and set SWITCHYARD_MOTO_PYTHON";
        let python = match std::env::var_os("SWITCHYARD_MOTO_PYTHON") {
            Some(path) if !path.is_empty() => PathBuf::from(path),
            _ => Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python"),
        };
        let imports = Command::new(&python)
            .args(["-c", "import moto.server, boto3"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output();
        match imports {
            Ok(out) if out.status.success() => python,
            Ok(out) => panic!(
                "{HOW} ({} cannot import moto.server and boto3: {})",
                python.display(),
                String::from_utf8_lossy(&out.stderr).trim()
            ),
            Err(e) => panic!("{HOW} ({}: {e})", python.display()),
        }
    })
}

pub fn fake_aws_env(command: &mut Command) {
    for name in REMOVED_AWS_ENV {
        command.env_remove(name);
    }
    command.envs(FAKE_AWS_ENV);
}

/// A loopback port that was free a moment ago.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind a free loopback port")
        .port()
}

/// Whether an HTTP server answers a GET on `addr` (any status).
pub fn answers_http(addr: SocketAddr) -> bool {
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_millis(500)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let _ = stream.set_write_timeout(Some(Duration::from_secs(2)));
    let request = format!("GET /moto-api/ HTTP/1.0\r\nHost: {addr}\r\n\r\n");
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut head = [0u8; 5];
    stream.read_exact(&mut head).is_ok() && &head == b"HTTP/"
}

/// The SDK's configuration for the stack in `f` (test credentials).
pub async fn sdk_config(f: &Fixture) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new(f.region.clone()))
        .endpoint_url(&f.endpoint)
        .test_credentials()
        .load()
        .await
}

/// The listener's (blue, green) forward weights, as moto has them.
pub async fn listener_weights(f: &Fixture) -> (i32, i32) {
    let elb = aws_sdk_elasticloadbalancingv2::Client::new(&sdk_config(f).await);
    let listener = elb
        .describe_listeners()
        .listener_arns(&f.listener)
        .send()
        .await
        .unwrap();
    let forward = listener.listeners()[0].default_actions()[0]
        .forward_config()
        .unwrap()
        .target_groups()
        .to_vec();
    let weight = |arn: &str| {
        forward
            .iter()
            .find(|t| t.target_group_arn() == Some(arn))
            .and_then(|t| t.weight())
            .unwrap()
    };
    (weight(&f.blue_target_group), weight(&f.green_target_group))
}

/// Sets the listener's forward weights as a person in the console (or a
/// replica's late call) would, outside switchyard.
pub async fn set_listener_weights(f: &Fixture, blue: i32, green: i32) {
    use aws_sdk_elasticloadbalancingv2::types::{
        Action, ActionTypeEnum, ForwardActionConfig, TargetGroupTuple,
    };
    let elb = aws_sdk_elasticloadbalancingv2::Client::new(&sdk_config(f).await);
    let tuple = |arn: &str, weight| {
        TargetGroupTuple::builder()
            .target_group_arn(arn)
            .weight(weight)
            .build()
    };
    let forward = ForwardActionConfig::builder()
        .target_groups(tuple(&f.blue_target_group, blue))
        .target_groups(tuple(&f.green_target_group, green))
        .build();
    elb.modify_listener()
        .listener_arn(&f.listener)
        .default_actions(
            Action::builder()
                .r#type(ActionTypeEnum::Forward)
                .forward_config(forward)
                .build(),
        )
        .send()
        .await
        .unwrap();
}

impl Fixture {
    /// The `[[aws.targets]]` entry for prd (the listener's default action),
    /// tags `v{version}`.
    pub fn prd_target_toml(&self) -> String {
        format!(
            r#"[[aws.targets]]
env = "prd"
blue_service = "{blue}"
green_service = "{green}"
blue_target_group = "{blue_tg}"
green_target_group = "{green_tg}"
listener = "{listener}"
container = "{container}"
repository = "{repository}"
tag_template = "v{{version}}"
"#,
            blue = self.blue_service,
            green = self.green_service,
            blue_tg = self.blue_target_group,
            green_tg = self.green_target_group,
            listener = self.listener,
            container = self.container,
            repository = self.repository,
        )
    }
}

/// A moto server with the stack provisioned, started off the async runtime
/// (both block).
pub async fn provisioned() -> (Moto, Fixture) {
    tokio::task::spawn_blocking(|| {
        let moto = Moto::start();
        let f = moto.provision();
        (moto, f)
    })
    .await
    .unwrap()
}
