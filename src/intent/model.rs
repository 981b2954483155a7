//! The typed intents: what a chat command means once the grammar has read it.
//!
//! These types are the contract between the grammar and everything after it
//! (conversation, policy, rollout). Their JSON form is the one DESIGN.md fixes for
//! `switchyard parse --json`: a flat object tagged by `"intent"`, absent optional
//! fields as `null`. Values inside are already normalised: environments by canonical
//! name, versions stripped of a leading `v` when semantic, strategies canonical.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A canonical environment name from the configuration (`prd`, never `prod`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct EnvName(pub String);

impl fmt::Display for EnvName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A version that is a valid image tag (see [`super::slots::check_version`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Version(pub String);

impl Version {
    /// True for `MAJOR.MINOR.PATCH[-pre]`, the only shape production accepts by default.
    pub fn is_semantic(&self) -> bool {
        super::slots::is_semver(&self.0)
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// How traffic moves from the live colour to the new one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Strategy {
    /// Full-size green fleet beside blue; listener weights shift step by step.
    BlueGreen,
    /// A small green fleet takes a small share first, then grows.
    Canary,
    /// Tasks are replaced in place, a share at a time.
    Rolling,
    /// Everything switches in one step.
    AllAtOnce,
}

impl Strategy {
    pub const ALL: [Strategy; 4] = [
        Strategy::BlueGreen,
        Strategy::Canary,
        Strategy::Rolling,
        Strategy::AllAtOnce,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Strategy::BlueGreen => "blue-green",
            Strategy::Canary => "canary",
            Strategy::Rolling => "rolling",
            Strategy::AllAtOnce => "all-at-once",
        }
    }

    /// The strategy spelled exactly `name` (`blue-green`, `canary`, ...).
    pub fn from_name(name: &str) -> Option<Strategy> {
        Strategy::ALL.into_iter().find(|s| s.as_str() == name)
    }
}

impl fmt::Display for Strategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the person asked for. Field names and meanings follow DESIGN.md.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "intent", rename_all = "snake_case")]
pub enum Intent {
    Deploy {
        version: Version,
        env: EnvName,
        strategy: Option<Strategy>,
        dry_run: bool,
        emergency: bool,
    },
    Promote {
        version: Version,
        from: EnvName,
        to: EnvName,
        strategy: Option<Strategy>,
        dry_run: bool,
    },
    /// `version: None` means "the previous version", i.e. whatever stands by.
    Rollback {
        env: EnvName,
        version: Option<Version>,
    },
    Status {
        env: Option<EnvName>,
    },
    History {
        env: Option<EnvName>,
        limit: Option<u32>,
    },
    Metrics {
        env: Option<EnvName>,
        days: Option<u32>,
    },
    /// `id: None` means "the one approval pending in this channel" (the
    /// conversation refuses when that is ambiguous).
    Approve {
        id: Option<u64>,
    },
    Deny {
        id: Option<u64>,
        reason: Option<String>,
    },
    /// `env: None` means "the deployment that is running" (the conversation decides
    /// whether that is unambiguous).
    Abort {
        env: Option<EnvName>,
    },
    Pause {
        env: Option<EnvName>,
    },
    Resume {
        env: Option<EnvName>,
    },
    Lock {
        env: EnvName,
        reason: Option<String>,
    },
    Unlock {
        env: EnvName,
    },
    /// `topic` is the canonical name of an intent (`"rollback"`), or none for the list.
    Help {
        topic: Option<String>,
    },
    Troubleshoot {
        env: Option<EnvName>,
    },
    MfaEnroll {},
}

impl Intent {
    /// The intent's kind, e.g. for policy lookups and help.
    pub fn kind(&self) -> super::IntentKind {
        use super::IntentKind as K;
        match self {
            Intent::Deploy { .. } => K::Deploy,
            Intent::Promote { .. } => K::Promote,
            Intent::Rollback { .. } => K::Rollback,
            Intent::Status { .. } => K::Status,
            Intent::History { .. } => K::History,
            Intent::Metrics { .. } => K::Metrics,
            Intent::Approve { .. } => K::Approve,
            Intent::Deny { .. } => K::Deny,
            Intent::Abort { .. } => K::Abort,
            Intent::Pause { .. } => K::Pause,
            Intent::Resume { .. } => K::Resume,
            Intent::Lock { .. } => K::Lock,
            Intent::Unlock { .. } => K::Unlock,
            Intent::Help { .. } => K::Help,
            Intent::Troubleshoot { .. } => K::Troubleshoot,
            Intent::MfaEnroll {} => K::MfaEnroll,
        }
    }

    /// The intent as one canonical command line. It reads well in a confirmation
    /// ("Proceed with: promote 1.3.0 from tst to prd?") and parses back to the same
    /// intent, which the tests check.
    pub fn command_line(&self) -> String {
        fn env_suffix(word: &str, env: &Option<EnvName>) -> String {
            env.as_ref()
                .map(|e| format!(" {word} {e}"))
                .unwrap_or_default()
        }
        fn strategy_suffix(s: &Option<Strategy>) -> String {
            s.map(|s| format!(" using {s}")).unwrap_or_default()
        }
        fn dry_run_suffix(dry_run: bool) -> &'static str {
            if dry_run { " --dry-run" } else { "" }
        }
        match self {
            Intent::Deploy {
                version,
                env,
                strategy,
                dry_run,
                emergency,
            } => format!(
                "{}deploy {version} to {env}{}{}",
                if *emergency { "emergency " } else { "" },
                strategy_suffix(strategy),
                dry_run_suffix(*dry_run)
            ),
            Intent::Promote {
                version,
                from,
                to,
                strategy,
                dry_run,
            } => format!(
                "promote {version} from {from} to {to}{}{}",
                strategy_suffix(strategy),
                dry_run_suffix(*dry_run)
            ),
            Intent::Rollback { env, version } => match version {
                Some(v) => format!("rollback {env} to {v}"),
                None => format!("rollback {env} to the previous version"),
            },
            Intent::Status { env } => format!("status{}", env_suffix("of", env)),
            Intent::History { env, limit } => format!(
                "history{}{}",
                env_suffix("for", env),
                limit.map(|n| format!(" last {n}")).unwrap_or_default()
            ),
            Intent::Metrics { env, days } => format!(
                "metrics{}{}",
                env_suffix("for", env),
                days.map(|n| format!(" for the last {n} days"))
                    .unwrap_or_default()
            ),
            Intent::Approve { id } => match id {
                Some(id) => format!("approve #{id}"),
                None => "approve".to_string(),
            },
            Intent::Deny { id, reason } => {
                let id = id.map(|id| format!(" #{id}")).unwrap_or_default();
                match reason {
                    Some(r) => format!("deny{id} because {r}"),
                    None => format!("deny{id}"),
                }
            }
            Intent::Abort { env } => format!("abort{}", env_suffix("the deployment on", env)),
            Intent::Pause { env } => format!("pause{}", env_suffix("the deployment on", env)),
            Intent::Resume { env } => format!("resume{}", env_suffix("the deployment on", env)),
            Intent::Lock { env, reason } => match reason {
                Some(r) => format!("lock {env} because {r}"),
                None => format!("lock {env}"),
            },
            Intent::Unlock { env } => format!("unlock {env}"),
            Intent::Help { topic } => match topic {
                Some(t) => format!("help {t}"),
                None => "help".to_string(),
            },
            Intent::Troubleshoot { env } => format!("troubleshoot{}", env_suffix("on", env)),
            Intent::MfaEnroll {} => "mfa enroll".to_string(),
        }
    }
}
