-- Scheduled digests and the outbox through which ServerPulse posts on its
-- own (digests, alerts, the weekly report).

-- ---------------------------------------------------------------------------
-- Digest settings as admins are offered them.
--
-- digest_frequency used to allow off/daily/weekly/monthly with default
-- 'weekly', but nothing ever acted on it and no command ever wrote it, so a
-- stored 'weekly' or 'off' is the untouched default, not a choice: both
-- become 'none' (nobody starts receiving digests they never asked for).
-- 'daily' and 'monthly' can only have been written deliberately by an
-- operator: 'daily' stays, 'monthly' becomes 'weekly', the sparsest cadence
-- offered now.
-- ---------------------------------------------------------------------------
alter table guild_settings drop constraint guild_settings_digest_frequency_check;
update guild_settings set digest_frequency = case digest_frequency
    when 'daily' then 'daily'
    when 'monthly' then 'weekly'
    else 'none'
end;
alter table guild_settings
    alter column digest_frequency set default 'none',
    add constraint guild_settings_digest_frequency_check
        check (digest_frequency in ('none', 'hourly', 'daily', 'weekly')),
    -- guild-local hour of the daily and weekly post
    add column digest_hour smallint not null default 9 check (digest_hour between 0 and 23),
    -- ISO weekday of the weekly post, 1 = Monday .. 7 = Sunday
    add column digest_weekday smallint not null default 1 check (digest_weekday between 1 and 7),
    -- when the digest settings last changed: periods scheduled before it are
    -- never posted (switching digests on does not post yesterday's late)
    add column digest_since timestamptz,
    -- The last permanent failure to post in the update channel (403 Missing
    -- Access / Missing Permissions, 404 Unknown Channel). It applies while
    -- update_channel_id is still delivery_failure_channel_id: choosing
    -- another channel ends it without anyone clearing these columns.
    add column delivery_failure_channel_id bigint,
    add column delivery_failure_code integer,
    add column delivery_failure_message text,
    add column delivery_failed_at timestamptz;

update guild_settings set digest_since = now() where digest_frequency <> 'none';

-- The scheduler reads the guilds that want digests.
create index guild_settings_digest_idx on guild_settings (guild_id)
    where digest_frequency <> 'none' and tracking_enabled;

-- ---------------------------------------------------------------------------
-- Outbox: every message ServerPulse posts on its own, delivered by whichever
-- process runs the outbox worker. An item is created in the same
-- transaction as what it reports (a claimed digest, an incident), so it is
-- neither lost nor doubled; delivery sends `nonce` with enforce_nonce, so a
-- crash between Discord's answer and our commit posts nothing twice.
-- ---------------------------------------------------------------------------
create table outbox (
    outbox_id          bigint generated always as identity primary key,
    kind               text not null check (kind in ('digest', 'alert', 'report')),
    -- what the item is, e.g. 'digest:<guild>:daily:<period start>'; one item
    -- per identity, so enqueueing twice is a no-op
    identity_key       text not null unique,
    guild_id           bigint not null,
    channel_id         bigint not null,
    -- the create/edit message JSON (without `attachments`, added at send)
    payload            jsonb not null,
    -- PNG files sent as files[n], in order
    file_names         text[] not null default '{}',
    file_bytes         bytea[] not null default '{}',
    check (cardinality(file_names) = cardinality(file_bytes)),
    -- Discord's dedup key (at most 25 characters), derived from identity_key
    nonce              text not null check (length(nonce) between 1 and 25),
    -- pending: to send (a create, or an edit once discord_message_id is set);
    -- delivered; failed: permanently, not retried
    state              text not null default 'pending'
                       check (state in ('pending', 'delivered', 'failed')),
    -- bumped by each requested edit; a delivery completes only the revision
    -- it sent, so an edit requested meanwhile is still sent
    revision           integer not null default 0,
    attempts           integer not null default 0,
    -- when a pending item may be claimed next (a claim pushes it forward by
    -- a lease, so a crashed sender's item is picked up again)
    next_attempt_at    timestamptz not null default now(),
    discord_message_id bigint,
    last_error         text,
    created_at         timestamptz not null default now(),
    delivered_at       timestamptz
);
-- the worker's claim: due pending items, oldest first
create index outbox_due_idx on outbox (next_attempt_at) where state = 'pending';
-- a guild's items (failing a dead channel's pending items, listings)
create index outbox_guild_idx on outbox (guild_id, channel_id, state);

-- ---------------------------------------------------------------------------
-- One row per digest period, inserted by the transaction that claims it
-- (with its outbox item), so replicas and reruns racing claim it once.
-- ---------------------------------------------------------------------------
create table digest_runs (
    guild_id     bigint not null,
    frequency    text not null check (frequency in ('hourly', 'daily', 'weekly')),
    period_start timestamptz not null,
    period_end   timestamptz not null,
    -- when the period was due (local hour of the guild's schedule)
    scheduled_at timestamptz not null,
    claimed_at   timestamptz not null,
    -- queued / queued_late: an outbox item carries it; the skipped_* kinds
    -- record why nothing was posted
    outcome      text not null check (outcome in ('queued', 'queued_late', 'skipped_too_late',
                                                  'skipped_empty', 'skipped_no_channel',
                                                  'skipped_channel_failing')),
    outbox_id    bigint references outbox (outbox_id),
    primary key (guild_id, frequency, period_start),
    check (period_end > period_start)
);
