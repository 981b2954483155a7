//! The configured targets, resolved once at start-up into what the adapters
//! call AWS with: per environment and service, the two colours' ECS services
//! and target groups, the route (a listener's default action or one rule), the
//! container and image repository, and the CloudWatch dimensions.

use std::collections::HashMap;
use std::time::Duration;

use crate::cloud::{CloudError, Colour, ServiceRef};
use crate::config::Aws;

/// Where the forward weights live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// The listener's default action.
    Listener(String),
    /// One listener rule's actions.
    Rule(String),
}

impl Route {
    pub fn arn(&self) -> &str {
        match self {
            Route::Listener(arn) | Route::Rule(arn) => arn,
        }
    }

    /// "listener `arn:…`" or "listener rule `arn:…`", for messages.
    pub fn describe(&self) -> String {
        match self {
            Route::Listener(arn) => format!("listener `{arn}`"),
            Route::Rule(arn) => format!("listener rule `{arn}`"),
        }
    }
}

/// One resolved target.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub cluster: String,
    pub blue_service: String,
    pub green_service: String,
    pub blue_target_group: String,
    pub green_target_group: String,
    pub route: Route,
    pub container: String,
    /// `ACCOUNT.dkr.ecr.REGION.amazonaws.com/NAME`, what images are pulled from.
    pub image_repository: String,
    /// The CloudWatch `LoadBalancer` dimension, when metrics come from CloudWatch.
    pub load_balancer_dimension: Option<String>,
    /// `TargetGroup` dimensions, blue then green (`targetgroup/NAME/ID`).
    pub target_group_dimensions: (String, String),
    pub scale_down_after: Option<Duration>,
    /// The target's position in `[aws] targets`, for the tag template.
    index: usize,
}

impl Resolved {
    pub fn service(&self, colour: Colour) -> &str {
        match colour {
            Colour::Blue => &self.blue_service,
            Colour::Green => &self.green_service,
        }
    }

    pub fn target_group(&self, colour: Colour) -> &str {
        match colour {
            Colour::Blue => &self.blue_target_group,
            Colour::Green => &self.green_target_group,
        }
    }

    pub fn target_group_dimension(&self, colour: Colour) -> &str {
        match colour {
            Colour::Blue => &self.target_group_dimensions.0,
            Colour::Green => &self.target_group_dimensions.1,
        }
    }
}

/// The tag of `repo[:tag]`; `None` for digests (`@sha256:…`) and untagged images.
pub fn image_tag(image: &str) -> Option<&str> {
    if image.contains('@') {
        return None;
    }
    let last = image.rsplit('/').next().unwrap_or(image);
    last.split_once(':').map(|(_, tag)| tag)
}

/// Every configured target by environment and service.
#[derive(Debug, Clone, Default)]
pub struct Targets {
    /// The section itself: its targets know their tag templates.
    aws: Aws,
    by_service: HashMap<ServiceRef, Resolved>,
}

impl Targets {
    /// Resolves the `[aws]` section; `service` names targets that do not name
    /// one, `region` completes repository names into image URIs.
    pub fn resolve(aws: &Aws, service: &str, region: &str) -> Result<Targets, String> {
        let mut by_service = HashMap::new();
        for (i, t) in aws.targets.iter().enumerate() {
            let at = format!("aws.targets[{i}]");
            let route = match (&t.listener, &t.listener_rule) {
                (Some(l), None) => Route::Listener(l.clone()),
                (None, Some(r)) => Route::Rule(r.clone()),
                _ => {
                    return Err(format!(
                        "{at}: set exactly one of `listener` and `listener_rule`"
                    ));
                }
            };
            let (partition, _, account) = t
                .partition_region_account()
                .ok_or_else(|| format!("{at}.blue_target_group: not a target group ARN"))?;
            let (registry, repo_region, name) = t.repository_parts().ok_or_else(|| {
                format!("{at}.repository: `{}` is not a repository", t.repository)
            })?;
            let registry_id = registry.unwrap_or(account).to_owned();
            let domain = if partition == "aws-cn" {
                "amazonaws.com.cn"
            } else {
                "amazonaws.com"
            };
            let image_repository = format!(
                "{registry_id}.dkr.ecr.{}.{domain}/{name}",
                repo_region.unwrap_or(region)
            );
            let load_balancer_dimension = match aws.metrics.cloudwatch() {
                Some(_) => Some(t.load_balancer_dimension(&aws.metrics).ok_or_else(|| {
                    format!("{at}.load_balancer: CloudWatch needs a load balancer ARN")
                })?),
                None => None,
            };
            let target_group_dimensions = t
                .target_group_dimensions()
                .ok_or_else(|| format!("{at}: the target groups are not target group ARNs"))?;
            let svc = ServiceRef::new(&t.env, t.service_or(service));
            by_service.insert(
                svc,
                Resolved {
                    cluster: aws.cluster.clone(),
                    blue_service: t.blue_service.clone(),
                    green_service: t.green_service.clone(),
                    blue_target_group: t.blue_target_group.clone(),
                    green_target_group: t.green_target_group.clone(),
                    route,
                    container: t.container.clone(),
                    image_repository,
                    load_balancer_dimension,
                    target_group_dimensions,
                    scale_down_after: t.scale_down_after,
                    index: i,
                },
            );
        }
        Ok(Targets {
            aws: aws.clone(),
            by_service,
        })
    }

    /// The image for `version` on `target`: repository and tag from the template.
    pub fn image(&self, target: &Resolved, version: &str) -> Result<String, CloudError> {
        Ok(format!(
            "{}:{}",
            target.image_repository,
            self.tag(target, version)?
        ))
    }

    /// The image tag for `version` on `target`.
    pub fn tag(&self, target: &Resolved, version: &str) -> Result<String, CloudError> {
        match self.aws.targets.get(target.index) {
            Some(t) => t.tag(version).map_err(CloudError::Permanent),
            None => Ok(version.to_owned()),
        }
    }

    /// The version an image runs: its tag read back through the template.
    /// `None` for an image pinned by digest or without a tag.
    pub fn version_of_image(&self, target: &Resolved, image: &str) -> Option<String> {
        let tag = image_tag(image)?;
        Some(match self.aws.targets.get(target.index) {
            Some(t) => t.version_of(tag),
            None => tag.to_owned(),
        })
    }

    pub fn get(&self, svc: &ServiceRef) -> Result<&Resolved, CloudError> {
        self.by_service.get(svc).ok_or_else(|| {
            CloudError::Permanent(format!(
                "{svc} has no [[aws.targets]] entry, so switchyard does not know its ECS services"
            ))
        })
    }

    /// Every service with a target.
    pub fn services(&self) -> impl Iterator<Item = &ServiceRef> {
        self.by_service.keys()
    }

    /// The region of the first target's ARNs, if any.
    pub fn region_of(aws: &Aws) -> Option<String> {
        aws.targets
            .iter()
            .find_map(|t| t.partition_region_account().map(|(_, r, _)| r.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_tags_are_read_from_references() {
        assert_eq!(
            image_tag("123.dkr.ecr.eu-west-1.amazonaws.com/api:v1.3.0"),
            Some("v1.3.0")
        );
        assert_eq!(image_tag("localhost:5000/api:1.0"), Some("1.0"));
        assert_eq!(image_tag("localhost:5000/api"), None);
        assert_eq!(image_tag("api@sha256:abcd"), None);
    }
}
