//! Guild settings and their audit trail.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::{PgConnection, PgExecutor};

use super::DbError;
use crate::ids::Snowflake;

/// Whether every channel counts or only an allow-list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CollectMode {
    All,
    AllowList,
}

impl CollectMode {
    fn to_db(self) -> &'static str {
        match self {
            Self::All => "all",
            Self::AllowList => "allowlist",
        }
    }

    fn from_db(value: &str) -> Self {
        if value == "allowlist" {
            Self::AllowList
        } else {
            Self::All
        }
    }
}

/// `retention_days` of a guild nobody has configured.
pub const DEFAULT_RETENTION_DAYS: i32 = 90;
/// The shortest and longest `retention_days` an admin may choose (the
/// column's check).
pub const RETENTION_DAYS_ALLOWED: std::ops::RangeInclusive<i32> = 7..=730;

/// A guild's settings. A guild with no row has [`GuildSettings::defaults`]:
/// tracking off, so nothing is recorded until an admin enables it. The
/// digest schedule and delivery columns of the same row are read by
/// `digest_settings`, which owns them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GuildSettings {
    pub guild_id: Snowflake,
    pub tracking_enabled: bool,
    pub tracking_since: Option<DateTime<Utc>>,
    pub collect_mode: CollectMode,
    pub update_channel_id: Option<Snowflake>,
    /// IANA name, e.g. `Europe/Berlin`.
    pub timezone: String,
    /// Bots and webhooks count in every figure (`/setup count_bots`).
    pub count_bots: bool,
    pub retention_days: i32,
}

impl GuildSettings {
    /// The settings of a guild nobody has configured (mirrors the column
    /// defaults of `guild_settings`; a test keeps the two in step).
    pub fn defaults(guild_id: Snowflake) -> Self {
        Self {
            guild_id,
            tracking_enabled: false,
            tracking_since: None,
            collect_mode: CollectMode::All,
            update_channel_id: None,
            timezone: "UTC".to_owned(),
            count_bots: false,
            retention_days: DEFAULT_RETENTION_DAYS,
        }
    }
}

#[derive(sqlx::FromRow)]
struct SettingsRow {
    guild_id: Snowflake,
    tracking_enabled: bool,
    tracking_since: Option<DateTime<Utc>>,
    collect_mode: String,
    update_channel_id: Option<Snowflake>,
    timezone: String,
    count_bots: bool,
    retention_days: i32,
}

impl From<SettingsRow> for GuildSettings {
    fn from(row: SettingsRow) -> Self {
        Self {
            guild_id: row.guild_id,
            tracking_enabled: row.tracking_enabled,
            tracking_since: row.tracking_since,
            collect_mode: CollectMode::from_db(&row.collect_mode),
            update_channel_id: row.update_channel_id,
            timezone: row.timezone,
            count_bots: row.count_bots,
            retention_days: row.retention_days,
        }
    }
}

/// The columns [`SettingsRow`] reads, as a literal so queries stay `&'static str`.
macro_rules! settings_columns {
    () => {
        "guild_id, tracking_enabled, tracking_since, collect_mode, update_channel_id, timezone, \
         count_bots, retention_days"
    };
}

/// The guild's settings, or the defaults when none were saved.
pub async fn load<'e>(
    executor: impl PgExecutor<'e>,
    guild_id: Snowflake,
) -> Result<GuildSettings, DbError> {
    let row: Option<SettingsRow> = sqlx::query_as(concat!(
        "select ",
        settings_columns!(),
        " from guild_settings where guild_id = $1"
    ))
    .bind(guild_id)
    .fetch_optional(executor)
    .await?;
    Ok(row
        .map(GuildSettings::from)
        .unwrap_or_else(|| GuildSettings::defaults(guild_id)))
}

/// The stored row as the database's own column defaults fill it in: lets a
/// test check [`GuildSettings::defaults`] against the schema.
pub async fn insert_defaults(
    conn: &mut PgConnection,
    guild_id: Snowflake,
) -> Result<GuildSettings, DbError> {
    let row: SettingsRow = sqlx::query_as(concat!(
        "insert into guild_settings (guild_id) values ($1)
         on conflict (guild_id) do update set guild_id = excluded.guild_id
         returning ",
        settings_columns!()
    ))
    .bind(guild_id)
    .fetch_one(conn)
    .await?;
    Ok(row.into())
}

/// Turns tracking on or off and records who did it. Run in a transaction.
pub async fn set_tracking(
    conn: &mut PgConnection,
    guild_id: Snowflake,
    actor_id: Snowflake,
    enabled: bool,
) -> Result<GuildSettings, DbError> {
    let row: SettingsRow = sqlx::query_as(concat!(
        "insert into guild_settings (guild_id, tracking_enabled, tracking_since)
         values ($1, $2, case when $2 then now() end)
         on conflict (guild_id) do update set
             tracking_enabled = excluded.tracking_enabled,
             tracking_since = case
                 when excluded.tracking_enabled and not guild_settings.tracking_enabled then now()
                 when excluded.tracking_enabled then guild_settings.tracking_since
             end,
             updated_at = now()
         returning ",
        settings_columns!()
    ))
    .bind(guild_id)
    .bind(enabled)
    .fetch_one(&mut *conn)
    .await?;
    record_audit(
        &mut *conn,
        guild_id,
        actor_id,
        if enabled {
            "tracking.enable"
        } else {
            "tracking.disable"
        },
        serde_json::json!({}),
    )
    .await?;
    Ok(row.into())
}

/// Appends to the settings audit trail.
pub async fn record_audit<'e>(
    executor: impl PgExecutor<'e>,
    guild_id: Snowflake,
    actor_id: Snowflake,
    action: &str,
    detail: serde_json::Value,
) -> Result<(), DbError> {
    sqlx::query(
        "insert into settings_audit (guild_id, actor_id, action, detail) values ($1, $2, $3, $4)",
    )
    .bind(guild_id)
    .bind(actor_id)
    .bind(action)
    .bind(detail)
    .execute(executor)
    .await?;
    Ok(())
}

/// One entry of the audit trail.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct AuditEntry {
    pub actor_id: Snowflake,
    pub changed_at: DateTime<Utc>,
    pub action: String,
    pub detail: serde_json::Value,
}

/// The newest `limit` audit entries of a guild, newest first.
pub async fn audit_trail<'e>(
    executor: impl PgExecutor<'e>,
    guild_id: Snowflake,
    limit: i64,
) -> Result<Vec<AuditEntry>, DbError> {
    Ok(sqlx::query_as(
        "select actor_id, changed_at, action, detail from settings_audit
         where guild_id = $1 order by audit_id desc limit $2",
    )
    .bind(guild_id)
    .bind(limit)
    .fetch_all(executor)
    .await?)
}

/// Switches between collecting every channel and an allow-list, with audit.
pub async fn set_collect_mode(
    conn: &mut PgConnection,
    guild_id: Snowflake,
    actor_id: Snowflake,
    mode: CollectMode,
) -> Result<(), DbError> {
    sqlx::query(
        "insert into guild_settings (guild_id, collect_mode) values ($1, $2)
         on conflict (guild_id) do update set collect_mode = excluded.collect_mode, updated_at = now()",
    )
    .bind(guild_id)
    .bind(mode.to_db())
    .execute(&mut *conn)
    .await?;
    record_audit(
        conn,
        guild_id,
        actor_id,
        "collect_mode.set",
        serde_json::json!({ "mode": mode.to_db() }),
    )
    .await
}

/// Adds (`collect = true`) or removes a channel from the allow-list, with
/// audit. Returns whether anything changed.
pub async fn set_channel_collected(
    conn: &mut PgConnection,
    guild_id: Snowflake,
    actor_id: Snowflake,
    channel_id: Snowflake,
    collect: bool,
) -> Result<bool, DbError> {
    let changed = if collect {
        sqlx::query(
            "insert into guild_collected_channels (guild_id, channel_id) values ($1, $2) on conflict do nothing",
        )
        .bind(guild_id)
        .bind(channel_id)
        .execute(&mut *conn)
        .await?
        .rows_affected()
    } else {
        sqlx::query("delete from guild_collected_channels where guild_id = $1 and channel_id = $2")
            .bind(guild_id)
            .bind(channel_id)
            .execute(&mut *conn)
            .await?
            .rows_affected()
    } > 0;
    if changed {
        let action = if collect {
            "collect_channel.add"
        } else {
            "collect_channel.remove"
        };
        record_audit(
            conn,
            guild_id,
            actor_id,
            action,
            serde_json::json!({ "channel_id": channel_id }),
        )
        .await?;
    }
    Ok(changed)
}

/// The allow-list of a guild (meaningful when the mode is allow-list).
pub async fn collected_channels<'e>(
    executor: impl PgExecutor<'e>,
    guild_id: Snowflake,
) -> Result<Vec<Snowflake>, DbError> {
    let rows: Vec<(Snowflake,)> = sqlx::query_as(
        "select channel_id from guild_collected_channels where guild_id = $1 order by channel_id",
    )
    .bind(guild_id)
    .fetch_all(executor)
    .await?;
    Ok(rows.into_iter().map(|(c,)| c).collect())
}

/// Sets the guild's timezone (an IANA name the caller has checked), with
/// audit, and rebuilds the guild's daily totals on the new local days when
/// the zone changed (the same zone again leaves them as they are).
pub async fn set_timezone(
    conn: &mut PgConnection,
    guild_id: Snowflake,
    actor_id: Snowflake,
    timezone: &str,
) -> Result<(), DbError> {
    let previous: Option<String> =
        sqlx::query_scalar("select timezone from guild_settings where guild_id = $1 for update")
            .bind(guild_id)
            .fetch_optional(&mut *conn)
            .await?;
    sqlx::query(
        "insert into guild_settings (guild_id, timezone) values ($1, $2)
         on conflict (guild_id) do update set timezone = excluded.timezone, updated_at = now()",
    )
    .bind(guild_id)
    .bind(timezone)
    .execute(&mut *conn)
    .await?;
    // Daily totals are per local day: the new zone's days are rebuilt from
    // the hourly rows now, in this transaction (a flush reads the zone
    // `for share`, so it commits wholly before or after).
    if previous.as_deref() != Some(timezone) {
        super::daily::rebuild_all_daily(&mut *conn, guild_id).await?;
    }
    record_audit(
        conn,
        guild_id,
        actor_id,
        "timezone.set",
        serde_json::json!({ "timezone": timezone }),
    )
    .await
}

/// Sets (or clears) the channel that receives digests and alerts, with audit.
pub async fn set_update_channel(
    conn: &mut PgConnection,
    guild_id: Snowflake,
    actor_id: Snowflake,
    channel_id: Option<Snowflake>,
) -> Result<(), DbError> {
    sqlx::query(
        "insert into guild_settings (guild_id, update_channel_id) values ($1, $2)
         on conflict (guild_id) do update set update_channel_id = excluded.update_channel_id, updated_at = now()",
    )
    .bind(guild_id)
    .bind(channel_id)
    .execute(&mut *conn)
    .await?;
    record_audit(
        conn,
        guild_id,
        actor_id,
        "update_channel.set",
        serde_json::json!({ "channel_id": channel_id }),
    )
    .await
}

/// Sets whether bot accounts and webhooks count in every figure, with
/// audit. Returns the previous value.
pub async fn set_count_bots(
    conn: &mut PgConnection,
    guild_id: Snowflake,
    actor_id: Snowflake,
    count_bots: bool,
) -> Result<bool, DbError> {
    let previous = load(&mut *conn, guild_id).await?.count_bots;
    sqlx::query(
        "insert into guild_settings (guild_id, count_bots) values ($1, $2)
         on conflict (guild_id) do update set count_bots = excluded.count_bots, updated_at = now()",
    )
    .bind(guild_id)
    .bind(count_bots)
    .execute(&mut *conn)
    .await?;
    record_audit(
        conn,
        guild_id,
        actor_id,
        "count_bots.set",
        serde_json::json!({ "count_bots": count_bots, "previous": previous }),
    )
    .await?;
    Ok(previous)
}

/// Sets how many days the guild's per-member rows are kept (within
/// [`RETENTION_DAYS_ALLOWED`], checked by the caller and the column), with
/// audit. Returns the previous value.
pub async fn set_retention_days(
    conn: &mut PgConnection,
    guild_id: Snowflake,
    actor_id: Snowflake,
    days: i32,
) -> Result<i32, DbError> {
    let previous = load(&mut *conn, guild_id).await?.retention_days;
    sqlx::query(
        "insert into guild_settings (guild_id, retention_days) values ($1, $2)
         on conflict (guild_id) do update set retention_days = excluded.retention_days, updated_at = now()",
    )
    .bind(guild_id)
    .bind(days)
    .execute(&mut *conn)
    .await?;
    record_audit(
        conn,
        guild_id,
        actor_id,
        "retention_days.set",
        serde_json::json!({ "days": days, "previous": previous }),
    )
    .await?;
    Ok(previous)
}

/// How long an applied interaction id is remembered: far longer than the
/// 5 minutes a signature is accepted for.
pub const APPLIED_INTERACTIONS_KEPT_SECS: i64 = 3600;

/// Records that interaction `id` applies its settings change, in the same
/// transaction as the change; `false` when it was applied before (a
/// replay), and then nothing must change. Ids older than
/// [`APPLIED_INTERACTIONS_KEPT_SECS`] are pruned.
pub async fn first_application(conn: &mut PgConnection, id: Snowflake) -> Result<bool, DbError> {
    sqlx::query(
        "delete from applied_interactions where applied_at < now() - make_interval(secs => $1)",
    )
    .bind(APPLIED_INTERACTIONS_KEPT_SECS as f64)
    .execute(&mut *conn)
    .await?;
    let inserted = sqlx::query(
        "insert into applied_interactions (interaction_id) values ($1) on conflict do nothing",
    )
    .bind(id)
    .execute(&mut *conn)
    .await?;
    Ok(inserted.rows_affected() == 1)
}

/// Channel types an allow-list can name: text, voice, announcement, stage,
/// forum and media channels (threads follow their parent; categories hold
/// nothing themselves).
const COLLECTABLE_KINDS: [i16; 6] = [0, 2, 5, 13, 15, 16];

/// "Stop collecting this channel" while every channel is collected: switch
/// to an allow-list of every other live channel the catalogue knows, with
/// one audit entry. Returns how many channels stay collected. Run in a
/// transaction.
pub async fn collect_all_but(
    conn: &mut PgConnection,
    guild_id: Snowflake,
    actor_id: Snowflake,
    channel_id: Snowflake,
) -> Result<u64, DbError> {
    sqlx::query("delete from guild_collected_channels where guild_id = $1")
        .bind(guild_id)
        .execute(&mut *conn)
        .await?;
    let kept = sqlx::query(
        "insert into guild_collected_channels (guild_id, channel_id)
         select guild_id, channel_id from channels
         where guild_id = $1 and channel_id <> $2 and deleted_at is null and kind = any($3)",
    )
    .bind(guild_id)
    .bind(channel_id)
    .bind(&COLLECTABLE_KINDS[..])
    .execute(&mut *conn)
    .await?
    .rows_affected();
    sqlx::query(
        "insert into guild_settings (guild_id, collect_mode) values ($1, 'allowlist')
         on conflict (guild_id) do update set collect_mode = 'allowlist', updated_at = now()",
    )
    .bind(guild_id)
    .execute(&mut *conn)
    .await?;
    record_audit(
        conn,
        guild_id,
        actor_id,
        "collect_channel.remove",
        serde_json::json!({ "channel_id": channel_id, "from_all_channels": true, "still_collected": kept }),
    )
    .await?;
    Ok(kept)
}
