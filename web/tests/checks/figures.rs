//! The figures of issue 19 against ground truth: emoji (guild and channel,
//! with their trend), reactions received on `/leaderboard`, thread
//! figures, deletions per channel, channel health (participation, dead or
//! dying, channels by type), member first/last seen and weekly pattern, who
//! is in voice now, and the overview's community health with its
//! definition buttons.

use std::collections::BTreeMap;

use chrono::TimeZone;
use chrono_tz::Europe::Berlin;
use discord_sim::{FinalMessage, InteractionKind};
use serde_json::{Value, json};
use serverpulse_web::reply::int;
use sim_scenario::truth::{EmojiCounts, LeaderboardMetric, Scope, hour_start};

use super::{Fixture, mentioned_channel, stats};
use crate::common::*;

/// An hour's start in Berlin, as reports write local times.
fn local(ms: i64) -> String {
    Berlin
        .timestamp_millis_opt(ms)
        .unwrap()
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

/// A field whose name starts with `prefix` (names carrying a count).
fn field_named<'a>(m: &'a FinalMessage, prefix: &str) -> (&'a str, &'a str) {
    embed(m)["fields"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|f| f["name"].as_str().is_some_and(|n| n.starts_with(prefix)))
        .map(|f| (f["name"].as_str().unwrap(), f["value"].as_str().unwrap()))
        .unwrap_or_else(|| panic!("no field {prefix:?} in {}", embed(m)))
}

/// An emoji key as the reports show it (custom emoji as `<:name:id>`).
fn shown(emoji: &str) -> String {
    match emoji.rsplit_once(':') {
        Some((name, id)) if !name.is_empty() && id.parse::<u64>().is_ok() => {
            format!("<:{name}:{id}>")
        }
        _ => emoji.to_owned(),
    }
}

/// The emoji list the truth expects: (shown, added now, added before).
fn expected_emoji(
    now: &BTreeMap<String, EmojiCounts>,
    before: Option<&BTreeMap<String, EmojiCounts>>,
) -> Vec<(String, i64, Option<i64>)> {
    let mut used: Vec<(&String, u64)> = now
        .iter()
        .filter(|(_, c)| c.added > 0)
        .map(|(e, c)| (e, c.added))
        .collect();
    used.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    used.iter()
        .take(15)
        .map(|(e, n)| {
            let prev = before.map(|b| b.get(*e).map_or(0, |c| c.added) as i64);
            (shown(e), *n as i64, prev)
        })
        .collect()
}

/// `1. 👍 — **12** ↑ … (10 before)` lines as (emoji, now, before).
fn emoji_lines(text: &str) -> Vec<(String, i64, Option<i64>)> {
    text.lines()
        .filter_map(|line| {
            let (_, rest) = line.split_once(". ")?;
            let (emoji, value) = rest.split_once(" — ")?;
            let (now, before) = figure(value);
            Some((emoji.to_owned(), now, before))
        })
        .collect()
}

fn analyze(name: &str, options: Vec<discord_sim::CommandOption>) -> InteractionKind {
    command("activity", vec![group("analyze", vec![sub(name, options)])])
}

pub async fn emoji_and_reactions_received(f: &Fixture) {
    let t = &f.truth;
    let (s, p) = (f.scope(7), f.previous(7));
    let m = f
        .show(&stats("activity", "7d", vec![string("type", "emoji")]))
        .await;
    let now = t.reactions_per_emoji(&s);
    assert_eq!(
        emoji_lines(description(&m)),
        expected_emoji(
            &now,
            f.compared(7).then(|| t.reactions_per_emoji(&p)).as_ref()
        )
    );
    let added: u64 = now.values().map(|c| c.added).sum();
    let removed: u64 = now.values().map(|c| c.removed).sum();
    assert_eq!(figure(field(&m, "Reactions added")).0, added as i64);
    assert_eq!(
        added,
        t.reactions_given(&s).values().sum::<u64>(),
        "the same adds as the reaction totals"
    );
    assert_eq!(figure(field(&m, "Reactions removed")).0, removed as i64);
    assert_eq!(
        figure(field(&m, "Emoji used")).0,
        now.values().filter(|c| c.added > 0).count() as i64
    );
    assert!(
        now.keys().any(|e| e.contains(':')) && now.keys().any(|e| !e.contains(':')),
        "custom and Unicode emoji both used: {now:?}"
    );

    // One channel: its reactions, its threads' included.
    let per_channel: BTreeMap<u64, u64> = t
        .participation_per_parent(&s)
        .into_iter()
        .map(|(c, p)| (c, p.reactions))
        .collect();
    let (busiest, _) = per_channel.iter().max_by_key(|(c, n)| (**n, **c)).unwrap();
    let name = f.channel_name(*busiest);
    let m = f
        .show(&analyze(
            "channel",
            vec![
                channel("channel", *busiest, &name, 0),
                string("metric", "emoji"),
                string("timeframe", "7d"),
            ],
        ))
        .await;
    let here = s.clone().channel(*busiest);
    assert_eq!(
        emoji_lines(description(&m)),
        expected_emoji(
            &t.reactions_per_emoji(&here),
            f.compared(7)
                .then(|| t.reactions_per_emoji(&p.clone().channel(*busiest)))
                .as_ref()
        )
    );

    // Reactions received, ranked.
    let m = f
        .show(&command(
            "leaderboard",
            vec![
                string("metric", "reactions-received"),
                string("timeframe", "7d"),
            ],
        ))
        .await;
    let expected: Vec<(u64, i64)> = t
        .leaderboard(&s, LeaderboardMetric::ReactionsReceived)
        .iter()
        .take(10)
        .map(|r| (r.user_id, r.value as i64))
        .collect();
    assert!(!expected.is_empty());
    assert_eq!(ranking_numbers(description(&m)), expected);
}

pub async fn threads_and_deletions(f: &Fixture) {
    let t = &f.truth;
    for days in [7, 1] {
        let key = if days == 7 { "7d" } else { "24h" };
        let (s, p) = (f.scope(days), f.previous(days));
        let m = f
            .show(&stats("channels", key, vec![string("type", "threads")]))
            .await;
        let sum = |scope: &Scope, pick: fn(&sim_scenario::truth::ThreadCounts) -> u64| {
            t.threads_per_parent(scope).values().map(pick).sum::<u64>() as i64
        };
        assert_eq!(
            figure(field(&m, "Threads created")),
            (
                sum(&s, |c| c.created),
                f.before(days, sum(&p, |c| c.created))
            ),
            "{key}"
        );
        assert_eq!(
            figure(field(&m, "Threads archived")),
            (
                sum(&s, |c| c.archived),
                f.before(days, sum(&p, |c| c.archived))
            ),
            "{key}"
        );
        assert_eq!(
            figure(field(&m, "Active threads")),
            (
                t.active_threads(&s) as i64,
                f.before(days, t.active_threads(&p) as i64)
            ),
            "{key}"
        );
        let thread_messages: u64 = t.thread_messages_per_parent(&s).values().sum();
        let active = t.active_threads(&s);
        let per_thread = if active == 0 {
            "–".to_owned()
        } else {
            format!("**{:.1}**", thread_messages as f64 / active as f64)
        };
        assert_eq!(field(&m, "Messages per active thread"), per_thread);
        let replies = t.first_replies(&s);
        assert_eq!(
            field(&m, "Time to first reply"),
            first_reply_text(&replies),
            "{key}"
        );
        if days == 7 {
            assert!(replies.replied > 0, "threads get replies: {replies:?}");
            // The same figure under /serverstats activity threads.
            let a = f
                .show(&stats("activity", key, vec![string("type", "threads")]))
                .await;
            assert_eq!(field(&a, "Time to first reply"), first_reply_text(&replies));
        }
    }
    assert!(
        t.threads_per_parent(&f.all())
            .values()
            .any(|c| c.archived > 0),
        "the scenario archives threads"
    );

    // Deletions per channel, single and bulk.
    let all = f.all();
    let m = f
        .show(&stats("channels", "all", vec![string("type", "deletions")]))
        .await;
    let summary = t.deletion_summary(&all);
    let per_channel = t.deletions_per_channel(&all);
    let bulk: u64 = per_channel.values().map(|(_, b)| b).sum();
    assert!(bulk > 0, "the scenario has a bulk deletion");
    assert_eq!(
        figure(field(&m, "Deleted messages")),
        (summary.messages as i64, None)
    );
    assert_eq!(figure(field(&m, "Deleted in bulk")).0, bulk as i64);
    let mut expected: Vec<(u64, u64, u64)> =
        per_channel.iter().map(|(c, (d, b))| (*c, *d, *b)).collect();
    expected.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let shown: Vec<(u64, u64, u64)> = description(&m)
        .lines()
        .filter_map(|line| {
            let (channel, rest) = line.split_once(" — ")?;
            let (deleted, bulk) = rest.split_once(" deleted · ")?;
            let bulk = bulk.strip_suffix(" in bulk")?;
            Some((
                mentioned_channel(channel),
                parse_int(deleted) as u64,
                parse_int(bulk) as u64,
            ))
        })
        .collect();
    expected.truncate(15);
    assert_eq!(shown, expected);
}

/// "Time to first reply" as the truth expects it.
fn first_reply_text(r: &sim_scenario::truth::FirstReplies) -> String {
    match r.median_ms {
        _ if r.opened == 0 => "no threads created in this period".to_owned(),
        None => format!("none of the {} threads created has a reply yet", r.opened),
        Some(ms) => format!(
            "**{}** median · {} of {} threads without a reply",
            serverpulse_web::reply::duration((ms / 1000.0).round() as i64),
            r.opened - r.replied,
            r.opened
        ),
    }
}

/// The truth's name of a channel type in "Channels by type".
fn kind_name(kind: u8) -> &'static str {
    match kind {
        0 => "text",
        2 => "voice",
        4 => "categories",
        5 => "announcement",
        13 => "stage",
        15 => "forum",
        16 => "media",
        10..=12 => "open threads",
        _ => "other",
    }
}

pub async fn channel_health(f: &Fixture) {
    let t = &f.truth;
    let (s, p) = (f.scope(7), f.previous(7));
    let m = f
        .show(&stats("channels", "7d", vec![string("type", "health")]))
        .await;

    let mut kinds: BTreeMap<&str, i64> = BTreeMap::new();
    for (kind, n) in t.channel_counts_at(f.guild, t.end_ms) {
        *kinds.entry(kind_name(kind)).or_default() += n as i64;
    }
    let shown: BTreeMap<&str, i64> = field(&m, "Channels by type")
        .split(" · ")
        .map(|part| {
            let (n, name) = part.split_once(' ').unwrap();
            (name, parse_int(n))
        })
        .collect();
    assert_eq!(shown, kinds);
    for kind in ["categories", "text", "voice", "stage", "forum"] {
        assert!(kinds.contains_key(kind), "the scenario has {kind} channels");
    }

    let truth = t.participation_per_parent(&s);
    let mut listed = 0;
    for line in description(&m).lines().skip(1) {
        let (channel, rest) = line.split_once(" — ").unwrap();
        let id = mentioned_channel(channel);
        let want = truth[&id];
        let mut expected = Vec::new();
        if want.messages > 0 {
            expected.push(format!("{} messages", int(want.messages as i64)));
            expected.push(format!("{} authors", int(want.authors as i64)));
        }
        if want.active_members > 0 {
            expected.push(format!(
                "{} active members",
                int(want.active_members as i64)
            ));
        }
        if want.messages > 0 {
            expected.push(format!(
                "{:.1} per active member",
                want.messages as f64 / want.active_members as f64
            ));
        }
        if want.reactions > 0 {
            expected.push(format!("{} reactions", int(want.reactions as i64)));
        }
        if want.voice_users > 0 {
            expected.push(format!("{} in voice", int(want.voice_users as i64)));
        }
        if let Some(h) = want.last_active_hour {
            expected.push(format!("last active {}", local(h)));
        }
        assert_eq!(rest, expected.join(" · "), "<#{id}>");
        listed += 1;
    }
    assert_eq!(listed, truth.len().min(15));
    assert!(
        truth
            .values()
            .any(|c| c.messages > 0 && c.active_members > c.authors),
        "some channel has active members who did not post"
    );
    assert!(
        truth.values().any(|c| c.voice_users > 0),
        "voice users are listed"
    );

    // Dead: existed through the period without any activity; dying:
    // messages down more than half.
    let before = t.participation_per_parent(&p);
    let mut dead = Vec::new();
    let mut dying = Vec::new();
    for c in t.channels_of(f.guild) {
        let live = c.deleted_ms.is_none() && !matches!(c.kind, 4 | 10..=12);
        if !live {
            continue;
        }
        match truth.get(&c.channel_id) {
            None if c.created_ms.is_none_or(|at| at <= s.from_ms) => {
                dead.push(format!("<#{}>", c.channel_id))
            }
            now => {
                let now = now.map_or(0, |x| x.messages);
                let prev = before.get(&c.channel_id).map_or(0, |x| x.messages);
                if prev > 0 && now * 2 < prev {
                    dying.push(format!(
                        "<#{}> {} ({} before)",
                        c.channel_id,
                        int(now as i64),
                        int(prev as i64)
                    ));
                }
            }
        }
    }
    let joined = |items: &[String]| {
        if items.is_empty() {
            "none".to_owned()
        } else {
            items.join(" · ")
        }
    };
    let (name, value) = field_named(&m, "Dead: ");
    assert_eq!(
        (name, value),
        (
            format!("Dead: no activity in the period ({})", dead.len()).as_str(),
            joined(&dead).as_str()
        )
    );
    let (_, value) = field_named(&m, "Dying: ");
    if f.compared(7) {
        assert_eq!(value, joined(&dying));
    } else {
        assert_eq!(value, f.not_compared());
    }
}

pub async fn member_presence(f: &Fixture) {
    let t = &f.truth;
    let s = f.scope(7);
    let user_id = t.top_messagers(&s, 1)[0].user_id;
    let m = f
        .show(&analyze(
            "member",
            vec![user("user", user_id), string("timeframe", "7d")],
        ))
        .await;
    let (first, last) = t.first_and_last_seen(f.guild, user_id).unwrap();
    assert_eq!(field(&m, "First seen"), local(first));
    assert_eq!(field(&m, "Last seen"), local(last));
    let cells = t.message_heatmap(&s.clone().user(user_id), Berlin);
    const WEEKDAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    let expected: Vec<String> = WEEKDAYS
        .iter()
        .zip(cells.iter())
        .map(|(d, hours)| format!("{d} {}", int(hours.iter().sum::<u64>() as i64)))
        .collect();
    assert_eq!(field(&m, "Weekly pattern (messages)"), expected.join(" · "));
    assert!(first < last && hour_start(last) == last);
}

/// "In voice now" lists who the voice state says is in voice at `at_ms`
/// (the ingester's `voice_sessions`), less a `hidden` member.
pub async fn voice_now(f: &Fixture, at_ms: i64, hidden: Option<u64>) {
    let t = &f.truth;
    let m = f
        .show(&stats("activity", "7d", vec![string("type", "voice")]))
        .await;
    let mut now = t.in_voice_at(f.guild, at_ms, f.count_bots);
    now.retain(|(u, _, _)| Some(*u) != hidden);
    if let Some(u) = hidden {
        assert!(!m.message.to_string().contains(&u.to_string()));
    }
    let (name, value) = field_named(&m, "In voice now");
    assert_eq!(name, format!("In voice now ({})", now.len()));
    if now.is_empty() {
        assert_eq!(value, "nobody");
        return;
    }
    let mut expected: Vec<(i64, u64, String)> = now
        .iter()
        .map(|(u, c, since)| {
            (
                *since,
                *u,
                format!("<@{u}> in <#{c}> since {}", local(*since)),
            )
        })
        .collect();
    expected.sort();
    let lines: Vec<String> = expected.into_iter().take(15).map(|e| e.2).collect();
    assert_eq!(value.lines().take(15).collect::<Vec<_>>(), lines);
}

/// The message a click comes from (the state is in the custom_id).
fn clicked_message(channel: u64) -> Value {
    json!({
        "id": "1300000000000000100", "channel_id": channel.to_string(),
        "author": {"id": discord_sim::DEFAULT_APPLICATION_ID.to_string(), "username": "ServerPulse",
                   "discriminator": "0", "avatar": null, "bot": true},
        "content": "", "timestamp": "2026-10-30T00:00:00.000000+00:00", "edited_timestamp": null, "tts": false,
        "mention_everyone": false, "mentions": [], "mention_roles": [], "attachments": [], "embeds": [],
        "pinned": false, "type": 0, "components": [],
    })
}

/// The overview's community health, each figure against the truth, and
/// each definition one click away.
pub async fn community_health(f: &Fixture) {
    let t = &f.truth;
    let s = f.scope(7);
    let m = f.show(&stats("overview", "7d", vec![])).await;
    let pct = |part: u64, whole: u64| format!("{:.1}%", part as f64 / whole as f64 * 100.0);

    let ratio = t.activity_ratio(&s);
    assert_eq!(
        field(&m, "Active-member ratio"),
        format!(
            "**{}** ({} of {} members)",
            pct(ratio.active, ratio.members),
            int(ratio.active as i64),
            int(ratio.members as i64)
        )
    );
    let activation = t.activation(&s);
    let expected = if activation.joined == 0 {
        "needs members who joined in the period".to_owned()
    } else {
        format!(
            "**{}** ({} of {} joins)",
            pct(activation.activated, activation.joined),
            int(activation.activated as i64),
            int(activation.joined as i64)
        )
    };
    assert_eq!(field(&m, "New-member activation"), expected);
    let week = 7 * DAY_MS;
    let shifted = Scope {
        from_ms: s.from_ms - week,
        to_ms: s.to_ms - week,
        ..s.clone()
    };
    let retention = t.retention(&shifted, s.to_ms);
    let expected = if retention.eligible_7d == 0 {
        "needs members whose first 7 days ended in the period".to_owned()
    } else {
        format!(
            "**{}** ({} of {} joins)",
            pct(retention.retained_7d, retention.eligible_7d),
            int(retention.retained_7d as i64),
            int(retention.eligible_7d as i64)
        )
    };
    assert_eq!(field(&m, "Retention (7 days)"), expected);
    let c = t.message_concentration(&s);
    assert_eq!(
        field(&m, "Message concentration"),
        format!(
            "**{}** of {} messages by the top {} of {} authors",
            pct(c.top_messages, c.messages),
            int(c.messages as i64),
            int(c.top_authors as i64),
            int(c.authors as i64)
        )
    );

    // Each figure's definition: a button, answered only to who clicked.
    let buttons: Vec<Value> = m.message["components"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|row| row["components"].as_array().cloned().unwrap_or_default())
        .filter(|b| {
            b["label"]
                .as_str()
                .is_some_and(|l| l.starts_with("What is"))
        })
        .collect();
    assert_eq!(buttons.len(), 4);
    for (button, name) in buttons.iter().zip([
        "Active-member ratio",
        "New-member activation",
        "Retention (7 days)",
        "Message concentration",
    ]) {
        let click = InteractionKind::Component {
            custom_id: button["custom_id"].as_str().unwrap().to_owned(),
            component_type: 2,
            values: vec![],
            message: clicked_message(f.guild + 1),
        };
        let answer = final_message(&f.app, &click, &admin(f.guild)).await;
        assert!(answer.ephemeral());
        assert!(
            content(&answer).starts_with(&format!("**{name}**: ")),
            "{}",
            content(&answer)
        );
    }
}

/// A member without Manage Server sees the new channel reports without the
/// private channel (`#mod-only`), and is refused its emoji; an admin sees it.
pub async fn private_channels_left_out(f: &Fixture) {
    let t = &f.truth;
    let room = t
        .private_channels(f.guild)
        .into_iter()
        .find(|c| c.kind == 0)
        .expect("a private text channel");
    let general = t
        .channels_of(f.guild)
        .into_iter()
        .find(|c| c.name == "general")
        .unwrap();
    let member = discord_sim::Invoker::member(f.guild, general.channel_id);
    let mention = format!("<#{}>", room.channel_id);
    let health = stats("channels", "all", vec![string("type", "health")]);
    let seen = final_message(&f.app, &health, &member).await;
    let text = seen.message.to_string();
    assert!(
        !text.contains(&mention) && !text.contains(&room.name),
        "{text}"
    );
    assert!(field(&seen, "Private channels").contains("Manage Server"));
    let full = f.show(&health).await;
    assert!(description(&full).contains(&mention));
    assert_eq!(
        field(&seen, "Channels by type"),
        field(&full, "Channels by type"),
        "counts name no channel"
    );
    let deletions = stats("channels", "all", vec![string("type", "deletions")]);
    let seen = final_message(&f.app, &deletions, &member).await;
    let text = seen.message.to_string();
    assert!(
        !text.contains(&mention) && !text.contains(&room.name),
        "{text}"
    );
    let emoji = analyze(
        "channel",
        vec![
            channel("channel", room.channel_id, &room.name, 0),
            string("metric", "emoji"),
            string("timeframe", "all"),
        ],
    );
    let refused = final_message(&f.app, &emoji, &member).await;
    assert!(refused.ephemeral() && content(&refused).contains("private"));
    f.show(&emoji).await;
}

/// A channel nobody used is dead; with an allow-list, only collected
/// channels can be dead (the others are not recorded at all).
pub async fn dead_only_among_collected(f: &Fixture) {
    use shared::Snowflake;
    use shared::db::catalogue::{self, ChannelRow};
    use shared::db::settings::{self, CollectMode};
    let t = &f.truth;
    let g = Snowflake(f.guild);
    // A text channel that existed through the scenario and saw nothing.
    let silent = Snowflake(f.guild + 777);
    let row = ChannelRow {
        guild_id: g,
        channel_id: silent,
        kind: 0,
        name: "silent".into(),
        parent_id: None,
        archived: false,
        archived_at: None,
        created_at: at(t.start_ms - DAY_MS),
        deleted_at: None,
        everyone_allow: 0,
        everyone_deny: 0,
        owner_id: None,
        first_reply_at: None,
        first_bot_reply_at: None,
    };
    catalogue::upsert_channels(&f.app.db.pool, &[row])
        .await
        .unwrap();
    // As the ingester's flush does with the catalogue rows it writes.
    shared::db::data_version::bump(&f.app.db.pool, &[g])
        .await
        .unwrap();
    let health = stats("channels", "7d", vec![string("type", "health")]);
    let dead = |m: &FinalMessage| {
        let (name, value) = field_named(m, "Dead: ");
        (name.to_owned(), value.to_owned())
    };
    let m = f.show(&health).await;
    let one = (
        "Dead: no activity in the period (1)".to_owned(),
        format!("<#{silent}>"),
    );
    assert_eq!(dead(&m), one, "it is the scenario's only dead channel");

    let busiest = *t
        .messages_per_parent_channel(&f.scope(7))
        .iter()
        .max_by_key(|(c, n)| (**n, **c))
        .unwrap()
        .0;
    let mut conn = f.app.db.pool.acquire().await.unwrap();
    let actor = Snowflake(1);
    settings::set_collect_mode(&mut conn, g, actor, CollectMode::AllowList)
        .await
        .unwrap();
    settings::set_channel_collected(&mut conn, g, actor, Snowflake(busiest), true)
        .await
        .unwrap();
    let m = f.show(&health).await;
    assert_eq!(
        dead(&m),
        (
            "Dead: no activity in the period (0)".to_owned(),
            "none".to_owned()
        )
    );
    settings::set_channel_collected(&mut conn, g, actor, silent, true)
        .await
        .unwrap();
    let m = f.show(&health).await;
    assert_eq!(dead(&m), one);
}
