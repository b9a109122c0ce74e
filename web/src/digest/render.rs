//! A digest's figures, read with the same `shared::db::analytics` queries
//! as `/serverstats overview` (so the two agree for the same range), and
//! the message they make.

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use shared::Snowflake;
use shared::bucketing::Bucketing;
use shared::db::DbError;
use shared::db::analytics::{
    self, Bots, ChannelUsage, GuildTotals, HourTotals, LeaderboardMetric, LeaderboardQuery, Ranked,
};
use shared::db::digest_settings::DigestFrequency;
use shared::db::digests::{self, EmojiUse};
use shared::time::Hour;
use sqlx::PgConnection;

use super::schedule::DigestPeriod;
use crate::charts::{self, Series};
use crate::discord::Attachment;
use crate::honest::{self, Comparison};
use crate::period::Period;
use crate::reply::{Embed, Message, duration, int};

/// How many members, channels and emoji a digest lists.
pub const TOP: i64 = 5;

/// Everything a digest shows.
#[derive(Debug, Clone, PartialEq)]
pub struct DigestFigures {
    pub period: DigestPeriod,
    /// The period before, for the comparisons.
    pub previous: DigestPeriod,
    /// Whether the figures are compared with the period before: not when
    /// it lies (partly) before tracking began or the retention horizon.
    pub comparison: Comparison,
    pub tz: Tz,
    /// Posted a while after its time (nothing ran then).
    pub late: bool,
    pub totals: GuildTotals,
    pub previous_totals: GuildTotals,
    pub active_members: i64,
    pub previous_active_members: i64,
    pub top_members: Vec<Ranked>,
    pub top_channels: Vec<ChannelUsage>,
    pub top_emoji: Vec<EmojiUse>,
    /// The period's hours with data (UTC), for the peak hour and the chart.
    pub hours: Vec<HourTotals>,
    /// When imported history ends, if the period (or the one compared
    /// with) reaches into it: the digest then says what history cannot tell.
    pub imported_until: Option<DateTime<Utc>>,
}

impl DigestFigures {
    /// Nothing at all happened in the period (an hourly digest of such an
    /// hour is skipped).
    pub fn is_empty(&self) -> bool {
        let t = &self.totals;
        t.all_messages
            + t.reactions_added
            + t.reactions_removed
            + t.voice_seconds
            + t.joins
            + t.leaves
            + t.deletions
            + t.threads_created
            == 0
    }

    /// The busiest hour by member messages (the earliest of equals).
    pub fn peak_hour(&self) -> Option<&HourTotals> {
        self.hours
            .iter()
            .filter(|h| h.messages > 0)
            .min_by_key(|h| (std::cmp::Reverse(h.messages), h.hour))
    }
}

/// Reads a guild's figures for `period` (and `previous`).
pub async fn gather(
    conn: &mut PgConnection,
    guild: Snowflake,
    period: DigestPeriod,
    previous: DigestPeriod,
    tz: Tz,
    late: bool,
    bots: Bots,
) -> Result<DigestFigures, DbError> {
    let (from, to) = (period.from, period.to);
    let settings = shared::db::settings::load(&mut *conn, guild).await?;
    let first = analytics::first_hour(&mut *conn, guild).await?;
    let removed_before = shared::db::retention::removed_before(&mut *conn, guild).await?;
    let comparison = Comparison::of(
        Period {
            from: previous.from,
            to: previous.to,
        },
        honest::data_since(settings.tracking_since, first, removed_before),
    );
    let totals = analytics::guild_totals(&mut *conn, guild, from, to, bots).await?;
    let previous_totals =
        analytics::guild_totals(&mut *conn, guild, previous.from, previous.to, bots).await?;
    let active_members = analytics::active_members(&mut *conn, guild, from, to, bots).await?;
    let previous_active_members =
        analytics::active_members(&mut *conn, guild, previous.from, previous.to, bots).await?;
    let top_members = analytics::leaderboard(
        &mut *conn,
        guild,
        from,
        to,
        LeaderboardQuery {
            metric: LeaderboardMetric::Messages,
            channel: None,
            limit: TOP,
            offset: 0,
        },
        bots,
    )
    .await?
    .rows;
    // Anyone who reads the update channel reads the digest: private
    // channels are left out of the list, as for a member without Manage
    // Server (totals still count them).
    let private = shared::db::catalogue::private_channels(&mut *conn, guild).await?;
    let mut top_channels = analytics::channel_usage(&mut *conn, guild, from, to, bots).await?;
    top_channels.retain(|c| c.messages > 0 && !private.contains(&c.channel_id));
    top_channels.truncate(TOP as usize);
    let top_emoji = digests::top_emoji(&mut *conn, guild, from, to, TOP, bots).await?;
    let hours = analytics::guild_hours(&mut *conn, guild, from, to, bots).await?;
    let imported_until =
        crate::imported::until_within(&mut *conn, guild, previous.from.min(from), to).await?;
    Ok(DigestFigures {
        period,
        previous,
        comparison,
        tz,
        late,
        totals,
        previous_totals,
        active_members,
        previous_active_members,
        top_members,
        top_channels,
        top_emoji,
        hours,
        imported_until,
    })
}

fn local(t: DateTime<Utc>, tz: Tz, format: &str) -> String {
    t.with_timezone(&tz).format(format).to_string()
}

/// `Sun 01:30–02:00`: the guild's bucket starting at `hour`, from its start
/// to its end in local time. A bucket is the local hour, or less where the
/// offset changes inside it (30 minutes at Lord Howe's DST changes).
fn peak_label(hour: DateTime<Utc>, tz: Tz) -> String {
    let end = Bucketing::new(tz).end(Hour::at(hour));
    format!(
        "{}–{}",
        local(hour, tz, "%a %H:%M"),
        local(end, tz, "%H:%M")
    )
}

/// `Daily digest · Sun 25 Oct 2026`, `Weekly digest · 19 Oct – 25 Oct 2026`,
/// `Hourly digest · Mon 26 Oct 14:00–15:00`.
pub fn title(period: &DigestPeriod, tz: Tz) -> String {
    let last_instant = period.to - Duration::seconds(1);
    match period.frequency {
        DigestFrequency::Hourly => format!(
            "Hourly digest · {}–{}",
            local(period.from, tz, "%a %-d %b %H:%M"),
            local(period.to, tz, "%H:%M")
        ),
        DigestFrequency::Daily => {
            format!("Daily digest · {}", local(period.from, tz, "%a %-d %b %Y"))
        }
        DigestFrequency::Weekly => format!(
            "Weekly digest · {} – {}",
            local(period.from, tz, "%a %-d %b"),
            local(last_instant, tz, "%a %-d %b %Y")
        ),
    }
}

/// The digest as a message: an embed with every figure and its change,
/// and for daily and weekly digests a chart of messages over the period.
/// Mentions are shown but never ping anyone.
pub fn message(figures: &DigestFigures, chart: Option<Attachment>) -> Message {
    let (t, p) = (&figures.totals, &figures.previous_totals);
    let tz = figures.tz;
    let figure = |current: i64, previous: i64, show: fn(i64) -> String| {
        figures.comparison.figure(current, previous, show)
    };
    let mut embed = Embed::new(title(&figures.period, tz))
        .field("Messages", figure(t.messages, p.messages, int), true)
        .field(
            "Voice time",
            figure(t.voice_seconds, p.voice_seconds, duration),
            true,
        )
        .field(
            "Reactions",
            figure(t.reactions_added, p.reactions_added, int),
            true,
        )
        .field("Joins", figure(t.joins, p.joins, int), true)
        .field("Leaves", figure(t.leaves, p.leaves, int), true)
        .field(
            "Net growth",
            figure(t.joins - t.leaves, p.joins - p.leaves, int),
            true,
        )
        .field(
            "Active members",
            figure(figures.active_members, figures.previous_active_members, int),
            true,
        )
        .field(
            "Threads created",
            figure(t.threads_created, p.threads_created, int),
            true,
        );
    if let Some(peak) = figures.peak_hour() {
        embed = embed.field(
            "Peak hour",
            format!(
                "{} · {} messages",
                peak_label(peak.hour, tz),
                int(peak.messages)
            ),
            true,
        );
    }
    if figures.period.frequency != DigestFrequency::Hourly || !figures.top_members.is_empty() {
        let members = figures
            .top_members
            .iter()
            .enumerate()
            .map(|(i, r)| format!("{}. <@{}> · {}", i + 1, r.user_id, int(r.value)))
            .collect::<Vec<_>>()
            .join("\n");
        embed = embed.field("Top members", or_none(members), false);
        let channels = figures
            .top_channels
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{}. <#{}> · {}", i + 1, c.channel_id, int(c.messages)))
            .collect::<Vec<_>>()
            .join("\n");
        embed = embed.field("Top channels", or_none(channels), false);
        let emoji = figures
            .top_emoji
            .iter()
            .map(|e| format!("{} {}", show_emoji(&e.emoji), int(e.added)))
            .collect::<Vec<_>>()
            .join(" · ");
        embed = embed.field("Most used emoji", or_none(emoji), false);
    }
    if let Some(until) = figures.imported_until {
        embed = embed.field(
            crate::imported::TITLE,
            crate::imported::note(&crate::imported::discord_time(until)),
            false,
        );
    }
    let mut footer = match figures.comparison.why_plain() {
        None => format!(
            "Compared with {} · times in {}",
            title(&figures.previous, tz)
                .split(" · ")
                .nth(1)
                .unwrap_or("the period before"),
            tz.name()
        ),
        Some(why) => format!(
            "Not compared with the period before: {why} · times in {}",
            tz.name()
        ),
    };
    if figures.late {
        footer = format!(
            "Posted late: due {} · {footer}",
            local(figures.period.scheduled_at, tz, "%a %-d %b %H:%M")
        );
    }
    embed = embed.footer(footer);
    let mut files = Vec::new();
    if let Some(chart) = chart {
        embed = embed.image(chart.filename.clone());
        files.push(chart);
    }
    Message {
        embeds: vec![embed],
        files,
        ..Message::default()
    }
}

fn or_none(text: String) -> String {
    if text.is_empty() {
        "None in this period".to_owned()
    } else {
        text
    }
}

/// A custom emoji stored as `name:id` shows as `<:name:id>`, as in the
/// emoji report.
fn show_emoji(emoji: &str) -> String {
    crate::report::emoji::shown(emoji)
}

/// The chart's file name.
pub const CHART_FILE: &str = "digest.png";

/// Messages per local hour (daily) or per local day (weekly); `None` for
/// hourly digests. In a preview (the period not over), the hour or day in
/// progress is drawn apart as "so far" and those still to come are blank,
/// not zeros. CPU-bound: call from `spawn_blocking`.
pub fn chart(figures: &DigestFigures) -> Option<Result<Attachment, charts::ChartError>> {
    let tz = figures.tz;
    let until = match figures.comparison {
        Comparison::SoFar { until } => Some(until),
        _ => None,
    };
    // (label, value, partial) per point; `start..end` is the point's span.
    let point = |label: String, start: DateTime<Utc>, end: DateTime<Utc>, value: i64| match until {
        Some(until) if start >= until => (label, None, None),
        Some(until) if until < end => (label, Some(value as f64), Some("so far".to_owned())),
        _ => (label, Some(value as f64), None),
    };
    let points: Vec<(String, Option<f64>, Option<String>)> = match figures.period.frequency {
        DigestFrequency::Hourly => return None,
        DigestFrequency::Daily => {
            let hours = (figures.period.to - figures.period.from).num_hours();
            (0..hours)
                .map(|i| {
                    let hour = figures.period.from + Duration::hours(i);
                    let value = figures
                        .hours
                        .iter()
                        .filter(|h| h.hour >= hour && h.hour < hour + Duration::hours(1))
                        .map(|h| h.messages)
                        .sum::<i64>();
                    point(
                        local(hour, tz, "%H:%M"),
                        hour,
                        hour + Duration::hours(1),
                        value,
                    )
                })
                .collect()
        }
        DigestFrequency::Weekly => {
            let rows: Vec<(DateTime<Utc>, i64)> =
                figures.hours.iter().map(|h| (h.hour, h.messages)).collect();
            let days = crate::period::per_local_day(&rows, tz);
            crate::period::local_days(
                Period {
                    from: figures.period.from,
                    to: figures.period.to,
                },
                tz,
            )
            .into_iter()
            .map(|day| {
                point(
                    day.format("%a %-d").to_string(),
                    crate::period::local_midnight(day, tz),
                    crate::period::local_midnight(day.succ_opt().unwrap_or(day), tz),
                    days.get(&day).copied().unwrap_or(0),
                )
            })
            .collect()
        }
    };
    let labels: Vec<String> = points.iter().map(|p| p.0.clone()).collect();
    let partial: Vec<Option<String>> = points.iter().map(|p| p.2.clone()).collect();
    let gaps = vec![false; labels.len()];
    let series = Series {
        name: "messages".to_owned(),
        values: points.iter().map(|p| p.1).collect(),
        color: charts::BLURPLE,
    };
    Some(
        charts::line_chart_partial(
            &title(&figures.period, tz),
            &labels,
            &[series],
            &gaps,
            &partial,
            None,
        )
        .render()
        .map(|bytes| Attachment {
            filename: CHART_FILE.to_owned(),
            bytes,
        }),
    )
}

#[cfg(test)]
mod peak_tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn the_peak_hour_label_ends_where_its_bucket_ends() {
        let utc = |d, h, m| Utc.with_ymd_and_hms(2026, 4, d, h, m, 0).unwrap();
        let berlin: Tz = "Europe/Berlin".parse().unwrap();
        assert_eq!(peak_label(utc(4, 14, 0), berlin), "Sat 16:00–17:00");
        let kolkata: Tz = "Asia/Kolkata".parse().unwrap();
        assert_eq!(peak_label(utc(4, 14, 30), kolkata), "Sat 20:00–21:00");
        // Lord Howe leaves DST at 02:00 (+11) on 5 April 2026, back to
        // 01:30 (+10:30): the half hour 01:30–02:00 is a bucket of its own
        // and its peak label says 30 minutes, not "01:30–02:30".
        let lord_howe: Tz = "Australia/Lord_Howe".parse().unwrap();
        assert_eq!(peak_label(utc(4, 15, 0), lord_howe), "Sun 01:30–02:00");
        assert_eq!(peak_label(utc(4, 15, 30), lord_howe), "Sun 02:00–03:00");
    }
}
