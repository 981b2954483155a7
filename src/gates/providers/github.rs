//! `kind = "github"`: the CI runs of the version's commit, from GitHub's
//! check-runs API (`GET /repos/{owner}/{repo}/commits/{ref}/check-runs`).
//!
//! The ref is the commit CI announced for the version (the build webhook);
//! without one, the version's tag. Runs are counted once per name (the newest
//! by id, as a re-run replaces its predecessor). `success`, `neutral` and
//! `skipped` pass, as GitHub's branch protection counts them; a run that has
//! not completed keeps the check from passing. Pages are followed through
//! the `Link` header, only on the API's own origin so the token never goes
//! elsewhere, and at most [`MAX_PAGES`] of them.

use std::collections::BTreeMap;

use async_trait::async_trait;
use reqwest::{StatusCode, Url};
use serde::Deserialize;

use super::fetch::{self, Request};
use super::{Provider, Scope, some_of};
use crate::config::Secret;
use crate::config::checks::{GithubCheck, Template};
use crate::gates::Verdict;

/// 100 runs a page: 1000 check runs is far beyond any real commit.
const MAX_PAGES: usize = 10;

/// How many names a reason lists before "and N more".
const NAMES_SHOWN: usize = 5;

pub(super) struct GithubRuns {
    repo: String,
    token: Option<Secret>,
    required: Vec<String>,
    api_base: String,
    tag_template: Template,
    what: String,
}

impl GithubRuns {
    pub(super) fn new(spec: &GithubCheck) -> GithubRuns {
        GithubRuns {
            repo: spec.repo.clone(),
            token: spec.token.clone(),
            required: spec.required.clone(),
            api_base: spec.api_base.trim_end_matches('/').to_owned(),
            tag_template: spec.tag_template.clone(),
            what: spec.what.clone().unwrap_or_else(|| "CI checks".to_owned()),
        }
    }

    /// The ref to ask about and how a reason names it.
    async fn git_ref(&self, scope: &Scope<'_>) -> Result<(String, String), String> {
        match scope.build().await? {
            Some(build) if !build.commit.is_empty() => {
                let short: String = build.commit.chars().take(7).collect();
                Ok((build.commit, format!("commit {short}")))
            }
            _ => {
                let tag = scope.fill(&self.tag_template, fetch::raw).await?;
                Ok((tag.clone(), format!("tag {tag}")))
            }
        }
    }

    async fn runs(&self, git_ref: &str, token: Option<&str>) -> Result<Vec<Run>, String> {
        let encoded: Vec<String> = git_ref.split('/').map(fetch::url_escape).collect();
        let first = format!(
            "{}/repos/{}/commits/{}/check-runs?per_page=100",
            self.api_base,
            self.repo,
            encoded.join("/")
        );
        let base = Url::parse(&self.api_base).map_err(|_| "`api_base` is not a URL".to_owned())?;
        let mut url =
            Url::parse(&first).map_err(|_| "the check-runs URL is not valid".to_owned())?;
        let mut runs = Vec::new();
        for page in 1..=MAX_PAGES {
            let answer = fetch::get(
                &url,
                Request {
                    token,
                    accept: Some("application/vnd.github+json"),
                    headers: &[("X-GitHub-Api-Version", "2022-11-28")],
                },
            )
            .await?;
            if !answer.status.is_success() {
                return Err(self.refused(answer.status, &answer.body, git_ref));
            }
            let body: Page = serde_json::from_slice(&answer.body).map_err(|_| {
                format!(
                    "the answer from {} is not a list of check runs",
                    fetch::host(&url)
                )
            })?;
            let got = body.check_runs.len();
            runs.extend(body.check_runs);
            if got == 0 || runs.len() as u64 >= body.total_count {
                return Ok(runs);
            }
            url = match next_link(&answer.headers) {
                // Never send the token to another origin than the API's.
                Some(next) if next.origin() == base.origin() => next,
                Some(_) => {
                    return Err("GitHub's next page is on another host; not followed".to_owned());
                }
                None => {
                    let mut next = url.clone();
                    let query: Vec<(String, String)> = next
                        .query_pairs()
                        .filter(|(k, _)| k != "page")
                        .map(|(k, v)| (k.into_owned(), v.into_owned()))
                        .collect();
                    next.query_pairs_mut()
                        .clear()
                        .extend_pairs(query)
                        .append_pair("page", &(page + 1).to_string());
                    next
                }
            };
        }
        Err(format!(
            "more than {} check runs; list the ones that matter in `required`",
            MAX_PAGES * 100
        ))
    }

    /// A refused request as a reason: what GitHub said, never the token.
    fn refused(&self, status: StatusCode, body: &[u8], git_ref: &str) -> String {
        let said = serde_json::from_slice::<Message>(body)
            .ok()
            .and_then(|m| m.message)
            .map(|m| format!(": {}", fetch::snippet(&m, 80)))
            .unwrap_or_default();
        let code = status.as_u16();
        match code {
            401 if self.token.is_none() => {
                format!("GitHub wants a token for {} (HTTP 401)", self.repo)
            }
            401 => format!("GitHub refused the token (HTTP 401{said})"),
            403 | 429 => format!(
                "GitHub refused access to {} (HTTP {code}{said}); rate limit or token permissions",
                self.repo
            ),
            404 | 422 => format!(
                "GitHub knows no ref `{git_ref}` in {} (HTTP {code}{said})",
                self.repo
            ),
            _ => format!("GitHub answered HTTP {code}{said}"),
        }
    }

    async fn verdict(&self, scope: &Scope<'_>) -> Result<String, String> {
        let (git_ref, shown) = self.git_ref(scope).await?;
        let token = match &self.token {
            Some(secret) => Some(secret.expose().map_err(|e| format!("no token: {e}"))?),
            None => None,
        };
        let runs = self
            .runs(&git_ref, token)
            .await
            .map_err(|why| fetch::redact(why, token))?;
        let tally = Tally::of(runs, &self.required);
        if tally.total() == 0 {
            return Err(format!("no check runs for {shown} in {}", self.repo));
        }
        let summary = tally.summary();
        if tally.passed() {
            Ok(format!("{summary} ({shown})"))
        } else {
            Err(format!("{summary} ({shown})"))
        }
    }
}

#[async_trait]
impl Provider for GithubRuns {
    async fn check(&self, scope: &Scope<'_>) -> Verdict {
        match self.verdict(scope).await {
            Ok(why) => Verdict::pass(format!("{}: {why}", self.what)),
            Err(why) => Verdict::fail(format!("{}: {why}", self.what)),
        }
    }
}

/// One page of `/check-runs`.
#[derive(Debug, Deserialize)]
struct Page {
    #[serde(default)]
    total_count: u64,
    #[serde(default)]
    check_runs: Vec<Run>,
}

#[derive(Debug, Clone, Deserialize)]
struct Run {
    #[serde(default)]
    id: u64,
    name: String,
    /// `queued`, `in_progress`, `completed`, ...
    status: String,
    /// Set once completed: `success`, `failure`, `neutral`, `skipped`, ...
    #[serde(default)]
    conclusion: Option<String>,
}

impl Run {
    fn running(&self) -> bool {
        self.status != "completed"
    }

    fn succeeded(&self) -> bool {
        !self.running()
            && matches!(
                self.conclusion.as_deref(),
                Some("success" | "neutral" | "skipped")
            )
    }
}

#[derive(Deserialize)]
struct Message {
    message: Option<String>,
}

/// The runs that count, sorted into outcomes (names in alphabetical order).
#[derive(Debug, Default)]
struct Tally {
    passed: Vec<String>,
    failed: Vec<String>,
    running: Vec<String>,
    /// Required names with no run at all.
    missing: Vec<String>,
}

impl Tally {
    fn of(runs: Vec<Run>, required: &[String]) -> Tally {
        let mut latest: BTreeMap<String, Run> = BTreeMap::new();
        for run in runs {
            match latest.get(&run.name) {
                Some(seen) if seen.id >= run.id => {}
                _ => {
                    latest.insert(run.name.clone(), run);
                }
            }
        }
        let mut tally = Tally::default();
        let mut count = |name: &str, run: Option<&Run>| match run {
            None => tally.missing.push(name.to_owned()),
            Some(r) if r.running() => tally.running.push(name.to_owned()),
            Some(r) if r.succeeded() => tally.passed.push(name.to_owned()),
            Some(_) => tally.failed.push(name.to_owned()),
        };
        if required.is_empty() {
            for (name, run) in &latest {
                count(name, Some(run));
            }
        } else {
            for name in required {
                count(name, latest.get(name));
            }
        }
        tally
    }

    fn total(&self) -> usize {
        self.passed.len() + self.failed.len() + self.running.len() + self.missing.len()
    }

    fn passed(&self) -> bool {
        self.passed.len() == self.total()
    }

    /// "150/156 passed; failed: e2e-checkout, lint; 3 still running: …".
    fn summary(&self) -> String {
        let mut out = format!("{}/{} passed", self.passed.len(), self.total());
        if !self.failed.is_empty() {
            out.push_str(&format!("; failed: {}", some_of(&self.failed, NAMES_SHOWN)));
        }
        if !self.running.is_empty() {
            out.push_str(&format!(
                "; {} still running: {}",
                self.running.len(),
                some_of(&self.running, NAMES_SHOWN)
            ));
        }
        if !self.missing.is_empty() {
            out.push_str(&format!(
                "; never ran: {}",
                some_of(&self.missing, NAMES_SHOWN)
            ));
        }
        out
    }
}

/// The `rel="next"` URL of a `Link` header.
fn next_link(headers: &reqwest::header::HeaderMap) -> Option<Url> {
    let link = headers.get(reqwest::header::LINK)?.to_str().ok()?;
    link.split(',').find_map(|part| {
        let (target, params) = part.split_once(';')?;
        let is_next = params
            .split(';')
            .any(|p| p.trim().replace(' ', "") == "rel=\"next\"");
        let target = target.trim().strip_prefix('<')?.strip_suffix('>')?;
        if is_next {
            Url::parse(target).ok()
        } else {
            None
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(id: u64, name: &str, status: &str, conclusion: Option<&str>) -> Run {
        Run {
            id,
            name: name.into(),
            status: status.into(),
            conclusion: conclusion.map(str::to_owned),
        }
    }

    #[test]
    fn neutral_and_skipped_pass_and_reruns_replace_earlier_runs() {
        let runs = vec![
            run(1, "lint", "completed", Some("failure")),
            run(5, "lint", "completed", Some("success")),
            run(2, "docs", "completed", Some("skipped")),
            run(3, "bench", "completed", Some("neutral")),
            run(4, "e2e", "in_progress", None),
            run(6, "unit", "completed", Some("cancelled")),
        ];
        let tally = Tally::of(runs, &[]);
        assert_eq!(
            tally.summary(),
            "3/5 passed; failed: unit; 1 still running: e2e"
        );
        assert!(!tally.passed());
    }

    #[test]
    fn required_runs_only_count_and_missing_ones_fail() {
        let runs = vec![
            run(1, "lint", "completed", Some("failure")),
            run(2, "unit", "completed", Some("success")),
        ];
        let required = ["unit".to_owned(), "e2e".to_owned()];
        let tally = Tally::of(runs, &required);
        assert_eq!(tally.summary(), "1/2 passed; never ran: e2e");
    }

    #[test]
    fn the_next_link_is_found_among_others() {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(
            reqwest::header::LINK,
            r#"<https://api.github.com/x?page=1>; rel="prev", <https://api.github.com/x?page=3>; rel="next""#
                .parse()
                .unwrap(),
        );
        assert_eq!(
            next_link(&headers).map(|u| u.to_string()),
            Some("https://api.github.com/x?page=3".to_owned())
        );
    }
}
