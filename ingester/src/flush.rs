//! Commits a sealed batch: rollups, catalogue, open voice sessions, coverage,
//! gaps and the shard checkpoint in ONE transaction, so after any crash the
//! database holds exactly the effects of the events up to the checkpoint.

use std::time::Instant;

use shared::db::{DbError, catalogue, ingest, rollups};
use sqlx::PgPool;

use crate::state::Sealed;

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
    let removed: Vec<_> = p.guilds_left.iter().map(|(g, at)| (*g, *at)).collect();
    catalogue::mark_removed(&mut *tx, &removed).await?;
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
    ingest::save_checkpoint(&mut *tx, cp, sealed.last_event_at).await?;
    tx.commit().await?;
    metrics::histogram!("serverpulse_ingester_flush_seconds")
        .record(started.elapsed().as_secs_f64());
    metrics::histogram!("serverpulse_ingester_flush_events").record(p.frames as f64);
    Ok(Committed::Now)
}
