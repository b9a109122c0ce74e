//! The weekly Pulse Report written by the guild's provider: queued as a
//! job by the transaction that claims the weekly digest, written by the
//! Pulse Report worker outside it (two `digests run` processes at once
//! post one report per guild and week), a hanging provider bounded and
//! replaced by the built-in report saying so, a worker that died
//! mid-generation followed by another after the lease, and the cache of
//! provider reports per (guild, week, provider, model, prompt version).

#[allow(unused_imports)]
mod common;

use std::process::{Output, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use chrono::{DateTime, Duration as Span, TimeZone, Utc};
use common::*;
use discord_sim::ChannelAccess;
use serde_json::Value;
use serverpulse_testkit::providers::{DEFAULT_REPLY, FakeProviders, Fault, TOKENS_IN, TOKENS_OUT};
use serverpulse_testkit::secrets;
use serverpulse_testkit::web::{WebApp, WebAppOptions};
use serverpulse_web::component::ComponentId;
use serverpulse_web::delivery::Poster;
use serverpulse_web::digest;
use serverpulse_web::pulse::weekly::{self, JobOutcome};
use shared::Snowflake;
use shared::config::{AiConfig, ProviderKind};
use shared::db::pulse_jobs;

const FIRST_GUILD: u64 = 1_310_000_000_000_000_101;
const FIRST_CHANNEL: u64 = 1_410_000_000_000_000_101;

fn utc(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, min, 0).unwrap()
}

/// Wednesday 28 October 2026, noon UTC: when the admins configure.
fn configured_at() -> DateTime<Utc> {
    utc(2026, 10, 28, 12, 0)
}

/// Monday 2 November, 09:01 in Berlin: the weekly digest of 26 October –
/// 1 November is due.
fn due_at() -> DateTime<Utc> {
    utc(2026, 11, 2, 8, 1)
}

fn ai(fake: &FakeProviders, master: shared::config::MasterKey) -> AiConfig {
    AiConfig {
        base_urls: ProviderKind::ALL
            .into_iter()
            .map(|k| (k, fake.url(k.name())))
            .collect(),
        master_key: Some(master),
        connect_timeout: Duration::from_secs(1),
        request_timeout: Duration::from_secs(2),
        ..AiConfig::default()
    }
}

/// Weekly digests (Mondays 09:00 Berlin) to `channel`, and OpenAI with
/// `key` (and `model`, when given) as the guild's provider, all through
/// signed interactions.
async fn configure(app: &App, guild: u64, channel: u64, key: &str, model: Option<&str>) {
    app.sim
        .rest
        .set_channel_access(channel, ChannelAccess::Writable);
    let admin = admin(guild);
    let setup = command(
        "setup",
        vec![
            string("timezone", "Europe/Berlin"),
            common::channel("update_channel", channel, "updates", 0),
        ],
    );
    final_message(app, &setup, &admin).await;
    let weekly = command("set-digest", vec![string("frequency", "weekly")]);
    final_message(app, &weekly, &admin).await;
    let mut options = vec![string("provider", "openai")];
    if let Some(model) = model {
        options.push(string("model", model));
    }
    let set = command("ai-provider", vec![sub("set", options)]);
    final_message(app, &set, &admin).await;
    let outcome = send(
        app,
        &command("ai-provider", vec![sub("key", vec![])]),
        &admin,
    )
    .await;
    let modal = outcome.response.expect("a modal");
    let submit = discord_sim::InteractionKind::ModalSubmit {
        custom_id: modal["data"]["custom_id"].as_str().unwrap().to_owned(),
        fields: vec![(ComponentId::ApiKeyInput.encode(), key.to_owned())],
    };
    let stored = final_message(app, &submit, &admin).await;
    assert!(
        content(&stored).contains("is stored encrypted"),
        "{stored:?}"
    );
}

/// The messages in `channel` whose embed title starts with `prefix`.
fn posted(app: &App, channel: u64, prefix: &str) -> Vec<Value> {
    app.sim
        .rest
        .channel_messages(channel)
        .into_iter()
        .map(|m| m.message)
        .filter(|m| {
            m["embeds"][0]["title"]
                .as_str()
                .is_some_and(|t| t.starts_with(prefix))
        })
        .collect()
}

fn text_of<'a>(message: &'a Value, key: &str) -> &'a str {
    match key {
        "footer" => message["embeds"][0]["footer"]["text"].as_str().unwrap(),
        _ => message["embeds"][0][key].as_str().unwrap(),
    }
}

fn has_field(message: &Value, name: &str) -> bool {
    message["embeds"][0]["fields"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|f| f["name"] == name && f["value"].as_str().unwrap().contains("week before"))
}

/// `serverpulse-web digests run --at <at>` with the AI configuration in
/// its environment, logging everything.
fn digests_run(app: &App, fake: &FakeProviders, master_hex: &str) -> std::process::Child {
    let keys = discord_sim::InteractionKeys::from_secret([3; 32]);
    let mut command = secrets::command(env!("CARGO_BIN_EXE_serverpulse-web"));
    command
        .args(["digests", "run", "--at", &due_at().to_rfc3339()])
        .env_clear()
        .env("RUST_LOG", "trace")
        .env("DATABASE_URL", &app.db.url)
        .env("DISCORD_TOKEN", TOKEN)
        .env(
            "DISCORD_APPLICATION_ID",
            discord_sim::DEFAULT_APPLICATION_ID.to_string(),
        )
        .env("DISCORD_PUBLIC_KEY", keys.public_key_hex())
        .env("DISCORD_API_URL", app.sim.rest.api_url())
        .env("SERVERPULSE_MASTER_KEY", master_hex)
        .env("AI_CONNECT_TIMEOUT_MS", "1000")
        .env("AI_REQUEST_TIMEOUT_MS", "2000")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for kind in ProviderKind::ALL {
        command.env(kind.base_url_var(), fake.url(kind.name()));
    }
    command.spawn().expect("start serverpulse-web digests run")
}

fn finished(name: &str, child: std::process::Child) -> String {
    let output: Output = child.wait_with_output().expect("wait for the run");
    secrets::output(name, &output);
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_digest_runs_at_once_post_one_provider_report_per_guild_and_week() {
    let _keys = secrets::check();
    let fake = FakeProviders::start().await;
    let (master, master_hex) = secrets::master_key("weekly-master");
    let app = WebApp::start(WebAppOptions {
        ai: Some(ai(&fake, master)),
        ..WebAppOptions::at(TOKEN, configured_at())
    })
    .await;
    let guilds: Vec<(u64, u64, String)> = (0..3)
        .map(|i| {
            (
                FIRST_GUILD + i,
                FIRST_CHANNEL + i,
                secrets::api_key(&format!("weekly{i}")),
            )
        })
        .collect();
    for (guild, channel, key) in &guilds {
        configure(&app, *guild, *channel, key, None).await;
    }

    let outputs = tokio::task::block_in_place(|| {
        let first = digests_run(&app, &fake, &master_hex);
        let second = digests_run(&app, &fake, &master_hex);
        [
            finished("digests run 1", first),
            finished("digests run 2", second),
        ]
    });
    let both = outputs.join("");
    assert_eq!(
        both.matches("pulse report of").count(),
        3,
        "one report per guild: {both}"
    );
    assert_eq!(both.matches(": written by openai").count(), 3, "{both}");

    for (guild, channel, _) in &guilds {
        let messages = app.sim.rest.channel_messages(*channel);
        assert_eq!(messages.len(), 2, "a digest and a report: {messages:?}");
        assert_eq!(posted(&app, *channel, "Weekly digest").len(), 1);
        let reports = posted(&app, *channel, "Pulse Report: ");
        assert_eq!(reports.len(), 1);
        let report = &reports[0];
        // The provider's text, our figures table beside it, who wrote it.
        let description = text_of(report, "description");
        assert!(
            description.starts_with(
                &DEFAULT_REPLY.replace("## What changed most", "**What changed most**")
            ),
            "{description}"
        );
        assert!(description.contains("cannot judge how members feel"));
        for name in ["Messages", "Active members", "Joins"] {
            assert!(has_field(report, name), "{name}: {report}");
        }
        assert!(
            text_of(report, "footer").starts_with("Written by OpenAI (gpt-4o-mini)."),
            "{report}"
        );
        let jobs = pulse_jobs::of_guild(&app.db.pool, Snowflake(*guild))
            .await
            .unwrap();
        assert_eq!(jobs.len(), 1);
        assert_eq!(jobs[0].state, "done");
        assert_eq!(jobs[0].attempts, 1);
        assert!(jobs[0].report_id.is_some() && jobs[0].outbox_id.is_some());
    }
    // One request per guild, each with that guild's own key.
    let sent = fake.requests_to("openai");
    assert_eq!(sent.len(), 3);
    let mut auth: Vec<String> = sent
        .iter()
        .map(|r| r.header("authorization").unwrap().to_owned())
        .collect();
    auth.sort();
    let mut expected: Vec<String> = guilds
        .iter()
        .map(|(_, _, k)| format!("Bearer {k}"))
        .collect();
    expected.sort();
    assert_eq!(auth, expected);
    let stored: Vec<(String, i32, i32)> = sqlx::query_as(
        "select provider, tokens_in, tokens_out from pulse_reports order by report_id",
    )
    .fetch_all(&app.db.pool)
    .await
    .unwrap();
    assert_eq!(
        stored,
        vec![("openai".to_owned(), TOKENS_IN as i32, TOKENS_OUT as i32); 3]
    );

    // A third run: nothing left to write or post.
    let third = tokio::task::block_in_place(|| {
        finished("digests run 3", digests_run(&app, &fake, &master_hex))
    });
    assert!(!third.contains("pulse report of"), "{third}");
    assert!(third.contains("0 digests claimed, 0 posted"), "{third}");
    assert_eq!(fake.requests_to("openai").len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_provider_is_cut_off_and_the_built_in_report_is_posted_saying_so() {
    let _keys = secrets::check();
    let fake = FakeProviders::start().await;
    let (master, _) = secrets::master_key("hang-master");
    let app = WebApp::start(WebAppOptions {
        ai: Some(ai(&fake, master)),
        ..WebAppOptions::at(TOKEN, configured_at())
    })
    .await;
    let (guild, channel) = (FIRST_GUILD, FIRST_CHANNEL);
    configure(&app, guild, channel, &secrets::api_key("hang"), None).await;
    fake.always("openai", Some(Fault::Hang));

    let poster = Poster::new(
        &app.sim.rest.api_url(),
        app.state.config.discord_token.clone(),
    );
    let report = digest::run_and_deliver(&app.db.pool, &poster, &app.state.providers, due_at())
        .await
        .unwrap();
    assert_eq!(
        report
            .reports
            .done
            .iter()
            .map(|(_, o)| o.clone())
            .collect::<Vec<_>>(),
        vec![JobOutcome::Written("builtin".to_owned())]
    );
    let reports = posted(&app, channel, "Pulse Report: ");
    assert_eq!(reports.len(), 1);
    let description = text_of(&reports[0], "description");
    assert!(
        description.starts_with(
            "**Written by the built-in rules instead**\nOpenAI did not answer within 2 s."
        ),
        "{description}"
    );
    assert!(
        description.contains("**What changed most**"),
        "{description}"
    );
    assert!(
        text_of(&reports[0], "footer")
            .starts_with("Written by ServerPulse's built-in rules (the fallback)."),
        "{}",
        reports[0]
    );
    assert_eq!(fake.requests_to("openai").len(), 1);
    assert_eq!(posted(&app, channel, "Weekly digest").len(), 1);
}

/// A worker that claimed the job and died (the claim is the state it
/// leaves) holds it for its lease; then the next round writes and posts it
/// once. The retention job removes the job and the report after 180 days.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_whose_worker_died_is_written_by_the_next_after_its_lease() {
    let _keys = secrets::check();
    let fake = FakeProviders::start().await;
    let (master, _) = secrets::master_key("lease-master");
    let app = WebApp::start(WebAppOptions {
        ai: Some(ai(&fake, master)),
        ..WebAppOptions::at(TOKEN, configured_at())
    })
    .await;
    let (guild, channel) = (FIRST_GUILD, FIRST_CHANNEL);
    configure(&app, guild, channel, &secrets::api_key("lease"), None).await;
    let pool = &app.db.pool;
    let providers = &app.state.providers;
    let lease = weekly::lease(providers.config());

    assert_eq!(digest::run_due(pool, due_at()).await.unwrap().queued(), 1);
    let dead = pulse_jobs::claim(pool, due_at(), lease, 10).await.unwrap();
    assert_eq!(dead.len(), 1);
    // The process dies here, mid-generation.

    let during = weekly::run_due(pool, providers, due_at() + Span::minutes(1))
        .await
        .unwrap();
    assert!(during.done.is_empty() && during.failed.is_empty());
    assert!(fake.requests().is_empty());
    let after = weekly::run_due(pool, providers, due_at() + lease)
        .await
        .unwrap();
    assert_eq!(after.done.len(), 1);
    assert_eq!(after.done[0].1, JobOutcome::Written("openai".to_owned()));
    assert_eq!(after.done[0].0.attempts, 2);
    // The dead worker's claim can no longer finish it.
    let mut tx = pool.begin().await.unwrap();
    assert!(
        !pulse_jobs::finish(&mut *tx, &dead[0], 1, None, due_at() + lease)
            .await
            .unwrap()
    );
    tx.rollback().await.unwrap();

    let poster = Poster::new(
        &app.sim.rest.api_url(),
        app.state.config.discord_token.clone(),
    );
    digest::run_and_deliver(pool, &poster, providers, due_at() + lease)
        .await
        .unwrap();
    assert_eq!(posted(&app, channel, "Pulse Report: ").len(), 1);
    assert_eq!(posted(&app, channel, "Weekly digest").len(), 1);
    assert_eq!(fake.requests_to("openai").len(), 1);

    let deleted =
        shared::db::retention::delete_stored_reports(pool, due_at() + lease + Span::days(181))
            .await
            .unwrap();
    assert!(deleted >= 2, "{deleted}");
    assert!(
        pulse_jobs::of_guild(pool, Snowflake(guild))
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        shared::db::pulse::latest(pool, Snowflake(guild))
            .await
            .unwrap()
            .is_none()
    );
}

/// A job whose claims never finished (a provider call that kills the
/// process, say) is written by the built-in rules at the fourth claim,
/// without asking the provider, and says so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_three_unfinished_claims_the_built_in_report_is_posted_without_a_provider() {
    let _keys = secrets::check();
    let fake = FakeProviders::start().await;
    let (master, _) = secrets::master_key("attempts-master");
    let app = WebApp::start(WebAppOptions {
        ai: Some(ai(&fake, master)),
        ..WebAppOptions::at(TOKEN, configured_at())
    })
    .await;
    let (guild, channel) = (FIRST_GUILD, FIRST_CHANNEL);
    configure(&app, guild, channel, &secrets::api_key("attempts"), None).await;
    let pool = &app.db.pool;
    let providers = &app.state.providers;
    let lease = weekly::lease(providers.config());
    assert_eq!(digest::run_due(pool, due_at()).await.unwrap().queued(), 1);
    let mut at = due_at();
    for attempt in 1..=weekly::MAX_PROVIDER_ATTEMPTS {
        let claimed = pulse_jobs::claim(pool, at, lease, 10).await.unwrap();
        assert_eq!(claimed.len(), 1);
        assert_eq!(claimed[0].attempts, attempt);
        at += lease;
    }
    let fourth = weekly::run_due(pool, providers, at).await.unwrap();
    assert_eq!(
        fourth
            .done
            .iter()
            .map(|(_, o)| o.clone())
            .collect::<Vec<_>>(),
        vec![JobOutcome::Written("builtin".to_owned())]
    );
    assert!(fake.requests().is_empty(), "no provider was asked");
    let poster = Poster::new(
        &app.sim.rest.api_url(),
        app.state.config.discord_token.clone(),
    );
    digest::run_and_deliver(pool, &poster, providers, at)
        .await
        .unwrap();
    let reports = posted(&app, channel, "Pulse Report: ");
    assert_eq!(reports.len(), 1);
    let description = text_of(&reports[0], "description");
    assert!(
        description.starts_with(
            "**Written by the built-in rules instead**\n3 earlier attempts to write this report did not finish, so no provider was asked."
        ),
        "{description}"
    );
}

/// `/pulse-report` twice for the same days, provider, model and prompt
/// version: the second (past the 10-minute limit) asks nothing and shows
/// what the first cost; another model asks again; the weekly job of the
/// same week reuses that report instead of asking a third time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_report_is_reused_for_the_same_key_and_a_new_model_makes_a_new_one() {
    let _keys = secrets::check();
    let fake = FakeProviders::start().await;
    let (master, _) = secrets::master_key("cache-master");
    // Monday 2 November 07:30 UTC (08:30 in Berlin): the last seven local
    // days are the weekly digest's week.
    let start = utc(2026, 11, 2, 7, 30);
    let clock_ms = Arc::new(AtomicI64::new(start.timestamp_millis()));
    let read = clock_ms.clone();
    let app = WebApp::start(WebAppOptions {
        ai: Some(ai(&fake, master)),
        clock: Some(Arc::new(move || {
            Utc.timestamp_millis_opt(read.load(Ordering::SeqCst))
                .unwrap()
        })),
        ..WebAppOptions::at(TOKEN, start)
    })
    .await;
    let advance = |minutes: i64| {
        clock_ms.fetch_add(minutes * 60_000, Ordering::SeqCst);
    };
    let (guild, channel) = (FIRST_GUILD, FIRST_CHANNEL);
    configure(&app, guild, channel, &secrets::api_key("cache"), None).await;
    let admin = admin(guild);
    let pulse_report = command("pulse-report", vec![]);

    let first = final_message(&app, &pulse_report, &admin).await;
    assert_eq!(
        content(&first),
        format!("Provider tokens for this report: {TOKENS_IN} in, {TOKENS_OUT} out.")
    );
    assert_eq!(fake.requests_to("openai").len(), 1);

    advance(11);
    let second = final_message(&app, &pulse_report, &admin).await;
    assert!(
        content(&second).starts_with("The report OpenAI (gpt-4o-mini) wrote"),
        "{}",
        content(&second)
    );
    assert!(content(&second).contains("nothing was sent again"));
    assert!(
        content(&second).contains(&format!("{TOKENS_IN} in, {TOKENS_OUT} out")),
        "{}",
        content(&second)
    );
    assert_eq!(description(&second), description(&first));
    assert_eq!(fake.requests_to("openai").len(), 1, "no new request");

    let other_model = command(
        "ai-provider",
        vec![sub(
            "set",
            vec![
                string("provider", "openai"),
                string("model", "gpt-4.1-mini"),
            ],
        )],
    );
    let kept = final_message(&app, &other_model, &admin).await;
    assert!(content(&kept).contains("Its key is kept."), "{kept:?}");
    let third = final_message(&app, &pulse_report, &admin).await;
    assert!(
        embed(&third)["footer"]["text"]
            .as_str()
            .unwrap()
            .starts_with("Written by OpenAI (gpt-4.1-mini)."),
        "{third:?}"
    );
    let sent = fake.requests_to("openai");
    assert_eq!(sent.len(), 2, "a new model, a new request");
    assert_eq!(sent[1].body["model"], "gpt-4.1-mini");

    // The weekly job of the same week: the stored report, no request.
    let poster = Poster::new(
        &app.sim.rest.api_url(),
        app.state.config.discord_token.clone(),
    );
    let run = digest::run_and_deliver(&app.db.pool, &poster, &app.state.providers, due_at())
        .await
        .unwrap();
    assert_eq!(
        run.reports
            .done
            .iter()
            .map(|(_, o)| o.clone())
            .collect::<Vec<_>>(),
        vec![JobOutcome::Reused("openai".to_owned())]
    );
    assert_eq!(fake.requests_to("openai").len(), 2);
    let reports = posted(&app, channel, "Pulse Report: ");
    assert_eq!(reports.len(), 1);
    assert_eq!(text_of(&reports[0], "description"), description(&third));
}
