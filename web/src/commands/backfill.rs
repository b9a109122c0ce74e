//! `/backfill start|status|cancel` (Manage Server, audited) and `/setup
//! import_days`: importing the server's past from Discord's message
//! history. The import itself is [`crate::backfill`]'s worker.

use chrono::{DateTime, Duration, Utc};
use shared::db::backfill::{self as jobs, BackfillChannel, BackfillJob, Requested};
use shared::db::settings::GuildSettings;

use super::Options;
use super::settings::{already_applied, change};
use crate::context::Ctx;
use crate::error::{Failure, Outcome};
use crate::reply::{self, Embed, Message, Reply};

/// Days imported when `/backfill start` names none.
pub const DEFAULT_DAYS: i64 = 30;
/// Channels listed one by one in `/backfill status`.
const LISTED: usize = 15;

/// `/backfill start [days]`.
pub(super) async fn start(ctx: &Ctx, options: &Options) -> Outcome<Reply> {
    ctx.require_admin()?;
    let days = options.integer("days").unwrap_or(DEFAULT_DAYS);
    let settings = ctx.tracked_settings().await?;
    let Some(mut tx) = change(ctx).await? else {
        return Ok(already_applied());
    };
    let message = request(ctx, &mut tx, &settings, days).await?;
    tx.commit().await?;
    Ok(Reply::Message(message))
}

/// Asks for `days` of history in the settings change `tx` (also used by
/// `/setup import_days`); the answer to show.
pub(super) async fn request(
    ctx: &Ctx,
    tx: &mut sqlx::PgConnection,
    settings: &GuildSettings,
    days: i64,
) -> Outcome<Message> {
    let window = i64::from(settings.retention_days);
    if !(1..=window).contains(&days) {
        return Err(Failure::user(format!(
            "`days` must be between 1 and {window}: this server keeps per-member activity for {window} days (see /retention)."
        )));
    }
    let Some(until) = settings.tracking_since else {
        return Err(Failure::user(
            "Tracking is not enabled on this server yet. An admin can turn it on with /setup.",
        ));
    };
    // Nothing older than the retention window: it would be removed again.
    let horizon = (ctx.now - Duration::days(window))
        .date_naive()
        .and_hms_opt(0, 0, 0)
        .expect("midnight exists")
        .and_utc();
    let from = (until - Duration::days(days)).max(horizon);
    let text = match jobs::request(tx, ctx.guild_id, ctx.user_id, from, until, ctx.now).await? {
        Requested::Started { from, until } => format!(
            "Importing history from <t:{}:f> up to <t:{}:f>, when tracking began (live tracking counts everything after). \
             Follow it with `/backfill status`; stop it with `/backfill cancel`.",
            from.timestamp(),
            until.timestamp()
        ),
        Requested::AlreadyRunning => {
            "An import of this server's history is already running: see `/backfill status`."
                .to_owned()
        }
        Requested::AlreadyCovered { from } => format!(
            "History back to <t:{}:f> is imported already. Ask for more days to go further back.",
            from.timestamp()
        ),
    };
    Ok(Message::notice(text))
}

/// `/backfill cancel`.
pub(super) async fn cancel(ctx: &Ctx) -> Outcome<Reply> {
    ctx.require_admin()?;
    let Some(mut tx) = change(ctx).await? else {
        return Ok(already_applied());
    };
    let cancelled = jobs::cancel(&mut tx, ctx.guild_id, ctx.user_id).await?;
    tx.commit().await?;
    Ok(Reply::Message(Message::notice(if cancelled {
        "Import cancelled. What was imported stays; `/backfill start` goes on from where it stopped."
    } else {
        "No import is running."
    })))
}

/// `/backfill status`.
pub(super) async fn status(ctx: &Ctx) -> Outcome<Reply> {
    ctx.require_admin()?;
    let Some(job) = jobs::job(&ctx.state.pool, ctx.guild_id).await? else {
        return Ok(Reply::Message(Message::notice(
            "No history was imported yet. `/backfill start days:<n>` imports the last n days before tracking began.",
        )));
    };
    let channels = jobs::channels(&ctx.state.pool, ctx.guild_id).await?;
    Ok(Reply::Message(Message {
        embeds: vec![status_embed(&job, &channels, ctx.now)],
        ephemeral: true,
        ..Message::default()
    }))
}

/// How much of a channel's range is imported, 0 to 1.
pub fn fraction(job: &BackfillJob, channel: &BackfillChannel) -> f64 {
    if channel.state == "done" {
        return 1.0;
    }
    let span = (job.until_at - job.from_at).num_milliseconds();
    if span <= 0 {
        return 1.0;
    }
    let covered = (job.until_at - channel.covered_from).num_milliseconds();
    (covered as f64 / span as f64).clamp(0.0, 1.0)
}

/// `▓▓▓▓░░░░░░ 40%`.
pub fn bar(fraction: f64) -> String {
    let filled = (fraction * 10.0).round().clamp(0.0, 10.0) as usize;
    format!(
        "{}{} {:.0}%",
        "▓".repeat(filled),
        "░".repeat(10 - filled),
        fraction * 100.0
    )
}

/// Time left at the rate measured so far: the share of the readable
/// channels' range imported since the job started, extrapolated.
pub fn eta(
    job: &BackfillJob,
    channels: &[BackfillChannel],
    now: DateTime<Utc>,
) -> Option<Duration> {
    let readable: Vec<f64> = channels
        .iter()
        .filter(|c| c.state != "unreadable")
        .map(|c| fraction(job, c))
        .collect();
    if readable.is_empty() || !job.is_running() {
        return None;
    }
    let done = readable.iter().sum::<f64>() / readable.len() as f64;
    let elapsed = (now - job.started_at?).num_milliseconds() as f64;
    (done > 0.0 && done < 1.0 && elapsed > 0.0)
        .then(|| Duration::milliseconds((elapsed * (1.0 - done) / done) as i64))
}

fn status_embed(job: &BackfillJob, channels: &[BackfillChannel], now: DateTime<Utc>) -> Embed {
    let messages: i64 = channels.iter().map(|c| c.messages).sum();
    let readable: Vec<&BackfillChannel> = channels
        .iter()
        .filter(|c| c.state != "unreadable")
        .collect();
    let overall = if readable.is_empty() {
        if job.state == "done" { 1.0 } else { 0.0 }
    } else {
        readable.iter().map(|c| fraction(job, c)).sum::<f64>() / readable.len() as f64
    };
    let state = match job.state.as_str() {
        "running" if !job.discovered => "starting: listing channels and threads".to_owned(),
        "running" => match eta(job, channels, now) {
            Some(left) => format!(
                "running, about {} left",
                reply::duration(left.num_seconds().max(1))
            ),
            None => "running".to_owned(),
        },
        "done" => "done".to_owned(),
        _ => "cancelled".to_owned(),
    };
    let mut embed = Embed::new("History import")
        .describe(format!(
            "From <t:{}:f> up to <t:{}:f> (when tracking began).\n{} — {}",
            job.from_at.timestamp(),
            job.until_at.timestamp(),
            bar(overall),
            state
        ))
        .field("Messages imported", reply::int(messages), true)
        .field(
            "Joins imported",
            match job.members_state.as_str() {
                "unavailable" => format!(
                    "none: {}",
                    job.members_error
                        .as_deref()
                        .unwrap_or("member list unavailable")
                ),
                "pending" => "not yet".to_owned(),
                _ => reply::int(i64::from(job.joins_imported)),
            },
            true,
        );
    let mut lines: Vec<String> = readable
        .iter()
        .take(LISTED)
        .map(|c| {
            let rate = match (c.first_page_at, c.last_page_at) {
                (Some(a), Some(b)) if b > a => {
                    let secs = (b - a).num_milliseconds() as f64 / 1000.0;
                    format!(", {:.0} msg/s", c.messages as f64 / secs)
                }
                _ => String::new(),
            };
            format!(
                "`{}` <#{}> {} messages{rate}",
                bar(fraction(job, c)),
                c.channel_id,
                reply::int(c.messages)
            )
        })
        .collect();
    if readable.len() > LISTED {
        lines.push(format!("… and {} more", readable.len() - LISTED));
    }
    if !lines.is_empty() {
        embed = embed.field(
            "Channels",
            reply::truncate(&lines.join("\n"), reply::limits::FIELD_VALUE),
            false,
        );
    }
    let refused: Vec<String> = channels
        .iter()
        .filter(|c| c.state == "unreadable")
        .map(|c| {
            format!(
                "<#{}>: {}",
                c.channel_id,
                c.error.as_deref().unwrap_or("could not be read")
            )
        })
        .collect();
    if !refused.is_empty() {
        embed = embed.field(
            "Could not be read (skipped)",
            reply::truncate(&refused.join("\n"), reply::limits::FIELD_VALUE),
            false,
        );
    }
    // What history can and cannot tell: the one wording of every report.
    embed.field(
        crate::imported::TITLE,
        crate::imported::note(&crate::imported::discord_time(job.until_at)),
        false,
    )
}
