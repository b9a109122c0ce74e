//! Members: growth (the figures of `/serverstats members growth`), joins
//! and leaves per day, and retention cohorts by join week (each week's
//! cohort from the query of `/serverstats members retention`).

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use shared::db::analytics::{self, GuildTotals};

use super::html::{Block, Cell, Figure, Page, Table, col};
use super::svg::{self, Line};
use super::{Counted, Family, figure};
use crate::context::Ctx;
use crate::error::Outcome;
use crate::honest;
use crate::period;
use crate::reply::int;
use crate::report::frame::{Frame, local_time, series_of};
use crate::report::members::{RETENTION_7D_MISSING, RETENTION_30D_MISSING};
use crate::report::overview::previous_totals;

/// Join weeks the cohort table shows at most (the latest ones).
pub const MAX_COHORT_WEEKS: usize = 104;

pub async fn page(ctx: &Ctx, frame: &Frame, totals: GuildTotals) -> Outcome<Page> {
    let pool = &ctx.state.pool;
    let (g, p) = (ctx.guild_id, frame.period);
    let prev = previous_totals(ctx, frame).await?;
    let membership = analytics::membership(pool, g, p.from, p.to, frame.bots).await?;
    let hours = analytics::guild_hours(pool, g, p.from, p.to, frame.bots).await?;
    let counted: [Counted; 4] = [
        ("joins", "Joins", |t| t.joins),
        ("leaves", "Leaves", |t| t.leaves),
        ("rejoins", "Rejoins", |t| t.rejoins),
        ("net-growth", "Net growth", |t| t.joins - t.leaves),
    ];
    let mut figures: Vec<Figure> = counted
        .iter()
        .map(|(id, label, f)| figure(frame, id, label, f(&totals), prev.as_ref().map(f), int))
        .collect();
    if let Some(end) = membership.members_at_end() {
        let start = end - (totals.joins - totals.leaves);
        figures.push(Figure {
            id: "members-end",
            label: "Members at the end",
            value: int(end),
            compared: Some(format!("{} at the start", int(start))),
        });
    }
    let joins = frame.daily(&series_of(&hours, |h| h.joins));
    let leaves = frame.daily(&series_of(&hours, |h| h.leaves));
    let days: Vec<NaiveDate> = joins.iter().map(|(d, _)| *d).collect();
    let partial: Vec<Option<&str>> = days.iter().map(|d| frame.partial_day(*d)).collect();
    let chart = svg::line_chart_partial(
        &format!("Joins and leaves per day · {}", frame.label),
        &days,
        &[
            Line {
                name: "joins",
                class: "s2",
                values: joins.iter().map(|(_, v)| *v).collect(),
            },
            Line {
                name: "leaves",
                class: "s3",
                values: leaves.iter().map(|(_, v)| *v).collect(),
            },
        ],
        &partial,
    );
    let mut growth = Table::new(
        "growth",
        "Joins and leaves per day",
        &[
            col("day", "Day"),
            col("joins", "Joins"),
            col("leaves", "Leaves"),
            col("net", "Net"),
            col("note", "Note"),
        ],
    )
    .sortable();
    for ((day, j), (_, l)) in joins.iter().zip(&leaves) {
        let known = |v: &Option<i64>| v.map_or(Cell::Text("–".into()), Cell::Int);
        let net = match (j, l) {
            (Some(j), Some(l)) => Cell::Int(j - l),
            _ => Cell::Text("–".into()),
        };
        growth.rows.push(vec![
            Cell::Text(day.to_string()),
            known(j),
            known(l),
            net,
            super::overview::day_note(frame, *day, j.is_some() && l.is_some()),
        ]);
    }
    let imported = crate::imported::frame_until(&ctx.state.pool, ctx.guild_id, frame).await?;
    let cohorts = cohorts(ctx, frame, imported).await?;
    let mut cohort_note =
        "Cohorts: members who joined in each week (Monday to Sunday, local time) of the period, \
         how many posted within 7 days of joining, and how many were still members 7 and 30 days \
         after joining (of those who joined long enough ago)."
            .to_owned();
    if let Some(until) = imported {
        let until = format!("{} ({})", local_time(until, frame.tz), frame.tz.name());
        cohort_note.push(' ');
        cohort_note.push_str(&crate::imported::cohort_note(&until));
    }
    Ok(Page {
        family: Family::Members,
        title: "Members".into(),
        blocks: vec![
            Block::Figures(figures),
            Block::Chart(chart),
            Block::Table(growth),
            Block::Note(cohort_note),
            Block::Table(cohorts),
        ],
    })
}

/// One row per local join week that overlaps the period, newest first.
/// Weeks wholly before `imported_until` (imported history, whose joins
/// make no cohort) are left out; a week it cuts starts there.
async fn cohorts(
    ctx: &Ctx,
    frame: &Frame,
    imported_until: Option<DateTime<Utc>>,
) -> Outcome<Table> {
    let pool = &ctx.state.pool;
    let mut table = Table::new(
        "cohorts",
        "Retention by join week",
        &[
            col("week", "Week of"),
            col("joined", "Joined"),
            col("activated", "Posted within 7 days"),
            col("retained_7d", "Members after 7 days"),
            col("eligible_7d", "Joined 7+ days ago"),
            col("retention_7d", "7-day retention"),
            col("retained_30d", "Members after 30 days"),
            col("eligible_30d", "Joined 30+ days ago"),
            col("retention_30d", "30-day retention"),
        ],
    )
    .sortable();
    let days = period::local_days(frame.period, frame.tz);
    let Some(first) = days.first() else {
        return Ok(table);
    };
    let mut monday = *first - Duration::days(i64::from(first.weekday().num_days_from_monday()));
    let mut weeks = Vec::new();
    while let Some(last) = days.last()
        && monday <= *last
    {
        weeks.push(monday);
        monday += Duration::days(7);
    }
    for week in weeks.into_iter().rev().take(MAX_COHORT_WEEKS) {
        let from = period::local_midnight(week, frame.tz)
            .max(frame.period.from)
            .max(imported_until.unwrap_or(frame.period.from));
        let to = period::local_midnight(week + Duration::days(7), frame.tz).min(frame.period.to);
        if to <= from {
            continue;
        }
        let c = analytics::join_cohort(pool, ctx.guild_id, from, to, ctx.now, frame.bots).await?;
        table.rows.push(vec![
            Cell::Text(week.to_string()),
            Cell::Int(c.joined),
            Cell::Int(c.activated),
            Cell::Int(c.retained_7d),
            Cell::Int(c.eligible_7d),
            share(c.retained_7d, c.eligible_7d, RETENTION_7D_MISSING),
            Cell::Int(c.retained_30d),
            Cell::Int(c.eligible_30d),
            share(c.retained_30d, c.eligible_30d, RETENTION_30D_MISSING),
        ]);
    }
    Ok(table)
}

/// A share, or what it needs when nobody is there to take it of (as the
/// commands say it: "needs members who joined 7+ days ago").
fn share(part: i64, whole: i64, missing: &'static str) -> Cell {
    match honest::percent(part, whole) {
        Some(p) => Cell::Percent(Some(p / 100.0)),
        None => Cell::Missing(missing),
    }
}
