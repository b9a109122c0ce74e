-- Exact distinct active members over any period in O(days): per guild and
-- local day, bitmaps of the members active that day, so "active members in
-- the last 30 days" is an OR of 30 days of bitmaps and a count of its bits
-- instead of a distinct count over every member-day row of the period
-- (279,580 member_daily rows for 30 days of the benchmark's guild).
--
-- Each member of a guild gets a small dense number (member_index.idx,
-- 0, 1, 2, … per guild, never reused); bit idx % 2048 of chunk idx / 2048
-- is that member. Three bitmaps per (guild, local day, chunk), one per way
-- of being active that the one definition of an active member
-- (analytics::active_members) tells apart, because whether bots count is
-- decided when a figure is read:
--   posted     the member_daily row has messages > 0 (written as a member)
--   bot_posted ... bot_messages > 0 (as a bot or webhook)
--   took_part  ... reactions_given > 0 or voice_seconds > 0 (bots among them
--              are left out at read time by the catalogue's bot flag)
--
-- The one rule every writer keeps: a bit is set exactly when the member's
-- member_daily row of that day has that flag. Writers: the flush (after its
-- member_daily upsert, in the same transaction), serverpulse_rebuild_daily
-- (timezone change, retention's cut day, this migration), the retention
-- trim (days before the horizon), /privacy delete (the member's bits
-- cleared, their number forgotten) and guild erasure.
create table member_index (
    guild_id bigint not null,
    user_id  bigint not null,
    idx      integer not null,
    primary key (guild_id, user_id)
);
create unique index member_index_idx_idx on member_index (guild_id, idx);

-- The next free number per guild: taken (row-locked) by whoever numbers
-- new members, so two writers of one guild never hand out one number twice.
create table member_index_next (
    guild_id bigint primary key,
    next     integer not null
);

create table active_daily (
    guild_id   bigint not null,
    day_start  timestamptz not null,
    day_end    timestamptz not null,
    chunk      integer not null,
    posted     bit(2048) not null,
    bot_posted bit(2048) not null,
    took_part  bit(2048) not null,
    primary key (guild_id, day_start, chunk),
    check (day_end > day_start)
) with (fillfactor = 70);

-- The guild's bots (left out of reactions and voice unless bots count).
create index members_bots_idx on members (guild_id, user_id) where is_bot;

-- Numbers the members (guild gs[i], user us[i]) that have none yet; user 0
-- (an imported reaction's unknown giver) is nobody. Guilds' counters are
-- taken in guild order (two writers wait, never deadlock); a member
-- numbered meanwhile by another writer keeps their number (the one taken
-- here is skipped: numbers may have gaps, never repeats).
create function serverpulse_number_members(gs bigint[], us bigint[]) returns void
language sql as $$
    with u as (
        select distinct g, u from unnest(gs, us) x (g, u) where u <> 0
    ), missing as (
        select g, u from u
        where not exists (select 1 from member_index i where i.guild_id = u.g and i.user_id = u.u)
    ), counts as (
        select g, count(*)::integer as n from missing group by g
    ), taken as (
        insert into member_index_next as c (guild_id, next)
        select g, n from counts order by g
        on conflict (guild_id) do update set next = c.next + excluded.next
        returning guild_id, next
    )
    insert into member_index (guild_id, user_id, idx)
    select m.g, m.u, t.next - c.n - 1 + (row_number() over (partition by m.g order by m.u))::integer
    from missing m join counts c using (g) join taken t on t.guild_id = m.g
    on conflict do nothing;
$$;

-- Sets the bits of members (guild gs[i], day [ds[i], es[i]), user us[i])
-- with flags fs[i]: 1 posted, 2 bot_posted, 4 took_part. Numbers new
-- members first. Rows only change where a bit is new (a member already
-- active that day writes nothing).
create function serverpulse_mark_active(gs bigint[], ds timestamptz[], es timestamptz[],
                                        us bigint[], fs integer[]) returns void
language plpgsql as $$
begin
    perform serverpulse_number_members(gs, us);
    insert into active_daily as t (guild_id, day_start, day_end, chunk, posted, bot_posted, took_part)
    select r.g, r.d, min(r.e), i.idx / 2048,
           coalesce(bit_or(set_bit(B'0'::bit(2048), i.idx % 2048, 1)) filter (where r.f & 1 <> 0), B'0'::bit(2048)),
           coalesce(bit_or(set_bit(B'0'::bit(2048), i.idx % 2048, 1)) filter (where r.f & 2 <> 0), B'0'::bit(2048)),
           coalesce(bit_or(set_bit(B'0'::bit(2048), i.idx % 2048, 1)) filter (where r.f & 4 <> 0), B'0'::bit(2048))
    from unnest(gs, ds, es, us, fs) r (g, d, e, u, f)
    join member_index i on i.guild_id = r.g and i.user_id = r.u
    where r.f <> 0
    group by r.g, r.d, i.idx / 2048
    order by r.g, r.d, i.idx / 2048
    on conflict (guild_id, day_start, chunk) do update set
        posted = t.posted | excluded.posted,
        bot_posted = t.bot_posted | excluded.bot_posted,
        took_part = t.took_part | excluded.took_part
    where (t.posted | excluded.posted, t.bot_posted | excluded.bot_posted, t.took_part | excluded.took_part)
          is distinct from (t.posted, t.bot_posted, t.took_part);
end;
$$;

-- The flags of a member_daily row (as serverpulse_mark_active takes them).
create function serverpulse_active_flags(messages integer, bot_messages integer,
                                         reactions_given integer, voice_seconds bigint)
returns integer
language sql immutable as $$
    select (case when messages > 0 then 1 else 0 end)
         | (case when bot_messages > 0 then 2 else 0 end)
         | (case when reactions_given > 0 or voice_seconds > 0 then 4 else 0 end)
$$;

-- Rebuilds guild g's active_daily rows of the local days overlapping
-- [t_from, t_to) from its member_daily rows (rebuilt first by
-- serverpulse_rebuild_daily).
create function serverpulse_rebuild_active_daily(g bigint, t_from timestamptz, t_to timestamptz)
returns void
language plpgsql as $$
declare
    tz text := serverpulse_zone(coalesce(
        (select timezone from guild_settings where guild_id = g), 'UTC'));
    lo timestamptz := serverpulse_day_start(t_from, tz);
    hi timestamptz := case when serverpulse_day_start(t_to, tz) = t_to then t_to
                           else serverpulse_day_end(t_to, tz) end;
begin
    delete from active_daily where guild_id = g and day_start >= lo and day_start < hi;
    perform serverpulse_number_members(array_agg(g), array_agg(u.user_id))
    from (select distinct user_id from member_daily
          where guild_id = g and day_start >= lo and day_start < hi) u;
    insert into active_daily (guild_id, day_start, day_end, chunk, posted, bot_posted, took_part)
    select g, x.day_start, min(x.day_end), x.idx / 2048,
           coalesce(bit_or(set_bit(B'0'::bit(2048), x.idx % 2048, 1)) filter (where x.f & 1 <> 0), B'0'::bit(2048)),
           coalesce(bit_or(set_bit(B'0'::bit(2048), x.idx % 2048, 1)) filter (where x.f & 2 <> 0), B'0'::bit(2048)),
           coalesce(bit_or(set_bit(B'0'::bit(2048), x.idx % 2048, 1)) filter (where x.f & 4 <> 0), B'0'::bit(2048))
    from (select d.day_start, d.day_end, i.idx,
                 serverpulse_active_flags(d.messages, d.bot_messages, d.reactions_given, d.voice_seconds) as f
          from member_daily d
          join member_index i on i.guild_id = g and i.user_id = d.user_id
          where d.guild_id = g and d.day_start >= lo and d.day_start < hi) x
    where x.f <> 0
    group by x.day_start, x.idx / 2048
    order by x.day_start, x.idx / 2048;
end;
$$;

create or replace function serverpulse_rebuild_daily(g bigint, t_from timestamptz, t_to timestamptz)
returns void
language sql as $$
    select serverpulse_rebuild_member_daily(g, t_from, t_to);
    select serverpulse_rebuild_channel_daily(g, t_from, t_to);
    select serverpulse_rebuild_active_daily(g, t_from, t_to);
$$;

-- The bitmaps of what was recorded before this migration.
select serverpulse_rebuild_active_daily(g.guild_id, '1970-01-01T00:00:00Z', '9999-01-01T00:00:00Z')
from (select distinct guild_id from member_daily) g;
