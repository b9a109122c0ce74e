//! The ground truth is recorded from the generator's model, not from the JSON.
//! Here an independent reader rebuilds the facts from the dispatches alone and
//! they must agree exactly, so the truth describes what a client receives.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;
use sim_scenario::truth::{AuthorKind, Scope};
use sim_scenario::{GroundTruth, Scenario, ScenarioSize, generate, generate_from, snowflake_ms};

fn id(v: &Value) -> u64 {
    v.as_str().expect("id string").parse().expect("numeric id")
}

fn opt_id(v: &Value) -> Option<u64> {
    v.as_str().map(|s| s.parse().expect("numeric id"))
}

fn time(v: &Value) -> i64 {
    chrono::DateTime::parse_from_rfc3339(v.as_str().expect("timestamp"))
        .expect("rfc3339")
        .timestamp_millis()
}

fn emoji_key(e: &Value) -> String {
    let name = e["name"].as_str().expect("emoji name");
    match opt_id(&e["id"]) {
        Some(id) => format!("{name}:{id}"),
        None => name.to_owned(),
    }
}

/// (id, at, channel, thread parent, author, kind, attachments, embeds, stickers)
type MessageRow = (u64, i64, u64, Option<u64>, u64, AuthorKind, u32, u32, u32);

#[derive(Default)]
struct Rebuilt {
    messages: Vec<MessageRow>,
    deletions: Vec<(i64, u64, u32, bool)>,
    reactions: Vec<(i64, u64, u64, String, bool, Option<u64>)>,
    voice: Vec<(u64, u64, i64, i64)>,
    /// (user, joined, left)
    stints: Vec<(u64, i64, Option<i64>)>,
    /// Voice updates that changed neither channel nor presence.
    toggles: usize,
    threads: BTreeMap<u64, (u64, Option<i64>, Option<i64>)>,
}

fn rebuild(s: &Scenario) -> Rebuilt {
    let mut r = Rebuilt::default();
    let mut parent_of: BTreeMap<u64, u64> = BTreeMap::new();
    let mut in_voice: BTreeMap<(u64, u64), (u64, i64)> = BTreeMap::new();
    let mut open_stint: BTreeMap<(u64, u64), i64> = BTreeMap::new();
    for g in &s.guilds {
        let gid = id(&g["id"]);
        for t in g["threads"].as_array().unwrap() {
            parent_of.insert(id(&t["id"]), id(&t["parent_id"]));
            r.threads
                .insert(id(&t["id"]), (id(&t["parent_id"]), None, None));
        }
        for m in g["members"].as_array().unwrap() {
            open_stint.insert((gid, id(&m["user"]["id"])), time(&m["joined_at"]));
        }
        for v in g["voice_states"].as_array().unwrap() {
            in_voice.insert((gid, id(&v["user_id"])), (id(&v["channel_id"]), s.start_ms));
        }
    }
    for d in &s.events {
        let g = d.guild_id;
        match d.t.as_str() {
            "THREAD_CREATE" => {
                parent_of.insert(id(&d.d["id"]), id(&d.d["parent_id"]));
                r.threads
                    .insert(id(&d.d["id"]), (id(&d.d["parent_id"]), Some(d.at_ms), None));
            }
            "THREAD_UPDATE" if d.d["thread_metadata"]["archived"] == Value::Bool(true) => {
                r.threads.get_mut(&id(&d.d["id"])).expect("known thread").2 = Some(d.at_ms);
            }
            "MESSAGE_CREATE" => {
                let m = &d.d;
                let kind = if m.get("webhook_id").is_some() {
                    AuthorKind::Webhook
                } else if m["author"]["bot"] == Value::Bool(true) {
                    AuthorKind::Bot
                } else {
                    AuthorKind::Member
                };
                let channel = id(&m["channel_id"]);
                let count = |k: &str| {
                    m.get(k)
                        .and_then(Value::as_array)
                        .map_or(0, |a| a.len() as u32)
                };
                r.messages.push((
                    id(&m["id"]),
                    d.at_ms,
                    channel,
                    parent_of.get(&channel).copied(),
                    id(&m["author"]["id"]),
                    kind,
                    count("attachments"),
                    count("embeds"),
                    count("sticker_items"),
                ));
                assert_eq!(time(&m["timestamp"]), d.at_ms);
            }
            "MESSAGE_DELETE" => r
                .deletions
                .push((d.at_ms, id(&d.d["channel_id"]), 1, false)),
            "MESSAGE_DELETE_BULK" => {
                let n = d.d["ids"].as_array().unwrap().len() as u32;
                r.deletions.push((d.at_ms, id(&d.d["channel_id"]), n, true));
            }
            "MESSAGE_REACTION_ADD" | "MESSAGE_REACTION_REMOVE" => r.reactions.push((
                d.at_ms,
                id(&d.d["message_id"]),
                id(&d.d["user_id"]),
                emoji_key(&d.d["emoji"]),
                d.t == "MESSAGE_REACTION_ADD",
                opt_id(&d.d["message_author_id"]),
            )),
            "VOICE_STATE_UPDATE" => {
                let user = id(&d.d["user_id"]);
                let channel = opt_id(&d.d["channel_id"]);
                let current = in_voice.get(&(g, user)).copied();
                match (current, channel) {
                    (Some((c, _)), Some(n)) if c == n => r.toggles += 1,
                    (Some((c, since)), next) => {
                        r.voice.push((c, user, since, d.at_ms));
                        in_voice.remove(&(g, user));
                        if let Some(n) = next {
                            in_voice.insert((g, user), (n, d.at_ms));
                        }
                    }
                    (None, Some(n)) => {
                        in_voice.insert((g, user), (n, d.at_ms));
                    }
                    (None, None) => panic!("leave without a session"),
                }
            }
            "GUILD_MEMBER_ADD" => {
                let user = id(&d.d["user"]["id"]);
                assert_eq!(time(&d.d["joined_at"]), d.at_ms);
                assert!(
                    open_stint.insert((g, user), d.at_ms).is_none(),
                    "join while member"
                );
            }
            "GUILD_MEMBER_REMOVE" => {
                let user = id(&d.d["user"]["id"]);
                let joined = open_stint.remove(&(g, user)).expect("leave while member");
                r.stints.push((user, joined, Some(d.at_ms)));
            }
            _ => {}
        }
    }
    assert!(
        in_voice.is_empty(),
        "every voice session ends inside the scenario"
    );
    for ((_, user), joined) in open_stint {
        r.stints.push((user, joined, None));
    }
    r.messages.sort();
    r.deletions.sort();
    r.reactions.sort();
    r.voice.sort();
    r.stints.sort();
    r
}

fn compare(s: &Scenario, t: &GroundTruth) {
    let r = rebuild(s);
    let mut messages: Vec<_> = t
        .messages
        .iter()
        .map(|m| {
            (
                m.message_id,
                m.at_ms,
                m.channel_id,
                m.thread_parent_id,
                m.author_id,
                m.author_kind,
                m.attachments,
                m.embeds,
                m.stickers,
            )
        })
        .collect();
    messages.sort();
    assert_eq!(messages, r.messages);
    let mut deletions: Vec<_> = t
        .deletions
        .iter()
        .map(|d| (d.at_ms, d.channel_id, d.count, d.bulk))
        .collect();
    deletions.sort();
    assert_eq!(deletions, r.deletions);
    let mut reactions: Vec<_> = t
        .reactions
        .iter()
        .map(|x| {
            (
                x.at_ms,
                x.message_id,
                x.user_id,
                x.emoji.clone(),
                x.added,
                x.message_author_id,
            )
        })
        .collect();
    reactions.sort();
    assert_eq!(reactions, r.reactions);
    let mut voice: Vec<_> = t
        .voice
        .iter()
        .map(|v| (v.channel_id, v.user_id, v.start_ms, v.end_ms))
        .collect();
    voice.sort();
    assert_eq!(voice, r.voice);
    assert!(
        r.toggles > 0,
        "mute/deafen toggles happen and do not split sessions"
    );
    let mut stints: Vec<_> = t
        .members
        .iter()
        .map(|m| (m.user_id, m.joined_ms, m.left_ms))
        .collect();
    stints.sort();
    assert_eq!(stints, r.stints);
    for th in &t.threads {
        let (parent, created, archived) = r.threads[&th.thread_id];
        assert_eq!(
            (parent, created, archived),
            (th.parent_id, th.created_ms, th.archived_ms)
        );
    }
    assert_eq!(t.threads.len(), r.threads.len());

    // Actions only by members, on messages that exist.
    let member_at = |user: u64, at: i64| {
        r.stints
            .iter()
            .any(|(u, j, l)| *u == user && *j <= at && l.is_none_or(|l| at < l))
    };
    let sent: BTreeMap<u64, (i64, u64)> = r.messages.iter().map(|m| (m.0, (m.1, m.4))).collect();
    for m in &r.messages {
        if m.5 != AuthorKind::Webhook {
            assert!(
                member_at(m.4, m.1),
                "author {} not a member at {}",
                m.4,
                m.1
            );
        }
        assert_eq!(snowflake_ms(m.0), m.1);
    }
    for x in &r.reactions {
        assert!(member_at(x.2, x.0), "reacting non-member");
        let (at, author) = sent[&x.1];
        assert!(at < x.0, "reaction before its message");
        assert_ne!(author, x.2, "reactions are on other members' messages");
        if x.4 {
            assert_eq!(x.5, Some(author));
        }
    }
    for v in &r.voice {
        assert!(
            member_at(v.1, v.2) && member_at(v.1, v.3 - 1),
            "voice by non-member"
        );
    }
}

#[test]
fn small_truth_equals_what_the_stream_says() {
    let (s, t) = generate(11, ScenarioSize::SMALL);
    compare(&s, &t);
    // Every kind of fact is present.
    assert!(t.messages.iter().any(|m| m.thread_parent_id.is_some()));
    assert!(t.messages.iter().any(|m| m.author_kind == AuthorKind::Bot));
    assert!(
        t.messages
            .iter()
            .any(|m| m.author_kind == AuthorKind::Webhook)
    );
    assert!(
        t.messages
            .iter()
            .any(|m| m.attachments > 0 && m.author_kind == AuthorKind::Member)
    );
    assert!(t.messages.iter().any(|m| m.embeds > 0));
    assert!(t.messages.iter().any(|m| m.stickers > 0));
    assert!(
        t.reactions.iter().any(|r| r.emoji.contains(':')),
        "custom emoji"
    );
    assert!(
        t.reactions.iter().any(|r| !r.emoji.contains(':')),
        "unicode emoji"
    );
    assert!(t.members.iter().any(|m| m.rejoin));
    assert!(
        t.voice.iter().any(|v| v.start_ms == t.start_ms),
        "voice open at the start"
    );
    let kinds: BTreeSet<u8> = t.channels.iter().map(|c| c.kind).collect();
    for k in [0, 2, 4, 5, 10, 11, 12, 13, 15] {
        assert!(kinds.contains(&k), "no channel of type {k}: {kinds:?}");
    }
    let g = t.guild_ids[0];
    let peaks = t.peak_concurrent(&Scope::new(g, t.start_ms, t.end_ms));
    assert!(peaks.values().any(|p| *p >= 2), "concurrent voice users");
    let spanning = t
        .voice
        .iter()
        .any(|v| v.end_ms / 3_600_000 > v.start_ms / 3_600_000);
    assert!(spanning, "a session spans an hour boundary");
}

/// A long scenario (21 days: weekly voice habits, the planted drop and
/// surge) from a small community, so the check stays quick.
#[test]
fn long_truth_equals_what_the_stream_says() {
    let size = ScenarioSize {
        guilds: 1,
        members_per_guild: 40,
        days: 21,
        messages_per_member_day: 2.0,
    };
    let (s, t) = generate(19, size);
    compare(&s, &t);
    check_references(&s);
    assert!(t.activity_drop.is_some() && t.voice_surge.is_some());
}

#[test]
fn tiny_truth_equals_what_the_stream_says_across_dst() {
    // 2026-10-24: Europe/Berlin leaves summer time the next night.
    let (s, t) = generate_from(5, ScenarioSize::TINY, 1_792_800_000_000);
    compare(&s, &t);
}

#[test]
fn raid_and_mass_deletion_are_where_the_truth_says() {
    let (s, t) = generate(9, ScenarioSize::SMALL);
    let raid = t.raid.clone().expect("a raid");
    let wipe = t.mass_deletion.clone().expect("a mass deletion");
    let joins: Vec<i64> = s
        .events
        .iter()
        .filter(|d| d.t == "GUILD_MEMBER_ADD" && raid.user_ids.contains(&id(&d.d["user"]["id"])))
        .map(|d| d.at_ms)
        .collect();
    assert_eq!(joins.len(), raid.user_ids.len());
    assert_eq!(joins.first(), Some(&raid.start_ms));
    assert_eq!(joins.last(), Some(&raid.last_join_ms));
    let bulk: Vec<_> = s
        .events
        .iter()
        .filter(|d| d.t == "MESSAGE_DELETE_BULK")
        .collect();
    assert_eq!(bulk.len() as u32, wipe.events);
    assert_eq!(bulk[0].at_ms, wipe.at_ms);
    let wiped: usize = bulk
        .iter()
        .map(|d| d.d["ids"].as_array().unwrap().len())
        .sum();
    assert_eq!(wiped as u32, wipe.messages);
    let scope = Scope::new(raid.guild_id, raid.start_ms, raid.end_ms + 1);
    assert_eq!(t.growth(&scope).joins, raid.user_ids.len() as u64);
}

/// Nothing refers to a channel before it exists or after it is deleted, to an
/// archived thread, or to a deleted message.
fn check_references(s: &Scenario) {
    let mut live: BTreeSet<u64> = BTreeSet::new();
    let mut archived: BTreeSet<u64> = BTreeSet::new();
    for g in &s.guilds {
        for c in g["channels"]
            .as_array()
            .unwrap()
            .iter()
            .chain(g["threads"].as_array().unwrap())
        {
            live.insert(id(&c["id"]));
        }
    }
    let mut messages: BTreeSet<u64> = BTreeSet::new();
    for d in &s.events {
        let channel = || id(&d.d["channel_id"]);
        let usable = |c: u64| live.contains(&c) && !archived.contains(&c);
        match d.t.as_str() {
            "CHANNEL_CREATE" | "THREAD_CREATE" => {
                assert!(live.insert(id(&d.d["id"])), "created twice")
            }
            "CHANNEL_DELETE" => {
                assert!(live.remove(&id(&d.d["id"])), "deleting an unknown channel")
            }
            "THREAD_UPDATE" if d.d["thread_metadata"]["archived"] == Value::Bool(true) => {
                assert!(archived.insert(id(&d.d["id"])), "archived twice");
            }
            "MESSAGE_CREATE" => {
                assert!(
                    usable(channel()),
                    "message in a missing or archived channel"
                );
                messages.insert(id(&d.d["id"]));
            }
            "MESSAGE_REACTION_ADD" | "MESSAGE_REACTION_REMOVE" => {
                assert!(usable(channel()));
                assert!(
                    messages.contains(&id(&d.d["message_id"])),
                    "reaction on a deleted message"
                );
            }
            "MESSAGE_DELETE" => {
                assert!(usable(channel()));
                assert!(
                    messages.remove(&id(&d.d["id"])),
                    "deleting an unknown message"
                );
            }
            "MESSAGE_DELETE_BULK" => {
                for m in d.d["ids"].as_array().unwrap() {
                    assert!(messages.remove(&id(m)), "bulk-deleting an unknown message");
                }
            }
            "VOICE_STATE_UPDATE" => {
                if let Some(c) = opt_id(&d.d["channel_id"]) {
                    assert!(live.contains(&c));
                }
            }
            _ => {}
        }
    }
}

#[test]
fn events_only_refer_to_things_that_exist() {
    for seed in [1, 2, 3] {
        let (s, _) = generate(seed, ScenarioSize::SMALL);
        check_references(&s);
    }
    let (s, _) = generate(4, ScenarioSize::TINY);
    check_references(&s);
}

#[test]
fn coarse_figures_are_sums_of_the_finest_cells() {
    let (_, t) = generate(17, ScenarioSize::SMALL);
    let g = t.guild_ids[1];
    let text: Vec<u64> = t
        .channels_of(g)
        .iter()
        .filter(|c| c.kind == 0)
        .map(|c| c.channel_id)
        .take(2)
        .collect();
    let voice: Vec<u64> = t
        .channels_of(g)
        .iter()
        .filter(|c| c.kind == 2)
        .map(|c| c.channel_id)
        .take(1)
        .collect();
    let mid = t.start_ms + 3 * 86_400_000 + 1_234_567;
    let scopes = [
        Scope::new(g, t.start_ms, t.end_ms),
        Scope::new(g, t.start_ms, t.end_ms).including_bots(),
        Scope::new(g, t.start_ms + 86_400_000, t.end_ms - 7_200_000).tracking_since(mid),
        Scope::new(g, t.start_ms, t.end_ms).collected(text.iter().chain(&voice).copied()),
    ];
    for scope in &scopes {
        let total = t.messages_total(scope);
        assert!(total > 0);
        let cells = t.message_cells(scope);
        assert_eq!(cells.values().map(|c| c.messages).sum::<u64>(), total);
        assert_eq!(t.messages_per_utc_hour(scope).values().sum::<u64>(), total);
        assert_eq!(
            t.messages_per_local_day(scope, chrono_tz::Europe::Berlin)
                .values()
                .sum::<u64>(),
            total
        );
        let heat: u64 = t
            .message_heatmap(scope, chrono_tz::America::New_York)
            .iter()
            .flatten()
            .sum();
        assert_eq!(heat, total);
        assert_eq!(
            t.messages_per_parent_channel(scope).values().sum::<u64>(),
            total
        );
        assert_eq!(
            t.content_counts(scope).attachments,
            cells.values().map(|c| c.attachments).sum::<u64>()
        );
        let given: u64 = t.reactions_given(scope).values().sum();
        let rcells = t.reaction_cells(scope);
        assert_eq!(rcells.values().map(|c| c.given).sum::<u64>(), given);
        assert_eq!(
            rcells.values().map(|c| c.received).sum::<u64>(),
            t.reactions_received(scope).values().sum::<u64>()
        );
        assert_eq!(
            t.reactions_per_local_day(scope, chrono_tz::UTC)
                .values()
                .sum::<u64>(),
            given
        );
        let voice_total: i64 = t.voice_ms(scope).values().sum();
        assert_eq!(
            t.voice_ms_per_member(scope).values().sum::<i64>(),
            voice_total
        );
        assert_eq!(
            t.voice_ms_per_local_day(scope, chrono_tz::America::New_York)
                .values()
                .sum::<i64>(),
            voice_total
        );
        // Every hour's peak is at least 1 and at most the distinct users in it.
        for ((channel, hour), peak) in t.peak_concurrent(scope) {
            let users = t
                .voice_ms(scope)
                .keys()
                .filter(|(c, _, h)| *c == channel && *h == hour)
                .count();
            assert!(peak >= 1 && peak as usize <= users);
        }
        let ranked = t.leaderboard(scope, sim_scenario::truth::LeaderboardMetric::Messages);
        assert!(
            ranked
                .windows(2)
                .all(|w| (w[0].value, std::cmp::Reverse(w[0].user_id))
                    > (w[1].value, std::cmp::Reverse(w[1].user_id)))
        );
    }
}

#[test]
fn member_count_follows_guild_create_plus_adds_minus_removes() {
    let (s, t) = generate(23, ScenarioSize::SMALL);
    for g in &s.guilds {
        let gid = id(&g["id"]);
        let initial = g["member_count"].as_u64().unwrap();
        assert_eq!(
            initial,
            t.member_count_at(gid, t.start_ms, true),
            "GUILD_CREATE member_count counts bots"
        );
        let mut count = initial as i64;
        for d in s.events.iter().filter(|d| d.guild_id == gid) {
            match d.t.as_str() {
                "GUILD_MEMBER_ADD" => count += 1,
                "GUILD_MEMBER_REMOVE" => count -= 1,
                _ => continue,
            }
            assert_eq!(
                count as u64,
                t.member_count_at(gid, d.at_ms, true),
                "after {} at {}",
                d.t,
                d.at_ms
            );
        }
    }
}

/// Which channels @everyone may view, read from the stream alone with
/// twilight-model's types: the @everyone role's permissions in
/// `GUILD_CREATE`, each channel's @everyone overwrite (latest
/// `CHANNEL_CREATE`/`UPDATE` wins), threads following their parent and
/// private threads never viewable.
fn everyone_can_view_from_stream(s: &Scenario, guild_id: u64) -> BTreeMap<u64, bool> {
    use twilight_model::channel::Channel;
    use twilight_model::channel::permission_overwrite::PermissionOverwriteType;
    use twilight_model::guild::{Guild, Permissions};

    let create = s
        .guilds
        .iter()
        .find(|g| id(&g["id"]) == guild_id)
        .expect("guild");
    let guild: Guild = serde_json::from_value(create.clone()).expect("GUILD_CREATE parses");
    let base = guild
        .roles
        .iter()
        .find(|r| r.id.get() == guild_id)
        .expect("@everyone role")
        .permissions;
    let mut channels: BTreeMap<u64, Channel> = guild
        .channels
        .into_iter()
        .chain(guild.threads)
        .map(|c| (c.id.get(), c))
        .collect();
    for d in s.events.iter().filter(|d| d.guild_id == guild_id) {
        if matches!(
            d.t.as_str(),
            "CHANNEL_CREATE" | "CHANNEL_UPDATE" | "THREAD_CREATE"
        ) {
            let c: Channel = serde_json::from_value(d.d.clone()).expect("channel parses");
            channels.insert(c.id.get(), c);
        }
    }
    let own = |c: &Channel| {
        let mut p = base;
        for o in c.permission_overwrites.iter().flatten() {
            if o.kind == PermissionOverwriteType::Role && o.id.get() == guild_id {
                p = (p - o.deny) | o.allow;
            }
        }
        p.contains(Permissions::VIEW_CHANNEL) || base.contains(Permissions::ADMINISTRATOR)
    };
    channels
        .values()
        .map(|c| {
            let visible = match c.kind.into() {
                12u8 => false,
                10 | 11 => c
                    .parent_id
                    .and_then(|p| channels.get(&p.get()))
                    .is_none_or(own),
                _ => own(c),
            };
            (c.id.get(), visible)
        })
        .collect()
}

#[test]
fn who_may_view_each_channel_is_what_the_stream_says() {
    let (s, t) = generate(11, ScenarioSize::SMALL);
    for &g in &t.guild_ids {
        let read = everyone_can_view_from_stream(&s, g);
        let truth: BTreeMap<u64, bool> = t
            .channels_of(g)
            .iter()
            .map(|c| (c.channel_id, c.everyone_can_view))
            .collect();
        assert_eq!(read, truth, "guild {g}");
        // A private channel with activity, by its moderators only.
        let private: Vec<u64> = t
            .private_channels(g)
            .iter()
            .filter(|c| c.kind == 0)
            .map(|c| c.channel_id)
            .collect();
        assert_eq!(private.len(), 1, "one private text channel");
        let posters: BTreeSet<u64> = t
            .messages
            .iter()
            .filter(|m| m.channel_id == private[0])
            .map(|m| m.author_id)
            .collect();
        assert!(posters.len() >= 2, "moderators talk in it: {posters:?}");
        let members = t.members.iter().filter(|m| m.guild_id == g).count();
        assert!(posters.len() * 3 < members, "only a few may see it");
    }
}

#[test]
fn a_scripted_channel_turns_private_and_back() {
    const S: i64 = sim_scenario::DEFAULT_START_MS;
    let mut script = sim_scenario::Script::new(7, S, 1);
    script
        .channel(10, 0, "general", None)
        .channel(11, 0, "staff", None)
        .member(100, "ann", false, S - 5_000)
        .thread_at_start(20, 11, 11, 100);
    script
        .set_channel_private(S + 1_000, 11, true)
        .set_channel_private(S + 2_000, 10, true)
        .set_channel_private(S + 3_000, 10, false);
    let (s, t) = script.finish();
    let read = everyone_can_view_from_stream(&s, 7);
    assert_eq!(
        read,
        BTreeMap::from([(10, true), (11, false), (20, false)]),
        "the thread follows its parent"
    );
    let truth: BTreeMap<u64, bool> = t
        .channels
        .iter()
        .map(|c| (c.channel_id, c.everyone_can_view))
        .collect();
    assert_eq!(read, truth);
}
