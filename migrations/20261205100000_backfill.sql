-- Backfill: a guild's past imported from Discord's message history when an
-- admin asks (`/backfill start`, `/setup import_days`). The import covers
-- only time before the guild's tracking_since (live ingestion owns the
-- rest), so no message is counted twice.

-- One import per guild (a later request extends it further back).
create table backfill_jobs (
    guild_id       bigint primary key,
    -- history is imported up to here (exclusive): the guild's
    -- tracking_since when the first import was asked for
    until_at       timestamptz not null,
    -- and back to here (inclusive), the latest request's
    from_at        timestamptz not null,
    state          text not null check (state in ('running', 'done', 'cancelled')),
    requested_by   bigint not null,
    requested_at   timestamptz not null,
    -- a worker holds the job until then (FOR UPDATE SKIP LOCKED claims)
    lease_until    timestamptz,
    -- channels and archived threads listed for this request
    discovered     boolean not null default false,
    -- joins from the member list's joined_at are imported back to here
    -- (null: none yet); written in the transaction that adds the joins
    members_from   timestamptz,
    members_state  text not null default 'pending'
                   check (members_state in ('pending', 'done', 'unavailable')),
    members_error  text,
    joins_imported integer not null default 0,
    started_at     timestamptz,
    finished_at    timestamptz,
    updated_at     timestamptz not null default now()
);
-- the worker's claim: running jobs whose lease is free
create index backfill_jobs_claim_idx on backfill_jobs (lease_until) where state = 'running';

-- Per channel (and thread): how far back its history is imported. The
-- cursor moves in the same transaction as the rollups of the page it read,
-- so a restart resumes after the last committed page and never counts one
-- twice.
create table backfill_channels (
    guild_id      bigint not null,
    channel_id    bigint not null,
    kind          smallint not null,
    -- a thread's parent channel
    parent_id     bigint,
    -- the next page is read before this message id (a snowflake of the
    -- job's until_at at first)
    cursor_id     bigint not null,
    -- everything from here up to the job's until_at is imported
    covered_from  timestamptz not null,
    state         text not null check (state in ('pending', 'done', 'unreadable')),
    -- why it could not be read (Discord's answer)
    error         text,
    messages      bigint not null default 0,
    pages         integer not null default 0,
    first_page_at timestamptz,
    last_page_at  timestamptz,
    primary key (guild_id, channel_id)
);
