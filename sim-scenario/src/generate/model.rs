//! The generator's model of a guild: its people, channels and threads, and
//! when each exists.

use serde_json::Value;

use super::SEC;

#[derive(Clone)]
pub(super) struct UserM {
    pub(super) id: u64,
    pub(super) name: String,
    pub(super) bot: bool,
    /// Relative message activity (0 for lurkers).
    pub(super) weight: f64,
    /// Relative voice activity (0 for users who never join voice).
    pub(super) voice_weight: f64,
    /// `(joined, left)` stints, in order.
    pub(super) stints: Vec<(i64, Option<i64>)>,
}

impl UserM {
    /// `joined_at` of the stint containing `t`.
    pub(super) fn member_at(&self, t: i64) -> Option<i64> {
        self.stints
            .iter()
            .find(|(j, l)| *j <= t && l.is_none_or(|l| t < l))
            .map(|(j, _)| *j)
    }
    /// `joined_at` of a stint containing all of `[a, b]`.
    pub(super) fn member_through(&self, a: i64, b: i64) -> Option<i64> {
        self.stints
            .iter()
            .find(|(j, l)| *j <= a && l.is_none_or(|l| b < l))
            .map(|(j, _)| *j)
    }
}

pub(super) struct ChanM {
    pub(super) id: u64,
    pub(super) kind: u8,
    pub(super) name: String,
    pub(super) parent: Option<u64>,
    pub(super) created: Option<i64>,
    pub(super) deleted: Option<i64>,
    /// Relative share of human messages (0: nobody posts here).
    pub(super) weight: f64,
    /// Threads may be opened under it.
    pub(super) thread_parent: bool,
    /// @everyone is denied VIEW_CHANNEL; the moderators' role may view it.
    pub(super) private: bool,
}

impl ChanM {
    pub(super) fn usable_at(&self, t: i64) -> bool {
        self.created.is_none_or(|c| c + SEC <= t) && self.deleted.is_none_or(|d| t < d)
    }
}

pub(super) struct ThreadM {
    pub(super) id: u64,
    pub(super) parent: u64,
    pub(super) kind: u8,
    pub(super) name: String,
    pub(super) owner: u64,
    pub(super) created: i64,
    pub(super) archived: Option<i64>,
    pub(super) messages: u32,
}

impl ThreadM {
    pub(super) fn open_at(&self, t: i64) -> bool {
        self.created + SEC <= t && self.archived.is_none_or(|a| t < a)
    }
}

pub(super) struct GuildM {
    pub(super) id: u64,
    pub(super) humans: Vec<UserM>,
    pub(super) bots: Vec<UserM>,
    pub(super) webhook: (u64, String),
    pub(super) channels: Vec<ChanM>,
    pub(super) threads: Vec<ThreadM>,
    /// `(name, id, weight)` of custom emoji; unicode ones have id 0.
    pub(super) emoji: Vec<(String, u64, f64)>,
    pub(super) stickers: Vec<(u64, String)>,
    pub(super) initial_voice: Vec<Value>,
    /// The moderators' role, which may view private channels.
    pub(super) mod_role: u64,
    /// Humans holding `mod_role`.
    pub(super) moderators: Vec<u64>,
}

impl GuildM {
    pub(super) fn channel(&self, kind_name: &str) -> &ChanM {
        self.channels
            .iter()
            .find(|c| c.name == kind_name)
            .expect("channel exists")
    }

    /// The role a private channel is visible to, for its payload.
    pub(super) fn private_to(&self, c: &ChanM) -> Option<u64> {
        c.private.then_some(self.mod_role)
    }
}

pub(super) enum Author<'a> {
    User(&'a UserM, i64),
    Webhook(u64, &'a str),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn membership_edges_are_half_open() {
        let u = UserM {
            id: 1,
            name: "u".into(),
            bot: false,
            weight: 1.0,
            voice_weight: 0.0,
            stints: vec![(10, Some(20)), (30, None)],
        };
        assert_eq!(u.member_at(9), None);
        assert_eq!(u.member_at(10), Some(10));
        assert_eq!(u.member_at(19), Some(10));
        assert_eq!(u.member_at(20), None);
        assert_eq!(u.member_at(30), Some(30));
        assert_eq!(u.member_through(10, 19), Some(10));
        assert_eq!(u.member_through(10, 20), None);
        assert_eq!(u.member_through(15, 35), None);
    }
}
