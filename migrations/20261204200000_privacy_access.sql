-- Members' rights (/privacy), who may run reports (/access), and the access
-- log (/audit): issue #13.

-- ---------------------------------------------------------------------------
-- /privacy hide: the member is never named or ranked in leaderboards, top
-- lists, someone else's member analysis, digests, Pulse Report inputs or
-- exports; their activity still counts in totals. Erased by /privacy delete
-- (the row carries the user id) and by /privacy resume.
-- ---------------------------------------------------------------------------
create table member_privacy (
    guild_id    bigint not null,
    user_id     bigint not null,
    hidden_since timestamptz not null,
    primary key (guild_id, user_id)
);

-- ---------------------------------------------------------------------------
-- /privacy delete: the member's per-member rows are erased and the ingester
-- records nothing per member about them from then on. Only a keyed hash of
-- the user id is kept (HMAC-SHA256 under privacy_key.secret), never the id.
-- ---------------------------------------------------------------------------
create table member_opt_outs (
    guild_id  bigint not null,
    user_hash bytea not null check (length(user_hash) = 32),
    since     timestamptz not null,
    primary key (guild_id, user_hash)
);

-- The key of those hashes: generated once by the first process that needs
-- it (insert .. on conflict do nothing, then read), the same for every
-- process afterwards. Losing it would make every opt-out unrecognisable,
-- so it is never rotated by the code.
create table privacy_key (
    singleton  boolean primary key default true check (singleton),
    secret     bytea not null check (length(secret) = 32),
    created_at timestamptz not null default now()
);

-- The ingester needs no notification: every flush reads the opt-outs of
-- its guilds inside its own transaction, under an advisory lock that the
-- erasing transaction holds exclusively (shared::db::privacy).

-- ---------------------------------------------------------------------------
-- /access: roles that may run reports at all, roles that may analyse other
-- members (empty: everyone), and whether report answers are only shown to
-- the member who asked. No row: everyone, public (as before).
-- ---------------------------------------------------------------------------
create table guild_access (
    guild_id          bigint primary key,
    report_role_ids   bigint[] not null default '{}',
    analyse_role_ids  bigint[] not null default '{}',
    private_answers   boolean not null default false,
    updated_at        timestamptz not null default now()
);

-- ---------------------------------------------------------------------------
-- The access log: who ran member analysis on whom, who exported what.
-- Shown by /audit newest first (the primary key, descending); entries
-- older than the guild's retention window are deleted by the retention job
-- (the `at` index); /privacy delete removes entries by or about the member
-- (the actor and target indexes).
-- ---------------------------------------------------------------------------
create table access_log (
    guild_id  bigint not null,
    entry_id  bigint generated always as identity,
    at        timestamptz not null,
    actor_id  bigint not null,
    action    text not null check (action in ('member_analysis', 'member_export', 'report_export')),
    target_id bigint,
    detail    jsonb not null default '{}'::jsonb,
    primary key (guild_id, entry_id)
);
create index access_log_at_idx on access_log (guild_id, at);
create index access_log_actor_idx on access_log (guild_id, actor_id);
create index access_log_target_idx on access_log (guild_id, target_id) where target_id is not null;

-- /privacy delete replaces the member as the actor of settings changes by
-- 0 (the change stays audited, without who made it).
create index settings_audit_actor_idx on settings_audit (guild_id, actor_id);
-- Their mention in stored digests and Pulse Reports is scrubbed through
-- outbox_guild_idx and pulse_reports_latest_idx (both lead with guild_id).
