//! The real twilight 0.18 shard against the simulated gateway: identify,
//! events, an abnormal drop, a resume with replay, RECONNECT, close 4009, an
//! invalid session and a fresh identify, with and without zstd.

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::{Received, read_until, scenario, shard, start_sim};
use discord_sim::{Compression, Fault, FaultKind, FaultTrigger, SessionStatus};

const TEST_TIMEOUT: Duration = Duration::from_secs(60);
const EVENTS: usize = 30;
/// Lost in flight before the 4009 close: handed to the first session, never sent.
const LOST: [usize; 2] = [15, 16];

async fn fault_chain(compression: Compression) {
    let guild_id = common::guild_id(1, 0, 1);
    // Event 16 creates a channel: lost with the first session, it must still
    // show in the GUILD_CREATE of the next one.
    let sim = start_sim(scenario(&[guild_id], EVENTS, &[16]), compression).await;
    let gateway = sim.gateway.clone();
    gateway.inject(Fault::new(0, FaultKind::Drop, FaultTrigger::AfterEvent(5)).losing(2));
    gateway.inject(Fault::new(
        0,
        FaultKind::Reconnect,
        FaultTrigger::AfterEvent(10),
    ));
    gateway.inject(
        Fault::new(
            0,
            FaultKind::Close { code: 4009 },
            FaultTrigger::AfterEvent(15),
        )
        .losing(2),
    );
    gateway.inject(Fault::new(
        0,
        FaultKind::InvalidSession,
        FaultTrigger::AfterEvent(22),
    ));

    let mut twilight = shard(gateway.url(), 0, 1);
    let mut received = Received::default();
    tokio::time::timeout(
        TEST_TIMEOUT,
        read_until(&mut twilight, &mut received, |r| {
            r.all_events.contains(&(EVENTS - 1))
        }),
    )
    .await
    .expect("the shard receives the last event in time");

    // The client's view: every event but the lost ones, none twice in a session.
    let expected: Vec<usize> = (0..EVENTS).filter(|i| !LOST.contains(i)).collect();
    assert_eq!(
        received.all_events, expected,
        "events in order, the lost ones missing"
    );
    for (session, events) in &received.sessions {
        let unique: BTreeSet<_> = events.iter().collect();
        assert_eq!(
            unique.len(),
            events.len(),
            "an event arrived twice in session {session}"
        );
    }
    assert_eq!(
        received.session_order.len(),
        3,
        "identify, re-identify after 4009, after op 9"
    );
    assert_eq!(
        received.resumed, 2,
        "resumed after the drop and after RECONNECT"
    );
    assert_eq!(received.reconnects, 1);
    assert_eq!(
        received.invalid_sessions, 2,
        "refused resume after 4009, then the live op 9"
    );
    assert!(
        received.close_codes.contains(&4009),
        "closes seen: {:?}",
        received.close_codes
    );

    // The simulator's record agrees.
    let sessions = gateway.sessions();
    assert_eq!(sessions.len(), 3);
    let ids: Vec<_> = sessions.iter().map(|s| s.session_id.clone()).collect();
    assert_eq!(ids, received.session_order);
    let first = &sessions[0];
    assert_eq!(first.status, SessionStatus::Expired);
    assert_eq!(
        first.connections, 3,
        "identify, resume after the drop, resume after RECONNECT"
    );
    assert_eq!(first.delivered_events(), (0..15).collect::<Vec<_>>());
    assert_eq!(first.replayed_events(), vec![5, 6]);
    assert_eq!(first.undelivered_events(), LOST.to_vec());
    assert_eq!(
        first
            .frame_types()
            .iter()
            .filter(|t| **t == "RESUMED")
            .count(),
        2
    );
    assert_eq!(sessions[1].status, SessionStatus::Expired);
    assert_eq!(sessions[1].delivered_events(), (17..22).collect::<Vec<_>>());
    assert!(sessions[1].undelivered_events().is_empty());
    assert_eq!(sessions[2].status, SessionStatus::Connected);
    assert_eq!(
        sessions[2].delivered_events(),
        (22..EVENTS).collect::<Vec<_>>()
    );
    assert_eq!(received.sessions[&ids[0]], (0..15).collect::<Vec<_>>());
    for session in &sessions {
        for frame in &session.frames {
            let live_sends = frame.sends.iter().filter(|s| !s.replay).count();
            assert!(live_sends <= 1, "frame {} sent live twice", frame.seq);
        }
    }

    // The second session's GUILD_CREATE shows the guild as it is by then,
    // including the channel created by an event it never received.
    let (session, guild) = &received.guild_creates[1];
    assert_eq!(session, &ids[1]);
    let channels: Vec<&str> = guild["channels"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["name"].as_str())
        .collect();
    assert_eq!(channels, ["general", "ev-16"]);
    let (_, first_guild) = &received.guild_creates[0];
    assert_eq!(first_guild["channels"].as_array().unwrap().len(), 1);

    let connections = gateway.connections();
    assert!(
        connections
            .iter()
            .all(|c| c.query.contains("compress=zstd-stream")),
        "twilight's default build asks for zstd"
    );
    let zstd = compression == Compression::AsRequested;
    assert!(
        connections.iter().all(|c| c.zstd == zstd),
        "{connections:?}"
    );
    assert!(gateway.pending_faults().is_empty());
    sim.shutdown().await;
}

#[tokio::test]
async fn twilight_survives_the_fault_chain_over_zstd() {
    fault_chain(Compression::AsRequested).await;
}

#[tokio::test]
async fn twilight_survives_the_fault_chain_over_text_frames() {
    fault_chain(Compression::Never).await;
}

/// A generated scenario streams through twilight on two shards: every
/// dispatch parses with twilight-model and each shard gets all of its events.
#[tokio::test]
async fn generated_scenario_streams_through_twilight() {
    use futures_util::StreamExt as _;
    use twilight_gateway::Message;

    let (scenario, _truth) = sim_scenario::generate(7, sim_scenario::ScenarioSize::SMALL);
    let total = scenario.events.len();
    assert!(total > 0);
    let sim = start_sim(scenario, Compression::AsRequested).await;
    let mut counts = Vec::new();
    for shard_id in 0..2 {
        let expected = sim
            .gateway
            .scenario()
            .events
            .iter()
            .filter(|e| (e.guild_id >> 22) % 2 == shard_id)
            .count();
        let expected_guilds = sim
            .gateway
            .scenario()
            .guilds
            .iter()
            .filter(|g| {
                g["id"]
                    .as_str()
                    .and_then(|id| id.parse::<u64>().ok())
                    .is_some_and(|id| (id >> 22) % 2 == shard_id)
            })
            .count();
        let mut twilight = shard(sim.gateway.url(), shard_id as u32, 2);
        let mut ready = false;
        let mut dispatches = 0;
        let mut guild_creates = 0;
        let read = async {
            while !ready || dispatches < expected || guild_creates < expected_guilds {
                let Some(Ok(Message::Text(text))) = twilight.next().await else {
                    continue;
                };
                let value: serde_json::Value = serde_json::from_str(&text).unwrap();
                if value["op"] != 0 {
                    continue;
                }
                let t = value["t"].as_str().unwrap_or_default().to_owned();
                let parsed = twilight_gateway::parse(text, twilight_gateway::EventTypeFlags::all());
                assert!(
                    matches!(parsed, Ok(Some(_))),
                    "twilight rejects a {t}: {parsed:?}"
                );
                match t.as_str() {
                    "READY" => ready = true,
                    "GUILD_CREATE" => guild_creates += 1,
                    _ => dispatches += 1,
                }
            }
        };
        tokio::time::timeout(TEST_TIMEOUT, read)
            .await
            .expect("the shard's events in time");
        assert_eq!(
            sim.gateway.shard_progress([shard_id as u32, 2]),
            Some((expected, expected))
        );
        counts.push(expected);
    }
    assert_eq!(counts.iter().sum::<usize>(), total);
    sim.shutdown().await;
}

/// A resumable close (4000) replays what was lost in flight; an expired
/// session refuses the resume and loses its in-flight events for good.
#[tokio::test]
async fn resumable_close_and_expired_session() {
    const COUNT: usize = 20;
    let guild_id = common::guild_id(1, 0, 1);
    let sim = start_sim(scenario(&[guild_id], COUNT, &[]), Compression::AsRequested).await;
    let gateway = sim.gateway.clone();
    gateway.inject(
        Fault::new(
            0,
            FaultKind::Close { code: 4000 },
            FaultTrigger::AfterEvent(4),
        )
        .losing(1),
    );
    gateway.inject(Fault::new(0, FaultKind::Expire, FaultTrigger::AfterEvent(10)).losing(2));
    let mut twilight = shard(gateway.url(), 0, 1);
    let mut received = Received::default();
    tokio::time::timeout(
        TEST_TIMEOUT,
        read_until(&mut twilight, &mut received, |r| {
            r.all_events.contains(&(COUNT - 1))
        }),
    )
    .await
    .expect("the last event in time");

    let expected: Vec<usize> = (0..COUNT).filter(|i| ![10, 11].contains(i)).collect();
    assert_eq!(received.all_events, expected);
    assert!(received.close_codes.contains(&4000));
    assert_eq!(received.resumed, 1);
    assert_eq!(
        received.invalid_sessions, 1,
        "the resume after the expiry is refused"
    );
    let sessions = gateway.sessions();
    assert_eq!(sessions.len(), 2);
    assert_eq!(sessions[0].status, SessionStatus::Expired);
    assert_eq!(sessions[0].replayed_events(), [4]);
    assert_eq!(sessions[0].undelivered_events(), [10, 11]);
    assert_eq!(sessions[0].delivered_events(), (0..10).collect::<Vec<_>>());
    assert_eq!(
        sessions[1].delivered_events(),
        (12..COUNT).collect::<Vec<_>>()
    );
    sim.shutdown().await;
}

/// Faults "now" hit the live connection wherever the stream is; with the
/// scenario clock holding the next event an hour away, that is right after
/// the first event.
#[tokio::test]
async fn faults_now_and_expiry_of_a_disconnected_session() {
    let guild_id = common::guild_id(1, 0, 1);
    let mut scenario = scenario(&[guild_id], 2, &[]);
    scenario.events[1].at_ms = scenario.events[0].at_ms + 3_600_000;
    let mut config = discord_sim::SimConfig::new(common::TOKEN);
    config.gateway.pacing = discord_sim::Pacing::ScenarioClock { speedup: 1.0 };
    let sim = discord_sim::start(config, scenario).await.unwrap();
    let gateway = sim.gateway.clone();
    let mut twilight = shard(gateway.url(), 0, 1);
    let mut received = Received::default();
    let read = read_until(&mut twilight, &mut received, |r| r.all_events.contains(&0));
    tokio::time::timeout(TEST_TIMEOUT, read)
        .await
        .expect("the first event in time");

    gateway.inject(Fault::new(0, FaultKind::Drop, FaultTrigger::Now));
    let read = read_until(&mut twilight, &mut received, |r| r.resumed == 1);
    tokio::time::timeout(TEST_TIMEOUT, read)
        .await
        .expect("resumed in time");
    let session = &gateway.sessions()[0];
    assert_eq!(session.connections, 2);
    assert_eq!(session.status, SessionStatus::Connected);
    assert!(
        session.replayed_events().is_empty(),
        "nothing was lost, nothing replayed"
    );
    assert_eq!(received.all_events, [0]);

    // The client goes away without a close frame; the session waits to be
    // resumed until a fault ends it.
    drop(twilight);
    for _ in 0..500 {
        if gateway.sessions()[0].status == SessionStatus::Disconnected {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(gateway.sessions()[0].status, SessionStatus::Disconnected);
    gateway.inject(Fault::new(0, FaultKind::Expire, FaultTrigger::Now));
    assert_eq!(gateway.sessions()[0].status, SessionStatus::Expired);
    assert!(gateway.pending_faults().is_empty());
    sim.shutdown().await;
}
