//! Baseline (a): the naive bot, end to end. The same twilight shard as the
//! ingester reads the same simulator, every event is deserialized into
//! twilight's models (as a bot built on twilight does), and each is stored
//! with one autocommitted `INSERT` (what a bot writing one document per
//! event with MongoDB's `insert_one` does), `connections` of them in flight
//! at a time.
//!
//! It runs in a child process of its own (`serverpulse-bench __naive_bot`),
//! like the ingester, so its CPU time is its own. It prints one JSON line
//! when its last `INSERT` has committed, then keeps its connections open
//! until its standard input closes, so the benchmark can read what those
//! connections' server processes spent.

use std::io::{BufRead as _, Write as _};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use chrono::Utc;
use serde_json::json;
use shared::Snowflake;
use shared::db::bench::{EventKind, EventRow};
use tokio::sync::Semaphore;
use twilight_gateway::{ConfigBuilder, EventTypeFlags, Shard, ShardId, StreamExt as _};
use twilight_model::gateway::event::Event;

/// The hidden subcommand the benchmark starts the naive bot with.
pub const NAIVE_CHILD: &str = "__naive_bot";

/// `serverpulse-bench __naive_bot`, configured by environment variables
/// (see [`bot`]).
pub fn naive_child_main() -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("naive bot: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(bot()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("naive bot: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn env(name: &str) -> anyhow::Result<String> {
    std::env::var(name).with_context(|| format!("{name} is not set"))
}

fn id<T>(id: twilight_model::id::Id<T>) -> Snowflake {
    Snowflake(id.get())
}

/// The row a per-event statistics bot stores for a gateway event; `None`
/// for the session's own events (READY, the GUILD_CREATEs of the guilds
/// the session starts with), which are not part of the workload.
fn row_of(event: &Event) -> Option<EventRow> {
    let zero = Snowflake(0);
    let (kind, channel_id, user_id, target_id, amount) = match event {
        Event::Ready(_) | Event::Resumed | Event::GuildCreate(_) => return None,
        Event::MessageCreate(m) => (
            EventKind::Message,
            id(m.channel_id),
            id(m.author.id),
            id(m.id),
            1,
        ),
        Event::MessageDelete(m) => (
            EventKind::MessageDelete,
            id(m.channel_id),
            zero,
            id(m.id),
            1,
        ),
        Event::MessageDeleteBulk(m) => (
            EventKind::MessageDeleteBulk,
            id(m.channel_id),
            zero,
            zero,
            i32::try_from(m.ids.len()).unwrap_or(i32::MAX),
        ),
        Event::ReactionAdd(r) => (
            EventKind::ReactionAdd,
            id(r.channel_id),
            id(r.user_id),
            id(r.message_id),
            1,
        ),
        Event::ReactionRemove(r) => (
            EventKind::ReactionRemove,
            id(r.channel_id),
            id(r.user_id),
            id(r.message_id),
            1,
        ),
        Event::MemberAdd(m) => (EventKind::MemberAdd, zero, id(m.user.id), zero, 1),
        Event::MemberRemove(m) => (EventKind::MemberRemove, zero, id(m.user.id), zero, 1),
        Event::VoiceStateUpdate(v) => (
            EventKind::VoiceState,
            v.channel_id.map_or(zero, id),
            id(v.user_id),
            zero,
            1,
        ),
        Event::ChannelCreate(c) => channel_row(&c.0),
        Event::ChannelUpdate(c) => channel_row(&c.0),
        Event::ChannelDelete(c) => channel_row(&c.0),
        Event::ThreadCreate(c) => channel_row(&c.0),
        Event::ThreadUpdate(c) => channel_row(&c.0),
        Event::ThreadDelete(t) => (EventKind::Channel, id(t.parent_id), zero, id(t.id), 1),
        _ => (EventKind::Other, zero, zero, zero, 1),
    };
    Some(EventRow {
        guild_id: event.guild_id().map_or(Snowflake(0), id),
        channel_id,
        user_id,
        kind,
        at: Utc::now(),
        target_id,
        amount,
    })
}

fn channel_row(
    c: &twilight_model::channel::Channel,
) -> (EventKind, Snowflake, Snowflake, Snowflake, i32) {
    (
        EventKind::Channel,
        c.parent_id.map_or(Snowflake(0), id),
        c.owner_id.map_or(Snowflake(0), id),
        id(c.id),
        1,
    )
}

/// Environment: `DATABASE_URL`, `DISCORD_TOKEN`, `DISCORD_GATEWAY_URL`,
/// `NAIVE_EVENTS` (stop after this many), `NAIVE_TIME_CAP_MS` (or after this
/// long from the first event), `NAIVE_CONNECTIONS` (INSERTs in flight).
async fn bot() -> anyhow::Result<()> {
    let target: u64 = env("NAIVE_EVENTS")?.parse().context("NAIVE_EVENTS")?;
    let cap = Duration::from_millis(
        env("NAIVE_TIME_CAP_MS")?
            .parse()
            .context("NAIVE_TIME_CAP_MS")?,
    );
    let connections: u32 = env("NAIVE_CONNECTIONS")?
        .parse()
        .context("NAIVE_CONNECTIONS")?;
    let database = shared::config::DatabaseConfig {
        url: shared::config::Secret::new(env("DATABASE_URL")?),
        max_connections: connections,
        connect_timeout: Duration::from_secs(30),
        limits: shared::config::DatabaseLimits::UNLIMITED,
    };
    let pool = shared::db::connect(&database).await?;
    let config = ConfigBuilder::new(env("DISCORD_TOKEN")?, serverpulse_ingester::shard::INTENTS)
        .proxy_url(env("DISCORD_GATEWAY_URL")?)
        .build();
    let mut shard = Shard::with_config(ShardId::ONE, config);
    let in_flight = Arc::new(Semaphore::new(connections as usize));
    let failed = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let mut received = 0u64;
    let mut deadline: Option<Instant> = None;
    while received < target && deadline.is_none_or(|d| Instant::now() < d) {
        let Some(item) = shard.next_event(EventTypeFlags::all()).await else {
            anyhow::bail!("the shard closed");
        };
        let event = match item {
            Ok(event) => event,
            Err(error) => {
                eprintln!("naive bot: receive error: {error}");
                continue;
            }
        };
        let Some(row) = row_of(&event) else {
            continue;
        };
        deadline.get_or_insert_with(|| Instant::now() + cap);
        received += 1;
        let permit = Arc::clone(&in_flight).acquire_owned().await?;
        let (pool, failed) = (pool.clone(), Arc::clone(&failed));
        tokio::spawn(async move {
            if shared::db::bench::insert_event(&pool, &row).await.is_err() {
                failed.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
            drop(permit);
        });
    }
    // Every INSERT has committed once all the permits are back.
    let _all = in_flight.acquire_many(connections).await?;
    let failed = failed.load(std::sync::atomic::Ordering::Relaxed);
    let line = json!({"events": received - failed, "failed": failed});
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{line}")?;
    stdout.flush()?;
    drop(stdout);
    // Connections stay open until the benchmark has read their CPU time.
    tokio::task::spawn_blocking(|| {
        let mut sink = String::new();
        while std::io::stdin()
            .lock()
            .read_line(&mut sink)
            .is_ok_and(|n| n > 0)
        {}
    })
    .await?;
    shard.close(twilight_gateway::CloseFrame::NORMAL);
    pool.close().await;
    Ok(())
}
