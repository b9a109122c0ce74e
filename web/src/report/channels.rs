//! `/serverstats channels`: usage per text, voice, thread or forum channel.

use shared::db::analytics::{self, ChannelUsage};
use twilight_model::channel::ChannelType;

use super::CONTENT_NOTE;
use super::frame::{Frame, channel_name, local_time, text_only, with_chart};
use crate::charts;
use crate::context::Ctx;
use crate::error::Outcome;
use crate::reply::{Embed, Message, duration, int};
use crate::view::{ChannelKind, Choice};

/// Channels listed (and the first 10 charted).
const LISTED: usize = 15;

pub(super) async fn channels(ctx: &Ctx, frame: &Frame, kind: ChannelKind) -> Outcome<Message> {
    let pool = &ctx.state.pool;
    let (g, p) = (ctx.guild_id, frame.period);
    let mut embed = Embed::new(format!("Channels · {} · {}", kind.key(), frame.label));
    // (label, charted value, line) per channel, busiest first.
    let listed: Vec<(String, f64, String)> = match kind {
        ChannelKind::Voice => {
            let usage = analytics::voice_usage(pool, g, p.from, p.to).await?;
            usage
                .iter()
                .take(LISTED)
                .map(|v| {
                    let name = channel_name(v.channel_id, &v.name);
                    let peak = v
                        .peak_hour
                        .map_or_else(String::new, |h| format!(" at {}", local_time(h, frame.tz)));
                    let line = format!(
                        "{name} — {} · peak {} at once{peak}",
                        duration(v.seconds),
                        v.peak_concurrent
                    );
                    (name, v.seconds as f64 / 3600.0, line)
                })
                .collect()
        }
        ChannelKind::Threads => {
            let mut usage = analytics::channel_usage(pool, g, p.from, p.to).await?;
            usage.retain(|c| c.thread_messages > 0 || c.threads_created > 0);
            usage.sort_by(|a, b| {
                b.thread_messages
                    .cmp(&a.thread_messages)
                    .then(a.channel_id.cmp(&b.channel_id))
            });
            list(
                &usage,
                |c| c.thread_messages,
                |c| {
                    format!(
                        "{} thread messages · {} threads created",
                        int(c.thread_messages),
                        int(c.threads_created)
                    )
                },
            )
        }
        ChannelKind::Text | ChannelKind::Forum => {
            let mut usage = analytics::channel_usage(pool, g, p.from, p.to).await?;
            let forum = i16::from(u8::from(ChannelType::GuildForum));
            let wanted = |c: &ChannelUsage| (c.kind == Some(forum)) == (kind == ChannelKind::Forum);
            usage.retain(|c| c.messages > 0 && wanted(c));
            let total: i64 = usage.iter().map(|c| c.messages).sum();
            embed = embed
                .field(
                    "Messages in these channels",
                    format!("**{}**", int(total)),
                    true,
                )
                .field("Note", CONTENT_NOTE, false);
            list(
                &usage,
                |c| c.messages,
                |c| {
                    format!(
                        "{} messages · {} attachments · {} embeds · {} stickers",
                        int(c.messages),
                        int(c.attachments),
                        int(c.embeds),
                        int(c.stickers)
                    )
                },
            )
        }
    };
    if listed.is_empty() {
        return Ok(text_only(embed.describe(
            "No activity in channels of this kind in this timeframe.",
        )));
    }
    let lines: Vec<&str> = listed.iter().map(|(_, _, line)| line.as_str()).collect();
    embed = embed.describe(lines.join("\n"));
    let bars: Vec<(String, f64)> = listed
        .into_iter()
        .take(10)
        .map(|(name, value, _)| (name, value))
        .collect();
    let unit = if kind == ChannelKind::Voice {
        "hours"
    } else {
        "messages"
    };
    let png = charts::bar_chart(
        &format!("{unit} per channel · {}", frame.label),
        &bars,
        charts::BLURPLE,
    );
    with_chart(embed, "channels.png", png).await
}

/// The first channels of `usage`: name, charted value and `name — figures`.
fn list(
    usage: &[ChannelUsage],
    value: fn(&ChannelUsage) -> i64,
    figures: fn(&ChannelUsage) -> String,
) -> Vec<(String, f64, String)> {
    usage
        .iter()
        .take(LISTED)
        .map(|c| {
            let name = channel_name(c.channel_id, &c.name);
            let line = format!("{name} — {}", figures(c));
            (name, value(c) as f64, line)
        })
        .collect()
}
