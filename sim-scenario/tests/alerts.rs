//! The truth's alerts: the planted raid and mass deletion of generated
//! scenarios as exactly one incident each, and each detector's rules on
//! hand-written scenarios whose incidents are worked out by hand.

use sim_scenario::truth::{
    AlertKind, AlertParams, ExpectedIncident, GroundTruth, HOUR_MS, IncidentDetail,
};
use sim_scenario::{DEFAULT_START_MS, ScenarioSize, Script, generate, snowflake_at};

const S: i64 = DEFAULT_START_MS;
const SEC: i64 = 1_000;
const MIN: i64 = 60 * SEC;
const DAY: i64 = 24 * HOUR_MS;
const WEEK: i64 = 7 * DAY;

fn alerts(t: &GroundTruth) -> Vec<ExpectedIncident> {
    t.expected_alerts(&AlertParams::default())
}

/// The seeds the ingester's SMALL tests use (crash 7, settings 3, outage
/// 5) and the end-to-end test's 11.
#[test]
fn small_scenarios_have_one_raid_and_one_mass_deletion_with_the_planted_counts() {
    for seed in [3, 5, 7, 11] {
        let (_, t) = generate(seed, ScenarioSize::SMALL);
        let a = alerts(&t);
        assert_eq!(a.len(), 2, "seed {seed}: {a:#?}");
        let raid = t.raid.clone().unwrap();
        let n = raid.user_ids.len() as u32;
        // Raiders join 3 s apart: the tenth crosses 10 joins in 60 s.
        let raid_alert = ExpectedIncident {
            guild_id: raid.guild_id,
            kind: AlertKind::JoinRaid,
            started_ms: raid.start_ms,
            detected_ms: raid.start_ms + 9 * 3 * SEC,
            last_event_ms: raid.last_join_ms,
            ended_ms: Some(raid.last_join_ms + 5 * MIN),
            count: n,
            detail: IncidentDetail::JoinRaid {
                young_accounts: n,
                default_avatars: n,
                joins_before: 0,
            },
        };
        assert_eq!(a[0], raid_alert, "seed {seed}");
        let wipe = t.mass_deletion.clone().unwrap();
        let wipe_alert = ExpectedIncident {
            guild_id: wipe.guild_id,
            kind: AlertKind::MassDelete,
            started_ms: wipe.at_ms,
            detected_ms: wipe.at_ms,
            last_event_ms: wipe.at_ms,
            ended_ms: Some(wipe.at_ms + 5 * MIN),
            count: wipe.messages,
            detail: IncidentDetail::MassDelete {
                single: 0,
                bulk: wipe.messages,
                channels: vec![(wipe.channel_id, wipe.messages)],
            },
        };
        assert_eq!(a[1], wipe_alert, "seed {seed}");
        // Seven days hold no baseline week pair: no hourly alert can exist.
        assert!(t.activity_drop.is_none() && t.voice_surge.is_none());
    }
}

/// Ten joins within 60 s (the window is open at its far end), the context
/// by hand, growth within the quiet period, cooldown, and a disabled kind.
#[test]
fn a_join_raid_by_hand() {
    let mut s = Script::new(1, S, 1);
    s.channel(10, 0, "general", None);
    let t0 = S + HOUR_MS;
    // One join 50 s before the raid, in the 2 minutes before the crossing,
    // and one 70 s before, not.
    s.join(t0 - 70 * SEC, 3, "earlier", false);
    s.join(t0 - 50 * SEC, 2, "early", false);
    // Nine joins 6 s apart from t0, young accounts every other one.
    let user = |k: i64| {
        if k % 2 == 0 {
            snowflake_at(t0 - DAY, k as u64)
        } else {
            1000 + k as u64
        }
    };
    for k in 0..9 {
        s.join(t0 + k * 6 * SEC, user(k), "r", false);
    }
    // t0 + 60 s: the window (t0, t0 + 60 s] holds 9 joins, not 10.
    s.join(t0 + 60 * SEC, user(9), "r", false);
    // The crossing: (t0 + 1 s, t0 + 61 s] holds 10 (the second to this one).
    s.join(t0 + 61 * SEC, user(10), "r", false);
    // Within 5 minutes of the last join: grows the incident.
    s.join(t0 + 61 * SEC + 5 * MIN, user(11), "r", false);
    // Ten more joins 12 minutes after that: the incident ended 5 minutes
    // after its last join, and the 10-minute cooldown still runs.
    let later = t0 + 61 * SEC + 17 * MIN;
    for k in 0..10 {
        s.join(later + k * SEC, 2000 + k as u64, "x", false);
    }
    let (_, t) = s.finish();
    let a = alerts(&t);
    let last = t0 + 61 * SEC + 5 * MIN;
    assert_eq!(
        a,
        vec![ExpectedIncident {
            guild_id: 1,
            kind: AlertKind::JoinRaid,
            started_ms: t0 + 6 * SEC,
            detected_ms: t0 + 61 * SEC,
            last_event_ms: last,
            ended_ms: Some(last + 5 * MIN),
            // The second to the twelfth raid join.
            count: 11,
            detail: IncidentDetail::JoinRaid {
                // k = 2, 4, 6, 8, 10 (k = 0 is not in the incident).
                young_accounts: 5,
                default_avatars: 11,
                // [t0 + 61 s − 2 min, t0 + 6 s): the early one and k = 0.
                joins_before: 2,
            },
        }]
    );
    // No cooldown: the later ten are an incident of their own.
    let mut p = AlertParams::default();
    p.join_raid.cooldown_secs = 0;
    let a = t.expected_alerts(&p);
    assert_eq!(a.len(), 2);
    assert_eq!((a[1].started_ms, a[1].count), (later, 10));
    p.join_raid.enabled = false;
    assert!(t.expected_alerts(&p).is_empty());
}

/// Singles and a bulk deletion within 30 s, over two channels.
#[test]
fn a_mass_deletion_by_hand() {
    let mut s = Script::new(1, S, 1);
    s.channel(10, 0, "general", None)
        .channel(11, 0, "memes", None)
        .member(5, "ann", false, S - 1);
    let m: Vec<u64> = (0..6)
        .map(|k| s.message(S + k * SEC, if k < 3 { 10 } else { 11 }, 5, 0, 0, 0))
        .collect();
    let t0 = S + HOUR_MS;
    s.delete(t0, m[0]).delete(t0 + 10 * SEC, m[1]);
    // 2 + 2 = 4 messages: not yet.
    s.bulk_delete(t0 + 29 * SEC, &[m[3], m[4]]);
    // 5 messages in (t0 − 1 s, t0 + 29 s]: crosses.
    s.delete(t0 + 29 * SEC + 999, m[2]);
    let (_, t) = s.finish();
    let last = t0 + 29 * SEC + 999;
    assert_eq!(
        alerts(&t),
        vec![ExpectedIncident {
            guild_id: 1,
            kind: AlertKind::MassDelete,
            started_ms: t0,
            detected_ms: last,
            last_event_ms: last,
            ended_ms: Some(last + 5 * MIN),
            count: 5,
            detail: IncidentDetail::MassDelete {
                single: 3,
                bulk: 2,
                channels: vec![(10, 3), (11, 2)],
            },
        }]
    );
}

/// Over three weeks: the same two evening hours are busy in weeks 1 and 2
/// and fall in week 3; bots don't count; one week of baseline is not
/// enough; a usual below 20 is never judged.
#[test]
fn an_activity_drop_by_hand() {
    let mut s = Script::new(1, S, 15);
    s.channel(10, 0, "general", None)
        .member(5, "ann", false, S - 1)
        .member(6, "PulseBot", true, S - 1);
    let posts = |s: &mut Script, hour: i64, n: i64, author: u64| {
        for k in 0..n {
            s.message(hour + k * 10 * SEC, 10, author, 0, 0, 0);
        }
    };
    let (h20, h21, h03) = (20 * HOUR_MS, 21 * HOUR_MS, 3 * HOUR_MS);
    // Weeks 1 and 2: 20:00 30 and 20 posts (usual 25), 21:00 30 and 30
    // (usual 30), 03:00 19 and 19 (usual 19: below the minimum); 12:00 40
    // posts on day 0 and none on day 7 (one baseline week: not judged).
    posts(&mut s, S + h03, 19, 5);
    posts(&mut s, S + 12 * HOUR_MS, 40, 5);
    posts(&mut s, S + h20, 30, 5);
    posts(&mut s, S + h21, 30, 5);
    posts(&mut s, S + WEEK + h03, 19, 5);
    posts(&mut s, S + WEEK + h20, 20, 5);
    posts(&mut s, S + WEEK + h21, 30, 5);
    // Week 3: 03:00 silent (not judged), 12:00 20 posts (usual 20: a drop
    // needs at most 10), 20:00 12 member posts (≤ 12.5)
    // and 40 bot posts, 21:00 15 (= 30 × 50 %: still a drop), 22:00
    // nothing, as always (usual 0 < 20: not a drop; the incident ends).
    let w3 = S + 2 * WEEK;
    posts(&mut s, w3 + 12 * HOUR_MS, 20, 5);
    posts(&mut s, w3 + h20, 12, 5);
    posts(&mut s, w3 + h20 + 30 * MIN, 40, 6);
    posts(&mut s, w3 + h21, 15, 5);
    let (_, t) = s.finish();
    assert_eq!(
        alerts(&t),
        vec![ExpectedIncident {
            guild_id: 1,
            kind: AlertKind::ActivityDrop,
            started_ms: w3 + h20,
            detected_ms: w3 + h21,
            last_event_ms: w3 + 22 * HOUR_MS,
            ended_ms: Some(w3 + 23 * HOUR_MS),
            count: 12,
            detail: IncidentDetail::ActivityDrop {
                hour_ms: w3 + h20,
                messages: 12,
                usual: 25.0,
                percent_below: 52.0,
                hours: 2,
            },
        }]
    );
    // At 60 % below, 21:00 (50 % below) is no drop and 20:00 (52 %) not
    // either.
    let mut p = AlertParams::default();
    p.activity_drop.threshold = 60.0;
    assert!(t.expected_alerts(&p).is_empty());
}

/// Two people at 10:00 in weeks 1 and 2 (usual 2, threshold 6); in week 3
/// six humans and a bot: the sixth human reaches the threshold.
#[test]
fn a_voice_surge_by_hand() {
    let mut s = Script::new(1, S, 15);
    s.channel(20, 2, "Lounge", None)
        .channel(21, 13, "Stage", None)
        .member(9, "PulseBot", true, S - 1);
    for u in 1..=6 {
        s.member(u, "m", false, S - 1);
    }
    let ten = 10 * HOUR_MS;
    for w in 0..2 {
        let at = S + w * WEEK + ten;
        s.voice(at, 1, Some(20), false, false)
            .voice(at + MIN, 2, Some(21), false, false)
            .voice(at + 30 * MIN, 1, None, false, false)
            .voice(at + 31 * MIN, 2, None, false, false);
    }
    let at = S + 2 * WEEK + ten;
    s.voice(at, 9, Some(20), false, false);
    for u in 1..=6 {
        let room = if u <= 4 { 20 } else { 21 };
        s.voice(at + u as i64 * MIN, u, Some(room), false, false);
    }
    // A move keeps the count; the first leave brings it below 6.
    s.voice(at + 10 * MIN, 1, Some(21), false, false);
    for u in 1..=6 {
        s.voice(at + (20 + u as i64) * MIN, u, None, false, false);
    }
    s.voice(at + 40 * MIN, 9, None, false, false);
    let (_, t) = s.finish();
    assert_eq!(
        alerts(&t),
        vec![ExpectedIncident {
            guild_id: 1,
            kind: AlertKind::VoiceSurge,
            started_ms: at + 6 * MIN,
            detected_ms: at + 6 * MIN,
            last_event_ms: at + 21 * MIN,
            ended_ms: Some(at + 21 * MIN + HOUR_MS),
            count: 6,
            detail: IncidentDetail::VoiceSurge {
                people: 6,
                usual: 2.0,
                channels: vec![(20, 4), (21, 2)],
            },
        }]
    );
    // Week 1's peak at 10:00 is 2 people, the bot never counts.
    let peaks = t.voice_peak_per_hour(1);
    assert_eq!(peaks.get(&(S + ten)), Some(&2));
    assert_eq!(peaks.get(&(at)), Some(&6));
    // Seven people needed: no surge.
    let mut p = AlertParams::default();
    p.voice_surge.min_volume = 7;
    assert!(t.expected_alerts(&p).is_empty());
}

/// Asia/Kolkata (UTC+5:30): the guild's hours run from :30 to :30 UTC.
/// In weeks 1 and 2, 30 posts between 20:00 and 21:00 local (14:30–15:30
/// UTC), 15 in each UTC hour; in week 3, 12. Per UTC hour the usual is 15,
/// below the minimum of 20: nothing. Per local hour it is 30, and 12 is a
/// drop of 60 %.
#[test]
fn an_activity_drop_in_local_hours_that_start_at_half_past() {
    let mut s = Script::new(1, S, 15);
    s.channel(10, 0, "general", None)
        .member(5, "ann", false, S - 1);
    let posts = |s: &mut Script, from: i64, n: i64| {
        for k in 0..n {
            s.message(from + k * MIN, 10, 5, 0, 0, 0);
        }
    };
    let evening = 14 * HOUR_MS + 30 * MIN;
    for w in 0..2 {
        posts(&mut s, S + w * WEEK + evening, 15);
        posts(&mut s, S + w * WEEK + evening + 30 * MIN, 15);
    }
    let w3 = S + 2 * WEEK + evening;
    posts(&mut s, w3, 6);
    posts(&mut s, w3 + 30 * MIN, 6);
    let (_, t) = s.finish();
    assert!(alerts(&t).is_empty(), "per UTC hour the usual is 15");
    let kolkata = chrono_tz::Asia::Kolkata;
    assert_eq!(t.member_messages_per_bucket(1, kolkata).get(&w3), Some(&12));
    assert_eq!(
        t.expected_alerts_in(&AlertParams::default(), kolkata),
        vec![ExpectedIncident {
            guild_id: 1,
            kind: AlertKind::ActivityDrop,
            started_ms: w3,
            detected_ms: w3 + HOUR_MS,
            last_event_ms: w3 + HOUR_MS,
            ended_ms: Some(w3 + 2 * HOUR_MS),
            count: 12,
            detail: IncidentDetail::ActivityDrop {
                hour_ms: w3,
                messages: 12,
                usual: 30.0,
                percent_below: 60.0,
                hours: 1,
            },
        }]
    );
}
