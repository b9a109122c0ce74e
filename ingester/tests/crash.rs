//! The real binary killed with SIGKILL at five random points and restarted,
//! with abnormal drops, RECONNECT and a 4009 close thrown in: the rollups
//! still equal the ground truth, except in hours recorded as coverage gaps
//! (where the simulator refused a resume and events were lost).

mod common;

use std::time::{Duration, Instant};

use discord_sim::{Fault, FaultKind, FaultTrigger};
use rand::Rng as _;
use shared::testing::ChildProcess;
use sim_scenario::ScenarioSize;

const BINARY: &str = env!("CARGO_BIN_EXE_serverpulse-ingester");

fn spawn(env: &[(&'static str, String)]) -> ChildProcess {
    ChildProcess::spawn(BINARY, &["run"], env)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_drops_reconnect_and_4009_still_equal_truth_outside_gaps() {
    let (scenario, truth) = common::scenario(7, ScenarioSize::SMALL);
    let events = scenario.events.len();
    let db = common::database(&truth.guild_ids).await;
    // A week in about 14 seconds, so kills land mid-stream.
    let sim = common::start_sim(scenario, Some(7.0 * 86_400.0 / 14.0)).await;
    let at = |fraction: f64| (events as f64 * fraction) as usize;
    sim.gateway
        .inject(Fault::new(0, FaultKind::Drop, FaultTrigger::AfterEvent(at(0.12))).losing(3));
    sim.gateway.inject(Fault::new(
        0,
        FaultKind::Reconnect,
        FaultTrigger::AfterEvent(at(0.3)),
    ));
    sim.gateway.inject(
        Fault::new(
            0,
            FaultKind::Close { code: 4009 },
            FaultTrigger::AfterEvent(at(0.5)),
        )
        .losing(2),
    );
    sim.gateway.inject(Fault::new(
        0,
        FaultKind::Drop,
        FaultTrigger::AfterEvent(at(0.7)),
    ));

    let mut rng = rand::rng();
    let mut kills: Vec<f64> = (0..5).map(|_| rng.random_range(0.05..0.95)).collect();
    kills.sort_by(f64::total_cmp);
    eprintln!("SIGKILL at progress fractions {kills:?}");

    let mut env = common::env(&db.url, sim.gateway.url(), "0", 1);
    // Runs between kills are short: count a second connected as stable, so
    // the restarts are not taken for a crash loop and backed off.
    env.push(("INGESTER_STABLE_AFTER_SECS", "1".to_owned()));
    let mut process = spawn(&env);
    for fraction in &kills {
        let target = at(*fraction);
        let deadline = Instant::now() + Duration::from_secs(90);
        while sim
            .gateway
            .shard_progress([0, 1])
            .is_none_or(|(cursor, _)| cursor < target)
        {
            assert!(
                Instant::now() < deadline,
                "stream stalled before {fraction}"
            );
            if let Ok(Some(status)) = process.child.try_wait() {
                panic!("ingester exited with {status}: {}", process.stderr());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        process.signal("KILL");
        process.wait_exit(Duration::from_secs(10));
        process = spawn(&env);
    }
    common::wait_until_committed(&sim, &db, 1, Duration::from_secs(120)).await;
    process.signal("TERM");
    let status = process.wait_exit(Duration::from_secs(30));
    assert!(status.success(), "SIGTERM exit: {}", process.stderr());

    // The gateway really was resumed (replays) and really refused once, and
    // SIGTERM left the last session resumable (close 4000, not 1000).
    let sessions = sim.gateway.sessions();
    assert_eq!(
        sessions.last().map(|s| s.status),
        Some(discord_sim::SessionStatus::Disconnected)
    );
    assert!(
        sessions.iter().any(|s| !s.replayed_events().is_empty()),
        "no resume replayed anything"
    );
    assert!(sessions.len() >= 2, "the 4009 close forces a new session");
    let mut gap_hours = 0;
    for guild in &truth.guild_ids {
        let excluded = common::gap_hours(&db, *guild).await;
        assert!(
            !excluded.is_empty(),
            "the refused resume is recorded as a gap"
        );
        gap_hours += excluded.len();
        common::assert_guild_equals_truth(&db, &truth, *guild, &excluded).await;
    }
    // Gaps cover the refused resume (a day at most), not a blanket excuse.
    assert!(
        gap_hours <= 24 * truth.guild_ids.len(),
        "{gap_hours} gap hours"
    );
    sim.shutdown().await;
}
