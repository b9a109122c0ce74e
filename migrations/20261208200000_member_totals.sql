-- Per-member totals of everything recorded, so figures over all of a
-- guild's time (the "all time" leaderboards, a member's rank, message
-- concentration) read one row per member instead of every member-day of
-- the year (2.8 million member_daily rows on the benchmark's guild).
--
-- The one rule every writer keeps: a member_totals row is the sum of the
-- member's member_daily rows (so of their hourly rows). A read of a period
-- [from, to) that starts before the guild's first hour and ends within a
-- day of its last takes the totals less the hourly rows outside the period
-- (none before it, at most a day after): the same figure to the unit as
-- the sum of the hourly rows inside it.
--
-- Writers: the flush (rollups::flush_batch, with its member_daily upsert),
-- serverpulse_rebuild_daily (the retention trim's last step, a timezone
-- change: recomputed from member_daily), /privacy delete and guild erasure.
create table member_totals (
    guild_id           bigint not null,
    user_id            bigint not null,
    messages           bigint not null default 0,
    bot_messages       bigint not null default 0,
    reactions_given    bigint not null default 0,
    reactions_received bigint not null default 0,
    voice_seconds      bigint not null default 0,
    primary key (guild_id, user_id)
) with (fillfactor = 75);

-- Recomputes guild g's totals from its member_daily rows.
create function serverpulse_rebuild_member_totals(g bigint) returns void
language sql as $$
    delete from member_totals where guild_id = g;
    insert into member_totals (guild_id, user_id, messages, bot_messages, reactions_given,
                               reactions_received, voice_seconds)
    select g, user_id, sum(messages), sum(bot_messages), sum(reactions_given),
           sum(reactions_received), sum(voice_seconds)
    from member_daily where guild_id = g
    group by user_id
    order by user_id;
$$;

create or replace function serverpulse_rebuild_daily(g bigint, t_from timestamptz, t_to timestamptz)
returns void
language sql as $$
    select serverpulse_rebuild_member_daily(g, t_from, t_to);
    select serverpulse_rebuild_channel_daily(g, t_from, t_to);
    select serverpulse_rebuild_active_daily(g, t_from, t_to);
    select serverpulse_rebuild_member_totals(g);
$$;

-- Whether a read of guild g over [t_from, t_to) takes member_totals: the
-- guild's member-days outside the period span at most a day on each side
-- (looked up at both ends of member_daily's primary key), so the rows
-- subtracted are few.
create function serverpulse_covers_all(g bigint, t_from timestamptz, t_to timestamptz)
returns boolean
language sql stable as $$
    select coalesce(
        (select min(day_start) from member_daily where guild_id = g) >= t_from - interval '1 day'
        and (select max(day_start) from member_daily where guild_id = g) < t_to + interval '1 day',
        false)
$$;

-- The totals of what was recorded before this migration.
select serverpulse_rebuild_member_totals(g.guild_id)
from (select distinct guild_id from member_daily) g;
