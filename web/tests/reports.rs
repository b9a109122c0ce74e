//! Every report's figures against the scenario's ground truth, with
//! rollups and catalogue seeded from the ground truth the way the ingester
//! writes them: Europe/Berlin, whose 25 October 2026 has 25 hours.

mod checks;
mod common;

use checks::Fixture;
use common::*;

async fn fixture() -> Fixture {
    let (_, truth) = dst_scenario(10);
    let guild = truth.guild_ids[0];
    let app = start_app(at(truth.end_ms)).await;
    seed(&app, &truth, guild, "Europe/Berlin").await;
    // Seeded after the fact: tracking "began" with the first seeded hour.
    let first = shared::db::analytics::first_hour(&app.db.pool, shared::Snowflake(guild))
        .await
        .unwrap()
        .expect("seeded hours");
    Fixture {
        data_since_ms: Some(first.timestamp_millis()),
        app,
        truth,
        guild,
        dst_day: chrono::NaiveDate::from_ymd_opt(2026, 10, 25).unwrap(),
        content_known: true,
        count_bots: false,
    }
}

/// The same data, with the guild counting bots (set through `/setup`).
async fn fixture_counting_bots() -> Fixture {
    let mut f = fixture().await;
    f.count_bots(true).await;
    f
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overview_and_activity_equal_ground_truth_in_berlin_across_dst() {
    checks::overview_and_activity(&fixture().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_channels_and_trends_equal_ground_truth() {
    checks::members_channels_and_trends(&fixture().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn member_channel_comparative_and_rankings_equal_ground_truth() {
    checks::member_channel_comparative_and_rankings(&fixture().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_without_manage_server_see_no_private_channel() {
    checks::channel_privacy(&fixture().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_count_bots_overview_and_activity_count_bots_as_the_truth_does() {
    checks::overview_and_activity(&fixture_counting_bots().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_count_bots_members_channels_and_trends_count_bots_as_the_truth_does() {
    checks::members_channels_and_trends(&fixture_counting_bots().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_count_bots_member_channel_comparative_and_rankings_count_bots_as_the_truth_does() {
    checks::member_channel_comparative_and_rankings(&fixture_counting_bots().await).await;
}

/// "Active member" has one definition: posted, added a reaction or spent
/// time in voice, bots left out unless counted. A hand-made day where one
/// member only posts, one only reacts, one only sits in voice, one only
/// removes a reaction in the later window, and a bot reacts and sits in
/// voice: the query equals the ground truth and the hand count.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn active_members_posted_reacted_or_sat_in_voice() {
    use shared::db::analytics::{self, Bots};
    use sim_scenario::truth::Scope;

    const S: i64 = 1_792_800_000_000; // 2026-10-24T00:00:00Z
    const H: i64 = 3_600_000;
    const M: i64 = 60_000;
    const G: u64 = 7;
    const A: u64 = 70;
    const V: u64 = 71;
    let (poster, reactor, talker, remover, idle, bot) = (701, 702, 703, 704, 705, 799);
    let mut s = sim_scenario::Script::new(G, S, 1);
    s.channel(A, 0, "general", None)
        .channel(V, 2, "Lounge", None);
    for (user, name) in [
        (poster, "poster"),
        (reactor, "reactor"),
        (talker, "talker"),
        (remover, "remover"),
        (idle, "idle"),
    ] {
        s.member(user, name, false, S - 40 * DAY_MS);
    }
    s.member(bot, "bot", true, S - 40 * DAY_MS);
    let m1 = s.message(S + 30 * M, A, poster, 0, 0, 0);
    s.react(S + H, reactor, m1, "👍")
        .voice(S + 2 * H, talker, Some(V), false, false)
        .voice(S + 2 * H + 10 * M, talker, None, false, false)
        .react(S + 3 * H, bot, m1, "🤖")
        .voice(S + 3 * H, bot, Some(V), false, false)
        .voice(S + 4 * H, bot, None, false, false)
        .react(S + 5 * H, remover, m1, "🎉")
        .unreact(S + 6 * H + 30 * M, remover, m1, "🎉");
    let (_, truth) = s.finish();
    let app = start_app(at(S + DAY_MS)).await;
    seed(&app, &truth, G, "UTC").await;

    for (from, to, bots, expected) in [
        (S, S + DAY_MS, false, 4),
        (S, S + DAY_MS, true, 5),
        // Only the reactor and the talker.
        (S + H, S + 3 * H, false, 2),
        // The bot reacted and sat in voice: counted only when bots are.
        (S + 3 * H, S + 5 * H, false, 0),
        (S + 3 * H, S + 5 * H, true, 1),
        // A removed reaction alone is not activity.
        (S + 6 * H, S + DAY_MS, false, 0),
    ] {
        let scope = Scope::new(G, from, to);
        let scope = if bots { scope.including_bots() } else { scope };
        let counted = if bots { Bots::Counted } else { Bots::LeftOut };
        let shown = analytics::active_members(
            &app.db.pool,
            shared::Snowflake(G),
            at(from),
            at(to),
            counted,
        )
        .await
        .unwrap();
        assert_eq!(
            shown,
            truth.active_members(&scope).len() as i64,
            "{from} {to} {bots}"
        );
        assert_eq!(shown, expected, "{from} {to} {bots}");
    }
}
