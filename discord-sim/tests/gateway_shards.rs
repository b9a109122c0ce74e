//! Several real twilight shards of one scenario receive exactly their guilds.

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::{Received, read_until, scenario, shard, start_sim};
use discord_sim::Compression;

#[tokio::test]
async fn each_shard_gets_exactly_its_guilds() {
    const SHARDS: u32 = 3;
    const PER_GUILD: usize = 4;
    // Two guilds per shard, listed out of shard order.
    let guild_ids: Vec<u64> = [(1, 2), (1, 0), (2, 1), (2, 2), (1, 1), (2, 0)]
        .iter()
        .map(|&(index, shard)| common::guild_id(index, shard, u64::from(SHARDS)))
        .collect();
    let sim = start_sim(
        scenario(&guild_ids, PER_GUILD, &[]),
        Compression::AsRequested,
    )
    .await;
    let url = sim.gateway.url().to_owned();

    let mut tasks = Vec::new();
    for shard_id in 0..SHARDS {
        let url = url.clone();
        tasks.push(tokio::spawn(async move {
            let mut twilight = shard(&url, shard_id, SHARDS);
            let mut received = Received::default();
            let wanted = 2 * PER_GUILD;
            tokio::time::timeout(
                Duration::from_secs(30),
                read_until(&mut twilight, &mut received, |r| {
                    r.all_events.len() >= wanted
                }),
            )
            .await
            .expect("each shard gets its events in time");
            received
        }));
    }
    for (shard_id, task) in tasks.into_iter().enumerate() {
        let received = task.await.expect("shard task");
        let expected: BTreeSet<u64> = guild_ids
            .iter()
            .copied()
            .filter(|id| (id >> 22) % u64::from(SHARDS) == shard_id as u64)
            .collect();
        assert_eq!(expected.len(), 2);
        let ready: BTreeSet<u64> = received.ready_guilds.iter().copied().collect();
        assert_eq!(ready, expected, "READY guild stubs of shard {shard_id}");
        let created: BTreeSet<u64> = received
            .guild_creates
            .iter()
            .map(|(_, g)| g["id"].as_str().unwrap().parse().unwrap())
            .collect();
        assert_eq!(created, expected, "GUILD_CREATEs of shard {shard_id}");
        assert_eq!(received.guild_creates.len(), 2);
        let event_guilds: BTreeSet<u64> = received.event_guilds.iter().copied().collect();
        assert_eq!(event_guilds, expected, "event guilds of shard {shard_id}");
        // The scenario indices of this shard's events, computed from the
        // round-robin layout, in order.
        let expected_events: Vec<usize> = (0..PER_GUILD * guild_ids.len())
            .filter(|n| expected.contains(&guild_ids[n % guild_ids.len()]))
            .collect();
        assert_eq!(received.all_events, expected_events);
        assert_eq!(
            sim.gateway.shard_progress([shard_id as u32, SHARDS]),
            Some((2 * PER_GUILD, 2 * PER_GUILD))
        );
    }
    let shards: BTreeSet<[u32; 2]> = sim.gateway.sessions().iter().map(|s| s.shard).collect();
    assert_eq!(shards, (0..SHARDS).map(|id| [id, SHARDS]).collect());
    sim.shutdown().await;
}
