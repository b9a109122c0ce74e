//! When things happen: the daily and weekly cycles that messages and voice
//! sessions follow.

use chrono::Datelike;

/// Relative message activity per UTC hour of the day.
pub(super) const MESSAGE_HOURS: [f64; 24] = [
    0.6, 0.4, 0.3, 0.2, 0.15, 0.15, 0.2, 0.3, 0.45, 0.6, 0.7, 0.8, 0.9, 0.95, 1.0, 1.05, 1.1, 1.2,
    1.4, 1.6, 1.7, 1.6, 1.3, 0.9,
];
/// Relative voice session starts per UTC hour: evenings.
pub(super) const VOICE_HOURS: [f64; 24] = [
    0.5, 0.3, 0.2, 0.1, 0.05, 0.05, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.5, 0.6, 0.7, 0.8, 1.0,
    1.4, 1.8, 2.0, 1.9, 1.5, 0.9,
];

/// Weekly cycle: busier weekends.
pub(super) fn weekday_factor(day_start_ms: i64) -> f64 {
    let date = chrono::DateTime::from_timestamp_millis(day_start_ms).expect("in range");
    match date.weekday() {
        chrono::Weekday::Sat | chrono::Weekday::Sun => 1.35,
        chrono::Weekday::Fri => 1.1,
        _ => 1.0,
    }
}
