//! The examples in the grammar files, run as tests: each says what a sentence
//! must mean (`means`) or that it must be refused (`refused`). The test suite and
//! `check-config` both run them, so an operator's edit that breaks a documented
//! phrasing is caught before the bot starts.

use std::collections::BTreeMap;

use super::files::Example;
use super::grammar::Grammar;
use super::kind::IntentKind;
use super::model::Intent;

impl Grammar {
    /// Runs every example of every intent file; returns one line per failure.
    pub fn check_examples(&self) -> Vec<String> {
        let mut failures = Vec::new();
        for spec in self.specs() {
            for ex in &spec.examples {
                if let Err(why) = self.check_example(spec.kind, ex) {
                    failures.push(format!("{}.toml: \"{}\": {why}", spec.kind.name(), ex.say));
                }
            }
        }
        failures
    }

    fn check_example(&self, kind: IntentKind, ex: &Example) -> Result<(), String> {
        match (&ex.means, &ex.refused, self.parse(&ex.say)) {
            (Some(_), Some(_), _) | (None, None, _) => {
                Err("give exactly one of `means` or `refused`".into())
            }
            (None, Some(_), Ok(intent)) => {
                Err(format!("should be refused but reads as {}", json(&intent)))
            }
            (None, Some(want), Err(e)) if !e.error.contains(want.as_str()) => Err(format!(
                "refused with \"{}\", which does not contain \"{want}\"",
                e.error
            )),
            (None, Some(_), Err(_)) => Ok(()),
            (Some(_), None, Err(e)) => Err(format!("refused: {}", e.error)),
            (Some(means), None, Ok(intent)) => {
                let got = serde_json::to_value(&intent).map_err(|e| e.to_string())?;
                let mut want = BTreeMap::new();
                want.insert("intent".to_string(), serde_json::Value::from(kind.name()));
                for (key, value) in got.as_object().into_iter().flatten() {
                    if key != "intent" {
                        let default = if value.is_boolean() {
                            false.into()
                        } else {
                            serde_json::Value::Null
                        };
                        want.insert(key.clone(), default);
                    }
                }
                for (key, value) in means {
                    if !want.contains_key(key) {
                        return Err(format!("means.{key}: {} has no such field", kind.name()));
                    }
                    want.insert(
                        key.clone(),
                        serde_json::to_value(value).map_err(|e| e.to_string())?,
                    );
                }
                let want = serde_json::to_value(want).map_err(|e| e.to_string())?;
                if got == want {
                    Ok(())
                } else {
                    Err(format!("reads as {got}, expected {want}"))
                }
            }
        }
    }
}

fn json(intent: &Intent) -> String {
    serde_json::to_string(intent).unwrap_or_default()
}
