-- Who may view a channel, so that reports name a channel @everyone cannot
-- view only to members with Manage Server.
--
-- We store Discord's raw facts, not a conclusion: the @everyone role's
-- permissions per guild (that role's id is the guild id) and each channel's
-- @everyone permission overwrite (allow and deny bits, 0 and 0 when it has
-- none). Whether @everyone may view a channel is computed when read, by
-- serverpulse_everyone_can_view and the channel_visibility view, so a
-- change of the @everyone role (GUILD_ROLE_UPDATE) or of a parent channel's
-- overwrite applies at once to every channel and thread it affects, without
-- rewriting their rows. Bits are Discord's permission bits in a BIGINT
-- (every defined bit is below 2^63).
--
-- Rules (Discord's permission resolution for the @everyone role alone):
-- ADMINISTRATOR (1 << 3) in the role's permissions sees everything;
-- otherwise VIEW_CHANNEL (1 << 10) of (base & ~deny) | allow. A thread
-- (10 announcement, 11 public) follows its parent; a private thread (12)
-- is never viewable by @everyone; a thread whose parent the catalogue does
-- not know counts as not viewable. Rows written before this migration, and
-- guilds whose @everyone role has not been seen yet, carry no overwrite and
-- a null base, which count as viewable (Discord's default @everyone role
-- has VIEW_CHANNEL) until the next GUILD_CREATE or CHANNEL_UPDATE.
alter table guilds add column everyone_permissions bigint;
alter table channels
    add column everyone_allow bigint not null default 0,
    add column everyone_deny bigint not null default 0;

create function serverpulse_everyone_can_view(base bigint, allow bigint, deny bigint)
returns boolean language sql immutable as $$
    select (coalesce(base, 1024) & 8) <> 0
        or (((coalesce(base, 1024) & ~deny) | allow) & 1024) <> 0
$$;

create view channel_visibility as
select c.guild_id, c.channel_id,
       case
           when c.kind = 12 then false
           when c.kind in (10, 11) then coalesce(
               serverpulse_everyone_can_view(g.everyone_permissions, p.everyone_allow, p.everyone_deny)
                   and p.kind is not null,
               false)
           else serverpulse_everyone_can_view(g.everyone_permissions, c.everyone_allow, c.everyone_deny)
       end as everyone_can_view
from channels c
left join guilds g on g.guild_id = c.guild_id
left join channels p on p.guild_id = c.guild_id and p.channel_id = c.parent_id and c.kind in (10, 11);
