-- Alerts: per-guild settings of the four kinds, the incidents the ingester
-- detects, and the detectors' sliding windows (so a restart resumes them).

-- ---------------------------------------------------------------------------
-- Settings. A guild with no row for a kind has that kind's defaults, which
-- live in one place (shared::alerts::AlertSettings::default_for); rows are
-- written only by the alert commands.
--
-- threshold: join_raid joins, mass_delete messages, activity_drop percent
-- below usual, voice_surge multiple of usual. window_secs: the sliding
-- window of join_raid and mass_delete. min_volume: activity_drop's usual
-- messages per hour below which nothing is evaluated; voice_surge's
-- minimum people. quiet_secs: an incident is over once nothing fed it for
-- this long. cooldown_secs: no new incident of the kind this soon after
-- one ended. snoozed_until: off until then, on again after.
-- ---------------------------------------------------------------------------
create table alert_settings (
    guild_id      bigint not null,
    kind          text not null
                  check (kind in ('join_raid', 'mass_delete', 'activity_drop', 'voice_surge')),
    enabled       boolean not null,
    threshold     double precision not null check (threshold > 0),
    window_secs   integer not null check (window_secs between 1 and 86400),
    min_volume    integer not null check (min_volume >= 0),
    quiet_secs    integer not null check (quiet_secs between 1 and 86400),
    cooldown_secs integer not null check (cooldown_secs between 0 and 86400),
    snoozed_until timestamptz,
    updated_at    timestamptz not null default now(),
    primary key (guild_id, kind)
);

create trigger alert_settings_notify
    after insert or update or delete on alert_settings
    for each row execute function serverpulse_notify_settings();

-- The old guild_settings columns were never read, and their defaults
-- disagreed with the product (a raid was 10 joins in 5 minutes, a mass
-- deletion 50 messages). A value other than the old default was written
-- deliberately (by an operator: no command ever wrote them), so it is kept
-- as a settings row; untouched defaults become the new defaults by having
-- no row.
insert into alert_settings (guild_id, kind, enabled, threshold, window_secs, min_volume,
                            quiet_secs, cooldown_secs)
select guild_id, 'join_raid', alert_join_raid, join_raid_threshold,
       least(join_raid_window_minutes * 60, 86400), 0, 300, 600
from guild_settings
where not alert_join_raid or join_raid_threshold <> 10 or join_raid_window_minutes <> 5;

insert into alert_settings (guild_id, kind, enabled, threshold, window_secs, min_volume,
                            quiet_secs, cooldown_secs)
select guild_id, 'mass_delete', alert_mass_delete, mass_delete_threshold, 30, 0, 300, 600
from guild_settings
where not alert_mass_delete or mass_delete_threshold <> 50;

insert into alert_settings (guild_id, kind, enabled, threshold, window_secs, min_volume,
                            quiet_secs, cooldown_secs)
select guild_id, 'activity_drop', alert_activity_drop, activity_drop_percent, 3600, 20, 3600, 600
from guild_settings
where not alert_activity_drop or activity_drop_percent <> 50;

alter table guild_settings
    drop column alert_join_raid,
    drop column join_raid_threshold,
    drop column join_raid_window_minutes,
    drop column alert_mass_delete,
    drop column mass_delete_threshold,
    drop column alert_activity_drop,
    drop column activity_drop_percent;

-- ---------------------------------------------------------------------------
-- Incidents, one row per incident (not per event), written by the ingester
-- in the flush transaction that holds the events they derive from.
-- ---------------------------------------------------------------------------
create table alert_incidents (
    guild_id      bigint not null,
    incident_id   bigint generated always as identity,
    kind          text not null
                  check (kind in ('join_raid', 'mass_delete', 'activity_drop', 'voice_surge')),
    -- the first event of the window that crossed the threshold
    started_at    timestamptz not null,
    -- the ingester's clock when the threshold was crossed
    detected_at   timestamptz not null,
    -- the last event that fed the incident
    last_event_at timestamptz not null,
    -- null while it goes on
    ended_at      timestamptz,
    -- joins, messages deleted, messages in the hour, people in voice
    count         integer not null,
    -- kind-specific context (see shared::alerts::IncidentDetail)
    detail        jsonb not null default '{}'::jsonb,
    -- posted: the outbox item 'alert:<guild>:<incident>' carries it;
    -- no_channel or channel_failing: recorded and shown in /alerts, not posted
    delivery      text not null check (delivery in ('posted', 'no_channel', 'channel_failing')),
    primary key (guild_id, incident_id)
);
-- the last incidents of a guild, of a kind (cooldown, /alerts)
create index alert_incidents_kind_idx on alert_incidents (guild_id, kind, incident_id desc);
-- ongoing incidents (loaded by the ingester at start)
create index alert_incidents_open_idx on alert_incidents (guild_id) where ended_at is null;

-- ---------------------------------------------------------------------------
-- Detector state (recent joins, recent deletions) as of the last committed
-- flush, so a restart resumes the sliding windows where they were.
-- ---------------------------------------------------------------------------
create table alert_windows (
    guild_id bigint not null,
    kind     text not null
             check (kind in ('join_raid', 'mass_delete', 'activity_drop', 'voice_surge')),
    state    jsonb not null,
    primary key (guild_id, kind)
);

-- Guild-wide peak of people (bots left out) in voice at once during the
-- hour: the baseline of voice surges. Merged with greatest().
alter table guild_hourly add column voice_peak integer not null default 0;
