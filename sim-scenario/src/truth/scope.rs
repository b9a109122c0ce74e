//! [`Scope`]: which events a query looks at.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::{AuthorKind, MessageFact};

/// Which events a query looks at. Build with [`Scope::new`] and the builder
/// methods.
///
/// The allow-list is fixed for the whole range. When the settings change at
/// `t`, query `[from, t)` and `[t, to)` with their own lists and add the
/// results (exact for every additive figure: counts, voice time, per-hour
/// and per-day maps; not for distinct-member counts or peaks within the
/// hour containing `t`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scope {
    pub guild_id: u64,
    /// Inclusive start, Unix ms.
    pub from_ms: i64,
    /// Exclusive end, Unix ms.
    pub to_ms: i64,
    /// Collected channels (the guild's allow-list); `None`: all channels.
    pub collected: Option<BTreeSet<u64>>,
    /// When tracking was enabled; nothing earlier counts.
    pub tracking_since_ms: Option<i64>,
    /// Only this channel (and threads whose parent it is).
    pub channel: Option<u64>,
    /// Only this user's own actions (author, reaction giver, voice user).
    pub user: Option<u64>,
    /// Count bots and webhooks in member statistics.
    pub include_bots: bool,
}

impl Scope {
    /// All channels, tracking since forever, bots excluded.
    pub fn new(guild_id: u64, from_ms: i64, to_ms: i64) -> Self {
        Self {
            guild_id,
            from_ms,
            to_ms,
            collected: None,
            tracking_since_ms: None,
            channel: None,
            user: None,
            include_bots: false,
        }
    }
    pub fn collected(mut self, channels: impl IntoIterator<Item = u64>) -> Self {
        self.collected = Some(channels.into_iter().collect());
        self
    }
    pub fn tracking_since(mut self, t: i64) -> Self {
        self.tracking_since_ms = Some(t);
        self
    }
    pub fn channel(mut self, channel: u64) -> Self {
        self.channel = Some(channel);
        self
    }
    pub fn user(mut self, user: u64) -> Self {
        self.user = Some(user);
        self
    }
    pub fn including_bots(mut self) -> Self {
        self.include_bots = true;
        self
    }
    /// `max(from_ms, tracking_since_ms)`.
    pub fn effective_from(&self) -> i64 {
        self.tracking_since_ms
            .map_or(self.from_ms, |t| t.max(self.from_ms))
    }
    /// `effective_from() <= t < to_ms`.
    pub fn admits_time(&self, t: i64) -> bool {
        t >= self.effective_from() && t < self.to_ms
    }
    /// A channel passes when it (or, for a thread, its parent) is in the
    /// allow-list, and it is (or its parent is) the filtered channel. The
    /// allow-list names channels (or threads) themselves: a category in it
    /// does not admit the channels under it.
    pub fn admits_channel(&self, channel: u64, thread_parent: Option<u64>) -> bool {
        let is = |c: u64| channel == c || thread_parent == Some(c);
        self.collected
            .as_ref()
            .is_none_or(|set| set.iter().any(|c| is(*c)))
            && self.channel.is_none_or(is)
    }
    pub(super) fn admits_user(&self, user: u64) -> bool {
        self.user.is_none_or(|u| u == user)
    }
    /// The acting user passes the user filter, and bots only with
    /// `include_bots`.
    pub(super) fn admits_actor(&self, user: u64, is_bot: bool) -> bool {
        self.admits_user(user) && (self.include_bots || !is_bot)
    }
    /// The message passes the time, channel, user and bot filters.
    pub(super) fn admits_message(&self, m: &MessageFact) -> bool {
        m.guild_id == self.guild_id
            && self.admits_time(m.at_ms)
            && self.admits_channel(m.channel_id, m.thread_parent_id)
            && self.admits_user(m.author_id)
            && (self.include_bots || m.author_kind == AuthorKind::Member)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_filters() {
        let s = Scope::new(1, 100, 200).tracking_since(150).collected([10]);
        assert_eq!(s.effective_from(), 150);
        assert!(
            !s.admits_time(149) && s.admits_time(150) && s.admits_time(199) && !s.admits_time(200)
        );
        assert!(s.admits_channel(10, None));
        assert!(
            s.admits_channel(99, Some(10)),
            "a thread is collected with its parent"
        );
        assert!(!s.admits_channel(11, None));
        assert!(
            !s.admits_channel(12, Some(11)),
            "a thread follows its parent"
        );
        let c = Scope::new(1, 0, 1).channel(10);
        assert!(
            c.admits_channel(10, None)
                && c.admits_channel(12, Some(10))
                && !c.admits_channel(11, None)
        );
        assert_eq!(
            Scope::new(1, 100, 200).tracking_since(50).effective_from(),
            100
        );
    }
}
