//! Buttons, selects, the custom-timeframe modal, autocomplete, the settings
//! commands (audited, notifying the ingester) and command registration.

mod common;

use chrono_tz::Europe::Berlin;
use common::*;
use discord_sim::{CommandOption, FinalMessage, InteractionKind, Invoker, OptionValue};
use serde_json::{Value, json};
use serverpulse_web::component::ComponentId;
use shared::Snowflake;
use shared::db::settings::{self, CollectMode};
use sim_scenario::truth::{LeaderboardMetric, Scope};

/// The message a click comes from (the state is in the custom_id).
fn clicked_message(channel: u64) -> Value {
    json!({
        "id": "1300000000000000100", "channel_id": channel.to_string(),
        "author": {"id": discord_sim::DEFAULT_APPLICATION_ID.to_string(), "username": "ServerPulse",
                   "discriminator": "0", "avatar": null, "bot": true},
        "content": "", "timestamp": "2026-10-30T00:00:00.000000+00:00", "edited_timestamp": null, "tts": false,
        "mention_everyone": false, "mentions": [], "mention_roles": [], "attachments": [], "embeds": [],
        "pinned": false, "type": 0, "components": [],
    })
}

fn components(message: &FinalMessage) -> Vec<Value> {
    message.message["components"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|row| row["components"].as_array().cloned().unwrap_or_default())
        .collect()
}

fn button_id(message: &FinalMessage, label: &str) -> String {
    components(message)
        .into_iter()
        .find(|c| c["type"] == 2 && c["label"] == label)
        .and_then(|c| c["custom_id"].as_str().map(str::to_owned))
        .unwrap_or_else(|| panic!("no button {label:?} in {:?}", message.message["components"]))
}

fn click(custom_id: &str, component_type: u8, values: Vec<String>, guild: u64) -> InteractionKind {
    InteractionKind::Component {
        custom_id: custom_id.to_owned(),
        component_type,
        values,
        message: clicked_message(guild + 1),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn buttons_selects_modal_and_autocomplete_work() {
    let (_, truth) = dst_scenario(10);
    let guild = truth.guild_ids[0];
    let app = start_app(at(truth.end_ms)).await;
    seed(&app, &truth, guild, "Europe/Berlin").await;
    let admin = admin(guild);
    let scope = |days: i64| Scope::new(guild, truth.end_ms - days * DAY_MS, truth.end_ms);

    // A timeframe button: the report is replaced in place.
    let overview = command(
        "serverstats",
        vec![sub("overview", vec![string("timeframe", "7d")])],
    );
    let first = final_message(&app, &overview, &admin).await;
    let id = button_id(&first, "24h");
    let updated = final_message(&app, &click(&id, 2, vec![], guild), &admin).await;
    assert!(
        embed(&updated)["title"]
            .as_str()
            .unwrap()
            .contains("last 24 hours")
    );
    assert_eq!(
        figure(field(&updated, "Messages")).0,
        truth.messages_total(&scope(1)) as i64
    );
    let outcome = send(&app, &click(&id, 2, vec![], guild), &admin).await;
    assert_eq!(
        outcome.response.unwrap()["type"],
        6,
        "a click with a chart defers an update"
    );

    // The select of sibling reports.
    let select = components(&first)
        .into_iter()
        .find(|c| c["type"] == 3)
        .expect("a select");
    assert!(select["options"].as_array().unwrap().len() <= 25);
    let chosen = final_message(
        &app,
        &click(
            select["custom_id"].as_str().unwrap(),
            3,
            vec!["me:growth".into()],
            guild,
        ),
        &admin,
    )
    .await;
    assert!(
        embed(&chosen)["title"]
            .as_str()
            .unwrap()
            .starts_with("Members · growth · last 7 days")
    );
    assert_eq!(
        figure(field(&chosen, "Joins")).0,
        truth.growth(&scope(7)).joins as i64
    );

    // Leaderboard paging buttons.
    let board = command(
        "leaderboard",
        vec![string("metric", "messages"), string("timeframe", "7d")],
    );
    let page1 = final_message(&app, &board, &admin).await;
    let full = truth.leaderboard(&scope(7), LeaderboardMetric::Messages);
    assert!(full.len() > 10, "the scenario fills two pages");
    let next = button_id(&page1, "Next ▶");
    let page2 = final_message(&app, &click(&next, 2, vec![], guild), &admin).await;
    assert_eq!(
        page2.delivery,
        discord_sim::Delivery::Inline,
        "no chart: answered inline (type 7)"
    );
    let expected: Vec<(u64, i64)> = full
        .iter()
        .skip(10)
        .take(10)
        .map(|r| (r.user_id, r.value as i64))
        .collect();
    assert_eq!(ranking_numbers(description(&page2)), expected);
    assert!(description(&page2).starts_with("11. "));
    assert_eq!(
        field(&page2, "Page"),
        format!("2 of {}", full.len().div_ceil(10))
    );
    let back = button_id(&page2, "◀ Previous");
    let again = final_message(&app, &click(&back, 2, vec![], guild), &admin).await;
    assert_eq!(description(&again), description(&page1));

    // Custom timeframe: the command answers with a modal, whose submit is
    // read as local Berlin dates (24–26 October holds the 25-hour day).
    let trends = command(
        "serverstats",
        vec![sub(
            "trends",
            vec![string("timeframe", "custom"), string("metric", "messages")],
        )],
    );
    let outcome = send(&app, &trends, &admin).await;
    let modal = outcome.response.expect("a modal");
    assert_eq!(modal["type"], 9);
    let modal_id = modal["data"]["custom_id"].as_str().unwrap().to_owned();
    assert!(modal["data"]["title"].as_str().unwrap().len() <= 45);
    let submit = InteractionKind::ModalSubmit {
        custom_id: modal_id.clone(),
        fields: vec![
            (ComponentId::FirstDay.encode(), "2026-10-24".into()),
            (ComponentId::LastDay.encode(), "2026-10-26".into()),
        ],
    };
    let custom = final_message(&app, &submit, &admin).await;
    let from = chrono::TimeZone::with_ymd_and_hms(&Berlin, 2026, 10, 24, 0, 0, 0)
        .unwrap()
        .timestamp_millis();
    let to = chrono::TimeZone::with_ymd_and_hms(&Berlin, 2026, 10, 27, 0, 0, 0)
        .unwrap()
        .timestamp_millis();
    assert_eq!(
        to - from,
        (3 * 24 + 1) * 3_600_000,
        "the range holds 73 hours"
    );
    let truth_days = truth.messages_per_local_day(&Scope::new(guild, from, to), Berlin);
    let days = per_day(description(&custom));
    assert_eq!(days.len(), 3, "{days:?}");
    for (day, value) in &days {
        assert_eq!(
            parse_int(value),
            truth_days.get(day).copied().unwrap_or(0) as i64,
            "{day}"
        );
    }
    assert!(
        embed(&custom)["title"]
            .as_str()
            .unwrap()
            .contains("2026-10-24 to 2026-10-26")
    );
    // The report's own "Custom dates…" button opens the same modal.
    let id = button_id(&custom, "Custom dates…");
    let outcome = send(&app, &click(&id, 2, vec![], guild), &admin).await;
    assert_eq!(outcome.response.unwrap()["data"]["custom_id"], modal_id);
    // Dates the wrong way round: a notice, no report.
    let bad = InteractionKind::ModalSubmit {
        custom_id: modal_id,
        fields: vec![
            (ComponentId::FirstDay.encode(), "2026-10-26".into()),
            (ComponentId::LastDay.encode(), "2026-10-24".into()),
        ],
    };
    let notice = final_message(&app, &bad, &admin).await;
    assert!(
        notice.ephemeral() && content(&notice).contains("before the start"),
        "{:?}",
        notice.message
    );

    // Timezone autocomplete.
    let typing = InteractionKind::Autocomplete {
        name: "setup".into(),
        options: vec![string("timezone", "berl").focused()],
    };
    let outcome = send(&app, &typing, &admin).await;
    let answer = outcome.response.unwrap();
    assert_eq!(answer["type"], 8);
    let choices = answer["data"]["choices"].as_array().unwrap();
    assert!(
        choices.iter().any(|c| c["value"] == "Europe/Berlin"),
        "{choices:?}"
    );
    let broad = InteractionKind::Autocomplete {
        name: "setup".into(),
        options: vec![string("timezone", "a").focused()],
    };
    let outcome = send(&app, &broad, &admin).await;
    assert_eq!(
        outcome.response.unwrap()["data"]["choices"]
            .as_array()
            .unwrap()
            .len(),
        25
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settings_commands_are_audited_and_notify_the_ingester() {
    let app = start_app(at(DST_START_MS)).await;
    let guild = 1_300_000_000_000_000_001u64;
    let g = Snowflake(guild);
    let admin = admin(guild);
    let mut listener = sqlx::postgres::PgListener::connect_with(&app.db.pool)
        .await
        .unwrap();
    listener.listen("serverpulse_settings").await.unwrap();

    let setup = command(
        "setup",
        vec![
            string("timezone", "Europe/Berlin"),
            channel("update_channel", guild + 9, "updates", 0),
            string("channels", "choose"),
        ],
    );
    let answer = final_message(&app, &setup, &admin).await;
    assert!(answer.ephemeral());
    assert_eq!(field(&answer, "Tracking"), "on");
    assert_eq!(field(&answer, "Timezone"), "Europe/Berlin");
    assert_eq!(field(&answer, "Update channel"), "#updates");
    let notification = tokio::time::timeout(std::time::Duration::from_secs(5), listener.recv())
        .await
        .expect("settings changes notify at once")
        .unwrap();
    assert_eq!(notification.payload(), guild.to_string());
    let saved = settings::load(&app.db.pool, g).await.unwrap();
    assert!(saved.tracking_enabled);
    assert_eq!(saved.timezone, "Europe/Berlin");
    assert_eq!(saved.update_channel_id, Some(Snowflake(guild + 9)));

    // Choosing channels through the channel select.
    let select = components(&answer)
        .into_iter()
        .find(|c| c["type"] == 8)
        .expect("a channel select");
    let chosen = vec![(guild + 2).to_string(), (guild + 3).to_string()];
    let done = final_message(
        &app,
        &click(select["custom_id"].as_str().unwrap(), 8, chosen, guild),
        &admin,
    )
    .await;
    assert!(content(&done).contains(&format!("<#{}>", guild + 2)));
    let saved = settings::load(&app.db.pool, g).await.unwrap();
    assert_eq!(saved.collect_mode, CollectMode::AllowList);
    assert_eq!(
        settings::collected_channels(&app.db.pool, g).await.unwrap(),
        vec![Snowflake(guild + 2), Snowflake(guild + 3)]
    );

    let remove = command(
        "remove-collect-channel",
        vec![channel("channel", guild + 2, "memes", 0)],
    );
    let text = content(&final_message(&app, &remove, &admin).await).to_owned();
    assert!(text.contains("#memes is no longer collected"), "{text}");
    let add = command(
        "add-collect-channel",
        vec![channel("channel", guild + 4, "art", 0)],
    );
    let text = content(&final_message(&app, &add, &admin).await).to_owned();
    assert!(text.contains("#art is collected from now on"), "{text}");
    assert_eq!(
        settings::collected_channels(&app.db.pool, g).await.unwrap(),
        vec![Snowflake(guild + 3), Snowflake(guild + 4)]
    );
    let update = command(
        "set-update-channel",
        vec![channel("channel", guild + 5, "news", 0)],
    );
    let text = content(&final_message(&app, &update, &admin).await).to_owned();
    assert!(text.contains("#news"), "{text}");
    assert_eq!(
        settings::load(&app.db.pool, g)
            .await
            .unwrap()
            .update_channel_id,
        Some(Snowflake(guild + 5))
    );

    // Who, what, when: every change is in the audit trail, by the admin.
    let audit = settings::audit_trail(&app.db.pool, g, 50).await.unwrap();
    let actions: Vec<&str> = audit.iter().rev().map(|a| a.action.as_str()).collect();
    for expected in [
        "tracking.enable",
        "timezone.set",
        "update_channel.set",
        "collect_channel.add",
        "collect_mode.set",
        "collect_channel.remove",
    ] {
        assert!(actions.contains(&expected), "{expected} in {actions:?}");
    }
    assert!(audit.iter().all(|a| a.actor_id == Snowflake(admin.user_id)));
    // Switching tracking off: reports say how to turn it on again.
    let off = command(
        "setup",
        vec![CommandOption::new("tracking", OptionValue::Boolean(false))],
    );
    let answer = final_message(&app, &off, &admin).await;
    assert_eq!(field(&answer, "Tracking"), "off");
    assert!(
        !settings::load(&app.db.pool, g)
            .await
            .unwrap()
            .tracking_enabled
    );
    let overview = command("serverstats", vec![sub("overview", vec![])]);
    let notice = final_message(&app, &overview, &admin).await;
    assert!(content(&notice).contains("Tracking is not enabled"));
    let audit = settings::audit_trail(&app.db.pool, g, 1).await.unwrap();
    assert_eq!(audit[0].action, "tracking.disable");
    let member = Invoker::member(guild, guild + 1);
    let refused = final_message(
        &app,
        &click(
            select["custom_id"].as_str().unwrap(),
            8,
            vec!["1".into()],
            guild,
        ),
        &member,
    )
    .await;
    assert!(content(&refused).contains("Manage Server"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn register_bulk_overwrites_the_command_definitions() {
    let app = start_app(at(DST_START_MS)).await;
    let guild = 1_300_000_000_000_000_001u64;
    let keys = discord_sim::InteractionKeys::generate();
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_serverpulse-web"))
            .args(args)
            .env_clear()
            .env("DATABASE_URL", &app.db.url)
            .env("DISCORD_TOKEN", TOKEN)
            .env(
                "DISCORD_APPLICATION_ID",
                discord_sim::DEFAULT_APPLICATION_ID.to_string(),
            )
            .env("DISCORD_PUBLIC_KEY", keys.public_key_hex())
            .env("DISCORD_API_URL", app.sim.rest.api_url())
            .output()
            .expect("run serverpulse-web register")
    };
    let guild_arg = guild.to_string();
    let output = tokio::task::block_in_place(|| run(&["register", "--guild", &guild_arg]));
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let output = tokio::task::block_in_place(|| run(&["register"]));
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    for scope in [Some(guild), None] {
        let commands = app.sim.rest.commands(scope);
        let mut names: Vec<&str> = commands
            .iter()
            .map(|c| c["name"].as_str().unwrap())
            .collect();
        names.sort_unstable();
        assert_eq!(
            names,
            [
                "access",
                "activity",
                "add-collect-channel",
                "ai-provider",
                "alert-threshold",
                "alerts",
                "audit",
                "backfill",
                "dashboard",
                "digest",
                "export-report",
                "leaderboard",
                "privacy",
                "pulse-report",
                "remove-collect-channel",
                "retention",
                "serverstats",
                "set-digest",
                "set-update-channel",
                "setup",
                "toggle-alert",
                "topmessagers"
            ]
        );
        for command in &commands {
            let admin_only = [
                "setup",
                "set-update-channel",
                "set-digest",
                "digest",
                "pulse-report",
                "ai-provider",
                "dashboard",
                "alerts",
                "toggle-alert",
                "alert-threshold",
                "add-collect-channel",
                "remove-collect-channel",
                "retention",
                "backfill",
                "access",
                "audit",
                "export-report",
            ]
            .contains(&command["name"].as_str().unwrap());
            assert_eq!(
                command["default_member_permissions"] == "32",
                admin_only,
                "{command}"
            );
        }
    }
    let output = tokio::task::block_in_place(|| run(&["register", "--guild", "general"]));
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("--guild"));
}

/// While every channel is collected, "stop collecting #x" switches to an
/// allow-list of every other live channel, so the admin's intent holds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removing_a_channel_while_collecting_all_keeps_every_other_one() {
    use shared::db::catalogue::{self, ChannelRow};
    let app = start_app(at(DST_START_MS)).await;
    let guild = 1_300_000_000_000_000_001u64;
    let g = Snowflake(guild);
    let admin = admin(guild);
    let setup = command("setup", vec![string("timezone", "UTC")]);
    final_message(&app, &setup, &admin).await;
    assert_eq!(
        settings::load(&app.db.pool, g).await.unwrap().collect_mode,
        CollectMode::All
    );

    let created = chrono::DateTime::from_timestamp_millis(DST_START_MS).unwrap();
    let row = |id: u64, kind: i16, name: &str, deleted: bool| ChannelRow {
        guild_id: g,
        channel_id: Snowflake(guild + id),
        kind,
        name: name.to_owned(),
        parent_id: None,
        archived: false,
        archived_at: None,
        created_at: created,
        deleted_at: deleted.then_some(created),
        everyone_allow: 0,
        everyone_deny: 0,
        owner_id: None,
        first_reply_at: None,
        first_bot_reply_at: None,
    };
    catalogue::upsert_channels(
        &app.db.pool,
        &[
            row(1, 0, "general", false),
            row(2, 0, "memes", false),
            row(3, 2, "lounge", false),
            row(4, 4, "a category", false),
            row(5, 11, "a thread", false),
            row(6, 0, "gone", true),
        ],
    )
    .await
    .unwrap();

    let remove = command(
        "remove-collect-channel",
        vec![channel("channel", guild + 2, "memes", 0)],
    );
    let text = content(&final_message(&app, &remove, &admin).await).to_owned();
    assert!(text.contains("#memes is no longer collected"), "{text}");
    assert!(text.contains("the other 2 channels"), "{text}");
    let saved = settings::load(&app.db.pool, g).await.unwrap();
    assert_eq!(saved.collect_mode, CollectMode::AllowList);
    assert_eq!(
        settings::collected_channels(&app.db.pool, g).await.unwrap(),
        vec![Snowflake(guild + 1), Snowflake(guild + 3)],
        "text and voice channels stay; the removed one, categories, threads and deleted channels do not"
    );
    let audit = settings::audit_trail(&app.db.pool, g, 1).await.unwrap();
    assert_eq!(audit[0].action, "collect_channel.remove");
    assert_eq!(audit[0].detail["still_collected"], 2);
}

/// A component of a message from an earlier release (ids without this
/// release's version) says so; a forged id gets a notice, never a report
/// or a crash.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn old_and_forged_custom_ids_answer_notices() {
    let (_, truth) = dst_scenario(3);
    let guild = truth.guild_ids[0];
    let app = start_app(at(truth.end_ms)).await;
    seed(&app, &truth, guild, "UTC").await;
    let admin = admin(guild);
    let notice = async |kind: InteractionKind| {
        let message = final_message(&app, &kind, &admin).await;
        assert!(message.ephemeral(), "{:?}", message.message);
        content(&message).to_owned()
    };
    for old in ["r|ov|7d", "tfc|me:growth", "sel|7d", "setup|channels"] {
        let text = notice(click(old, 2, vec!["ov".into()], guild)).await;
        assert_eq!(
            text, "This message is out of date — run the command again.",
            "{old}"
        );
    }
    let old_form = InteractionKind::ModalSubmit {
        custom_id: "tf|ov".into(),
        fields: vec![
            ("from".into(), "2026-10-24".into()),
            ("to".into(), "2026-10-26".into()),
        ],
    };
    assert!(notice(old_form).await.contains("out of date"));
    for forged in [
        "sp1|r|lb:-:messages:99999999999|7d",
        "sp1|r|zz|7d",
        "sp1|tf|ov",
        "sp1|\u{0}|🙂",
    ] {
        let text = notice(click(forged, 2, vec![], guild)).await;
        assert!(text.contains("run the command again"), "{forged}: {text}");
    }
    // A forged range gets the form's limits, in the form's words.
    let text = notice(click("sp1|r|ov|c0_99999999999", 2, vec![], guild)).await;
    assert_eq!(text, "Choose at most 400 days.");
    // A select value that is no view.
    let select = ComponentId::ReportSelect(shared::time::Timeframe::Last7Days).encode();
    let text = notice(click(&select, 3, vec!["zz".into()], guild)).await;
    assert!(text.contains("not available any more"), "{text}");
}
