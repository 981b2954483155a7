//! Discord's validation of what a bot sends: message payloads (content,
//! embeds, components, allowed mentions, files), modals, and application
//! command definitions. A failure becomes Discord's 400 "Invalid Form Body"
//! (code 50035) with the offending field's path, or the specific error
//! Discord uses (empty message 50006, too large 40005).

use std::collections::HashSet;
use std::sync::OnceLock;

use regex::Regex;
use serde_json::Value;

use super::json::ATTACHMENT_SIZE_LIMIT;
use super::rest::Reply;
use super::state::{FakeMessage, rows_components};

/// One invalid field.
pub(super) struct FieldError {
    /// Dotted path into the body, e.g. `components.0.components.1.custom_id`.
    pub path: String,
    /// Discord's error code string, e.g. `BASE_TYPE_MAX_LENGTH`.
    pub code: &'static str,
    pub message: String,
}

/// Collects field errors under a path prefix.
struct Errors<'a> {
    prefix: &'a str,
    list: Vec<FieldError>,
}

impl Errors<'_> {
    fn add(&mut self, path: &str, code: &'static str, message: impl Into<String>) {
        self.list.push(FieldError {
            path: format!("{}{path}", self.prefix),
            code,
            message: message.into(),
        });
    }

    /// A string field longer than `max` characters.
    fn max_len(&mut self, value: &Value, path: &str, max: usize) {
        if let Some(s) = value.as_str()
            && s.chars().count() > max
        {
            self.add(
                path,
                "BASE_TYPE_MAX_LENGTH",
                format!("Must be {max} or fewer in length."),
            );
        }
    }

    /// A string field missing, empty or longer than `max` characters.
    fn len_between(&mut self, value: &Value, path: &str, min: usize, max: usize) {
        let count = value.as_str().map_or(0, |s| s.chars().count());
        if count < min || count > max {
            self.add(
                path,
                "BASE_TYPE_BAD_LENGTH",
                format!("Must be between {min} and {max} in length."),
            );
        }
    }

    fn into_result(self) -> Result<(), Reply> {
        if self.list.is_empty() {
            Ok(())
        } else {
            Err(Reply::invalid_form(self.list))
        }
    }
}

/// The fields of a message payload (create, edit, interaction response,
/// follow-up) that are present. `prefix` is `""` for channel routes and
/// `"data."` inside an interaction callback.
pub(super) fn message_payload(
    body: &Value,
    files: &[(String, Vec<u8>)],
    prefix: &str,
) -> Result<(), Reply> {
    let size: usize = files.iter().map(|(_, bytes)| bytes.len()).sum();
    if size > ATTACHMENT_SIZE_LIMIT {
        return Err(Reply::error(413, 40005, "Request entity too large"));
    }
    let mut errors = Errors {
        prefix,
        list: Vec::new(),
    };
    if !body.is_object() && !body.is_null() {
        errors.add(
            "",
            "MODEL_TYPE_CONVERT",
            "Only dictionaries may be used in a ModelType",
        );
        return errors.into_result();
    }
    errors.max_len(&body["content"], "content", 2000);
    if files.len() > 10 {
        errors.add(
            "files",
            "BASE_TYPE_MAX_LENGTH",
            "Must be 10 or fewer in length.",
        );
    }
    check_embeds(&body["embeds"], &mut errors);
    check_components(&body["components"], &mut errors);
    let allowed = &body["allowed_mentions"];
    let parse: Vec<&str> = allowed["parse"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    for (kind, list) in [("users", &allowed["users"]), ("roles", &allowed["roles"])] {
        if parse.contains(&kind) && list.as_array().is_some_and(|l| !l.is_empty()) {
            errors.add(
                &format!("allowed_mentions.{kind}"),
                "MESSAGE_ALLOWED_MENTIONS_PARSE_EXCLUSIVE",
                format!("parse:[\"{kind}\"] and {kind}: [ids...] are mutually exclusive."),
            );
        }
        if list.as_array().is_some_and(|l| l.len() > 100) {
            errors.add(
                &format!("allowed_mentions.{kind}"),
                "BASE_TYPE_MAX_LENGTH",
                "Must be 100 or fewer in length.",
            );
        }
    }
    errors.into_result()
}

/// A message as it would stand must show something (50006).
pub(super) fn not_empty(msg: &FakeMessage) -> Result<(), Reply> {
    let empty = |v: &Value| v.as_array().is_none_or(Vec::is_empty);
    if msg.content.is_empty()
        && empty(&msg.embeds)
        && empty(&msg.components)
        && msg.attachments.is_empty()
        && !msg.loading()
    {
        return Err(Reply::error(400, 50006, "Cannot send an empty message"));
    }
    Ok(())
}

/// At most 10 embeds, 6,000 characters in all, and the per-field limits.
fn check_embeds(embeds: &Value, errors: &mut Errors<'_>) {
    let Some(embeds) = embeds.as_array() else {
        return;
    };
    if embeds.len() > 10 {
        errors.add(
            "embeds",
            "BASE_TYPE_MAX_LENGTH",
            "Must be 10 or fewer in length.",
        );
    }
    let chars = |v: &Value| v.as_str().map_or(0, |s| s.chars().count());
    let mut total = 0;
    for (i, embed) in embeds.iter().enumerate() {
        let at = |field: &str| format!("embeds.{i}.{field}");
        errors.max_len(&embed["title"], &at("title"), 256);
        errors.max_len(&embed["description"], &at("description"), 4096);
        errors.max_len(&embed["footer"]["text"], &at("footer.text"), 2048);
        errors.max_len(&embed["author"]["name"], &at("author.name"), 256);
        total += chars(&embed["title"])
            + chars(&embed["description"])
            + chars(&embed["footer"]["text"])
            + chars(&embed["author"]["name"]);
        let fields = embed["fields"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default();
        if fields.len() > 25 {
            errors.add(
                &at("fields"),
                "BASE_TYPE_MAX_LENGTH",
                "Must be 25 or fewer in length.",
            );
        }
        for (j, field) in fields.iter().enumerate() {
            errors.len_between(&field["name"], &at(&format!("fields.{j}.name")), 1, 256);
            errors.len_between(&field["value"], &at(&format!("fields.{j}.value")), 1, 1024);
            total += chars(&field["name"]) + chars(&field["value"]);
        }
    }
    if total > 6000 {
        errors.add(
            "embeds",
            "MAX_EMBED_SIZE_EXCEEDED",
            "Embed size exceeds maximum size of 6000",
        );
    }
}

/// At most 5 action rows of at most 5 buttons (or one select menu each),
/// unique `custom_id`s of at most 100 characters, labels of at most 80.
fn check_components(rows: &Value, errors: &mut Errors<'_>) {
    let Some(rows) = rows.as_array() else {
        return;
    };
    if rows.len() > 5 {
        errors.add(
            "components",
            "BASE_TYPE_MAX_LENGTH",
            "Must be 5 or fewer in length.",
        );
    }
    let mut seen = HashSet::new();
    for (i, row) in rows.iter().enumerate() {
        if row["type"] != 1 {
            errors.add(
                &format!("components.{i}.type"),
                "BASE_TYPE_CHOICES",
                "Value must be one of {1}.",
            );
            continue;
        }
        let components = row["components"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default();
        let selects = components.iter().filter(|c| c["type"] != 2).count();
        if components.is_empty() || components.len() > 5 || (selects > 0 && components.len() > 1) {
            errors.add(
                &format!("components.{i}.components"),
                "BASE_TYPE_BAD_LENGTH",
                "Must be between 1 and 5 in length (a select menu fills its row).",
            );
        }
        for (j, component) in components.iter().enumerate() {
            let at = |field: &str| format!("components.{i}.components.{j}.{field}");
            errors.max_len(&component["label"], &at("label"), 80);
            let link = component["type"] == 2 && component["style"] == 5;
            match component["custom_id"].as_str() {
                Some(id) => {
                    errors.len_between(&component["custom_id"], &at("custom_id"), 1, 100);
                    if !seen.insert(id.to_string()) {
                        errors.add(
                            &at("custom_id"),
                            "COMPONENT_CUSTOM_ID_DUPLICATED",
                            "Component custom id cannot be duplicated",
                        );
                    }
                }
                None if !link => {
                    errors.add(
                        &at("custom_id"),
                        "BASE_TYPE_REQUIRED",
                        "This field is required",
                    );
                }
                None => {}
            }
        }
    }
}

/// A modal (interaction callback type 9): a title of 1 to 45 characters, 1
/// to 5 rows of exactly one text input each, labels of 1 to 45 characters,
/// unique custom ids.
pub(super) fn modal(data: &Value) -> Result<(), Reply> {
    let mut errors = Errors {
        prefix: "data.",
        list: Vec::new(),
    };
    errors.len_between(&data["title"], "title", 1, 45);
    errors.len_between(&data["custom_id"], "custom_id", 1, 100);
    let rows = data["components"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    if rows.is_empty() || rows.len() > 5 {
        errors.add(
            "components",
            "BASE_TYPE_BAD_LENGTH",
            "Must be between 1 and 5 in length.",
        );
    }
    let mut seen = HashSet::new();
    for (i, row) in rows.iter().enumerate() {
        let inputs = row["components"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default();
        if row["type"] != 1 || inputs.len() != 1 || inputs[0]["type"] != 4 {
            errors.add(
                &format!("components.{i}"),
                "UI_COMPONENT_INVALID",
                "A modal row must hold exactly one text input",
            );
            continue;
        }
        let input = &inputs[0];
        let at = |field: &str| format!("components.{i}.components.0.{field}");
        errors.len_between(&input["label"], &at("label"), 1, 45);
        errors.len_between(&input["custom_id"], &at("custom_id"), 1, 100);
        errors.max_len(&input["value"], &at("value"), 4000);
        errors.max_len(&input["placeholder"], &at("placeholder"), 100);
        if !matches!(input["style"].as_u64(), Some(1 | 2)) {
            errors.add(
                &at("style"),
                "BASE_TYPE_CHOICES",
                "Value must be one of {1, 2}.",
            );
        }
        if !seen.insert(input["custom_id"].as_str().unwrap_or_default().to_string()) {
            errors.add(
                &at("custom_id"),
                "COMPONENT_CUSTOM_ID_DUPLICATED",
                "Component custom id cannot be duplicated",
            );
        }
    }
    errors.into_result()
}

/// The text inputs of a modal's rows.
pub(super) fn modal_inputs(modal: &Value) -> Vec<Value> {
    rows_components(&modal["components"])
}

/// Command and option names: lowercase letters, digits, `-` and `_`, 1 to
/// 32 characters.
fn valid_name(name: &str) -> bool {
    static NAME: OnceLock<Regex> = OnceLock::new();
    let re = NAME.get_or_init(|| Regex::new(r"^[-_\p{L}\p{N}]{1,32}$").expect("name regex"));
    re.is_match(name) && name.to_lowercase() == name
}

/// A bulk overwrite: at most 100 commands, valid and unique names,
/// descriptions of 1 to 100 characters for slash commands (none for context
/// menus), valid options.
pub(super) fn commands(list: &Value) -> Result<(), Reply> {
    let mut errors = Errors {
        prefix: "",
        list: Vec::new(),
    };
    let Some(commands) = list.as_array() else {
        errors.add("", "BASE_TYPE_ARRAY", "Must be an array.");
        return errors.into_result();
    };
    if commands.len() > 100 {
        errors.add(
            "",
            "BASE_TYPE_MAX_LENGTH",
            "Must be 100 or fewer in length.",
        );
    }
    let mut seen = HashSet::new();
    for (i, command) in commands.iter().enumerate() {
        check_command(command, &format!("{i}."), &mut errors);
        let key = (
            command["type"].as_u64().unwrap_or(1),
            command["name"].to_string(),
        );
        if !seen.insert(key) {
            errors.add(
                &format!("{i}.name"),
                "APPLICATION_COMMANDS_DUPLICATE_NAME",
                "Application command names must be unique",
            );
        }
    }
    errors.into_result()
}

/// One command definition (also for a single create).
pub(super) fn command(command: &Value) -> Result<(), Reply> {
    let mut errors = Errors {
        prefix: "",
        list: Vec::new(),
    };
    check_command(command, "", &mut errors);
    errors.into_result()
}

fn check_command(command: &Value, at: &str, errors: &mut Errors<'_>) {
    let name = command["name"].as_str().unwrap_or_default();
    if command["type"].as_u64().unwrap_or(1) == 1 {
        if !valid_name(name) {
            errors.add(
                &format!("{at}name"),
                "APPLICATION_COMMAND_INVALID_NAME",
                format!("Command name is invalid: {name:?}"),
            );
        }
        errors.len_between(&command["description"], &format!("{at}description"), 1, 100);
    } else {
        errors.len_between(&command["name"], &format!("{at}name"), 1, 32);
        if command["description"]
            .as_str()
            .is_some_and(|d| !d.is_empty())
        {
            errors.add(
                &format!("{at}description"),
                "APPLICATION_COMMAND_CONTEXT_MENU_DESCRIPTION",
                "Context menu commands cannot have description",
            );
        }
    }
    check_options(&command["options"], &format!("{at}options"), errors);
}

/// At most 25 options with valid, unique names and 1-100 character
/// descriptions, required ones first, at most 25 choices each.
fn check_options(options: &Value, at: &str, errors: &mut Errors<'_>) {
    let Some(options) = options.as_array() else {
        return;
    };
    if options.len() > 25 {
        errors.add(at, "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.");
    }
    let mut seen = HashSet::new();
    let mut optional_seen = false;
    for (i, option) in options.iter().enumerate() {
        let name = option["name"].as_str().unwrap_or_default();
        if !valid_name(name) {
            errors.add(
                &format!("{at}.{i}.name"),
                "APPLICATION_COMMAND_INVALID_NAME",
                format!("Option name is invalid: {name:?}"),
            );
        }
        if !seen.insert(name.to_string()) {
            errors.add(
                &format!("{at}.{i}.name"),
                "APPLICATION_COMMAND_OPTIONS_NAME_ALREADY_EXISTS",
                "Option names must be unique",
            );
        }
        errors.len_between(
            &option["description"],
            &format!("{at}.{i}.description"),
            1,
            100,
        );
        let required = option["required"].as_bool().unwrap_or(false);
        if required && optional_seen {
            errors.add(
                &format!("{at}.{i}.required"),
                "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID",
                "Required options must be placed before non-required options",
            );
        }
        optional_seen |= !required;
        if option["choices"].as_array().is_some_and(|c| c.len() > 25) {
            errors.add(
                &format!("{at}.{i}.choices"),
                "BASE_TYPE_MAX_LENGTH",
                "Must be 25 or fewer in length.",
            );
        }
        check_options(&option["options"], &format!("{at}.{i}.options"), errors);
    }
}

/// Whether a user could invoke a command with these options from a Discord
/// client: every option known and of its type, required ones present,
/// values among the choices and within the bounds, one subcommand.
pub(super) fn invocation(defined: &Value, given: &Value) -> Result<(), String> {
    let defined = defined.as_array().map(Vec::as_slice).unwrap_or_default();
    let given = match given {
        Value::Null => &[][..],
        Value::Array(list) => list.as_slice(),
        other => return Err(format!("options must be a JSON array, not {other}")),
    };
    let subcommands = defined
        .iter()
        .filter(|o| matches!(o["type"].as_u64(), Some(1 | 2)))
        .count();
    if subcommands > 0 && given.len() != 1 {
        return Err(format!(
            "exactly one subcommand (group) must be given, got {}",
            given.len()
        ));
    }
    for option in given {
        let name = option["name"].as_str().unwrap_or_default();
        let Some(definition) = defined.iter().find(|d| d["name"] == name) else {
            return Err(format!("no option {name:?} in the definition"));
        };
        if option["type"] != definition["type"] {
            return Err(format!(
                "option {name:?} has type {}, the definition says {}",
                option["type"], definition["type"]
            ));
        }
        match definition["type"].as_u64() {
            Some(1 | 2) => invocation(&definition["options"], &option["options"])?,
            kind => check_value(name, kind, definition, &option["value"])?,
        }
    }
    for definition in defined {
        if definition["required"] == true && !given.iter().any(|o| o["name"] == definition["name"])
        {
            return Err(format!("required option {} missing", definition["name"]));
        }
    }
    Ok(())
}

/// One option value against its definition.
fn check_value(
    name: &str,
    kind: Option<u64>,
    definition: &Value,
    value: &Value,
) -> Result<(), String> {
    let fits = match kind {
        Some(3) => value.is_string(),
        Some(4) => value.is_i64() || value.is_u64(),
        Some(5) => value.is_boolean(),
        Some(6..=9 | 11) => value.as_str().is_some_and(|s| s.parse::<u64>().is_ok()),
        Some(10) => value.is_number(),
        _ => false,
    };
    if !fits {
        return Err(format!(
            "option {name:?} of type {kind:?} cannot take {value}"
        ));
    }
    if let Some(choices) = definition["choices"].as_array()
        && !choices.is_empty()
        && !choices.iter().any(|c| &c["value"] == value)
    {
        return Err(format!("option {name:?}: {value} is not among the choices"));
    }
    if let Some(n) = value.as_f64() {
        let below = definition["min_value"].as_f64().is_some_and(|min| n < min);
        let above = definition["max_value"].as_f64().is_some_and(|max| n > max);
        if below || above {
            return Err(format!("option {name:?}: {value} is out of bounds"));
        }
    }
    if kind == Some(3) {
        let len = value.as_str().map_or(0, |s| s.chars().count()) as u64;
        let short = definition["min_length"]
            .as_u64()
            .is_some_and(|min| len < min);
        let long = definition["max_length"]
            .as_u64()
            .is_some_and(|max| len > max);
        if short || long {
            return Err(format!(
                "option {name:?}: {value} has a length out of bounds"
            ));
        }
    }
    Ok(())
}
