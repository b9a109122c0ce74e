//! Discord's documented limits on messages, components and command
//! definitions, reported in Discord's `Invalid Form Body` shape:
//! `{"code": 50035, "message": "Invalid Form Body", "errors": {"embeds": {"0":
//! {"title": {"_errors": [{"code": ..., "message": ...}]}}}}}`.

use std::collections::{BTreeSet, HashSet};

use serde_json::{Map, Value, json};

pub const CONTENT_MAX: usize = 2000;
pub const EMBEDS_MAX: usize = 10;
pub const EMBED_TITLE_MAX: usize = 256;
pub const EMBED_DESCRIPTION_MAX: usize = 4096;
pub const EMBED_FIELDS_MAX: usize = 25;
pub const EMBED_FIELD_NAME_MAX: usize = 256;
pub const EMBED_FIELD_VALUE_MAX: usize = 1024;
pub const EMBED_FOOTER_MAX: usize = 2048;
pub const EMBED_AUTHOR_NAME_MAX: usize = 256;
pub const EMBED_TOTAL_MAX: usize = 6000;
pub const ACTION_ROWS_MAX: usize = 5;
pub const BUTTONS_PER_ROW_MAX: usize = 5;
pub const CUSTOM_ID_MAX: usize = 100;
pub const SELECT_OPTIONS_MAX: usize = 25;
pub const COMMANDS_MAX: usize = 100;
pub const COMMAND_NAME_MAX: usize = 32;
pub const COMMAND_DESCRIPTION_MAX: usize = 100;
pub const COMMAND_OPTIONS_MAX: usize = 25;
pub const AUTOCOMPLETE_CHOICES_MAX: usize = 25;
pub const MODAL_TITLE_MAX: usize = 45;
pub const NONCE_MAX: usize = 25;
/// Message flag of Components V2 layouts, whose limits differ; not checked.
const IS_COMPONENTS_V2: u64 = 1 << 15;

/// Collected form errors, keyed by the path of the offending field.
#[derive(Debug, Default)]
pub struct FormErrors(Map<String, Value>);

impl FormErrors {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn add(&mut self, path: &[String], code: &str, message: impl Into<String>) {
        let mut node = &mut self.0;
        for key in path {
            node = node
                .entry(key.clone())
                .or_insert_with(|| json!({}))
                .as_object_mut()
                .expect("error tree nodes are objects");
        }
        let errors = node.entry("_errors").or_insert_with(|| json!([]));
        if let Some(list) = errors.as_array_mut() {
            list.push(json!({"code": code, "message": message.into()}));
        }
    }

    /// Discord's 400 body.
    pub fn body(self) -> Value {
        json!({"code": 50035, "message": "Invalid Form Body", "errors": Value::Object(self.0)})
    }
}

fn path(parts: &[&dyn ToString]) -> Vec<String> {
    parts.iter().map(|p| p.to_string()).collect()
}

fn chars(value: Option<&Value>) -> usize {
    value
        .and_then(Value::as_str)
        .map_or(0, |s| s.chars().count())
}

fn max_length(errors: &mut FormErrors, at: Vec<String>, value: Option<&Value>, max: usize) {
    if chars(value) > max {
        errors.add(
            &at,
            "BASE_TYPE_MAX_LENGTH",
            format!("Must be {max} or fewer in length."),
        );
    }
}

fn bad_length(errors: &mut FormErrors, at: Vec<String>, min: usize, max: usize) {
    errors.add(
        &at,
        "BASE_TYPE_BAD_LENGTH",
        format!("Must be between {min} and {max} in length."),
    );
}

fn array<'a>(value: &'a Value, key: &str) -> &'a [Value] {
    value
        .get(key)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

/// A multipart file part, as far as validation cares.
pub struct FilePart<'a> {
    /// `n` of a `files[n]` part name.
    pub index: Option<u64>,
    pub field: &'a str,
}

/// Attachment id as sent: a number or a numeric string.
fn attachment_id(value: &Value) -> Option<u64> {
    match value {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

/// Whether a message to create has nothing to show (Discord's 50006).
pub fn is_empty_message(payload: &Value, files: &[FilePart<'_>]) -> bool {
    let has = |key: &str| match payload.get(key) {
        Some(Value::String(s)) => !s.is_empty(),
        Some(Value::Array(a)) => !a.is_empty(),
        Some(Value::Null) | None => false,
        Some(_) => true,
    };
    files.is_empty()
        && !["content", "embeds", "components", "sticker_ids", "poll"]
            .iter()
            .any(|k| has(k))
}

/// Checks a message body (create or edit). `existing` are the attachment ids
/// the message already has, which an edit may keep.
pub fn message(payload: &Value, files: &[FilePart<'_>], existing: &[u64]) -> FormErrors {
    let mut errors = FormErrors::default();
    max_length(
        &mut errors,
        path(&[&"content"]),
        payload.get("content"),
        CONTENT_MAX,
    );
    embeds(&mut errors, array(payload, "embeds"));
    let flags = payload.get("flags").and_then(Value::as_u64).unwrap_or(0);
    if flags & IS_COMPONENTS_V2 == 0 {
        components(&mut errors, array(payload, "components"));
    }
    attachments(&mut errors, payload, files, existing);
    errors
}

/// Checks a channel message's `nonce`: an integer, or a string of at most
/// 25 characters.
pub fn nonce(errors: &mut FormErrors, payload: &Value) {
    match payload.get("nonce") {
        None | Some(Value::Null) => {}
        Some(Value::Number(n)) if n.is_i64() || n.is_u64() => {}
        Some(value @ Value::String(_)) => {
            max_length(errors, path(&[&"nonce"]), Some(value), NONCE_MAX);
        }
        Some(_) => errors.add(
            &path(&[&"nonce"]),
            "BASE_TYPE_NONCE",
            "Must be an integer or a string.",
        ),
    }
}

fn embeds(errors: &mut FormErrors, embeds: &[Value]) {
    if embeds.len() > EMBEDS_MAX {
        errors.add(
            &path(&[&"embeds"]),
            "BASE_TYPE_MAX_LENGTH",
            format!("Must be {EMBEDS_MAX} or fewer in length."),
        );
    }
    let mut total = 0;
    for (i, embed) in embeds.iter().enumerate() {
        max_length(
            errors,
            path(&[&"embeds", &i, &"title"]),
            embed.get("title"),
            EMBED_TITLE_MAX,
        );
        max_length(
            errors,
            path(&[&"embeds", &i, &"description"]),
            embed.get("description"),
            EMBED_DESCRIPTION_MAX,
        );
        max_length(
            errors,
            path(&[&"embeds", &i, &"footer", &"text"]),
            embed.pointer("/footer/text"),
            EMBED_FOOTER_MAX,
        );
        max_length(
            errors,
            path(&[&"embeds", &i, &"author", &"name"]),
            embed.pointer("/author/name"),
            EMBED_AUTHOR_NAME_MAX,
        );
        total += chars(embed.get("title"))
            + chars(embed.get("description"))
            + chars(embed.pointer("/footer/text"))
            + chars(embed.pointer("/author/name"));
        let fields = array(embed, "fields");
        if fields.len() > EMBED_FIELDS_MAX {
            errors.add(
                &path(&[&"embeds", &i, &"fields"]),
                "BASE_TYPE_MAX_LENGTH",
                format!("Must be {EMBED_FIELDS_MAX} or fewer in length."),
            );
        }
        for (j, field) in fields.iter().enumerate() {
            for (key, max) in [
                ("name", EMBED_FIELD_NAME_MAX),
                ("value", EMBED_FIELD_VALUE_MAX),
            ] {
                let at = path(&[&"embeds", &i, &"fields", &j, &key]);
                if chars(field.get(key)) == 0 {
                    errors.add(&at, "BASE_TYPE_REQUIRED", "This field is required");
                }
                max_length(errors, at, field.get(key), max);
                total += chars(field.get(key));
            }
        }
    }
    if total > EMBED_TOTAL_MAX {
        errors.add(
            &path(&[&"embeds"]),
            "MAX_EMBED_SIZE_EXCEEDED",
            format!("Embed size exceeds maximum size of {EMBED_TOTAL_MAX}"),
        );
    }
}

const SELECT_TYPES: [u64; 5] = [3, 5, 6, 7, 8];

fn custom_id(
    errors: &mut FormErrors,
    at: Vec<String>,
    component: &Value,
    seen: &mut HashSet<String>,
) {
    let id = component
        .get("custom_id")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let length = id.chars().count();
    if !(1..=CUSTOM_ID_MAX).contains(&length) {
        bad_length(errors, at, 1, CUSTOM_ID_MAX);
    } else if !seen.insert(id.to_owned()) {
        errors.add(
            &at,
            "COMPONENT_CUSTOM_ID_DUPLICATED",
            "Component custom id cannot be duplicated",
        );
    }
}

fn components(errors: &mut FormErrors, rows: &[Value]) {
    if rows.len() > ACTION_ROWS_MAX {
        bad_length(errors, path(&[&"components"]), 1, ACTION_ROWS_MAX);
    }
    let mut seen = HashSet::new();
    for (i, row) in rows.iter().enumerate() {
        if row.get("type").and_then(Value::as_u64) != Some(1) {
            errors.add(
                &path(&[&"components", &i, &"type"]),
                "BASE_TYPE_CHOICES",
                "Value must be one of {1}.",
            );
            continue;
        }
        let children = array(row, "components");
        let selects = children
            .iter()
            .filter(|c| {
                c["type"]
                    .as_u64()
                    .is_some_and(|t| SELECT_TYPES.contains(&t))
            })
            .count();
        if children.is_empty() || children.len() > BUTTONS_PER_ROW_MAX {
            bad_length(
                errors,
                path(&[&"components", &i, &"components"]),
                1,
                BUTTONS_PER_ROW_MAX,
            );
        } else if selects > 0 && children.len() > 1 {
            errors.add(
                &path(&[&"components", &i, &"components"]),
                "COMPONENT_LAYOUT_WIDTH_EXCEEDED",
                "The specified component exceeds the maximum width",
            );
        }
        for (j, child) in children.iter().enumerate() {
            let kind = child.get("type").and_then(Value::as_u64).unwrap_or(0);
            let at = |key: &str| path(&[&"components", &i, &"components", &j, &key]);
            match kind {
                2 => {
                    let link = child.get("style").and_then(Value::as_u64) == Some(5);
                    if link {
                        if child.get("url").and_then(Value::as_str).is_none() {
                            errors.add(&at("url"), "BASE_TYPE_REQUIRED", "This field is required");
                        }
                    } else {
                        custom_id(errors, at("custom_id"), child, &mut seen);
                    }
                }
                3 => {
                    custom_id(errors, at("custom_id"), child, &mut seen);
                    let options = array(child, "options").len();
                    if !(1..=SELECT_OPTIONS_MAX).contains(&options) {
                        bad_length(errors, at("options"), 1, SELECT_OPTIONS_MAX);
                    }
                }
                5..=8 => custom_id(errors, at("custom_id"), child, &mut seen),
                _ => errors.add(
                    &at("type"),
                    "BASE_TYPE_CHOICES",
                    "Value must be one of {2, 3, 5, 6, 7, 8}.",
                ),
            }
        }
    }
}

fn attachments(errors: &mut FormErrors, payload: &Value, files: &[FilePart<'_>], existing: &[u64]) {
    let uploaded: BTreeSet<u64> = files.iter().filter_map(|f| f.index).collect();
    for file in files.iter().filter(|f| f.index.is_none()) {
        errors.add(
            &[file.field.to_owned()],
            "ATTACHMENT_FIELD_INVALID",
            "File parts must be named files[n] to match an attachment id",
        );
    }
    let Some(listed) = payload.get("attachments").and_then(Value::as_array) else {
        return;
    };
    let mut referenced = BTreeSet::new();
    for (i, attachment) in listed.iter().enumerate() {
        let at = path(&[&"attachments", &i, &"id"]);
        match attachment.get("id").and_then(attachment_id) {
            Some(id) if uploaded.contains(&id) => {
                referenced.insert(id);
            }
            Some(id) if existing.contains(&id) => {}
            Some(id) => errors.add(
                &at,
                "ATTACHMENT_NOT_FOUND",
                format!("No files[{id}] part for attachment id {id}"),
            ),
            None => errors.add(&at, "BASE_TYPE_REQUIRED", "This field is required"),
        }
    }
    for id in uploaded.difference(&referenced) {
        errors.add(
            &[format!("files[{id}]")],
            "ATTACHMENT_NOT_REFERENCED",
            format!("files[{id}] has no entry in attachments"),
        );
    }
}

/// Checks an interaction callback body; messages are checked by [`message`].
pub fn callback(payload: &Value) -> FormErrors {
    let mut errors = FormErrors::default();
    let data = payload.get("data").unwrap_or(&Value::Null);
    match payload.get("type").and_then(Value::as_u64) {
        Some(1 | 4 | 5 | 6 | 7) => {}
        Some(8) => {
            if array(data, "choices").len() > AUTOCOMPLETE_CHOICES_MAX {
                errors.add(
                    &path(&[&"data", &"choices"]),
                    "BASE_TYPE_MAX_LENGTH",
                    format!("Must be {AUTOCOMPLETE_CHOICES_MAX} or fewer in length."),
                );
            }
        }
        Some(9) => {
            let title = chars(data.get("title"));
            if !(1..=MODAL_TITLE_MAX).contains(&title) {
                bad_length(&mut errors, path(&[&"data", &"title"]), 1, MODAL_TITLE_MAX);
            }
            let mut seen = HashSet::new();
            custom_id(&mut errors, path(&[&"data", &"custom_id"]), data, &mut seen);
            let rows = array(data, "components").len();
            if !(1..=ACTION_ROWS_MAX).contains(&rows) {
                bad_length(
                    &mut errors,
                    path(&[&"data", &"components"]),
                    1,
                    ACTION_ROWS_MAX,
                );
            }
        }
        _ => errors.add(
            &path(&[&"type"]),
            "BASE_TYPE_CHOICES",
            "Value must be one of {1, 4, 5, 6, 7, 8, 9}.",
        ),
    }
    if payload.get("type").and_then(Value::as_u64) == Some(5) {
        let flags = data.get("flags").and_then(Value::as_u64).unwrap_or(0);
        if flags & !64 != 0 {
            errors.add(
                &path(&[&"data", &"flags"]),
                "BASE_TYPE_CHOICES",
                "Only EPHEMERAL (64) may be set on a deferral",
            );
        }
    }
    errors
}

/// A chat-input name: 1–32 lowercase letters, digits, `-` or `_`.
fn command_name(errors: &mut FormErrors, at: Vec<String>, name: Option<&Value>, chat_input: bool) {
    let name = name.and_then(Value::as_str).unwrap_or_default();
    let length = name.chars().count();
    if !(1..=COMMAND_NAME_MAX).contains(&length) {
        bad_length(errors, at, 1, COMMAND_NAME_MAX);
    } else if chat_input
        && !name.chars().all(|c| {
            c == '-' || c == '_' || c.is_numeric() || (c.is_alphabetic() && !c.is_uppercase())
        })
    {
        errors.add(
            &at,
            "APPLICATION_COMMAND_INVALID_NAME",
            "Command name is invalid",
        );
    }
}

fn description(errors: &mut FormErrors, at: Vec<String>, value: Option<&Value>) {
    let length = chars(value);
    if !(1..=COMMAND_DESCRIPTION_MAX).contains(&length) {
        bad_length(errors, at, 1, COMMAND_DESCRIPTION_MAX);
    }
}

fn command_options(errors: &mut FormErrors, at: Vec<String>, options: &[Value], depth: usize) {
    if options.len() > COMMAND_OPTIONS_MAX {
        errors.add(
            &at,
            "BASE_TYPE_MAX_LENGTH",
            format!("Must be {COMMAND_OPTIONS_MAX} or fewer in length."),
        );
    }
    let mut names = HashSet::new();
    let mut optional_seen = false;
    for (i, option) in options.iter().enumerate() {
        let here = |key: &str| {
            let mut p = at.clone();
            p.push(i.to_string());
            p.push(key.to_owned());
            p
        };
        command_name(errors, here("name"), option.get("name"), true);
        description(errors, here("description"), option.get("description"));
        if let Some(name) = option.get("name").and_then(Value::as_str)
            && !names.insert(name)
        {
            errors.add(
                &here("name"),
                "APPLICATION_COMMAND_OPTION_NAME_ALREADY_EXISTS",
                "Option names must be unique",
            );
        }
        let kind = option.get("type").and_then(Value::as_u64).unwrap_or(0);
        if !(1..=11).contains(&kind) {
            errors.add(
                &here("type"),
                "BASE_TYPE_CHOICES",
                "Value must be one of {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}.",
            );
        }
        let required = option
            .get("required")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        if kind > 2 {
            if required && optional_seen {
                errors.add(
                    &here("required"),
                    "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID",
                    "Required options must be placed before non-required options",
                );
            }
            optional_seen |= !required;
        }
        let choices = array(option, "choices").len();
        if choices > AUTOCOMPLETE_CHOICES_MAX {
            errors.add(
                &here("choices"),
                "BASE_TYPE_MAX_LENGTH",
                format!("Must be {AUTOCOMPLETE_CHOICES_MAX} or fewer in length."),
            );
        }
        let nested = array(option, "options");
        match kind {
            // A group holds subcommands; a subcommand holds plain options.
            1 | 2 if depth < 2 => command_options(errors, here("options"), nested, depth + 1),
            1 | 2 => errors.add(
                &here("type"),
                "APPLICATION_COMMAND_OPTION_TYPE_INVALID",
                "Subcommands nest at most two levels",
            ),
            _ if !nested.is_empty() => errors.add(
                &here("options"),
                "APPLICATION_COMMAND_OPTION_TYPE_INVALID",
                "Only subcommands have options",
            ),
            _ => {}
        }
    }
}

/// Checks a bulk-overwrite body: an array of command definitions.
pub fn commands(payload: &Value) -> FormErrors {
    let mut errors = FormErrors::default();
    let Some(commands) = payload.as_array() else {
        errors.add(&[], "BASE_TYPE_ARRAY", "Must be an array.");
        return errors;
    };
    if commands.len() > COMMANDS_MAX {
        errors.add(
            &[],
            "BASE_TYPE_MAX_LENGTH",
            format!("Must be {COMMANDS_MAX} or fewer in length."),
        );
    }
    let mut names = HashSet::new();
    for (i, command) in commands.iter().enumerate() {
        let at = |key: &str| vec![i.to_string(), key.to_owned()];
        let kind = command.get("type").and_then(Value::as_u64).unwrap_or(1);
        let chat_input = kind == 1;
        command_name(&mut errors, at("name"), command.get("name"), chat_input);
        if chat_input {
            description(&mut errors, at("description"), command.get("description"));
        } else if chars(command.get("description")) > 0 {
            errors.add(
                &at("description"),
                "APPLICATION_COMMAND_INVALID_DESCRIPTION",
                "Only chat input commands have descriptions",
            );
        }
        command_options(&mut errors, at("options"), array(command, "options"), 0);
        if let Some(name) = command.get("name").and_then(Value::as_str)
            && !names.insert((kind, name))
        {
            errors.add(
                &at("name"),
                "APPLICATION_COMMANDS_DUPLICATE_NAME",
                format!("Application command names must be unique: {name}"),
            );
        }
        if let Some(permissions) = command.get("default_member_permissions")
            && !permissions.is_null()
            && permissions
                .as_str()
                .is_none_or(|p| p.parse::<u64>().is_err())
        {
            errors.add(
                &at("default_member_permissions"),
                "BASE_TYPE_STRING",
                "Must be a string of a permission integer",
            );
        }
    }
    errors
}
