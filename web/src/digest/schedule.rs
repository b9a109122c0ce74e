//! When digests are due: pure functions of a guild's timezone, its digest
//! schedule and an instant.
//!
//! - Hourly: each local hour (the guild's rollup bucket: see
//!   [`shared::bucketing`]), posted when it ends. In a zone offset by a
//!   fraction of an hour (St John's −3:30, Kathmandu +5:45) that is the
//!   local hour too, e.g. 10:00–11:00 NPT, 04:15–05:15 UTC; a bucket cut
//!   short by Lord Howe's 30-minute change is a half-hour digest.
//! - Daily: the local day, posted the next day at the local `hour`.
//! - Weekly: the local Monday–Sunday week, posted on the first `weekday`
//!   after it ends at the local `hour`.
//!
//! Period edges are local midnights as instants, exactly the range a
//! custom `/serverstats` timeframe of the same dates reads, so the figures
//! agree. A posting hour that does not exist on a spring-forward day is
//! posted at the next hour that does; on an autumn day the repeated hour
//! is taken at its first occurrence, once.
//!
//! # Why a hand-written claim rather than a job library
//! graphile_worker (Rust port on sqlx) was evaluated. Its job keys and
//! SKIP LOCKED queue would work, but (1) our exactly-once identity is the
//! digest period, recorded in `digest_runs` in the same transaction as the
//! outbox item, while graphile_worker keeps jobs in its own schema, which
//! it migrates itself outside our migrations; (2) its cron runner is a
//! static crontab per process in one timezone, while every guild has its
//! own timezone, hour and weekday that admins change at any time; (3)
//! alerts need the posted message id and a later edit of the same item,
//! which a job queue that deletes finished jobs does not keep; (4) it
//! brings about fifteen crates for what is one `insert … on conflict do
//! nothing` and one `for update skip locked` claim. The tests of exactly
//! once (concurrent runs, reruns, crash and re-send) decide either way.

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use shared::db::digest_settings::{DigestFrequency, DigestSchedule};

use shared::bucketing::Bucketing;
use shared::time::Hour;

use crate::period::local_midnight;

/// A digest that lands this long after its time or more says it is late.
pub const LATE_AFTER: Duration = Duration::minutes(15);

/// One digest period: `[from, to)` in UTC, due at `scheduled_at`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DigestPeriod {
    pub frequency: DigestFrequency,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub scheduled_at: DateTime<Utc>,
}

/// What a run at one instant must do for one guild.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Due {
    /// The latest period whose time has come; `late` when it is posted
    /// [`LATE_AFTER`] or more after its time (always less than a period).
    pub post: Option<(DigestPeriod, bool)>,
    /// Earlier periods whose time came after `since` and that would now be
    /// a period or more late: recorded as skipped, newest first.
    pub missed: Vec<DigestPeriod>,
}

/// Most periods walked back to record as missed (an outage of weeks is
/// not worth a row per missed hour).
pub const MAX_MISSED: usize = 48;

/// The instant of `hour:00` local on `date`: a non-existent hour moves to
/// the next hour that exists; an ambiguous one is its first occurrence.
pub fn local_hour(date: NaiveDate, hour: u8, tz: Tz) -> DateTime<Utc> {
    let start = date
        .and_hms_opt(u32::from(hour.min(23)), 0, 0)
        .expect("hours 0-23 exist on the clock");
    (0..48)
        .find_map(|step| {
            tz.from_local_datetime(&(start + Duration::hours(step)))
                .earliest()
        })
        .expect("a local hour exists within two days")
        .with_timezone(&Utc)
}

fn daily(day: NaiveDate, hour: u8, tz: Tz) -> DigestPeriod {
    let next = day.succ_opt().expect("dates in range");
    DigestPeriod {
        frequency: DigestFrequency::Daily,
        from: local_midnight(day, tz),
        to: local_midnight(next, tz),
        scheduled_at: local_hour(next, hour, tz),
    }
}

fn weekly(monday: NaiveDate, schedule: &DigestSchedule, tz: Tz) -> DigestPeriod {
    let next_monday = monday + Duration::days(7);
    let post_day = next_monday + Duration::days(i64::from(schedule.weekday.num_days_from_monday()));
    DigestPeriod {
        frequency: DigestFrequency::Weekly,
        from: local_midnight(monday, tz),
        to: local_midnight(next_monday, tz),
        scheduled_at: local_hour(post_day, schedule.hour, tz),
    }
}

/// The guild's bucket starting at `start`.
fn hourly(start: DateTime<Utc>, tz: Tz) -> DigestPeriod {
    let to = Bucketing::new(tz).end(Hour::at(start));
    DigestPeriod {
        frequency: DigestFrequency::Hourly,
        from: start,
        to,
        scheduled_at: to,
    }
}

/// The guild's bucket that ended last at or before `t`.
fn hourly_before(t: DateTime<Utc>, tz: Tz) -> DigestPeriod {
    let bucketing = Bucketing::new(tz);
    let current = bucketing.containing(t);
    hourly(
        bucketing
            .containing(current.start() - Duration::seconds(1))
            .start(),
        tz,
    )
}

/// The latest period of `frequency` due at or before `now`.
pub fn latest(
    frequency: DigestFrequency,
    schedule: &DigestSchedule,
    tz: Tz,
    now: DateTime<Utc>,
) -> DigestPeriod {
    let today = now.with_timezone(&tz).date_naive();
    match frequency {
        DigestFrequency::Hourly => hourly_before(now, tz),
        DigestFrequency::Daily => {
            let yesterday = today.pred_opt().expect("dates in range");
            let candidate = daily(yesterday, schedule.hour, tz);
            if candidate.scheduled_at <= now {
                candidate
            } else {
                daily(
                    yesterday.pred_opt().expect("dates in range"),
                    schedule.hour,
                    tz,
                )
            }
        }
        DigestFrequency::Weekly => {
            let this_monday =
                today - Duration::days(i64::from(today.weekday().num_days_from_monday()));
            // The week reported at this week's posting day, or the one before.
            [7, 14, 21]
                .into_iter()
                .map(|back| weekly(this_monday - Duration::days(back), schedule, tz))
                .find(|p| p.scheduled_at <= now)
                .expect("a week ending three weeks ago was due")
        }
    }
}

/// The period just before `period`.
pub fn previous(period: DigestPeriod, schedule: &DigestSchedule, tz: Tz) -> DigestPeriod {
    match period.frequency {
        DigestFrequency::Hourly => hourly_before(period.from, tz),
        DigestFrequency::Daily => {
            let day = period.from.with_timezone(&tz).date_naive();
            daily(day.pred_opt().expect("dates in range"), schedule.hour, tz)
        }
        DigestFrequency::Weekly => {
            let monday = period.from.with_timezone(&tz).date_naive();
            weekly(monday - Duration::days(7), schedule, tz)
        }
    }
}

/// The period just after `period` (the one accumulating now, when
/// `period` is the latest due).
pub fn following(period: DigestPeriod, schedule: &DigestSchedule, tz: Tz) -> DigestPeriod {
    match period.frequency {
        DigestFrequency::Hourly => hourly(period.to, tz),
        DigestFrequency::Daily => {
            daily(period.to.with_timezone(&tz).date_naive(), schedule.hour, tz)
        }
        DigestFrequency::Weekly => weekly(period.to.with_timezone(&tz).date_naive(), schedule, tz),
    }
}

/// What is due at `now` for a guild whose schedule took effect at `since`
/// (periods due before it are neither posted nor recorded).
pub fn due(schedule: &DigestSchedule, tz: Tz, since: DateTime<Utc>, now: DateTime<Utc>) -> Due {
    let Some(frequency) = schedule.frequency else {
        return Due {
            post: None,
            missed: Vec::new(),
        };
    };
    let latest = latest(frequency, schedule, tz, now);
    if latest.scheduled_at < since {
        return Due {
            post: None,
            missed: Vec::new(),
        };
    }
    let mut missed = Vec::new();
    let mut before = previous(latest, schedule, tz);
    while before.scheduled_at >= since && missed.len() < MAX_MISSED {
        missed.push(before);
        before = previous(before, schedule, tz);
    }
    Due {
        post: Some((latest, now - latest.scheduled_at >= LATE_AFTER)),
        missed,
    }
}

#[cfg(test)]
mod tests {
    use chrono::{Datelike, Timelike, Weekday};

    use super::*;

    fn utc(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, min, 0).unwrap()
    }

    fn schedule(frequency: DigestFrequency, hour: u8, weekday: Weekday) -> DigestSchedule {
        DigestSchedule {
            frequency: Some(frequency),
            hour,
            weekday,
        }
    }

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    /// Every daily digest time over 30 days around a DST change is the
    /// local `hour`, one per day, each covering the day before.
    fn daily_times_around(tz: Tz, hour: u8, first: NaiveDate) -> Vec<DigestPeriod> {
        let plan = schedule(DigestFrequency::Daily, hour, Weekday::Mon);
        let mut periods: Vec<DigestPeriod> = Vec::new();
        let mut t = local_midnight(first, tz);
        let end = t + Duration::days(30);
        // Walk minute by minute-ish (every 15 min) like a ticking scheduler.
        while t < end {
            let period = latest(DigestFrequency::Daily, &plan, tz, t);
            if periods.last() != Some(&period) {
                periods.push(period);
            }
            t += Duration::minutes(15);
        }
        periods
    }

    #[test]
    fn berlin_daily_at_nine_across_both_dst_changes() {
        let tz: Tz = "Europe/Berlin".parse().unwrap();
        for first in [date(2026, 10, 10), date(2027, 3, 14)] {
            let periods = daily_times_around(tz, 9, first);
            assert!(periods.len() >= 30, "{}", periods.len());
            for pair in periods.windows(2) {
                assert_eq!(pair[0].to, pair[1].from, "days are contiguous");
            }
            for p in &periods {
                let local = p.scheduled_at.with_timezone(&tz);
                assert_eq!((local.hour(), local.minute()), (9, 0));
                let covered = p.from.with_timezone(&tz);
                assert_eq!((covered.hour(), covered.minute()), (0, 0));
                assert_eq!(covered.date_naive().succ_opt().unwrap(), local.date_naive());
            }
        }
        // Weekly on Monday at 09:00 over the same 30 days (and more).
        let weekly_plan = schedule(DigestFrequency::Weekly, 9, Weekday::Mon);
        for first in [date(2026, 10, 5), date(2027, 3, 8)] {
            let mut t = local_midnight(first, tz);
            let mut weeks: Vec<DigestPeriod> = Vec::new();
            while t < local_midnight(first, tz) + Duration::days(35) {
                let p = latest(DigestFrequency::Weekly, &weekly_plan, tz, t);
                if weeks.last() != Some(&p) {
                    weeks.push(p);
                }
                t += Duration::minutes(15);
            }
            assert!(weeks.len() >= 5);
            for pair in weeks.windows(2) {
                assert_eq!(pair[0].to, pair[1].from, "weeks are contiguous");
            }
            for p in &weeks {
                let local = p.scheduled_at.with_timezone(&tz);
                assert_eq!(
                    (local.weekday(), local.hour(), local.minute()),
                    (Weekday::Mon, 9, 0)
                );
                assert_eq!(p.from.with_timezone(&tz).weekday(), Weekday::Mon);
                assert_eq!(p.to.with_timezone(&tz).date_naive(), local.date_naive());
            }
        }
        // The autumn day has 25 hours, the spring day 23.
        let autumn = daily(date(2026, 10, 25), 9, tz);
        assert_eq!(autumn.to - autumn.from, Duration::hours(25));
        let spring = daily(date(2027, 3, 28), 9, tz);
        assert_eq!(spring.to - spring.from, Duration::hours(23));
        // 09:00 CET is 08:00 UTC, 09:00 CEST is 07:00 UTC.
        assert_eq!(autumn.scheduled_at, utc(2026, 10, 26, 8, 0));
        assert_eq!(
            daily(date(2026, 10, 24), 9, tz).scheduled_at,
            utc(2026, 10, 25, 8, 0)
        );
        assert_eq!(spring.scheduled_at, utc(2027, 3, 29, 7, 0));
    }

    #[test]
    fn a_missing_spring_hour_posts_at_the_next_hour_and_an_ambiguous_one_once() {
        let tz: Tz = "Europe/Berlin".parse().unwrap();
        // 2027-03-28 02:00 does not exist in Berlin: 03:00 CEST (01:00 UTC).
        assert_eq!(local_hour(date(2027, 3, 28), 2, tz), utc(2027, 3, 28, 1, 0));
        // 2026-10-25 02:00 happens twice: the first (CEST, 00:00 UTC).
        assert_eq!(
            local_hour(date(2026, 10, 25), 2, tz),
            utc(2026, 10, 25, 0, 0)
        );
        let plan = schedule(DigestFrequency::Daily, 2, Weekday::Mon);
        // Inside the repeated hour, both occurrences see the same period.
        let first = latest(DigestFrequency::Daily, &plan, tz, utc(2026, 10, 25, 0, 30));
        let second = latest(DigestFrequency::Daily, &plan, tz, utc(2026, 10, 25, 1, 30));
        assert_eq!(first, second);
        assert_eq!(first.scheduled_at, utc(2026, 10, 25, 0, 0));
        // Spring: the day's digest comes at 03:00 CEST.
        let before = latest(DigestFrequency::Daily, &plan, tz, utc(2027, 3, 28, 0, 59));
        let after = latest(DigestFrequency::Daily, &plan, tz, utc(2027, 3, 28, 1, 0));
        assert_eq!(before.to, after.from);
        assert_eq!(after.scheduled_at, utc(2027, 3, 28, 1, 0));
    }

    #[test]
    fn st_johns_and_kathmandu_get_their_local_hour() {
        let st_johns: Tz = "America/St_Johns".parse().unwrap();
        let kathmandu: Tz = "Asia/Kathmandu".parse().unwrap();
        // 09:00 NDT (UTC−2:30) in October, 09:00 NST (UTC−3:30) in December.
        assert_eq!(
            daily(date(2026, 10, 1), 9, st_johns).scheduled_at,
            utc(2026, 10, 2, 11, 30)
        );
        assert_eq!(
            daily(date(2026, 12, 1), 9, st_johns).scheduled_at,
            utc(2026, 12, 2, 12, 30)
        );
        // 09:00 NPT (UTC+5:45).
        let k = daily(date(2026, 10, 1), 9, kathmandu);
        assert_eq!(k.scheduled_at, utc(2026, 10, 2, 3, 15));
        assert_eq!(k.from, utc(2026, 9, 30, 18, 15));
        for tz in [st_johns, kathmandu] {
            let periods = daily_times_around(tz, 9, date(2026, 10, 20));
            for p in &periods {
                let local = p.scheduled_at.with_timezone(&tz);
                assert_eq!((local.hour(), local.minute()), (9, 0));
            }
        }
        // Hourly digests follow the rollup buckets (local hours: 08:00–09:00
        // NPT is 02:15–03:15 UTC) and are due when one ends.
        let plan = schedule(DigestFrequency::Hourly, 9, Weekday::Mon);
        let h = latest(
            DigestFrequency::Hourly,
            &plan,
            kathmandu,
            utc(2026, 10, 2, 3, 59),
        );
        assert_eq!(
            (h.from, h.to, h.scheduled_at),
            (
                utc(2026, 10, 2, 2, 15),
                utc(2026, 10, 2, 3, 15),
                utc(2026, 10, 2, 3, 15)
            )
        );
        assert_eq!(previous(h, &plan, kathmandu).to, h.from);
        assert_eq!(following(h, &plan, kathmandu).from, h.to);
        // Lord Howe's spring change: local 02:00 lasts 30 minutes.
        let lord_howe: Tz = "Australia/Lord_Howe".parse().unwrap();
        let short = latest(
            DigestFrequency::Hourly,
            &plan,
            lord_howe,
            utc(2026, 10, 3, 16, 10),
        );
        assert_eq!(
            (short.from, short.to),
            (utc(2026, 10, 3, 15, 30), utc(2026, 10, 3, 16, 0))
        );
    }

    #[test]
    fn weekly_covers_the_previous_monday_to_sunday_and_posts_on_its_weekday() {
        let tz: Tz = "Europe/Berlin".parse().unwrap();
        let monday = schedule(DigestFrequency::Weekly, 9, Weekday::Mon);
        // Monday 2026-10-26 09:00 CET: the week of 19–25 October (it has
        // 7 × 24 + 1 hours: the autumn change is in it).
        let p = latest(
            DigestFrequency::Weekly,
            &monday,
            tz,
            utc(2026, 10, 26, 8, 0),
        );
        assert_eq!(p.from, utc(2026, 10, 18, 22, 0));
        assert_eq!(p.to, utc(2026, 10, 25, 23, 0));
        assert_eq!(p.scheduled_at, utc(2026, 10, 26, 8, 0));
        // A minute earlier the week before is the latest.
        let earlier = latest(
            DigestFrequency::Weekly,
            &monday,
            tz,
            utc(2026, 10, 26, 7, 59),
        );
        assert_eq!(earlier.to, p.from);
        // Friday 18:00: the week that ended the Sunday before.
        let friday = schedule(DigestFrequency::Weekly, 18, Weekday::Fri);
        let f = latest(
            DigestFrequency::Weekly,
            &friday,
            tz,
            utc(2026, 10, 30, 17, 0),
        );
        assert_eq!(f.from, p.from);
        assert_eq!(f.scheduled_at, utc(2026, 10, 30, 17, 0));
        let thursday = latest(
            DigestFrequency::Weekly,
            &friday,
            tz,
            utc(2026, 10, 29, 12, 0),
        );
        assert_eq!(thursday.to, p.from);
        assert_eq!(previous(f, &friday, tz).to, f.from);
        assert_eq!(following(previous(f, &friday, tz), &friday, tz), f);
    }

    #[test]
    fn late_within_a_period_posts_and_older_ones_are_missed() {
        let tz: Tz = "Europe/Berlin".parse().unwrap();
        let plan = schedule(DigestFrequency::Daily, 9, Weekday::Mon);
        let since = utc(2026, 10, 1, 0, 0);
        // On time.
        let on_time = due(&plan, tz, since, utc(2026, 10, 26, 8, 1));
        let (period, late) = on_time.post.unwrap();
        assert!(!late);
        assert_eq!(period.scheduled_at, utc(2026, 10, 26, 8, 0));
        // Nothing ran since the schedule was set on the 24th: the latest is
        // posted late, the two due since then are missed.
        let after_outage = due(&plan, tz, utc(2026, 10, 24, 0, 0), utc(2026, 10, 26, 20, 0));
        let (latest_period, late) = after_outage.post.unwrap();
        assert!(late);
        assert_eq!(latest_period, period);
        assert_eq!(after_outage.missed.len(), 2);
        assert_eq!(after_outage.missed[0].to, latest_period.from);
        // Nothing due before the schedule was set.
        let fresh = due(
            &plan,
            tz,
            utc(2026, 10, 26, 10, 0),
            utc(2026, 10, 26, 12, 0),
        );
        assert_eq!(fresh.post, None);
        let none = DigestSchedule::default();
        assert_eq!(due(&none, tz, since, utc(2026, 10, 26, 12, 0)).post, None);
        // Hourly: missed hours stop at MAX_MISSED.
        let hourly_plan = schedule(DigestFrequency::Hourly, 9, Weekday::Mon);
        let long = due(&hourly_plan, tz, since, utc(2026, 10, 26, 12, 0));
        assert_eq!(long.missed.len(), MAX_MISSED);
    }
}
