//! What a provider is asked, and how its answer is checked.
//!
//! The prompt carries only aggregates of [`PulseFigures`]: counts of the
//! week, the week before and the baseline mean, the percentages between
//! them, channel names with their message counts, the top members by rank
//! only (never a user id or name), the busiest hour, the join cohort,
//! alert summaries and coverage gaps. No message content exists in
//! ServerPulse to send.
//!
//! Every number the provider writes must be one of the numbers of that
//! data block ([`invented_numbers`]); a text with any other is rejected.

use std::collections::BTreeSet;

use chrono::Duration;

use super::PulseFigures;
use super::builtin::{self, PulseText, decimal};
use super::providers::Prompt;
use shared::db::analytics::Bots;

/// Bumped whenever the prompt's wording or data change, so a stored
/// report says which prompt wrote it.
pub const PROMPT_VERSION: i32 = 1;
/// The answer's bound in tokens.
pub const MAX_TOKENS: u32 = 900;
/// The longest model text shown (an embed description holds 4,096).
const MAX_CHARS: usize = 3_000;
/// Channels listed at most, those that changed most first.
const CHANNELS: usize = 10;

/// The sections a provider writes, in order (the built-in report's,
/// without the closing one, which we always add ourselves).
pub fn sections(f: &PulseFigures) -> Vec<&'static str> {
    let mut s = vec![
        "What changed most",
        "Against the usual",
        "Channels",
        "New members",
    ];
    if !f.incidents.is_empty() {
        s.push("Alerts");
    }
    if f.gaps > 0 {
        s.push("Coverage");
    }
    s.push("Suggestions");
    s
}

fn value(label: &str, v: f64) -> String {
    if label == "voice hours" {
        decimal(v)
    } else {
        format!("{}", v.round() as i64)
    }
}

/// `+23%`, or nothing when there is no base to compare with.
fn change(now: f64, before: f64) -> String {
    if before <= 0.0 {
        return String::new();
    }
    let pct = ((now - before) / before * 100.0).round() as i64;
    format!(" (change {}{pct}%)", if pct >= 0 { "+" } else { "" })
}

fn metric_lines(f: &PulseFigures) -> Vec<String> {
    let base = f.baseline.unwrap_or_default();
    f.week
        .named()
        .into_iter()
        .zip(f.previous.named())
        .zip(base.named())
        .map(|(((label, now), (_, before)), (_, mean))| {
            let mut line = match f.comparison.why_plain() {
                None => format!(
                    "- {label}: this week {}; the week before {}{}",
                    value(label, now),
                    value(label, before),
                    change(now, before)
                ),
                // No figure of a week not (wholly) tracked, so none is
                // compared.
                Some(_) => format!(
                    "- {label}: this week {}; the week before not comparable",
                    value(label, now)
                ),
            };
            if f.baseline.is_some() {
                line.push_str(&format!(
                    "; mean of the {} weeks before {}{}",
                    f.baseline_weeks,
                    decimal(mean),
                    change(now, mean)
                ));
            }
            line
        })
        .collect()
}

/// The data block: every figure the provider may use, one per line.
pub fn data(f: &PulseFigures) -> String {
    let day = |t: chrono::DateTime<chrono::Utc>| {
        t.with_timezone(&f.tz).format("%A %-d %B %Y").to_string()
    };
    let mut lines = vec![
        format!(
            "Period: the 7 days from {} to {} (times in {}).",
            day(f.from),
            day(f.to - Duration::hours(12)),
            f.tz.name()
        ),
        match f.bots {
            Bots::LeftOut => "Headline figures (bots and webhooks left out):",
            Bots::Counted => "Headline figures (bots and webhooks counted like members):",
        }
        .to_owned(),
    ];
    if !f.comparison.is_full() {
        lines.push(
            "The week before was not wholly recorded (it began before tracking or before the retention horizon), so nothing is compared with it."
                .to_owned(),
        );
    }
    lines.extend(metric_lines(f));

    lines.push("Channels (member messages this week and the week before):".to_owned());
    let mut channels: Vec<_> = f.channels.iter().collect();
    channels.sort_by_key(|c| (std::cmp::Reverse((c.now - c.before).abs()), c.channel_id.0));
    if channels.is_empty() {
        lines.push("- none had messages".to_owned());
    }
    for c in channels.into_iter().take(CHANNELS) {
        let name = match &c.name {
            Some(n) if !n.is_empty() => format!("#{n}"),
            _ => "an unnamed channel".to_owned(),
        };
        if f.comparison.is_full() {
            lines.push(format!(
                "- {name}: {} this week, {} the week before{}",
                c.now,
                c.before,
                change(c.now as f64, c.before as f64)
            ));
        } else {
            lines.push(format!("- {name}: {} this week", c.now));
        }
    }

    if !f.top_members.is_empty() {
        lines.push("Top members by messages this week (by rank only, no names):".to_owned());
        for (i, r) in f.top_members.iter().enumerate() {
            lines.push(format!("- rank {}: {} messages", i + 1, r.value));
        }
        let top: i64 = f.top_members.iter().map(|r| r.value).sum();
        if let Some(share) = crate::honest::percent(top, f.ranked_total()) {
            lines.push(format!(
                "- together: {top} of {} messages ({}%)",
                f.ranked_total(),
                share.round() as i64
            ));
        }
    }
    if let Some((day, hour, messages)) = f.peak {
        lines.push(format!(
            "Busiest hour: {day} {hour:02}:00 with {messages} messages."
        ));
    }
    let c = &f.cohort;
    lines.push(format!("New members: {} joined this week.", c.joined));
    if let Some(share) = crate::honest::percent(c.activated, c.joined) {
        lines.push(format!(
            "- {} of them posted within 7 days of joining so far ({}%)",
            c.activated,
            share.round() as i64
        ));
    }
    for (days, eligible, retained) in [
        (7, c.eligible_7d, c.retained_7d),
        (30, c.eligible_30d, c.retained_30d),
    ] {
        if eligible > 0 {
            lines.push(format!(
                "- of the {eligible} who joined at least {days} days ago, {retained} were still members {days} days after joining"
            ));
        }
    }
    if !f.incidents.is_empty() {
        lines.push("Alerts that started this week:".to_owned());
        for i in &f.incidents {
            lines.push(format!(
                "- {} on {}: {}",
                i.kind.label(),
                i.started_at.with_timezone(&f.tz).format("%A %-d %B %H:%M"),
                i.summary()
            ));
        }
    }
    if f.gaps > 0 {
        lines.push(format!(
            "Coverage: events were lost in {} interval(s) of this week, so its figures are low there.",
            f.gaps
        ));
    }
    lines.join("\n")
}

/// The request for `figures`.
pub fn prompt(f: &PulseFigures) -> Prompt {
    let headings = sections(f)
        .iter()
        .map(|s| format!("## {s}"))
        .collect::<Vec<_>>()
        .join("\n");
    let system = format!(
        "You write the weekly Pulse Report of a Discord community for its moderators. \
         You get only aggregate activity figures: no message was read, so you cannot judge \
         sentiment, mood or tone, and you must not guess at them. Use only the figures given; \
         every number you write must appear exactly as written in the data (do not compute new \
         numbers, do not round, do not number your lines). Refer to members only by rank. \
         Write short plain sentences under exactly these headings, each on its own line:\n\
         {headings}\n\
         Under Suggestions, give two or three concrete suggestions that follow from the figures."
    );
    Prompt {
        system,
        user: format!("Data:\n{}", data(f)),
        max_tokens: MAX_TOKENS,
    }
}

/// Numbers written in `text`, normalised: thousands separators dropped,
/// leading zeros and trailing decimal zeros trimmed (`1,200.50` → `1200.5`,
/// `09` → `9`). Signs are not part of a number (`-23%` is `23`).
pub fn numbers_in(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if !chars[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        let mut int = String::new();
        let mut frac = String::new();
        while i < chars.len() {
            let c = chars[i];
            if c.is_ascii_digit() {
                int.push(c);
                i += 1;
            } else if c == ','
                && chars
                    .get(i + 1..i + 4)
                    .is_some_and(|g| g.iter().all(char::is_ascii_digit))
                && !chars.get(i + 4).is_some_and(char::is_ascii_digit)
            {
                i += 1;
            } else {
                break;
            }
        }
        if chars.get(i) == Some(&'.') && chars.get(i + 1).is_some_and(char::is_ascii_digit) {
            i += 1;
            while i < chars.len() && chars[i].is_ascii_digit() {
                frac.push(chars[i]);
                i += 1;
            }
        }
        let int = int.trim_start_matches('0');
        let int = if int.is_empty() { "0" } else { int };
        let frac = frac.trim_end_matches('0');
        out.push(if frac.is_empty() {
            int.to_owned()
        } else {
            format!("{int}.{frac}")
        });
    }
    out
}

/// The numbers of `text` that are not among those of `data`, in order of
/// first appearance.
pub fn invented_numbers(text: &str, data: &str) -> Vec<String> {
    let allowed: BTreeSet<String> = numbers_in(data).into_iter().collect();
    let mut seen = BTreeSet::new();
    numbers_in(text)
        .into_iter()
        .filter(|n| !allowed.contains(n) && seen.insert(n.clone()))
        .collect()
}

/// The provider's text as sections: a Markdown heading line (`# ` or
/// `##`; `#help` is a channel) or a line that is only bold opens one; text before any heading goes under
/// "Report". Our own closing section is added at the end.
pub fn sections_of(text: &str, author: String) -> PulseText {
    let mut sections: Vec<(String, Vec<String>)> = Vec::new();
    let mut used = 0;
    for line in text.lines() {
        let line = line.trim_end();
        if line.trim().is_empty() {
            continue;
        }
        if used + line.len() > MAX_CHARS {
            break;
        }
        used += line.len();
        let trimmed = line.trim();
        let bold = trimmed.len() > 4 && trimmed.starts_with("**") && trimmed.ends_with("**");
        let heading = trimmed.starts_with("# ") || trimmed.starts_with("##");
        if heading || bold {
            let title = trimmed.trim_matches(|c: char| c == '#' || c == '*' || c.is_whitespace());
            sections.push((title.to_owned(), Vec::new()));
            continue;
        }
        match sections.last_mut() {
            Some((_, lines)) => lines.push(line.to_owned()),
            None => sections.push(("Report".to_owned(), vec![line.to_owned()])),
        }
    }
    sections.retain(|(_, lines)| !lines.is_empty());
    sections.push(builtin::closing());
    PulseText { author, sections }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_read_with_separators_decimals_and_leading_zeros_normalised() {
        assert_eq!(
            numbers_in("1,234 messages, 12.50 hours, -23% at 09:00; #help2 and 1,23 or 4."),
            ["1234", "12.5", "23", "9", "0", "2", "1", "23", "4"]
        );
    }

    #[test]
    fn only_numbers_absent_from_the_data_are_invented() {
        let data = "- messages: this week 1234; the week before 1000 (change +23%)";
        assert!(invented_numbers("Messages rose 23% to 1,234 from 1,000.", data).is_empty());
        assert_eq!(
            invented_numbers("Messages rose 24% to 1,234, 24 more than 1,210.", data),
            ["24", "1210"]
        );
    }

    #[test]
    fn headings_open_sections_and_ours_closes_them() {
        let text = sections_of(
            "Intro line\n## Channels\n#help grew.\n\n**Suggestions**\n- Do this.",
            "X".into(),
        );
        let titles: Vec<&str> = text.sections.iter().map(|(t, _)| t.as_str()).collect();
        assert_eq!(
            titles,
            [
                "Report",
                "Channels",
                "Suggestions",
                "What this report cannot tell"
            ]
        );
    }
}
