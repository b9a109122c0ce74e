//! Members' rights, access rules and exports (issue #13), against the
//! scenario's ground truth: `/privacy hide|delete|resume|export`,
//! `/access` on commands and on forged components, `/audit`, and
//! `/export-report` totals equal to `/serverstats overview`.

mod common;

use std::collections::BTreeMap;

use common::*;
use discord_sim::{CommandOption, InteractionKind, Invoker, OptionValue};
use serde_json::{Value, json};
use serverpulse_web::component::{AuditLog, ComponentId};
use serverpulse_web::view::{Request, View};
use shared::Snowflake;
use shared::time::Timeframe;
use sim_scenario::truth::{LeaderboardMetric, Scope};

fn as_member(guild: u64, user_id: u64, roles: Vec<u64>) -> Invoker {
    Invoker {
        user_id,
        roles,
        ..Invoker::member(guild, guild + 1)
    }
}

fn role(name: &str, id: u64) -> CommandOption {
    CommandOption::new(
        name,
        OptionValue::Role {
            id,
            name: format!("role{id}"),
        },
    )
}

fn privacy(sub_name: &str) -> InteractionKind {
    command("privacy", vec![sub(sub_name, vec![])])
}

fn overview(timeframe: &str) -> InteractionKind {
    command(
        "serverstats",
        vec![sub("overview", vec![string("timeframe", timeframe)])],
    )
}

fn analyse(user_id: u64) -> InteractionKind {
    command(
        "activity",
        vec![group(
            "analyze",
            vec![sub(
                "member",
                vec![user("user", user_id), string("timeframe", "7d")],
            )],
        )],
    )
}

fn leaderboard_7d() -> InteractionKind {
    command(
        "leaderboard",
        vec![string("metric", "messages"), string("timeframe", "7d")],
    )
}

fn export(format: &str, what: &str) -> InteractionKind {
    command(
        "export-report",
        vec![
            string("format", format),
            string("timeframe", "7d"),
            string("what", what),
        ],
    )
}

fn click(custom_id: &str, component_type: u8, values: Vec<String>) -> InteractionKind {
    InteractionKind::Component {
        custom_id: custom_id.to_owned(),
        component_type,
        values,
        message: json!({
            "id": "1300000000000000100", "channel_id": "1300000000000000001",
            "author": {"id": discord_sim::DEFAULT_APPLICATION_ID.to_string(), "username": "ServerPulse",
                       "discriminator": "0", "avatar": null, "bot": true},
            "content": "", "timestamp": "2026-10-30T00:00:00.000000+00:00", "edited_timestamp": null,
            "tts": false, "mention_everyone": false, "mentions": [], "mention_roles": [], "attachments": [],
            "embeds": [], "pinned": false, "type": 0, "components": [],
        }),
    }
}

/// The final message of an answer only the member who asked sees: flagged
/// ephemeral inline, or deferred with the ephemeral flag (answers with
/// files are deferred, then edited).
async fn private_answer(
    app: &App,
    kind: &InteractionKind,
    who: &Invoker,
) -> discord_sim::FinalMessage {
    let outcome = send(app, kind, who).await;
    let deferred_flags = outcome
        .response
        .as_ref()
        .and_then(|r| r["data"]["flags"].as_u64())
        .unwrap_or(0);
    let message = outcome.final_message.expect("a final message");
    assert!(
        message.ephemeral() || deferred_flags & 64 != 0,
        "answered only to the member who asked: {:?}",
        outcome.response
    );
    message
}

fn file_text(message: &discord_sim::FinalMessage) -> (String, String) {
    let file = message.files.first().expect("an attachment");
    (
        file.filename.clone(),
        String::from_utf8(file.bytes()).expect("UTF-8"),
    )
}

/// CSV lines as maps of column to value.
fn csv_rows(text: &str) -> Vec<BTreeMap<String, String>> {
    let mut lines = text.lines();
    let header: Vec<String> = lines
        .next()
        .unwrap()
        .split(',')
        .map(str::to_owned)
        .collect();
    lines
        .map(|line| {
            header
                .iter()
                .cloned()
                .zip(line.split(',').map(str::to_owned))
                .collect()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hide_delete_resume_and_export_equal_the_ground_truth() {
    let (_, truth) = dst_scenario(10);
    let guild = truth.guild_ids[0];
    let app = start_app(at(truth.end_ms)).await;
    seed(&app, &truth, guild, "UTC").await;
    let admin = admin(guild);
    let week = Scope::new(guild, truth.end_ms - 7 * DAY_MS, truth.end_ms);
    let all = Scope::new(guild, truth.start_ms, truth.end_ms);
    let board = truth.leaderboard(&week, LeaderboardMetric::Messages);
    let (hidden, erased, exporter) = (board[0].user_id, board[1].user_id, board[2].user_id);
    let ranking_without = |left_out: &[u64]| -> Vec<(u64, i64)> {
        board
            .iter()
            .filter(|r| !left_out.contains(&r.user_id))
            .take(10)
            .map(|r| (r.user_id, r.value as i64))
            .collect()
    };
    let week_messages = truth.messages_total(&week) as i64;

    // export: the member's own rows, as the ground truth counts them.
    let answer = private_answer(
        &app,
        &privacy("export"),
        &as_member(guild, exporter, vec![]),
    )
    .await;
    let (name, text) = file_text(&answer);
    assert!(name.ends_with("-me.json"), "{name}");
    let document: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(document["user_id"], exporter.to_string());
    let sum = |rows: &Value, key: &str| -> i64 {
        rows.as_array()
            .unwrap()
            .iter()
            .map(|r| r[key].as_i64().unwrap())
            .sum()
    };
    assert_eq!(
        sum(&document["data"]["messages"], "messages"),
        truth.messages_per_member(&all)[&exporter] as i64
    );
    assert_eq!(
        sum(&document["data"]["reactions_given"], "added"),
        truth
            .reactions_given(&all)
            .get(&exporter)
            .copied()
            .unwrap_or(0) as i64
    );
    // The daily rows per channel are the same rows summed by day.
    for (daily, hourly, key) in [
        ("daily_messages", "messages", "messages"),
        ("daily_reactions", "reactions_given", "added"),
        ("daily_voice", "voice", "seconds"),
    ] {
        assert_eq!(
            sum(&document["data"][daily], key),
            sum(&document["data"][hourly], key),
            "{daily}"
        );
    }
    assert!(sum(&document["data"]["daily_messages"], "messages") > 0);
    // Their all-time totals are the sums of their rows, and the days the
    // bitmaps record them posting are the days their daily rows have
    // messages.
    assert_eq!(
        document["data"]["totals"]["messages"].as_i64(),
        Some(sum(&document["data"]["daily"], "messages"))
    );
    let days = |rows: &Value, keep: &dyn Fn(&Value) -> bool| -> Vec<String> {
        rows.as_array()
            .unwrap()
            .iter()
            .filter(|r| keep(r))
            .map(|r| r["day_start"].as_str().unwrap().to_owned())
            .collect()
    };
    let posting_days = days(&document["data"]["daily"], &|r| {
        r["messages"].as_i64().unwrap() > 0
    });
    assert!(!posting_days.is_empty());
    assert_eq!(
        days(&document["data"]["active_days"], &|r| r["posted"] == true),
        posting_days
    );
    assert!(
        !text.contains(&hidden.to_string()) && !text.contains(&erased.to_string()),
        "no one else's id in a member's export"
    );

    // hide: gone from rankings, others move up, totals unchanged.
    let answer = final_message(&app, &privacy("hide"), &as_member(guild, hidden, vec![])).await;
    assert!(answer.ephemeral() && content(&answer).starts_with("Done"));
    let page = final_message(&app, &leaderboard_7d(), &admin).await;
    assert_eq!(
        ranking_numbers(description(&page)),
        ranking_without(&[hidden])
    );
    let totals = final_message(&app, &overview("7d"), &admin).await;
    assert_eq!(figure(field(&totals, "Messages")).0, week_messages);
    let refused = final_message(&app, &analyse(hidden), &admin).await;
    assert!(refused.ephemeral());
    assert!(
        content(&refused).contains("chosen not to be shown"),
        "{}",
        content(&refused)
    );
    let own = final_message(&app, &analyse(hidden), &as_member(guild, hidden, vec![])).await;
    assert_eq!(
        figure(field(&own, "Messages")).0,
        board[0].value as i64,
        "a hidden member still sees their own analysis"
    );
    let members = private_answer(&app, &export("csv", "members"), &admin).await;
    let (_, csv) = file_text(&members);
    assert!(
        !csv.contains(&hidden.to_string()),
        "a hidden member's id is not exported"
    );
    let rows = csv_rows(&csv);
    let shown = rows
        .iter()
        .find(|r| r["member"] == "hidden member")
        .expect("the hidden member's row");
    assert_eq!(shown["messages"], board[0].value.to_string());
    assert_eq!(shown["rank"], "");
    assert_eq!(
        rows.iter().find(|r| r["rank"] == "1").unwrap()["member_id"],
        erased.to_string()
    );

    // delete: the member's traces in the audit and the access log first.
    let as_admin = Invoker {
        user_id: erased,
        ..admin.clone()
    };
    let retention = command(
        "retention",
        vec![CommandOption::new("days", OptionValue::Integer(90))],
    );
    final_message(&app, &retention, &as_admin).await;
    final_message(&app, &analyse(erased), &admin).await;
    final_message(&app, &analyse(exporter), &as_admin).await;
    let pool = &app.db.pool;
    let (g, e) = (Snowflake(guild), Snowflake(erased));
    // ... and a dashboard session they opened as an admin.
    let now = chrono::Utc::now();
    let session = shared::db::dashboard::StoredSession {
        guild_id: g,
        user_id: e,
        generation: 0,
        sees_private: true,
        expires_at: now + chrono::Duration::hours(1),
    };
    let link_expiry = now + chrono::Duration::hours(1);
    assert!(
        shared::db::dashboard::open_session(pool, &[7; 32], link_expiry, &[8; 32], session, now)
            .await
            .unwrap()
    );
    assert!(
        shared::testing::columns_holding_user(pool, g, e)
            .await
            .len()
            >= 6,
        "the member is in the rollups, catalogue, audit, access log and dashboard sessions before"
    );
    let answer = final_message(&app, &privacy("delete"), &as_member(guild, erased, vec![])).await;
    assert!(answer.ephemeral() && content(&answer).starts_with("Done"));
    assert_eq!(
        shared::testing::columns_holding_user(pool, g, e).await,
        Vec::<String>::new(),
        "no column of any guild table holds the erased member's id"
    );
    let totals = final_message(&app, &overview("7d"), &admin).await;
    assert_eq!(
        figure(field(&totals, "Messages")).0,
        week_messages,
        "their messages still count in the totals"
    );
    let page = final_message(&app, &leaderboard_7d(), &admin).await;
    assert_eq!(
        ranking_numbers(description(&page)),
        ranking_without(&[hidden, erased])
    );
    let mut conn = pool.acquire().await.unwrap();
    let status = shared::db::privacy::status(&mut conn, g, e).await.unwrap();
    assert!(status.erased_since.is_some());
    let stored: Vec<Vec<u8>> = sqlx::query_scalar("select user_hash from member_opt_outs")
        .fetch_all(pool)
        .await
        .unwrap();
    assert_eq!(stored.len(), 1);
    assert!(
        !stored[0].windows(8).any(|w| w == erased.to_be_bytes()),
        "only a keyed hash is stored"
    );

    // resume: both are back for the future; erased rows stay erased.
    let answer = final_message(&app, &privacy("resume"), &as_member(guild, erased, vec![])).await;
    assert!(
        content(&answer).contains("again from now on"),
        "{}",
        content(&answer)
    );
    let answer = final_message(&app, &privacy("resume"), &as_member(guild, hidden, vec![])).await;
    assert!(
        content(&answer).contains("shown again"),
        "{}",
        content(&answer)
    );
    let status = shared::db::privacy::status(&mut conn, g, e).await.unwrap();
    assert_eq!(status.erased_since, None);
    let page = final_message(&app, &leaderboard_7d(), &admin).await;
    assert_eq!(
        ranking_numbers(description(&page)),
        ranking_without(&[erased])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_rules_hold_for_commands_and_forged_components() {
    let (_, truth) = dst_scenario(10);
    let guild = truth.guild_ids[0];
    let app = start_app(at(truth.end_ms)).await;
    seed(&app, &truth, guild, "UTC").await;
    let admin = admin(guild);
    let week = Scope::new(guild, truth.end_ms - 7 * DAY_MS, truth.end_ms);
    let board = truth.leaderboard(&week, LeaderboardMetric::Messages);
    let (reports_role, analyse_role) = (1_200_000_000_000_000_001, 1_200_000_000_000_000_002);
    let outsider = as_member(guild, board[0].user_id, vec![]);
    let reporter = as_member(guild, board[1].user_id, vec![reports_role]);
    let analyst = as_member(guild, board[2].user_id, vec![reports_role, analyse_role]);
    let other = board[3].user_id;

    // Open by default: a member without roles runs reports.
    let open = final_message(&app, &overview("7d"), &outsider).await;
    assert!(!open.ephemeral());
    assert_eq!(
        figure(field(&open, "Messages")).0,
        truth.messages_total(&week) as i64
    );

    let set = |sub_name: &str, options: Vec<CommandOption>| {
        command("access", vec![sub(sub_name, options)])
    };
    final_message(
        &app,
        &set("report-role", vec![role("role", reports_role)]),
        &admin,
    )
    .await;
    final_message(
        &app,
        &set("analyse-role", vec![role("role", analyse_role)]),
        &admin,
    )
    .await;
    let refused_for_member = final_message(&app, &set("reset", vec![]), &outsider).await;
    assert!(content(&refused_for_member).contains("Manage Server"));

    let notice = async |kind: InteractionKind, who: &Invoker| {
        let message = final_message(&app, &kind, who).await;
        assert!(message.ephemeral(), "{kind:?}: {:?}", message.message);
        assert!(
            message.message["embeds"]
                .as_array()
                .is_none_or(Vec::is_empty)
        );
        content(&message).to_owned()
    };
    let week_tf = Timeframe::Last7Days;
    let report_id = |view: View| {
        ComponentId::Report(Request {
            view,
            timeframe: week_tf,
        })
        .encode()
    };
    // Without the role: the command and every forged component are refused.
    let forged = [
        overview("7d"),
        leaderboard_7d(),
        click(&report_id(View::Overview), 2, vec![]),
        click(&report_id(View::TopMessagers), 2, vec![]),
        click(
            &ComponentId::CustomDates(View::Overview).encode(),
            2,
            vec![],
        ),
        click(
            &ComponentId::ReportSelect(week_tf).encode(),
            3,
            vec!["ov".into()],
        ),
        InteractionKind::ModalSubmit {
            custom_id: ComponentId::CustomDatesForm(View::Overview).encode(),
            fields: vec![
                (ComponentId::FirstDay.encode(), "2026-10-24".into()),
                (ComponentId::LastDay.encode(), "2026-10-26".into()),
            ],
        },
        // a custom timeframe asked for with the command opens no form
        command(
            "serverstats",
            vec![sub("overview", vec![string("timeframe", "custom")])],
        ),
    ];
    for kind in forged {
        let text = notice(kind.clone(), &outsider).await;
        assert!(text.contains("limited who may run"), "{kind:?}: {text}");
    }
    // The report role: reports, but no analysis of others.
    let allowed = final_message(&app, &overview("7d"), &reporter).await;
    assert_eq!(
        figure(field(&allowed, "Messages")).0,
        truth.messages_total(&week) as i64
    );
    for kind in [
        analyse(other),
        click(&report_id(View::Member(Snowflake(other))), 2, vec![]),
        click(
            &ComponentId::ReportSelect(week_tf).encode(),
            3,
            vec![View::Member(Snowflake(other)).encode()],
        ),
    ] {
        let text = notice(kind.clone(), &reporter).await;
        assert!(text.contains("analyse other members"), "{kind:?}: {text}");
    }
    let own = final_message(&app, &analyse(reporter.user_id), &reporter).await;
    assert_eq!(figure(field(&own, "Messages")).0, board[1].value as i64);
    // Both roles: analysis of others, logged.
    let analysed = final_message(&app, &analyse(other), &analyst).await;
    assert_eq!(
        figure(field(&analysed, "Messages")).0,
        board[3].value as i64
    );

    // Private answers.
    final_message(
        &app,
        &set("answers", vec![string("visibility", "private")]),
        &admin,
    )
    .await;
    let private = private_answer(&app, &overview("7d"), &reporter).await;
    assert_eq!(
        figure(field(&private, "Messages")).0,
        truth.messages_total(&week) as i64
    );

    // /audit: the access log and the settings audit, newest first; its
    // buttons are refused to members without Manage Server.
    let audit = |log: &str| command("audit", vec![string("log", log)]);
    let access_log = final_message(&app, &audit("access"), &admin).await;
    assert!(access_log.ephemeral());
    let lines: Vec<&str> = description(&access_log).lines().collect();
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0].contains(&format!("<@{}> analysed <@{other}>", analyst.user_id)),
        "{lines:?}"
    );
    let settings = final_message(&app, &audit("settings"), &admin).await;
    let lines: Vec<&str> = description(&settings).lines().collect();
    assert!(lines.len() >= 3, "{lines:?}");
    assert!(
        lines[0].contains("private_answers\":true"),
        "newest first: {lines:?}"
    );
    let text = notice(
        click(&ComponentId::Audit(AuditLog::Access, 0).encode(), 2, vec![]),
        &reporter,
    )
    .await;
    assert!(text.contains("Manage Server"), "{text}");
    let paged = final_message(
        &app,
        &click(
            &ComponentId::Audit(AuditLog::Settings, 1).encode(),
            2,
            vec![],
        ),
        &admin,
    )
    .await;
    assert!(description(&paged).contains("Nothing recorded"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_report_totals_equal_the_overview() {
    let (_, truth) = dst_scenario(10);
    let guild = truth.guild_ids[0];
    let app = start_app(at(truth.end_ms)).await;
    seed(&app, &truth, guild, "Europe/Berlin").await;
    let admin = admin(guild);
    let shown = final_message(&app, &overview("7d"), &admin).await;
    let expected: Vec<(&str, i64)> = vec![
        ("messages", figure(field(&shown, "Messages")).0),
        (
            "voice_seconds",
            figure_with(field(&shown, "Voice time"), seconds).0,
        ),
        ("reactions", figure(field(&shown, "Reactions")).0),
        ("joins", figure(field(&shown, "Joins")).0),
        ("leaves", figure(field(&shown, "Leaves")).0),
        ("net_growth", figure(field(&shown, "Net growth")).0),
        ("active_members", figure(field(&shown, "Active members")).0),
        (
            "threads_created",
            figure(field(&shown, "Threads created")).0,
        ),
        (
            "deleted_messages",
            figure(field(&shown, "Deleted messages")).0,
        ),
    ];
    let week = Scope::new(guild, truth.end_ms - 7 * DAY_MS, truth.end_ms);
    assert_eq!(expected[0].1, truth.messages_total(&week) as i64);

    let csv = private_answer(&app, &export("csv", "overview"), &admin).await;
    let (name, text) = file_text(&csv);
    assert!(name.ends_with("-overview-7d.csv"), "{name}");
    let rows = csv_rows(&text);
    assert_eq!(rows.len(), 1);
    // Nothing was imported from history: the note's column is empty.
    assert_eq!(rows[0]["imported_history"], "");
    let json_answer = final_message(&app, &export("json", "overview"), &admin).await;
    let (_, text) = file_text(&json_answer);
    let document: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(document["timezone"], "Europe/Berlin");
    for (column, value) in &expected {
        assert_eq!(rows[0][*column], value.to_string(), "CSV {column}");
        assert_eq!(document["rows"][0][*column], json!(value), "JSON {column}");
    }
    // Ten days of data: the 7 days before the last 7 began before it, so
    // the export says the comparison is unavailable instead of a number.
    let first = shared::db::analytics::first_hour(&app.db.pool, shared::Snowflake(guild))
        .await
        .unwrap()
        .unwrap();
    let why = format!(
        "not compared: no data before {} (partway through the previous period)",
        first.format("%Y-%m-%d %H:%M UTC")
    );
    assert_eq!(rows[0]["comparison"], why);
    assert_eq!(document["rows"][0]["comparison"], json!(why));
    assert_eq!(document["comparison"], json!(why));
    for column in [
        "previous_messages",
        "previous_active_members",
        "previous_joins",
    ] {
        assert_eq!(rows[0][column], "", "CSV {column}");
        assert_eq!(document["rows"][0][column], Value::Null, "JSON {column}");
    }
    assert!(field(&shown, "Joins").contains(" · not compared: no data before <t:"));

    // The daily series adds up to the same totals.
    let daily = final_message(&app, &export("json", "daily"), &admin).await;
    let (_, text) = file_text(&daily);
    let document: Value = serde_json::from_str(&text).unwrap();
    let days = document["rows"].as_array().unwrap();
    assert!(days.len() >= 7);
    for column in ["messages", "voice_seconds", "reactions", "joins", "leaves"] {
        let total: i64 = days.iter().map(|d| d[column].as_i64().unwrap()).sum();
        let shown = expected.iter().find(|(c, _)| *c == column).unwrap().1;
        assert_eq!(total, shown, "daily {column}");
    }
    let daily_csv = final_message(&app, &export("csv", "daily"), &admin).await;
    let (_, text) = file_text(&daily_csv);
    let total: i64 = csv_rows(&text)
        .iter()
        .map(|r| r["messages"].parse::<i64>().unwrap())
        .sum();
    assert_eq!(total, expected[0].1);

    // Channels: the messages per top-level channel add up to the overview.
    let channels = final_message(&app, &export("csv", "channels"), &admin).await;
    let (_, text) = file_text(&channels);
    let total: i64 = csv_rows(&text)
        .iter()
        .map(|r| r["messages"].parse::<i64>().unwrap())
        .sum();
    assert_eq!(total, expected[0].1);

    // Members without Manage Server cannot export; every export is logged.
    let member = as_member(guild, 1_100_000_000_000_000_102, vec![]);
    let refused = final_message(&app, &export("csv", "overview"), &member).await;
    assert!(refused.files.is_empty() && content(&refused).contains("Manage Server"));
    let log = final_message(
        &app,
        &command("audit", vec![string("log", "access")]),
        &admin,
    )
    .await;
    let lines: Vec<&str> = description(&log).lines().collect();
    assert_eq!(lines.len(), 5, "{lines:?}");
    assert!(lines[0].contains("exported `channels` as csv"), "{lines:?}");
}
