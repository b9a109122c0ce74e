//! The transcript: every interaction and posted message of the demo, as a
//! user saw it, written out as Markdown.

use std::io::Write as _;
use std::path::Path;
use std::time::Duration;

use anyhow::Context as _;
use discord_sim::interactions::InteractionOutcome;
use discord_sim::{StoredFile, StoredMessage};
use serde_json::Value;

/// One interaction and what came of it.
pub struct Entry {
    pub title: String,
    pub outcome: Option<InteractionOutcome>,
    /// A message ServerPulse posted on its own (a digest, an alert), not an
    /// answer.
    pub posted: Option<StoredMessage>,
    pub error: Option<String>,
    pub latency: Duration,
}

impl Entry {
    /// What a user saw: the message, its files, whether only the invoking
    /// user saw it, and how it arrived.
    fn shown(&self) -> Option<(&Value, &[StoredFile], bool, String)> {
        if let Some(m) = self.outcome.as_ref().and_then(|o| o.final_message.as_ref()) {
            return Some((
                &m.message,
                &m.files,
                m.ephemeral(),
                format!("{:?}", m.delivery),
            ));
        }
        self.posted
            .as_ref()
            .map(|m| (&m.message, m.files.as_slice(), false, "Posted".to_owned()))
    }
}

#[derive(Default)]
pub struct Transcript {
    pub entries: Vec<Entry>,
}

impl Transcript {
    pub fn failures(&self) -> usize {
        self.entries.iter().filter(|e| e.shown().is_none()).count()
    }

    /// Writes one Markdown file per interaction, its PNGs beside it, and an
    /// `index.md` linking them.
    pub fn write(&self, out: &Path) -> anyhow::Result<()> {
        let mut index = String::from(
            "# ServerPulse demo\n\nWhat each slash command answered, as a user would see it.\n\n",
        );
        index.push_str("| # | interaction | delivery | latency |\n| --- | --- | --- | ---: |\n");
        for (n, entry) in self.entries.iter().enumerate() {
            let stem = format!("{:02}-{}", n + 1, slug(&entry.title));
            let shown = entry.shown();
            let mut body = match &shown {
                Some((message, message_files, ephemeral, _)) => {
                    let mut files = Vec::new();
                    for file in *message_files {
                        let name = format!("{stem}-{}", file.filename);
                        std::fs::write(out.join(&name), file.bytes())
                            .with_context(|| format!("writing {name}"))?;
                        files.push((file.filename.clone(), name));
                    }
                    let link = |attachment: &str| {
                        files
                            .iter()
                            .find(|(original, _)| original == attachment)
                            .map(|(_, saved)| saved.clone())
                            .unwrap_or_else(|| attachment.to_owned())
                    };
                    let mut text =
                        crate::render::message_markdown(&entry.title, message, *ephemeral, &link);
                    for (original, saved) in &files {
                        if !text.contains(saved.as_str()) {
                            text.push_str(&format!("![{original}]({saved})\n\n"));
                        }
                    }
                    text
                }
                None => format!(
                    "# {}\n\nNo message: {}\n",
                    entry.title,
                    entry
                        .error
                        .clone()
                        .unwrap_or_else(|| describe_failure(entry.outcome.as_ref()))
                ),
            };
            let verb = if entry.posted.is_some() {
                "Posted"
            } else {
                "Answered"
            };
            body.push_str(&format!(
                "\n---\n{verb} in {} ms.\n",
                entry.latency.as_millis()
            ));
            std::fs::write(out.join(format!("{stem}.md")), body)
                .with_context(|| format!("writing {stem}.md"))?;
            let delivery = shown.map_or_else(|| "failed".into(), |(_, _, _, how)| how);
            index.push_str(&format!(
                "| {} | [{}]({stem}.md) | {delivery} | {} ms |\n",
                n + 1,
                entry.title,
                entry.latency.as_millis()
            ));
        }
        std::fs::write(out.join("index.md"), index).context("writing index.md")?;
        Ok(())
    }

    pub fn print_summary(&self, events: usize, ingest: Duration, total: Duration, out: &Path) {
        let mut latencies: Vec<u128> = self.entries.iter().map(|e| e.latency.as_millis()).collect();
        latencies.sort_unstable();
        let percentile = |p: f64| {
            latencies
                .get(((latencies.len() as f64 - 1.0) * p).round() as usize)
                .copied()
                .unwrap_or(0)
        };
        let mut stdout = std::io::stdout().lock();
        let _ = writeln!(stdout, "\nServerPulse demo");
        let _ = writeln!(
            stdout,
            "  events ingested   {events} in {:.1} s ({:.0} events/s)",
            ingest.as_secs_f64(),
            events as f64 / ingest.as_secs_f64().max(1e-9)
        );
        let _ = writeln!(
            stdout,
            "  interactions      {} answered, {} failed",
            self.entries.len() - self.failures(),
            self.failures()
        );
        let _ = writeln!(
            stdout,
            "  latency (ms)      p50 {}  p90 {}  max {}",
            percentile(0.5),
            percentile(0.9),
            latencies.last().copied().unwrap_or(0)
        );
        let _ = writeln!(
            stdout,
            "  output            {}",
            out.join("index.md").display()
        );
        let _ = writeln!(stdout, "  total time        {:.1} s", total.as_secs_f64());
    }
}

fn describe_failure(outcome: Option<&InteractionOutcome>) -> String {
    match outcome {
        None => "the interaction was not sent".into(),
        Some(o) => format!(
            "HTTP {} {}",
            o.status,
            o.answer_error
                .as_ref()
                .or(o.response.as_ref())
                .map(Value::to_string)
                .unwrap_or_default()
        ),
    }
}

fn slug(title: &str) -> String {
    let mut slug = String::new();
    for c in title.chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.ends_with('-') && !slug.is_empty() {
            slug.push('-');
        }
    }
    slug.trim_end_matches('-').chars().take(60).collect()
}
