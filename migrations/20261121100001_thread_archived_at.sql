-- When a thread was archived (the archiving THREAD_UPDATE's arrival), so
-- thread engagement can count archives per parent and period; null while
-- the thread is active (an unarchive clears it).
alter table channels add column archived_at timestamptz;
create index channels_archived_idx on channels (guild_id, parent_id, archived_at)
    where archived_at is not null;
