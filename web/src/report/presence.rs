//! Who is in voice now (the voice activity report), and a member's first
//! and last seen and weekly pattern (member analysis).

use shared::Snowflake;
use shared::db::analytics;

use super::frame::{HourValues, WEEKDAYS, local_time};
use super::privacy::{Privacy, mention};
use crate::context::Ctx;
use crate::error::Outcome;
use crate::period;
use crate::reply::{Embed, int};

use super::frame::Frame;

/// People named in "In voice now".
const NAMED: usize = 15;

/// The "In voice now" field: who is in which voice channel as the ingester
/// last recorded it. Members who chose `/privacy hide` are left out; people
/// in channels the member asking may not see are counted, not named.
pub(super) async fn in_voice_field(ctx: &Ctx, frame: &Frame, embed: Embed) -> Outcome<Embed> {
    let now = analytics::in_voice_now(&ctx.state.pool, ctx.guild_id, frame.bots).await?;
    let privacy = Privacy::load(ctx).await?;
    let (shown, unseen): (Vec<_>, Vec<_>) = now.iter().partition(|v| !privacy.hidden(v.channel_id));
    let mut lines: Vec<String> = shown
        .iter()
        .take(NAMED)
        .map(|v| {
            format!(
                "<@{}> in {} since {}",
                v.user_id,
                mention(v.channel_id),
                local_time(v.since, frame.tz)
            )
        })
        .collect();
    if shown.len() > NAMED {
        lines.push(format!("and {} more", shown.len() - NAMED));
    }
    if !unseen.is_empty() {
        lines.push(format!(
            "{} in channels that @everyone cannot view",
            int(unseen.len() as i64)
        ));
    }
    let text = if lines.is_empty() {
        "nobody".to_owned()
    } else {
        lines.join("\n")
    };
    Ok(embed.field(
        format!("In voice now ({})", int(now.len() as i64)),
        text,
        false,
    ))
}

/// A member's first and last seen (over everything kept) and messages per
/// local weekday over the period (`hours`: the member's messages per hour).
pub(super) async fn member_fields(
    ctx: &Ctx,
    frame: &Frame,
    user: Snowflake,
    hours: &HourValues,
    embed: Embed,
) -> Outcome<Embed> {
    let seen = analytics::member_seen(&ctx.state.pool, ctx.guild_id, user).await?;
    let at = |t: Option<chrono::DateTime<chrono::Utc>>| {
        t.map_or_else(|| "–".to_owned(), |t| local_time(t, frame.tz))
    };
    let cells = period::heatmap(hours, frame.tz);
    let weekly: Vec<String> = cells
        .iter()
        .enumerate()
        .map(|(day, hours)| format!("{} {}", WEEKDAYS[day], int(hours.iter().sum())))
        .collect();
    Ok(embed
        .field("First seen", at(seen.first), true)
        .field("Last seen", at(seen.last), true)
        .field("Weekly pattern (messages)", weekly.join(" · "), false))
}
