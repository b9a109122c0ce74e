//! What a report shows, encoded in `custom_id`s so buttons, selects and the
//! custom-timeframe modal need no server-side session.
//!
//! Format: `<view>:<args…>:<timeframe>`, the timeframe being a preset key or
//! `c<from>-<to>` in Unix seconds. Every id stays under Discord's 100
//! characters (two 20-digit ids plus a few words at most).

use chrono::{DateTime, Utc};
use shared::Snowflake;
use shared::db::analytics::LeaderboardMetric;
use shared::time::Timeframe;

/// Rows on a leaderboard page.
pub const PAGE_SIZE: i64 = 10;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    Overview,
    Members(MembersCategory),
    Activity(ActivityKind),
    Channels(ChannelKind),
    Trends(TrendMetric),
    Member(Snowflake),
    Channel(Snowflake, ChannelMetric),
    Comparative(TrendMetric, Option<Snowflake>, Option<Snowflake>),
    TopMessagers,
    Leaderboard(Option<Snowflake>, BoardMetric, i64),
}

macro_rules! keyed_enum {
    ($name:ident { $($variant:ident = $key:literal),+ $(,)? }) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum $name { $($variant),+ }
        impl $name {
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];
            pub fn key(self) -> &'static str { match self { $(Self::$variant => $key),+ } }
            pub fn from_key(key: &str) -> Option<Self> {
                match key { $($key => Some(Self::$variant),)+ _ => None }
            }
        }
    };
}

keyed_enum!(MembersCategory { Growth = "growth", Activity = "activity", Retention = "retention", Top = "top" });
keyed_enum!(ActivityKind { Messages = "messages", Voice = "voice", Reactions = "reactions", Threads = "threads" });
keyed_enum!(ChannelKind { Text = "text", Voice = "voice", Threads = "threads", Forum = "forum" });
keyed_enum!(TrendMetric { Messages = "messages", Members = "members", Voice = "voice", Reactions = "reactions" });
keyed_enum!(ChannelMetric { Messages = "messages", Voice = "voice" });
keyed_enum!(BoardMetric { Messages = "messages", Voice = "voice", Reactions = "reactions" });

impl BoardMetric {
    pub fn metric(self) -> LeaderboardMetric {
        match self {
            Self::Messages => LeaderboardMetric::Messages,
            Self::Voice => LeaderboardMetric::VoiceSeconds,
            Self::Reactions => LeaderboardMetric::ReactionsGiven,
        }
    }
}

fn id_or_dash(id: Option<Snowflake>) -> String {
    id.map_or_else(|| "-".to_owned(), |i| i.to_string())
}

fn parse_id(text: &str) -> Option<Option<Snowflake>> {
    if text == "-" {
        Some(None)
    } else {
        text.parse().ok().map(Some)
    }
}

impl View {
    /// The view without its timeframe, e.g. `me:growth`.
    pub fn encode(self) -> String {
        match self {
            Self::Overview => "ov".into(),
            Self::Members(c) => format!("me:{}", c.key()),
            Self::Activity(k) => format!("ac:{}", k.key()),
            Self::Channels(k) => format!("ch:{}", k.key()),
            Self::Trends(m) => format!("tr:{}", m.key()),
            Self::Member(u) => format!("mm:{u}"),
            Self::Channel(c, m) => format!("mc:{c}:{}", m.key()),
            Self::Comparative(m, a, b) => {
                format!("cp:{}:{}:{}", m.key(), id_or_dash(a), id_or_dash(b))
            }
            Self::TopMessagers => "tp".into(),
            Self::Leaderboard(c, m, page) => format!("lb:{}:{}:{page}", id_or_dash(c), m.key()),
        }
    }

    pub fn decode(text: &str) -> Option<Self> {
        let parts: Vec<&str> = text.split(':').collect();
        Some(match parts.as_slice() {
            ["ov"] => Self::Overview,
            ["me", c] => Self::Members(MembersCategory::from_key(c)?),
            ["ac", k] => Self::Activity(ActivityKind::from_key(k)?),
            ["ch", k] => Self::Channels(ChannelKind::from_key(k)?),
            ["tr", m] => Self::Trends(TrendMetric::from_key(m)?),
            ["mm", u] => Self::Member(u.parse().ok()?),
            ["mc", c, m] => Self::Channel(c.parse().ok()?, ChannelMetric::from_key(m)?),
            ["cp", m, a, b] => {
                Self::Comparative(TrendMetric::from_key(m)?, parse_id(a)?, parse_id(b)?)
            }
            ["tp"] => Self::TopMessagers,
            ["lb", c, m, page] => {
                Self::Leaderboard(parse_id(c)?, BoardMetric::from_key(m)?, page.parse().ok()?)
            }
            _ => return None,
        })
    }
}

pub fn encode_timeframe(timeframe: Timeframe) -> String {
    match timeframe {
        Timeframe::Custom { from, to } => format!("c{}-{}", from.timestamp(), to.timestamp()),
        preset => preset.key().to_owned(),
    }
}

pub fn decode_timeframe(text: &str) -> Option<Timeframe> {
    if let Some(range) = text.strip_prefix('c') {
        let (from, to) = range.split_once('-')?;
        let at = |s: &str| {
            s.parse()
                .ok()
                .and_then(|t| DateTime::<Utc>::from_timestamp(t, 0))
        };
        let (from, to) = (at(from)?, at(to)?);
        return (from < to).then_some(Timeframe::Custom { from, to });
    }
    Timeframe::from_key(text)
}

/// A report request: what to show over which timeframe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Request {
    pub view: View,
    pub timeframe: Timeframe,
}

impl Request {
    /// `r|<view>|<timeframe>`: a button or select showing this request.
    pub fn custom_id(self) -> String {
        format!(
            "r|{}|{}",
            self.view.encode(),
            encode_timeframe(self.timeframe)
        )
    }

    pub fn from_custom_id(id: &str) -> Option<Self> {
        let mut parts = id.split('|');
        if parts.next()? != "r" {
            return None;
        }
        let view = View::decode(parts.next()?)?;
        let timeframe = decode_timeframe(parts.next()?)?;
        parts.next().is_none().then_some(Self { view, timeframe })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_view_round_trips_through_a_short_custom_id() {
        let big = Snowflake(u64::MAX);
        let custom = Timeframe::Custom {
            from: DateTime::from_timestamp(1_790_000_000, 0).unwrap(),
            to: DateTime::from_timestamp(1_790_600_000, 0).unwrap(),
        };
        let views = [
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
        ];
        for view in views {
            for timeframe in [Timeframe::Last7Days, Timeframe::AllTime, custom] {
                let request = Request { view, timeframe };
                let id = request.custom_id();
                assert!(id.len() <= 100, "{id}");
                assert_eq!(Request::from_custom_id(&id), Some(request), "{id}");
            }
        }
        assert_eq!(Request::from_custom_id("r|zz|7d"), None);
        assert_eq!(Request::from_custom_id("r|ov|1y"), None);
    }
}
