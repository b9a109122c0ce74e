//! Digest settings of a guild and the update channel's delivery failure
//! (columns of `guild_settings` kept apart from `settings.rs` so each
//! concern has one file).

use chrono::{DateTime, Utc, Weekday};
use sqlx::{PgConnection, PgExecutor};

use super::DbError;
use super::settings::record_audit;
use crate::ids::Snowflake;

/// The actor recorded in the audit trail for what ServerPulse itself did
/// (Discord never issues the id 0).
pub const SYSTEM_ACTOR: Snowflake = Snowflake(0);

/// How often a guild's digest is posted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DigestFrequency {
    Hourly,
    Daily,
    Weekly,
}

impl DigestFrequency {
    pub const ALL: [Self; 3] = [Self::Hourly, Self::Daily, Self::Weekly];

    /// The value stored in `guild_settings.digest_frequency` and
    /// `digest_runs.frequency`, and offered to admins.
    pub fn key(self) -> &'static str {
        match self {
            Self::Hourly => "hourly",
            Self::Daily => "daily",
            Self::Weekly => "weekly",
        }
    }

    /// Parses `hourly`, `daily` or `weekly`; `none` (and anything else) is `None`.
    pub fn from_key(key: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.key() == key)
    }
}

/// What an admin chooses with `/set-digest`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DigestSchedule {
    /// `None`: no digests (the default).
    pub frequency: Option<DigestFrequency>,
    /// Guild-local hour of the daily and weekly post, 0–23.
    pub hour: u8,
    /// Day of the weekly post.
    pub weekday: Weekday,
}

impl Default for DigestSchedule {
    /// Mirrors the column defaults: none, 09:00, Monday.
    fn default() -> Self {
        Self {
            frequency: None,
            hour: 9,
            weekday: Weekday::Mon,
        }
    }
}

/// A permanent failure to post in the update channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryFailure {
    pub channel_id: Snowflake,
    /// Discord's JSON error code (50001, 50013, 10003) or the HTTP status
    /// when the body had none.
    pub code: i32,
    pub message: String,
    pub at: DateTime<Utc>,
}

/// Everything the digest scheduler and `/setup` need about one guild.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestSettings {
    pub guild_id: Snowflake,
    pub schedule: DigestSchedule,
    /// When the schedule last changed; periods due before it are not posted.
    pub since: Option<DateTime<Utc>>,
    pub tracking_enabled: bool,
    pub update_channel_id: Option<Snowflake>,
    /// IANA name, e.g. `Europe/Berlin`.
    pub timezone: String,
    /// Whether bots count in the digest's figures (`count_bots`).
    pub count_bots: bool,
    /// The failure recorded for the current update channel, if any (one
    /// recorded for an earlier channel no longer applies).
    pub delivery_failure: Option<DeliveryFailure>,
}

impl DigestSettings {
    /// The settings of a guild with no settings row (the column defaults
    /// of `guild_settings`; a test keeps the two in step).
    pub fn defaults(guild_id: Snowflake) -> Self {
        let settings = super::settings::GuildSettings::defaults(guild_id);
        Self {
            guild_id,
            schedule: DigestSchedule::default(),
            since: None,
            tracking_enabled: settings.tracking_enabled,
            update_channel_id: settings.update_channel_id,
            timezone: settings.timezone,
            count_bots: settings.count_bots,
            delivery_failure: None,
        }
    }
}

#[derive(sqlx::FromRow)]
struct Row {
    guild_id: Snowflake,
    digest_frequency: String,
    digest_hour: i16,
    digest_weekday: i16,
    digest_since: Option<DateTime<Utc>>,
    tracking_enabled: bool,
    update_channel_id: Option<Snowflake>,
    timezone: String,
    count_bots: bool,
    delivery_failure_channel_id: Option<Snowflake>,
    delivery_failure_code: Option<i32>,
    delivery_failure_message: Option<String>,
    delivery_failed_at: Option<DateTime<Utc>>,
}

fn weekday_from_iso(value: i16) -> Weekday {
    Weekday::try_from(u8::try_from(value.clamp(1, 7) - 1).unwrap_or(0)).unwrap_or(Weekday::Mon)
}

impl From<Row> for DigestSettings {
    fn from(row: Row) -> Self {
        let delivery_failure = match (
            row.delivery_failure_channel_id,
            row.delivery_failure_code,
            row.delivery_failed_at,
        ) {
            (Some(channel_id), Some(code), Some(at))
                if row.update_channel_id == Some(channel_id) =>
            {
                Some(DeliveryFailure {
                    channel_id,
                    code,
                    message: row.delivery_failure_message.unwrap_or_default(),
                    at,
                })
            }
            _ => None,
        };
        Self {
            guild_id: row.guild_id,
            schedule: DigestSchedule {
                frequency: DigestFrequency::from_key(&row.digest_frequency),
                hour: u8::try_from(row.digest_hour.clamp(0, 23)).unwrap_or(9),
                weekday: weekday_from_iso(row.digest_weekday),
            },
            since: row.digest_since,
            tracking_enabled: row.tracking_enabled,
            update_channel_id: row.update_channel_id,
            timezone: row.timezone,
            count_bots: row.count_bots,
            delivery_failure,
        }
    }
}

macro_rules! digest_columns {
    () => {
        "guild_id, digest_frequency, digest_hour, digest_weekday, digest_since, tracking_enabled, \
         update_channel_id, timezone, count_bots, delivery_failure_channel_id, delivery_failure_code, \
         delivery_failure_message, delivery_failed_at"
    };
}

/// The guild's digest settings; `None` when the guild has no settings row
/// (then it has the defaults: no digests).
pub async fn load<'e>(
    executor: impl PgExecutor<'e>,
    guild_id: Snowflake,
) -> Result<Option<DigestSettings>, DbError> {
    let row: Option<Row> = sqlx::query_as(concat!(
        "select ",
        digest_columns!(),
        " from guild_settings where guild_id = $1"
    ))
    .bind(guild_id)
    .fetch_optional(executor)
    .await?;
    Ok(row.map(DigestSettings::from))
}

/// Every tracked guild that wants digests (the scheduler's work list).
pub async fn guilds_with_digests<'e>(
    executor: impl PgExecutor<'e>,
) -> Result<Vec<DigestSettings>, DbError> {
    let rows: Vec<Row> = sqlx::query_as(concat!(
        "select ",
        digest_columns!(),
        " from guild_settings where digest_frequency <> 'none' and tracking_enabled order by guild_id"
    ))
    .fetch_all(executor)
    .await?;
    Ok(rows.into_iter().map(DigestSettings::from).collect())
}

/// Sets the digest schedule at `now`, with audit. Run in a transaction.
pub async fn set_schedule(
    conn: &mut PgConnection,
    guild_id: Snowflake,
    actor_id: Snowflake,
    schedule: DigestSchedule,
    now: DateTime<Utc>,
) -> Result<(), DbError> {
    let frequency = schedule.frequency.map_or("none", DigestFrequency::key);
    let weekday = i16::try_from(schedule.weekday.number_from_monday()).unwrap_or(1);
    sqlx::query(
        "insert into guild_settings (guild_id, digest_frequency, digest_hour, digest_weekday, digest_since)
         values ($1, $2, $3, $4, $5)
         on conflict (guild_id) do update set
             digest_frequency = excluded.digest_frequency, digest_hour = excluded.digest_hour,
             digest_weekday = excluded.digest_weekday, digest_since = excluded.digest_since,
             updated_at = now()",
    )
    .bind(guild_id)
    .bind(frequency)
    .bind(i16::from(schedule.hour.min(23)))
    .bind(weekday)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    record_audit(
        conn,
        guild_id,
        actor_id,
        "digest.set",
        serde_json::json!({
            "frequency": frequency,
            "hour": schedule.hour,
            "weekday": schedule.weekday.to_string(),
        }),
    )
    .await
}

/// Records a permanent failure to post in `channel_id` and audits it (as
/// [`SYSTEM_ACTOR`]). Run in a transaction with the outbox update.
pub async fn record_delivery_failure(
    conn: &mut PgConnection,
    guild_id: Snowflake,
    failure: &DeliveryFailure,
) -> Result<(), DbError> {
    sqlx::query(
        "update guild_settings set delivery_failure_channel_id = $2, delivery_failure_code = $3,
                delivery_failure_message = $4, delivery_failed_at = $5
         where guild_id = $1",
    )
    .bind(guild_id)
    .bind(failure.channel_id)
    .bind(failure.code)
    .bind(&failure.message)
    .bind(failure.at)
    .execute(&mut *conn)
    .await?;
    record_audit(
        conn,
        guild_id,
        SYSTEM_ACTOR,
        "update_channel.delivery_failed",
        serde_json::json!({
            "channel_id": failure.channel_id,
            "code": failure.code,
            "message": failure.message,
        }),
    )
    .await
}

/// Forgets the update channel's recorded failure (an admin chose the
/// channel again, e.g. after giving ServerPulse its permissions back), so
/// digests are posted there again. Run in the admin's transaction.
pub async fn clear_delivery_failure(
    conn: &mut PgConnection,
    guild_id: Snowflake,
) -> Result<(), DbError> {
    sqlx::query(
        "update guild_settings set delivery_failure_channel_id = null, delivery_failure_code = null,
                delivery_failure_message = null, delivery_failed_at = null
         where guild_id = $1",
    )
    .bind(guild_id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}
