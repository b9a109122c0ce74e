//! The gateway frames the ingester reads, as minimal serde structs: only the
//! fields it counts, so unknown or extra fields never break parsing, and
//! message content is never even deserialized.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_json::value::RawValue;
use shared::Snowflake;
use twilight_model::channel::permission_overwrite::PermissionOverwrite;
use twilight_model::guild::Permissions;

/// One table names the dispatch events the ingester folds, so the name
/// parsed from `t` and the metric label cannot drift apart.
macro_rules! event_kinds {
    ($($variant:ident = $name:literal,)*) => {
        /// A dispatch event the ingester folds; any other `t` is ignored.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum EventKind {
            $($variant,)*
        }

        impl EventKind {
            pub const ALL: &[EventKind] = &[$(EventKind::$variant,)*];

            /// The kind named by a dispatch's `t`, if the ingester folds it.
            pub fn parse(t: &str) -> Option<Self> {
                match t {
                    $($name => Some(Self::$variant),)*
                    _ => None,
                }
            }

            /// Discord's name, also the events-by-type metric label.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $name,)*
                }
            }
        }
    };
}

event_kinds! {
    Ready = "READY",
    Resumed = "RESUMED",
    GuildCreate = "GUILD_CREATE",
    GuildUpdate = "GUILD_UPDATE",
    GuildDelete = "GUILD_DELETE",
    GuildRoleUpdate = "GUILD_ROLE_UPDATE",
    ChannelCreate = "CHANNEL_CREATE",
    ChannelUpdate = "CHANNEL_UPDATE",
    ChannelDelete = "CHANNEL_DELETE",
    ThreadCreate = "THREAD_CREATE",
    ThreadUpdate = "THREAD_UPDATE",
    ThreadDelete = "THREAD_DELETE",
    ThreadListSync = "THREAD_LIST_SYNC",
    MessageCreate = "MESSAGE_CREATE",
    MessageDelete = "MESSAGE_DELETE",
    MessageDeleteBulk = "MESSAGE_DELETE_BULK",
    MessageReactionAdd = "MESSAGE_REACTION_ADD",
    MessageReactionRemove = "MESSAGE_REACTION_REMOVE",
    GuildMemberAdd = "GUILD_MEMBER_ADD",
    GuildMemberRemove = "GUILD_MEMBER_REMOVE",
    VoiceStateUpdate = "VOICE_STATE_UPDATE",
}

/// Why a dispatch's `d` could not be read.
#[derive(Debug, thiserror::Error)]
pub enum PayloadError {
    #[error("missing d")]
    Missing,
    #[error(transparent)]
    Invalid(#[from] serde_json::Error),
}

/// Deserializes a dispatch's `d` into the payload struct of its event.
pub fn payload<'a, T: Deserialize<'a>>(d: Option<&'a RawValue>) -> Result<T, PayloadError> {
    let raw = d.ok_or(PayloadError::Missing)?;
    Ok(serde_json::from_str(raw.get())?)
}

/// `{op, d, s, t}` plus the simulator's `sim_time_ms` (see the crate docs).
#[derive(Debug, Deserialize)]
pub struct Envelope<'a> {
    pub op: u8,
    #[serde(default)]
    pub s: Option<u64>,
    #[serde(default)]
    pub t: Option<String>,
    #[serde(default, borrow)]
    pub d: Option<&'a RawValue>,
    #[serde(default)]
    pub sim_time_ms: Option<i64>,
}

/// A time field as sent. `Unreadable` when it is not an RFC 3339 instant
/// chrono can hold (a number, year 300000): one bad field costs that field,
/// not the whole event. Whether a readable time is plausible is the fold's
/// question (`shared::time::wire_time`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WireTime {
    At(DateTime<Utc>),
    Unreadable,
}

impl<'de> Deserialize<'de> for WireTime {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            At(DateTime<Utc>),
            Other(IgnoredAny),
        }
        Ok(match Raw::deserialize(d)? {
            Raw::At(t) => Self::At(t),
            Raw::Other(_) => Self::Unreadable,
        })
    }
}

#[derive(Debug, Deserialize)]
pub struct UserRef {
    pub id: Snowflake,
    #[serde(default)]
    pub bot: bool,
    /// The avatar's hash; `None` (null or absent) is Discord's default
    /// avatar. Only whether there is one is read.
    #[serde(default)]
    pub avatar: Option<IgnoredAny>,
}

#[derive(Debug, Deserialize)]
pub struct ThreadMetadata {
    #[serde(default)]
    pub archived: bool,
}

#[derive(Debug, Deserialize)]
pub struct ChannelPayload {
    pub id: Snowflake,
    #[serde(default)]
    pub guild_id: Option<Snowflake>,
    #[serde(rename = "type")]
    pub kind: u8,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub parent_id: Option<Snowflake>,
    #[serde(default)]
    pub thread_metadata: Option<ThreadMetadata>,
    #[serde(default)]
    pub newly_created: Option<bool>,
    /// Channels carry them, threads do not; `None` when absent.
    #[serde(default)]
    pub permission_overwrites: Option<Vec<PermissionOverwrite>>,
}

/// A role: the ingester keeps only the @everyone role's permissions (its
/// id is the guild id), which say who may view a channel.
#[derive(Debug, Deserialize)]
pub struct RolePayload {
    pub id: Snowflake,
    pub permissions: Permissions,
}

/// `GUILD_ROLE_UPDATE`.
#[derive(Debug, Deserialize)]
pub struct GuildRoleUpdate {
    pub guild_id: Snowflake,
    pub role: RolePayload,
}

#[derive(Debug, Deserialize)]
pub struct MemberPayload {
    pub user: UserRef,
    #[serde(default)]
    pub joined_at: Option<WireTime>,
}

#[derive(Debug, Deserialize)]
pub struct VoiceStatePayload {
    #[serde(default)]
    pub guild_id: Option<Snowflake>,
    #[serde(default)]
    pub channel_id: Option<Snowflake>,
    pub user_id: Snowflake,
    #[serde(default)]
    pub member: Option<MemberPayload>,
}

#[derive(Debug, Deserialize)]
pub struct GuildCreate {
    pub id: Snowflake,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub unavailable: Option<bool>,
    #[serde(default)]
    pub member_count: Option<i64>,
    #[serde(default)]
    pub channels: Vec<ChannelPayload>,
    #[serde(default)]
    pub threads: Vec<ChannelPayload>,
    #[serde(default)]
    pub roles: Vec<RolePayload>,
    #[serde(default)]
    pub members: Vec<MemberPayload>,
    #[serde(default)]
    pub voice_states: Vec<VoiceStatePayload>,
}

#[derive(Debug, Deserialize)]
pub struct GuildUpdate {
    pub id: Snowflake,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub roles: Vec<RolePayload>,
}

#[derive(Debug, Deserialize)]
pub struct GuildDelete {
    pub id: Snowflake,
    #[serde(default)]
    pub unavailable: Option<bool>,
}

#[derive(Debug, Deserialize)]
pub struct ThreadListSync {
    pub guild_id: Snowflake,
    #[serde(default)]
    pub threads: Vec<ChannelPayload>,
}

#[derive(Debug, Deserialize)]
pub struct MessageCreate {
    pub id: Snowflake,
    pub channel_id: Snowflake,
    #[serde(default)]
    pub guild_id: Option<Snowflake>,
    pub author: UserRef,
    #[serde(default)]
    pub webhook_id: Option<Snowflake>,
    #[serde(default)]
    pub attachments: Vec<IgnoredAny>,
    #[serde(default)]
    pub embeds: Vec<IgnoredAny>,
    #[serde(default)]
    pub sticker_items: Vec<IgnoredAny>,
}

#[derive(Debug, Deserialize)]
pub struct MessageDelete {
    pub channel_id: Snowflake,
    #[serde(default)]
    pub guild_id: Option<Snowflake>,
}

#[derive(Debug, Deserialize)]
pub struct MessageDeleteBulk {
    pub ids: Vec<IgnoredAny>,
    pub channel_id: Snowflake,
    #[serde(default)]
    pub guild_id: Option<Snowflake>,
}

#[derive(Debug, Deserialize)]
pub struct EmojiRef {
    #[serde(default)]
    pub id: Option<Snowflake>,
    #[serde(default)]
    pub name: Option<String>,
}

impl EmojiRef {
    /// `"👍"` for a unicode emoji, `"name:id"` for a custom one.
    pub fn key(&self) -> String {
        match (&self.id, &self.name) {
            (Some(id), Some(name)) => format!("{name}:{id}"),
            (Some(id), None) => format!(":{id}"),
            (None, Some(name)) => name.clone(),
            (None, None) => String::new(),
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct Reaction {
    pub user_id: Snowflake,
    pub channel_id: Snowflake,
    #[serde(default)]
    pub guild_id: Option<Snowflake>,
    pub emoji: EmojiRef,
    #[serde(default)]
    pub message_author_id: Option<Snowflake>,
    /// The reactor, in guilds (MESSAGE_REACTION_ADD only).
    #[serde(default)]
    pub member: Option<MemberPayload>,
}

#[derive(Debug, Deserialize)]
pub struct MemberAdd {
    pub guild_id: Snowflake,
    pub user: UserRef,
    #[serde(default)]
    pub joined_at: Option<WireTime>,
}

#[derive(Debug, Deserialize)]
pub struct MemberRemove {
    pub guild_id: Snowflake,
    pub user: UserRef,
}

#[derive(Debug, Deserialize)]
pub struct Ready {
    pub session_id: String,
    #[serde(default)]
    pub guilds: Vec<GuildDelete>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_reads_sim_time_and_leaves_d_raw() {
        let text = r#"{"op":0,"s":5,"t":"MESSAGE_DELETE","d":{"id":"1","channel_id":"2","guild_id":"3"},"sim_time_ms":1700000000000}"#;
        let envelope: Envelope<'_> = serde_json::from_str(text).unwrap();
        assert_eq!((envelope.op, envelope.s), (0, Some(5)));
        assert_eq!(envelope.sim_time_ms, Some(1_700_000_000_000));
        let d: MessageDelete = serde_json::from_str(envelope.d.unwrap().get()).unwrap();
        assert_eq!(d.channel_id, Snowflake(2));
    }

    #[test]
    fn event_kinds_round_trip_through_their_names() {
        for kind in EventKind::ALL {
            assert_eq!(EventKind::parse(kind.as_str()), Some(*kind));
        }
        assert_eq!(EventKind::ALL.len(), 21);
        assert_eq!(EventKind::parse("TYPING_START"), None);
    }

    #[test]
    fn payload_errors_say_what_is_wrong() {
        assert!(matches!(
            payload::<MessageDelete>(None),
            Err(PayloadError::Missing)
        ));
        let raw = RawValue::from_string(r#"{"guild_id": "1"}"#.to_owned()).unwrap();
        assert!(matches!(
            payload::<MessageDelete>(Some(&raw)),
            Err(PayloadError::Invalid(_))
        ));
    }

    #[test]
    fn an_unreadable_time_costs_the_field_not_the_event() {
        let read = |joined: &str| {
            let text = format!(r#"{{"guild_id":"1","user":{{"id":"2"}},"joined_at":{joined}}}"#);
            serde_json::from_str::<MemberAdd>(&text).unwrap().joined_at
        };
        let t = "2026-12-01T10:00:00.123+00:00".parse().unwrap();
        assert_eq!(
            read(r#""2026-12-01T10:00:00.123+00:00""#),
            Some(WireTime::At(t))
        );
        assert_eq!(read("null"), None);
        for bad in [
            "9223372036854775807",
            "-1",
            r#""+300000-01-01T00:00:00Z""#,
            r#""yesterday""#,
        ] {
            assert_eq!(read(bad), Some(WireTime::Unreadable), "{bad}");
        }
    }

    #[test]
    fn emoji_keys() {
        let custom: EmojiRef = serde_json::from_str(r#"{"id":"9","name":"party"}"#).unwrap();
        assert_eq!(custom.key(), "party:9");
        let unicode: EmojiRef = serde_json::from_str(r#"{"id":null,"name":"👍"}"#).unwrap();
        assert_eq!(unicode.key(), "👍");
    }
}
