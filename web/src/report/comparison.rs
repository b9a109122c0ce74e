//! `/activity analyze comparative`: this period against the previous one,
//! or one channel against another.

use shared::Snowflake;
use shared::db::analytics::{self, Bots, LeaderboardMetric};

use super::frame::{Days, Frame, as_series, total, with_chart};
use super::privacy::{Privacy, mention};
use super::trends::{metric_days, metric_show};
use crate::charts;
use crate::context::Ctx;
use crate::error::{Failure, Outcome};
use crate::honest::{self, Comparison};
use crate::period::{Period, change};
use crate::reply::{Embed, Message};
use crate::view::{Choice, TrendMetric};

pub(super) async fn comparative(
    ctx: &Ctx,
    frame: &Frame,
    metric: TrendMetric,
    first: Option<Snowflake>,
    second: Option<Snowflake>,
) -> Outcome<Message> {
    if let (Some(a), Some(b)) = (first, second) {
        return two_channels(ctx, frame, metric, a, b).await;
    }
    let show = metric_show(metric);
    let Some(comparison) = frame.comparison else {
        return Err(Failure::user(
            "All time has no previous period to compare with. Pick 24h, 7d, 30d, 90d or custom, or two channels.",
        ));
    };
    let current = metric_days(ctx, frame, frame.period, metric).await?;
    let Some(previous) = frame.previous.filter(|_| comparison.is_full()) else {
        return uncomparable(frame, metric, &current, comparison).await;
    };
    let before = metric_days(ctx, frame, previous, metric).await?;
    let sum = |days: &Days| -> i64 {
        if metric == TrendMetric::Members {
            days.iter().rev().find_map(|d| d.1).unwrap_or(0)
        } else {
            days.iter().filter_map(|d| d.1).sum()
        }
    };
    let (now_total, before_total) = (sum(&current), sum(&before));
    let label = if metric == TrendMetric::Members {
        "Members at the end"
    } else {
        "Total"
    };
    let embed = Embed::new(format!(
        "This period against the previous · {} · {}",
        metric.key(),
        frame.label
    ))
    .field(
        format!("{label}, this period"),
        format!("**{}**", show(now_total)),
        true,
    )
    .field(
        format!("{label}, previous period"),
        format!("**{}**", show(before_total)),
        true,
    )
    .field(
        "Change",
        change(now_total as f64, before_total as f64),
        true,
    );
    // Both periods on one axis of day numbers: "day 1" is each one's first.
    let labels: Vec<String> = (1..=current.len()).map(|d| format!("day {d}")).collect();
    let png = frame.labelled_chart(
        &format!("{} per day: this period and the previous", metric.key()),
        &labels,
        &current,
        &[
            as_series("this period", &current, charts::BLURPLE),
            as_series("previous period", &before, charts::GREEN),
        ],
        None,
    );
    with_chart(embed, "comparison.png", png).await
}

/// The period against a previous one that lies (partly) before there is
/// data: this period's figures, and why there is nothing to set beside them.
async fn uncomparable(
    frame: &Frame,
    metric: TrendMetric,
    current: &Days,
    comparison: Comparison,
) -> Outcome<Message> {
    let show = metric_show(metric);
    let now_total = if metric == TrendMetric::Members {
        current.iter().rev().find_map(|d| d.1).unwrap_or(0)
    } else {
        current.iter().filter_map(|d| d.1).sum()
    };
    let label = if metric == TrendMetric::Members {
        "Members at the end"
    } else {
        "Total"
    };
    let why = comparison.why().unwrap_or_default();
    let embed = Embed::new(format!(
        "This period against the previous · {} · {}",
        metric.key(),
        frame.label
    ))
    .field(
        format!("{label}, this period"),
        format!("**{}**", show(now_total)),
        true,
    )
    .field(format!("{label}, previous period"), why, true)
    .field("Change", "not compared", true);
    let labels: Vec<String> = (1..=current.len()).map(|d| format!("day {d}")).collect();
    let png = frame.labelled_chart(
        &format!("{} per day: this period", metric.key()),
        &labels,
        current,
        &[as_series("this period", current, charts::BLURPLE)],
        None,
    );
    with_chart(embed, "comparison.png", png).await
}

async fn two_channels(
    ctx: &Ctx,
    frame: &Frame,
    metric: TrendMetric,
    a: Snowflake,
    b: Snowflake,
) -> Outcome<Message> {
    let privacy = Privacy::load(ctx).await?;
    privacy.require_visible(a)?;
    privacy.require_visible(b)?;
    let show = metric_show(metric);
    let metric = if metric == TrendMetric::Members {
        TrendMetric::Messages
    } else {
        metric
    };
    let (va, vb) = (
        channel_total(ctx, (frame.period, frame.bots), a, metric).await?,
        channel_total(ctx, (frame.period, frame.bots), b, metric).await?,
    );
    let pool = &ctx.state.pool;
    let name_a = analytics::channel_info(pool, ctx.guild_id, a)
        .await?
        .map(|(n, _)| n);
    let name_b = analytics::channel_info(pool, ctx.guild_id, b)
        .await?
        .map(|(n, _)| n);
    // Field names render no mentions: the escaped names, the mentions in
    // the values.
    let (la, lb) = (
        privacy.text_name(a, name_a.as_deref()),
        privacy.text_name(b, name_b.as_deref()),
    );
    let embed = Embed::new(format!("Comparison · {} · {}", metric.key(), frame.label))
        .field(la, format!("{}\n**{}**", mention(a), show(va)), true)
        .field(lb, format!("{}\n**{}**", mention(b), show(vb)), true)
        .field(
            "Difference",
            format!("{} against {}", change(va as f64, vb as f64), mention(b)),
            false,
        )
        .field(
            "Share",
            honest::bar(va, va + vb, "neither channel has any in this period"),
            false,
        );
    let png = charts::bar_chart(
        &format!("{} · {}", metric.key(), frame.label),
        &[
            (privacy.chart_label(a, name_a.as_deref()), va as f64),
            (privacy.chart_label(b, name_b.as_deref()), vb as f64),
        ],
        charts::BLURPLE,
    );
    with_chart(embed, "comparison.png", png).await
}

/// A channel's total of `metric` (members count as messages).
async fn channel_total(
    ctx: &Ctx,
    (period, bots): (Period, Bots),
    channel: Snowflake,
    metric: TrendMetric,
) -> Outcome<i64> {
    let pool = &ctx.state.pool;
    let (g, from, to) = (ctx.guild_id, period.from, period.to);
    Ok(match metric {
        TrendMetric::Voice => {
            total(&analytics::voice_hours(pool, g, from, to, Some(channel), bots).await?)
        }
        TrendMetric::Reactions => {
            // A total: members who chose `/privacy hide` count too.
            let query = analytics::LeaderboardQuery {
                metric: LeaderboardMetric::ReactionsGiven,
                channel: Some(channel),
                limit: i64::MAX,
                offset: 0,
            };
            let all = analytics::leaderboard_with_hidden(pool, g, from, to, query, bots).await?;
            all.rows.iter().map(|r| r.value).sum()
        }
        TrendMetric::Messages | TrendMetric::Members => {
            total(&analytics::message_hours(pool, g, from, to, None, Some(channel), bots).await?)
        }
    })
}
