//! History on day one: a 30-day scenario whose first 20 days are history
//! (before the bot "joined", `tracking_since`) and whose last 10 are lived
//! through by the real ingester. `/backfill start` imports the history
//! through the simulator's REST API with Discord's limits on, read at the
//! scenario's end as Discord would serve it then: messages posted live
//! after tracking began are in it too (and counted once), a channel
//! deleted since answers 404. The stored rollups then equal the ground
//! truth of the whole period for every figure history can tell, also after
//! a worker killed midway and restarted; a channel without Read Message
//! History is reported and skipped; commands answer while the import runs.
//! A guild the ingester never saw (an empty catalogue) finds its channels
//! and threads, private archived ones included, through REST.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use common::at;
use common::{App, admin, command, content, field, final_message, sub};
use discord_sim::{CommandOption, OptionValue, RestFault};
use serverpulse_testkit::seed::{author_kind, hour};
use serverpulse_web::backfill::BackfillWorker;
use serverpulse_web::delivery::Poster;
use shared::Snowflake;
use shared::config::Secret;
use shared::rollup::MessageCounts;
use shared::time::Hour;
use sim_scenario::truth::{DAY_MS, GroundTruth, Scope};
use sim_scenario::{ScenarioSize, generate_from};
use tokio_util::sync::CancellationToken;

/// 2026-10-01T00:00:00Z.
const START_MS: i64 = 1_790_812_800_000;
const SIZE: ScenarioSize = ScenarioSize {
    guilds: 1,
    members_per_guild: 30,
    days: 30,
    messages_per_member_day: 3.0,
};
/// Days of history before tracking began.
const HISTORY_DAYS: i64 = 20;
const HISTORY_ROUTE: &str = "GET /channels/{channel_id}/messages";

struct Setup {
    app: App,
    truth: GroundTruth,
    guild: u64,
    /// `tracking_since`: history before, live after.
    cut_ms: i64,
    /// The channel the bot may not read.
    denied: u64,
    /// A channel with history before the cut, deleted after it (before the
    /// import reads it).
    deleted: u64,
}

/// The app, the simulator serving the scenario (history as it stands at
/// the end, when the import runs), tracking since the cut, the live part
/// ingested by the real ingester, and one channel without Read Message
/// History.
async fn setup() -> Setup {
    let (scenario, truth) = generate_from(18, SIZE, START_MS);
    let guild = truth.guild_ids[0];
    let cut_ms = START_MS + HISTORY_DAYS * DAY_MS;
    let end = at(truth.end_ms);
    let app = common::start_app_serving(end, scenario).await;
    common::enable_tracking(&app, guild, "UTC").await;
    app.db
        .set_tracking_since(Snowflake(guild), at(cut_ms))
        .await;
    // The text or voice channel without threads with the most history.
    let parents: BTreeSet<u64> = truth.threads.iter().map(|t| t.parent_id).collect();
    let mut before: BTreeMap<u64, usize> = BTreeMap::new();
    for m in truth
        .messages
        .iter()
        .filter(|m| m.at_ms < cut_ms && m.thread_parent_id.is_none())
    {
        *before.entry(m.channel_id).or_default() += 1;
    }
    let denied = truth
        .channels
        .iter()
        .filter(|c| {
            matches!(c.kind, 0 | 2) && !parents.contains(&c.channel_id) && c.deleted_ms.is_none()
        })
        .max_by_key(|c| {
            (
                before.get(&c.channel_id).copied().unwrap_or(0),
                c.channel_id,
            )
        })
        .expect("a channel without threads")
        .channel_id;
    assert!(
        before.get(&denied).copied().unwrap_or(0) > 0,
        "the denied channel has history"
    );
    app.sim.rest.deny_history(denied);
    let deleted = truth
        .channels
        .iter()
        .find(|c| {
            c.deleted_ms.is_some_and(|d| d > cut_ms)
                && before.get(&c.channel_id).copied().unwrap_or(0) > 0
        })
        .expect("a channel with history deleted after the cut")
        .channel_id;
    common::ingest_everything(&app, Duration::from_secs(120)).await;
    Setup {
        app,
        truth,
        guild,
        cut_ms,
        denied,
        deleted,
    }
}

fn backfill(sub_name: &str, options: Vec<CommandOption>) -> discord_sim::InteractionKind {
    command("backfill", vec![sub(sub_name, options)])
}

fn worker(s: &Setup, lease: chrono::Duration) -> BackfillWorker {
    let poster = Poster::new(&s.app.sim.rest.api_url(), Secret::new(common::TOKEN));
    let mut worker = BackfillWorker::new(s.app.db.pool.clone(), poster);
    worker.lease = lease;
    worker.interval = Duration::from_millis(200);
    worker
}

async fn job_state(s: &Setup) -> String {
    shared::db::backfill::job(&s.app.db.pool, Snowflake(s.guild))
        .await
        .expect("read the job")
        .expect("a job")
        .state
}

/// Runs rounds until the job is done (bounded).
async fn run_to_the_end(s: &Setup, worker: &BackfillWorker) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    while job_state(s).await != "done" {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the import did not finish"
        );
        if let Err(error) = worker.round(&CancellationToken::new()).await {
            eprintln!("round failed (retried): {error}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn start_import(s: &Setup) {
    let days = CommandOption::new("days", OptionValue::Integer(HISTORY_DAYS));
    let answer = final_message(&s.app, &backfill("start", vec![days]), &admin(s.guild)).await;
    assert!(
        content(&answer).starts_with("Importing history from"),
        "{}",
        content(&answer)
    );
}

/// Every stored figure history can tell equals the truth over the whole
/// 30 days: messages per hour, channel and author (content types too),
/// the guild's hourly message totals; for the imported 20 days the
/// reactions per hour, channel, author and emoji (as received, from an
/// unknown giver) and the joins of the members present at the cut.
/// Members' messages (bots and webhooks left out, as the overview counts
/// by default) that history shows in the readable channels before the cut,
/// plus those the ingester lived through after it.
fn member_messages_imported_or_live(s: &Setup) -> i64 {
    let t = &s.truth;
    let member = |m: &&sim_scenario::truth::MessageFact| {
        m.author_kind == sim_scenario::truth::AuthorKind::Member
    };
    let history = t
        .history_messages(
            &Scope::new(s.guild, t.start_ms, s.cut_ms).including_bots(),
            t.end_ms,
        )
        .into_iter()
        .filter(|m| m.channel_id != s.denied)
        .filter(member)
        .count();
    let live = t
        .messages
        .iter()
        .filter(|m| m.guild_id == s.guild && m.at_ms >= s.cut_ms && m.at_ms < t.end_ms)
        .filter(member)
        .count();
    (history + live) as i64
}

async fn assert_equals_truth(s: &Setup) {
    let t = &s.truth;
    let g = Snowflake(s.guild);
    let stored = shared::db::rollups::load_guild(&mut s.app.db.pool.acquire().await.unwrap(), g)
        .await
        .expect("load the rollups");
    let readable = |m: &&sim_scenario::truth::MessageFact| m.channel_id != s.denied;
    // History as the import read it, at the end: what was deleted since
    // the cut (messages, a whole channel) is not in it.
    let history: Vec<_> = t
        .history_messages(
            &Scope::new(s.guild, t.start_ms, s.cut_ms).including_bots(),
            t.end_ms,
        )
        .into_iter()
        .filter(readable)
        .collect();
    let live: Vec<_> = t
        .messages
        .iter()
        .filter(|m| m.guild_id == s.guild && m.at_ms >= s.cut_ms && m.at_ms < t.end_ms)
        .collect();
    let mut expected: BTreeMap<(Hour, u64, u64), MessageCounts> = BTreeMap::new();
    for m in history.iter().chain(&live) {
        let row = expected
            .entry((hour(m.at_ms), m.channel_id, m.author_id))
            .or_insert_with(|| MessageCounts {
                thread_parent_id: m.thread_parent_id.map(Snowflake),
                author_kind: author_kind(m.author_kind),
                ..MessageCounts::default()
            });
        row.messages += 1;
        row.stickers += m.stickers as i32;
    }
    let got: BTreeMap<(Hour, u64, u64), MessageCounts> = stored
        .messages
        .iter()
        .map(|(k, v)| ((k.hour, k.channel_id.0, k.author_id.0), *v))
        .collect();
    if got != expected {
        let mut missing: BTreeMap<u64, (usize, usize)> = BTreeMap::new();
        for k in expected.keys() {
            if !got.contains_key(k) {
                missing.entry(k.1).or_default().0 += 1;
            }
        }
        for k in got.keys() {
            if !expected.contains_key(k) {
                missing.entry(k.1).or_default().1 += 1;
            }
        }
        let rows = shared::db::backfill::channels(&s.app.db.pool, g)
            .await
            .unwrap();
        for (c, (m, extra)) in &missing {
            let fact = t.channels.iter().find(|f| f.channel_id == *c);
            let thread = t.threads.iter().find(|f| f.thread_id == *c);
            eprintln!(
                "channel {c}: {m} missing, {extra} extra; fact {fact:?}; thread {thread:?}; row {:?}",
                rows.iter().find(|r| r.channel_id.0 == *c)
            );
        }
    }
    assert_eq!(got.len(), expected.len(), "message rows");
    assert_eq!(got, expected, "messages per hour, channel and author");
    assert!(
        history.len() > 1000,
        "the history is more than a few pages: {}",
        history.len()
    );

    // Hourly totals: every message once, whichever path it came by.
    let mut per_hour: BTreeMap<Hour, (i32, i32, i32)> = BTreeMap::new();
    for m in history.iter().chain(&live) {
        let h = per_hour.entry(hour(m.at_ms)).or_default();
        h.0 += 1;
        h.1 += i32::from(m.author_kind == sim_scenario::truth::AuthorKind::Member);
        h.2 += i32::from(m.thread_parent_id.is_some());
    }
    let stored_hours: BTreeMap<Hour, (i32, i32, i32)> = stored
        .guild_hourly
        .iter()
        .filter(|(_, v)| v.messages > 0)
        .map(|(k, v)| (k.hour, (v.messages, v.member_messages, v.thread_messages)))
        .collect();
    assert_eq!(stored_hours, per_hour, "messages per hour in guild_hourly");

    // Reactions of the history: per message, as they stood when tracking
    // began (the truth's adds less removes before the cut), received by
    // its author. History read at the end shows the reactions given and
    // taken back since as well; live ingestion counted those in their own
    // hours, so the import leaves them out.
    let authors: BTreeMap<u64, &sim_scenario::truth::MessageFact> =
        history.iter().map(|m| (m.message_id, *m)).collect();
    let mut reactions: BTreeMap<(Hour, u64, u64, String), i32> = BTreeMap::new();
    for r in t
        .reactions
        .iter()
        .filter(|r| r.guild_id == s.guild && r.at_ms < s.cut_ms)
    {
        if let Some(m) = authors.get(&r.message_id) {
            *reactions
                .entry((hour(m.at_ms), m.channel_id, m.author_id, r.emoji.clone()))
                .or_default() += if r.added { 1 } else { -1 };
        }
    }
    reactions.retain(|_, n| *n != 0);
    // The case this guards: reactions given live to messages posted before
    // the cut, which history's totals at the end include.
    let live_on_history = t
        .reactions
        .iter()
        .filter(|r| r.guild_id == s.guild && r.at_ms >= s.cut_ms && r.added)
        .filter(|r| authors.contains_key(&r.message_id))
        .count();
    assert!(
        live_on_history > 0,
        "the scenario gives reactions live to messages of the history"
    );
    let stored_reactions: BTreeMap<(Hour, u64, u64, String), i32> = stored
        .reactions
        .iter()
        .filter(|(k, _)| k.user_id == shared::backfill::UNKNOWN_REACTOR)
        .map(|(k, v)| {
            (
                (k.hour, k.channel_id.0, k.receiver_id.0, k.emoji.clone()),
                v.added,
            )
        })
        .collect();
    assert!(!reactions.is_empty());
    assert_eq!(
        stored_reactions, reactions,
        "history's reactions as received"
    );
    let history_hours: BTreeMap<Hour, i32> =
        reactions
            .iter()
            .fold(BTreeMap::new(), |mut acc, ((h, ..), n)| {
                *acc.entry(*h).or_default() += n;
                acc
            });
    for (h, n) in &history_hours {
        let row = stored.guild_hourly[&shared::rollup::GuildHourKey {
            guild_id: g,
            hour: *h,
        }];
        assert_eq!(row.reactions_added, *n, "reactions added in {h:?}");
    }
    // Every reaction given after the cut counted once, live, in its hour
    // (those to messages of the history included).
    let live_added = t
        .reactions
        .iter()
        .filter(|r| r.guild_id == s.guild && r.at_ms >= s.cut_ms && r.at_ms < t.end_ms && r.added)
        .count() as i64;
    let stored_live_added: i64 = stored
        .guild_hourly
        .iter()
        .filter(|(k, _)| k.hour.start().timestamp_millis() >= s.cut_ms)
        .map(|(_, v)| i64::from(v.reactions_added))
        .sum();
    assert_eq!(
        stored_live_added, live_added,
        "reactions added after the cut"
    );

    // Joins before the cut of the members present when the import read
    // the member list, from their joined_at.
    let mut joins: BTreeMap<Hour, (i32, i32)> = BTreeMap::new();
    for m in t.members_at(s.guild, t.end_ms) {
        if m.joined_ms >= t.start_ms && m.joined_ms < s.cut_ms {
            let j = joins.entry(hour(m.joined_ms)).or_default();
            j.0 += 1;
            j.1 += i32::from(m.is_bot);
        }
    }
    let stored_joins: BTreeMap<Hour, (i32, i32)> = stored
        .guild_hourly
        .iter()
        .filter(|(k, v)| k.hour.start().timestamp_millis() < s.cut_ms && v.joins > 0)
        .map(|(k, v)| (k.hour, (v.joins, v.bot_joins)))
        .collect();
    assert!(!joins.is_empty());
    assert_eq!(stored_joins, joins, "joins before the cut");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_and_live_meet_exactly_and_commands_answer_meanwhile() {
    let s = setup().await;
    let guild = s.guild;
    start_import(&s).await;
    // The first history reads meet 429s (Discord's limits on), so the
    // import is still running while the commands below are answered.
    s.app
        .sim
        .rest
        .inject_fault(RestFault::rate_limited(HISTORY_ROUTE, 1.0, 2));
    let worker = worker(&s, chrono::Duration::minutes(2));
    let stop = CancellationToken::new();
    let running = {
        let worker = worker.clone();
        let stop = stop.clone();
        tokio::spawn(async move { worker.round(&stop).await })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(job_state(&s).await, "running");
    // The last day is live only: the overview equals the truth's.
    let overview = command(
        "serverstats",
        vec![sub("overview", vec![common::string("timeframe", "24h")])],
    );
    let answer = final_message(&s.app, &overview, &admin(guild)).await;
    let day = Scope::new(guild, s.truth.end_ms - DAY_MS, s.truth.end_ms);
    assert_eq!(
        common::figure(field(&answer, "Messages")).0,
        s.truth.messages_total(&day) as i64
    );
    // An answer kept in the cache during the import ...
    let all_time = command(
        "serverstats",
        vec![sub("overview", vec![common::string("timeframe", "all")])],
    );
    let during = final_message(&s.app, &all_time, &admin(guild)).await;
    let during = common::figure(field(&during, "Messages")).0;
    let status = final_message(&s.app, &backfill("status", vec![]), &admin(guild)).await;
    assert!(
        common::description(&status).contains('%'),
        "{}",
        common::description(&status)
    );
    assert_eq!(
        job_state(&s).await,
        "running",
        "the commands were answered during the import"
    );
    running.await.expect("round task").expect("round");
    run_to_the_end(&s, &worker).await;
    assert_equals_truth(&s).await;
    // ... is not served once the import wrote more: the same question now
    // counts every member message imported or lived through.
    let after = final_message(&s.app, &all_time, &admin(guild)).await;
    let expected = member_messages_imported_or_live(&s);
    assert!(during < expected, "{during} during the import");
    assert_eq!(common::figure(field(&after, "Messages")).0, expected);

    // Reported and skipped: the channel without Read Message History was
    // asked once (its archived threads or its messages, whichever came
    // first), and status says why; so was the channel deleted since the
    // cut (Discord answers 404 Unknown Channel).
    let status = final_message(&s.app, &backfill("status", vec![]), &admin(guild)).await;
    // What history cannot tell, in the words of every report.
    assert!(
        field(&status, "📥 Imported history").contains("bots' reactions included"),
        "the status's imported-history note"
    );
    let refused = field(&status, "Could not be read (skipped)");
    assert!(
        refused.contains(&format!("<#{}>: Missing Access", s.denied)),
        "{refused}"
    );
    assert!(
        refused.contains(&format!(
            "<#{}>: Unknown Channel: it no longer exists",
            s.deleted
        )),
        "{refused}"
    );
    let asked = s
        .app
        .sim
        .rest
        .requests()
        .iter()
        .filter(|r| r.path.contains(&format!("/channels/{}/", s.denied)))
        .count();
    assert_eq!(asked, 1, "a refused channel is not asked again");
    assert!(
        common::description(&status).contains("100%"),
        "{}",
        common::description(&status)
    );
    // Asking again for the same days imports nothing twice.
    let again = CommandOption::new("days", OptionValue::Integer(HISTORY_DAYS));
    let answer = final_message(&s.app, &backfill("start", vec![again]), &admin(guild)).await;
    assert!(
        content(&answer).contains("imported already"),
        "{}",
        content(&answer)
    );
    // Days beyond the retention window are refused, saying why.
    let too_many = CommandOption::new("days", OptionValue::Integer(1000));
    let answer = final_message(&s.app, &backfill("start", vec![too_many]), &admin(guild)).await;
    assert!(
        content(&answer).contains("between 1 and 90") && answer.ephemeral(),
        "{}",
        answer.message
    );
    // Members without Manage Server may not start one.
    let member = discord_sim::Invoker::member(guild, guild + 7);
    let refusal = final_message(&s.app, &backfill("cancel", vec![]), &member).await;
    assert!(
        content(&refusal).contains("Manage Server"),
        "{}",
        content(&refusal)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_killed_midway_resumes_from_its_cursors() {
    let s = setup().await;
    start_import(&s).await;
    // The busiest readable channel waits on 429s, so the others commit
    // pages while it has not finished.
    let busiest = s
        .truth
        .messages
        .iter()
        .filter(|m| m.at_ms < s.cut_ms && m.channel_id != s.denied)
        .fold(BTreeMap::<u64, usize>::new(), |mut acc, m| {
            *acc.entry(m.channel_id).or_default() += 1;
            acc
        })
        .into_iter()
        .max_by_key(|(c, n)| (*n, *c))
        .expect("a channel")
        .0;
    s.app
        .sim
        .rest
        .inject_fault(RestFault::rate_limited(HISTORY_ROUTE, 1.5, 3).in_channel(busiest));
    let lease = chrono::Duration::seconds(3);
    let first = worker(&s, lease);
    let killed = tokio::spawn(async move { first.round(&CancellationToken::new()).await });
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let pages: i32 = shared::db::backfill::channels(&s.app.db.pool, Snowflake(s.guild))
            .await
            .expect("channels")
            .iter()
            .map(|c| c.pages)
            .sum();
        if pages >= 2 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no page was imported"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    killed.abort();
    let _ = killed.await;
    assert_eq!(job_state(&s).await, "running", "killed before the end");
    // A new worker claims the job once the dead one's lease ran out.
    run_to_the_end(&s, &worker(&s, lease)).await;
    assert_equals_truth(&s).await;
}

/// A guild the ingester never saw: its catalogue is empty, tracking began
/// a day before the scenario's end, and the import finds every channel and thread
/// through REST (`/guilds/{id}/channels`, `/threads/active`, the archived
/// listings). In `general` the bot lacks Manage Threads: the private
/// archived listing answers 403 50013, so only the private thread it
/// joined (listed by `/users/@me/threads/archived/private`) is read; in
/// the other text channels every private archived thread is. The
/// imported messages equal the truth's history of what could be read,
/// the catalogue holds the channels with the privacy live ingestion gives
/// them, and every report, digest and export of imported days says what
/// history cannot tell.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guild_the_ingester_never_saw_imports_its_history_through_rest() {
    let size = ScenarioSize {
        guilds: 1,
        members_per_guild: 20,
        days: 10,
        messages_per_member_day: 3.0,
    };
    // Seed 12: two archived private threads with messages in `general`,
    // one in another text channel.
    let (scenario, truth) = generate_from(12, size, START_MS);
    let guild = truth.guild_ids[0];
    let end = truth.end_ms;
    let until = end - DAY_MS;
    let app = common::start_app_serving(at(end), scenario).await;
    common::enable_tracking(&app, guild, "UTC").await;
    app.db.set_tracking_since(Snowflake(guild), at(until)).await;
    let g = Snowflake(guild);
    assert!(
        shared::db::catalogue::channels_of(&app.db.pool, &[g])
            .await
            .unwrap()
            .is_empty(),
        "the ingester never ran"
    );
    let general = truth
        .channels
        .iter()
        .find(|c| c.guild_id == guild && c.name == "general")
        .expect("general")
        .channel_id;
    let has_messages = |id: u64| truth.messages.iter().any(|m| m.channel_id == id);
    let private: Vec<&sim_scenario::truth::ThreadFact> = truth
        .threads
        .iter()
        .filter(|t| t.kind == 12 && t.archived_ms.is_some() && has_messages(t.thread_id))
        .collect();
    let in_general: Vec<u64> = private
        .iter()
        .filter(|t| t.parent_id == general)
        .map(|t| t.thread_id)
        .collect();
    assert_eq!(
        in_general.len(),
        2,
        "two private archived threads in general"
    );
    assert!(
        private.iter().any(|t| t.parent_id != general),
        "a private archived thread elsewhere"
    );
    let (joined, hidden) = (in_general[0], in_general[1]);
    app.sim.rest.deny_manage_threads(general);
    app.sim.rest.join_thread(joined);

    let days = CommandOption::new("days", OptionValue::Integer(i64::from(size.days)));
    let answer = final_message(&app, &backfill("start", vec![days]), &admin(guild)).await;
    assert!(
        content(&answer).starts_with("Importing history from"),
        "{}",
        content(&answer)
    );
    let poster = Poster::new(&app.sim.rest.api_url(), Secret::new(common::TOKEN));
    let mut worker = BackfillWorker::new(app.db.pool.clone(), poster);
    worker.interval = Duration::from_millis(200);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    loop {
        let job = shared::db::backfill::job(&app.db.pool, g)
            .await
            .unwrap()
            .expect("a job");
        if job.state == "done" {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the import did not finish"
        );
        if let Err(error) = worker.round(&CancellationToken::new()).await {
            eprintln!("round failed (retried): {error}");
        }
    }

    // Messages per hour, channel and author: the truth's history, less the
    // private thread the bot can neither list nor read.
    let history: Vec<_> = truth
        .history_messages(
            &Scope::new(guild, truth.start_ms, until).including_bots(),
            end,
        )
        .into_iter()
        .filter(|m| m.channel_id != hidden)
        .collect();
    let mut expected: BTreeMap<(Hour, u64, u64), i32> = BTreeMap::new();
    for m in &history {
        *expected
            .entry((hour(m.at_ms), m.channel_id, m.author_id))
            .or_default() += 1;
    }
    let stored = shared::db::rollups::load_guild(&mut app.db.pool.acquire().await.unwrap(), g)
        .await
        .expect("load the rollups");
    let got: BTreeMap<(Hour, u64, u64), i32> = stored
        .messages
        .iter()
        .map(|(k, v)| ((k.hour, k.channel_id.0, k.author_id.0), v.messages))
        .collect();
    assert_eq!(got, expected, "messages per hour, channel and author");
    let channels_with = |id: u64| got.keys().any(|k| k.1 == id);
    assert!(
        channels_with(joined),
        "the joined private thread is imported"
    );
    for t in private.iter().filter(|t| t.parent_id != general) {
        assert!(channels_with(t.thread_id), "private thread {}", t.thread_id);
    }
    // The private listing was refused once in general, then the joined
    // listing asked instead; the hidden thread was never asked.
    let requests = app.sim.rest.requests();
    let asked = |path: &str| requests.iter().filter(|r| r.path.ends_with(path)).count();
    assert_eq!(
        asked(&format!("/channels/{general}/threads/archived/private")),
        1
    );
    assert_eq!(
        asked(&format!(
            "/channels/{general}/users/@me/threads/archived/private"
        )),
        1
    );
    assert!(
        !requests
            .iter()
            .any(|r| r.path.contains(&hidden.to_string()))
    );

    // The catalogue now holds what REST listed, private as live ingestion
    // decides it: the truth's private channels and threads, less the
    // hidden thread.
    let private_now: BTreeSet<u64> = shared::db::catalogue::private_channels(&app.db.pool, g)
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.0)
        .collect();
    let private_truth: BTreeSet<u64> = truth
        .private_channels(guild)
        .into_iter()
        .filter(|c| c.deleted_ms.is_none() && c.channel_id != hidden)
        .map(|c| c.channel_id)
        .collect();
    assert!(private_truth.len() > 2, "{private_truth:?}");
    assert_eq!(private_now, private_truth, "private channels and threads");

    // What history cannot tell is said wherever imported days show.
    let overview = command(
        "serverstats",
        vec![sub("overview", vec![common::string("timeframe", "7d")])],
    );
    let answer = final_message(&app, &overview, &admin(guild)).await;
    let note = field(&answer, "📥 Imported history");
    assert!(note.contains("bots' reactions included"), "{note}");
    assert!(note.contains("join cohorts start at"), "{note}");
    let retention = command(
        "serverstats",
        vec![sub(
            "members",
            vec![
                common::string("category", "retention"),
                common::string("timeframe", "7d"),
            ],
        )],
    );
    let answer = final_message(&app, &retention, &admin(guild)).await;
    assert!(
        field(&answer, "Cohorts").starts_with(&format!("Cohorts start at <t:{}:f>", until / 1000)),
        "{}",
        field(&answer, "Cohorts")
    );
    let export = command(
        "export-report",
        vec![
            common::string("format", "json"),
            common::string("timeframe", "7d"),
        ],
    );
    let answer = final_message(&app, &export, &admin(guild)).await;
    assert!(
        content(&answer).contains("📥 Imported history: Before"),
        "{}",
        content(&answer)
    );
    let json_file: serde_json::Value =
        serde_json::from_slice(&answer.files.first().expect("the JSON file").bytes()).unwrap();
    let json_note = json_file["imported_history"]
        .as_str()
        .expect("the JSON export's note")
        .to_owned();
    // The CSV file says it too, in its last column (the same words).
    for what in ["overview", "daily"] {
        let export = command(
            "export-report",
            vec![
                common::string("format", "csv"),
                common::string("timeframe", "7d"),
                common::string("what", what),
            ],
        );
        let answer = final_message(&app, &export, &admin(guild)).await;
        let csv = String::from_utf8(answer.files.first().expect("the CSV file").bytes()).unwrap();
        let mut lines = csv.lines();
        assert!(
            lines.next().unwrap().ends_with(",imported_history"),
            "{csv}"
        );
        let quoted = format!(",\"{}\"", json_note.replace('"', "\"\""));
        let rows: Vec<&str> = lines.collect();
        assert!(!rows.is_empty());
        for row in rows {
            assert!(row.ends_with(&quoted), "{what}: {row}");
        }
    }
    let mut conn = app.db.pool.acquire().await.unwrap();
    let period = serverpulse_web::digest::schedule::DigestPeriod {
        frequency: shared::db::digest_settings::DigestFrequency::Weekly,
        from: at(end - 7 * DAY_MS),
        to: at(end),
        scheduled_at: at(end),
    };
    let previous = serverpulse_web::digest::schedule::DigestPeriod {
        from: at(end - 14 * DAY_MS),
        to: at(end - 7 * DAY_MS),
        ..period
    };
    let figures = serverpulse_web::digest::render::gather(
        &mut conn,
        g,
        period,
        previous,
        chrono_tz::UTC,
        false,
        shared::db::analytics::Bots::LeftOut,
    )
    .await
    .unwrap();
    assert_eq!(figures.imported_until, Some(at(until)));
    let message = serverpulse_web::digest::render::message(&figures, None);
    assert!(
        message.embeds[0]
            .fields
            .iter()
            .any(|(name, value, _)| name == "📥 Imported history"
                && value.contains("bots' reactions included")),
        "the digest says it"
    );
    // The Pulse Report of the same week.
    let pulse = serverpulse_web::pulse::PulseFigures::load_period(
        &mut conn,
        g,
        chrono_tz::UTC,
        at(end - 7 * DAY_MS),
        at(end),
        at(end),
    )
    .await
    .unwrap();
    assert_eq!(pulse.imported_until, Some(at(until)));
    let text = serverpulse_web::pulse::builtin::write(&pulse);
    let message = serverpulse_web::pulse::message(&pulse, &text);
    assert!(
        message.embeds[0]
            .fields
            .iter()
            .any(|(name, value, _)| name == "📥 Imported history"
                && value.contains("bots' reactions included")),
        "the Pulse Report says it"
    );
    let link = common::dashboard::link_for(&app, &admin(guild)).await;
    let client = common::dashboard::client();
    let cookie = common::dashboard::open_session(&client, &link).await;
    let (_, html) = common::dashboard::get(
        &client,
        &app,
        &format!("/g/{guild}/members?period=7d"),
        &cookie,
    )
    .await;
    assert!(html.contains("📥 Imported history: Before"), "{html}");
    assert!(html.contains("Cohorts start at"), "the dashboard's cohorts");
}

/// A guild the ingester never saw, whose @everyone role may not view
/// channels (no View Channel): the import reads the guild's roles (`GET
/// /guilds/{id}/roles`), so a channel it adds without an @everyone
/// overwrite is private, as live ingestion decides once it has seen them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_reads_the_everyone_role_for_the_channels_it_adds() {
    let size = ScenarioSize {
        guilds: 1,
        members_per_guild: 8,
        days: 3,
        messages_per_member_day: 1.0,
    };
    let (scenario, truth) = generate_from(12, size, START_MS);
    let guild = truth.guild_ids[0];
    let end = truth.end_ms;
    let app = common::start_app_serving(at(end), scenario).await;
    common::enable_tracking(&app, guild, "UTC").await;
    app.db
        .set_tracking_since(Snowflake(guild), at(end - DAY_MS))
        .await;
    let g = Snowflake(guild);
    // The scenario's @everyone permissions, less View Channel (1 << 10).
    let without_view: u64 = 1_071_698_660_929 & !(1 << 10);
    app.sim.rest.set_everyone_permissions(guild, without_view);
    let general = truth
        .channels
        .iter()
        .find(|c| c.guild_id == guild && c.name == "general")
        .expect("general")
        .channel_id;
    let days = CommandOption::new("days", OptionValue::Integer(2));
    let answer = final_message(&app, &backfill("start", vec![days]), &admin(guild)).await;
    assert!(
        content(&answer).starts_with("Importing history from"),
        "{}",
        content(&answer)
    );
    let poster = Poster::new(&app.sim.rest.api_url(), Secret::new(common::TOKEN));
    let worker = BackfillWorker::new(app.db.pool.clone(), poster);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    while shared::db::backfill::job(&app.db.pool, g)
        .await
        .unwrap()
        .expect("a job")
        .state
        != "done"
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the import did not finish"
        );
        if let Err(error) = worker.round(&CancellationToken::new()).await {
            eprintln!("round failed (retried): {error}");
        }
    }
    let guilds = shared::db::catalogue::guilds(&app.db.pool).await.unwrap();
    let row = guilds
        .iter()
        .find(|r| r.guild_id == g)
        .expect("the guild's row");
    assert_eq!(row.everyone_permissions, Some(without_view as i64));
    let private = shared::db::catalogue::private_channels(&app.db.pool, g)
        .await
        .unwrap();
    assert!(
        private.contains(&Snowflake(general)),
        "general has no @everyone overwrite: private by the role alone ({private:?})"
    );
}

/// A member who chose `/privacy delete` before the import gets no
/// per-member row from imported history either (the import applies the
/// opt-outs as the ingester's flush does), while their messages still
/// count in the guild's hourly totals.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_leaves_out_members_who_chose_privacy_delete() {
    let s = setup().await;
    let t = &s.truth;
    let mut history_by_author: BTreeMap<u64, usize> = BTreeMap::new();
    for m in t
        .history_messages(&Scope::new(s.guild, t.start_ms, s.cut_ms), t.end_ms)
        .into_iter()
        .filter(|m| m.channel_id != s.denied)
    {
        *history_by_author.entry(m.author_id).or_default() += 1;
    }
    let (&erased, &their_history) = history_by_author
        .iter()
        .max_by_key(|(author, count)| (**count, **author))
        .expect("a member with history");
    let invoker = discord_sim::Invoker {
        user_id: erased,
        ..discord_sim::Invoker::member(s.guild, s.guild + 1)
    };
    let answer = final_message(
        &s.app,
        &command("privacy", vec![sub("delete", vec![])]),
        &invoker,
    )
    .await;
    assert!(content(&answer).starts_with("Done"), "{}", content(&answer));

    start_import(&s).await;
    run_to_the_end(&s, &worker(&s, chrono::Duration::minutes(5))).await;
    let g = Snowflake(s.guild);
    assert_eq!(
        shared::testing::columns_holding_user(&s.app.db.pool, g, Snowflake(erased)).await,
        Vec::<String>::new(),
        "no column holds the member who chose /privacy delete after the import"
    );
    let (hourly, per_member): (i64, i64) = sqlx::query_as(
        "select (select coalesce(sum(member_messages), 0) from guild_hourly where guild_id = $1),
                (select coalesce(sum(messages), 0) from message_rollup
                  where guild_id = $1 and author_kind = 0)",
    )
    .bind(g)
    .fetch_one(&s.app.db.pool)
    .await
    .unwrap();
    assert_eq!(
        hourly,
        member_messages_imported_or_live(&s),
        "the guild's totals count every member's messages"
    );
    assert!(
        hourly - per_member >= their_history as i64,
        "their {their_history} imported messages are in the totals, not per member ({hourly} vs {per_member})"
    );
}
