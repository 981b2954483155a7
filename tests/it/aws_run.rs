//! `switchyard run --config FILE` on moto: the real binary, the console as its
//! chat (a scripted conversation on standard input), the AWS adapters through
//! the real SDK against a moto server provisioned as IaC would. What people
//! type and read, and what the load balancer and ECS show afterwards.

use std::io::Write;
use std::process::{Command, Stdio};

use crate::moto::{Fixture, fake_aws_env};

/// prd (listener) promoted from tst (a listener rule), confirmation and one
/// approval; a plan without bakes (moto has no metrics to judge).
fn config(f: &Fixture, store: &std::path::Path) -> String {
    format!(
        r#"
cloud = "aws"

[store]
url = "sqlite://{store}"

[[environments]]
name = "{tst}"
plan = "quick"
[environments.policy]
confirm = false
deploy = ["deployer"]

[[environments]]
name = "prd"
plan = "quick"
[environments.policy]
confirm = true
approvals = 1
promote_from = "tst"
promote = ["deployer"]
rollback = ["deployer"]
approve = ["approver"]

[[services]]
name = "{service}"

[roles.deployer]
[roles.approver]

[[users]]
name = "alice"
roles = ["deployer"]

[[users]]
name = "bob"
roles = ["approver"]

[plans.quick]
strategy = "blue-green"
steps = [10, 50, 100]
bake = "0s"
verification = "0s"
[plans.quick.analysis]
window = "2m"

[aws]
region = "{region}"
endpoint_url = "{endpoint}"
cluster = "{cluster}"

[aws.metrics]
source = "cloudwatch"
load_balancer = "{lb}"

{target}
[[aws.targets]]
env = "{tst}"
blue_service = "{tst_blue}"
green_service = "{tst_green}"
blue_target_group = "{tst_blue_tg}"
green_target_group = "{tst_green_tg}"
listener_rule = "{tst_rule}"
container = "{container}"
repository = "{repository}"
tag_template = "v{{version}}"
"#,
        store = store.display(),
        service = f.service,
        region = f.region,
        endpoint = f.endpoint,
        cluster = f.cluster,
        lb = f.load_balancer,
        target = f.prd_target_toml(),
        container = f.container,
        repository = f.repository,
        tst = f.tst.env,
        tst_blue = f.tst.blue_service,
        tst_green = f.tst.green_service,
        tst_blue_tg = f.tst.blue_target_group,
        tst_green_tg = f.tst.green_target_group,
        tst_rule = f.tst.rule,
    )
}

/// Runs `switchyard --config FILE run` with `lines` on standard input; returns
/// what it printed.
fn run(config: &std::path::Path, lines: &[&str]) -> String {
    let mut command = Command::new(env!("CARGO_BIN_EXE_switchyard"));
    command
        .arg("--config")
        .arg(config)
        .arg("run")
        .env("RUST_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    fake_aws_env(&mut command);
    let mut child = command.spawn().expect("switchyard starts");
    let mut stdin = child.stdin.take().unwrap();
    for line in lines {
        writeln!(stdin, "{line}").unwrap();
    }
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "switchyard run failed ({}):\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// The listener's forward weights and the green service's image, as moto has them.
async fn observed(f: &Fixture) -> ((i32, i32), String) {
    let weights = crate::moto::listener_weights(f).await;
    let ecs = aws_sdk_ecs::Client::new(&crate::moto::sdk_config(f).await);
    let services = ecs
        .describe_services()
        .cluster(&f.cluster)
        .services(&f.green_service)
        .send()
        .await
        .unwrap();
    let td = ecs
        .describe_task_definition()
        .task_definition(services.services()[0].task_definition().unwrap())
        .send()
        .await
        .unwrap();
    let image = td.task_definition().unwrap().container_definitions()[0]
        .image()
        .unwrap()
        .to_owned();
    (weights, image)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_promotion_typed_into_switchyard_run_on_moto_ends_green_live_and_rolls_back() {
    // Timing-sensitive beside real processes: run it as on a loaded CI machine.
    let _load = crate::load::CpuLoad::two();
    let (moto, f) = crate::moto::provisioned().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("switchyard.toml");
    std::fs::write(&path, config(&f, &dir.path().join("switchyard.db"))).unwrap();

    let p = path.clone();
    let said = tokio::task::spawn_blocking(move || {
        run(
            &p,
            &["promote 1.3.0 from tst to prd", "yes", "@bob: approve"],
        )
    })
    .await
    .unwrap();
    for line in [
        "Pre-promotion checklist (TST → PRD)",
        "✓ image-exists",
        "Proceed with PRD promotion of 1.3.0? (yes/no)",
        "Waiting for approval of #1",
        "#1 approved by bob (1/1)",
        "Starting deployment #1: 1.3.0 to PRD (blue-green).",
        "✓ 1.3.0 deployed to Green",
        "Deployment successful! #1",
        "Blue (Standby): 1.2.0  ← Ready for rollback",
        "Green (Active): 1.3.0  ← 100% traffic",
    ] {
        assert!(said.contains(line), "missing {line:?} in:\n{said}");
    }
    let (weights, image) = observed(&f).await;
    assert_eq!(weights, (0, 100), "{said}");
    assert_eq!(image, format!("{}:v1.3.0", f.repository_uri));

    // A second process on the same store: the rollback needs no new deployment.
    let p = path.clone();
    let said = tokio::task::spawn_blocking(move || run(&p, &["rollback prd", "yes"]))
        .await
        .unwrap();
    assert!(
        said.contains("Rollback will shift all traffic to Blue (1.2.0)"),
        "{said}"
    );
    assert!(
        said.contains("Rollback complete: PRD serves 1.2.0 again"),
        "{said}"
    );
    assert_eq!(observed(&f).await.0, (100, 0));
    drop(moto);
}
