//! The AWS adapter: [`Compute`](crate::cloud::Compute) on ECS,
//! [`Traffic`](crate::cloud::Traffic) on an application load balancer's
//! forward weights, [`Signals`](crate::cloud::Signals) from CloudWatch or
//! Prometheus, and an image check on ECR.
//!
//! Layout: `targets` resolves the `[aws]` section per environment and service;
//! `compute` (ECS) with `taskdef` (copying a revision with a new image) and
//! `readiness` (pure: deployments and target health to [`Readiness`](crate::cloud::Readiness));
//! `traffic` (ELBv2) with `forward` (pure: actions to weights and back);
//! `signals` (CloudWatch) and `prometheus`; `images` (ECR); `errors` (SDK
//! errors to retryable or permanent sentences); `calls` (a request counter).
//! This file is the handle: one SDK configuration, the clients, the ports.
//!
//! Retrying belongs to the engine (`rollout::Retry`, with its deadline and its
//! read-back of weights), so the SDK's own retries are off: two layers of
//! backoff would multiply the wait and hide throttling from the engine. Every
//! attempt has a timeout, so a hung call becomes a retryable error.
//!
//! Credentials come from the SDK's default chain and never pass through
//! switchyard's config, messages or logs.

mod calls;
mod compute;
mod errors;
mod forward;
mod images;
mod prometheus;
mod readiness;
pub mod scan;
mod signals;
mod targets;
mod taskdef;
mod traffic;

use std::sync::Arc;
use std::time::Duration;

use aws_config::{BehaviorVersion, Region};
use aws_smithy_runtime_api::client::interceptors::SharedInterceptor;
use aws_smithy_types::retry::RetryConfig;
use aws_smithy_types::timeout::TimeoutConfig;

pub use calls::{CallCounter, CallCounts};
pub use images::EcrImages;

use compute::EcsCompute;
use prometheus::{PrometheusSignals, Queries};
use signals::CloudWatchSignals;
use targets::Targets;
use traffic::ElbTraffic;

use crate::cloud::{Cloud, CloudError, ServiceRef, Signals};
use crate::config;

/// How long one request may take before it counts as a (retryable) timeout.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// Why the adapter could not be built. Each message is meant for the operator.
#[derive(Debug, thiserror::Error)]
pub enum AwsError {
    #[error("the [aws] section cannot be used: {0}")]
    Config(String),
    #[error("no AWS region: set `region` in [aws], AWS_REGION, or a region in the AWS profile")]
    NoRegion,
    #[error("Prometheus metrics cannot be read: {0}")]
    Prometheus(String),
}

/// Knobs beyond the configuration file, for tests.
#[derive(Debug, Default, Clone)]
pub struct ConnectOptions {
    /// Interceptors added to every client (tests inject faults with them).
    pub interceptors: Vec<SharedInterceptor>,
    /// Fixed fake credentials instead of the default chain: for moto only.
    pub test_credentials: bool,
}

/// The adapter: three ports, the image check and the request counter.
pub struct AwsCloud {
    compute: Arc<EcsCompute>,
    traffic: Arc<ElbTraffic>,
    signals: Arc<dyn Signals>,
    images: EcrImages,
    targets: Arc<Targets>,
    calls: CallCounter,
    region: String,
}

/// Connects with the default credential chain. `service` is the switchyard
/// service a target serves when it names none (the first configured service).
pub async fn connect(aws: &config::Aws, service: &str) -> Result<AwsCloud, AwsError> {
    connect_with(aws, service, ConnectOptions::default()).await
}

/// [`connect`] with test knobs.
pub async fn connect_with(
    aws: &config::Aws,
    service: &str,
    options: ConnectOptions,
) -> Result<AwsCloud, AwsError> {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .retry_config(RetryConfig::disabled())
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(CONNECT_TIMEOUT)
                .operation_attempt_timeout(ATTEMPT_TIMEOUT)
                .build(),
        );
    // The configured region, else the targets' own (their ARNs name it), else
    // whatever the SDK's chain finds.
    if let Some(region) = aws.region.clone().or_else(|| Targets::region_of(aws)) {
        loader = loader.region(Region::new(region));
    }
    if let Some(url) = &aws.endpoint_url {
        tracing::warn!(endpoint = %url, "AWS calls go to a custom endpoint, not AWS");
        loader = loader.endpoint_url(url);
    }
    if options.test_credentials {
        loader = loader.test_credentials();
    }
    let sdk = loader.load().await;
    let region = sdk.region().ok_or(AwsError::NoRegion)?.to_string();
    let targets = Arc::new(Targets::resolve(aws, service, &region).map_err(AwsError::Config)?);
    let calls = CallCounter::default();

    // One configuration, one interceptor list, for every client.
    macro_rules! client {
        ($sdk:ident) => {{
            let mut builder = $sdk::config::Builder::from(&sdk).interceptor(calls.clone());
            for extra in &options.interceptors {
                builder = builder.interceptor(extra.clone());
            }
            $sdk::Client::from_conf(builder.build())
        }};
    }
    let ecs = client!(aws_sdk_ecs);
    let elb = client!(aws_sdk_elasticloadbalancingv2);
    let ecr = client!(aws_sdk_ecr);

    let compute = Arc::new(EcsCompute::new(ecs, elb.clone(), targets.clone()));
    let signals: Arc<dyn Signals> = match (aws.metrics.cloudwatch(), aws.metrics.prometheus()) {
        (_, Some(p)) => Arc::new(
            PrometheusSignals::new(
                Queries {
                    url: p.url.clone(),
                    requests: p.requests.clone(),
                    errors: p.errors.clone(),
                    p99_ms: p.p99_ms.clone(),
                },
                p.timeout,
                compute.clone(),
            )
            .map_err(AwsError::Prometheus)?,
        ),
        _ => Arc::new(CloudWatchSignals::new(
            client!(aws_sdk_cloudwatch),
            targets.clone(),
        )),
    };
    Ok(AwsCloud {
        compute,
        traffic: Arc::new(ElbTraffic::new(elb, targets.clone())),
        signals,
        images: EcrImages::new(ecr),
        targets,
        calls,
        region,
    })
}

impl AwsCloud {
    /// The three ports, as the engine holds them.
    pub fn cloud(&self) -> Cloud {
        Cloud {
            compute: self.compute.clone(),
            traffic: self.traffic.clone(),
            signals: self.signals.clone(),
        }
    }

    /// Requests sent to AWS so far, by operation.
    pub fn calls(&self) -> CallCounts {
        self.calls.counts()
    }

    /// The region every call goes to.
    pub fn region(&self) -> &str {
        &self.region
    }

    /// The ECR image check.
    pub fn images(&self) -> &EcrImages {
        &self.images
    }

    /// ECR's scan findings, through the same client as the image check.
    pub fn scans(&self) -> scan::EcrScans {
        scan::EcrScans::new(self.images.client().clone())
    }

    /// Whether the image `version` of `svc` would deploy exists: the target's
    /// repository, the tag from its template.
    pub async fn has_image(&self, svc: &ServiceRef, version: &str) -> Result<bool, CloudError> {
        let t = self.targets.get(svc)?;
        let tag = self.targets.tag(t, version)?;
        self.images.exists(&t.image_repository, &tag).await
    }

    /// Every environment and service with a target.
    pub fn services(&self) -> Vec<ServiceRef> {
        let mut all: Vec<ServiceRef> = self.targets.services().cloned().collect();
        all.sort();
        all
    }
}
