//! Why policy said no, worded for the person who asked. A refusal carries the
//! configuration key that decided (an operator can find and change it), a
//! sentence for the user, and who could do it instead, so the answer to "may
//! not" is always "ask alice or bob". The parts are separate fields so a
//! template can lay them out differently; `Display` is the plain sentence.

/// How many names a refusal lists before it says "or N others": a long list in
/// chat is noise, and the first few are enough to know whom to ask.
const NAMES_SHOWN: usize = 5;

/// Longest piece of user-typed text (an environment word, a version) that a
/// refusal repeats back.
const ECHO_CHARS: usize = 64;

/// A command policy does not allow. Displays as one or two sentences, e.g.
/// "carol may not deploy to prd: in prd only the roles deployer, admin may
/// deploy (alice, bob or dave could)."
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}{}", could(.who_could))]
pub struct Refusal {
    /// The rule that refused: a configuration key such as
    /// `environments.prd.policy.deploy`, `users` for an unknown user, or
    /// `four_eyes` for the built-in rule that nobody approves their own change.
    pub rule: String,
    /// What is refused and why, without a final full stop (`Display` adds the
    /// names and the stop).
    pub message: String,
    /// Login names of users who could do it instead; empty when nobody could
    /// (a version the environment never accepts) or anyone configured could.
    pub who_could: Vec<String>,
}

impl Refusal {
    pub(super) fn new(rule: impl Into<String>, message: String, who_could: Vec<String>) -> Refusal {
        Refusal {
            rule: rule.into(),
            message,
            who_could,
        }
    }
}

/// " (alice, bob or dave could)." or "." when nobody is named.
fn could(names: &[String]) -> String {
    if names.is_empty() {
        return ".".to_owned();
    }
    format!(" ({} could).", or_list(names))
}

/// "alice", "alice or bob", "alice, bob or dave", "a, b, c, d, e or 2 others".
pub(super) fn or_list(names: &[String]) -> String {
    match names {
        [] => String::new(),
        [one] => one.clone(),
        _ if names.len() > NAMES_SHOWN => {
            let rest = names.len() - NAMES_SHOWN;
            format!(
                "{} or {rest} other{}",
                names[..NAMES_SHOWN].join(", "),
                if rest == 1 { "" } else { "s" }
            )
        }
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

/// "the role admin", "the roles deployer, admin", or "no role".
pub(super) fn roles_phrase(roles: &[&str]) -> String {
    match roles {
        [] => "no role".to_owned(),
        [one] => format!("the role {one}"),
        _ => format!("the roles {}", roles.join(", ")),
    }
}

/// User-typed text as a refusal repeats it: in backticks, without characters
/// that chat platforms treat as markup or mentions, and cut short. Intents
/// carry checked words already; this guards callers passing raw text.
pub(super) fn shown(text: &str) -> String {
    let clean: String = text
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '+'))
        .take(ECHO_CHARS)
        .collect();
    if clean.is_empty() {
        "that".to_owned()
    } else {
        format!("`{clean}`")
    }
}
