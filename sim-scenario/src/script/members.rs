//! Membership: members present at the start, joins and leaves.

use super::{Person, Script};
use crate::payload;
use crate::truth::MembershipFact;

impl Script {
    /// A member present at the start, who joined at `joined_ms` (< start).
    pub fn member(&mut self, user: u64, name: &str, bot: bool, joined_ms: i64) -> &mut Self {
        assert!(
            joined_ms < self.start,
            "initial members joined before the start"
        );
        self.truth.members.push(MembershipFact {
            guild_id: self.guild_id,
            user_id: user,
            is_bot: bot,
            joined_ms,
            left_ms: None,
            rejoin: false,
            initial: true,
        });
        self.people.insert(
            user,
            Person {
                name: name.to_owned(),
                bot,
                joined: Some(joined_ms),
                stint: Some(self.truth.members.len() - 1),
                ever_left: false,
            },
        );
        self
    }

    /// `GUILD_MEMBER_ADD` (a rejoin if the user left before).
    pub fn join(&mut self, at: i64, user: u64, name: &str, bot: bool) -> &mut Self {
        let rejoin = self.people.get(&user).is_some_and(|p| p.ever_left);
        assert!(
            self.people.get(&user).is_none_or(|p| p.joined.is_none()),
            "already a member"
        );
        let d = payload::member_add(self.guild_id, user, name, bot, at);
        self.push(at, "GUILD_MEMBER_ADD", d);
        self.truth.members.push(MembershipFact {
            guild_id: self.guild_id,
            user_id: user,
            is_bot: bot,
            joined_ms: at,
            left_ms: None,
            rejoin,
            initial: false,
        });
        let stint = Some(self.truth.members.len() - 1);
        let p = self.people.entry(user).or_insert(Person {
            name: name.to_owned(),
            bot,
            joined: None,
            stint: None,
            ever_left: false,
        });
        p.joined = Some(at);
        p.stint = stint;
        self
    }

    /// `GUILD_MEMBER_REMOVE`.
    pub fn leave(&mut self, at: i64, user: u64) -> &mut Self {
        assert!(
            !self.voice.contains_key(&user),
            "leave voice before leaving the guild"
        );
        let (name, bot, stint) = {
            let p = self.people.get_mut(&user).expect("known member");
            p.joined = None;
            p.ever_left = true;
            (p.name.clone(), p.bot, p.stint.take().expect("a member"))
        };
        let d = payload::member_remove(self.guild_id, user, &name, bot);
        self.push(at, "GUILD_MEMBER_REMOVE", d);
        self.truth.members[stint].left_ms = Some(at);
        self
    }
}
