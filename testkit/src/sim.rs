//! The local Discord as tests run it.

use std::time::Duration;

use discord_sim::{SimConfig, SimHandle};
use sim_scenario::Scenario;

/// The simulator's configuration for tests: the bot `token`, and a
/// heartbeat interval short enough that a test sees heartbeats.
pub fn config(token: &str) -> SimConfig {
    let mut config = SimConfig::new(token);
    config.gateway.heartbeat_interval = Duration::from_secs(5);
    config
}

/// Starts the simulator serving `scenario`; panics when it cannot.
pub async fn start(config: SimConfig, scenario: Scenario) -> SimHandle {
    discord_sim::start(config, scenario)
        .await
        .expect("start the simulator")
}
