//! A digest's figures count bots as the guild's `count_bots` says, and
//! equal the ground truth both ways (bots left out, bots counted).

mod common;

use chrono::Duration;
use common::*;
use serverpulse_web::digest::render;
use serverpulse_web::digest::schedule::DigestPeriod;
use shared::Snowflake;
use shared::db::analytics::Bots;
use shared::db::digest_settings::DigestFrequency;
use sim_scenario::truth::{DAY_MS, LeaderboardMetric, Scope};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn digest_figures_equal_ground_truth_with_and_without_bots() {
    let (_, truth) = dst_scenario(10);
    let guild = truth.guild_ids[0];
    let app = start_app(at(truth.end_ms)).await;
    seed(&app, &truth, guild, "UTC").await;
    let (from, to) = (truth.end_ms - 7 * DAY_MS, truth.end_ms);
    let period = DigestPeriod {
        frequency: DigestFrequency::Weekly,
        from: at(from),
        to: at(to),
        scheduled_at: at(to),
    };
    let previous = DigestPeriod {
        from: at(from) - Duration::days(7),
        to: at(from),
        ..period
    };
    let mut seen = Vec::new();
    for bots in [Bots::LeftOut, Bots::Counted] {
        let scope = match bots {
            Bots::LeftOut => Scope::new(guild, from, to),
            Bots::Counted => Scope::new(guild, from, to).including_bots(),
        };
        let mut conn = app.db.pool.acquire().await.unwrap();
        let f = render::gather(
            &mut conn,
            Snowflake(guild),
            period,
            previous,
            chrono_tz::UTC,
            false,
            bots,
        )
        .await
        .unwrap();
        let t = &f.totals;
        let growth = truth.growth(&scope);
        let figures = (
            t.messages,
            t.voice_seconds,
            t.reactions_added,
            t.joins,
            t.leaves,
            f.active_members,
        );
        let expected = (
            truth.messages_total(&scope) as i64,
            truth.voice_seconds(&scope).values().sum::<i64>(),
            truth.reactions_given(&scope).values().sum::<u64>() as i64,
            growth.joins as i64,
            growth.leaves as i64,
            truth.activity_ratio(&scope).active as i64,
        );
        assert_eq!(figures, expected, "{bots:?}");
        let top: Vec<(u64, i64)> = f
            .top_members
            .iter()
            .map(|r| (r.user_id.0, r.value))
            .collect();
        let mut board = truth.leaderboard(&scope, LeaderboardMetric::Messages);
        board.truncate(top.len().max(1));
        let board: Vec<(u64, i64)> = board.iter().map(|r| (r.user_id, r.value as i64)).collect();
        assert_eq!(top, board, "{bots:?}: top members");
        seen.push(figures);
    }
    // The scenario's bots make every one of these differ.
    let (out, counted) = (seen[0], seen[1]);
    assert!(
        counted.0 > out.0 && counted.1 > out.1 && counted.2 > out.2,
        "{out:?} {counted:?}"
    );
}
