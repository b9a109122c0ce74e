//! What the member asking may learn about channels.
//!
//! A channel @everyone cannot view (its @everyone overwrite denies
//! VIEW_CHANNEL, a thread under it, every private thread;
//! `shared::db::catalogue::private_channels`) is named, listed and
//! analysed only for members with Manage Server. Everyone else gets
//! reports without it: left out of lists and charts, and a refusal for a
//! report about that one channel. Totals that name no channel still count
//! it.
//!
//! In embed text a channel is a mention (`<#id>`), which Discord renders
//! only for those who can see the channel. Where a mention does not render
//! (embed titles and field names) or cannot exist (chart pixels), the name
//! is used, escaped for markdown in text.

use std::collections::HashSet;

use shared::Snowflake;
use shared::db::catalogue;

use crate::context::Ctx;
use crate::error::{Failure, Outcome};
use crate::reply::escape_markdown;

/// The label of a channel whose name the member may not see.
pub const PRIVATE_LABEL: &str = "private channel";
/// The label of a channel the catalogue has no name for.
pub const UNKNOWN_LABEL: &str = "unknown channel";

/// The private channels of the guild and whether the member asking may see
/// them.
pub struct Privacy {
    private: HashSet<Snowflake>,
    sees_all: bool,
}

impl Privacy {
    pub async fn load(ctx: &Ctx) -> Outcome<Self> {
        let private = catalogue::private_channels(&ctx.state.pool, ctx.guild_id).await?;
        Ok(Self::new(private, ctx.is_admin()))
    }

    pub fn new(private: impl IntoIterator<Item = Snowflake>, sees_all: bool) -> Self {
        Self {
            private: private.into_iter().collect(),
            sees_all,
        }
    }

    /// The member may not see this channel named or analysed.
    pub fn hidden(&self, channel: Snowflake) -> bool {
        !self.sees_all && self.private.contains(&channel)
    }

    /// A report about `channel` alone: refused when it is hidden. The
    /// refusal names nothing.
    pub fn require_visible(&self, channel: Snowflake) -> Outcome<()> {
        if self.hidden(channel) {
            return Err(Failure::user(
                "That channel is private: only members with the Manage Server permission can see its activity.",
            ));
        }
        Ok(())
    }

    /// For embed titles and field names, which render no mentions: `#name`
    /// escaped, "private channel" or "unknown channel".
    pub fn text_name(&self, channel: Snowflake, name: Option<&str>) -> String {
        self.label(channel, name, escape_markdown)
    }

    /// For charts (pixels, no markdown): `#name`, "private channel" or
    /// "unknown channel".
    pub fn chart_label(&self, channel: Snowflake, name: Option<&str>) -> String {
        self.label(channel, name, str::to_owned)
    }

    fn label(&self, channel: Snowflake, name: Option<&str>, show: fn(&str) -> String) -> String {
        if self.hidden(channel) {
            return PRIVATE_LABEL.to_owned();
        }
        match name.filter(|n| !n.is_empty()) {
            Some(n) => format!("#{}", show(n)),
            None => UNKNOWN_LABEL.to_owned(),
        }
    }
}

/// A channel in embed descriptions and field values: rendered by Discord
/// with its name for those who can see it, and as no name for others.
pub fn mention(channel: Snowflake) -> String {
    format!("<#{channel}>")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_malicious_name_renders_escaped() {
        let p = Privacy::new([], false);
        let name = "[free nitro](https://evil.example) **@everyone** `x` ||y|| > z";
        let text = p.text_name(Snowflake(1), Some(name));
        assert_eq!(
            text,
            "#\\[free nitro\\]\\(https\\://evil.example\\) \\*\\*@\u{200b}everyone\\*\\* \\`x\\` \\|\\|y\\|\\| \\> z"
        );
        assert!(!text.contains("](") && !text.contains("@everyone"));
        // Pixels need no escaping.
        assert_eq!(p.chart_label(Snowflake(1), Some("a_b")), "#a_b");
    }

    #[test]
    fn private_channels_are_named_only_to_those_who_see_all() {
        let member = Privacy::new([Snowflake(2)], false);
        let admin = Privacy::new([Snowflake(2)], true);
        assert!(member.hidden(Snowflake(2)) && !member.hidden(Snowflake(1)));
        assert!(!admin.hidden(Snowflake(2)));
        assert_eq!(member.text_name(Snowflake(2), Some("mods")), PRIVATE_LABEL);
        assert_eq!(
            member.chart_label(Snowflake(2), Some("mods")),
            PRIVATE_LABEL
        );
        assert_eq!(admin.chart_label(Snowflake(2), Some("mods")), "#mods");
        assert_eq!(member.text_name(Snowflake(1), Some("general")), "#general");
        assert_eq!(member.chart_label(Snowflake(3), None), UNKNOWN_LABEL);
        assert_eq!(member.text_name(Snowflake(2), None), PRIVATE_LABEL);
        assert!(member.require_visible(Snowflake(2)).is_err());
        assert!(admin.require_visible(Snowflake(2)).is_ok());
        assert_eq!(mention(Snowflake(2)), "<#2>");
    }
}
