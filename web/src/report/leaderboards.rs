//! `/topmessagers` and `/leaderboard`: members ranked (bots and webhooks
//! only when the guild counts them).

use shared::Snowflake;
use shared::db::analytics::{self, Bots, LeaderboardMetric, LeaderboardPage};
use twilight_model::channel::message::component::ButtonStyle;

use super::frame::{Frame, Show, text_only};
use super::privacy::Privacy;
use crate::component::ComponentId;
use crate::context::Ctx;
use crate::error::Outcome;
use crate::period::Period;
use crate::reply::{self, Embed, Message, duration, int};
use crate::view::{BoardMetric, Choice, PAGE_SIZE, Request, View};

pub(super) async fn top_messagers(ctx: &Ctx, frame: &Frame) -> Outcome<Message> {
    let page = ranking(
        ctx,
        (frame.period, frame.bots),
        LeaderboardMetric::Messages,
        None,
        10,
        0,
    )
    .await?;
    let embed = Embed::new(format!("Top messagers · {}", frame.label))
        .describe(ranking_lines(&page.rows, 0, int));
    Ok(text_only(embed))
}

pub(super) async fn leaderboard(
    ctx: &Ctx,
    frame: &Frame,
    channel: Option<Snowflake>,
    metric: BoardMetric,
    page: u32,
) -> Outcome<Message> {
    let fetch = |page: u32| {
        ranking(
            ctx,
            (frame.period, frame.bots),
            metric.metric(),
            channel,
            PAGE_SIZE,
            i64::from(page) * PAGE_SIZE,
        )
    };
    let mut rows = fetch(page).await?;
    // A page past the last (an old message, or a forged id) shows the
    // last; the total is only counted on a page with rows.
    let page = if rows.rows.is_empty() && page > 0 {
        let total = fetch(0).await?.total;
        let last = u32::try_from((total - 1).max(0) / PAGE_SIZE).unwrap_or(0);
        rows = fetch(last).await?;
        last
    } else {
        page
    };
    let offset = i64::from(page) * PAGE_SIZE;
    let pages = ((rows.total + PAGE_SIZE - 1) / PAGE_SIZE).max(1);
    let show = if metric == BoardMetric::Voice {
        duration
    } else {
        int
    };
    // The top members of a channel the member asking may not see are not
    // shown; the title renders no mention, so the channel is named there.
    let scope = match channel {
        Some(c) => {
            let privacy = Privacy::load(ctx).await?;
            privacy.require_visible(c)?;
            let name = analytics::channel_info(&ctx.state.pool, ctx.guild_id, c).await?;
            format!(
                " · {}",
                privacy.text_name(c, name.as_ref().map(|(n, _)| n.as_str()))
            )
        }
        None => String::new(),
    };
    let embed = Embed::new(format!(
        "Leaderboard · {}{scope} · {}",
        metric.key(),
        frame.label
    ))
    .describe(ranking_lines(&rows.rows, offset, show))
    .field("Page", format!("{} of {pages}", i64::from(page) + 1), true);
    let nav = |target: u32, label: &str, disabled: bool| {
        let request = Request {
            view: View::Leaderboard(channel, metric, target),
            timeframe: frame.request.timeframe,
        };
        reply::button(
            label,
            ComponentId::Report(request).encode(),
            ButtonStyle::Secondary,
            disabled,
        )
    };
    let last = i64::from(page) + 1 >= pages;
    let paging = reply::row(vec![
        nav(page.saturating_sub(1), "◀ Previous", page == 0),
        nav(page.saturating_add(1), "Next ▶", last || page == u32::MAX),
    ]);
    let mut message = text_only(embed);
    message.components = vec![paging];
    Ok(message)
}

/// One page of members ranked by `metric` over `period`, bots counted as
/// `bots` says.
pub(crate) async fn ranking(
    ctx: &Ctx,
    (period, bots): (Period, Bots),
    metric: LeaderboardMetric,
    channel: Option<Snowflake>,
    limit: i64,
    offset: i64,
) -> Outcome<LeaderboardPage> {
    let query = analytics::LeaderboardQuery {
        metric,
        channel,
        limit,
        offset,
    };
    Ok(analytics::leaderboard(
        &ctx.state.pool,
        ctx.guild_id,
        period.from,
        period.to,
        query,
        bots,
    )
    .await?)
}

/// `1. <@id> — value` per member, numbered from `offset + 1`.
pub(super) fn ranking_lines(rows: &[analytics::Ranked], offset: i64, show: Show) -> String {
    if rows.is_empty() {
        return "Nobody yet.".into();
    }
    rows.iter()
        .enumerate()
        .map(|(i, r)| {
            format!(
                "{}. <@{}> — {}",
                offset + i as i64 + 1,
                r.user_id,
                show(r.value)
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}
