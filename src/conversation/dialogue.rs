//! Pending questions: a confirmation, a TOTP code, an enrolment code. Each
//! belongs to one (channel, user), answers only that person, and expires.
//!
//! The TOTP question is bound to the one action it was asked for: the action
//! travels inside the pending question, so a code typed for a rollback can
//! never start a deployment, and a second command replaces the question rather
//! than inheriting its answer.

use std::sync::Arc;

use super::Agent;
use super::deploys::Action;
use crate::chat::{AskKind, Attachment, Incoming, Message};
use crate::mfa::Refusal as MfaRefusal;

/// A question the agent asked and waits for. Serialized into the store with
/// its action, so a replica can take the question over when the one that
/// asked is gone.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub enum Pending {
    /// "Proceed with PRD promotion? (yes/no)"; `mfa` says a code comes next.
    Confirm { action: Action, mfa: bool },
    /// "Enter TOTP code" for exactly this action.
    Totp { action: Action },
    /// The first code from a newly enrolled authenticator.
    EnrollCode,
    /// A code from the current authenticator, before it may be replaced.
    ReplaceCode,
}

impl Pending {
    fn question(&self) -> &'static str {
        match self {
            Pending::Confirm { .. } => "confirmation",
            Pending::Totp { .. } | Pending::ReplaceCode => "TOTP code",
            Pending::EnrollCode => "enrolment code",
        }
    }

    fn what(&self) -> String {
        match self {
            Pending::Confirm { action, .. } | Pending::Totp { action } => action.describe(),
            Pending::EnrollCode | Pending::ReplaceCode => "setting up your authenticator".into(),
        }
    }
}

/// How someone answers a yes/no question.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    Yes,
    No,
}

/// Reads a yes/no answer; anything else is not an answer (and will be read as
/// a new command).
pub fn yes_or_no(text: &str) -> Option<Answer> {
    let word = text
        .trim()
        .trim_end_matches(['.', '!'])
        .to_ascii_lowercase();
    match word.as_str() {
        "yes" | "y" | "yep" | "yeah" | "confirm" | "confirmed" | "proceed" | "go" | "go ahead"
        | "do it" | "ok" | "okay" => Some(Answer::Yes),
        "no" | "n" | "nope" | "cancel" | "stop" | "abort" | "don't" | "dont" => Some(Answer::No),
        _ => None,
    }
}

/// Whether `text` was meant as a TOTP code (digits, maybe spaced: "123 456").
/// A few digits too many or too few still count, so the answer is "a code is
/// 6 digits", not "not a command".
pub fn looks_like_code(text: &str) -> bool {
    let digits: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    (4..=10).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit())
}

impl Agent {
    /// Asks `pending` of the speaker and arms its expiry timer.
    pub(crate) async fn ask(self: &Arc<Self>, msg: &Incoming, pending: Pending, text: String) {
        let key = (msg.channel.clone(), msg.user.clone());
        let confirm = matches!(pending, Pending::Confirm { .. });
        self.record_question(&key, &pending).await;
        let (id, replaced) = {
            let mut state = self.state.lock().expect("state lock");
            state.next_question += 1;
            let id = state.next_question;
            let replaced = state
                .dialogues
                .insert(key.clone(), (id, pending))
                .map(|(_, p)| p);
            (id, replaced)
        };
        // One question per person: a new one drops the old, and says so.
        if let Some(old) = replaced {
            let view = serde_json::json!({"kind": "replaced", "question": old.question(), "what": old.what()});
            self.say(&msg.channel, self.render("dialogue.j2", view))
                .await;
        }
        let asks = crate::chat::Ask {
            kind: if confirm {
                AskKind::Confirm
            } else {
                AskKind::Code
            },
            user: msg.user.clone(),
        };
        self.send(Message {
            asks: Some(asks),
            ..Message::to_channel(&msg.channel, text)
        })
        .await;
        self.arm_expiry(key, id, self.question_timeout);
    }

    /// Expires question `id` of `key` after `after`, unless it was answered
    /// or replaced by then.
    fn arm_expiry(self: &Arc<Self>, key: (String, String), id: u64, after: std::time::Duration) {
        let agent = Arc::downgrade(self);
        tokio::spawn(async move {
            tokio::time::sleep(after).await;
            let Some(agent) = agent.upgrade() else { return };
            let expired = {
                let mut state = agent.state.lock().expect("state lock");
                match state.dialogues.get(&key) {
                    Some((current, _)) if *current == id => state.dialogues.remove(&key),
                    _ => None,
                }
            };
            if let Some((_, pending)) = expired {
                agent.unrecord_question(&key).await;
                let text = agent.render(
                    "dialogue.j2",
                    serde_json::json!({"kind": "expired", "user": key.1, "question": pending.question(), "what": pending.what()}),
                );
                agent.say(&key.0, text).await;
            }
        });
    }

    /// If the speaker has a pending question and `msg` answers it, handles the
    /// answer and returns true. Text that is not an answer leaves the question
    /// pending and returns false (it is read as a new command).
    pub(crate) async fn answer_pending(self: &Arc<Self>, msg: &Incoming) -> bool {
        let key = (msg.channel.clone(), msg.user.clone());
        let pending = {
            let state = self.state.lock().expect("state lock");
            state.dialogues.get(&key).map(|(_, p)| p.clone())
        };
        let pending = match pending {
            Some(p) => p,
            None => match self.adopt_question(&key).await {
                Some(p) => p,
                None => return false,
            },
        };
        match pending {
            Pending::Confirm { action, mfa } => {
                let Some(answer) = yes_or_no(&msg.text) else {
                    return false;
                };
                self.forget_question(&key).await;
                match answer {
                    Answer::No => {
                        self.cancelled(msg, &action).await;
                    }
                    Answer::Yes if mfa => self.ask_code(msg, action).await,
                    Answer::Yes => self.proceed(msg, action).await,
                }
                true
            }
            Pending::Totp { action } if yes_or_no(&msg.text) == Some(Answer::No) => {
                self.forget_question(&key).await;
                self.cancelled(msg, &action).await;
                true
            }
            // A code question is answered only by something that looks like a
            // code; anything else is read as a new command.
            Pending::Totp { .. } | Pending::ReplaceCode | Pending::EnrollCode
                if !looks_like_code(&msg.text) =>
            {
                false
            }
            Pending::Totp { action } => {
                match self
                    .mfa
                    .verify(&msg.user, &msg.text, self.clock.now_ms())
                    .await
                {
                    Ok(_) => {
                        self.forget_question(&key).await;
                        let text = self.render("mfa_result.j2", serde_json::json!({"ok": true}));
                        self.say(&msg.channel, text).await;
                        self.proceed(msg, action).await;
                    }
                    Err(refusal) => {
                        // A lockout ends the question; a wrong code may be retried.
                        if matches!(
                            refusal,
                            MfaRefusal::LockedOut { .. } | MfaRefusal::NotEnrolled
                        ) {
                            self.forget_question(&key).await;
                        }
                        self.code_refused(msg, &refusal, false).await;
                    }
                }
                true
            }
            Pending::ReplaceCode => {
                match self
                    .mfa
                    .verify(&msg.user, &msg.text, self.clock.now_ms())
                    .await
                {
                    Ok(_) => {
                        self.forget_question(&key).await;
                        self.enroll(msg).await;
                    }
                    Err(refusal) => {
                        self.code_refused(msg, &refusal, true).await;
                    }
                }
                true
            }
            Pending::EnrollCode => {
                match self
                    .mfa
                    .confirm_enrollment(&msg.user, &msg.text, self.clock.now_ms())
                    .await
                {
                    Ok(()) => {
                        self.forget_question(&key).await;
                        let text = self.render("reply.j2", serde_json::json!({"kind": "enrolled"}));
                        self.send(Message::private(&msg.channel, &msg.user, text))
                            .await;
                    }
                    Err(refusal) => {
                        self.code_refused(msg, &refusal, true).await;
                    }
                }
                true
            }
        }
    }

    /// Says why a code was refused; privately when `private`.
    async fn code_refused(&self, msg: &Incoming, refusal: &MfaRefusal, private: bool) {
        let text = self.render(
            "mfa_result.j2",
            serde_json::json!({"ok": false, "refusal": refusal.to_string()}),
        );
        if private {
            self.send(Message::private(&msg.channel, &msg.user, text))
                .await;
        } else {
            self.say(&msg.channel, text).await;
        }
    }

    /// Tells the speaker `action` was cancelled (it held nothing yet).
    async fn cancelled(&self, msg: &Incoming, action: &Action) {
        let what = action.describe();
        let text = self.render(
            "dialogue.j2",
            serde_json::json!({"kind": "cancelled", "what": what}),
        );
        self.say(&msg.channel, text).await;
    }

    /// Asks for a TOTP code bound to `action`.
    pub(crate) async fn ask_code(self: &Arc<Self>, msg: &Incoming, action: Action) {
        let text = self.render(
            "ask_totp.j2",
            serde_json::json!({"what": action.describe()}),
        );
        self.ask(msg, Pending::Totp { action }, text).await;
    }

    async fn forget_question(&self, key: &(String, String)) {
        self.state.lock().expect("state lock").dialogues.remove(key);
        self.unrecord_question(key).await;
    }

    /// Tells the other replicas that this one waits for an answer from
    /// `key`'s user in `key`'s channel, and what for, so that one of them
    /// can take the question over should this one die before the answer.
    async fn record_question(&self, key: &(String, String), pending: &Pending) {
        let until = self.clock.now_ms() + self.question_timeout.as_millis() as i64;
        self.store_question(key, pending, until).await;
    }

    async fn store_question(&self, key: &(String, String), pending: &Pending, until: i64) {
        let Ok(json) = serde_json::to_string(pending) else {
            return;
        };
        if let Err(e) = self
            .store
            .put_question(&key.0, &key.1, self.engine.replica(), until, &json)
            .await
        {
            tracing::warn!(error = %e, "could not record a question for the other replicas");
        }
    }

    /// The open question of a replica that is gone (see [`super::routing`]),
    /// taken over: remembered here, recorded as this replica's, expiring
    /// when it would have.
    async fn adopt_question(self: &Arc<Self>, key: &(String, String)) -> Option<Pending> {
        let now = self.clock.now_ms();
        let open = self.store.open_question(&key.0, &key.1, now).await.ok()??;
        if open.replica == self.engine.replica() || self.engine.is_alive(&open.replica).await {
            return None;
        }
        let pending: Pending = serde_json::from_str(&open.pending).ok()?;
        tracing::info!(from = %open.replica, user = %key.1, "took over a question of a replica that is gone");
        self.store_question(key, &pending, open.expires_at).await;
        let id = {
            let mut state = self.state.lock().expect("state lock");
            state.next_question += 1;
            let id = state.next_question;
            state.dialogues.insert(key.clone(), (id, pending.clone()));
            id
        };
        let left = u64::try_from(open.expires_at - now).unwrap_or(0);
        self.arm_expiry(key.clone(), id, std::time::Duration::from_millis(left));
        Some(pending)
    }

    /// What kind of answer `user` owes in `channel`, here or, for a question
    /// of a replica that is gone, in the store: lets a chat adapter take a
    /// bare "yes" or code as an answer.
    pub async fn owed_answer(&self, channel: &str, user: &str) -> Option<AskKind> {
        let key = (channel.to_string(), user.to_string());
        let known = {
            let state = self.state.lock().expect("state lock");
            state.dialogues.get(&key).map(|(_, p)| p.clone())
        };
        let pending = match known {
            Some(p) => p,
            None => {
                let open = self
                    .store
                    .open_question(channel, user, self.clock.now_ms())
                    .await
                    .ok()??;
                serde_json::from_str(&open.pending).ok()?
            }
        };
        Some(match pending {
            Pending::Confirm { .. } => AskKind::Confirm,
            _ => AskKind::Code,
        })
    }

    async fn unrecord_question(&self, key: &(String, String)) {
        if let Err(e) = self
            .store
            .drop_question(&key.0, &key.1, self.engine.replica())
            .await
        {
            tracing::warn!(error = %e, "could not forget a question");
        }
    }

    /// `mfa enroll`: a new secret, shown privately, active after one valid code.
    pub(crate) async fn enroll(self: &Arc<Self>, msg: &Incoming) {
        match self
            .mfa
            .begin_enrollment(&msg.user, self.clock.now_ms())
            .await
        {
            Ok(enrollment) => {
                let text = self.render(
                    "reply.j2",
                    serde_json::json!({"kind": "enroll", "uri": enrollment.otpauth_uri}),
                );
                // The QR code for phones; a platform that cannot show it keeps the URI.
                let attachments = vec![Attachment {
                    name: "switchyard-mfa.png".into(),
                    bytes: enrollment.qr_png.clone(),
                }];
                self.send(Message {
                    attachments,
                    asks: Some(crate::chat::Ask {
                        kind: AskKind::Code,
                        user: msg.user.clone(),
                    }),
                    ..Message::private(&msg.channel, &msg.user, text)
                })
                .await;
                let key = (msg.channel.clone(), msg.user.clone());
                {
                    let mut state = self.state.lock().expect("state lock");
                    state.next_question += 1;
                    let id = state.next_question;
                    state
                        .dialogues
                        .insert(key.clone(), (id, Pending::EnrollCode));
                }
                self.record_question(&key, &Pending::EnrollCode).await;
            }
            // Replacing an authenticator first takes a code from the current one,
            // or a taken-over chat account could enrol its own device.
            Err(MfaRefusal::CodeFirst { .. }) => {
                let text = self.render(
                    "ask_totp.j2",
                    serde_json::json!({"what": "replacing your authenticator"}),
                );
                self.ask(msg, Pending::ReplaceCode, text).await;
            }
            Err(e) => self.refuse(&msg.channel, &e.to_string(), None).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yes_and_no_in_the_ways_people_say_them() {
        for yes in ["yes", "Y", "yes!", "confirm", "go ahead", "OK"] {
            assert_eq!(yes_or_no(yes), Some(Answer::Yes), "{yes}");
        }
        for no in ["no", "n", "cancel", "Nope."] {
            assert_eq!(yes_or_no(no), Some(Answer::No), "{no}");
        }
        assert_eq!(yes_or_no("yes deploy 1.3.0 to prd"), None);
    }

    #[test]
    fn codes_are_six_to_eight_digits_maybe_spaced() {
        assert!(looks_like_code("123456"));
        assert!(looks_like_code("123 456"));
        assert!(
            looks_like_code("12345"),
            "answered with 'a code is 6 digits'"
        );
        assert!(!looks_like_code("123"));
        assert!(!looks_like_code("approve 42"));
    }
}
