//! ECR's vulnerability scan of an image (`DescribeImageScanFindings`), for
//! the checklist's `scan` check with `source = "ecr"`. Both of ECR's scanners
//! are read: basic scanning lists `findings` (the CVE is the finding's name),
//! enhanced scanning (Amazon Inspector) lists `enhancedFindings` (the id is in
//! the package details; suppressed and closed findings do not count).
//!
//! A scan that is missing, still running or failed is an error that says so:
//! the check cannot vouch for an image nobody has looked at.

use aws_sdk_ecr::types::{ImageIdentifier, ScanStatus};

use super::AwsCloud;
use super::errors::cloud_error;
use crate::cloud::{CloudError, ServiceRef};

/// Pages of findings read at most (1000 each).
const MAX_PAGES: usize = 20;

/// Scan findings from ECR.
#[derive(Debug, Clone)]
pub struct EcrScans {
    ecr: aws_sdk_ecr::Client,
}

/// A finished scan: the image and its findings as (id, ECR severity word).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EcrFindings {
    /// `name:tag`.
    pub image: String,
    pub findings: Vec<(String, String)>,
}

impl EcrScans {
    pub fn new(ecr: aws_sdk_ecr::Client) -> EcrScans {
        EcrScans { ecr }
    }

    /// The findings of the scan of `repository:tag`. `repository` is a name
    /// in the caller's account or an `ACCOUNT.dkr.ecr.REGION.amazonaws.com/NAME`
    /// URI, as for the image check.
    pub async fn findings(&self, repository: &str, tag: &str) -> Result<EcrFindings, CloudError> {
        let (registry, name) = match repository.split_once('/') {
            Some((host, name)) if host.contains(".dkr.ecr.") => {
                (host.split('.').next().map(str::to_owned), name)
            }
            _ => (None, repository),
        };
        let image = format!("{name}:{tag}");
        let what = format!("reading the ECR scan of `{image}`");
        let mut findings = Vec::new();
        let mut next: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let answer = self
                .ecr
                .describe_image_scan_findings()
                .repository_name(name)
                .set_registry_id(registry.clone())
                .image_id(ImageIdentifier::builder().image_tag(tag).build())
                .max_results(1000)
                .set_next_token(next.take())
                .send()
                .await;
            let out = match answer {
                Ok(out) => out,
                Err(e) => {
                    let service = e.as_service_error();
                    if service.is_some_and(|s| s.is_scan_not_found_exception()) {
                        return Err(CloudError::Permanent(format!(
                            "`{image}` has never been scanned; turn on scan on push or start a scan"
                        )));
                    }
                    if service.is_some_and(|s| s.is_image_not_found_exception()) {
                        return Err(CloudError::Permanent(format!("no image `{image}` in ECR")));
                    }
                    return Err(cloud_error(&what, e));
                }
            };
            let status = out.image_scan_status().and_then(|s| s.status());
            match status {
                Some(ScanStatus::Complete | ScanStatus::Active) => {}
                Some(ScanStatus::InProgress | ScanStatus::Pending) => {
                    return Err(CloudError::Retryable(format!(
                        "the scan of `{image}` is still running"
                    )));
                }
                Some(other) => {
                    let why = out
                        .image_scan_status()
                        .and_then(|s| s.description())
                        .unwrap_or("no description");
                    return Err(CloudError::Permanent(format!(
                        "the scan of `{image}` is {}: {why}",
                        other.as_str().to_lowercase().replace('_', " ")
                    )));
                }
                None => {
                    return Err(CloudError::Permanent(format!(
                        "ECR gave no scan status for `{image}`"
                    )));
                }
            }
            if let Some(found) = out.image_scan_findings() {
                for f in found.findings() {
                    if let Some(id) = f.name() {
                        let severity = f.severity().map(|s| s.as_str()).unwrap_or("UNDEFINED");
                        findings.push((id.to_owned(), severity.to_owned()));
                    }
                }
                for f in found.enhanced_findings() {
                    if f.status()
                        .is_some_and(|s| !s.eq_ignore_ascii_case("ACTIVE"))
                    {
                        continue;
                    }
                    let id = f
                        .package_vulnerability_details()
                        .and_then(|d| d.vulnerability_id())
                        .or(f.title());
                    if let Some(id) = id {
                        let severity = f.severity().unwrap_or("UNTRIAGED");
                        findings.push((id.to_owned(), severity.to_owned()));
                    }
                }
            }
            match out.next_token() {
                Some(token) if !token.is_empty() => next = Some(token.to_owned()),
                _ => return Ok(EcrFindings { image, findings }),
            }
        }
        Err(CloudError::Permanent(format!(
            "the scan of `{image}` has more than {} findings",
            MAX_PAGES * 1000
        )))
    }
}

impl AwsCloud {
    /// The ECR repository and tag of `version` of `svc`: the image
    /// [`AwsCloud::has_image`] looks for and a deployment would run.
    pub fn image_ref(
        &self,
        svc: &ServiceRef,
        version: &str,
    ) -> Result<(String, String), CloudError> {
        let t = self.targets.get(svc)?;
        let tag = self.targets.tag(t, version)?;
        Ok((t.image_repository.clone(), tag))
    }
}
