//! The `prometheus` checklist provider and the rollout's Prometheus signals
//! against a real Prometheus (`prometheus_fixture.rs`) scraping an exporter
//! the test controls. Real time: the server scrapes every second.

use std::time::{Duration, Instant};

use switchyard::cloud::aws::{ConnectOptions, connect_with};
use switchyard::cloud::{Colour, ServiceRef};
use switchyard::config::Config;
use switchyard::gates::Outcome;

use crate::prometheus_fixture::Prometheus;
use crate::providers::{API, world};
use crate::stand_ins;

/// Requests by colour and code, and a latency histogram, for tst/storefront-api.
fn metrics(ok: u64, errors: u64, buckets: &[(&str, u64)]) -> String {
    let mut text = String::from("# TYPE http_requests_total counter\n");
    let labels = format!("env=\"tst\",service=\"{API}\",color=\"blue\"");
    text += &format!("http_requests_total{{{labels},code=\"200\"}} {ok}\n");
    text += &format!("http_requests_total{{{labels},code=\"500\"}} {errors}\n");
    text += &format!(
        "http_requests_total{{env=\"tst\",service=\"{API}\",color=\"green\",code=\"200\"}} 7\n"
    );
    text += "# TYPE http_request_duration_seconds histogram\n";
    for (le, count) in buckets {
        text += &format!("http_request_duration_seconds_bucket{{{labels},le=\"{le}\"}} {count}\n");
    }
    let total = buckets.last().map_or(0, |(_, c)| *c);
    text += &format!("http_request_duration_seconds_sum{{{labels}}} 1\n");
    text += &format!("http_request_duration_seconds_count{{{labels}}} {total}\n");
    text
}

/// p99 = 25 ms + 25 ms * 0.99 = 49.75 ms.
const FAST: [(&str, u64); 4] = [("0.025", 0), ("0.05", 1000), ("0.1", 1000), ("+Inf", 1000)];
/// p99 = 50 ms + 150 ms * 0.99 = 198.5 ms (interpolated from the last empty bucket).
const SLOW: [(&str, u64); 4] = [("0.025", 0), ("0.05", 0), ("0.2", 1000), ("+Inf", 1000)];

const P99: &str = r#"1000 * histogram_quantile(0.99, sum by (le) (http_request_duration_seconds_bucket{env="{{source}}",service="{{service}}"}))"#;
const SUCCESS: &str = r#"100 * sum(http_requests_total{env="{{source}}",code!~"5.."}) / sum(http_requests_total{env="{{source}}"})"#;

fn check(url: &str, name: &str, what: &str, query: &str, threshold: &str, unit: &str) -> String {
    let unit = if unit.is_empty() {
        String::new()
    } else {
        format!("unit = \"{unit}\"\n")
    };
    format!(
        "[[environments.checks]]\nname = \"{name}\"\nkind = \"prometheus\"\nurl = \"{url}\"\n\
         what = \"{what}\"\n{unit}{threshold}\nquery = '{query}'\n"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_prometheus_gate_compares_a_real_query_with_its_threshold() {
    let started = Instant::now();
    let prom = Prometheus::start(&metrics(1164, 36, &FAST)).await;
    eprintln!(
        "prometheus ready after {:?}, first scrape after {:?}, fixture {:?}",
        prom.timings.0,
        prom.timings.1,
        started.elapsed()
    );
    let w = world().await;
    let p99 = check(
        &prom.url,
        "p99",
        "p99 latency in {{source}}",
        P99,
        "below = 100",
        "ms",
    );
    let success = check(
        &prom.url,
        "success-rate",
        "success rate in {{source}}",
        SUCCESS,
        "at_least = 95",
        "%",
    );
    let (outcome, reason) = w.one(&p99, "1.3.0").await;
    assert_eq!(outcome, Outcome::Pass, "{reason}");
    assert_eq!(reason, "p99 latency in tst: 49.75 ms (below 100 ms)");
    let (outcome, reason) = w.one(&success, "1.3.0").await;
    assert_eq!(outcome, Outcome::Pass, "{reason}");
    assert_eq!(reason, "success rate in tst: 97.017% (at least 95%)");

    // The next scrape brings slow requests and errors.
    prom.exporter.set(&metrics(1164, 136, &SLOW));
    prom.wait_for("sum(http_requests_total{code=\"500\"})", 136.0)
        .await;
    let (outcome, reason) = w.one(&p99, "1.3.0").await;
    assert_eq!(outcome, Outcome::Fail);
    assert_eq!(reason, "p99 latency in tst: 198.5 ms, must be below 100 ms");
    let (outcome, reason) = w.one(&success, "1.3.0").await;
    assert_eq!(outcome, Outcome::Fail);
    assert_eq!(reason, "success rate in tst: 89.594%, must be at least 95%");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_prometheus_gate_fails_on_no_data_many_series_nan_a_bad_query_or_no_server() {
    let prom = Prometheus::start(&metrics(100, 0, &FAST)).await;
    let w = world().await;
    let cases = [
        (
            r#"sum(http_requests_total{env="qa"})"#,
            "requests: no data (the query matched no series)".to_owned(),
        ),
        (
            r#"http_requests_total{env="tst"}"#,
            "requests: the query returned 3 series; aggregate it to one (sum, max, ...)".to_owned(),
        ),
        (
            r#"sum(http_requests_total{env="tst"}) / 0 - sum(http_requests_total{env="tst"}) / 0"#,
            "requests: no measurement (the query gave NaN)".to_owned(),
        ),
    ];
    for (query, want) in cases {
        let spec = check(&prom.url, "requests", "requests", query, "at_least = 1", "");
        let (outcome, reason) = w.one(&spec, "1.3.0").await;
        assert_eq!(outcome, Outcome::Fail, "{query}");
        assert_eq!(reason, want, "{query}");
    }

    let host = prom.url.trim_start_matches("http://");
    let spec = check(
        &prom.url,
        "requests",
        "requests",
        "sum(",
        "at_least = 1",
        "",
    );
    let (outcome, reason) = w.one(&spec, "1.3.0").await;
    assert_eq!(outcome, Outcome::Fail);
    assert!(
        reason.starts_with(&format!(
            "requests: Prometheus at {host} refused the query (HTTP 400): "
        )),
        "{reason}"
    );

    let gone = stand_ins::unreachable_url();
    let spec = check(
        &gone,
        "requests",
        "requests",
        "vector(1)",
        "at_least = 1",
        "",
    );
    let (outcome, reason) = w.one(&spec, "1.3.0").await;
    assert_eq!(outcome, Outcome::Fail);
    assert_eq!(
        reason,
        format!(
            "requests: Prometheus: could not connect to {}",
            gone.trim_start_matches("http://")
        )
    );
}

/// An `[aws]` section whose metrics come from `prometheus`; the AWS endpoint
/// answers nothing, and the queries never ask ECS (no `{{version}}`).
fn aws_config(prometheus: &str) -> String {
    let arn = "arn:aws:elasticloadbalancing:us-east-1:123456789012";
    format!(
        r#"
cloud = "aws"

[[environments]]
name = "tst"
[environments.policy]
deploy = ["deployer"]

[[services]]
name = "{API}"

[roles.deployer]

[aws]
region = "us-east-1"
endpoint_url = "{endpoint}"
cluster = "shop"

[aws.metrics]
source = "prometheus"
url = "{prometheus}"
requests = 'sum(http_requests_total{{env="{{{{env}}}}",service="{{{{service}}}}",color="{{{{color}}}}"}})'
errors = 'sum(http_requests_total{{env="{{{{env}}}}",color="{{{{color}}}}",code=~"5.."}})'
p99_ms = '1000 * histogram_quantile(0.99, sum by (le) (http_request_duration_seconds_bucket{{env="{{{{env}}}}",color="{{{{color}}}}"}}))'

[[aws.targets]]
env = "tst"
blue_service = "api-blue"
green_service = "api-green"
blue_target_group = "{arn}:targetgroup/api-blue/0123456789abcdef"
green_target_group = "{arn}:targetgroup/api-green/0123456789abcdef"
listener = "{arn}:listener/app/shop/0123456789abcdef/0123456789abcdef"
container = "api"
repository = "storefront-api"
"#,
        endpoint = stand_ins::unreachable_url(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_signals_read_requests_errors_and_p99_from_a_real_prometheus() {
    let prom = Prometheus::start(&metrics(1164, 36, &SLOW)).await;
    let config = Config::from_toml_str(&aws_config(&prom.url)).expect("the config is valid");
    let aws = connect_with(
        config.aws.as_ref().unwrap(),
        API,
        ConnectOptions {
            test_credentials: true,
            ..ConnectOptions::default()
        },
    )
    .await
    .expect("the adapter connects");
    let signals = aws.cloud().signals;
    let tst = ServiceRef::new("tst", API);
    let blue = signals
        .sample(&tst, Colour::Blue, Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(blue.requests, 1200);
    assert_eq!(blue.errors, 36);
    let p99 = blue.p99_ms.expect("a p99");
    assert!((p99 - 198.5).abs() < 1e-6, "{p99}");

    // Green has requests and no histogram: no latency, no errors.
    let green = signals
        .sample(&tst, Colour::Green, Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!((green.requests, green.errors, green.p99_ms), (7, 0, None));
}
