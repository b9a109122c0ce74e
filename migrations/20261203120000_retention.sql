-- Data retention: per-guild windows for per-member rows, the job's claim
-- per UTC day, and when the bot was removed from a guild.

-- ---------------------------------------------------------------------------
-- retention_days: default 90, admins choose 7..730 with /retention.
--
-- No command ever wrote retention_days, so a stored 400 is the untouched old
-- default, not a choice: it becomes the new default 90. Any other value was
-- written deliberately by an operator and is kept, clamped into 7..730.
-- ---------------------------------------------------------------------------
alter table guild_settings drop constraint guild_settings_retention_days_check;
update guild_settings set retention_days = case
    when retention_days = 400 then 90
    else least(greatest(retention_days, 7), 730)
end;
alter table guild_settings
    alter column retention_days set default 90,
    add constraint guild_settings_retention_days_check check (retention_days between 7 and 730);

-- ---------------------------------------------------------------------------
-- When the bot was removed from the guild (GUILD_DELETE without
-- `unavailable`); cleared when the guild comes back (GUILD_CREATE). The
-- retention job deletes every row of a guild removed longer than the grace
-- period.
-- ---------------------------------------------------------------------------
alter table guilds add column removed_at timestamptz;
create index guilds_removed_idx on guilds (removed_at) where removed_at is not null;

-- ---------------------------------------------------------------------------
-- One row per UTC day the retention job ran, inserted first with
-- `on conflict do nothing`: replicas and reruns racing for the same day
-- run it once. A run that dies half-way leaves the rest to the next day's
-- run (every step only removes what is past its horizon, so a later run
-- catches up).
-- ---------------------------------------------------------------------------
create table retention_runs (
    run_day            date primary key,
    claimed_at         timestamptz not null,
    -- the instant the run's horizons were computed from (`--at`)
    run_at             timestamptz not null,
    finished_at        timestamptz,
    partitions_dropped integer not null default 0,
    rows_trimmed       bigint not null default 0,
    reports_deleted    bigint not null default 0,
    guilds_erased      integer not null default 0
);

-- Per guild, the instant before which its per-member rows are gone: what
-- the commands say was removed. Only moves forward (a longer window set
-- later does not bring removed rows back).
create table guild_retention (
    guild_id           bigint primary key,
    member_rows_before timestamptz not null,
    updated_at         timestamptz not null default now()
);

-- Stored reports and ended alert incidents expire after 180 days: the job
-- finds them by age.
create index digest_runs_claimed_idx on digest_runs (claimed_at);
create index alert_incidents_ended_idx on alert_incidents (ended_at) where ended_at is not null;
create index outbox_settled_idx on outbox (created_at) where state <> 'pending';
-- A digest run may outlive its outbox item by a little; deleting the item
-- clears the reference instead of failing.
create index digest_runs_outbox_idx on digest_runs (outbox_id) where outbox_id is not null;
alter table digest_runs
    drop constraint digest_runs_outbox_id_fkey,
    add constraint digest_runs_outbox_id_fkey
        foreign key (outbox_id) references outbox (outbox_id) on delete set null;
