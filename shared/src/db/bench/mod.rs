//! SQL of the benchmarks (`serverpulse-bench`): the baseline tables a
//! typical bot would write, bulk loading of a large guild straight into the
//! rollups, and the summary reads the benchmark checks figures with.
//!
//! Nothing here runs in production. Bulk loads use binary `COPY`, encoded by
//! [`CopyRows`], because the seeder writes millions of rows in seconds.

mod baseline;
mod copy;
mod cost;
mod distinct;
mod overview;
mod rollups;
mod seed;
mod totals;

pub use baseline::{
    EventKind, EventRow, baseline_counts, copy_events, create_baseline_tables, insert_event,
};
pub use copy::CopyRows;
pub use cost::{
    RelationWal, backend_pids, database_wal_by_relation, database_wal_bytes_between, reserve_wal,
    rows_written, wal_bytes_between, wal_lsn,
};
pub use distinct::active_members_by_member_days;
pub use overview::{
    NaiveOverview, expand_message_log, index_message_log, naive_overview, rollup_overview,
};
pub use rollups::{
    MessageRollupRow, ReactionRollupRow, VoiceRollupRow, copy_guild_hourly, copy_message_rollup,
    copy_reaction_rollup, copy_voice_peaks, copy_voice_rollup,
};
pub use seed::{ChannelRow, SpanRow, analyze, enable_tracking, seed_catalogue, seed_members};
pub use totals::{IngestedTotals, alert_incident_counts, ingested_totals, server_version};
