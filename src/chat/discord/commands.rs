//! Slash commands, generated from the grammar: one command per intent
//! (`/promote version from to`, `/rollback env [version]`, …) whose options
//! are the intent's fields, typed (environments and strategies as choices,
//! counts as integers, flags as booleans) and required where the intent
//! requires them. An invocation becomes the intent's canonical command line,
//! which then goes through the same grammar, policy and dialogue as a typed
//! message: there is one pipeline, whichever way a command arrives.

use serenity::all::{
    CommandDataOption, CommandDataOptionValue, CommandOptionType, CreateCommand,
    CreateCommandOption,
};

use crate::config::Config;
use crate::intent::{Field, Grammar, IntentKind, SlotType, SlotValue, Slots, Strategy};

use crate::config::discord_limits::{CHOICES, DESCRIPTION as MAX_DESCRIPTION};

/// The first line of `text`, cut to Discord's limit on descriptions.
fn short(text: &str) -> String {
    let line = text.lines().next().unwrap_or_default().trim();
    if line.chars().count() <= MAX_DESCRIPTION {
        line.to_string()
    } else {
        let cut: String = line.chars().take(MAX_DESCRIPTION - 1).collect();
        format!("{cut}…")
    }
}

/// The slash commands for `grammar`, with `config`'s environments as choices.
pub fn definitions(grammar: &Grammar, config: &Config) -> Vec<CreateCommand> {
    grammar
        .specs()
        .iter()
        .map(|spec| {
            let kind = spec.kind;
            let mut fields: Vec<Field> = kind.fields().to_vec();
            // Discord wants required options first.
            fields.sort_by_key(|f| !kind.required().contains(f));
            // Discord refuses every command when one has an empty description
            // (check-config reports such a summary; this keeps the rest working).
            let summary = match short(&spec.summary) {
                line if line.is_empty() => kind.name().replace('_', " "),
                line => line,
            };
            fields.into_iter().fold(
                CreateCommand::new(kind.name()).description(summary),
                |command, field| {
                    command.add_option(option(field, kind.required().contains(&field), config))
                },
            )
        })
        .collect()
}

fn option(field: Field, required: bool, config: &Config) -> CreateCommandOption {
    let describe = short(field.describe());
    let string = |name: &str| {
        CreateCommandOption::new(CommandOptionType::String, name, &describe).required(required)
    };
    match field.slot_type() {
        SlotType::Env => config
            .environments
            .iter()
            .take(CHOICES)
            .fold(string(field.name()), |o, env| {
                o.add_string_choice(&env.name, &env.name)
            }),
        SlotType::Strategy => [
            Strategy::BlueGreen,
            Strategy::Canary,
            Strategy::Rolling,
            Strategy::AllAtOnce,
        ]
        .into_iter()
        .fold(string(field.name()), |o, s| {
            o.add_string_choice(s.as_str(), s.as_str())
        }),
        SlotType::Topic => IntentKind::ALL
            .into_iter()
            .fold(string(field.name()), |o, k| {
                o.add_string_choice(k.name(), k.name())
            }),
        SlotType::Count | SlotType::Id => {
            CreateCommandOption::new(CommandOptionType::Integer, field.name(), describe)
                .required(required)
                .min_int_value(1)
        }
        SlotType::Flag => {
            CreateCommandOption::new(CommandOptionType::Boolean, field.name(), describe)
                .required(required)
        }
        SlotType::Version => string(field.name()).max_length(128),
        SlotType::Text => string(field.name()).max_length(500),
    }
}

/// The command line a slash command stands for, or a sentence saying what was
/// wrong with it. The line is parsed again by the grammar, so nothing here
/// needs to be trusted: an odd version is refused there, with the usual words.
pub fn command_line(name: &str, options: &[CommandDataOption]) -> Result<String, String> {
    let kind = IntentKind::from_name(name)
        .ok_or_else(|| format!("`/{name}` is not a switchyard command"))?;
    let mut slots = Vec::new();
    for o in options {
        let field = Field::from_name(&o.name)
            .filter(|f| kind.fields().contains(f))
            .ok_or_else(|| format!("`/{name}` has no option `{}`", o.name))?;
        let value = match (&o.value, field.slot_type()) {
            (CommandDataOptionValue::String(s), SlotType::Version) => SlotValue::Version(s.clone()),
            (CommandDataOptionValue::String(s), SlotType::Env) => SlotValue::Env(s.clone()),
            (CommandDataOptionValue::String(s), SlotType::Text) => SlotValue::Text(s.clone()),
            (CommandDataOptionValue::String(s), SlotType::Strategy) => SlotValue::Strategy(
                Strategy::from_name(s).ok_or_else(|| format!("`{s}` is not a strategy"))?,
            ),
            (CommandDataOptionValue::String(s), SlotType::Topic) => SlotValue::Topic(
                IntentKind::from_name(s).ok_or_else(|| format!("`{s}` is not a command"))?,
            ),
            (CommandDataOptionValue::Integer(n), SlotType::Count | SlotType::Id) => {
                SlotValue::Number(
                    u64::try_from(*n).map_err(|_| format!("{} must be positive", o.name))?,
                )
            }
            (CommandDataOptionValue::Boolean(b), SlotType::Flag) => SlotValue::Flag(*b),
            _ => return Err(format!("option `{}` has the wrong type", o.name)),
        };
        slots.push((field, value));
    }
    kind.build(&Slots(slots))
        .map(|intent| intent.command_line())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opt(name: &str, value: CommandDataOptionValue) -> CommandDataOption {
        serde_json::from_value(serde_json::json!({"name": name, "type": 3, "value": ""}))
            .map(|mut o: CommandDataOption| {
                o.value = value;
                o
            })
            .unwrap()
    }

    #[test]
    fn a_promote_invocation_is_the_canonical_command_line() {
        let options = [
            opt("version", CommandDataOptionValue::String("1.3.0".into())),
            opt("from", CommandDataOptionValue::String("tst".into())),
            opt("to", CommandDataOptionValue::String("prd".into())),
        ];
        assert_eq!(
            command_line("promote", &options).unwrap(),
            "promote 1.3.0 from tst to prd"
        );
    }

    #[test]
    fn unknown_commands_options_and_negative_numbers_are_refused() {
        assert!(command_line("frobnicate", &[]).is_err());
        let bad = [opt("colour", CommandDataOptionValue::String("x".into()))];
        assert!(command_line("status", &bad).is_err());
        let negative = [opt("limit", CommandDataOptionValue::Integer(-3))];
        assert!(command_line("history", &negative).is_err());
    }

    #[test]
    fn every_intent_becomes_a_command_with_required_options_first() {
        let config = Config::demo();
        let grammar = Grammar::for_config(&config).unwrap();
        let defs = definitions(&grammar, &config);
        assert_eq!(defs.len(), IntentKind::ALL.len());
        let promote = serde_json::to_value(&defs[1]).unwrap();
        assert_eq!(promote["name"], "promote");
        let names: Vec<&str> = promote["options"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["name"].as_str().unwrap())
            .collect();
        assert_eq!(&names[..3], ["version", "from", "to"]);
        assert_eq!(promote["options"][1]["choices"][0]["value"], "dev");
    }
}
