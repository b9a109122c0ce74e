-- Per-channel daily rows, so channel figures (usage, participation,
-- threads, emoji, a member's channels) and message concentration over a
-- long period read O(days) rows instead of every hourly row of the period.
--
-- Each table is one hourly rollup summed by the guild's LOCAL day, with the
-- same keys less the hour (reaction_daily also less the receiver): a day
-- and its edges as in member_daily (serverpulse_day_start). The rule every
-- writer keeps, as for member_daily: a daily row holds exactly the sum of
-- the hourly rows with its key whose `hour` lies in its day, and
-- `last_hour` the latest of those hours with a non-zero count (the
-- channel's "last active" hour). Reads take the whole days of a period
-- from here and its ends from the hourly rows (serverpulse_full_days), so
-- every figure, distinct counts of members included, equals the hourly
-- one: a member is in a day's rows of a channel exactly when they are in
-- one of its hours.
--
-- Per (channel, member, day) rather than per (channel, day): the distinct
-- authors and active members of a channel over a period, and the bots left
-- out by the catalogue's bot flag at read time (as the hourly reads do),
-- need the member. A member active in a channel in several hours of a day
-- has one row instead of several.
--
-- Writers: the same as member_daily (the flush, history imports included;
-- /setup's timezone change; the retention trim; /privacy delete and guild
-- erasure), all through serverpulse_rebuild_daily below or the flush.

-- message_rollup by local day. author_kind is in the key so a figure that
-- leaves bots and webhooks out reads exactly the hourly rows it would;
-- thread_parent_id, as in message_rollup, belongs to the channel.
create table message_daily (
    guild_id         bigint not null,
    day_start        timestamptz not null,
    channel_id       bigint not null,
    author_id        bigint not null,
    author_kind      smallint not null check (author_kind in (0, 1, 2)),
    thread_parent_id bigint,
    messages         integer not null default 0,
    attachments      integer not null default 0,
    embeds           integer not null default 0,
    stickers         integer not null default 0,
    -- the latest hour of the day with messages > 0
    last_hour        timestamptz,
    primary key (guild_id, day_start, channel_id, author_id, author_kind)
);
-- a member's channels, /privacy delete
create index message_daily_author_idx on message_daily (guild_id, author_id, day_start);

-- reaction_rollup by local day, receivers summed (nothing per channel
-- reads them).
create table reaction_daily (
    guild_id   bigint not null,
    day_start  timestamptz not null,
    channel_id bigint not null,
    user_id    bigint not null,
    emoji      text not null,
    added      integer not null default 0,
    removed    integer not null default 0,
    -- the latest hour of the day with added > 0 or removed > 0
    last_hour  timestamptz,
    primary key (guild_id, day_start, channel_id, user_id, emoji)
);
-- /privacy delete
create index reaction_daily_user_idx on reaction_daily (guild_id, user_id, day_start);

-- voice_rollup by local day.
create table voice_daily (
    guild_id   bigint not null,
    day_start  timestamptz not null,
    channel_id bigint not null,
    user_id    bigint not null,
    seconds    bigint not null default 0,
    -- the latest hour of the day with seconds > 0
    last_hour  timestamptz,
    primary key (guild_id, day_start, channel_id, user_id)
);
-- /privacy delete
create index voice_daily_user_idx on voice_daily (guild_id, user_id, day_start);

-- Rebuilds guild g's channel daily rows of the local days that overlap
-- [t_from, t_to) from its hourly rows, like
-- serverpulse_rebuild_member_daily (the same whole days). Rows go in key
-- order, so a rebuilt table lies on disk by day as the flush's does and a
-- period's days are few pages.
create function serverpulse_rebuild_channel_daily(g bigint, t_from timestamptz, t_to timestamptz)
returns void
language plpgsql as $$
declare
    tz text := serverpulse_zone(coalesce(
        (select timezone from guild_settings where guild_id = g), 'UTC'));
    lo timestamptz := serverpulse_day_start(t_from, tz);
    hi timestamptz := case when serverpulse_day_start(t_to, tz) = t_to then t_to
                           else serverpulse_day_end(t_to, tz) end;
begin
    delete from message_daily where guild_id = g and day_start >= lo and day_start < hi;
    delete from reaction_daily where guild_id = g and day_start >= lo and day_start < hi;
    delete from voice_daily where guild_id = g and day_start >= lo and day_start < hi;

    insert into message_daily (guild_id, day_start, channel_id, author_id, author_kind,
                               thread_parent_id, messages, attachments, embeds, stickers, last_hour)
    with days as (
        select hour, serverpulse_day_start(hour, tz) as day_start
        from (select distinct hour from message_rollup
              where guild_id = g and hour >= lo and hour < hi) h
    )
    select g, d.day_start, m.channel_id, m.author_id, m.author_kind, max(m.thread_parent_id),
           sum(m.messages), sum(m.attachments), sum(m.embeds), sum(m.stickers),
           max(m.hour) filter (where m.messages > 0)
    from message_rollup m join days d using (hour)
    where m.guild_id = g and m.hour >= lo and m.hour < hi
    group by d.day_start, m.channel_id, m.author_id, m.author_kind
    order by d.day_start, m.channel_id, m.author_id, m.author_kind;

    insert into reaction_daily (guild_id, day_start, channel_id, user_id, emoji, added, removed,
                                last_hour)
    with days as (
        select hour, serverpulse_day_start(hour, tz) as day_start
        from (select distinct hour from reaction_rollup
              where guild_id = g and hour >= lo and hour < hi) h
    )
    select g, d.day_start, r.channel_id, r.user_id, r.emoji, sum(r.added), sum(r.removed),
           max(r.hour) filter (where r.added > 0 or r.removed > 0)
    from reaction_rollup r join days d using (hour)
    where r.guild_id = g and r.hour >= lo and r.hour < hi
    group by d.day_start, r.channel_id, r.user_id, r.emoji
    order by d.day_start, r.channel_id, r.user_id, r.emoji;

    insert into voice_daily (guild_id, day_start, channel_id, user_id, seconds, last_hour)
    with days as (
        select hour, serverpulse_day_start(hour, tz) as day_start
        from (select distinct hour from voice_rollup
              where guild_id = g and hour >= lo and hour < hi) h
    )
    select g, d.day_start, v.channel_id, v.user_id, sum(v.seconds),
           max(v.hour) filter (where v.seconds > 0)
    from voice_rollup v join days d using (hour)
    where v.guild_id = g and v.hour >= lo and v.hour < hi
    group by d.day_start, v.channel_id, v.user_id
    order by d.day_start, v.channel_id, v.user_id;
end;
$$;

-- Every daily table of guild g over the local days overlapping
-- [t_from, t_to): what the timezone change, the retention trim and
-- migrations rebuild.
create function serverpulse_rebuild_daily(g bigint, t_from timestamptz, t_to timestamptz)
returns void
language sql as $$
    select serverpulse_rebuild_member_daily(g, t_from, t_to);
    select serverpulse_rebuild_channel_daily(g, t_from, t_to);
$$;

-- The rows of what was recorded before this migration.
select serverpulse_rebuild_channel_daily(g.guild_id, '1970-01-01T00:00:00Z', '9999-01-01T00:00:00Z')
from (select distinct guild_id from guild_hourly) g;
