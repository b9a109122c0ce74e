//! `/privacy delete` through the real ingester: a member erased while the
//! stream is being ingested has no per-member row left afterwards (not
//! before the erase, not after it, in no table), while every guild-wide
//! total stays equal to the ground truth; and a flush after `/privacy
//! resume` records them again.

mod common;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use shared::Snowflake;
use shared::db::catalogue::MemberRow;
use shared::db::ingest::ShardCheckpoint;
use shared::db::privacy;
use shared::rollup::{AuthorKind, MessageFacts, ReactionCounts, ReactionKey, RollupBatch};
use shared::testing::{TestDatabase, columns_holding_user};
use shared::time::Hour;
use sim_scenario::ScenarioSize;
use sim_scenario::truth::{LeaderboardMetric, Scope};

/// The ground truth's rollups with nothing per member about `user`: their
/// messages, reactions given and voice rows gone, reactions they received
/// kept with an unknown receiver; the hourly totals as they are.
fn without(mut expected: RollupBatch, user: Snowflake) -> RollupBatch {
    expected.messages.retain(|k, _| k.author_id != user);
    expected.voice_seconds.retain(|k, _| k.user_id != user);
    let reactions = std::mem::take(&mut expected.reactions);
    for (mut key, counts) in reactions {
        if key.user_id == user {
            continue;
        }
        if key.receiver_id == user {
            key.receiver_id = Snowflake(0);
        }
        let row: &mut ReactionCounts = expected.reactions.entry(key).or_default();
        row.added += counts.added;
        row.removed += counts.removed;
    }
    expected
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_erased_mid_stream_leaves_no_row_and_the_totals_stay_exact() {
    let (scenario, truth) = common::scenario(23, ScenarioSize::TINY);
    let guild = truth.guild_ids[0];
    let all = Scope::new(guild, truth.start_ms, truth.end_ms);
    let member = truth.leaderboard(&all, LeaderboardMetric::Messages)[0].user_id;
    let (g, m) = (Snowflake(guild), Snowflake(member));
    let db = common::database(&truth.guild_ids).await;
    let start = chrono::DateTime::from_timestamp_millis(truth.start_ms).expect("start");
    db.set_tracking_since(g, start).await;
    let sim = common::start_sim(scenario, Some(7.0 * 86_400.0 / 14.0)).await;
    let config = common::config(&db.url, sim.gateway.url(), "0", 1);
    let metrics = shared::telemetry::init_metrics("serverpulse-ingester");
    let ingester = serverpulse_testkit::ingester::spawn(config, metrics).await;

    // Erase once some of the member's rows are committed and the stream
    // still runs.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let mut conn = db.pool.acquire().await.expect("connection");
        let data = privacy::member_data(&mut conn, g, m).await.expect("rows");
        let (cursor, len) = sim.gateway.shard_progress([0, 1]).unwrap_or((0, 1));
        if data.messages_total() > 0 && cursor < len {
            break;
        }
        assert!(
            Instant::now() < deadline && cursor < len,
            "the member's rows were not committed while the stream ran"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    privacy::erase_member(&db.pool, g, m, chrono::Utc::now())
        .await
        .expect("erase");
    let (cursor, len) = sim.gateway.shard_progress([0, 1]).expect("progress");
    assert!(cursor < len, "erased before the stream ended");

    common::wait_until_committed(&sim, &db, 1, Duration::from_secs(120)).await;
    ingester.stop().await;

    assert_eq!(
        columns_holding_user(&db.pool, g, m).await,
        Vec::<String>::new(),
        "nothing per member about the erased member, in any table"
    );
    common::assert_guild_equals(
        &db,
        guild,
        &without(common::expected(&truth, guild), m),
        &BTreeSet::new(),
    )
    .await;
}

fn sealed(pending: serverpulse_ingester::state::Pending) -> serverpulse_ingester::state::Sealed {
    serverpulse_ingester::state::Sealed {
        pending,
        voice_open: Vec::new(),
        checkpoint: ShardCheckpoint {
            shard_id: 0,
            shard_total: 1,
            session_id: None,
            sequence: None,
            resume_url: None,
        },
        last_event_at: None,
    }
}

/// One message by each of `authors` in the hour, and the authors as members.
fn batch(
    guild: Snowflake,
    hour: Hour,
    authors: &[Snowflake],
) -> serverpulse_ingester::state::Sealed {
    let mut pending = serverpulse_ingester::state::Pending::default();
    for author in authors {
        pending.rollups.add_message(MessageFacts {
            guild_id: guild,
            hour,
            channel_id: Snowflake(500),
            thread_parent_id: None,
            author_id: *author,
            author_kind: AuthorKind::Member,
            attachments: 0,
            embeds: 0,
            stickers: 0,
        });
        pending.rollups.add_reaction(
            ReactionKey {
                guild_id: guild,
                hour,
                channel_id: Snowflake(500),
                user_id: *author,
                receiver_id: *authors.iter().find(|a| *a != author).unwrap(),
                emoji: "👍".into(),
            },
            true,
            false,
        );
        pending.catalogue.members.insert(
            (guild, *author),
            MemberRow {
                guild_id: guild,
                user_id: *author,
                is_bot: false,
                joined_at: Some(hour.start()),
                left_at: None,
                join_count: 1,
            },
        );
        pending.frames += 1;
    }
    sealed(pending)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flushes_skip_an_erased_member_until_they_resume() {
    let db = TestDatabase::create().await;
    let (g, erased, other) = (Snowflake(900), Snowflake(901), Snowflake(902));
    let hour = Hour::containing(chrono::Utc::now());
    privacy::erase_member(&db.pool, g, erased, chrono::Utc::now())
        .await
        .expect("erase");

    serverpulse_ingester::flush::commit(&db.pool, &batch(g, hour, &[erased, other]))
        .await
        .expect("flush");
    assert_eq!(
        columns_holding_user(&db.pool, g, erased).await,
        Vec::<String>::new()
    );
    let mut conn = db.pool.acquire().await.expect("connection");
    let stored = shared::db::rollups::load_guild(&mut conn, g)
        .await
        .expect("load");
    let totals: Vec<_> = stored.guild_hourly.values().collect();
    assert_eq!(totals.len(), 1);
    assert_eq!(
        totals[0].member_messages, 2,
        "their message counts in the totals"
    );
    assert_eq!(totals[0].reactions_added, 2);
    assert_eq!(stored.messages.len(), 1, "only the other member's row");
    assert!(
        stored
            .reactions
            .keys()
            .all(|k| k.user_id == other && k.receiver_id == Snowflake(0)),
        "a reaction to the erased member keeps an unknown receiver: {:?}",
        stored.reactions
    );

    let before = privacy::resume(&db.pool, g, erased).await.expect("resume");
    assert!(before.erased_since.is_some());
    serverpulse_ingester::flush::commit(&db.pool, &batch(g, hour, &[erased, other]))
        .await
        .expect("flush");
    let data = privacy::member_data(&mut conn, g, erased)
        .await
        .expect("rows");
    assert_eq!(data.messages_total(), 1, "recorded again after resume");
    assert!(data.member.is_some());
}
