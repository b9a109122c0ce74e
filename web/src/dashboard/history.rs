//! Alerts, digests and Pulse Reports: what ServerPulse recorded and posted
//! (the records `/alerts`, `/setup` and `/pulse-report` read). These are
//! Manage Server commands, so only members who see everything see them.

use shared::db::{alerts, digests, pulse};

use super::Family;
use super::html::{Block, Cell, Page, Table, col};
use crate::context::Ctx;
use crate::error::Outcome;
use crate::report::frame::{Frame, local_time};

/// Rows listed per record.
pub const LISTED: i64 = 50;

pub async fn page(ctx: &Ctx, frame: &Frame) -> Outcome<Page> {
    let mut page = Page {
        family: Family::History,
        title: "Alerts, digests and reports".into(),
        blocks: Vec::new(),
    };
    if !ctx.is_admin() {
        page.blocks.push(Block::Note(
            "Alerts, digests and Pulse Reports are shown to members with the Manage Server permission."
                .into(),
        ));
        return Ok(page);
    }
    let pool = &ctx.state.pool;
    let tz = frame.tz;
    let mut incidents = Table::new(
        "alerts",
        format!("Alerts (last {LISTED}, any period)"),
        &[
            col("started", "Started"),
            col("kind", "Kind"),
            col("what", "What"),
            col("ended", "Ended"),
            col("delivery", "Delivery"),
        ],
    );
    for i in alerts::recent_incidents(pool, ctx.guild_id, None, LISTED).await? {
        incidents.rows.push(vec![
            Cell::Text(local_time(i.started_at, tz)),
            Cell::Text(i.kind.label().to_owned()),
            Cell::Text(i.summary()),
            Cell::Text(
                i.ended_at
                    .map_or_else(|| "ongoing".to_owned(), |t| local_time(t, tz)),
            ),
            Cell::Text(i.delivery.key().to_owned()),
        ]);
    }
    let mut runs = Table::new(
        "digests",
        format!("Digests (last {LISTED} periods)"),
        &[
            col("frequency", "Frequency"),
            col("period_start", "Period start"),
            col("period_end", "Period end"),
            col("outcome", "Outcome"),
        ],
    );
    for run in digests::runs_of(pool, ctx.guild_id, LISTED).await? {
        runs.rows.push(vec![
            Cell::Text(run.key.frequency.key().to_owned()),
            Cell::Text(local_time(run.key.period_start, tz)),
            Cell::Text(local_time(run.period_end, tz)),
            Cell::Text(run.outcome.key().to_owned()),
        ]);
    }
    let mut reports = Table::new(
        "reports",
        "Latest Pulse Report",
        &[
            col("generated", "Generated"),
            col("period_start", "Period start"),
            col("period_end", "Period end"),
            col("provider", "Written by"),
            col("summary", "Summary"),
        ],
    );
    if let Some(report) = pulse::latest(pool, ctx.guild_id).await? {
        let summary = report.shown["description"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        reports.rows.push(vec![
            Cell::Text(local_time(report.generated_at, tz)),
            Cell::Text(local_time(report.period_start, tz)),
            Cell::Text(local_time(report.period_end, tz)),
            Cell::Text(report.provider.clone()),
            Cell::Text(summary),
        ]);
    }
    page.blocks = vec![
        Block::Table(incidents),
        Block::Table(runs),
        Block::Table(reports),
    ];
    Ok(page)
}
