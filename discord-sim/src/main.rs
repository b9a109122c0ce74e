//! `discord-sim`: a local Discord on the command line. See README.md.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context as _, Result, bail};
use discord_sim::interactions::{
    CommandOption, InteractionClient, InteractionKeys, InteractionKind, Invoker, OptionValue,
};
use discord_sim::{Compression, Fault, FaultKind, FaultTrigger, Pacing, SimConfig};
use serde_json::json;
use sim_scenario::ScenarioSize;

const USAGE: &str = "\
discord-sim: a local Discord (gateway, REST, signed interactions)

USAGE:
  discord-sim serve [--seed N --size tiny|small|medium|quarter|G,M,D,R [--start-day YYYY-MM-DD] | --jsonl FILE]
                    [--token T] [--gateway-addr ADDR] [--rest-addr ADDR] [--rest-log FILE]
                    [--pacing fast|clock] [--speedup F] [--heartbeat-ms N] [--no-compression]
                    [--shards N] [--token-ttl-secs N] [--application-id ID]
                    [--max-concurrency N] [--identify-spacing-ms N] [--session-start-limit N]
  discord-sim keygen
  discord-sim interact --endpoint URL --sim URL --secret HEX
                    (--ping | --command \"NAME [GROUP] [SUB]\" | --autocomplete \"NAME ...\"
                     | --button ID | --select ID | --modal ID)
                    [--str k=v] [--int k=v] [--num k=v] [--bool k=v] [--channel k=ID] [--user k=ID]
                    [--role k=ID] [--focused k=v] [--value V] [--field k=v]
                    [--member] [--guild ID] [--channel-id ID] [--save-files DIR] [--timeout-secs N]
  discord-sim scenario --seed N --size SIZE [--start-day YYYY-MM-DD] --out DIR
  discord-sim fault --sim URL --shard N --kind drop|reconnect|close|invalid-session|expire
                    [--code C] [--after N] [--lose N]
";

/// Flags that take no value.
const SWITCHES: [&str; 3] = ["no-compression", "ping", "member"];

/// `--key value` / `--key=value` options, repeatable.
struct Args {
    values: HashMap<String, Vec<String>>,
}

impl Args {
    fn parse(raw: &[String]) -> Result<Self> {
        let mut values: HashMap<String, Vec<String>> = HashMap::new();
        let mut iter = raw.iter();
        while let Some(arg) = iter.next() {
            let Some(flag) = arg.strip_prefix("--") else {
                bail!("unexpected argument {arg:?}\n\n{USAGE}");
            };
            let (key, value) = match flag.split_once('=') {
                Some((key, value)) => (key.to_owned(), value.to_owned()),
                None if SWITCHES.contains(&flag) => (flag.to_owned(), String::new()),
                None => {
                    let value = iter
                        .next()
                        .with_context(|| format!("--{flag} needs a value"))?;
                    (flag.to_owned(), value.clone())
                }
            };
            values.entry(key).or_default().push(value);
        }
        Ok(Self { values })
    }

    fn get(&self, key: &str) -> Option<&str> {
        self.values
            .get(key)
            .and_then(|v| v.last())
            .map(String::as_str)
    }

    fn all(&self, key: &str) -> &[String] {
        self.values.get(key).map_or(&[], Vec::as_slice)
    }

    fn has(&self, key: &str) -> bool {
        self.values.contains_key(key)
    }

    fn require(&self, key: &str) -> Result<&str> {
        self.get(key)
            .with_context(|| format!("--{key} is required\n\n{USAGE}"))
    }

    fn parsed<T: std::str::FromStr>(&self, key: &str) -> Result<Option<T>>
    where
        T::Err: std::error::Error + Send + Sync + 'static,
    {
        self.get(key)
            .map(|v| v.parse::<T>().with_context(|| format!("--{key} {v:?}")))
            .transpose()
    }
}

fn parse_size(text: &str) -> Result<ScenarioSize> {
    Ok(match text {
        "tiny" => ScenarioSize::TINY,
        "small" => ScenarioSize::SMALL,
        "medium" => ScenarioSize::MEDIUM,
        "quarter" => ScenarioSize::QUARTER,
        custom => {
            let parts: Vec<&str> = custom.split(',').collect();
            let [guilds, members, days, rate] = parts.as_slice() else {
                bail!(
                    "--size is tiny, small, medium, quarter or GUILDS,MEMBERS,DAYS,MESSAGES_PER_MEMBER_DAY"
                );
            };
            ScenarioSize {
                guilds: guilds.parse().context("--size guilds")?,
                members_per_guild: members.parse().context("--size members")?,
                days: days.parse().context("--size days")?,
                messages_per_member_day: rate.parse().context("--size rate")?,
            }
        }
    })
}

#[tokio::main]
async fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let raw: Vec<String> = std::env::args().skip(1).collect();
    let Some((command, rest)) = raw.split_first() else {
        print!("{USAGE}");
        return Ok(());
    };
    let args = Args::parse(rest)?;
    match command.as_str() {
        "serve" => serve(&args).await,
        "keygen" => keygen(),
        "interact" => interact(&args).await,
        "scenario" => scenario(&args),
        "fault" => fault(&args).await,
        "help" | "--help" | "-h" => {
            print!("{USAGE}");
            Ok(())
        }
        other => bail!("unknown command {other:?}\n\n{USAGE}"),
    }
}

/// `--start-day`: the UTC day the generated scenario starts (default: the
/// generator's fixed day, so the same seed gives the same scenario).
fn start_ms(args: &Args) -> Result<i64> {
    match args.get("start-day") {
        None => Ok(sim_scenario::DEFAULT_START_MS),
        Some(day) => Ok(chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d")
            .with_context(|| format!("--start-day expects YYYY-MM-DD, got {day:?}"))?
            .and_hms_opt(0, 0, 0)
            .context("midnight")?
            .and_utc()
            .timestamp_millis()),
    }
}

async fn serve(args: &Args) -> Result<()> {
    let scenario = match args.get("jsonl") {
        Some(path) => discord_sim::scenario_file::load_jsonl(path.as_ref())
            .context("loading the JSONL scenario")?,
        None => {
            let seed = args.parsed::<u64>("seed")?.unwrap_or(1);
            let size = parse_size(args.get("size").unwrap_or("small"))?;
            sim_scenario::generate_from(seed, size, start_ms(args)?).0
        }
    };
    let token = args.get("token").unwrap_or("discord-sim-token");
    let mut config = SimConfig::new(token);
    if let Some(addr) = args.parsed::<SocketAddr>("gateway-addr")? {
        config.gateway_addr = addr;
    }
    if let Some(addr) = args.parsed::<SocketAddr>("rest-addr")? {
        config.rest_addr = addr;
    }
    if let Some(id) = args.parsed::<u64>("application-id")? {
        config.gateway.application_id = id;
        config.gateway.bot_user_id = id;
        config.rest.application_id = id;
    }
    config.rest.log_file = args.get("rest-log").map(PathBuf::from);
    config.rest.recommended_shards = args.parsed("shards")?.unwrap_or(1);
    if let Some(secs) = args.parsed::<u64>("token-ttl-secs")? {
        config.rest.interaction_token_ttl = Duration::from_secs(secs);
    }
    if let Some(n) = args.parsed::<u32>("max-concurrency")? {
        config.gateway.max_concurrency = n.max(1);
    }
    if let Some(ms) = args.parsed::<u64>("identify-spacing-ms")? {
        config.gateway.identify_spacing = Some(Duration::from_millis(ms));
    }
    if let Some(n) = args.parsed::<u64>("session-start-limit")? {
        config.gateway.session_start_limit = n;
    }
    if let Some(ms) = args.parsed::<u64>("heartbeat-ms")? {
        config.gateway.heartbeat_interval = Duration::from_millis(ms);
    }
    if args.has("no-compression") {
        config.gateway.compression = Compression::Never;
    }
    config.gateway.pacing = match args.get("pacing").unwrap_or("fast") {
        "fast" => Pacing::AsFastAsRead,
        "clock" => Pacing::ScenarioClock {
            speedup: args.parsed("speedup")?.unwrap_or(1.0),
        },
        other => bail!("--pacing is fast or clock, not {other:?}"),
    };
    let events = scenario.events.len();
    let guilds = scenario.guilds.len();
    let sim = discord_sim::start(config, scenario)
        .await
        .context("starting the simulator")?;
    println!("gateway  {}", sim.gateway.url());
    println!("rest     {}", sim.rest.api_url());
    println!("control  {}/_sim", sim.rest.url());
    println!("serving  {guilds} guilds, {events} events");
    shutdown_signal().await;
    tracing::info!("shutting down");
    sim.shutdown().await;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "listening for Ctrl-C failed");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "listening for SIGTERM failed");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}

fn keygen() -> Result<()> {
    let keys = InteractionKeys::generate();
    let out = json!({"secret_key": keys.secret_hex(), "public_key": keys.public_key_hex()});
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(())
}

fn key_value(text: &str, flag: &str) -> Result<(String, String)> {
    text.split_once('=')
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .with_context(|| format!("--{flag} takes NAME=VALUE, got {text:?}"))
}

/// The options given with --str, --int, … in a fixed order of kinds.
fn leaf_options(args: &Args) -> Result<Vec<CommandOption>> {
    let mut options = Vec::new();
    for (flag, make) in [
        (
            "str",
            (|v: &str| Ok(OptionValue::String(v.to_owned()))) as fn(&str) -> Result<OptionValue>,
        ),
        ("int", |v| {
            Ok(OptionValue::Integer(v.parse().context("--int")?))
        }),
        ("num", |v| {
            Ok(OptionValue::Number(v.parse().context("--num")?))
        }),
        ("bool", |v| {
            Ok(OptionValue::Boolean(v.parse().context("--bool")?))
        }),
        ("channel", |v| {
            Ok(OptionValue::Channel {
                id: v.parse().context("--channel")?,
                name: "channel".into(),
                kind: 0,
            })
        }),
        ("user", |v| {
            Ok(OptionValue::User {
                id: v.parse().context("--user")?,
                username: "user".into(),
            })
        }),
        ("role", |v| {
            Ok(OptionValue::Role {
                id: v.parse().context("--role")?,
                name: "role".into(),
            })
        }),
    ] {
        for item in args.all(flag) {
            let (name, value) = key_value(item, flag)?;
            options.push(CommandOption::new(name, make(&value)?));
        }
    }
    for item in args.all("focused") {
        let (name, value) = key_value(item, "focused")?;
        options.push(CommandOption::new(name, OptionValue::String(value)).focused());
    }
    Ok(options)
}

/// `NAME`, `NAME SUB` or `NAME GROUP SUB` with the leaf options at the bottom.
fn command_path(path: &str, leaves: Vec<CommandOption>) -> Result<(String, Vec<CommandOption>)> {
    let words: Vec<&str> = path.split_whitespace().collect();
    Ok(match words.as_slice() {
        [name] => ((*name).to_owned(), leaves),
        [name, sub] => (
            (*name).to_owned(),
            vec![CommandOption::new(*sub, OptionValue::Subcommand(leaves))],
        ),
        [name, group, sub] => (
            (*name).to_owned(),
            vec![CommandOption::new(
                *group,
                OptionValue::SubcommandGroup(vec![CommandOption::new(
                    *sub,
                    OptionValue::Subcommand(leaves),
                )]),
            )],
        ),
        _ => bail!("a command is NAME, NAME SUB or NAME GROUP SUB"),
    })
}

fn interaction_kind(args: &Args) -> Result<InteractionKind> {
    let message = || {
        json!({
            "id": discord_sim::interactions::fresh_id().to_string(), "channel_id": "1",
            "author": {"id": discord_sim::DEFAULT_APPLICATION_ID.to_string(), "username": "ServerPulse", "discriminator": "0", "avatar": null, "bot": true},
            "content": "", "timestamp": chrono::Utc::now().to_rfc3339(), "edited_timestamp": null, "tts": false,
            "mention_everyone": false, "mentions": [], "mention_roles": [], "attachments": [], "embeds": [],
            "pinned": false, "type": 0, "components": [],
        })
    };
    if args.has("ping") {
        return Ok(InteractionKind::Ping);
    }
    if let Some(path) = args.get("command") {
        let (name, options) = command_path(path, leaf_options(args)?)?;
        return Ok(InteractionKind::Command { name, options });
    }
    if let Some(path) = args.get("autocomplete") {
        let (name, options) = command_path(path, leaf_options(args)?)?;
        return Ok(InteractionKind::Autocomplete { name, options });
    }
    if let Some(id) = args.get("button") {
        return Ok(InteractionKind::Component {
            custom_id: id.into(),
            component_type: 2,
            values: vec![],
            message: message(),
        });
    }
    if let Some(id) = args.get("select") {
        let values = args.all("value").to_vec();
        return Ok(InteractionKind::Component {
            custom_id: id.into(),
            component_type: 3,
            values,
            message: message(),
        });
    }
    if let Some(id) = args.get("modal") {
        let fields = args
            .all("field")
            .iter()
            .map(|f| key_value(f, "field"))
            .collect::<Result<_>>()?;
        return Ok(InteractionKind::ModalSubmit {
            custom_id: id.into(),
            fields,
        });
    }
    bail!(
        "say what to send: --ping, --command, --autocomplete, --button, --select or --modal\n\n{USAGE}"
    )
}

async fn interact(args: &Args) -> Result<()> {
    let keys = InteractionKeys::from_secret_hex(args.require("secret")?).context("--secret")?;
    let mut client = InteractionClient::new(args.require("endpoint")?, args.require("sim")?, keys);
    if let Some(id) = args.parsed::<u64>("application-id")? {
        client = client.with_application_id(id);
    }
    if let Some(secs) = args.parsed::<u64>("timeout-secs")? {
        client.follow_timeout = Duration::from_secs(secs);
    }
    let guild = args
        .parsed::<u64>("guild")?
        .unwrap_or(1_100_000_000_000_000_001);
    let channel = args
        .parsed::<u64>("channel-id")?
        .unwrap_or(1_100_000_000_000_000_002);
    let invoker = if args.has("member") {
        Invoker::member(guild, channel)
    } else {
        Invoker::admin(guild, channel)
    };
    let kind = interaction_kind(args)?;
    let outcome = client
        .send(&kind, &invoker)
        .await
        .context("sending the interaction")?;
    if let (Some(dir), Some(message)) = (args.get("save-files"), &outcome.final_message) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {dir}"))?;
        for file in &message.files {
            let path = PathBuf::from(dir).join(&file.filename);
            std::fs::write(&path, file.bytes())
                .with_context(|| format!("writing {}", path.display()))?;
            eprintln!("saved {}", path.display());
        }
    }
    let final_message = outcome.final_message.as_ref().map(|m| {
        json!({
            "delivery": m.delivery,
            "ephemeral": m.ephemeral(),
            "message": m.message,
            "files": m.files.iter().map(|f| json!({"filename": f.filename, "content_type": f.content_type, "size": f.bytes().len()})).collect::<Vec<_>>(),
        })
    });
    let out = json!({
        "status": outcome.status,
        "response": outcome.response,
        "answer_error": outcome.answer_error,
        "final_message": final_message,
    });
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(())
}

fn scenario(args: &Args) -> Result<()> {
    let seed = args.parsed::<u64>("seed")?.unwrap_or(1);
    let size = parse_size(args.get("size").unwrap_or("small"))?;
    let out = PathBuf::from(args.require("out")?);
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    let (scenario, truth) = sim_scenario::generate_from(seed, size, start_ms(args)?);
    let events = out.join("scenario.jsonl");
    std::fs::write(&events, discord_sim::scenario_file::to_jsonl(&scenario))
        .with_context(|| format!("writing {}", events.display()))?;
    let truth_path = out.join("ground-truth.json");
    let truth_json =
        serde_json::to_string_pretty(&truth).context("serializing the ground truth")?;
    std::fs::write(&truth_path, truth_json)
        .with_context(|| format!("writing {}", truth_path.display()))?;
    println!(
        "{} ({} guilds, {} events)",
        events.display(),
        scenario.guilds.len(),
        scenario.events.len()
    );
    println!("{}", truth_path.display());
    Ok(())
}

async fn fault(args: &Args) -> Result<()> {
    let kind = match args.require("kind")? {
        "drop" => FaultKind::Drop,
        "reconnect" => FaultKind::Reconnect,
        "close" => FaultKind::Close {
            code: args.parsed("code")?.unwrap_or(4000),
        },
        "invalid-session" => FaultKind::InvalidSession,
        "expire" => FaultKind::Expire,
        other => bail!("unknown fault kind {other:?}"),
    };
    let trigger = match args.parsed::<usize>("after")? {
        Some(n) => FaultTrigger::AfterEvent(n),
        None => FaultTrigger::Now,
    };
    let shard = args.parsed::<u32>("shard")?.unwrap_or(0);
    let fault = Fault::new(shard, kind, trigger).losing(args.parsed("lose")?.unwrap_or(0));
    let url = format!("{}/_sim/faults", args.require("sim")?.trim_end_matches('/'));
    let response = reqwest::Client::new()
        .post(&url)
        .json(&fault)
        .send()
        .await
        .with_context(|| format!("POST {url}"))?;
    if !response.status().is_success() {
        bail!(
            "{url} answered {}: {}",
            response.status(),
            response.text().await.unwrap_or_default()
        );
    }
    println!("scheduled {}", serde_json::to_string(&fault)?);
    Ok(())
}
