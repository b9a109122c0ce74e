//! The shard's mirror of the catalogue: guilds, channels and members as the
//! database holds them plus the events folded since. Every change is also
//! written to the batch's [`CatalogueChanges`].

use std::collections::HashSet;

use foldhash::HashMap;

use chrono::{DateTime, Utc};
use shared::Snowflake;
use shared::db::catalogue::{ChannelRow, GuildRow, MemberRow, SpanRow};
use twilight_model::channel::permission_overwrite::{PermissionOverwrite, PermissionOverwriteType};
use twilight_model::guild::Permissions;

use super::batch::CatalogueChanges;
use crate::events::{ChannelPayload, GuildCreate, RolePayload, UserRef};

const THREAD_KINDS: [u8; 3] = [10, 11, 12];

#[derive(Debug, Default)]
struct GuildEntry {
    row: Option<GuildRow>,
    channels: HashMap<Snowflake, ChannelRow>,
    members: HashMap<Snowflake, MemberRow>,
}

#[derive(Debug, Default)]
pub struct Catalogue {
    guilds: HashMap<Snowflake, GuildEntry>,
}

impl Catalogue {
    fn entry(&mut self, guild_id: Snowflake) -> &mut GuildEntry {
        self.guilds.entry(guild_id).or_default()
    }

    pub fn restore_guild(&mut self, row: GuildRow) {
        let guild_id = row.guild_id;
        self.entry(guild_id).row = Some(row);
    }

    pub fn restore_channel(&mut self, row: ChannelRow) {
        self.entry(row.guild_id)
            .channels
            .insert(row.channel_id, row);
    }

    pub fn restore_member(&mut self, row: MemberRow) {
        self.entry(row.guild_id).members.insert(row.user_id, row);
    }

    /// Whether the guild is in memory.
    pub fn has_guild(&self, guild_id: Snowflake) -> bool {
        self.guilds.contains_key(&guild_id)
    }

    /// Members held in memory, over all guilds.
    pub fn member_count(&self) -> usize {
        self.guilds.values().map(|g| g.members.len()).sum()
    }

    /// Drops a member who left at `left_at` (and has not come back since)
    /// from memory: their row is committed, and the shard reads it back
    /// before folding their next join or leave.
    pub fn forget_left_member(
        &mut self,
        guild_id: Snowflake,
        user_id: Snowflake,
        left_at: DateTime<Utc>,
    ) {
        if let Some(g) = self.guilds.get_mut(&guild_id)
            && g.members
                .get(&user_id)
                .is_some_and(|m| m.left_at == Some(left_at))
        {
            g.members.remove(&user_id);
        }
    }

    /// Drops a guild the bot left (still unavailable) from memory.
    pub fn forget_left_guild(&mut self, guild_id: Snowflake) {
        let left = self
            .guilds
            .get(&guild_id)
            .is_some_and(|g| g.row.as_ref().is_none_or(|r| !r.available));
        if left {
            self.guilds.remove(&guild_id);
        }
    }

    pub fn guild_ids(&self) -> impl Iterator<Item = Snowflake> + '_ {
        self.guilds.keys().copied()
    }

    pub fn member(&self, guild_id: Snowflake, user_id: Snowflake) -> Option<&MemberRow> {
        self.guilds.get(&guild_id)?.members.get(&user_id)
    }

    /// The parent of `channel_id` if it is a known thread.
    pub fn thread_parent(&self, guild_id: Snowflake, channel_id: Snowflake) -> Option<Snowflake> {
        let row = self.guilds.get(&guild_id)?.channels.get(&channel_id)?;
        let kind = u8::try_from(row.kind).ok()?;
        if THREAD_KINDS.contains(&kind) {
            row.parent_id
        } else {
            None
        }
    }

    /// A counted message at `at` in `channel_id` by `author_id` (`bot`: a
    /// bot or webhook): the thread's first reply when it is a known thread
    /// with a known owner, the author is someone else, and no reply of that
    /// kind is recorded yet. Written once, so the flush writes the thread's
    /// row only for its first reply.
    pub fn thread_reply(
        &mut self,
        changes: &mut CatalogueChanges,
        guild_id: Snowflake,
        channel_id: Snowflake,
        author_id: Snowflake,
        bot: bool,
        at: DateTime<Utc>,
    ) {
        let Some(row) = self
            .guilds
            .get_mut(&guild_id)
            .and_then(|g| g.channels.get_mut(&channel_id))
        else {
            return;
        };
        if row.owner_id.is_none_or(|owner| owner == author_id) || at < row.created_at {
            return;
        }
        let first = if bot {
            &mut row.first_bot_reply_at
        } else {
            &mut row.first_reply_at
        };
        if first.is_some() {
            return;
        }
        *first = Some(at);
        changes.channels.insert((guild_id, channel_id), row.clone());
    }

    pub fn set_guild(&mut self, changes: &mut CatalogueChanges, row: GuildRow) {
        self.entry(row.guild_id).row = Some(row.clone());
        changes.guilds.insert(row.guild_id, row);
    }

    /// GUILD_UPDATE: a new name, on the known row or a fresh one.
    pub fn rename_guild(
        &mut self,
        changes: &mut CatalogueChanges,
        guild_id: Snowflake,
        name: Option<String>,
    ) {
        let mut row = self.guild_row(guild_id).unwrap_or(GuildRow {
            guild_id,
            name: String::new(),
            member_count: 0,
            available: true,
            everyone_permissions: None,
        });
        if let Some(name) = name {
            row.name = name;
        }
        self.set_guild(changes, row);
    }

    /// The @everyone role's permissions, when `roles` (of GUILD_UPDATE or
    /// GUILD_ROLE_UPDATE) has that role and the guild is known; other
    /// roles are ignored.
    pub fn everyone_role(
        &mut self,
        changes: &mut CatalogueChanges,
        guild_id: Snowflake,
        roles: &[RolePayload],
    ) {
        let Some(bits) = everyone_permissions(guild_id, roles) else {
            return;
        };
        if let Some(mut row) = self.guild_row(guild_id)
            && row.everyone_permissions != Some(bits)
        {
            row.everyone_permissions = Some(bits);
            self.set_guild(changes, row);
        }
    }

    /// GUILD_DELETE: a known guild became unavailable (or the bot left it).
    pub fn guild_unavailable(&mut self, changes: &mut CatalogueChanges, guild_id: Snowflake) {
        if let Some(mut row) = self.guild_row(guild_id) {
            row.available = false;
            self.set_guild(changes, row);
        }
    }

    pub fn bump_member_count(
        &mut self,
        changes: &mut CatalogueChanges,
        guild_id: Snowflake,
        delta: i32,
    ) {
        if let Some(mut row) = self.guild_row(guild_id) {
            row.member_count = (row.member_count + delta).max(0);
            self.set_guild(changes, row);
        }
    }

    fn guild_row(&self, guild_id: Snowflake) -> Option<GuildRow> {
        self.guilds.get(&guild_id).and_then(|g| g.row.clone())
    }

    /// A channel or thread as an event shows it; `deleted` is the deletion's
    /// arrival. Fields the payload leaves out keep their known values.
    pub fn upsert_channel(
        &mut self,
        changes: &mut CatalogueChanges,
        guild_id: Snowflake,
        c: &ChannelPayload,
        deleted: Option<DateTime<Utc>>,
        at: DateTime<Utc>,
    ) {
        let g = self.entry(guild_id);
        let previous = g.channels.get(&c.id).cloned();
        // Threads carry no overwrites (they follow their parent); a payload
        // without the field keeps what is known.
        let (everyone_allow, everyone_deny) = match &c.permission_overwrites {
            Some(overwrites) => everyone_overwrite(guild_id, overwrites),
            None => previous
                .as_ref()
                .map_or((0, 0), |p| (p.everyone_allow, p.everyone_deny)),
        };
        let archived = c.thread_metadata.as_ref().is_some_and(|m| m.archived);
        let row = ChannelRow {
            guild_id,
            channel_id: c.id,
            kind: i16::from(c.kind),
            name: c
                .name
                .clone()
                .or_else(|| previous.as_ref().map(|p| p.name.clone()))
                .unwrap_or_default(),
            parent_id: c.parent_id,
            archived,
            // Archived now, or still archived since an earlier update.
            archived_at: archived.then(|| {
                previous
                    .as_ref()
                    .filter(|p| p.archived)
                    .and_then(|p| p.archived_at)
                    .unwrap_or(at)
            }),
            // An id dated outside the window: created when first seen.
            created_at: shared::time::wire_time(c.id.created_at(), at).unwrap_or(at),
            deleted_at: deleted.or_else(|| previous.as_ref().and_then(|p| p.deleted_at)),
            everyone_allow,
            everyone_deny,
            owner_id: c
                .owner_id
                .or_else(|| previous.as_ref().and_then(|p| p.owner_id)),
            first_reply_at: previous.as_ref().and_then(|p| p.first_reply_at),
            first_bot_reply_at: previous.as_ref().and_then(|p| p.first_bot_reply_at),
        };
        g.channels.insert(c.id, row.clone());
        changes.channels.insert((guild_id, c.id), row);
    }

    /// GUILD_CREATE: the guild row, its channels and threads, and its
    /// members; a complete member list also says who left unseen.
    /// `joins[i]` is when `g.members[i]` joined, as the fold checked it
    /// (`None`: nothing to record).
    pub fn guild_create(
        &mut self,
        changes: &mut CatalogueChanges,
        g: &GuildCreate,
        joins: &[Option<DateTime<Utc>>],
        at: DateTime<Utc>,
    ) {
        let guild_id = g.id;
        let known = self.guild_row(guild_id);
        self.set_guild(
            changes,
            GuildRow {
                guild_id,
                name: g
                    .name
                    .clone()
                    .or_else(|| known.as_ref().map(|k| k.name.clone()))
                    .unwrap_or_default(),
                member_count: g.member_count.map_or(g.members.len() as i32, |c| c as i32),
                available: true,
                everyone_permissions: everyone_permissions(guild_id, &g.roles)
                    .or_else(|| known.as_ref().and_then(|k| k.everyone_permissions)),
            },
        );
        for c in g.channels.iter().chain(&g.threads) {
            self.upsert_channel(changes, guild_id, c, None, at);
        }
        // Members: the list is complete only for small guilds.
        let complete = g
            .member_count
            .is_none_or(|count| g.members.len() as i64 >= count);
        let present: HashSet<Snowflake> = g.members.iter().map(|m| m.user.id).collect();
        for (m, joined) in g.members.iter().zip(joins) {
            if let Some(joined) = *joined {
                self.member_present(changes, guild_id, &m.user, joined);
            }
        }
        if complete {
            let gone: Vec<MemberRow> = self
                .guilds
                .get(&guild_id)
                .map(|s| {
                    s.members
                        .values()
                        .filter(|m| m.left_at.is_none() && !present.contains(&m.user_id))
                        .cloned()
                        .collect()
                })
                .unwrap_or_default();
            for m in gone {
                // Left while we were away: catalogue only, not a counted leave.
                let user = UserRef {
                    id: m.user_id,
                    bot: m.is_bot,
                    avatar: None,
                };
                self.member_left(changes, guild_id, &user, at);
            }
        }
    }

    fn set_member(&mut self, changes: &mut CatalogueChanges, row: MemberRow) {
        let key = (row.guild_id, row.user_id);
        self.entry(row.guild_id)
            .members
            .insert(row.user_id, row.clone());
        changes.members.insert(key, row);
    }

    /// A member is present (from GUILD_CREATE or GUILD_MEMBER_ADD) since
    /// `joined_at`; returns false when that was already known.
    pub fn member_present(
        &mut self,
        changes: &mut CatalogueChanges,
        guild_id: Snowflake,
        user: &UserRef,
        joined_at: DateTime<Utc>,
    ) -> bool {
        let previous = self.member(guild_id, user.id).cloned();
        if let Some(p) = &previous
            && p.left_at.is_none()
            && p.joined_at == Some(joined_at)
        {
            return false; // already known as present
        }
        let had_left = previous.as_ref().and_then(|p| p.left_at);
        if let Some(p) = &previous
            && p.left_at.is_none()
            && let Some(old) = p.joined_at
        {
            // Present with another join time: the old span ended unseen.
            changes.end_span(guild_id, user.id, old, joined_at.max(old));
        }
        self.set_member(
            changes,
            MemberRow {
                guild_id,
                user_id: user.id,
                is_bot: user.bot,
                joined_at: Some(joined_at),
                left_at: None,
                join_count: previous.as_ref().map_or(1, |p| p.join_count + 1),
            },
        );
        changes.set_span(SpanRow {
            guild_id,
            user_id: user.id,
            joined_at,
            left_at: None,
            is_rejoin: had_left.is_some(),
        });
        true
    }

    /// A member left at `at`: the current span ends.
    pub fn member_left(
        &mut self,
        changes: &mut CatalogueChanges,
        guild_id: Snowflake,
        user: &UserRef,
        at: DateTime<Utc>,
    ) {
        let previous = self.member(guild_id, user.id).cloned();
        if let Some(joined) = previous.as_ref().and_then(|p| p.joined_at)
            && previous.as_ref().is_some_and(|p| p.left_at.is_none())
        {
            changes.end_span(guild_id, user.id, joined, at);
        }
        self.set_member(
            changes,
            MemberRow {
                guild_id,
                user_id: user.id,
                is_bot: user.bot || previous.as_ref().is_some_and(|p| p.is_bot),
                joined_at: previous.as_ref().and_then(|p| p.joined_at),
                left_at: Some(at),
                join_count: previous.as_ref().map_or(0, |p| p.join_count),
            },
        );
    }
}

/// Discord's permission bits as the catalogue stores them: a BIGINT, bit
/// for bit (every defined bit is below 2^63).
fn stored(bits: Permissions) -> i64 {
    bits.bits() as i64
}

/// The permissions of the @everyone role (whose id is the guild id).
fn everyone_permissions(guild_id: Snowflake, roles: &[RolePayload]) -> Option<i64> {
    roles
        .iter()
        .find(|r| r.id == guild_id)
        .map(|r| stored(r.permissions))
}

/// `(allow, deny)` of the channel's overwrite for the @everyone role;
/// `(0, 0)` without one. Member overwrites and other roles' do not decide
/// what @everyone sees.
fn everyone_overwrite(guild_id: Snowflake, overwrites: &[PermissionOverwrite]) -> (i64, i64) {
    overwrites
        .iter()
        .find(|o| o.kind == PermissionOverwriteType::Role && o.id.get() == guild_id.0)
        .map_or((0, 0), |o| (stored(o.allow), stored(o.deny)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn overwrites(json: &str) -> Vec<PermissionOverwrite> {
        serde_json::from_str(json).expect("overwrites parse")
    }

    #[test]
    fn only_the_everyone_role_overwrite_counts() {
        let g = Snowflake(77);
        let o = overwrites(
            r#"[{"id":"5","type":0,"allow":"1024","deny":"0"},
                {"id":"77","type":1,"allow":"0","deny":"2048"},
                {"id":"77","type":0,"allow":"64","deny":"1024"}]"#,
        );
        assert_eq!(everyone_overwrite(g, &o), (64, 1024));
        assert_eq!(everyone_overwrite(g, &o[..2]), (0, 0));
        let roles: Vec<RolePayload> = serde_json::from_str(
            r#"[{"id":"5","permissions":"8"},{"id":"77","permissions":"1071698660929"}]"#,
        )
        .unwrap();
        assert_eq!(everyone_permissions(g, &roles), Some(1_071_698_660_929));
        assert_eq!(everyone_permissions(Snowflake(6), &roles), None);
    }
}
