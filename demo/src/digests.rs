//! The demo's digests: an admin schedules them, previews one, and the
//! daily and weekly digests (the weekly one followed by the week's Pulse
//! Report) are posted as `digests run` would post them.

use std::time::Instant;

use crate::steps::{DemoGuild, command, invoke, string, sub};
use crate::transcript::{Entry, Transcript};
use anyhow::Context as _;
use discord_sim::interactions::{InteractionClient, Invoker};
use serverpulse_web::delivery::Poster;
use serverpulse_web::digest::{self, schedule};
use shared::db::digest_settings;
use sqlx::PgPool;

/// Digests: an admin turns on a daily digest and previews it, then the
/// daily digest and, after switching to weekly, the weekly one are posted
/// to the update channel as `serverpulse-web digests run --at <when it is
/// due>` would post them (the runner's clock set to the next due time).
pub async fn digests(
    client: &InteractionClient,
    sim: &discord_sim::SimHandle,
    pool: &PgPool,
    poster: &Poster,
    guild: &DemoGuild,
    transcript: &mut Transcript,
) -> anyhow::Result<()> {
    let admin = Invoker::admin(guild.id, guild.text_channel.0);
    let (channel, channel_name) = &guild.text_channel;
    for frequency in ["daily", "weekly"] {
        invoke(
            client,
            transcript,
            format!("/set-digest frequency:{frequency} (admin)"),
            command("set-digest", vec![string("frequency", frequency)]),
            &admin,
        )
        .await;
        if frequency == "daily" {
            invoke(
                client,
                transcript,
                "/digest preview (admin)".into(),
                command("digest", vec![sub("preview", Vec::new())]),
                &admin,
            )
            .await;
        }
        let settings = digest_settings::load(pool, shared::Snowflake(guild.id))
            .await
            .context("reading the digest settings")?
            .context("the guild has no settings")?;
        let chosen = settings
            .schedule
            .frequency
            .context("/set-digest did not turn digests on")?;
        let tz = digest::timezone(&settings);
        let latest = schedule::latest(chosen, &settings.schedule, tz, chrono::Utc::now());
        let due = schedule::following(latest, &settings.schedule, tz).scheduled_at;
        let before = sim.rest.channel_messages(*channel).len();
        let started = Instant::now();
        // The demo's guilds choose no AI provider: their weekly Pulse
        // Report is the built-in one.
        let providers =
            serverpulse_web::pulse::providers::Providers::new(&shared::config::AiConfig::default());
        let report = digest::run_and_deliver(pool, poster, &providers, due)
            .await
            .context("running the digests")?;
        let posted = sim.rest.channel_messages(*channel).into_iter().nth(before);
        let error = posted
            .is_none()
            .then(|| format!("nothing was posted: {report:?}"));
        transcript.entries.push(Entry {
            title: format!(
                "{frequency} digest posted in #{channel_name} at {} ({})",
                due.with_timezone(&tz).format("%a %-d %b %H:%M"),
                tz.name()
            ),
            outcome: None,
            posted,
            error,
            latency: started.elapsed(),
        });
        if frequency == "weekly" {
            // The week's Pulse Report follows its weekly digest.
            let report = sim
                .rest
                .channel_messages(*channel)
                .into_iter()
                .nth(before + 1);
            let error = report
                .is_none()
                .then(|| "no Pulse Report followed the weekly digest".to_owned());
            transcript.entries.push(Entry {
                title: format!("Pulse Report posted in #{channel_name} after the weekly digest"),
                outcome: None,
                posted: report,
                error,
                latency: started.elapsed(),
            });
        }
    }
    Ok(())
}
