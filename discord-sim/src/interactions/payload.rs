//! The interaction bodies Discord POSTs, built from what the user did.

use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::{Map, Value, json};

use super::kinds::{CommandOption, InteractionKind, Invoker, OptionValue};
use super::{ATTACHMENT_SIZE_LIMIT, MEMBER_PERMISSIONS};

static NEXT_LOW_BITS: AtomicU64 = AtomicU64::new(1);

/// A fresh snowflake for now.
pub fn fresh_id() -> u64 {
    let low = NEXT_LOW_BITS.fetch_add(1, Ordering::Relaxed);
    sim_scenario::snowflake_at(chrono::Utc::now().timestamp_millis(), low)
}

/// A fresh interaction token (Discord's are long opaque strings).
pub fn fresh_token() -> String {
    let bytes: [u8; 32] = rand::random();
    format!("sim{}", hex::encode(bytes))
}

/// A stable command id per name, as if the command had been registered once.
fn command_id(name: &str) -> u64 {
    let hash = name.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    sim_scenario::snowflake_at(1_700_000_000_000, hash)
}

pub(super) fn user(id: u64, username: &str) -> Value {
    json!({
        "id": id.to_string(), "username": username, "discriminator": "0", "global_name": username,
        "avatar": null, "public_flags": 0,
    })
}

fn add_resolved(resolved: &mut Map<String, Value>, kind: &str, id: u64, value: Value) {
    let entry = resolved.entry(kind).or_insert_with(|| json!({}));
    entry[id.to_string()] = value;
}

fn options_json(options: &[CommandOption], resolved: &mut Map<String, Value>) -> Vec<Value> {
    let mut out = Vec::new();
    for option in options {
        {
            let (kind, value, nested): (u8, Option<Value>, Option<&Vec<CommandOption>>) =
                match &option.value {
                    OptionValue::SubcommandGroup(nested) => (2, None, Some(nested)),
                    OptionValue::Subcommand(nested) => (1, None, Some(nested)),
                    OptionValue::String(s) => (3, Some(json!(s)), None),
                    OptionValue::Integer(i) => (4, Some(json!(i)), None),
                    OptionValue::Boolean(b) => (5, Some(json!(b)), None),
                    OptionValue::User { id, username } => {
                        add_resolved(resolved, "users", *id, user(*id, username));
                        add_resolved(
                            resolved,
                            "members",
                            *id,
                            json!({
                                "roles": [], "joined_at": "2025-01-01T00:00:00.000000+00:00", "permissions": MEMBER_PERMISSIONS.to_string(),
                                "pending": false, "flags": 0, "nick": null, "avatar": null, "premium_since": null,
                                "communication_disabled_until": null,
                            }),
                        );
                        (6, Some(json!(id.to_string())), None)
                    }
                    OptionValue::Channel { id, name, kind } => {
                        add_resolved(
                            resolved,
                            "channels",
                            *id,
                            json!({"id": id.to_string(), "name": name, "type": kind, "permissions": "0"}),
                        );
                        (7, Some(json!(id.to_string())), None)
                    }
                    OptionValue::Role { id, name } => {
                        add_resolved(
                            resolved,
                            "roles",
                            *id,
                            json!({
                                "id": id.to_string(), "name": name, "color": 0, "colors": {"primary_color": 0, "secondary_color": null, "tertiary_color": null},
                                "hoist": false, "position": 1, "permissions": "0", "managed": false, "mentionable": true, "flags": 0,
                            }),
                        );
                        (8, Some(json!(id.to_string())), None)
                    }
                    OptionValue::Number(n) => (10, Some(json!(n)), None),
                };
            let mut item = json!({"name": option.name, "type": kind});
            if let Some(value) = value {
                item["value"] = value;
            }
            if let Some(nested) = nested {
                item["options"] = Value::Array(options_json(nested, resolved));
            }
            if option.focused {
                item["focused"] = json!(true);
            }
            out.push(item);
        }
    }
    out
}

fn command_data(name: &str, options: &[CommandOption], guild_id: u64) -> Value {
    let mut resolved = Map::new();
    let options = options_json(options, &mut resolved);
    let mut data = json!({
        "id": command_id(name).to_string(), "name": name, "type": 1, "guild_id": guild_id.to_string(),
        "options": options,
    });
    if !resolved.is_empty() {
        data["resolved"] = Value::Object(resolved);
    }
    data
}

/// The interaction body Discord would POST, with every field
/// twilight-model's `Interaction` requires.
pub fn interaction_payload(
    kind: &InteractionKind,
    invoker: &Invoker,
    application_id: u64,
    interaction_id: u64,
    token: &str,
) -> Value {
    let guild_id = invoker.guild_id.to_string();
    let member_user = user(invoker.user_id, &invoker.username);
    if matches!(kind, InteractionKind::Ping) {
        return json!({
            "id": interaction_id.to_string(), "application_id": application_id.to_string(), "type": 1,
            "token": token, "version": 1, "user": member_user,
            "authorizing_integration_owners": {}, "attachment_size_limit": ATTACHMENT_SIZE_LIMIT, "entitlements": [],
        });
    }
    let (kind_number, data, message) = match kind {
        InteractionKind::Ping => unreachable!("answered above"),
        InteractionKind::Command { name, options } => {
            (2, command_data(name, options, invoker.guild_id), None)
        }
        InteractionKind::Autocomplete { name, options } => {
            (4, command_data(name, options, invoker.guild_id), None)
        }
        InteractionKind::Component {
            custom_id,
            component_type,
            values,
            message,
        } => {
            let mut data = json!({"custom_id": custom_id, "component_type": component_type});
            if *component_type != 2 {
                data["values"] = json!(values);
            }
            (3, data, Some(message.clone()))
        }
        InteractionKind::ModalSubmit { custom_id, fields } => {
            let rows: Vec<Value> = fields
                .iter()
                .enumerate()
                .map(|(i, (field, value))| {
                    let row_id = 2 * i as i64 + 1;
                    json!({"type": 1, "id": row_id, "components": [{"type": 4, "id": row_id + 1, "custom_id": field, "value": value}]})
                })
                .collect();
            (5, json!({"custom_id": custom_id, "components": rows}), None)
        }
    };
    let mut payload = json!({
        "id": interaction_id.to_string(),
        "application_id": application_id.to_string(),
        "type": kind_number,
        "token": token,
        "version": 1,
        "guild_id": guild_id,
        "channel_id": invoker.channel_id.to_string(),
        "channel": {"id": invoker.channel_id.to_string(), "type": 0, "guild_id": guild_id, "name": "general"},
        "guild": {"id": guild_id, "locale": invoker.locale, "features": []},
        "guild_locale": invoker.locale,
        "locale": invoker.locale,
        "member": {
            "user": member_user,
            "roles": invoker.roles.iter().map(u64::to_string).collect::<Vec<_>>(),
            "permissions": invoker.permissions.to_string(),
            "joined_at": "2025-01-01T00:00:00.000000+00:00",
            "premium_since": null, "nick": null, "avatar": null, "communication_disabled_until": null,
            "deaf": false, "mute": false, "flags": 0, "pending": false,
        },
        "app_permissions": (MEMBER_PERMISSIONS | (1 << 13)).to_string(),
        "entitlements": [],
        "authorizing_integration_owners": {"0": guild_id},
        "context": 0,
        "attachment_size_limit": ATTACHMENT_SIZE_LIMIT,
        "data": data,
    });
    if let Some(message) = message {
        payload["message"] = message;
    }
    payload
}
