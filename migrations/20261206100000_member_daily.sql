-- Per-member daily totals, so rankings and active members over a long
-- period read O(days) rows instead of every hourly row of the period.
--
-- A day is the guild's LOCAL day (guild_settings.timezone, UTC without
-- settings or for a name PostgreSQL does not know), stored as the UTC
-- instants [day_start, day_end) at which it begins and ends: 23, 24 or 25
-- hours (or 23.5/24.5 at Lord Howe) across daylight-saving changes.
--
-- The one rule every writer keeps: a member_daily row holds exactly the sum
-- of the member's hourly rollup rows (message_rollup, reaction_rollup,
-- voice_rollup) whose `hour` lies in [day_start, day_end). Reads split a
-- period into whole days inside it (these rows) and hourly rows at both
-- ends (serverpulse_full_days), so a figure is the same to the unit as the
-- sum of the hourly rows, whatever the timezone or its changes.
--
-- Writers: the flush (rollups::flush_batch, in its transaction, history
-- imports included), /setup's timezone change (the guild's rows are rebuilt
-- from its hourly rows in the settings transaction), the retention trim (a
-- day partly before the horizon is rebuilt from the hourly rows it keeps),
-- /privacy delete and guild erasure (the member's or guild's rows go).
create table member_daily (
    guild_id           bigint not null,
    day_start          timestamptz not null,
    day_end            timestamptz not null,
    user_id            bigint not null,
    -- messages written as a member (author_kind 0)
    messages           integer not null default 0,
    -- messages written as a bot or webhook (author_kind 1, 2)
    bot_messages       integer not null default 0,
    -- reactions added by the member (reaction_rollup.added where user_id)
    reactions_given    integer not null default 0,
    -- reactions added to the member's messages (where receiver_id)
    reactions_received integer not null default 0,
    voice_seconds      bigint not null default 0,
    primary key (guild_id, day_start, user_id),
    check (day_end > day_start)
);
-- /privacy delete and a member's own history
create index member_daily_user_idx on member_daily (guild_id, user_id, day_start);

-- A timezone name PostgreSQL knows, else 'UTC' (Bucketing::named also
-- falls back to UTC for a name it does not know).
create function serverpulse_zone(tz text) returns text
language plpgsql stable as $$
begin
    perform now() at time zone tz;
    return tz;
exception when others then
    return 'UTC';
end;
$$;

-- The first instant of the local day (in zone `tz`, already checked by
-- serverpulse_zone) that holds instant `t`: the earliest instant from
-- which every instant up to `t` has t's local date. At a local midnight
-- that does not exist (a change at 00:00, e.g. America/Havana) that is the
-- change; at a repeated midnight, its first occurrence. date_trunc gives it
-- on ordinary days; otherwise a search by seconds over the 27 hours before.
create function serverpulse_day_start(t timestamptz, tz text) returns timestamptz
language plpgsql stable as $$
declare
    d    date := (t at time zone tz)::date;
    c    timestamptz := date_trunc('day', t, tz);
    lo   bigint;
    hi   bigint;
    mid  bigint;
begin
    if c <= t and (c at time zone tz)::date = d
       and ((c - interval '1 second') at time zone tz)::date < d then
        return c;
    end if;
    hi := floor(extract(epoch from t))::bigint;
    lo := hi - 97200;
    while hi - lo > 1 loop
        mid := lo + (hi - lo) / 2;
        if (to_timestamp(mid) at time zone tz)::date >= d then
            hi := mid;
        else
            lo := mid;
        end if;
    end loop;
    return to_timestamp(hi);
end;
$$;

-- The first instant after the local day holding `t` (local days last at
-- most 25 hours and at least 22, so 26 hours after a day's start lies in
-- the next day).
create function serverpulse_day_end(t timestamptz, tz text) returns timestamptz
language sql stable as $$
    select serverpulse_day_start(serverpulse_day_start(t, tz) + interval '26 hours', tz)
$$;

-- How a read splits [t_from, t_to) of guild g: the whole local days inside
-- it are [days_from, days_to) (read from member_daily); [t_from, days_from)
-- and [days_to, t_to) are read from the hourly rollups. A period shorter
-- than a whole day gets days_from = days_to = t_from (hourly only).
create function serverpulse_full_days(g bigint, t_from timestamptz, t_to timestamptz,
                                      out days_from timestamptz, out days_to timestamptz)
language plpgsql stable as $$
declare
    tz text := serverpulse_zone(coalesce(
        (select timezone from guild_settings where guild_id = g), 'UTC'));
begin
    days_from := serverpulse_day_start(t_from, tz);
    if days_from <> t_from then
        days_from := serverpulse_day_end(t_from, tz);
    end if;
    days_to := serverpulse_day_start(t_to, tz);
    if days_to <= days_from then
        days_from := t_from;
        days_to := t_from;
    end if;
end;
$$;

-- Rebuilds guild g's member_daily rows of the local days that overlap
-- [t_from, t_to) from its hourly rows (the whole days: from the start of
-- t_from's day to the end of the day before t_to's end). Used by the
-- timezone change (the whole history), the retention trim (the day the
-- horizon cuts) and this migration.
create function serverpulse_rebuild_member_daily(g bigint, t_from timestamptz, t_to timestamptz)
returns void
language plpgsql as $$
declare
    tz text := serverpulse_zone(coalesce(
        (select timezone from guild_settings where guild_id = g), 'UTC'));
    lo timestamptz := serverpulse_day_start(t_from, tz);
    hi timestamptz := case when serverpulse_day_start(t_to, tz) = t_to then t_to
                           else serverpulse_day_end(t_to, tz) end;
begin
    delete from member_daily where guild_id = g and day_start >= lo and day_start < hi;
    insert into member_daily (guild_id, day_start, day_end, user_id, messages, bot_messages,
                              reactions_given, reactions_received, voice_seconds)
    with per_hour as (
        select hour, author_id as user_id,
               (sum(messages) filter (where author_kind = 0))::bigint as messages,
               (sum(messages) filter (where author_kind <> 0))::bigint as bot_messages,
               0::bigint as given, 0::bigint as received, 0::bigint as voice
        from message_rollup where guild_id = g and hour >= lo and hour < hi
        group by hour, author_id
        union all
        select hour, user_id, 0, 0, sum(added), 0, 0
        from reaction_rollup where guild_id = g and hour >= lo and hour < hi and user_id <> 0
        group by hour, user_id
        union all
        select hour, receiver_id, 0, 0, 0, sum(added), 0
        from reaction_rollup where guild_id = g and hour >= lo and hour < hi and receiver_id <> 0
        group by hour, receiver_id
        union all
        select hour, user_id, 0, 0, 0, 0, sum(seconds)
        from voice_rollup where guild_id = g and hour >= lo and hour < hi
        group by hour, user_id
    ), days as (
        select hour, serverpulse_day_start(hour, tz) as day_start
        from (select distinct hour from per_hour) h
    )
    select g, d.day_start, serverpulse_day_end(d.day_start, tz), p.user_id,
           coalesce(sum(p.messages), 0), coalesce(sum(p.bot_messages), 0),
           sum(p.given), sum(p.received), sum(p.voice)
    from per_hour p join days d using (hour)
    group by d.day_start, p.user_id;
end;
$$;

-- The rows of what was recorded before this migration.
select serverpulse_rebuild_member_daily(g.guild_id, '1970-01-01T00:00:00Z', '9999-01-01T00:00:00Z')
from (select distinct guild_id from guild_hourly) g;
