//! Leaderboards: members ranked as `/leaderboard` ranks them (the same
//! query, bots left out), named by [`super::access::member_label`].

use shared::db::analytics::LeaderboardMetric;

use super::Family;
use super::access::member_label;
use super::html::{Block, Cell, Page, Table, col};
use crate::context::Ctx;
use crate::error::Outcome;
use crate::report::frame::Frame;
use crate::report::leaderboards::ranking;

/// Members listed per leaderboard.
pub const LISTED: i64 = 25;

pub async fn page(ctx: &Ctx, frame: &Frame) -> Outcome<Page> {
    // Reactions received is left out: on a large server its ranking can
    // outlast a page's request timeout (`/leaderboard` defers it instead).
    let boards: [(&'static str, &str, &'static str, LeaderboardMetric); 3] = [
        (
            "messages",
            "Messages",
            "Messages",
            LeaderboardMetric::Messages,
        ),
        (
            "voice",
            "Voice time",
            "Voice time",
            LeaderboardMetric::VoiceSeconds,
        ),
        (
            "reactions_given",
            "Reactions given",
            "Reactions",
            LeaderboardMetric::ReactionsGiven,
        ),
    ];
    // Read at once: on a large server each ranking takes a while.
    let ranked = futures_util::future::try_join_all(boards.map(|(_, _, _, metric)| {
        ranking(ctx, (frame.period, frame.bots), metric, None, LISTED, 0)
    }))
    .await?;
    let mut blocks = Vec::new();
    for ((id, caption, value_label, metric), board) in boards.into_iter().zip(ranked) {
        let value_col = match metric {
            LeaderboardMetric::VoiceSeconds => col("voice_seconds", "Voice time"),
            _ => col("value", value_label),
        };
        let mut table = Table::new(
            id,
            format!("{caption} (top {LISTED} of {})", board.total),
            &[col("rank", "Rank"), col("member", "Member"), value_col],
        );
        for (i, row) in board.rows.iter().enumerate() {
            let value = match metric {
                LeaderboardMetric::VoiceSeconds => Cell::Duration(row.value),
                _ => Cell::Int(row.value),
            };
            table.rows.push(vec![
                Cell::Int(i as i64 + 1),
                Cell::Text(member_label(row.user_id)),
                value,
            ]);
        }
        blocks.push(Block::Table(table));
    }
    blocks.insert(
        0,
        Block::Note(
            "Bots and webhooks are left out. ServerPulse keeps no member names: members are shown by their Discord id."
                .into(),
        ),
    );
    Ok(Page {
        family: Family::Leaderboards,
        title: "Leaderboards".into(),
        blocks,
    })
}
