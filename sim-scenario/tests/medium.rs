//! The acceptance-size scenario meets its floors and holds a DST change.

use std::collections::BTreeSet;

use chrono::{Offset, TimeZone};
use chrono_tz::{America::New_York, Europe::Berlin};
use serde::Deserialize;
use sim_scenario::{ScenarioSize, generate};
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
}
