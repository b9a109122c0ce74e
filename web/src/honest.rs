//! Honest figures: whether a figure may be compared with the previous
//! period, and ratios whose denominator may be empty. The one place both
//! are decided, for the commands, the digests, the Pulse Report, the
//! exports and the dashboard.

use chrono::{DateTime, Utc};
use shared::bucketing::Bucketing;

use crate::period::{Period, change, progress_bar};
use crate::reply::int;

/// What "active member" means, wherever it is shown (the one query is
/// `shared::db::analytics::active_members`).
pub const ACTIVE_MEMBER: &str =
    "Active members posted a message, added a reaction or spent time in voice in the period";

/// From when a guild has figures: when tracking began — the earlier of
/// `tracking_since` and the first hour anything was recorded (a replayed
/// history, or rows kept from an earlier time tracking was on, are data
/// too) — or the retention horizon, whichever is later. `None` when
/// nothing says (no tracking, no data).
pub fn data_since(
    tracking_since: Option<DateTime<Utc>>,
    first_hour: Option<DateTime<Utc>>,
    removed_before: Option<DateTime<Utc>>,
) -> Option<DateTime<Utc>> {
    let tracked = match (tracking_since, first_hour) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    match (tracked, removed_before) {
        (Some(t), Some(h)) => Some(t.max(h)),
        (t, h) => t.or(h),
    }
}

/// A timeframe's period and the previous period it is compared with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Spans {
    pub period: Period,
    pub previous: Period,
    /// The period was ended at the last complete bucket (this instant) so
    /// that it compares like with like; `None` when it is as resolved.
    pub complete_to: Option<DateTime<Utc>>,
}

/// Like with like: a period that holds the guild's bucket in progress (or
/// buckets still to come) would compare a part of a bucket with a whole
/// one. When the previous period is compared (wholly after `since`), the
/// compared spans end at the last complete bucket instead: a preset
/// (`keep_length`: 24 hours, 7 days…) moves back to end there, keeping its
/// length; a custom range is cut there and compared with the same span of
/// the previous period, from its start. A period not compared anyway keeps
/// its bucket in progress, counted so far.
pub fn compared_spans(
    period: Period,
    now: DateTime<Utc>,
    bucketing: Bucketing,
    since: Option<DateTime<Utc>>,
    keep_length: bool,
) -> Spans {
    let whole = Spans {
        period,
        previous: period.previous(),
        complete_to: None,
    };
    let last = bucketing.containing(now).start();
    if !(period.from < last && last < period.to) {
        return whole;
    }
    let length = period.to - period.from;
    let cut = if keep_length {
        let moved = Period {
            from: last - length,
            to: last,
        };
        Spans {
            period: moved,
            previous: moved.previous(),
            complete_to: Some(last),
        }
    } else {
        let from = period.from - length;
        Spans {
            period: Period {
                from: period.from,
                to: last,
            },
            previous: Period {
                from,
                to: from + (last - period.from),
            },
            complete_to: Some(last),
        }
    };
    if Comparison::of(cut.previous, since).is_full() {
        cut
    } else {
        whole
    }
}

/// How a period's figures may be compared with the previous period's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparison {
    /// The previous period lies wholly after `data_since`: compared.
    Full,
    /// The previous period starts before there is data and ends after:
    /// its figures are incomplete, so no change is shown.
    Partial { since: DateTime<Utc> },
    /// The previous period ends before there is any data.
    NoData { since: DateTime<Utc> },
    /// This period is not over (a digest's preview): its figures so far
    /// are not compared with a whole previous period.
    SoFar { until: DateTime<Utc> },
}

impl Comparison {
    /// The comparison with `previous` for a guild with data since `since`
    /// (see [`data_since`]).
    pub fn of(previous: Period, since: Option<DateTime<Utc>>) -> Self {
        match since {
            Some(since) if previous.to <= since => Self::NoData { since },
            Some(since) if previous.from < since => Self::Partial { since },
            _ => Self::Full,
        }
    }

    pub fn is_full(self) -> bool {
        self == Self::Full
    }

    /// Why there is no comparison, in Discord markdown (the date as a
    /// timestamp each reader sees in their own time); `None` when there is.
    pub fn why(self) -> Option<String> {
        self.explain(true, discord_time)
    }

    /// [`Self::why`] in plain text, dates in UTC (exports, the dashboard,
    /// embed footers, which render no timestamps).
    pub fn why_plain(self) -> Option<String> {
        self.explain(true, utc_time)
    }

    /// [`Self::why`] without saying "not compared", for a text that says
    /// so itself: `no data before … (partway through the previous period)`.
    pub fn reason(self) -> Option<String> {
        self.explain(false, discord_time)
    }

    fn explain(self, verdict: bool, when: fn(DateTime<Utc>) -> String) -> Option<String> {
        Some(match self {
            Self::Full => return None,
            Self::NoData { since } => format!("no data before {}", when(since)),
            Self::Partial { since } => {
                let reason = format!(
                    "no data before {} (partway through the previous period)",
                    when(since)
                );
                if verdict {
                    format!("not compared: {reason}")
                } else {
                    reason
                }
            }
            Self::SoFar { until } => {
                let reason = format!("so far (to {})", when(until));
                if verdict {
                    format!("{reason}: not compared with the whole period before")
                } else {
                    reason
                }
            }
        })
    }

    /// A figure with its comparison, e.g. `**1,234** ↑ 10.0% (1,122 before)`,
    /// or with why it is not compared, e.g. `**147** · no data before …`.
    pub fn figure(self, current: i64, previous: i64, show: fn(i64) -> String) -> String {
        match self.why() {
            None => format!(
                "**{}** {} ({} before)",
                show(current),
                change(current as f64, previous as f64),
                show(previous)
            ),
            Some(why) => format!("**{}** · {why}", show(current)),
        }
    }
}

fn discord_time(t: DateTime<Utc>) -> String {
    format!("<t:{}:f>", t.timestamp())
}

fn utc_time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// A share as a bar, `██████░░░░ 60.0%`, or, when `whole` is zero, what
/// is missing for it (`missing`, e.g. "needs members who joined 30+ days
/// ago") instead of a 0.0% that nobody earned.
pub fn bar(part: i64, whole: i64, missing: &str) -> String {
    if whole > 0 {
        progress_bar(part as f64, whole as f64)
    } else {
        format!("– {missing}")
    }
}

/// `3 of 4{what}` over a bar of the share, or what is missing when there
/// is nothing to take a share of (see [`bar`]).
pub fn share(part: i64, whole: i64, what: &str, missing: &str) -> String {
    if whole > 0 {
        format!(
            "{} of {}{what}\n{}",
            int(part),
            int(whole),
            bar(part, whole, missing)
        )
    } else {
        bar(part, whole, missing)
    }
}

/// `part` as a percentage of `whole`, `None` when `whole` is zero.
pub fn percent(part: i64, whole: i64) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64 * 100.0)
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
    fn data_starts_at_the_earliest_record_but_never_before_the_horizon() {
        assert_eq!(data_since(Some(day(5)), Some(day(3)), None), Some(day(3)));
        assert_eq!(data_since(Some(day(5)), Some(day(7)), None), Some(day(5)));
        assert_eq!(data_since(None, Some(day(7)), None), Some(day(7)));
        assert_eq!(
            data_since(Some(day(5)), Some(day(3)), Some(day(9))),
            Some(day(9))
        );
        assert_eq!(data_since(None, None, None), None);
    }

    #[test]
    fn a_previous_period_before_the_data_is_not_compared() {
        assert_eq!(
            Comparison::of(period(10, 17), Some(day(10))),
            Comparison::Full
        );
        assert_eq!(Comparison::of(period(10, 17), None), Comparison::Full);
        assert_eq!(
            Comparison::of(period(3, 10), Some(day(10))),
            Comparison::NoData { since: day(10) }
        );
        assert_eq!(
            Comparison::of(period(3, 10), Some(day(9))),
            Comparison::Partial { since: day(9) }
        );
    }

    /// The demo's "Joins **147** ↑ 2350.0% (6 before)": a previous period
    /// mostly before tracking began shows no percentage.
    #[test]
    fn joins_against_a_mostly_untracked_period_show_no_percentage() {
        let since = Utc.with_ymd_and_hms(2026, 11, 16, 12, 0, 0).unwrap();
        let partial = Comparison::of(period(1, 17), Some(since));
        let text = partial.figure(147, 6, int);
        assert_eq!(
            text,
            format!(
                "**147** · not compared: no data before <t:{}:f> (partway through the previous period)",
                since.timestamp()
            )
        );
        assert!(!text.contains('%') && !text.contains("6 before"), "{text}");
        let none = Comparison::of(period(1, 8), Some(since));
        assert_eq!(
            none.figure(3_497, 0, int),
            format!("**3,497** · no data before <t:{}:f>", since.timestamp())
        );
        assert_eq!(
            none.why_plain().unwrap(),
            "no data before 2026-11-16 12:00 UTC"
        );
        let so_far = Comparison::SoFar { until: since };
        assert_eq!(
            so_far.figure(12, 40, int),
            format!(
                "**12** · so far (to <t:{}:f>): not compared with the whole period before",
                since.timestamp()
            )
        );
        assert_eq!(
            Comparison::Full.figure(110, 100, int),
            "**110** ↑ 10.0% (100 before)"
        );
    }

    /// "Last 24 hours" at 14:37 compared 14 minutes… of the hour in progress
    /// plus 23 whole hours with 24 whole hours: now both end at 14:00.
    #[test]
    fn a_compared_period_ends_at_the_last_complete_bucket() {
        let at = |d: u32, h: u32, m: u32| Utc.with_ymd_and_hms(2026, 11, d, h, m, 0).unwrap();
        let now = at(17, 14, 37);
        let utc = Bucketing::UTC;
        let span24 = Period {
            from: at(16, 15, 0),
            to: at(17, 15, 0),
        };
        let s = compared_spans(span24, now, utc, Some(day(1)), true);
        assert_eq!(
            s.period,
            Period {
                from: at(16, 14, 0),
                to: at(17, 14, 0)
            }
        );
        assert_eq!(
            s.previous,
            Period {
                from: at(15, 14, 0),
                to: at(16, 14, 0)
            }
        );
        assert_eq!(s.complete_to, Some(at(17, 14, 0)));
        // 100 messages in 23 whole hours and 37 minutes against 120 in 24
        // whole hours read "↓ 16.7%"; over whole hours only, 96 against 100.
        assert_eq!(
            Comparison::of(s.previous, Some(day(1))).figure(96, 100, int),
            "**96** ↓ 4.0% (100 before)"
        );
        // Kolkata's buckets start at :30: the hour in progress began 14:30.
        let kolkata = Bucketing::named("Asia/Kolkata");
        let s = compared_spans(
            Period {
                from: at(16, 15, 30),
                to: at(17, 15, 30),
            },
            at(17, 15, 5),
            kolkata,
            None,
            true,
        );
        assert_eq!(
            s.period,
            Period {
                from: at(16, 14, 30),
                to: at(17, 14, 30)
            }
        );
        // A custom range holding today: cut at the last complete hour and
        // compared with the same span from the previous period's start.
        let custom = Period {
            from: at(15, 0, 0),
            to: at(18, 0, 0),
        };
        let s = compared_spans(custom, now, utc, None, false);
        assert_eq!(
            s.period,
            Period {
                from: at(15, 0, 0),
                to: at(17, 14, 0)
            }
        );
        assert_eq!(
            s.previous,
            Period {
                from: at(12, 0, 0),
                to: at(14, 14, 0)
            }
        );
        // On the hour there is nothing in progress; a period not compared
        // (its previous period before the data) keeps its hour so far.
        let whole = Period {
            from: at(16, 14, 0),
            to: at(17, 14, 0),
        };
        assert_eq!(
            compared_spans(whole, at(17, 14, 0), utc, None, true).complete_to,
            None
        );
        let s = compared_spans(span24, now, utc, Some(at(16, 0, 0)), true);
        assert_eq!((s.period, s.complete_to), (span24, None));
    }

    /// "Still members after 30 days: 0 of 0 eligible ░░░░ 0.0%" says what
    /// is missing instead.
    #[test]
    fn an_empty_denominator_says_what_is_missing() {
        let missing = "needs members who joined 30+ days ago";
        assert_eq!(
            share(0, 0, " eligible", missing),
            "– needs members who joined 30+ days ago"
        );
        assert_eq!(
            share(1, 4, " eligible", missing),
            "1 of 4 eligible\n███░░░░░░░ 25.0%"
        );
        assert_eq!(
            bar(0, 0, "no joins in this period"),
            "– no joins in this period"
        );
        assert_eq!(percent(1, 4), Some(25.0));
        assert_eq!(percent(0, 0), None);
    }
}
