//! What a report shows: the views, and the choices commands offer for them.
//!
//! The choice enums are the one list of option values: the command
//! definitions offer their keys and the commands parse them back.
//! A view is written `<view>:<args…>` inside component ids
//! ([`crate::component`]) and as the values of the report select.

use shared::Snowflake;
use shared::db::analytics::LeaderboardMetric;
use shared::time::Timeframe;

/// Rows on a leaderboard page.
pub const PAGE_SIZE: i64 = 10;

/// The last leaderboard page asked for (0-based): a million ranked members.
/// A page past the board's last is shown as its last; past this one it is
/// refused.
pub const MAX_PAGE: u32 = 99_999;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
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
    /// A leaderboard page (0-based).
    Leaderboard(Option<Snowflake>, BoardMetric, u32),
}

/// A command option's value set: what the definitions offer and the
/// commands parse.
pub trait Choice: Copy + 'static {
    /// Every value, in the order offered.
    const ALL: &'static [Self];
    fn key(self) -> &'static str;
    fn from_key(key: &str) -> Option<Self>;

    /// `a, b, c`: the keys, for a message naming the valid ones.
    fn listed(values: &[Self]) -> String {
        values
            .iter()
            .map(|v| v.key())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// An enum whose variants are written as the given keys.
macro_rules! keyed_enum {
    ($name:ident { $($variant:ident = $key:literal),+ $(,)? }) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $($variant),+ }
        impl $crate::view::Choice for $name {
            const ALL: &'static [Self] = &[$(Self::$variant),+];
            fn key(self) -> &'static str { match self { $(Self::$variant => $key),+ } }
            fn from_key(key: &str) -> Option<Self> {
                match key { $($key => Some(Self::$variant),)+ _ => None }
            }
        }
    };
}
pub(crate) use keyed_enum;

keyed_enum!(MembersCategory { Growth = "growth", Activity = "activity", Retention = "retention", Top = "top" });
keyed_enum!(ActivityKind { Messages = "messages", Voice = "voice", Reactions = "reactions", Threads = "threads", Emoji = "emoji" });
keyed_enum!(ChannelKind {
    Text = "text", Voice = "voice", Threads = "threads", Forum = "forum", Health = "health", Deletions = "deletions",
});
keyed_enum!(TrendMetric { Messages = "messages", Members = "members", Voice = "voice", Reactions = "reactions" });
keyed_enum!(ChannelMetric { Messages = "messages", Voice = "voice", Emoji = "emoji" });
keyed_enum!(BoardMetric {
    Messages = "messages", Voice = "voice", Reactions = "reactions", ReactionsReceived = "reactions-received",
});

keyed_enum!(TimeframeChoice {
    Last24Hours = "24h", Last7Days = "7d", Last30Days = "30d", Last90Days = "90d", AllTime = "all",
    Custom = "custom",
});

impl TimeframeChoice {
    /// What /topmessagers offers: no 90 days, no custom dates.
    pub const TOP_MESSAGERS: &'static [Self] = &[
        Self::Last24Hours,
        Self::Last7Days,
        Self::Last30Days,
        Self::AllTime,
    ];

    /// The preset; `None` for custom dates (asked for with a form).
    pub fn preset(self) -> Option<Timeframe> {
        Timeframe::from_key(self.key())
    }

    /// The timeframes `view` offers on its buttons and in its command.
    pub fn offered(view: View) -> &'static [Self] {
        if view == View::TopMessagers {
            Self::TOP_MESSAGERS
        } else {
            Self::ALL
        }
    }
}

impl BoardMetric {
    pub fn metric(self) -> LeaderboardMetric {
        match self {
            Self::Messages => LeaderboardMetric::Messages,
            Self::Voice => LeaderboardMetric::VoiceSeconds,
            Self::Reactions => LeaderboardMetric::ReactionsGiven,
            Self::ReactionsReceived => LeaderboardMetric::ReactionsReceived,
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

    /// The view `encode` wrote; `None` for anything else.
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

/// A report request: what to show over which timeframe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Request {
    pub view: View,
    pub timeframe: Timeframe,
}

impl Request {
    /// The one check of a request's limits, whether it came from a
    /// command's options, the custom-dates form or a component's id decoded
    /// again: a custom range within [`crate::period::check_custom`], a
    /// leaderboard page up to [`MAX_PAGE`]. The message says what to do.
    pub fn validate(self) -> Result<Self, String> {
        if let Timeframe::Custom { from, to } = self.timeframe {
            crate::period::check_custom(from, to)?;
        }
        if let View::Leaderboard(_, _, page) = self.view
            && page > MAX_PAGE
        {
            return Err(format!(
                "Leaderboards have at most {} pages; run /leaderboard again.",
                MAX_PAGE + 1
            ));
        }
        Ok(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeframe_choices_are_the_presets_and_custom() {
        let presets: Vec<Timeframe> = TimeframeChoice::ALL
            .iter()
            .filter_map(|c| c.preset())
            .collect();
        assert_eq!(
            presets,
            [
                Timeframe::Last24Hours,
                Timeframe::Last7Days,
                Timeframe::Last30Days,
                Timeframe::Last90Days,
                Timeframe::AllTime
            ]
        );
        assert_eq!(TimeframeChoice::Custom.preset(), None);
        assert_eq!(
            TimeframeChoice::listed(TimeframeChoice::offered(View::TopMessagers)),
            "24h, 7d, 30d, all"
        );
        assert_eq!(View::decode("lb:-:messages:-1"), None);
        let board = |page| Request {
            view: View::Leaderboard(None, BoardMetric::Messages, page),
            timeframe: Timeframe::Last7Days,
        };
        assert_eq!(board(MAX_PAGE).validate(), Ok(board(MAX_PAGE)));
        assert!(board(MAX_PAGE + 1).validate().is_err());
        let custom = |from: i64, to: i64| Request {
            view: View::Overview,
            timeframe: Timeframe::Custom {
                from: chrono::DateTime::from_timestamp(from, 0).unwrap(),
                to: chrono::DateTime::from_timestamp(to, 0).unwrap(),
            },
        };
        let (day, start) = (86_400, 1_790_000_000);
        assert!(custom(start, start + 400 * day + 3_600).validate().is_ok());
        assert_eq!(
            custom(start, start + 401 * day).validate(),
            Err("Choose at most 400 days.".into())
        );
        assert!(custom(0, 10 * day).validate().is_err(), "before Discord");
        assert!(custom(start, start).validate().is_err(), "empty");
        assert_eq!(
            View::decode("me:growth"),
            Some(View::Members(MembersCategory::Growth))
        );
    }
}
