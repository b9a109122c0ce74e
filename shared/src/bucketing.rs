//! Rollup buckets laid on a guild's local hours.
//!
//! A rollup row's `hour` is the UTC instant at which the local hour (in the
//! guild's timezone) holding its events began. A bucket ends where the next
//! local hour begins or where the zone's offset changes, whichever comes
//! first, so buckets never overlap, never exceed an hour (the
//! `seconds between 0 and 3600` of voice rows holds) and are shorter around
//! a change that moves the clock by other than whole hours (30 minutes at
//! Australia/Lord_Howe's daylight-saving changes).
//!
//! Every local midnight, and every local hour's start, is a bucket edge, so
//! a local day is a whole number of buckets in every IANA zone: 24 in
//! Asia/Kolkata (UTC+5:30), 23 or 25 on Berlin's change days, 24 on Lord
//! Howe's change days too (one bucket of 30 minutes, or two of 30 minutes
//! for the repeated half hour). In a zone whose offset is a whole number of
//! hours, with whole-hour changes (most guilds, and UTC), the buckets are
//! exactly the UTC hours ([`Hour::containing`]).

use chrono::{DateTime, Offset, TimeZone, Utc};
use chrono_tz::Tz;

use crate::time::Hour;

/// How one guild's rollups are bucketed: by the local hours of its
/// timezone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Bucketing {
    tz: Tz,
}

impl Default for Bucketing {
    /// UTC hours: a guild without settings.
    fn default() -> Self {
        Self::new(Tz::UTC)
    }
}

impl Bucketing {
    pub const UTC: Self = Self { tz: Tz::UTC };

    pub fn new(tz: Tz) -> Self {
        Self { tz }
    }

    /// The bucketing of a stored timezone name; UTC when the name is
    /// unknown (as the commands read it).
    pub fn named(name: &str) -> Self {
        Self::new(name.parse().unwrap_or(Tz::UTC))
    }

    pub fn tz(self) -> Tz {
        self.tz
    }

    /// The UTC offset in seconds at Unix second `t`.
    fn offset(self, t: i64) -> Option<i32> {
        let at = DateTime::from_timestamp(t, 0)?;
        Some(
            self.tz
                .offset_from_utc_datetime(&at.naive_utc())
                .fix()
                .local_minus_utc(),
        )
    }

    /// The first second in `(lo, hi]` whose offset differs from `lo`'s (the
    /// offset changes at most once within an hour).
    fn change_after(self, mut lo: i64, mut hi: i64, at_lo: i32) -> i64 {
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2;
            if self.offset(mid) == Some(at_lo) {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        hi
    }

    /// The bucket holding `at`: the start of the local hour holding it, or
    /// the offset change after that start when one came between. Total
    /// like [`Hour::containing`] (instants whose local hour chrono cannot
    /// hold fall back to the UTC hour).
    pub fn containing(self, at: DateTime<Utc>) -> Hour {
        if self.tz == Tz::UTC {
            return Hour::containing(at);
        }
        let t = at.timestamp();
        let Some(offset) = self.offset(t) else {
            return Hour::containing(at);
        };
        let local_hour = t - (t + i64::from(offset)).rem_euclid(3600);
        let start = match self.offset(local_hour) {
            Some(o) if o == offset => local_hour,
            Some(o) => self.change_after(local_hour, t, o),
            None => return Hour::containing(at),
        };
        Hour::at(DateTime::from_timestamp(start, 0).unwrap_or(at))
    }

    /// The first instant after `bucket`: the next local hour's start, or an
    /// offset change before it.
    pub fn end(self, bucket: Hour) -> DateTime<Utc> {
        if self.tz == Tz::UTC {
            return bucket.end();
        }
        let s = bucket.start().timestamp();
        let Some(offset) = self.offset(s) else {
            return bucket.end();
        };
        let next = s + 3600 - (s + i64::from(offset)).rem_euclid(3600);
        let end = match self.offset(next) {
            Some(o) if o == offset => next,
            Some(_) => self.change_after(s, next, offset),
            None => return bucket.end(),
        };
        DateTime::from_timestamp(end, 0).unwrap_or_else(|| bucket.end())
    }

    /// The bucket after `bucket`.
    pub fn next(self, bucket: Hour) -> Hour {
        Hour::at(self.end(bucket))
    }

    /// `t` when a bucket starts there, else the end of the bucket holding
    /// it: where a period edge that falls inside a bucket goes (rollups
    /// cannot split a bucket, so the bucket is counted whole).
    pub fn ceil(self, t: DateTime<Utc>) -> DateTime<Utc> {
        let bucket = self.containing(t);
        if bucket.start() == t {
            t
        } else {
            self.end(bucket)
        }
    }

    /// How many minutes (0–59) the start of `other`'s bucket holding `at`
    /// lies after the start of this bucketing's: 0 when a change of zone
    /// between the two keeps the bucket edges where they are.
    pub fn edge_shift_minutes(self, other: Self, at: DateTime<Utc>) -> i64 {
        let ours = self.containing(at).start();
        let theirs = other.containing(at).start();
        (theirs - ours).num_minutes().rem_euclid(60)
    }

    /// The bucket holding the same instant `weeks` weeks before `bucket`
    /// starts: the "same hour in previous weeks" of the alerts' baselines.
    pub fn weeks_before(self, bucket: Hour, weeks: i64) -> Hour {
        self.containing(bucket.start() - chrono::Duration::days(7 * weeks))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, NaiveDate, Timelike};

    fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
    }

    /// The buckets from `from` to `to`, as (start, minutes).
    fn walk(b: Bucketing, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<(DateTime<Utc>, i64)> {
        let mut out = Vec::new();
        let mut bucket = b.containing(from);
        while bucket.start() < to {
            let end = b.end(bucket);
            out.push((bucket.start(), (end - bucket.start()).num_minutes()));
            // Every instant of a bucket maps to it; its end starts the next.
            for probe in [bucket.start(), end - Duration::seconds(1)] {
                assert_eq!(b.containing(probe), bucket, "{probe}");
            }
            assert_eq!(b.containing(end).start(), end);
            bucket = b.next(bucket);
        }
        out
    }

    /// Buckets per local day of `date`, each local hour's start an edge.
    fn day(b: Bucketing, date: NaiveDate) -> Vec<(DateTime<Utc>, i64)> {
        let midnight = |d: NaiveDate| {
            b.tz()
                .from_local_datetime(&d.and_hms_opt(0, 0, 0).unwrap())
                .earliest()
                .unwrap()
                .with_timezone(&Utc)
        };
        let (from, to) = (midnight(date), midnight(date.succ_opt().unwrap()));
        assert_eq!(b.containing(from).start(), from, "midnight is an edge");
        assert_eq!(b.ceil(to), to);
        let buckets = walk(b, from, to);
        let minutes: i64 = buckets.iter().map(|x| x.1).sum();
        assert_eq!(minutes, (to - from).num_minutes());
        for (start, length) in &buckets {
            assert!(*length > 0 && *length <= 60, "{start}: {length}");
        }
        buckets
    }

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn whole_hour_zones_bucket_by_utc_hours() {
        for tz in [
            Tz::UTC,
            chrono_tz::Europe::Berlin,
            chrono_tz::America::New_York,
        ] {
            let b = Bucketing::new(tz);
            // Across Berlin's autumn change and an ordinary day.
            let mut t = utc(2026, 10, 24, 0, 0);
            while t < utc(2026, 10, 27, 0, 0) {
                assert_eq!(b.containing(t), Hour::containing(t), "{tz} {t}");
                assert_eq!(b.end(Hour::containing(t)), Hour::containing(t).end());
                t += Duration::minutes(7);
            }
        }
        assert_eq!(
            day(
                Bucketing::new(chrono_tz::Europe::Berlin),
                date(2026, 10, 25)
            )
            .len(),
            25
        );
        assert_eq!(
            day(Bucketing::new(chrono_tz::Europe::Berlin), date(2026, 3, 29)).len(),
            23
        );
    }

    #[test]
    fn half_and_three_quarter_hour_zones_bucket_by_local_hours() {
        let kolkata = Bucketing::new(chrono_tz::Asia::Kolkata);
        let b = kolkata.containing(utc(2026, 12, 1, 18, 29));
        assert_eq!(b.start(), utc(2026, 12, 1, 17, 30), "23:00 IST");
        assert_eq!(kolkata.end(b), utc(2026, 12, 1, 18, 30), "midnight IST");
        assert_eq!(day(kolkata, date(2026, 12, 2)).len(), 24);
        assert_eq!(
            kolkata.ceil(utc(2026, 12, 1, 12, 0)),
            utc(2026, 12, 1, 12, 30)
        );

        let kathmandu = Bucketing::new(chrono_tz::Asia::Kathmandu);
        let buckets = day(kathmandu, date(2026, 12, 2));
        assert_eq!(buckets.len(), 24);
        assert!(buckets.iter().all(|(s, _)| s.minute() == 15), "UTC+5:45");
    }

    #[test]
    fn half_hour_zones_keep_local_hours_across_their_changes() {
        // St John's: -3:30, -2:30 in summer; changes at 02:00 local.
        let st_johns = Bucketing::new(chrono_tz::America::St_Johns);
        assert_eq!(day(st_johns, date(2026, 3, 8)).len(), 23);
        assert_eq!(day(st_johns, date(2026, 11, 1)).len(), 25);
        // Adelaide: +9:30, +10:30 in summer; changes at 02:00/03:00 local.
        let adelaide = Bucketing::new(chrono_tz::Australia::Adelaide);
        assert_eq!(day(adelaide, date(2026, 4, 5)).len(), 25);
        assert_eq!(day(adelaide, date(2026, 10, 4)).len(), 23);
        for (s, _) in day(adelaide, date(2026, 10, 4)) {
            assert_eq!(s.minute(), 30);
        }
    }

    #[test]
    fn lord_howes_half_hour_changes_make_half_hour_buckets() {
        let lord_howe = Bucketing::new(chrono_tz::Australia::Lord_Howe);
        // 2026-10-04 02:00 +10:30 (15:30Z) → 02:30 +11: local 02:00 lasts 30 min.
        let spring = day(lord_howe, date(2026, 10, 4));
        assert_eq!(spring.len(), 24);
        assert!(
            spring.contains(&(utc(2026, 10, 3, 15, 30), 30)),
            "{spring:?}"
        );
        assert!(spring.contains(&(utc(2026, 10, 3, 16, 0), 60)));
        // 2026-04-05 02:00 +11 (15:00Z) → 01:30 +10:30: 01:30–02:00 twice.
        let autumn = day(lord_howe, date(2026, 4, 5));
        assert_eq!(autumn.len(), 25);
        assert!(autumn.contains(&(utc(2026, 4, 4, 14, 0), 60)), "{autumn:?}");
        assert!(autumn.contains(&(utc(2026, 4, 4, 15, 0), 30)));
        assert!(autumn.contains(&(utc(2026, 4, 4, 15, 30), 60)));
        assert_eq!(
            lord_howe.containing(utc(2026, 4, 4, 15, 10)).start(),
            utc(2026, 4, 4, 15, 0)
        );
        assert_eq!(
            lord_howe.weeks_before(Hour::containing(utc(2026, 4, 11, 15, 0)), 1),
            lord_howe.containing(utc(2026, 4, 4, 15, 0))
        );
    }

    #[test]
    fn a_change_of_zone_shifts_the_edges_by_the_minutes_of_the_offsets() {
        let at = utc(2026, 12, 3, 10, 50);
        let named = Bucketing::named;
        assert_eq!(
            named("Europe/Berlin").edge_shift_minutes(named("America/New_York"), at),
            0
        );
        assert_eq!(
            named("Europe/Berlin").edge_shift_minutes(named("Asia/Kolkata"), at),
            30
        );
        assert_eq!(
            named("UTC").edge_shift_minutes(named("Asia/Kathmandu"), at),
            15
        );
        assert_eq!(
            named("Asia/Kathmandu").edge_shift_minutes(named("UTC"), at),
            45
        );
        assert_eq!(named("Not/A_Zone"), Bucketing::UTC);
    }

    #[test]
    fn extreme_instants_have_a_bucket() {
        let b = Bucketing::new(chrono_tz::Asia::Kolkata);
        for at in [DateTime::<Utc>::MIN_UTC, DateTime::<Utc>::MAX_UTC] {
            let bucket = b.containing(at);
            assert!(bucket.start() <= at);
            assert!(b.end(bucket) - bucket.start() <= Duration::hours(1));
        }
    }
}
