//! The reports behind every view: figures from `shared::db::analytics`,
//! local days and hours in the guild's timezone, each figure compared with
//! the previous period of equal length, gaps shown as gaps, and charts.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use chrono_tz::Tz;
use shared::Snowflake;
use shared::db::analytics::{self, LeaderboardMetric, LeaderboardQuery};
use shared::db::ingest::{self, CoverageGap};
use shared::db::settings::CollectMode;
use shared::time::Timeframe;

use crate::charts::{self, Band, Series};
use crate::commands::{Ctx, Failure, Outcome, timezone_of};
use crate::discord::Attachment;
use crate::period::{self, Period, change, progress_bar};
use crate::reply::{self, Embed, Message, duration, int};
use crate::view::{
    ActivityKind, BoardMetric, ChannelKind, ChannelMetric, MembersCategory, PAGE_SIZE, Request,
    TrendMetric, View,
};

/// Why attachments and embeds may read low: ServerPulse never asks for
/// message content, and Discord withholds these with it.
const CONTENT_NOTE: &str = "Attachments and embeds count only what Discord shares without the Message Content intent, which ServerPulse does not request (stickers are always counted).";

/// Values per UTC hour.
type HourValues = Vec<(DateTime<Utc>, i64)>;
/// How a figure is written (`int` or `duration`).
type Show = fn(i64) -> String;

const WEEKDAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

/// Everything a view needs to know about its period.
#[derive(Clone)]
struct Frame {
    request: Request,
    period: Period,
    /// `None` for "all time" (nothing before it to compare with).
    previous: Option<Period>,
    tz: Tz,
    gaps: Vec<CoverageGap>,
    label: String,
    /// The first hour anything was recorded: days before it have no data
    /// (not zero).
    first_data: Option<DateTime<Utc>>,
}

impl Frame {
    /// A figure with its comparison, e.g. `**1,234** ↑ 10.0% (1,122 before)`.
    fn figure(&self, current: i64, previous: Option<i64>) -> String {
        self.figure_with(current, previous, int)
    }

    fn figure_with(&self, current: i64, previous: Option<i64>, show: fn(i64) -> String) -> String {
        match (self.previous, previous) {
            (Some(_), Some(previous)) => format!(
                "**{}** {} ({} before)",
                show(current),
                change(current as f64, previous as f64),
                show(previous)
            ),
            _ => format!("**{}**", show(current)),
        }
    }

    fn day_has_gap(&self, day: NaiveDate) -> bool {
        let start = period::local_midnight(day, self.tz);
        let end = period::local_midnight(day.succ_opt().unwrap_or(day), self.tz);
        self.gaps
            .iter()
            .any(|g| g.gap_start < end && g.gap_end > start)
    }

    /// Values per local day of the period, `None` on days a gap touches.
    fn daily(&self, rows: &[(DateTime<Utc>, i64)]) -> Vec<(NaiveDate, Option<i64>)> {
        let sums = period::per_local_day(rows, self.tz);
        period::local_days(self.period, self.tz)
            .into_iter()
            .map(|day| {
                let value = sums.get(&day).copied().unwrap_or(0);
                let known = !self.day_has_gap(day) && !self.before_data(day);
                (day, known.then_some(value))
            })
            .collect()
    }

    /// Per day, whether a recorded gap touches it (for chart shading).
    fn gap_flags(&self, days: &[(NaiveDate, Option<i64>)]) -> Vec<bool> {
        days.iter().map(|(day, _)| self.day_has_gap(*day)).collect()
    }

    /// The whole local day ended before anything was recorded.
    fn before_data(&self, day: NaiveDate) -> bool {
        let end = period::local_midnight(day.succ_opt().unwrap_or(day), self.tz);
        self.first_data.is_none_or(|first| end <= first)
    }

    /// The whole local day lies inside the period.
    fn full_day(&self, day: NaiveDate) -> bool {
        period::local_midnight(day, self.tz) >= self.period.from
            && period::local_midnight(day.succ_opt().unwrap_or(day), self.tz) <= self.period.to
    }

    /// `2026-10-25 1,234` per line; days without data say why.
    fn daily_lines(&self, days: &[(NaiveDate, Option<i64>)], show: fn(i64) -> String) -> String {
        days.iter()
            .map(|(day, value)| match value {
                Some(v) => format!("`{day}` {}", show(*v)),
                None if self.day_has_gap(*day) => format!("`{day}` gap (events lost)"),
                None => format!("`{day}` – (nothing recorded yet)"),
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    fn footer(&self) -> String {
        let compared = if self.previous.is_some() {
            " · ↑/↓ against the previous period of equal length"
        } else {
            ""
        };
        format!("Times in {}{compared}", self.tz.name())
    }

    fn gaps_note(&self) -> Option<String> {
        if self.gaps.is_empty() {
            return None;
        }
        let lines: Vec<String> = self
            .gaps
            .iter()
            .take(5)
            .map(|g| {
                format!(
                    "{} → {} ({})",
                    local_time(g.gap_start, self.tz),
                    local_time(g.gap_end, self.tz),
                    g.reason
                )
            })
            .collect();
        Some(format!(
            "Events in these spans were lost (shown as gaps, not zeros):\n{}",
            lines.join("\n")
        ))
    }
}

fn local_time(t: DateTime<Utc>, tz: Tz) -> String {
    t.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string()
}

fn timeframe_label(timeframe: Timeframe, period: Period, tz: Tz) -> String {
    match timeframe {
        Timeframe::Last24Hours => "last 24 hours".into(),
        Timeframe::Last7Days => "last 7 days".into(),
        Timeframe::Last30Days => "last 30 days".into(),
        Timeframe::Last90Days => "last 90 days".into(),
        Timeframe::AllTime => "all time".into(),
        Timeframe::Custom { .. } => {
            let last = period.to - chrono::Duration::seconds(1);
            format!(
                "{} to {}",
                period.from.with_timezone(&tz).format("%Y-%m-%d"),
                last.with_timezone(&tz).format("%Y-%m-%d")
            )
        }
    }
}

/// Renders one report (tracking on, data present) or says why not.
pub async fn render(ctx: &Ctx, request: Request) -> Outcome<Message> {
    let settings = ctx.tracked_settings().await?;
    let tz = timezone_of(&settings);
    let pool = &ctx.state.pool;
    let guild = ctx.guild_id;
    if let View::Channel(channel, _) = request.view
        && settings.collect_mode == CollectMode::AllowList
    {
        let collected = shared::db::settings::collected_channels(pool, guild).await?;
        if !collected.contains(&channel) {
            return Err(Failure::user(format!(
                "{} is not collected, so there is nothing to show. An admin can add it with /add-collect-channel.",
                ctx.channel_label(channel)
            )));
        }
    }
    let first = analytics::first_hour(pool, guild).await?;
    let no_data = || {
        Failure::user(
            "No activity has been recorded for this server in that timeframe yet. Try a longer timeframe.",
        )
    };
    let period = period::resolve(request.timeframe, ctx.now, first).ok_or_else(no_data)?;
    let totals = analytics::guild_totals(pool, guild, period.from, period.to).await?;
    if totals.hours_with_data == 0 {
        return Err(no_data());
    }
    let gaps = ingest::gaps(pool, guild, period.from, period.to).await?;
    let frame = Frame {
        request,
        period,
        previous: (request.timeframe != Timeframe::AllTime).then(|| period.previous()),
        tz,
        gaps,
        label: timeframe_label(request.timeframe, period, tz),
        first_data: first,
    };
    let mut message = match request.view {
        View::Overview => overview(ctx, &frame, totals).await?,
        View::Members(category) => members(ctx, &frame, category, totals).await?,
        View::Activity(kind) => activity(ctx, &frame, kind, totals).await?,
        View::Channels(kind) => channels(ctx, &frame, kind).await?,
        View::Trends(metric) => trends(ctx, &frame, metric).await?,
        View::Member(user) => member(ctx, &frame, user).await?,
        View::Channel(channel, metric) => channel_report(ctx, &frame, channel, metric).await?,
        View::Comparative(metric, a, b) => comparative(ctx, &frame, metric, a, b).await?,
        View::TopMessagers => top_messagers(ctx, &frame).await?,
        View::Leaderboard(channel, metric, page) => {
            leaderboard(ctx, &frame, channel, metric, page).await?
        }
    };
    if let Some(embed) = message.embeds.first_mut() {
        if let Some(note) = frame.gaps_note() {
            embed.fields.push(("⚠ Data gaps".into(), note, false));
        }
        embed.footer = Some(frame.footer());
    }
    message.components.extend(navigation(&frame));
    Ok(message)
}

/// Timeframe buttons, the custom-timeframe button and a select of sibling views.
fn navigation(frame: &Frame) -> Vec<serde_json::Value> {
    let request = frame.request;
    let view = match request.view {
        View::Leaderboard(c, m, _) => View::Leaderboard(c, m, 0),
        other => other,
    };
    let presets: &[Timeframe] = if view == View::TopMessagers {
        &[
            Timeframe::Last24Hours,
            Timeframe::Last7Days,
            Timeframe::Last30Days,
            Timeframe::AllTime,
        ]
    } else {
        &[
            Timeframe::Last24Hours,
            Timeframe::Last7Days,
            Timeframe::Last30Days,
            Timeframe::Last90Days,
            Timeframe::AllTime,
        ]
    };
    let buttons = presets
        .iter()
        .map(|tf| {
            let current = *tf == request.timeframe;
            let id = if current {
                format!("now|{}", tf.key())
            } else {
                Request {
                    view,
                    timeframe: *tf,
                }
                .custom_id()
            };
            reply::button(tf.key(), id, if current { 1 } else { 2 }, current)
        })
        .collect();
    let mut rows = vec![reply::row(buttons)];
    let mut second = Vec::new();
    if let View::Leaderboard(..) = request.view {
        // paging buttons are added by the leaderboard itself
    } else if view != View::TopMessagers {
        second.push(reply::button(
            "Custom dates…",
            format!("tfc|{}", view.encode()),
            2,
            false,
        ));
    }
    if !second.is_empty() {
        rows.push(reply::row(second));
    }
    let siblings: Vec<(String, View)> = match view {
        View::Overview
        | View::Members(_)
        | View::Activity(_)
        | View::Channels(_)
        | View::Trends(_) => {
            let mut list = vec![("Overview".to_owned(), View::Overview)];
            list.extend(
                MembersCategory::ALL
                    .iter()
                    .map(|c| (format!("Members: {}", c.key()), View::Members(*c))),
            );
            list.extend(
                ActivityKind::ALL
                    .iter()
                    .map(|k| (format!("Activity: {}", k.key()), View::Activity(*k))),
            );
            list.extend(
                ChannelKind::ALL
                    .iter()
                    .map(|k| (format!("Channels: {}", k.key()), View::Channels(*k))),
            );
            list.extend(
                TrendMetric::ALL
                    .iter()
                    .map(|m| (format!("Trends: {}", m.key()), View::Trends(*m))),
            );
            list
        }
        _ => Vec::new(),
    };
    if !siblings.is_empty() {
        let options: Vec<(String, String, bool)> = siblings
            .into_iter()
            .map(|(label, v)| (label, v.encode(), v == view))
            .collect();
        rows.push(reply::row(vec![reply::string_select(
            format!("sel|{}", crate::view::encode_timeframe(request.timeframe)),
            "Show another report",
            &options,
        )]));
    }
    rows
}

fn chart(name: &str, png: Result<Vec<u8>, charts::ChartError>) -> Outcome<Attachment> {
    png.map(|bytes| Attachment {
        filename: name.to_owned(),
        bytes,
    })
    .map_err(|e| Failure::Internal(e.to_string()))
}

fn day_labels(days: &[(NaiveDate, Option<i64>)]) -> Vec<String> {
    days.iter()
        .map(|(d, _)| d.format("%m-%d").to_string())
        .collect()
}

fn as_series(
    name: &str,
    days: &[(NaiveDate, Option<i64>)],
    color: plotters::style::RGBColor,
) -> Series {
    Series {
        name: name.to_owned(),
        values: days.iter().map(|(_, v)| v.map(|v| v as f64)).collect(),
        color,
    }
}

fn peak_cell(cells: &[[i64; 24]; 7]) -> Option<(usize, usize, i64)> {
    let mut best: Option<(usize, usize, i64)> = None;
    for (day, hours) in cells.iter().enumerate() {
        for (hour, value) in hours.iter().enumerate() {
            if *value > 0 && best.is_none_or(|b| *value > b.2) {
                best = Some((day, hour, *value));
            }
        }
    }
    best
}

fn peak_text(cells: &[[i64; 24]; 7], show: fn(i64) -> String) -> String {
    match peak_cell(cells) {
        Some((day, hour, value)) => format!(
            "{} {hour:02}:00–{:02}:00 ({})",
            WEEKDAYS[day],
            (hour + 1) % 24,
            show(value)
        ),
        None => "–".into(),
    }
}

fn series_of(
    hours: &[analytics::HourTotals],
    pick: fn(&analytics::HourTotals) -> i64,
) -> Vec<(DateTime<Utc>, i64)> {
    hours.iter().map(|h| (h.hour, pick(h))).collect()
}

async fn previous_totals(ctx: &Ctx, frame: &Frame) -> Outcome<Option<analytics::GuildTotals>> {
    Ok(match frame.previous {
        Some(p) => {
            Some(analytics::guild_totals(&ctx.state.pool, ctx.guild_id, p.from, p.to).await?)
        }
        None => None,
    })
}

async fn overview(ctx: &Ctx, frame: &Frame, totals: analytics::GuildTotals) -> Outcome<Message> {
    let pool = &ctx.state.pool;
    let (g, p) = (ctx.guild_id, frame.period);
    let prev = previous_totals(ctx, frame).await?;
    let hours = analytics::guild_hours(pool, g, p.from, p.to).await?;
    let membership = analytics::membership(pool, g, p.from, p.to).await?;
    let active = analytics::active_members(pool, g, p.from, p.to).await?;
    let prev_active = match frame.previous {
        Some(q) => Some(analytics::active_members(pool, g, q.from, q.to).await?),
        None => None,
    };
    let messages = series_of(&hours, |h| h.messages);
    let days = frame.daily(&messages);
    let cells = period::heatmap(&messages, frame.tz);
    let members_end = membership.members_at_end();
    let mut embed = Embed::new(format!("Server overview · {}", frame.label))
        .field(
            "Messages",
            frame.figure(totals.messages, prev.map(|t| t.messages)),
            true,
        )
        .field(
            "Voice time",
            frame.figure_with(
                totals.voice_seconds,
                prev.map(|t| t.voice_seconds),
                duration,
            ),
            true,
        )
        .field(
            "Reactions",
            frame.figure(totals.reactions_added, prev.map(|t| t.reactions_added)),
            true,
        )
        .field(
            "Joins",
            frame.figure(totals.joins, prev.map(|t| t.joins)),
            true,
        )
        .field(
            "Leaves",
            frame.figure(totals.leaves, prev.map(|t| t.leaves)),
            true,
        )
        .field(
            "Net growth",
            frame.figure(
                totals.joins - totals.leaves,
                prev.map(|t| t.joins - t.leaves),
            ),
            true,
        )
        .field("Active members", frame.figure(active, prev_active), true)
        .field(
            "Threads created",
            frame.figure(totals.threads_created, prev.map(|t| t.threads_created)),
            true,
        )
        .field(
            "Deleted messages",
            frame.figure(totals.deletions, prev.map(|t| t.deletions)),
            true,
        )
        .field("Peak time", peak_text(&cells, int), false);
    if let Some(total) = members_end {
        embed = embed.field("Members at the end", format!("**{}**", int(total)), true);
    }
    let png = chart(
        "overview.png",
        charts::line_chart(
            &format!("Messages per day · {}", frame.label),
            &day_labels(&days),
            &[as_series("messages", &days, charts::BLURPLE)],
            &frame.gap_flags(&days),
            None,
        ),
    )?;
    Ok(Message {
        embeds: vec![embed.image("overview.png")],
        files: vec![png],
        ..Message::default()
    })
}

async fn members(
    ctx: &Ctx,
    frame: &Frame,
    category: MembersCategory,
    totals: analytics::GuildTotals,
) -> Outcome<Message> {
    let pool = &ctx.state.pool;
    let (g, p) = (ctx.guild_id, frame.period);
    let prev = previous_totals(ctx, frame).await?;
    let title = format!("Members · {} · {}", category.key(), frame.label);
    let mut embed = Embed::new(title);
    let mut files = Vec::new();
    match category {
        MembersCategory::Growth => {
            let membership = analytics::membership(pool, g, p.from, p.to).await?;
            let hours = analytics::guild_hours(pool, g, p.from, p.to).await?;
            let joins = frame.daily(&series_of(&hours, |h| h.joins));
            let leaves = frame.daily(&series_of(&hours, |h| h.leaves));
            embed = embed
                .field(
                    "Joins",
                    frame.figure(totals.joins, prev.map(|t| t.joins)),
                    true,
                )
                .field(
                    "Leaves",
                    frame.figure(totals.leaves, prev.map(|t| t.leaves)),
                    true,
                )
                .field(
                    "Rejoins",
                    frame.figure(totals.rejoins, prev.map(|t| t.rejoins)),
                    true,
                )
                .field(
                    "Net growth",
                    frame.figure(
                        totals.joins - totals.leaves,
                        prev.map(|t| t.joins - t.leaves),
                    ),
                    true,
                );
            if let Some(end) = membership.members_at_end() {
                let start = end - (totals.joins - totals.leaves);
                embed = embed.field(
                    "Members",
                    format!("**{}** at the end ({} at the start)", int(end), int(start)),
                    true,
                );
            }
            files.push(chart(
                "members.png",
                charts::line_chart(
                    &format!("Joins and leaves per day · {}", frame.label),
                    &day_labels(&joins),
                    &[
                        as_series("joins", &joins, charts::GREEN),
                        as_series("leaves", &leaves, charts::RED),
                    ],
                    &frame.gap_flags(&joins),
                    None,
                ),
            )?);
            embed = embed.image("members.png");
        }
        MembersCategory::Activity => {
            let membership = analytics::membership(pool, g, p.from, p.to).await?;
            let active = analytics::active_members(pool, g, p.from, p.to).await?;
            let prev_active = match frame.previous {
                Some(q) => Some(analytics::active_members(pool, g, q.from, q.to).await?),
                None => None,
            };
            embed = embed.field("Active members", frame.figure(active, prev_active), true);
            if let Some(end) = membership.members_at_end() {
                let start = end - (totals.joins - totals.leaves);
                let members = start + membership.new_users;
                embed = embed
                    .field(
                        "Members in the period",
                        format!("**{}**", int(members)),
                        true,
                    )
                    .field(
                        "Inactive members",
                        format!("**{}**", int((members - active).max(0))),
                        true,
                    )
                    .field(
                        "Active ratio",
                        progress_bar(active as f64, members as f64),
                        false,
                    );
            }
        }
        MembersCategory::Retention => {
            let cohort = analytics::join_cohort(pool, g, p.from, p.to, ctx.now).await?;
            let prev_cohort = match frame.previous {
                Some(q) => Some(analytics::join_cohort(pool, g, q.from, q.to, ctx.now).await?),
                None => None,
            };
            embed = embed
                .field(
                    "Joins",
                    frame.figure(cohort.joined, prev_cohort.map(|c| c.joined)),
                    true,
                )
                .field(
                    "Activated (posted within 7 days)",
                    format!(
                        "{} of {}\n{}",
                        int(cohort.activated),
                        int(cohort.joined),
                        progress_bar(cohort.activated as f64, cohort.joined as f64)
                    ),
                    false,
                )
                .field(
                    "Still members after 7 days",
                    format!(
                        "{} of {} eligible\n{}",
                        int(cohort.retained_7d),
                        int(cohort.eligible_7d),
                        progress_bar(cohort.retained_7d as f64, cohort.eligible_7d as f64)
                    ),
                    false,
                )
                .field(
                    "Still members after 30 days",
                    format!(
                        "{} of {} eligible\n{}",
                        int(cohort.retained_30d),
                        int(cohort.eligible_30d),
                        progress_bar(cohort.retained_30d as f64, cohort.eligible_30d as f64)
                    ),
                    false,
                );
        }
        MembersCategory::Top => {
            let page = analytics::leaderboard(
                pool,
                g,
                p.from,
                p.to,
                LeaderboardQuery {
                    metric: LeaderboardMetric::Messages,
                    channel: None,
                    limit: 10,
                    offset: 0,
                },
            )
            .await?;
            embed = embed.describe(ranking_lines(&page.rows, 0, int));
        }
    }
    Ok(Message {
        embeds: vec![embed],
        files,
        ..Message::default()
    })
}

fn ranking_lines(rows: &[analytics::Ranked], offset: i64, show: fn(i64) -> String) -> String {
    if rows.is_empty() {
        return "Nobody yet.".into();
    }
    rows.iter()
        .enumerate()
        .map(|(i, r)| {
            format!(
                "{}. <@{}> — {}",
                offset + i as i64 + 1,
                r.user_id,
                show(r.value)
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

async fn activity(
    ctx: &Ctx,
    frame: &Frame,
    kind: ActivityKind,
    totals: analytics::GuildTotals,
) -> Outcome<Message> {
    let pool = &ctx.state.pool;
    let (g, p) = (ctx.guild_id, frame.period);
    let prev = previous_totals(ctx, frame).await?;
    let hours = analytics::guild_hours(pool, g, p.from, p.to).await?;
    let content = analytics::member_content(pool, g, p.from, p.to).await?;
    let prev_content = match frame.previous {
        Some(q) => Some(analytics::member_content(pool, g, q.from, q.to).await?),
        None => None,
    };
    let mut embed = Embed::new(format!("Activity · {} · {}", kind.key(), frame.label));
    let (rows, show): (HourValues, Show) = match kind {
        ActivityKind::Messages => {
            embed = embed
                .field(
                    "Messages",
                    frame.figure(totals.messages, prev.map(|t| t.messages)),
                    true,
                )
                .field(
                    "Attachments",
                    frame.figure(content.attachments, prev_content.map(|c| c.attachments)),
                    true,
                )
                .field(
                    "Embeds",
                    frame.figure(content.embeds, prev_content.map(|c| c.embeds)),
                    true,
                )
                .field(
                    "Stickers",
                    frame.figure(content.stickers, prev_content.map(|c| c.stickers)),
                    true,
                )
                .field(
                    "In threads",
                    frame.figure(
                        content.thread_messages,
                        prev_content.map(|c| c.thread_messages),
                    ),
                    true,
                );
            embed = embed.field("Note", CONTENT_NOTE, false);
            (series_of(&hours, |h| h.messages), int)
        }
        ActivityKind::Voice => {
            let voice = analytics::voice_hours(pool, g, p.from, p.to, None).await?;
            let total: i64 = voice.iter().map(|v| v.1).sum();
            let prev_total = match frame.previous {
                Some(q) => Some(
                    analytics::voice_hours(pool, g, q.from, q.to, None)
                        .await?
                        .iter()
                        .map(|v| v.1)
                        .sum(),
                ),
                None => None,
            };
            embed = embed.field(
                "Voice time",
                frame.figure_with(total, prev_total, duration),
                true,
            );
            (voice, duration)
        }
        ActivityKind::Reactions => {
            embed = embed
                .field(
                    "Reactions added",
                    frame.figure(totals.reactions_added, prev.map(|t| t.reactions_added)),
                    true,
                )
                .field(
                    "Reactions removed",
                    frame.figure(totals.reactions_removed, prev.map(|t| t.reactions_removed)),
                    true,
                );
            (series_of(&hours, |h| h.reactions_added), int)
        }
        ActivityKind::Threads => {
            embed = embed
                .field(
                    "Threads created",
                    frame.figure(totals.threads_created, prev.map(|t| t.threads_created)),
                    true,
                )
                .field(
                    "Thread messages",
                    frame.figure(
                        content.thread_messages,
                        prev_content.map(|c| c.thread_messages),
                    ),
                    true,
                );
            (series_of(&hours, |h| h.threads_created), int)
        }
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
    let png = chart(
        "heatmap.png",
        charts::heatmap(
            &format!("{} by weekday and hour ({})", kind.key(), frame.tz.name()),
            &cells,
        ),
    )?;
    Ok(Message {
        embeds: vec![embed.image("heatmap.png")],
        files: vec![png],
        ..Message::default()
    })
}

fn channel_name(id: Snowflake, name: &Option<String>) -> String {
    match name {
        Some(n) if !n.is_empty() => format!("#{n}"),
        _ => format!("<#{id}>"),
    }
}

async fn channels(ctx: &Ctx, frame: &Frame, kind: ChannelKind) -> Outcome<Message> {
    let pool = &ctx.state.pool;
    let (g, p) = (ctx.guild_id, frame.period);
    let mut embed = Embed::new(format!("Channels · {} · {}", kind.key(), frame.label));
    let mut bars: Vec<(String, f64)> = Vec::new();
    let lines: Vec<String> = match kind {
        ChannelKind::Voice => {
            let usage = analytics::voice_usage(pool, g, p.from, p.to).await?;
            usage
                .iter()
                .take(15)
                .map(|v| {
                    bars.push((
                        channel_name(v.channel_id, &v.name),
                        v.seconds as f64 / 3600.0,
                    ));
                    let peak = v
                        .peak_hour
                        .map_or_else(String::new, |h| format!(" at {}", local_time(h, frame.tz)));
                    format!(
                        "{} — {} · peak {} at once{peak}",
                        channel_name(v.channel_id, &v.name),
                        duration(v.seconds),
                        v.peak_concurrent
                    )
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
            usage
                .iter()
                .take(15)
                .map(|c| {
                    bars.push((
                        channel_name(c.channel_id, &c.name),
                        c.thread_messages as f64,
                    ));
                    format!(
                        "{} — {} thread messages · {} threads created",
                        channel_name(c.channel_id, &c.name),
                        int(c.thread_messages),
                        int(c.threads_created)
                    )
                })
                .collect()
        }
        ChannelKind::Text | ChannelKind::Forum => {
            let mut usage = analytics::channel_usage(pool, g, p.from, p.to).await?;
            usage.retain(|c| c.messages > 0);
            if kind == ChannelKind::Forum {
                usage.retain(|c| c.kind == Some(15));
            } else {
                usage.retain(|c| c.kind != Some(15));
            }
            let total: i64 = usage.iter().map(|c| c.messages).sum();
            embed = embed
                .field(
                    "Messages in these channels",
                    format!("**{}**", int(total)),
                    true,
                )
                .field("Note", CONTENT_NOTE, false);
            usage
                .iter()
                .take(15)
                .map(|c| {
                    bars.push((channel_name(c.channel_id, &c.name), c.messages as f64));
                    format!(
                        "{} — {} messages · {} attachments · {} embeds · {} stickers",
                        channel_name(c.channel_id, &c.name),
                        int(c.messages),
                        int(c.attachments),
                        int(c.embeds),
                        int(c.stickers)
                    )
                })
                .collect()
        }
    };
    if lines.is_empty() {
        embed = embed.describe("No activity in channels of this kind in this timeframe.");
        return Ok(Message {
            embeds: vec![embed],
            ..Message::default()
        });
    }
    embed = embed.describe(lines.join("\n"));
    bars.truncate(10);
    let unit = if kind == ChannelKind::Voice {
        "hours"
    } else {
        "messages"
    };
    let png = chart(
        "channels.png",
        charts::bar_chart(
            &format!("{unit} per channel · {}", frame.label),
            &bars,
            charts::BLURPLE,
        ),
    )?;
    Ok(Message {
        embeds: vec![embed.image("channels.png")],
        files: vec![png],
        ..Message::default()
    })
}

/// Daily values of a trend metric over a period; members are the running
/// member count (ending at the count at the period's end).
async fn metric_days(
    ctx: &Ctx,
    frame: &Frame,
    period: Period,
    metric: TrendMetric,
) -> Outcome<Vec<(NaiveDate, Option<i64>)>> {
    let pool = &ctx.state.pool;
    let g = ctx.guild_id;
    let hours = analytics::guild_hours(pool, g, period.from, period.to).await?;
    let sub = Frame {
        period,
        gaps: frame.gaps.clone(),
        label: String::new(),
        ..*frame
    };
    Ok(match metric {
        TrendMetric::Messages => sub.daily(&series_of(&hours, |h| h.messages)),
        TrendMetric::Reactions => sub.daily(&series_of(&hours, |h| h.reactions_added)),
        TrendMetric::Voice => {
            let voice = analytics::voice_hours(pool, g, period.from, period.to, None).await?;
            sub.daily(&voice)
        }
        TrendMetric::Members => {
            let net = sub.daily(&series_of(&hours, |h| h.joins - h.leaves));
            let membership = analytics::membership(pool, g, period.from, period.to).await?;
            let end = membership.members_at_end().unwrap_or(0);
            let total_net: i64 = net.iter().map(|(_, v)| v.unwrap_or(0)).sum();
            let mut running = end - total_net;
            net.into_iter()
                .map(|(d, v)| {
                    running += v.unwrap_or(0);
                    (d, v.map(|_| running))
                })
                .collect()
        }
    })
}

fn metric_show(metric: TrendMetric) -> fn(i64) -> String {
    if metric == TrendMetric::Voice {
        duration
    } else {
        int
    }
}

async fn trends(ctx: &Ctx, frame: &Frame, metric: TrendMetric) -> Outcome<Message> {
    let days = metric_days(ctx, frame, frame.period, metric).await?;
    let show = metric_show(metric);
    // The fit uses whole local days with data: a partial first or last day
    // would read as a drop.
    let observed: Vec<f64> = days
        .iter()
        .filter(|(day, _)| frame.full_day(*day))
        .filter_map(|(_, v)| v.map(|v| v as f64))
        .collect();
    let mut embed = Embed::new(format!("Trends · {} · {}", metric.key(), frame.label));
    // Weekly cycle: mean per local weekday.
    let mut sums = [(0i64, 0i64); 7];
    for (day, value) in &days {
        if let Some(v) = value {
            let w = day.weekday().num_days_from_monday() as usize;
            sums[w].0 += v;
            sums[w].1 += 1;
        }
    }
    let cycle: Vec<String> = sums
        .iter()
        .enumerate()
        .filter(|(_, (_, n))| *n > 0)
        .map(|(w, (s, n))| format!("{} {}", WEEKDAYS[w], show(s / n)))
        .collect();
    let half = observed.len() / 2;
    let growth = if metric == TrendMetric::Members {
        match (observed.first(), observed.last()) {
            (Some(a), Some(b)) => format!(
                "{} → {} ({})",
                int(*a as i64),
                int(*b as i64),
                change(*b, *a)
            ),
            _ => "–".into(),
        }
    } else if half > 0 {
        let first: f64 = observed[..half].iter().sum();
        let second: f64 = observed[observed.len() - half..].iter().sum();
        format!("second half against first half: {}", change(second, first))
    } else {
        "–".into()
    };
    let horizon = (frame.period.days().round() as usize).clamp(1, 30);
    let forecast = period::forecast(&observed, horizon);
    embed = embed.field("Growth", growth, false).field(
        "Weekly cycle (mean per day)",
        if cycle.is_empty() {
            "–".into()
        } else {
            cycle.join(" · ")
        },
        false,
    );
    embed = match &forecast {
        Some(f) if metric == TrendMetric::Members => embed.field(
            format!("Forecast, next {horizon} days"),
            format!(
                "about **{}** members at the end (95% band {} – {}); trend {:+.1} per day.\nMethod: least-squares line through the daily values; band ±1.96 residual standard deviations.",
                int(f.daily.last().map_or(0.0, |d| d.0).round() as i64),
                int(f.daily.last().map_or(0.0, |d| d.1).round() as i64),
                int(f.daily.last().map_or(0.0, |d| d.2).round() as i64),
                f.slope_per_day
            ),
            false,
        ),
        Some(f) => embed.field(
            format!("Forecast, next {horizon} days"),
            format!(
                "about **{}** (95% band {} – {}); trend {:+.1} per day.\nMethod: least-squares line through the daily totals; band ±1.96·s·√days from the residuals.",
                show(f.total.round() as i64),
                show(f.low.round() as i64),
                show(f.high.round() as i64),
                f.slope_per_day
            ),
            false,
        ),
        None => embed.field("Forecast", "Needs at least 3 days of data; choose a longer timeframe.", false),
    };
    embed = embed.describe(format!("**Per day**\n{}", frame.daily_lines(&days, show)));
    // Voice is charted in hours, everything else as counted.
    let (scale, unit) = if metric == TrendMetric::Voice {
        (3600.0, "voice hours")
    } else {
        (1.0, metric.key())
    };
    let band = forecast.map(|f| Band {
        name: "forecast (95% band)".into(),
        values: f
            .daily
            .iter()
            .map(|(y, low, high)| (y / scale, low / scale, high / scale))
            .collect(),
    });
    let mut line = as_series(unit, &days, charts::BLURPLE);
    for value in line.values.iter_mut().flatten() {
        *value /= scale;
    }
    let png = chart(
        "trend.png",
        charts::line_chart(
            &format!("{unit} per day with forecast"),
            &day_labels(&days),
            &[line],
            &frame.gap_flags(&days),
            band.as_ref(),
        ),
    )?;
    Ok(Message {
        embeds: vec![embed.image("trend.png")],
        files: vec![png],
        ..Message::default()
    })
}

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

async fn member(ctx: &Ctx, frame: &Frame, user: Snowflake) -> Outcome<Message> {
    let pool = &ctx.state.pool;
    let (g, p) = (ctx.guild_id, frame.period);
    let hours = analytics::message_hours(pool, g, p.from, p.to, Some(user), None).await?;
    let messages: i64 = hours.iter().map(|h| h.1).sum();
    let interactions = analytics::member_interactions(pool, g, p.from, p.to, user).await?;
    let rank = analytics::member_rank(pool, g, p.from, p.to, user).await?;
    let channels = analytics::member_channels(pool, g, p.from, p.to, user).await?;
    let (prev_messages, prev_interactions) = match frame.previous {
        Some(q) => (
            Some(
                analytics::message_hours(pool, g, q.from, q.to, Some(user), None)
                    .await?
                    .iter()
                    .map(|h| h.1)
                    .sum::<i64>(),
            ),
            Some(analytics::member_interactions(pool, g, q.from, q.to, user).await?),
        ),
        None => (None, None),
    };
    let score = activity_score(
        messages,
        interactions.reactions_given,
        interactions.reactions_received,
        interactions.voice_seconds,
    );
    let prev_score = prev_messages
        .zip(prev_interactions)
        .map(|(m, i)| activity_score(m, i.reactions_given, i.reactions_received, i.voice_seconds));
    let local_hours = period::per_local_hour(&hours, frame.tz);
    let mut top_hours: Vec<(usize, i64)> = local_hours
        .iter()
        .copied()
        .enumerate()
        .filter(|h| h.1 > 0)
        .collect();
    top_hours.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let favourite: Vec<String> = channels
        .iter()
        .take(3)
        .map(|c| {
            format!(
                "{} ({})",
                channel_name(c.channel_id, &c.name),
                int(c.messages)
            )
        })
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
        )
        .field(
            "Reactions given",
            frame.figure(
                interactions.reactions_given,
                prev_interactions.map(|i| i.reactions_given),
            ),
            true,
        )
        .field(
            "Reactions received",
            frame.figure(
                interactions.reactions_received,
                prev_interactions.map(|i| i.reactions_received),
            ),
            true,
        )
        .field(
            "Activity score",
            match prev_score {
                Some(prev) => format!("**{score:.1}** {}", change(score, prev)),
                None => format!("**{score:.1}**"),
            },
            true,
        )
        .field(
            "Favourite channels",
            if favourite.is_empty() {
                "–".into()
            } else {
                favourite.join("\n")
            },
            false,
        )
        .field(
            "Most active hours",
            if top_hours.is_empty() {
                "–".into()
            } else {
                top_hours
                    .iter()
                    .take(3)
                    .map(|(h, n)| format!("{h:02}:00 ({})", int(*n)))
                    .collect::<Vec<_>>()
                    .join(" · ")
            },
            false,
        );
    let days = frame.daily(&hours);
    let png = chart(
        "member.png",
        charts::line_chart(
            "Messages per day",
            &day_labels(&days),
            &[as_series("messages", &days, charts::BLURPLE)],
            &frame.gap_flags(&days),
            None,
        ),
    )?;
    Ok(Message {
        embeds: vec![embed.image("member.png")],
        files: vec![png],
        ..Message::default()
    })
}

async fn channel_report(
    ctx: &Ctx,
    frame: &Frame,
    channel: Snowflake,
    metric: ChannelMetric,
) -> Outcome<Message> {
    let pool = &ctx.state.pool;
    let (g, p) = (ctx.guild_id, frame.period);
    let name = analytics::channel_info(pool, g, channel)
        .await?
        .map_or_else(|| ctx.channel_label(channel), |(n, _)| format!("#{n}"));
    let mut embed = Embed::new(format!("Channel activity · {name} · {}", frame.label));
    let (rows, show): (HourValues, Show) = match metric {
        ChannelMetric::Messages => {
            let rows = analytics::message_hours(pool, g, p.from, p.to, None, Some(channel)).await?;
            let total: i64 = rows.iter().map(|r| r.1).sum();
            let prev = match frame.previous {
                Some(q) => Some(
                    analytics::message_hours(pool, g, q.from, q.to, None, Some(channel))
                        .await?
                        .iter()
                        .map(|r| r.1)
                        .sum(),
                ),
                None => None,
            };
            let top = analytics::leaderboard(
                pool,
                g,
                p.from,
                p.to,
                LeaderboardQuery {
                    metric: LeaderboardMetric::Messages,
                    channel: Some(channel),
                    limit: 5,
                    offset: 0,
                },
            )
            .await?;
            embed = embed
                .field(
                    "Messages (threads included)",
                    frame.figure(total, prev),
                    true,
                )
                .field("Top members", ranking_lines(&top.rows, 0, int), false);
            (rows, int)
        }
        ChannelMetric::Voice => {
            let rows = analytics::voice_hours(pool, g, p.from, p.to, Some(channel)).await?;
            let total: i64 = rows.iter().map(|r| r.1).sum();
            let prev = match frame.previous {
                Some(q) => Some(
                    analytics::voice_hours(pool, g, q.from, q.to, Some(channel))
                        .await?
                        .iter()
                        .map(|r| r.1)
                        .sum(),
                ),
                None => None,
            };
            let usage = analytics::voice_usage(pool, g, p.from, p.to).await?;
            let peak = usage.iter().find(|u| u.channel_id == channel);
            embed = embed
                .field("Voice time", frame.figure_with(total, prev, duration), true)
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
    };
    let cells = period::heatmap(&rows, frame.tz);
    let days = frame.daily(&rows);
    embed = embed
        .field("Peak hour", peak_text(&cells, show), true)
        .describe(format!("**Per day**\n{}", frame.daily_lines(&days, show)));
    let png = chart(
        "channel.png",
        charts::heatmap(
            &format!("{name} by weekday and hour ({})", frame.tz.name()),
            &cells,
        ),
    )?;
    Ok(Message {
        embeds: vec![embed.image("channel.png")],
        files: vec![png],
        ..Message::default()
    })
}

async fn channel_total(
    ctx: &Ctx,
    period: Period,
    channel: Snowflake,
    metric: TrendMetric,
) -> Outcome<i64> {
    let pool = &ctx.state.pool;
    let g = ctx.guild_id;
    Ok(match metric {
        TrendMetric::Voice => {
            analytics::voice_hours(pool, g, period.from, period.to, Some(channel))
                .await?
                .iter()
                .map(|r| r.1)
                .sum()
        }
        TrendMetric::Reactions => analytics::leaderboard(
            pool,
            g,
            period.from,
            period.to,
            LeaderboardQuery {
                metric: LeaderboardMetric::ReactionsGiven,
                channel: Some(channel),
                limit: i64::MAX,
                offset: 0,
            },
        )
        .await?
        .rows
        .iter()
        .map(|r| r.value)
        .sum(),
        TrendMetric::Messages | TrendMetric::Members => {
            analytics::message_hours(pool, g, period.from, period.to, None, Some(channel))
                .await?
                .iter()
                .map(|r| r.1)
                .sum()
        }
    })
}

async fn comparative(
    ctx: &Ctx,
    frame: &Frame,
    metric: TrendMetric,
    first: Option<Snowflake>,
    second: Option<Snowflake>,
) -> Outcome<Message> {
    let show = metric_show(metric);
    if let (Some(a), Some(b)) = (first, second) {
        let metric = if metric == TrendMetric::Members {
            TrendMetric::Messages
        } else {
            metric
        };
        let (va, vb) = (
            channel_total(ctx, frame.period, a, metric).await?,
            channel_total(ctx, frame.period, b, metric).await?,
        );
        let embed = Embed::new(format!("Comparison · {} · {}", metric.key(), frame.label))
            .field(ctx.channel_label(a), format!("**{}**", show(va)), true)
            .field(ctx.channel_label(b), format!("**{}**", show(vb)), true)
            .field(
                "Difference",
                format!(
                    "{} against {}",
                    change(va as f64, vb as f64),
                    ctx.channel_label(b)
                ),
                false,
            )
            .field("Share", progress_bar(va as f64, (va + vb) as f64), false);
        let png = chart(
            "comparison.png",
            charts::bar_chart(
                &format!("{} · {}", metric.key(), frame.label),
                &[
                    (ctx.channel_label(a), va as f64),
                    (ctx.channel_label(b), vb as f64),
                ],
                charts::BLURPLE,
            ),
        )?;
        return Ok(Message {
            embeds: vec![embed.image("comparison.png")],
            files: vec![png],
            ..Message::default()
        });
    }
    let Some(previous) = frame.previous else {
        return Err(Failure::user(
            "All time has no previous period to compare with. Pick 24h, 7d, 30d, 90d or custom, or two channels.",
        ));
    };
    let current = metric_days(ctx, frame, frame.period, metric).await?;
    let before = metric_days(ctx, frame, previous, metric).await?;
    let sum = |days: &[(NaiveDate, Option<i64>)]| -> i64 {
        if metric == TrendMetric::Members {
            days.iter().rev().find_map(|d| d.1).unwrap_or(0)
        } else {
            days.iter().filter_map(|d| d.1).sum()
        }
    };
    let (now_total, before_total) = (sum(&current), sum(&before));
    let label = if metric == TrendMetric::Members {
        "Members at the end"
    } else {
        "Total"
    };
    let embed = Embed::new(format!(
        "This period against the previous · {} · {}",
        metric.key(),
        frame.label
    ))
    .field(
        format!("{label}, this period"),
        format!("**{}**", show(now_total)),
        true,
    )
    .field(
        format!("{label}, previous period"),
        format!("**{}**", show(before_total)),
        true,
    )
    .field(
        "Change",
        change(now_total as f64, before_total as f64),
        true,
    );
    let labels: Vec<String> = (1..=current.len()).map(|d| format!("day {d}")).collect();
    let png = chart(
        "comparison.png",
        charts::line_chart(
            &format!("{} per day: this period and the previous", metric.key()),
            &labels,
            &[
                as_series("this period", &current, charts::BLURPLE),
                as_series("previous period", &before, charts::GREEN),
            ],
            &frame.gap_flags(&current),
            None,
        ),
    )?;
    Ok(Message {
        embeds: vec![embed.image("comparison.png")],
        files: vec![png],
        ..Message::default()
    })
}

async fn top_messagers(ctx: &Ctx, frame: &Frame) -> Outcome<Message> {
    let p = frame.period;
    let page = analytics::leaderboard(
        &ctx.state.pool,
        ctx.guild_id,
        p.from,
        p.to,
        LeaderboardQuery {
            metric: LeaderboardMetric::Messages,
            channel: None,
            limit: 10,
            offset: 0,
        },
    )
    .await?;
    let embed = Embed::new(format!("Top messagers · {}", frame.label))
        .describe(ranking_lines(&page.rows, 0, int));
    Ok(Message {
        embeds: vec![embed],
        ..Message::default()
    })
}

async fn leaderboard(
    ctx: &Ctx,
    frame: &Frame,
    channel: Option<Snowflake>,
    metric: BoardMetric,
    page: i64,
) -> Outcome<Message> {
    let p = frame.period;
    let page = page.max(0);
    let rows = analytics::leaderboard(
        &ctx.state.pool,
        ctx.guild_id,
        p.from,
        p.to,
        LeaderboardQuery {
            metric: metric.metric(),
            channel,
            limit: PAGE_SIZE,
            offset: page * PAGE_SIZE,
        },
    )
    .await?;
    let pages = ((rows.total + PAGE_SIZE - 1) / PAGE_SIZE).max(1);
    let show = if metric == BoardMetric::Voice {
        duration
    } else {
        int
    };
    let scope = channel.map_or_else(String::new, |c| format!(" · {}", ctx.channel_label(c)));
    let embed = Embed::new(format!(
        "Leaderboard · {}{scope} · {}",
        metric.key(),
        frame.label
    ))
    .describe(ranking_lines(&rows.rows, page * PAGE_SIZE, show))
    .field("Page", format!("{} of {pages}", page + 1), true);
    let nav = |target: i64, label: &str, disabled: bool| {
        reply::button(
            label,
            Request {
                view: View::Leaderboard(channel, metric, target),
                timeframe: frame.request.timeframe,
            }
            .custom_id(),
            2,
            disabled,
        )
    };
    let paging = reply::row(vec![
        nav((page - 1).max(0), "◀ Previous", page == 0),
        nav(page + 1, "Next ▶", page + 1 >= pages),
    ]);
    Ok(Message {
        embeds: vec![embed],
        components: vec![paging],
        ..Message::default()
    })
}
