-- The weekly Pulse Report: each generated report, kept so that a burst of
-- /pulse-report answers from the last one (at most one generation per
-- guild per 10 minutes) and so an admin can see what was sent where.
create table pulse_reports (
    guild_id       bigint not null,
    report_id      bigint generated always as identity,
    -- the period the report covers
    period_start   timestamptz not null,
    period_end     timestamptz not null,
    -- who wrote the text: 'builtin' (ServerPulse's own rules) for now
    provider       text not null,
    model          text not null default '',
    prompt_version integer not null default 0,
    generated_at   timestamptz not null,
    -- the figures and the text, as shown (the embed)
    shown          jsonb not null,
    tokens_in      integer not null default 0,
    tokens_out     integer not null default 0,
    primary key (guild_id, report_id),
    check (period_end > period_start)
);
-- the latest report of a guild (the 10-minute limit, the cached answer)
create index pulse_reports_latest_idx on pulse_reports (guild_id, generated_at desc);
-- the retention job's 180-day expiry
create index pulse_reports_generated_idx on pulse_reports (generated_at);
