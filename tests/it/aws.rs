//! The AWS adapter with the real SDK against moto (one server per test, see
//! `moto.rs`): weights on a listener and on a rule, read back exactly and
//! keeping stickiness; a deploy that registers a revision with the templated
//! image; a whole blue/green promotion and its rollback through the engine,
//! with its AWS call count; errors that say what failed and whether retrying
//! helps; the ECR image check.
//!
//! moto has no real traffic, so the engine runs a plan without bakes or
//! verification: signals are never sampled, and the rest (ECS, ELBv2, ECR)
//! is the real adapter against moto's emulation.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_elasticloadbalancingv2::types::{
    Action, ActionTypeEnum, ForwardActionConfig, TargetGroupStickinessConfig, TargetGroupTuple,
};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::BeforeDeserializationInterceptorContextMut;
use aws_smithy_runtime_api::client::interceptors::{Intercept, SharedInterceptor};
use aws_smithy_runtime_api::client::orchestrator::{HttpResponse, Metadata};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::config_bag::ConfigBag;
use switchyard::clock::Clock;
use switchyard::cloud::aws::{AwsCloud, ConnectOptions, connect_with};
use switchyard::cloud::{CloudError, Colour, ServiceRef, Weights};
use switchyard::config::{Analysis, Config, Inconclusive, Plan};
use switchyard::intent::Strategy;
use switchyard::rollout::{DeployRequest, Engine, EngineOptions, Retry};
use switchyard::store::{DeploymentState, Store};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::moto::{Fixture, Moto};

/// Which route a test drives.
#[derive(Clone, Copy)]
enum Route {
    Listener,
    Rule,
}

/// A provisioned moto and the adapter connected to it.
struct Stack {
    _moto: Moto,
    f: Fixture,
    aws: AwsCloud,
    svc: ServiceRef,
    /// Plain SDK clients, to look at moto behind the adapter's back.
    elb: aws_sdk_elasticloadbalancingv2::Client,
    ecs: aws_sdk_ecs::Client,
}

/// Metrics from CloudWatch, on the fixture's load balancer.
fn cloudwatch(f: &Fixture) -> String {
    format!(
        "[aws.metrics]\nsource = \"cloudwatch\"\nload_balancer = \"{}\"\n",
        f.load_balancer
    )
}

/// A whole configuration file for the fixture, so `check` runs on it too.
fn config_toml(f: &Fixture, route: Route, metrics: &str) -> String {
    let route = match route {
        Route::Listener => format!("listener = \"{}\"", f.listener),
        Route::Rule => format!("listener_rule = \"{}\"", f.rule),
    };
    format!(
        r#"
cloud = "aws"

[[environments]]
name = "{env}"
[environments.policy]
deploy = ["deployer"]

[[services]]
name = "{service}"

[roles.deployer]

[plans.blue-green.analysis]
window = "2m"

[aws]
region = "{region}"
endpoint_url = "{endpoint}"
cluster = "{cluster}"

{metrics}
[[aws.targets]]
env = "{env}"
blue_service = "{blue}"
green_service = "{green}"
blue_target_group = "{blue_tg}"
green_target_group = "{green_tg}"
{route}
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
        container = f.container,
        repository = f.repository,
    )
}

async fn stack_with(
    route: Route,
    interceptors: Vec<SharedInterceptor>,
    metrics: Option<&str>,
) -> Stack {
    stack_from(route, interceptors, metrics, "").await
}

/// A stack whose `[[aws.targets]]` entry also has the lines `target_extra`.
async fn stack_from(
    route: Route,
    interceptors: Vec<SharedInterceptor>,
    metrics: Option<&str>,
    target_extra: &str,
) -> Stack {
    let (moto, f) = tokio::task::spawn_blocking(|| {
        let moto = Moto::start();
        let f = moto.provision();
        (moto, f)
    })
    .await
    .expect("moto starts");
    let metrics = metrics.map_or_else(|| cloudwatch(&f), str::to_owned);
    let text = config_toml(&f, route, &metrics) + target_extra;
    let config = Config::from_toml_str(&text).expect("the fixture config is valid");
    let aws_config = config.aws.clone().expect("an [aws] section");
    let options = ConnectOptions {
        interceptors,
        test_credentials: true,
    };
    let aws = connect_with(&aws_config, &f.service, options)
        .await
        .expect("the adapter connects");
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new(f.region.clone()))
        .endpoint_url(&f.endpoint)
        .test_credentials()
        .load()
        .await;
    Stack {
        svc: ServiceRef::new(&f.env, &f.service),
        elb: aws_sdk_elasticloadbalancingv2::Client::new(&sdk),
        ecs: aws_sdk_ecs::Client::new(&sdk),
        _moto: moto,
        f,
        aws,
    }
}

async fn stack(route: Route) -> Stack {
    stack_with(route, Vec::new(), None).await
}

impl Stack {
    /// The route's actions as moto has them.
    async fn actions(&self, route: Route) -> Vec<Action> {
        match route {
            Route::Listener => self
                .elb
                .describe_listeners()
                .listener_arns(&self.f.listener)
                .send()
                .await
                .unwrap()
                .listeners()[0]
                .default_actions()
                .to_vec(),
            Route::Rule => self
                .elb
                .describe_rules()
                .rule_arns(&self.f.rule)
                .send()
                .await
                .unwrap()
                .rules()[0]
                .actions()
                .to_vec(),
        }
    }

    /// Replaces the route's actions behind the adapter's back.
    async fn put_actions(&self, route: Route, actions: Vec<Action>) {
        match route {
            Route::Listener => {
                self.elb
                    .modify_listener()
                    .listener_arn(&self.f.listener)
                    .set_default_actions(Some(actions))
                    .send()
                    .await
                    .unwrap();
            }
            Route::Rule => {
                self.elb
                    .modify_rule()
                    .rule_arn(&self.f.rule)
                    .set_actions(Some(actions))
                    .send()
                    .await
                    .unwrap();
            }
        }
    }

    /// A forward to the given target groups with sticky sessions on.
    fn sticky_forward(&self, groups: &[(&str, i32)]) -> Vec<Action> {
        let mut config = ForwardActionConfig::builder().target_group_stickiness_config(
            TargetGroupStickinessConfig::builder()
                .enabled(true)
                .duration_seconds(900)
                .build(),
        );
        for (arn, weight) in groups {
            config = config.target_groups(
                TargetGroupTuple::builder()
                    .target_group_arn(*arn)
                    .weight(*weight)
                    .build(),
            );
        }
        vec![
            Action::builder()
                .r#type(ActionTypeEnum::Forward)
                .forward_config(config.build())
                .build(),
        ]
    }

    /// The image and desired count of an ECS service, as moto has them.
    async fn service_image(&self, name: &str) -> (String, i32, String) {
        let out = self
            .ecs
            .describe_services()
            .cluster(&self.f.cluster)
            .services(name)
            .send()
            .await
            .unwrap();
        let service = &out.services()[0];
        let arn = service.task_definition().unwrap().to_owned();
        let td = self
            .ecs
            .describe_task_definition()
            .task_definition(&arn)
            .send()
            .await
            .unwrap();
        let image = td.task_definition().unwrap().container_definitions()[0]
            .image()
            .unwrap()
            .to_owned();
        (image, service.desired_count, arn)
    }
}

fn stickiness(actions: &[Action]) -> Option<TargetGroupStickinessConfig> {
    actions[0]
        .forward_config()
        .and_then(|c| c.target_group_stickiness_config())
        .cloned()
}

async fn weights_round_trip_keeping_stickiness(route: Route) {
    let s = stack(route).await;
    let traffic = s.aws.cloud().traffic;
    let (blue, green) = (
        s.f.blue_target_group.as_str(),
        s.f.green_target_group.as_str(),
    );
    s.put_actions(route, s.sticky_forward(&[(blue, 100), (green, 0)]))
        .await;
    let sticky = stickiness(&s.actions(route).await);
    assert_eq!(
        sticky.as_ref().and_then(|c| c.enabled()),
        Some(true),
        "moto keeps the stickiness we set"
    );

    assert_eq!(
        traffic.weights(&s.svc).await,
        Ok(Weights::all(Colour::Blue))
    );
    for percent in [10, 25, 50, 100] {
        let weights = Weights::to(Colour::Green, percent);
        traffic.set_weights(&s.svc, weights).await.unwrap();
        assert_eq!(traffic.weights(&s.svc).await, Ok(weights));
    }
    let actions = s.actions(route).await;
    assert_eq!(
        stickiness(&actions),
        sticky,
        "stickiness survives every change"
    );
    let groups = actions[0].forward_config().unwrap().target_groups();
    let seen: Vec<_> = groups
        .iter()
        .map(|g| (g.target_group_arn().unwrap(), g.weight()))
        .collect();
    assert_eq!(seen, [(blue, Some(0)), (green, Some(100))]);
}

#[tokio::test]
async fn weights_on_the_listener_default_action_read_back_exactly_and_keep_stickiness() {
    weights_round_trip_keeping_stickiness(Route::Listener).await;
}

#[tokio::test]
async fn weights_on_a_listener_rule_read_back_exactly_and_keep_stickiness() {
    weights_round_trip_keeping_stickiness(Route::Rule).await;
}

#[tokio::test]
async fn a_route_forwarding_to_a_third_target_group_is_refused_and_left_alone() {
    let s = stack(Route::Listener).await;
    let vpc = s
        .elb
        .describe_target_groups()
        .target_group_arns(&s.f.blue_target_group)
        .send()
        .await
        .unwrap()
        .target_groups()[0]
        .vpc_id()
        .unwrap()
        .to_owned();
    let third = s
        .elb
        .create_target_group()
        .name("someone-elses")
        .protocol("HTTP".into())
        .port(8080)
        .vpc_id(vpc)
        .send()
        .await
        .unwrap()
        .target_groups()[0]
        .target_group_arn()
        .unwrap()
        .to_owned();
    let actions = s.sticky_forward(&[
        (s.f.blue_target_group.as_str(), 80),
        (s.f.green_target_group.as_str(), 0),
        (third.as_str(), 20),
    ]);
    s.put_actions(Route::Listener, actions.clone()).await;

    let traffic = s.aws.cloud().traffic;
    let err = traffic
        .set_weights(&s.svc, Weights::to(Colour::Green, 10))
        .await
        .unwrap_err();
    assert!(!err.is_retryable());
    let text = err.to_string();
    assert!(
        text.contains(&third) && text.contains("neither the blue nor the green"),
        "{text}"
    );
    assert!(traffic.weights(&s.svc).await.is_err());
    assert_eq!(
        s.actions(Route::Listener).await,
        actions,
        "nothing was changed"
    );
}

#[tokio::test]
async fn a_deploy_registers_a_revision_with_the_templated_image_and_readiness_reads_moto() {
    let s = stack(Route::Listener).await;
    let compute = s.aws.cloud().compute;
    let (image, desired, before) = s.service_image(&s.f.green_service).await;
    assert_eq!(
        (image.as_str(), desired),
        (format!("{}:v1.2.0", s.f.repository_uri).as_str(), 0)
    );

    let standby = compute.readiness(&s.svc, Colour::Green).await.unwrap();
    assert_eq!(standby.version.as_deref(), Some("1.2.0"));
    assert!(!standby.is_ready(), "scaled to zero: {standby:?}");

    compute
        .deploy(&s.svc, Colour::Green, "1.3.0")
        .await
        .unwrap();
    let (image, desired, after) = s.service_image(&s.f.green_service).await;
    assert_eq!(image, format!("{}:v1.3.0", s.f.repository_uri));
    assert_eq!(
        desired, 3,
        "the standby comes back at the live colour's size"
    );
    assert_ne!(after, before);
    assert!(
        after.ends_with(&format!("{}:2", s.f.task_family_green)),
        "{after}"
    );

    let ready = compute.readiness(&s.svc, Colour::Green).await.unwrap();
    assert_eq!(ready.version.as_deref(), Some("1.3.0"));
    assert_eq!((ready.desired, ready.running, ready.healthy), (3, 3, 3));
    assert!(ready.is_ready());

    // Deploying what already runs changes nothing.
    let calls = s.aws.calls();
    compute
        .deploy(&s.svc, Colour::Green, "1.3.0")
        .await
        .unwrap();
    let again = s.aws.calls().since(&calls);
    assert_eq!(
        again.get("UpdateService") + again.get("RegisterTaskDefinition"),
        0,
        "{again}"
    );
    assert_eq!(s.service_image(&s.f.green_service).await.2, after);
}

fn zero_bake_plan() -> Plan {
    Plan {
        strategy: Strategy::BlueGreen,
        steps: vec![10, 25, 50, 100],
        bake: Duration::ZERO,
        verification: Duration::ZERO,
        watch: Duration::ZERO,
        analysis: Analysis {
            min_requests: 0,
            inconclusive: Inconclusive::Wait,
            interval: Duration::from_millis(200),
            ..Analysis::default()
        },
    }
}

#[tokio::test]
async fn a_blue_green_promotion_on_moto_ends_at_0_100_on_the_new_revision_and_rolls_back() {
    let s = stack(Route::Listener).await;
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&format!(
        "sqlite://{}",
        dir.path().join("switchyard.db").display()
    ))
    .await
    .unwrap();
    let retry = Retry {
        deadline: Duration::from_secs(20),
        backoff: Duration::from_millis(100),
    };
    let engine = Engine::new(
        store,
        s.aws.cloud(),
        Clock::system(),
        retry,
        EngineOptions::default(),
    );

    let before = s.aws.calls();
    let id = engine
        .start(DeployRequest {
            svc: s.svc.clone(),
            version: "1.3.0".into(),
            strategy: Strategy::BlueGreen,
            plan: zero_bake_plan(),
            requested_by: "alice".into(),
            approvers: vec![],
            emergency: false,
        })
        .await
        .unwrap();
    engine.wait(id).await;
    let promote = s.aws.calls().since(&before);
    println!("AWS calls for the promotion: {promote}");

    let d = engine.store().deployment(id).await.unwrap().unwrap();
    assert_eq!(d.state, DeploymentState::Succeeded, "{:?}", d.reason);
    assert_eq!(d.previous_version.as_deref(), Some("1.2.0"));
    let traffic = s.aws.cloud().traffic;
    assert_eq!(
        traffic.weights(&s.svc).await,
        Ok(Weights::all(Colour::Green))
    );
    let (image, desired, arn) = s.service_image(&s.f.green_service).await;
    assert_eq!(image, format!("{}:v1.3.0", s.f.repository_uri));
    assert_eq!(desired, 3);
    assert!(
        arn.ends_with(&format!("{}:2", s.f.task_family_green)),
        "{arn}"
    );
    assert!(
        promote.total() <= 30,
        "a promotion in 4 steps should cost at most 30 AWS calls, took {promote}"
    );

    let rolled = engine.rollback(&s.svc, "bob").await.unwrap();
    assert_eq!(rolled.to_version, "1.2.0");
    assert_eq!(rolled.colour, Colour::Blue);
    assert_eq!(
        traffic.weights(&s.svc).await,
        Ok(Weights::all(Colour::Blue))
    );
    let d = engine.store().deployment(id).await.unwrap().unwrap();
    assert_eq!(d.state, DeploymentState::RolledBack);

    let allowed = policy_actions();
    for op in s.aws.calls().0.keys() {
        assert!(
            allowed.contains(&iam_action(op)),
            "deploy/iam-policy.json lacks {op}"
        );
    }
}

#[tokio::test]
async fn missing_services_and_listeners_are_permanent_errors_that_name_them() {
    let s = stack(Route::Listener).await;
    s.ecs
        .update_service()
        .cluster(&s.f.cluster)
        .service(&s.f.green_service)
        .desired_count(0)
        .send()
        .await
        .unwrap();
    s.ecs
        .delete_service()
        .cluster(&s.f.cluster)
        .service(&s.f.green_service)
        .force(true)
        .send()
        .await
        .unwrap();
    s.elb
        .delete_listener()
        .listener_arn(&s.f.listener)
        .send()
        .await
        .unwrap();
    let cloud = s.aws.cloud();

    let err = cloud
        .compute
        .deploy(&s.svc, Colour::Green, "1.3.0")
        .await
        .unwrap_err();
    println!("missing service: {err}");
    assert!(matches!(err, CloudError::Permanent(_)), "{err:?}");
    assert!(err.to_string().contains(&s.f.green_service), "{err}");
    assert!(err.to_string().contains(&s.f.cluster), "{err}");

    let err = cloud.traffic.weights(&s.svc).await.unwrap_err();
    println!("missing listener: {err}");
    assert!(matches!(err, CloudError::Permanent(_)), "{err:?}");
    assert!(err.to_string().contains(&s.f.listener), "{err}");
    assert!(err.to_string().contains("does not exist"), "{err}");
}

#[tokio::test]
async fn a_service_that_never_existed_is_named_with_the_key_to_fix() {
    let (moto, f) = tokio::task::spawn_blocking(|| {
        let moto = Moto::start();
        let f = moto.provision();
        (moto, f)
    })
    .await
    .unwrap();
    let text = config_toml(&f, Route::Listener, &cloudwatch(&f)).replace(
        &format!("\"{}\"", f.green_service),
        "\"storefront-api-grene\"",
    );
    let config = Config::from_toml_str(&text).unwrap();
    let options = ConnectOptions {
        test_credentials: true,
        ..ConnectOptions::default()
    };
    let aws = connect_with(config.aws.as_ref().unwrap(), &f.service, options)
        .await
        .unwrap();
    let svc = ServiceRef::new(&f.env, &f.service);
    let err = aws
        .cloud()
        .compute
        .readiness(&svc, Colour::Green)
        .await
        .unwrap_err();
    println!("never existed: {err}");
    assert!(matches!(err, CloudError::Permanent(_)), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains("`storefront-api-grene` does not exist")
            && text.contains(&f.cluster)
            && text.contains("green_service"),
        "{text}"
    );
    drop(moto);
}

#[tokio::test]
async fn a_rolling_rollback_returns_to_the_previous_revision_instead_of_registering_one() {
    let s = stack(Route::Listener).await;
    let compute = s.aws.cloud().compute;
    compute.deploy(&s.svc, Colour::Blue, "1.3.0").await.unwrap();
    let (image, _, upgraded) = s.service_image(&s.f.blue_service).await;
    assert_eq!(image, format!("{}:v1.3.0", s.f.repository_uri));
    assert!(
        upgraded.ends_with(&format!("{}:2", s.f.task_family_blue)),
        "{upgraded}"
    );

    let calls = s.aws.calls();
    compute.deploy(&s.svc, Colour::Blue, "1.2.0").await.unwrap();
    let (image, _, back) = s.service_image(&s.f.blue_service).await;
    assert_eq!(image, format!("{}:v1.2.0", s.f.repository_uri));
    assert!(
        back.ends_with(&format!("{}:1", s.f.task_family_blue)),
        "{back}"
    );
    assert_eq!(s.aws.calls().since(&calls).get("RegisterTaskDefinition"), 0);
}

/// Every request's operation and when it left, for rates over time.
#[derive(Debug, Default)]
struct Timeline(Mutex<Vec<(tokio::time::Instant, String)>>);

impl Intercept for Timeline {
    fn name(&self) -> &'static str {
        "test::Timeline"
    }

    fn read_before_attempt(
        &self,
        _context: &aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let op = cfg
            .load::<Metadata>()
            .map_or("unknown".into(), |m| m.name().to_owned());
        self.0
            .lock()
            .unwrap()
            .push((tokio::time::Instant::now(), op));
        Ok(())
    }
}

impl Timeline {
    /// The most `Describe*` requests sent within any `window` that starts
    /// once traffic first moved (the polling of bakes, not the burst of reads
    /// that starts every deployment, which the call budget bounds).
    fn busiest_polling(&self, window: Duration) -> usize {
        let all = self.0.lock().unwrap().clone();
        let Some(shifted) = all.iter().position(|(_, op)| op == "ModifyListener") else {
            return 0;
        };
        let times: Vec<tokio::time::Instant> = all[shifted..]
            .iter()
            .filter(|(_, op)| op.starts_with("Describe"))
            .map(|(t, _)| *t)
            .collect();
        (0..times.len())
            .map(|i| {
                times[i..]
                    .iter()
                    .take_while(|t| **t - times[i] < window)
                    .count()
            })
            .max()
            .unwrap_or(0)
    }
}

/// A promotion with bakes judged on Prometheus (moto has no metrics), its
/// standby scaled down after 2 s, and a rollback that brings it back: the
/// call budget, the polling rate, and what ECS shows at each point.
#[tokio::test]
async fn a_baked_promotion_polls_gently_scales_the_standby_down_and_a_rollback_restores_it() {
    let (url, _seen) = prometheus_stub().await;
    let metrics = format!(
        "[aws.metrics]\nsource = \"prometheus\"\nurl = \"{url}\"\n\
         requests = 'sum(increase(requests{{color=\"{{{{color}}}}\"}}[{{{{window}}}}]))'\n\
         errors = 'sum(increase(requests{{color=\"{{{{color}}}}\",code=~\"5..\"}}[{{{{window}}}}]))'\n\
         p99_ms = 'duration{{color=\"{{{{color}}}}\"}}'\n"
    );
    let timeline = Arc::new(Timeline::default());
    let s = stack_from(
        Route::Listener,
        vec![SharedInterceptor::new(ArcIntercept(timeline.clone()))],
        Some(&metrics),
        "scale_down_after = \"2s\"\n",
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&format!("sqlite://{}", dir.path().join("s.db").display()))
        .await
        .unwrap();
    let retry = Retry {
        deadline: Duration::from_secs(20),
        backoff: Duration::from_millis(100),
    };
    let engine = Engine::new(
        store,
        s.aws.cloud(),
        Clock::system(),
        retry,
        EngineOptions::default(),
    );
    // Bakes judged every 2 s: five times the default pace, so a rate that
    // holds here holds with the default 10 s interval.
    let plan = Plan {
        steps: vec![50, 100],
        bake: Duration::from_secs(6),
        verification: Duration::from_secs(6),
        analysis: Analysis {
            min_requests: 0,
            interval: Duration::from_secs(2),
            max_error_rate_percent: 5.0,
            ..Analysis::default()
        },
        ..zero_bake_plan()
    };
    let started = tokio::time::Instant::now();
    let id = engine
        .start(DeployRequest {
            svc: s.svc.clone(),
            version: "1.3.0".into(),
            strategy: Strategy::BlueGreen,
            plan,
            requested_by: "alice".into(),
            approvers: vec![],
            emergency: false,
        })
        .await
        .unwrap();
    engine.wait(id).await;
    let took = started.elapsed();
    let d = engine.store().deployment(id).await.unwrap().unwrap();
    assert_eq!(d.state, DeploymentState::Succeeded, "{:?}", d.reason);
    let calls = s.aws.calls();
    let busiest = timeline.busiest_polling(Duration::from_secs(10));
    println!(
        "baked promotion: {took:.1?}, {calls}; busiest 10 s of polling: {busiest} Describe* ({:.1}/s)",
        busiest as f64 / 10.0
    );
    assert!(
        busiest <= 20,
        "Describe* must stay at or under 2/s sustained: {busiest} in 10 s"
    );

    // The engine scaled blue down once its delay passed; green serves.
    assert_eq!(s.service_image(&s.f.blue_service).await.1, 0);
    assert_eq!(s.service_image(&s.f.green_service).await.1, 3);
    let cloud = s.aws.cloud();
    assert_eq!(
        cloud.traffic.weights(&s.svc).await,
        Ok(Weights::all(Colour::Green))
    );

    let rolled = engine.rollback(&s.svc, "bob").await.unwrap();
    assert_eq!(rolled.to_version, "1.2.0");
    let (image, desired, _) = s.service_image(&s.f.blue_service).await;
    assert_eq!(
        (image.as_str(), desired),
        (format!("{}:v1.2.0", s.f.repository_uri).as_str(), 3)
    );
    assert_eq!(
        cloud.traffic.weights(&s.svc).await,
        Ok(Weights::all(Colour::Blue))
    );
}

/// A test double on the wire: answers every request of one operation as AWS
/// does when it throttles, after moto has seen the request.
#[derive(Debug)]
struct Throttle {
    operation: &'static str,
    /// The error body in the service's protocol.
    body: &'static str,
    content_type: &'static str,
}

impl Intercept for Throttle {
    fn name(&self) -> &'static str {
        "test::Throttle"
    }

    fn modify_before_deserialization(
        &self,
        context: &mut BeforeDeserializationInterceptorContextMut<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if cfg.load::<Metadata>().map(|m| m.name()) == Some(self.operation) {
            let mut response =
                HttpResponse::new(StatusCode::try_from(400)?, SdkBody::from(self.body));
            response
                .headers_mut()
                .insert("content-type", self.content_type);
            *context.response_mut() = response;
        }
        Ok(())
    }
}

#[tokio::test]
async fn throttling_is_retryable_for_ecs_and_elb_calls() {
    let ecs = Throttle {
        operation: "DescribeServices",
        body: r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#,
        content_type: "application/x-amz-json-1.1",
    };
    let elb = Throttle {
        operation: "DescribeListeners",
        body: "<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code>\
               <Message>Rate exceeded</Message></Error><RequestId>1</RequestId></ErrorResponse>",
        content_type: "text/xml",
    };
    let s = stack_with(
        Route::Listener,
        vec![SharedInterceptor::new(ecs), SharedInterceptor::new(elb)],
        None,
    )
    .await;
    let cloud = s.aws.cloud();

    let err = cloud
        .compute
        .readiness(&s.svc, Colour::Blue)
        .await
        .unwrap_err();
    println!("throttled ECS: {err}");
    assert!(err.is_retryable(), "{err:?}");
    assert!(err.to_string().contains("throttling"), "{err}");

    let err = cloud.traffic.weights(&s.svc).await.unwrap_err();
    println!("throttled ELBv2: {err}");
    assert!(err.is_retryable(), "{err:?}");
    assert!(err.to_string().contains(&s.f.listener), "{err}");
    // One request each: the SDK does not retry behind the engine's back.
    assert_eq!(s.aws.calls().get("DescribeListeners"), 1);
}

#[tokio::test]
async fn the_image_check_finds_pushed_tags_and_reports_missing_ones_as_absent() {
    let s = stack(Route::Listener).await;
    let images = s.aws.images();
    assert_eq!(images.exists(&s.f.repository, "v1.3.0").await, Ok(true));
    assert_eq!(images.exists(&s.f.repository_uri, "v1.2.0").await, Ok(true));
    assert_eq!(images.exists(&s.f.repository, "v9.9.9").await, Ok(false));
    assert_eq!(s.aws.has_image(&s.svc, "1.3.0").await, Ok(true));
    assert_eq!(s.aws.has_image(&s.svc, "1.4.0").await, Ok(false));
    let err = images.exists("no-such-repo", "v1").await.unwrap_err();
    assert!(matches!(err, CloudError::Permanent(_)), "{err:?}");
    assert!(err.to_string().contains("does not exist"), "{err}");
}

/// Just enough CBOR (RFC 8949) to write a `GetMetricData` answer.
enum Cbor {
    Map(Vec<(&'static str, Cbor)>),
    Array(Vec<Cbor>),
    Text(&'static str),
    Float(f64),
}

impl Cbor {
    fn encode(&self, out: &mut Vec<u8>) {
        fn head(out: &mut Vec<u8>, major: u8, len: usize) {
            match u8::try_from(len) {
                Ok(n) if n < 24 => out.push(major << 5 | n),
                Ok(n) => out.extend([major << 5 | 24, n]),
                Err(_) => {
                    out.push(major << 5 | 25);
                    out.extend(u16::try_from(len).unwrap().to_be_bytes());
                }
            }
        }
        match self {
            Cbor::Map(entries) => {
                head(out, 5, entries.len());
                for (key, value) in entries {
                    Cbor::Text(key).encode(out);
                    value.encode(out);
                }
            }
            Cbor::Array(items) => {
                head(out, 4, items.len());
                items.iter().for_each(|i| i.encode(out));
            }
            Cbor::Text(text) => {
                head(out, 3, text.len());
                out.extend(text.as_bytes());
            }
            Cbor::Float(x) => {
                out.push(0xfb);
                out.extend(x.to_be_bytes());
            }
        }
    }
}

/// A test double on the wire for CloudWatch: moto routes only CloudWatch's
/// query protocol, while this SDK speaks RPC v2 CBOR, so moto answers 404.
/// This keeps the request the adapter built and answers, after moto, with a
/// recorded-style CBOR answer: two minutes of a target group's metrics.
#[derive(Debug, Default)]
struct CloudWatchAnswer {
    seen: Mutex<Vec<aws_sdk_cloudwatch::operation::get_metric_data::GetMetricDataInput>>,
}

impl Intercept for CloudWatchAnswer {
    fn name(&self) -> &'static str {
        "test::CloudWatchAnswer"
    }

    fn read_before_execution(
        &self,
        context: &aws_smithy_runtime_api::client::interceptors::context::BeforeSerializationInterceptorContextRef<'_>,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(input) = context
            .input()
            .downcast_ref::<aws_sdk_cloudwatch::operation::get_metric_data::GetMetricDataInput>(
        ) {
            self.seen.lock().unwrap().push(input.clone());
        }
        Ok(())
    }

    fn modify_before_deserialization(
        &self,
        context: &mut BeforeDeserializationInterceptorContextMut<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if cfg.load::<Metadata>().map(|m| m.name()) != Some("GetMetricData") {
            return Ok(());
        }
        let result = |id: &'static str, values: &[f64]| {
            Cbor::Map(vec![
                ("Id", Cbor::Text(id)),
                ("StatusCode", Cbor::Text("Complete")),
                (
                    "Values",
                    Cbor::Array(values.iter().map(|v| Cbor::Float(*v)).collect()),
                ),
            ])
        };
        let answer = Cbor::Map(vec![(
            "MetricDataResults",
            Cbor::Array(vec![
                result("requests", &[140.0, 100.0]),
                result("errors", &[1.0, 2.0]),
                result("p99", &[0.180, 0.320]),
            ]),
        )]);
        let mut body = Vec::new();
        answer.encode(&mut body);
        let mut response = HttpResponse::new(StatusCode::try_from(200)?, SdkBody::from(body));
        response
            .headers_mut()
            .insert("content-type", "application/cbor");
        response
            .headers_mut()
            .insert("smithy-protocol", "rpc-v2-cbor");
        *context.response_mut() = response;
        Ok(())
    }
}

#[tokio::test]
async fn cloudwatch_signals_ask_for_the_colours_target_group_minutes_and_add_them_up() {
    let answer = Arc::new(CloudWatchAnswer::default());
    let s = stack_with(
        Route::Listener,
        vec![SharedInterceptor::new(ArcIntercept(answer.clone()))],
        None,
    )
    .await;
    let sample = s
        .aws
        .cloud()
        .signals
        .sample(&s.svc, Colour::Green, Duration::from_secs(180))
        .await
        .unwrap();
    assert_eq!((sample.requests, sample.errors), (240, 3), "{sample:?}");
    assert_eq!(sample.p99_ms, Some(320.0), "the worst minute's p99, in ms");

    let seen = answer.seen.lock().unwrap();
    let input = &seen[0];
    let lb = s.f.load_balancer.split(":loadbalancer/").nth(1).unwrap();
    let tg = s.f.green_target_group.rsplit(':').next().unwrap();
    let queries = input.metric_data_queries();
    let asked: Vec<_> = queries
        .iter()
        .map(|q| {
            let stat = q.metric_stat().unwrap();
            let metric = stat.metric().unwrap();
            let dims: Vec<_> = metric
                .dimensions()
                .iter()
                .map(|d| (d.name().unwrap(), d.value().unwrap()))
                .collect();
            assert_eq!(dims, [("LoadBalancer", lb), ("TargetGroup", tg)]);
            assert_eq!(metric.namespace(), Some("AWS/ApplicationELB"));
            assert_eq!(stat.period(), Some(60));
            (metric.metric_name().unwrap(), stat.stat().unwrap())
        })
        .collect();
    assert_eq!(
        asked,
        [
            ("RequestCount", "Sum"),
            ("HTTPCode_Target_5XX_Count", "Sum"),
            ("TargetResponseTime", "p99")
        ]
    );
    let start = input.start_time().unwrap().secs();
    let end = input.end_time().unwrap().secs();
    assert_eq!(start % 60, 0, "the window starts on a minute");
    assert!((180..240).contains(&(end - start)), "{}", end - start);
}

/// Shares one interceptor between the test and the client.
#[derive(Debug)]
struct ArcIntercept<T>(Arc<T>);

impl<T: Intercept> Intercept for ArcIntercept<T> {
    fn name(&self) -> &'static str {
        self.0.name()
    }

    fn read_before_execution(
        &self,
        context: &aws_smithy_runtime_api::client::interceptors::context::BeforeSerializationInterceptorContextRef<'_>,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.0.read_before_execution(context, cfg)
    }

    fn read_before_attempt(
        &self,
        context: &aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef<'_>,
        runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.0.read_before_attempt(context, runtime_components, cfg)
    }

    fn modify_before_deserialization(
        &self,
        context: &mut BeforeDeserializationInterceptorContextMut<'_>,
        runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.0
            .modify_before_deserialization(context, runtime_components, cfg)
    }
}

/// A Prometheus stand-in on a loopback port: answers `/api/v1/query` with a
/// value chosen by the query's text, and records every query it was sent.
async fn prometheus_stub() -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut request = Vec::new();
            let mut buf = [0u8; 4096];
            while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                match socket.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => request.extend_from_slice(&buf[..n]),
                }
            }
            let text = String::from_utf8_lossy(&request);
            let path = text.split_whitespace().nth(1).unwrap_or("/");
            let query = reqwest::Url::parse(&format!("http://stub{path}"))
                .ok()
                .and_then(|u| {
                    u.query_pairs()
                        .find(|(k, _)| k == "query")
                        .map(|(_, v)| v.into_owned())
                })
                .unwrap_or_default();
            let value = if query.contains("duration") {
                "231.5"
            } else if query.contains("5..") {
                "6"
            } else {
                "1200"
            };
            log.lock().unwrap().push(query);
            let body = format!(
                r#"{{"status":"success","data":{{"resultType":"vector","result":[{{"metric":{{}},"value":[1700000000,"{value}"]}}]}}}}"#
            );
            let response = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = socket.write_all(response.as_bytes()).await;
        }
    });
    (url, seen)
}

#[tokio::test]
async fn prometheus_signals_fill_the_query_templates_with_colour_version_and_window() {
    let (url, seen) = prometheus_stub().await;
    let metrics = format!(
        r#"[aws.metrics]
source = "prometheus"
url = "{url}"
requests = 'sum(increase(http_requests_total{{color="{{{{color}}}}",version="{{{{version}}}}"}}[{{{{window}}}}]))'
errors = 'sum(increase(http_requests_total{{color="{{{{color}}}}",code=~"5.."}}[{{{{window}}}}]))'
p99_ms = '1000 * histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{{color="{{{{color}}}}"}}[{{{{window}}}}])))'
"#
    );
    let s = stack_with(Route::Listener, Vec::new(), Some(&metrics)).await;
    let sample = s
        .aws
        .cloud()
        .signals
        .sample(&s.svc, Colour::Blue, Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(sample.requests, 1200);
    assert_eq!(sample.errors, 6);
    assert_eq!(sample.p99_ms, Some(231.5));
    let queries = seen.lock().unwrap().clone();
    assert_eq!(
        queries[0], r#"sum(increase(http_requests_total{color="blue",version="1.2.0"}[30s]))"#,
        "the version comes from what blue runs on moto"
    );
    assert!(
        queries[2].contains(r#"{color="blue"}[30s]"#),
        "{}",
        queries[2]
    );
}

fn example_report() -> switchyard::config::Report {
    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config/example.toml"),
    )
    .unwrap();
    switchyard::config::check_str_with(&text, &example_env)
}

/// The environment the example's secrets are read from, all set.
fn example_env(name: &str) -> Option<String> {
    match name {
        "SWITCHYARD_MFA_KEY" => Some("0".repeat(64)),
        "DISCORD_TOKEN" => Some("a-token".to_string()),
        "SWITCHYARD_WEBHOOK_SECRET" => Some("a-webhook-secret".to_string()),
        "GITHUB_TOKEN" => Some("a-github-token".to_string()),
        _ => None,
    }
}

#[test]
fn the_example_config_is_valid_without_warnings() {
    let report = example_report();
    assert!(report.errors.is_empty(), "{:#?}", report.errors);
    assert!(report.warnings.is_empty(), "{:#?}", report.warnings);
    let config = report.config.unwrap();
    assert_eq!(config.aws.unwrap().targets.len(), 3);
    let discord = config.discord.unwrap();
    assert_eq!(discord.user_for(112233445566778802), Some("bob"));
    assert_eq!(discord.notifications.len(), 2);
}

/// The example config with `from` replaced by `to`, checked.
fn example_with(from: &str, to: &str) -> switchyard::config::Report {
    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config/example.toml"),
    )
    .unwrap();
    assert!(text.contains(from), "the example has no `{from}`");
    switchyard::config::check_str_with(&text.replacen(from, to, 1), &example_env)
}

fn has_error(report: &switchyard::config::Report, key: &str, words: &str) -> bool {
    report
        .errors
        .iter()
        .any(|d| d.key == key && d.message.contains(words))
}

#[test]
fn a_cloudwatch_window_under_two_minutes_is_refused_for_an_environments_plan() {
    let report = example_with("window = \"3m\"\n# ECS", "window = \"90s\"\n# ECS");
    assert!(
        has_error(
            &report,
            "plans.blue-green.analysis.window",
            "60 s datapoints"
        ),
        "{:#?}",
        report.errors
    );
}

#[test]
fn arns_of_the_wrong_kind_region_or_account_are_errors_naming_their_key() {
    let listener = "listener/app/shop-prd/9a8b7c6d5e4f3a2b/4c3d2e1f0a9b8c7d";
    let report = example_with(listener, "targetgroup/shop-prd/9a8b7c6d5e4f3a2b");
    assert!(
        has_error(&report, "aws.targets[2].listener", "not a listener ARN"),
        "{:#?}",
        report.errors
    );

    let report = example_with(
        "eu-west-1:123456789012:targetgroup/sf-api-prd-blue",
        "us-east-1:123456789012:targetgroup/sf-api-prd-blue",
    );
    assert!(
        has_error(
            &report,
            "aws.targets[2].blue_target_group",
            "region `us-east-1`"
        ),
        "{:#?}",
        report.errors
    );

    let report = example_with(
        "eu-west-1:123456789012:targetgroup/sf-api-prd-green",
        "eu-west-1:210987654321:targetgroup/sf-api-prd-green",
    );
    assert!(
        has_error(&report, "aws.targets[2].green_target_group", "account"),
        "{:#?}",
        report.errors
    );

    let report = example_with(
        "loadbalancer/app/shop-prd/9a8b7c6d5e4f3a2b",
        "loadbalancer/app/shop-nonprod/50dc6c495c0c9188",
    );
    assert!(
        has_error(&report, "aws.targets[2].load_balancer", "route belongs to"),
        "{:#?}",
        report.errors
    );
}

#[test]
fn every_environment_needs_a_target() {
    let report = example_with("env = \"tst\"", "env = \"dev\"");
    assert!(
        has_error(&report, "aws.targets", "`tst` has no target"),
        "{:#?}",
        report.errors
    );
    assert!(
        has_error(&report, "aws.targets[1].env", "second target"),
        "{:#?}",
        report.errors
    );
}

/// The IAM actions the adapter's calls need, by the call counter's names.
fn iam_action(operation: &str) -> String {
    let (service, name) = operation.split_once('.').unwrap();
    let prefix = match service {
        "ECS" => "ecs",
        "ELBv2" => "elasticloadbalancing",
        "CloudWatch" => "cloudwatch",
        "ECR" => "ecr",
        other => panic!("unknown service {other}"),
    };
    format!("{prefix}:{name}")
}

fn policy_actions() -> std::collections::BTreeSet<String> {
    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/iam-policy.json"),
    )
    .unwrap();
    let policy: serde_json::Value = serde_json::from_str(&text).unwrap();
    let mut actions = std::collections::BTreeSet::new();
    for statement in policy["Statement"].as_array().unwrap() {
        assert_eq!(statement["Effect"], "Allow");
        match &statement["Action"] {
            serde_json::Value::String(a) => {
                actions.insert(a.clone());
            }
            serde_json::Value::Array(list) => {
                actions.extend(list.iter().map(|a| a.as_str().unwrap().to_owned()));
            }
            other => panic!("unexpected Action {other}"),
        }
        let resources = match &statement["Resource"] {
            serde_json::Value::String(r) => vec![r.clone()],
            serde_json::Value::Array(list) => list
                .iter()
                .map(|r| r.as_str().unwrap().to_owned())
                .collect(),
            other => panic!("unexpected Resource {other}"),
        };
        // A wildcard only where AWS offers no resource-level permission.
        if resources == ["*"] {
            assert!(
                statement["Sid"]
                    .as_str()
                    .unwrap()
                    .contains("NoResourceLevelPermissions"),
                "{statement}"
            );
        }
    }
    actions
}

#[test]
fn the_iam_policy_allows_exactly_the_calls_the_adapter_makes() {
    let calls = [
        "ECS.DescribeServices",
        "ECS.UpdateService",
        "ECS.DescribeTaskDefinition",
        "ECS.RegisterTaskDefinition",
        "ELBv2.DescribeListeners",
        "ELBv2.DescribeRules",
        "ELBv2.DescribeTargetHealth",
        "ELBv2.ModifyListener",
        "ELBv2.ModifyRule",
        "CloudWatch.GetMetricData",
        "ECR.DescribeImages",
    ];
    let mut needed: std::collections::BTreeSet<String> =
        calls.iter().map(|c| iam_action(c)).collect();
    // Registering a copy tags it and passes its roles to ECS.
    needed.insert("ecs:TagResource".into());
    needed.insert("iam:PassRole".into());
    assert_eq!(policy_actions(), needed);
}

/// The chat port of the agent test: every message in order.
#[derive(Default)]
struct Said(std::sync::Mutex<Vec<String>>);

#[async_trait::async_trait]
impl switchyard::chat::ChatPort for Said {
    async fn send(&self, m: switchyard::chat::Message) -> Result<(), switchyard::chat::ChatError> {
        self.0.lock().unwrap().push(m.text);
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deploy_through_the_agent_on_moto_checks_the_image_and_ends_with_green_live() {
    let stack = stack(Route::Listener).await;
    let f = &stack.f;
    // The fixture's config, plus a user and a plan without bakes: moto has no
    // metrics to judge (CloudWatch's binary protocol is not routed by moto 5.2.5).
    let text = config_toml(f, Route::Listener, &cloudwatch(f))
        + "\n[[users]]\nname = \"alice\"\nroles = [\"deployer\"]\n\n[plans.all-at-once]\nstrategy = \"all-at-once\"\nsteps = [100]\nbake = \"0s\"\nverification = \"0s\"\n[plans.all-at-once.analysis]\nwindow = \"2m\"\n";
    let config = Config::from_toml_str(&text).expect("valid config");
    let dir = tempfile::tempdir().unwrap();
    let store =
        switchyard::store::Store::open(&format!("sqlite://{}", dir.path().join("s.db").display()))
            .await
            .unwrap();
    let said = Arc::new(Said::default());
    let aws = Arc::new(stack.aws);
    let (agent, engine) = switchyard::demo::assemble(
        config,
        aws.cloud(),
        None,
        switchyard::gates::Registry::aws(aws.clone()),
        switchyard::demo::Backing::new(store.clone()),
        said.clone(),
        switchyard::clock::Clock::system(),
    )
    .await
    .unwrap();
    let line = |text: &str| switchyard::chat::Incoming {
        channel: "console".into(),
        user: "alice".into(),
        text: text.into(),
    };
    agent
        .handle(line("deploy 9.9.9 to prd using all-at-once"))
        .await;
    let refused = said.0.lock().unwrap().join("\n");
    assert!(
        refused.contains("✗ image-exists: no image for 9.9.9"),
        "{refused}"
    );

    agent
        .handle(line("deploy 1.3.0 to prd using all-at-once"))
        .await;
    agent.handle(line("yes")).await;
    agent.settle().await;
    engine.wait_all().await;
    let all = said.0.lock().unwrap().join("\n");
    assert!(all.contains("✓ image-exists"), "{all}");
    assert!(all.contains("Deployment successful!"), "{all}");
    let weights = aws.cloud().traffic.weights(&stack.svc).await.unwrap();
    assert_eq!(
        weights,
        switchyard::cloud::Weights::all(switchyard::cloud::Colour::Green)
    );
}
