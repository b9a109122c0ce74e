//! Frames whose times are absurd (year 9999, 1970, negative, i64::MAX) in
//! every field the fold reads a time from: the ingester keeps running,
//! counts each such frame as malformed, folds it at its arrival (or skips
//! it, for a message), and the rollups of everything around them stay exact.

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::json;
use serverpulse_testkit::seed::hour;
use shared::Snowflake;
use shared::rollup::{ChannelHourKey, GuildHourKey, ReactionKey};
use sim_scenario::{Dispatch, ScenarioSize};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn absurd_times_are_counted_and_the_rollups_around_them_stay_exact() {
    let size = ScenarioSize {
        guilds: 2,
        members_per_guild: 30,
        days: 2,
        messages_per_member_day: 4.0,
    };
    let (mut scenario, truth) = common::scenario(16, size);
    let guild = truth.guild_ids[0];
    let channel = truth
        .messages
        .iter()
        .find(|m| m.guild_id == guild && m.thread_parent_id.is_none())
        .expect("a message in a channel")
        .channel_id;
    // Mid-stream, right after the frame that set the shard's clock.
    let index = scenario.events.len() / 2;
    let clock_ms = scenario.events[..index]
        .iter()
        .map(|e| e.at_ms)
        .max()
        .unwrap();
    let year_9999_ms = 253_370_764_800_000;
    let (g, c) = (guild.to_string(), channel.to_string());
    let far_id = u64::MAX.to_string();
    let id_in_2100 = Snowflake::at("2100-01-01T00:00:00Z".parse().unwrap())
        .0
        .to_string();
    let mut injected = Vec::new();
    // Times inside payloads, arriving at the shard's clock.
    for (n, joined) in [
        json!("9999-12-31T23:59:59Z"),
        json!("1970-01-01T00:00:00Z"),
        json!(-1),
        json!(i64::MAX),
    ]
    .into_iter()
    .enumerate()
    {
        let user = (9_000_001 + n).to_string();
        injected.push((
            clock_ms,
            "GUILD_MEMBER_ADD",
            json!({"guild_id": g, "user": {"id": user}, "joined_at": joined}),
        ));
    }
    for id in [&far_id, &id_in_2100] {
        injected.push((
            clock_ms,
            "MESSAGE_CREATE",
            json!({"id": id, "channel_id": c, "guild_id": g, "author": {"id": "9000001"}}),
        ));
    }
    let thread = |archived: bool| {
        json!({"id": far_id, "guild_id": g, "type": 11, "parent_id": c, "name": "t",
               "newly_created": !archived,
               "thread_metadata": {"archived": archived,
                                   "archive_timestamp": "9999-12-31T00:00:00Z",
                                   "create_timestamp": "1970-01-01T00:00:00Z"}})
    };
    injected.push((clock_ms, "THREAD_CREATE", thread(false)));
    injected.push((clock_ms, "THREAD_UPDATE", thread(true)));
    // The simulator's own time, absurd, on events without a time of their own.
    let bad_sim_times = [i64::MAX, i64::MIN, -1, 0, year_9999_ms];
    let timeless = [
        (
            "MESSAGE_DELETE",
            json!({"id": "1", "channel_id": c, "guild_id": g}),
        ),
        (
            "MESSAGE_REACTION_ADD",
            json!({"user_id": "9000001", "channel_id": c, "message_id": "1", "guild_id": g,
                   "emoji": {"id": null, "name": "👍"}}),
        ),
        (
            "TYPING_START",
            json!({"channel_id": c, "guild_id": g, "user_id": "9000001"}),
        ),
        ("GUILD_UPDATE", json!({"id": g})),
        (
            "VOICE_STATE_UPDATE",
            json!({"guild_id": g, "channel_id": null, "user_id": "9000001",
                   "member": {"user": {"id": "9000001"}, "joined_at": "9999-01-01T00:00:00Z"}}),
        ),
    ];
    for (at_ms, (t, d)) in bad_sim_times.into_iter().zip(timeless) {
        injected.push((at_ms, t, d));
    }
    let malformed_expected = injected.len();
    for (n, (at_ms, t, d)) in injected.into_iter().enumerate() {
        scenario.events.insert(
            index + n,
            Dispatch {
                at_ms,
                guild_id: guild,
                t: t.to_owned(),
                d,
            },
        );
    }

    let db = common::database(&truth.guild_ids).await;
    let sim = common::start_sim(scenario, None).await;
    let config = common::config(&db.url, sim.gateway.url(), "0", 1);
    let metrics = shared::telemetry::init_metrics("serverpulse-ingester");
    let ingester = serverpulse_testkit::ingester::spawn(config, metrics.clone()).await;
    common::wait_until_committed(&sim, &db, 1, Duration::from_secs(180)).await;
    assert!(!ingester.is_finished(), "the ingester kept running");
    let malformed = metrics
        .render()
        .lines()
        .find(|l| l.starts_with("serverpulse_ingester_malformed_total"))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse::<f64>().ok());
    ingester.stop().await;
    // Every frame but the voice update (its member's join time is not read).
    assert_eq!(malformed, Some((malformed_expected - 1) as f64));

    // Four joins and the new thread count at the arrival; the delete and
    // the reaction whose arrival was absurd count at the shard's clock;
    // the messages dated outside the window are skipped.
    let g = Snowflake(guild);
    let h = hour(clock_ms);
    let mut expected = common::expected(&truth, guild);
    let hourly = expected
        .guild_hourly
        .entry(GuildHourKey {
            guild_id: g,
            hour: h,
        })
        .or_default();
    hourly.joins += 4;
    hourly.threads_created += 1;
    hourly.deletions += 1;
    hourly.reactions_added += 1;
    let key = ChannelHourKey {
        guild_id: g,
        hour: h,
        channel_id: Snowflake(channel),
    };
    expected.deletions.entry(key).or_default().deleted += 1;
    let reaction = ReactionKey {
        guild_id: g,
        hour: h,
        channel_id: Snowflake(channel),
        user_id: Snowflake(9_000_001),
        receiver_id: Snowflake(0),
        emoji: "👍".to_owned(),
    };
    expected.reactions.entry(reaction).or_default().added += 1;
    common::assert_guild_equals(&db, guild, &expected, &BTreeSet::new()).await;
    common::assert_guild_equals_truth(&db, &truth, truth.guild_ids[1], &BTreeSet::new()).await;
    assert!(common::gap_hours(&db, guild).await.is_empty());

    // The catalogue took the arrival for the absurd join times and the
    // thread's id; nothing stored lies outside the window.
    let members = shared::db::catalogue::members_of(&db.pool, &[g])
        .await
        .expect("members");
    for n in 0..4 {
        let m = members
            .iter()
            .find(|m| m.user_id == Snowflake(9_000_001 + n))
            .expect("the member is present");
        assert_eq!(m.joined_at.map(|t| t.timestamp_millis()), Some(clock_ms));
    }
    let channels = shared::db::catalogue::channels_of(&db.pool, &[g])
        .await
        .expect("channels");
    let thread = channels
        .iter()
        .find(|c| c.channel_id == Snowflake(u64::MAX))
        .expect("the thread");
    assert_eq!(thread.created_at.timestamp_millis(), clock_ms);
    assert!(thread.archived);
    sim.shutdown().await;
}
