//! [`Compute`] on ECS: each colour is its own ECS service behind its own
//! target group.
//!
//! - deploy: describe both colours' services (one call), take the revision the
//!   colour runs, and point the service at a revision with the new image —
//!   the same revision if it already has it, the previous revision if that has
//!   it (a rolling rollback returns to it rather than registering a copy), else
//!   a newly registered copy. A standby scaled to zero comes back at the live
//!   colour's task count.
//! - readiness: the service's deployments (one call), the revision's image for
//!   the version (cached: revisions never change), the target group's health
//!   (one call); see [`super::readiness`] for the rules.
//! - scale: the service's desired count.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use aws_sdk_ecs::types::{Service, TaskDefinitionField};

use super::errors::cloud_error;
use super::readiness::{ServiceView, readiness};
use super::targets::{Resolved, Targets};
use super::taskdef::{Described, register_copy};
use crate::cloud::{CloudError, Colour, Compute, Readiness, ServiceRef};

/// The version each colour was last seen or set to run, for the Prometheus
/// queries' `{{version}}` (so a sample needs no ECS call of its own).
#[derive(Debug, Default)]
pub struct Versions(Mutex<HashMap<(ServiceRef, Colour), String>>);

impl Versions {
    pub fn get(&self, svc: &ServiceRef, colour: Colour) -> Option<String> {
        self.lock().get(&(svc.clone(), colour)).cloned()
    }

    fn set(&self, svc: &ServiceRef, colour: Colour, version: Option<&str>) {
        let key = (svc.clone(), colour);
        match version {
            Some(v) => self.lock().insert(key, v.to_owned()),
            None => self.lock().remove(&key),
        };
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(ServiceRef, Colour), String>> {
        // Holds only plain data: a panic elsewhere cannot leave it half-written.
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

pub struct EcsCompute {
    ecs: aws_sdk_ecs::Client,
    elb: aws_sdk_elasticloadbalancingv2::Client,
    targets: Arc<Targets>,
    /// Described revisions by ARN (and by `family:revision`).
    revisions: Mutex<HashMap<String, Arc<Described>>>,
    pub(super) versions: Arc<Versions>,
}

impl EcsCompute {
    pub fn new(
        ecs: aws_sdk_ecs::Client,
        elb: aws_sdk_elasticloadbalancingv2::Client,
        targets: Arc<Targets>,
    ) -> EcsCompute {
        EcsCompute {
            ecs,
            elb,
            targets,
            revisions: Mutex::new(HashMap::new()),
            versions: Arc::new(Versions::default()),
        }
    }

    /// The ECS services of `colours`, in that order, in one call.
    async fn services(&self, t: &Resolved, colours: &[Colour]) -> Result<Vec<Service>, CloudError> {
        let names: Vec<&str> = colours.iter().map(|c| t.service(*c)).collect();
        let what = format!(
            "describing ECS service(s) {} in cluster `{}`",
            names
                .iter()
                .map(|n| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(", "),
            t.cluster
        );
        let out = self
            .ecs
            .describe_services()
            .cluster(&t.cluster)
            .set_services(Some(names.iter().map(|n| n.to_string()).collect()))
            .send()
            .await
            .map_err(|e| cloud_error(&what, e))?;
        names
            .iter()
            .map(|name| {
                let found = out
                    .services()
                    .iter()
                    .find(|s| s.service_name() == Some(*name));
                match found {
                    Some(s) if s.status() == Some("ACTIVE") => Ok(s.clone()),
                    // ECS keeps a deleted service visible as DRAINING, then INACTIVE.
                    Some(s) => Err(CloudError::Permanent(format!(
                        "ECS service `{name}` in cluster `{}` is {} (deleted or being deleted), \
                         not ACTIVE",
                        t.cluster,
                        s.status().unwrap_or("in an unknown state")
                    ))),
                    None => {
                        let reason = out
                            .failures()
                            .iter()
                            .find(|f| f.arn().is_some_and(|a| a.ends_with(name)))
                            .and_then(|f| f.reason())
                            .unwrap_or("MISSING");
                        Err(CloudError::Permanent(format!(
                            "ECS service `{name}` does not exist in cluster `{}` ({reason}); \
                             check blue_service / green_service in [[aws.targets]]",
                            t.cluster
                        )))
                    }
                }
            })
            .collect()
    }

    /// The revision `reference` (an ARN or `family:revision`), described once.
    async fn revision(&self, reference: &str) -> Result<Arc<Described>, CloudError> {
        if let Some(d) = self.cached(reference) {
            return Ok(d);
        }
        let out = self
            .ecs
            .describe_task_definition()
            .task_definition(reference)
            .include(TaskDefinitionField::Tags)
            .send()
            .await
            .map_err(|e| cloud_error(&format!("describing task definition `{reference}`"), e))?;
        let definition = out.task_definition.clone().ok_or_else(|| {
            CloudError::Permanent(format!("task definition `{reference}` was not returned"))
        })?;
        let described = Arc::new(Described {
            definition,
            tags: out.tags.unwrap_or_default(),
        });
        self.remember(reference, &described);
        Ok(described)
    }

    fn cached(&self, reference: &str) -> Option<Arc<Described>> {
        self.lock().get(reference).cloned()
    }

    fn remember(&self, reference: &str, d: &Arc<Described>) {
        let mut cache = self.lock();
        cache.insert(reference.to_owned(), d.clone());
        cache.insert(d.arn().to_owned(), d.clone());
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<Described>>> {
        self.revisions.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The revision to run `image` on, given the current one: no change, the
    /// previous revision, or a newly registered copy.
    async fn revision_for(
        &self,
        t: &Resolved,
        current: &Arc<Described>,
        image: &str,
    ) -> Result<String, CloudError> {
        if current.image(&t.container)? == image {
            return Ok(current.arn().to_owned());
        }
        if let Some(previous) = current.previous_revision() {
            // A revision that cannot be described (deregistered and deleted) is
            // simply not a candidate.
            if let Ok(p) = self.revision(&previous).await
                && p.is_active()
                && p.image(&t.container).ok() == Some(image)
            {
                return Ok(p.arn().to_owned());
            }
        }
        let family = current.definition.family().unwrap_or_default();
        let out = register_copy(&self.ecs, current, &t.container, image)
            .send()
            .await
            .map_err(|e| {
                cloud_error(
                    &format!(
                        "registering a revision of task definition `{family}` with image `{image}`"
                    ),
                    e,
                )
            })?;
        let definition = out.task_definition.ok_or_else(|| {
            CloudError::Permanent(format!("ECS registered no revision of `{family}`"))
        })?;
        let registered = Arc::new(Described {
            definition,
            tags: current.tags.clone(),
        });
        let arn = registered.arn().to_owned();
        self.remember(&arn, &registered);
        tracing::info!(task_definition = %arn, %image, "registered task definition revision");
        Ok(arn)
    }

    /// The version a service's revision runs.
    async fn version(&self, t: &Resolved, service: &Service) -> Result<Option<String>, CloudError> {
        let Some(arn) = service.task_definition() else {
            return Ok(None);
        };
        let described = self.revision(arn).await?;
        let image = described.image(&t.container)?;
        Ok(self.targets.version_of_image(t, image))
    }

    async fn target_states(&self, t: &Resolved, colour: Colour) -> Result<Vec<String>, CloudError> {
        let arn = t.target_group(colour);
        let out = self
            .elb
            .describe_target_health()
            .target_group_arn(arn)
            .send()
            .await
            .map_err(|e| cloud_error(&format!("reading target health of `{arn}`"), e))?;
        Ok(out
            .target_health_descriptions()
            .iter()
            .map(|d| {
                d.target_health()
                    .and_then(|h| h.state())
                    .map(|s| s.as_str().to_owned())
                    .unwrap_or_default()
            })
            .collect())
    }

    async fn update(
        &self,
        t: &Resolved,
        colour: Colour,
        task_definition: Option<&str>,
        desired: Option<u32>,
    ) -> Result<(), CloudError> {
        let name = t.service(colour);
        let desired = desired
            .map(|d| {
                i32::try_from(d)
                    .map_err(|_| CloudError::Permanent(format!("{d} tasks is too many")))
            })
            .transpose()?;
        self.ecs
            .update_service()
            .cluster(&t.cluster)
            .service(name)
            .set_task_definition(task_definition.map(str::to_owned))
            .set_desired_count(desired)
            .send()
            .await
            .map_err(|e| {
                cloud_error(
                    &format!("updating ECS service `{name}` in cluster `{}`", t.cluster),
                    e,
                )
            })?;
        Ok(())
    }
}

#[async_trait]
impl Compute for EcsCompute {
    async fn deploy(
        &self,
        svc: &ServiceRef,
        colour: Colour,
        version: &str,
    ) -> Result<(), CloudError> {
        let t = self.targets.get(svc)?;
        let image = self.targets.image(t, version)?;
        let services = self.services(t, &[colour, colour.other()]).await?;
        let [this, other] = services.as_slice() else {
            return Err(CloudError::Permanent(format!(
                "{svc}: ECS described too few services"
            )));
        };
        let current_arn = this.task_definition().ok_or_else(|| {
            CloudError::Permanent(format!(
                "ECS service `{}` has no task definition to copy",
                t.service(colour)
            ))
        })?;
        let current = self.revision(current_arn).await?;
        let target = self.revision_for(t, &current, &image).await?;
        // A standby scaled to zero comes back at the live colour's size.
        let desired = (this.desired_count == 0)
            .then(|| u32::try_from(other.desired_count.max(1)).unwrap_or(1));
        if target != current_arn || desired.is_some() {
            let change = (target != current_arn).then_some(target.as_str());
            self.update(t, colour, change, desired).await?;
        }
        self.versions.set(svc, colour, Some(version));
        tracing::info!(%svc, %colour, %version, task_definition = %target, "deployed");
        Ok(())
    }

    async fn readiness(&self, svc: &ServiceRef, colour: Colour) -> Result<Readiness, CloudError> {
        let t = self.targets.get(svc)?;
        let services = self.services(t, &[colour]).await?;
        let [service] = services.as_slice() else {
            return Err(CloudError::Permanent(format!(
                "{svc}: ECS described no service"
            )));
        };
        let version = self.version(t, service).await?;
        self.versions.set(svc, colour, version.as_deref());
        let states = self.target_states(t, colour).await?;
        Ok(readiness(&ServiceView::from(service), &states, version))
    }

    async fn scale(&self, svc: &ServiceRef, colour: Colour, tasks: u32) -> Result<(), CloudError> {
        let t = self.targets.get(svc)?;
        self.update(t, colour, None, Some(tasks)).await
    }

    fn scale_down_after(&self, svc: &ServiceRef) -> Option<std::time::Duration> {
        self.targets.get(svc).ok()?.scale_down_after
    }
}
