//! The web tests' harness over the test kit (`serverpulse-testkit`): the
//! app in-process on port 0 with a fresh database and the simulator, data
//! seeded from a scenario's ground truth through the product's own writes,
//! and readers of the messages the app answers with.
#![allow(dead_code)]

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use discord_sim::{
    CommandOption, FinalMessage, InteractionKind, InteractionOutcome, Invoker, OptionValue,
};
use serde_json::Value;
use serverpulse_testkit::web::{WebApp, WebAppOptions};
use sim_scenario::truth::{self, GroundTruth};
use sim_scenario::{Scenario, ScenarioSize};

pub use serverpulse_testkit::seed::at;

pub const TOKEN: &str = "web-test-bot-token";
/// 2026-10-20T00:00:00Z: ten days from here cross Europe's DST change (25 Oct).
pub const DST_START_MS: i64 = 1_792_454_400_000;
pub const DAY_MS: i64 = truth::DAY_MS;

pub type App = WebApp;

/// Starts everything with the app's clock pinned at `now`.
pub async fn start_app(now: DateTime<Utc>) -> App {
    WebApp::start(WebAppOptions::at(TOKEN, now)).await
}

/// [`start_app`] with another inline budget and, optionally, the process's
/// installed metrics recorder.
pub async fn start_app_with(
    now: DateTime<Utc>,
    inline_budget: std::time::Duration,
    metrics: Option<metrics_exporter_prometheus::PrometheusHandle>,
) -> App {
    WebApp::start(WebAppOptions {
        inline_budget,
        metrics,
        ..WebAppOptions::at(TOKEN, now)
    })
    .await
}

/// [`start_app`] with the simulator's gateway serving `scenario`.
pub async fn start_app_serving(now: DateTime<Utc>, scenario: Scenario) -> App {
    WebApp::start(WebAppOptions {
        scenario,
        ..WebAppOptions::at(TOKEN, now)
    })
    .await
}

/// Writes what the ingester would have written for `guild` after living
/// through the whole scenario with tracking on (see
/// [`serverpulse_testkit::seed::seed_guild`]).
pub async fn seed(app: &App, truth: &GroundTruth, guild: u64, timezone: &str) {
    serverpulse_testkit::seed::seed_guild(&app.db.pool, truth, guild, timezone).await;
}

pub async fn enable_tracking(app: &App, guild: u64, timezone: &str) {
    serverpulse_testkit::seed::enable_tracking(&app.db.pool, guild, timezone).await;
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

pub mod dashboard;

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

pub fn boolean(name: &str, value: bool) -> CommandOption {
    CommandOption::new(name, OptionValue::Boolean(value))
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
            // A partial day says so after its figure: `12 (so far)`.
            let value = value
                .strip_suffix(" (so far)")
                .or_else(|| value.strip_suffix(" (partial day)"))
                .unwrap_or(value);
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
    serverpulse_testkit::ingester::run_until_committed(TOKEN, &app.db, &app.sim, limit).await;
}

/// [`start_app_with`] with its own bound on deferred answers.
pub async fn start_app_deferring(
    now: DateTime<Utc>,
    metrics: Option<metrics_exporter_prometheus::PrometheusHandle>,
    deferred: serverpulse_web::interactions::Deferred,
) -> App {
    WebApp::start(WebAppOptions {
        metrics,
        deferred: Some(deferred),
        ..WebAppOptions::at(TOKEN, now)
    })
    .await
}
