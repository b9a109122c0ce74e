//! `/serverstats channels type:health|deletions`, and the thread figures of
//! `type:threads`: who takes part in each channel, which channels are dead
//! or dying, the channels by type, and deleted messages per channel.

use std::collections::HashMap;

use shared::Snowflake;
use shared::db::analytics::{self, FirstReplies, ThreadSummary};
use shared::db::settings::CollectMode;

use super::channels::HIDDEN_NOTE;
use super::frame::{Frame, local_time, text_only};
use super::privacy::{Privacy, mention};
use crate::context::Ctx;
use crate::error::Outcome;
use crate::reply::{Embed, Message, duration, int};

/// Channels listed.
const LISTED: usize = 15;
/// Dead or dying channels named in a field.
const NAMED: usize = 20;

/// Discord's channel types as the "Channels by type" field names them.
fn kind_name(kind: i16) -> &'static str {
    match kind {
        0 => "text",
        2 => "voice",
        4 => "categories",
        5 => "announcement",
        13 => "stage",
        15 => "forum",
        16 => "media",
        10..=12 => "open threads",
        _ => "other",
    }
}

/// `3 categories · 12 text · 2 voice · … · 4 open threads`: the channels
/// that exist now, by type (threads: those not archived).
pub(super) fn counts_text(counts: &[(i16, i64)]) -> String {
    let mut sums: Vec<(&'static str, i64)> = Vec::new();
    for (kind, n) in counts {
        let name = kind_name(*kind);
        match sums.iter_mut().find(|(k, _)| *k == name) {
            Some(entry) => entry.1 += n,
            None => sums.push((name, *n)),
        }
    }
    const ORDER: [&str; 9] = [
        "categories",
        "text",
        "announcement",
        "forum",
        "media",
        "voice",
        "stage",
        "open threads",
        "other",
    ];
    sums.sort_by_key(|(k, _)| ORDER.iter().position(|o| o == k));
    if sums.is_empty() {
        return "–".into();
    }
    sums.iter()
        .map(|(k, n)| format!("{} {k}", int(*n)))
        .collect::<Vec<_>>()
        .join(" · ")
}

/// Messages per active member, one decimal.
fn per(messages: i64, members: i64) -> String {
    if members == 0 {
        "–".into()
    } else {
        format!("{:.1}", messages as f64 / members as f64)
    }
}

pub(super) async fn health(ctx: &Ctx, frame: &Frame) -> Outcome<Message> {
    let pool = &ctx.state.pool;
    let (g, p) = (ctx.guild_id, frame.period);
    let privacy = Privacy::load(ctx).await?;
    let (now, before) = frame
        .now_and_before(|q| analytics::channel_participation(pool, g, q.from, q.to, frame.bots))
        .await?;
    let mut live = analytics::live_channels(pool, g).await?;
    // Only collected channels can be dead or dying: the others are not
    // recorded at all.
    if ctx.tracked_settings().await?.collect_mode == CollectMode::AllowList {
        let collected = shared::db::settings::collected_channels(pool, g).await?;
        live.retain(|c| collected.contains(&c.channel_id));
    }
    let counts = analytics::channel_counts(pool, g).await?;
    let previous: Option<HashMap<Snowflake, i64>> =
        before.map(|rows| rows.iter().map(|r| (r.channel_id, r.messages)).collect());
    let mut embed = Embed::new(format!("Channels · health · {}", frame.label)).field(
        "Channels by type",
        counts_text(&counts),
        false,
    );
    let visible: Vec<_> = now
        .iter()
        .filter(|c| !privacy.hidden(c.channel_id))
        .collect();
    let mut left_out = visible.len() < now.len();
    let lines: Vec<String> = visible
        .iter()
        .take(LISTED)
        .map(|c| {
            let mut parts = Vec::new();
            if c.messages > 0 {
                parts.push(format!("{} messages", int(c.messages)));
                parts.push(format!("{} authors", int(c.authors)));
            }
            if c.active_members > 0 {
                parts.push(format!("{} active members", int(c.active_members)));
            }
            if c.messages > 0 {
                parts.push(format!(
                    "{} per active member",
                    per(c.messages, c.active_members)
                ));
            }
            if c.reactions > 0 {
                parts.push(format!("{} reactions", int(c.reactions)));
            }
            if c.voice_users > 0 {
                parts.push(format!("{} in voice", int(c.voice_users)));
            }
            if let Some(last) = c.last_active {
                parts.push(format!("last active {}", local_time(last, frame.tz)));
            }
            format!("{} — {}", mention(c.channel_id), parts.join(" · "))
        })
        .collect();
    embed = embed.describe(if lines.is_empty() {
        "No activity in any channel in this timeframe.".to_owned()
    } else {
        format!(
            "**Who takes part** (authors, active members — who posted, reacted or was in voice —, reactions and people in voice per channel, threads under their channel)\n{}",
            lines.join("\n")
        )
    });
    // Dead: a collected channel that existed through the whole period with
    // no message, reaction or voice time in it. Dying: messages down by
    // more than half against the previous period.
    let active: HashMap<Snowflake, i64> = now.iter().map(|c| (c.channel_id, c.messages)).collect();
    let mut dead = Vec::new();
    let mut dying = Vec::new();
    for c in &live {
        if privacy.hidden(c.channel_id) {
            left_out = true;
            continue;
        }
        match active.get(&c.channel_id) {
            None if c.created_at <= p.from => dead.push(mention(c.channel_id)),
            current => {
                let current = current.copied().unwrap_or(0);
                let prev = previous
                    .as_ref()
                    .and_then(|m| m.get(&c.channel_id).copied())
                    .unwrap_or(0);
                if previous.is_some() && prev > 0 && current * 2 < prev {
                    dying.push(format!(
                        "{} {} ({} before)",
                        mention(c.channel_id),
                        int(current),
                        int(prev)
                    ));
                }
            }
        }
    }
    let listed = |items: &[String]| {
        if items.is_empty() {
            return "none".to_owned();
        }
        let mut text = items
            .iter()
            .take(NAMED)
            .cloned()
            .collect::<Vec<_>>()
            .join(" · ");
        if items.len() > NAMED {
            text.push_str(&format!(" · and {} more", items.len() - NAMED));
        }
        text
    };
    embed = embed
        .field(
            format!("Dead: no activity in the period ({})", dead.len()),
            listed(&dead),
            false,
        )
        .field(
            format!(
                "Dying: messages down more than half against the previous period ({})",
                dying.len()
            ),
            if frame.previous.is_some() {
                listed(&dying)
            } else {
                frame
                    .uncompared()
                    .unwrap_or_else(|| "no previous period to compare with".to_owned())
            },
            false,
        );
    if left_out {
        embed = embed.field("Private channels", HIDDEN_NOTE, false);
    }
    Ok(text_only(embed))
}

pub(super) async fn deletions(ctx: &Ctx, frame: &Frame) -> Outcome<Message> {
    let pool = &ctx.state.pool;
    let g = ctx.guild_id;
    let privacy = Privacy::load(ctx).await?;
    let (now, before) = frame
        .now_and_before(|q| analytics::deletions_per_channel(pool, g, q.from, q.to))
        .await?;
    let sum = |rows: &[analytics::ChannelDeletions]| -> (i64, i64) {
        rows.iter()
            .fold((0, 0), |(d, b), r| (d + r.deleted, b + r.bulk))
    };
    let (deleted, bulk) = sum(&now);
    let prev = before.as_deref().map(sum);
    let mut embed = Embed::new(format!("Channels · deletions · {}", frame.label))
        .field(
            "Deleted messages",
            frame.figure(deleted, prev.map(|p| p.0)),
            true,
        )
        .field(
            "Deleted in bulk",
            frame.figure(bulk, prev.map(|p| p.1)),
            true,
        );
    let visible: Vec<_> = now
        .iter()
        .filter(|c| !privacy.hidden(c.channel_id))
        .collect();
    let lines: Vec<String> = visible
        .iter()
        .take(LISTED)
        .map(|c| {
            format!(
                "{} — {} deleted · {} in bulk",
                mention(c.channel_id),
                int(c.deleted),
                int(c.bulk)
            )
        })
        .collect();
    embed = embed.describe(if lines.is_empty() {
        "No messages were deleted in this timeframe.".to_owned()
    } else {
        format!(
            "**Per channel** (a thread is listed on its own; bulk: a moderator's purge, `MESSAGE_DELETE_BULK`)\n{}",
            lines.join("\n")
        )
    });
    if visible.len() < now.len() {
        embed = embed.field("Private channels", HIDDEN_NOTE, false);
    }
    Ok(text_only(embed))
}

/// The thread figures of the period, against the previous one.
pub(super) async fn thread_fields(ctx: &Ctx, frame: &Frame, embed: Embed) -> Outcome<Embed> {
    let pool = &ctx.state.pool;
    let (now, before): (ThreadSummary, Option<ThreadSummary>) = frame
        .now_and_before(|q| analytics::thread_summary(pool, ctx.guild_id, q.from, q.to, frame.bots))
        .await?;
    let embed = frame.compared(
        embed,
        &now,
        before.as_ref(),
        &[
            ("Threads created", |t| t.created),
            ("Threads archived", |t| t.archived),
            ("Active threads", |t| t.active),
        ],
    );
    let embed = embed.field(
        "Messages per active thread",
        now.messages_per_thread()
            .map_or_else(|| "–".into(), |m| format!("**{m:.1}**")),
        true,
    );
    first_reply_field(ctx, frame, embed).await
}

/// "Time to first reply": the median over the threads created in the
/// period, and how many have no reply yet.
pub(super) async fn first_reply_field(ctx: &Ctx, frame: &Frame, embed: Embed) -> Outcome<Embed> {
    let pool = &ctx.state.pool;
    let collected = match ctx.tracked_settings().await?.collect_mode {
        CollectMode::AllowList => {
            Some(shared::db::settings::collected_channels(pool, ctx.guild_id).await?)
        }
        CollectMode::All => None,
    };
    let replies = analytics::first_replies(
        pool,
        ctx.guild_id,
        frame.period.from,
        frame.period.to,
        frame.bots,
        collected.as_deref(),
    )
    .await?;
    Ok(embed.field("Time to first reply", first_reply_text(&replies), true))
}

/// `**0h 12m 05s** median · 2 of 9 threads without a reply`.
pub(super) fn first_reply_text(r: &FirstReplies) -> String {
    match r.median_seconds {
        _ if r.opened == 0 => "no threads created in this period".to_owned(),
        None => format!(
            "none of the {} threads created has a reply yet",
            int(r.opened)
        ),
        Some(median) => format!(
            "**{}** median · {} of {} threads without a reply",
            duration(median.round() as i64),
            int(r.unanswered()),
            int(r.opened)
        ),
    }
}
