//! Every `custom_id` ServerPulse creates, encoded and parsed by one type.
//!
//! A component's whole state lives in its id, so buttons, selects and the
//! custom-dates form need no server-side session. Ids start with
//! [`VERSION`]; an id without it comes from a message of an earlier release
//! and is answered with "out of date" instead of being guessed at.
//!
//! Format: `sp1|<kind>|<args…>`, a view written as `<view>:<args…>` and a
//! timeframe as a preset key or `c<from>_<to>` in Unix seconds. Every id
//! stays within Discord's 100 characters (two 20-digit ids and a custom
//! range at most; see the tests).

use chrono::{DateTime, Utc};
use shared::time::Timeframe;

use crate::error::Failure;
use crate::report::health::HealthFigure;
use crate::view::{Choice, Request, View};

/// The first field of every id; bump it when the format changes.
pub const VERSION: &str = "sp1";

/// Discord's limit on a `custom_id`.
pub const MAX_LEN: usize = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ComponentId {
    /// A button showing a report: a timeframe, or a leaderboard page.
    Report(Request),
    /// The disabled button of the timeframe shown (ids within a message
    /// must differ, and a report id may already be a paging button's).
    ShownTimeframe(Timeframe),
    /// The button opening the custom-dates form for a view.
    CustomDates(View),
    /// The custom-dates form (a modal) for a view.
    CustomDatesForm(View),
    /// The form's text inputs: first and last local day.
    FirstDay,
    LastDay,
    /// The select of sibling reports; its option values are
    /// [`View::encode`]s, shown over this timeframe.
    ReportSelect(Timeframe),
    /// The `/setup` select of channels to collect.
    SetupChannels,
    /// The `/ai-provider key` form for the provider chosen when it opened.
    ApiKeyForm(shared::config::ProviderKind),
    /// Its text input.
    ApiKeyInput,
    /// A page of `/audit` (0 the newest).
    Audit(AuditLog, u32),
    /// The definition of a community health figure (the overview's buttons).
    Definition(HealthFigure),
}

/// Which log `/audit` shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditLog {
    /// Who changed which setting.
    Settings,
    /// Who analysed whom, who exported what.
    Access,
}

impl AuditLog {
    pub fn key(self) -> &'static str {
        match self {
            Self::Settings => "settings",
            Self::Access => "access",
        }
    }

    pub fn from_key(key: &str) -> Option<Self> {
        match key {
            "settings" => Some(Self::Settings),
            "access" => Some(Self::Access),
            _ => None,
        }
    }
}

/// Why an id could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    /// Not of this release's format: a message from an earlier release.
    #[error("This message is out of date — run the command again.")]
    OutOfDate,
    /// Of this release's format, but not an id ServerPulse made.
    #[error("ServerPulse cannot read this component; run the command again.")]
    Malformed,
}

impl From<IdError> for Failure {
    fn from(error: IdError) -> Self {
        Failure::user(error.to_string())
    }
}

impl ComponentId {
    pub fn encode(self) -> String {
        let body = match self {
            Self::Report(request) => format!(
                "r|{}|{}",
                request.view.encode(),
                encode_timeframe(request.timeframe)
            ),
            Self::ShownTimeframe(timeframe) => format!("now|{}", encode_timeframe(timeframe)),
            Self::CustomDates(view) => format!("tfc|{}", view.encode()),
            Self::CustomDatesForm(view) => format!("tf|{}", view.encode()),
            Self::FirstDay => "from".into(),
            Self::LastDay => "to".into(),
            Self::ReportSelect(timeframe) => format!("sel|{}", encode_timeframe(timeframe)),
            Self::SetupChannels => "setup".into(),
            Self::ApiKeyForm(kind) => format!("aik|{}", kind.name()),
            Self::ApiKeyInput => "key".into(),
            Self::Audit(log, page) => format!("aud|{}|{page}", log.key()),
            Self::Definition(figure) => format!("def|{}", figure.key()),
        };
        let id = format!("{VERSION}|{body}");
        debug_assert!(id.len() <= MAX_LEN, "{id}");
        id
    }

    pub fn parse(id: &str) -> Result<Self, IdError> {
        let body = id
            .strip_prefix(VERSION)
            .and_then(|rest| rest.strip_prefix('|'))
            .ok_or(IdError::OutOfDate)?;
        let parts: Vec<&str> = body.split('|').collect();
        let parsed = match parts.as_slice() {
            ["r", view, timeframe] => View::decode(view)
                .zip(decode_timeframe(timeframe))
                .map(|(view, timeframe)| Self::Report(Request { view, timeframe })),
            ["now", timeframe] => decode_timeframe(timeframe).map(Self::ShownTimeframe),
            ["tfc", view] => View::decode(view).map(Self::CustomDates),
            ["tf", view] => View::decode(view).map(Self::CustomDatesForm),
            ["from"] => Some(Self::FirstDay),
            ["to"] => Some(Self::LastDay),
            ["sel", timeframe] => decode_timeframe(timeframe).map(Self::ReportSelect),
            ["setup"] => Some(Self::SetupChannels),
            ["aik", kind] => shared::config::ProviderKind::parse(kind)
                .filter(|k| k.name() == *kind)
                .map(Self::ApiKeyForm),
            ["key"] => Some(Self::ApiKeyInput),
            ["aud", log, page] => AuditLog::from_key(log)
                .zip(page.parse::<u32>().ok().filter(|p| p.to_string() == *page))
                .map(|(log, page)| Self::Audit(log, page)),
            ["def", figure] => HealthFigure::from_key(figure).map(Self::Definition),
            _ => None,
        };
        parsed.ok_or(IdError::Malformed)
    }
}

fn encode_timeframe(timeframe: Timeframe) -> String {
    match timeframe {
        Timeframe::Custom { from, to } => format!("c{}_{}", from.timestamp(), to.timestamp()),
        preset => preset.key().to_owned(),
    }
}

/// A preset, or a custom range of two instants. Its limits are checked
/// after decoding, with the form's ([`crate::view::Request::validate`]),
/// so a forged range gets the form's message.
fn decode_timeframe(text: &str) -> Option<Timeframe> {
    let Some(range) = text.strip_prefix('c') else {
        return Timeframe::from_key(text).filter(|t| !matches!(t, Timeframe::Custom { .. }));
    };
    let (from, to) = range.split_once('_')?;
    let at = |s: &str| DateTime::<Utc>::from_timestamp(s.parse().ok()?, 0);
    let (from, to) = (at(from)?, at(to)?);
    (from < to).then_some(Timeframe::Custom { from, to })
}

#[cfg(test)]
mod tests {
    use shared::Snowflake;

    use super::*;
    use crate::period::MAX_CUSTOM_DAYS;
    use crate::view::{
        ActivityKind, BoardMetric, ChannelKind, ChannelMetric, MembersCategory, TrendMetric,
    };

    fn custom() -> Timeframe {
        Timeframe::Custom {
            from: DateTime::from_timestamp(1_790_000_000, 0).unwrap(),
            to: DateTime::from_timestamp(1_790_600_000, 0).unwrap(),
        }
    }

    fn views() -> Vec<View> {
        let big = Snowflake(u64::MAX);
        vec![
            View::Overview,
            View::Members(MembersCategory::Retention),
            View::Activity(ActivityKind::Voice),
            View::Channels(ChannelKind::Forum),
            View::Trends(TrendMetric::Members),
            View::Member(big),
            View::Channel(big, ChannelMetric::Voice),
            View::Comparative(TrendMetric::Messages, Some(big), None),
            View::Comparative(TrendMetric::Voice, Some(big), Some(big)),
            View::TopMessagers,
            View::Leaderboard(Some(big), BoardMetric::Reactions, 12),
            View::Leaderboard(None, BoardMetric::Voice, u32::MAX),
            View::Leaderboard(Some(big), BoardMetric::ReactionsReceived, u32::MAX),
            View::Activity(ActivityKind::Emoji),
            View::Channels(ChannelKind::Health),
            View::Channels(ChannelKind::Deletions),
            View::Channel(big, ChannelMetric::Emoji),
        ]
    }

    #[test]
    fn every_id_round_trips_within_discords_limit() {
        let mut ids = vec![
            ComponentId::FirstDay,
            ComponentId::LastDay,
            ComponentId::SetupChannels,
            ComponentId::Audit(AuditLog::Settings, 0),
            ComponentId::Audit(AuditLog::Access, u32::MAX),
        ];
        ids.extend(
            HealthFigure::ALL
                .iter()
                .map(|f| ComponentId::Definition(*f)),
        );
        for timeframe in [Timeframe::Last24Hours, Timeframe::AllTime, custom()] {
            ids.push(ComponentId::ShownTimeframe(timeframe));
            ids.push(ComponentId::ReportSelect(timeframe));
            for view in views() {
                ids.push(ComponentId::Report(Request { view, timeframe }));
            }
        }
        for view in views() {
            ids.push(ComponentId::CustomDates(view));
            ids.push(ComponentId::CustomDatesForm(view));
            assert_eq!(View::decode(&view.encode()), Some(view));
        }
        for id in ids {
            let text = id.encode();
            assert!(text.len() <= MAX_LEN, "{text}");
            assert!(text.starts_with("sp1|"), "{text}");
            assert_eq!(ComponentId::parse(&text), Ok(id), "{text}");
        }
    }

    #[test]
    fn the_longest_id_fits() {
        // The longest view, over the widest custom range a forged or real
        // id can carry (timestamps of chrono's last representable year).
        let big = Snowflake(u64::MAX);
        let last = DateTime::<Utc>::MAX_UTC.timestamp() - 86_400;
        let to = DateTime::from_timestamp(last, 0).unwrap();
        let longest = ComponentId::Report(Request {
            view: View::Comparative(TrendMetric::Reactions, Some(big), Some(big)),
            timeframe: Timeframe::Custom {
                from: to - chrono::Duration::days(MAX_CUSTOM_DAYS),
                to,
            },
        });
        let text = longest.encode();
        assert!(text.len() <= MAX_LEN, "{} characters: {text}", text.len());
        assert_eq!(ComponentId::parse(&text), Ok(longest));
        let before_1970 = ComponentId::Report(Request {
            view: View::Overview,
            timeframe: Timeframe::Custom {
                from: DateTime::from_timestamp(-86_400 * 3, 0).unwrap(),
                to: DateTime::from_timestamp(-86_400, 0).unwrap(),
            },
        });
        assert_eq!(ComponentId::parse(&before_1970.encode()), Ok(before_1970));
    }

    #[test]
    fn ids_of_earlier_releases_are_out_of_date() {
        for old in [
            "r|ov|7d",
            "r|lb:-:messages:1|30d",
            "tfc|me:growth",
            "tf|tr:messages",
            "sel|7d",
            "now|7d",
            "setup|channels",
            "sp0|r|ov|7d",
            "from",
            "",
        ] {
            assert_eq!(ComponentId::parse(old), Err(IdError::OutOfDate), "{old}");
        }
    }

    #[test]
    fn forged_ids_are_refused_not_guessed() {
        for forged in [
            "sp1|",
            "sp1|r|zz|7d",
            "sp1|r|ov|1y",
            "sp1|r|ov|custom",
            "sp1|r|ov|7d|extra",
            "sp1|r|lb:-:messages:-1|7d",
            "sp1|r|lb:-:messages:99999999999|7d",
            "sp1|r|mm:18446744073709551616|7d",
            "sp1|r|ov|c200_100",
            "sp1|r|ov|c-9223372036854775808_0",
            "sp1|r|ov|c1_",
            "sp1|tf|",
            "sp1|sel|c1",
            "sp1|setup|channels",
            "sp1|aud|settings|-1",
            "sp1|aud|settings|01",
            "sp1|aud|other|0",
            "sp1|r|ov|7d\u{0}",
            "sp1|r|ov|7d🙂",
        ] {
            assert_eq!(
                ComponentId::parse(forged),
                Err(IdError::Malformed),
                "{forged}"
            );
        }
    }
}
