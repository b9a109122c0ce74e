//! Prints size and generation time of the preset scenarios:
//! `cargo run --release -p sim-scenario --example scenario_stats`.

use std::collections::BTreeMap;
use std::time::Instant;

use sim_scenario::truth::{LeaderboardMetric, Scope};
use sim_scenario::{ScenarioSize, generate};

fn main() {
    for (name, size) in [
        ("TINY", ScenarioSize::TINY),
        ("SMALL", ScenarioSize::SMALL),
        ("MEDIUM", ScenarioSize::MEDIUM),
        ("QUARTER", ScenarioSize::QUARTER),
    ] {
        let t = Instant::now();
        let (scenario, truth) = generate(1, size);
        let took = t.elapsed();
        let mut kinds: BTreeMap<&str, usize> = BTreeMap::new();
        for d in &scenario.events {
            *kinds.entry(d.t.as_str()).or_default() += 1;
        }
        let users: std::collections::BTreeSet<_> = truth
            .members
            .iter()
            .map(|m| (m.guild_id, m.user_id))
            .collect();
        println!(
            "{name}: {} events, {} member ids, {} messages, {} voice intervals in {took:?}",
            scenario.events.len(),
            users.len(),
            truth.messages.len(),
            truth.voice.len()
        );
        println!("  {kinds:?}");
        if std::env::args().any(|a| a == "--truth") {
            let t = Instant::now();
            for &g in &truth.guild_ids {
                let all = Scope::new(g, truth.start_ms, truth.end_ms);
                let board = truth.leaderboard(&all, LeaderboardMetric::Messages);
                let total: u64 = board.iter().map(|r| r.value).sum();
                let top5: u64 = board.iter().take(5).map(|r| r.value).sum();
                let peak = truth
                    .peak_concurrent(&all)
                    .values()
                    .copied()
                    .max()
                    .unwrap_or(0);
                let per_channel = truth.messages_per_parent_channel(&all);
                println!(
                    "  guild {g}: {total} member messages, top 5 members {top5}, {} ranked, channels {:?}, \
                     peak voice {peak}, growth {:?}, activation {:?}, ratio {:?}",
                    board.len(),
                    per_channel.values().collect::<Vec<_>>(),
                    truth.growth(&all),
                    truth.activation(&all),
                    truth.activity_ratio(&all),
                );
            }
            println!("  truth queries took {:?}", t.elapsed());
        }
        if std::env::args().any(|a| a == "--bytes") {
            let bytes = serde_json::to_vec(&scenario).map_or(0, |v| v.len());
            let truth_bytes = serde_json::to_vec(&truth).map_or(0, |v| v.len());
            println!("  scenario JSON {bytes} bytes, truth JSON {truth_bytes} bytes");
        }
    }
}
