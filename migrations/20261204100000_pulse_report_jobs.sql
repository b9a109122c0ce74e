-- The weekly Pulse Report written by a guild's provider. A provider call
-- may take a minute, which does not belong inside the transaction that
-- claims a weekly digest: that transaction queues a job here instead (one
-- per guild and week, the primary key), and a worker claims it, writes the
-- report outside any transaction, then stores the report, queues its post
-- in the outbox and marks the job done in one transaction.
create table pulse_report_jobs (
    guild_id       bigint not null,
    -- the reported Monday-Sunday week, as the weekly digest's period
    period_start   timestamptz not null,
    period_end     timestamptz not null,
    -- where the post goes and the timezone of the week's local days, as
    -- they were when the digest was claimed
    channel_id     bigint not null,
    timezone       text not null,
    created_at     timestamptz not null,
    -- 'pending' until a worker stored the report and queued its post
    state          text not null default 'pending' check (state in ('pending', 'done')),
    -- a claimed job is not claimable again before this (a worker that
    -- died mid-generation leaves it to the next claim)
    lease_until    timestamptz not null,
    attempts       integer not null default 0,
    done_at        timestamptz,
    report_id      bigint,
    outbox_id      bigint,
    last_failure   text,
    primary key (guild_id, period_start),
    check (period_end > period_start)
);
-- the worker's claim: pending jobs whose lease ended, oldest first
create index pulse_report_jobs_due_idx on pulse_report_jobs (lease_until)
    where state = 'pending';
-- the retention job's 180-day expiry
create index pulse_report_jobs_created_idx on pulse_report_jobs (created_at);

-- The report cache: a stored report is reused for the same guild, week,
-- provider, model and prompt version instead of asking the provider again.
create index pulse_reports_cache_idx
    on pulse_reports (guild_id, period_start, period_end, provider, model, prompt_version,
                      generated_at desc);
