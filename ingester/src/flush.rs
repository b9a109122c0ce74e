//! Commits a sealed batch: rollups, catalogue, open voice sessions, coverage,
//! gaps, alert incidents with their messages and detector windows, and the
//! shard checkpoint in ONE transaction, so after any crash the database
//! holds exactly the effects of the events up to the checkpoint.

use std::time::Instant;

use std::collections::HashMap;

use chrono::Utc;
use shared::Snowflake;
use shared::alerts::Delivery;
use shared::db::outbox::{self, NewOutboxItem, OutboxKind};
use shared::db::{DbError, alerts, catalogue, digest_settings, ingest, rollups};
use sqlx::{PgConnection, PgPool};

use crate::state::Sealed;
use crate::state::alerts::AlertWrites;

/// Whether the batch was written now or had been already.
#[derive(Debug, PartialEq, Eq)]
pub enum Committed {
    Now,
    /// An earlier attempt committed although its answer was lost (the
    /// connection died during COMMIT): the checkpoint already says so.
    Before,
}

pub async fn commit(pool: &PgPool, sealed: &Sealed) -> Result<Committed, DbError> {
    let started = Instant::now();
    let mut tx = pool.begin().await?;
    let cp = &sealed.checkpoint;
    if cp.session_id.is_some()
        && let Some((stored, stored_at)) =
            ingest::load_checkpoint_at(&mut *tx, cp.shard_id as u32, cp.shard_total as u32).await?
        && stored.session_id == cp.session_id
        && stored.sequence == cp.sequence
        // Compared in ms: PostgreSQL keeps microseconds, the clock may have nanos.
        && stored_at.map(|t| t.timestamp_millis())
            == sealed.last_event_at.map(|t| t.timestamp_millis())
    {
        return Ok(Committed::Before);
    }
    let p = &sealed.pending;
    rollups::flush_batch(&mut tx, &p.rollups).await?;
    let c = &p.catalogue;
    let guilds: Vec<_> = c.guilds.values().cloned().collect();
    catalogue::upsert_guilds(&mut *tx, &guilds).await?;
    let channels: Vec<_> = c.channels.values().cloned().collect();
    catalogue::upsert_channels(&mut *tx, &channels).await?;
    let members: Vec<_> = c.members.values().cloned().collect();
    catalogue::upsert_members(&mut *tx, &members).await?;
    let spans: Vec<_> = c.spans.values().cloned().collect();
    catalogue::upsert_spans(&mut *tx, &spans).await?;
    catalogue::record_first_messages(&mut *tx, &c.first_message_rows()).await?;
    let closed: Vec<_> = p.voice_closed.iter().copied().collect();
    ingest::delete_voice_sessions(&mut *tx, &closed).await?;
    ingest::upsert_voice_sessions(&mut *tx, &sealed.voice_open).await?;
    let hours: Vec<_> = p.coverage.iter().copied().collect();
    ingest::record_coverage(&mut *tx, cp.shard_id as u32, cp.shard_total as u32, &hours).await?;
    for gap in &p.gaps {
        ingest::record_gaps(&mut *tx, &gap.guilds, gap.start, gap.end, gap.reason).await?;
    }
    write_alerts(&mut tx, &p.alerts).await?;
    ingest::save_checkpoint(&mut *tx, cp, sealed.last_event_at).await?;
    tx.commit().await?;
    metrics::histogram!("serverpulse_ingester_flush_seconds")
        .record(started.elapsed().as_secs_f64());
    metrics::histogram!("serverpulse_ingester_flush_events").record(p.frames as f64);
    Ok(Committed::Now)
}

/// Incidents, their messages and the detector windows. A new incident is
/// posted when the guild has an update channel without a recorded delivery
/// failure (an outbox item, sent by whichever process delivers); otherwise
/// it is only recorded, with why. Growth and end edit the same message.
async fn write_alerts(tx: &mut PgConnection, writes: &AlertWrites) -> Result<(), DbError> {
    let now = Utc::now();
    // Where each guild's alerts go: None = not posted, with why.
    let mut targets: HashMap<Snowflake, Result<Snowflake, Delivery>> = HashMap::new();
    for write in &writes.incidents {
        let incident = write.incident();
        if write.new {
            let target = match targets.get(&write.guild_id) {
                Some(target) => *target,
                None => {
                    let target = match digest_settings::load(&mut *tx, write.guild_id).await? {
                        Some(s) => match (s.update_channel_id, s.delivery_failure) {
                            (Some(_), Some(_)) => Err(Delivery::ChannelFailing),
                            (Some(channel), None) => Ok(channel),
                            (None, _) => Err(Delivery::NoChannel),
                        },
                        None => Err(Delivery::NoChannel),
                    };
                    targets.insert(write.guild_id, target);
                    target
                }
            };
            let mut incident = incident;
            incident.delivery = match target {
                Ok(_) => Delivery::Posted,
                Err(why) => why,
            };
            let stored = alerts::insert_incident(&mut *tx, &incident).await?;
            tracing::info!(
                guild_id = %stored.guild_id, kind = %stored.kind, incident_id = stored.incident_id,
                count = stored.count, delivery = stored.delivery.key(), "alert incident detected"
            );
            if let Ok(channel_id) = target {
                outbox::enqueue(
                    &mut *tx,
                    &NewOutboxItem {
                        kind: OutboxKind::Alert,
                        identity_key: stored.outbox_key(),
                        guild_id: stored.guild_id,
                        channel_id,
                        payload: shared::alerts::render(&stored, &write.settings),
                        files: Vec::new(),
                        not_before: now,
                    },
                )
                .await?;
            }
            metrics::counter!("serverpulse_ingester_alerts_total", "kind" => stored.kind.key())
                .increment(1);
        } else {
            match alerts::update_ongoing_incident(&mut *tx, &incident).await? {
                Some(stored) if stored.delivery == Delivery::Posted => {
                    outbox::request_edit(
                        &mut *tx,
                        &stored.outbox_key(),
                        &shared::alerts::render(&stored, &write.settings),
                        now,
                    )
                    .await?;
                }
                Some(_) => {}
                None => tracing::warn!(
                    guild_id = %write.guild_id, kind = %write.kind,
                    detected_at = %incident.detected_at, "no ongoing incident to update"
                ),
            }
        }
    }
    for window in &writes.windows {
        alerts::save_window(&mut *tx, window).await?;
    }
    Ok(())
}
