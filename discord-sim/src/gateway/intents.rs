//! Gateway intents: which dispatches a session receives, and what the
//! MESSAGE_CONTENT intent guards.

use serde_json::Value;

pub const GUILDS: u64 = 1 << 0;
pub const GUILD_MEMBERS: u64 = 1 << 1;
pub const GUILD_MODERATION: u64 = 1 << 2;
pub const GUILD_EXPRESSIONS: u64 = 1 << 3;
pub const GUILD_INTEGRATIONS: u64 = 1 << 4;
pub const GUILD_WEBHOOKS: u64 = 1 << 5;
pub const GUILD_INVITES: u64 = 1 << 6;
pub const GUILD_VOICE_STATES: u64 = 1 << 7;
pub const GUILD_PRESENCES: u64 = 1 << 8;
pub const GUILD_MESSAGES: u64 = 1 << 9;
pub const GUILD_MESSAGE_REACTIONS: u64 = 1 << 10;
pub const GUILD_MESSAGE_TYPING: u64 = 1 << 11;
pub const MESSAGE_CONTENT: u64 = 1 << 15;
pub const GUILD_SCHEDULED_EVENTS: u64 = 1 << 16;
pub const AUTO_MODERATION_CONFIGURATION: u64 = 1 << 20;
pub const AUTO_MODERATION_EXECUTION: u64 = 1 << 21;
pub const GUILD_MESSAGE_POLLS: u64 = 1 << 24;
/// Intents an application must be granted in the Developer Portal.
pub const PRIVILEGED: u64 = GUILD_MEMBERS | GUILD_PRESENCES | MESSAGE_CONTENT;

/// The intent a guild dispatch needs; `None` for events every session gets.
pub fn required(t: &str) -> Option<u64> {
    Some(match t {
        "GUILD_UPDATE"
        | "GUILD_DELETE"
        | "GUILD_ROLE_CREATE"
        | "GUILD_ROLE_UPDATE"
        | "GUILD_ROLE_DELETE"
        | "CHANNEL_CREATE"
        | "CHANNEL_UPDATE"
        | "CHANNEL_DELETE"
        | "CHANNEL_PINS_UPDATE"
        | "THREAD_CREATE"
        | "THREAD_UPDATE"
        | "THREAD_DELETE"
        | "THREAD_LIST_SYNC"
        | "THREAD_MEMBER_UPDATE"
        | "STAGE_INSTANCE_CREATE"
        | "STAGE_INSTANCE_UPDATE"
        | "STAGE_INSTANCE_DELETE" => GUILDS,
        "GUILD_MEMBER_ADD"
        | "GUILD_MEMBER_UPDATE"
        | "GUILD_MEMBER_REMOVE"
        | "THREAD_MEMBERS_UPDATE" => GUILD_MEMBERS,
        "GUILD_AUDIT_LOG_ENTRY_CREATE" | "GUILD_BAN_ADD" | "GUILD_BAN_REMOVE" => GUILD_MODERATION,
        "GUILD_EMOJIS_UPDATE"
        | "GUILD_STICKERS_UPDATE"
        | "GUILD_SOUNDBOARD_SOUND_CREATE"
        | "GUILD_SOUNDBOARD_SOUND_UPDATE"
        | "GUILD_SOUNDBOARD_SOUND_DELETE"
        | "GUILD_SOUNDBOARD_SOUNDS_UPDATE" => GUILD_EXPRESSIONS,
        "GUILD_INTEGRATIONS_UPDATE"
        | "INTEGRATION_CREATE"
        | "INTEGRATION_UPDATE"
        | "INTEGRATION_DELETE" => GUILD_INTEGRATIONS,
        "WEBHOOKS_UPDATE" => GUILD_WEBHOOKS,
        "INVITE_CREATE" | "INVITE_DELETE" => GUILD_INVITES,
        "VOICE_STATE_UPDATE" | "VOICE_CHANNEL_EFFECT_SEND" => GUILD_VOICE_STATES,
        "PRESENCE_UPDATE" => GUILD_PRESENCES,
        "MESSAGE_CREATE" | "MESSAGE_UPDATE" | "MESSAGE_DELETE" | "MESSAGE_DELETE_BULK" => {
            GUILD_MESSAGES
        }
        "MESSAGE_REACTION_ADD"
        | "MESSAGE_REACTION_REMOVE"
        | "MESSAGE_REACTION_REMOVE_ALL"
        | "MESSAGE_REACTION_REMOVE_EMOJI" => GUILD_MESSAGE_REACTIONS,
        "TYPING_START" => GUILD_MESSAGE_TYPING,
        "GUILD_SCHEDULED_EVENT_CREATE"
        | "GUILD_SCHEDULED_EVENT_UPDATE"
        | "GUILD_SCHEDULED_EVENT_DELETE"
        | "GUILD_SCHEDULED_EVENT_USER_ADD"
        | "GUILD_SCHEDULED_EVENT_USER_REMOVE" => GUILD_SCHEDULED_EVENTS,
        "AUTO_MODERATION_RULE_CREATE"
        | "AUTO_MODERATION_RULE_UPDATE"
        | "AUTO_MODERATION_RULE_DELETE" => AUTO_MODERATION_CONFIGURATION,
        "AUTO_MODERATION_ACTION_EXECUTION" => AUTO_MODERATION_EXECUTION,
        "MESSAGE_POLL_VOTE_ADD" | "MESSAGE_POLL_VOTE_REMOVE" => GUILD_MESSAGE_POLLS,
        _ => return None,
    })
}

/// Whether a session with `intents` receives dispatch `t`.
pub fn allows(t: &str, intents: u64) -> bool {
    required(t).is_none_or(|needed| intents & needed != 0)
}

/// Without MESSAGE_CONTENT, messages arrive with content, embeds,
/// attachments, components and poll empty, except the bot's own messages
/// and those that mention it.
pub fn needs_stripping(t: &str, d: &Value, intents: u64, bot_user_id: u64) -> bool {
    if intents & MESSAGE_CONTENT != 0 || !matches!(t, "MESSAGE_CREATE" | "MESSAGE_UPDATE") {
        return false;
    }
    let bot = bot_user_id.to_string();
    let own = d.pointer("/author/id").and_then(Value::as_str) == Some(bot.as_str());
    let mentioned = d
        .get("mentions")
        .and_then(Value::as_array)
        .is_some_and(|m| {
            m.iter()
                .any(|u| u.get("id").and_then(Value::as_str) == Some(bot.as_str()))
        });
    !own && !mentioned
}

pub(crate) fn strip_content(d: &Value) -> Value {
    let mut d = d.clone();
    if let Some(object) = d.as_object_mut() {
        for (key, empty) in [
            ("content", Value::String(String::new())),
            ("embeds", Value::Array(Vec::new())),
            ("attachments", Value::Array(Vec::new())),
            ("components", Value::Array(Vec::new())),
        ] {
            if object.contains_key(key) {
                object.insert(key.to_owned(), empty);
            }
        }
        object.remove("poll");
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn routes_events_to_intents() {
        assert!(allows("MESSAGE_CREATE", GUILD_MESSAGES));
        assert!(!allows("MESSAGE_CREATE", GUILDS));
        assert!(!allows("VOICE_STATE_UPDATE", GUILDS | GUILD_MESSAGES));
        assert!(allows("VOICE_STATE_UPDATE", GUILD_VOICE_STATES));
        assert!(
            allows("SOMETHING_NEW", 0),
            "unknown events are not filtered"
        );
    }

    #[test]
    fn strips_content_unless_own_or_mentioned() {
        let d = json!({"author": {"id": "5"}, "content": "hi", "embeds": [{}], "attachments": [{}], "mentions": []});
        assert!(needs_stripping("MESSAGE_CREATE", &d, GUILD_MESSAGES, 9));
        assert!(!needs_stripping(
            "MESSAGE_CREATE",
            &d,
            GUILD_MESSAGES | MESSAGE_CONTENT,
            9
        ));
        assert!(
            !needs_stripping("MESSAGE_CREATE", &d, GUILD_MESSAGES, 5),
            "the bot's own message"
        );
        let mention = json!({"author": {"id": "5"}, "mentions": [{"id": "9"}]});
        assert!(!needs_stripping(
            "MESSAGE_CREATE",
            &mention,
            GUILD_MESSAGES,
            9
        ));
        assert!(!needs_stripping("MESSAGE_DELETE", &d, GUILD_MESSAGES, 9));
        let stripped = strip_content(&d);
        assert_eq!(
            stripped,
            json!({"author": {"id": "5"}, "content": "", "embeds": [], "attachments": [], "mentions": []})
        );
    }
}
