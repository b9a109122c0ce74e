//! Local time: the wall clock of a time zone, and where its days begin.

use chrono::{NaiveDate, Offset, TimeZone};
use chrono_tz::Tz;

use super::HOUR_MS;

const MINUTE_MS: i64 = 60_000;

pub(super) fn local(t: i64, tz: Tz) -> chrono::DateTime<Tz> {
    tz.timestamp_millis_opt(t)
        .single()
        .expect("UTC instants map to one local time")
}

/// First instant (Unix ms) of the local day after `date` in `tz`. Where that
/// midnight falls in a DST gap, the day starts at the first local time that
/// exists.
pub(super) fn next_local_midnight(date: NaiveDate, tz: Tz) -> i64 {
    let next = date
        .succ_opt()
        .expect("date in range")
        .and_hms_opt(0, 0, 0)
        .expect("midnight");
    (0..=24 * 4)
        .find_map(|quarter| {
            let wall = next + chrono::Duration::minutes(15 * quarter);
            tz.from_local_datetime(&wall).earliest()
        })
        .expect("a local day starts within a day")
        .timestamp_millis()
}

/// The UTC offset of `tz` at instant `t`, in ms.
fn offset_ms(t: i64, tz: Tz) -> i64 {
    i64::from(local(t, tz).offset().fix().local_minus_utc()) * 1000
}

/// Start (Unix ms) of the guild's rollup bucket holding `t` in `tz`: the
/// start of the local hour holding `t`, or the change of UTC offset after
/// it when one came between (offsets change on whole minutes). In a zone
/// of whole-hour offsets and changes these are the UTC hours.
pub fn bucket_start(t: i64, tz: Tz) -> i64 {
    let off = offset_ms(t, tz);
    let mut start = t - (t + off).rem_euclid(HOUR_MS);
    while offset_ms(start, tz) != off {
        start += MINUTE_MS;
    }
    start
}

/// End (Unix ms) of the bucket starting at `start`: the next local hour's
/// start, or the first change of UTC offset before it.
pub fn bucket_end(start: i64, tz: Tz) -> i64 {
    let off = offset_ms(start, tz);
    let next = start + HOUR_MS - (start + off).rem_euclid(HOUR_MS);
    if offset_ms(next, tz) == off {
        return next;
    }
    let mut t = start - start.rem_euclid(MINUTE_MS) + MINUTE_MS;
    while offset_ms(t, tz) == off {
        t += MINUTE_MS;
    }
    t.min(next)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::truth::HOUR_MS;

    #[test]
    fn local_midnights_across_dst_and_gaps() {
        let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap();
        // Berlin's 2026-10-25 lasts 25 hours: from 22:00Z on the 24th to 23:00Z.
        let berlin = chrono_tz::Europe::Berlin;
        assert_eq!(
            next_local_midnight(d(2026, 10, 24), berlin),
            1_792_879_200_000
        );
        assert_eq!(
            next_local_midnight(d(2026, 10, 25), berlin) - 1_792_879_200_000,
            25 * HOUR_MS
        );
        // Santiago skips midnight on 2026-09-06: the day begins at 01:00 local.
        let santiago = chrono_tz::America::Santiago;
        assert_eq!(
            next_local_midnight(d(2026, 9, 5), santiago),
            1_788_667_200_000
        );
    }

    #[test]
    fn buckets_are_local_hours_cut_at_offset_changes() {
        let utc_ms = |y, mo, d, h, mi| {
            chrono::Utc
                .with_ymd_and_hms(y, mo, d, h, mi, 0)
                .unwrap()
                .timestamp_millis()
        };
        // Kolkata (UTC+5:30): buckets start at :30 UTC.
        let kolkata = chrono_tz::Asia::Kolkata;
        let t = utc_ms(2026, 12, 1, 10, 10);
        assert_eq!(bucket_start(t, kolkata), utc_ms(2026, 12, 1, 9, 30));
        assert_eq!(
            bucket_end(utc_ms(2026, 12, 1, 9, 30), kolkata),
            utc_ms(2026, 12, 1, 10, 30)
        );
        // UTC: the UTC hour.
        assert_eq!(bucket_start(t, chrono_tz::UTC), utc_ms(2026, 12, 1, 10, 0));
        // Lord Howe leaves DST at 15:00 UTC on 4 April 2026 (02:00 +11 back
        // to 01:30 +10:30): the bucket from 14:00 UTC ends there, and the
        // next lasts 30 minutes.
        let lord_howe = chrono_tz::Australia::Lord_Howe;
        assert_eq!(
            bucket_start(utc_ms(2026, 4, 4, 14, 50), lord_howe),
            utc_ms(2026, 4, 4, 14, 0)
        );
        assert_eq!(
            bucket_end(utc_ms(2026, 4, 4, 14, 0), lord_howe),
            utc_ms(2026, 4, 4, 15, 0)
        );
        assert_eq!(
            bucket_start(utc_ms(2026, 4, 4, 15, 10), lord_howe),
            utc_ms(2026, 4, 4, 15, 0)
        );
        assert_eq!(
            bucket_end(utc_ms(2026, 4, 4, 15, 0), lord_howe),
            utc_ms(2026, 4, 4, 15, 30)
        );
    }
}
