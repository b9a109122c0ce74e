use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};
use serde_json::value::RawValue;
use shared::Snowflake;
use shared::rollup::{ChannelHourKey, VoiceKey};
use shared::time::Hour;

use super::{Outcome, ShardState};
use crate::events::EventKind;
use crate::settings::{Filter, SettingsCache};

const GUILD: Snowflake = Snowflake(100);

fn state() -> ShardState {
    let settings = Arc::new(SettingsCache::default());
    settings.set(
        GUILD,
        Filter {
            tracked: true,
            since: None,
            allow: None,
        },
    );
    ShardState::new(0, 1, settings)
}

fn at(h: u32, m: u32, s: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, h, m, s).unwrap()
}

fn voice(state: &mut ShardState, user: u64, channel: Option<u64>, when: DateTime<Utc>) {
    let d = serde_json::json!({
        "guild_id": "100", "user_id": user.to_string(),
        "channel_id": channel.map(|c| c.to_string()),
        "session_id": "s", "deaf": false, "mute": false, "self_deaf": false,
        "self_mute": false, "self_video": false, "suppress": false,
    })
    .to_string();
    let raw = RawValue::from_string(d).unwrap();
    assert!(matches!(
        state.apply("VOICE_STATE_UPDATE", Some(&raw), when),
        Outcome::Handled(EventKind::VoiceStateUpdate)
    ));
}

fn peak(state: &ShardState, channel: u64, hour: DateTime<Utc>) -> Option<i32> {
    state
        .pending
        .rollups
        .voice_peaks
        .get(&ChannelHourKey {
            guild_id: GUILD,
            hour: Hour::containing(hour),
            channel_id: Snowflake(channel),
        })
        .copied()
}

#[test]
fn voice_seconds_split_at_hours_and_moves_end_sessions() {
    let mut s = state();
    voice(&mut s, 1, Some(7), at(10, 59, 30));
    voice(&mut s, 1, Some(7), at(11, 0, 10)); // mute toggle: same channel
    voice(&mut s, 1, Some(8), at(11, 0, 40)); // move
    voice(&mut s, 1, None, at(11, 1, 0));
    let seconds = |channel: u64, h: u32| {
        s.pending
            .rollups
            .voice_seconds
            .get(&VoiceKey {
                guild_id: GUILD,
                hour: Hour::containing(at(h, 0, 0)),
                channel_id: Snowflake(channel),
                user_id: Snowflake(1),
            })
            .copied()
    };
    assert_eq!(seconds(7, 10), Some(30));
    assert_eq!(seconds(7, 11), Some(40));
    assert_eq!(seconds(8, 11), Some(20));
}

#[test]
fn a_leave_and_a_join_at_the_same_instant_never_overlap() {
    let mut s = state();
    voice(&mut s, 1, Some(7), at(10, 0, 5));
    voice(&mut s, 2, Some(7), at(10, 20, 0)); // joins first, same instant
    voice(&mut s, 1, None, at(10, 20, 0));
    voice(&mut s, 2, None, at(12, 30, 0));
    assert_eq!(peak(&s, 7, at(10, 0, 0)), Some(1));
    assert_eq!(
        peak(&s, 7, at(11, 0, 0)),
        Some(1),
        "present through an hour"
    );
    assert_eq!(peak(&s, 7, at(12, 0, 0)), Some(1));
    assert_eq!(peak(&s, 7, at(13, 0, 0)), None);
}

#[test]
fn the_wall_clock_covers_quiet_hours_and_observes_who_stays_in_voice() {
    let mut s = state();
    s.wall_clock = Some(true);
    voice(&mut s, 1, Some(7), at(10, 50, 0));
    let _ = s.seal(None, None);
    s.touch(at(10, 55, 0));
    assert!(s.pending.is_empty(), "same hour, nothing to write");
    s.touch(at(12, 5, 0));
    assert!(!s.pending.is_empty());
    assert!(
        s.pending
            .coverage
            .contains(&Hour::containing(at(11, 30, 0)))
    );
    assert_eq!(peak(&s, 7, at(11, 0, 0)), Some(1));
    assert_eq!(peak(&s, 7, at(12, 0, 0)), Some(1));
    let mut replay = state();
    replay.touch(at(12, 0, 0));
    assert!(
        replay.pending.is_empty(),
        "simulated time is never moved by the wall clock"
    );
}

#[test]
fn malformed_payloads_are_reported_and_the_state_goes_on() {
    let mut s = state();
    let raw = RawValue::from_string(r#"{"channel_id": 5}"#.to_owned()).unwrap();
    assert!(matches!(
        s.apply("MESSAGE_CREATE", Some(&raw), at(9, 0, 0)),
        Outcome::Malformed(_)
    ));
    assert!(matches!(
        s.apply("MESSAGE_DELETE", None, at(9, 0, 1)),
        Outcome::Malformed(_)
    ));
    voice(&mut s, 1, Some(7), at(9, 0, 2));
    assert!(matches!(
        s.apply("SOMETHING_NEW", None, at(9, 0, 3)),
        Outcome::Ignored
    ));
}
