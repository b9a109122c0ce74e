//! Threads: planned up front (open at the start or created later, with an
//! opening post by the owner), then archived.

use super::model::{Author, GuildM, ThreadM};
use super::{DAY, Gen, HOUR, MIN, SEC};
use crate::{ScenarioSize, payload};

impl Gen {
    pub(super) fn plan_threads(&mut self, gm: &mut GuildM, size: ScenarioSize) {
        let (start, end) = (self.start, self.end);
        let parents: Vec<(u64, u8)> = gm
            .channels
            .iter()
            .filter(|c| c.thread_parent)
            .map(|c| (c.id, c.kind))
            .collect();
        let forum = parents
            .iter()
            .find(|(_, k)| *k == 15)
            .map(|(id, _)| *id)
            .expect("forum");
        let general = gm.channel("general").id;
        let count = (size.days as usize * (1 + size.members_per_guild as usize / 50)).max(3);
        let mut plans: Vec<(u64, u8, i64)> = vec![
            (general, 11, start - 3 * HOUR),
            (forum, 11, start - 5 * HOUR),
        ];
        // One announcement thread and one private thread in every guild; the
        // rest at random.
        let news = gm.channel("announcements").id;
        for (parent, kind) in [(news, 10), (general, 12)] {
            let t = self.between(start + MIN, end - HOUR);
            plans.push((parent, kind, t - t % SEC));
        }
        for _ in 2..count {
            let (parent, pkind) = if self.chance(0.4) {
                (forum, 15)
            } else {
                parents[self.between(0, parents.len() as i64) as usize]
            };
            // Threads under announcement channels are announcement threads.
            let kind = match pkind {
                5 => 10,
                0 if self.chance(0.2) => 12,
                _ => 11,
            };
            let t = self.between(start + MIN, end - HOUR);
            plans.push((parent, kind, t - t % SEC));
        }
        for (k, (parent, kind, created)) in plans.into_iter().enumerate() {
            let probe = created.max(start);
            // Posters open threads; lurkers stay silent.
            let owners: Vec<(u64, i64)> = gm
                .humans
                .iter()
                .filter(|u| u.weight > 0.0)
                .filter_map(|u| u.member_through(probe, probe + 2 * SEC).map(|j| (u.id, j)))
                .collect();
            if owners.is_empty() {
                continue;
            }
            let (owner, _) = owners[self.between(0, owners.len() as i64) as usize];
            let life = self.between(2 * HOUR, 3 * DAY);
            let archived = Some(created.max(start) + life - life % SEC).filter(|a| *a < end);
            let id = self.id_at(created);
            gm.threads.push(ThreadM {
                id,
                parent,
                kind,
                name: format!("thread-{k}"),
                owner,
                created,
                archived,
                messages: 0,
            });
            if created >= start {
                let t = gm.threads.last().expect("just pushed");
                let d = payload::thread(&thread_shape(gm.id, t, None), true);
                self.push(created, gm.id, "THREAD_CREATE", d);
            }
        }
        // The opening post of each new thread, by its owner.
        for i in 0..gm.threads.len() {
            let (created, owner, id, parent) = {
                let t = &gm.threads[i];
                (t.created, t.owner, t.id, t.parent)
            };
            if created < start {
                continue;
            }
            let at = created + SEC;
            let Some(u) = gm.humans.iter().find(|u| u.id == owner) else {
                continue;
            };
            let Some(joined) = u.member_at(at) else {
                continue;
            };
            self.message(
                gm.id,
                id,
                Some(parent),
                at,
                &Author::User(u, joined),
                0,
                0,
                &[],
            );
            gm.threads[i].messages += 1;
        }
    }

    pub(super) fn thread_archives(&mut self, gm: &GuildM) {
        for t in &gm.threads {
            if let Some(a) = t.archived {
                let d = payload::thread(&thread_shape(gm.id, t, Some(a)), false);
                self.push(a, gm.id, "THREAD_UPDATE", d);
            }
        }
    }
}

pub(super) fn thread_shape<'a>(
    guild_id: u64,
    t: &'a ThreadM,
    archived: Option<i64>,
) -> payload::ThreadShape<'a> {
    payload::ThreadShape {
        id: t.id,
        guild_id,
        parent_id: t.parent,
        kind: t.kind,
        name: &t.name,
        owner_id: t.owner,
        created_ms: t.created,
        archived_ms: archived,
        message_count: t.messages,
    }
}
