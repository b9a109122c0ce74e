//! The built-in Pulse Report: text written from the figures by fixed
//! rules, so every number in it is one of the figures. No key, no
//! provider, the same text for the same figures.

use shared::alerts::discord_time;

use super::{ChannelChange, Metrics, PulseFigures, capitalised, channel_name};
use crate::reply::int;

/// Who wrote a built-in report.
pub const AUTHOR: &str = "ServerPulse's built-in rules";

/// A change smaller than this (percent) is not worth a sentence.
const NOTABLE_PERCENT: f64 = 20.0;
/// Against the 4-week mean, a figure this far off (percent) is unusual.
const UNUSUAL_PERCENT: f64 = 25.0;
/// A metric's smaller side must reach this for a percentage to mean much.
const MIN_BASE: f64 = 5.0;
/// A channel "went quiet" when it had at least this many messages the week
/// before and at most half of them now.
const QUIET_FROM: i64 = 10;
/// Suggestions at most.
const SUGGESTIONS: usize = 3;

/// The written report: titled sections of sentences.
#[derive(Debug, Clone, PartialEq)]
pub struct PulseText {
    pub author: String,
    pub sections: Vec<(String, Vec<String>)>,
}

impl PulseText {
    pub fn to_markdown(&self) -> String {
        self.sections
            .iter()
            .map(|(title, lines)| format!("**{title}**\n{}", lines.join("\n")))
            .collect::<Vec<_>>()
            .join("\n\n")
    }
}

fn percent(now: f64, before: f64) -> f64 {
    (now - before) / before * 100.0
}

fn figure(label: &str, value: f64) -> String {
    if label != "voice hours" && value.fract() == 0.0 {
        int(value as i64)
    } else {
        decimal(value)
    }
}

/// One decimal with thousands separators: `1,637.5`.
pub fn decimal(value: f64) -> String {
    let tenths = (value * 10.0).round() as i64;
    format!("{}.{}", int(tenths / 10), (tenths % 10).abs())
}

fn changed_most(week: &Metrics, previous: &Metrics) -> Vec<String> {
    let mut changes: Vec<(&str, f64, f64, f64)> = week
        .named()
        .into_iter()
        .zip(previous.named())
        .filter(|((_, now), (_, before))| now.max(*before) >= MIN_BASE && *before > 0.0)
        .map(|((label, now), (_, before))| (label, now, before, percent(now, before)))
        .collect();
    changes.sort_by(|a, b| b.3.abs().total_cmp(&a.3.abs()));
    let mut lines: Vec<String> = changes
        .iter()
        .enumerate()
        .filter(|(i, c)| *i == 0 || c.3.abs() >= NOTABLE_PERCENT)
        .take(3)
        .map(|(_, (label, now, before, pct))| {
            let verb = if *pct >= 0.0 { "rose" } else { "fell" };
            format!(
                "{} {verb} {:.0}% against the week before ({} → {}).",
                capitalised(label),
                pct.abs(),
                figure(label, *before),
                figure(label, *now)
            )
        })
        .collect();
    for ((label, now), (_, before)) in week.named().into_iter().zip(previous.named()) {
        if before == 0.0 && now >= MIN_BASE {
            lines.push(format!(
                "{}: {} this week, none the week before.",
                capitalised(label),
                figure(label, now)
            ));
        }
    }
    if lines.is_empty() {
        lines.push("Too little happened in the two weeks for a change to mean much.".to_owned());
    }
    lines
}

fn unusual(week: &Metrics, baseline: Option<&Metrics>, weeks: u32) -> Vec<String> {
    let Some(base) = baseline else {
        return vec!["No earlier weeks were recorded to compare with yet.".to_owned()];
    };
    let mut lines: Vec<String> = week
        .named()
        .into_iter()
        .zip(base.named())
        .filter(|((_, now), (_, mean))| *mean >= MIN_BASE || *now >= MIN_BASE && *mean > 0.0)
        .filter(|((_, now), (_, mean))| percent(*now, *mean).abs() >= UNUSUAL_PERCENT)
        .map(|((label, now), (_, mean))| {
            let pct = percent(now, mean);
            format!(
                "{} {} {:.0}% {} the mean of the {weeks} week{} before ({} against {}).",
                capitalised(label),
                if label.ends_with('s') { "were" } else { "was" },
                pct.abs(),
                if pct >= 0.0 { "above" } else { "below" },
                if weeks == 1 { "" } else { "s" },
                figure(label, now),
                decimal(mean),
            )
        })
        .collect();
    if lines.is_empty() {
        lines.push(format!(
            "Every figure is within {UNUSUAL_PERCENT:.0}% of its mean over the {weeks} week{} before.",
            if weeks == 1 { "" } else { "s" }
        ));
    }
    lines
}

fn grew(channels: &[ChannelChange]) -> Vec<&ChannelChange> {
    let mut grew: Vec<&ChannelChange> = channels
        .iter()
        .filter(|c| c.now > c.before && c.now >= MIN_BASE as i64)
        .collect();
    grew.sort_by_key(|c| (std::cmp::Reverse(c.now - c.before), c.channel_id.0));
    grew.truncate(2);
    grew
}

fn quiet(channels: &[ChannelChange]) -> Vec<&ChannelChange> {
    let mut quiet: Vec<&ChannelChange> = channels
        .iter()
        .filter(|c| c.before >= QUIET_FROM && c.now * 2 <= c.before)
        .collect();
    quiet.sort_by_key(|c| (std::cmp::Reverse(c.before - c.now), c.channel_id.0));
    quiet.truncate(3);
    quiet
}

fn channel_lines(channels: &[ChannelChange]) -> Vec<String> {
    let mut lines = Vec::new();
    for (i, c) in grew(channels).into_iter().enumerate() {
        lines.push(format!(
            "{} {}: {} messages, up from {}.",
            channel_name(c),
            if i == 0 { "grew most" } else { "grew too" },
            int(c.now),
            int(c.before)
        ));
    }
    for c in quiet(channels) {
        lines.push(format!(
            "{} went quiet: {} messages, down from {}.",
            channel_name(c),
            int(c.now),
            int(c.before)
        ));
    }
    if lines.is_empty() {
        lines.push("No channel grew or went quiet by much.".to_owned());
    }
    lines
}

fn newcomer_lines(f: &PulseFigures) -> Vec<String> {
    let c = &f.cohort;
    if c.joined == 0 {
        return vec!["Nobody joined this week.".to_owned()];
    }
    vec![format!(
        "{} {} joined; {} of them posted within 7 days of joining so far.",
        int(c.joined),
        if c.joined == 1 { "person" } else { "people" },
        int(c.activated)
    )]
}

fn incident_lines(f: &PulseFigures) -> Vec<String> {
    f.incidents
        .iter()
        .map(|i| {
            format!(
                "{} on {}: {}.",
                i.kind.label(),
                discord_time(i.started_at, 'f'),
                i.summary()
            )
        })
        .collect()
}

fn suggestions(f: &PulseFigures) -> Vec<String> {
    let mut out = Vec::new();
    let quiet = if f.comparison.is_full() {
        quiet(&f.channels)
    } else {
        Vec::new()
    };
    if let Some(c) = quiet.first() {
        out.push(format!(
            "{} went from {} messages to {}: ask its regulars what moved, or fold it into a livelier channel.",
            channel_name(c),
            int(c.before),
            int(c.now)
        ));
    }
    let c = &f.cohort;
    if c.joined >= 3 && c.activated * 2 < c.joined {
        out.push(format!(
            "Only {} of {} newcomers posted so far: a welcome message that points to one channel to start in may help.",
            int(c.activated),
            int(c.joined)
        ));
    }
    let top: i64 = f.top_members.iter().map(|r| r.value).sum();
    if f.top_members.len() == 3 && f.ranked_total() >= 20 && top * 2 >= f.ranked_total() {
        out.push(format!(
            "Three members wrote {} of {} messages ({:.0}%): the conversation rests on few people; invite others to start threads.",
            int(top),
            int(f.ranked_total()),
            top as f64 / f.ranked_total() as f64 * 100.0
        ));
    }
    if let Some((day, hour, messages)) = f.peak {
        out.push(format!(
            "The busiest hour was {day} {hour:02}:00 ({}) with {} messages: post announcements and hold events around then.",
            f.tz.name(),
            int(messages)
        ));
    }
    out.truncate(SUGGESTIONS);
    out
}

/// The section every report ends with, whoever wrote the rest.
pub fn closing() -> (String, Vec<String>) {
    (
        "What this report cannot tell".to_owned(),
        vec![
            "It counts activity, never reads messages, and cannot judge how members feel."
                .to_owned(),
        ],
    )
}

/// The built-in report of `figures`.
pub fn write(f: &PulseFigures) -> PulseText {
    // Against a week before that was not (wholly) tracked, nothing is
    // said to have changed: there is no week to compare with.
    let (changes, channels) = match f.comparison.reason() {
        None => (
            changed_most(&f.week, &f.previous),
            channel_lines(&f.channels),
        ),
        Some(why) => (
            vec![format!("Not compared with the week before: {why}.")],
            vec![format!(
                "Channels are not compared with the week before: {why}."
            )],
        ),
    };
    let mut sections = vec![
        ("What changed most".to_owned(), changes),
        (
            "Against the usual".to_owned(),
            unusual(&f.week, f.baseline.as_ref(), f.baseline_weeks),
        ),
        ("Channels".to_owned(), channels),
        ("New members".to_owned(), newcomer_lines(f)),
    ];
    let incidents = incident_lines(f);
    if !incidents.is_empty() {
        sections.push(("Alerts".to_owned(), incidents));
    }
    if f.gaps > 0 {
        sections.push((
            "Coverage".to_owned(),
            vec![format!(
                "Events were lost in {} interval{} of this week (a gateway resume Discord refused), so its figures are low there.",
                f.gaps,
                if f.gaps == 1 { "" } else { "s" }
            )],
        ));
    }
    let mut advice = suggestions(f);
    if advice.is_empty() {
        advice.push("Nothing in the figures calls for a change this week.".to_owned());
    }
    sections.push(("Suggestions".to_owned(), advice));
    sections.push(closing());
    PulseText {
        author: AUTHOR.to_owned(),
        sections,
    }
}
