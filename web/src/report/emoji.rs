//! `/serverstats activity type:emoji` and `/activity analyze channel
//! metric:emoji`: the emoji used most as reactions, with their trend
//! against the previous period.

use std::collections::HashMap;

use shared::Snowflake;
use shared::db::analytics;

use super::frame::{Frame, text_only};
use super::privacy::{Privacy, mention};
use crate::context::Ctx;
use crate::error::Outcome;
use crate::reply::{Embed, Message, int};

/// Emoji listed.
const LISTED: usize = 15;

/// How an emoji key of the rollups is written in an embed: a Unicode emoji
/// as itself, a custom one (`name:id`) as Discord's `<:name:id>`.
pub fn shown(emoji: &str) -> String {
    match emoji.rsplit_once(':') {
        Some((name, id)) if !name.is_empty() && id.bytes().all(|b| b.is_ascii_digit()) => {
            format!("<:{name}:{id}>")
        }
        _ => emoji.to_owned(),
    }
}

pub(super) async fn emoji(
    ctx: &Ctx,
    frame: &Frame,
    channel: Option<Snowflake>,
) -> Outcome<Message> {
    let pool = &ctx.state.pool;
    let g = ctx.guild_id;
    let title = match channel {
        Some(c) => {
            let privacy = Privacy::load(ctx).await?;
            privacy.require_visible(c)?;
            let name = analytics::channel_info(pool, g, c).await?.map(|(n, _)| n);
            format!(" · {}", privacy.text_name(c, name.as_deref()))
        }
        None => String::new(),
    };
    let (now, before) = frame
        .now_and_before(|q| analytics::emoji_usage(pool, g, q.from, q.to, channel, frame.bots))
        .await?;
    let before: Option<HashMap<String, i64>> =
        before.map(|rows| rows.into_iter().map(|e| (e.emoji, e.added)).collect());
    let used: Vec<_> = now.iter().filter(|e| e.added > 0).collect();
    let mut embed = Embed::new(format!("Emoji{title} · {}", frame.label));
    if let Some(c) = channel {
        embed = embed.field("Channel", mention(c), true);
    }
    let added: i64 = used.iter().map(|e| e.added).sum();
    let removed: i64 = now.iter().map(|e| e.removed).sum();
    embed = embed
        .field("Reactions added", format!("**{}**", int(added)), true)
        .field("Reactions removed", format!("**{}**", int(removed)), true)
        .field(
            "Emoji used",
            format!("**{}**", int(used.len() as i64)),
            true,
        );
    if used.is_empty() {
        return Ok(text_only(
            embed.describe("No reactions were added in this timeframe."),
        ));
    }
    let lines: Vec<String> = used
        .iter()
        .take(LISTED)
        .enumerate()
        .map(|(i, e)| {
            let prev = before
                .as_ref()
                .map(|b| b.get(&e.emoji).copied().unwrap_or(0));
            format!(
                "{}. {} — {}",
                i + 1,
                shown(&e.emoji),
                frame.figure(e.added, prev)
            )
        })
        .collect();
    embed = embed.describe(format!(
        "**Most used as reactions** (custom and Unicode; times added)\n{}",
        lines.join("\n")
    ));
    Ok(text_only(embed))
}

#[cfg(test)]
mod tests {
    use super::shown;

    #[test]
    fn custom_emoji_render_as_discord_writes_them() {
        assert_eq!(shown("👍"), "👍");
        assert_eq!(
            shown("pepe_hype:123456789012345678"),
            "<:pepe_hype:123456789012345678>"
        );
        assert_eq!(shown(":"), ":");
    }
}
