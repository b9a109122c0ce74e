//! `/serverstats channels`: usage per text, voice, thread or forum channel.

use shared::db::analytics::{self, ChannelUsage};
use twilight_model::channel::ChannelType;

use super::CONTENT_NOTE;
use super::frame::{Frame, local_time, text_only, with_chart};
use super::privacy::{Privacy, mention};
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
    let privacy = Privacy::load(ctx).await?;
    let mut embed = Embed::new(format!("Channels · {} · {}", kind.key(), frame.label));
    // (chart label, charted value, line) per channel, busiest first; private
    // channels only for members who may see them.
    let left_out;
    let listed: Vec<(String, f64, String)> = match kind {
        ChannelKind::Voice => {
            let mut usage = analytics::voice_usage(pool, g, p.from, p.to, frame.bots).await?;
            let before = usage.len();
            usage.retain(|v| !privacy.hidden(v.channel_id));
            left_out = usage.len() < before;
            usage
                .iter()
                .take(LISTED)
                .map(|v| {
                    let name = privacy.chart_label(v.channel_id, v.name.as_deref());
                    let peak = v
                        .peak_hour
                        .map_or_else(String::new, |h| format!(" at {}", local_time(h, frame.tz)));
                    let line = format!(
                        "{} — {} · peak {} at once{peak}",
                        mention(v.channel_id),
                        duration(v.seconds),
                        v.peak_concurrent
                    );
                    (name, v.seconds as f64 / 3600.0, line)
                })
                .collect()
        }
        ChannelKind::Threads => {
            embed = super::channel_health::thread_fields(ctx, frame, embed).await?;
            let mut usage = analytics::channel_usage(pool, g, p.from, p.to, frame.bots).await?;
            usage.retain(|c| c.thread_messages > 0 || c.threads_created > 0);
            let before = usage.len();
            usage.retain(|c| !privacy.hidden(c.channel_id));
            left_out = usage.len() < before;
            usage.sort_by(|a, b| {
                b.thread_messages
                    .cmp(&a.thread_messages)
                    .then(a.channel_id.cmp(&b.channel_id))
            });
            list(
                &privacy,
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
        ChannelKind::Health => return super::channel_health::health(ctx, frame).await,
        ChannelKind::Deletions => return super::channel_health::deletions(ctx, frame).await,
        ChannelKind::Text | ChannelKind::Forum => {
            let mut usage = analytics::channel_usage(pool, g, p.from, p.to, frame.bots).await?;
            let forum = i16::from(u8::from(ChannelType::GuildForum));
            let wanted = |c: &ChannelUsage| (c.kind == Some(forum)) == (kind == ChannelKind::Forum);
            usage.retain(|c| c.messages > 0 && wanted(c));
            // The total counts every channel, private ones too: it names none.
            let total: i64 = usage.iter().map(|c| c.messages).sum();
            let before = usage.len();
            usage.retain(|c| !privacy.hidden(c.channel_id));
            left_out = usage.len() < before;
            embed = embed
                .field(
                    "Messages in these channels",
                    format!("**{}**", int(total)),
                    true,
                )
                .field("Note", CONTENT_NOTE, false);
            list(
                &privacy,
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
        let text = if left_out {
            "No activity in channels of this kind that @everyone can view in this timeframe."
        } else {
            "No activity in channels of this kind in this timeframe."
        };
        return Ok(text_only(embed.describe(text)));
    }
    let lines: Vec<&str> = listed.iter().map(|(_, _, line)| line.as_str()).collect();
    embed = embed.describe(lines.join("\n"));
    if left_out {
        embed = embed.field("Private channels", HIDDEN_NOTE, false);
    }
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

/// Said when channels @everyone cannot view were left out of a list.
pub(super) const HIDDEN_NOTE: &str = "Channels that @everyone cannot view are listed only for members with the Manage Server permission.";

/// The first channels of `usage`: chart label, charted value and
/// `mention — figures`.
fn list(
    privacy: &Privacy,
    usage: &[ChannelUsage],
    value: fn(&ChannelUsage) -> i64,
    figures: fn(&ChannelUsage) -> String,
) -> Vec<(String, f64, String)> {
    usage
        .iter()
        .take(LISTED)
        .map(|c| {
            let name = privacy.chart_label(c.channel_id, c.name.as_deref());
            let line = format!("{} — {}", mention(c.channel_id), figures(c));
            (name, value(c) as f64, line)
        })
        .collect()
}
