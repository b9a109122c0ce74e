//! The guild as it is at the start: its `GUILD_CREATE`, and the catalogue
//! facts (every channel and thread that ever exists).

use serde_json::{Value, json};

use super::model::GuildM;
use super::threads::thread_shape;
use super::{DAY, Gen, HOUR};
use crate::payload;
use crate::truth::{ChannelFact, ThreadFact};

impl Gen {
    pub(super) fn record_static_truth(&mut self, gm: &GuildM) {
        for c in &gm.channels {
            self.truth.channels.push(ChannelFact {
                guild_id: gm.id,
                channel_id: c.id,
                kind: c.kind,
                name: c.name.clone(),
                parent_id: c.parent,
                created_ms: c.created,
                deleted_ms: c.deleted,
                everyone_can_view: !c.private,
            });
        }
        for t in &gm.threads {
            let created_ms = Some(t.created).filter(|c| *c >= self.start);
            let parent_public = gm.channels.iter().any(|c| c.id == t.parent && !c.private);
            self.truth.channels.push(ChannelFact {
                guild_id: gm.id,
                channel_id: t.id,
                kind: t.kind,
                name: t.name.clone(),
                parent_id: Some(t.parent),
                created_ms,
                deleted_ms: None,
                everyone_can_view: parent_public && t.kind != 12,
            });
            self.truth.threads.push(ThreadFact {
                guild_id: gm.id,
                thread_id: t.id,
                parent_id: t.parent,
                kind: t.kind,
                owner_id: t.owner,
                created_ms,
                archived_ms: t.archived,
            });
        }
    }

    pub(super) fn guild_create(&mut self, gm: &GuildM, created: i64) -> Value {
        let start = self.start;
        let members: Vec<Value> = gm
            .humans
            .iter()
            .chain(&gm.bots)
            .filter_map(|u| {
                let joined = u.member_at(start)?;
                let mut m = payload::member(u.id, &u.name, u.bot, joined);
                if gm.moderators.contains(&u.id) {
                    m["roles"] = json!([gm.mod_role.to_string()]);
                }
                Some(m)
            })
            .collect();
        let channels: Vec<Value> = gm
            .channels
            .iter()
            .filter(|c| c.created.is_none())
            .enumerate()
            .map(|(pos, c)| {
                payload::channel(&payload::ChannelShape {
                    id: c.id,
                    guild_id: gm.id,
                    kind: c.kind,
                    name: &c.name,
                    parent_id: c.parent,
                    position: pos as i32,
                    topic: None,
                    private_to: gm.private_to(c),
                })
            })
            .collect();
        let threads: Vec<Value> = gm
            .threads
            .iter()
            .filter(|t| t.created < start)
            .map(|t| payload::thread(&thread_shape(gm.id, t, None), false))
            .collect();
        let emojis: Vec<Value> = gm
            .emoji
            .iter()
            .filter(|e| e.1 != 0)
            .map(|(name, id, _)| payload::guild_emoji(*id, name))
            .collect();
        let owner = gm.humans.first().map_or(gm.bots[0].id, |u| u.id);
        json!({
            "id": gm.id.to_string(),
            "name": format!("Pulse Community {}", gm.id % 1000),
            "icon": null,
            "splash": null,
            "discovery_splash": null,
            "banner": null,
            "description": null,
            "owner_id": owner.to_string(),
            "afk_channel_id": null,
            "afk_timeout": 300,
            "application_id": null,
            "verification_level": 1,
            "default_message_notifications": 1,
            "explicit_content_filter": 0,
            "features": [],
            "mfa_level": 0,
            "nsfw_level": 0,
            "premium_tier": 0,
            "premium_progress_bar_enabled": false,
            "preferred_locale": "en-US",
            "public_updates_channel_id": null,
            "rules_channel_id": null,
            "system_channel_id": null,
            "system_channel_flags": 0,
            "vanity_url_code": null,
            "roles": [payload::role_everyone(gm.id), payload::role_moderators(gm.mod_role)],
            "emojis": emojis,
            "joined_at": payload::iso(created + DAY + HOUR),
            "large": members.len() > 50,
            "unavailable": false,
            "member_count": members.len(),
            "members": members,
            "channels": channels,
            "threads": threads,
            "voice_states": gm.initial_voice,
            "presences": [],
        })
    }
}
