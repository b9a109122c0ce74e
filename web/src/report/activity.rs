//! `/serverstats activity`: messages, voice, reactions or threads per day
//! and per local weekday and hour.

use shared::db::analytics::{self, GuildTotals, MemberContent};

use super::CONTENT_NOTE;
use super::frame::{Frame, HourValues, Show, peak_text, series_of, total, with_chart};
use super::overview::previous_totals;
use crate::charts;
use crate::context::Ctx;
use crate::error::Outcome;
use crate::period;
use crate::reply::{Embed, Message, duration, int};
use crate::view::{ActivityKind, Choice};

pub(super) async fn activity(
    ctx: &Ctx,
    frame: &Frame,
    kind: ActivityKind,
    totals: GuildTotals,
) -> Outcome<Message> {
    let pool = &ctx.state.pool;
    let (g, p) = (ctx.guild_id, frame.period);
    let prev = previous_totals(ctx, frame).await?;
    let hours = analytics::guild_hours(pool, g, p.from, p.to, frame.bots).await?;
    let (content, prev_content) = frame
        .now_and_before(|q| analytics::member_content(pool, g, q.from, q.to, frame.bots))
        .await?;
    let (before, before_content) = (prev.as_ref(), prev_content.as_ref());
    let mut embed = Embed::new(format!("Activity · {} · {}", kind.key(), frame.label));
    let in_threads: fn(&MemberContent) -> i64 = |c| c.thread_messages;
    let (rows, show): (HourValues, Show) = match kind {
        ActivityKind::Messages => {
            embed = frame.compared(embed, &totals, before, &[("Messages", |t| t.messages)]);
            embed = frame.compared(
                embed,
                &content,
                before_content,
                &[
                    ("Attachments", |c| c.attachments),
                    ("Embeds", |c| c.embeds),
                    ("Stickers", |c| c.stickers),
                    ("In threads", in_threads),
                ],
            );
            embed = embed.field("Note", CONTENT_NOTE, false);
            (series_of(&hours, |h| h.messages), int)
        }
        ActivityKind::Voice => {
            let voice = analytics::voice_hours(pool, g, p.from, p.to, None, frame.bots).await?;
            let prev_total = frame
                .before(|q| analytics::voice_hours(pool, g, q.from, q.to, None, frame.bots))
                .await?
                .map(|rows| total(&rows));
            embed = embed.field(
                "Voice time",
                frame.figure_with(total(&voice), prev_total, duration),
                true,
            );
            embed = super::presence::in_voice_field(ctx, frame, embed).await?;
            (voice, duration)
        }
        ActivityKind::Reactions => {
            embed = frame.compared(
                embed,
                &totals,
                before,
                &[
                    ("Reactions added", |t| t.reactions_added),
                    ("Reactions removed", |t| t.reactions_removed),
                ],
            );
            (series_of(&hours, |h| h.reactions_added), int)
        }
        ActivityKind::Threads => {
            embed = frame.compared(
                embed,
                &totals,
                before,
                &[("Threads created", |t| t.threads_created)],
            );
            embed = frame.compared(
                embed,
                &content,
                before_content,
                &[("Thread messages", in_threads)],
            );
            embed = super::channel_health::first_reply_field(ctx, frame, embed).await?;
            (series_of(&hours, |h| h.threads_created), int)
        }
        ActivityKind::Emoji => return super::emoji::emoji(ctx, frame, None).await,
    };
    let days = frame.daily(&rows);
    let cells = period::heatmap(&rows, frame.tz);
    let busiest = days
        .iter()
        .filter_map(|(d, v)| v.map(|v| (*d, v)))
        .max_by_key(|(d, v)| (*v, std::cmp::Reverse(*d)));
    embed = embed
        .field("Peak hour", peak_text(&cells, show), true)
        .field(
            "Busiest day",
            busiest.map_or_else(|| "–".into(), |(d, v)| format!("{d} ({})", show(v))),
            true,
        )
        .describe(format!("**Per day**\n{}", frame.daily_lines(&days, show)));
    let png = charts::heatmap(
        &format!("{} by weekday and hour ({})", kind.key(), frame.tz.name()),
        &cells,
    );
    with_chart(embed, "heatmap.png", png).await
}
