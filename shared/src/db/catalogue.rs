//! The catalogue the ingester keeps current: guilds, channels and threads,
//! members and their membership spans. Every write is a set-based upsert of
//! absolute state (not increments), so replaying events after a crash
//! rewrites the same rows.

use chrono::{DateTime, Utc};
use sqlx::PgExecutor;

use super::DbError;
use crate::ids::Snowflake;

fn ids(values: impl Iterator<Item = Snowflake>) -> Vec<i64> {
    values.map(Snowflake::to_db).collect()
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct GuildRow {
    pub guild_id: Snowflake,
    pub name: String,
    pub member_count: i32,
    pub available: bool,
    /// Permissions of the @everyone role (whose id is the guild id), as
    /// Discord's bits in a BIGINT; `None` until the ingester (or a history
    /// import, through `GET /guilds/{id}/roles`) has seen it.
    /// See [`private_channels`].
    pub everyone_permissions: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ChannelRow {
    pub guild_id: Snowflake,
    pub channel_id: Snowflake,
    /// Discord channel type (0 text, 2 voice, 11 public thread, ...).
    pub kind: i16,
    pub name: String,
    /// Category of a channel, parent channel of a thread.
    pub parent_id: Option<Snowflake>,
    pub archived: bool,
    /// When the thread was archived; `None` while active.
    pub archived_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub deleted_at: Option<DateTime<Utc>>,
    /// The channel's permission overwrite for @everyone (role id = guild
    /// id): allowed and denied bits, 0 and 0 without one. Threads carry
    /// none (they follow their parent). See [`private_channels`].
    pub everyone_allow: i64,
    pub everyone_deny: i64,
    /// Who opened the thread (`owner_id` of THREAD_CREATE); `None` for
    /// channels, and for threads whose owner is unknown or erased.
    pub owner_id: Option<Snowflake>,
    /// When someone other than the owner first wrote in the thread: a
    /// member, and a bot or webhook. Written once (the earliest wins).
    pub first_reply_at: Option<DateTime<Utc>>,
    pub first_bot_reply_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct MemberRow {
    pub guild_id: Snowflake,
    pub user_id: Snowflake,
    pub is_bot: bool,
    pub joined_at: Option<DateTime<Utc>>,
    pub left_at: Option<DateTime<Utc>>,
    pub join_count: i32,
}

/// One membership span (a join, and the leave that ended it if any).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct SpanRow {
    pub guild_id: Snowflake,
    pub user_id: Snowflake,
    pub joined_at: DateTime<Utc>,
    pub left_at: Option<DateTime<Utc>>,
    pub is_rejoin: bool,
}

/// The earliest counted message of a member within the span that started
/// at `joined_at`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FirstMessage {
    pub guild_id: Snowflake,
    pub user_id: Snowflake,
    pub joined_at: DateTime<Utc>,
    pub at: DateTime<Utc>,
}

pub async fn upsert_guilds<'e>(
    executor: impl PgExecutor<'e>,
    rows: &[GuildRow],
) -> Result<(), DbError> {
    if rows.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "insert into guilds (guild_id, name, member_count, available, everyone_permissions, updated_at)
         select g, n, c, a, e, now()
         from unnest($1::bigint[], $2::text[], $3::int[], $4::bool[], $5::bigint[]) as t(g, n, c, a, e)
         on conflict (guild_id) do update set
             name = excluded.name, member_count = excluded.member_count,
             available = excluded.available,
             -- a guild that is available again (GUILD_CREATE) is no longer removed
             removed_at = case when excluded.available then null else guilds.removed_at end,
             everyone_permissions = coalesce(excluded.everyone_permissions, guilds.everyone_permissions),
             updated_at = now()",
    )
    .bind(ids(rows.iter().map(|r| r.guild_id)))
    .bind(rows.iter().map(|r| r.name.clone()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.member_count).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.available).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.everyone_permissions).collect::<Vec<_>>())
    .execute(executor)
    .await?;
    Ok(())
}

/// Records that the bot was removed from each guild at the given instant
/// (GUILD_DELETE without `unavailable`); a guild already recorded keeps its
/// first instant. [`upsert_guilds`] with the guild available clears it.
pub async fn mark_removed<'e>(
    executor: impl PgExecutor<'e>,
    removed: &[(Snowflake, DateTime<Utc>)],
) -> Result<(), DbError> {
    if removed.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "insert into guilds (guild_id, available, removed_at)
         select g, false, r from unnest($1::bigint[], $2::timestamptz[]) as t(g, r)
         on conflict (guild_id) do update set
             available = false,
             removed_at = coalesce(guilds.removed_at, excluded.removed_at),
             updated_at = now()",
    )
    .bind(ids(removed.iter().map(|(g, _)| *g)))
    .bind(removed.iter().map(|(_, at)| *at).collect::<Vec<_>>())
    .execute(executor)
    .await?;
    Ok(())
}

/// When the bot was removed from the guild, if it was and has not come back.
pub async fn removed_at<'e>(
    executor: impl PgExecutor<'e>,
    guild_id: Snowflake,
) -> Result<Option<DateTime<Utc>>, DbError> {
    let row: Option<(Option<DateTime<Utc>>,)> =
        sqlx::query_as("select removed_at from guilds where guild_id = $1")
            .bind(guild_id)
            .fetch_optional(executor)
            .await?;
    Ok(row.and_then(|(r,)| r))
}

pub async fn upsert_channels<'e>(
    executor: impl PgExecutor<'e>,
    rows: &[ChannelRow],
) -> Result<(), DbError> {
    if rows.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "insert into channels (guild_id, channel_id, kind, name, parent_id, archived, created_at, deleted_at,
                               archived_at, everyone_allow, everyone_deny, owner_id, first_reply_at,
                               first_bot_reply_at, updated_at)
         select g, c, k, n, p, a, cr, d, aa, ea, ed, o, fr, fb, now()
         from unnest($1::bigint[], $2::bigint[], $3::smallint[], $4::text[], $5::bigint[], $6::bool[],
                     $7::timestamptz[], $8::timestamptz[], $9::timestamptz[], $10::bigint[], $11::bigint[],
                     $12::bigint[], $13::timestamptz[], $14::timestamptz[])
              as t(g, c, k, n, p, a, cr, d, aa, ea, ed, o, fr, fb)
         on conflict (guild_id, channel_id) do update set
             kind = excluded.kind, name = excluded.name, parent_id = excluded.parent_id,
             archived = excluded.archived, deleted_at = excluded.deleted_at,
             archived_at = excluded.archived_at, everyone_allow = excluded.everyone_allow,
             everyone_deny = excluded.everyone_deny, owner_id = excluded.owner_id,
             -- the first reply is written once: the earliest wins (least ignores nulls)
             first_reply_at = least(channels.first_reply_at, excluded.first_reply_at),
             first_bot_reply_at = least(channels.first_bot_reply_at, excluded.first_bot_reply_at),
             updated_at = now()",
    )
    .bind(ids(rows.iter().map(|r| r.guild_id)))
    .bind(ids(rows.iter().map(|r| r.channel_id)))
    .bind(rows.iter().map(|r| r.kind).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.name.clone()).collect::<Vec<_>>())
    .bind(
        rows.iter()
            .map(|r| r.parent_id.map(Snowflake::to_db))
            .collect::<Vec<_>>(),
    )
    .bind(rows.iter().map(|r| r.archived).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.created_at).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.deleted_at).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.archived_at).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.everyone_allow).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.everyone_deny).collect::<Vec<_>>())
    .bind(
        rows.iter()
            .map(|r| r.owner_id.map(Snowflake::to_db))
            .collect::<Vec<_>>(),
    )
    .bind(rows.iter().map(|r| r.first_reply_at).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.first_bot_reply_at).collect::<Vec<_>>())
    .execute(executor)
    .await?;
    Ok(())
}

/// The @everyone role's permissions of a guild as a backfill read them
/// (`GET /guilds/{id}/roles`), kept only where the ingester has not
/// learnt them (its `GUILD_CREATE` and role updates keep them current):
/// so the channels a backfill adds decide their privacy as live ones do.
/// A guild the ingester never saw gets its catalogue row here.
pub async fn learn_everyone_permissions<'e>(
    executor: impl PgExecutor<'e>,
    guild_id: Snowflake,
    permissions: i64,
) -> Result<(), DbError> {
    sqlx::query(
        "insert into guilds (guild_id, everyone_permissions, updated_at) values ($1, $2, now())
         on conflict (guild_id) do update set
             everyone_permissions = coalesce(guilds.everyone_permissions, excluded.everyone_permissions),
             updated_at = now()
         where guilds.everyone_permissions is null",
    )
    .bind(guild_id)
    .bind(permissions)
    .execute(executor)
    .await?;
    Ok(())
}

/// Adds channels and threads the catalogue does not know yet (a backfill
/// lists them through REST for a guild the ingester has not seen them
/// in); a row the ingester wrote is left as it is, since the ingester
/// keeps it current.
pub async fn insert_unknown_channels<'e>(
    executor: impl PgExecutor<'e>,
    rows: &[ChannelRow],
) -> Result<u64, DbError> {
    if rows.is_empty() {
        return Ok(0);
    }
    Ok(sqlx::query(
        "insert into channels (guild_id, channel_id, kind, name, parent_id, archived, created_at, deleted_at,
                               archived_at, everyone_allow, everyone_deny, updated_at)
         select g, c, k, n, p, a, cr, null, aa, ea, ed, now()
         from unnest($1::bigint[], $2::bigint[], $3::smallint[], $4::text[], $5::bigint[], $6::bool[],
                     $7::timestamptz[], $8::timestamptz[], $9::bigint[], $10::bigint[])
              as t(g, c, k, n, p, a, cr, aa, ea, ed)
         on conflict (guild_id, channel_id) do nothing",
    )
    .bind(ids(rows.iter().map(|r| r.guild_id)))
    .bind(ids(rows.iter().map(|r| r.channel_id)))
    .bind(rows.iter().map(|r| r.kind).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.name.clone()).collect::<Vec<_>>())
    .bind(
        rows.iter()
            .map(|r| r.parent_id.map(Snowflake::to_db))
            .collect::<Vec<_>>(),
    )
    .bind(rows.iter().map(|r| r.archived).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.created_at).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.archived_at).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.everyone_allow).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.everyone_deny).collect::<Vec<_>>())
    .execute(executor)
    .await?
    .rows_affected())
}

pub async fn upsert_members<'e>(
    executor: impl PgExecutor<'e>,
    rows: &[MemberRow],
) -> Result<(), DbError> {
    if rows.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "insert into members (guild_id, user_id, is_bot, joined_at, left_at, join_count, updated_at)
         select g, u, b, j, l, c, now()
         from unnest($1::bigint[], $2::bigint[], $3::bool[], $4::timestamptz[], $5::timestamptz[], $6::int[])
              as t(g, u, b, j, l, c)
         on conflict (guild_id, user_id) do update set
             is_bot = excluded.is_bot, joined_at = excluded.joined_at, left_at = excluded.left_at,
             join_count = excluded.join_count, updated_at = now()",
    )
    .bind(ids(rows.iter().map(|r| r.guild_id)))
    .bind(ids(rows.iter().map(|r| r.user_id)))
    .bind(rows.iter().map(|r| r.is_bot).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.joined_at).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.left_at).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.join_count).collect::<Vec<_>>())
    .execute(executor)
    .await?;
    Ok(())
}

/// Inserts spans or sets their end; whether a span is a rejoin is fixed
/// when it is first written.
pub async fn upsert_spans<'e>(
    executor: impl PgExecutor<'e>,
    rows: &[SpanRow],
) -> Result<(), DbError> {
    if rows.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "insert into membership_spans (guild_id, user_id, joined_at, left_at, is_rejoin)
         select * from unnest($1::bigint[], $2::bigint[], $3::timestamptz[], $4::timestamptz[], $5::bool[])
         on conflict (guild_id, user_id, joined_at) do update set left_at = excluded.left_at",
    )
    .bind(ids(rows.iter().map(|r| r.guild_id)))
    .bind(ids(rows.iter().map(|r| r.user_id)))
    .bind(rows.iter().map(|r| r.joined_at).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.left_at).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.is_rejoin).collect::<Vec<_>>())
    .execute(executor)
    .await?;
    Ok(())
}

/// Sets `first_message_at` of spans to the earlier of the stored and the
/// given time (served by the spans' primary key).
pub async fn record_first_messages<'e>(
    executor: impl PgExecutor<'e>,
    rows: &[FirstMessage],
) -> Result<(), DbError> {
    if rows.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "update membership_spans s set first_message_at = least(coalesce(s.first_message_at, f.at), f.at)
         from unnest($1::bigint[], $2::bigint[], $3::timestamptz[], $4::timestamptz[]) as f(g, u, j, at)
         where s.guild_id = f.g and s.user_id = f.u and s.joined_at = f.j
           -- a span's first message is usually known: no new row version then
           and (s.first_message_at is null or s.first_message_at > f.at)",
    )
    .bind(ids(rows.iter().map(|r| r.guild_id)))
    .bind(ids(rows.iter().map(|r| r.user_id)))
    .bind(rows.iter().map(|r| r.joined_at).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.at).collect::<Vec<_>>())
    .execute(executor)
    .await?;
    Ok(())
}

/// Every guild in the catalogue (the ingester keeps those of its shards).
pub async fn guilds<'e>(executor: impl PgExecutor<'e>) -> Result<Vec<GuildRow>, DbError> {
    Ok(sqlx::query_as(
        "select guild_id, name, member_count, available, everyone_permissions from guilds",
    )
    .fetch_all(executor)
    .await?)
}

pub async fn channels_of<'e>(
    executor: impl PgExecutor<'e>,
    guild_ids: &[Snowflake],
) -> Result<Vec<ChannelRow>, DbError> {
    Ok(sqlx::query_as(
        "select guild_id, channel_id, kind, name, parent_id, archived, archived_at, created_at, deleted_at,
                everyone_allow, everyone_deny, owner_id, first_reply_at, first_bot_reply_at
         from channels where guild_id = any($1)",
    )
    .bind(ids(guild_ids.iter().copied()))
    .fetch_all(executor)
    .await?)
}

/// The guild's channels and threads that @everyone may not view: those a
/// member without Manage Server must not see named. Computed from the
/// @everyone role's permissions and overwrites (rules in migration
/// `20261202200000_channel_visibility`): a channel whose @everyone
/// overwrite denies VIEW_CHANNEL, threads under it, every private thread.
pub async fn private_channels<'e>(
    executor: impl PgExecutor<'e>,
    guild_id: Snowflake,
) -> Result<Vec<Snowflake>, DbError> {
    Ok(sqlx::query_scalar(
        "select channel_id from channel_visibility
         where guild_id = $1 and not everyone_can_view order by channel_id",
    )
    .bind(guild_id)
    .fetch_all(executor)
    .await?)
}

pub async fn members_of<'e>(
    executor: impl PgExecutor<'e>,
    guild_ids: &[Snowflake],
) -> Result<Vec<MemberRow>, DbError> {
    Ok(sqlx::query_as(
        "select guild_id, user_id, is_bot, joined_at, left_at, join_count
         from members where guild_id = any($1)",
    )
    .bind(ids(guild_ids.iter().copied()))
    .fetch_all(executor)
    .await?)
}

/// One member's row, if the guild has ever seen them.
pub async fn member<'e>(
    executor: impl PgExecutor<'e>,
    guild_id: Snowflake,
    user_id: Snowflake,
) -> Result<Option<MemberRow>, DbError> {
    Ok(sqlx::query_as(
        "select guild_id, user_id, is_bot, joined_at, left_at, join_count
         from members where guild_id = $1 and user_id = $2",
    )
    .bind(guild_id.to_db())
    .bind(user_id.to_db())
    .fetch_optional(executor)
    .await?)
}

/// One stored span and its first counted message.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct StoredSpan {
    pub guild_id: Snowflake,
    pub user_id: Snowflake,
    pub joined_at: DateTime<Utc>,
    pub left_at: Option<DateTime<Utc>>,
    pub is_rejoin: bool,
    pub first_message_at: Option<DateTime<Utc>>,
}

/// Every membership span of a guild (tests and audits).
pub async fn spans_of<'e>(
    executor: impl PgExecutor<'e>,
    guild_id: Snowflake,
) -> Result<Vec<StoredSpan>, DbError> {
    Ok(sqlx::query_as(
        "select guild_id, user_id, joined_at, left_at, is_rejoin, first_message_at
         from membership_spans where guild_id = $1",
    )
    .bind(guild_id)
    .fetch_all(executor)
    .await?)
}
