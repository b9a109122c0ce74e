//! The overview: the headline figures of `/serverstats overview`, from the
//! same queries, and the daily series (up to 2 years) as a chart and a table.

use shared::db::analytics::{self, GuildTotals};

use super::html::{Block, Cell, Figure, Page, Table, col};
use super::svg::{self, Line};
use super::{Counted, Family, figure};
use crate::context::Ctx;
use crate::error::Outcome;
use crate::period;
use crate::reply::{duration, int};
use crate::report::frame::{Frame, series_of};
use crate::report::overview::previous_totals;

/// Days the daily series shows at most (the latest ones).
pub const MAX_SERIES_DAYS: usize = 731;

pub async fn page(ctx: &Ctx, frame: &Frame, totals: GuildTotals) -> Outcome<Page> {
    let pool = &ctx.state.pool;
    let (g, p) = (ctx.guild_id, frame.period);
    let prev = previous_totals(ctx, frame).await?;
    let hours = analytics::guild_hours(pool, g, p.from, p.to, frame.bots).await?;
    let membership = analytics::membership(pool, g, p.from, p.to, frame.bots).await?;
    let (active, prev_active) = frame
        .now_and_before(|q| analytics::active_members(pool, g, q.from, q.to, frame.bots))
        .await?;
    let pick = |f: fn(&GuildTotals) -> i64| (f(&totals), prev.as_ref().map(f));
    let counted: [Counted; 7] = [
        ("messages", "Messages", |t| t.messages),
        ("reactions", "Reactions", |t| t.reactions_added),
        ("joins", "Joins", |t| t.joins),
        ("leaves", "Leaves", |t| t.leaves),
        ("net-growth", "Net growth", |t| t.joins - t.leaves),
        ("threads", "Threads created", |t| t.threads_created),
        ("deleted", "Deleted messages", |t| t.deletions),
    ];
    let mut figures: Vec<Figure> = counted
        .iter()
        .map(|(id, label, f)| {
            let (now, before) = pick(*f);
            figure(frame, id, label, now, before, int)
        })
        .collect();
    let (voice, prev_voice) = pick(|t| t.voice_seconds);
    figures.insert(
        1,
        figure(frame, "voice", "Voice time", voice, prev_voice, duration),
    );
    figures.push(figure(
        frame,
        "active",
        "Active members",
        active,
        prev_active,
        int,
    ));
    if let Some(end) = membership.members_at_end() {
        figures.push(Figure {
            id: "members-end",
            label: "Members at the end",
            value: int(end),
            compared: None,
        });
    }

    let messages = frame.daily(&series_of(&hours, |h| h.messages));
    let voice_days = frame.daily(&series_of(&hours, |h| h.voice_seconds));
    let joins = frame.daily(&series_of(&hours, |h| h.joins));
    let leaves = frame.daily(&series_of(&hours, |h| h.leaves));
    let skip = messages.len().saturating_sub(MAX_SERIES_DAYS);
    let days: Vec<_> = messages.iter().skip(skip).map(|(d, _)| *d).collect();
    let values = |series: &[(chrono::NaiveDate, Option<i64>)]| -> Vec<Option<i64>> {
        series.iter().skip(skip).map(|(_, v)| *v).collect()
    };
    let partial: Vec<Option<&str>> = days.iter().map(|d| frame.partial_day(*d)).collect();
    let chart = svg::line_chart_partial(
        &format!("Messages per day · {}", frame.label),
        &days,
        &[Line {
            name: "messages",
            class: "s1",
            values: values(&messages),
        }],
        &partial,
    );
    let mut table = Table::new(
        "daily",
        "Per day",
        &[
            col("day", "Day"),
            col("messages", "Messages"),
            col("voice_seconds", "Voice time"),
            col("joins", "Joins"),
            col("leaves", "Leaves"),
            col("note", "Note"),
        ],
    )
    .sortable();
    for i in skip..messages.len() {
        let cell = |series: &[(chrono::NaiveDate, Option<i64>)], show: fn(i64) -> Cell| {
            series[i].1.map_or(Cell::Text("–".into()), show)
        };
        table.rows.push(vec![
            Cell::Text(messages[i].0.to_string()),
            cell(&messages, Cell::Int),
            cell(&voice_days, Cell::Duration),
            cell(&joins, Cell::Int),
            cell(&leaves, Cell::Int),
            day_note(frame, messages[i].0, messages[i].1.is_some()),
        ]);
    }
    let cells = period::heatmap(&series_of(&hours, |h| h.messages), frame.tz);
    let mut blocks = vec![
        Block::Figures(figures),
        Block::Note(format!(
            "Peak time: {}",
            crate::report::frame::peak_text(&cells, int)
        )),
        Block::Chart(chart),
    ];
    if skip > 0 {
        blocks.push(Block::Note(format!(
            "The chart and table show the last {MAX_SERIES_DAYS} days of the period."
        )));
    }
    blocks.push(Block::Table(table));
    Ok(Page {
        family: Family::Overview,
        title: "Overview".into(),
        blocks,
    })
}

/// A per-day table's note, as the commands' per-day lists say it:
/// `so far`, `partial day`, or why a day has no figures.
pub(super) fn day_note(frame: &Frame, day: chrono::NaiveDate, known: bool) -> Cell {
    Cell::Text(frame.day_note(day, known).unwrap_or_default().to_owned())
}
