//! Ingestion state: shard checkpoints, coverage and known gaps.

use chrono::{DateTime, Utc};
use sqlx::PgExecutor;

use super::DbError;
use crate::ids::Snowflake;
use crate::time::Hour;

/// Where a shard's gateway session stands, as of the last committed flush.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ShardCheckpoint {
    pub shard_id: i32,
    pub shard_total: i32,
    pub session_id: Option<String>,
    pub sequence: Option<i64>,
    pub resume_url: Option<String>,
}

/// The saved checkpoint of a shard, if any.
pub async fn load_checkpoint<'e>(
    executor: impl PgExecutor<'e>,
    shard_id: u32,
    shard_total: u32,
) -> Result<Option<ShardCheckpoint>, DbError> {
    Ok(sqlx::query_as(
        "select shard_id, shard_total, session_id, sequence, resume_url
         from shard_checkpoints where shard_total = $1 and shard_id = $2",
    )
    .bind(shard_total as i32)
    .bind(shard_id as i32)
    .fetch_optional(executor)
    .await?)
}

/// Marks the hours in which a shard had a live session.
pub async fn record_coverage<'e>(
    executor: impl PgExecutor<'e>,
    shard_id: u32,
    shard_total: u32,
    hours: &[Hour],
) -> Result<(), DbError> {
    if hours.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "insert into shard_coverage (shard_total, shard_id, hour)
         select $1, $2, h from unnest($3::timestamptz[]) as h
         on conflict do nothing",
    )
    .bind(shard_total as i32)
    .bind(shard_id as i32)
    .bind(hours.iter().map(|h| h.start()).collect::<Vec<_>>())
    .execute(executor)
    .await?;
    Ok(())
}

/// The covered hours of a shard within `[from, to)`.
pub async fn covered_hours<'e>(
    executor: impl PgExecutor<'e>,
    shard_id: u32,
    shard_total: u32,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<Hour>, DbError> {
    let rows: Vec<(DateTime<Utc>,)> = sqlx::query_as(
        "select hour from shard_coverage
         where shard_total = $1 and shard_id = $2 and hour >= $3 and hour < $4 order by hour",
    )
    .bind(shard_total as i32)
    .bind(shard_id as i32)
    .bind(from)
    .bind(to)
    .fetch_all(executor)
    .await?;
    Ok(rows.into_iter().map(|(h,)| Hour::containing(h)).collect())
}

/// A span in which a guild's events are known to be lost.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct CoverageGap {
    pub guild_id: Snowflake,
    pub gap_start: DateTime<Utc>,
    pub gap_end: DateTime<Utc>,
    pub reason: String,
}

/// Records a gap for each guild (e.g. every guild of a shard whose resume
/// was refused). Re-recording the same start widens the gap.
pub async fn record_gaps<'e>(
    executor: impl PgExecutor<'e>,
    guild_ids: &[Snowflake],
    gap_start: DateTime<Utc>,
    gap_end: DateTime<Utc>,
    reason: &str,
) -> Result<(), DbError> {
    if guild_ids.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "insert into coverage_gaps (guild_id, gap_start, gap_end, reason)
         select g, $2, $3, $4 from unnest($1::bigint[]) as g
         on conflict (guild_id, gap_start) do update set
             gap_end = greatest(coverage_gaps.gap_end, excluded.gap_end)",
    )
    .bind(guild_ids.iter().map(|g| g.to_db()).collect::<Vec<_>>())
    .bind(gap_start)
    .bind(gap_end)
    .bind(reason)
    .execute(executor)
    .await?;
    Ok(())
}

/// The gaps of a guild overlapping `[from, to)`, oldest first.
pub async fn gaps<'e>(
    executor: impl PgExecutor<'e>,
    guild_id: Snowflake,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<CoverageGap>, DbError> {
    Ok(sqlx::query_as(
        "select guild_id, gap_start, gap_end, reason from coverage_gaps
         where guild_id = $1 and gap_start < $3 and gap_end >= $2 order by gap_start",
    )
    .bind(guild_id)
    .bind(from)
    .bind(to)
    .fetch_all(executor)
    .await?)
}

/// Saves a shard's checkpoint and the time of the last event it covers (the
/// ingester's clock; `None` keeps the stored one). Call it in the
/// transaction that writes the rollups the sequence covers, so both commit
/// or neither does.
pub async fn save_checkpoint<'e>(
    executor: impl PgExecutor<'e>,
    checkpoint: &ShardCheckpoint,
    last_event_at: Option<DateTime<Utc>>,
) -> Result<(), DbError> {
    sqlx::query(
        "insert into shard_checkpoints (shard_total, shard_id, session_id, sequence, resume_url, last_event_at, updated_at)
         values ($1, $2, $3, $4, $5, $6, now())
         on conflict (shard_total, shard_id) do update set
             session_id = excluded.session_id,
             sequence = excluded.sequence,
             resume_url = excluded.resume_url,
             last_event_at = coalesce(excluded.last_event_at, shard_checkpoints.last_event_at),
             updated_at = now()",
    )
    .bind(checkpoint.shard_total)
    .bind(checkpoint.shard_id)
    .bind(&checkpoint.session_id)
    .bind(checkpoint.sequence)
    .bind(&checkpoint.resume_url)
    .bind(last_event_at)
    .execute(executor)
    .await?;
    Ok(())
}

#[derive(sqlx::FromRow)]
struct CheckpointAtRow {
    shard_id: i32,
    shard_total: i32,
    session_id: Option<String>,
    sequence: Option<i64>,
    resume_url: Option<String>,
    last_event_at: Option<DateTime<Utc>>,
}

/// The checkpoint of a shard and the time of the last event it covers.
pub async fn load_checkpoint_at<'e>(
    executor: impl PgExecutor<'e>,
    shard_id: u32,
    shard_total: u32,
) -> Result<Option<(ShardCheckpoint, Option<DateTime<Utc>>)>, DbError> {
    let row: Option<CheckpointAtRow> = sqlx::query_as(
        "select shard_id, shard_total, session_id, sequence, resume_url, last_event_at
         from shard_checkpoints where shard_total = $1 and shard_id = $2",
    )
    .bind(shard_total as i32)
    .bind(shard_id as i32)
    .fetch_optional(executor)
    .await?;
    Ok(row.map(|r| {
        (
            ShardCheckpoint {
                shard_id: r.shard_id,
                shard_total: r.shard_total,
                session_id: r.session_id,
                sequence: r.sequence,
                resume_url: r.resume_url,
            },
            r.last_event_at,
        )
    }))
}

/// A voice session open at a flush.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct VoiceSessionRow {
    pub guild_id: Snowflake,
    pub user_id: Snowflake,
    pub channel_id: Snowflake,
    pub started_at: DateTime<Utc>,
    /// Seconds before this instant are already in `voice_rollup`.
    pub credited_until: DateTime<Utc>,
}

/// Writes open voice sessions (absolute state).
pub async fn upsert_voice_sessions<'e>(
    executor: impl PgExecutor<'e>,
    rows: &[VoiceSessionRow],
) -> Result<(), DbError> {
    if rows.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "insert into voice_sessions (guild_id, user_id, channel_id, started_at, credited_until)
         select * from unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::timestamptz[], $5::timestamptz[])
         on conflict (guild_id, user_id) do update set
             channel_id = excluded.channel_id, started_at = excluded.started_at,
             credited_until = excluded.credited_until",
    )
    .bind(rows.iter().map(|r| r.guild_id.to_db()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.user_id.to_db()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.channel_id.to_db()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.started_at).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.credited_until).collect::<Vec<_>>())
    .execute(executor)
    .await?;
    Ok(())
}

/// Forgets voice sessions that ended, by `(guild_id, user_id)`.
pub async fn delete_voice_sessions<'e>(
    executor: impl PgExecutor<'e>,
    keys: &[(Snowflake, Snowflake)],
) -> Result<(), DbError> {
    if keys.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "delete from voice_sessions v using unnest($1::bigint[], $2::bigint[]) as k(g, u)
         where v.guild_id = k.g and v.user_id = k.u",
    )
    .bind(keys.iter().map(|k| k.0.to_db()).collect::<Vec<_>>())
    .bind(keys.iter().map(|k| k.1.to_db()).collect::<Vec<_>>())
    .execute(executor)
    .await?;
    Ok(())
}

pub async fn voice_sessions_of<'e>(
    executor: impl PgExecutor<'e>,
    guild_ids: &[Snowflake],
) -> Result<Vec<VoiceSessionRow>, DbError> {
    Ok(sqlx::query_as(
        "select guild_id, user_id, channel_id, started_at, credited_until
         from voice_sessions where guild_id = any($1)",
    )
    .bind(guild_ids.iter().map(|g| g.to_db()).collect::<Vec<_>>())
    .fetch_all(executor)
    .await?)
}

/// Guilds with tracking on (served by `guild_settings_tracking_idx`).
pub async fn tracked_guild_ids<'e>(
    executor: impl PgExecutor<'e>,
) -> Result<Vec<Snowflake>, DbError> {
    let rows: Vec<(Snowflake,)> =
        sqlx::query_as("select guild_id from guild_settings where tracking_enabled")
            .fetch_all(executor)
            .await?;
    Ok(rows.into_iter().map(|(g,)| g).collect())
}
