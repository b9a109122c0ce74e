//! History on day one: one guild is tracked only from the middle of the
//! replayed month, and an admin imports the days before with `/backfill
//! start`; `serve`'s backfill worker reads them from the simulator's
//! message history (with Discord's rate limits) and `/backfill status`
//! shows the import per channel.

use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use discord_sim::interactions::{CommandOption, InteractionClient, Invoker, OptionValue};
use sqlx::PgPool;

use crate::steps::{DemoGuild, command, invoke, sub};
use crate::transcript::Transcript;

/// `/backfill start days:<days>`, then waits (bounded) for the worker to
/// finish, then `/backfill status`. Returns the messages imported and how
/// long the import took.
pub async fn import(
    client: &InteractionClient,
    pool: &PgPool,
    guild: &DemoGuild,
    days: i64,
    transcript: &mut Transcript,
) -> anyhow::Result<(i64, Duration)> {
    let admin = Invoker::admin(guild.id, guild.text_channel.0);
    let started = Instant::now();
    let days_option = CommandOption::new("days", OptionValue::Integer(days));
    invoke(
        client,
        transcript,
        format!("/backfill start days:{days} (guild {}, admin)", guild.id),
        command("backfill", vec![sub("start", vec![days_option])]),
        &admin,
    )
    .await;
    let guild_id = shared::Snowflake(guild.id);
    loop {
        let job = shared::db::backfill::job(pool, guild_id)
            .await
            .context("reading the import")?
            .context("/backfill start made no import")?;
        if !job.is_running() {
            break;
        }
        if started.elapsed() > Duration::from_secs(600) {
            bail!("the history import did not finish in 10 minutes");
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let elapsed = started.elapsed();
    invoke(
        client,
        transcript,
        format!("/backfill status (guild {}, admin)", guild.id),
        command("backfill", vec![sub("status", vec![])]),
        &admin,
    )
    .await;
    let messages = shared::db::backfill::channels(pool, guild_id)
        .await
        .context("reading the import's channels")?
        .iter()
        .map(|c| c.messages)
        .sum();
    Ok((messages, elapsed))
}
