-- What the ingester writes per event (issue 14).
--
-- Hourly rollup partitions and member_daily keep a quarter of each page free
-- (fillfactor 75), so that the ingester's upserts (ON CONFLICT DO UPDATE of
-- counters, never of an indexed column) find room on the row's own page and
-- are HOT: the new row version stays on the page and no index gets an entry.
-- At the default fillfactor (100) pages fill up with inserts, and a later
-- update of a row on a full page moves it to another page and writes an
-- entry into each of the table's indexes (two to three per rollup).

-- New partitions: as before, with the fillfactor.
create or replace function serverpulse_ensure_partitions(instant timestamptz) returns void
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
            execute format('create table if not exists %I partition of %I for values from (%L) to (%L)'
                           ' with (fillfactor = 75)',
                           parent || '_' || suffix, parent, month_start, month_end);
        end if;
    end loop;
end;
$$;

-- Existing partitions: pages filled from now on keep the room (pages
-- already full stay so until vacuum frees space on them).
do $$
declare
    part regclass;
begin
    for part in
        select i.inhrelid::regclass
        from pg_inherits i
        where i.inhparent in ('message_rollup'::regclass, 'reaction_rollup'::regclass,
                              'voice_rollup'::regclass, 'voice_peak_rollup'::regclass,
                              'deletion_rollup'::regclass, 'guild_hourly'::regclass)
    loop
        execute format('alter table %s set (fillfactor = 75)', part);
    end loop;
end;
$$;

-- member_daily (not partitioned) is upserted by every flush the same way.
alter table member_daily set (fillfactor = 75);

-- message_rollup's (guild_id, channel_id, hour) index served no query: the
-- one-channel reads (channel analysis, a channel's leaderboard) ask for
-- `channel_id = $c or thread_parent_id = $c` over a period, which the
-- primary key's (guild_id, hour) range serves (no index has
-- thread_parent_id, so the OR cannot use this one), and every other read
-- names the author or the whole guild. Each message row still wrote an
-- entry into it (a twelfth of the ingester's WAL in `serverpulse-bench --quick ingest`).
drop index message_rollup_channel_idx;
