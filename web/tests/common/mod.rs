//! The web app in-process on port 0, the simulator's REST side and its
//! signing interactions client, a fresh database, and rollups seeded from a
//! scenario's ground truth the way the ingester writes them.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};
use discord_sim::{
    CommandOption, FinalMessage, InteractionClient, InteractionKeys, InteractionKind,
    InteractionOutcome, Invoker, OptionValue, SimConfig, SimHandle,
};
use serde_json::Value;
use serverpulse_web::AppState;
use shared::Snowflake;
use shared::config::WebConfig;
use shared::rollup::{
    AuthorKind, ChannelHourKey, MessageFacts, ReactionKey, RollupBatch, VoiceKey,
};
use shared::testing::TestDatabase;
use shared::time::Hour;
use sim_scenario::truth::{self, GroundTruth, Scope};
use sim_scenario::{Scenario, ScenarioSize};

pub const TOKEN: &str = "web-test-bot-token";
/// 2026-10-20T00:00:00Z: ten days from here cross Europe's DST change (25 Oct).
pub const DST_START_MS: i64 = 1_792_454_400_000;
pub const DAY_MS: i64 = truth::DAY_MS;

pub struct App {
    /// `http://127.0.0.1:port` of the app.
    pub base: String,
    pub db: TestDatabase,
    pub sim: SimHandle,
    pub client: InteractionClient,
    pub state: AppState,
    pub endpoint: String,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for App {
    fn drop(&mut self) {
        self.server.abort();
    }
}

pub fn at(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms)
        .single()
        .expect("valid instant")
}

fn empty_scenario() -> Scenario {
    Scenario {
        seed: 0,
        start_ms: DST_START_MS,
        days: 0,
        guilds: Vec::new(),
        events: Vec::new(),
    }
}

/// Starts everything with the app's clock pinned at `now`.
pub async fn start_app(now: DateTime<Utc>) -> App {
    start_app_with(now, serverpulse_web::interactions::INLINE_BUDGET, None).await
}

/// [`start_app`] with another inline budget and, optionally, the process's
/// installed metrics recorder.
pub async fn start_app_with(
    now: DateTime<Utc>,
    inline_budget: std::time::Duration,
    metrics: Option<metrics_exporter_prometheus::PrometheusHandle>,
) -> App {
    start(now, inline_budget, metrics, empty_scenario(), None).await
}

/// [`start_app_with`] with its own bound on deferred answers.
pub async fn start_app_deferring(
    now: DateTime<Utc>,
    metrics: Option<metrics_exporter_prometheus::PrometheusHandle>,
    deferred: serverpulse_web::interactions::Deferred,
) -> App {
    start(
        now,
        serverpulse_web::interactions::INLINE_BUDGET,
        metrics,
        empty_scenario(),
        Some(deferred),
    )
    .await
}

/// [`start_app`] with the simulator's gateway serving `scenario`.
pub async fn start_app_serving(now: DateTime<Utc>, scenario: Scenario) -> App {
    start(
        now,
        serverpulse_web::interactions::INLINE_BUDGET,
        None,
        scenario,
        None,
    )
    .await
}

async fn start(
    now: DateTime<Utc>,
    inline_budget: std::time::Duration,
    metrics: Option<metrics_exporter_prometheus::PrometheusHandle>,
    scenario: Scenario,
    deferred: Option<serverpulse_web::interactions::Deferred>,
) -> App {
    let db = TestDatabase::create().await;
    let mut sim_config = SimConfig::new(TOKEN);
    sim_config.gateway.heartbeat_interval = std::time::Duration::from_secs(5);
    let sim = discord_sim::start(sim_config, scenario)
        .await
        .expect("simulator starts");
    let keys = InteractionKeys::generate();
    let app_id = discord_sim::DEFAULT_APPLICATION_ID.to_string();
    let public_key = keys.public_key_hex();
    let api = sim.rest.api_url();
    let vars: Vec<(&str, &str)> = vec![
        ("DATABASE_URL", &db.url),
        ("DISCORD_TOKEN", TOKEN),
        ("DISCORD_APPLICATION_ID", &app_id),
        ("DISCORD_PUBLIC_KEY", &public_key),
        ("DISCORD_API_URL", &api),
    ];
    let config = WebConfig::from_source(vars.as_slice()).expect("test configuration");
    let metrics = metrics.unwrap_or_else(|| {
        metrics_exporter_prometheus::PrometheusBuilder::new()
            .build_recorder()
            .handle()
    });
    let mut state = AppState::new(db.pool.clone(), config, metrics)
        .expect("state")
        .with_clock(Arc::new(move || now));
    state.inline_budget = inline_budget;
    if let Some(deferred) = deferred {
        state.deferred = deferred;
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = serverpulse_web::router(state.clone());
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    let endpoint = format!("http://{addr}/interactions");
    let base = format!("http://{addr}");
    let client = InteractionClient::new(endpoint.clone(), sim.rest.url(), keys);
    App {
        base,
        db,
        sim,
        client,
        state,
        endpoint,
        server,
    }
}

fn kind(k: truth::AuthorKind) -> AuthorKind {
    match k {
        truth::AuthorKind::Member => AuthorKind::Member,
        truth::AuthorKind::Bot => AuthorKind::Bot,
        truth::AuthorKind::Webhook => AuthorKind::Webhook,
    }
}

fn hour(ms: i64) -> Hour {
    Hour::containing(at(ms))
}

/// Writes what the ingester would have written for `guild` after living
/// through the whole scenario with tracking on: rollups, guild_hourly and
/// the catalogue (guild, channels, members, membership spans). Tracking is
/// enabled and the timezone set.
pub async fn seed(app: &App, truth: &GroundTruth, guild: u64, timezone: &str) {
    let pool = &app.db.pool;
    let g = Snowflake(guild);
    let everything = Scope::new(guild, i64::MIN / 2, i64::MAX / 2).including_bots();
    let mut batch = RollupBatch::default();
    for m in truth.messages.iter().filter(|m| m.guild_id == guild) {
        batch.add_message(MessageFacts {
            guild_id: g,
            hour: hour(m.at_ms),
            channel_id: Snowflake(m.channel_id),
            thread_parent_id: m.thread_parent_id.map(Snowflake),
            author_id: Snowflake(m.author_id),
            author_kind: kind(m.author_kind),
            attachments: m.attachments as i32,
            embeds: m.embeds as i32,
            stickers: m.stickers as i32,
        });
    }
    for r in truth.reactions.iter().filter(|r| r.guild_id == guild) {
        batch.add_reaction(
            ReactionKey {
                guild_id: g,
                hour: hour(r.at_ms),
                channel_id: Snowflake(r.channel_id),
                user_id: Snowflake(r.user_id),
                receiver_id: Snowflake(r.message_author_id.unwrap_or(0)),
                emoji: r.emoji.clone(),
            },
            r.added,
        );
    }
    for ((channel, user, h), seconds) in truth.voice_seconds(&everything) {
        batch.add_voice_seconds(
            VoiceKey {
                guild_id: g,
                hour: hour(h),
                channel_id: Snowflake(channel),
                user_id: Snowflake(user),
            },
            seconds as i32,
        );
    }
    for ((channel, h), peak) in truth.peak_concurrent(&everything) {
        batch.observe_voice_concurrency(
            ChannelHourKey {
                guild_id: g,
                hour: hour(h),
                channel_id: Snowflake(channel),
            },
            peak as i32,
        );
    }
    for d in truth.deletions.iter().filter(|d| d.guild_id == guild) {
        batch.add_deletions(
            ChannelHourKey {
                guild_id: g,
                hour: hour(d.at_ms),
                channel_id: Snowflake(d.channel_id),
            },
            d.count as i32,
            d.bulk,
        );
    }
    let stints: Vec<_> = truth
        .members
        .iter()
        .filter(|m| m.guild_id == guild)
        .collect();
    for m in &stints {
        if !m.initial {
            batch.add_join(g, hour(m.joined_ms), m.rejoin);
        }
        if let Some(left) = m.left_ms {
            batch.add_leave(g, hour(left));
        }
    }
    for t in truth.threads.iter().filter(|t| t.guild_id == guild) {
        if let Some(created) = t.created_ms {
            batch.add_thread_created(g, hour(created));
        }
    }
    let mut conn = pool.acquire().await.unwrap();
    shared::db::rollups::flush_batch(&mut conn, &batch)
        .await
        .expect("flush the seeded rollups");

    // The catalogue, as the ingester keeps it.
    let member_count = truth.member_count_at(guild, truth.end_ms, true) as i32;
    sqlx::query("insert into guilds (guild_id, name, member_count) values ($1, 'seeded', $2)")
        .bind(g)
        .bind(member_count)
        .execute(&mut *conn)
        .await
        .unwrap();
    for c in truth.channels_of(guild) {
        sqlx::query(
            "insert into channels (guild_id, channel_id, kind, name, parent_id, created_at, deleted_at)
             values ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(g)
        .bind(Snowflake(c.channel_id))
        .bind(i16::from(c.kind))
        .bind(&c.name)
        .bind(c.parent_id.map(Snowflake))
        .bind(at(c.created_ms.unwrap_or(truth.start_ms - DAY_MS)))
        .bind(c.deleted_ms.map(at))
        .execute(&mut *conn)
        .await
        .unwrap();
    }
    let mut last: BTreeMap<u64, (&truth::MembershipFact, i32)> = BTreeMap::new();
    for m in &stints {
        let entry = last.entry(m.user_id).or_insert((m, 0));
        entry.1 += 1;
        if m.joined_ms >= entry.0.joined_ms {
            entry.0 = m;
        }
        let first_message = truth
            .messages
            .iter()
            .filter(|x| {
                x.guild_id == guild
                    && x.author_id == m.user_id
                    && x.at_ms >= m.joined_ms
                    && m.left_ms.is_none_or(|l| x.at_ms < l)
            })
            .map(|x| x.at_ms)
            .min();
        sqlx::query(
            "insert into membership_spans (guild_id, user_id, joined_at, left_at, is_rejoin, first_message_at)
             values ($1, $2, $3, $4, $5, $6)",
        )
        .bind(g)
        .bind(Snowflake(m.user_id))
        .bind(at(m.joined_ms))
        .bind(m.left_ms.map(at))
        .bind(m.rejoin)
        .bind(first_message.map(at))
        .execute(&mut *conn)
        .await
        .unwrap();
    }
    for (user, (m, joins)) in last {
        sqlx::query(
            "insert into members (guild_id, user_id, is_bot, joined_at, left_at, join_count)
             values ($1, $2, $3, $4, $5, $6)",
        )
        .bind(g)
        .bind(Snowflake(user))
        .bind(m.is_bot)
        .bind(at(m.joined_ms))
        .bind(m.left_ms.map(at))
        .bind(joins)
        .execute(&mut *conn)
        .await
        .unwrap();
    }
    enable_tracking(app, guild, timezone).await;
}

pub async fn enable_tracking(app: &App, guild: u64, timezone: &str) {
    let mut tx = app.db.pool.begin().await.unwrap();
    shared::db::settings::set_tracking(&mut tx, Snowflake(guild), Snowflake(1), true)
        .await
        .unwrap();
    shared::db::settings::set_timezone(&mut tx, Snowflake(guild), Snowflake(1), timezone)
        .await
        .unwrap();
    tx.commit().await.unwrap();
}

/// A scenario of `days` days from [`DST_START_MS`] (one guild).
pub fn dst_scenario(days: u32) -> (Scenario, GroundTruth) {
    sim_scenario::generate_from(
        11,
        ScenarioSize {
            guilds: 1,
            members_per_guild: 60,
            days,
            messages_per_member_day: 4.0,
        },
        DST_START_MS,
    )
}

// ----- sending -----

pub fn sub(name: &str, options: Vec<CommandOption>) -> CommandOption {
    CommandOption::new(name, OptionValue::Subcommand(options))
}

pub fn group(name: &str, options: Vec<CommandOption>) -> CommandOption {
    CommandOption::new(name, OptionValue::SubcommandGroup(options))
}

pub fn string(name: &str, value: &str) -> CommandOption {
    CommandOption::new(name, OptionValue::String(value.into()))
}

pub fn channel(name: &str, id: u64, channel_name: &str, kind: u8) -> CommandOption {
    CommandOption::new(
        name,
        OptionValue::Channel {
            id,
            name: channel_name.into(),
            kind,
        },
    )
}

pub fn user(name: &str, id: u64) -> CommandOption {
    CommandOption::new(
        name,
        OptionValue::User {
            id,
            username: format!("user{id}"),
        },
    )
}

pub fn command(name: &str, options: Vec<CommandOption>) -> InteractionKind {
    InteractionKind::Command {
        name: name.into(),
        options,
    }
}

pub fn admin(guild: u64) -> Invoker {
    Invoker::admin(guild, guild + 1)
}

/// Sends and checks Discord accepted the answer; returns the outcome.
pub async fn send(app: &App, kind: &InteractionKind, invoker: &Invoker) -> InteractionOutcome {
    let outcome = app
        .client
        .send(kind, invoker)
        .await
        .expect("interaction round trip");
    assert_eq!(outcome.status, 200, "{kind:?}: {:?}", outcome.response);
    assert_eq!(
        outcome.answer_error, None,
        "Discord refused the answer to {kind:?}"
    );
    outcome
}

/// The final message of an interaction (after any deferral), which must
/// exist and pass the simulator's limit checks.
pub async fn final_message(app: &App, kind: &InteractionKind, invoker: &Invoker) -> FinalMessage {
    let outcome = send(app, kind, invoker).await;
    let failed_edits: Vec<_> = app
        .sim
        .rest
        .requests()
        .into_iter()
        .filter(|r| r.path.contains(&outcome.token) && r.status >= 400)
        .collect();
    assert!(
        failed_edits.is_empty(),
        "Discord refused an edit: {failed_edits:?}"
    );
    let message = outcome
        .final_message
        .unwrap_or_else(|| panic!("no final message for {kind:?}: {:?}", outcome.response));
    // For looking at the charts: SERVERPULSE_CHART_DIR=/some/dir cargo test …
    if let Ok(dir) = std::env::var("SERVERPULSE_CHART_DIR") {
        for file in &message.files {
            let _ = std::fs::write(
                format!("{dir}/{}-{}", &outcome.token[3..11], file.filename),
                file.bytes(),
            );
        }
    }
    message
}

// ----- reading messages -----

pub fn embed(message: &FinalMessage) -> &Value {
    &message.message["embeds"][0]
}

pub fn field<'a>(message: &'a FinalMessage, name: &str) -> &'a str {
    embed(message)["fields"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|f| f["name"] == name)
        .and_then(|f| f["value"].as_str())
        .unwrap_or_else(|| panic!("no field {name:?} in {}", embed(message)))
}

pub fn description(message: &FinalMessage) -> &str {
    embed(message)["description"].as_str().unwrap_or_default()
}

pub fn content(message: &FinalMessage) -> &str {
    message.message["content"].as_str().unwrap_or_default()
}

fn number(text: &str) -> i64 {
    text.trim()
        .replace(',', "")
        .parse()
        .unwrap_or_else(|_| panic!("not a number: {text:?}"))
}

/// `3h 05m 09s` → seconds.
pub fn seconds(text: &str) -> i64 {
    let parts: Vec<i64> = text
        .split_whitespace()
        .map(|p| number(p.trim_end_matches(['h', 'm', 's'])))
        .collect();
    parts[0] * 3600 + parts[1] * 60 + parts[2]
}

/// A figure `**X** … (Y before)` as (X, Y) with `parse` for the values.
pub fn figure_with(value: &str, parse: fn(&str) -> i64) -> (i64, Option<i64>) {
    let current = value
        .strip_prefix("**")
        .and_then(|v| v.split("**").next())
        .unwrap_or_else(|| panic!("not a figure: {value:?}"));
    let previous = value
        .rsplit_once('(')
        .and_then(|(_, p)| p.strip_suffix(" before)"))
        .map(parse);
    (parse(current), previous)
}

pub fn figure(value: &str) -> (i64, Option<i64>) {
    figure_with(value, number)
}

/// `1. <@id> — 12` lines as (id, value text).
pub fn ranking(text: &str) -> Vec<(u64, String)> {
    text.lines()
        .filter_map(|line| {
            let (_, rest) = line.split_once("<@")?;
            let (id, value) = rest.split_once("> — ")?;
            Some((id.parse().ok()?, value.to_owned()))
        })
        .collect()
}

pub fn ranking_numbers(text: &str) -> Vec<(u64, i64)> {
    ranking(text)
        .into_iter()
        .map(|(id, v)| (id, number(&v)))
        .collect()
}

/// `` `2026-10-25` 1,234 `` lines as (date, value text).
pub fn per_day(text: &str) -> BTreeMap<chrono::NaiveDate, String> {
    text.lines()
        .filter_map(|line| {
            let rest = line.strip_prefix('`')?;
            let (date, value) = rest.split_once("` ")?;
            // Days before anything was recorded have no figure.
            if value.starts_with('–') {
                return None;
            }
            Some((date.parse().ok()?, value.to_owned()))
        })
        .collect()
}

pub fn parse_int(text: &str) -> i64 {
    number(text)
}

/// Width and height of a PNG attachment.
pub fn png_sizes(message: &FinalMessage) -> Vec<(u32, u32)> {
    message
        .files
        .iter()
        .map(|f| serverpulse_web::charts::png_size(&f.bytes()).expect("a PNG"))
        .collect()
}

// ----- the real ingester -----

/// Runs the real ingester (one shard) against the simulator's gateway until
/// every dispatch is committed, then stops it.
pub async fn ingest_everything(app: &App, limit: std::time::Duration) {
    let port = shared::testing::free_port().to_string();
    let gateway = app.sim.gateway.url().to_owned();
    let vars: Vec<(&str, &str)> = vec![
        ("DATABASE_URL", &app.db.url),
        ("DISCORD_TOKEN", TOKEN),
        ("DISCORD_GATEWAY_URL", &gateway),
        ("SHARDS", "0"),
        ("SHARD_TOTAL", "1"),
        ("INGESTER_PORT", &port),
    ];
    let config =
        shared::config::IngesterConfig::from_source(vars.as_slice()).expect("ingester config");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let metrics = metrics_exporter_prometheus::PrometheusBuilder::new()
        .build_recorder()
        .handle();
    let stop = tokio_util::sync::CancellationToken::new();
    let ingester =
        tokio::spawn({
            let stop = stop.clone();
            async move {
                serverpulse_ingester::run(config, listener, metrics, async move {
                    stop.cancelled().await
                })
                .await
            }
        });
    let deadline = std::time::Instant::now() + limit;
    while !all_committed(app).await {
        assert!(
            std::time::Instant::now() < deadline,
            "the ingester did not commit everything in {limit:?}"
        );
        assert!(!ingester.is_finished(), "the ingester stopped early");
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    stop.cancel();
    ingester
        .await
        .expect("join")
        .expect("the ingester ran cleanly");
}

/// Every dispatch handed out and the checkpoint at the last frame of the
/// latest session.
async fn all_committed(app: &App) -> bool {
    let Some((cursor, len)) = app.sim.gateway.shard_progress([0, 1]) else {
        return false;
    };
    if cursor != len {
        return false;
    }
    let sessions = app.sim.gateway.sessions();
    let Some(latest) = sessions.iter().rev().find(|s| s.shard == [0, 1]) else {
        return false;
    };
    let last_seq = latest.frames.last().map_or(0, |f| f.seq) as i64;
    shared::db::ingest::load_checkpoint(&app.db.pool, 0, 1)
        .await
        .ok()
        .flatten()
        .is_some_and(|c| {
            c.session_id.as_deref() == Some(latest.session_id.as_str())
                && c.sequence == Some(last_seq)
        })
}
