-- Time to the first reply in threads: who opened each thread (the
-- `owner_id` of THREAD_CREATE and THREAD_UPDATE) and when someone else
-- first wrote in it, a member (first_reply_at) or a bot or webhook
-- (first_bot_reply_at), so the figure can leave bots out or count them as
-- the guild chooses. Each is written once by the ingester (the earliest
-- wins on a replay); /privacy delete clears the owner.
alter table channels
    add column owner_id bigint,
    add column first_reply_at timestamptz,
    add column first_bot_reply_at timestamptz;
