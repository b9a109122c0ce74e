//! Voice: users in voice at the start, and state updates (join, move,
//! toggle, leave) with the intervals they make.

use serde_json::Value;

use super::{InVoice, Script};
use crate::payload;
use crate::truth::VoiceInterval;

impl Script {
    /// A user in `channel` when the scenario starts (a `GUILD_CREATE` voice state).
    pub fn voice_at_start(&mut self, user: u64, channel: u64) -> &mut Self {
        let session = format!("session-{user}-start");
        let v = self.voice_payload(user, Some(channel), &session, false, false);
        self.initial_voice.push(v);
        self.voice.insert(
            user,
            InVoice {
                channel,
                since: self.start,
                session,
            },
        );
        self
    }

    pub(super) fn voice_payload(
        &self,
        user: u64,
        channel: Option<u64>,
        session: &str,
        mute: bool,
        deaf: bool,
    ) -> Value {
        let p = &self.people[&user];
        payload::voice_state(&payload::VoiceShape {
            guild_id: self.guild_id,
            channel_id: channel,
            user_id: user,
            user_name: &p.name,
            user_bot: p.bot,
            user_joined_ms: p.joined.expect("voice users are members"),
            session_id: session,
            self_mute: mute,
            self_deaf: deaf,
            suppress: channel.is_some_and(|c| self.channel_info[&c].0 == 13),
        })
    }

    /// `VOICE_STATE_UPDATE`: `channel` `None` leaves voice. A different
    /// channel than the current one is a move (it ends one interval and
    /// starts the next); the same channel with other flags is a toggle and
    /// changes no interval.
    pub fn voice(
        &mut self,
        at: i64,
        user: u64,
        channel: Option<u64>,
        self_mute: bool,
        self_deaf: bool,
    ) -> &mut Self {
        let current = self
            .voice
            .get(&user)
            .map(|v| (v.channel, v.since, v.session.clone()));
        let session = current
            .as_ref()
            .map_or_else(|| format!("session-{user}-{at}"), |c| c.2.clone());
        let d = self.voice_payload(user, channel, &session, self_mute, self_deaf);
        self.push(at, "VOICE_STATE_UPDATE", d);
        let bot = self.people[&user].bot;
        match (current, channel) {
            (Some((c, _, _)), Some(n)) if c == n => {}
            (current, next) => {
                if let Some((c, since, _)) = current {
                    self.truth.voice.push(VoiceInterval {
                        guild_id: self.guild_id,
                        channel_id: c,
                        user_id: user,
                        user_is_bot: bot,
                        start_ms: since,
                        end_ms: at,
                    });
                    self.voice.remove(&user);
                }
                if let Some(n) = next {
                    self.voice.insert(
                        user,
                        InVoice {
                            channel: n,
                            since: at,
                            session,
                        },
                    );
                }
            }
        }
        self
    }
}
