//! `/export-report`: the figures of the reports as a CSV or JSON table,
//! read with the very queries the reports use (the overview's totals, the
//! leaderboards, the channel report's usage, the daily series), over the
//! same period resolved the same way.

use serde_json::{Map, json};
use shared::db::analytics::{self, LeaderboardMetric, LeaderboardQuery};

use super::frame::Frame;
use super::prepare;
use crate::context::Ctx;
use crate::error::Outcome;
use crate::export::{Cell, Table};
use crate::view::{Request, keyed_enum};

keyed_enum!(ExportWhat { Overview = "overview", Members = "members", Channels = "channels", Daily = "daily" });

/// The table of `what` over `request.timeframe`, and a JSON object naming
/// what it covers (the JSON export's header; the CSV's file name says it,
/// and its last column carries `imported_history`).
pub async fn export_report(
    ctx: &Ctx,
    request: Request,
    what: ExportWhat,
) -> Outcome<(Table, Map<String, serde_json::Value>)> {
    let (frame, totals) = prepare(ctx, request).await?;
    let table = match what {
        ExportWhat::Overview => overview(ctx, &frame, totals).await?,
        ExportWhat::Members => members(ctx, &frame).await?,
        ExportWhat::Channels => channels(ctx, &frame).await?,
        ExportWhat::Daily => daily(ctx, &frame).await?,
    };
    let mut meta = Map::new();
    meta.insert("guild_id".into(), json!(ctx.guild_id.to_string()));
    meta.insert("what".into(), json!(crate::view::Choice::key(what)));
    meta.insert("period".into(), json!(frame.label));
    meta.insert("from".into(), json!(frame.period.from.to_rfc3339()));
    meta.insert("to".into(), json!(frame.period.to.to_rfc3339()));
    meta.insert("timezone".into(), json!(frame.tz.name()));
    meta.insert("comparison".into(), json!(comparison_text(&frame)));
    // What history cannot tell, when the period reaches into imported days.
    let imported = crate::imported::frame_until(&ctx.state.pool, ctx.guild_id, &frame).await?;
    meta.insert(
        "imported_history".into(),
        json!(imported.map(|until| crate::imported::note(&until.to_rfc3339()))),
    );
    Ok((table, meta))
}

/// One row: the overview's figures, then the previous period's (empty
/// when they are not compared) and whether and why not in `comparison`.
async fn overview(ctx: &Ctx, frame: &Frame, totals: analytics::GuildTotals) -> Outcome<Table> {
    let pool = &ctx.state.pool;
    let (g, p) = (ctx.guild_id, frame.period);
    let active = analytics::active_members(pool, g, p.from, p.to, frame.bots).await?;
    let membership = analytics::membership(pool, g, p.from, p.to, frame.bots).await?;
    let before = frame
        .before(|q| async move {
            let totals = analytics::guild_totals(pool, g, q.from, q.to, frame.bots).await?;
            let active = analytics::active_members(pool, g, q.from, q.to, frame.bots).await?;
            Ok::<_, shared::db::DbError>((totals, active))
        })
        .await?;
    let figures = |t: &analytics::GuildTotals, active: i64| -> Vec<Cell> {
        vec![
            t.messages.into(),
            t.voice_seconds.into(),
            t.reactions_added.into(),
            t.joins.into(),
            t.leaves.into(),
            (t.joins - t.leaves).into(),
            active.into(),
            t.threads_created.into(),
            t.deletions.into(),
        ]
    };
    let mut columns = vec!["from", "to"];
    columns.extend(FIGURES);
    columns.push("members_at_end");
    columns.extend(PREVIOUS_FIGURES);
    columns.push("comparison");
    let mut table = Table::new(&columns);
    let mut row = vec![p.from.to_rfc3339().into(), p.to.to_rfc3339().into()];
    row.extend(figures(&totals, active));
    row.push(membership.members_at_end().map_or(Cell::Empty, Cell::Int));
    match &before {
        Some((t, active)) => row.extend(figures(t, *active)),
        None => row.extend(PREVIOUS_FIGURES.iter().map(|_| Cell::Empty)),
    }
    row.push(Cell::from(comparison_text(frame)));
    table.push(row);
    Ok(table)
}

/// The overview's figures, in the export's column order.
const FIGURES: [&str; 9] = [
    "messages",
    "voice_seconds",
    "reactions",
    "joins",
    "leaves",
    "net_growth",
    "active_members",
    "threads_created",
    "deleted_messages",
];

/// The same figures of the previous period.
const PREVIOUS_FIGURES: [&str; 9] = [
    "previous_messages",
    "previous_voice_seconds",
    "previous_reactions",
    "previous_joins",
    "previous_leaves",
    "previous_net_growth",
    "previous_active_members",
    "previous_threads_created",
    "previous_deleted_messages",
];

/// `compared`, `no previous period (all time)`, or why the previous
/// period's figures are left empty (`no data before 2026-11-16 12:00 UTC`).
pub(crate) fn comparison_text(frame: &Frame) -> String {
    match frame.comparison {
        None => "no previous period (all time)".into(),
        Some(c) => c.why_plain().unwrap_or_else(|| "compared".into()),
    }
}

/// Every ranked member with their four leaderboard values, ordered like
/// the messages leaderboard (messages, then id); members who chose
/// `/privacy hide` are "hidden member", without id or rank.
async fn members(ctx: &Ctx, frame: &Frame) -> Outcome<Table> {
    use std::collections::BTreeMap;
    let pool = &ctx.state.pool;
    let metrics = [
        LeaderboardMetric::Messages,
        LeaderboardMetric::VoiceSeconds,
        LeaderboardMetric::ReactionsGiven,
        LeaderboardMetric::ReactionsReceived,
    ];
    // user -> (hidden, values per metric)
    let mut rows: BTreeMap<shared::Snowflake, (bool, [i64; 4])> = BTreeMap::new();
    for (i, metric) in metrics.into_iter().enumerate() {
        let query = LeaderboardQuery {
            metric,
            channel: None,
            limit: i64::MAX,
            offset: 0,
        };
        let page = analytics::leaderboard_with_hidden(
            pool,
            ctx.guild_id,
            frame.period.from,
            frame.period.to,
            query,
            frame.bots,
        )
        .await?;
        for ranked in page.rows {
            let row = rows
                .entry(ranked.user_id)
                .or_insert((ranked.hidden, [0; 4]));
            row.1[i] = ranked.value;
        }
    }
    let mut sorted: Vec<_> = rows.into_iter().collect();
    sorted.sort_by(|a, b| b.1.1[0].cmp(&a.1.1[0]).then(a.0.cmp(&b.0)));
    let mut table = Table::new(&[
        "rank",
        "member_id",
        "member",
        "messages",
        "voice_seconds",
        "reactions_given",
        "reactions_received",
    ]);
    let mut rank = 0;
    for (user, (hidden, values)) in sorted {
        let (rank_cell, id, name) = if hidden {
            (Cell::Empty, Cell::Empty, Cell::from("hidden member"))
        } else {
            rank += 1;
            (
                Cell::Int(rank),
                Cell::from(user.to_string()),
                Cell::from(format!("<@{user}>")),
            )
        };
        let mut row = vec![rank_cell, id, name];
        row.extend(values.into_iter().map(Cell::Int));
        table.push(row);
    }
    Ok(table)
}

/// Top-level channels: the channel report's message usage and thread
/// engagement, with voice time and peak concurrency.
async fn channels(ctx: &Ctx, frame: &Frame) -> Outcome<Table> {
    use std::collections::BTreeMap;
    let pool = &ctx.state.pool;
    let (g, p) = (ctx.guild_id, frame.period);
    let usage = analytics::channel_usage(pool, g, p.from, p.to, frame.bots).await?;
    let voice = analytics::voice_usage(pool, g, p.from, p.to, frame.bots).await?;
    let mut voice_of: BTreeMap<shared::Snowflake, (i64, i64)> = voice
        .iter()
        .map(|v| (v.channel_id, (v.seconds, v.peak_concurrent)))
        .collect();
    let mut table = Table::new(&[
        "channel_id",
        "name",
        "messages",
        "attachments",
        "embeds",
        "stickers",
        "thread_messages",
        "threads_created",
        "voice_seconds",
        "peak_concurrent",
    ]);
    for c in &usage {
        let (seconds, peak) = voice_of.remove(&c.channel_id).unwrap_or((0, 0));
        table.push(vec![
            c.channel_id.to_string().into(),
            c.name.clone().map_or(Cell::Empty, Cell::Text),
            c.messages.into(),
            c.attachments.into(),
            c.embeds.into(),
            c.stickers.into(),
            c.thread_messages.into(),
            c.threads_created.into(),
            seconds.into(),
            peak.into(),
        ]);
    }
    for v in voice
        .iter()
        .filter(|v| voice_of.contains_key(&v.channel_id))
    {
        table.push(vec![
            v.channel_id.to_string().into(),
            v.name.clone().map_or(Cell::Empty, Cell::Text),
            0.into(),
            0.into(),
            0.into(),
            0.into(),
            0.into(),
            0.into(),
            v.seconds.into(),
            v.peak_concurrent.into(),
        ]);
    }
    Ok(table)
}

/// Per local day of the period: the series the overview, activity and
/// trends reports chart. A day a gap touches (events lost) has empty cells.
async fn daily(ctx: &Ctx, frame: &Frame) -> Outcome<Table> {
    let pool = &ctx.state.pool;
    let (g, p) = (ctx.guild_id, frame.period);
    let hours = analytics::guild_hours(pool, g, p.from, p.to, frame.bots).await?;
    let series = |pick: fn(&analytics::HourTotals) -> i64| {
        frame.daily(&super::frame::series_of(&hours, pick))
    };
    let columns = [
        series(|h| h.messages),
        series(|h| h.voice_seconds),
        series(|h| h.reactions_added),
        series(|h| h.joins),
        series(|h| h.leaves),
        series(|h| h.threads_created),
    ];
    let mut table = Table::new(&[
        "date",
        "messages",
        "voice_seconds",
        "reactions",
        "joins",
        "leaves",
        "threads_created",
    ]);
    for (i, (day, _)) in columns[0].iter().enumerate() {
        let mut row = vec![Cell::from(day.to_string())];
        row.extend(
            columns
                .iter()
                .map(|c| c[i].1.map_or(Cell::Empty, Cell::Int)),
        );
        table.push(row);
    }
    Ok(table)
}
