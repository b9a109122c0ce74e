//! `/alerts`, `/toggle-alert` and `/alert-threshold` through signed
//! interactions on the simulator: defaults shown, changes stored and
//! audited, bad values refused with a reason, and incidents listed with
//! where their message went (a 403 from the update channel included).

#[allow(unused_imports)]
mod common;

use chrono::{DateTime, Duration, TimeZone, Utc};
use common::*;
use discord_sim::{ChannelAccess, CommandOption, Invoker, OptionValue};
use serverpulse_web::delivery::{self, Poster};
use shared::Snowflake;
use shared::alerts::{AlertKind, AlertSettings, Delivery, Incident, IncidentDetail, render};
use shared::db::alerts;
use shared::db::outbox::{self, NewOutboxItem, OutboxKind, OutboxState};

const GUILD: u64 = 1_300_000_000_000_000_301;
const CHANNEL: u64 = 1_400_000_000_000_000_301;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 2, 12, 0, 0).unwrap()
}

fn boolean(name: &str, value: bool) -> CommandOption {
    CommandOption::new(name, OptionValue::Boolean(value))
}

fn integer(name: &str, value: i64) -> CommandOption {
    CommandOption::new(name, OptionValue::Integer(value))
}

fn number(name: &str, value: f64) -> CommandOption {
    CommandOption::new(name, OptionValue::Number(value))
}

async fn answer(app: &App, name: &str, options: Vec<CommandOption>, who: &Invoker) -> String {
    let message = final_message(app, &command(name, options), who).await;
    let mut text = content(&message).to_owned();
    if !message.message["embeds"]
        .as_array()
        .is_none_or(Vec::is_empty)
    {
        text.push('\n');
        text.push_str(&message.message["embeds"][0].to_string());
    }
    text
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_show_defaults_and_admins_change_them_with_reasons_for_refusals() {
    let app = start_app(now()).await;
    let admin = admin(GUILD);
    final_message(&app, &command("setup", vec![]), &admin).await;

    let overview = answer(&app, "alerts", vec![], &admin).await;
    for expected in [
        "10 joins within 1 min",
        "5 messages deleted within 30 s",
        "50% below the usual for that hour (when the usual is at least 20 messages/hour)",
        "3× the usual people in voice for that hour (at least 5 people)",
        "cooldown 10 min",
        "No update channel is set: incidents are recorded and listed here, not posted",
        "None so far.",
    ] {
        assert!(overview.contains(expected), "{expected:?} in {overview}");
    }

    // A snooze: off for an hour, on again after.
    let snoozed = answer(
        &app,
        "toggle-alert",
        vec![
            string("kind", "join_raid"),
            boolean("enabled", false),
            string("snooze", "1h"),
        ],
        &admin,
    )
    .await;
    let until = now() + Duration::hours(1);
    assert!(
        snoozed.contains(&format!("snoozed until <t:{}:f>", until.timestamp())),
        "{snoozed}"
    );
    let raid = alerts::settings_of(&app.db.pool, Snowflake(GUILD))
        .await
        .unwrap()
        .get(AlertKind::JoinRaid)
        .clone();
    assert!(!raid.is_active(now()) && raid.is_active(until));
    assert!(
        answer(&app, "alerts", vec![], &admin)
            .await
            .contains("**Snoozed** until")
    );

    // Off, then on again (which ends the snooze).
    answer(
        &app,
        "toggle-alert",
        vec![string("kind", "voice_surge"), boolean("enabled", false)],
        &admin,
    )
    .await;
    let on = answer(
        &app,
        "toggle-alert",
        vec![string("kind", "join_raid"), boolean("enabled", true)],
        &admin,
    )
    .await;
    assert!(on.contains("Join raid alerts are on"), "{on}");
    let stored = alerts::settings_of(&app.db.pool, Snowflake(GUILD))
        .await
        .unwrap();
    assert!(stored.get(AlertKind::JoinRaid).is_active(now()));
    assert!(
        !stored
            .get(AlertKind::VoiceSurge)
            .is_active(now() + Duration::days(30))
    );
    let refused = answer(
        &app,
        "toggle-alert",
        vec![
            string("kind", "join_raid"),
            boolean("enabled", true),
            string("snooze", "1h"),
        ],
        &admin,
    )
    .await;
    assert!(
        refused.contains("use enabled:false with snooze"),
        "{refused}"
    );

    // Thresholds, windows, cooldowns.
    let changed = answer(
        &app,
        "alert-threshold",
        vec![
            string("kind", "mass_delete"),
            number("threshold", 12.0),
            integer("window_seconds", 45),
            integer("cooldown_minutes", 20),
        ],
        &admin,
    )
    .await;
    assert!(
        changed.contains("12 messages deleted within 45 s") && changed.contains("cooldown 20 min"),
        "{changed}"
    );
    let deletion = alerts::settings_of(&app.db.pool, Snowflake(GUILD))
        .await
        .unwrap()
        .get(AlertKind::MassDelete)
        .clone();
    assert_eq!(
        (
            deletion.threshold,
            deletion.window_secs,
            deletion.cooldown_secs
        ),
        (12.0, 45, 1200)
    );
    for (options, reason) in [
        (
            vec![
                string("kind", "activity_drop"),
                number("threshold", 50.0),
                integer("window_seconds", 60),
            ],
            "looks at whole hours",
        ),
        (
            vec![string("kind", "activity_drop"), number("threshold", 500.0)],
            "threshold is 10 to 100",
        ),
        (
            vec![
                string("kind", "join_raid"),
                number("threshold", 10.0),
                integer("minimum", 3),
            ],
            "has no minimum",
        ),
        (
            vec![string("kind", "raid"), number("threshold", 10.0)],
            "`raid` is not an alert kind",
        ),
    ] {
        let text = answer(&app, "alert-threshold", options, &admin).await;
        assert!(text.contains(reason), "{reason:?} in {text}");
    }
    assert_eq!(
        alerts::settings_of(&app.db.pool, Snowflake(GUILD))
            .await
            .unwrap()
            .get(AlertKind::ActivityDrop),
        &AlertSettings::default_for(AlertKind::ActivityDrop),
        "a refused change changes nothing"
    );

    // Members without Manage Server neither see nor change alerts.
    let member = Invoker::member(GUILD, GUILD + 1);
    for (name, options) in [
        ("alerts", vec![]),
        (
            "toggle-alert",
            vec![string("kind", "join_raid"), boolean("enabled", false)],
        ),
    ] {
        let text = answer(&app, name, options, &member).await;
        assert!(text.contains("Manage Server"), "{text}");
    }
    assert!(
        alerts::settings_of(&app.db.pool, Snowflake(GUILD))
            .await
            .unwrap()
            .get(AlertKind::JoinRaid)
            .is_active(now())
    );

    let audit = shared::db::settings::audit_trail(&app.db.pool, Snowflake(GUILD), 50)
        .await
        .unwrap();
    let actions: Vec<&str> = audit
        .iter()
        .map(|a| a.action.as_str())
        .filter(|a| a.starts_with("alert."))
        .collect();
    assert_eq!(
        actions,
        [
            "alert.threshold",
            "alert.toggle",
            "alert.toggle",
            "alert.toggle"
        ],
        "newest first, one entry per applied change"
    );
}

/// An incident as the ingester records it, with its outbox item.
async fn record_incident(app: &App, count: i32) -> Incident {
    let at = now() - Duration::minutes(10);
    let incident = alerts::insert_incident(
        &app.db.pool,
        &Incident {
            guild_id: Snowflake(GUILD),
            incident_id: 0,
            kind: AlertKind::JoinRaid,
            started_at: at,
            detected_at: at + Duration::seconds(20),
            last_event_at: at + Duration::seconds(40),
            ended_at: None,
            count,
            detail: IncidentDetail::JoinRaid {
                young_accounts: 11,
                default_avatars: 12,
                joins_before: 0,
            },
            delivery: Delivery::Posted,
        },
    )
    .await
    .unwrap();
    outbox::enqueue(
        &app.db.pool,
        &NewOutboxItem {
            kind: OutboxKind::Alert,
            identity_key: incident.outbox_key(),
            guild_id: Snowflake(GUILD),
            channel_id: Snowflake(CHANNEL),
            payload: render(&incident, &AlertSettings::default_for(AlertKind::JoinRaid)),
            files: vec![],
            not_before: now(),
        },
    )
    .await
    .unwrap();
    incident
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_update_channel_that_answers_403_stops_alerts_and_alerts_says_so() {
    let app = start_app(now()).await;
    let admin = admin(GUILD);
    app.sim
        .rest
        .set_channel_access(CHANNEL, ChannelAccess::Writable);
    final_message(
        &app,
        &command(
            "setup",
            vec![common::channel("update_channel", CHANNEL, "updates", 0)],
        ),
        &admin,
    )
    .await;
    let poster = Poster::new(
        &app.sim.rest.api_url(),
        app.state.config.discord_token.clone(),
    );

    // Posted once, then edited in place as the incident grows.
    let mut first = record_incident(&app, 12).await;
    let report = delivery::deliver_due(&app.db.pool, &poster, now())
        .await
        .unwrap();
    assert_eq!(report.delivered, 1);
    first.count = 15;
    first.ended_at = Some(now());
    alerts::update_incident(&app.db.pool, &first).await.unwrap();
    outbox::request_edit(
        &app.db.pool,
        &first.outbox_key(),
        &render(&first, &AlertSettings::default_for(AlertKind::JoinRaid)),
        now(),
    )
    .await
    .unwrap();
    delivery::deliver_due(&app.db.pool, &poster, now())
        .await
        .unwrap();
    let messages = app.sim.rest.channel_messages(CHANNEL);
    assert_eq!(messages.len(), 1, "one message per incident");
    let posted = messages[0].message.to_string();
    assert!(
        posted.contains("15 members joined") && posted.contains("Over since"),
        "{posted}"
    );

    // Permissions taken away: the next incident's post fails once, for good.
    app.sim
        .rest
        .set_channel_access(CHANNEL, ChannelAccess::MissingPermissions);
    let second = record_incident(&app, 20).await;
    let report = delivery::deliver_due(&app.db.pool, &poster, now())
        .await
        .unwrap();
    assert_eq!(report.failed, 1);
    let item = outbox::find(&app.db.pool, &second.outbox_key())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(item.state, OutboxState::Failed);
    let report = delivery::deliver_due(&app.db.pool, &poster, now() + Duration::hours(1))
        .await
        .unwrap();
    assert_eq!(report, delivery::DeliveryReport::default(), "not retried");

    let overview = answer(&app, "alerts", vec![], &admin).await;
    assert!(
        overview.contains(&format!("could not post in <#{CHANNEL}>"))
            && overview.contains("digests and alerts are recorded but not posted"),
        "{overview}"
    );
    assert!(
        overview.contains("Join raid <t:")
            && overview
                .contains("20 joins, 11 accounts younger than 7 days (ongoing; posting failed)"),
        "{overview}"
    );
    assert!(
        overview.contains("over <t:"),
        "the first is over: {overview}"
    );
}
