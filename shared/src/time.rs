//! Time buckets and timeframes.

use chrono::{DateTime, Duration, DurationRound, Utc};
use serde::{Deserialize, Serialize};

/// The start of a UTC hour: the bucket every rollup row belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Hour(DateTime<Utc>);

impl Hour {
    /// The hour that contains `at`.
    pub fn containing(at: DateTime<Utc>) -> Self {
        Self(
            at.duration_trunc(Duration::hours(1))
                .expect("hour truncation of a valid instant"),
        )
    }

    pub fn start(self) -> DateTime<Utc> {
        self.0
    }

    pub fn end(self) -> DateTime<Utc> {
        self.0 + Duration::hours(1)
    }

    pub fn next(self) -> Self {
        Self(self.end())
    }

    /// The first instant of this hour's calendar month (UTC): rollups are
    /// partitioned by month.
    pub fn month_start(self) -> DateTime<Utc> {
        use chrono::{Datelike, TimeZone};
        Utc.with_ymd_and_hms(self.0.year(), self.0.month(), 1, 0, 0, 0)
            .single()
            .expect("the first of a month at midnight UTC exists")
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
    fn timeframe_keys_round_trip() {
        for key in ["24h", "7d", "30d", "90d", "all"] {
            assert_eq!(Timeframe::from_key(key).unwrap().key(), key);
        }
        assert_eq!(Timeframe::from_key("1y"), None);
        assert_eq!(Timeframe::Last7Days.length(), Some(Duration::days(7)));
    }
}
