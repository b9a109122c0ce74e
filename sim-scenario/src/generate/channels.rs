//! The channel lifecycle after the start: `#event-chat` created, updated and
//! deleted, `#off-topic` renamed mid-scenario.

use super::model::GuildM;
use super::{Gen, HOUR, MIN};
use crate::payload;

impl Gen {
    pub(super) fn channel_events(&mut self, gm: &GuildM) {
        for c in &gm.channels {
            let shape = |topic| payload::ChannelShape {
                id: c.id,
                guild_id: gm.id,
                kind: c.kind,
                name: &c.name,
                parent_id: c.parent,
                position: 0,
                topic,
                private_to: gm.private_to(c),
            };
            if let Some(t) = c.created {
                self.push(t, gm.id, "CHANNEL_CREATE", payload::channel(&shape(None)));
                let upd = payload::channel(&shape(Some("Event of the month")));
                self.push(t + 2 * HOUR, gm.id, "CHANNEL_UPDATE", upd);
            }
            if let Some(t) = c.deleted {
                self.push(t, gm.id, "CHANNEL_DELETE", payload::channel(&shape(None)));
            }
            if c.name == "off-topic" {
                let t = self.start + (self.end - self.start) / 2 + 5 * MIN;
                let upd = payload::channel(&shape(Some("Anything goes")));
                self.push(t, gm.id, "CHANNEL_UPDATE", upd);
            }
        }
    }
}
