//! The demo's alerts: the join raid and the mass deletion the community
//! lives through are detected by the ingester while it replays them, and
//! posted in the update channel by the outbox (one message per incident,
//! edited as it grew and when it ended); an admin then reads `/alerts`.

use std::time::Instant;

use anyhow::Context as _;
use discord_sim::interactions::{InteractionClient, Invoker};
use serverpulse_web::delivery::{self, DeliveryReport, Poster};
use sqlx::PgPool;

use crate::steps::{DemoGuild, command, invoke};
use crate::transcript::{Entry, Transcript};

/// Titles of the alert messages the demo shows, in this order.
const SHOWN: [&str; 2] = ["⚠️ Join raid", "⚠️ Mass deletion"];

pub async fn alerts(
    client: &InteractionClient,
    sim: &discord_sim::SimHandle,
    pool: &PgPool,
    poster: &Poster,
    guild: &DemoGuild,
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
    let messages = sim.rest.channel_messages(*channel);
    for title in SHOWN {
        let posted = messages
            .iter()
            .find(|m| m.message["embeds"][0]["title"] == title)
            .cloned();
        let error = posted
            .is_none()
            .then(|| format!("no {title} alert was posted in #{channel_name}"));
        transcript.entries.push(Entry {
            title: format!(
                "{} alert posted in #{channel_name}",
                title.trim_start_matches("⚠️ ")
            ),
            outcome: None,
            posted,
            error,
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
    Ok(())
}
