//! `/serverstats trends`: growth, the weekly cycle and a forecast, and the
//! daily series the comparison reuses.

use chrono::Datelike;
use shared::db::analytics;

use super::frame::{Days, Frame, Show, WEEKDAYS, as_series, series_of, with_chart};
use crate::charts::{self, Band};
use crate::context::Ctx;
use crate::error::Outcome;
use crate::period::{self, Period, change};
use crate::reply::{Embed, Message, duration, int};
use crate::view::{Choice, TrendMetric};

/// Daily values of a trend metric over a period; members are the running
/// member count (ending at the count at the period's end).
pub(super) async fn metric_days(
    ctx: &Ctx,
    frame: &Frame,
    period: Period,
    metric: TrendMetric,
) -> Outcome<Days> {
    let pool = &ctx.state.pool;
    let g = ctx.guild_id;
    let hours = analytics::guild_hours(pool, g, period.from, period.to, frame.bots).await?;
    let sub = frame.over(period);
    Ok(match metric {
        TrendMetric::Messages => sub.daily(&series_of(&hours, |h| h.messages)),
        TrendMetric::Reactions => sub.daily(&series_of(&hours, |h| h.reactions_added)),
        TrendMetric::Voice => {
            let voice =
                analytics::voice_hours(pool, g, period.from, period.to, None, frame.bots).await?;
            sub.daily(&voice)
        }
        TrendMetric::Members => {
            let net = sub.daily(&series_of(&hours, |h| h.joins - h.leaves));
            let membership =
                analytics::membership(pool, g, period.from, period.to, frame.bots).await?;
            let end = membership.members_at_end().unwrap_or(0);
            let total_net: i64 = net.iter().map(|(_, v)| v.unwrap_or(0)).sum();
            let mut running = end - total_net;
            net.into_iter()
                .map(|(d, v)| {
                    running += v.unwrap_or(0);
                    (d, v.map(|_| running))
                })
                .collect()
        }
    })
}

pub(super) fn metric_show(metric: TrendMetric) -> Show {
    if metric == TrendMetric::Voice {
        duration
    } else {
        int
    }
}

pub(super) async fn trends(ctx: &Ctx, frame: &Frame, metric: TrendMetric) -> Outcome<Message> {
    let days = metric_days(ctx, frame, frame.period, metric).await?;
    let show = metric_show(metric);
    // The fit and the weekly cycle use whole local days with data: a
    // partial first day, or the day in progress, would read as a drop.
    let whole: Days = days
        .iter()
        .filter(|(day, _)| frame.partial_day(*day).is_none())
        .copied()
        .collect();
    let observed: Vec<f64> = whole
        .iter()
        .filter_map(|(_, v)| v.map(|v| v as f64))
        .collect();
    let horizon = (frame.period.days().round() as usize).clamp(1, 30);
    let forecast = period::forecast(&observed, horizon);
    let cycle = weekly_cycle(&whole, show);
    let embed = Embed::new(format!("Trends · {} · {}", metric.key(), frame.label))
        .field("Growth", growth(metric, &observed), false)
        .field(
            "Weekly cycle (mean per day)",
            if cycle.is_empty() {
                "–".into()
            } else {
                cycle.join(" · ")
            },
            false,
        );
    let embed = match &forecast {
        Some(f) if metric == TrendMetric::Members => embed.field(
            format!("Forecast, next {horizon} days"),
            format!(
                "about **{}** members at the end (95% band {} – {}); trend {:+.1} per day.\nMethod: least-squares line through the daily values; band ±1.96 residual standard deviations.",
                int(f.daily.last().map_or(0.0, |d| d.0).round() as i64),
                int(f.daily.last().map_or(0.0, |d| d.1).round() as i64),
                int(f.daily.last().map_or(0.0, |d| d.2).round() as i64),
                f.slope_per_day
            ),
            false,
        ),
        Some(f) => embed.field(
            format!("Forecast, next {horizon} days"),
            format!(
                "about **{}** (95% band {} – {}); trend {:+.1} per day.\nMethod: least-squares line through the daily totals; band ±1.96·s·√days from the residuals.",
                show(f.total.round() as i64),
                show(f.low.round() as i64),
                show(f.high.round() as i64),
                f.slope_per_day
            ),
            false,
        ),
        None => embed.field("Forecast", "Needs at least 3 days of data; choose a longer timeframe.", false),
    };
    let embed = embed.describe(format!("**Per day**\n{}", frame.daily_lines(&days, show)));
    // Voice is charted in hours, everything else as counted.
    let (scale, unit) = if metric == TrendMetric::Voice {
        (3600.0, "voice hours")
    } else {
        (1.0, metric.key())
    };
    let band = forecast.map(|f| Band {
        name: "forecast (95% band)".into(),
        values: f
            .daily
            .iter()
            .map(|(y, low, high)| (y / scale, low / scale, high / scale))
            .collect(),
    });
    let mut line = as_series(unit, &days, charts::BLURPLE);
    for value in line.values.iter_mut().flatten() {
        *value /= scale;
    }
    let png = frame.day_chart(
        &format!("{unit} per day with forecast"),
        &days,
        &[line],
        band.as_ref(),
    );
    with_chart(embed, "trend.png", png).await
}

/// The mean per local weekday, `Mon 12 · Tue 15 · …` (weekdays without
/// data left out).
fn weekly_cycle(days: &Days, show: Show) -> Vec<String> {
    let mut sums = [(0i64, 0i64); 7];
    for (day, value) in days {
        if let Some(v) = value {
            let w = day.weekday().num_days_from_monday() as usize;
            sums[w].0 += v;
            sums[w].1 += 1;
        }
    }
    sums.iter()
        .enumerate()
        .filter(|(_, (_, n))| *n > 0)
        .map(|(w, (s, n))| format!("{} {}", WEEKDAYS[w], show(s / n)))
        .collect()
}

/// Members: first day against the last; other metrics: the second half of
/// the days against the first.
fn growth(metric: TrendMetric, observed: &[f64]) -> String {
    let half = observed.len() / 2;
    if metric == TrendMetric::Members {
        match (observed.first(), observed.last()) {
            (Some(a), Some(b)) => format!(
                "{} → {} ({})",
                int(*a as i64),
                int(*b as i64),
                change(*b, *a)
            ),
            _ => "–".into(),
        }
    } else if half > 0 {
        let first: f64 = observed[..half].iter().sum();
        let second: f64 = observed[observed.len() - half..].iter().sum();
        format!("second half against first half: {}", change(second, first))
    } else {
        "–".into()
    }
}
