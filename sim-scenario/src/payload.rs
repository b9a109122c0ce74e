//! JSON payloads shaped like Discord's, with the fields twilight-model 0.18
//! requires. Ids travel as strings.

use serde_json::{Value, json};

/// ISO 8601 timestamp as Discord writes it.
pub(crate) fn iso(ms: i64) -> String {
    let dt = chrono::DateTime::from_timestamp_millis(ms).expect("timestamp in range");
    dt.format("%Y-%m-%dT%H:%M:%S%.6f+00:00").to_string()
}

pub(crate) fn user(id: u64, name: &str, bot: bool) -> Value {
    let mut u = json!({
        "id": id.to_string(),
        "username": name,
        "discriminator": "0",
        "avatar": null,
    });
    if bot {
        u["bot"] = Value::Bool(true);
    }
    u
}

pub(crate) fn member(id: u64, name: &str, bot: bool, joined_ms: i64) -> Value {
    json!({
        "user": user(id, name, bot),
        "roles": [],
        "joined_at": iso(joined_ms),
        "deaf": false,
        "mute": false,
        "flags": 0,
    })
}

/// A guild channel (not a thread).
pub(crate) struct ChannelShape<'a> {
    pub id: u64,
    pub guild_id: u64,
    pub kind: u8,
    pub name: &'a str,
    pub parent_id: Option<u64>,
    pub position: i32,
    pub topic: Option<&'a str>,
    /// `Some(role)`: @everyone is denied VIEW_CHANNEL by an overwrite (the
    /// channel is private) and `role`, when not the guild id, is allowed it.
    pub private_to: Option<u64>,
}

/// VIEW_CHANNEL, `1 << 10`.
const VIEW_CHANNEL: u64 = 1 << 10;

/// The overwrites of a channel: none for a public one; for a private one
/// @everyone (role id = guild id) denied VIEW_CHANNEL and `role` allowed it.
fn permission_overwrites(guild_id: u64, private_to: Option<u64>) -> Value {
    let Some(role) = private_to else {
        return json!([]);
    };
    let mut v = vec![json!({
        "id": guild_id.to_string(), "type": 0, "allow": "0", "deny": VIEW_CHANNEL.to_string(),
    })];
    if role != guild_id {
        v.push(json!({
            "id": role.to_string(), "type": 0, "allow": VIEW_CHANNEL.to_string(), "deny": "0",
        }));
    }
    Value::Array(v)
}

pub(crate) fn channel(c: &ChannelShape<'_>) -> Value {
    let mut v = json!({
        "id": c.id.to_string(),
        "guild_id": c.guild_id.to_string(),
        "type": c.kind,
        "name": c.name,
        "position": c.position,
        "permission_overwrites": permission_overwrites(c.guild_id, c.private_to),
        "nsfw": false,
    });
    if let Some(p) = c.parent_id {
        v["parent_id"] = Value::String(p.to_string());
    }
    match c.kind {
        0 | 5 => {
            v["topic"] = c.topic.map_or(Value::Null, |t| Value::String(t.to_owned()));
            v["rate_limit_per_user"] = json!(0);
            v["last_message_id"] = Value::Null;
        }
        2 | 13 => {
            v["bitrate"] = json!(64000);
            v["user_limit"] = json!(0);
            v["rtc_region"] = Value::Null;
        }
        15 => {
            v["topic"] = c.topic.map_or(Value::Null, |t| Value::String(t.to_owned()));
            v["available_tags"] = json!([]);
            v["default_reaction_emoji"] = Value::Null;
            v["default_sort_order"] = Value::Null;
            v["default_forum_layout"] = json!(0);
            v["flags"] = json!(0);
            v["rate_limit_per_user"] = json!(0);
        }
        _ => {}
    }
    v
}

pub(crate) struct ThreadShape<'a> {
    pub id: u64,
    pub guild_id: u64,
    pub parent_id: u64,
    pub kind: u8,
    pub name: &'a str,
    pub owner_id: u64,
    pub created_ms: i64,
    /// `Some(t)`: archived at `t`.
    pub archived_ms: Option<i64>,
    pub message_count: u32,
}

pub(crate) fn thread(t: &ThreadShape<'_>, newly_created: bool) -> Value {
    let mut v = json!({
        "id": t.id.to_string(),
        "guild_id": t.guild_id.to_string(),
        "parent_id": t.parent_id.to_string(),
        "type": t.kind,
        "name": t.name,
        "owner_id": t.owner_id.to_string(),
        "last_message_id": null,
        "rate_limit_per_user": 0,
        "message_count": t.message_count,
        "member_count": 1,
        "total_message_sent": t.message_count,
        "flags": 0,
        "thread_metadata": {
            "archived": t.archived_ms.is_some(),
            "auto_archive_duration": 1440,
            "archive_timestamp": iso(t.archived_ms.unwrap_or(t.created_ms)),
            "locked": false,
            "create_timestamp": iso(t.created_ms),
        },
    });
    if t.kind == 12 {
        v["thread_metadata"]["invitable"] = Value::Bool(true);
    }
    if newly_created {
        v["newly_created"] = Value::Bool(true);
    }
    v
}

pub(crate) struct MessageShape<'a> {
    pub id: u64,
    pub guild_id: u64,
    pub channel_id: u64,
    pub at_ms: i64,
    pub author_id: u64,
    pub author_name: &'a str,
    pub author_bot: bool,
    pub webhook_id: Option<u64>,
    /// The author's current `joined_at`, for the partial `member` object that
    /// guild messages from members carry.
    pub member_joined_ms: Option<i64>,
    /// Attachment ids (one attachment each).
    pub attachments: &'a [u64],
    pub embeds: u32,
    /// `(sticker id, name)`.
    pub stickers: &'a [(u64, &'a str)],
}

pub(crate) fn message(m: &MessageShape<'_>) -> Value {
    let attachments: Vec<Value> = m
        .attachments
        .iter()
        .enumerate()
        .map(|(i, id)| {
            let name = format!("file{i}.png");
            let url = format!(
                "https://cdn.discordapp.com/attachments/{}/{id}/{name}",
                m.channel_id
            );
            json!({
                "id": id.to_string(),
                "filename": name,
                "size": 20_000 + 1_000 * i as u64,
                "url": url,
                "proxy_url": url,
                "content_type": "image/png",
                "width": 640,
                "height": 480,
            })
        })
        .collect();
    let embeds: Vec<Value> = (0..m.embeds)
        .map(|i| {
            json!({
                "type": "rich",
                "title": format!("Embed {}", i + 1),
                "description": "Generated embed",
                "color": 5_793_266,
            })
        })
        .collect();
    let mut v = json!({
        "id": m.id.to_string(),
        "channel_id": m.channel_id.to_string(),
        "guild_id": m.guild_id.to_string(),
        "author": user(m.author_id, m.author_name, m.author_bot),
        "content": "",
        "timestamp": iso(m.at_ms),
        "tts": false,
        "mention_everyone": false,
        "mentions": [],
        "mention_roles": [],
        "attachments": attachments,
        "embeds": embeds,
        "pinned": false,
        "type": 0,
        "flags": 0,
    });
    if !m.stickers.is_empty() {
        v["sticker_items"] = m
            .stickers
            .iter()
            .map(|(id, name)| json!({"id": id.to_string(), "name": name, "format_type": 1}))
            .collect();
    }
    if let Some(w) = m.webhook_id {
        v["webhook_id"] = Value::String(w.to_string());
    }
    if let Some(j) = m.member_joined_ms {
        v["member"] = json!({
            "roles": [],
            "joined_at": iso(j),
            "deaf": false,
            "mute": false,
            "flags": 0,
        });
    }
    v
}

pub(crate) fn emoji(key: &EmojiRef<'_>) -> Value {
    match key {
        EmojiRef::Unicode(s) => json!({"id": null, "name": s}),
        EmojiRef::Custom { id, name } => {
            json!({"id": id.to_string(), "name": name, "animated": false})
        }
    }
}

pub(crate) enum EmojiRef<'a> {
    Unicode(&'a str),
    Custom { id: u64, name: &'a str },
}

pub(crate) struct ReactionShape<'a> {
    pub guild_id: u64,
    pub channel_id: u64,
    pub message_id: u64,
    pub user_id: u64,
    pub user_name: &'a str,
    pub user_bot: bool,
    pub user_joined_ms: i64,
    pub emoji: EmojiRef<'a>,
    /// Only `MESSAGE_REACTION_ADD` carries it.
    pub message_author_id: Option<u64>,
}

pub(crate) fn reaction(r: &ReactionShape<'_>) -> Value {
    let mut v = json!({
        "guild_id": r.guild_id.to_string(),
        "channel_id": r.channel_id.to_string(),
        "message_id": r.message_id.to_string(),
        "user_id": r.user_id.to_string(),
        "emoji": emoji(&r.emoji),
        "burst": false,
        "type": 0,
    });
    if let Some(a) = r.message_author_id {
        v["message_author_id"] = Value::String(a.to_string());
        v["member"] = member(r.user_id, r.user_name, r.user_bot, r.user_joined_ms);
    }
    v
}

pub(crate) struct VoiceShape<'a> {
    pub guild_id: u64,
    pub channel_id: Option<u64>,
    pub user_id: u64,
    pub user_name: &'a str,
    pub user_bot: bool,
    pub user_joined_ms: i64,
    pub session_id: &'a str,
    pub self_mute: bool,
    pub self_deaf: bool,
    pub suppress: bool,
}

pub(crate) fn voice_state(s: &VoiceShape<'_>) -> Value {
    json!({
        "guild_id": s.guild_id.to_string(),
        "channel_id": s.channel_id.map(|c| c.to_string()),
        "user_id": s.user_id.to_string(),
        "member": member(s.user_id, s.user_name, s.user_bot, s.user_joined_ms),
        "session_id": s.session_id,
        "deaf": false,
        "mute": false,
        "self_deaf": s.self_deaf,
        "self_mute": s.self_mute,
        "self_stream": false,
        "self_video": false,
        "suppress": s.suppress,
        "request_to_speak_timestamp": null,
    })
}

pub(crate) fn role_everyone(guild_id: u64) -> Value {
    json!({
        "id": guild_id.to_string(),
        "name": "@everyone",
        "color": 0,
        "colors": {"primary_color": 0, "secondary_color": null, "tertiary_color": null},
        "hoist": false,
        "managed": false,
        "mentionable": false,
        "permissions": "1071698660929",
        "position": 0,
        "flags": 0,
    })
}

/// A role that may see private channels (no other permissions of note).
pub(crate) fn role_moderators(id: u64) -> Value {
    json!({
        "id": id.to_string(),
        "name": "Moderators",
        "color": 3_447_003,
        "colors": {"primary_color": 3_447_003, "secondary_color": null, "tertiary_color": null},
        "hoist": true,
        "managed": false,
        "mentionable": true,
        "permissions": "1024",
        "position": 1,
        "flags": 0,
    })
}

pub(crate) fn guild_emoji(id: u64, name: &str) -> Value {
    json!({
        "id": id.to_string(),
        "name": name,
        "animated": false,
        "available": true,
        "managed": false,
        "require_colons": true,
        "roles": [],
    })
}

/// `GUILD_MEMBER_ADD`: the member object with its `guild_id`.
pub(crate) fn member_add(guild_id: u64, id: u64, name: &str, bot: bool, joined_ms: i64) -> Value {
    let mut d = member(id, name, bot, joined_ms);
    d["guild_id"] = Value::String(guild_id.to_string());
    d
}

/// `GUILD_MEMBER_REMOVE`.
pub(crate) fn member_remove(guild_id: u64, id: u64, name: &str, bot: bool) -> Value {
    json!({
        "guild_id": guild_id.to_string(),
        "user": user(id, name, bot),
    })
}

/// `MESSAGE_DELETE` of one message.
pub(crate) fn message_delete(guild_id: u64, channel_id: u64, message_id: u64) -> Value {
    json!({
        "guild_id": guild_id.to_string(),
        "channel_id": channel_id.to_string(),
        "id": message_id.to_string(),
    })
}

/// `MESSAGE_DELETE_BULK` of messages of one channel.
pub(crate) fn message_delete_bulk(guild_id: u64, channel_id: u64, message_ids: &[u64]) -> Value {
    let ids: Vec<String> = message_ids.iter().map(u64::to_string).collect();
    json!({"guild_id": guild_id.to_string(), "channel_id": channel_id.to_string(), "ids": ids})
}
