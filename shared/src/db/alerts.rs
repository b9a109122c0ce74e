//! Alert settings, incidents and the detectors' persisted windows.
//!
//! The ingester inserts and updates incidents (and their windows) in its
//! flush transaction; the web commands read them and change settings.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgExecutor};

use super::DbError;
use super::settings::record_audit;
use crate::alerts::{AlertKind, AlertSettings, Delivery, GuildAlertSettings, Incident};
use crate::ids::Snowflake;

#[derive(sqlx::FromRow)]
struct SettingsRow {
    kind: String,
    enabled: bool,
    threshold: f64,
    window_secs: i32,
    min_volume: i32,
    quiet_secs: i32,
    cooldown_secs: i32,
    snoozed_until: Option<DateTime<Utc>>,
}

/// Every kind's settings of a guild (defaults where no row was written).
pub async fn settings_of<'e>(
    executor: impl PgExecutor<'e>,
    guild_id: Snowflake,
) -> Result<GuildAlertSettings, DbError> {
    let rows: Vec<SettingsRow> = sqlx::query_as(
        "select kind, enabled, threshold, window_secs, min_volume, quiet_secs, cooldown_secs,
                snoozed_until
         from alert_settings where guild_id = $1",
    )
    .bind(guild_id)
    .fetch_all(executor)
    .await?;
    let mut settings = GuildAlertSettings::defaults();
    for row in rows {
        let Some(kind) = AlertKind::from_key(&row.kind) else {
            continue;
        };
        settings.set(AlertSettings {
            kind,
            enabled: row.enabled,
            threshold: row.threshold,
            window_secs: row.window_secs,
            min_volume: row.min_volume,
            quiet_secs: row.quiet_secs,
            cooldown_secs: row.cooldown_secs,
            snoozed_until: row.snoozed_until,
        });
    }
    Ok(settings)
}

/// Saves one kind's settings with an audit entry (`action`, `detail`). Run
/// in a transaction. The settings trigger tells the ingester.
pub async fn save_settings(
    conn: &mut PgConnection,
    guild_id: Snowflake,
    actor_id: Snowflake,
    settings: &AlertSettings,
    action: &str,
    detail: serde_json::Value,
) -> Result<(), DbError> {
    sqlx::query(
        "insert into alert_settings (guild_id, kind, enabled, threshold, window_secs, min_volume,
                                     quiet_secs, cooldown_secs, snoozed_until, updated_at)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, now())
         on conflict (guild_id, kind) do update set
             enabled = excluded.enabled, threshold = excluded.threshold,
             window_secs = excluded.window_secs, min_volume = excluded.min_volume,
             quiet_secs = excluded.quiet_secs, cooldown_secs = excluded.cooldown_secs,
             snoozed_until = excluded.snoozed_until, updated_at = now()",
    )
    .bind(guild_id)
    .bind(settings.kind.key())
    .bind(settings.enabled)
    .bind(settings.threshold)
    .bind(settings.window_secs)
    .bind(settings.min_volume)
    .bind(settings.quiet_secs)
    .bind(settings.cooldown_secs)
    .bind(settings.snoozed_until)
    .execute(&mut *conn)
    .await?;
    record_audit(conn, guild_id, actor_id, action, detail).await
}

#[derive(sqlx::FromRow)]
struct IncidentRow {
    guild_id: Snowflake,
    incident_id: i64,
    kind: String,
    started_at: DateTime<Utc>,
    detected_at: DateTime<Utc>,
    last_event_at: DateTime<Utc>,
    ended_at: Option<DateTime<Utc>>,
    count: i32,
    detail: serde_json::Value,
    delivery: String,
}

impl IncidentRow {
    fn into_incident(self) -> Result<Incident, DbError> {
        let kind = AlertKind::from_key(&self.kind)
            .ok_or_else(|| DbError::Corrupt(format!("unknown alert kind {:?}", self.kind)))?;
        let detail = serde_json::from_value(self.detail)
            .map_err(|e| DbError::Corrupt(format!("alert incident detail: {e}")))?;
        Ok(Incident {
            guild_id: self.guild_id,
            incident_id: self.incident_id,
            kind,
            started_at: self.started_at,
            detected_at: self.detected_at,
            last_event_at: self.last_event_at,
            ended_at: self.ended_at,
            count: self.count,
            detail,
            delivery: Delivery::from_key(&self.delivery),
        })
    }
}

macro_rules! incident_columns {
    () => {
        "guild_id, incident_id, kind, started_at, detected_at, last_event_at, ended_at, count, \
         detail, delivery"
    };
}

/// A new incident (its `incident_id` is assigned here; the one passed in
/// is ignored). Returns the stored incident. Run in
/// the flush transaction.
pub async fn insert_incident<'e>(
    executor: impl PgExecutor<'e>,
    incident: &Incident,
) -> Result<Incident, DbError> {
    let detail = serde_json::to_value(&incident.detail)
        .map_err(|e| DbError::Corrupt(format!("alert incident detail: {e}")))?;
    let row: IncidentRow = sqlx::query_as(concat!(
        "insert into alert_incidents (guild_id, kind, started_at, detected_at, last_event_at,
                                      ended_at, count, detail, delivery)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         returning ",
        incident_columns!()
    ))
    .bind(incident.guild_id)
    .bind(incident.kind.key())
    .bind(incident.started_at)
    .bind(incident.detected_at)
    .bind(incident.last_event_at)
    .bind(incident.ended_at)
    .bind(incident.count)
    .bind(detail)
    .bind(incident.delivery.key())
    .fetch_one(executor)
    .await?;
    row.into_incident()
}

/// Stores an incident's growth or end (everything but its identity,
/// kind, start, detection and delivery). Run in the flush transaction.
pub async fn update_incident<'e>(
    executor: impl PgExecutor<'e>,
    incident: &Incident,
) -> Result<(), DbError> {
    let detail = serde_json::to_value(&incident.detail)
        .map_err(|e| DbError::Corrupt(format!("alert incident detail: {e}")))?;
    sqlx::query(
        "update alert_incidents set last_event_at = $3, ended_at = $4, count = $5, detail = $6
         where guild_id = $1 and incident_id = $2",
    )
    .bind(incident.guild_id)
    .bind(incident.incident_id)
    .bind(incident.last_event_at)
    .bind(incident.ended_at)
    .bind(incident.count)
    .bind(detail)
    .execute(executor)
    .await?;
    Ok(())
}

/// Incidents still going on in the given guilds (loaded at start).
pub async fn open_incidents<'e>(
    executor: impl PgExecutor<'e>,
    guild_ids: &[Snowflake],
) -> Result<Vec<Incident>, DbError> {
    let rows: Vec<IncidentRow> = sqlx::query_as(concat!(
        "select ",
        incident_columns!(),
        " from alert_incidents where guild_id = any($1) and ended_at is null
          order by guild_id, incident_id"
    ))
    .bind(guild_ids)
    .fetch_all(executor)
    .await?;
    rows.into_iter().map(IncidentRow::into_incident).collect()
}

/// The latest incident of each kind in the given guilds (cooldowns are
/// measured from it), loaded at start.
pub async fn latest_incidents<'e>(
    executor: impl PgExecutor<'e>,
    guild_ids: &[Snowflake],
) -> Result<Vec<Incident>, DbError> {
    let rows: Vec<IncidentRow> = sqlx::query_as(concat!(
        "select i.* from unnest($1::bigint[]) as g(guild_id),
              lateral (select unnest(array['join_raid', 'mass_delete', 'activity_drop', 'voice_surge'])) as k(kind),
              lateral (select ",
        incident_columns!(),
        " from alert_incidents a
                       where a.guild_id = g.guild_id and a.kind = k.kind
                       order by a.incident_id desc limit 1) as i"
    ))
    .bind(guild_ids)
    .fetch_all(executor)
    .await?;
    rows.into_iter().map(IncidentRow::into_incident).collect()
}

/// A guild's last incidents, newest first (all kinds, or one).
pub async fn recent_incidents<'e>(
    executor: impl PgExecutor<'e>,
    guild_id: Snowflake,
    kind: Option<AlertKind>,
    limit: i64,
) -> Result<Vec<Incident>, DbError> {
    let rows: Vec<IncidentRow> = match kind {
        Some(kind) => {
            sqlx::query_as(concat!(
                "select ",
                incident_columns!(),
                " from alert_incidents where guild_id = $1 and kind = $2
                  order by incident_id desc limit $3"
            ))
            .bind(guild_id)
            .bind(kind.key())
            .bind(limit)
            .fetch_all(executor)
            .await?
        }
        None => {
            sqlx::query_as(concat!(
                "select ",
                incident_columns!(),
                " from alert_incidents where guild_id = $1
                  order by incident_id desc limit $2"
            ))
            .bind(guild_id)
            .bind(limit)
            .fetch_all(executor)
            .await?
        }
    };
    rows.into_iter().map(IncidentRow::into_incident).collect()
}

/// A detector's persisted window, as the ingester wrote it.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertWindow {
    pub guild_id: Snowflake,
    pub kind: AlertKind,
    pub state: serde_json::Value,
}

/// Saves (replaces) a detector's window. Run in the flush transaction.
pub async fn save_window<'e>(
    executor: impl PgExecutor<'e>,
    window: &AlertWindow,
) -> Result<(), DbError> {
    sqlx::query(
        "insert into alert_windows (guild_id, kind, state) values ($1, $2, $3)
         on conflict (guild_id, kind) do update set state = excluded.state",
    )
    .bind(window.guild_id)
    .bind(window.kind.key())
    .bind(&window.state)
    .execute(executor)
    .await?;
    Ok(())
}

/// The persisted windows of the given guilds.
pub async fn windows_of<'e>(
    executor: impl PgExecutor<'e>,
    guild_ids: &[Snowflake],
) -> Result<Vec<AlertWindow>, DbError> {
    let rows: Vec<(Snowflake, String, serde_json::Value)> =
        sqlx::query_as("select guild_id, kind, state from alert_windows where guild_id = any($1)")
            .bind(guild_ids)
            .fetch_all(executor)
            .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(guild_id, kind, state)| {
            AlertKind::from_key(&kind).map(|kind| AlertWindow {
                guild_id,
                kind,
                state,
            })
        })
        .collect())
}
