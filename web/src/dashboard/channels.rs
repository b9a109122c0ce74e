//! Channels: every top-level channel's messages (the query of
//! `/serverstats channels text`, threads counted under their parent),
//! unique authors, active members, messages per active member and last
//! active hour (those of `/serverstats channels health`) and the trend against the previous period; and voice channels (a page of their own) (the query of `/serverstats channels voice`).
//! Private channels are left out for members who may not see them, as in
//! the commands.

use std::collections::HashMap;

use shared::db::analytics::{self, GuildTotals};

use super::html::{Block, Cell, Page, Table, col};
use super::{Family, figure};
use crate::context::Ctx;
use crate::error::Outcome;
use crate::honest::Comparison;
use crate::period::change;
use crate::reply::duration;
use crate::report::frame::{Frame, local_time};
use crate::report::overview::previous_totals;
use crate::report::privacy::Privacy;

const LEFT_OUT: &str =
    "Private channels are left out: only members with the Manage Server permission see them.";

pub async fn page(ctx: &Ctx, frame: &Frame) -> Outcome<Page> {
    let pool = &ctx.state.pool;
    let (g, p) = (ctx.guild_id, frame.period);
    let privacy = Privacy::load(ctx).await?;
    let usage = analytics::channel_usage(pool, g, p.from, p.to, frame.bots).await?;
    // Authors and last active as `/serverstats channels type:health` counts them.
    let authors: HashMap<_, _> =
        analytics::channel_participation(pool, g, p.from, p.to, frame.bots)
            .await?
            .into_iter()
            .map(|a| (a.channel_id, a))
            .collect();
    let before: Option<HashMap<_, _>> = frame
        .before(|q| analytics::channel_usage(pool, g, q.from, q.to, frame.bots))
        .await?
        .map(|rows| {
            rows.into_iter()
                .map(|c| (c.channel_id, c.messages))
                .collect()
        });
    let mut table = Table::new(
        "channels",
        "Channels",
        &[
            col("channel", "Channel"),
            col("messages", "Messages"),
            col("authors", "Unique authors"),
            col("active_members", "Active members"),
            col("per_active_member", "Messages per active member"),
            col("last_active", "Last active"),
            col("previous", "Messages before"),
            col("trend", "Trend"),
        ],
    )
    .sortable();
    let mut left_out = false;
    for c in usage.iter().filter(|c| c.messages > 0) {
        if privacy.hidden(c.channel_id) {
            left_out = true;
            continue;
        }
        let a = authors.get(&c.channel_id);
        let previous = before
            .as_ref()
            .map(|b| b.get(&c.channel_id).copied().unwrap_or(0));
        table.rows.push(vec![
            Cell::Text(privacy.chart_label(c.channel_id, c.name.as_deref())),
            Cell::Int(c.messages),
            Cell::Int(a.map_or(0, |a| a.authors)),
            Cell::Int(a.map_or(0, |a| a.active_members)),
            a.filter(|a| a.active_members > 0)
                .map_or(Cell::Text("–".into()), |a| {
                    Cell::Text(format!(
                        "{:.1}",
                        c.messages as f64 / a.active_members as f64
                    ))
                }),
            Cell::Text(
                a.and_then(|a| a.last_active)
                    .map_or_else(|| "–".to_owned(), |h| local_time(h, frame.tz)),
            ),
            previous.map_or(Cell::Text("–".into()), Cell::Int),
            Cell::Text(previous.map_or_else(
                || {
                    frame
                        .comparison
                        .and_then(Comparison::why_plain)
                        .unwrap_or_else(|| "–".to_owned())
                },
                |b| change(c.messages as f64, b as f64),
            )),
        ]);
    }
    let mut blocks = vec![Block::Table(table)];
    if left_out {
        blocks.insert(0, Block::Note(LEFT_OUT.into()));
    }
    Ok(Page {
        family: Family::Channels,
        title: "Channels".into(),
        blocks,
    })
}

/// Voice channels: time spent and the most people at once.
pub async fn voice_page(ctx: &Ctx, frame: &Frame, totals: GuildTotals) -> Outcome<Page> {
    let pool = &ctx.state.pool;
    let (g, p) = (ctx.guild_id, frame.period);
    let privacy = Privacy::load(ctx).await?;
    let prev = previous_totals(ctx, frame).await?;
    let mut left_out = false;
    let mut voice = Table::new(
        "voice",
        "Voice channels",
        &[
            col("channel", "Channel"),
            col("voice_seconds", "Voice time"),
            col("peak", "Peak at once"),
            col("peak_at", "Peak first reached"),
        ],
    )
    .sortable();
    for v in analytics::voice_usage(pool, g, p.from, p.to, frame.bots).await? {
        if privacy.hidden(v.channel_id) {
            left_out = true;
            continue;
        }
        voice.rows.push(vec![
            Cell::Text(privacy.chart_label(v.channel_id, v.name.as_deref())),
            Cell::Duration(v.seconds),
            Cell::Int(v.peak_concurrent),
            Cell::Text(
                v.peak_hour
                    .map_or_else(|| "–".to_owned(), |h| local_time(h, frame.tz)),
            ),
        ]);
    }
    let mut blocks = vec![
        Block::Figures(vec![figure(
            frame,
            "voice",
            "Voice time",
            totals.voice_seconds,
            prev.map(|t| t.voice_seconds),
            duration,
        )]),
        Block::Table(voice),
    ];
    if left_out {
        blocks.insert(0, Block::Note(LEFT_OUT.into()));
    }
    Ok(Page {
        family: Family::Voice,
        title: "Voice".into(),
        blocks,
    })
}
