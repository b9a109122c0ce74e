//! The figures of issue 19 (emoji, reactions received, threads, deletions,
//! channel health, member presence, voice now, community health) against
//! the scenario's ground truth, with rollups and catalogue seeded from it
//! the way the ingester writes them (Europe/Berlin, across a DST change).

mod checks;
mod common;

use checks::{Fixture, figures};
use common::*;
use shared::Snowflake;
use shared::db::ingest::{VoiceSessionRow, upsert_voice_sessions};

async fn fixture() -> Fixture {
    let (_, truth) = dst_scenario(10);
    let guild = truth.guild_ids[0];
    let app = start_app(at(truth.end_ms)).await;
    seed(&app, &truth, guild, "Europe/Berlin").await;
    // Seeded after the fact: tracking "began" with the first seeded hour.
    let first = shared::db::analytics::first_hour(&app.db.pool, Snowflake(guild))
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emoji_threads_deletions_and_channel_health_equal_ground_truth() {
    let mut f = fixture().await;
    figures::emoji_and_reactions_received(&f).await;
    figures::threads_and_deletions(&f).await;
    figures::channel_health(&f).await;
    figures::private_channels_left_out(&f).await;
    f.count_bots(true).await;
    figures::emoji_and_reactions_received(&f).await;
    figures::threads_and_deletions(&f).await;
    figures::channel_health(&f).await;
    figures::dead_only_among_collected(&f).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn member_presence_community_health_and_voice_now_equal_ground_truth() {
    let mut f = fixture().await;
    figures::member_presence(&f).await;
    figures::community_health(&f).await;
    f.count_bots(true).await;
    figures::member_presence(&f).await;
    figures::community_health(&f).await;
    f.count_bots(false).await;
    // Nobody is in voice when the scenario ends.
    figures::voice_now(&f, f.truth.end_ms, None).await;
    // The voice state as the ingester would have committed it at the
    // instant the most people (bots included) were in voice.
    let t = &f.truth;
    let busiest = t
        .voice
        .iter()
        .filter(|v| v.guild_id == f.guild)
        .map(|v| v.start_ms)
        .max_by_key(|at| {
            (
                t.in_voice_at(f.guild, *at, true).len(),
                std::cmp::Reverse(*at),
            )
        })
        .unwrap();
    let rows: Vec<VoiceSessionRow> = t
        .in_voice_at(f.guild, busiest, true)
        .into_iter()
        .map(|(user, channel, since)| VoiceSessionRow {
            guild_id: Snowflake(f.guild),
            user_id: Snowflake(user),
            channel_id: Snowflake(channel),
            started_at: at(since),
            credited_until: at(busiest),
        })
        .collect();
    assert!(rows.len() >= 2, "{rows:?}");
    upsert_voice_sessions(&f.app.db.pool, &rows).await.unwrap();
    // As the ingester's flush does with the sessions it writes: the answers
    // kept for the guild are stale from here on.
    shared::db::data_version::bump(&f.app.db.pool, &[Snowflake(f.guild)])
        .await
        .unwrap();
    figures::voice_now(&f, busiest, None).await;

    // A member in voice who chose /privacy hide is left out.
    let hidden = rows
        .iter()
        .map(|r| r.user_id.0)
        .find(|u| !t.user_is_bot(f.guild, *u))
        .unwrap();
    let mut member = discord_sim::Invoker::member(f.guild, f.guild + 1);
    member.user_id = hidden;
    let answer = final_message(
        &f.app,
        &command("privacy", vec![sub("hide", vec![])]),
        &member,
    )
    .await;
    assert!(answer.ephemeral());
    figures::voice_now(&f, busiest, Some(hidden)).await;
}
