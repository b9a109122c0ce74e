-- ServerPulse schema v1.
--
-- Rules every table follows (the README's architecture section explains them):
--   * Discord snowflakes are BIGINT; the u64 <-> i64 conversion lives in one
--     place in shared/src/ids.rs (a bit-for-bit cast, so ids above 2^63 survive).
--   * guild_id leads every primary key and index of guild data, so the data can
--     be distributed by guild (Citus and the like) once one server is outgrown.
--     Ingestion state is per shard, not per guild, and is the one exception.
--   * No column anywhere holds message content.
--   * Rollups are bucketed by UTC hour; commands convert to the guild's
--     timezone when they read. Large rollups are range-partitioned by month so
--     retention drops whole partitions instead of deleting rows under locks.

-- ---------------------------------------------------------------------------
-- Settings: nothing is recorded for a guild until an admin enables tracking.
-- ---------------------------------------------------------------------------
create table guild_settings (
    guild_id                 bigint primary key,
    tracking_enabled         boolean not null default false,
    -- when tracking was last switched on; events before it are not counted
    tracking_since           timestamptz,
    collect_mode             text not null default 'all'
                             check (collect_mode in ('all', 'allowlist')),
    update_channel_id        bigint,
    timezone                 text not null default 'UTC',
    digest_frequency         text not null default 'weekly'
                             check (digest_frequency in ('off', 'daily', 'weekly', 'monthly')),
    count_bots               boolean not null default false,
    alert_join_raid          boolean not null default true,
    -- joins within join_raid_window_minutes that make a raid
    join_raid_threshold      integer not null default 10 check (join_raid_threshold > 0),
    join_raid_window_minutes integer not null default 5 check (join_raid_window_minutes > 0),
    alert_mass_delete        boolean not null default true,
    mass_delete_threshold    integer not null default 50 check (mass_delete_threshold > 0),
    alert_activity_drop      boolean not null default true,
    -- alert when a day's messages fall this many percent below the 4-week same-weekday mean
    activity_drop_percent    integer not null default 50
                             check (activity_drop_percent between 1 and 100),
    retention_days           integer not null default 400 check (retention_days between 1 and 3650),
    created_at               timestamptz not null default now(),
    updated_at               timestamptz not null default now()
);

-- The allow-list used when collect_mode = 'allowlist'. A thread is collected
-- when its parent is.
create table guild_collected_channels (
    guild_id   bigint not null,
    channel_id bigint not null,
    added_at   timestamptz not null default now(),
    primary key (guild_id, channel_id)
);

-- Who changed which setting and when (shown to admins, kept with the guild).
create table settings_audit (
    guild_id   bigint not null,
    audit_id   bigint generated always as identity,
    actor_id   bigint not null,
    changed_at timestamptz not null default now(),
    action     text not null,
    detail     jsonb not null default '{}'::jsonb,
    primary key (guild_id, audit_id)
);

-- ---------------------------------------------------------------------------
-- Catalogue: what exists, kept current by the ingester.
-- ---------------------------------------------------------------------------
create table guilds (
    guild_id     bigint primary key,
    name         text not null default '',
    member_count integer not null default 0,
    available    boolean not null default true,
    updated_at   timestamptz not null default now()
);

create table channels (
    guild_id   bigint not null,
    channel_id bigint not null,
    -- Discord channel type (0 text, 2 voice, 4 category, 5 announcement,
    -- 10/11/12 threads, 13 stage, 15 forum, 16 media)
    kind       smallint not null,
    name       text not null default '',
    parent_id  bigint,
    archived   boolean not null default false,
    -- from the snowflake; thread engagement counts threads created per parent
    created_at timestamptz not null,
    deleted_at timestamptz,
    updated_at timestamptz not null default now(),
    primary key (guild_id, channel_id)
);
-- threads per parent channel (thread engagement)
create index channels_parent_idx on channels (guild_id, parent_id, created_at)
    where parent_id is not null;

create table members (
    guild_id        bigint not null,
    user_id         bigint not null,
    is_bot          boolean not null default false,
    -- the current (or last) membership span
    joined_at       timestamptz,
    left_at         timestamptz,
    -- joins seen; rejoins = join_count - 1
    join_count      integer not null default 1,
    updated_at      timestamptz not null default now(),
    primary key (guild_id, user_id)
);
-- member totals and "who left recently"
create index members_joined_idx on members (guild_id, joined_at);

-- One row per membership span: retention (still a member N days after a join)
-- and new-member activation (first message within 7 days) need each join.
create table membership_spans (
    guild_id         bigint not null,
    user_id          bigint not null,
    joined_at        timestamptz not null,
    left_at          timestamptz,
    is_rejoin        boolean not null default false,
    -- the first message the member sent during this span
    first_message_at timestamptz,
    primary key (guild_id, user_id, joined_at)
);
-- cohorts: joins in a period
create index membership_spans_joined_idx on membership_spans (guild_id, joined_at);

-- ---------------------------------------------------------------------------
-- Rollups, one row per UTC hour and key, partitioned by month.
-- ---------------------------------------------------------------------------

-- Messages per channel per author per hour. Threads are channels of their
-- own; thread_parent_id makes them attributable to the parent without a join.
-- author_kind: 0 member, 1 bot, 2 webhook (member statistics use 0 only).
create table message_rollup (
    guild_id         bigint not null,
    hour             timestamptz not null,
    channel_id       bigint not null,
    author_id        bigint not null,
    thread_parent_id bigint,
    author_kind      smallint not null default 0 check (author_kind in (0, 1, 2)),
    messages         integer not null default 0,
    attachments      integer not null default 0,
    embeds           integer not null default 0,
    stickers         integer not null default 0,
    primary key (guild_id, hour, channel_id, author_id)
) partition by range (hour);
-- member analysis and leaderboards: one member's rows over time
create index message_rollup_author_idx on message_rollup (guild_id, author_id, hour);
-- channel analysis: one channel's rows over time
create index message_rollup_channel_idx on message_rollup (guild_id, channel_id, hour);

-- Reactions per channel, giver, receiver (0 when Discord did not say) and
-- emoji ("👍" or "name:id" for custom) per hour.
create table reaction_rollup (
    guild_id    bigint not null,
    hour        timestamptz not null,
    channel_id  bigint not null,
    user_id     bigint not null,
    receiver_id bigint not null default 0,
    emoji       text not null,
    added       integer not null default 0,
    removed     integer not null default 0,
    primary key (guild_id, hour, channel_id, user_id, receiver_id, emoji)
) partition by range (hour);
create index reaction_rollup_user_idx on reaction_rollup (guild_id, user_id, hour);
create index reaction_rollup_receiver_idx on reaction_rollup (guild_id, receiver_id, hour)
    where receiver_id <> 0;

-- Voice seconds per channel per member per hour, split exactly at hour
-- boundaries (seconds rather than minutes so nothing rounds away).
create table voice_rollup (
    guild_id   bigint not null,
    hour       timestamptz not null,
    channel_id bigint not null,
    user_id    bigint not null,
    seconds    integer not null default 0 check (seconds between 0 and 3600),
    primary key (guild_id, hour, channel_id, user_id)
) partition by range (hour);
create index voice_rollup_user_idx on voice_rollup (guild_id, user_id, hour);

-- Highest number of people in a voice channel at once during the hour; merged
-- with greatest(), never added.
create table voice_peak_rollup (
    guild_id        bigint not null,
    hour            timestamptz not null,
    channel_id      bigint not null,
    peak_concurrent integer not null default 0,
    primary key (guild_id, hour, channel_id)
) partition by range (hour);

-- Deleted messages per channel per hour (counted when the delete arrives).
create table deletion_rollup (
    guild_id     bigint not null,
    hour         timestamptz not null,
    channel_id   bigint not null,
    deleted      integer not null default 0,
    bulk_deleted integer not null default 0,
    primary key (guild_id, hour, channel_id)
) partition by range (hour);

-- Guild-wide totals per hour: the overview, trends and charts read these
-- instead of summing the wide rollups, so they cost O(hours), not O(rows).
create table guild_hourly (
    guild_id         bigint not null,
    hour             timestamptz not null,
    messages         integer not null default 0,
    member_messages  integer not null default 0,
    attachments      integer not null default 0,
    embeds           integer not null default 0,
    stickers         integer not null default 0,
    thread_messages  integer not null default 0,
    reactions_added  integer not null default 0,
    reactions_removed integer not null default 0,
    voice_seconds    bigint not null default 0,
    joins            integer not null default 0,
    rejoins          integer not null default 0,
    leaves           integer not null default 0,
    deletions        integer not null default 0,
    threads_created  integer not null default 0,
    primary key (guild_id, hour)
) partition by range (hour);

-- Creates the monthly partitions of every rollup for the month containing the
-- given instant (idempotent). Called by the ingester before it writes rows of
-- a month it has not seen; identifiers are built with format('%I').
create function serverpulse_ensure_partitions(instant timestamptz) returns void
language plpgsql as $$
declare
    month_start timestamptz := date_trunc('month', instant at time zone 'UTC') at time zone 'UTC';
    month_end   timestamptz := (date_trunc('month', instant at time zone 'UTC') + interval '1 month') at time zone 'UTC';
    suffix      text := to_char(instant at time zone 'UTC', 'YYYYMM');
    parent      text;
begin
    foreach parent in array array['message_rollup', 'reaction_rollup', 'voice_rollup',
                                  'voice_peak_rollup', 'deletion_rollup', 'guild_hourly']
    loop
        if to_regclass(format('%I', parent || '_' || suffix)) is null then
            execute format('create table if not exists %I partition of %I for values from (%L) to (%L)',
                           parent || '_' || suffix, parent, month_start, month_end);
        end if;
    end loop;
end;
$$;

-- ---------------------------------------------------------------------------
-- Ingestion state: exactly-once and honest gaps.
-- ---------------------------------------------------------------------------

-- Per shard, the gateway session and the last sequence whose effects are
-- committed. Written in the same transaction as the rollups it covers.
create table shard_checkpoints (
    shard_total integer not null check (shard_total > 0),
    shard_id    integer not null check (shard_id >= 0 and shard_id < shard_total),
    session_id  text,
    sequence    bigint,
    resume_url  text,
    updated_at  timestamptz not null default now(),
    primary key (shard_total, shard_id)
);

-- Hours in which a shard had a live session (charts tell gaps from zeros).
create table shard_coverage (
    shard_total integer not null,
    shard_id    integer not null,
    hour        timestamptz not null,
    primary key (shard_total, shard_id, hour)
);

-- Intervals in which events of a guild are known to be lost (a resume was
-- refused, so Discord never replayed them).
create table coverage_gaps (
    guild_id   bigint not null,
    gap_start  timestamptz not null,
    gap_end    timestamptz not null,
    reason     text not null,
    primary key (guild_id, gap_start),
    check (gap_end >= gap_start)
);

-- ---------------------------------------------------------------------------
-- Settings changes reach the ingester at once: every write to the settings
-- tables notifies the guild id on channel serverpulse_settings.
-- ---------------------------------------------------------------------------
create function serverpulse_notify_settings() returns trigger
language plpgsql as $$
begin
    perform pg_notify('serverpulse_settings',
                      (case when tg_op = 'DELETE' then old.guild_id else new.guild_id end)::text);
    return null;
end;
$$;

create trigger guild_settings_notify
    after insert or update or delete on guild_settings
    for each row execute function serverpulse_notify_settings();

create trigger guild_collected_channels_notify
    after insert or update or delete on guild_collected_channels
    for each row execute function serverpulse_notify_settings();
