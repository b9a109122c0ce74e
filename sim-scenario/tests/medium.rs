//! The acceptance-size scenario meets its floors and holds a DST change, and
//! the alerts its truth expects are exactly the planted incidents. One test
//! generates MEDIUM once (about 20 s in a debug build) and checks both.

use std::collections::BTreeSet;

use chrono::{Offset, TimeZone};
use chrono_tz::{America::New_York, Europe::Berlin};
use serde::Deserialize;
use sim_scenario::truth::{AlertKind, AlertParams, GroundTruth, HOUR_MS, IncidentDetail};
use sim_scenario::{Scenario, ScenarioSize, generate};
use twilight_model::gateway::payload::incoming as tw;

/// Parses `d` as its twilight type, borrowing the value (no clone).
fn parses(t: &str, d: &serde_json::Value) -> bool {
    match t {
        "MESSAGE_CREATE" => tw::MessageCreate::deserialize(d).is_ok(),
        "MESSAGE_DELETE" => tw::MessageDelete::deserialize(d).is_ok(),
        "MESSAGE_DELETE_BULK" => tw::MessageDeleteBulk::deserialize(d).is_ok(),
        "MESSAGE_REACTION_ADD" => tw::ReactionAdd::deserialize(d).is_ok(),
        "MESSAGE_REACTION_REMOVE" => tw::ReactionRemove::deserialize(d).is_ok(),
        "GUILD_MEMBER_ADD" => tw::MemberAdd::deserialize(d).is_ok(),
        "GUILD_MEMBER_REMOVE" => tw::MemberRemove::deserialize(d).is_ok(),
        "VOICE_STATE_UPDATE" => tw::VoiceStateUpdate::deserialize(d).is_ok(),
        "THREAD_CREATE" => tw::ThreadCreate::deserialize(d).is_ok(),
        "THREAD_UPDATE" => tw::ThreadUpdate::deserialize(d).is_ok(),
        "CHANNEL_CREATE" => tw::ChannelCreate::deserialize(d).is_ok(),
        "CHANNEL_UPDATE" => tw::ChannelUpdate::deserialize(d).is_ok(),
        "CHANNEL_DELETE" => tw::ChannelDelete::deserialize(d).is_ok(),
        _ => false,
    }
}

#[test]
fn medium_meets_the_size_floors_and_crosses_dst() {
    let (s, t) = generate(2026, ScenarioSize::MEDIUM);
    assert_eq!(s.days, 30);
    assert!(s.events.len() >= 200_000, "only {} events", s.events.len());
    let members: BTreeSet<(u64, u64)> = t.members.iter().map(|m| (m.guild_id, m.user_id)).collect();
    assert!(members.len() >= 500, "only {} members", members.len());
    let end = s.start_ms + 30 * 86_400_000;
    assert_eq!(t.end_ms, end);
    for tz in [Berlin, New_York] {
        let offset = |ms| {
            tz.timestamp_millis_opt(ms)
                .unwrap()
                .offset()
                .fix()
                .local_minus_utc()
        };
        assert_ne!(
            offset(s.start_ms),
            offset(end - 1),
            "{tz} changes offset inside the data"
        );
    }
    // Every kind of activity shows up at this size too.
    assert!(t.raid.is_some() && t.mass_deletion.is_some());
    assert!(t.voice.len() > 1_000);
    assert!(t.reactions.iter().any(|r| !r.added));
    assert!(t.deletions.iter().filter(|d| !d.bulk).count() > 100);
    let mut prev = s.start_ms;
    for d in &s.events {
        assert!(d.at_ms >= prev && d.at_ms < end);
        prev = d.at_ms;
        assert!(parses(&d.t, &d.d), "{} does not parse: {}", d.t, d.d);
    }
    for g in &s.guilds {
        assert!(tw::GuildCreate::deserialize(g).is_ok());
    }
    // The check itself can fail.
    assert!(!parses("MESSAGE_CREATE", &serde_json::json!({"id": "1"})));
    assert!(!parses("TYPING_START", &s.events[0].d));
    planted_incidents_are_in_the_stream(&s, &t);
    alerts_are_exactly_the_planted_incidents(&t);
}

/// The planted drop and surge, read back from the JSON.
fn planted_incidents_are_in_the_stream(s: &Scenario, t: &GroundTruth) {
    let drop = t.activity_drop.clone().expect("a planted drop");
    let id = |v: &serde_json::Value| v.as_str().unwrap().parse::<u64>().unwrap();
    let member_posts = |from: i64| {
        s.events
            .iter()
            .filter(|d| {
                d.t == "MESSAGE_CREATE"
                    && d.guild_id == drop.guild_id
                    && d.at_ms >= from
                    && d.at_ms < from + HOUR_MS
                    && d.d["author"]["bot"].as_bool() != Some(true)
                    && d.d.get("webhook_id").is_none_or(serde_json::Value::is_null)
            })
            .count() as u32
    };
    assert_eq!(member_posts(drop.hour_ms), drop.messages);
    assert!(drop.skipped > 4 * drop.messages, "{drop:?}");
    // A week earlier the hour was busy.
    assert!(member_posts(drop.hour_ms - 7 * 24 * HOUR_MS) > 5 * drop.messages);

    let surge = t.voice_surge.clone().expect("a planted surge");
    let joins: Vec<(i64, u64)> = s
        .events
        .iter()
        .filter(|d| {
            d.t == "VOICE_STATE_UPDATE"
                && d.guild_id == surge.guild_id
                && (surge.start_ms..=surge.last_join_ms).contains(&d.at_ms)
                && !d.d["channel_id"].is_null()
                && surge.user_ids.contains(&id(&d.d["user_id"]))
        })
        .map(|d| (d.at_ms, id(&d.d["user_id"])))
        .collect();
    // Their first update is the join (later ones toggle mute or move).
    let mut joined: Vec<u64> = Vec::new();
    for (_, u) in &joins {
        if !joined.contains(u) {
            joined.push(*u);
        }
    }
    assert_eq!(joined, surge.user_ids, "they join in this order");
    assert_eq!(joins.first().map(|j| j.0), Some(surge.start_ms));
    let last = surge.user_ids.last().unwrap();
    assert_eq!(
        joins.iter().find(|j| j.1 == *last).map(|j| j.0),
        Some(surge.last_join_ms)
    );
}

/// With the default settings the truth expects the raid, the mass
/// deletion, the planted drop and the planted surge, and nothing else:
/// MEDIUM's daily and weekly rhythm raises no alert of its own.
fn alerts_are_exactly_the_planted_incidents(t: &GroundTruth) {
    let alerts = t.expected_alerts(&AlertParams::default());
    let kinds: Vec<(u64, AlertKind)> = alerts.iter().map(|a| (a.guild_id, a.kind)).collect();
    let g = t.guild_ids[0];
    assert_eq!(
        kinds,
        vec![
            (g, AlertKind::JoinRaid),
            (g, AlertKind::MassDelete),
            (g, AlertKind::ActivityDrop),
            (g, AlertKind::VoiceSurge),
        ],
        "{alerts:#?}"
    );
    let raid = t.raid.clone().unwrap();
    assert_eq!(alerts[0].started_ms, raid.start_ms);
    assert_eq!(alerts[0].count as usize, raid.user_ids.len());
    let wipe = t.mass_deletion.clone().unwrap();
    assert_eq!(
        (alerts[1].started_ms, alerts[1].count),
        (wipe.at_ms, wipe.messages)
    );

    let drop = t.activity_drop.clone().unwrap();
    let d = &alerts[2];
    assert_eq!(
        (d.started_ms, d.detected_ms, d.last_event_ms, d.ended_ms),
        (
            drop.hour_ms,
            drop.hour_ms + HOUR_MS,
            drop.hour_ms + HOUR_MS,
            Some(drop.hour_ms + 2 * HOUR_MS)
        )
    );
    assert_eq!(d.count, drop.messages);
    let IncidentDetail::ActivityDrop {
        usual,
        hours,
        percent_below,
        ..
    } = d.detail
    else {
        panic!("a drop's detail: {d:?}");
    };
    assert_eq!(hours, 1);
    // A sharp drop: at most a fifth of a usual well above the minimum.
    assert!(
        usual > 100.0 && f64::from(drop.messages) <= 0.2 * usual,
        "{d:?}"
    );
    assert!(percent_below >= 80.0);

    let surge = t.voice_surge.clone().unwrap();
    let v = &alerts[3];
    assert!(
        (surge.start_ms..=surge.last_join_ms).contains(&v.started_ms),
        "{v:?}"
    );
    assert_eq!(v.count, surge.people);
    let IncidentDetail::VoiceSurge {
        people,
        usual,
        ref channels,
    } = v.detail
    else {
        panic!("a surge's detail: {v:?}");
    };
    assert_eq!(people, surge.people);
    assert!(f64::from(people) >= (3.0 * usual).max(5.0) + 5.0, "{v:?}");
    assert_eq!(channels.iter().map(|c| c.1).sum::<u32>(), people);
    // It ends an hour after the crowd thins below the threshold, before
    // the last of them leaves.
    assert!(v.last_event_ms > surge.last_join_ms && v.last_event_ms <= surge.end_ms);
    assert_eq!(v.ended_ms, Some(v.last_event_ms + HOUR_MS));

    // The silence elsewhere is not for lack of evaluation: every guild has
    // hundreds of hours whose message usual is high enough to be judged,
    // and a voice usual from two weeks or more.
    for &g in &t.guild_ids {
        let per_hour = t.member_messages_per_hour(g);
        let peaks = t.voice_peak_per_hour(g);
        let hours = (t.start_ms..t.end_ms).step_by(HOUR_MS as usize);
        let judged = hours
            .clone()
            .filter(|h| t.usual(&per_hour, *h).is_some_and(|u| u >= 20.0))
            .count();
        assert!(judged > 200, "{judged} hours judged in {g}");
        let voice_judged = hours
            .filter(|h| t.usual(&peaks, *h).is_some_and(|u| u > 0.0))
            .count();
        assert!(
            voice_judged > 50,
            "{voice_judged} voice hours judged in {g}"
        );
    }
}
