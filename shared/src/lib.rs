//! What the ServerPulse ingester and web endpoint share: domain types,
//! configuration, rollup batches and all database access.

pub mod alerts;
pub mod backfill;
pub mod bucketing;
pub mod config;
pub mod db;
pub mod ids;
pub mod rollup;
pub mod telemetry;
pub mod time;

pub use ids::Snowflake;
pub mod ops;
/// Test support (a fresh database per test, child processes); only with the
/// `testing` feature, so it stays out of the production binaries.
#[cfg(feature = "testing")]
pub mod testing;
