//! Activity: the hour × weekday heatmap of messages in the guild's
//! timezone (the cells of `/serverstats activity messages`).

use shared::db::analytics;

use super::Family;
use super::html::{Block, Cell, Column, Page, Table, col};
use super::svg;
use crate::context::Ctx;
use crate::error::Outcome;
use crate::period;
use crate::reply::int;
use crate::report::frame::{Frame, WEEKDAYS, peak_text, series_of};

const HOURS: [Column; 24] = [
    col("h00", "00"),
    col("h01", "01"),
    col("h02", "02"),
    col("h03", "03"),
    col("h04", "04"),
    col("h05", "05"),
    col("h06", "06"),
    col("h07", "07"),
    col("h08", "08"),
    col("h09", "09"),
    col("h10", "10"),
    col("h11", "11"),
    col("h12", "12"),
    col("h13", "13"),
    col("h14", "14"),
    col("h15", "15"),
    col("h16", "16"),
    col("h17", "17"),
    col("h18", "18"),
    col("h19", "19"),
    col("h20", "20"),
    col("h21", "21"),
    col("h22", "22"),
    col("h23", "23"),
];

pub async fn page(ctx: &Ctx, frame: &Frame) -> Outcome<Page> {
    let pool = &ctx.state.pool;
    let (g, p) = (ctx.guild_id, frame.period);
    let hours = analytics::guild_hours(pool, g, p.from, p.to, frame.bots).await?;
    let cells = period::heatmap(&series_of(&hours, |h| h.messages), frame.tz);
    let title = format!(
        "Messages by hour and weekday ({}) · {}",
        frame.tz.name(),
        frame.label
    );
    let mut columns = vec![col("weekday", "Day")];
    columns.extend(HOURS);
    let mut table = Table::new(
        "heatmap",
        format!("Messages by hour ({})", frame.tz.name()),
        &columns,
    );
    for (day, row) in cells.iter().enumerate() {
        let mut cells_row = vec![Cell::Text(WEEKDAYS[day].to_owned())];
        cells_row.extend(row.iter().map(|v| Cell::Int(*v)));
        table.rows.push(cells_row);
    }
    Ok(Page {
        family: Family::Activity,
        title: "Activity".into(),
        blocks: vec![
            Block::Note(format!("Peak time: {}", peak_text(&cells, int))),
            Block::Chart(svg::heatmap(&title, &cells, &WEEKDAYS)),
            Block::Table(table),
        ],
    })
}
