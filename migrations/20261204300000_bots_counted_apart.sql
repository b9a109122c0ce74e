-- Bots counted one way: guild-wide totals record the bots' share of every
-- figure a bot can take part in, so that each figure can be shown with
-- bots left out (the default) or counted (guild_settings.count_bots).
--
-- The split is kept as extra columns of the same row, not as a bot flag in
-- the key: a flag would add a second row to every hour in which a bot did
-- anything (a music bot in voice: nearly every hour), and every guild-wide
-- query would have to sum two rows per hour. With columns, each query
-- still reads one row per hour through the (guild_id, hour) primary key,
-- and a figure with bots left out is the total less the bots' share.
--
-- messages/member_messages already split this way (bots and webhooks are
-- messages - member_messages). The other figures count everyone, as
-- before; the bot_* columns are the bots' share: reactions by a bot
-- account, a bot's voice seconds, a bot joining or leaving (rejoins: a bot
-- added again).
alter table guild_hourly
    add column bot_reactions_added integer not null default 0,
    add column bot_reactions_removed integer not null default 0,
    add column bot_voice_seconds bigint not null default 0,
    add column bot_joins integer not null default 0,
    add column bot_rejoins integer not null default 0,
    add column bot_leaves integer not null default 0;

-- Per voice channel and hour, the most people in it at once with bots left
-- out (peak_concurrent counts everyone, bots included).
alter table voice_peak_rollup add column member_peak integer not null default 0;

-- ---------------------------------------------------------------------------
-- Backfill of the rows written before this migration, from what the other
-- tables know about bots (members.is_bot, as the catalogue knows it now).
-- Each bot share is capped by the total it is part of.
--
-- Exact where the per-member rows still exist: reactions and voice time
-- (reaction_rollup, voice_rollup by user), joins, rejoins and leaves
-- (membership_spans). Not separable:
--   * hours whose per-member rows the retention job already trimmed keep a
--     bot share of 0 (their figures with bots left out still count bots);
--   * a user the catalogue never saw counts as a member;
--   * voice peaks: who was in the channel at the peak instant was never
--     stored. member_peak is the peak less the bots that spent any time in
--     that channel during the hour (exact when they were there at the peak,
--     as a music bot that stays in the channel is; otherwise too low).
-- ---------------------------------------------------------------------------
update guild_hourly h
set bot_reactions_added = least(b.added, h.reactions_added),
    bot_reactions_removed = least(b.removed, h.reactions_removed)
from (select r.guild_id, r.hour, sum(r.added)::integer as added, sum(r.removed)::integer as removed
      from reaction_rollup r
      join members m on m.guild_id = r.guild_id and m.user_id = r.user_id and m.is_bot
      group by r.guild_id, r.hour) b
where h.guild_id = b.guild_id and h.hour = b.hour;

update guild_hourly h
set bot_voice_seconds = least(b.seconds, h.voice_seconds)
from (select v.guild_id, v.hour, sum(v.seconds)::bigint as seconds
      from voice_rollup v
      join members m on m.guild_id = v.guild_id and m.user_id = v.user_id and m.is_bot
      group by v.guild_id, v.hour) b
where h.guild_id = b.guild_id and h.hour = b.hour;

update guild_hourly h
set bot_joins = least(b.joins, h.joins),
    bot_rejoins = least(b.rejoins, h.rejoins)
from (select s.guild_id, date_trunc('hour', s.joined_at at time zone 'UTC') at time zone 'UTC' as hour,
             count(*)::integer as joins, (count(*) filter (where s.is_rejoin))::integer as rejoins
      from membership_spans s
      join members m on m.guild_id = s.guild_id and m.user_id = s.user_id and m.is_bot
      group by 1, 2) b
where h.guild_id = b.guild_id and h.hour = b.hour;

update guild_hourly h
set bot_leaves = least(b.leaves, h.leaves)
from (select s.guild_id, date_trunc('hour', s.left_at at time zone 'UTC') at time zone 'UTC' as hour, count(*)::integer as leaves
      from membership_spans s
      join members m on m.guild_id = s.guild_id and m.user_id = s.user_id and m.is_bot
      where s.left_at is not null
      group by 1, 2) b
where h.guild_id = b.guild_id and h.hour = b.hour;

update voice_peak_rollup p
set member_peak = greatest(p.peak_concurrent - coalesce((
        select count(*) from voice_rollup v
        join members m on m.guild_id = v.guild_id and m.user_id = v.user_id and m.is_bot
        where v.guild_id = p.guild_id and v.hour = p.hour and v.channel_id = p.channel_id), 0), 0);
