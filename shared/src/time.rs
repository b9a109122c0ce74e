//! Time buckets and timeframes.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

/// The start of a rollup bucket: a UTC hour, or for a guild whose timezone
/// is not a whole number of hours from UTC, the UTC instant at which one of
/// its local hours began (see [`crate::bucketing::Bucketing`]). Every rollup
/// row belongs to one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Hour(DateTime<Utc>);

impl Hour {
    /// The hour that contains `at`. Total: whole seconds floored to a
    /// multiple of 3600, so any instant chrono holds has its hour (chrono's
    /// first instant starts an hour). Times from the wire are checked with
    /// [`wire_time`] before they get here.
    pub fn containing(at: DateTime<Utc>) -> Self {
        let start = at.timestamp().div_euclid(3600) * 3600;
        Self(DateTime::from_timestamp(start, 0).unwrap_or(DateTime::<Utc>::MIN_UTC))
    }

    /// The bucket that starts at `start`, as stored (a guild's bucketing
    /// decides where its buckets start; a row read back keeps its start).
    pub fn at(start: DateTime<Utc>) -> Self {
        Self(start)
    }

    pub fn start(self) -> DateTime<Utc> {
        self.0
    }

    /// The first instant an hour after the start; the last instant chrono
    /// holds for the final hour of its range. A bucket of a guild's local
    /// hours may end earlier: [`crate::bucketing::Bucketing::end`].
    pub fn end(self) -> DateTime<Utc> {
        self.0
            .checked_add_signed(Duration::hours(1))
            .unwrap_or(DateTime::<Utc>::MAX_UTC)
    }

    pub fn next(self) -> Self {
        Self(self.end())
    }

    /// The first instant of the calendar month (UTC) of this bucket's start:
    /// rollups are partitioned by month.
    pub fn month_start(self) -> DateTime<Utc> {
        use chrono::{Datelike, TimeZone};
        Utc.with_ymd_and_hms(self.0.year(), self.0.month(), 1, 0, 0, 0)
            .single()
            .expect("the first of a month at midnight UTC exists")
    }
}

/// How far after its arrival a time read from the wire may lie: clock skew
/// between Discord's machines and ours.
pub const WIRE_SKEW: Duration = Duration::days(1);

/// A time from the wire outside the accepted window (see [`wire_time`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("time {0} is before Discord's epoch or more than a day after its arrival")]
pub struct OutOfRange(pub DateTime<Utc>);

/// Checks a time read from a gateway payload (a `joined_at`, a snowflake's
/// time) against the event's arrival: accepted from Discord's epoch
/// (2015-01-01) to [`WIRE_SKEW`] after `arrival`. Nothing Discord sends is
/// older than its epoch or from the future; an accepted time has an hour and
/// a month partition (`serverpulse_ensure_partitions` creates any month).
pub fn wire_time(at: DateTime<Utc>, arrival: DateTime<Utc>) -> Result<DateTime<Utc>, OutOfRange> {
    let epoch = DateTime::from_timestamp_millis(crate::ids::DISCORD_EPOCH_MS)
        .expect("Discord's epoch is a valid instant");
    let latest = arrival
        .checked_add_signed(WIRE_SKEW)
        .unwrap_or(DateTime::<Utc>::MAX_UTC);
    if at < epoch || at > latest {
        Err(OutOfRange(at))
    } else {
        Ok(at)
    }
}

/// The periods commands report on. Every period is compared with the
/// previous period of equal length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Timeframe {
    Last24Hours,
    Last7Days,
    Last30Days,
    Last90Days,
    AllTime,
    /// Half-open `[from, to)`.
    Custom {
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    },
}

impl Timeframe {
    /// The option value used in commands and `custom_id`s.
    pub fn key(self) -> &'static str {
        match self {
            Self::Last24Hours => "24h",
            Self::Last7Days => "7d",
            Self::Last30Days => "30d",
            Self::Last90Days => "90d",
            Self::AllTime => "all",
            Self::Custom { .. } => "custom",
        }
    }

    /// Parses a preset key (`24h`, `7d`, `30d`, `90d`, `all`).
    pub fn from_key(key: &str) -> Option<Self> {
        Some(match key {
            "24h" => Self::Last24Hours,
            "7d" => Self::Last7Days,
            "30d" => Self::Last30Days,
            "90d" => Self::Last90Days,
            "all" => Self::AllTime,
            _ => return None,
        })
    }

    /// The length of a preset window; `None` for all time.
    pub fn length(self) -> Option<Duration> {
        match self {
            Self::Last24Hours => Some(Duration::hours(24)),
            Self::Last7Days => Some(Duration::days(7)),
            Self::Last30Days => Some(Duration::days(30)),
            Self::Last90Days => Some(Duration::days(90)),
            Self::AllTime => None,
            Self::Custom { from, to } => Some(to - from),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn hours_truncate_and_step() {
        let at = Utc.with_ymd_and_hms(2026, 10, 31, 23, 59, 59).unwrap();
        let hour = Hour::containing(at);
        assert_eq!(
            hour.start(),
            Utc.with_ymd_and_hms(2026, 10, 31, 23, 0, 0).unwrap()
        );
        assert_eq!(
            hour.next().start(),
            Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap()
        );
        assert_eq!(
            hour.month_start(),
            Utc.with_ymd_and_hms(2026, 10, 1, 0, 0, 0).unwrap()
        );
        assert_eq!(Hour::containing(hour.start()), hour);
    }

    #[test]
    fn any_instant_has_an_hour() {
        for at in [
            Utc.with_ymd_and_hms(9999, 12, 31, 23, 59, 59).unwrap(),
            Utc.with_ymd_and_hms(1969, 12, 31, 23, 30, 0).unwrap(),
            DateTime::<Utc>::MIN_UTC,
            DateTime::<Utc>::MAX_UTC,
        ] {
            let hour = Hour::containing(at);
            assert!(
                hour.start() <= at && at < hour.end() || hour.end() == at,
                "{at}"
            );
            assert!(hour.end() - hour.start() <= Duration::hours(1));
            assert!(hour.month_start() <= hour.start());
        }
        assert_eq!(
            Hour::containing(Utc.with_ymd_and_hms(1969, 12, 31, 23, 30, 0).unwrap()).start(),
            Utc.with_ymd_and_hms(1969, 12, 31, 23, 0, 0).unwrap()
        );
    }

    #[test]
    fn wire_times_from_discords_epoch_to_a_day_after_arrival() {
        let arrival = Utc.with_ymd_and_hms(2026, 12, 1, 12, 0, 0).unwrap();
        let ok = |at| wire_time(at, arrival);
        assert_eq!(ok(arrival), Ok(arrival));
        let epoch = Utc.with_ymd_and_hms(2015, 1, 1, 0, 0, 0).unwrap();
        assert_eq!(ok(epoch), Ok(epoch));
        assert_eq!(ok(arrival + WIRE_SKEW), Ok(arrival + WIRE_SKEW));
        for bad in [
            epoch - Duration::milliseconds(1),
            arrival + WIRE_SKEW + Duration::seconds(1),
            Utc.with_ymd_and_hms(9999, 1, 1, 0, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(1970, 1, 1, 0, 0, 0).unwrap(),
        ] {
            assert_eq!(ok(bad), Err(OutOfRange(bad)));
        }
    }

    #[test]
    fn timeframe_keys_round_trip() {
        for key in ["24h", "7d", "30d", "90d", "all"] {
            assert_eq!(Timeframe::from_key(key).unwrap().key(), key);
        }
        assert_eq!(Timeframe::from_key("1y"), None);
        assert_eq!(Timeframe::Last7Days.length(), Some(Duration::days(7)));
    }
}
