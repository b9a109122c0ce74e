-- Interaction ids whose settings change was applied. Discord's ids are
-- unique, so a replayed request (the same signed body, within the 5-minute
-- signature window) finds its id here and changes nothing. Rows older than
-- an hour are pruned when a new one is added.
create table applied_interactions (
    interaction_id bigint primary key,
    applied_at timestamptz not null default now()
);

create index applied_interactions_applied_at on applied_interactions (applied_at);
