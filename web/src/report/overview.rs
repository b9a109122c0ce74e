//! `/serverstats overview`: every headline figure with a chart.

use shared::db::analytics::{self, GuildTotals};

use super::frame::{Frame, as_series, peak_text, series_of, with_chart};
use crate::charts;
use crate::context::Ctx;
use crate::error::Outcome;
use crate::period;
use crate::reply::{Embed, Message, duration, int};

/// The guild's totals over the previous period, if there is one.
pub(crate) async fn previous_totals(ctx: &Ctx, frame: &Frame) -> Outcome<Option<GuildTotals>> {
    let pool = &ctx.state.pool;
    frame
        .before(|q| analytics::guild_totals(pool, ctx.guild_id, q.from, q.to, frame.bots))
        .await
}

pub(super) async fn overview(ctx: &Ctx, frame: &Frame, totals: GuildTotals) -> Outcome<Message> {
    let pool = &ctx.state.pool;
    let (g, p) = (ctx.guild_id, frame.period);
    let prev = previous_totals(ctx, frame);
    let hours = async { Ok(analytics::guild_hours(pool, g, p.from, p.to, frame.bots).await?) };
    let membership = async { Ok(analytics::membership(pool, g, p.from, p.to, frame.bots).await?) };
    let active =
        frame.now_and_before(|q| analytics::active_members(pool, g, q.from, q.to, frame.bots));
    let health = super::health::reads(ctx, frame);
    let (prev, hours, membership, (active, prev_active), health) = if frame.concurrent {
        tokio::try_join!(prev, hours, membership, active, health)?
    } else {
        (
            prev.await?,
            hours.await?,
            membership.await?,
            active.await?,
            health.await?,
        )
    };
    let messages = series_of(&hours, |h| h.messages);
    let days = frame.daily(&messages);
    let cells = period::heatmap(&messages, frame.tz);
    let before = prev.as_ref();
    let embed = Embed::new(format!("Server overview · {}", frame.label));
    let mut embed = frame
        .compared(embed, &totals, before, &[("Messages", |t| t.messages)])
        .field(
            "Voice time",
            frame.figure_with(
                totals.voice_seconds,
                prev.map(|t| t.voice_seconds),
                duration,
            ),
            true,
        );
    embed = frame.compared(
        embed,
        &totals,
        before,
        &[
            ("Reactions", |t| t.reactions_added),
            ("Joins", |t| t.joins),
            ("Leaves", |t| t.leaves),
            ("Net growth", |t| t.joins - t.leaves),
        ],
    );
    embed = embed.field("Active members", frame.figure(active, prev_active), true);
    embed = frame
        .compared(
            embed,
            &totals,
            before,
            &[
                ("Threads created", |t| t.threads_created),
                ("Deleted messages", |t| t.deletions),
            ],
        )
        .field("Peak time", peak_text(&cells, int), false);
    if let Some(total) = membership.members_at_end() {
        embed = embed.field("Members at the end", format!("**{}**", int(total)), true);
    }
    embed = super::health::section(&totals, active, &membership, &health, embed);
    let png = frame.day_chart(
        &format!("Messages per day · {}", frame.label),
        &days,
        &[as_series("messages", &days, charts::BLURPLE)],
        None,
    );
    with_chart(embed, "overview.png", png).await
}
