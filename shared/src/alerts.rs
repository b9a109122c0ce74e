//! Alerts: the four kinds, their per-guild settings and defaults, the
//! incidents the ingester detects, and the message an incident is posted
//! (and edited) as. One definition of each, used by the ingester that
//! detects, the web commands that show and change them, and the tests.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::ids::Snowflake;

/// What an alert watches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertKind {
    /// Many joins within a sliding window (by `joined_at`).
    JoinRaid,
    /// Many messages deleted within a sliding window (by arrival; a bulk
    /// delete counts per message).
    MassDelete,
    /// An hour's member messages far below the usual for that hour of the
    /// week.
    ActivityDrop,
    /// People in voice far above the usual for that hour of the week.
    VoiceSurge,
}

impl AlertKind {
    pub const ALL: [Self; 4] = [
        Self::JoinRaid,
        Self::MassDelete,
        Self::ActivityDrop,
        Self::VoiceSurge,
    ];

    /// The database and command key (`join_raid`, ...).
    pub fn key(self) -> &'static str {
        match self {
            Self::JoinRaid => "join_raid",
            Self::MassDelete => "mass_delete",
            Self::ActivityDrop => "activity_drop",
            Self::VoiceSurge => "voice_surge",
        }
    }

    pub fn from_key(key: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.key() == key)
    }

    /// How people read it: "Join raid".
    pub fn label(self) -> &'static str {
        match self {
            Self::JoinRaid => "Join raid",
            Self::MassDelete => "Mass deletion",
            Self::ActivityDrop => "Activity drop",
            Self::VoiceSurge => "Voice surge",
        }
    }

    /// What the threshold counts, for replies: "joins", "messages", ...
    pub fn threshold_unit(self) -> &'static str {
        match self {
            Self::JoinRaid => "joins",
            Self::MassDelete => "messages deleted",
            Self::ActivityDrop => "% below usual",
            Self::VoiceSurge => "× usual",
        }
    }

    /// Whether `window_secs` means something for this kind (the hourly
    /// kinds always look at one hour).
    pub fn has_window(self) -> bool {
        matches!(self, Self::JoinRaid | Self::MassDelete)
    }

    /// Whether `min_volume` means something for this kind.
    pub fn has_min_volume(self) -> bool {
        matches!(self, Self::ActivityDrop | Self::VoiceSurge)
    }

    /// The range an admin may set the threshold in.
    pub fn threshold_range(self) -> (f64, f64) {
        match self {
            Self::JoinRaid => (2.0, 1000.0),
            Self::MassDelete => (2.0, 10_000.0),
            Self::ActivityDrop => (10.0, 100.0),
            Self::VoiceSurge => (1.5, 100.0),
        }
    }
}

impl std::fmt::Display for AlertKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.key())
    }
}

/// One kind's settings in one guild.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertSettings {
    pub kind: AlertKind,
    pub enabled: bool,
    /// Joins (raid), messages (deletion), percent below usual (drop),
    /// multiple of usual (surge).
    pub threshold: f64,
    /// The sliding window of raids and deletions, in seconds.
    pub window_secs: i32,
    /// Drop: the usual messages per hour below which an hour is not
    /// evaluated. Surge: the fewest people in voice that can be a surge.
    pub min_volume: i32,
    /// An incident is over once nothing fed it for this long.
    pub quiet_secs: i32,
    /// No new incident of the kind this soon after one ended.
    pub cooldown_secs: i32,
    /// Off until then (`enabled` stays as it was).
    pub snoozed_until: Option<DateTime<Utc>>,
}

impl AlertSettings {
    /// The settings of a guild nobody changed (a missing `alert_settings` row).
    pub fn default_for(kind: AlertKind) -> Self {
        let (threshold, window_secs, min_volume, quiet_secs) = match kind {
            AlertKind::JoinRaid => (10.0, 60, 0, 300),
            AlertKind::MassDelete => (5.0, 30, 0, 300),
            AlertKind::ActivityDrop => (50.0, 3600, 20, 3600),
            AlertKind::VoiceSurge => (3.0, 3600, 5, 3600),
        };
        Self {
            kind,
            enabled: true,
            threshold,
            window_secs,
            min_volume,
            quiet_secs,
            cooldown_secs: 600,
            snoozed_until: None,
        }
    }

    /// Whether the kind is watched at `at`.
    pub fn is_active(&self, at: DateTime<Utc>) -> bool {
        self.enabled && self.snoozed_until.is_none_or(|until| at >= until)
    }

    pub fn window(&self) -> Duration {
        Duration::seconds(i64::from(self.window_secs))
    }

    pub fn quiet(&self) -> Duration {
        Duration::seconds(i64::from(self.quiet_secs))
    }

    pub fn cooldown(&self) -> Duration {
        Duration::seconds(i64::from(self.cooldown_secs))
    }

    /// The count that crosses the threshold of a counting kind (raid,
    /// deletion): the threshold rounded up.
    pub fn count_threshold(&self) -> u32 {
        self.threshold.ceil().max(1.0) as u32
    }

    /// "10 joins within 1 min", "50 % below usual (usual ≥ 20 messages/hour)".
    pub fn describe(&self) -> String {
        match self.kind {
            AlertKind::JoinRaid => format!(
                "{} joins within {}",
                self.count_threshold(),
                seconds_text(self.window_secs)
            ),
            AlertKind::MassDelete => format!(
                "{} messages deleted within {}",
                self.count_threshold(),
                seconds_text(self.window_secs)
            ),
            AlertKind::ActivityDrop => format!(
                "an hour's messages {}% below the usual for that hour (when the usual is at least {} messages/hour)",
                trim_number(self.threshold),
                self.min_volume
            ),
            AlertKind::VoiceSurge => format!(
                "{}× the usual people in voice for that hour (at least {} people)",
                trim_number(self.threshold),
                self.min_volume
            ),
        }
    }
}

/// The settings of every kind, in [`AlertKind::ALL`] order.
#[derive(Debug, Clone, PartialEq)]
pub struct GuildAlertSettings(pub [AlertSettings; 4]);

impl GuildAlertSettings {
    pub fn defaults() -> Self {
        Self(AlertKind::ALL.map(AlertSettings::default_for))
    }

    pub fn get(&self, kind: AlertKind) -> &AlertSettings {
        &self.0[kind as usize]
    }

    pub fn set(&mut self, settings: AlertSettings) {
        let i = settings.kind as usize;
        self.0[i] = settings;
    }
}

impl Default for GuildAlertSettings {
    fn default() -> Self {
        Self::defaults()
    }
}

/// What happened to an incident's message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Delivery {
    /// An outbox item carries it.
    Posted,
    /// No update channel was set: recorded, not posted.
    NoChannel,
    /// The update channel had a recorded permanent failure: not posted.
    ChannelFailing,
}

impl Delivery {
    pub fn key(self) -> &'static str {
        match self {
            Self::Posted => "posted",
            Self::NoChannel => "no_channel",
            Self::ChannelFailing => "channel_failing",
        }
    }

    pub fn from_key(key: &str) -> Self {
        match key {
            "posted" => Self::Posted,
            "channel_failing" => Self::ChannelFailing,
            _ => Self::NoChannel,
        }
    }
}

/// Kind-specific context of an incident.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum IncidentDetail {
    JoinRaid {
        /// Joiners whose account was younger than 7 days at their join
        /// (a user id's snowflake time is the account's creation).
        young_accounts: u32,
        /// Joiners without an avatar (Discord's default one).
        default_avatars: u32,
        /// Joins in the 2 minutes before the window that crossed the
        /// threshold began.
        joins_before: u32,
    },
    MassDelete {
        /// Messages deleted one by one.
        single: u32,
        /// Messages deleted by bulk deletes.
        bulk: u32,
        /// Messages deleted per channel.
        channels: Vec<(Snowflake, u32)>,
    },
    ActivityDrop {
        /// Start of the incident's hour with the fewest messages (the
        /// earliest of equals).
        hour: DateTime<Utc>,
        /// Member messages in the lowest hour.
        messages: u32,
        /// The usual messages of that hour of the week.
        usual: f64,
        /// Consecutive hours that were drops.
        hours: u32,
    },
    VoiceSurge {
        /// Peak people in voice at once.
        people: u32,
        /// The usual peak for that hour of the week.
        usual: f64,
        /// People per voice channel at the first instant of the peak.
        channels: Vec<(Snowflake, u32)>,
    },
}

/// An incident, as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Incident {
    pub guild_id: Snowflake,
    pub incident_id: i64,
    pub kind: AlertKind,
    pub started_at: DateTime<Utc>,
    pub detected_at: DateTime<Utc>,
    pub last_event_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
    pub count: i32,
    pub detail: IncidentDetail,
    pub delivery: Delivery,
}

impl Incident {
    /// The outbox identity of the incident's message (whether or not it
    /// was posted: see [`Incident::delivery`]).
    pub fn outbox_key(&self) -> String {
        format!("alert:{}:{}", self.guild_id, self.incident_id)
    }

    /// A one-line summary for `/alerts`: "24 joins, 19 accounts < 7 days old".
    pub fn summary(&self) -> String {
        match &self.detail {
            IncidentDetail::JoinRaid { young_accounts, .. } => format!(
                "{} joins, {} accounts younger than 7 days",
                self.count, young_accounts
            ),
            IncidentDetail::MassDelete { channels, .. } => format!(
                "{} messages deleted in {} channel{}",
                self.count,
                channels.len(),
                if channels.len() == 1 { "" } else { "s" }
            ),
            IncidentDetail::ActivityDrop {
                messages, usual, ..
            } => format!("{messages} messages in an hour (usual {usual:.0})"),
            IncidentDetail::VoiceSurge { people, usual, .. } => {
                format!("{people} people in voice (usual {usual:.1})")
            }
        }
    }
}

/// Colour of an ongoing incident's embed (amber) and of one that is over (grey).
const ONGOING_COLOUR: u32 = 0xE6_7E_22;
const OVER_COLOUR: u32 = 0x95_A5_A6;

/// The create/edit message JSON an incident is posted as: one embed that
/// says what happened and when, its figures and context, and whether it is
/// still going on. Mentions are off (`allowed_mentions.parse` empty): a
/// channel mention renders, nobody is pinged.
pub fn render(incident: &Incident, settings: &AlertSettings) -> serde_json::Value {
    let started = discord_time(incident.started_at, 'f');
    let minutes = ((incident.last_event_at - incident.started_at).num_seconds() as f64 / 60.0)
        .max(1.0 / 60.0);
    let mut fields = Vec::new();
    let description = match &incident.detail {
        IncidentDetail::JoinRaid {
            young_accounts,
            default_avatars,
            joins_before,
        } => {
            fields.push(field("Joins", incident.count.to_string()));
            fields.push(field(
                "Rate",
                format!("{:.1} per minute", f64::from(incident.count) / minutes),
            ));
            fields.push(field(
                "Accounts younger than 7 days",
                format!("{young_accounts} of {}", incident.count),
            ));
            fields.push(field(
                "Default avatar",
                format!("{default_avatars} of {}", incident.count),
            ));
            fields.push(field(
                "Joins in the 2 minutes before",
                joins_before.to_string(),
            ));
            format!(
                "{} members joined from {started}, crossing the threshold of {}.",
                incident.count,
                settings.describe()
            )
        }
        IncidentDetail::MassDelete {
            single,
            bulk,
            channels,
        } => {
            fields.push(field("Messages deleted", incident.count.to_string()));
            fields.push(field(
                "Rate",
                format!("{:.1} per minute", f64::from(incident.count) / minutes),
            ));
            fields.push(field("One by one / in bulk", format!("{single} / {bulk}")));
            fields.push(field("Channels", channel_list(channels)));
            format!(
                "{} messages were deleted from {started}, crossing the threshold of {}.",
                incident.count,
                settings.describe()
            )
        }
        IncidentDetail::ActivityDrop {
            hour,
            messages,
            usual,
            hours,
        } => {
            fields.push(field("Messages in the hour", messages.to_string()));
            fields.push(field(
                "Usual for that hour",
                format!("{usual:.1} (mean of the same hour in up to 4 previous weeks)"),
            ));
            fields.push(field(
                "Below usual",
                format!("{:.0}%", percent_below(f64::from(*messages), *usual)),
            ));
            fields.push(field("Hours below", hours.to_string()));
            format!(
                "Messages in the hour from {} fell far below the usual for that hour of the week.",
                discord_time(*hour, 'f')
            )
        }
        IncidentDetail::VoiceSurge {
            people,
            usual,
            channels,
        } => {
            fields.push(field("People in voice (peak)", people.to_string()));
            fields.push(field(
                "Usual peak for that hour",
                format!("{usual:.1} (mean of the same hour in up to 4 previous weeks)"),
            ));
            fields.push(field("Channels", channel_list(channels)));
            format!(
                "{people} people were in voice at once from {started}, reaching the threshold of {}.",
                settings.describe()
            )
        }
    };
    let (status, colour) = match incident.ended_at {
        None => (
            "Ongoing: this message is updated as it grows.".to_owned(),
            ONGOING_COLOUR,
        ),
        Some(ended) => (
            format!(
                "Over since {} (nothing new for {}).",
                discord_time(ended, 'R'),
                seconds_text(settings.quiet_secs)
            ),
            OVER_COLOUR,
        ),
    };
    fields.push(field("Status", status));
    json!({
        "embeds": [{
            "title": format!("⚠️ {}", incident.kind.label()),
            "description": description,
            "color": colour,
            "fields": fields,
            "timestamp": incident.detected_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            "footer": {"text": format!("ServerPulse alert #{} · /alerts to change or snooze", incident.incident_id)},
        }],
        "allowed_mentions": {"parse": []},
    })
}

/// The hours whose figures make `hour`'s usual: the same hour 1 to 4
/// weeks earlier, those wholly at or after `tracking_since` (a guild
/// bucketed by UTC hours; see [`baseline_buckets`]).
pub fn baseline_hours(
    hour: DateTime<Utc>,
    tracking_since: Option<DateTime<Utc>>,
) -> Vec<DateTime<Utc>> {
    baseline_buckets(
        crate::bucketing::Bucketing::UTC,
        crate::time::Hour::containing(hour),
        tracking_since,
    )
}

/// The buckets whose figures make `bucket`'s usual in a guild bucketed by
/// `bucketing`: the buckets holding the same instant 1 to 4 weeks earlier
/// (the same UTC hour in whole-hour zones; after Lord Howe's 30-minute
/// change, the bucket the instant falls in), those at or after
/// `tracking_since`.
pub fn baseline_buckets(
    bucketing: crate::bucketing::Bucketing,
    bucket: crate::time::Hour,
    tracking_since: Option<DateTime<Utc>>,
) -> Vec<DateTime<Utc>> {
    (1..=4)
        .map(|k| bucketing.weeks_before(bucket, k).start())
        .filter(|h| tracking_since.is_none_or(|since| *h >= since))
        .collect()
}

/// The usual of an hour: the mean of its [`baseline_hours`]' figures (an
/// hour without a row counts 0); `None` with fewer than 2 such weeks.
pub fn usual(figures: &[f64]) -> Option<f64> {
    (figures.len() >= 2).then(|| figures.iter().sum::<f64>() / figures.len() as f64)
}

/// Whether an hour with `messages` member messages is an activity drop
/// against `usual` under `settings`.
pub fn is_drop(settings: &AlertSettings, messages: f64, usual: f64) -> bool {
    usual >= f64::from(settings.min_volume)
        && messages <= usual * (1.0 - settings.threshold / 100.0)
}

/// The people in voice at which a surge starts against `usual`.
pub fn surge_threshold(settings: &AlertSettings, usual: f64) -> f64 {
    f64::from(settings.min_volume).max(settings.threshold * usual)
}

/// How far `value` lies below `usual`, in percent (0 when not below).
pub fn percent_below(value: f64, usual: f64) -> f64 {
    if usual <= 0.0 {
        0.0
    } else {
        ((usual - value) / usual * 100.0).max(0.0)
    }
}

fn field(name: &str, value: String) -> serde_json::Value {
    json!({"name": name, "value": value, "inline": true})
}

fn channel_list(channels: &[(Snowflake, u32)]) -> String {
    if channels.is_empty() {
        return "none".to_owned();
    }
    let shown: Vec<String> = channels
        .iter()
        .take(5)
        .map(|(id, n)| format!("<#{id}> {n}"))
        .collect();
    let more = channels.len().saturating_sub(5);
    if more > 0 {
        format!("{}, and {more} more", shown.join(", "))
    } else {
        shown.join(", ")
    }
}

/// A Discord timestamp: shown in each reader's own timezone.
pub fn discord_time(at: DateTime<Utc>, style: char) -> String {
    format!("<t:{}:{style}>", at.timestamp())
}

/// "60 s", "5 min", "1 h", "1 h 30 min".
pub fn seconds_text(secs: i32) -> String {
    match secs {
        s if s < 60 || s % 60 != 0 => format!("{s} s"),
        s if s < 3600 => format!("{} min", s / 60),
        s if s % 3600 == 0 => format!("{} h", s / 3600),
        s => format!("{} h {} min", s / 3600, (s % 3600) / 60),
    }
}

fn trim_number(value: f64) -> String {
    if value.fract() == 0.0 {
        format!("{value:.0}")
    } else {
        format!("{value}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_their_keys_and_index_the_settings() {
        let settings = GuildAlertSettings::defaults();
        for kind in AlertKind::ALL {
            assert_eq!(AlertKind::from_key(kind.key()), Some(kind));
            assert_eq!(settings.get(kind).kind, kind);
        }
        assert_eq!(AlertKind::from_key("raid"), None);
    }

    #[test]
    fn defaults_are_the_documented_ones() {
        let raid = AlertSettings::default_for(AlertKind::JoinRaid);
        assert_eq!((raid.count_threshold(), raid.window_secs), (10, 60));
        assert_eq!(raid.describe(), "10 joins within 1 min");
        let del = AlertSettings::default_for(AlertKind::MassDelete);
        assert_eq!((del.count_threshold(), del.window_secs), (5, 30));
        let drop = AlertSettings::default_for(AlertKind::ActivityDrop);
        assert_eq!((drop.threshold, drop.min_volume), (50.0, 20));
        let surge = AlertSettings::default_for(AlertKind::VoiceSurge);
        assert_eq!((surge.threshold, surge.min_volume), (3.0, 5));
        assert!(
            AlertKind::ALL
                .iter()
                .all(|k| AlertSettings::default_for(*k).cooldown_secs == 600)
        );
        assert_eq!(raid.quiet_secs, 300);
        assert_eq!(drop.quiet_secs, 3600);
    }

    #[test]
    fn snooze_silences_until_its_end() {
        let now = Utc::now();
        let mut s = AlertSettings::default_for(AlertKind::JoinRaid);
        s.snoozed_until = Some(now + Duration::minutes(10));
        assert!(!s.is_active(now));
        assert!(s.is_active(now + Duration::minutes(10)));
        s.enabled = false;
        assert!(!s.is_active(now + Duration::hours(1)));
    }

    #[test]
    fn a_raid_message_says_what_when_and_whether_it_goes_on() {
        let at = DateTime::parse_from_rfc3339("2026-12-01T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let mut incident = Incident {
            guild_id: Snowflake(1),
            incident_id: 7,
            kind: AlertKind::JoinRaid,
            started_at: at,
            detected_at: at + Duration::seconds(27),
            last_event_at: at + Duration::seconds(60),
            ended_at: None,
            count: 12,
            detail: IncidentDetail::JoinRaid {
                young_accounts: 11,
                default_avatars: 12,
                joins_before: 0,
            },
            delivery: Delivery::Posted,
        };
        let settings = AlertSettings::default_for(AlertKind::JoinRaid);
        let body = render(&incident, &settings).to_string();
        assert!(
            body.contains("12 members joined from <t:1796119200:f>"),
            "{body}"
        );
        assert!(body.contains("12.0 per minute"), "{body}");
        assert!(body.contains("11 of 12"), "{body}");
        assert!(body.contains("Ongoing"), "{body}");
        assert!(body.contains(r#""parse":[]"#), "{body}");
        incident.ended_at = Some(at + Duration::seconds(360));
        let body = render(&incident, &settings).to_string();
        assert!(body.contains("Over since <t:1796119560:R>"), "{body}");
        assert_eq!(incident.outbox_key(), "alert:1:7");
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(seconds_text(30), "30 s");
        assert_eq!(seconds_text(300), "5 min");
        assert_eq!(seconds_text(3600), "1 h");
        assert_eq!(seconds_text(5400), "1 h 30 min");
        assert_eq!(seconds_text(90), "90 s");
    }

    #[test]
    fn the_usual_needs_two_tracked_weeks_and_drops_and_surges_follow_the_defaults() {
        use chrono::TimeZone;
        let hour = Utc.with_ymd_and_hms(2026, 12, 29, 20, 0, 0).unwrap();
        let since = hour - Duration::days(15);
        let weeks = baseline_hours(hour, Some(since));
        assert_eq!(weeks, [hour - Duration::days(7), hour - Duration::days(14)]);
        assert_eq!(baseline_hours(hour, None).len(), 4);
        assert_eq!(usual(&[30.0]), None, "one week is no baseline");
        assert_eq!(usual(&[30.0, 10.0]), Some(20.0));
        let drop = AlertSettings::default_for(AlertKind::ActivityDrop);
        assert!(is_drop(&drop, 10.0, 20.0), "50 % below a usual of 20");
        assert!(!is_drop(&drop, 11.0, 20.0));
        assert!(
            !is_drop(&drop, 0.0, 19.0),
            "a usual below 20 messages/hour is not evaluated"
        );
        let surge = AlertSettings::default_for(AlertKind::VoiceSurge);
        assert_eq!(surge_threshold(&surge, 1.0), 5.0, "at least 5 people");
        assert_eq!(surge_threshold(&surge, 4.0), 12.0, "3 × usual");
    }
}
