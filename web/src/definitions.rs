//! The slash command definitions `serverpulse-web register` bulk-overwrites.

use serde_json::{Value, json};
use twilight_model::application::command::{CommandOptionType, CommandType};
use twilight_model::application::interaction::InteractionContextType;
use twilight_model::guild::Permissions;

use crate::commands::access::Visibility;
use crate::commands::alerts::{KindChoice, SnoozeChoice};
use crate::commands::digest::{FrequencyChoice, WeekdayChoice};
use crate::commands::settings::{COLLECTABLE, CollectChoice, POSTABLE};
use crate::export::ExportFormat;
use crate::report::ExportWhat;
use crate::view::{
    ActivityKind, BoardMetric, ChannelKind, ChannelMetric, Choice, MembersCategory,
    TimeframeChoice, TrendMetric,
};
use shared::config::ProviderKind;
use shared::db::settings::RETENTION_DAYS_ALLOWED;

/// Settings commands are hidden from members without Manage Server (and
/// checked again on every call, from the interaction's permissions).
const ADMIN_ONLY: Permissions = Permissions::MANAGE_GUILD;

const SUB: CommandOptionType = CommandOptionType::SubCommand;
const GROUP: CommandOptionType = CommandOptionType::SubCommandGroup;
const STRING: CommandOptionType = CommandOptionType::String;
const BOOLEAN: CommandOptionType = CommandOptionType::Boolean;
const INTEGER: CommandOptionType = CommandOptionType::Integer;
const NUMBER: CommandOptionType = CommandOptionType::Number;
const USER: CommandOptionType = CommandOptionType::User;
const ROLE: CommandOptionType = CommandOptionType::Role;
const CHANNEL: CommandOptionType = CommandOptionType::Channel;
/// Slash commands, usable in servers only.
const SLASH: CommandType = CommandType::ChatInput;
const GUILD: [InteractionContextType; 1] = [InteractionContextType::Guild];

/// The keys of `values` as choices (the commands parse them back with the
/// same enum).
fn choices<T: Choice>(values: &[T]) -> Value {
    values
        .iter()
        .map(|v| json!({"name": v.key(), "value": v.key()}))
        .collect()
}

fn timeframe(offered: &[TimeframeChoice]) -> Value {
    json!({"type": STRING, "name": "timeframe", "description": "Period to report on (custom asks for dates)",
           "choices": choices(offered)})
}

fn all_timeframes() -> Value {
    timeframe(TimeframeChoice::ALL)
}

fn pick<T: Choice>(name: &str, description: &str) -> Value {
    json!({"type": STRING, "name": name, "description": description, "choices": choices(T::ALL)})
}

fn channel(name: &str, description: &str, required: bool) -> Value {
    json!({"type": CHANNEL, "name": name, "description": description, "required": required,
           "channel_types": COLLECTABLE})
}

/// Every command, as Discord's bulk-overwrite endpoint takes them.
pub fn commands() -> Value {
    json!([
        {
            "name": "serverstats", "description": "Server statistics", "type": SLASH, "contexts": GUILD,
            "options": [
                {"type": SUB, "name": "overview", "description": "Everything at a glance", "options": [all_timeframes()]},
                {"type": SUB, "name": "members", "description": "Growth, active members (posted, reacted or in voice), retention, top members",
                 "options": [all_timeframes(), pick::<MembersCategory>("category", "What to look at")]},
                {"type": SUB, "name": "activity", "description": "Messages, voice (and who is in voice now), reactions, threads and emoji",
                 "options": [all_timeframes(), pick::<ActivityKind>("type", "Kind of activity")]},
                {"type": SUB, "name": "channels", "description": "Channel usage, health (dead or dying channels) and deletions",
                 "options": [all_timeframes(), pick::<ChannelKind>("type", "Kind of channel")]},
                {"type": SUB, "name": "trends", "description": "Growth, weekly cycle and a forecast",
                 "options": [all_timeframes(), pick::<TrendMetric>("metric", "Metric to follow")]},
            ]
        },
        {
            "name": "activity", "description": "Analyse a member, a channel, or two periods", "type": SLASH, "contexts": GUILD,
            "options": [{"type": GROUP, "name": "analyze", "description": "Analyse activity", "options": [
                {"type": SUB, "name": "member", "description": "One member's activity",
                 "options": [{"type": USER, "name": "user", "description": "Member (default: you)"}, all_timeframes()]},
                {"type": SUB, "name": "channel", "description": "One channel's activity",
                 "options": [channel("channel", "Channel (default: this one)", false),
                             pick::<ChannelMetric>("metric", "Metric"), all_timeframes()]},
                {"type": SUB, "name": "comparative", "description": "This period against the previous one, or two channels",
                 "options": [pick::<TrendMetric>("metric", "Metric"), all_timeframes(),
                             channel("channel", "First channel", false), channel("other", "Second channel", false)]},
            ]}]
        },
        {
            "name": "topmessagers", "description": "Members with the most messages (bots only if /setup counts them)", "type": SLASH, "contexts": GUILD,
            "options": [timeframe(TimeframeChoice::TOP_MESSAGERS)]
        },
        {
            "name": "leaderboard", "description": "Member leaderboard (bots only if /setup counts them)", "type": SLASH, "contexts": GUILD,
            "options": [channel("channel", "Only this channel", false),
                        pick::<BoardMetric>("metric", "What to rank"), all_timeframes()]
        },
        {
            "name": "setup", "description": "Enable tracking and choose channels, timezone and update channel",
            "type": SLASH, "contexts": GUILD, "default_member_permissions": ADMIN_ONLY,
            "options": [
                {"type": BOOLEAN, "name": "tracking", "description": "Record activity (default: on)"},
                pick::<CollectChoice>("channels", "Collect all channels or choose some"),
                {"type": STRING, "name": "timezone", "description": "IANA timezone, e.g. Europe/Berlin", "autocomplete": true},
                {"type": CHANNEL, "name": "update_channel", "description": "Where digests and alerts go", "channel_types": POSTABLE},
                {"type": BOOLEAN, "name": "count_bots", "description": "Count bots and webhooks in every figure (default: off)"},
                {"type": INTEGER, "name": "import_days", "description": "Also import the last N days of message history (up to the retention window)",
                 "min_value": 1, "max_value": 730},
            ]
        },
        {
            "name": "set-update-channel", "description": "Choose where digests and alerts go", "type": SLASH, "contexts": GUILD,
            "default_member_permissions": ADMIN_ONLY,
            "options": [{"type": CHANNEL, "name": "channel", "description": "Channel", "required": true, "channel_types": POSTABLE}]
        },
        {
            "name": "set-digest", "description": "Post a digest of the server's activity to the update channel",
            "type": SLASH, "contexts": GUILD, "default_member_permissions": ADMIN_ONLY,
            "options": [
                {"type": STRING, "name": "frequency", "description": "How often (none: no digests)", "required": true,
                 "choices": choices(FrequencyChoice::ALL)},
                {"type": INTEGER, "name": "hour", "description": "Local hour of the daily and weekly post, 0-23 (default: as before; at first 9)",
                 "min_value": 0, "max_value": 23},
                pick::<WeekdayChoice>("weekday", "Day of the weekly post (default: as before; at first Monday)"),
            ]
        },
        {
            "name": "digest", "description": "Digests of the server's activity", "type": SLASH, "contexts": GUILD,
            "default_member_permissions": ADMIN_ONLY,
            "options": [{"type": SUB, "name": "preview", "description": "The next digest as it would look, shown only to you"}]
        },
        {
            "name": "pulse-report", "description": "A written summary of the last 7 days: what changed, channels, newcomers, suggestions",
            "type": SLASH, "contexts": GUILD, "default_member_permissions": ADMIN_ONLY
        },
        {
            "name": "ai-provider", "description": "Which AI provider writes the Pulse Report, with this server's own key",
            "type": SLASH, "contexts": GUILD, "default_member_permissions": ADMIN_ONLY,
            "options": [
                {"type": SUB, "name": "set", "description": "Choose the provider (and model) that writes the Pulse Report",
                 "options": [
                    {"type": STRING, "name": "provider", "description": "Which provider", "required": true,
                     "choices": ProviderKind::ALL.map(|k| json!({"name": k.label(), "value": k.name()}))},
                    {"type": STRING, "name": "model", "description": "Model name (default: the provider's usual small model)",
                     "max_length": 100},
                 ]},
                {"type": SUB, "name": "key", "description": "Enter the provider's API key in a form (stored encrypted)"},
                {"type": SUB, "name": "test", "description": "Send one tiny request to check the provider and key"},
                {"type": SUB, "name": "clear", "description": "Forget the provider and key; back to the built-in report"},
            ]
        },
        {
            "name": "dashboard", "description": "The web dashboard: a private link, or revoke every link",
            "type": SLASH, "contexts": GUILD, "default_member_permissions": ADMIN_ONLY,
            "options": [
                {"type": SUB, "name": "open", "description": "A link to this server's dashboard, for you only (one hour)"},
                {"type": SUB, "name": "revoke", "description": "Close every dashboard link and session of this server"},
            ]
        },
        {
            "name": "alerts", "description": "What each alert watches, its last incidents and where alerts go",
            "type": SLASH, "contexts": GUILD, "default_member_permissions": ADMIN_ONLY
        },
        {
            "name": "toggle-alert", "description": "Turn an alert on or off, or snooze it", "type": SLASH,
            "contexts": GUILD, "default_member_permissions": ADMIN_ONLY,
            "options": [
                {"type": STRING, "name": "kind", "description": "Which alert", "required": true,
                 "choices": choices(KindChoice::ALL)},
                {"type": BOOLEAN, "name": "enabled", "description": "On or off", "required": true},
                pick::<SnoozeChoice>("snooze", "With enabled:false: off for this long, then on again"),
            ]
        },
        {
            "name": "alert-threshold", "description": "When an alert fires, and how long an incident lasts",
            "type": SLASH, "contexts": GUILD, "default_member_permissions": ADMIN_ONLY,
            "options": [
                {"type": STRING, "name": "kind", "description": "Which alert", "required": true,
                 "choices": choices(KindChoice::ALL)},
                {"type": NUMBER, "name": "threshold", "required": true,
                 "description": "Joins (raid), messages (deletion), % below usual (drop), × usual (surge)",
                 "min_value": 1.5, "max_value": 10000},
                {"type": INTEGER, "name": "window_seconds", "description": "Raid and deletion: the sliding window, 5-3600 s",
                 "min_value": 5, "max_value": 3600},
                {"type": INTEGER, "name": "minimum", "description": "Drop: least usual messages/hour; surge: fewest people",
                 "min_value": 1, "max_value": 10000},
                {"type": INTEGER, "name": "cooldown_minutes", "description": "No new incident this soon after one ended, 0-1440",
                 "min_value": 0, "max_value": 1440},
                {"type": INTEGER, "name": "quiet_minutes", "description": "An incident is over after this long without events, 1-1440",
                 "min_value": 1, "max_value": 1440},
            ]
        },
        {
            "name": "add-collect-channel", "description": "Collect activity in a channel", "type": SLASH, "contexts": GUILD,
            "default_member_permissions": ADMIN_ONLY,
            "options": [channel("channel", "Channel", true)]
        },
        {
            "name": "remove-collect-channel", "description": "Stop collecting activity in a channel", "type": SLASH, "contexts": GUILD,
            "default_member_permissions": ADMIN_ONLY,
            "options": [channel("channel", "Channel", true)]
        },
        {
            "name": "retention", "description": "How long per-member activity is kept", "type": SLASH, "contexts": GUILD,
            "default_member_permissions": ADMIN_ONLY,
            "options": [{"type": INTEGER, "name": "days", "description": "Days to keep per-member activity, 7-730 (default 90)",
                         "required": true, "min_value": RETENTION_DAYS_ALLOWED.start(),
                         "max_value": RETENTION_DAYS_ALLOWED.end()}]
        },
        {
            "name": "backfill", "description": "Import the server's past from Discord's message history",
            "type": SLASH, "contexts": GUILD, "default_member_permissions": ADMIN_ONLY,
            "options": [
                {"type": SUB, "name": "start", "description": "Import the last N days before tracking began",
                 "options": [{"type": INTEGER, "name": "days", "description": "Days to import (default 30, up to the retention window)",
                              "min_value": 1, "max_value": 730}]},
                {"type": SUB, "name": "status", "description": "Progress per channel, what could not be read, time left"},
                {"type": SUB, "name": "cancel", "description": "Stop the import (what was imported stays)"},
            ]
        },
        {
            "name": "privacy", "description": "Your data in this server: hide, erase, resume or export it (only you see the answer)",
            "type": SLASH, "contexts": GUILD,
            "options": [
                {"type": SUB, "name": "hide", "description": "Never be named or ranked; still counted anonymously in totals"},
                {"type": SUB, "name": "delete", "description": "Erase your per-member data here now and stop recording you per member"},
                {"type": SUB, "name": "resume", "description": "Undo hide and delete for the future"},
                {"type": SUB, "name": "export", "description": "Everything stored about you here, as a JSON file"},
            ]
        },
        {
            "name": "access", "description": "Who may run reports and analyse other members", "type": SLASH, "contexts": GUILD,
            "default_member_permissions": ADMIN_ONLY,
            "options": [
                {"type": SUB, "name": "show", "description": "The access rules in force"},
                {"type": SUB, "name": "report-role", "description": "Allow or stop allowing a role to run reports (none: everyone)",
                 "options": [{"type": ROLE, "name": "role", "description": "Role", "required": true},
                             {"type": BOOLEAN, "name": "allowed", "description": "Allowed (default: yes)"}]},
                {"type": SUB, "name": "analyse-role", "description": "Allow or stop allowing a role to analyse other members",
                 "options": [{"type": ROLE, "name": "role", "description": "Role", "required": true},
                             {"type": BOOLEAN, "name": "allowed", "description": "Allowed (default: yes)"}]},
                {"type": SUB, "name": "answers", "description": "Report answers public, or only for the member who asked",
                 "options": [{"type": STRING, "name": "visibility", "description": "public or private", "required": true,
                              "choices": choices(Visibility::ALL)}]},
                {"type": SUB, "name": "reset", "description": "Everyone may run every report; answers public"},
            ]
        },
        {
            "name": "audit", "description": "The settings audit and the access log, newest first", "type": SLASH, "contexts": GUILD,
            "default_member_permissions": ADMIN_ONLY,
            "options": [{"type": STRING, "name": "log", "description": "Which log (default: settings)",
                         "choices": [{"name": "settings", "value": "settings"}, {"name": "access", "value": "access"}]}]
        },
        {
            "name": "export-report", "description": "The server's figures as a CSV or JSON file", "type": SLASH, "contexts": GUILD,
            "default_member_permissions": ADMIN_ONLY,
            "options": [
                {"type": STRING, "name": "format", "description": "File format", "required": true, "choices": choices(ExportFormat::ALL)},
                timeframe(&TimeframeChoice::ALL[..5]),
                pick::<ExportWhat>("what", "Which figures (default: overview)"),
            ]
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
                "set-digest",
                "digest",
                "pulse-report",
                "ai-provider",
                "dashboard",
                "alerts",
                "toggle-alert",
                "alert-threshold",
                "add-collect-channel",
                "remove-collect-channel",
                "retention",
                "backfill",
                "access",
                "audit",
                "export-report"
            ]
        );
    }

    #[test]
    fn definitions_write_discords_numbers_and_the_parsed_keys() {
        let commands = commands();
        let overview = &commands[0];
        assert_eq!(
            (overview["type"].clone(), overview["contexts"].clone()),
            (json!(1), json!([0]))
        );
        let members = &overview["options"][1];
        assert_eq!(members["type"], 1);
        assert_eq!(members["options"][0]["type"], 3);
        let keys: Vec<&str> = members["options"][1]["choices"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["value"].as_str().unwrap())
            .collect();
        assert_eq!(keys, ["growth", "activity", "retention", "top"]);
        let top = &commands[2];
        assert_eq!(top["name"], "topmessagers");
        assert_eq!(
            top["options"][0]["choices"],
            json!([{"name": "24h", "value": "24h"}, {"name": "7d", "value": "7d"},
                   {"name": "30d", "value": "30d"}, {"name": "all", "value": "all"}])
        );
        let setup = &commands[4];
        assert_eq!(setup["options"][3]["channel_types"], json!([0, 5]));
        let board = &commands[3];
        assert_eq!(
            board["options"][0]["channel_types"],
            json!([0, 2, 5, 13, 15])
        );
        assert_eq!(board["options"][0]["type"], 7);
    }
}
