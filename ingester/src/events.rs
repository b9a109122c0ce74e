//! The gateway frames the ingester reads, as minimal serde structs: only the
//! fields it counts, so unknown or extra fields never break parsing, and
//! message content is never even deserialized.

use std::borrow::Cow;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};
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

/// A dispatch's `d`, deserialized into the payload struct of its event.
/// The variant follows from the [`EventKind`] alone (see
/// [`Payload::parse`]).
#[derive(Debug)]
pub enum Payload {
    Ready(Ready),
    /// RESUMED's `d` is not read.
    Resumed,
    GuildCreate(Box<GuildCreate>),
    GuildUpdate(GuildUpdate),
    GuildDelete(GuildDelete),
    GuildRoleUpdate(GuildRoleUpdate),
    /// CHANNEL_CREATE/UPDATE/DELETE and THREAD_CREATE/UPDATE/DELETE.
    Channel(ChannelPayload),
    ThreadListSync(ThreadListSync),
    MessageCreate(MessageCreate),
    MessageDelete(MessageDelete),
    MessageDeleteBulk(MessageDeleteBulk),
    /// MESSAGE_REACTION_ADD and MESSAGE_REACTION_REMOVE.
    Reaction(Reaction),
    MemberAdd(MemberAdd),
    MemberRemove(MemberRemove),
    VoiceState(VoiceStatePayload),
}

impl Payload {
    /// Deserializes `kind`'s payload from `d`.
    pub fn parse(kind: EventKind, d: Option<&RawValue>) -> Result<Self, PayloadError> {
        if kind == EventKind::Resumed {
            return Ok(Self::Resumed);
        }
        let raw = d.ok_or(PayloadError::Missing)?;
        let mut de = serde_json::Deserializer::from_str(raw.get());
        let payload = PayloadSeed(kind).deserialize(&mut de)?;
        de.end()?;
        Ok(payload)
    }
}

/// Deserializes the payload of one event kind in place, wherever `d` is.
struct PayloadSeed(EventKind);

impl<'de> DeserializeSeed<'de> for PayloadSeed {
    type Value = Payload;

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<Payload, D::Error> {
        use EventKind as E;
        Ok(match self.0 {
            E::Ready => Payload::Ready(Ready::deserialize(de)?),
            E::Resumed => {
                IgnoredAny::deserialize(de)?;
                Payload::Resumed
            }
            E::GuildCreate => Payload::GuildCreate(Box::new(GuildCreate::deserialize(de)?)),
            E::GuildUpdate => Payload::GuildUpdate(GuildUpdate::deserialize(de)?),
            E::GuildDelete => Payload::GuildDelete(GuildDelete::deserialize(de)?),
            E::GuildRoleUpdate => Payload::GuildRoleUpdate(GuildRoleUpdate::deserialize(de)?),
            E::ChannelCreate
            | E::ChannelUpdate
            | E::ChannelDelete
            | E::ThreadCreate
            | E::ThreadUpdate
            | E::ThreadDelete => Payload::Channel(ChannelPayload::deserialize(de)?),
            E::ThreadListSync => Payload::ThreadListSync(ThreadListSync::deserialize(de)?),
            E::MessageCreate => Payload::MessageCreate(MessageCreate::deserialize(de)?),
            E::MessageDelete => Payload::MessageDelete(MessageDelete::deserialize(de)?),
            E::MessageDeleteBulk => Payload::MessageDeleteBulk(MessageDeleteBulk::deserialize(de)?),
            E::MessageReactionAdd | E::MessageReactionRemove => {
                Payload::Reaction(Reaction::deserialize(de)?)
            }
            E::GuildMemberAdd => Payload::MemberAdd(MemberAdd::deserialize(de)?),
            E::GuildMemberRemove => Payload::MemberRemove(MemberRemove::deserialize(de)?),
            E::VoiceStateUpdate => Payload::VoiceState(VoiceStatePayload::deserialize(de)?),
        })
    }
}

/// A text frame read in one pass: the envelope's fields and, when `t`
/// comes before `d` (as Discord and the simulator send it), the payload
/// deserialized straight from the frame, without first validating `d` as a
/// [`RawValue`] and reading it again.
///
/// [`Frame::read`] gives `None` whenever the frame is not a well-formed
/// envelope with a readable payload; the caller then reads it the
/// two-step way ([`Envelope`] and [`Payload::parse`]), which reports what
/// is wrong exactly as before.
#[derive(Debug)]
pub struct Frame<'a> {
    pub op: u8,
    pub t: Option<Cow<'a, str>>,
    pub sim_time_ms: Option<i64>,
    /// The event and its payload, for a `t` the ingester folds.
    pub event: Option<(EventKind, Payload)>,
}

impl<'a> Frame<'a> {
    pub fn read(text: &'a str) -> Option<Self> {
        let mut de = serde_json::Deserializer::from_str(text);
        let frame = de.deserialize_map(FrameVisitor).ok()?;
        de.end().ok()?;
        frame
    }
}

/// A string borrowed from the frame when it has no escapes.
struct CowStr<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for CowStr<'de> {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = CowStr<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: serde::de::Error>(
                self,
                v: &'de str,
            ) -> Result<Self::Value, E> {
                Ok(CowStr(Cow::Borrowed(v)))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(CowStr(Cow::Owned(v.to_owned())))
            }
        }
        de.deserialize_str(V)
    }
}

enum FrameField {
    Op,
    S,
    T,
    D,
    SimTime,
    Other,
}

impl<'de> Deserialize<'de> for FrameField {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        let name = CowStr::deserialize(de)?;
        Ok(match name.0.as_ref() {
            "op" => Self::Op,
            "s" => Self::S,
            "t" => Self::T,
            "d" => Self::D,
            "sim_time_ms" => Self::SimTime,
            _ => Self::Other,
        })
    }
}

struct FrameVisitor;

impl<'de> Visitor<'de> for FrameVisitor {
    /// `None`: read the frame the two-step way.
    type Value = Option<Frame<'de>>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a gateway frame")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        use serde::de::Error as _;
        let mut op: Option<u8> = None;
        let mut s_seen = false;
        let mut t: Option<Option<CowStr<'de>>> = None;
        let mut sim_time_ms: Option<Option<i64>> = None;
        // `d` once read: parsed, skipped, or (before `t`) kept raw.
        let mut d: Option<Result<Option<Payload>, Option<&'de RawValue>>> = None;
        while let Some(field) = map.next_key::<FrameField>()? {
            let duplicate = match field {
                FrameField::Op => op.replace(map.next_value()?).is_some(),
                FrameField::S => {
                    map.next_value::<Option<u64>>()?;
                    std::mem::replace(&mut s_seen, true)
                }
                FrameField::T => t.replace(map.next_value()?).is_some(),
                FrameField::SimTime => sim_time_ms.replace(map.next_value()?).is_some(),
                FrameField::D => {
                    let kind = t
                        .as_ref()
                        .map(|t| t.as_ref().and_then(|t| EventKind::parse(&t.0)));
                    let read = match kind {
                        Some(Some(kind)) => Ok(Some(map.next_value_seed(PayloadSeed(kind))?)),
                        Some(None) => {
                            map.next_value::<IgnoredAny>()?;
                            Ok(None)
                        }
                        None => Err(map.next_value::<Option<&'de RawValue>>()?),
                    };
                    d.replace(read).is_some()
                }
                FrameField::Other => {
                    map.next_value::<IgnoredAny>()?;
                    false
                }
            };
            if duplicate {
                return Err(A::Error::custom("duplicate field"));
            }
        }
        let Some(op) = op else {
            return Err(A::Error::missing_field("op"));
        };
        let t = t.flatten().map(|t| t.0);
        let kind = t.as_deref().and_then(EventKind::parse);
        let event = match (kind, d) {
            (None, _) => None,
            (Some(kind), Some(Ok(Some(payload)))) => Some((kind, payload)),
            (Some(EventKind::Resumed), _) => Some((EventKind::Resumed, Payload::Resumed)),
            (Some(kind), Some(Err(Some(raw)))) => match Payload::parse(kind, Some(raw)) {
                Ok(payload) => Some((kind, payload)),
                Err(_) => return Ok(None),
            },
            // Missing or null `d`: the two-step read names it.
            (Some(_), _) => return Ok(None),
        };
        Ok(Some(Frame {
            op,
            t,
            sim_time_ms: sim_time_ms.flatten(),
            event,
        }))
    }
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
    /// Who opened the thread (threads only).
    #[serde(default)]
    pub owner_id: Option<Snowflake>,
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

    /// [`EmojiRef::key`], reusing the name's allocation for a unicode emoji
    /// (the common case: no copy per reaction).
    pub fn into_key(self) -> String {
        match (self.id, self.name) {
            (None, Some(name)) => name,
            (id, name) => Self { id, name }.key(),
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct Reaction {
    pub user_id: Snowflake,
    pub channel_id: Snowflake,
    /// The message reacted to (always sent by Discord).
    #[serde(default)]
    pub message_id: Option<Snowflake>,
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
    fn a_frame_reads_in_one_pass_whatever_the_field_order() {
        let t_first = r#"{"op":0,"s":5,"t":"MESSAGE_DELETE","d":{"id":"1","channel_id":"2","guild_id":"3"},"sim_time_ms":1700000000000}"#;
        let d_first = r#"{"d":{"id":"1","channel_id":"2","guild_id":"3"},"sim_time_ms":1700000000000,"t":"MESSAGE_DELETE","s":5,"op":0}"#;
        for text in [t_first, d_first] {
            let frame = Frame::read(text).expect("reads");
            assert_eq!(frame.op, 0);
            assert_eq!(frame.t.as_deref(), Some("MESSAGE_DELETE"));
            assert_eq!(frame.sim_time_ms, Some(1_700_000_000_000));
            match frame.event {
                Some((EventKind::MessageDelete, Payload::MessageDelete(d))) => {
                    assert_eq!(
                        (d.channel_id, d.guild_id),
                        (Snowflake(2), Some(Snowflake(3)))
                    );
                }
                other => panic!("{other:?}"),
            }
        }
        assert!(matches!(
            Frame::read(t_first).unwrap().t,
            Some(std::borrow::Cow::Borrowed(_))
        ));
    }

    #[test]
    fn frames_the_ingester_does_not_fold_carry_no_event() {
        let typing = Frame::read(r#"{"op":0,"s":1,"t":"TYPING_START","d":{"x":[1,{"y":null}]}}"#)
            .expect("reads");
        assert_eq!(typing.t.as_deref(), Some("TYPING_START"));
        assert!(typing.event.is_none());
        let hello = Frame::read(r#"{"op":10,"d":{"heartbeat_interval":41250},"t":null,"s":null}"#)
            .expect("reads");
        assert_eq!((hello.op, hello.t), (10, None));
        let resumed = Frame::read(r#"{"op":0,"s":9,"t":"RESUMED","d":null}"#).expect("reads");
        assert!(matches!(
            resumed.event,
            Some((EventKind::Resumed, Payload::Resumed))
        ));
    }

    /// Whatever the two-step read would reject or call malformed is left to
    /// it, so its errors and counts stay as they were.
    #[test]
    fn frames_that_do_not_read_in_one_pass_are_left_to_the_two_step_read() {
        for text in [
            // Payload without its required fields, before and after `t`.
            r#"{"op":0,"s":1,"t":"MESSAGE_DELETE","d":{"guild_id":"1"}}"#,
            r#"{"op":0,"s":1,"d":{"guild_id":"1"},"t":"MESSAGE_DELETE"}"#,
            // Missing or null `d`.
            r#"{"op":0,"s":1,"t":"MESSAGE_DELETE"}"#,
            r#"{"op":0,"s":1,"t":"MESSAGE_DELETE","d":null}"#,
            // Not an envelope.
            r#"{"op":0,"op":0,"t":"RESUMED"}"#,
            r#"{"s":1,"t":"RESUMED"}"#,
            r#"{"op":0,"t":"RESUMED"} trailing"#,
            r#"[0,1,"RESUMED",null]"#,
        ] {
            assert!(Frame::read(text).is_none(), "{text}");
        }
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
        assert_eq!(unicode.into_key(), "👍");
        assert_eq!(custom.into_key(), "party:9");
    }
}
