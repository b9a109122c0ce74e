//! The record of digest periods: one row per (guild, frequency, period
//! start), inserted by the transaction that claims the period, so two
//! schedulers racing (replicas, two `digests run` processes) claim it once.

use chrono::{DateTime, Utc};
use sqlx::PgExecutor;

use super::DbError;
use super::analytics::{self, Bots};
use super::digest_settings::DigestFrequency;
use crate::ids::Snowflake;

/// What became of a claimed period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DigestOutcome {
    /// An outbox item carries the digest.
    Queued,
    /// Queued after its time (nothing ran then), less than a period late;
    /// the digest says so.
    QueuedLate,
    /// Missed by a period or more: recorded, not posted.
    SkippedTooLate,
    /// An hourly digest of an hour without any activity.
    SkippedEmpty,
    /// No update channel is set.
    SkippedNoChannel,
    /// The update channel answered with a permanent failure before.
    SkippedChannelFailing,
}

impl DigestOutcome {
    pub fn key(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::QueuedLate => "queued_late",
            Self::SkippedTooLate => "skipped_too_late",
            Self::SkippedEmpty => "skipped_empty",
            Self::SkippedNoChannel => "skipped_no_channel",
            Self::SkippedChannelFailing => "skipped_channel_failing",
        }
    }

    fn from_key(key: &str) -> Self {
        match key {
            "queued_late" => Self::QueuedLate,
            "skipped_too_late" => Self::SkippedTooLate,
            "skipped_empty" => Self::SkippedEmpty,
            "skipped_no_channel" => Self::SkippedNoChannel,
            "skipped_channel_failing" => Self::SkippedChannelFailing,
            _ => Self::Queued,
        }
    }
}

/// One digest period of one guild.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DigestKey {
    pub guild_id: Snowflake,
    pub frequency: DigestFrequency,
    /// Half-open `[period_start, period_end)`.
    pub period_start: DateTime<Utc>,
}

impl DigestKey {
    /// The identity of the digest's outbox item.
    pub fn identity(&self) -> String {
        format!(
            "digest:{}:{}:{}",
            self.guild_id,
            self.frequency.key(),
            self.period_start.timestamp()
        )
    }
}

/// A recorded period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestRun {
    pub key: DigestKey,
    pub period_end: DateTime<Utc>,
    pub scheduled_at: DateTime<Utc>,
    pub claimed_at: DateTime<Utc>,
    pub outcome: DigestOutcome,
    pub outbox_id: Option<i64>,
}

/// Claims a period with its outcome: `true` when this call inserted the
/// row, `false` when it was claimed before (or is being claimed by a
/// transaction that then commits). Run in the transaction that enqueues
/// the digest.
pub async fn claim<'e>(
    executor: impl PgExecutor<'e>,
    key: DigestKey,
    period_end: DateTime<Utc>,
    scheduled_at: DateTime<Utc>,
    claimed_at: DateTime<Utc>,
    outcome: DigestOutcome,
) -> Result<bool, DbError> {
    Ok(sqlx::query(
        "insert into digest_runs (guild_id, frequency, period_start, period_end, scheduled_at,
                                  claimed_at, outcome)
         values ($1, $2, $3, $4, $5, $6, $7)
         on conflict (guild_id, frequency, period_start) do nothing",
    )
    .bind(key.guild_id)
    .bind(key.frequency.key())
    .bind(key.period_start)
    .bind(period_end)
    .bind(scheduled_at)
    .bind(claimed_at)
    .bind(outcome.key())
    .execute(executor)
    .await?
    .rows_affected()
        == 1)
}

/// Sets a claimed period's final outcome and outbox item (same transaction
/// as the claim).
pub async fn settle<'e>(
    executor: impl PgExecutor<'e>,
    key: DigestKey,
    outcome: DigestOutcome,
    outbox_id: Option<i64>,
) -> Result<(), DbError> {
    sqlx::query(
        "update digest_runs set outcome = $4, outbox_id = $5
         where guild_id = $1 and frequency = $2 and period_start = $3",
    )
    .bind(key.guild_id)
    .bind(key.frequency.key())
    .bind(key.period_start)
    .bind(outcome.key())
    .bind(outbox_id)
    .execute(executor)
    .await?;
    Ok(())
}

/// frequency, period start, end, scheduled, claimed, outcome, outbox id.
type RunRow = (
    String,
    DateTime<Utc>,
    DateTime<Utc>,
    DateTime<Utc>,
    DateTime<Utc>,
    String,
    Option<i64>,
);

/// A guild's recorded periods, newest first.
pub async fn runs_of<'e>(
    executor: impl PgExecutor<'e>,
    guild_id: Snowflake,
    limit: i64,
) -> Result<Vec<DigestRun>, DbError> {
    let rows: Vec<RunRow> = sqlx::query_as(
        "select frequency, period_start, period_end, scheduled_at, claimed_at, outcome, outbox_id
             from digest_runs where guild_id = $1
             order by period_start desc, frequency limit $2",
    )
    .bind(guild_id)
    .bind(limit)
    .fetch_all(executor)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(
            |(frequency, start, end, scheduled_at, claimed_at, outcome, outbox_id)| {
                Some(DigestRun {
                    key: DigestKey {
                        guild_id,
                        frequency: DigestFrequency::from_key(&frequency)?,
                        period_start: start,
                    },
                    period_end: end,
                    scheduled_at,
                    claimed_at,
                    outcome: DigestOutcome::from_key(&outcome),
                    outbox_id,
                })
            },
        )
        .collect())
}

/// One emoji's use in a range.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct EmojiUse {
    /// `👍`, or `name:id` for a custom emoji.
    pub emoji: String,
    pub added: i64,
}

/// The `limit` emoji members added most as reactions in `[from, to)`
/// (most first, ties by emoji), bots left out as in the leaderboards: the
/// first rows of the emoji report ([`analytics::emoji_usage`]).
pub async fn top_emoji<'e>(
    executor: impl PgExecutor<'e>,
    guild_id: Snowflake,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    limit: i64,
    bots: Bots,
) -> Result<Vec<EmojiUse>, DbError> {
    let rows = analytics::emoji_usage(executor, guild_id, from, to, None, bots).await?;
    Ok(rows
        .into_iter()
        .filter(|e| e.added > 0)
        .take(usize::try_from(limit).unwrap_or(0))
        .map(|e| EmojiUse {
            emoji: e.emoji,
            added: e.added,
        })
        .collect())
}
