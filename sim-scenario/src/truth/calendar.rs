//! Local time: the wall clock of a time zone, and where its days begin.

use chrono::{NaiveDate, TimeZone};
use chrono_tz::Tz;

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
}
