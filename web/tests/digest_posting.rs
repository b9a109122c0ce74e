//! Digests end to end on the simulator: configured through signed
//! interactions, posted by `serverpulse-web digests run` processes (or the
//! in-process runner with a clock), read back from the simulator's channels.

#[allow(unused_imports)]
mod common;

use std::process::{Command, Output, Stdio};

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Timelike, Utc};
use chrono_tz::Europe::Berlin;
use common::*;
use discord_sim::ChannelAccess;
use discord_sim::{FinalMessage, RestFault};
use serde_json::Value;
use serverpulse_web::delivery::{LEASE, Poster};
use serverpulse_web::digest;
use shared::Snowflake;
use shared::db::digest_settings::{self, DigestFrequency, DigestSchedule};
use shared::db::outbox;
use sim_scenario::truth::Scope;

const POST_ROUTE: &str = "POST /channels/{channel_id}/messages";
const FIRST_GUILD: u64 = 1_300_000_000_000_000_101;
const FIRST_CHANNEL: u64 = 1_400_000_000_000_000_101;

fn utc(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, min, 0).unwrap()
}

/// Wednesday 28 October 2026, noon UTC: when the admins configure.
fn configured_at() -> DateTime<Utc> {
    utc(2026, 10, 28, 12, 0)
}

/// Thursday 29 October, 09:01 in Berlin: the daily digest of the 28th is due.
fn due_at() -> DateTime<Utc> {
    utc(2026, 10, 29, 8, 1)
}

/// `/setup` (timezone, update channel) then `/set-digest`, as an admin;
/// returns the `/set-digest` answer.
async fn configure(
    app: &App,
    guild: u64,
    channel: Option<u64>,
    frequency: &str,
    hour: Option<i64>,
) -> FinalMessage {
    let mut setup = vec![string("timezone", "Europe/Berlin")];
    if let Some(channel) = channel {
        app.sim
            .rest
            .set_channel_access(channel, ChannelAccess::Writable);
        setup.push(common::channel("update_channel", channel, "updates", 0));
    }
    final_message(app, &command("setup", setup), &admin(guild)).await;
    let mut options = vec![string("frequency", frequency)];
    if let Some(hour) = hour {
        options.push(discord_sim::CommandOption::new(
            "hour",
            discord_sim::OptionValue::Integer(hour),
        ));
    }
    let answer = final_message(app, &command("set-digest", options), &admin(guild)).await;
    assert!(answer.ephemeral());
    answer
}

/// `serverpulse-web digests run --at <at>` against the app's database and
/// the simulator, started (not awaited).
fn digests_run(app: &App, at: DateTime<Utc>) -> std::process::Child {
    let keys = discord_sim::InteractionKeys::from_secret([3; 32]);
    Command::new(env!("CARGO_BIN_EXE_serverpulse-web"))
        .args(["digests", "run", "--at", &at.to_rfc3339()])
        .env_clear()
        .env("DATABASE_URL", &app.db.url)
        .env("DISCORD_TOKEN", TOKEN)
        .env(
            "DISCORD_APPLICATION_ID",
            discord_sim::DEFAULT_APPLICATION_ID.to_string(),
        )
        .env("DISCORD_PUBLIC_KEY", keys.public_key_hex())
        .env("DISCORD_API_URL", app.sim.rest.api_url())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start serverpulse-web digests run")
}

/// Waits for a run and checks it exited 0; returns its stdout.
fn finished(child: std::process::Child) -> String {
    let Output {
        status,
        stdout,
        stderr,
    } = child.wait_with_output().expect("wait for the run");
    let stdout = String::from_utf8_lossy(&stdout).into_owned();
    assert!(
        status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&stderr)
    );
    stdout
}

fn run_once(app: &App, at: DateTime<Utc>) -> String {
    tokio::task::block_in_place(|| finished(digests_run(app, at)))
}

fn posts_to(app: &App, channel: u64) -> Vec<discord_sim::RecordedRequest> {
    app.sim
        .rest
        .requests()
        .into_iter()
        .filter(|r| {
            r.route.as_deref() == Some(POST_ROUTE)
                && r.path.ends_with(&format!("/channels/{channel}/messages"))
        })
        .collect()
}

/// The AI providers of a run whose guilds chose none (built-in reports).
fn no_providers() -> serverpulse_web::pulse::providers::Providers {
    serverpulse_web::pulse::providers::Providers::new(&shared::config::AiConfig::default())
}

fn embed_of(message: &Value) -> &Value {
    &message["embeds"][0]
}

fn field_of<'a>(message: &'a Value, name: &str) -> &'a str {
    embed_of(message)["fields"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|f| f["name"] == name)
        .and_then(|f| f["value"].as_str())
        .unwrap_or_else(|| panic!("no field {name:?} in {message}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_runs_at_once_post_one_digest_per_guild_and_a_third_posts_nothing() {
    let app = start_app(configured_at()).await;
    let guilds: Vec<(u64, u64)> = (0..3)
        .map(|i| (FIRST_GUILD + i, FIRST_CHANNEL + i))
        .collect();
    for (guild, channel) in &guilds {
        let answer = configure(&app, *guild, Some(*channel), "daily", Some(9)).await;
        assert!(
            content(&answer).contains(&format!(
                "The first goes to <#{channel}> at Thu 29 Oct 09:00."
            )),
            "{}",
            content(&answer)
        );
    }
    // A guild without an update channel: told so, and recorded, not posted.
    let lonely = FIRST_GUILD + 10;
    let answer = configure(&app, lonely, None, "daily", None).await;
    assert!(
        content(&answer).contains("No update channel is set"),
        "{}",
        content(&answer)
    );

    let outputs = tokio::task::block_in_place(|| {
        let first = digests_run(&app, due_at());
        let second = digests_run(&app, due_at());
        [finished(first), finished(second)]
    });
    for (_, channel) in &guilds {
        let messages = app.sim.rest.channel_messages(*channel);
        assert_eq!(messages.len(), 1, "{channel}: {outputs:?}");
        assert_eq!(
            embed_of(&messages[0].message)["title"],
            "Daily digest · Wed 28 Oct 2026"
        );
        assert_eq!(posts_to(&app, *channel).len(), 1);
    }
    let both = outputs.join("");
    assert_eq!(both.matches(": queued\n").count(), 3, "{both}");
    assert_eq!(
        both.matches(&format!("guild {lonely} daily digest of"))
            .count(),
        1,
        "{both}"
    );
    assert!(both.contains("skipped_no_channel"), "{both}");

    // A malformed instant: one line saying what is expected, non-zero exit.
    let malformed = tokio::task::block_in_place(|| {
        Command::new(env!("CARGO_BIN_EXE_serverpulse-web"))
            .args(["digests", "run", "--at", "tomorrow"])
            .env_clear()
            .output()
            .unwrap()
    });
    assert!(!malformed.status.success());
    let stderr = String::from_utf8_lossy(&malformed.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("--at expects an RFC 3339 instant"),
        "{stderr}"
    );

    let third = run_once(&app, due_at() + Duration::minutes(5));
    assert!(third.contains("0 digests claimed, 0 posted"), "{third}");
    for (_, channel) in &guilds {
        assert_eq!(app.sim.rest.channel_messages(*channel).len(), 1);
    }
}

/// A process that dies after Discord created the message and before its
/// commit leaves the outbox item claimed but not delivered. The test stops
/// there by doing the run's own steps (claim the digest, claim the outbox
/// item, POST it with its nonce) and not recording the answer; that is the
/// exact database and Discord state the killed process leaves, without a
/// crash hook in the binary. A real run after the lease posts nothing new.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_that_died_between_the_post_and_its_commit_is_not_posted_twice() {
    let app = start_app(configured_at()).await;
    let (guild, channel) = (FIRST_GUILD, FIRST_CHANNEL);
    configure(&app, guild, Some(channel), "daily", Some(9)).await;
    let pool = &app.db.pool;
    let report = digest::run_due(pool, due_at()).await.unwrap();
    assert_eq!(report.queued(), 1);
    let claimed = outbox::claim_due(pool, due_at(), LEASE, 10).await.unwrap();
    assert_eq!(claimed.len(), 1);
    let item = &claimed[0];
    let poster = Poster::new(
        &app.sim.rest.api_url(),
        app.state.config.discord_token.clone(),
    );
    let posted = poster
        .create_message(item.channel_id, &item.payload, &item.files, &item.nonce)
        .await
        .unwrap();
    // The process dies here.

    let during_lease = run_once(&app, due_at() + Duration::seconds(30));
    assert!(during_lease.contains("0 posted"), "{during_lease}");
    let after_lease = run_once(&app, due_at() + LEASE);
    assert!(after_lease.contains("1 posted"), "{after_lease}");

    let messages = app.sim.rest.channel_messages(channel);
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].message["id"], posted.to_string());
    // Both sends reached Discord; the nonce made the second one the first.
    let posts = posts_to(&app, channel);
    assert_eq!(posts.len(), 2);
    assert!(posts.iter().all(|p| p.status == 200), "{posts:?}");
    let stored = outbox::find(pool, &item.identity_key)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.discord_message_id, Some(posted));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bucket_and_a_429_delay_digests_without_losing_or_doubling_one() {
    let app = start_app(configured_at()).await;
    let channel = FIRST_CHANNEL;
    let guilds: Vec<u64> = (0..7).map(|i| FIRST_GUILD + i).collect();
    for guild in &guilds {
        configure(&app, *guild, Some(channel), "daily", Some(9)).await;
    }
    app.sim
        .rest
        .inject_fault(RestFault::rate_limited(POST_ROUTE, 0.5, 1).in_channel(channel));

    let output = run_once(&app, due_at());
    assert!(output.contains("7 digests claimed, 7 posted"), "{output}");

    let messages = app.sim.rest.channel_messages(channel);
    assert_eq!(messages.len(), 7);
    let mut nonces: Vec<String> = messages
        .iter()
        .map(|m| m.message["nonce"].as_str().unwrap().to_owned())
        .collect();
    nonces.sort();
    nonces.dedup();
    assert_eq!(nonces.len(), 7, "one message per guild");
    let posts = posts_to(&app, channel);
    let refused: Vec<_> = posts.iter().filter(|p| p.status == 429).collect();
    // The forced 429 was waited out; the channel's 5-per-5-s bucket was
    // respected from its headers, so it never answered 429 itself.
    assert_eq!(refused.len(), 1, "{posts:?}");
    assert_eq!(posts.iter().filter(|p| p.status == 200).count(), 7);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_channel_that_answers_403_is_not_retried_and_the_admin_is_told() {
    let app = start_app(configured_at()).await;
    let (guild, channel) = (FIRST_GUILD, FIRST_CHANNEL);
    configure(&app, guild, Some(channel), "daily", Some(9)).await;
    app.sim
        .rest
        .set_channel_access(channel, ChannelAccess::MissingPermissions);

    let output = run_once(&app, due_at());
    assert!(
        output.contains("0 posted, 0 to retry, 1 failed"),
        "{output}"
    );
    let next_day = run_once(&app, due_at() + Duration::days(1));
    assert!(next_day.contains("skipped_channel_failing"), "{next_day}");
    let posts = posts_to(&app, channel);
    assert_eq!(posts.len(), 1, "one attempt: {posts:?}");
    assert_eq!(posts[0].status, 403);

    let setup = final_message(&app, &command("setup", vec![]), &admin(guild)).await;
    let problem = field(&setup, "Update channel problem");
    assert!(
        problem.contains(&format!("could not post in <#{channel}>"))
            && problem.contains("Send Messages, Embed Links and Attach Files"),
        "{problem}"
    );
    // The next settings command says it too.
    let answer = final_message(
        &app,
        &command("set-digest", vec![string("frequency", "daily")]),
        &admin(guild),
    )
    .await;
    assert!(
        content(&answer).contains("could not post in"),
        "{}",
        content(&answer)
    );

    // Both the admin's choice and ServerPulse's failure are audited.
    let audit = shared::db::settings::audit_trail(&app.db.pool, Snowflake(guild), 50)
        .await
        .unwrap();
    let by = |action: &str| {
        audit
            .iter()
            .filter(|a| a.action == action)
            .map(|a| a.actor_id)
            .collect::<Vec<_>>()
    };
    let admin_id = Snowflake(admin(guild).user_id);
    assert_eq!(by("digest.set"), [admin_id, admin_id]);
    assert_eq!(
        by("update_channel.delivery_failed"),
        [digest_settings::SYSTEM_ACTOR]
    );
    // A member without Manage Server may not change the schedule.
    let refused = final_message(
        &app,
        &command("set-digest", vec![string("frequency", "hourly")]),
        &discord_sim::Invoker::member(guild, guild + 1),
    )
    .await;
    assert!(
        content(&refused).contains("Manage Server"),
        "{}",
        content(&refused)
    );
    let kept = digest_settings::load(&app.db.pool, Snowflake(guild))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(kept.schedule.frequency, Some(DigestFrequency::Daily));

    // Permissions given back, the channel chosen again: posted again.
    app.sim
        .rest
        .set_channel_access(channel, ChannelAccess::Writable);
    let again = command(
        "set-update-channel",
        vec![common::channel("channel", channel, "updates", 0)],
    );
    let answer = final_message(&app, &again, &admin(guild)).await;
    assert_eq!(content(&answer), "Digests and alerts will go to #updates.");
    let third_day = run_once(&app, due_at() + Duration::days(2));
    assert!(third_day.contains("1 posted"), "{third_day}");
    assert_eq!(app.sim.rest.channel_messages(channel).len(), 1);
}

/// Every hour of 30 days around a DST change, the in-process runner with
/// that hour as its clock; returns, per channel, the instants at which a
/// message appeared and its title.
async fn hourly_runs(
    from: DateTime<Utc>,
    guilds: &[(u64, u64, DigestSchedule)],
) -> Vec<Vec<(DateTime<Utc>, String)>> {
    let db = shared::testing::TestDatabase::create().await;
    let mut config = serverpulse_testkit::sim::config(TOKEN);
    // Thirty days in a few seconds would wait on the real 5-per-5-s bucket.
    config.rest.message_bucket = None;
    let sim = serverpulse_testkit::sim::start(
        config,
        sim_scenario::Scenario {
            seed: 0,
            start_ms: from.timestamp_millis(),
            days: 0,
            guilds: Vec::new(),
            events: Vec::new(),
        },
    )
    .await;
    let admin = Snowflake(7);
    for (guild, channel, schedule) in guilds {
        sim.rest
            .set_channel_access(*channel, ChannelAccess::Writable);
        let mut tx = db.pool.begin().await.unwrap();
        let g = Snowflake(*guild);
        shared::db::settings::set_tracking(&mut tx, g, admin, true)
            .await
            .unwrap();
        shared::db::settings::set_timezone(&mut tx, g, admin, "Europe/Berlin")
            .await
            .unwrap();
        shared::db::settings::set_update_channel(&mut tx, g, admin, Some(Snowflake(*channel)))
            .await
            .unwrap();
        digest_settings::set_schedule(&mut tx, g, admin, *schedule, from)
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }
    let poster = Poster::new(
        &sim.rest.api_url(),
        shared::config::Secret::new(TOKEN.to_owned()),
    );
    let mut seen = vec![Vec::new(); guilds.len()];
    for hour in 1..=30 * 24 {
        let at = from + Duration::hours(hour);
        let report = digest::run_and_deliver(&db.pool, &poster, &no_providers(), at)
            .await
            .unwrap();
        assert_eq!(report.delivery.retrying + report.delivery.failed, 0);
        for (i, (_, channel, _)) in guilds.iter().enumerate() {
            let messages = sim.rest.channel_messages(*channel);
            for message in &messages[seen[i].len()..] {
                let title = embed_of(&message.message)["title"]
                    .as_str()
                    .unwrap()
                    .to_owned();
                seen[i].push((at, title));
            }
        }
    }
    seen
}

fn schedule(frequency: DigestFrequency, hour: u8) -> DigestSchedule {
    DigestSchedule {
        frequency: Some(frequency),
        hour,
        weekday: chrono::Weekday::Mon,
    }
}

fn daily_title(day: NaiveDate) -> String {
    format!("Daily digest · {}", day.format("%a %-d %b %Y"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn daily_and_weekly_digests_keep_their_local_hour_across_both_dst_changes() {
    // Spring (29 March: 02:00 does not exist) and autumn (25 October:
    // 02:00–03:00 happens twice), 30 days each, from a local midnight.
    for (from, changed) in [
        (
            utc(2026, 3, 14, 23, 0),
            NaiveDate::from_ymd_opt(2026, 3, 29).unwrap(),
        ),
        (
            utc(2026, 10, 9, 22, 0),
            NaiveDate::from_ymd_opt(2026, 10, 25).unwrap(),
        ),
    ] {
        let guilds = [
            (
                FIRST_GUILD,
                FIRST_CHANNEL,
                schedule(DigestFrequency::Daily, 9),
            ),
            (
                FIRST_GUILD + 1,
                FIRST_CHANNEL + 1,
                schedule(DigestFrequency::Weekly, 9),
            ),
            (
                FIRST_GUILD + 2,
                FIRST_CHANNEL + 2,
                schedule(DigestFrequency::Daily, 2),
            ),
        ];
        let seen = hourly_runs(from, &guilds).await;
        let first_day = from.with_timezone(&Berlin).date_naive();

        // Daily at 09:00: one a day, each of the day before, at 09:00 local.
        let daily = &seen[0];
        assert_eq!(daily.len(), 30, "{daily:?}");
        for (n, (at, title)) in daily.iter().enumerate() {
            let local = at.with_timezone(&Berlin);
            let day = first_day + Duration::days(n as i64);
            assert_eq!((local.date_naive(), local.hour()), (day, 9), "{title}");
            assert_eq!(title, &daily_title(day - Duration::days(1)));
        }

        // Weekly on Mondays at 09:00: the Monday–Sunday week before, then
        // the Pulse Report of the same week.
        let weekly = &seen[1];
        let mondays: Vec<NaiveDate> = (0..30)
            .map(|d| first_day + Duration::days(d))
            .filter(|d| d.weekday() == chrono::Weekday::Mon)
            .collect();
        assert_eq!(weekly.len(), 2 * mondays.len(), "{weekly:?}");
        for (pair, monday) in weekly.chunks(2).zip(&mondays) {
            let [(at, title), (report_at, report)] = pair else {
                unreachable!()
            };
            let local = at.with_timezone(&Berlin);
            assert_eq!((local.date_naive(), local.hour()), (*monday, 9), "{title}");
            let week = title
                .strip_prefix("Weekly digest · ")
                .unwrap_or_else(|| panic!("{title}"));
            assert_eq!(report_at, at);
            assert!(
                week.starts_with(report.trim_start_matches("Pulse Report: ")),
                "{title} then {report}"
            );
        }
        assert!(weekly.iter().any(|(at, _)| *at > from + Duration::days(7)));

        // Daily at 02:00: on the spring change's day 02:00 does not exist,
        // so it comes at 03:00; every other day at 02:00; one a day.
        let early = &seen[2];
        assert_eq!(early.len(), 30, "{early:?}");
        for (n, (at, title)) in early.iter().enumerate() {
            let local = at.with_timezone(&Berlin);
            let day = first_day + Duration::days(n as i64);
            let hour = if day == changed && changed.month() == 3 {
                3
            } else {
                2
            };
            assert_eq!((local.date_naive(), local.hour()), (day, hour), "{title}");
            assert_eq!(title, &daily_title(day - Duration::days(1)));
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_daily_digest_shows_the_figures_of_serverstats_overview_for_its_day() {
    // Wednesday 28 October in Berlin (CET, 24 hours), inside the scenario.
    let day_end = utc(2026, 10, 28, 23, 0);
    let (_, truth) = dst_scenario(10);
    let guild = truth.guild_ids[0];
    let channel = FIRST_CHANNEL;
    let app = start_app(day_end).await;
    seed(&app, &truth, guild, "Europe/Berlin").await;
    configure(&app, guild, Some(channel), "daily", Some(9)).await;

    let poster = Poster::new(
        &app.sim.rest.api_url(),
        app.state.config.discord_token.clone(),
    );
    let report = digest::run_and_deliver(&app.db.pool, &poster, &no_providers(), due_at())
        .await
        .unwrap();
    assert_eq!(report.delivery.delivered, 1, "{report:?}");
    let posted = app.sim.rest.channel_messages(channel);
    assert_eq!(posted.len(), 1);
    let digest = &posted[0].message;
    assert_eq!(embed_of(digest)["title"], "Daily digest · Wed 28 Oct 2026");

    // The same local day through the signed interaction: the last 24 hours
    // at its end.
    let overview = final_message(
        &app,
        &command(
            "serverstats",
            vec![sub("overview", vec![string("timeframe", "24h")])],
        ),
        &admin(guild),
    )
    .await;
    for name in [
        "Messages",
        "Reactions",
        "Joins",
        "Leaves",
        "Net growth",
        "Active members",
        "Threads created",
    ] {
        assert_eq!(
            figure(field_of(digest, name)),
            figure(field(&overview, name)),
            "{name}"
        );
    }
    assert_eq!(
        figure_with(field_of(digest, "Voice time"), seconds),
        figure_with(field(&overview, "Voice time"), seconds)
    );

    // And both are the ground truth.
    let ms = |t: DateTime<Utc>| t.timestamp_millis();
    let scope = Scope::new(guild, ms(day_end - Duration::days(1)), ms(day_end));
    let before = Scope::new(
        guild,
        ms(day_end - Duration::days(2)),
        ms(day_end - Duration::days(1)),
    );
    assert_eq!(
        figure(field_of(digest, "Messages")),
        (
            truth.messages_total(&scope) as i64,
            Some(truth.messages_total(&before) as i64)
        )
    );
    assert!(truth.messages_total(&scope) > 0);
    let growth = truth.growth(&scope);
    assert_eq!(figure(field_of(digest, "Joins")).0, growth.joins as i64);
    assert_eq!(
        figure(field_of(digest, "Active members")).0,
        truth.activity_ratio(&scope).active as i64
    );
}

/// Two `serve` replicas, each with the scheduler and the outbox worker,
/// post a digest that is due once, and stop cleanly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_serving_replicas_post_a_due_digest_once() {
    let db = shared::testing::TestDatabase::create().await;
    let sim = serverpulse_testkit::sim::start(
        serverpulse_testkit::sim::config(TOKEN),
        sim_scenario::Scenario {
            seed: 0,
            start_ms: 0,
            days: 0,
            guilds: Vec::new(),
            events: Vec::new(),
        },
    )
    .await;
    let (guild, channel) = (Snowflake(FIRST_GUILD), FIRST_CHANNEL);
    sim.rest
        .set_channel_access(channel, ChannelAccess::Writable);
    // Daily at 00:00 UTC since two days ago: today's is due (late), the one
    // before is more than a period late and only recorded.
    let now = Utc::now();
    let admin = Snowflake(7);
    let mut tx = db.pool.begin().await.unwrap();
    shared::db::settings::set_tracking(&mut tx, guild, admin, true)
        .await
        .unwrap();
    shared::db::settings::set_update_channel(&mut tx, guild, admin, Some(Snowflake(channel)))
        .await
        .unwrap();
    digest_settings::set_schedule(
        &mut tx,
        guild,
        admin,
        schedule(DigestFrequency::Daily, 0),
        now - Duration::days(2),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();

    let keys = discord_sim::InteractionKeys::generate();
    let (app_id, public_key, api) = (
        discord_sim::DEFAULT_APPLICATION_ID.to_string(),
        keys.public_key_hex(),
        sim.rest.api_url(),
    );
    let vars: Vec<(&str, &str)> = vec![
        ("DATABASE_URL", &db.url),
        ("DISCORD_TOKEN", TOKEN),
        ("DISCORD_APPLICATION_ID", &app_id),
        ("DISCORD_PUBLIC_KEY", &public_key),
        ("DISCORD_API_URL", &api),
    ];
    let mut replicas = Vec::new();
    for _ in 0..2 {
        let config = shared::config::WebConfig::from_source(vars.as_slice()).unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let ops = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let metrics = metrics_exporter_prometheus::PrometheusBuilder::new()
            .build_recorder()
            .handle();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(serverpulse_web::serve(
            config,
            listener,
            ops,
            metrics,
            async move {
                let _ = stopped.await;
            },
        ));
        replicas.push((stop, server));
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while sim.rest.channel_messages(channel).is_empty() && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    // Give the other replica its chance to post a second one (it must not).
    tokio::time::sleep(std::time::Duration::from_secs(6)).await;
    for (stop, server) in replicas {
        let _ = stop.send(());
        server.await.unwrap().unwrap();
    }
    let messages = sim.rest.channel_messages(channel);
    assert_eq!(messages.len(), 1);
    let runs = shared::db::digests::runs_of(&db.pool, guild, 10)
        .await
        .unwrap();
    let outcomes: Vec<_> = runs.iter().map(|r| r.outcome.key()).collect();
    assert_eq!(
        outcomes.iter().filter(|o| o.starts_with("queued")).count(),
        1,
        "{outcomes:?}"
    );
    assert!(outcomes.contains(&"skipped_too_late"), "{outcomes:?}");
}
