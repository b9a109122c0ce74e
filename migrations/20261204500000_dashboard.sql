-- The web dashboard (/dashboard): signed links exchanged for sessions.
--
-- The signing key, when DASHBOARD_SECRET is not set: generated once by the
-- first process that needs it and shared by every replica. One row.
create table dashboard_signing_key (
    singleton   boolean primary key default true check (singleton),
    signing_key bytea not null check (length(signing_key) = 32),
    created_at  timestamptz not null default now()
);

-- A guild's link generation: every link and session carries the generation
-- it was made in; /dashboard revoke bumps it, so all of them stop working.
create table dashboard_generations (
    guild_id   bigint primary key,
    generation bigint not null default 0,
    revoked_at timestamptz
);

-- Sessions a link was exchanged for. Only the SHA-256 of the cookie's id is
-- kept, so a database dump opens nothing.
create table dashboard_sessions (
    session_hash bytea primary key check (length(session_hash) = 32),
    guild_id     bigint not null,
    user_id      bigint not null,
    generation   bigint not null,
    -- whether the member may see private channels named (from the link)
    sees_private boolean not null,
    created_at   timestamptz not null,
    expires_at   timestamptz not null
);
-- the expiry sweep
create index dashboard_sessions_expires_idx on dashboard_sessions (expires_at);

-- Link tokens already exchanged (by their SHA-256): a link opens once, so
-- one copied from a browser's history after use opens nothing. Kept until
-- the token's own expiry.
create table dashboard_used_links (
    token_hash bytea primary key check (length(token_hash) = 32),
    expires_at timestamptz not null
);
create index dashboard_used_links_expires_idx on dashboard_used_links (expires_at);
