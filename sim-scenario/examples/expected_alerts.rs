//! Prints the alerts the ground truth expects under the default settings,
//! and how long generating and checking took:
//! `cargo run -p sim-scenario --example expected_alerts -- MEDIUM 2026`.

use std::time::Instant;

use sim_scenario::truth::AlertParams;
use sim_scenario::{ScenarioSize, generate};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let size = match args.get(1).map(String::as_str) {
        Some("TINY") => ScenarioSize::TINY,
        Some("SMALL") => ScenarioSize::SMALL,
        Some("QUARTER") => ScenarioSize::QUARTER,
        _ => ScenarioSize::MEDIUM,
    };
    let seed = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(2026);
    let t = Instant::now();
    let (_, truth) = generate(seed, size);
    let generated = t.elapsed();
    let t = Instant::now();
    let alerts = truth.expected_alerts(&AlertParams::default());
    println!("generated in {generated:?}, alerts in {:?}", t.elapsed());
    for a in &alerts {
        println!("{a:?}");
    }
    println!(
        "raid: {:?}",
        truth.raid.as_ref().map(|r| (r.start_ms, r.user_ids.len()))
    );
    println!("mass deletion: {:?}", truth.mass_deletion);
    println!("drop: {:?}", truth.activity_drop);
    println!("surge: {:?}", truth.voice_surge);
}
