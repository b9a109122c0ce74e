//! The deployed shape, end to end: `serverpulse-web` and
//! `serverpulse-ingester` as two processes configured only through the
//! environment (as `scripts/run` and `fly.toml` start them), `register`
//! against the REST API, an admin's `/setup` over a signed interaction, the
//! ingester streaming a scenario from the gateway, and a member's overview
//! equal to the ground truth. Both stop cleanly on SIGTERM.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use discord_sim::interactions::{
    CommandOption, InteractionClient, InteractionKeys, InteractionKind, Invoker, OptionValue,
};
use serverpulse_e2e::{binary, field, leading_figure};
use shared::Snowflake;
use shared::testing::{ChildProcess, TestDatabase, free_port};
use sim_scenario::truth::Scope;

const TOKEN: &str = "e2e-bot-token";

fn command(name: &str, options: Vec<CommandOption>) -> InteractionKind {
    InteractionKind::Command {
        name: name.to_owned(),
        options,
    }
}

fn string(name: &str, value: &str) -> CommandOption {
    CommandOption::new(name, OptionValue::String(value.to_owned()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn web_and_ingester_as_separate_processes_answer_from_what_was_ingested() {
    let (scenario, truth) = sim_scenario::generate(11, sim_scenario::ScenarioSize::SMALL);
    let events = scenario.events.len();
    let sim = discord_sim::start(discord_sim::SimConfig::new(TOKEN), scenario)
        .await
        .unwrap();
    let db = TestDatabase::create_empty().await;
    let keys = InteractionKeys::generate();
    let guild = truth.guild_ids[0];
    let common = vec![
        ("DATABASE_URL", db.url.clone()),
        ("DISCORD_TOKEN", TOKEN.to_owned()),
        ("DISCORD_API_URL", sim.rest.api_url().to_owned()),
        ("RUST_LOG", "warn".to_owned()),
    ];
    let web_env = [
        common.clone(),
        vec![
            (
                "DISCORD_APPLICATION_ID",
                discord_sim::DEFAULT_APPLICATION_ID.to_string(),
            ),
            ("DISCORD_PUBLIC_KEY", keys.public_key_hex()),
        ],
    ]
    .concat();

    // Register the commands for the guild, as an operator would once.
    let mut register = ChildProcess::spawn(
        &binary("serverpulse-web"),
        &["register", "--guild", &guild.to_string()],
        &web_env,
    );
    let status = register.wait_exit(Duration::from_secs(60));
    assert!(status.success(), "register: {}", register.stderr());
    let registered = sim.rest.commands(Some(guild));
    let names: Vec<String> = registered
        .iter()
        .filter_map(|c| c["name"].as_str().map(str::to_owned))
        .collect();
    for expected in [
        "serverstats",
        "activity",
        "topmessagers",
        "leaderboard",
        "setup",
    ] {
        assert!(
            names.iter().any(|n| n == expected),
            "{expected} registered: {names:?}"
        );
    }

    // The web endpoint; an admin enables tracking.
    let web_port = free_port();
    let web_ops_port = free_port();
    let mut web = ChildProcess::spawn(
        &binary("serverpulse-web"),
        &["serve"],
        &[
            web_env.clone(),
            vec![
                ("PORT", web_port.to_string()),
                ("OPS_PORT", web_ops_port.to_string()),
            ],
        ]
        .concat(),
    );
    let web_addr = SocketAddr::from(([127, 0, 0, 1], web_port));
    let web_ops_addr = SocketAddr::from(([127, 0, 0, 1], web_ops_port));
    assert!(
        web.wait_for_ok(web_ops_addr, "/readyz", Duration::from_secs(60)),
        "web never became ready"
    );
    let client = InteractionClient::new(
        format!("http://{web_addr}/interactions"),
        sim.rest.url(),
        keys,
    );
    let text_channel = truth
        .channels
        .iter()
        .find(|c| c.guild_id == guild && c.kind == 0)
        .unwrap()
        .channel_id;
    let admin = Invoker::admin(guild, text_channel);
    let setup = client
        .send(&command("setup", vec![string("timezone", "UTC")]), &admin)
        .await
        .unwrap();
    assert!(setup.final_message.is_some(), "/setup answered: {setup:?}");
    // The scenario is history: count it from its first day (audited).
    let mut conn = db.pool.acquire().await.unwrap();
    let first_day = chrono::DateTime::from_timestamp_millis(truth.start_ms).unwrap();
    assert!(
        shared::db::history::backdate_tracking(
            &mut conn,
            Snowflake(guild),
            Snowflake(admin.user_id),
            first_day
        )
        .await
        .unwrap()
    );
    drop(conn);

    // The ingester, on its own, streams the whole scenario.
    let ingester_port = free_port();
    let mut ingester = ChildProcess::spawn(
        &binary("serverpulse-ingester"),
        &["run"],
        &[
            common.clone(),
            vec![
                ("DISCORD_GATEWAY_URL", sim.gateway.url().to_owned()),
                ("INGESTER_PORT", ingester_port.to_string()),
            ],
        ]
        .concat(),
    );
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let handed_out = sim
            .gateway
            .shard_progress([0, 1])
            .map_or(0, |(sent, _)| sent);
        let last_sent = sim
            .gateway
            .sessions()
            .into_iter()
            .rfind(|s| s.shard == [0, 1])
            .and_then(|s| {
                s.frames
                    .iter()
                    .rev()
                    .find(|f| !f.sends.is_empty())
                    .map(|f| f.seq)
            });
        let committed = shared::db::ingest::load_checkpoint(&db.pool, 0, 1)
            .await
            .unwrap()
            .and_then(|c| c.sequence);
        if handed_out == events && last_sent.is_some() && committed.map(|c| c as u64) >= last_sent {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the ingester did not catch up: {handed_out}/{events} handed out"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // A member asks for the all-time overview.
    let member = Invoker::member(guild, text_channel);
    let overview = client
        .send(
            &command(
                "serverstats",
                vec![CommandOption::new(
                    "overview",
                    OptionValue::Subcommand(vec![string("timeframe", "all")]),
                )],
            ),
            &member,
        )
        .await
        .unwrap();
    let message = overview
        .final_message
        .expect("the overview answered")
        .message;
    let everything = Scope::new(guild, truth.start_ms, truth.end_ms).tracking_since(truth.start_ms);
    assert_eq!(
        field(&message, "Messages").and_then(leading_figure),
        Some(truth.messages_total(&everything) as i64),
        "{message}"
    );
    assert!(truth.messages_total(&everything) > 0);

    // Both stop cleanly.
    for (name, process) in [("web", &mut web), ("ingester", &mut ingester)] {
        process.signal("TERM");
        let status = process.wait_exit(Duration::from_secs(30));
        assert!(
            status.success(),
            "{name} on SIGTERM: {status}: {}",
            process.stderr()
        );
    }
    sim.shutdown().await;
}
