//! The reports behind every view: figures from `shared::db::analytics`,
//! local days and hours in the guild's timezone, each figure compared with
//! the previous period of equal length, gaps shown as gaps, and charts.
//!
//! [`render`] resolves the period into a [`frame::Frame`], asks the view's
//! family for its message, then adds the gaps note, the footer and the
//! [`navigation`] components every report shares.

mod activity;
mod analysis;
mod channel_health;
mod channels;
mod comparison;
pub(crate) mod emoji;
mod export;
pub(crate) mod frame;
pub(crate) mod health;
pub(crate) mod leaderboards;
pub(crate) mod members;
mod navigation;
pub(crate) mod overview;
mod presence;
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
use crate::honest::{self, Comparison};
use crate::period;
use crate::reply::Message;
use crate::view::{ActivityKind, ChannelKind, ChannelMetric, Request, View};
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
    // First, alone: a guild without tracking is told so, and nothing else
    // is read.
    let settings = ctx.tracked_settings().await?;
    let tz = timezone_of(&settings);
    let pool = &ctx.state.pool;
    let guild = ctx.guild_id;
    let first = async { Ok::<_, Failure>(analytics::first_hour(pool, guild).await?) };
    let removed = async { Ok::<_, Failure>(retention::removed_before(pool, guild).await?) };
    let (first, removed_before) = if room_for(pool, 2) {
        tokio::try_join!(first, removed)?
    } else {
        (first.await?, removed.await?)
    };
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
    let no_data = || {
        Failure::user(
            "No activity has been recorded for this server in that timeframe yet. Try a longer timeframe.",
        )
    };
    let bucketing = shared::bucketing::Bucketing::new(tz);
    let period =
        period::resolve(request.timeframe, ctx.now, first, bucketing).ok_or_else(no_data)?;
    // Compared only with a previous period wholly after tracking began and
    // the retention horizon; otherwise every figure says why not. Compared
    // spans end at the last complete bucket (like with like).
    let since = honest::data_since(settings.tracking_since, first, removed_before);
    let spans = (request.timeframe != Timeframe::AllTime).then(|| {
        let preset = !matches!(request.timeframe, Timeframe::Custom { .. });
        honest::compared_spans(period, ctx.now, bucketing, since, preset)
    });
    let period = spans.map_or(period, |s| s.period);
    let complete_to = spans.and_then(|s| s.complete_to);
    let previous = spans.map(|s| s.previous);
    let Retained {
        period,
        previous,
        note: retention_note,
    } = frame::within_retention(period, previous, removed_before)?;
    let comparison = spans.map(|s| Comparison::of(s.previous, since));
    let previous = previous.filter(|_| comparison.is_some_and(Comparison::is_full));
    let bots = analytics::Bots::from_setting(settings.count_bots);
    let totals = async {
        Ok::<_, Failure>(analytics::guild_totals(pool, guild, period.from, period.to, bots).await?)
    };
    let gaps = async { Ok::<_, Failure>(ingest::gaps(pool, guild, period.from, period.to).await?) };
    let (totals, gaps) = if room_for(pool, 2) {
        tokio::try_join!(totals, gaps)?
    } else {
        (totals.await?, gaps.await?)
    };
    if totals.hours_with_data == 0 {
        return Err(no_data());
    }
    let frame = Frame {
        request,
        period,
        previous,
        tz,
        gaps,
        label: timeframe_label(request.timeframe, period, tz),
        first_data: first,
        comparison,
        now: ctx.now,
        complete_to,
        retention_note,
        bots,
        // The most a view reads at once: the overview's eight (totals and
        // series, membership, active members now and before, two join
        // cohorts and message concentration).
        concurrent: room_for(pool, 8),
    };
    Ok((frame, totals))
}

/// Whether `n` reads of one report may run at once: the pool has that many
/// connections idle or not yet opened. Under load they go one after the
/// other, so a request holds one connection at a time and waits for each
/// no longer than it did before (one sibling timing out on the pool would
/// fail the whole report).
pub(crate) fn room_for(pool: &sqlx::PgPool, n: usize) -> bool {
    let unopened = pool
        .options()
        .get_max_connections()
        .saturating_sub(pool.size());
    pool.num_idle() + unopened as usize >= n
}

/// Renders one report (tracking on, data present) or says why not.
pub async fn render(ctx: &Ctx, request: Request) -> Outcome<Message> {
    let (frame, totals) = prepare(ctx, request).await?;
    let mut message = match request.view {
        View::Overview => overview::overview(ctx, &frame, totals).await?,
        View::Members(category) => members::members(ctx, &frame, category, totals).await?,
        // The emoji, channel health and deletion reports have files of their own.
        View::Activity(ActivityKind::Emoji) => emoji::emoji(ctx, &frame, None).await?,
        View::Channel(channel, ChannelMetric::Emoji) => {
            emoji::emoji(ctx, &frame, Some(channel)).await?
        }
        View::Channels(ChannelKind::Health) => channel_health::health(ctx, &frame).await?,
        View::Channels(ChannelKind::Deletions) => channel_health::deletions(ctx, &frame).await?,
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
    let imported = crate::imported::frame_until(&ctx.state.pool, ctx.guild_id, &frame)
        .await?
        .map(|until| crate::imported::note(&crate::imported::discord_time(until)));
    if let Some(embed) = message.embeds.first_mut() {
        if let Some(note) = imported {
            embed
                .fields
                .push((crate::imported::TITLE.into(), note, false));
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
    // Under the overview's navigation: what each health figure means.
    if request.view == View::Overview {
        message.components.push(health::definition_buttons());
    }
    Ok(message)
}
