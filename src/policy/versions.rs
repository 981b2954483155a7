//! Version rules: which version strings an environment accepts
//! (`environments.NAME.policy.versions`). Production typically takes semantic
//! versions only, so what reaches it is a named release, never `latest` (which
//! moves under you) or a branch build. Whether the version actually ran well
//! upstream is the checklist's question ([`crate::gates`]), not this one's.

use crate::config::{Config, Environment, VersionRule};

use super::refusal::{Refusal, shown};
use super::{environment, key};

/// Passes when environment `env` (name or alias) accepts `version`.
pub fn check_version(config: &Config, env: &str, version: &str) -> Result<(), Refusal> {
    check_version_in(environment(config, env)?, version)
}

pub(super) fn check_version_in(env: &Environment, version: &str) -> Result<(), Refusal> {
    let rule = env.policy.versions;
    if rule.accepts(version) {
        return Ok(());
    }
    let message = match rule {
        VersionRule::Any => format!("{} is not a version", shown(version)),
        VersionRule::Semver => {
            let hint = match version.strip_prefix(['v', 'V']) {
                Some(bare) if VersionRule::Semver.accepts(bare) => {
                    format!("write {bare}, without the v")
                }
                _ if version.eq_ignore_ascii_case("latest") => {
                    "`latest` moves, so name the release instead".to_owned()
                }
                _ => "branch and build tags are not releases".to_owned(),
            };
            format!(
                "{} accepts only semantic versions such as 1.3.0, not {}: {hint}",
                env.name,
                shown(version)
            )
        }
    };
    Err(Refusal::new(key(env, "versions"), message, Vec::new()))
}
