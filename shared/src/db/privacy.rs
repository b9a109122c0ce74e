//! Members' rights (`/privacy`): hidden members, and members who had their
//! per-member rows erased and are recorded per member no more.
//!
//! An erased member is known only by a keyed hash of `(guild, user)`
//! (HMAC-SHA256 under the key in `privacy_key`, generated once and kept in
//! the database), never by id. The erase and the opt-out row commit in one
//! transaction that holds [`OPT_OUT_LOCK`] exclusively; every ingester
//! flush holds it shared from its start and reads the opt-outs inside its
//! own transaction ([`opt_outs_for_flush`]). So a flush either committed
//! before the erase (and the erase deletes what it wrote) or reads the new
//! opt-out and writes nothing per member about them: no row slips in
//! between.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use hmac::{KeyInit, Mac};
use sqlx::{PgConnection, PgExecutor, PgPool};

use super::DbError;
use crate::ids::Snowflake;

/// The advisory lock between erasures (exclusive) and flushes (shared).
pub const OPT_OUT_LOCK: i64 = 0x5350_5052_4956_4143; // "SPPRIVAC"

/// The keyed hash of a member of a guild.
pub type MemberHash = [u8; 32];

/// Hashes `(guild, user)` under the deployment's privacy key. The key is
/// never printed.
#[derive(Clone)]
pub struct MemberHasher {
    key: [u8; 32],
}

impl std::fmt::Debug for MemberHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MemberHasher(..)")
    }
}

impl MemberHasher {
    pub fn new(key: [u8; 32]) -> Self {
        Self { key }
    }

    pub fn hash(&self, guild: Snowflake, user: Snowflake) -> MemberHash {
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&self.key)
            .expect("HMAC takes a key of any length");
        mac.update(&guild.0.to_be_bytes());
        mac.update(&user.0.to_be_bytes());
        mac.finalize().into_bytes().into()
    }
}

/// The deployment's privacy key: generated (from two random UUIDs, 244
/// random bits) by the first caller, read by every later one.
pub async fn hasher(conn: &mut PgConnection) -> Result<MemberHasher, DbError> {
    sqlx::query(
        "insert into privacy_key (secret)
         values (decode(replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', ''), 'hex'))
         on conflict (singleton) do nothing",
    )
    .execute(&mut *conn)
    .await?;
    stored_hasher(&mut *conn)
        .await?
        .ok_or_else(|| DbError::Corrupt("privacy_key has no row".into()))
}

/// The key if one was generated (no erasure ever happened otherwise).
async fn stored_hasher<'e>(executor: impl PgExecutor<'e>) -> Result<Option<MemberHasher>, DbError> {
    let secret: Option<Vec<u8>> = sqlx::query_scalar("select secret from privacy_key")
        .fetch_optional(executor)
        .await?;
    secret
        .map(|s| {
            <[u8; 32]>::try_from(s.as_slice())
                .map(MemberHasher::new)
                .map_err(|_| DbError::Corrupt("privacy_key.secret is not 32 bytes".into()))
        })
        .transpose()
}

/// Where a member stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PrivacyStatus {
    pub hidden_since: Option<DateTime<Utc>>,
    pub erased_since: Option<DateTime<Utc>>,
}

pub async fn status(
    conn: &mut PgConnection,
    guild: Snowflake,
    user: Snowflake,
) -> Result<PrivacyStatus, DbError> {
    let hidden_since = sqlx::query_scalar(
        "select hidden_since from member_privacy where guild_id = $1 and user_id = $2",
    )
    .bind(guild)
    .bind(user)
    .fetch_optional(&mut *conn)
    .await?;
    let erased_since = match stored_hasher(&mut *conn).await? {
        Some(hasher) => {
            sqlx::query_scalar(
                "select since from member_opt_outs where guild_id = $1 and user_hash = $2",
            )
            .bind(guild)
            .bind(hasher.hash(guild, user).as_slice())
            .fetch_optional(&mut *conn)
            .await?
        }
        None => None,
    };
    Ok(PrivacyStatus {
        hidden_since,
        erased_since,
    })
}

/// Hides a member (idempotent: the first instant stays).
pub async fn hide<'e>(
    executor: impl PgExecutor<'e>,
    guild: Snowflake,
    user: Snowflake,
    at: DateTime<Utc>,
) -> Result<(), DbError> {
    sqlx::query(
        "insert into member_privacy (guild_id, user_id, hidden_since) values ($1, $2, $3)
         on conflict (guild_id, user_id) do nothing",
    )
    .bind(guild)
    .bind(user)
    .bind(at)
    .execute(executor)
    .await?;
    Ok(())
}

/// Whether the member chose to be hidden.
pub async fn is_hidden<'e>(
    executor: impl PgExecutor<'e>,
    guild: Snowflake,
    user: Snowflake,
) -> Result<bool, DbError> {
    Ok(sqlx::query_scalar(
        "select exists (select 1 from member_privacy where guild_id = $1 and user_id = $2)",
    )
    .bind(guild)
    .bind(user)
    .fetch_one(executor)
    .await?)
}

/// Undoes `hide` and `delete` for the future: the member is shown and
/// recorded again (erased rows stay erased). Returns the status before.
pub async fn resume(
    pool: &PgPool,
    guild: Snowflake,
    user: Snowflake,
) -> Result<PrivacyStatus, DbError> {
    let mut tx = pool.begin().await?;
    let before = status(&mut tx, guild, user).await?;
    sqlx::query("delete from member_privacy where guild_id = $1 and user_id = $2")
        .bind(guild)
        .bind(user)
        .execute(&mut *tx)
        .await?;
    if let Some(hasher) = stored_hasher(&mut *tx).await? {
        sqlx::query("delete from member_opt_outs where guild_id = $1 and user_hash = $2")
            .bind(guild)
            .bind(hasher.hash(guild, user).as_slice())
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(before)
}

/// What an erasure deleted, per table (rows).
pub type Erased = Vec<(&'static str, u64)>;

/// The statements of an erasure, each bound to `(guild, user)` (and the
/// user id as text, `$3`, where mentions are scrubbed), in order.
/// Reactions the member received are kept for the giver with an unknown
/// receiver (0), merged into an existing row of the same key; settings
/// changes they made stay audited without who made them (actor 0), as does
/// a history import they asked for; their
/// mention in stored digests and Pulse Reports becomes "a former member".
const ERASE: [(&str, &str); 23] = [
    (
        "message_rollup",
        "delete from message_rollup where guild_id = $1 and author_id = $2",
    ),
    // Threads they opened keep their reply times, not who opened them.
    (
        "channels (thread owner)",
        "update channels set owner_id = null where guild_id = $1 and owner_id = $2",
    ),
    (
        "reaction_rollup (given)",
        "delete from reaction_rollup where guild_id = $1 and user_id = $2",
    ),
    (
        "reaction_rollup (received)",
        "with moved as (
             delete from reaction_rollup where guild_id = $1 and receiver_id = $2 and receiver_id <> 0
             returning guild_id, hour, channel_id, user_id, emoji, added, removed)
         insert into reaction_rollup (guild_id, hour, channel_id, user_id, receiver_id, emoji, added, removed)
         select guild_id, hour, channel_id, user_id, 0, emoji, sum(added), sum(removed)
         from moved group by guild_id, hour, channel_id, user_id, emoji
         on conflict (guild_id, hour, channel_id, user_id, receiver_id, emoji) do update set
             added = reaction_rollup.added + excluded.added,
             removed = reaction_rollup.removed + excluded.removed",
    ),
    (
        "voice_rollup",
        "delete from voice_rollup where guild_id = $1 and user_id = $2",
    ),
    (
        "member_daily",
        "delete from member_daily where guild_id = $1 and user_id = $2",
    ),
    (
        "member_totals",
        "delete from member_totals where guild_id = $1 and user_id = $2",
    ),
    // Their bits in the active-member bitmaps, then their number.
    (
        "active_daily",
        "update active_daily a set
             posted = set_bit(a.posted, i.idx % 2048, 0),
             bot_posted = set_bit(a.bot_posted, i.idx % 2048, 0),
             took_part = set_bit(a.took_part, i.idx % 2048, 0)
         from member_index i
         where i.guild_id = $1 and i.user_id = $2 and a.guild_id = $1 and a.chunk = i.idx / 2048
           and (get_bit(a.posted, i.idx % 2048) = 1 or get_bit(a.bot_posted, i.idx % 2048) = 1
                or get_bit(a.took_part, i.idx % 2048) = 1)",
    ),
    (
        "member_index",
        "delete from member_index where guild_id = $1 and user_id = $2",
    ),
    (
        "message_daily",
        "delete from message_daily where guild_id = $1 and author_id = $2",
    ),
    (
        "reaction_daily",
        "delete from reaction_daily where guild_id = $1 and user_id = $2",
    ),
    (
        "voice_daily",
        "delete from voice_daily where guild_id = $1 and user_id = $2",
    ),
    (
        "voice_sessions",
        "delete from voice_sessions where guild_id = $1 and user_id = $2",
    ),
    (
        "membership_spans",
        "delete from membership_spans where guild_id = $1 and user_id = $2",
    ),
    (
        "members",
        "delete from members where guild_id = $1 and user_id = $2",
    ),
    (
        "member_privacy",
        "delete from member_privacy where guild_id = $1 and user_id = $2",
    ),
    (
        "dashboard_sessions",
        "delete from dashboard_sessions where guild_id = $1 and user_id = $2",
    ),
    (
        "access_log (by them)",
        "delete from access_log where guild_id = $1 and actor_id = $2",
    ),
    (
        "access_log (about them)",
        "delete from access_log where guild_id = $1 and target_id = $2",
    ),
    (
        "settings_audit",
        "update settings_audit set actor_id = 0 where guild_id = $1 and actor_id = $2",
    ),
    (
        "backfill_jobs",
        "update backfill_jobs set requested_by = 0 where guild_id = $1 and requested_by = $2",
    ),
    (
        "outbox",
        "update outbox set payload = replace(payload::text, '<@' || $3 || '>', 'a former member')::jsonb
         where guild_id = $1 and strpos(payload::text, $3) > 0 and $2::bigint is not null",
    ),
    (
        "pulse_reports",
        "update pulse_reports set shown = replace(shown::text, '<@' || $3 || '>', 'a former member')::jsonb
         where guild_id = $1 and strpos(shown::text, $3) > 0 and $2::bigint is not null",
    ),
];

/// `/privacy delete`: records the opt-out (by hash) and erases every row
/// that carries the member's id in this guild, in one transaction holding
/// [`OPT_OUT_LOCK`] exclusively (see the module notes). Idempotent.
pub async fn erase_member(
    pool: &PgPool,
    guild: Snowflake,
    user: Snowflake,
    at: DateTime<Utc>,
) -> Result<Erased, DbError> {
    let mut tx = pool.begin().await?;
    let hasher = hasher(&mut tx).await?;
    sqlx::query("select pg_advisory_xact_lock($1)")
        .bind(OPT_OUT_LOCK)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "insert into member_opt_outs (guild_id, user_hash, since) values ($1, $2, $3)
         on conflict (guild_id, user_hash) do nothing",
    )
    .bind(guild)
    .bind(hasher.hash(guild, user).as_slice())
    .bind(at)
    .execute(&mut *tx)
    .await?;
    let mut erased = Vec::new();
    for (table, statement) in ERASE {
        let mut query = sqlx::query(statement).bind(guild).bind(user);
        if statement.contains("$3") {
            query = query.bind(user.to_string());
        }
        let rows = query.execute(&mut *tx).await?.rows_affected();
        erased.push((table, rows));
    }
    tx.commit().await?;
    Ok(erased)
}

/// The opted-out members of `guilds`, for a flush: takes [`OPT_OUT_LOCK`]
/// shared for the rest of the transaction first, so no erasure commits
/// between this read and the flush's commit. Call it before the flush
/// writes anything (an erasure waiting for the lock holds no row lock).
pub async fn opt_outs_for_flush(
    tx: &mut PgConnection,
    guilds: &[Snowflake],
) -> Result<OptOuts, DbError> {
    sqlx::query("select pg_advisory_xact_lock_shared($1)")
        .bind(OPT_OUT_LOCK)
        .execute(&mut *tx)
        .await?;
    if guilds.is_empty() {
        return Ok(OptOuts::default());
    }
    let ids: Vec<i64> = guilds.iter().map(|g| g.to_db()).collect();
    let rows: Vec<(Snowflake, Vec<u8>)> = sqlx::query_as(
        "select guild_id, user_hash from member_opt_outs where guild_id = any($1::bigint[])",
    )
    .bind(&ids)
    .fetch_all(&mut *tx)
    .await?;
    if rows.is_empty() {
        return Ok(OptOuts::default());
    }
    let hasher = stored_hasher(&mut *tx)
        .await?
        .ok_or_else(|| DbError::Corrupt("opt-outs without a privacy key".into()))?;
    let hashes = rows
        .into_iter()
        .filter_map(|(guild, hash)| Some((guild, MemberHash::try_from(hash.as_slice()).ok()?)))
        .collect();
    Ok(OptOuts {
        hashes,
        hasher: Some(hasher),
    })
}

/// Opted-out members of some guilds, matched by hash.
#[derive(Debug, Clone, Default)]
pub struct OptOuts {
    hashes: HashSet<(Snowflake, MemberHash)>,
    hasher: Option<MemberHasher>,
}

impl OptOuts {
    pub fn is_empty(&self) -> bool {
        self.hashes.is_empty()
    }

    /// Whether nothing may be recorded per member about `user` in `guild`.
    pub fn excludes(&self, guild: Snowflake, user: Snowflake) -> bool {
        self.hasher
            .as_ref()
            .is_some_and(|h| self.hashes.contains(&(guild, h.hash(guild, user))))
    }
}

/// Everything stored per member about one member of a guild (`/privacy
/// export`): the rows as kept, hour by hour. Reactions name neither the
/// member reacted to nor who reacted (those are other members' data).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct MemberData {
    pub member: Option<MemberRecord>,
    pub membership_spans: Vec<SpanRecord>,
    pub messages: Vec<MessageRecord>,
    pub reactions_given: Vec<ReactionRecord>,
    pub reactions_received: Vec<ReactionRecord>,
    pub voice: Vec<VoiceRecord>,
    /// Threads the member opened (their owner in the catalogue).
    pub threads_opened: Vec<ThreadRecord>,
    pub hidden_since: Option<DateTime<Utc>>,
    /// When others analysed this member (who is not said: their data).
    pub analysed_at: Vec<DateTime<Utc>>,
    /// Per local day, the sums of the rows above (`member_daily`).
    pub daily: Vec<DailyRecord>,
    /// Per local day and channel, the sums of the message, reaction-given
    /// and voice rows above (`message_daily`, `reaction_daily`,
    /// `voice_daily`).
    pub daily_messages: Vec<DailyMessageRecord>,
    pub daily_reactions: Vec<DailyReactionRecord>,
    pub daily_voice: Vec<DailyVoiceRecord>,
    /// The sums of all the daily rows above (`member_totals`).
    pub totals: Option<TotalsRecord>,
    /// Per local day, how the member was active as the daily bitmaps
    /// record it (`active_daily`, at their number in `member_index`).
    pub active_days: Vec<ActiveDayRecord>,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, sqlx::FromRow)]
pub struct TotalsRecord {
    pub messages: i64,
    pub bot_messages: i64,
    pub reactions_given: i64,
    pub reactions_received: i64,
    pub voice_seconds: i64,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, sqlx::FromRow)]
pub struct ActiveDayRecord {
    pub day_start: DateTime<Utc>,
    /// Posted as a member.
    pub posted: bool,
    /// Posted as a bot or webhook.
    pub bot_posted: bool,
    /// Added a reaction or spent time in voice.
    pub took_part: bool,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, sqlx::FromRow)]
pub struct DailyMessageRecord {
    pub day_start: DateTime<Utc>,
    #[serde(serialize_with = "as_string")]
    pub channel_id: Snowflake,
    pub messages: i64,
    pub attachments: i64,
    pub embeds: i64,
    pub stickers: i64,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, sqlx::FromRow)]
pub struct DailyReactionRecord {
    pub day_start: DateTime<Utc>,
    #[serde(serialize_with = "as_string")]
    pub channel_id: Snowflake,
    pub emoji: String,
    pub added: i32,
    pub removed: i32,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, sqlx::FromRow)]
pub struct DailyVoiceRecord {
    pub day_start: DateTime<Utc>,
    #[serde(serialize_with = "as_string")]
    pub channel_id: Snowflake,
    pub seconds: i64,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, sqlx::FromRow)]
pub struct DailyRecord {
    pub day_start: DateTime<Utc>,
    pub day_end: DateTime<Utc>,
    pub messages: i32,
    pub bot_messages: i32,
    pub reactions_given: i32,
    pub reactions_received: i32,
    pub voice_seconds: i64,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, sqlx::FromRow)]
pub struct MemberRecord {
    pub is_bot: bool,
    pub joined_at: Option<DateTime<Utc>>,
    pub left_at: Option<DateTime<Utc>>,
    pub join_count: i32,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, sqlx::FromRow)]
pub struct SpanRecord {
    pub joined_at: DateTime<Utc>,
    pub left_at: Option<DateTime<Utc>>,
    pub is_rejoin: bool,
    pub first_message_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, sqlx::FromRow)]
pub struct MessageRecord {
    pub hour: DateTime<Utc>,
    #[serde(serialize_with = "as_string")]
    pub channel_id: Snowflake,
    pub messages: i32,
    pub attachments: i32,
    pub embeds: i32,
    pub stickers: i32,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, sqlx::FromRow)]
pub struct ReactionRecord {
    pub hour: DateTime<Utc>,
    #[serde(serialize_with = "as_string")]
    pub channel_id: Snowflake,
    pub emoji: String,
    pub added: i64,
    pub removed: i64,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, sqlx::FromRow)]
pub struct VoiceRecord {
    pub hour: DateTime<Utc>,
    #[serde(serialize_with = "as_string")]
    pub channel_id: Snowflake,
    pub seconds: i32,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, sqlx::FromRow)]
pub struct ThreadRecord {
    #[serde(serialize_with = "as_string")]
    pub channel_id: Snowflake,
    pub created_at: DateTime<Utc>,
}

/// Ids as strings, as Discord writes them (JSON numbers lose precision).
fn as_string<S: serde::Serializer>(id: &Snowflake, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&id.to_string())
}

impl MemberData {
    /// Messages in every row.
    pub fn messages_total(&self) -> i64 {
        self.messages.iter().map(|m| i64::from(m.messages)).sum()
    }
}

/// The member's stored rows in the guild, oldest first (each read by the
/// tables' `(guild_id, user, hour)` indexes).
pub async fn member_data(
    conn: &mut PgConnection,
    guild: Snowflake,
    user: Snowflake,
) -> Result<MemberData, DbError> {
    let member = sqlx::query_as(
        "select is_bot, joined_at, left_at, join_count from members where guild_id = $1 and user_id = $2",
    )
    .bind(guild)
    .bind(user)
    .fetch_optional(&mut *conn)
    .await?;
    let membership_spans = sqlx::query_as(
        "select joined_at, left_at, is_rejoin, first_message_at from membership_spans
         where guild_id = $1 and user_id = $2 order by joined_at",
    )
    .bind(guild)
    .bind(user)
    .fetch_all(&mut *conn)
    .await?;
    let messages = sqlx::query_as(
        "select hour, channel_id, messages, attachments, embeds, stickers from message_rollup
         where guild_id = $1 and author_id = $2 order by hour, channel_id",
    )
    .bind(guild)
    .bind(user)
    .fetch_all(&mut *conn)
    .await?;
    let reactions_given = sqlx::query_as(
        "select hour, channel_id, emoji, sum(added)::bigint as added, sum(removed)::bigint as removed
         from reaction_rollup where guild_id = $1 and user_id = $2
         group by hour, channel_id, emoji order by hour, channel_id, emoji",
    )
    .bind(guild)
    .bind(user)
    .fetch_all(&mut *conn)
    .await?;
    let reactions_received = sqlx::query_as(
        "select hour, channel_id, emoji, sum(added)::bigint as added, sum(removed)::bigint as removed
         from reaction_rollup where guild_id = $1 and receiver_id = $2 and receiver_id <> 0
         group by hour, channel_id, emoji order by hour, channel_id, emoji",
    )
    .bind(guild)
    .bind(user)
    .fetch_all(&mut *conn)
    .await?;
    let voice = sqlx::query_as(
        "select hour, channel_id, seconds from voice_rollup
         where guild_id = $1 and user_id = $2 order by hour, channel_id",
    )
    .bind(guild)
    .bind(user)
    .fetch_all(&mut *conn)
    .await?;
    // The guild's rows by the primary key (guild_id, channel_id).
    let threads_opened = sqlx::query_as(
        "select channel_id, created_at from channels
         where guild_id = $1 and owner_id = $2 order by created_at, channel_id",
    )
    .bind(guild)
    .bind(user)
    .fetch_all(&mut *conn)
    .await?;
    let daily = sqlx::query_as(
        "select day_start, day_end, messages, bot_messages, reactions_given, reactions_received,
                voice_seconds
         from member_daily where guild_id = $1 and user_id = $2 order by day_start",
    )
    .bind(guild)
    .bind(user)
    .fetch_all(&mut *conn)
    .await?;
    // The channel daily tables' (guild_id, user, day_start) indexes.
    let daily_messages = sqlx::query_as(
        "select day_start, channel_id, sum(messages)::bigint as messages,
                sum(attachments)::bigint as attachments, sum(embeds)::bigint as embeds,
                sum(stickers)::bigint as stickers
         from message_daily where guild_id = $1 and author_id = $2
         group by day_start, channel_id order by day_start, channel_id",
    )
    .bind(guild)
    .bind(user)
    .fetch_all(&mut *conn)
    .await?;
    let daily_reactions = sqlx::query_as(
        "select day_start, channel_id, emoji, added, removed from reaction_daily
         where guild_id = $1 and user_id = $2 order by day_start, channel_id, emoji",
    )
    .bind(guild)
    .bind(user)
    .fetch_all(&mut *conn)
    .await?;
    let daily_voice = sqlx::query_as(
        "select day_start, channel_id, seconds from voice_daily
         where guild_id = $1 and user_id = $2 order by day_start, channel_id",
    )
    .bind(guild)
    .bind(user)
    .fetch_all(&mut *conn)
    .await?;
    let totals = sqlx::query_as(
        "select messages, bot_messages, reactions_given, reactions_received, voice_seconds
         from member_totals where guild_id = $1 and user_id = $2",
    )
    .bind(guild)
    .bind(user)
    .fetch_optional(&mut *conn)
    .await?;
    // Their number, then the guild's rows of its chunk (primary key
    // (guild_id, day_start, chunk): one range per day).
    let active_days = sqlx::query_as(
        "select a.day_start,
                get_bit(a.posted, i.idx % 2048) = 1 as posted,
                get_bit(a.bot_posted, i.idx % 2048) = 1 as bot_posted,
                get_bit(a.took_part, i.idx % 2048) = 1 as took_part
         from member_index i
         join active_daily a on a.guild_id = i.guild_id and a.chunk = i.idx / 2048
         where i.guild_id = $1 and i.user_id = $2
           and (get_bit(a.posted, i.idx % 2048) = 1 or get_bit(a.bot_posted, i.idx % 2048) = 1
                or get_bit(a.took_part, i.idx % 2048) = 1)
         order by a.day_start",
    )
    .bind(guild)
    .bind(user)
    .fetch_all(&mut *conn)
    .await?;
    let hidden_since = status(&mut *conn, guild, user).await?.hidden_since;
    let analysed_at = sqlx::query_scalar(
        "select at from access_log where guild_id = $1 and target_id = $2 order by at",
    )
    .bind(guild)
    .bind(user)
    .fetch_all(&mut *conn)
    .await?;
    Ok(MemberData {
        member,
        membership_spans,
        messages,
        reactions_given,
        reactions_received,
        voice,
        threads_opened,
        hidden_since,
        analysed_at,
        daily,
        daily_messages,
        daily_reactions,
        daily_voice,
        totals,
        active_days,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_depend_on_key_guild_and_user() {
        let a = MemberHasher::new([1; 32]);
        let b = MemberHasher::new([2; 32]);
        let (g, u) = (Snowflake(10), Snowflake(20));
        assert_eq!(a.hash(g, u), a.hash(g, u));
        assert_ne!(a.hash(g, u), b.hash(g, u));
        assert_ne!(a.hash(g, u), a.hash(Snowflake(11), u));
        assert_ne!(a.hash(g, u), a.hash(g, Snowflake(21)));
        assert_eq!(format!("{a:?}"), "MemberHasher(..)");
    }
}
