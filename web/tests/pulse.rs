//! `/pulse-report` over a seeded community: its figures equal the ground
//! truth's, its sentences use only those figures, it names an incident of
//! the week, and a second request within 10 minutes shows the stored one.

#[allow(unused_imports)]
mod common;

use chrono::{Duration, TimeZone};
use common::*;
use shared::Snowflake;
use shared::alerts::{AlertKind, Delivery, Incident, IncidentDetail};
use sim_scenario::truth::Scope;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_built_in_report_says_what_the_truth_says_and_is_generated_once_per_ten_minutes() {
    let (_, truth) = dst_scenario(21);
    let guild = truth.guild_ids[0];
    // The morning after the scenario's last day (UTC): the report covers
    // its last 7 days, the week before them and 1 baseline week.
    let end = at(truth.start_ms + 21 * DAY_MS) + Duration::hours(9);
    let app = start_app(end).await;
    seed(&app, &truth, guild, "UTC").await;
    // Tracked from the scenario's first day, as the seeded rollups say.
    app.db
        .set_tracking_since(Snowflake(guild), at(truth.start_ms))
        .await;
    let week_from = truth.start_ms + 14 * DAY_MS;
    let week_to = truth.start_ms + 21 * DAY_MS;
    // An incident the ingester recorded in the week.
    let raid_at = chrono::Utc
        .timestamp_millis_opt(week_from + DAY_MS)
        .unwrap();
    shared::db::alerts::insert_incident(
        &app.db.pool,
        &Incident {
            guild_id: Snowflake(guild),
            incident_id: 0,
            kind: AlertKind::JoinRaid,
            started_at: raid_at,
            detected_at: raid_at,
            last_event_at: raid_at,
            ended_at: Some(raid_at + Duration::minutes(5)),
            count: 14,
            detail: IncidentDetail::JoinRaid {
                young_accounts: 13,
                default_avatars: 14,
                joins_before: 0,
            },
            delivery: Delivery::NoChannel,
        },
    )
    .await
    .unwrap();

    let admin = admin(guild);
    let report = final_message(&app, &command("pulse-report", vec![]), &admin).await;
    let week = Scope::new(guild, week_from, week_to);
    let before = Scope::new(guild, week_from - 7 * DAY_MS, week_from);
    let (now_messages, before_messages) =
        (truth.messages_total(&week), truth.messages_total(&before));
    assert_eq!(
        field(&report, "Messages"),
        format!(
            "{} (week before {}, 2-week mean {})",
            int(now_messages),
            int(before_messages),
            // Two earlier weeks exist: the one before and the first.
            serverpulse_web::pulse::builtin::decimal(
                (before_messages
                    + truth.messages_total(&Scope::new(
                        guild,
                        truth.start_ms,
                        week_from - 7 * DAY_MS
                    ))) as f64
                    / 2.0
            )
        )
    );
    assert_eq!(
        field(&report, "Active members"),
        format!(
            "{} (week before {}, 2-week mean {})",
            truth.active_members(&week).len(),
            truth.active_members(&before).len(),
            serverpulse_web::pulse::builtin::decimal(
                (truth.active_members(&before).len()
                    + truth
                        .active_members(&Scope::new(guild, truth.start_ms, week_from - 7 * DAY_MS))
                        .len()) as f64
                    / 2.0
            )
        )
    );
    let text = description(&report);
    assert!(text.contains("**What changed most**"), "{text}");
    assert!(
        text.contains("Join raid on <t:")
            && text.contains("14 joins, 13 accounts younger than 7 days"),
        "{text}"
    );
    assert!(text.contains("cannot judge how members feel"), "{text}");
    // The busiest hour it names is the truth's.
    let heat = truth.message_heatmap(&week, chrono_tz::UTC);
    let (day, hour, most) = (0..7)
        .flat_map(|d| (0..24).map(move |h| (d, h)))
        .map(|(d, h)| (d, h, heat[d][h]))
        .max_by_key(|(d, h, m)| (*m, std::cmp::Reverse((*d, *h))))
        .unwrap();
    let weekday = chrono::Weekday::try_from(day as u8).unwrap();
    assert!(
        text.contains(&format!(
            "The busiest hour was {weekday} {hour:02}:00 (UTC) with {} messages",
            int(most)
        )),
        "{text}"
    );

    // Within 10 minutes: the stored report, said to be so; nothing new stored.
    let again = final_message(&app, &command("pulse-report", vec![]), &admin).await;
    assert!(
        content(&again).contains("a new one can be made"),
        "{}",
        content(&again)
    );
    assert_eq!(description(&again), text);
    let stored: i64 = sqlx::query_scalar("select count(*) from pulse_reports")
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(stored, 1);

    let refused = final_message(
        &app,
        &command("pulse-report", vec![]),
        &discord_sim::Invoker::member(guild, guild + 1),
    )
    .await;
    assert!(content(&refused).contains("Manage Server"));
}

fn int(n: u64) -> String {
    serverpulse_web::reply::int(n as i64)
}

/// Ten days of data: the week before the reported week began before
/// tracking did, so nothing is compared with it (no percentage, no
/// "grew" or "went quiet" channel), and the figures say why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_week_before_tracking_began_is_not_compared() {
    let (_, truth) = dst_scenario(10);
    let guild = truth.guild_ids[0];
    let end = at(truth.start_ms + 10 * DAY_MS) + Duration::hours(9);
    let app = start_app(end).await;
    seed(&app, &truth, guild, "UTC").await;
    app.db
        .set_tracking_since(Snowflake(guild), at(truth.start_ms))
        .await;
    let report = final_message(&app, &command("pulse-report", vec![]), &admin(guild)).await;
    let why = format!(
        "week before not compared: no data before <t:{}:f> (partway through the previous period)",
        truth.start_ms / 1000
    );
    for name in ["Messages", "Active members", "Joins"] {
        let value = field(&report, name);
        assert!(value.ends_with(&format!("({why})")), "{name}: {value}");
    }
    let text = description(&report);
    assert!(
        text.contains("Not compared with the week before: no data before <t:"),
        "{text}"
    );
    assert!(
        text.contains("Channels are not compared with the week before"),
        "{text}"
    );
    assert!(
        !text.contains('%') && !text.contains("grew") && !text.contains("went quiet"),
        "{text}"
    );
}
