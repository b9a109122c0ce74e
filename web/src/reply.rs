//! What a handler answers, and message pieces kept within Discord's limits.

use serde_json::{Value, json};
use twilight_model::channel::message::MessageFlags;
use twilight_model::channel::message::component::{ButtonStyle, ComponentType};

use crate::discord::Attachment;

/// Discord's message limits (see the README's notes on the protocol).
pub mod limits {
    pub const TITLE: usize = 256;
    pub const DESCRIPTION: usize = 4096;
    pub const FIELDS: usize = 25;
    pub const FIELD_NAME: usize = 256;
    pub const FIELD_VALUE: usize = 1024;
    pub const FOOTER: usize = 2048;
    pub const EMBED_TOTAL: usize = 6000;
    pub const CONTENT: usize = 2000;
    pub const CUSTOM_ID: usize = 100;
    pub const SELECT_OPTIONS: usize = 25;
    pub const CHOICES: usize = 25;
}

/// Blurple, Discord's brand colour: readable on both themes.
pub const COLOR: u32 = 0x5865f2;
/// Ephemeral messages: only the invoking user sees them.
pub const EPHEMERAL: MessageFlags = MessageFlags::EPHEMERAL;

/// A message to show (new, or replacing the clicked one).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Message {
    pub content: Option<String>,
    pub embeds: Vec<Embed>,
    /// Action rows.
    pub components: Vec<Value>,
    pub files: Vec<Attachment>,
    pub ephemeral: bool,
}

impl Message {
    /// A short ephemeral message telling the user what to do.
    pub fn notice(text: impl Into<String>) -> Self {
        Self {
            content: Some(truncate(&text.into(), limits::CONTENT)),
            ephemeral: true,
            ..Self::default()
        }
    }

    /// The create-message JSON of a message ServerPulse posts on its own
    /// (digests, Pulse Reports): no components, and `allowed_mentions`
    /// empty so listing members pings nobody.
    pub fn channel_post_payload(&self) -> Value {
        let mut payload = self.payload();
        payload["allowed_mentions"] = json!({ "parse": [] });
        if let Some(object) = payload.as_object_mut() {
            object.remove("components");
        }
        payload
    }

    pub fn payload(&self) -> Value {
        let mut payload = json!({
            "embeds": self.embeds.iter().map(Embed::to_json).collect::<Vec<_>>(),
            "components": self.components,
        });
        if let Some(content) = &self.content {
            payload["content"] = json!(content);
        }
        if self.ephemeral {
            payload["flags"] = json!(EPHEMERAL);
        }
        payload
    }
}

/// Everything an interaction can be answered with.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// A new message (callback type 4, or 5 then an edit).
    Message(Message),
    /// The clicked message replaced (type 7, or 6 then an edit).
    Update(Message),
    /// A modal (type 9).
    Modal(Value),
    /// Autocomplete choices `(name, value)` (type 8).
    Choices(Vec<(String, String)>),
}

/// An embed under construction; `to_json` enforces every limit.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Embed {
    pub title: String,
    pub description: String,
    pub fields: Vec<(String, String, bool)>,
    pub footer: Option<String>,
    /// A file name sent with the message, shown as the embed's image.
    pub image: Option<String>,
}

impl Embed {
    pub fn new(title: impl Into<String>) -> Self {
        Self {
            title: title.into(),
            ..Self::default()
        }
    }

    pub fn field(
        mut self,
        name: impl Into<String>,
        value: impl Into<String>,
        inline: bool,
    ) -> Self {
        self.fields.push((name.into(), value.into(), inline));
        self
    }

    pub fn describe(mut self, text: impl Into<String>) -> Self {
        self.description = text.into();
        self
    }

    pub fn footer(mut self, text: impl Into<String>) -> Self {
        self.footer = Some(text.into());
        self
    }

    pub fn image(mut self, file: impl Into<String>) -> Self {
        self.image = Some(file.into());
        self
    }

    pub fn to_json(&self) -> Value {
        let title = truncate(&self.title, limits::TITLE);
        let footer = self.footer.as_deref().map(|f| truncate(f, limits::FOOTER));
        let mut budget = limits::EMBED_TOTAL
            - title.chars().count()
            - footer.as_deref().map_or(0, |f| f.chars().count());
        let description = truncate(&self.description, limits::DESCRIPTION.min(budget));
        budget -= description.chars().count();
        let mut fields = Vec::new();
        for (name, value, inline) in self.fields.iter().take(limits::FIELDS) {
            let name = truncate(
                if name.is_empty() { "\u{200b}" } else { name },
                limits::FIELD_NAME,
            );
            let value = truncate(
                if value.is_empty() { "–" } else { value },
                limits::FIELD_VALUE,
            );
            let cost = name.chars().count() + value.chars().count();
            if cost > budget {
                break;
            }
            budget -= cost;
            fields.push(json!({"name": name, "value": value, "inline": inline}));
        }
        let mut embed = json!({"title": title, "color": COLOR, "fields": fields});
        if !description.is_empty() {
            embed["description"] = json!(description);
        }
        if let Some(footer) = footer {
            embed["footer"] = json!({ "text": footer });
        }
        if let Some(image) = &self.image {
            embed["image"] = json!({ "url": format!("attachment://{image}") });
        }
        embed
    }
}

/// `text` as Discord shows it literally: every character Discord markdown
/// gives a meaning (emphasis, code, spoilers, quotes, headings, lists,
/// masked links `[label](url)`, mentions `<@id>` `<#id>`) is
/// backslash-escaped, and `@` is followed by a zero-width space so
/// `@everyone` or `@here` mentions no one.
pub fn escape_markdown(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' | '*' | '_' | '~' | '`' | '|' | '>' | '<' | '#' | '-' | '[' | ']' | '(' | ')'
            | ':' => {
                out.push('\\');
                out.push(c);
            }
            '@' => out.push_str("@\u{200b}"),
            _ => out.push(c),
        }
    }
    out
}

/// At most `max` characters, with an ellipsis when cut.
pub fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// A button; `custom_id` is a [`crate::component::ComponentId`] encoded.
pub fn button(label: &str, custom_id: String, style: ButtonStyle, disabled: bool) -> Value {
    debug_assert!(custom_id.len() <= limits::CUSTOM_ID);
    json!({"type": ComponentType::Button, "style": style, "label": label, "custom_id": custom_id,
           "disabled": disabled})
}

pub fn row(components: Vec<Value>) -> Value {
    json!({"type": ComponentType::ActionRow, "components": components})
}

/// A string select with `(label, value, default)` options.
pub fn string_select(
    custom_id: String,
    placeholder: &str,
    options: &[(String, String, bool)],
) -> Value {
    let options: Vec<Value> = options
        .iter()
        .take(limits::SELECT_OPTIONS)
        .map(|(label, value, default)| json!({"label": label, "value": value, "default": default}))
        .collect();
    json!({"type": ComponentType::TextSelectMenu, "custom_id": custom_id, "placeholder": placeholder, "options": options,
           "min_values": 1, "max_values": 1})
}

/// `1234567` → `1,234,567`.
pub fn int(value: i64) -> String {
    let digits = value.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if value < 0 { format!("-{out}") } else { out }
}

/// Seconds as `3h 05m 09s`.
pub fn duration(seconds: i64) -> String {
    format!(
        "{}h {:02}m {:02}s",
        int(seconds / 3600),
        (seconds % 3600) / 60,
        seconds % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_durations() {
        assert_eq!(int(0), "0");
        assert_eq!(int(1234567), "1,234,567");
        assert_eq!(int(-1000), "-1,000");
        assert_eq!(duration(3 * 3600 + 5 * 60 + 9), "3h 05m 09s");
    }

    #[test]
    fn embeds_stay_within_limits() {
        let mut embed = Embed::new("t".repeat(300)).describe("d".repeat(5000));
        for i in 0..30 {
            embed = embed.field(format!("f{i}"), "v".repeat(2000), false);
        }
        let json = embed.to_json();
        assert_eq!(json["title"].as_str().unwrap().chars().count(), 256);
        let fields = json["fields"].as_array().unwrap();
        assert!(fields.len() <= 25);
        let total = json["title"].as_str().unwrap().chars().count()
            + json["description"].as_str().unwrap().chars().count()
            + fields
                .iter()
                .map(|f| {
                    f["name"].as_str().unwrap().chars().count()
                        + f["value"].as_str().unwrap().chars().count()
                })
                .sum::<usize>();
        assert!(total <= 6000, "{total}");
        assert!(
            fields
                .iter()
                .all(|f| f["value"].as_str().unwrap().chars().count() <= 1024)
        );
    }
}
