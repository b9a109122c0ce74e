//! Exact local days in zones offset by :30 and :45 and across their
//! daylight-saving changes, end to end: a simulated Discord streams five
//! hand-written guilds through the real ingester, each admin picks the
//! guild's zone with /setup, and the daily figures of a custom timeframe
//! equal the ground truth per local day. Events sit a second either side of
//! local midnight (in the same UTC hour, so UTC buckets would put them on
//! the wrong day) and around the changes: St John's (−3:30 → −2:30, 14 March
//! 2027), Adelaide (+10:30 → +9:30) and Lord Howe (+11 → +10:30, its
//! 01:30–02:00 twice), both on 4 April 2027, and Lord Howe's spring change
//! (+10:30 → +11 on 3 October 2027, whose local 02:00 lasts 30 minutes).

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{NaiveDate, TimeZone};
use chrono_tz::Tz;
use common::*;
use discord_sim::InteractionKind;
use serverpulse_web::component::ComponentId;
use sim_scenario::truth::Scope;
use sim_scenario::{GroundTruth, Scenario, Script};

/// 2027-03-13T00:00:00Z; that scenario lasts until 2027-04-06T00:00:00Z.
const START: i64 = 1_804_896_000_000;
const DAYS: u32 = 24;
/// 2027-10-01T00:00:00Z, for 5 days: Lord Howe's spring change.
const OCTOBER: i64 = 1_822_348_800_000;
const S: i64 = 1_000;
const M: i64 = 60 * S;
const H: i64 = 60 * M;

/// Unix ms of a UTC wall time.
fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> i64 {
    chrono::Utc
        .with_ymd_and_hms(y, mo, d, h, mi, s)
        .unwrap()
        .timestamp_millis()
}

/// One guild in `tz`: a text channel, a voice channel, two members (and a
/// third who joins), with `messages` sent by both, a reaction on each
/// message a second later, and the voice sessions `voice` (from, to), in
/// time order.
struct Guild {
    id: u64,
    tz: Tz,
    /// The local dates the check asks for (first, last).
    dates: (NaiveDate, NaiveDate),
    messages: Vec<i64>,
    voice: Vec<(i64, i64)>,
    join: i64,
}

fn script(g: &Guild, start: i64, days: u32) -> (Scenario, GroundTruth) {
    let (text, voice) = (g.id * 100 + 1, g.id * 100 + 2);
    let (ann, bob, cat) = (g.id * 100 + 11, g.id * 100 + 12, g.id * 100 + 13);
    let mut s = Script::new(g.id, start, days);
    s.channel(text, 0, "general", None)
        .channel(voice, 2, "Lounge", None)
        .member(ann, "ann", false, start - 30 * 24 * H)
        .member(bob, "bob", false, start - 30 * 24 * H);
    // Every event in time order, whatever its kind.
    enum Step {
        Message(usize),
        VoiceOn,
        VoiceOff,
        Join,
    }
    let mut steps: Vec<(i64, u8, Step)> = Vec::new();
    for (i, at) in g.messages.iter().enumerate() {
        steps.push((*at, 1, Step::Message(i)));
    }
    for (from, to) in &g.voice {
        steps.push((*from, 2, Step::VoiceOn));
        steps.push((*to, 0, Step::VoiceOff));
    }
    steps.push((g.join, 3, Step::Join));
    steps.sort_by_key(|(at, order, _)| (*at, *order));
    let mut reactions: Vec<(i64, u64)> = Vec::new();
    for (at, _, step) in steps {
        // Reactions a second after their message, before what follows.
        while let Some((r_at, message)) = reactions.first().copied().filter(|r| r.0 <= at) {
            reactions.remove(0);
            s.react(r_at, bob, message, "👍");
        }
        match step {
            Step::Message(i) => {
                let author = if i % 2 == 0 { ann } else { bob };
                let id = s.message(at, text, author, 0, 0, 0);
                reactions.push((at + S, id));
            }
            Step::VoiceOn => {
                s.voice(at, ann, Some(voice), false, false);
            }
            Step::VoiceOff => {
                s.voice(at, ann, None, false, false);
            }
            Step::Join => {
                s.join(at, cat, "cat", false);
            }
        }
    }
    for (r_at, message) in reactions {
        s.react(r_at, bob, message, "👍");
    }
    s.finish()
}

fn guilds() -> Vec<Guild> {
    let d = |m, day| NaiveDate::from_ymd_opt(2027, m, day).unwrap();
    vec![
        // Asia/Kolkata, +5:30: midnight of 14 March is 18:30Z on the 13th.
        Guild {
            id: 1,
            tz: chrono_tz::Asia::Kolkata,
            dates: (d(3, 13), d(3, 14)),
            messages: vec![
                utc(2027, 3, 13, 18, 5, 0),
                utc(2027, 3, 13, 18, 29, 59),
                utc(2027, 3, 13, 18, 30, 0),
                utc(2027, 3, 13, 18, 59, 59),
                utc(2027, 3, 14, 18, 29, 59),
            ],
            voice: vec![(utc(2027, 3, 13, 18, 10, 0), utc(2027, 3, 13, 18, 50, 0))],
            join: utc(2027, 3, 13, 18, 40, 0),
        },
        // Asia/Kathmandu, +5:45: midnight is 18:15Z.
        Guild {
            id: 2,
            tz: chrono_tz::Asia::Kathmandu,
            dates: (d(3, 13), d(3, 14)),
            messages: vec![
                utc(2027, 3, 13, 18, 14, 59),
                utc(2027, 3, 13, 18, 15, 0),
                utc(2027, 3, 13, 18, 44, 0),
                utc(2027, 3, 14, 18, 0, 0),
            ],
            voice: vec![(utc(2027, 3, 13, 18, 0, 0), utc(2027, 3, 13, 18, 30, 0))],
            join: utc(2027, 3, 13, 18, 20, 0),
        },
        // America/St_Johns, −3:30 until 02:00 NST on 14 March (05:30Z),
        // then −2:30: the 14th has 23 hours, from 03:30Z to 02:30Z.
        Guild {
            id: 3,
            tz: chrono_tz::America::St_Johns,
            dates: (d(3, 13), d(3, 15)),
            messages: vec![
                utc(2027, 3, 14, 3, 0, 0),
                utc(2027, 3, 14, 3, 29, 59),
                utc(2027, 3, 14, 3, 30, 0),
                utc(2027, 3, 14, 5, 29, 59),
                utc(2027, 3, 14, 5, 30, 0),
                utc(2027, 3, 15, 2, 29, 59),
                utc(2027, 3, 15, 2, 30, 0),
                utc(2027, 3, 15, 2, 59, 0),
            ],
            voice: vec![
                (utc(2027, 3, 14, 3, 10, 0), utc(2027, 3, 14, 3, 50, 0)),
                (utc(2027, 3, 14, 5, 0, 0), utc(2027, 3, 14, 6, 10, 0)),
                (utc(2027, 3, 15, 2, 0, 0), utc(2027, 3, 15, 2, 45, 0)),
            ],
            join: utc(2027, 3, 14, 5, 45, 0),
        },
        // Australia/Lord_Howe, +11 until 02:00 on 4 April (15:00Z on the
        // 3rd), then +10:30: 01:30–02:00 happens twice and the 4th has
        // 24½ hours, from 13:00Z on the 3rd to 13:30Z on the 4th.
        Guild {
            id: 4,
            tz: chrono_tz::Australia::Lord_Howe,
            dates: (d(4, 3), d(4, 5)),
            messages: vec![
                utc(2027, 4, 3, 12, 59, 59),
                utc(2027, 4, 3, 13, 0, 0),
                utc(2027, 4, 3, 14, 45, 0),
                utc(2027, 4, 3, 15, 0, 0),
                utc(2027, 4, 3, 15, 29, 59),
                utc(2027, 4, 3, 15, 30, 0),
                utc(2027, 4, 4, 13, 29, 59),
                utc(2027, 4, 4, 13, 30, 0),
            ],
            voice: vec![
                (utc(2027, 4, 3, 12, 40, 0), utc(2027, 4, 3, 13, 20, 0)),
                (utc(2027, 4, 3, 14, 40, 0), utc(2027, 4, 3, 15, 40, 0)),
                (utc(2027, 4, 4, 13, 0, 0), utc(2027, 4, 4, 14, 0, 0)),
            ],
            join: utc(2027, 4, 3, 15, 10, 0),
        },
        // Australia/Adelaide, +10:30 until 03:00 on 4 April (16:30Z on the
        // 3rd), then +9:30: the 4th has 25 hours, 13:30Z to 14:30Z.
        Guild {
            id: 5,
            tz: chrono_tz::Australia::Adelaide,
            dates: (d(4, 3), d(4, 5)),
            messages: vec![
                utc(2027, 4, 3, 13, 29, 59),
                utc(2027, 4, 3, 13, 30, 0),
                utc(2027, 4, 3, 16, 0, 0),
                utc(2027, 4, 3, 16, 30, 0),
                utc(2027, 4, 3, 17, 15, 0),
                utc(2027, 4, 4, 14, 29, 59),
                utc(2027, 4, 4, 14, 30, 0),
            ],
            voice: vec![
                (utc(2027, 4, 3, 13, 0, 0), utc(2027, 4, 3, 14, 0, 0)),
                (utc(2027, 4, 3, 16, 10, 0), utc(2027, 4, 3, 16, 50, 0)),
            ],
            join: utc(2027, 4, 4, 14, 29, 0),
        },
    ]
}

/// The guilds' scenarios as one stream (every guild's `GUILD_CREATE`, then
/// all dispatches in time order).
fn merge(parts: Vec<Scenario>) -> Scenario {
    let mut all = parts[0].clone();
    all.guilds.clear();
    all.events.clear();
    for part in parts {
        all.guilds.extend(part.guilds);
        all.events.extend(part.events);
    }
    all.events.sort_by_key(|e| e.at_ms);
    all
}

/// The per-day lines of `/serverstats activity type:<kind>` over the
/// local dates `first`..=`last`, asked through the custom-timeframe modal.
async fn custom_days(
    app: &App,
    guild: u64,
    kind: &str,
    (first, last): (NaiveDate, NaiveDate),
) -> BTreeMap<NaiveDate, String> {
    let activity = command(
        "serverstats",
        vec![sub(
            "activity",
            vec![string("timeframe", "custom"), string("type", kind)],
        )],
    );
    let outcome = send(app, &activity, &admin(guild)).await;
    let modal = outcome.response.expect("a modal");
    assert_eq!(modal["type"], 9, "{modal}");
    let submit = InteractionKind::ModalSubmit {
        custom_id: modal["data"]["custom_id"].as_str().unwrap().to_owned(),
        fields: vec![
            (ComponentId::FirstDay.encode(), first.to_string()),
            (ComponentId::LastDay.encode(), last.to_string()),
        ],
    };
    let message = final_message(app, &submit, &admin(guild)).await;
    per_day(description(&message))
}

/// The instant local `date` begins in `tz`.
fn midnight(date: NaiveDate, tz: Tz) -> i64 {
    serverpulse_web::period::local_midnight(date, tz).timestamp_millis()
}

/// Streams `guilds` (from `start`, for `days`) through the real ingester
/// after each admin set the guild's zone, and checks each guild's messages,
/// reactions and voice time per local day of its dates against the truth.
async fn daily_figures_equal_truth(guilds: &[Guild], start: i64, days: u32) -> App {
    let (scenarios, truths): (Vec<Scenario>, Vec<GroundTruth>) =
        guilds.iter().map(|g| script(g, start, days)).unzip();
    assert!(
        start > chrono::Utc::now().timestamp_millis(),
        "after tracking starts"
    );
    let end = truths[0].end_ms;
    let app = start_app_serving(at(end), merge(scenarios)).await;
    for g in guilds {
        let setup = command(
            "setup",
            vec![string("timezone", g.tz.name()), string("channels", "all")],
        );
        let answer = final_message(&app, &setup, &admin(g.id)).await;
        assert_eq!(field(&answer, "Tracking"), "on");
    }
    ingest_everything(&app, Duration::from_secs(120)).await;

    for (g, truth) in guilds.iter().zip(&truths) {
        let (first, last) = g.dates;
        let scope = Scope::new(
            g.id,
            midnight(first, g.tz),
            midnight(last.succ_opt().unwrap(), g.tz),
        );
        let tz = g.tz;
        let expected_days = first.iter_days().take_while(|d| *d <= last).count();

        let days = custom_days(&app, g.id, "messages", g.dates).await;
        let truth_days = truth.messages_per_local_day(&scope, tz);
        assert_eq!(days.len(), expected_days, "{tz}: {days:?}");
        for (day, value) in &days {
            assert_eq!(
                parse_int(value),
                truth_days.get(day).copied().unwrap_or(0) as i64,
                "{tz} messages on {day}"
            );
        }
        // Every message is on some day of the range, counted once.
        let shown: i64 = days.values().map(|v| parse_int(v)).sum();
        assert_eq!(shown, g.messages.len() as i64, "{tz}");

        let days = custom_days(&app, g.id, "reactions", g.dates).await;
        let truth_days = truth.reactions_per_local_day(&scope, tz);
        for (day, value) in &days {
            assert_eq!(
                parse_int(value),
                truth_days.get(day).copied().unwrap_or(0) as i64,
                "{tz} reactions on {day}"
            );
        }

        let days = custom_days(&app, g.id, "voice", g.dates).await;
        let truth_days = truth.voice_ms_per_local_day(&scope, tz);
        for (day, value) in &days {
            assert_eq!(
                seconds(value) * 1000,
                truth_days.get(day).copied().unwrap_or(0),
                "{tz} voice on {day}"
            );
        }
        let shown: i64 = days.values().map(|v| seconds(v)).sum();
        let total: i64 = g.voice.iter().map(|(from, to)| (to - from) / 1000).sum();
        assert_eq!(shown, total, "{tz}: all voice time is on the range's days");
    }
    app
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn daily_figures_are_exact_in_half_and_three_quarter_hour_zones_across_dst() {
    let app = daily_figures_equal_truth(&guilds(), START, DAYS).await;
    // Moving Kolkata's guild to Berlin leaves its rows on :30 edges, and
    // the answer says what that means.
    let setup = command("setup", vec![string("timezone", "Europe/Berlin")]);
    let answer = final_message(&app, &setup, &admin(1)).await;
    assert_eq!(
        field(&answer, "Earlier data"),
        "Activity recorded before this change stays in Asia/Kolkata's hours, whose edges are 30 minutes off Europe/Berlin's: days and hours before now may be off by up to 30 minutes at their edges. From now on they are exact in Europe/Berlin."
    );
    // A zone with the same edges needs no note.
    let setup = command("setup", vec![string("timezone", "Europe/London")]);
    let answer = final_message(&app, &setup, &admin(1)).await;
    assert!(
        embed(&answer)["fields"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["name"] != "Earlier data"),
        "{:?}",
        answer.message
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lord_howes_spring_change_makes_a_half_hour_bucket_and_exact_days() {
    let d = |day| NaiveDate::from_ymd_opt(2027, 10, day).unwrap();
    // +10:30 until 02:00 on 3 October (15:30Z on the 2nd), then +11: the
    // 3rd has 23½ hours, from 13:30Z on the 2nd to 13:00Z on the 3rd.
    let guild = Guild {
        id: 6,
        tz: chrono_tz::Australia::Lord_Howe,
        dates: (d(2), d(4)),
        messages: vec![
            utc(2027, 10, 2, 13, 29, 59),
            utc(2027, 10, 2, 13, 30, 0),
            utc(2027, 10, 2, 15, 29, 59),
            utc(2027, 10, 2, 15, 30, 0),
            utc(2027, 10, 2, 15, 59, 59),
            utc(2027, 10, 2, 16, 0, 0),
            utc(2027, 10, 3, 12, 59, 59),
            utc(2027, 10, 3, 13, 0, 0),
        ],
        voice: vec![
            (utc(2027, 10, 2, 13, 20, 0), utc(2027, 10, 2, 13, 40, 0)),
            (utc(2027, 10, 2, 15, 20, 0), utc(2027, 10, 2, 16, 10, 0)),
            (utc(2027, 10, 3, 12, 50, 0), utc(2027, 10, 3, 13, 10, 0)),
        ],
        join: utc(2027, 10, 2, 15, 45, 0),
    };
    let app = daily_figures_equal_truth(std::slice::from_ref(&guild), OCTOBER, 5).await;
    // Local 02:30–03:00 is one bucket of 30 minutes (15:30Z–16:00Z), and
    // the voice session in it has all of its 1,800 seconds.
    let mut conn = app.db.pool.acquire().await.unwrap();
    let stored = shared::db::rollups::load_guild(&mut conn, shared::Snowflake(guild.id))
        .await
        .unwrap();
    let mut voice: Vec<(i64, i32)> = stored
        .voice_seconds
        .iter()
        .map(|(key, seconds)| (key.hour.start().timestamp_millis(), *seconds))
        .collect();
    voice.sort();
    assert_eq!(
        voice,
        [
            (utc(2027, 10, 2, 12, 30, 0), 600),
            (utc(2027, 10, 2, 13, 30, 0), 600),
            (utc(2027, 10, 2, 14, 30, 0), 600),
            (utc(2027, 10, 2, 15, 30, 0), 1800),
            (utc(2027, 10, 2, 16, 0, 0), 600),
            (utc(2027, 10, 3, 12, 0, 0), 600),
            (utc(2027, 10, 3, 13, 0, 0), 600),
        ]
    );
}

/// Rankings, active members and a member's interactions over periods of
/// whole local days (read from `member_daily`) and with hourly ends, in
/// Asia/Kolkata and across Lord Howe's autumn change (a 24½-hour day),
/// equal the ground truth; the daily rows the flushes wrote equal a rebuild
/// from the hourly rows, lie on the zone's local midnights, and move to
/// the new zone's days when /setup changes it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rankings_read_whole_local_days_and_equal_truth() {
    use shared::Snowflake;
    use shared::db::analytics::{self, Bots, LeaderboardMetric as Metric, LeaderboardQuery};
    use shared::db::daily;
    use sim_scenario::truth::LeaderboardMetric as TruthMetric;

    let guilds: Vec<Guild> = guilds()
        .into_iter()
        .filter(|g| [1, 4].contains(&g.id))
        .collect();
    let app = daily_figures_equal_truth(&guilds, START, DAYS).await;
    let pool = &app.db.pool;
    let local_day = |at: chrono::DateTime<chrono::Utc>, tz: Tz| {
        serverpulse_web::period::local_midnight(at.with_timezone(&tz).date_naive(), tz)
    };
    for g in &guilds {
        let (_, truth) = script(g, START, DAYS);
        let guild = Snowflake(g.id);
        let (first, last) = g.dates;
        let (day_from, day_to) = (
            midnight(first, g.tz),
            midnight(last.succ_opt().unwrap(), g.tz),
        );
        // Whole days, then the same shifted by an hour (bucket edges in
        // both zones): whole days from member_daily, the ends hourly.
        for (from, to) in [(day_from, day_to), (day_from + H, day_to + H)] {
            let scope = Scope::new(g.id, from, to);
            let (from, to) = (at(from), at(to));
            let (days_from, days_to) = daily::full_days(pool, guild, from, to).await.unwrap();
            assert!(
                from <= days_from && days_from < days_to && days_to <= to,
                "{}",
                g.tz
            );
            for (metric, truth_metric) in [
                (Metric::Messages, TruthMetric::Messages),
                (Metric::VoiceSeconds, TruthMetric::VoiceSeconds),
                (Metric::ReactionsGiven, TruthMetric::ReactionsGiven),
                (Metric::ReactionsReceived, TruthMetric::ReactionsReceived),
            ] {
                let query = LeaderboardQuery {
                    metric,
                    channel: None,
                    limit: 100,
                    offset: 0,
                };
                let board = analytics::leaderboard(pool, guild, from, to, query, Bots::LeftOut)
                    .await
                    .unwrap();
                let shown: Vec<(u64, i64)> =
                    board.rows.iter().map(|r| (r.user_id.0, r.value)).collect();
                let expected: Vec<(u64, i64)> = truth
                    .leaderboard(&scope, truth_metric)
                    .iter()
                    .map(|r| (r.user_id, r.value as i64))
                    .collect();
                assert!(!expected.is_empty(), "{} {metric:?}", g.tz);
                assert_eq!(shown, expected, "{} {metric:?} {from}..{to}", g.tz);
                if metric == Metric::Messages {
                    let top = expected[0];
                    let rank = analytics::member_rank(
                        pool,
                        guild,
                        from,
                        to,
                        Snowflake(top.0),
                        Bots::LeftOut,
                    )
                    .await
                    .unwrap();
                    assert_eq!(rank, Some((1, top.1)), "{}", g.tz);
                }
            }
            let active = analytics::active_members(pool, guild, from, to, Bots::LeftOut)
                .await
                .unwrap();
            assert_eq!(
                active,
                truth.active_members(&scope).len() as i64,
                "{}",
                g.tz
            );
            for user in truth.active_members(&scope) {
                let shown = analytics::member_interactions(pool, guild, from, to, Snowflake(user))
                    .await
                    .unwrap();
                let of = |metric| {
                    truth
                        .leaderboard(&scope, metric)
                        .iter()
                        .find(|r| r.user_id == user)
                        .map_or(0, |r| r.value as i64)
                };
                assert_eq!(shown.voice_seconds, of(TruthMetric::VoiceSeconds), "{user}");
                assert_eq!(
                    shown.reactions_given,
                    of(TruthMetric::ReactionsGiven),
                    "{user}"
                );
                assert_eq!(
                    shown.reactions_received,
                    of(TruthMetric::ReactionsReceived),
                    "{user}"
                );
            }
        }
        // What the flushes wrote is what the hourly rows say, day by local day.
        let stored = daily::member_days(pool, guild).await.unwrap();
        assert!(!stored.is_empty());
        for day in &stored {
            assert_eq!(day.day_start, local_day(day.day_start, g.tz), "{}", g.tz);
            assert_eq!(day.day_end, local_day(day.day_end, g.tz), "{}", g.tz);
        }
        daily::rebuild_all_daily(pool, guild).await.unwrap();
        assert_eq!(
            daily::member_days(pool, guild).await.unwrap(),
            stored,
            "{}",
            g.tz
        );
    }

    // A new zone rebuilds the days in the /setup transaction: Berlin's
    // midnights, every message still counted once.
    let setup = command("setup", vec![string("timezone", "Europe/Berlin")]);
    final_message(&app, &setup, &admin(1)).await;
    let berlin = chrono_tz::Europe::Berlin;
    let moved = daily::member_days(pool, Snowflake(1)).await.unwrap();
    assert!(!moved.is_empty());
    for day in &moved {
        assert_eq!(day.day_start, local_day(day.day_start, berlin));
    }
    let messages: i64 = moved.iter().map(|d| i64::from(d.messages)).sum();
    assert_eq!(messages, guilds[0].messages.len() as i64);
}

/// Channel figures (usage, participation, a member's channels and content,
/// threads, emoji, per-channel leaderboards) and message concentration over
/// periods of whole local days (read from the channel daily tables and
/// `member_daily`) and with hourly ends, in Asia/Kolkata, across St John's
/// 23-hour day and Lord Howe's 24½-hour day, equal the ground truth; the
/// channel daily rows the flushes wrote equal a rebuild from the hourly
/// rows, lie on the zone's local midnights, and move to the new zone's days
/// when /setup changes it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn channel_figures_read_whole_local_days_and_equal_truth() {
    use shared::Snowflake;
    use shared::db::analytics::{self, Bots, LeaderboardMetric as Metric, LeaderboardQuery};
    use shared::db::{channel_daily, daily};
    use sim_scenario::truth::LeaderboardMetric as TruthMetric;

    let guilds: Vec<Guild> = guilds()
        .into_iter()
        .filter(|g| [1, 3, 4].contains(&g.id))
        .collect();
    let app = daily_figures_equal_truth(&guilds, START, DAYS).await;
    let pool = &app.db.pool;
    let local_day = |at: chrono::DateTime<chrono::Utc>, tz: Tz| {
        serverpulse_web::period::local_midnight(at.with_timezone(&tz).date_naive(), tz)
    };
    for g in &guilds {
        let (_, truth) = script(g, START, DAYS);
        let guild = Snowflake(g.id);
        let (text, voice) = (g.id * 100 + 1, g.id * 100 + 2);
        let (first, last) = g.dates;
        let (day_from, day_to) = (
            midnight(first, g.tz),
            midnight(last.succ_opt().unwrap(), g.tz),
        );
        for (from, to) in [(day_from, day_to), (day_from + H, day_to + H)] {
            let scope = Scope::new(g.id, from, to);
            let (from, to) = (at(from), at(to));
            let (days_from, days_to) = daily::full_days(pool, guild, from, to).await.unwrap();
            assert!(days_from < days_to, "{}", g.tz);
            let when = format!("{} {from}..{to}", g.tz);

            let participation =
                analytics::channel_participation(pool, guild, from, to, Bots::LeftOut)
                    .await
                    .unwrap();
            let shown: BTreeMap<u64, (i64, i64, i64, i64, i64)> = participation
                .iter()
                .map(|p| {
                    let figures = (
                        p.messages,
                        p.authors,
                        p.active_members,
                        p.reactions,
                        p.voice_users,
                    );
                    (p.channel_id.0, figures)
                })
                .collect();
            let expected: BTreeMap<u64, (i64, i64, i64, i64, i64)> = truth
                .participation_per_parent(&scope)
                .into_iter()
                .map(|(channel, p)| {
                    let figures = (
                        p.messages as i64,
                        p.authors as i64,
                        p.active_members as i64,
                        p.reactions as i64,
                        p.voice_users as i64,
                    );
                    (channel, figures)
                })
                .collect();
            assert_eq!(expected.len(), 2, "{when}");
            assert_eq!(shown, expected, "{when}");
            // The last active bucket is the stored hourly rows' (in these
            // zones a bucket is a local hour, not the truth's UTC hour).
            let hourly = {
                let mut conn = pool.acquire().await.unwrap();
                shared::db::rollups::load_guild(&mut conn, guild)
                    .await
                    .unwrap()
            };
            let mut last: BTreeMap<u64, chrono::DateTime<chrono::Utc>> = BTreeMap::new();
            let mut seen = |channel: Snowflake, hour: chrono::DateTime<chrono::Utc>| {
                if from <= hour && hour < to {
                    let at = last.entry(channel.0).or_insert(hour);
                    *at = (*at).max(hour);
                }
            };
            for (k, v) in &hourly.messages {
                if v.messages > 0 && v.author_kind == shared::rollup::AuthorKind::Member {
                    seen(v.thread_parent_id.unwrap_or(k.channel_id), k.hour.start());
                }
            }
            for (k, v) in &hourly.reactions {
                if v.added > 0 || v.removed > 0 {
                    seen(k.channel_id, k.hour.start());
                }
            }
            for (k, seconds) in &hourly.voice_seconds {
                if *seconds > 0 {
                    seen(k.channel_id, k.hour.start());
                }
            }
            let shown: BTreeMap<u64, chrono::DateTime<chrono::Utc>> = participation
                .iter()
                .filter_map(|p| Some((p.channel_id.0, p.last_active?)))
                .collect();
            assert_eq!(shown, last, "{when}");

            let usage = analytics::channel_usage(pool, guild, from, to, Bots::LeftOut)
                .await
                .unwrap();
            let shown: BTreeMap<u64, i64> = usage
                .iter()
                .filter(|u| u.messages > 0)
                .map(|u| (u.channel_id.0, u.messages))
                .collect();
            let expected: BTreeMap<u64, i64> = truth
                .messages_per_parent_channel(&scope)
                .into_iter()
                .map(|(c, n)| (c, n as i64))
                .collect();
            assert_eq!(shown, expected, "{when}");

            let content = truth.content_counts(&scope);
            let shown = analytics::member_content(pool, guild, from, to, Bots::LeftOut)
                .await
                .unwrap();
            assert_eq!(
                (shown.attachments, shown.embeds, shown.stickers),
                (
                    content.attachments as i64,
                    content.embeds as i64,
                    content.stickers as i64
                ),
                "{when}"
            );
            let threads = analytics::thread_summary(pool, guild, from, to, Bots::LeftOut)
                .await
                .unwrap();
            assert_eq!(threads.active, truth.active_threads(&scope) as i64);

            for user in truth.messages_per_member(&scope).into_keys() {
                let shown: BTreeMap<u64, i64> = analytics::member_channels(
                    pool,
                    guild,
                    from,
                    to,
                    Snowflake(user),
                    Bots::LeftOut,
                )
                .await
                .unwrap()
                .into_iter()
                .map(|c| (c.channel_id.0, c.messages))
                .collect();
                let expected: BTreeMap<u64, i64> = truth
                    .messages_per_parent_channel(&scope.clone().user(user))
                    .into_iter()
                    .map(|(c, n)| (c, n as i64))
                    .collect();
                assert!(!expected.is_empty());
                assert_eq!(shown, expected, "{when} {user}");
            }

            let emoji = analytics::emoji_usage(pool, guild, from, to, None, Bots::LeftOut)
                .await
                .unwrap();
            let shown: BTreeMap<String, (i64, i64)> = emoji
                .into_iter()
                .map(|e| (e.emoji, (e.added, e.removed)))
                .collect();
            let expected: BTreeMap<String, (i64, i64)> = truth
                .reactions_per_emoji(&scope)
                .into_iter()
                .map(|(e, c)| (e, (c.added as i64, c.removed as i64)))
                .collect();
            assert!(!expected.is_empty(), "{when}");
            assert_eq!(shown, expected, "{when}");

            let concentration =
                analytics::message_concentration(pool, guild, from, to, Bots::LeftOut)
                    .await
                    .unwrap();
            let expected = truth.message_concentration(&scope);
            assert_eq!(
                (
                    concentration.authors,
                    concentration.top_authors,
                    concentration.top_messages,
                    concentration.messages
                ),
                (
                    expected.authors as i64,
                    expected.top_authors as i64,
                    expected.top_messages as i64,
                    expected.messages as i64
                ),
                "{when}"
            );

            for (metric, truth_metric, channel) in [
                (Metric::Messages, TruthMetric::Messages, text),
                (Metric::ReactionsGiven, TruthMetric::ReactionsGiven, text),
                (Metric::VoiceSeconds, TruthMetric::VoiceSeconds, voice),
            ] {
                let query = LeaderboardQuery {
                    metric,
                    channel: Some(Snowflake(channel)),
                    limit: 100,
                    offset: 0,
                };
                let board = analytics::leaderboard(pool, guild, from, to, query, Bots::LeftOut)
                    .await
                    .unwrap();
                let shown: Vec<(u64, i64)> =
                    board.rows.iter().map(|r| (r.user_id.0, r.value)).collect();
                let expected: Vec<(u64, i64)> = truth
                    .leaderboard(&scope.clone().channel(channel), truth_metric)
                    .iter()
                    .map(|r| (r.user_id, r.value as i64))
                    .collect();
                assert!(!expected.is_empty(), "{when} {metric:?}");
                assert_eq!(shown, expected, "{when} {metric:?}");
            }
        }
        // What the flushes wrote is what the hourly rows say, day by local day.
        let mut conn = pool.acquire().await.unwrap();
        let stored = channel_daily::channel_days(&mut conn, guild).await.unwrap();
        assert!(!stored.messages.is_empty() && !stored.reactions.is_empty());
        assert!(!stored.voice.is_empty());
        let starts = stored.messages.iter().map(|d| d.day_start);
        let starts = starts.chain(stored.reactions.iter().map(|d| d.day_start));
        for start in starts.chain(stored.voice.iter().map(|d| d.day_start)) {
            assert_eq!(start, local_day(start, g.tz), "{}", g.tz);
        }
        daily::rebuild_all_daily(&mut *conn, guild).await.unwrap();
        assert_eq!(
            channel_daily::channel_days(&mut conn, guild).await.unwrap(),
            stored,
            "{}",
            g.tz
        );
    }

    // A new zone rebuilds the channel days in the /setup transaction:
    // Berlin's midnights, every message still counted once.
    let setup = command("setup", vec![string("timezone", "Europe/Berlin")]);
    final_message(&app, &setup, &admin(1)).await;
    let berlin = chrono_tz::Europe::Berlin;
    let mut conn = pool.acquire().await.unwrap();
    let moved = channel_daily::channel_days(&mut conn, Snowflake(1))
        .await
        .unwrap();
    assert!(!moved.messages.is_empty());
    for day in &moved.messages {
        assert_eq!(day.day_start, local_day(day.day_start, berlin));
    }
    let messages: i64 = moved.messages.iter().map(|d| i64::from(d.messages)).sum();
    assert_eq!(messages, guilds[0].messages.len() as i64);
}
