//! The schema of the intent language: which intents exist, which fields each one
//! has, and what type of value each field holds.
//!
//! The grammar files in `intents/` choose the words; this module fixes the meaning.
//! A grammar file can add phrasings but cannot invent a field or change its type,
//! so an operator's edit can never produce an intent the rest of the agent does
//! not understand. [`IntentKind::build`] turns the values a pattern captured into
//! the typed [`Intent`], checking the rules that span fields (a promote between
//! two different environments).

use super::model::{EnvName, Intent, Strategy, Version};

/// Every intent, in the order help lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum IntentKind {
    Deploy,
    Promote,
    Rollback,
    Status,
    History,
    Metrics,
    Approve,
    Deny,
    Abort,
    Pause,
    Resume,
    Lock,
    Unlock,
    Troubleshoot,
    MfaEnroll,
    Help,
}

/// A field a pattern can fill.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    Version,
    Env,
    From,
    To,
    Strategy,
    DryRun,
    Emergency,
    Limit,
    Days,
    Id,
    Reason,
    Topic,
}

/// The type of value a field holds, which decides how a slot reads its words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlotType {
    /// One word that is a valid image tag.
    Version,
    /// One word that names an environment or one of its aliases.
    Env,
    /// One to three words naming a strategy (`blue green`, `all at once`).
    Strategy,
    /// A non-negative count (`7`, not `-7`).
    Count,
    /// A deployment id: digits, optionally after `#`.
    Id,
    /// The rest of the message, verbatim.
    Text,
    /// One or two words naming an intent, for `help`.
    Topic,
    /// Set only by `{field=true}` in a pattern, never read from the message.
    Flag,
}

/// A value a slot captured, before it becomes part of a typed intent.
#[derive(Debug, Clone, PartialEq)]
pub enum SlotValue {
    Version(String),
    Env(String),
    Strategy(Strategy),
    Number(u64),
    Text(String),
    Topic(IntentKind),
    Flag(bool),
}

impl Field {
    pub const ALL: [Field; 12] = [
        Field::Version,
        Field::Env,
        Field::From,
        Field::To,
        Field::Strategy,
        Field::DryRun,
        Field::Emergency,
        Field::Limit,
        Field::Days,
        Field::Id,
        Field::Reason,
        Field::Topic,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Field::Version => "version",
            Field::Env => "env",
            Field::From => "from",
            Field::To => "to",
            Field::Strategy => "strategy",
            Field::DryRun => "dry_run",
            Field::Emergency => "emergency",
            Field::Limit => "limit",
            Field::Days => "days",
            Field::Id => "id",
            Field::Reason => "reason",
            Field::Topic => "topic",
        }
    }

    pub fn from_name(name: &str) -> Option<Field> {
        Field::ALL.into_iter().find(|f| f.name() == name)
    }

    pub fn slot_type(self) -> SlotType {
        match self {
            Field::Version => SlotType::Version,
            Field::Env | Field::From | Field::To => SlotType::Env,
            Field::Strategy => SlotType::Strategy,
            Field::DryRun | Field::Emergency => SlotType::Flag,
            Field::Limit | Field::Days => SlotType::Count,
            Field::Id => SlotType::Id,
            Field::Reason => SlotType::Text,
            Field::Topic => SlotType::Topic,
        }
    }

    /// How an error message names what this field wants ("the target environment").
    pub fn describe(self) -> &'static str {
        match self {
            Field::Version => "the version (like 1.3.0)",
            Field::Env => "the environment",
            Field::From => "the source environment",
            Field::To => "the target environment",
            Field::Strategy => "a strategy (blue-green, canary, rolling, all-at-once)",
            Field::DryRun => "dry run",
            Field::Emergency => "emergency",
            Field::Limit => "how many entries (a number)",
            Field::Days => "a number of days",
            Field::Id => "the deployment id (a number, like #42)",
            Field::Reason => "a reason",
            Field::Topic => "a command name",
        }
    }
}

impl IntentKind {
    pub const ALL: [IntentKind; 16] = [
        IntentKind::Deploy,
        IntentKind::Promote,
        IntentKind::Rollback,
        IntentKind::Status,
        IntentKind::History,
        IntentKind::Metrics,
        IntentKind::Approve,
        IntentKind::Deny,
        IntentKind::Abort,
        IntentKind::Pause,
        IntentKind::Resume,
        IntentKind::Lock,
        IntentKind::Unlock,
        IntentKind::Troubleshoot,
        IntentKind::MfaEnroll,
        IntentKind::Help,
    ];

    /// The canonical name: the JSON tag and the grammar file's name.
    pub fn name(self) -> &'static str {
        match self {
            IntentKind::Deploy => "deploy",
            IntentKind::Promote => "promote",
            IntentKind::Rollback => "rollback",
            IntentKind::Status => "status",
            IntentKind::History => "history",
            IntentKind::Metrics => "metrics",
            IntentKind::Approve => "approve",
            IntentKind::Deny => "deny",
            IntentKind::Abort => "abort",
            IntentKind::Pause => "pause",
            IntentKind::Resume => "resume",
            IntentKind::Lock => "lock",
            IntentKind::Unlock => "unlock",
            IntentKind::Troubleshoot => "troubleshoot",
            IntentKind::MfaEnroll => "mfa_enroll",
            IntentKind::Help => "help",
        }
    }

    pub fn from_name(name: &str) -> Option<IntentKind> {
        IntentKind::ALL.into_iter().find(|k| k.name() == name)
    }

    /// Whether running the intent changes anything (a deployment, a lock, an
    /// approval); such commands are never taken from a question.
    pub fn changes_things(self) -> bool {
        !matches!(
            self,
            IntentKind::Status
                | IntentKind::History
                | IntentKind::Metrics
                | IntentKind::Help
                | IntentKind::Troubleshoot
                | IntentKind::MfaEnroll
        )
    }

    /// The fields this intent has; a pattern may fill only these.
    pub fn fields(self) -> &'static [Field] {
        use Field as F;
        match self {
            IntentKind::Deploy => &[F::Version, F::Env, F::Strategy, F::DryRun, F::Emergency],
            IntentKind::Promote => &[F::Version, F::From, F::To, F::Strategy, F::DryRun],
            IntentKind::Rollback => &[F::Env, F::Version],
            IntentKind::Status | IntentKind::Troubleshoot => &[F::Env],
            IntentKind::Abort | IntentKind::Pause | IntentKind::Resume => &[F::Env],
            IntentKind::History => &[F::Env, F::Limit],
            IntentKind::Metrics => &[F::Env, F::Days],
            IntentKind::Approve => &[F::Id],
            IntentKind::Deny => &[F::Id, F::Reason],
            IntentKind::Lock => &[F::Env, F::Reason],
            IntentKind::Unlock => &[F::Env],
            IntentKind::Help => &[F::Topic],
            IntentKind::MfaEnroll => &[],
        }
    }

    /// The fields without which the intent means nothing; a pattern that can
    /// match without filling one of them is a grammar error.
    pub fn required(self) -> &'static [Field] {
        use Field as F;
        match self {
            IntentKind::Deploy => &[F::Version, F::Env],
            IntentKind::Promote => &[F::Version, F::From, F::To],
            IntentKind::Rollback | IntentKind::Lock | IntentKind::Unlock => &[F::Env],
            _ => &[],
        }
    }

    /// Builds the typed intent from captured values. `Err` carries a sentence for
    /// the user when the values are individually fine but do not fit together.
    pub fn build(self, slots: &Slots) -> Result<Intent, String> {
        let intent = match self {
            IntentKind::Deploy => Intent::Deploy {
                version: slots.version(Field::Version)?,
                env: slots.env(Field::Env)?,
                strategy: slots.strategy(),
                dry_run: slots.flag(Field::DryRun),
                emergency: slots.flag(Field::Emergency),
            },
            IntentKind::Promote => {
                let (from, to) = (slots.env(Field::From)?, slots.env(Field::To)?);
                if from == to {
                    return Err(format!(
                        "promote needs two different environments, but both are {from}"
                    ));
                }
                Intent::Promote {
                    version: slots.version(Field::Version)?,
                    from,
                    to,
                    strategy: slots.strategy(),
                    dry_run: slots.flag(Field::DryRun),
                }
            }
            IntentKind::Rollback => {
                let version = slots.get_version(Field::Version);
                if version.as_ref().is_some_and(|v| v.0 == "latest") {
                    return Err(
                        "a rollback returns to a known earlier version, and `latest` is not one; \
                         name the version, or say `rollback ENV` for the previous one"
                            .into(),
                    );
                }
                Intent::Rollback {
                    env: slots.env(Field::Env)?,
                    version,
                }
            }
            IntentKind::Status => Intent::Status {
                env: slots.get_env(Field::Env),
            },
            IntentKind::History => Intent::History {
                env: slots.get_env(Field::Env),
                limit: slots.count(Field::Limit),
            },
            IntentKind::Metrics => Intent::Metrics {
                env: slots.get_env(Field::Env),
                days: slots.count(Field::Days),
            },
            IntentKind::Approve => Intent::Approve { id: slots.id() },
            IntentKind::Deny => Intent::Deny {
                id: slots.id(),
                reason: slots.text(Field::Reason),
            },
            IntentKind::Abort => Intent::Abort {
                env: slots.get_env(Field::Env),
            },
            IntentKind::Pause => Intent::Pause {
                env: slots.get_env(Field::Env),
            },
            IntentKind::Resume => Intent::Resume {
                env: slots.get_env(Field::Env),
            },
            IntentKind::Lock => {
                let reason = slots.text(Field::Reason);
                if reason.as_deref().is_some_and(sounds_like_a_duration) {
                    return Err("locks do not expire on their own; lock without a time and \
                         `unlock ENV` when it is over"
                        .into());
                }
                Intent::Lock {
                    env: slots.env(Field::Env)?,
                    reason,
                }
            }
            IntentKind::Unlock => Intent::Unlock {
                env: slots.env(Field::Env)?,
            },
            IntentKind::Help => Intent::Help {
                topic: slots.topic().map(|k| k.name().to_string()),
            },
            IntentKind::Troubleshoot => Intent::Troubleshoot {
                env: slots.get_env(Field::Env),
            },
            IntentKind::MfaEnroll => Intent::MfaEnroll {},
        };
        Ok(intent)
    }
}

/// "until 5pm", "2 hours", "for the weekend": a reason that is really a time
/// limit, which a lock does not have. Refusing it beats a lock that outlives the
/// intention.
fn sounds_like_a_duration(reason: &str) -> bool {
    let lower = reason.to_ascii_lowercase();
    let mut words = lower.split_whitespace();
    let first = words.next().unwrap_or_default();
    let second = words.next().unwrap_or_default();
    let unit = |w: &str| {
        let w = w.trim_end_matches('s');
        matches!(
            w,
            "minute" | "min" | "hour" | "hr" | "h" | "m" | "day" | "d" | "week"
        )
    };
    matches!(first, "until" | "till" | "til" | "for")
        || (first.bytes().next().is_some_and(|b| b.is_ascii_digit())
            && (unit(second) || unit(first.trim_start_matches(|c: char| c.is_ascii_digit()))))
}

/// The values one successful match captured, in capture order.
#[derive(Debug, Default, Clone)]
pub struct Slots(pub Vec<(Field, SlotValue)>);

impl Slots {
    fn get(&self, field: Field) -> Option<&SlotValue> {
        // The last capture wins: a flag set twice, or an optional phrase repeated.
        self.0
            .iter()
            .rev()
            .find(|(f, _)| *f == field)
            .map(|(_, v)| v)
    }

    fn missing(field: Field) -> String {
        format!("missing {}", field.describe())
    }

    fn get_version(&self, field: Field) -> Option<Version> {
        match self.get(field) {
            Some(SlotValue::Version(v)) => Some(Version(v.clone())),
            _ => None,
        }
    }

    fn version(&self, field: Field) -> Result<Version, String> {
        self.get_version(field).ok_or_else(|| Self::missing(field))
    }

    fn get_env(&self, field: Field) -> Option<EnvName> {
        match self.get(field) {
            Some(SlotValue::Env(e)) => Some(EnvName(e.clone())),
            _ => None,
        }
    }

    fn env(&self, field: Field) -> Result<EnvName, String> {
        self.get_env(field).ok_or_else(|| Self::missing(field))
    }

    fn strategy(&self) -> Option<Strategy> {
        match self.get(Field::Strategy) {
            Some(SlotValue::Strategy(s)) => Some(*s),
            _ => None,
        }
    }

    fn flag(&self, field: Field) -> bool {
        matches!(self.get(field), Some(SlotValue::Flag(true)))
    }

    fn count(&self, field: Field) -> Option<u32> {
        match self.get(field) {
            Some(SlotValue::Number(n)) => u32::try_from(*n).ok(),
            _ => None,
        }
    }

    fn id(&self) -> Option<u64> {
        match self.get(Field::Id) {
            Some(SlotValue::Number(n)) => Some(*n),
            _ => None,
        }
    }

    fn text(&self, field: Field) -> Option<String> {
        match self.get(field) {
            Some(SlotValue::Text(t)) => Some(t.clone()),
            _ => None,
        }
    }

    fn topic(&self) -> Option<IntentKind> {
        match self.get(Field::Topic) {
            Some(SlotValue::Topic(k)) => Some(*k),
            _ => None,
        }
    }
}
