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
            ..Filter::default()
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

/// Seconds of member `user` in `channel` in the UTC hour of `hour` that
/// the batch `rollups` holds.
fn voice_seconds_in(
    rollups: &shared::rollup::RollupBatch,
    user: u64,
    channel: u64,
    hour: DateTime<Utc>,
) -> Option<i32> {
    rollups
        .voice_seconds
        .get(&VoiceKey {
            guild_id: GUILD,
            hour: Hour::containing(hour),
            channel_id: Snowflake(channel),
            user_id: Snowflake(user),
        })
        .copied()
}

#[test]
fn open_voice_sessions_are_written_when_their_hour_ends_not_at_every_seal() {
    let mut s = state();
    let rows = |sealed: &super::Sealed| {
        let mut rows: Vec<_> = sealed
            .voice_open
            .iter()
            .map(|v| (v.user_id.0, v.credited_until))
            .collect();
        rows.sort();
        rows
    };
    voice(&mut s, 1, Some(7), at(10, 10, 0));
    let sealed = s.seal(None, None);
    assert_eq!(
        rows(&sealed),
        [(1, at(10, 10, 0))],
        "a new session is stored"
    );
    voice(&mut s, 2, Some(7), at(10, 30, 0));
    let sealed = s.seal(None, None);
    assert_eq!(rows(&sealed), [(2, at(10, 30, 0))], "only what changed");
    assert!(
        sealed.pending.rollups.voice_seconds.is_empty(),
        "the hour under way is not written yet"
    );
    assert!(sealed.pending.rollups.guild_hourly.is_empty());
    let _ = s.apply("TYPING_START", None, at(10, 59, 59));
    let sealed = s.seal(None, None);
    assert!(sealed.voice_open.is_empty() && sealed.pending.rollups.voice_seconds.is_empty());

    let _ = s.apply("TYPING_START", None, at(11, 5, 0));
    let sealed = s.seal(None, None);
    assert_eq!(
        rows(&sealed),
        [(1, at(11, 0, 0)), (2, at(11, 0, 0))],
        "credited up to the hour's end"
    );
    let r = &sealed.pending.rollups;
    assert_eq!(voice_seconds_in(r, 1, 7, at(10, 0, 0)), Some(3000));
    assert_eq!(voice_seconds_in(r, 2, 7, at(10, 0, 0)), Some(1800));
    assert_eq!(voice_seconds_in(r, 1, 7, at(11, 0, 0)), None);

    voice(&mut s, 1, None, at(11, 20, 0));
    let sealed = s.seal(None, None);
    assert!(sealed.voice_open.is_empty());
    assert_eq!(
        sealed
            .pending
            .voice_closed
            .iter()
            .copied()
            .collect::<Vec<_>>(),
        [(GUILD, Snowflake(1))]
    );
    let r = &sealed.pending.rollups;
    assert_eq!(
        voice_seconds_in(r, 1, 7, at(11, 0, 0)),
        Some(1200),
        "the session ended"
    );
    assert_eq!(voice_seconds_in(r, 2, 7, at(11, 0, 0)), None, "still open");
}

#[test]
fn a_settings_change_credits_open_sessions_under_the_settings_before_it() {
    let settings = Arc::new(SettingsCache::default());
    let everything = Filter {
        tracked: true,
        ..Filter::default()
    };
    settings.set(GUILD, everything.clone());
    let mut s = ShardState::new(0, 1, Arc::clone(&settings));
    voice(&mut s, 1, Some(7), at(10, 10, 0));
    let _ = s.seal(None, None);
    let _ = s.apply("TYPING_START", None, at(10, 40, 0));
    // Channel 7 stops being collected at 10:40.
    settings.set(
        GUILD,
        Filter {
            allow: Some([Snowflake(8)].into()),
            ..everything
        },
    );
    let _ = s.apply("TYPING_START", None, at(10, 41, 0));
    voice(&mut s, 1, None, at(10, 50, 0));
    let sealed = s.seal(None, None);
    assert_eq!(
        voice_seconds_in(&sealed.pending.rollups, 1, 7, at(10, 0, 0)),
        Some(1800),
        "10:10 to 10:40 counts, 10:40 to 10:50 does not"
    );
}

#[test]
fn a_guild_left_empty_is_observed_once_until_someone_joins() {
    let mut s = state();
    let observed = |s: &mut ShardState, when| {
        let mut rollups = shared::rollup::RollupBatch::default();
        s.voice
            .observe(&mut s.settings, when, &mut rollups)
            .into_iter()
            .map(|p| (p.guild_id, p.people))
            .collect::<Vec<_>>()
    };
    voice(&mut s, 1, Some(7), at(10, 0, 0));
    assert_eq!(observed(&mut s, at(10, 0, 0)), [(GUILD, 1)]);
    voice(&mut s, 1, None, at(10, 5, 0));
    assert_eq!(
        observed(&mut s, at(10, 5, 0)),
        [(GUILD, 0)],
        "the drop to nobody"
    );
    assert_eq!(observed(&mut s, at(11, 0, 0)), [], "nothing new to observe");
    voice(&mut s, 2, Some(7), at(11, 10, 0));
    assert_eq!(observed(&mut s, at(11, 10, 0)), [(GUILD, 1)]);
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

fn frame(s: &mut ShardState, t: &str, d: serde_json::Value, when: DateTime<Utc>) -> Outcome {
    let raw = RawValue::from_string(d.to_string()).unwrap();
    s.apply(t, Some(&raw), when)
}

fn joins_in(s: &ShardState, hour: DateTime<Utc>) -> i32 {
    s.pending
        .rollups
        .guild_hourly
        .get(&shared::rollup::GuildHourKey {
            guild_id: GUILD,
            hour: Hour::containing(hour),
        })
        .map_or(0, |h| h.joins)
}

#[test]
fn an_implausible_join_time_counts_the_join_at_its_arrival() {
    let mut s = state();
    for (n, joined) in [
        serde_json::json!("9999-12-31T23:59:59Z"),
        serde_json::json!("1970-01-01T00:00:00Z"),
        serde_json::json!(-1),
        serde_json::json!(i64::MAX),
        serde_json::json!("2026-12-03T12:00:00Z"), // two days ahead
    ]
    .into_iter()
    .enumerate()
    {
        let d = serde_json::json!({
            "guild_id": "100", "user": {"id": (n + 1).to_string()}, "joined_at": joined,
        });
        let outcome = frame(&mut s, "GUILD_MEMBER_ADD", d, at(9, 0, n as u32));
        assert!(
            matches!(
                outcome,
                Outcome::OutOfRange {
                    kind: Some(EventKind::GuildMemberAdd),
                    field: "joined_at"
                }
            ),
            "{outcome:?}"
        );
    }
    assert_eq!(joins_in(&s, at(9, 0, 0)), 5);
    let d = serde_json::json!({
        "guild_id": "100", "user": {"id": "9"}, "joined_at": "2026-12-01T08:30:00Z",
    });
    assert!(matches!(
        frame(&mut s, "GUILD_MEMBER_ADD", d, at(9, 1, 0)),
        Outcome::Handled(EventKind::GuildMemberAdd)
    ));
    assert_eq!(joins_in(&s, at(8, 0, 0)), 1, "a plausible time is kept");
}

#[test]
fn a_message_dated_outside_the_window_is_skipped() {
    let mut s = state();
    let message = |id: u64| {
        serde_json::json!({
            "id": id.to_string(), "channel_id": "7", "guild_id": "100",
            "author": {"id": "1"},
        })
    };
    let outcome = frame(&mut s, "MESSAGE_CREATE", message(u64::MAX), at(9, 0, 0));
    assert!(
        matches!(
            outcome,
            Outcome::OutOfRange {
                kind: Some(EventKind::MessageCreate),
                field: "message id"
            }
        ),
        "{outcome:?}"
    );
    assert!(s.pending.rollups.messages.is_empty());
    let ok = Snowflake::at(at(8, 59, 0)).0;
    assert!(matches!(
        frame(&mut s, "MESSAGE_CREATE", message(ok), at(9, 0, 1)),
        Outcome::Handled(EventKind::MessageCreate)
    ));
    assert_eq!(s.pending.rollups.messages.len(), 1);
}

#[test]
fn an_implausible_sim_time_leaves_the_clock_where_it_was() {
    let now = at(12, 0, 0);
    let mut s = state();
    assert_eq!(
        s.arrival(Some(i64::MIN), now),
        now,
        "no clock yet: the wall clock"
    );
    assert!(matches!(
        s.apply("TYPING_START", None, now),
        Outcome::OutOfRange {
            kind: None,
            field: "sim_time_ms"
        }
    ));
    let ok = at(9, 0, 0).timestamp_millis();
    let mut s = state();
    assert_eq!(s.arrival(Some(ok), now), at(9, 0, 0));
    voice(&mut s, 1, Some(7), at(9, 0, 0));
    for bad in [
        i64::MAX,
        i64::MIN,
        -1,
        0,
        chrono::Utc
            .with_ymd_and_hms(9999, 1, 1, 0, 0, 0)
            .unwrap()
            .timestamp_millis(),
    ] {
        let arrival = s.arrival(Some(bad), now);
        assert_eq!(arrival, at(9, 0, 0), "{bad}");
        assert!(matches!(
            s.apply("TYPING_START", None, arrival),
            Outcome::OutOfRange { .. }
        ));
    }
    assert_eq!(s.clock, Some(at(9, 0, 0)));
    assert_eq!(s.pending.coverage.len(), 1, "no hours were crossed");
    let next = s.arrival(Some(at(9, 30, 0).timestamp_millis()), now);
    voice(&mut s, 1, None, next);
    assert_eq!(
        s.pending.rollups.voice_seconds.values().sum::<i32>(),
        1800,
        "the session around them is exact"
    );
}

#[test]
fn channel_ids_dated_outside_the_window_are_created_at_arrival() {
    let mut s = state();
    let d = serde_json::json!({
        "id": u64::MAX.to_string(), "guild_id": "100", "type": 11, "parent_id": "7",
        "newly_created": true,
        "thread_metadata": {"archived": false, "archive_timestamp": "9999-01-01T00:00:00Z",
                            "create_timestamp": "1970-01-01T00:00:00Z"},
    });
    assert!(matches!(
        frame(&mut s, "THREAD_CREATE", d, at(9, 0, 0)),
        Outcome::OutOfRange {
            kind: Some(EventKind::ThreadCreate),
            field: "channel id"
        }
    ));
    let row = s
        .pending
        .catalogue
        .channels
        .get(&(GUILD, Snowflake(u64::MAX)))
        .unwrap();
    assert_eq!(row.created_at, at(9, 0, 0));
}

fn member_row(guild: u64, user: u64) -> shared::db::catalogue::MemberRow {
    shared::db::catalogue::MemberRow {
        guild_id: Snowflake(guild),
        user_id: Snowflake(user),
        is_bot: false,
        joined_at: Some(at(8, 0, 0)),
        left_at: None,
        join_count: 1,
    }
}

#[test]
fn members_who_left_and_guilds_the_bot_left_are_dropped_once_committed() {
    let mut s = state();
    let member = |id: u64| json_member(id);
    for (guild, users) in [(100u64, vec![1, 2, 3]), (200, vec![4, 5])] {
        let d = serde_json::json!({
            "id": guild.to_string(), "name": "g", "member_count": users.len(),
            "members": users.iter().map(|u| member(*u)).collect::<Vec<_>>(),
        });
        frame(&mut s, "GUILD_CREATE", d, at(9, 0, 0));
    }
    assert_eq!(s.members_in_memory(), 5);
    let leave = serde_json::json!({"guild_id": "100", "user": {"id": "1"}});
    frame(&mut s, "GUILD_MEMBER_REMOVE", leave, at(9, 10, 0));
    let sealed = s.seal(None, None);
    assert_eq!(
        s.members_in_memory(),
        5,
        "kept until the leave is committed"
    );
    s.committed(&sealed);
    assert_eq!(s.members_in_memory(), 4);

    // Their rejoin: the shard reads their row back first, and it counts as
    // a rejoin with the join count carried on.
    let add = serde_json::json!({
        "guild_id": "100", "user": {"id": "1"}, "joined_at": "2026-12-01T10:00:00Z",
    });
    let raw = RawValue::from_string(add.to_string()).unwrap();
    assert_eq!(
        s.lookup_needed("GUILD_MEMBER_ADD", Some(&raw)),
        Some(super::Lookup::Member(GUILD, Snowflake(1)))
    );
    let stored = sealed.pending.catalogue.members[&(GUILD, Snowflake(1))].clone();
    s.catalogue.restore_member(stored);
    assert_eq!(s.lookup_needed("GUILD_MEMBER_ADD", Some(&raw)), None);
    s.apply("GUILD_MEMBER_ADD", Some(&raw), at(10, 0, 0));
    let hourly = &s.pending.rollups.guild_hourly[&shared::rollup::GuildHourKey {
        guild_id: GUILD,
        hour: Hour::containing(at(10, 0, 0)),
    }];
    assert_eq!((hourly.joins, hourly.rejoins), (1, 1));
    assert_eq!(
        s.pending.catalogue.members[&(GUILD, Snowflake(1))].join_count,
        2
    );

    // The bot leaves guild 200; guild 100 only becomes unavailable.
    frame(
        &mut s,
        "GUILD_DELETE",
        serde_json::json!({"id": "200"}),
        at(10, 5, 0),
    );
    let outage = serde_json::json!({"id": "100", "unavailable": true});
    frame(&mut s, "GUILD_DELETE", outage, at(10, 6, 0));
    let sealed = s.seal(None, None);
    assert_eq!(
        sealed.pending.guilds_left.get(&Snowflake(200)),
        Some(&at(10, 5, 0)),
        "the removal is recorded with its instant; an outage is not a removal"
    );
    assert!(!sealed.pending.guilds_left.contains_key(&GUILD));
    s.committed(&sealed);
    assert_eq!(s.members_in_memory(), 3);
    assert!(s.catalogue.has_guild(GUILD));
    assert!(!s.catalogue.has_guild(Snowflake(200)));
    let back = serde_json::json!({"id": "200", "name": "g"});
    let raw = RawValue::from_string(back.to_string()).unwrap();
    assert_eq!(
        s.lookup_needed("GUILD_CREATE", Some(&raw)),
        Some(super::Lookup::Guild(Snowflake(200))),
        "coming back, its members are read first"
    );
}

fn json_member(user: u64) -> serde_json::Value {
    serde_json::json!({"user": {"id": user.to_string()}, "joined_at": "2026-12-01T08:00:00Z"})
}

/// Memory per member held by the catalogue mirror, for the README: run with
/// `cargo test -p serverpulse-ingester --lib -- --ignored --nocapture
/// member_memory`. Resident memory before and after restoring 1,000,000
/// members of one guild (what loading a shard does).
#[test]
#[ignore = "a measurement, not a check"]
fn member_memory() {
    fn resident_bytes() -> u64 {
        let statm = std::fs::read_to_string("/proc/self/statm").expect("Linux /proc");
        let pages: u64 = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
        pages * 4096
    }
    const MEMBERS: u64 = 1_000_000;
    let before = resident_bytes();
    let mut catalogue = super::Catalogue::default();
    for user in 0..MEMBERS {
        catalogue.restore_member(member_row(100, user + 1));
    }
    let after = resident_bytes();
    assert_eq!(catalogue.member_count(), MEMBERS as usize);
    println!(
        "{} members: {} bytes resident, {} bytes per member",
        MEMBERS,
        after - before,
        (after - before) / MEMBERS
    );
}

#[test]
fn raids_count_people_of_tracked_guilds_with_young_accounts_and_default_avatars() {
    use shared::alerts::{AlertKind, IncidentDetail};
    let mut s = state();
    let member = |s: &mut ShardState, guild: &str, user: Snowflake, avatar, bot, when| {
        let d = serde_json::json!({
            "guild_id": guild, "joined_at": when,
            "user": {"id": user.to_string(), "avatar": avatar, "bot": bot},
        });
        frame(s, "GUILD_MEMBER_ADD", d, when);
    };
    for i in 0..10u32 {
        let when = at(9, 0, i);
        // Even: a day-old account without avatar; odd: a month old with one.
        let (user, avatar) = if i % 2 == 0 {
            (Snowflake::at(when - chrono::TimeDelta::days(1)), None)
        } else {
            (
                Snowflake::at(when - chrono::TimeDelta::days(30)),
                Some("a1b2"),
            )
        };
        member(
            &mut s,
            "100",
            Snowflake(user.0 + u64::from(i)),
            avatar,
            false,
            when,
        );
        // Bots joining meanwhile are no raiders; an untracked guild has none.
        member(
            &mut s,
            "100",
            Snowflake(5000 + u64::from(i)),
            None,
            true,
            when,
        );
        member(
            &mut s,
            "200",
            Snowflake(6000 + u64::from(i)),
            None,
            false,
            when,
        );
    }
    let writes = &s.pending.alerts.incidents;
    assert_eq!(writes.len(), 1, "{writes:?}");
    let w = &writes[0];
    assert_eq!(
        (w.guild_id, w.kind, w.new),
        (GUILD, AlertKind::JoinRaid, true)
    );
    assert_eq!(w.ongoing.count, 10);
    assert_eq!(
        w.ongoing.detail,
        IncidentDetail::JoinRaid {
            young_accounts: 5,
            default_avatars: 5,
            joins_before: 0
        }
    );

    let d = serde_json::json!({
        "guild_id": "100", "channel_id": "7", "ids": ["1", "2", "3", "4", "5", "6"],
    });
    frame(&mut s, "MESSAGE_DELETE_BULK", d, at(9, 0, 20));
    let deletion = &s.pending.alerts.incidents[1];
    assert_eq!(
        (deletion.kind, deletion.ongoing.count),
        (AlertKind::MassDelete, 6)
    );

    let sealed = s.seal(None, None);
    let mut saved: Vec<_> = sealed
        .pending
        .alerts
        .windows
        .iter()
        .map(|w| (w.guild_id, w.kind))
        .collect();
    saved.sort();
    assert_eq!(
        saved,
        [(GUILD, AlertKind::JoinRaid), (GUILD, AlertKind::MassDelete)],
        "the changed windows are saved with the batch"
    );
}

#[test]
fn on_the_wall_clock_an_incident_ends_without_further_events() {
    use shared::alerts::AlertKind;
    let mut s = state();
    for i in 0..10u64 {
        let when = at(9, 0, i as u32);
        let d = serde_json::json!({
            "guild_id": "100", "joined_at": when, "user": {"id": (1000 + i).to_string()},
        });
        frame(&mut s, "GUILD_MEMBER_ADD", d, when);
    }
    s.wall_clock = Some(true);
    let _ = s.seal(None, None);
    assert!(s.pending.is_empty());
    s.touch(at(9, 5, 9));
    assert!(s.pending.is_empty(), "300 s after the last join it goes on");
    s.touch(at(9, 5, 10));
    assert!(!s.pending.is_empty(), "the end is a batch to flush");
    let ended = &s.pending.alerts.incidents[0];
    assert_eq!(ended.kind, AlertKind::JoinRaid);
    assert_eq!(ended.ongoing.ended_at, Some(at(9, 5, 9)));
}

#[test]
fn people_in_voice_leave_bots_out_and_reach_a_surge_against_the_usual() {
    use shared::alerts::AlertKind;
    let mut s = state();
    let d = serde_json::json!({
        "guild_id": "100", "joined_at": at(19, 0, 0), "user": {"id": "50", "bot": true},
    });
    frame(&mut s, "GUILD_MEMBER_ADD", d, at(19, 0, 0));
    let hour = Hour::containing(at(20, 0, 0));
    s.voice_usual.insert((GUILD, hour), Some(1.0));
    voice(&mut s, 50, Some(7), at(20, 0, 0)); // the bot
    for user in 1..=4 {
        voice(&mut s, user, Some(7), at(20, 0, user as u32));
    }
    voice(&mut s, 5, Some(8), at(20, 1, 0));
    voice(&mut s, 5, None, at(20, 2, 0));
    // Occupancy at an instant is observed once the clock moves on.
    voice(&mut s, 1, None, at(20, 3, 0));
    let peak = s
        .pending
        .rollups
        .guild_voice_peaks
        .get(&shared::rollup::GuildHourKey {
            guild_id: GUILD,
            hour,
        })
        .copied();
    assert_eq!(peak, Some(5), "five people at once, the bot left out");
    let surges: Vec<_> = s
        .pending
        .alerts
        .incidents
        .iter()
        .filter(|w| w.kind == AlertKind::VoiceSurge)
        .collect();
    assert_eq!(surges.len(), 1, "{surges:?}");
    assert_eq!(surges[0].ongoing.started_at, at(20, 1, 0));
    assert_eq!(surges[0].ongoing.count, 5);
    assert_eq!(
        surges[0].ongoing.last_event_at,
        at(20, 2, 0),
        "the last moment at the threshold"
    );
}

#[test]
fn the_usual_voice_peak_is_asked_for_at_voice_updates_and_at_hour_starts_with_people_in_voice() {
    let mut s = state();
    let update =
        serde_json::json!({"guild_id": "100", "user_id": "1", "channel_id": "7"}).to_string();
    let raw = RawValue::from_string(update).unwrap();
    let needed = s.voice_usual_needed("VOICE_STATE_UPDATE", Some(&raw), at(20, 59, 0));
    assert_eq!(needed, [(GUILD, Hour::containing(at(20, 0, 0)))]);
    s.voice_usual.insert(needed[0], None);
    voice(&mut s, 1, Some(7), at(20, 59, 0));
    assert!(
        s.voice_usual_needed("VOICE_STATE_UPDATE", Some(&raw), at(20, 59, 30))
            .is_empty(),
        "read once per hour"
    );
    // Any frame that moves the clock past hour starts while someone is in voice.
    let needed = s.voice_usual_needed("MESSAGE_DELETE", None, at(22, 0, 0));
    assert_eq!(
        needed,
        [
            (GUILD, Hour::containing(at(21, 0, 0))),
            (GUILD, Hour::containing(at(22, 0, 0)))
        ]
    );
}

/// GUILD_DELETE without `unavailable` records when the bot was removed; an
/// outage does not; GUILD_CREATE clears it (the retention job's grace
/// period counts from it).
#[tokio::test]
async fn removal_is_committed_with_its_instant_and_cleared_by_a_return() {
    let db = shared::testing::TestDatabase::create().await;
    let mut s = state();
    let removed = Snowflake(200);
    let commit = async |s: &mut ShardState| {
        let sealed = s.seal(None, None);
        crate::flush::commit(&db.pool, &sealed).await.unwrap();
        s.committed(&sealed);
    };
    let removed_at = async |guild| {
        shared::db::catalogue::removed_at(&db.pool, guild)
            .await
            .unwrap()
    };
    for guild in ["100", "200"] {
        let create = serde_json::json!({"id": guild, "name": "g"});
        frame(&mut s, "GUILD_CREATE", create, at(9, 0, 0));
    }
    commit(&mut s).await;
    let outage = serde_json::json!({"id": "100", "unavailable": true});
    frame(&mut s, "GUILD_DELETE", outage, at(10, 0, 0));
    let left = serde_json::json!({"id": "200"});
    frame(&mut s, "GUILD_DELETE", left, at(10, 5, 0));
    commit(&mut s).await;
    assert_eq!(removed_at(GUILD).await, None);
    assert_eq!(removed_at(removed).await, Some(at(10, 5, 0)));
    let back = serde_json::json!({"id": "200", "name": "g"});
    frame(&mut s, "GUILD_CREATE", back, at(11, 0, 0));
    commit(&mut s).await;
    assert_eq!(removed_at(removed).await, None);
}

#[test]
fn a_half_hour_zone_gets_buckets_on_its_local_hours() {
    let settings = Arc::new(SettingsCache::default());
    let kolkata = shared::bucketing::Bucketing::named("Asia/Kolkata");
    settings.set(
        GUILD,
        Filter {
            tracked: true,
            bucketing: kolkata,
            ..Filter::default()
        },
    );
    let mut s = ShardState::new(0, 1, settings);
    voice(&mut s, 1, Some(7), at(10, 20, 0));
    voice(&mut s, 2, Some(7), at(10, 25, 0));
    voice(&mut s, 2, None, at(10, 35, 0));
    voice(&mut s, 1, None, at(12, 10, 0));
    let bucket = |h: u32, m: u32| Hour::at(at(h, m, 0));
    let seconds = |b: Hour| {
        s.pending
            .rollups
            .voice_seconds
            .get(&VoiceKey {
                guild_id: GUILD,
                hour: b,
                channel_id: Snowflake(7),
                user_id: Snowflake(1),
            })
            .copied()
    };
    // 15:50–16:00, 16:00–17:00 and 17:00–17:40 IST.
    assert_eq!(seconds(bucket(9, 30)), Some(600));
    assert_eq!(seconds(bucket(10, 30)), Some(3600));
    assert_eq!(seconds(bucket(11, 30)), Some(2400));
    assert_eq!(seconds(bucket(10, 0)), None, "no UTC-hour rows");
    let peak = |b: Hour| {
        s.pending
            .rollups
            .voice_peaks
            .get(&ChannelHourKey {
                guild_id: GUILD,
                hour: b,
                channel_id: Snowflake(7),
            })
            .copied()
    };
    assert_eq!(peak(bucket(9, 30)), Some(2));
    assert_eq!(peak(bucket(10, 30)), Some(2), "both there at 16:00 IST");
    assert_eq!(peak(bucket(11, 30)), Some(1), "observed at 17:00 IST");
    // The buckets that ended by the clock are evaluated for drops.
    let sealed = s.seal(None, None);
    let drops = sealed.pending.alerts.drops.expect("buckets ended");
    assert_eq!(drops.guilds.len(), 1);
    assert_eq!(drops.guilds[0].hours, [bucket(9, 30), bucket(10, 30)]);
}

/// The flush gives every guild it writes for a new data version, in its
/// own transaction, and leaves other guilds' alone: the web's cached
/// answers of exactly those guilds go stale at its commit.
#[tokio::test]
async fn a_flush_renews_the_data_version_of_the_guilds_it_writes() {
    use shared::db::data_version;
    let db = shared::testing::TestDatabase::create().await;
    let other = Snowflake(300);
    let mut s = state();
    let commit = async |s: &mut ShardState| {
        let sealed = s.seal(None, None);
        crate::flush::commit(&db.pool, &sealed).await.unwrap();
        s.committed(&sealed);
    };
    let version = async |guild| data_version::current(&db.pool, guild).await.unwrap();
    data_version::bump(&db.pool, &[other]).await.unwrap();
    let untouched = version(other).await;
    assert_eq!(version(GUILD).await, None);
    let message = |id: u64| {
        serde_json::json!({
            "id": id.to_string(), "channel_id": "7", "guild_id": "100",
            "author": {"id": "1"},
        })
    };
    let first = Snowflake::at(at(9, 0, 0)).0;
    frame(&mut s, "MESSAGE_CREATE", message(first), at(9, 0, 1));
    commit(&mut s).await;
    let after_one = version(GUILD).await.expect("set by the flush");
    frame(&mut s, "MESSAGE_CREATE", message(first + 1), at(9, 0, 2));
    commit(&mut s).await;
    let after_two = version(GUILD).await.expect("set by the flush");
    assert!(after_two > after_one, "{after_two} after {after_one}");
    assert_eq!(version(other).await, untouched, "not in the batches");
}
