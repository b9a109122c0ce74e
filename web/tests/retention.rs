//! `/retention` and the retention job as members see them: a guild with
//! 14 months of data and a 30-day window, figures before and after a run.

mod common;

use chrono::{DateTime, TimeZone, Utc};
use common::*;
use discord_sim::{CommandOption, InteractionKind, Invoker, OptionValue};
use shared::Snowflake;
use shared::db::rollups;
use shared::rollup::{AuthorKind, MessageFacts, RollupBatch};
use shared::testing::{guild_row_counts, table_exists};
use shared::time::Hour;

const GUILD: u64 = 5150;
const CHANNEL: u64 = 5151;

/// 2026-12-02T12:00:00Z: a 30-day window keeps 2 November on.
fn now() -> DateTime<Utc> {
    at(1_796_212_800_000)
}

fn utc(y: i32, m: u32, d: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, 10, 0, 0).unwrap()
}

/// One member message on the 15th of each month from October 2025 to
/// November 2026, and on 1, 28 November and 1 December 2026: 14 months of
/// partitions.
async fn seed_fourteen_months(app: &App) {
    let mut batch = RollupBatch::default();
    let mut days: Vec<DateTime<Utc>> = (0..14)
        .map(|i| {
            let month0 = 9 + i;
            utc(2025 + month0 / 12, (month0 % 12) as u32 + 1, 15)
        })
        .collect();
    days.extend([utc(2026, 11, 1), utc(2026, 11, 28), utc(2026, 12, 1)]);
    for day in days {
        batch.add_message(MessageFacts {
            guild_id: Snowflake(GUILD),
            hour: Hour::containing(day),
            channel_id: Snowflake(CHANNEL),
            thread_parent_id: None,
            author_id: Snowflake(77),
            author_kind: AuthorKind::Member,
            attachments: 0,
            embeds: 0,
            stickers: 0,
        });
    }
    let mut conn = app.db.pool.acquire().await.unwrap();
    rollups::flush_batch(&mut conn, &batch).await.unwrap();
    drop(conn);
    enable_tracking(app, GUILD, "UTC").await;
}

/// `serverpulse-web retention run --at <at>` with `RETENTION_MAX_DAYS=365`
/// against the app's database; checks it succeeded and returns its stdout.
fn retention_run(app: &App, at: DateTime<Utc>) -> String {
    let keys = discord_sim::InteractionKeys::from_secret([3; 32]);
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_serverpulse-web"))
        .args(["retention", "run", "--at", &at.to_rfc3339()])
        .env_clear()
        .env("DATABASE_URL", &app.db.url)
        .env("DISCORD_TOKEN", TOKEN)
        .env(
            "DISCORD_APPLICATION_ID",
            discord_sim::DEFAULT_APPLICATION_ID.to_string(),
        )
        .env("DISCORD_PUBLIC_KEY", keys.public_key_hex())
        .env("RETENTION_MAX_DAYS", "365")
        .output()
        .expect("run serverpulse-web retention run");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn retention_days(days: i64) -> InteractionKind {
    command(
        "retention",
        vec![CommandOption::new("days", OptionValue::Integer(days))],
    )
}

fn overview(timeframe: &str) -> InteractionKind {
    command(
        "serverstats",
        vec![sub("overview", vec![string("timeframe", timeframe)])],
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_trims_a_30_day_guild_and_reports_say_what_was_removed() {
    let app = start_app(now()).await;
    seed_fourteen_months(&app).await;
    let admin = admin(GUILD);

    let member = Invoker::member(GUILD, GUILD + 1);
    let refused = final_message(&app, &retention_days(30), &member).await;
    assert!(content(&refused).contains("Manage Server"), "{refused:?}");
    let set = final_message(&app, &retention_days(30), &admin).await;
    assert_eq!(
        content(&set),
        "ServerPulse keeps per-member activity (messages, reactions and voice time by member, and membership history) for 30 days. \
         The daily retention run removes older rows: data before 2026-11-02 (UTC) will be removed at its next run. \
         Server-wide totals are kept for up to 730 days. The change is recorded in the settings audit log."
    );

    let week_before = final_message(&app, &overview("7d"), &admin).await;
    let quarter_before = final_message(&app, &overview("90d"), &admin).await;
    assert_eq!(
        figure(field(&quarter_before, "Messages")),
        (6, Some(3)),
        "15 Sep, 15 Oct, 1, 15, 28 Nov, 1 Dec; before: 15 Jun, Jul, Aug"
    );
    let pool = &app.db.pool;
    let rows_before = guild_row_counts(pool, Snowflake(GUILD)).await;
    assert_eq!(rows_before["message_rollup"], 17);

    // The CLI, as an operator with a 365-day global horizon runs it.
    let printed = retention_run(&app, now());
    // October and November 2025 are past 365 days: six rollups each.
    assert_eq!(
        printed.matches("dropped partition ").count(),
        12,
        "{printed}"
    );
    assert!(printed.contains("dropped partition message_rollup_202510\n"));
    assert!(
        printed
            .contains("guild 5150: 12 per-member rows before 2026-11-02T00:00:00+00:00 removed\n"),
        "{printed}"
    );
    assert!(!table_exists(pool, "message_rollup_202511").await);
    assert_eq!(
        retention_run(&app, now()),
        "the retention run of 2026-12-02 (UTC) was claimed before: nothing done\n"
    );
    let rows_after = guild_row_counts(pool, Snowflake(GUILD)).await;
    // Kept: 15 and 28 November and 1 December 2026.
    assert_eq!(rows_after["message_rollup"], 3);
    // Totals of hours from December 2025 on stay: 17 - 2 dropped months.
    assert_eq!(rows_after["guild_hourly"], 15);

    // Inside the window nothing changed.
    let week_after = final_message(&app, &overview("7d"), &admin).await;
    assert_eq!(
        field(&week_after, "Messages"),
        field(&week_before, "Messages")
    );
    assert_eq!(figure(field(&week_after, "Messages")).0, 2);
    // A timeframe reaching before the horizon starts at it and says so,
    // with no comparison against removed data.
    let quarter_after = final_message(&app, &overview("90d"), &admin).await;
    assert_eq!(figure(field(&quarter_after, "Messages")), (3, None));
    assert_eq!(
        field(&quarter_after, "🗑 Retention"),
        "Data before 2026-11-02 00:00 UTC has been removed by the retention policy (see /retention). \
         Figures start there and are not compared with the previous period."
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replayed_retention_command_changes_nothing_and_is_audited_once() {
    let app = start_app(now()).await;
    let guild = Snowflake(GUILD);
    let payload = discord_sim::interactions::interaction_payload(
        &retention_days(45),
        &admin(GUILD),
        discord_sim::DEFAULT_APPLICATION_ID,
        discord_sim::interactions::fresh_id(),
        &discord_sim::interactions::fresh_token(),
    );
    let body = serde_json::to_vec(&payload).unwrap();
    let answer = async || {
        let (status, answer) = app
            .client
            .post_signed(&body, app.client.keys())
            .await
            .unwrap();
        assert_eq!(status, 200);
        let answer: serde_json::Value = serde_json::from_slice(&answer).unwrap();
        answer["data"]["content"].as_str().unwrap().to_owned()
    };
    assert!(answer().await.contains("for 45 days"));
    assert_eq!(
        answer().await,
        serverpulse_web::commands::settings::ALREADY_APPLIED
    );
    let settings = shared::db::settings::load(&app.db.pool, guild)
        .await
        .unwrap();
    assert_eq!(settings.retention_days, 45);
    let audit = shared::db::settings::audit_trail(&app.db.pool, guild, 10)
        .await
        .unwrap();
    assert_eq!(audit.len(), 1, "{audit:?}");
    assert_eq!(audit[0].action, "retention_days.set");
    assert_eq!(
        audit[0].detail,
        serde_json::json!({"days": 45, "previous": 90})
    );
}
