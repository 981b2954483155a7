//! The moto harness itself: a server per test on its own port, a provisioned
//! blue/green stack with ARNs of the real shapes, and a server that stops when
//! its handle is dropped.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::moto::{Moto, answers_http};

fn assert_elb_arn(arn: &str, kind: &str, fixture_region: &str) {
    let prefix = format!("arn:aws:elasticloadbalancing:{fixture_region}:");
    assert!(
        arn.starts_with(&prefix),
        "{arn} is not an ELBv2 ARN in {fixture_region}"
    );
    let resource = arn.splitn(6, ':').nth(5).unwrap_or_default();
    assert!(resource.starts_with(kind), "{arn} is not a {kind} ARN");
}

#[test]
fn moto_starts_on_a_free_port_and_provisions_a_blue_green_stack() {
    let started = Instant::now();
    let moto = Moto::start();
    let start_time = started.elapsed();
    assert_eq!(moto.endpoint, format!("http://127.0.0.1:{}", moto.port()));
    assert!(moto.answers());

    let provisioned = Instant::now();
    let f = moto.provision();
    eprintln!(
        "moto start {start_time:?}, provisioning {:?}",
        provisioned.elapsed()
    );

    assert_eq!(f.endpoint, moto.endpoint);
    assert_eq!(f.region, "us-east-1");
    assert_eq!(f.env, "prd");
    assert_eq!(f.service, "storefront-api");
    assert_eq!(f.cluster, "storefront-api-prd");
    assert_eq!(f.blue_service, "storefront-api-blue");
    assert_eq!(f.green_service, "storefront-api-green");
    assert_eq!(f.task_family_blue, "storefront-api-blue");
    assert_eq!(f.task_family_green, "storefront-api-green");
    assert_eq!(f.container, "api");
    assert_eq!(f.repository, "storefront-api");
    assert_eq!(
        f.repository_uri,
        "123456789012.dkr.ecr.us-east-1.amazonaws.com/storefront-api"
    );
    assert_eq!(f.image_tags, ["v1.2.0", "v1.3.0"]);
    assert_eq!(f.tst.env, "tst");
    assert_eq!(f.tst.blue_service, "storefront-api-tst-blue");
    assert_elb_arn(
        &f.tst.rule,
        "listener-rule/app/storefront-api-prd/",
        &f.region,
    );
    assert_ne!(f.tst.rule, f.rule);

    assert_elb_arn(
        &f.load_balancer,
        "loadbalancer/app/storefront-api-prd/",
        &f.region,
    );
    assert_elb_arn(&f.listener, "listener/app/storefront-api-prd/", &f.region);
    assert_elb_arn(&f.rule, "listener-rule/app/storefront-api-prd/", &f.region);
    assert_elb_arn(
        &f.blue_target_group,
        "targetgroup/storefront-api-prd-blue/",
        &f.region,
    );
    assert_elb_arn(
        &f.green_target_group,
        "targetgroup/storefront-api-prd-green/",
        &f.region,
    );
    // The listener and its rule belong to the load balancer.
    let lb_id = f.load_balancer.split("loadbalancer/").nth(1).unwrap();
    assert!(f.listener.contains(&format!("listener/{lb_id}/")));
    assert!(
        f.rule
            .starts_with(&f.listener.replace(":listener/", ":listener-rule/"))
    );
}

#[test]
fn two_motos_run_at_once_and_dropping_one_stops_its_server() {
    let first = Moto::start();
    let second = Moto::start();
    assert_ne!(first.port(), second.port());
    assert!(first.answers() && second.answers());

    let first_addr = SocketAddr::from(([127, 0, 0, 1], first.port()));
    drop(first);
    // Drop kills and reaps the server: its port stops answering at once (allow
    // a moment for the kernel to close the socket).
    let deadline = Instant::now() + Duration::from_secs(5);
    while answers_http(first_addr) {
        assert!(
            Instant::now() < deadline,
            "moto still answers on {first_addr} after its drop"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(second.answers(), "dropping one moto must not stop another");
}
