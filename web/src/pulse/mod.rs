//! The Pulse Report: a written summary of the last seven local days, from
//! the same queries as the commands (no message content exists to use).
//! [`PulseFigures::load`] reads the figures; [`builtin::write`] turns them
//! into text by fixed rules; [`message`] shows text and figures together.

pub mod builtin;
pub mod keys;
pub mod prompt;
pub mod providers;
pub mod weekly;
pub mod writer;

use chrono::{DateTime, Datelike, Duration, Timelike, Utc, Weekday};
use chrono_tz::Tz;
use shared::Snowflake;
use shared::alerts::Incident;
use shared::db::DbError;
use shared::db::analytics::{self, Bots, JoinCohort, LeaderboardMetric, LeaderboardQuery, Ranked};
use sqlx::{PgConnection, PgPool};

use crate::honest::{self, Comparison};
use crate::period::{Period, local_midnight};
use crate::reply::{Embed, Message, duration, int};

/// Days a report covers.
pub const DAYS: i64 = 7;
/// Weeks of the baseline before the reported week.
pub const BASELINE_WEEKS: i64 = 4;

/// One period's headline figures (bots and webhooks counted as the
/// guild's `count_bots` says, as in `/serverstats overview`).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Metrics {
    pub messages: f64,
    pub active_members: f64,
    pub voice_hours: f64,
    pub reactions: f64,
    pub joins: f64,
    pub leaves: f64,
}

impl Metrics {
    /// `(label, value)` in the order reports list them.
    pub fn named(&self) -> [(&'static str, f64); 6] {
        [
            ("messages", self.messages),
            ("active members", self.active_members),
            ("voice hours", self.voice_hours),
            ("reactions", self.reactions),
            ("joins", self.joins),
            ("leaves", self.leaves),
        ]
    }
}

/// A top-level channel's member messages in the week and the week before.
#[derive(Debug, Clone, PartialEq)]
pub struct ChannelChange {
    pub channel_id: Snowflake,
    pub name: Option<String>,
    pub now: i64,
    pub before: i64,
}

/// Everything a Pulse Report says.
#[derive(Debug, Clone, PartialEq)]
pub struct PulseFigures {
    pub guild_id: Snowflake,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub tz: Tz,
    pub week: Metrics,
    pub previous: Metrics,
    /// Whether the week is compared with the week before: not when that
    /// week lies (partly) before tracking began or the retention horizon.
    pub comparison: Comparison,
    /// The mean of the [`BASELINE_WEEKS`] weeks before the reported week,
    /// over those wholly tracked with any data recorded; `None` when none
    /// is.
    pub baseline: Option<Metrics>,
    pub baseline_weeks: u32,
    /// Every channel with member messages in either week, busiest now first.
    pub channels: Vec<ChannelChange>,
    /// The week's top members by messages (at most 3).
    pub top_members: Vec<Ranked>,
    /// The busiest local weekday and hour of the week, with its messages.
    pub peak: Option<(Weekday, u32, i64)>,
    /// The week's joins (people) and how they fared.
    pub cohort: JoinCohort,
    /// Alert incidents that started in the week, oldest first.
    pub incidents: Vec<Incident>,
    /// Hours of the week in which the ingester knows events were lost.
    pub gaps: usize,
    /// Whether bots and webhooks count in the figures (`count_bots`).
    pub bots: Bots,
    /// When imported history ends, if the week, the week before or the
    /// baseline's weeks reach into it (see [`crate::imported`]).
    pub imported_until: Option<DateTime<Utc>>,
}

/// The reported week for `now`: the seven local days before today.
pub fn week_of(now: DateTime<Utc>, tz: Tz) -> (DateTime<Utc>, DateTime<Utc>) {
    let today = now.with_timezone(&tz).date_naive();
    let start = today - Duration::days(DAYS);
    (local_midnight(start, tz), local_midnight(today, tz))
}

async fn metrics(
    conn: &mut PgConnection,
    guild: Snowflake,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    bots: Bots,
) -> Result<(Metrics, i64), DbError> {
    let totals = analytics::guild_totals(&mut *conn, guild, from, to, bots).await?;
    let active = analytics::active_members(&mut *conn, guild, from, to, bots).await?;
    Ok((
        Metrics {
            messages: totals.messages as f64,
            active_members: active as f64,
            voice_hours: totals.voice_seconds as f64 / 3600.0,
            reactions: totals.reactions_added as f64,
            joins: totals.joins as f64,
            leaves: totals.leaves as f64,
        },
        totals.hours_with_data,
    ))
}

impl PulseFigures {
    /// Member messages of the week: the whole of which the top members'
    /// share is taken.
    pub fn ranked_total(&self) -> i64 {
        self.week.messages as i64
    }

    /// The figures of the seven local days before `now`'s day.
    pub async fn load(
        pool: &PgPool,
        guild_id: Snowflake,
        tz: Tz,
        now: DateTime<Utc>,
    ) -> Result<Self, DbError> {
        let (from, to) = week_of(now, tz);
        let mut conn = pool.acquire().await?;
        Self::load_period(&mut conn, guild_id, tz, from, to, now).await
    }

    /// The figures of the week `[from, to)` (seven local days) as of `now`.
    pub async fn load_period(
        conn: &mut PgConnection,
        guild_id: Snowflake,
        tz: Tz,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Self, DbError> {
        let week_before = |k: i64| {
            let to_day = to.with_timezone(&tz).date_naive() - Duration::days(DAYS * k);
            (
                local_midnight(to_day - Duration::days(DAYS), tz),
                local_midnight(to_day, tz),
            )
        };
        let settings = shared::db::settings::load(&mut *conn, guild_id).await?;
        let bots = Bots::from_setting(settings.count_bots);
        let (week, _) = metrics(conn, guild_id, from, to, bots).await?;
        let (p_from, p_to) = week_before(1);
        let (previous, previous_hours) = metrics(conn, guild_id, p_from, p_to, bots).await?;
        let first = analytics::first_hour(&mut *conn, guild_id).await?;
        let removed_before = shared::db::retention::removed_before(&mut *conn, guild_id).await?;
        let since = honest::data_since(settings.tracking_since, first, removed_before);
        let compare = |from, to| Comparison::of(Period { from, to }, since);
        let comparison = compare(p_from, p_to);
        let mut sum = Metrics::default();
        let mut weeks = 0u32;
        // Weeks wholly tracked only: a week that began before tracking did
        // would pull the mean down with hours nobody recorded.
        for k in 1..=BASELINE_WEEKS {
            let (b_from, b_to) = week_before(k);
            if !compare(b_from, b_to).is_full() {
                continue;
            }
            // The first is the week before, read above.
            let (m, hours) = if k == 1 {
                (previous, previous_hours)
            } else {
                metrics(conn, guild_id, b_from, b_to, bots).await?
            };
            if hours > 0 {
                weeks += 1;
                sum.messages += m.messages;
                sum.active_members += m.active_members;
                sum.voice_hours += m.voice_hours;
                sum.reactions += m.reactions;
                sum.joins += m.joins;
                sum.leaves += m.leaves;
            }
        }
        let baseline = (weeks > 0).then(|| {
            let n = f64::from(weeks);
            Metrics {
                messages: sum.messages / n,
                active_members: sum.active_members / n,
                voice_hours: sum.voice_hours / n,
                reactions: sum.reactions / n,
                joins: sum.joins / n,
                leaves: sum.leaves / n,
            }
        });

        let now_usage = analytics::channel_usage(&mut *conn, guild_id, from, to, bots).await?;
        let before_usage =
            analytics::channel_usage(&mut *conn, guild_id, p_from, p_to, bots).await?;
        let mut channels: Vec<ChannelChange> = now_usage
            .iter()
            .map(|c| ChannelChange {
                channel_id: c.channel_id,
                name: c.name.clone(),
                now: c.messages,
                before: before_usage
                    .iter()
                    .find(|b| b.channel_id == c.channel_id)
                    .map_or(0, |b| b.messages),
            })
            .collect();
        for b in &before_usage {
            if !channels.iter().any(|c| c.channel_id == b.channel_id) {
                channels.push(ChannelChange {
                    channel_id: b.channel_id,
                    name: b.name.clone(),
                    now: 0,
                    before: b.messages,
                });
            }
        }
        channels.retain(|c| c.now > 0 || c.before > 0);

        let board = analytics::leaderboard(
            &mut *conn,
            guild_id,
            from,
            to,
            LeaderboardQuery {
                metric: LeaderboardMetric::Messages,
                channel: None,
                limit: 3,
                offset: 0,
            },
            bots,
        )
        .await?;

        let hours = analytics::guild_hours(&mut *conn, guild_id, from, to, bots).await?;
        let mut cells: std::collections::BTreeMap<(u32, u32), i64> = Default::default();
        for h in &hours {
            let local = h.hour.with_timezone(&tz);
            *cells
                .entry((local.weekday().num_days_from_monday(), local.hour()))
                .or_default() += h.messages;
        }
        let peak = cells
            .iter()
            .filter(|(_, m)| **m > 0)
            .max_by_key(|((d, h), m)| (**m, std::cmp::Reverse((*d, *h))))
            .map(|((d, h), m)| {
                let day = Weekday::try_from(*d as u8).unwrap_or(Weekday::Mon);
                (day, *h, *m)
            });

        let imported_until =
            crate::imported::until_within(&mut *conn, guild_id, week_before(BASELINE_WEEKS).0, to)
                .await?;
        let cohort = analytics::join_cohort(&mut *conn, guild_id, from, to, now, bots).await?;
        let mut incidents: Vec<Incident> =
            shared::db::alerts::recent_incidents(&mut *conn, guild_id, None, 200)
                .await?
                .into_iter()
                .filter(|i| i.started_at >= from && i.started_at < to)
                .collect();
        incidents.reverse();
        let gaps = shared::db::ingest::gaps(&mut *conn, guild_id, from, to)
            .await?
            .len();
        Ok(Self {
            bots,
            guild_id,
            from,
            to,
            tz,
            week,
            previous,
            comparison,
            baseline,
            baseline_weeks: weeks,
            channels,
            top_members: board.rows,
            peak,
            cohort,
            incidents,
            gaps,
            imported_until,
        })
    }
}

/// `#name` of a channel (escaped), or its mention when the name is unknown.
pub fn channel_name(c: &ChannelChange) -> String {
    match &c.name {
        Some(name) if !name.is_empty() => format!("#{}", crate::reply::escape_markdown(name)),
        _ => format!("<#{}>", c.channel_id),
    }
}

/// The report as a message: the written sections, and beside them the
/// figures they were written from, read from our data.
pub fn message(figures: &PulseFigures, text: &builtin::PulseText) -> Message {
    let local = |t: DateTime<Utc>| t.with_timezone(&figures.tz).format("%a %-d %b").to_string();
    let last_day = figures.to - Duration::hours(12);
    let mut embed = Embed::new(format!(
        "Pulse Report: {} – {}",
        local(figures.from),
        local(last_day)
    ))
    .describe(text.to_markdown());
    let w = &figures.week;
    let p = &figures.previous;
    let fmt = |label: &str, now: f64, before: f64| {
        if label == "voice hours" {
            (
                duration((now * 3600.0) as i64),
                duration((before * 3600.0) as i64),
            )
        } else {
            (int(now as i64), int(before as i64))
        }
    };
    for ((label, now), (_, before)) in w.named().into_iter().zip(p.named()) {
        let (now_text, before_text) = fmt(label, now, before);
        let baseline = figures
            .baseline
            .map(|b| {
                let value = b
                    .named()
                    .into_iter()
                    .find(|(l, _)| *l == label)
                    .map_or(0.0, |(_, v)| v);
                let mean = if label == "voice hours" {
                    duration((value * 3600.0) as i64)
                } else {
                    builtin::decimal(value)
                };
                format!(", {}-week mean {mean}", figures.baseline_weeks)
            })
            .unwrap_or_default();
        let before_text = match figures.comparison.reason() {
            None => format!("week before {before_text}"),
            Some(reason) => format!("week before not compared: {reason}"),
        };
        embed = embed.field(
            capitalised(label),
            format!("{now_text} ({before_text}{baseline})"),
            true,
        );
    }
    if let Some(until) = figures.imported_until {
        embed = embed.field(
            crate::imported::TITLE,
            crate::imported::note(&crate::imported::discord_time(until)),
            false,
        );
    }
    Message {
        embeds: vec![embed.footer(format!(
            "Written by {}. Figures from ServerPulse's rollups; times in {}.",
            text.author,
            figures.tz.name()
        ))],
        ..Message::default()
    }
}

/// The embed of a stored report (`pulse_reports.shown`).
pub fn stored_embed(body: &serde_json::Value) -> Embed {
    let text = |key: &str| body[key].as_str().unwrap_or_default().to_owned();
    let mut embed = Embed::new(text("title")).describe(text("description"));
    for field in body["fields"].as_array().into_iter().flatten() {
        embed = embed.field(
            field[0].as_str().unwrap_or_default(),
            field[1].as_str().unwrap_or_default(),
            true,
        );
    }
    embed.footer(text("footer"))
}

/// What `pulse_reports.shown` holds of a report message: its embed.
pub fn body_of(message: &Message) -> serde_json::Value {
    let Some(embed) = message.embeds.first() else {
        return serde_json::json!({});
    };
    serde_json::json!({
        "title": embed.title,
        "description": embed.description,
        "fields": embed.fields.iter().map(|(n, v, _)| serde_json::json!([n, v])).collect::<Vec<_>>(),
        "footer": embed.footer,
    })
}

/// `label` with its first letter in upper case.
pub(crate) fn capitalised(label: &str) -> String {
    let mut chars = label.chars();
    chars.next().map_or_else(String::new, |c| {
        c.to_uppercase().collect::<String>() + chars.as_str()
    })
}
