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
