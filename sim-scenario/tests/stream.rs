//! The dispatch stream: deterministic, well-ordered, and shaped like Discord's
//! payloads as twilight-model 0.18 reads them.

use std::collections::{BTreeMap, BTreeSet};

use sim_scenario::{Dispatch, Scenario, ScenarioSize, generate, snowflake_ms};
use twilight_model::gateway::payload::incoming::{
    ChannelCreate, ChannelDelete, ChannelUpdate, GuildCreate, MemberAdd, MemberRemove,
    MessageCreate, MessageDelete, MessageDeleteBulk, ReactionAdd, ReactionRemove, ThreadCreate,
    ThreadUpdate, VoiceStateUpdate,
};

fn parse<T: serde::de::DeserializeOwned>(d: &Dispatch) -> T {
    serde_json::from_value(d.d.clone())
        .unwrap_or_else(|e| panic!("{} does not parse: {e}\n{}", d.t, d.d))
}

fn check_twilight(s: &Scenario) -> BTreeMap<String, usize> {
    for g in &s.guilds {
        let parsed: GuildCreate = serde_json::from_value(g.clone()).expect("GUILD_CREATE parses");
        let GuildCreate::Available(guild) = parsed else {
            panic!("guild parsed as unavailable")
        };
        assert!(!guild.channels.is_empty());
        assert!(!guild.members.is_empty());
        assert_eq!(guild.member_count, Some(guild.members.len() as u64));
    }
    let mut kinds = BTreeMap::new();
    for d in &s.events {
        *kinds.entry(d.t.clone()).or_insert(0) += 1;
        match d.t.as_str() {
            "MESSAGE_CREATE" => drop(parse::<MessageCreate>(d)),
            "MESSAGE_DELETE" => drop(parse::<MessageDelete>(d)),
            "MESSAGE_DELETE_BULK" => drop(parse::<MessageDeleteBulk>(d)),
            "MESSAGE_REACTION_ADD" => {
                let r: ReactionAdd = parse(d);
                assert!(
                    r.message_author_id.is_some(),
                    "adds carry message_author_id"
                );
            }
            "MESSAGE_REACTION_REMOVE" => {
                let r: ReactionRemove = parse(d);
                assert!(r.message_author_id.is_none(), "removes carry no author");
            }
            "GUILD_MEMBER_ADD" => drop(parse::<MemberAdd>(d)),
            "GUILD_MEMBER_REMOVE" => drop(parse::<MemberRemove>(d)),
            "VOICE_STATE_UPDATE" => drop(parse::<VoiceStateUpdate>(d)),
            "THREAD_CREATE" => drop(parse::<ThreadCreate>(d)),
            "THREAD_UPDATE" => drop(parse::<ThreadUpdate>(d)),
            "CHANNEL_CREATE" => drop(parse::<ChannelCreate>(d)),
            "CHANNEL_UPDATE" => drop(parse::<ChannelUpdate>(d)),
            "CHANNEL_DELETE" => drop(parse::<ChannelDelete>(d)),
            other => panic!("unexpected event type {other}"),
        }
    }
    kinds
}

#[test]
fn same_seed_same_bytes_other_seed_differs() {
    let a = serde_json::to_string(&generate(7, ScenarioSize::SMALL)).unwrap();
    let b = serde_json::to_string(&generate(7, ScenarioSize::SMALL)).unwrap();
    let c = serde_json::to_string(&generate(8, ScenarioSize::SMALL)).unwrap();
    assert_eq!(a, b);
    assert_ne!(a, c);
}

#[test]
fn every_dispatch_parses_as_twilight_and_every_kind_occurs() {
    let (s, _) = generate(42, ScenarioSize::SMALL);
    let kinds = check_twilight(&s);
    for k in [
        "MESSAGE_CREATE",
        "MESSAGE_DELETE",
        "MESSAGE_DELETE_BULK",
        "MESSAGE_REACTION_ADD",
        "MESSAGE_REACTION_REMOVE",
        "GUILD_MEMBER_ADD",
        "GUILD_MEMBER_REMOVE",
        "VOICE_STATE_UPDATE",
        "THREAD_CREATE",
        "THREAD_UPDATE",
        "CHANNEL_CREATE",
        "CHANNEL_UPDATE",
        "CHANNEL_DELETE",
    ] {
        assert!(
            kinds.get(k).copied().unwrap_or(0) > 0,
            "no {k} in {kinds:?}"
        );
    }
    let (tiny, _) = generate(42, ScenarioSize::TINY);
    check_twilight(&tiny);
}

#[test]
fn ordering_ids_and_guild_ids() {
    let (s, _) = generate(3, ScenarioSize::SMALL);
    let end = s.start_ms + i64::from(s.days) * 86_400_000;
    let mut message_ids = BTreeSet::new();
    let mut prev = s.start_ms;
    for d in &s.events {
        assert!(d.at_ms >= prev, "at_ms decreases at {d:?}");
        assert!(d.at_ms < end);
        prev = d.at_ms;
        let gid = d.d["guild_id"].as_str().expect("guild_id is a string");
        assert_eq!(gid.parse::<u64>().unwrap(), d.guild_id);
        if d.t == "MESSAGE_CREATE" {
            let id: u64 = d.d["id"].as_str().unwrap().parse().unwrap();
            assert_ne!(id, 0);
            assert_eq!(snowflake_ms(id), d.at_ms, "message id carries its time");
            assert!(message_ids.insert(id), "duplicate message id {id}");
        }
    }
}

fn is_snowflake_key(key: &str) -> bool {
    (key == "id" || key.ends_with("_id") || key == "ids") && key != "session_id"
}

/// Every snowflake string anywhere in a payload, with the key it was under.
fn collect_ids(v: &serde_json::Value, key: &str, out: &mut Vec<(String, u64)>) {
    match v {
        serde_json::Value::Object(map) => {
            for (k, x) in map {
                collect_ids(x, k, out);
            }
        }
        serde_json::Value::Array(items) => {
            for x in items {
                collect_ids(x, key, out);
            }
        }
        serde_json::Value::String(s) if is_snowflake_key(key) => {
            out.push((
                key.to_owned(),
                s.parse()
                    .unwrap_or_else(|_| panic!("{key}={s} is not an id")),
            ));
        }
        serde_json::Value::Number(_) if is_snowflake_key(key) => {
            panic!("{key} travels as a number, not a string")
        }
        _ => {}
    }
}

#[test]
fn ids_are_non_zero_strings_and_entities_never_share_one() {
    let (s, _) = generate(21, ScenarioSize::SMALL);
    let mut ids = Vec::new();
    for g in &s.guilds {
        collect_ids(g, "", &mut ids);
    }
    for d in &s.events {
        collect_ids(&d.d, "", &mut ids);
    }
    assert!(ids.iter().all(|(_, id)| *id != 0), "a zero id");
    // Entities created by the scenario: each id belongs to exactly one of them.
    let mut owner: BTreeMap<u64, &str> = BTreeMap::new();
    let mut claim = |id: u64, what: &'static str| {
        let prev = owner.insert(id, what);
        assert!(
            prev.is_none_or(|p| p == what),
            "id {id} is both {} and {what}",
            prev.unwrap()
        );
    };
    for g in &s.guilds {
        claim(g["id"].as_str().unwrap().parse().unwrap(), "guild");
        for c in g["channels"]
            .as_array()
            .unwrap()
            .iter()
            .chain(g["threads"].as_array().unwrap())
        {
            claim(c["id"].as_str().unwrap().parse().unwrap(), "channel");
        }
        for m in g["members"].as_array().unwrap() {
            claim(m["user"]["id"].as_str().unwrap().parse().unwrap(), "user");
        }
    }
    let mut attachments = BTreeSet::new();
    for d in &s.events {
        let id = |k: &str| d.d[k].as_str().unwrap().parse::<u64>().unwrap();
        match d.t.as_str() {
            "MESSAGE_CREATE" => {
                claim(id("id"), "message");
                claim(
                    d.d["author"]["id"].as_str().unwrap().parse().unwrap(),
                    "user",
                );
                for a in d.d["attachments"].as_array().unwrap() {
                    let a: u64 = a["id"].as_str().unwrap().parse().unwrap();
                    assert!(attachments.insert(a), "attachment id reused");
                    claim(a, "attachment");
                }
            }
            "CHANNEL_CREATE" | "THREAD_CREATE" => claim(id("id"), "channel"),
            "GUILD_MEMBER_ADD" => {
                claim(d.d["user"]["id"].as_str().unwrap().parse().unwrap(), "user")
            }
            _ => {}
        }
    }
}

#[test]
fn guilds_spread_over_shards() {
    let size = ScenarioSize {
        guilds: 4,
        members_per_guild: 8,
        days: 1,
        messages_per_member_day: 1.0,
    };
    let (s, _) = generate(5, size);
    let ids: Vec<u64> = s
        .guilds
        .iter()
        .map(|g| g["id"].as_str().unwrap().parse().unwrap())
        .collect();
    for shards in [2u64, 3, 4] {
        let used: BTreeSet<u64> = ids.iter().map(|id| (id >> 22) % shards).collect();
        assert_eq!(
            used.len() as u64,
            shards.min(4),
            "{shards} shards: {used:?}"
        );
    }
    let (medium_like, _) = generate(5, ScenarioSize::SMALL);
    let used: BTreeSet<u64> = medium_like
        .guilds
        .iter()
        .map(|g| (g["id"].as_str().unwrap().parse::<u64>().unwrap() >> 22) % 2)
        .collect();
    assert_eq!(used.len(), 2);
}

#[test]
fn scenario_and_truth_survive_a_json_round_trip() {
    let (s, t) = generate(13, ScenarioSize::TINY);
    let s2: Scenario = serde_json::from_str(&serde_json::to_string(&s).unwrap()).unwrap();
    let t2: sim_scenario::GroundTruth =
        serde_json::from_str(&serde_json::to_string(&t).unwrap()).unwrap();
    assert_eq!(s2.events, s.events);
    assert_eq!(s2.guilds, s.guilds);
    assert_eq!(t2, t);
}

#[test]
fn script_channel_lifecycle_parses_as_twilight() {
    let start = sim_scenario::DEFAULT_START_MS;
    let mut s = sim_scenario::Script::new(77, start, 1);
    s.channel(1, 4, "cat", None)
        .member(5, "ann", false, start - 10)
        .create_channel(start + 1_000, 2, 0, "new", Some(1))
        .rename_channel(start + 2_000, 2, "renamed")
        .create_thread(start + 3_000, 3, 2, 11, 5);
    s.message(start + 4_000, 3, 5, 1, 1, 1);
    s.archive_thread(start + 5_000, 3)
        .delete_channel(start + 6_000, 2);
    let (scenario, truth) = s.finish();
    let kinds = check_twilight(&scenario);
    assert_eq!(kinds.len(), 6, "{kinds:?}");
    let c = truth.channels.iter().find(|c| c.channel_id == 2).unwrap();
    assert_eq!(
        (c.name.as_str(), c.created_ms, c.deleted_ms),
        ("renamed", Some(start + 1_000), Some(start + 6_000))
    );
    assert_eq!(truth.messages[0].thread_parent_id, Some(2));
}
