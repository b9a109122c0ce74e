//! The answer cache (issue #14): a burst of one report costs one
//! computation, a flush or a privacy choice in between gives a fresh
//! answer at once, and members without Manage Server never get an admin's
//! answer (or the reverse). Counted with the cache's own counters, which
//! count computations (each one runs the view's queries), never by time.

mod common;

use common::*;
use discord_sim::{InteractionKind, Invoker};
use serverpulse_web::answers::AnswerStats;
use shared::Snowflake;
use shared::rollup::{AuthorKind, MessageFacts, RollupBatch};
use sim_scenario::truth::{GroundTruth, LeaderboardMetric, Scope};

fn leaderboard_7d() -> InteractionKind {
    command(
        "leaderboard",
        vec![string("metric", "messages"), string("timeframe", "7d")],
    )
}

fn stats(app: &App) -> AnswerStats {
    app.state.answers.stats()
}

/// What the cache did since `before`: (hits, misses).
fn since(app: &App, before: AnswerStats) -> (u64, u64) {
    let now = stats(app);
    (now.hits - before.hits, now.misses - before.misses)
}

async fn seeded() -> (App, GroundTruth, u64) {
    let (_, truth) = dst_scenario(10);
    let guild = truth.guild_ids[0];
    let app = start_app(at(truth.end_ms)).await;
    seed(&app, &truth, guild, "UTC").await;
    (app, truth, guild)
}

fn week(truth: &GroundTruth, guild: u64) -> Scope {
    Scope::new(guild, truth.end_ms - 7 * DAY_MS, truth.end_ms)
}

/// The truth's top 10 of the week by messages, less `left_out`, with
/// `extra` messages added to one member.
fn expected_board(
    truth: &GroundTruth,
    guild: u64,
    left_out: Option<u64>,
    extra: Option<(u64, u64)>,
) -> Vec<(u64, i64)> {
    let mut board: Vec<(u64, i64)> = truth
        .leaderboard(&week(truth, guild), LeaderboardMetric::Messages)
        .into_iter()
        .filter(|r| Some(r.user_id) != left_out)
        .map(|r| {
            let added = extra.filter(|(u, _)| *u == r.user_id).map_or(0, |e| e.1);
            (r.user_id, (r.value + added) as i64)
        })
        .collect();
    // Ties are ranked by id, as the leaderboard does.
    board.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    board.truncate(10);
    board
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_one_report_is_computed_once_and_a_flush_renews_it() {
    let (app, truth, guild) = seeded().await;
    let member = Invoker::member(guild, guild + 1);
    let before = stats(&app);

    // Eight identical requests at once: one computation, seven wait for it.
    let kind = leaderboard_7d();
    let answers =
        futures_util::future::join_all((0..8).map(|_| final_message(&app, &kind, &member))).await;
    assert_eq!(since(&app, before), (7, 1), "{:?}", stats(&app));
    let first = ranking_numbers(description(&answers[0]));
    assert_eq!(first, expected_board(&truth, guild, None, None));
    for answer in &answers {
        assert_eq!(description(answer), description(&answers[0]));
    }

    // Later, with nothing flushed: kept.
    let before = stats(&app);
    final_message(&app, &kind, &member).await;
    assert_eq!(since(&app, before), (1, 0));

    // The ingester flushes messages of the third member (enough to lead):
    // the next request is computed again and shows them.
    let (third, third_count) = first[2];
    let added = (first[0].1 - third_count + 5) as u64;
    let mut batch = RollupBatch::default();
    let channel = truth
        .channels_of(guild)
        .into_iter()
        .find(|c| c.name == "general")
        .expect("a general channel")
        .channel_id;
    for _ in 0..added {
        batch.add_message(MessageFacts {
            guild_id: Snowflake(guild),
            hour: shared::time::Hour::containing(at(truth.end_ms - 2 * 3_600_000)),
            channel_id: Snowflake(channel),
            thread_parent_id: None,
            author_id: Snowflake(third),
            author_kind: AuthorKind::Member,
            attachments: 0,
            embeds: 0,
            stickers: 0,
        });
    }
    serverpulse_testkit::ingester::commit_rollups(&app.db.pool, batch).await;
    let before = stats(&app);
    let fresh = final_message(&app, &kind, &member).await;
    assert_eq!(since(&app, before), (0, 1), "a flush in between");
    let board = ranking_numbers(description(&fresh));
    assert_eq!(board[0], (third, third_count + added as i64));
    assert_eq!(
        board,
        expected_board(&truth, guild, None, Some((third, added)))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_who_hides_is_gone_from_the_next_answer() {
    let (app, truth, guild) = seeded().await;
    let admin = admin(guild);
    let kind = leaderboard_7d();
    let shown = final_message(&app, &kind, &admin).await;
    let top = ranking_numbers(description(&shown))[0].0;
    let before = stats(&app);
    final_message(&app, &kind, &admin).await;
    assert_eq!(since(&app, before), (1, 0), "kept");

    let hider = Invoker {
        user_id: top,
        ..Invoker::member(guild, guild + 1)
    };
    let done = final_message(&app, &command("privacy", vec![sub("hide", vec![])]), &hider).await;
    assert!(content(&done).starts_with("Done"), "{}", content(&done));
    let before = stats(&app);
    let after = final_message(&app, &kind, &admin).await;
    assert_eq!(since(&app, before), (0, 1), "computed again at once");
    assert_eq!(
        ranking_numbers(description(&after)),
        expected_board(&truth, guild, Some(top), None)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admins_and_members_never_share_an_answer() {
    let (app, truth, guild) = seeded().await;
    let room = truth
        .private_channels(guild)
        .into_iter()
        .find(|c| c.kind == 0)
        .expect("a private text channel")
        .channel_id;
    let mention = format!("<#{room}>");
    let report = command(
        "serverstats",
        vec![sub(
            "channels",
            vec![string("timeframe", "all"), string("type", "text")],
        )],
    );
    let member = Invoker::member(guild, guild + 1);
    let before = stats(&app);
    let full = final_message(&app, &report, &admin(guild)).await;
    assert!(full.message.to_string().contains(&mention));
    let seen = final_message(&app, &report, &member).await;
    assert_eq!(since(&app, before), (0, 2), "one computation each");
    assert!(!seen.message.to_string().contains(&mention));

    // Each again: each gets its own kept answer.
    let before = stats(&app);
    let seen_again = final_message(&app, &report, &member).await;
    let full_again = final_message(&app, &report, &admin(guild)).await;
    assert_eq!(since(&app, before), (2, 0));
    assert_eq!(seen_again.message["embeds"], seen.message["embeds"]);
    assert!(full_again.message.to_string().contains(&mention));
}
