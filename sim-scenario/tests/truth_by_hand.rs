//! Ground-truth queries against a hand-written scenario whose answers were
//! worked out by hand (the timeline is in `fixture`'s comments).
//!
//! The scenario starts Saturday 2026-10-24 00:00 UTC. Europe/Berlin leaves
//! summer time on Sunday 2026-10-25 at 01:00 UTC (03:00 CEST → 02:00 CET), so
//! Berlin's 02:00–03:00 happens twice that night.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use chrono_tz::{America::New_York, Europe::Berlin, Tz, UTC};
use sim_scenario::truth::{
    Activation, ActivityRatio, ContentCounts, DeletionSummary, EmojiCounts, Growth,
    LeaderboardMetric, Ranked, ReactionCell, Retention, Scope, ThreadCounts,
};
use sim_scenario::{GroundTruth, Scenario, Script};
use twilight_model::gateway::payload::incoming::{GuildCreate, VoiceStateUpdate};

const S: i64 = 1_792_800_000_000; // 2026-10-24T00:00:00Z
const H: i64 = 3_600_000;
const M: i64 = 60_000;
const D: i64 = 24 * H;

const G: u64 = 1;
const A: u64 = 10; // #general
const B: u64 = 11; // #chat
const T: u64 = 12; // public thread in #general, open at the start
const P: u64 = 13; // private thread in #general, created later
const V1: u64 = 20;
const V2: u64 = 21;
const U1: u64 = 101;
const U2: u64 = 102;
const U3: u64 = 103;
const U4: u64 = 104;
const BOT: u64 = 900;
const HOOK: u64 = 950;

fn fixture() -> (Scenario, GroundTruth) {
    let mut s = Script::new(G, S, 2);
    s.channel(A, 0, "general", None)
        .channel(B, 0, "chat", None)
        .channel(V1, 2, "Lounge", None)
        .channel(V2, 2, "Gaming", None)
        .member(U1, "u1", false, S - 100 * D)
        .member(U2, "u2", false, S - 50 * D)
        .member(BOT, "bot", true, S - 200 * D)
        .thread_at_start(T, A, 11, U1)
        .voice_at_start(U2, V1);
    let m1 = s.message(S + 30 * M, A, U1, 2, 0, 0);
    s.voice(S + 50 * M, U1, Some(V1), false, false)
        .react(S + H, U2, m1, "👍")
        .voice(S + H, U2, None, false, false)
        .voice(S + H + 20 * M, U1, Some(V1), true, false) // mute: same session, same interval
        .voice(S + H + 40 * M, U1, Some(V2), true, false) // move
        .voice(S + 2 * H + 10 * M, U1, None, true, false)
        .create_thread(S + 3 * H, P, A, 12, U1)
        .join(S + 10 * H, U4, "u4", false)
        .voice(S + 10 * H + 30 * M, U4, Some(V1), false, false)
        .react(S + 11 * H, U4, m1, "pulse:555")
        .voice(S + 11 * H, U4, None, false, false)
        .voice(S + 11 * H, U1, Some(V1), false, false) // joins as U4 leaves: never together
        .voice(S + 11 * H + 20 * M, U1, None, false, false)
        .unreact(S + 11 * H + 30 * M, U4, m1, "pulse:555")
        .leave(S + 20 * H, U4);
    let m2 = s.message(S + 22 * H - 1, A, U2, 0, 1, 0);
    s.message(S + 22 * H, T, U1, 0, 0, 1);
    s.archive_thread(S + 23 * H, P);
    let m4 = s.message(S + 24 * H + 30 * M, B, U2, 0, 0, 0);
    s.delete(S + 24 * H + 45 * M, m4)
        .join(S + 25 * H, U3, "u3", false);
    let m5 = s.message(S + 25 * H + 30 * M, B, U3, 0, 0, 0);
    s.react(S + 25 * H + 45 * M, U1, m5, "🎉");
    let m6 = s.message(S + 26 * H, B, BOT, 0, 1, 0);
    s.webhook_message(S + 26 * H + 10 * M, A, HOOK, 1, 1);
    s.react(S + 26 * H + 30 * M, U1, m6, "👍")
        .leave(S + 30 * H, U2)
        .bulk_delete(S + 30 * H + 10 * M, &[m1, m2])
        .join(S + 40 * H, U2, "u2", false); // rejoin
    s.message(S + 47 * H, A, U1, 0, 0, 0);
    s.archive_thread(S + 47 * H + 30 * M, T);
    s.finish()
}

fn all() -> Scope {
    Scope::new(G, S, S + 2 * D)
}

fn map<K: Ord, V>(pairs: impl IntoIterator<Item = (K, V)>) -> BTreeMap<K, V> {
    pairs.into_iter().collect()
}

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

#[test]
fn the_script_emits_a_valid_stream_with_the_toggle_inside_one_interval() {
    let (s, t) = fixture();
    let g: GuildCreate = serde_json::from_value(s.guilds[0].clone()).unwrap();
    let GuildCreate::Available(g) = g else {
        panic!("unavailable")
    };
    assert_eq!(g.voice_states.len(), 1);
    assert_eq!(g.member_count, Some(3));
    let toggle = s.events.iter().find(|d| d.at_ms == S + H + 20 * M).unwrap();
    let v: VoiceStateUpdate = serde_json::from_value(toggle.d.clone()).unwrap();
    assert!(v.0.self_mute);
    assert_eq!(v.0.channel_id.map(|c| c.get()), Some(V1));
    let u1: Vec<(u64, i64, i64)> = t
        .voice
        .iter()
        .filter(|v| v.user_id == U1)
        .map(|v| (v.channel_id, v.start_ms, v.end_ms))
        .collect();
    assert_eq!(
        u1,
        vec![
            (V1, S + 50 * M, S + H + 40 * M),
            (V2, S + H + 40 * M, S + 2 * H + 10 * M),
            (V1, S + 11 * H, S + 11 * H + 20 * M),
        ]
    );
    let rejoins: Vec<u64> = t
        .members
        .iter()
        .filter(|m| m.rejoin)
        .map(|m| m.user_id)
        .collect();
    assert_eq!(rejoins, vec![U2]);
}

#[test]
fn message_counts() {
    let (_, t) = fixture();
    assert_eq!(t.messages_total(&all()), 6);
    assert_eq!(t.messages_total(&all().including_bots()), 8);
    assert_eq!(
        t.messages_per_channel(&all()),
        map([(A, 3), (B, 2), (T, 1)])
    );
    assert_eq!(t.messages_per_parent_channel(&all()), map([(A, 4), (B, 2)]));
    assert_eq!(t.thread_messages_per_parent(&all()), map([(A, 1)]));
    assert_eq!(
        t.messages_per_channel(&all().including_bots()),
        map([(A, 4), (B, 3), (T, 1)])
    );
    assert_eq!(
        t.messages_per_member(&all()),
        map([(U1, 3), (U2, 2), (U3, 1)])
    );
    assert_eq!(
        t.messages_per_member(&all().including_bots()),
        map([(U1, 3), (U2, 2), (U3, 1), (BOT, 1), (HOOK, 1)])
    );
    assert_eq!(
        t.messages_per_utc_hour(&all()),
        map([
            (S, 1),
            (S + 21 * H, 1),
            (S + 22 * H, 1),
            (S + 24 * H, 1),
            (S + 25 * H, 1),
            (S + 47 * H, 1)
        ])
    );
    // Half-open ranges: m5 at exactly 25:30 is outside [22:00, 25:30).
    assert_eq!(
        t.messages_total(&Scope::new(G, S + 22 * H, S + 25 * H + 30 * M)),
        2
    );
    assert_eq!(
        t.messages_total(&Scope::new(G, S + 22 * H - 1, S + 22 * H)),
        1
    );
    // Collection: a thread is collected with its parent.
    assert_eq!(t.messages_total(&all().collected([B])), 2);
    assert_eq!(t.messages_total(&all().collected([A])), 4);
    assert_eq!(t.messages_total(&all().channel(A)), 4);
    assert_eq!(t.messages_total(&all().channel(T)), 1);
    assert_eq!(t.messages_total(&all().collected([B]).channel(A)), 0);
    // Nothing before tracking started.
    assert_eq!(t.messages_total(&all().tracking_since(S + 22 * H)), 4);
    assert_eq!(t.messages_total(&all().user(U1)), 3);
}

#[test]
fn local_days_and_heatmap_across_the_dst_change() {
    let (_, t) = fixture();
    let per_day = |tz: Tz| t.messages_per_local_day(&all(), tz);
    // Berlin's Sunday 2026-10-25 lasts 25 hours, 22:00Z Sat to 23:00Z Sun.
    assert_eq!(
        per_day(Berlin),
        map([
            (day(2026, 10, 24), 2),
            (day(2026, 10, 25), 3),
            (day(2026, 10, 26), 1)
        ])
    );
    assert_eq!(
        per_day(UTC),
        map([(day(2026, 10, 24), 3), (day(2026, 10, 25), 3)])
    );
    assert_eq!(
        per_day(New_York),
        map([
            (day(2026, 10, 23), 1),
            (day(2026, 10, 24), 4),
            (day(2026, 10, 25), 1)
        ])
    );

    let heat = t.message_heatmap(&all(), Berlin);
    let mut expected = [[0u64; 24]; 7];
    expected[5][2] = 1; // m1 Sat 02:30 CEST
    expected[5][23] = 1; // m2 Sat 23:59:59.999
    expected[6][0] = 1; // m3 Sun 00:00
    expected[6][2] = 2; // m4 02:30 CEST and m5 02:30 CET: the hour happens twice
    expected[0][0] = 1; // m8 Mon 00:00 CET
    assert_eq!(heat, expected);
}

#[test]
fn new_york_day_is_25_hours_on_its_own_dst_change() {
    // 2026-11-01: New York falls back at 06:00 UTC (02:00 EDT → 01:00 EST).
    let start = 1_793_404_800_000; // 2026-10-31T00:00:00Z
    let mut s = Script::new(G, start, 3);
    s.channel(A, 0, "general", None)
        .member(U1, "u1", false, start - D);
    for at in [
        start + D + 4 * H - 1,      // Oct 31 23:59:59.999 EDT
        start + D + 4 * H,          // Nov 1 00:00 EDT
        start + D + 5 * H + 30 * M, // 01:30 EDT
        start + D + 6 * H + 30 * M, // 01:30 EST
        start + 2 * D + 5 * H - 1,  // Nov 1 23:59:59.999 EST
        start + 2 * D + 5 * H,      // Nov 2 00:00 EST
    ] {
        s.message(at, A, U1, 0, 0, 0);
    }
    let (_, t) = s.finish();
    let scope = Scope::new(G, start, start + 3 * D);
    assert_eq!(
        t.messages_per_local_day(&scope, New_York),
        map([
            (day(2026, 10, 31), 1),
            (day(2026, 11, 1), 4),
            (day(2026, 11, 2), 1)
        ])
    );
    let heat = t.message_heatmap(&scope, New_York);
    assert_eq!(heat[6][1], 2, "Sunday 01:00-02:00 happens twice");
    assert_eq!(heat[6][0], 1);
    assert_eq!(heat[6][23], 1);
    assert_eq!(heat[5][23], 1);
    assert_eq!(heat[0][0], 1);
}

#[test]
fn content_counts() {
    let (_, t) = fixture();
    assert_eq!(
        t.content_counts(&all()),
        ContentCounts {
            messages: 6,
            attachments: 2,
            embeds: 1,
            stickers: 1,
            messages_with_attachments: 1,
            messages_with_embeds: 1,
            messages_with_stickers: 1,
        }
    );
    let with_bots = t.content_counts(&all().including_bots());
    assert_eq!(
        (
            with_bots.messages,
            with_bots.attachments,
            with_bots.embeds,
            with_bots.stickers
        ),
        (8, 3, 3, 1)
    );
}

#[test]
fn activity_and_leaderboards() {
    let (_, t) = fixture();
    assert_eq!(
        t.activity_ratio(&all()),
        ActivityRatio {
            active: 4,
            members: 4
        }
    );
    // Active means posted, reacted or sat in voice: U4 never posts, but
    // reacted and sat in voice.
    assert!(t.active_members(&all()).contains(&U4));
    // U4 left at exactly 20:00: not a member of [20:00, 48:00).
    assert_eq!(
        t.activity_ratio(&Scope::new(G, S + 20 * H, S + 2 * D)),
        ActivityRatio {
            active: 3,
            members: 3
        }
    );
    // U4 joins at exactly 10:00: not a member of [02:00, 10:00). U1 posts
    // nothing then but is in voice until 02:10: active by voice alone.
    assert_eq!(
        t.activity_ratio(&Scope::new(G, S + 2 * H, S + 10 * H)),
        ActivityRatio {
            active: 1,
            members: 2
        }
    );
    // In #general from 11:00 to 12:00, U4's reaction (added at 11:00,
    // removed at 11:30) is the only activity: active by reacting alone.
    assert_eq!(
        t.active_members(&Scope::new(G, S + 11 * H, S + 12 * H).channel(A)),
        [U4].into()
    );
    // Only adds count: the remove alone (11:30) makes no one active.
    assert!(
        t.active_members(&Scope::new(G, S + 11 * H + 15 * M, S + 12 * H).channel(A))
            .is_empty()
    );
    let r = |user_id, value| Ranked { user_id, value };
    assert_eq!(t.top_messagers(&all(), 2), vec![r(U1, 3), r(U2, 2)]);
    // Ties: user id ascending.
    assert_eq!(
        t.leaderboard(&all().channel(B), LeaderboardMetric::Messages),
        vec![r(U2, 1), r(U3, 1)]
    );
    assert_eq!(
        t.leaderboard(&all(), LeaderboardMetric::VoiceSeconds),
        vec![r(U1, 6000), r(U2, 3600), r(U4, 1800)]
    );
    assert_eq!(
        t.leaderboard(&all(), LeaderboardMetric::ReactionsGiven),
        vec![r(U1, 2), r(U2, 1), r(U4, 1)]
    );
    assert_eq!(
        t.leaderboard(&all(), LeaderboardMetric::ReactionsReceived),
        vec![r(U1, 2), r(U3, 1)]
    );
}

#[test]
fn voice_split_at_hours_and_peaks() {
    let (_, t) = fixture();
    assert_eq!(
        t.voice_ms(&all()),
        map([
            ((V1, U2, S), 60 * M), // in voice since the start, leaves at 01:00
            ((V1, U1, S), 10 * M),
            ((V1, U1, S + H), 40 * M), // the mute at 01:20 splits nothing
            ((V2, U1, S + H), 20 * M),
            ((V2, U1, S + 2 * H), 10 * M),
            ((V1, U4, S + 10 * H), 30 * M),
            ((V1, U1, S + 11 * H), 20 * M),
        ])
    );
    assert_eq!(
        t.voice_ms_per_member(&all()),
        map([(U1, 100 * M), (U2, 60 * M), (U4, 30 * M)])
    );
    assert_eq!(
        t.voice_ms_per_channel(&all()),
        map([(V1, 160 * M), (V2, 30 * M)])
    );
    // Clipped at the range edges.
    let edge = Scope::new(G, S + 30 * M, S + H + 50 * M);
    assert_eq!(
        t.voice_ms_per_member(&edge),
        map([(U1, 60 * M), (U2, 30 * M)])
    );
    assert_eq!(
        t.voice_ms_per_member(&all().collected([V2])),
        map([(U1, 30 * M)])
    );
    assert_eq!(
        t.peak_concurrent(&all()),
        map([
            ((V1, S), 2),
            ((V1, S + H), 1), // U2 left at exactly 01:00
            ((V2, S + H), 1),
            ((V2, S + 2 * H), 1),
            ((V1, S + 10 * H), 1),
            ((V1, S + 11 * H), 1), // U4 left as U1 joined
        ])
    );
    assert_eq!(
        t.peak_concurrent(&Scope::new(G, S + 55 * M, S + 58 * M)),
        map([((V1, S), 2)])
    );
    assert_eq!(
        t.peak_concurrent(&Scope::new(G, S, S + 55 * M).user(U1)),
        map([((V1, S), 1)])
    );
}

#[test]
fn reactions() {
    let (_, t) = fixture();
    assert_eq!(t.reactions_given(&all()), map([(U1, 2), (U2, 1), (U4, 1)]));
    assert_eq!(t.reactions_received(&all()), map([(U1, 2), (U3, 1)]));
    assert_eq!(
        t.reactions_received(&all().including_bots()),
        map([(U1, 2), (U3, 1), (BOT, 1)])
    );
    assert_eq!(t.reactions_removed(&all()), map([(U4, 1)]));
    let e = |added, removed| EmojiCounts { added, removed };
    assert_eq!(
        t.reactions_per_emoji(&all()),
        map([
            ("👍".to_owned(), e(2, 0)),
            ("pulse:555".to_owned(), e(1, 1)),
            ("🎉".to_owned(), e(1, 0))
        ])
    );
    assert_eq!(t.reactions_given(&all().collected([B])), map([(U1, 2)]));
    assert_eq!(
        t.reactions_given(&Scope::new(G, S, S + 11 * H)),
        map([(U2, 1)])
    );
}

#[test]
fn membership() {
    let (_, t) = fixture();
    let growth = |from, to| t.growth(&Scope::new(G, from, to));
    assert_eq!(
        growth(S, S + 2 * D),
        Growth {
            joins: 3,
            leaves: 2,
            rejoins: 1,
            net: 1
        }
    );
    // U3's join at exactly 25:00 belongs to the range that starts then.
    assert_eq!(
        growth(S + 25 * H, S + 2 * D),
        Growth {
            joins: 2,
            leaves: 1,
            rejoins: 1,
            net: 1
        }
    );
    assert_eq!(
        growth(S, S + 25 * H),
        Growth {
            joins: 1,
            leaves: 1,
            rejoins: 0,
            net: 0
        }
    );
    // A rejoin needs a leave seen since tracking started.
    assert_eq!(
        t.growth(&all().tracking_since(S + 35 * H)),
        Growth {
            joins: 1,
            leaves: 0,
            rejoins: 0,
            net: 1
        }
    );
    assert_eq!(
        t.growth(&all().tracking_since(S + 30 * H)),
        Growth {
            joins: 1,
            leaves: 1,
            rejoins: 1,
            net: 0
        }
    );
    assert_eq!(t.member_count_at(G, S + 25 * H, false), 3); // a join at t counts
    assert_eq!(t.member_count_at(G, S + 25 * H, true), 4);
    assert_eq!(t.member_count_at(G, S + 30 * H, false), 2); // a leave at t doesn't
    assert_eq!(t.member_count_at(G, S + 20 * H, false), 2);
    assert_eq!(t.member_count_at(G, S + 10 * H, false), 3);
    assert_eq!(t.member_count_at(G, S + 40 * H, false), 3);
}

#[test]
fn activation_and_retention() {
    let (_, t) = fixture();
    // U4 never posts, U3 posts 30 minutes after joining, U2 is silent after rejoining.
    assert_eq!(
        t.activation(&all()),
        Activation {
            joined: 3,
            activated: 1
        }
    );
    assert_eq!(
        t.activation(&all().collected([A])),
        Activation {
            joined: 3,
            activated: 0
        }
    );
    let none_yet = Retention {
        cohort: 3,
        eligible_7d: 0,
        retained_7d: 0,
        eligible_30d: 0,
        retained_30d: 0,
    };
    assert_eq!(t.retention(&all(), S + 2 * D), none_yet);
    assert_eq!(
        t.retention(&all(), S + 40 * D),
        Retention {
            cohort: 3,
            eligible_7d: 3,
            retained_7d: 2,
            eligible_30d: 3,
            retained_30d: 2
        }
    );
    // Exactly U4's seven-day mark.
    assert_eq!(
        t.retention(&all(), S + 10 * H + 7 * D),
        Retention {
            cohort: 3,
            eligible_7d: 1,
            retained_7d: 0,
            eligible_30d: 0,
            retained_30d: 0
        }
    );
}

#[test]
fn deletions_and_threads() {
    let (_, t) = fixture();
    // Counted when the delete happens, not when the messages were sent.
    assert_eq!(
        t.deletions_per_channel_hour(&all()),
        map([((B, S + 24 * H), 1), ((A, S + 30 * H), 2)])
    );
    assert_eq!(
        t.deletion_summary(&all()),
        DeletionSummary {
            single_events: 1,
            bulk_events: 1,
            messages: 3
        }
    );
    assert_eq!(
        t.deletion_summary(&Scope::new(G, S, S + 30 * H)),
        DeletionSummary {
            single_events: 1,
            bulk_events: 0,
            messages: 1
        }
    );
    let c = |created, archived| ThreadCounts { created, archived };
    assert_eq!(t.threads_per_parent(&all()), map([(A, c(1, 2))]));
    assert_eq!(
        t.threads_per_parent(&Scope::new(G, S, S + 23 * H)),
        map([(A, c(1, 0))])
    );
    assert!(t.threads_per_parent(&all().collected([B])).is_empty());
}

#[test]
fn per_local_day_reactions_and_growth() {
    let (_, t) = fixture();
    assert_eq!(
        t.reactions_per_local_day(&all(), Berlin),
        map([(day(2026, 10, 24), 2), (day(2026, 10, 25), 2)])
    );
    // U4's leave at 20:00Z is 22:00 CEST on the 24th; U3's join at 01:00Z is
    // 02:00 CET on the 25th.
    assert_eq!(
        t.growth_per_local_day(&all(), Berlin),
        map([
            (
                day(2026, 10, 24),
                Growth {
                    joins: 1,
                    leaves: 1,
                    rejoins: 0,
                    net: 0
                }
            ),
            (
                day(2026, 10, 25),
                Growth {
                    joins: 2,
                    leaves: 1,
                    rejoins: 1,
                    net: 1
                }
            ),
        ])
    );
}

#[test]
fn voice_per_local_day_splits_at_local_midnights() {
    let mut s = Script::new(G, S, 3);
    s.channel(V1, 2, "Lounge", None)
        .member(U1, "u1", false, S - D)
        .member(U2, "u2", false, S - D)
        .voice(S + 18 * H, U2, Some(V1), false, false) // 23:30 IST
        .voice(S + 19 * H, U2, None, false, false) // 00:30 IST
        .voice(S + 21 * H + 30 * M, U1, Some(V1), false, false) // Sat 23:30 CEST
        .voice(S + 47 * H + 30 * M, U1, None, false, false); // Mon 00:30 CET
    let (_, t) = s.finish();
    let scope = Scope::new(G, S, S + 3 * D).user(U1);
    // Sunday the 25th is 25 hours long in Berlin.
    assert_eq!(
        t.voice_ms_per_local_day(&scope, Berlin),
        map([
            (day(2026, 10, 24), 30 * M),
            (day(2026, 10, 25), 25 * H),
            (day(2026, 10, 26), 30 * M)
        ])
    );
    let india: Tz = "Asia/Kolkata".parse().unwrap();
    let scope = Scope::new(G, S, S + 3 * D).user(U2);
    assert_eq!(
        t.voice_ms_per_local_day(&scope, india),
        map([(day(2026, 10, 24), 30 * M), (day(2026, 10, 25), 30 * M)])
    );
    let seconds = t.voice_seconds(&Scope::new(G, S + 18 * H + 1_500, S + 19 * H));
    assert_eq!(seconds, map([((V1, U2, S + 18 * H), 3598)]));
}

#[test]
fn finest_cells() {
    let (_, t) = fixture();
    let cells = t.message_cells(&all());
    assert_eq!(cells.len(), 6);
    let m1 = cells[&(A, U1, S)];
    assert_eq!(
        (m1.messages, m1.attachments, m1.messages_with_attachments),
        (1, 2, 1)
    );
    assert_eq!(cells[&(T, U1, S + 22 * H)].stickers, 1);
    assert_eq!(t.message_cells(&all().including_bots()).len(), 8);
    let r = |given, removed, received| ReactionCell {
        given,
        removed,
        received,
    };
    assert_eq!(
        t.reaction_cells(&all()),
        map([
            ((A, U2, S + H), r(1, 0, 0)),
            ((A, U1, S + H), r(0, 0, 1)),
            ((A, U4, S + 11 * H), r(1, 1, 0)),
            ((A, U1, S + 11 * H), r(0, 0, 1)),
            ((B, U1, S + 25 * H), r(1, 0, 0)),
            ((B, U3, S + 25 * H), r(0, 0, 1)),
            ((B, U1, S + 26 * H), r(1, 0, 0)),
        ])
    );
}
