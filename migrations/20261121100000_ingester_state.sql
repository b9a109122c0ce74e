-- Ingester state that must commit atomically with the rollups it explains.

-- The scenario/wall-clock time of the last event whose effects are committed
-- with the checkpoint: after a crash the ingester continues its clock from
-- here, and a refused resume records a gap starting here.
alter table shard_checkpoints add column last_event_at timestamptz;

-- Voice sessions open at the last committed flush. A crash between flushes
-- loses nothing: on restart the ingester loads these, resumes the gateway
-- session from the checkpoint committed with them, and the replayed voice
-- updates close or move them. `credited_until` is how far the session's
-- seconds are already in voice_rollup (the open part is credited at each
-- flush so live charts stay current).
create table voice_sessions (
    guild_id       bigint not null,
    user_id        bigint not null,
    channel_id     bigint not null,
    started_at     timestamptz not null,
    credited_until timestamptz not null,
    primary key (guild_id, user_id)
);

-- The ingester loads the settings of every tracked guild at start.
create index guild_settings_tracking_idx on guild_settings (guild_id) where tracking_enabled;
