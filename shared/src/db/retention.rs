//! The retention job: what is kept, for how long, and the SQL that removes
//! the rest.
//!
//! - Every row is kept at most `RETENTION_MAX_DAYS` (the global horizon):
//!   whole month partitions of the rollups that end at or before it are
//!   detached (`DETACH PARTITION … CONCURRENTLY`, which never takes a lock
//!   that blocks the ingester's writes) and dropped. No long `DELETE`.
//! - Per-member rows (message, reaction and voice rollups, membership spans
//!   and members who left) and access-log entries are kept the guild's
//!   `retention_days` (capped by the global horizon). They are deleted in batches of at most
//!   [`BATCH_ROWS`] rows taken in `(guild_id, hour)` order, each batch its
//!   own statement and transaction, so a live month is never locked long.
//!   Guild-wide totals that identify no member (`guild_hourly`, voice peaks
//!   and deletions per channel) stay to the global horizon.
//! - Shard coverage hours and coverage gaps go at the global horizon too.
//! - Stored reports (`digest_runs`, delivered or failed `outbox` items,
//!   `pulse_reports` with the cache of provider reports, `pulse_report_jobs`)
//!   and alert incidents that ended are kept
//!   [`STORED_REPORTS_DAYS`].
//! - A guild the bot was removed from (`guilds.removed_at`) loses every row
//!   once removed longer than the grace period.
//!
//! [`run`] does all of it at most once per UTC day: its first statement
//! claims the day in `retention_runs`. A step that fails (a detach that
//! outwaits the statement timeout, say) is logged and the run goes on; the
//! next day's run takes it up again.

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use sqlx::{PgExecutor, PgPool};

use super::DbError;
use crate::config::RetentionPolicy;
use crate::ids::Snowflake;

/// Stored reports (digest runs, posted messages) and ended alert incidents
/// are kept this many days.
pub const STORED_REPORTS_DAYS: i64 = 180;
/// Most rows one delete statement removes.
pub const BATCH_ROWS: i64 = 5_000;
/// Guilds read per page of `guild_settings`.
const GUILD_PAGE: i64 = 500;

/// The month-partitioned rollups (`serverpulse_ensure_partitions`' list).
pub const PARTITIONED: [&str; 6] = [
    "message_rollup",
    "reaction_rollup",
    "voice_rollup",
    "voice_peak_rollup",
    "deletion_rollup",
    "guild_hourly",
];

/// Days a guild's per-member rows are kept: its own window, capped by the
/// operator's `RETENTION_MAX_DAYS`.
pub fn member_window_days(retention_days: i32, max_days: u32) -> i64 {
    i64::from(retention_days).min(i64::from(max_days))
}

/// Midnight UTC of the day `days` before `at`: rows of hours before it are
/// past a `days`-day window.
pub fn day_horizon(at: DateTime<Utc>, days: i64) -> DateTime<Utc> {
    let day = (at - Duration::days(days)).date_naive();
    Utc.from_utc_datetime(&day.and_hms_opt(0, 0, 0).expect("midnight exists"))
}

/// What one [`run`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RetentionReport {
    /// The UTC day the run claimed.
    pub day: Option<NaiveDate>,
    /// Partitions dropped, by name.
    pub partitions_dropped: Vec<String>,
    /// Guilds whose per-member rows were trimmed: the horizon and the rows
    /// deleted (guilds with nothing to delete are left out).
    pub trimmed: Vec<(Snowflake, DateTime<Utc>, u64)>,
    /// Digest runs, outbox items and alert incidents deleted.
    pub reports_deleted: u64,
    /// Shard coverage hours and coverage gaps past the global horizon
    /// deleted.
    pub coverage_deleted: u64,
    /// Dashboard sessions and used links past their expiry deleted.
    pub dashboard_deleted: u64,
    /// Guilds whose every row was deleted (removed past the grace period).
    pub erased: Vec<Snowflake>,
    /// Steps that failed (logged); the run went on with the others, and the
    /// next day's run takes them up again.
    pub failures: Vec<String>,
}

impl RetentionReport {
    pub fn rows_trimmed(&self) -> u64 {
        self.trimmed.iter().map(|t| t.2).sum()
    }

    fn failed(&mut self, step: String, error: &DbError) {
        tracing::warn!(%error, step, "retention step failed");
        self.failures.push(format!("{step}: {error}"));
    }
}

/// Trims one guild to `horizon` and records the horizon once done.
async fn trim_guild(
    pool: &PgPool,
    guild: Snowflake,
    horizon: DateTime<Utc>,
) -> Result<u64, DbError> {
    let rows = trim_member_rows(pool, guild, horizon, BATCH_ROWS).await?;
    record_horizon(pool, guild, horizon).await?;
    Ok(rows)
}

/// Runs the retention job for the UTC day of `at`, unless a run claimed
/// that day before (then `None`: replicas and reruns do it once).
pub async fn run(
    pool: &PgPool,
    policy: RetentionPolicy,
    at: DateTime<Utc>,
) -> Result<Option<RetentionReport>, DbError> {
    let day = at.date_naive();
    if !claim_day(pool, day, at).await? {
        return Ok(None);
    }
    let mut report = RetentionReport {
        day: Some(day),
        ..RetentionReport::default()
    };
    let global = day_horizon(at, i64::from(policy.max_days));
    for partition in expired_partitions(pool, global).await? {
        match drop_partition(pool, &partition).await {
            Ok(()) => {
                tracing::info!(partition = %partition.name, "retention dropped a partition");
                report.partitions_dropped.push(partition.name);
            }
            Err(error) => report.failed(format!("dropping {}", partition.name), &error),
        }
    }
    match delete_coverage(pool, global).await {
        Ok(deleted) => report.coverage_deleted = deleted,
        Err(error) => report.failed("deleting old coverage".into(), &error),
    }
    // Months of every guild went at once: no cached answer may outlive them.
    if let Err(error) = super::data_version::bump_all(pool).await {
        report.failed("renewing the guilds' data versions".into(), &error);
    }
    let mut after = Snowflake(0);
    loop {
        let page = guild_windows(pool, after, GUILD_PAGE).await?;
        let Some(&(last, _)) = page.last() else {
            break;
        };
        for (guild, days) in page {
            let horizon = day_horizon(at, member_window_days(days, policy.max_days));
            match trim_guild(pool, guild, horizon).await {
                Ok(0) => {}
                Ok(rows) => report.trimmed.push((guild, horizon, rows)),
                Err(error) => report.failed(format!("trimming guild {guild}"), &error),
            }
        }
        after = last;
    }
    match delete_stored_reports(pool, at - Duration::days(STORED_REPORTS_DAYS)).await {
        Ok(deleted) => report.reports_deleted = deleted,
        Err(error) => report.failed("deleting stored reports".into(), &error),
    }
    match super::dashboard::sweep_expired(pool, at).await {
        Ok(deleted) => report.dashboard_deleted = deleted,
        Err(error) => report.failed("deleting expired dashboard sessions".into(), &error),
    }
    let grace_end = at - Duration::days(i64::from(policy.grace_days));
    for guild in removed_guilds(pool, grace_end).await? {
        match erase_guild(pool, guild, grace_end).await {
            Ok(()) => {
                tracing::info!(%guild, "retention erased a guild the bot was removed from");
                report.erased.push(guild);
            }
            Err(error) => report.failed(format!("erasing guild {guild}"), &error),
        }
    }
    finish_day(pool, day, &report).await?;
    Ok(Some(report))
}

/// Claims the UTC day `day` for a run at `at`; `false` when a run claimed
/// it before.
pub async fn claim_day<'e>(
    executor: impl PgExecutor<'e>,
    day: NaiveDate,
    at: DateTime<Utc>,
) -> Result<bool, DbError> {
    let inserted = sqlx::query(
        "insert into retention_runs (run_day, claimed_at, run_at) values ($1, now(), $2)
         on conflict (run_day) do nothing",
    )
    .bind(day)
    .bind(at)
    .execute(executor)
    .await?;
    Ok(inserted.rows_affected() == 1)
}

async fn finish_day<'e>(
    executor: impl PgExecutor<'e>,
    day: NaiveDate,
    report: &RetentionReport,
) -> Result<(), DbError> {
    sqlx::query(
        "update retention_runs set finished_at = now(), partitions_dropped = $2,
             rows_trimmed = $3, reports_deleted = $4, guilds_erased = $5
         where run_day = $1",
    )
    .bind(day)
    .bind(report.partitions_dropped.len() as i32)
    .bind(report.rows_trimmed() as i64)
    .bind(report.reports_deleted as i64)
    .bind(report.erased.len() as i32)
    .execute(executor)
    .await?;
    Ok(())
}

/// One month partition of a rollup, attached or left detached by a run
/// that stopped half-way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Partition {
    pub parent: &'static str,
    pub name: String,
    /// The first instant after the month it holds.
    pub end: DateTime<Utc>,
    pub attached: bool,
    /// A `DETACH … CONCURRENTLY` was interrupted: it must be finalized.
    pub detach_pending: bool,
}

/// The month partitions (named `<rollup>_YYYYMM` by
/// `serverpulse_ensure_partitions`) whose month ends at or before
/// `horizon`, oldest first, including tables an interrupted run detached
/// but did not drop.
pub async fn expired_partitions<'e>(
    executor: impl PgExecutor<'e>,
    horizon: DateTime<Utc>,
) -> Result<Vec<Partition>, DbError> {
    let rows: Vec<(String, String, bool, bool)> = sqlx::query_as(
        "select substring(c.relname from '^(.*)_[0-9]{6}$') as parent, c.relname::text,
                i.inhrelid is not null, coalesce(i.inhdetachpending, false)
         from pg_class c
         left join pg_inherits i on i.inhrelid = c.oid
         where c.relkind = 'r'
           and c.relnamespace = (select oid from pg_namespace where nspname = current_schema())
           and substring(c.relname from '^(.*)_[0-9]{6}$') = any($1)
         order by right(c.relname, 6), c.relname",
    )
    .bind(&PARTITIONED[..])
    .fetch_all(executor)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(parent, name, attached, detach_pending)| {
            let parent = PARTITIONED.iter().find(|p| **p == parent)?;
            let end = month_end(&name)?;
            (end <= horizon).then_some(Partition {
                parent,
                name,
                end,
                attached,
                detach_pending,
            })
        })
        .collect())
}

/// The first instant after the month of a `<rollup>_YYYYMM` name.
fn month_end(name: &str) -> Option<DateTime<Utc>> {
    let suffix = name.get(name.len().checked_sub(6)?..)?;
    let year: i32 = suffix.get(..4)?.parse().ok()?;
    let month: u32 = suffix.get(4..)?.parse().ok()?;
    let (year, month) = if month == 12 {
        (year + 1, 1)
    } else {
        (year, month + 1)
    };
    Utc.with_ymd_and_hms(year, month, 1, 0, 0, 0).single()
}

/// Detaches `partition` without blocking writers of its parent, then drops
/// it. `DETACH … CONCURRENTLY` cannot run in a transaction, so this runs
/// on a connection of the pool outside one.
pub async fn drop_partition(pool: &PgPool, partition: &Partition) -> Result<(), DbError> {
    // Identifiers cannot be bound: both come from our own fixed list and
    // the catalogue, and are checked to be plain before they reach SQL.
    assert!(
        super::is_plain_identifier(partition.parent) && super::is_plain_identifier(&partition.name),
        "partition names are plain identifiers"
    );
    let (parent, name) = (partition.parent, &partition.name);
    if partition.attached {
        let mode = if partition.detach_pending {
            "finalize"
        } else {
            "concurrently"
        };
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "alter table {parent} detach partition {name} {mode}"
        )))
        .execute(pool)
        .await?;
    }
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("drop table if exists {name}")))
        .execute(pool)
        .await?;
    Ok(())
}

/// Up to `limit` guilds with settings after `after`, by id, with their
/// `retention_days`.
pub async fn guild_windows<'e>(
    executor: impl PgExecutor<'e>,
    after: Snowflake,
    limit: i64,
) -> Result<Vec<(Snowflake, i32)>, DbError> {
    Ok(sqlx::query_as(
        "select guild_id, retention_days from guild_settings
         where guild_id > $1 order by guild_id limit $2",
    )
    .bind(after)
    .bind(limit)
    .fetch_all(executor)
    .await?)
}

/// One batch of at most `$3` rows of guild `$1` with hour before `$2`,
/// oldest hours first, deleted by primary key. The outer scan is bounded
/// by the batch's first and last hour, so it reads about the batch (older
/// rows are gone already) and partitions outside it are pruned; a batch
/// never re-reads the rest of the guild's old rows.
macro_rules! trim_batch {
    ($table:literal, $keys:literal, $join:literal) => {
        concat!(
            "with batch as materialized (
                 select ",
            $keys,
            " from ",
            $table,
            "
                 where guild_id = $1 and hour < $2 order by hour limit $3)
             delete from ",
            $table,
            " t using batch b
             where t.guild_id = $1 and t.hour < $2
               and t.hour >= (select min(hour) from batch)
               and t.hour <= (select max(hour) from batch)
               and ",
            $join
        )
    };
}

const TRIM_MESSAGES: &str = trim_batch!(
    "message_rollup",
    "hour, channel_id, author_id",
    "t.hour = b.hour and t.channel_id = b.channel_id and t.author_id = b.author_id"
);
const TRIM_REACTIONS: &str = trim_batch!(
    "reaction_rollup",
    "hour, channel_id, user_id, receiver_id, emoji",
    "t.hour = b.hour and t.channel_id = b.channel_id and t.user_id = b.user_id
     and t.receiver_id = b.receiver_id and t.emoji = b.emoji"
);
const TRIM_VOICE: &str = trim_batch!(
    "voice_rollup",
    "hour, channel_id, user_id",
    "t.hour = b.hour and t.channel_id = b.channel_id and t.user_id = b.user_id"
);
const TRIM_VOICE_PEAKS: &str = trim_batch!(
    "voice_peak_rollup",
    "hour, channel_id",
    "t.hour = b.hour and t.channel_id = b.channel_id"
);
const TRIM_DELETIONS: &str = trim_batch!(
    "deletion_rollup",
    "hour, channel_id",
    "t.hour = b.hour and t.channel_id = b.channel_id"
);
const TRIM_GUILD_HOURLY: &str = trim_batch!("guild_hourly", "hour", "t.hour = b.hour");
/// Daily totals of days that began before the horizon (served by the
/// primary key's `(guild_id, day_start)` prefix). A day the horizon cuts
/// is then rebuilt from the hourly rows it keeps ([`trim_member_rows`]).
const TRIM_MEMBER_DAILY: &str = "delete from member_daily t
     where t.guild_id = $1
       and (t.day_start, t.user_id) in (
           select day_start, user_id from member_daily
           where guild_id = $1 and day_start < $2 limit $3)";
/// The per-channel daily rows of days that began before the horizon, like
/// [`TRIM_MEMBER_DAILY`].
const TRIM_MESSAGE_DAILY: &str = "delete from message_daily t
     where t.guild_id = $1
       and (t.day_start, t.channel_id, t.author_id, t.author_kind) in (
           select day_start, channel_id, author_id, author_kind from message_daily
           where guild_id = $1 and day_start < $2 limit $3)";
const TRIM_REACTION_DAILY: &str = "delete from reaction_daily t
     where t.guild_id = $1
       and (t.day_start, t.channel_id, t.user_id, t.emoji) in (
           select day_start, channel_id, user_id, emoji from reaction_daily
           where guild_id = $1 and day_start < $2 limit $3)";
const TRIM_VOICE_DAILY: &str = "delete from voice_daily t
     where t.guild_id = $1
       and (t.day_start, t.channel_id, t.user_id) in (
           select day_start, channel_id, user_id from voice_daily
           where guild_id = $1 and day_start < $2 limit $3)";
/// The active-member bitmaps of days that began before the horizon, like
/// [`TRIM_MEMBER_DAILY`].
const TRIM_ACTIVE_DAILY: &str = "delete from active_daily t
     where t.guild_id = $1
       and (t.day_start, t.chunk) in (
           select day_start, chunk from active_daily
           where guild_id = $1 and day_start < $2 limit $3)";
/// The daily tables: sums of the per-member rows.
const DAILY: [&str; 5] = [
    TRIM_MEMBER_DAILY,
    TRIM_MESSAGE_DAILY,
    TRIM_REACTION_DAILY,
    TRIM_VOICE_DAILY,
    TRIM_ACTIVE_DAILY,
];
/// Members' numbers in the bitmaps (`member_index`) once none of their
/// daily rows is left: no bit of a remaining day is theirs (a bit is set
/// only with a `member_daily` row), so the id goes with the rest of their
/// rows. Served by `member_daily_user_idx`; `$2` (the horizon) is unused
/// but bound like every trim.
const TRIM_MEMBER_INDEX: &str = "delete from member_index t
     where t.guild_id = $1
       and t.user_id in (
           select i.user_id from member_index i
           where i.guild_id = $1 and $2::timestamptz is not null
             and not exists (select 1 from member_daily d
                             where d.guild_id = $1 and d.user_id = i.user_id)
           limit $3)";
/// Spans and members that ended before the horizon (served by the
/// primary keys' `guild_id` prefix).
const TRIM_SPANS: &str = "delete from membership_spans t
     where t.guild_id = $1
       and (t.user_id, t.joined_at) in (
           select user_id, joined_at from membership_spans
           where guild_id = $1 and left_at < $2 limit $3)";
const TRIM_MEMBERS: &str = "delete from members t
     where t.guild_id = $1
       and t.user_id in (
           select user_id from members
           where guild_id = $1 and left_at < $2 limit $3)";

/// Access-log entries (who analysed or exported whom) older than the
/// horizon (served by `access_log_at_idx`).
const TRIM_ACCESS_LOG: &str = "delete from access_log t
     where t.guild_id = $1
       and t.entry_id in (
           select entry_id from access_log
           where guild_id = $1 and at < $2 limit $3)";

/// Live reactions to messages posted before the horizon (by the message
/// id, whose time is the message's; served by the primary key's
/// `(guild_id, message_id)` prefix): the import they correct reads no
/// message older than the window.
const TRIM_PRE_TRACKING_REACTIONS: &str = "delete from pre_tracking_reactions t
     where t.guild_id = $1
       and (t.message_id, t.emoji) in (
           select message_id, emoji from pre_tracking_reactions
           where guild_id = $1
             and message_id < (((extract(epoch from $2::timestamptz) * 1000)::bigint
                                - 1420070400000) << 22)
           limit $3)";

/// The per-member tables (and the live reactions of old messages, which
/// correct them), trimmed to a guild's own window.
const PER_MEMBER: [&str; 7] = [
    TRIM_MESSAGES,
    TRIM_REACTIONS,
    TRIM_VOICE,
    TRIM_SPANS,
    TRIM_MEMBERS,
    TRIM_ACCESS_LOG,
    TRIM_PRE_TRACKING_REACTIONS,
];

/// Deletes batch after batch of at most `batch_rows` rows with
/// `statement` until one deletes fewer; each batch commits on its own.
async fn in_batches(
    pool: &PgPool,
    statement: &'static str,
    guild: Snowflake,
    before: DateTime<Utc>,
    batch_rows: i64,
) -> Result<u64, DbError> {
    let mut total = 0;
    loop {
        let deleted = sqlx::query(statement)
            .bind(guild)
            .bind(before)
            .bind(batch_rows)
            .execute(pool)
            .await?
            .rows_affected();
        total += deleted;
        if deleted < batch_rows.max(1) as u64 {
            return Ok(total);
        }
    }
}

/// Deletes the guild's per-member rows of hours before `before` (and the
/// membership spans and departed members that ended before it), in
/// batches of at most `batch_rows` rows ([`BATCH_ROWS`] in a run), and
/// the daily totals of the days before it. Returns the rows deleted (the
/// daily totals, sums of the others, not counted).
pub async fn trim_member_rows(
    pool: &PgPool,
    guild: Snowflake,
    before: DateTime<Utc>,
    batch_rows: i64,
) -> Result<u64, DbError> {
    let mut total = 0;
    for statement in PER_MEMBER {
        total += in_batches(pool, statement, guild, before, batch_rows).await?;
    }
    // Daily totals are sums of the rows above: not counted again.
    for statement in DAILY {
        in_batches(pool, statement, guild, before, batch_rows).await?;
    }
    // The local day holding `before` (when it begins earlier) lost its
    // daily rows above and some hourly rows: its daily rows become the sum
    // of the hourly rows it keeps, as the daily tables' rule says.
    super::daily::rebuild_daily(pool, guild, before, before).await?;
    in_batches(pool, TRIM_MEMBER_INDEX, guild, before, batch_rows).await?;
    Ok(total)
}

/// Records that the guild's per-member rows before `before` are gone (the
/// horizon only moves forward).
pub async fn record_horizon<'e>(
    executor: impl PgExecutor<'e>,
    guild: Snowflake,
    before: DateTime<Utc>,
) -> Result<(), DbError> {
    sqlx::query(
        "insert into guild_retention (guild_id, member_rows_before) values ($1, $2)
         on conflict (guild_id) do update set
             member_rows_before = greatest(guild_retention.member_rows_before, excluded.member_rows_before),
             updated_at = now()",
    )
    .bind(guild)
    .bind(before)
    .execute(executor)
    .await?;
    Ok(())
}

/// The instant before which the retention job has removed the guild's
/// per-member rows; `None` when it has removed nothing of this guild.
pub async fn removed_before<'e>(
    executor: impl PgExecutor<'e>,
    guild: Snowflake,
) -> Result<Option<DateTime<Utc>>, DbError> {
    let row: Option<(DateTime<Utc>,)> =
        sqlx::query_as("select member_rows_before from guild_retention where guild_id = $1")
            .bind(guild)
            .fetch_optional(executor)
            .await?;
    Ok(row.map(|(t,)| t))
}

/// Deletes digest runs claimed, delivered or failed outbox items created,
/// alert incidents that ended, Pulse Reports generated and weekly report
/// jobs queued, before
/// `before`, in bounded batches.
/// Returns the rows deleted.
pub async fn delete_stored_reports(pool: &PgPool, before: DateTime<Utc>) -> Result<u64, DbError> {
    let mut total = 0;
    for statement in [
        "delete from digest_runs where (guild_id, frequency, period_start) in (
             select guild_id, frequency, period_start from digest_runs
             where claimed_at < $1 limit $2)",
        "delete from outbox where outbox_id in (
             select outbox_id from outbox
             where state <> 'pending' and created_at < $1 limit $2)",
        "delete from alert_incidents where (guild_id, incident_id) in (
             select guild_id, incident_id from alert_incidents
             where ended_at < $1 limit $2)",
        "delete from pulse_reports where (guild_id, report_id) in (
             select guild_id, report_id from pulse_reports
             where generated_at < $1 limit $2)",
        "delete from pulse_report_jobs where (guild_id, period_start) in (
             select guild_id, period_start from pulse_report_jobs
             where created_at < $1 limit $2)",
    ] {
        loop {
            let deleted = sqlx::query(statement)
                .bind(before)
                .bind(BATCH_ROWS)
                .execute(pool)
                .await?
                .rows_affected();
            total += deleted;
            if deleted < BATCH_ROWS as u64 {
                break;
            }
        }
    }
    Ok(total)
}

/// Deletes the hours each shard had a session, and the recorded gaps of
/// every guild, that ended before `before` (the global horizon: nothing of
/// those hours is left to chart). Per shard and per guild, so each delete
/// is served by its primary key. Returns the rows deleted.
pub async fn delete_coverage(pool: &PgPool, before: DateTime<Utc>) -> Result<u64, DbError> {
    let shards: Vec<(i32, i32)> =
        sqlx::query_as("select shard_total, shard_id from shard_checkpoints")
            .fetch_all(pool)
            .await?;
    let mut total = 0;
    for (shard_total, shard_id) in shards {
        total += sqlx::query(
            "delete from shard_coverage where shard_total = $1 and shard_id = $2 and hour < $3",
        )
        .bind(shard_total)
        .bind(shard_id)
        .bind(before)
        .execute(pool)
        .await?
        .rows_affected();
    }
    let mut after = Snowflake(0);
    loop {
        let page: Vec<(Snowflake,)> = sqlx::query_as(
            "select guild_id from guilds where guild_id > $1 order by guild_id limit $2",
        )
        .bind(after)
        .bind(GUILD_PAGE)
        .fetch_all(pool)
        .await?;
        let Some(&(last,)) = page.last() else {
            return Ok(total);
        };
        for (guild,) in page {
            total += sqlx::query(
                "delete from coverage_gaps where guild_id = $1 and gap_start < $2 and gap_end < $2",
            )
            .bind(guild)
            .bind(before)
            .execute(pool)
            .await?
            .rows_affected();
        }
        after = last;
    }
}

/// Guilds the bot was removed from before `before` (and that have not come
/// back since).
pub async fn removed_guilds<'e>(
    executor: impl PgExecutor<'e>,
    before: DateTime<Utc>,
) -> Result<Vec<Snowflake>, DbError> {
    let rows: Vec<(Snowflake,)> = sqlx::query_as(
        "select guild_id from guilds where removed_at is not null and removed_at < $1
         order by guild_id",
    )
    .bind(before)
    .fetch_all(executor)
    .await?;
    Ok(rows.into_iter().map(|(g,)| g).collect())
}

/// Far enough ahead to take every hour of a guild.
fn end_of_time() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(9999, 1, 1, 0, 0, 0)
        .single()
        .expect("a valid instant")
}

/// Deletes every row of `guild` in every table: the rollups in bounded
/// batches, then the rest in one transaction that ends with the guild's
/// catalogue row, and only while the guild is still removed since before
/// `removed_before` (a guild that came back meanwhile keeps its settings
/// and catalogue).
pub async fn erase_guild(
    pool: &PgPool,
    guild: Snowflake,
    removed_before: DateTime<Utc>,
) -> Result<(), DbError> {
    if !still_removed(pool, guild, removed_before).await? {
        return Ok(());
    }
    let forever = end_of_time();
    for statement in [
        TRIM_MESSAGES,
        TRIM_REACTIONS,
        TRIM_VOICE,
        TRIM_VOICE_PEAKS,
        TRIM_DELETIONS,
        TRIM_GUILD_HOURLY,
        TRIM_MEMBER_DAILY,
        TRIM_MESSAGE_DAILY,
        TRIM_REACTION_DAILY,
        TRIM_VOICE_DAILY,
        TRIM_ACTIVE_DAILY,
    ] {
        in_batches(pool, statement, guild, forever, BATCH_ROWS).await?;
    }
    let mut tx = pool.begin().await?;
    if !still_removed(&mut *tx, guild, removed_before).await? {
        return Ok(());
    }
    for statement in [
        "delete from digest_runs where guild_id = $1",
        "delete from backfill_channels where guild_id = $1",
        "delete from backfill_jobs where guild_id = $1",
        "delete from pre_tracking_reactions where guild_id = $1",
        "delete from alert_incidents where guild_id = $1",
        "delete from pulse_reports where guild_id = $1",
        "delete from pulse_report_jobs where guild_id = $1",
        "delete from ai_providers where guild_id = $1",
        "delete from dashboard_sessions where guild_id = $1",
        "delete from dashboard_generations where guild_id = $1",
        "delete from alert_windows where guild_id = $1",
        "delete from alert_settings where guild_id = $1",
        "delete from outbox where guild_id = $1",
        "delete from member_totals where guild_id = $1",
        "delete from member_index where guild_id = $1",
        "delete from member_index_next where guild_id = $1",
        "delete from membership_spans where guild_id = $1",
        "delete from members where guild_id = $1",
        "delete from voice_sessions where guild_id = $1",
        "delete from channels where guild_id = $1",
        "delete from coverage_gaps where guild_id = $1",
        "delete from guild_collected_channels where guild_id = $1",
        "delete from settings_audit where guild_id = $1",
        "delete from access_log where guild_id = $1",
        "delete from guild_access where guild_id = $1",
        "delete from member_privacy where guild_id = $1",
        "delete from member_opt_outs where guild_id = $1",
        "delete from guild_settings where guild_id = $1",
        "delete from guild_retention where guild_id = $1",
        "delete from guilds where guild_id = $1",
        // Last: the deletes above set it through their triggers.
        "delete from guild_data_versions where guild_id = $1",
    ] {
        sqlx::query(statement).bind(guild).execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// The guild is still removed since before `before` (locking its row
/// inside a transaction, so a GUILD_CREATE waits for the erase).
async fn still_removed<'e>(
    executor: impl PgExecutor<'e>,
    guild: Snowflake,
    before: DateTime<Utc>,
) -> Result<bool, DbError> {
    let row: Option<(Snowflake,)> = sqlx::query_as(
        "select guild_id from guilds where guild_id = $1 and removed_at < $2 for update",
    )
    .bind(guild)
    .bind(before)
    .fetch_optional(executor)
    .await?;
    Ok(row.is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn month_ends_follow_the_partition_names() {
        assert_eq!(
            month_end("guild_hourly_202512"),
            Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).single()
        );
        assert_eq!(
            month_end("message_rollup_202602"),
            Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).single()
        );
        assert_eq!(month_end("x"), None);
    }

    #[test]
    fn horizons_are_utc_midnights_and_the_operator_caps_windows() {
        let at = Utc.with_ymd_and_hms(2026, 12, 2, 15, 30, 0).unwrap();
        assert_eq!(
            day_horizon(at, 30),
            Utc.with_ymd_and_hms(2026, 11, 2, 0, 0, 0).unwrap()
        );
        assert_eq!(member_window_days(400, 365), 365);
        assert_eq!(member_window_days(30, 730), 30);
    }
}
