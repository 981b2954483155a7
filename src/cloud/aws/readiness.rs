//! How one colour's ECS service is doing, from two answers: `DescribeServices`
//! (its deployments) and `DescribeTargetHealth` (its target group). Pure: the
//! adapter converts the SDK's types into the small views below, and the unit
//! tests parse recorded `aws ecs describe-services` / `aws elbv2
//! describe-target-health` output into the same views, to cover states moto
//! never produces (a rollout in progress, failed tasks, unhealthy or draining
//! targets).
//!
//! The rules, and why:
//! - Counts come from the PRIMARY deployment (the one rolling out the service's
//!   task definition), not the service totals, which include old tasks.
//! - A colour counts as running fully only once ECS calls the rollout
//!   COMPLETED: until then old tasks may still be registered in the target
//!   group and would answer the colour's traffic with the old version. While
//!   in progress, `running` is held below `desired`, so the engine waits
//!   (bounded by the plan's `ready_timeout`) instead of judging health.
//! - Healthy means the target group says `healthy`; `initial`, `unhealthy`,
//!   `draining` and `unavailable` do not count, and never more than the tasks
//!   running.
//! - Restarts are the deployment's failed tasks: ECS replaces a crashing task,
//!   and the count is what the engine's crash-loop rule needs.

use serde::Deserialize;

use crate::cloud::Readiness;

/// The parts of an ECS service readiness depends on (deserialisable from the
/// AWS CLI's JSON, for recorded payloads).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ServiceView {
    pub service_name: String,
    pub status: String,
    pub desired_count: i32,
    pub running_count: i32,
    pub task_definition: Option<String>,
    pub deployments: Vec<DeploymentView>,
}

/// One of the service's deployments.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct DeploymentView {
    /// PRIMARY (the newest), ACTIVE (older, still with tasks) or INACTIVE.
    pub status: String,
    pub task_definition: Option<String>,
    pub desired_count: i32,
    pub running_count: i32,
    pub failed_tasks: i32,
    /// COMPLETED, IN_PROGRESS or FAILED; absent for some deployment types.
    pub rollout_state: Option<String>,
}

impl From<&aws_sdk_ecs::types::Service> for ServiceView {
    fn from(s: &aws_sdk_ecs::types::Service) -> ServiceView {
        ServiceView {
            service_name: s.service_name.clone().unwrap_or_default(),
            status: s.status.clone().unwrap_or_default(),
            desired_count: s.desired_count,
            running_count: s.running_count,
            task_definition: s.task_definition.clone(),
            deployments: s
                .deployments()
                .iter()
                .map(|d| DeploymentView {
                    status: d.status.clone().unwrap_or_default(),
                    task_definition: d.task_definition.clone(),
                    desired_count: d.desired_count,
                    running_count: d.running_count,
                    failed_tasks: d.failed_tasks,
                    rollout_state: d.rollout_state.as_ref().map(|r| r.as_str().to_owned()),
                })
                .collect(),
        }
    }
}

fn count(n: i32) -> u32 {
    u32::try_from(n).unwrap_or(0)
}

/// The colour's readiness from its service, its targets' states and the
/// version its task definition runs.
pub fn readiness(service: &ServiceView, targets: &[String], version: Option<String>) -> Readiness {
    let desired = count(service.desired_count);
    let primary = service.deployments.iter().find(|d| d.status == "PRIMARY");
    let (running, restarts, settled) = match primary {
        Some(d) => {
            let others_running: i32 = service
                .deployments
                .iter()
                .filter(|o| o.status != "PRIMARY")
                .map(|o| o.running_count)
                .sum();
            let settled = match d.rollout_state.as_deref() {
                Some(state) => state == "COMPLETED",
                // Without a rollout state, settled means no older tasks are left.
                None => others_running == 0,
            };
            (count(d.running_count), count(d.failed_tasks), settled)
        }
        // No deployments listed (another deployment controller): the service totals.
        None => (count(service.running_count), 0, true),
    };
    let running = if settled {
        running
    } else {
        running.min(desired.saturating_sub(1))
    };
    let healthy = targets.iter().filter(|s| *s == "healthy").count();
    let healthy = u32::try_from(healthy).unwrap_or(u32::MAX).min(running);
    Readiness {
        version,
        desired,
        running,
        healthy,
        restarts,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `aws ecs describe-services` output: the shape operators record.
    #[derive(Debug, Clone, Default, Deserialize)]
    #[serde(rename_all = "camelCase", default)]
    struct DescribeServicesView {
        services: Vec<ServiceView>,
    }

    /// `aws elbv2 describe-target-health` output, reduced to each target's state.
    #[derive(Debug, Clone, Default, Deserialize)]
    #[serde(rename_all = "PascalCase", default)]
    struct TargetHealthView {
        target_health_descriptions: Vec<TargetDescription>,
    }

    #[derive(Debug, Clone, Default, Deserialize)]
    #[serde(rename_all = "PascalCase", default)]
    struct TargetDescription {
        target_health: TargetHealth,
    }

    #[derive(Debug, Clone, Default, Deserialize)]
    #[serde(rename_all = "PascalCase", default)]
    struct TargetHealth {
        state: String,
    }

    impl TargetHealthView {
        fn states(&self) -> Vec<String> {
            self.target_health_descriptions
                .iter()
                .map(|d| d.target_health.state.clone())
                .collect()
        }
    }

    fn service(json: &str) -> ServiceView {
        let view: DescribeServicesView = serde_json::from_str(json).expect("recorded JSON parses");
        view.services.into_iter().next().expect("one service")
    }

    fn targets(json: &str) -> Vec<String> {
        serde_json::from_str::<TargetHealthView>(json)
            .expect("recorded JSON parses")
            .states()
    }

    fn v() -> Option<String> {
        Some("1.3.0".into())
    }

    #[test]
    fn a_completed_rollout_with_healthy_targets_is_ready() {
        let r = readiness(
            &service(include_str!("testdata/services_completed.json")),
            &targets(include_str!("testdata/targets_healthy.json")),
            v(),
        );
        assert_eq!(
            r,
            Readiness {
                version: v(),
                desired: 3,
                running: 3,
                healthy: 3,
                restarts: 0
            }
        );
        assert!(r.is_ready());
    }

    #[test]
    fn a_rollout_in_progress_is_not_ready_even_when_old_targets_are_healthy() {
        // Three new tasks run, but ECS has not finished: three old tasks are
        // still registered and healthy, and would serve the old version.
        let r = readiness(
            &service(include_str!("testdata/services_in_progress.json")),
            &targets(include_str!("testdata/targets_mixed_old_and_new.json")),
            v(),
        );
        assert_eq!(r.desired, 3);
        assert_eq!(r.running, 2, "held below desired until ECS settles");
        assert!(!r.is_ready());
    }

    #[test]
    fn failed_tasks_count_as_restarts() {
        let r = readiness(
            &service(include_str!("testdata/services_failed_tasks.json")),
            &targets(include_str!("testdata/targets_unhealthy.json")),
            v(),
        );
        assert_eq!(r.restarts, 5);
        assert_eq!(r.healthy, 0);
        assert!(!r.is_ready());
    }

    #[test]
    fn unhealthy_and_draining_targets_are_not_healthy() {
        let states = targets(include_str!("testdata/targets_draining.json"));
        assert_eq!(states, ["healthy", "draining", "unhealthy", "initial"]);
        let r = readiness(
            &service(include_str!("testdata/services_completed.json")),
            &states,
            v(),
        );
        assert_eq!((r.running, r.healthy), (3, 1));
        assert!(!r.is_ready());
    }

    #[test]
    fn healthy_never_exceeds_running_tasks() {
        let mut s = service(include_str!("testdata/services_completed.json"));
        s.deployments[0].running_count = 1;
        let r = readiness(
            &s,
            &targets(include_str!("testdata/targets_healthy.json")),
            v(),
        );
        assert_eq!((r.running, r.healthy), (1, 1));
    }

    #[test]
    fn a_service_without_rollout_state_is_settled_once_old_tasks_are_gone() {
        let mut s = service(include_str!("testdata/services_in_progress.json"));
        for d in &mut s.deployments {
            d.rollout_state = None;
        }
        let healthy = targets(include_str!("testdata/targets_healthy.json"));
        assert!(
            !readiness(&s, &healthy, v()).is_ready(),
            "old tasks still run"
        );
        s.deployments.retain(|d| d.status == "PRIMARY");
        assert!(readiness(&s, &healthy, v()).is_ready());
    }
}
