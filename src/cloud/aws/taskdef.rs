//! A new task definition revision that differs from the current one only in
//! one container's image. ECS has no "change the image" call: a deploy
//! describes the revision the service runs and registers a copy of it. Every
//! field `RegisterTaskDefinition` accepts is copied, so roles, sizes, volumes,
//! log configuration and tags survive; fields only ECS sets (revision, status,
//! ARN, registration times) are left out.

use aws_sdk_ecs::types::{Tag, TaskDefinition};

use crate::cloud::CloudError;

/// A described revision and its tags (which `DescribeTaskDefinition` returns
/// beside it, not in it). Revisions never change, so they are cached by ARN.
#[derive(Debug, Clone)]
pub struct Described {
    pub definition: TaskDefinition,
    pub tags: Vec<Tag>,
}

impl Described {
    pub fn arn(&self) -> &str {
        self.definition.task_definition_arn().unwrap_or_default()
    }

    /// The image of `container`, or a sentence saying it is missing.
    pub fn image(&self, container: &str) -> Result<&str, CloudError> {
        self.definition
            .container_definitions()
            .iter()
            .find(|c| c.name() == Some(container))
            .and_then(|c| c.image())
            .ok_or_else(|| {
                CloudError::Permanent(format!(
                    "task definition `{}` has no container `{container}` with an image; \
                     check `container` in [[aws.targets]]",
                    self.arn()
                ))
            })
    }

    /// `family:revision` of the revision before this one, if there is one.
    pub fn previous_revision(&self) -> Option<String> {
        let family = self.definition.family()?;
        let revision = self.definition.revision;
        (revision > 1).then(|| format!("{family}:{}", revision - 1))
    }

    /// Whether a service may be moved onto this revision.
    pub fn is_active(&self) -> bool {
        self.definition
            .status()
            .is_some_and(|s| s.as_str() == "ACTIVE")
    }
}

/// The `RegisterTaskDefinition` request for a copy of `current` whose
/// `container` runs `image`.
pub fn register_copy(
    client: &aws_sdk_ecs::Client,
    current: &Described,
    container: &str,
    image: &str,
) -> aws_sdk_ecs::operation::register_task_definition::builders::RegisterTaskDefinitionFluentBuilder
{
    let td = &current.definition;
    let containers = td
        .container_definitions()
        .iter()
        .map(|c| {
            let mut c = c.clone();
            if c.name() == Some(container) {
                c.image = Some(image.to_owned());
            }
            c
        })
        .collect();
    client
        .register_task_definition()
        .set_family(td.family.clone())
        .set_task_role_arn(td.task_role_arn.clone())
        .set_execution_role_arn(td.execution_role_arn.clone())
        .set_network_mode(td.network_mode.clone())
        .set_container_definitions(Some(containers))
        .set_volumes(td.volumes.clone())
        .set_placement_constraints(td.placement_constraints.clone())
        .set_requires_compatibilities(td.requires_compatibilities.clone())
        .set_cpu(td.cpu.clone())
        .set_memory(td.memory.clone())
        // ECS refuses an empty tag list; send none rather than [].
        .set_tags((!current.tags.is_empty()).then(|| current.tags.clone()))
        .set_pid_mode(td.pid_mode.clone())
        .set_ipc_mode(td.ipc_mode.clone())
        .set_proxy_configuration(td.proxy_configuration.clone())
        .set_inference_accelerators(td.inference_accelerators.clone())
        .set_ephemeral_storage(td.ephemeral_storage.clone())
        .set_runtime_platform(td.runtime_platform.clone())
        .set_enable_fault_injection(td.enable_fault_injection)
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_ecs::types::{ContainerDefinition, TaskDefinitionStatus};

    fn described() -> Described {
        Described {
            definition: TaskDefinition::builder()
                .task_definition_arn(
                    "arn:aws:ecs:eu-west-1:123456789012:task-definition/api-green:7",
                )
                .family("api-green")
                .revision(7)
                .status(TaskDefinitionStatus::Active)
                .container_definitions(
                    ContainerDefinition::builder()
                        .name("api")
                        .image("123456789012.dkr.ecr.eu-west-1.amazonaws.com/api:v1.2.0")
                        .build(),
                )
                .container_definitions(
                    ContainerDefinition::builder()
                        .name("envoy")
                        .image("public.ecr.aws/envoy:v1.30")
                        .build(),
                )
                .build(),
            tags: vec![],
        }
    }

    #[test]
    fn the_copy_changes_only_the_named_containers_image() {
        let d = described();
        let client = aws_sdk_ecs::Client::from_conf(
            aws_sdk_ecs::Config::builder()
                .behavior_version(aws_sdk_ecs::config::BehaviorVersion::latest())
                .build(),
        );
        let request = register_copy(&client, &d, "api", "repo/api:v1.3.0");
        let containers = request
            .get_container_definitions()
            .clone()
            .unwrap_or_default();
        let images: Vec<_> = containers.iter().filter_map(|c| c.image()).collect();
        assert_eq!(images, ["repo/api:v1.3.0", "public.ecr.aws/envoy:v1.30"]);
        assert_eq!(request.get_family().as_deref(), Some("api-green"));
        assert_eq!(request.get_tags(), &None);
    }

    #[test]
    fn the_previous_revision_and_the_image_are_found() {
        let d = described();
        assert_eq!(d.previous_revision().as_deref(), Some("api-green:6"));
        assert_eq!(
            d.image("api").unwrap(),
            "123456789012.dkr.ecr.eu-west-1.amazonaws.com/api:v1.2.0"
        );
        assert!(d.image("worker").is_err());
        assert!(d.is_active());
    }
}
