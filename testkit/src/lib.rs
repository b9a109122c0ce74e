//! The test kit of the web and ingester tests (a dev-dependency only; it
//! enables `serverpulse-shared/testing` and is never part of a production
//! binary).
//!
//! - [`sim`]: the local Discord with the settings tests use.
//! - [`web`]: the web app's router on port 0 with a fresh
//!   [`TestDatabase`](shared::testing::TestDatabase), the simulator and a
//!   signing interactions client ([`web::WebApp::start`]).
//! - [`ingester`]: the real ingester in-process ([`ingester::spawn`]) and
//!   waiting until everything the simulator sent is committed.
//! - [`providers`]: a fake AI provider server (three wire formats, faults).
//! - [`secrets`]: the API and master keys of the tests, made distinctive
//!   and recorded, the logs of the processes that handle them captured at
//!   TRACE, and the check that no key (nor its base64 or hex form) is in
//!   them.
//! - [`seed`]: a guild's data written from a scenario's ground truth
//!   through the product's own writes (`flush_batch`, the catalogue upserts,
//!   the settings functions), never SQL of the tests' own.

pub mod ingester;
pub mod providers;
pub mod secrets;
pub mod seed;
pub mod sim;
pub mod web;
