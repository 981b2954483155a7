//! The image check: the version's image exists in the registry before anyone
//! is asked to confirm it. A missing image is a failed check, not a failed
//! deployment (seed 001: "Validates image exists in registry").
//!
//! Only backends with a registry provide it (AWS: ECR); the simulator has none,
//! so the demo's checklist goes without.

use std::sync::Arc;

use async_trait::async_trait;

use super::{Check, CheckContext, Verdict};
use crate::cloud::{CloudError, ServiceRef};

/// A registry that can say whether the image of a version exists.
#[async_trait]
pub trait ImageRegistry: Send + Sync {
    async fn has_image(&self, svc: &ServiceRef, version: &str) -> Result<bool, CloudError>;
}

#[async_trait]
impl ImageRegistry for crate::cloud::aws::AwsCloud {
    async fn has_image(&self, svc: &ServiceRef, version: &str) -> Result<bool, CloudError> {
        crate::cloud::aws::AwsCloud::has_image(self, svc, version).await
    }
}

/// The version's image exists where the target pulls from.
pub struct ImageExists(pub Arc<dyn ImageRegistry>);

#[async_trait]
impl Check for ImageExists {
    fn name(&self) -> &str {
        "image-exists"
    }

    fn skippable_in_emergency(&self) -> bool {
        false
    }

    async fn run(&self, ctx: &CheckContext) -> Verdict {
        let svc = ServiceRef::new(&ctx.target, &ctx.service);
        match self.0.has_image(&svc, &ctx.version).await {
            Ok(true) => Verdict::pass(format!("the image of {} is in the registry", ctx.version)),
            Ok(false) => Verdict::fail(format!(
                "no image for {} in the registry; build and push it first",
                ctx.version
            )),
            Err(e) => Verdict::fail(format!("could not ask the registry: {e}")),
        }
    }
}
