-- Reactions added or removed live (after tracking began) to messages
-- posted before `tracking_since`, net per message and emoji. History
-- shows a message's reactions as they stand when the page is read, which
-- includes these; live ingestion has counted them already, in their own
-- hour. A history import subtracts them from the message's totals, so
-- each reaction is counted once. Written by the ingester's flush in the
-- transaction of the rollups it counted; no user id is kept (neither the
-- giver nor the message's author). Trimmed with the guild's retention
-- window by message id, erased with the guild.
create table pre_tracking_reactions (
    guild_id   bigint not null,
    message_id bigint not null,
    emoji      text   not null,
    channel_id bigint not null,
    -- adds less removes
    delta      int    not null,
    primary key (guild_id, message_id, emoji)
);
