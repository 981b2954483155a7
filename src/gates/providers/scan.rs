//! `kind = "scan"`: no vulnerability at or above `fail_at` in the version's
//! image. Findings come from a Trivy JSON report fetched from a URL
//! (`trivy image --format json`, published by CI), or from ECR's scan of the
//! image the target deploys, through [`ScanFindings`] (the AWS adapter's
//! `DescribeImageScanFindings`, in `cloud::aws::scan`).
//!
//! A vulnerability is counted once, at the highest severity any package gives
//! it; ids in `ignore` never count. Severities below `low` (`UNKNOWN`,
//! `INFORMATIONAL`, `UNDEFINED`) never fail.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use serde::Deserialize;

use super::fetch::{self, url_escape};
use super::{Provider, Scope, some_of};
use crate::cloud::{CloudError, ServiceRef};
use crate::config::Secret;
use crate::config::checks::{ScanCheck, Severity, Template};
use crate::gates::Verdict;

/// How many vulnerability ids a reason lists before "and N more".
const IDS_SHOWN: usize = 5;

/// One vulnerability found in an image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// `CVE-2024-1234`, `GHSA-…`.
    pub id: String,
    /// `None` below `low` (unknown, informational).
    pub severity: Option<Severity>,
}

/// A finished scan of one image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageScan {
    /// How reasons name the image: `storefront-api:v1.3.0`.
    pub image: String,
    pub findings: Vec<Finding>,
}

/// A registry that scans images (ECR). A scan not finished, failed or never
/// run is an error that says so.
#[async_trait]
pub trait ScanFindings: Send + Sync {
    async fn image_scan(&self, svc: &ServiceRef, version: &str) -> Result<ImageScan, CloudError>;
}

/// ECR's scans of the images an AWS fleet deploys: the image `has_image`
/// looks up (the target's repository, the tag from its template).
pub struct AwsScans {
    pub cloud: Arc<crate::cloud::aws::AwsCloud>,
    pub scans: crate::cloud::aws::scan::EcrScans,
}

#[async_trait]
impl ScanFindings for AwsScans {
    async fn image_scan(&self, svc: &ServiceRef, version: &str) -> Result<ImageScan, CloudError> {
        let (repository, tag) = self.cloud.image_ref(svc, version)?;
        let found = self.scans.findings(&repository, &tag).await?;
        Ok(ImageScan {
            image: found.image,
            findings: found
                .findings
                .into_iter()
                .map(|(id, severity)| Finding {
                    id,
                    severity: Severity::parse(&severity),
                })
                .collect(),
        })
    }
}

/// `source = "trivy"`.
pub(super) struct TrivyReport {
    url: Template,
    token: Option<Secret>,
    bar: Bar,
}

impl TrivyReport {
    pub(super) fn new(spec: &ScanCheck) -> TrivyReport {
        TrivyReport {
            url: spec.url.clone().unwrap_or_else(|| Template::new("")),
            token: spec.token.clone(),
            bar: Bar::of(spec),
        }
    }

    async fn scan(&self, scope: &Scope<'_>) -> Result<ImageScan, String> {
        let url = scope.fill(&self.url, url_escape).await?;
        let (host, answer) = fetch::get_filled(
            &url,
            self.token.as_ref(),
            "application/json",
            "the report URL",
        )
        .await
        .map_err(|why| format!("no Trivy report: {why}"))?;
        if !answer.status.is_success() {
            return Err(format!(
                "no Trivy report: HTTP {} from {host}",
                answer.status.as_u16()
            ));
        }
        let report: Report = serde_json::from_slice(&answer.body)
            .ok()
            .filter(|r: &Report| r.schema_version.is_some() || r.results.is_some())
            .ok_or_else(|| format!("the report from {host} is not Trivy JSON"))?;
        let image = report
            .artifact_name
            .filter(|name| !name.trim().is_empty())
            .map(|name| fetch::snippet(&name, 120))
            .unwrap_or_else(|| format!("{}:{}", scope.ctx.service, scope.ctx.version));
        let findings = report
            .results
            .flatten()
            .unwrap_or_default()
            .into_iter()
            .flat_map(|target| target.vulnerabilities.unwrap_or_default())
            .map(|v| Finding {
                id: v.id,
                severity: Severity::parse(&v.severity),
            })
            .collect();
        Ok(ImageScan { image, findings })
    }
}

#[async_trait]
impl Provider for TrivyReport {
    async fn check(&self, scope: &Scope<'_>) -> Verdict {
        match self.scan(scope).await {
            Ok(scan) => self.bar.judge(&scan),
            Err(why) => Verdict::fail(why),
        }
    }
}

/// `source = "ecr"`.
pub(super) struct EcrScan {
    scans: Option<Arc<dyn ScanFindings>>,
    bar: Bar,
}

impl EcrScan {
    pub(super) fn new(spec: &ScanCheck, scans: Option<Arc<dyn ScanFindings>>) -> EcrScan {
        EcrScan {
            scans,
            bar: Bar::of(spec),
        }
    }
}

#[async_trait]
impl Provider for EcrScan {
    async fn check(&self, scope: &Scope<'_>) -> Verdict {
        let Some(scans) = &self.scans else {
            return Verdict::fail(
                "ECR scan findings are not available to this agent (`source = \"ecr\"` needs the AWS backend)",
            );
        };
        let svc = ServiceRef::new(&scope.ctx.target, &scope.ctx.service);
        match scans.image_scan(&svc, &scope.ctx.version).await {
            Ok(scan) => self.bar.judge(&scan),
            Err(e) => Verdict::fail(format!("could not read the image scan: {e}")),
        }
    }
}

/// What fails: the lowest severity and the ids accepted anyway.
struct Bar {
    fail_at: Severity,
    ignore: Vec<String>,
}

impl Bar {
    fn of(spec: &ScanCheck) -> Bar {
        Bar {
            fail_at: spec.fail_at,
            ignore: spec.ignore.clone(),
        }
    }

    fn judge(&self, scan: &ImageScan) -> Verdict {
        // Each id once, at its highest severity.
        let mut worst: BTreeMap<&str, Option<Severity>> = BTreeMap::new();
        let mut ignored = std::collections::BTreeSet::new();
        for f in &scan.findings {
            if self.ignore.iter().any(|id| id.eq_ignore_ascii_case(&f.id)) {
                ignored.insert(f.id.as_str());
                continue;
            }
            let entry = worst.entry(f.id.as_str()).or_insert(f.severity);
            *entry = (*entry).max(f.severity);
        }
        let mut by_severity: BTreeMap<Severity, Vec<String>> = BTreeMap::new();
        for (id, severity) in worst {
            if let Some(s) = severity {
                by_severity.entry(s).or_default().push(id.to_owned());
            }
        }
        let count = |pick: &dyn Fn(Severity) -> bool| -> Vec<String> {
            Severity::DESCENDING
                .into_iter()
                .filter(|s| pick(*s))
                .filter_map(|s| {
                    by_severity
                        .get(&s)
                        .map(|ids| format!("{} {}", ids.len(), s.as_str()))
                })
                .collect()
        };
        let bar = self.fail_at;
        let failing = count(&|s| s >= bar);
        let below = count(&|s| s < bar);
        let image = &scan.image;
        let word = bar.as_str();
        if failing.is_empty() {
            let mut notes = Vec::new();
            if !below.is_empty() {
                notes.push(format!("{} below it", below.join(", ")));
            }
            if !ignored.is_empty() {
                notes.push(format!("{} ignored", ignored.len()));
            }
            let notes = if notes.is_empty() {
                String::new()
            } else {
                format!(" ({})", notes.join("; "))
            };
            return Verdict::pass(format!(
                "no vulnerabilities at or above {word} in {image}{notes}"
            ));
        }
        let ids: Vec<String> = Severity::DESCENDING
            .into_iter()
            .filter(|s| *s >= bar)
            .flat_map(|s| by_severity.get(&s).cloned().unwrap_or_default())
            .collect();
        let noun = if ids.len() == 1 {
            "vulnerability"
        } else {
            "vulnerabilities"
        };
        Verdict::fail(format!(
            "{} {noun} in {image} (at or above {word}): {}",
            failing.join(", "),
            some_of(&ids, IDS_SHOWN)
        ))
    }
}

/// The parts of a Trivy report read here.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Report {
    #[serde(default)]
    schema_version: Option<serde_json::Value>,
    #[serde(default)]
    artifact_name: Option<String>,
    /// `None` when absent, `Some(None)` when `null`.
    #[serde(default, deserialize_with = "present")]
    results: Option<Option<Vec<Target>>>,
}

/// Tells an explicit `null` from a missing key.
fn present<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Target {
    #[serde(default)]
    vulnerabilities: Option<Vec<Vuln>>,
}

#[derive(Debug, Deserialize)]
struct Vuln {
    #[serde(rename = "VulnerabilityID")]
    id: String,
    #[serde(rename = "Severity", default)]
    severity: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(findings: &[(&str, &str)]) -> ImageScan {
        ImageScan {
            image: "api:1.3.0".into(),
            findings: findings
                .iter()
                .map(|(id, s)| Finding {
                    id: (*id).into(),
                    severity: Severity::parse(s),
                })
                .collect(),
        }
    }

    fn bar(fail_at: Severity, ignore: &[&str]) -> Bar {
        Bar {
            fail_at,
            ignore: ignore.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    #[test]
    fn findings_at_or_above_the_bar_fail_counted_once_at_their_worst() {
        let s = scan(&[
            ("CVE-2", "HIGH"),
            ("CVE-1", "CRITICAL"),
            ("CVE-2", "CRITICAL"),
            ("CVE-3", "HIGH"),
            ("CVE-4", "LOW"),
            ("CVE-5", "UNKNOWN"),
        ]);
        let v = bar(Severity::High, &[]).judge(&s);
        assert_eq!(v.outcome, crate::gates::Outcome::Fail);
        assert_eq!(
            v.reason,
            "2 critical, 1 high vulnerabilities in api:1.3.0 (at or above high): CVE-1, CVE-2, CVE-3"
        );
        let v = bar(Severity::Critical, &["cve-1", "CVE-2"]).judge(&s);
        assert_eq!(
            v.reason,
            "no vulnerabilities at or above critical in api:1.3.0 (1 high, 1 low below it; 2 ignored)"
        );
    }

    #[test]
    fn null_and_missing_results_are_told_apart() {
        let r: Report = serde_json::from_str(r#"{"Results": null}"#).unwrap();
        assert!(r.results.is_some());
        let r: Report = serde_json::from_str(r#"{"Other": 1}"#).unwrap();
        assert!(r.results.is_none() && r.schema_version.is_none());
    }
}
