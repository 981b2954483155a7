//! The `scan` checklist provider with `source = "ecr"`: ECR's image scan
//! findings (`DescribeImageScanFindings`) read by the AWS adapter from moto,
//! for the image the prd target deploys (its repository, `v{{version}}`).
//! moto answers a started scan with one HIGH finding (CVE-9999-9999) unless
//! custom results were posted to its API, as the second test does.

use std::sync::Arc;

use aws_sdk_ecr::types::ImageIdentifier;
use serde_json::json;
use switchyard::cloud::aws::scan::EcrScans;
use switchyard::cloud::aws::{ConnectOptions, connect_with};
use switchyard::config::Config;
use switchyard::gates::providers::{AwsScans, Providers, configured};
use switchyard::gates::{self, CheckContext, Outcome};

use crate::moto::{Fixture, Moto};
use crate::providers::{API, World, world};

struct Stack {
    _moto: Moto,
    f: Fixture,
    config: Config,
    scans: Arc<AwsScans>,
    ecr: aws_sdk_ecr::Client,
}

/// moto with the blue/green stack, a config whose prd has the scan checks
/// `checks`, and the adapter's scan findings.
async fn stack(checks: &str) -> Stack {
    let (moto, f) = tokio::task::spawn_blocking(|| {
        let moto = Moto::start();
        let f = moto.provision();
        (moto, f)
    })
    .await
    .expect("moto starts");
    let text = format!(
        r#"
cloud = "aws"

[[environments]]
name = "{env}"
[environments.policy]
deploy = ["deployer"]

{checks}

[[services]]
name = "{service}"

[roles.deployer]

[aws]
region = "{region}"
endpoint_url = "{endpoint}"
cluster = "{cluster}"

# Never asked: the checks need no metrics, and CloudWatch would want more keys.
[aws.metrics]
source = "prometheus"
url = "http://127.0.0.1:9"
requests = "vector(0)"
errors = "vector(0)"
p99_ms = "vector(0)"

[[aws.targets]]
env = "{env}"
blue_service = "{blue}"
green_service = "{green}"
blue_target_group = "{blue_tg}"
green_target_group = "{green_tg}"
listener = "{listener}"
container = "{container}"
repository = "{repository}"
tag_template = "v{{version}}"
"#,
        env = f.env,
        service = f.service,
        region = f.region,
        endpoint = f.endpoint,
        cluster = f.cluster,
        blue = f.blue_service,
        green = f.green_service,
        blue_tg = f.blue_target_group,
        green_tg = f.green_target_group,
        listener = f.listener,
        container = f.container,
        repository = f.repository,
    );
    let config = Config::from_toml_str(&text).expect("the fixture config is valid");
    let aws = connect_with(
        config.aws.as_ref().unwrap(),
        &f.service,
        ConnectOptions {
            test_credentials: true,
            ..ConnectOptions::default()
        },
    )
    .await
    .expect("the adapter connects");
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new(f.region.clone()))
        .endpoint_url(&f.endpoint)
        .test_credentials()
        .load()
        .await;
    let ecr = aws_sdk_ecr::Client::new(&sdk);
    let scans = Arc::new(AwsScans {
        cloud: Arc::new(aws),
        scans: EcrScans::new(ecr.clone()),
    });
    Stack {
        _moto: moto,
        f,
        config,
        scans,
        ecr,
    }
}

impl Stack {
    /// Runs prd's configured checks for "deploy VERSION to prd".
    async fn check(&self, w: &World, version: &str) -> Vec<(Outcome, String)> {
        let providers = Providers {
            scans: Some(self.scans.clone()),
            ..w.providers()
        };
        let specs = &self.config.environment("prd").unwrap().checks;
        let ctx = CheckContext {
            source: None,
            ..w.promote(version)
        };
        gates::run(&configured(specs, &providers), &ctx, false)
            .await
            .results
            .into_iter()
            .map(|r| (r.outcome, r.reason))
            .collect()
    }

    async fn start_scan(&self, tag: &str) {
        self.ecr
            .start_image_scan()
            .repository_name(&self.f.repository)
            .image_id(ImageIdentifier::builder().image_tag(tag).build())
            .send()
            .await
            .expect("moto starts the scan");
    }
}

const SCAN: &str =
    "[[environments.checks]]\nname = \"image-scan\"\nkind = \"scan\"\nsource = \"ecr\"\n";
const SCAN_CRITICAL: &str = "[[environments.checks]]\nname = \"critical-scan\"\nkind = \"scan\"\n\
                             source = \"ecr\"\nfail_at = \"critical\"\n";

#[tokio::test]
async fn ecr_findings_of_the_targets_image_fail_at_or_above_the_bar() {
    let s = stack(&format!("{SCAN}\n{SCAN_CRITICAL}")).await;
    let w = world().await;
    assert_eq!(API, s.f.service);

    // Never scanned: nobody has looked, so it cannot pass.
    let results = s.check(&w, "1.3.0").await;
    assert_eq!(results[0].0, Outcome::Fail);
    assert_eq!(
        results[0].1,
        "could not read the image scan: `storefront-api:v1.3.0` has never been scanned; \
         turn on scan on push or start a scan"
    );

    s.start_scan("v1.3.0").await;
    let results = s.check(&w, "1.3.0").await;
    assert_eq!(
        results,
        [
            (
                Outcome::Fail,
                "1 high vulnerability in storefront-api:v1.3.0 (at or above high): CVE-9999-9999"
                    .to_owned()
            ),
            (
                Outcome::Pass,
                "no vulnerabilities at or above critical in storefront-api:v1.3.0 (1 high below it)"
                    .to_owned()
            ),
        ]
    );

    let results = s.check(&w, "9.9.9").await;
    assert_eq!(results[0].0, Outcome::Fail);
    assert!(
        results[0].1.starts_with("could not read the image scan:"),
        "{}",
        results[0].1
    );
}

#[tokio::test]
async fn ecr_basic_and_enhanced_findings_both_count_and_suppressed_ones_do_not() {
    let s = stack(SCAN).await;
    let w = world().await;
    // moto's API for custom scan results: the exact answer for this image.
    let result = json!({
        "registryId": "123456789012",
        "repositoryName": s.f.repository,
        "imageId": {"imageTag": "v1.2.0"},
        "imageScanStatus": {"status": "COMPLETE", "description": "The scan was completed successfully."},
        "imageScanFindings": {
            "findings": [
                {"name": "CVE-2024-0001", "severity": "CRITICAL"},
                {"name": "CVE-2024-0002", "severity": "MEDIUM"},
                {"name": "CVE-2024-0003", "severity": "INFORMATIONAL"}
            ],
            "enhancedFindings": [
                {"severity": "HIGH", "status": "ACTIVE", "title": "CVE-2024-0004 - libxml2",
                 "packageVulnerabilityDetails": {"vulnerabilityId": "CVE-2024-0004", "source": "NVD"}},
                {"severity": "CRITICAL", "status": "SUPPRESSED", "title": "CVE-2024-0005 - zlib",
                 "packageVulnerabilityDetails": {"vulnerabilityId": "CVE-2024-0005", "source": "NVD"}}
            ],
            "findingSeverityCounts": {"CRITICAL": 1, "HIGH": 1, "MEDIUM": 1}
        }
    });
    let posted = reqwest::Client::new()
        .post(format!(
            "{}/moto-api/static/ecr/scan-finding-results",
            s.f.endpoint
        ))
        .json(&json!({"results": [result], "region": s.f.region}))
        .send()
        .await
        .unwrap();
    assert!(posted.status().is_success(), "{}", posted.status());
    s.start_scan("v1.2.0").await;
    let results = s.check(&w, "1.2.0").await;
    assert_eq!(
        results,
        [(
            Outcome::Fail,
            "1 critical, 1 high vulnerabilities in storefront-api:v1.2.0 (at or above high): \
             CVE-2024-0001, CVE-2024-0004"
                .to_owned()
        )]
    );
}
