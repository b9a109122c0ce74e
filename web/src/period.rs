//! Timeframes made concrete: UTC ranges, local days across daylight-saving
//! changes, comparisons with the previous period, and the forecast.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use shared::bucketing::Bucketing;
use shared::time::Timeframe;

/// A half-open UTC range `[from, to)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

impl Period {
    /// The period of equal length just before this one.
    pub fn previous(self) -> Self {
        let length = self.to - self.from;
        Self {
            from: self.from - length,
            to: self.from,
        }
    }

    pub fn days(self) -> f64 {
        (self.to - self.from).num_seconds() as f64 / 86_400.0
    }
}

/// The range a timeframe covers at `now`; "all time" starts at the first
/// recorded hour (`None` when nothing was recorded). Presets end at the end
/// of the guild's bucket holding `now` (its local hour: a UTC hour in
/// whole-hour zones), so they include the current one.
pub fn resolve(
    timeframe: Timeframe,
    now: DateTime<Utc>,
    first_hour: Option<DateTime<Utc>>,
    bucketing: Bucketing,
) -> Option<Period> {
    let to = bucketing.ceil(now);
    match timeframe {
        Timeframe::Custom { from, to } => Some(Period { from, to }),
        Timeframe::AllTime => first_hour.map(|from| Period {
            from: from.min(to),
            to,
        }),
        preset => preset.length().map(|length| Period {
            from: to - length,
            to,
        }),
    }
}

/// The first instant of local `date` in `tz`; where midnight falls in a DST
/// gap, the first local time that exists.
pub fn local_midnight(date: NaiveDate, tz: Tz) -> DateTime<Utc> {
    let midnight = date.and_hms_opt(0, 0, 0).expect("midnight exists");
    (0..=24 * 4)
        .find_map(|quarter| {
            tz.from_local_datetime(&(midnight + Duration::minutes(15 * quarter)))
                .earliest()
        })
        .expect("a local day starts within a day")
        .with_timezone(&Utc)
}

/// Longest custom range accepted.
pub const MAX_CUSTOM_DAYS: i64 = 400;

/// A custom timeframe from two local dates (`YYYY-MM-DD`, both included).
pub fn parse_custom(from: &str, to: &str, tz: Tz) -> Result<Timeframe, String> {
    let parse = |text: &str| {
        NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
            .map_err(|_| format!("`{}` is not a date like 2026-10-31.", text.trim()))
    };
    let (first, last) = (parse(from)?, parse(to)?);
    if last < first {
        return Err("The end date is before the start date.".into());
    }
    let end = last.succ_opt().ok_or("The end date is out of range.")?;
    let (from, to) = (local_midnight(first, tz), local_midnight(end, tz));
    check_custom(from, to)?;
    Ok(Timeframe::Custom { from, to })
}

/// The first instant a custom range may start: a day before Discord's
/// epoch (2015-01-01), so every timezone's first local day fits.
pub fn earliest_custom() -> DateTime<Utc> {
    DateTime::from_timestamp(1_420_070_400 - 86_400, 0).expect("a valid instant")
}

/// The last instant a custom range may end: a day after 9999-12-31.
pub fn latest_custom() -> DateTime<Utc> {
    DateTime::from_timestamp(253_402_300_800 + 86_400, 0).expect("a valid instant")
}

/// The limits of a custom range, wherever it comes from (the form, or a
/// button's id decoded again): it ends after it starts, spans at most
/// [`MAX_CUSTOM_DAYS`] local days (an hour more across a DST change) and
/// lies between 2015 and 9999.
pub fn check_custom(from: DateTime<Utc>, to: DateTime<Utc>) -> Result<(), String> {
    if to <= from {
        return Err("The end date is before the start date.".into());
    }
    if to - from > Duration::days(MAX_CUSTOM_DAYS) + Duration::hours(1) {
        return Err(format!("Choose at most {MAX_CUSTOM_DAYS} days."));
    }
    if from < earliest_custom() || to > latest_custom() {
        return Err("Choose dates between 2015-01-01 and 9999-12-31.".into());
    }
    Ok(())
}

/// Values per UTC hour summed per local calendar day.
pub fn per_local_day(rows: &[(DateTime<Utc>, i64)], tz: Tz) -> BTreeMap<NaiveDate, i64> {
    let mut days = BTreeMap::new();
    for (hour, value) in rows {
        *days
            .entry(hour.with_timezone(&tz).date_naive())
            .or_insert(0) += value;
    }
    days
}

/// Every local date touched by the period, in order.
pub fn local_days(period: Period, tz: Tz) -> Vec<NaiveDate> {
    let first = period.from.with_timezone(&tz).date_naive();
    let last = (period.to - Duration::seconds(1))
        .with_timezone(&tz)
        .date_naive();
    first.iter_days().take_while(|d| *d <= last).collect()
}

/// Values per local `[weekday][hour]` (weekday 0 = Monday). On the autumn
/// change the repeated wall-clock hour gets both real hours; in spring the
/// skipped hour gets nothing.
pub fn heatmap(rows: &[(DateTime<Utc>, i64)], tz: Tz) -> [[i64; 24]; 7] {
    let mut cells = [[0i64; 24]; 7];
    for (hour, value) in rows {
        let local = hour.with_timezone(&tz);
        cells[local.weekday().num_days_from_monday() as usize][local.hour() as usize] += value;
    }
    cells
}

/// Per local hour of day (0..24).
pub fn per_local_hour(rows: &[(DateTime<Utc>, i64)], tz: Tz) -> [i64; 24] {
    let mut hours = [0i64; 24];
    for (hour, value) in rows {
        hours[hour.with_timezone(&tz).hour() as usize] += value;
    }
    hours
}

/// `↑ 12.5%`, `↓ 3.0%`, `→ 0.0%`, `new` (nothing before) or `–` (nothing either time).
pub fn change(current: f64, previous: f64) -> String {
    if previous == 0.0 {
        return if current == 0.0 {
            "–".into()
        } else {
            "new".into()
        };
    }
    let percent = (current - previous) / previous.abs() * 100.0;
    if percent > 0.05 {
        format!("↑ {percent:.1}%")
    } else if percent < -0.05 {
        format!("↓ {:.1}%", -percent)
    } else {
        "→ 0.0%".into()
    }
}

/// A ten-cell Unicode bar with the percentage, e.g. `██████░░░░ 60.0%`.
pub fn progress_bar(part: f64, whole: f64) -> String {
    let ratio = if whole > 0.0 {
        (part / whole).clamp(0.0, 1.0)
    } else {
        0.0
    };
    let filled = (ratio * 10.0).round() as usize;
    format!(
        "{}{} {:.1}%",
        "█".repeat(filled),
        "░".repeat(10 - filled),
        ratio * 100.0
    )
}

/// A forecast of the next `horizon` days from daily totals.
#[derive(Debug, Clone, PartialEq)]
pub struct Forecast {
    /// Expected total over the horizon.
    pub total: f64,
    /// 95% prediction interval of that total.
    pub low: f64,
    pub high: f64,
    /// Trend of the fitted line, per day.
    pub slope_per_day: f64,
    /// Expected value, low and high per future day (for the chart band).
    pub daily: Vec<(f64, f64, f64)>,
}

/// Forecast method (stated in the message and the crate docs): an ordinary
/// least-squares line through the daily totals, extended `horizon` days;
/// the band is ±1.96 residual standard deviations per day and ±1.96·s·√h for
/// the total (errors taken as independent), floored at zero. Needs 3 days.
pub fn forecast(daily: &[f64], horizon: usize) -> Option<Forecast> {
    let n = daily.len();
    if n < 3 || horizon == 0 {
        return None;
    }
    let nf = n as f64;
    let mean_x = (nf - 1.0) / 2.0;
    let mean_y = daily.iter().sum::<f64>() / nf;
    let (mut sxy, mut sxx) = (0.0, 0.0);
    for (i, y) in daily.iter().enumerate() {
        let dx = i as f64 - mean_x;
        sxy += dx * (y - mean_y);
        sxx += dx * dx;
    }
    let slope = if sxx > 0.0 { sxy / sxx } else { 0.0 };
    let intercept = mean_y - slope * mean_x;
    let residual_ss: f64 = daily
        .iter()
        .enumerate()
        .map(|(i, y)| (y - (intercept + slope * i as f64)).powi(2))
        .sum();
    let s = (residual_ss / (nf - 2.0)).sqrt();
    let daily_band: Vec<(f64, f64, f64)> = (0..horizon)
        .map(|k| {
            let y = (intercept + slope * (n + k) as f64).max(0.0);
            (y, (y - 1.96 * s).max(0.0), y + 1.96 * s)
        })
        .collect();
    let total: f64 = daily_band.iter().map(|d| d.0).sum();
    let spread = 1.96 * s * (horizon as f64).sqrt();
    Some(Forecast {
        total,
        low: (total - spread).max(0.0),
        high: total + spread,
        slope_per_day: slope,
        daily: daily_band,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn berlin_days_are_23_and_25_hours_long_across_dst() {
        let berlin = chrono_tz::Europe::Berlin;
        let day = |d| NaiveDate::from_ymd_opt(2026, 10, d).unwrap();
        assert_eq!(
            (local_midnight(day(26), berlin) - local_midnight(day(25), berlin)).num_hours(),
            25
        );
        let march = |d| NaiveDate::from_ymd_opt(2026, 3, d).unwrap();
        assert_eq!(
            (local_midnight(march(30), berlin) - local_midnight(march(29), berlin)).num_hours(),
            23
        );
        // The repeated 02:00 hour gets both UTC hours in the heatmap.
        let h = |hh| Utc.with_ymd_and_hms(2026, 10, 25, hh, 0, 0).unwrap();
        let cells = heatmap(&[(h(0), 1), (h(1), 2), (h(2), 4)], berlin);
        assert_eq!(cells[6][2], 3, "00:00Z and 01:00Z are both 02:00 local");
        assert_eq!(cells[6][3], 4);
    }

    #[test]
    fn custom_dates_are_local_midnights_and_checked() {
        let tf = parse_custom("2026-10-25", "2026-10-25", chrono_tz::Europe::Berlin).unwrap();
        let Timeframe::Custom { from, to } = tf else {
            panic!("custom")
        };
        assert_eq!(from, Utc.with_ymd_and_hms(2026, 10, 24, 22, 0, 0).unwrap());
        assert_eq!((to - from).num_hours(), 25);
        assert!(parse_custom("2026-10-26", "2026-10-25", Tz::UTC).is_err());
        assert!(parse_custom("yesterday", "2026-10-25", Tz::UTC).is_err());
        assert!(parse_custom("2024-01-01", "2026-10-25", Tz::UTC).is_err());
    }

    #[test]
    fn ranges_end_on_the_hour_and_compare_with_the_previous_one() {
        let now = Utc.with_ymd_and_hms(2026, 10, 10, 12, 30, 0).unwrap();
        let p = resolve(Timeframe::Last24Hours, now, None, Bucketing::UTC).unwrap();
        assert_eq!(p.to, Utc.with_ymd_and_hms(2026, 10, 10, 13, 0, 0).unwrap());
        assert_eq!(p.previous().to, p.from);
        assert_eq!((p.previous().to - p.previous().from).num_hours(), 24);
        assert_eq!(resolve(Timeframe::AllTime, now, None, Bucketing::UTC), None);
        assert_eq!(Bucketing::UTC.ceil(p.to), p.to);
        // In Asia/Kolkata the hour ends at :30 UTC.
        let kolkata = Bucketing::new(chrono_tz::Asia::Kolkata);
        let p = resolve(Timeframe::Last7Days, now, None, kolkata).unwrap();
        assert_eq!(p.to, Utc.with_ymd_and_hms(2026, 10, 10, 12, 30, 0).unwrap());
        assert_eq!((p.to - p.from).num_days(), 7);
    }

    #[test]
    fn changes_bars_and_forecasts() {
        assert_eq!(change(110.0, 100.0), "↑ 10.0%");
        assert_eq!(change(50.0, 100.0), "↓ 50.0%");
        assert_eq!(change(5.0, 0.0), "new");
        assert_eq!(change(0.0, 0.0), "–");
        assert_eq!(progress_bar(1.0, 4.0), "███░░░░░░░ 25.0%");
        let f = forecast(&[10.0, 12.0, 14.0, 16.0], 2).unwrap();
        assert!((f.slope_per_day - 2.0).abs() < 1e-9);
        assert!((f.total - 38.0).abs() < 1e-9, "18 + 20");
        assert!(
            (f.high - f.low).abs() < 1e-9,
            "a perfect line has no spread"
        );
        let noisy = forecast(&[10.0, 20.0, 10.0, 20.0, 10.0], 7).unwrap();
        assert!(noisy.low < noisy.total && noisy.total < noisy.high);
        assert_eq!(forecast(&[1.0, 2.0], 7), None);
    }
}
