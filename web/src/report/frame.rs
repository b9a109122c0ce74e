//! A report's period made concrete (local days, the previous period, gaps)
//! and the pieces every view is built from: figures, day lists, charts.

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use shared::db::analytics::{Bots, HourTotals};
use shared::db::ingest::CoverageGap;
use shared::time::Timeframe;

use crate::charts::{self, Band, Chart, Series};
use crate::discord::Attachment;
use crate::error::{Failure, Outcome};
use crate::honest::Comparison;
use crate::period::{self, Period};
use crate::reply::{Embed, Message, int};
use crate::view::Request;

/// Values per UTC hour.
pub type HourValues = Vec<(DateTime<Utc>, i64)>;
/// Values per local day; `None` on days without data (a gap, or before
/// anything was recorded).
pub type Days = Vec<(NaiveDate, Option<i64>)>;
/// How a figure is written (`int` or `duration`).
pub type Show = fn(i64) -> String;

/// A named figure picked from a period's values.
pub type Figure<T> = (&'static str, fn(&T) -> i64);

pub const WEEKDAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

/// A day that a gap (lost events) touches.
pub const GAP_DAY: &str = "gap (events lost)";
/// A day that ended before anything was recorded.
pub const UNRECORDED_DAY: &str = "nothing recorded yet";

/// Everything a view needs to know about its period.
#[derive(Clone)]
pub struct Frame {
    pub request: Request,
    pub period: Period,
    /// The previous period, when its figures are compared with this one's
    /// (see `comparison`); `None` otherwise and for "all time".
    pub previous: Option<Period>,
    /// Whether figures are compared with the previous period, and why not
    /// ([`Comparison`]); `None` for "all time" (nothing before it).
    pub comparison: Option<Comparison>,
    /// When the report is made: the day or hour holding it is not over.
    pub now: DateTime<Utc>,
    /// The period ends at this last complete bucket, before `now`, so it
    /// compares like with like (see `honest::compared_spans`).
    pub complete_to: Option<DateTime<Utc>>,
    pub tz: Tz,
    pub gaps: Vec<CoverageGap>,
    pub label: String,
    /// The first hour anything was recorded: days before it have no data
    /// (not zero).
    pub first_data: Option<DateTime<Utc>>,
    /// Said under the report when the retention policy cut its period.
    pub retention_note: Option<String>,
    /// Whether bots count in the figures (the guild's `count_bots`).
    pub bots: Bots,
    /// Whether the view's independent reads run at once: the pool had
    /// connections to spare when the report began (see `room_for`).
    pub concurrent: bool,
}

impl Frame {
    /// The same frame over another period (same timezone, gaps and data
    /// start), for figures of the previous period.
    pub fn over(&self, period: Period) -> Self {
        Self {
            period,
            label: String::new(),
            ..self.clone()
        }
    }

    /// `fetch` over the previous period, if there is one.
    pub async fn before<T, E, F>(&self, fetch: impl FnOnce(Period) -> F) -> Outcome<Option<T>>
    where
        F: Future<Output = Result<T, E>>,
        Failure: From<E>,
    {
        match self.previous {
            Some(previous) => Ok(Some(fetch(previous).await?)),
            None => Ok(None),
        }
    }

    /// `fetch` over the period and over the previous one, if there is one,
    /// both at once (on two pool connections) when the frame is
    /// `concurrent`.
    pub async fn now_and_before<T, E, F>(
        &self,
        fetch: impl Fn(Period) -> F,
    ) -> Outcome<(T, Option<T>)>
    where
        F: Future<Output = Result<T, E>>,
        Failure: From<E>,
    {
        let now = async { fetch(self.period).await.map_err(Failure::from) };
        if self.concurrent {
            Ok(tokio::try_join!(now, self.before(&fetch))?)
        } else {
            Ok((now.await?, self.before(&fetch).await?))
        }
    }

    /// A figure with its comparison, e.g. `**1,234** ↑ 10.0% (1,122 before)`.
    pub fn figure(&self, current: i64, previous: Option<i64>) -> String {
        self.figure_with(current, previous, int)
    }

    /// A figure with its comparison, or with why it is not compared
    /// (`**147** · no data before …`): see [`Comparison`].
    pub fn figure_with(&self, current: i64, previous: Option<i64>, show: Show) -> String {
        match (self.comparison, previous) {
            (Some(Comparison::Full), Some(previous)) if self.previous.is_some() => {
                Comparison::Full.figure(current, previous, show)
            }
            (Some(c), _) if !c.is_full() => c.figure(current, 0, show),
            _ => format!("**{}**", show(current)),
        }
    }

    /// Why figures are not compared with the previous period (Discord
    /// markdown), `None` when they are or there is none ("all time").
    pub fn uncompared(&self) -> Option<String> {
        self.comparison.and_then(Comparison::why)
    }

    /// Inline fields, each comparing one figure of `now` with `before`.
    pub fn compared<T>(
        &self,
        mut embed: Embed,
        now: &T,
        before: Option<&T>,
        figures: &[Figure<T>],
    ) -> Embed {
        for (name, pick) in figures {
            embed = embed.field(*name, self.figure(pick(now), before.map(pick)), true);
        }
        embed
    }

    fn day_has_gap(&self, day: NaiveDate) -> bool {
        let start = period::local_midnight(day, self.tz);
        let end = period::local_midnight(day.succ_opt().unwrap_or(day), self.tz);
        self.gaps
            .iter()
            .any(|g| g.gap_start < end && g.gap_end > start)
    }

    /// Values per local day of the period, `None` on days a gap touches.
    pub fn daily(&self, rows: &[(DateTime<Utc>, i64)]) -> Days {
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

    /// The whole local day ended before anything was recorded.
    fn before_data(&self, day: NaiveDate) -> bool {
        let end = period::local_midnight(day.succ_opt().unwrap_or(day), self.tz);
        self.first_data.is_none_or(|first| end <= first)
    }

    /// The whole local day lies inside the period.
    pub fn full_day(&self, day: NaiveDate) -> bool {
        period::local_midnight(day, self.tz) >= self.period.from
            && period::local_midnight(day.succ_opt().unwrap_or(day), self.tz) <= self.period.to
    }

    /// Whether a local day of the period covers only part of the day:
    /// `"so far"` for the day in progress (it holds `now`), `"partial
    /// day"` for one the period cuts; `None` for a whole day. A partial day
    /// is drawn apart and never compared as if it were whole.
    pub fn partial_day(&self, day: NaiveDate) -> Option<&'static str> {
        let start = period::local_midnight(day, self.tz);
        let end = period::local_midnight(day.succ_opt().unwrap_or(day), self.tz);
        if start <= self.now && self.now < end {
            Some("so far")
        } else if !self.full_day(day) {
            Some("partial day")
        } else {
            None
        }
    }

    /// What is said beside a day's value in per-day lists and tables:
    /// `so far` or `partial day` ([`Self::partial_day`]) for a day with a
    /// value, and why a day without one (`known` false) has none.
    pub fn day_note(&self, day: NaiveDate, known: bool) -> Option<&'static str> {
        match known {
            true => self.partial_day(day),
            false if self.day_has_gap(day) => Some(GAP_DAY),
            false => Some(UNRECORDED_DAY),
        }
    }

    /// `2026-10-25 1,234` per line; days without data say why, partial
    /// days say so (`1,234 (so far)`).
    pub fn daily_lines(&self, days: &Days, show: Show) -> String {
        days.iter()
            .map(
                |(day, value)| match (value, self.day_note(*day, value.is_some())) {
                    (Some(v), Some(part)) => format!("`{day}` {} ({part})", show(*v)),
                    (Some(v), None) => format!("`{day}` {}", show(*v)),
                    (None, Some(GAP_DAY)) => format!("`{day}` {GAP_DAY}"),
                    (None, _) => format!("`{day}` – ({UNRECORDED_DAY})"),
                },
            )
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// A line chart over the days of `days`, labelled with their dates,
    /// optionally with a forecast band after them.
    pub fn day_chart(
        &self,
        title: &str,
        days: &Days,
        series: &[Series],
        band: Option<&Band>,
    ) -> Chart {
        let labels: Vec<String> = days
            .iter()
            .map(|(d, _)| d.format("%m-%d").to_string())
            .collect();
        self.labelled_chart(title, &labels, days, series, band)
    }

    /// A line chart with one label per day of `days`; the days a recorded
    /// gap touches are shaded.
    pub fn labelled_chart(
        &self,
        title: &str,
        labels: &[String],
        days: &Days,
        series: &[Series],
        band: Option<&Band>,
    ) -> Chart {
        let gaps: Vec<bool> = days.iter().map(|(day, _)| self.day_has_gap(*day)).collect();
        let partial: Vec<Option<String>> = days
            .iter()
            .map(|(day, _)| self.partial_day(*day).map(str::to_owned))
            .collect();
        charts::line_chart_partial(title, labels, series, &gaps, &partial, band)
    }

    pub fn footer(&self) -> String {
        let compared = if self.previous.is_some() {
            " · ↑/↓ against the previous period of equal length"
        } else {
            ""
        };
        // The period ends on the hour; the hour in progress is counted as
        // far as it went.
        let so_far = if let Some(last) = self.complete_to {
            format!(
                " · to the last complete hour ({}): the hour in progress is left out so both periods are whole hours",
                last.with_timezone(&self.tz).format("%H:%M")
            )
        } else if self.period.from <= self.now && self.now < self.period.to {
            format!(
                " · the current hour counts so far (to {})",
                self.now.with_timezone(&self.tz).format("%H:%M")
            )
        } else {
            String::new()
        };
        format!("Times in {}{compared}{so_far}", self.tz.name())
    }

    pub fn gaps_note(&self) -> Option<String> {
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

/// A report's period and the previous one, within what the retention
/// policy kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Retained {
    pub period: Period,
    pub previous: Option<Period>,
    /// What the report says when either was cut.
    pub note: Option<String>,
}

/// How every report meets the retention policy: `removed_before` is the
/// instant before which the retention job removed the guild's per-member
/// rows. A period that ends by then is refused with the date (instead of
/// zeros); one that starts before it starts at it; a previous period that
/// reaches before it is not compared with. Guild-wide totals are kept
/// longer, but most reports mix them with per-member rows, so one horizon
/// applies to every report.
pub fn within_retention(
    period: Period,
    previous: Option<Period>,
    removed_before: Option<DateTime<Utc>>,
) -> Outcome<Retained> {
    let Some(horizon) = removed_before else {
        return Ok(Retained {
            period,
            previous,
            note: None,
        });
    };
    if period.to <= horizon {
        return Err(Failure::user(format!(
            "{} Choose a later timeframe.",
            retention_removed(horizon)
        )));
    }
    let cut_period = period.from < horizon;
    let period = Period {
        from: period.from.max(horizon),
        to: period.to,
    };
    let kept_previous = previous.filter(|p| !cut_period && p.from >= horizon);
    let removed = retention_removed(horizon);
    let note = match (cut_period, previous.is_some(), kept_previous.is_some()) {
        (true, true, _) => Some(format!(
            "{removed} Figures start there and are not compared with the previous period."
        )),
        (true, false, _) => Some(format!("{removed} Figures start there.")),
        (false, true, false) => Some(format!(
            "{removed} The previous period reaches before it, so figures are not compared with it."
        )),
        _ => None,
    };
    Ok(Retained {
        period,
        previous: kept_previous,
        note,
    })
}

/// "Data before … has been removed by the retention policy."
pub fn retention_removed(horizon: DateTime<Utc>) -> String {
    format!(
        "Data before {} has been removed by the retention policy (see /retention).",
        horizon.format("%Y-%m-%d %H:%M UTC")
    )
}

pub fn local_time(t: DateTime<Utc>, tz: Tz) -> String {
    t.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string()
}

pub fn timeframe_label(timeframe: Timeframe, period: Period, tz: Tz) -> String {
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

/// The message of one embed showing `chart` as `name`, drawn off the
/// async runtime.
pub async fn with_chart(embed: Embed, name: &str, chart: Chart) -> Outcome<Message> {
    let bytes = chart
        .render_blocking()
        .await
        .map_err(|e| Failure::Internal(e.to_string()))?;
    Ok(Message {
        embeds: vec![embed.image(name)],
        files: vec![Attachment {
            filename: name.to_owned(),
            bytes,
        }],
        ..Message::default()
    })
}

/// The message of one embed, without a chart.
pub fn text_only(embed: Embed) -> Message {
    Message {
        embeds: vec![embed],
        ..Message::default()
    }
}

pub fn as_series(name: &str, days: &Days, color: plotters::style::RGBColor) -> Series {
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

pub fn peak_text(cells: &[[i64; 24]; 7], show: Show) -> String {
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

pub fn series_of(hours: &[HourTotals], pick: fn(&HourTotals) -> i64) -> HourValues {
    hours.iter().map(|h| (h.hour, pick(h))).collect()
}

/// The sum of hourly values.
pub fn total(rows: &[(DateTime<Utc>, i64)]) -> i64 {
    rows.iter().map(|r| r.1).sum()
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn day(d: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, d, 0, 0, 0).unwrap()
    }

    fn period(from: u32, to: u32) -> Period {
        Period {
            from: day(from),
            to: day(to),
        }
    }

    #[test]
    fn a_period_wholly_before_the_horizon_is_refused_with_the_date() {
        let Err(Failure::User(text)) =
            within_retention(period(1, 8), Some(period(1, 1)), Some(day(10)))
        else {
            panic!("refused");
        };
        assert_eq!(
            text,
            "Data before 2026-11-10 00:00 UTC has been removed by the retention policy (see /retention). Choose a later timeframe."
        );
    }

    #[test]
    fn periods_are_cut_at_the_horizon_and_only_then_noted() {
        let untouched = within_retention(period(20, 27), Some(period(13, 20)), Some(day(10)));
        assert_eq!(
            untouched.unwrap(),
            Retained {
                period: period(20, 27),
                previous: Some(period(13, 20)),
                note: None
            }
        );
        let cut = within_retention(period(6, 27), Some(period(1, 6)), Some(day(10))).unwrap();
        assert_eq!((cut.period, cut.previous), (period(10, 27), None));
        assert!(
            cut.note
                .unwrap()
                .ends_with("Figures start there and are not compared with the previous period.")
        );
        let uncompared =
            within_retention(period(12, 27), Some(period(1, 12)), Some(day(10))).unwrap();
        assert_eq!(
            (uncompared.period, uncompared.previous),
            (period(12, 27), None)
        );
        assert!(uncompared.note.unwrap().contains("not compared"));
        assert_eq!(
            within_retention(period(1, 27), None, None).unwrap().note,
            None
        );
    }
}
