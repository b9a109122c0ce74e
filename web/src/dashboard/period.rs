//! The period picker: the commands' timeframes (`?period=24h|7d|30d|90d|all`)
//! and custom local dates (`?period=custom&from=YYYY-MM-DD&to=YYYY-MM-DD`),
//! sent with a plain GET form so it works without JavaScript.

use std::fmt::Write as _;

use chrono_tz::Tz;
use serde::Deserialize;
use shared::time::Timeframe;

use super::html::escape;
use crate::view::{Choice as _, TimeframeChoice};

/// The query every page takes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct PeriodQuery {
    pub period: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub sort: Option<String>,
    pub order: Option<String>,
}

impl PeriodQuery {
    /// The timeframe asked for (7 days when none), or what is wrong with it.
    pub fn timeframe(&self, tz: Tz) -> Result<Timeframe, String> {
        match self.period.as_deref().unwrap_or("7d") {
            "custom" => crate::period::parse_custom(
                self.from.as_deref().unwrap_or_default(),
                self.to.as_deref().unwrap_or_default(),
                tz,
            ),
            key => TimeframeChoice::from_key(key)
                .and_then(TimeframeChoice::preset)
                .ok_or_else(|| {
                    format!(
                        "`{key}` is not a period I know. Choose one of: {}.",
                        TimeframeChoice::listed(TimeframeChoice::ALL)
                    )
                }),
        }
    }

    pub fn descending(&self) -> bool {
        self.order.as_deref() != Some("asc")
    }

    /// The period part of the query string.
    pub fn period_only(&self) -> String {
        let mut out = format!("period={}", encode(self.period.as_deref().unwrap_or("7d")));
        if self.period.as_deref() == Some("custom") {
            let _ = write!(
                out,
                "&from={}&to={}",
                encode(self.from.as_deref().unwrap_or_default()),
                encode(self.to.as_deref().unwrap_or_default())
            );
        }
        out
    }

    /// The whole query string (period and sort order).
    pub fn encode(&self) -> String {
        let mut out = self.period_only();
        if let Some(sort) = &self.sort {
            let _ = write!(
                out,
                "&sort={}&order={}",
                encode(sort),
                if self.descending() { "desc" } else { "asc" }
            );
        }
        out
    }

    /// The picker: one GET form, the presets as a select, two date inputs.
    pub fn picker(&self, action: &str) -> String {
        let current = self.period.as_deref().unwrap_or("7d");
        let mut out = format!(
            "<form class=\"picker\" method=\"get\" action=\"{}\"><label>Period <select name=\"period\" id=\"period\">",
            escape(action)
        );
        for choice in TimeframeChoice::ALL {
            let key = choice.key();
            let label = match choice {
                TimeframeChoice::Last24Hours => "Last 24 hours",
                TimeframeChoice::Last7Days => "Last 7 days",
                TimeframeChoice::Last30Days => "Last 30 days",
                TimeframeChoice::Last90Days => "Last 90 days",
                TimeframeChoice::AllTime => "All time",
                TimeframeChoice::Custom => "Custom dates",
            };
            let selected = if key == current { " selected" } else { "" };
            let _ = write!(out, "<option value=\"{key}\"{selected}>{label}</option>");
        }
        let _ = write!(
            out,
            "</select></label> <label>From <input type=\"date\" name=\"from\" id=\"from\" value=\"{}\"></label> \
             <label>To <input type=\"date\" name=\"to\" id=\"to\" value=\"{}\"></label> \
             <button type=\"submit\" id=\"show\">Show</button><span class=\"hint\">(dates apply to Custom dates)</span></form>",
            escape(self.from.as_deref().unwrap_or_default()),
            escape(self.to.as_deref().unwrap_or_default())
        );
        out
    }
}

/// Percent-encoding for a query value (dates and keys; anything else is
/// encoded byte by byte).
fn encode(value: &str) -> String {
    let mut out = String::new();
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.') {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_and_custom_dates_parse() {
        let q = |p: &str, f: &str, t: &str| PeriodQuery {
            period: Some(p.into()),
            from: Some(f.into()),
            to: Some(t.into()),
            ..PeriodQuery::default()
        };
        assert_eq!(
            PeriodQuery::default().timeframe(Tz::UTC),
            Ok(Timeframe::Last7Days)
        );
        assert_eq!(
            q("90d", "", "").timeframe(Tz::UTC),
            Ok(Timeframe::Last90Days)
        );
        assert!(matches!(
            q("custom", "2026-10-01", "2026-10-10").timeframe(Tz::UTC),
            Ok(Timeframe::Custom { .. })
        ));
        assert!(
            q("custom", "2026-10-10", "2026-10-01")
                .timeframe(Tz::UTC)
                .is_err()
        );
        assert!(q("1y", "", "").timeframe(Tz::UTC).is_err());
        assert_eq!(
            q("custom", "2026-10-01", "x&y").period_only(),
            "period=custom&from=2026-10-01&to=x%26y"
        );
    }
}
