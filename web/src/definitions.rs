//! The slash command definitions `serverpulse-web register` bulk-overwrites.

use serde_json::{Value, json};

/// Manage Guild: settings commands are hidden from members without it
/// (and checked again on every call, from the interaction's permissions).
pub const MANAGE_GUILD: u64 = 1 << 5;
pub const ADMINISTRATOR: u64 = 1 << 3;

const SUB: u8 = 1;
const GROUP: u8 = 2;
const STRING: u8 = 3;
const BOOLEAN: u8 = 5;
const USER: u8 = 6;
const CHANNEL: u8 = 7;

fn choices(values: &[&str]) -> Value {
    values
        .iter()
        .map(|v| json!({"name": v, "value": v}))
        .collect()
}

fn timeframe(presets: &[&str]) -> Value {
    json!({"type": STRING, "name": "timeframe", "description": "Period to report on (custom asks for dates)",
           "choices": choices(presets)})
}

fn all_timeframes() -> Value {
    timeframe(&["24h", "7d", "30d", "90d", "all", "custom"])
}

fn pick(name: &str, description: &str, values: &[&str]) -> Value {
    json!({"type": STRING, "name": name, "description": description, "choices": choices(values)})
}

fn channel(name: &str, description: &str, required: bool) -> Value {
    json!({"type": CHANNEL, "name": name, "description": description, "required": required,
           "channel_types": [0, 2, 5, 13, 15]})
}

/// Every command, as Discord's bulk-overwrite endpoint takes them.
pub fn commands() -> Value {
    json!([
        {
            "name": "serverstats", "description": "Server statistics", "type": 1, "contexts": [0],
            "options": [
                {"type": SUB, "name": "overview", "description": "Everything at a glance", "options": [all_timeframes()]},
                {"type": SUB, "name": "members", "description": "Growth, activity, retention and top members",
                 "options": [all_timeframes(), pick("category", "What to look at", &["growth", "activity", "retention", "top"])]},
                {"type": SUB, "name": "activity", "description": "Messages, voice, reactions and threads",
                 "options": [all_timeframes(), pick("type", "Kind of activity", &["messages", "voice", "reactions", "threads"])]},
                {"type": SUB, "name": "channels", "description": "Channel usage",
                 "options": [all_timeframes(), pick("type", "Kind of channel", &["text", "voice", "threads", "forum"])]},
                {"type": SUB, "name": "trends", "description": "Growth, weekly cycle and a forecast",
                 "options": [all_timeframes(), pick("metric", "Metric to follow", &["messages", "members", "voice", "reactions"])]},
            ]
        },
        {
            "name": "activity", "description": "Analyse a member, a channel, or two periods", "type": 1, "contexts": [0],
            "options": [{"type": GROUP, "name": "analyze", "description": "Analyse activity", "options": [
                {"type": SUB, "name": "member", "description": "One member's activity",
                 "options": [{"type": USER, "name": "user", "description": "Member (default: you)"}, all_timeframes()]},
                {"type": SUB, "name": "channel", "description": "One channel's activity",
                 "options": [channel("channel", "Channel (default: this one)", false),
                             pick("metric", "Metric", &["messages", "voice"]), all_timeframes()]},
                {"type": SUB, "name": "comparative", "description": "This period against the previous one, or two channels",
                 "options": [pick("metric", "Metric", &["messages", "members", "voice", "reactions"]), all_timeframes(),
                             channel("channel", "First channel", false), channel("other", "Second channel", false)]},
            ]}]
        },
        {
            "name": "topmessagers", "description": "Members with the most messages (bots left out)", "type": 1, "contexts": [0],
            "options": [timeframe(&["24h", "7d", "30d", "all"])]
        },
        {
            "name": "leaderboard", "description": "Member leaderboard (bots left out)", "type": 1, "contexts": [0],
            "options": [channel("channel", "Only this channel", false),
                        pick("metric", "What to rank", &["messages", "voice", "reactions"]), all_timeframes()]
        },
        {
            "name": "setup", "description": "Enable tracking and choose channels, timezone and update channel",
            "type": 1, "contexts": [0], "default_member_permissions": MANAGE_GUILD.to_string(),
            "options": [
                {"type": BOOLEAN, "name": "tracking", "description": "Record activity (default: on)"},
                pick("channels", "Collect all channels or choose some", &["all", "choose"]),
                {"type": STRING, "name": "timezone", "description": "IANA timezone, e.g. Europe/Berlin", "autocomplete": true},
                {"type": CHANNEL, "name": "update_channel", "description": "Where digests and alerts go", "channel_types": [0, 5]},
            ]
        },
        {
            "name": "set-update-channel", "description": "Choose where digests and alerts go", "type": 1, "contexts": [0],
            "default_member_permissions": MANAGE_GUILD.to_string(),
            "options": [{"type": CHANNEL, "name": "channel", "description": "Channel", "required": true, "channel_types": [0, 5]}]
        },
        {
            "name": "add-collect-channel", "description": "Collect activity in a channel", "type": 1, "contexts": [0],
            "default_member_permissions": MANAGE_GUILD.to_string(),
            "options": [channel("channel", "Channel", true)]
        },
        {
            "name": "remove-collect-channel", "description": "Stop collecting activity in a channel", "type": 1, "contexts": [0],
            "default_member_permissions": MANAGE_GUILD.to_string(),
            "options": [channel("channel", "Channel", true)]
        },
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn definitions_keep_discords_rules() {
        let commands = commands();
        fn check(options: &[Value]) {
            assert!(options.len() <= 25);
            let mut seen_optional = false;
            for o in options {
                let name = o["name"].as_str().unwrap();
                assert!((1..=32).contains(&name.len()) && name == name.to_lowercase());
                assert!((1..=100).contains(&o["description"].as_str().unwrap().len()));
                let required = o["required"].as_bool().unwrap_or(false);
                assert!(
                    !(required && seen_optional),
                    "required after optional: {name}"
                );
                seen_optional |= !required;
                if let Some(nested) = o["options"].as_array() {
                    check(nested);
                }
            }
        }
        check(commands.as_array().unwrap());
        let settings: Vec<&str> = commands
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["default_member_permissions"] == "32")
            .map(|c| c["name"].as_str().unwrap())
            .collect();
        assert_eq!(
            settings,
            [
                "setup",
                "set-update-channel",
                "add-collect-channel",
                "remove-collect-channel"
            ]
        );
    }
}
