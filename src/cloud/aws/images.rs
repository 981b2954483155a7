//! Does the image for a version exist? Asked of ECR (`DescribeImages`) before a
//! deployment starts, so a typo'd or unbuilt version is a failed check in the
//! checklist rather than a deployment whose tasks never start.
//!
//! ECR rather than the registry's HTTP API: it uses the same credential chain
//! as every other call (the registry API would need its own token exchange,
//! `GetAuthorizationToken` and basic auth), its errors map like the others,
//! and moto emulates it, so the check is tested like the rest of the adapter.

use aws_sdk_ecr::types::ImageIdentifier;

use super::errors::cloud_error;
use crate::cloud::CloudError;

/// Image lookups in ECR.
#[derive(Debug, Clone)]
pub struct EcrImages {
    ecr: aws_sdk_ecr::Client,
}

impl EcrImages {
    pub fn new(ecr: aws_sdk_ecr::Client) -> EcrImages {
        EcrImages { ecr }
    }

    pub fn client(&self) -> &aws_sdk_ecr::Client {
        &self.ecr
    }

    /// True when `repository` holds an image tagged `tag`. `repository` is a
    /// name in the caller's account, or an `ACCOUNT.dkr.ecr.REGION.amazonaws.com/NAME`
    /// URI (another account's registry). A missing image is `Ok(false)`; a
    /// missing repository is an error, because no version could ever pass.
    pub async fn exists(&self, repository: &str, tag: &str) -> Result<bool, CloudError> {
        let (registry, name) = match repository.split_once('/') {
            Some((host, name)) if host.contains(".dkr.ecr.") => {
                (host.split('.').next().map(str::to_owned), name)
            }
            _ => (None, repository),
        };
        let what = format!("looking up image `{name}:{tag}` in ECR");
        let answer = self
            .ecr
            .describe_images()
            .repository_name(name)
            .set_registry_id(registry)
            .image_ids(ImageIdentifier::builder().image_tag(tag).build())
            .send()
            .await;
        match answer {
            Ok(out) => Ok(!out.image_details().is_empty()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_image_not_found_exception()) =>
            {
                Ok(false)
            }
            Err(e) => Err(cloud_error(&what, e)),
        }
    }
}
