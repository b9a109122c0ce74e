//! The demo's alerts: the join raid and the mass deletion the community
//! lives through are detected by the ingester while it replays them, and
//! posted in the update channel by the outbox (one message per incident,
//! edited as it grew and when it ended); an admin then reads `/alerts` and
//! the Pulse Report of the last seven days.

use std::time::Instant;

use anyhow::Context as _;
use discord_sim::interactions::{InteractionClient, Invoker};
use serverpulse_web::delivery::{self, DeliveryReport, Poster};
use sqlx::PgPool;

use crate::steps::{DemoGuild, command, invoke};
use crate::transcript::{Entry, Transcript};

/// Every alert message in the guild's update channel, in the order posted;
/// there must be as many as the incidents the ground truth expects
/// (`expected`: the scenario's raid, mass deletion, and in 30 days its
/// planted activity drop and voice surge).
pub async fn alerts(
    client: &InteractionClient,
    sim: &discord_sim::SimHandle,
    pool: &PgPool,
    poster: &Poster,
    guild: &DemoGuild,
    expected: usize,
    transcript: &mut Transcript,
) -> anyhow::Result<()> {
    let (channel, channel_name) = &guild.text_channel;
    let started = Instant::now();
    // `serve`'s worker posts them as they come; a last round here makes
    // sure the final edits are out before the transcript is written.
    for _ in 0..10 {
        let report = delivery::deliver_due(pool, poster, chrono::Utc::now())
            .await
            .context("delivering the outbox")?;
        if report == DeliveryReport::default() {
            break;
        }
    }
    let alerts: Vec<_> = sim
        .rest
        .channel_messages(*channel)
        .into_iter()
        .filter(|m| {
            m.message["embeds"][0]["title"]
                .as_str()
                .is_some_and(|t| t.starts_with("⚠️ "))
        })
        .collect();
    for posted in &alerts {
        let title = posted.message["embeds"][0]["title"]
            .as_str()
            .unwrap_or_default()
            .trim_start_matches("⚠️ ")
            .to_owned();
        transcript.entries.push(Entry {
            title: format!("{title} alert posted in #{channel_name}"),
            outcome: None,
            posted: Some(posted.clone()),
            error: None,
            latency: started.elapsed(),
        });
    }
    if alerts.len() != expected {
        transcript.entries.push(Entry {
            title: format!("alerts posted in #{channel_name}"),
            outcome: None,
            posted: None,
            error: Some(format!(
                "{} alert message(s) posted, {expected} incident(s) expected",
                alerts.len()
            )),
            latency: started.elapsed(),
        });
    }
    invoke(
        client,
        transcript,
        "/alerts (admin)".into(),
        command("alerts", Vec::new()),
        &Invoker::admin(guild.id, *channel),
    )
    .await;
    // The last seven days in writing, the week's incidents among them.
    invoke(
        client,
        transcript,
        "/pulse-report (admin)".into(),
        command("pulse-report", Vec::new()),
        &Invoker::admin(guild.id, *channel),
    )
    .await;
    Ok(())
}
