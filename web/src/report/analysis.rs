//! `/activity analyze member|channel`: one member's or one channel's
//! activity over the period.

use shared::Snowflake;
use shared::db::analytics::{self, LeaderboardMetric, MemberInteractions};

use super::frame::{Frame, HourValues, Show, as_series, local_time, peak_text, total, with_chart};
use super::leaderboards::{ranking, ranking_lines};
use super::privacy::{Privacy, mention};
use crate::charts;
use crate::context::Ctx;
use crate::error::Outcome;
use crate::period::{self, change};
use crate::reply::{Embed, Message, duration, int};
use crate::view::ChannelMetric;

/// The activity score of the README: messages + 0.5 × reactions given +
/// 0.5 × reactions received + voice minutes ÷ 10.
pub fn activity_score(
    messages: i64,
    reactions_given: i64,
    reactions_received: i64,
    voice_seconds: i64,
) -> f64 {
    messages as f64
        + 0.5 * reactions_given as f64
        + 0.5 * reactions_received as f64
        + voice_seconds as f64 / 600.0
}

fn score(messages: i64, i: &MemberInteractions) -> f64 {
    activity_score(
        messages,
        i.reactions_given,
        i.reactions_received,
        i.voice_seconds,
    )
}

pub(super) async fn member(ctx: &Ctx, frame: &Frame, user: Snowflake) -> Outcome<Message> {
    let pool = &ctx.state.pool;
    let (g, p) = (ctx.guild_id, frame.period);
    let hours =
        analytics::message_hours(pool, g, p.from, p.to, Some(user), None, frame.bots).await?;
    let messages = total(&hours);
    let interactions = analytics::member_interactions(pool, g, p.from, p.to, user).await?;
    let rank = analytics::member_rank(pool, g, p.from, p.to, user, frame.bots).await?;
    let channels = analytics::member_channels(pool, g, p.from, p.to, user, frame.bots).await?;
    let before = frame
        .before(|q| async move {
            let hours =
                analytics::message_hours(pool, g, q.from, q.to, Some(user), None, frame.bots)
                    .await?;
            let interactions = analytics::member_interactions(pool, g, q.from, q.to, user).await?;
            Ok::<_, shared::db::DbError>((total(&hours), interactions))
        })
        .await?;
    let (prev_messages, prev_interactions) = (before.map(|b| b.0), before.map(|b| b.1));
    let score_now = score(messages, &interactions);
    let prev_score = before.map(|(m, i)| score(m, &i));
    let local_hours = period::per_local_hour(&hours, frame.tz);
    let mut top_hours: Vec<(usize, i64)> = local_hours
        .iter()
        .copied()
        .enumerate()
        .filter(|h| h.1 > 0)
        .collect();
    top_hours.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    // Favourite channels the member asking may see named.
    let privacy = Privacy::load(ctx).await?;
    let favourite: Vec<String> = channels
        .iter()
        .filter(|c| !privacy.hidden(c.channel_id))
        .take(3)
        .map(|c| format!("{} ({})", mention(c.channel_id), int(c.messages)))
        .collect();
    let embed = Embed::new(format!("Member activity · {}", frame.label))
        .describe(format!("<@{user}>"))
        .field("Messages", frame.figure(messages, prev_messages), true)
        .field(
            "Rank",
            rank.map_or_else(
                || "not ranked (no messages)".into(),
                |(r, _)| format!("#{r}"),
            ),
            true,
        )
        .field(
            "Voice time",
            frame.figure_with(
                interactions.voice_seconds,
                prev_interactions.map(|i| i.voice_seconds),
                duration,
            ),
            true,
        );
    let embed = frame
        .compared(
            embed,
            &interactions,
            prev_interactions.as_ref(),
            &[
                ("Reactions given", |i| i.reactions_given),
                ("Reactions received", |i| i.reactions_received),
            ],
        )
        .field(
            "Activity score",
            match (prev_score, frame.uncompared()) {
                (Some(prev), _) => format!("**{score_now:.1}** {}", change(score_now, prev)),
                (None, Some(why)) => format!("**{score_now:.1}** · {why}"),
                (None, None) => format!("**{score_now:.1}**"),
            },
            true,
        )
        .field("Favourite channels", or_dash(favourite.join("\n")), false)
        .field(
            "Most active hours",
            or_dash(
                top_hours
                    .iter()
                    .take(3)
                    .map(|(h, n)| format!("{h:02}:00 ({})", int(*n)))
                    .collect::<Vec<_>>()
                    .join(" · "),
            ),
            false,
        );
    let embed = super::presence::member_fields(ctx, frame, user, &hours, embed).await?;
    let days = frame.daily(&hours);
    let png = frame.day_chart(
        "Messages per day",
        &days,
        &[as_series("messages", &days, charts::BLURPLE)],
        None,
    );
    with_chart(embed, "member.png", png).await
}

fn or_dash(text: String) -> String {
    if text.is_empty() { "–".into() } else { text }
}

pub(super) async fn channel(
    ctx: &Ctx,
    frame: &Frame,
    channel: Snowflake,
    metric: ChannelMetric,
) -> Outcome<Message> {
    let pool = &ctx.state.pool;
    let (g, p) = (ctx.guild_id, frame.period);
    let privacy = Privacy::load(ctx).await?;
    privacy.require_visible(channel)?;
    let name = analytics::channel_info(pool, g, channel)
        .await?
        .map(|(n, _)| n);
    let title = privacy.text_name(channel, name.as_deref());
    let chart_label = privacy.chart_label(channel, name.as_deref());
    let mut embed = Embed::new(format!("Channel activity · {title} · {}", frame.label));
    let (rows, show): (HourValues, Show) = match metric {
        ChannelMetric::Messages => {
            let (rows, prev) = frame
                .now_and_before(|q| async move {
                    analytics::message_hours(pool, g, q.from, q.to, None, Some(channel), frame.bots)
                        .await
                })
                .await?;
            let top = ranking(
                ctx,
                (p, frame.bots),
                LeaderboardMetric::Messages,
                Some(channel),
                5,
                0,
            )
            .await?;
            embed = embed
                .field(
                    "Messages (threads included)",
                    frame.figure(total(&rows), prev.as_deref().map(total)),
                    true,
                )
                .field("Top members", ranking_lines(&top.rows, 0, int), false);
            (rows, int)
        }
        ChannelMetric::Voice => {
            let (rows, prev) = frame
                .now_and_before(|q| async move {
                    analytics::voice_hours(pool, g, q.from, q.to, Some(channel), frame.bots).await
                })
                .await?;
            let usage = analytics::voice_usage(pool, g, p.from, p.to, frame.bots).await?;
            let peak = usage.iter().find(|u| u.channel_id == channel);
            let prev = prev.as_deref().map(total);
            embed = embed
                .field(
                    "Voice time",
                    frame.figure_with(total(&rows), prev, duration),
                    true,
                )
                .field(
                    "Peak concurrency",
                    peak.map_or_else(
                        || "–".into(),
                        |u| {
                            format!(
                                "{} at once{}",
                                u.peak_concurrent,
                                u.peak_hour.map_or_else(String::new, |h| format!(
                                    " ({})",
                                    local_time(h, frame.tz)
                                ))
                            )
                        },
                    ),
                    true,
                );
            (rows, duration)
        }
        ChannelMetric::Emoji => return super::emoji::emoji(ctx, frame, Some(channel)).await,
    };
    let cells = period::heatmap(&rows, frame.tz);
    let days = frame.daily(&rows);
    embed = embed
        .field("Peak hour", peak_text(&cells, show), true)
        .describe(format!(
            "{}\n**Per day**\n{}",
            mention(channel),
            frame.daily_lines(&days, show)
        ));
    let png = charts::heatmap(
        &format!("{chart_label} by weekday and hour ({})", frame.tz.name()),
        &cells,
    );
    with_chart(embed, "channel.png", png).await
}
