//! Commits a sealed batch: rollups, catalogue, open voice sessions, coverage,
//! gaps, alert incidents with their messages and detector windows, and the
//! shard checkpoint in ONE transaction, so after any crash the database
//! holds exactly the effects of the events up to the checkpoint.

use std::time::Instant;

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use shared::Snowflake;
use shared::alerts::{AlertKind, AlertSettings, Delivery, Incident, IncidentDetail};
use shared::db::outbox::{self, NewOutboxItem, OutboxKind};
use shared::db::{
    DbError, alerts, catalogue, data_version, digest_settings, ingest, privacy, rollups,
};
use shared::rollup::RollupBatch;
use sqlx::{PgConnection, PgPool};

use crate::state::Sealed;
use crate::state::alerts::{AlertWrites, DropEvaluation};

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
    // Before any write (see shared::db::privacy): members who chose
    // `/privacy delete` get no per-member row from this flush.
    let opt_outs = privacy::opt_outs_for_flush(&mut tx, &member_guilds(sealed)).await?;
    let excluded = |guild: Snowflake, user: Snowflake| opt_outs.excludes(guild, user);
    if opt_outs.is_empty() {
        rollups::flush_batch(&mut tx, &p.rollups).await?;
    } else {
        rollups::flush_batch(&mut tx, &p.rollups.without_members(excluded)).await?;
    }
    let c = &p.catalogue;
    let guilds: Vec<_> = c.guilds.values().cloned().collect();
    catalogue::upsert_guilds(&mut *tx, &guilds).await?;
    let removed: Vec<_> = p.guilds_left.iter().map(|(g, at)| (*g, *at)).collect();
    catalogue::mark_removed(&mut *tx, &removed).await?;
    let channels: Vec<_> = c
        .channels
        .values()
        .cloned()
        .map(|mut ch| {
            if ch.owner_id.is_some_and(|o| excluded(ch.guild_id, o)) {
                ch.owner_id = None;
            }
            ch
        })
        .collect();
    catalogue::upsert_channels(&mut *tx, &channels).await?;
    let members: Vec<_> = c
        .members
        .values()
        .filter(|m| !excluded(m.guild_id, m.user_id))
        .cloned()
        .collect();
    catalogue::upsert_members(&mut *tx, &members).await?;
    let spans: Vec<_> = c
        .spans
        .values()
        .filter(|s| !excluded(s.guild_id, s.user_id))
        .cloned()
        .collect();
    catalogue::upsert_spans(&mut *tx, &spans).await?;
    let mut first_messages = c.first_message_rows();
    first_messages.retain(|f| !excluded(f.guild_id, f.user_id));
    catalogue::record_first_messages(&mut *tx, &first_messages).await?;
    let closed: Vec<_> = p.voice_closed.iter().copied().collect();
    ingest::delete_voice_sessions(&mut *tx, &closed).await?;
    let mut voice_open = sealed.voice_open.clone();
    voice_open.retain(|v| !excluded(v.guild_id, v.user_id));
    ingest::upsert_voice_sessions(&mut *tx, &voice_open).await?;
    let hours: Vec<_> = p.coverage.iter().copied().collect();
    ingest::record_coverage(&mut *tx, cp.shard_id as u32, cp.shard_total as u32, &hours).await?;
    for gap in &p.gaps {
        ingest::record_gaps(&mut *tx, &gap.guilds, gap.start, gap.end, gap.reason).await?;
    }
    write_alerts(&mut tx, &p.alerts).await?;
    // Last before the checkpoint: the web's cached answers of these guilds
    // are stale from this commit on.
    data_version::bump(&mut *tx, &touched_guilds(sealed)).await?;
    ingest::save_checkpoint(&mut *tx, cp, sealed.last_event_at).await?;
    tx.commit().await?;
    metrics::histogram!("serverpulse_ingester_flush_seconds")
        .record(started.elapsed().as_secs_f64());
    metrics::histogram!("serverpulse_ingester_flush_events").record(p.frames as f64);
    Ok(Committed::Now)
}

/// Guilds whose reports this batch changes: every guild it writes a
/// rollup, catalogue row, voice session or gap for.
fn touched_guilds(sealed: &Sealed) -> Vec<Snowflake> {
    let p = &sealed.pending;
    // Named field by field, so a new kind of rollup cannot be left out.
    let RollupBatch {
        messages,
        reactions,
        voice_seconds,
        voice_peaks,
        member_voice_peaks,
        deletions,
        guild_hourly,
        guild_voice_peaks,
        // Read by a history import only, which bumps the version itself.
        pre_tracking_reactions: _,
        events: _,
    } = &p.rollups;
    let c = &p.catalogue;
    let mut guilds: Vec<Snowflake> = messages
        .keys()
        .map(|k| k.guild_id)
        .chain(reactions.keys().map(|k| k.guild_id))
        .chain(voice_seconds.keys().map(|k| k.guild_id))
        .chain(voice_peaks.keys().map(|k| k.guild_id))
        .chain(member_voice_peaks.keys().map(|k| k.guild_id))
        .chain(deletions.keys().map(|k| k.guild_id))
        .chain(guild_hourly.keys().map(|k| k.guild_id))
        .chain(guild_voice_peaks.keys().map(|k| k.guild_id))
        .chain(c.guilds.keys().copied())
        .chain(c.channels.keys().map(|k| k.0))
        .chain(c.members.keys().map(|k| k.0))
        .chain(c.spans.keys().map(|k| k.0))
        .chain(c.first_messages.keys().map(|k| k.0))
        .chain(p.guilds_left.keys().copied())
        // Who is in voice now is read from the sessions, which can change
        // (a second person joins, someone moves) without a rollup row.
        .chain(p.voice_closed.iter().map(|(g, _)| *g))
        .chain(sealed.voice_open.iter().map(|v| v.guild_id))
        .chain(p.gaps.iter().flat_map(|g| g.guilds.iter().copied()))
        .collect();
    guilds.sort_unstable();
    guilds.dedup();
    guilds
}

/// Guilds the batch writes per-member rows for.
fn member_guilds(sealed: &Sealed) -> Vec<Snowflake> {
    let p = &sealed.pending;
    let r = &p.rollups;
    let mut guilds: Vec<Snowflake> = r
        .messages
        .keys()
        .map(|k| k.guild_id)
        .chain(r.reactions.keys().map(|k| k.guild_id))
        .chain(r.voice_seconds.keys().map(|k| k.guild_id))
        .chain(p.catalogue.members.keys().map(|k| k.0))
        .chain(p.catalogue.spans.keys().map(|k| k.0))
        .chain(p.catalogue.first_messages.keys().map(|k| k.0))
        // a thread's owner is per-member data
        .chain(
            p.catalogue
                .channels
                .iter()
                .filter(|(_, c)| c.owner_id.is_some())
                .map(|(k, _)| k.0),
        )
        .chain(sealed.voice_open.iter().map(|v| v.guild_id))
        .collect();
    guilds.sort_unstable();
    guilds.dedup();
    guilds
}

/// Where a guild's alerts go: its update channel, or why they are not
/// posted. Read once per guild and flush.
#[derive(Default)]
struct Targets(HashMap<Snowflake, Result<Snowflake, Delivery>>);

impl Targets {
    async fn of(
        &mut self,
        tx: &mut PgConnection,
        guild_id: Snowflake,
    ) -> Result<Result<Snowflake, Delivery>, DbError> {
        if let Some(target) = self.0.get(&guild_id) {
            return Ok(*target);
        }
        let target = match digest_settings::load(&mut *tx, guild_id).await? {
            Some(s) => match (s.update_channel_id, s.delivery_failure) {
                (Some(_), Some(_)) => Err(Delivery::ChannelFailing),
                (Some(channel), None) => Ok(channel),
                (None, _) => Err(Delivery::NoChannel),
            },
            None => Err(Delivery::NoChannel),
        };
        self.0.insert(guild_id, target);
        Ok(target)
    }
}

/// Inserts a new incident and, when the guild's update channel is postable,
/// enqueues its message; returns it as stored.
async fn insert_and_post(
    tx: &mut PgConnection,
    targets: &mut Targets,
    mut incident: Incident,
    settings: &AlertSettings,
    now: DateTime<Utc>,
) -> Result<Incident, DbError> {
    let target = targets.of(tx, incident.guild_id).await?;
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
                payload: shared::alerts::render(&stored, settings),
                files: Vec::new(),
                not_before: now,
            },
        )
        .await?;
    }
    metrics::counter!("serverpulse_ingester_alerts_total", "kind" => stored.kind.key())
        .increment(1);
    Ok(stored)
}

/// Edits a posted incident's message to what it says now.
async fn edit_message(
    tx: &mut PgConnection,
    stored: &Incident,
    settings: &AlertSettings,
    now: DateTime<Utc>,
) -> Result<(), DbError> {
    if stored.delivery == Delivery::Posted {
        outbox::request_edit(
            &mut *tx,
            &stored.outbox_key(),
            &shared::alerts::render(stored, settings),
            now,
        )
        .await?;
    }
    Ok(())
}

/// Incidents, their messages and the detector windows. A new incident is
/// posted when the guild has an update channel without a recorded delivery
/// failure (an outbox item, sent by whichever process delivers); otherwise
/// it is only recorded, with why. Growth and end edit the same message.
/// Then the hours that ended in the batch are evaluated for activity drops.
async fn write_alerts(tx: &mut PgConnection, writes: &AlertWrites) -> Result<(), DbError> {
    let now = Utc::now();
    let mut targets = Targets::default();
    for write in &writes.incidents {
        let incident = write.incident();
        if write.new {
            insert_and_post(tx, &mut targets, incident, &write.settings, now).await?;
        } else {
            match alerts::update_ongoing_incident(&mut *tx, &incident).await? {
                Some(stored) => edit_message(tx, &stored, &write.settings, now).await?,
                None => tracing::warn!(
                    guild_id = %write.guild_id, kind = %write.kind,
                    detected_at = %incident.detected_at, "no ongoing incident to update"
                ),
            }
        }
    }
    alerts::save_windows(&mut *tx, &writes.windows).await?;
    if let Some(drops) = &writes.drops {
        evaluate_drops(tx, &mut targets, drops, now).await?;
    }
    Ok(())
}

/// Activity drops of each guild's hours (its buckets: local hours) that
/// ended in this batch: an hour whose
/// member messages fall `threshold` % below the usual for that hour of the
/// week (when the usual is at least `min_volume`) starts an incident or
/// extends the ongoing one; an hour that is not a drop, evaluated a quiet
/// period after the last drop hour's end, ends it there.
/// Everything it reads (the rollups, the ongoing incident, the cooldown)
/// is in this transaction, so a replay evaluates the same hours the same way.
async fn evaluate_drops(
    tx: &mut PgConnection,
    targets: &mut Targets,
    drops: &DropEvaluation,
    now: DateTime<Utc>,
) -> Result<(), DbError> {
    if drops.guilds.is_empty() {
        return Ok(());
    }
    let ids: Vec<Snowflake> = drops.guilds.iter().map(|g| g.guild_id).collect();
    let mut needed: Vec<DateTime<Utc>> = Vec::new();
    for g in &drops.guilds {
        for hour in &g.hours {
            needed.push(hour.start());
            needed.extend(shared::alerts::baseline_buckets(g.bucketing, *hour, None));
        }
    }
    needed.sort_unstable();
    needed.dedup();
    let figures: HashMap<(Snowflake, DateTime<Utc>), i32> =
        alerts::hour_figures(&mut *tx, &ids, &needed)
            .await?
            .into_iter()
            .map(|f| ((f.guild_id, f.hour), f.member_messages))
            .collect();
    let messages = |guild: Snowflake, hour: DateTime<Utc>| {
        f64::from(figures.get(&(guild, hour)).copied().unwrap_or(0))
    };
    let mut latest: HashMap<Snowflake, Incident> = alerts::latest_incidents(&mut *tx, &ids)
        .await?
        .into_iter()
        .filter(|i| i.kind == AlertKind::ActivityDrop)
        .map(|i| (i.guild_id, i))
        .collect();
    for g in &drops.guilds {
        for hour in &g.hours {
            let end = g.bucketing.end(*hour);
            let baseline: Vec<f64> = shared::alerts::baseline_buckets(g.bucketing, *hour, g.since)
                .into_iter()
                .map(|h| messages(g.guild_id, h))
                .collect();
            let usual = shared::alerts::usual(&baseline);
            let count = messages(g.guild_id, hour.start());
            let active = g.settings.is_active(end);
            let drop =
                active && usual.is_some_and(|u| shared::alerts::is_drop(&g.settings, count, u));
            let ongoing = latest.get_mut(&g.guild_id).filter(|i| i.ended_at.is_none());
            match ongoing {
                Some(incident) => {
                    if drop {
                        incident.last_event_at = end;
                        if let IncidentDetail::ActivityDrop {
                            hour: lowest,
                            messages,
                            usual: u,
                            hours,
                        } = &mut incident.detail
                        {
                            *hours += 1;
                            // The detail describes the incident's lowest
                            // hour (the earliest of equals).
                            if count < f64::from(*messages) {
                                *lowest = hour.start();
                                *messages = count as u32;
                                *u = usual.unwrap_or(*u);
                            }
                            incident.count = *messages as i32;
                        }
                    } else if end >= incident.last_event_at + g.settings.quiet() {
                        // Over once an evaluation past the quiet period is
                        // no drop (with the default hour: the next one).
                        incident.ended_at = Some(incident.last_event_at + g.settings.quiet());
                    } else {
                        continue;
                    }
                    alerts::update_incident(&mut *tx, incident).await?;
                    edit_message(tx, incident, &g.settings, now).await?;
                }
                None => {
                    let cooling = latest
                        .get(&g.guild_id)
                        .and_then(|i| i.ended_at)
                        .is_some_and(|ended| end < ended + g.settings.cooldown());
                    let (true, Some(usual), false) = (drop, usual, cooling) else {
                        continue;
                    };
                    let incident = Incident {
                        guild_id: g.guild_id,
                        incident_id: 0,
                        kind: AlertKind::ActivityDrop,
                        started_at: hour.start(),
                        detected_at: end,
                        last_event_at: end,
                        ended_at: None,
                        count: count as i32,
                        detail: IncidentDetail::ActivityDrop {
                            hour: hour.start(),
                            messages: count as u32,
                            usual,
                            hours: 1,
                        },
                        delivery: Delivery::NoChannel,
                    };
                    let stored = insert_and_post(tx, targets, incident, &g.settings, now).await?;
                    latest.insert(g.guild_id, stored);
                }
            }
        }
    }
    Ok(())
}
