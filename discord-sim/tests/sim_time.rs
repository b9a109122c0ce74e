//! Every dispatch carries `sim_time_ms`, the scenario time a client living
//! through the scenario would have seen it at.

mod common;

use std::time::Duration;

use common::{START_MS, scenario, shard, start_sim};
use discord_sim::{Compression, Fault, FaultKind, FaultTrigger};
use futures_util::StreamExt as _;
use serde_json::Value;
use twilight_gateway::Message;

#[tokio::test]
async fn dispatches_carry_scenario_time_and_ready_the_shard_clock() {
    let guild = common::guild_id(1, 0, 1);
    let scenario = scenario(&[guild], 6, &[]);
    let times: Vec<i64> = scenario.events.iter().map(|e| e.at_ms).collect();
    let sim = start_sim(scenario, Compression::Never).await;
    // The session ends after 3 dispatches; the next READY is timed then.
    sim.gateway.inject(Fault::new(
        0,
        FaultKind::Expire,
        FaultTrigger::AfterEvent(3),
    ));
    let mut twilight = shard(sim.gateway.url(), 0, 1);
    let mut frames: Vec<(String, i64, Option<usize>)> = Vec::new();
    tokio::time::timeout(Duration::from_secs(30), async {
        while frames.iter().filter(|f| f.2.is_some()).count() < times.len() {
            let Some(Ok(Message::Text(text))) = twilight.next().await else {
                continue;
            };
            let value: Value = serde_json::from_str(&text).expect("JSON");
            if value["op"] != 0 {
                continue;
            }
            let t = value["t"].as_str().expect("t").to_owned();
            let at = value["sim_time_ms"]
                .as_i64()
                .expect("sim_time_ms on every dispatch");
            frames.push((t, at, common::event_index(&value["d"])));
        }
    })
    .await
    .expect("all events arrive");
    for (t, at, index) in &frames {
        if let Some(index) = index {
            assert_eq!(*at, times[*index], "{t} #{index} carries its scenario time");
        }
    }
    let readies: Vec<i64> = frames
        .iter()
        .filter(|f| f.0 == "READY")
        .map(|f| f.1)
        .collect();
    assert_eq!(readies.len(), 2, "{frames:?}");
    assert_eq!(
        readies[0], START_MS,
        "before any dispatch: the scenario start"
    );
    assert_eq!(readies[1], times[2], "after three: the third one's time");
    sim.shutdown().await;
}
