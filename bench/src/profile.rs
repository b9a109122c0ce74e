//! How big each benchmark run is.

use std::time::Duration;

use sim_scenario::ScenarioSize;

/// Shards of the ingest run unless `--shards` says otherwise.
const INGEST_SHARDS: u32 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProfileName {
    /// Seconds: keeps the harness from rotting (the test runs it).
    Smoke,
    /// Under a minute.
    Quick,
    /// Under ten minutes: the figures the README quotes.
    Default,
}

impl ProfileName {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Smoke => "smoke",
            Self::Quick => "quick",
            Self::Default => "default",
        }
    }
}

/// The large guild the command benchmark reads.
#[derive(Debug, Clone, Copy)]
pub struct LargeGuild {
    pub members: u32,
    pub days: u32,
    /// Text, voice and forum channels (categories not counted).
    pub channels: u32,
    pub messages: u64,
}

#[derive(Debug, Clone)]
pub struct Profile {
    pub name: ProfileName,
    /// The ingest workload (sim-scenario with a custom size).
    pub ingest: ScenarioSize,
    /// Baseline (a) stops after this many events or `insert_time_cap`.
    pub insert_max_events: usize,
    pub insert_time_cap: Duration,
    /// Concurrent connections of baseline (a), as a bot's handler tasks.
    pub insert_connections: usize,
    /// Shards the ingester runs (one gateway connection each).
    pub ingest_shards: u32,
    /// Give up on the ingester after this long.
    pub ingest_timeout: Duration,
    pub guild: LargeGuild,
    /// Requests per command at concurrency 1 and at 32.
    pub requests_at_1: usize,
    pub requests_at_32: usize,
    /// No new request of a command case starts after this long (once the
    /// minimum is sent), so the slowest commands keep the run bounded.
    pub case_budget: Duration,
    pub ping_requests: usize,
    pub signature_iterations: usize,
    /// Repetitions of each naive and rollup overview query.
    pub naive_repetitions: usize,
    /// Guilds of the alert benchmark, one raid each.
    pub alert_raids: u32,
    /// Between a raid's joins (the smoke run packs its raids tighter).
    pub alert_join_gap_ms: i64,
}

impl Profile {
    pub fn new(name: ProfileName) -> Self {
        match name {
            ProfileName::Smoke => Self {
                name,
                ingest: ScenarioSize {
                    guilds: 4,
                    members_per_guild: 8,
                    days: 2,
                    messages_per_member_day: 3.0,
                },
                insert_max_events: 500,
                insert_time_cap: Duration::from_secs(2),
                insert_connections: 4,
                ingest_shards: INGEST_SHARDS,
                ingest_timeout: Duration::from_secs(30),
                guild: LargeGuild {
                    members: 300,
                    days: 30,
                    channels: 10,
                    messages: 20_000,
                },
                requests_at_1: 2,
                requests_at_32: 32,
                case_budget: Duration::from_secs(1),
                ping_requests: 200,
                signature_iterations: 200,
                naive_repetitions: 1,
                alert_raids: 2,
                alert_join_gap_ms: 500,
            },
            ProfileName::Quick => Self {
                name,
                ingest: ScenarioSize {
                    guilds: 100,
                    members_per_guild: 20,
                    days: 10,
                    messages_per_member_day: 3.0,
                },
                insert_max_events: 30_000,
                insert_time_cap: Duration::from_secs(5),
                insert_connections: 8,
                ingest_shards: INGEST_SHARDS,
                ingest_timeout: Duration::from_secs(60),
                guild: LargeGuild {
                    members: 5_000,
                    days: 90,
                    channels: 50,
                    messages: 500_000,
                },
                requests_at_1: 10,
                requests_at_32: 32,
                case_budget: Duration::from_secs(2),
                ping_requests: 5_000,
                signature_iterations: 5_000,
                naive_repetitions: 2,
                alert_raids: 10,
                alert_join_gap_ms: 2_000,
            },
            ProfileName::Default => Self {
                name,
                ingest: ScenarioSize {
                    guilds: 1_000,
                    members_per_guild: 20,
                    days: 10,
                    messages_per_member_day: 3.0,
                },
                insert_max_events: 300_000,
                insert_time_cap: Duration::from_secs(30),
                insert_connections: 8,
                ingest_shards: INGEST_SHARDS,
                ingest_timeout: Duration::from_secs(300),
                guild: LargeGuild {
                    members: 50_000,
                    days: 365,
                    channels: 50,
                    messages: 20_000_000,
                },
                requests_at_1: 60,
                requests_at_32: 160,
                case_budget: Duration::from_secs(4),
                ping_requests: 50_000,
                signature_iterations: 20_000,
                naive_repetitions: 3,
                alert_raids: 50,
                alert_join_gap_ms: 2_000,
            },
        }
    }
}
