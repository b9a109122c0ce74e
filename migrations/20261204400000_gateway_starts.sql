-- Discord allows an application `max_concurrency` IDENTIFYs per 5 seconds,
-- one per bucket (shard_id % max_concurrency), across all its processes.
-- Each ingester claims a bucket's next start here (under a per-bucket
-- advisory lock held for the claim's transaction), so processes running
-- disjoint shard ranges keep the spacing between them as well.
create table gateway_identify_buckets (
    max_concurrency integer not null check (max_concurrency > 0),
    bucket integer not null check (bucket >= 0 and bucket < max_concurrency),
    last_identify_at timestamptz not null,
    primary key (max_concurrency, bucket)
);

-- Starts of each ingester process (named by its shard range, e.g. '0-3/8'
-- or 'recommended'), so a process restarted in a crash loop by systemd or
-- Fly backs off across restarts instead of spending the day's session
-- starts. unstable_starts counts starts since the last one that ran its
-- shards long enough (or stopped cleanly).
create table ingester_starts (
    shard_range varchar(64) primary key,
    unstable_starts integer not null default 0 check (unstable_starts >= 0),
    last_start_at timestamptz not null
);
