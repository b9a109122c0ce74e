//! Message history as the simulator serves it equals what the scenario's
//! ground truth says history shows at the chosen instant: paging with
//! `before` from the newest message reads every message not deleted by
//! then, newest first; `after` and `around` pick the messages Discord
//! would; reactions are totals; bad queries, denied channels and the
//! global limit answer as Discord does.

use std::collections::BTreeMap;

use discord_sim::{SimConfig, SimHandle};
use serde_json::Value;
use sim_scenario::truth::{DAY_MS, Scope};
use sim_scenario::{ScenarioSize, generate};

const TOKEN: &str = "history-test-token";

async fn get(sim: &SimHandle, path: &str) -> (u16, Value) {
    let response = reqwest::Client::new()
        .get(format!("{}/{path}", sim.rest.api_url()))
        .header("Authorization", format!("Bot {TOKEN}"))
        .send()
        .await
        .expect("request");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

fn ids(page: &Value) -> Vec<u64> {
    page.as_array()
        .expect("an array of messages")
        .iter()
        .map(|m| m["id"].as_str().unwrap().parse().unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_pages_equal_the_truth_at_the_instant() {
    let size = ScenarioSize {
        guilds: 1,
        members_per_guild: 30,
        days: 6,
        messages_per_member_day: 4.0,
    };
    let (scenario, truth) = generate(5, size);
    let guild = truth.guild_ids[0];
    let cut = truth.start_ms + 4 * DAY_MS;
    let mut config = SimConfig::new(TOKEN);
    // Paging quickly through one channel: this test is about contents.
    config.rest.history_bucket = None;
    let sim = discord_sim::start(config, scenario).await.expect("start");
    sim.rest.set_history_at(cut);

    let shown = truth.history_messages(
        &Scope::new(guild, truth.start_ms, cut).including_bots(),
        cut,
    );
    let mut per_channel: BTreeMap<u64, Vec<u64>> = BTreeMap::new();
    for m in &shown {
        per_channel
            .entry(m.channel_id)
            .or_default()
            .push(m.message_id);
    }
    let (&channel, expected) = per_channel
        .iter()
        .max_by_key(|(_, v)| v.len())
        .expect("a channel with history");
    assert!(expected.len() > 100, "more than one page");
    let mut expected = expected.clone();
    expected.sort_unstable_by(|a, b| b.cmp(a));

    // Newest first, page by page before the oldest id seen.
    let mut read = Vec::new();
    let (status, page) = get(&sim, &format!("channels/{channel}/messages?limit=100")).await;
    assert_eq!(status, 200);
    read.extend(ids(&page));
    while let Some(oldest) = read.last().copied() {
        let (_, page) = get(
            &sim,
            &format!("channels/{channel}/messages?limit=100&before={oldest}"),
        )
        .await;
        let page = ids(&page);
        if page.is_empty() {
            break;
        }
        read.extend(page);
    }
    assert_eq!(read, expected, "every message history shows, newest first");

    // `after`: the messages right after the cursor, newest first.
    let (_, page) = get(
        &sim,
        &format!("channels/{channel}/messages?limit=5&after={}", expected[50]),
    )
    .await;
    assert_eq!(ids(&page), expected[45..50].to_vec());
    // `around`: the cursor in the middle.
    let (_, page) = get(
        &sim,
        &format!(
            "channels/{channel}/messages?limit=4&around={}",
            expected[50]
        ),
    )
    .await;
    assert_eq!(ids(&page), expected[48..52].to_vec());

    // Reactions as totals per emoji, without content.
    let reactions = truth.history_reactions(&Scope::new(guild, truth.start_ms, cut), cut);
    let (&(message, ref emoji), &count) = reactions
        .iter()
        .find(|((m, _), _)| {
            shown
                .iter()
                .any(|s| s.message_id == *m && s.channel_id == channel)
        })
        .expect("a reacted message in the channel");
    let (_, page) = get(
        &sim,
        &format!("channels/{channel}/messages?limit=1&around={message}"),
    )
    .await;
    let m = &page[0];
    assert_eq!(m["content"], "");
    assert_eq!(m["attachments"], serde_json::json!([]));
    let shown_count = m["reactions"]
        .as_array()
        .expect("reactions")
        .iter()
        .find(|r| {
            let e = &r["emoji"];
            match e["id"].as_str() {
                Some(id) => format!("{}:{id}", e["name"].as_str().unwrap()) == *emoji,
                None => e["name"] == *emoji.as_str(),
            }
        })
        .expect("the emoji")["count"]
        .as_u64();
    assert_eq!(shown_count, Some(count));

    // Discord's answers to what it refuses.
    let (status, body) = get(&sim, &format!("channels/{channel}/messages?limit=101")).await;
    assert_eq!((status, body["code"].as_u64()), (400, Some(50035)));
    sim.rest.deny_history(channel);
    let (status, body) = get(&sim, &format!("channels/{channel}/messages")).await;
    assert_eq!((status, body["code"].as_u64()), (403, Some(50001)));
    let members = truth.members_at(guild, cut).len();
    let (status, body) = get(&sim, &format!("guilds/{guild}/members?limit=1000")).await;
    assert_eq!(
        (status, body.as_array().map(Vec::len)),
        (200, Some(members))
    );

    // The global limit: 50 requests a second over bot routes.
    let mut requests = tokio::task::JoinSet::new();
    let url = format!("{}/guilds/{guild}/members", sim.rest.api_url());
    for _ in 0..80 {
        let url = url.clone();
        requests.spawn(async move {
            let response = reqwest::Client::new()
                .get(url)
                .header("Authorization", format!("Bot {TOKEN}"))
                .send()
                .await
                .expect("request");
            let status = response.status().as_u16();
            (
                status,
                response.json::<Value>().await.unwrap_or(Value::Null),
            )
        });
    }
    let mut limited = 0;
    while let Some(answer) = requests.join_next().await {
        let (status, body) = answer.expect("request task");
        if status == 429 {
            assert_eq!(body["global"], true);
            limited += 1;
        }
    }
    assert!(limited > 0, "80 requests at once meet the global limit");
    sim.shutdown().await;
}

/// The listings a backfill finds channels and threads with, against the
/// truth at the scenario's end: the guild's channels with their
/// overwrites, its active threads, and private archived threads, which
/// need Manage Threads (403 50013 without) unless the bot joined them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn channels_and_private_threads_are_listed_as_discord_lists_them() {
    let size = ScenarioSize {
        guilds: 1,
        members_per_guild: 20,
        days: 10,
        messages_per_member_day: 3.0,
    };
    // Seed 12: two archived private threads in `general`.
    let (scenario, truth) = sim_scenario::generate_from(12, size, 1_790_812_800_000);
    let guild = truth.guild_ids[0];
    let mut config = SimConfig::new(TOKEN);
    config.rest.history_bucket = None;
    let sim = discord_sim::start(config, scenario).await.expect("start");
    let id_of = |v: &Value| v["id"].as_str().unwrap().parse::<u64>().unwrap();

    // Channels (threads are not in it) that exist at the end.
    let (status, channels) = get(&sim, &format!("guilds/{guild}/channels")).await;
    assert_eq!(status, 200);
    let listed: std::collections::BTreeSet<u64> =
        channels.as_array().unwrap().iter().map(id_of).collect();
    let expected: std::collections::BTreeSet<u64> = truth
        .channels_of(guild)
        .into_iter()
        .filter(|c| !matches!(c.kind, 10..=12) && c.deleted_ms.is_none())
        .map(|c| c.channel_id)
        .collect();
    assert_eq!(listed, expected);
    for c in truth.private_channels(guild).iter().filter(|c| c.kind < 10) {
        let channel = channels
            .as_array()
            .unwrap()
            .iter()
            .find(|v| id_of(v) == c.channel_id)
            .expect("listed");
        let everyone = channel["permission_overwrites"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["id"] == Value::String(guild.to_string()))
            .expect("an @everyone overwrite");
        assert_eq!(everyone["deny"], "1024", "{channel}");
    }

    // Active threads: those not archived at the end.
    let (_, active) = get(&sim, &format!("guilds/{guild}/threads/active")).await;
    let active: std::collections::BTreeSet<u64> = active["threads"]
        .as_array()
        .unwrap()
        .iter()
        .map(id_of)
        .collect();
    let open: std::collections::BTreeSet<u64> = truth
        .threads
        .iter()
        .filter(|t| t.guild_id == guild && t.archived_ms.is_none())
        .map(|t| t.thread_id)
        .collect();
    assert_eq!(active, open);

    // Private archived threads of general.
    let general = truth
        .channels_of(guild)
        .into_iter()
        .find(|c| c.name == "general")
        .unwrap()
        .channel_id;
    let mut private: Vec<u64> = truth
        .threads
        .iter()
        .filter(|t| t.parent_id == general && t.kind == 12 && t.archived_ms.is_some())
        .map(|t| t.thread_id)
        .collect();
    private.sort_unstable_by(|a, b| b.cmp(a));
    assert_eq!(private.len(), 2);
    let (status, all) = get(
        &sim,
        &format!("channels/{general}/threads/archived/private?limit=2"),
    )
    .await;
    assert_eq!(status, 200);
    let mut got: Vec<u64> = all["threads"]
        .as_array()
        .unwrap()
        .iter()
        .map(id_of)
        .collect();
    got.sort_unstable_by(|a, b| b.cmp(a));
    assert_eq!(got, private);

    sim.rest.deny_manage_threads(general);
    let (status, refused) = get(
        &sim,
        &format!("channels/{general}/threads/archived/private"),
    )
    .await;
    assert_eq!((status, refused["code"].as_i64()), (403, Some(50013)));
    let joined_path = format!("channels/{general}/users/@me/threads/archived/private");
    let (_, none) = get(&sim, &joined_path).await;
    assert_eq!(none["threads"], serde_json::json!([]));
    let (status, hidden) = get(&sim, &format!("channels/{}/messages", private[0])).await;
    assert_eq!((status, hidden["code"].as_i64()), (403, Some(50001)));
    for t in &private {
        sim.rest.join_thread(*t);
    }
    // By thread id, newest first, `before` a thread id.
    let (_, first) = get(&sim, &format!("{joined_path}?limit=2")).await;
    let first_ids: Vec<u64> = first["threads"]
        .as_array()
        .unwrap()
        .iter()
        .map(id_of)
        .collect();
    assert_eq!(
        (first_ids, first["has_more"].as_bool()),
        (private.clone(), Some(false))
    );
    let (_, rest) = get(
        &sim,
        &format!("{joined_path}?limit=2&before={}", private[0]),
    )
    .await;
    let rest_ids: Vec<u64> = rest["threads"]
        .as_array()
        .unwrap()
        .iter()
        .map(id_of)
        .collect();
    assert_eq!(rest_ids, vec![private[1]]);
    let (status, _) = get(&sim, &format!("channels/{}/messages", private[0])).await;
    assert_eq!(status, 200, "a joined private thread is readable");
}
