//! How fast the gateway streams a scenario to a client that reads as fast as
//! it can: `cargo run --release -p discord-sim --example throughput -- medium`.

use std::time::Instant;

use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::json;
use sim_scenario::ScenarioSize;
use tokio_tungstenite::tungstenite::Message;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let size = match std::env::args().nth(1).as_deref() {
        Some("medium") => ScenarioSize::MEDIUM,
        Some("tiny") => ScenarioSize::TINY,
        _ => ScenarioSize::SMALL,
    };
    let started = Instant::now();
    let (scenario, _) = sim_scenario::generate(1, size);
    let events = scenario.events.len();
    println!("generated {events} events in {:?}", started.elapsed());
    let sim = discord_sim::start(discord_sim::SimConfig::new("t"), scenario).await?;
    let (mut ws, _) =
        tokio_tungstenite::connect_async(format!("{}/?v=10&encoding=json", sim.gateway.url()))
            .await?;
    ws.next().await;
    let identify =
        json!({"op": 2, "d": {"token": "t", "intents": u64::from(u32::MAX), "properties": {}}});
    ws.send(Message::Text(identify.to_string().into())).await?;
    let started = Instant::now();
    let mut dispatches = 0;
    let mut bytes = 0;
    while dispatches < events {
        let Some(Ok(Message::Text(text))) = ws.next().await else {
            anyhow::bail!("connection ended")
        };
        bytes += text.len();
        if text.contains("\"op\":0")
            && !text.contains("\"t\":\"READY\"")
            && !text.contains("\"t\":\"GUILD_CREATE\"")
        {
            dispatches += 1;
        }
    }
    let elapsed = started.elapsed();
    println!(
        "{dispatches} dispatches, {} MB in {elapsed:?}: {:.0} events/s",
        bytes / 1_000_000,
        dispatches as f64 / elapsed.as_secs_f64()
    );
    drop(ws);
    sim.shutdown().await;
    Ok(())
}
