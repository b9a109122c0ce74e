//! The reports behind every view: figures from `shared::db::analytics`,
//! local days and hours in the guild's timezone, each figure compared with
//! the previous period of equal length, gaps shown as gaps, and charts.
//!
//! [`render`] resolves the period into a [`frame::Frame`], asks the view's
//! family for its message, then adds the gaps note, the footer and the
//! [`navigation`] components every report shares.

mod activity;
mod analysis;
mod channels;
mod comparison;
mod export;
pub(crate) mod frame;
pub(crate) mod leaderboards;
mod members;
mod navigation;
pub(crate) mod overview;
pub(crate) mod privacy;
mod trends;

pub use analysis::activity_score;
pub use export::{ExportWhat, export_report};

use shared::db::analytics;
use shared::db::ingest;
use shared::db::retention;
use shared::db::settings::CollectMode;
use shared::time::Timeframe;

use crate::context::{Ctx, timezone_of};
use crate::error::{Failure, Outcome};
use crate::period;
use crate::reply::Message;
use crate::view::{Request, View};
use frame::{Frame, Retained, timeframe_label};

/// Why attachments and embeds may read low: ServerPulse never asks for
/// message content, and Discord withholds these with it.
const CONTENT_NOTE: &str = "Attachments and embeds count only what Discord shares without the Message Content intent, which ServerPulse does not request (stickers are always counted).";

/// The frame of a request and the guild's totals over its period, or why
/// there is nothing to show: the one place a timeframe becomes a period
/// (retention, gaps, data start), for the commands, exports and the
/// dashboard.
pub(crate) async fn prepare(
    ctx: &Ctx,
    request: Request,
) -> Outcome<(Frame, analytics::GuildTotals)> {
    let settings = ctx.tracked_settings().await?;
    let tz = timezone_of(&settings);
    let pool = &ctx.state.pool;
    let guild = ctx.guild_id;
    if let View::Channel(channel, _) = request.view
        && settings.collect_mode == CollectMode::AllowList
    {
        let collected = shared::db::settings::collected_channels(pool, guild).await?;
        if !collected.contains(&channel) {
            return Err(Failure::user(format!(
                "{} is not collected, so there is nothing to show. An admin can add it with /add-collect-channel.",
                privacy::mention(channel)
            )));
        }
    }
    let first = analytics::first_hour(pool, guild).await?;
    let no_data = || {
        Failure::user(
            "No activity has been recorded for this server in that timeframe yet. Try a longer timeframe.",
        )
    };
    let period = period::resolve(request.timeframe, ctx.now, first).ok_or_else(no_data)?;
    let previous = (request.timeframe != Timeframe::AllTime).then(|| period.previous());
    let removed_before = retention::removed_before(pool, guild).await?;
    let Retained {
        period,
        previous,
        note: retention_note,
    } = frame::within_retention(period, previous, removed_before)?;
    let bots = analytics::Bots::from_setting(settings.count_bots);
    let totals = analytics::guild_totals(pool, guild, period.from, period.to, bots).await?;
    if totals.hours_with_data == 0 {
        return Err(no_data());
    }
    let gaps = ingest::gaps(pool, guild, period.from, period.to).await?;
    let frame = Frame {
        request,
        period,
        previous,
        tz,
        gaps,
        label: timeframe_label(request.timeframe, period, tz),
        first_data: first,
        retention_note,
        bots,
    };
    Ok((frame, totals))
}

/// Renders one report (tracking on, data present) or says why not.
pub async fn render(ctx: &Ctx, request: Request) -> Outcome<Message> {
    let (frame, totals) = prepare(ctx, request).await?;
    let mut message = match request.view {
        View::Overview => overview::overview(ctx, &frame, totals).await?,
        View::Members(category) => members::members(ctx, &frame, category, totals).await?,
        View::Activity(kind) => activity::activity(ctx, &frame, kind, totals).await?,
        View::Channels(kind) => channels::channels(ctx, &frame, kind).await?,
        View::Trends(metric) => trends::trends(ctx, &frame, metric).await?,
        View::Member(user) => analysis::member(ctx, &frame, user).await?,
        View::Channel(channel, metric) => analysis::channel(ctx, &frame, channel, metric).await?,
        View::Comparative(metric, a, b) => {
            comparison::comparative(ctx, &frame, metric, a, b).await?
        }
        View::TopMessagers => leaderboards::top_messagers(ctx, &frame).await?,
        View::Leaderboard(channel, metric, page) => {
            leaderboards::leaderboard(ctx, &frame, channel, metric, page).await?
        }
    };
    let imported = crate::backfill::imported_note(&ctx.state.pool, ctx.guild_id, &frame).await?;
    if let Some(embed) = message.embeds.first_mut() {
        if let Some(note) = imported {
            embed
                .fields
                .push(("📥 Imported history".into(), note, false));
        }
        if let Some(note) = &frame.retention_note {
            embed
                .fields
                .push(("🗑 Retention".into(), note.clone(), false));
        }
        if let Some(note) = frame.gaps_note() {
            embed.fields.push(("⚠ Data gaps".into(), note, false));
        }
        embed.footer = Some(frame.footer());
    }
    message.components.extend(navigation::navigation(&frame));
    Ok(message)
}
