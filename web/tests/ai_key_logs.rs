//! No key reaches a log: every flow that handles an AI provider key or a
//! master key, run in-process and in the spawned binaries, with everything
//! logged at TRACE captured (our crates, the HTTP and database stacks; the
//! binaries with `RUST_LOG=trace`), and then searched for every key as
//! typed, in base64 and in hex ([`serverpulse_testkit::secrets`]). The
//! flows: a key set through the modal, `/ai-provider test` (success and
//! the provider's error), `/pulse-report` written by the guild's provider
//! and by the operator's after the guild's rejected its key, the weekly
//! job in-process, in `digests run` and in `serve`, `/pulse-report`
//! through `serve`, a malformed master key refused at start, and
//! `rotate-keys`.

#[allow(unused_imports)]
mod common;

use std::io::Read as _;
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use chrono::{DateTime, Duration as Span, TimeZone, Utc};
use common::*;
use discord_sim::{ChannelAccess, InteractionClient, InteractionKeys, InteractionKind};
use serverpulse_testkit::providers::{FakeProviders, Fault};
use serverpulse_testkit::secrets;
use serverpulse_testkit::web::{WebApp, WebAppOptions};
use serverpulse_web::component::ComponentId;
use serverpulse_web::delivery::Poster;
use shared::Snowflake;
use shared::config::{AiConfig, DefaultProvider, ProviderKind, Secret};
use shared::db::{ai_providers, pulse_jobs};

const GUILD_A: u64 = 1_320_000_000_000_000_101;
const GUILD_B: u64 = 1_320_000_000_000_000_102;
const CHANNEL: u64 = 1_420_000_000_000_000_101;

fn utc(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, min, 0).unwrap()
}

/// Monday 2 November 2026, 09:01 in Berlin: a weekly digest is due.
fn due_at() -> DateTime<Utc> {
    utc(2026, 11, 2, 8, 1)
}

async fn configure(app: &App, guild: u64, provider: &str, key: &str) {
    let admin = admin(guild);
    app.sim
        .rest
        .set_channel_access(CHANNEL, ChannelAccess::Writable);
    let setup = command(
        "setup",
        vec![
            string("timezone", "Europe/Berlin"),
            common::channel("update_channel", CHANNEL, "updates", 0),
        ],
    );
    final_message(app, &setup, &admin).await;
    let weekly = command("set-digest", vec![string("frequency", "weekly")]);
    final_message(app, &weekly, &admin).await;
    let set = command(
        "ai-provider",
        vec![sub("set", vec![string("provider", provider)])],
    );
    final_message(app, &set, &admin).await;
    let outcome = send(
        app,
        &command("ai-provider", vec![sub("key", vec![])]),
        &admin,
    )
    .await;
    let modal = outcome.response.expect("a modal");
    let submit = InteractionKind::ModalSubmit {
        custom_id: modal["data"]["custom_id"].as_str().unwrap().to_owned(),
        fields: vec![(ComponentId::ApiKeyInput.encode(), key.to_owned())],
    };
    let stored = final_message(app, &submit, &admin).await;
    assert!(content(&stored).contains("is stored encrypted"));
}

/// The environment of a spawned `serverpulse-web` with the AI settings.
struct BinaryEnv {
    vars: Vec<(String, String)>,
}

impl BinaryEnv {
    fn new(app: &App, fake: &FakeProviders, public_key: &str) -> Self {
        let mut vars: Vec<(String, String)> = vec![
            ("DATABASE_URL".into(), app.db.url.clone()),
            ("DISCORD_TOKEN".into(), TOKEN.into()),
            (
                "DISCORD_APPLICATION_ID".into(),
                discord_sim::DEFAULT_APPLICATION_ID.to_string(),
            ),
            ("DISCORD_PUBLIC_KEY".into(), public_key.into()),
            ("DISCORD_API_URL".into(), app.sim.rest.api_url()),
            ("AI_CONNECT_TIMEOUT_MS".into(), "1000".into()),
            ("AI_REQUEST_TIMEOUT_MS".into(), "2000".into()),
        ];
        for kind in ProviderKind::ALL {
            vars.push((kind.base_url_var().into(), fake.url(kind.name())));
        }
        Self { vars }
    }

    fn with(mut self, var: &str, value: &str) -> Self {
        self.vars.push((var.into(), value.into()));
        self
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = secrets::command(env!("CARGO_BIN_EXE_serverpulse-web"));
        command
            .args(args)
            .env_clear()
            .env("RUST_LOG", "trace")
            .envs(self.vars.iter().map(|(k, v)| (k, v)))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        command
    }

    /// Runs `args` to the end; its output is captured.
    fn run(&self, name: &str, args: &[&str]) -> Output {
        let output = tokio::task::block_in_place(|| self.command(args).output())
            .expect("run serverpulse-web");
        secrets::output(name, &output);
        output
    }
}

/// A spawned process whose stdout and stderr are read as it runs (a
/// TRACE log fills a pipe in no time).
struct Running {
    child: Child,
    readers: Vec<std::thread::JoinHandle<Vec<u8>>>,
}

impl Running {
    fn spawn(mut command: Command) -> Self {
        let mut child = command.spawn().expect("spawn");
        let mut readers = Vec::new();
        let stdout = child.stdout.take().unwrap();
        let stderr = child.stderr.take().unwrap();
        for mut pipe in [
            Box::new(stdout) as Box<dyn std::io::Read + Send>,
            Box::new(stderr),
        ] {
            readers.push(std::thread::spawn(move || {
                let mut bytes = Vec::new();
                let _ = pipe.read_to_end(&mut bytes);
                bytes
            }));
        }
        Self { child, readers }
    }

    /// SIGTERM, then its output, captured.
    fn stop(mut self, name: &str) -> Output {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let status = tokio::task::block_in_place(|| self.child.wait()).unwrap();
        let mut outputs = self.readers.into_iter().map(|r| r.join().unwrap());
        let output = Output {
            status,
            stdout: outputs.next().unwrap(),
            stderr: outputs.next().unwrap(),
        };
        secrets::output(name, &output);
        output
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_key_is_logged_by_any_flow_in_process_or_in_the_binaries() {
    let _keys = secrets::check();
    let fake = FakeProviders::start().await;
    let (master, master_hex) = secrets::master_key("master");
    let (next_master, next_hex) = secrets::master_key("master-next");
    let guild_key = secrets::api_key("guild-a");
    let other_key = secrets::api_key("guild-b");
    let operator_key = secrets::api_key("operator");
    let ai = AiConfig {
        base_urls: ProviderKind::ALL
            .into_iter()
            .map(|k| (k, fake.url(k.name())))
            .collect(),
        default_provider: Some(DefaultProvider {
            kind: ProviderKind::Groq,
            model: "llama".to_owned(),
            key: Some(Secret::new(operator_key.clone())),
        }),
        master_key: Some(master),
        connect_timeout: Duration::from_secs(1),
        request_timeout: Duration::from_secs(2),
        ..AiConfig::default()
    };
    let app = WebApp::start(WebAppOptions {
        ai: Some(ai),
        ..WebAppOptions::at(TOKEN, utc(2026, 10, 28, 12, 0))
    })
    .await;

    // Keys set through the modal; tested; a report from each provider.
    configure(&app, GUILD_A, "openai", &guild_key).await;
    configure(&app, GUILD_B, "anthropic", &other_key).await;
    let test = command("ai-provider", vec![sub("test", vec![])]);
    let ok = final_message(&app, &test, &admin(GUILD_A)).await;
    assert!(content(&ok).contains("answered"), "{ok:?}");
    let report = final_message(&app, &command("pulse-report", vec![]), &admin(GUILD_A)).await;
    assert!(
        embed(&report)["footer"]["text"]
            .as_str()
            .unwrap()
            .starts_with("Written by OpenAI"),
        "{report:?}"
    );
    // Guild B's provider rejects its key: the test shows the error, the
    // report falls back to the operator's provider.
    fake.always("anthropic", Some(Fault::Unauthorized));
    let failed = final_message(&app, &test, &admin(GUILD_B)).await;
    assert!(
        content(&failed).contains("Incorrect API key provided"),
        "{failed:?}"
    );
    let fallback = final_message(&app, &command("pulse-report", vec![]), &admin(GUILD_B)).await;
    assert!(
        embed(&fallback)["footer"]["text"]
            .as_str()
            .unwrap()
            .starts_with("Written by Groq (llama)."),
        "{fallback:?}"
    );

    // The weekly job in-process.
    let poster = Poster::new(
        &app.sim.rest.api_url(),
        app.state.config.discord_token.clone(),
    );
    let run = serverpulse_web::digest::run_and_deliver(
        &app.db.pool,
        &poster,
        &app.state.providers,
        due_at(),
    )
    .await
    .unwrap();
    assert_eq!(run.reports.done.len(), 2, "{run:?}");

    // The next week's job in `digests run`, configured by environment.
    let interaction_keys = InteractionKeys::from_secret([5; 32]);
    let env = BinaryEnv::new(&app, &fake, &interaction_keys.public_key_hex())
        .with("SERVERPULSE_MASTER_KEY", &master_hex)
        .with("PULSE_DEFAULT_PROVIDER", "groq")
        .with("PULSE_DEFAULT_MODEL", "llama")
        .with("PULSE_DEFAULT_API_KEY", &operator_key);
    let next_week = (due_at() + Span::days(7)).to_rfc3339();
    let digests = env.run("digests run", &["digests", "run", "--at", &next_week]);
    let stdout = String::from_utf8_lossy(&digests.stdout);
    assert!(digests.status.success(), "{stdout}");
    assert!(
        stdout.contains("pulse report of 2026-11-01T23:00:00+00:00"),
        "{stdout}"
    );
    assert!(stdout.contains(": written by openai"), "{stdout}");
    assert!(stdout.contains(": written by groq"), "{stdout}");

    // `serve`: its weekly job (the latest week, due at the real clock's
    // Monday) and a `/pulse-report` through its endpoint.
    let port = shared::testing::free_port();
    let mut serve_command = env.command(&["serve"]);
    serve_command
        .env("PORT", port.to_string())
        .env("OPS_PORT", shared::testing::free_port().to_string());
    let serve = Running::spawn(serve_command);
    let endpoint = format!("http://127.0.0.1:{port}/interactions");
    let client = InteractionClient::new(endpoint, app.sim.rest.url(), interaction_keys);
    let http = reqwest::Client::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while http
        .get(format!("http://127.0.0.1:{port}/healthz"))
        .send()
        .await
        .is_err()
    {
        assert!(std::time::Instant::now() < deadline, "serve did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let answered = client
        .send(&command("pulse-report", vec![]), &admin(GUILD_A))
        .await
        .expect("an answer from serve");
    let footer = answered
        .final_message
        .as_ref()
        .map(|m| m.message["embeds"][0]["footer"]["text"].to_string())
        .unwrap_or_default();
    assert!(footer.contains("Written by OpenAI"), "{answered:?}");
    let newest_week_done = || async {
        pulse_jobs::of_guild(&app.db.pool, Snowflake(GUILD_B))
            .await
            .unwrap()
            .first()
            .is_some_and(|j| j.state == "done" && j.period_start > due_at() + Span::days(7))
    };
    while !newest_week_done().await {
        assert!(
            std::time::Instant::now() < deadline + Duration::from_secs(60),
            "serve's worker wrote no report"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let served = serve.stop("serve");
    assert!(
        served.status.success(),
        "serve stopped with {:?}",
        served.status
    );

    // A malformed master key stops a binary with one line, not its value.
    let bad = secrets::api_key("bad-master");
    let refused = BinaryEnv::new(
        &app,
        &fake,
        &InteractionKeys::from_secret([5; 32]).public_key_hex(),
    )
    .with("SERVERPULSE_MASTER_KEY", &bad)
    .run("bad master key", &["digests", "run"]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("SERVERPULSE_MASTER_KEY"));

    // rotate-keys re-seals both guilds' keys.
    let rotated = BinaryEnv::new(
        &app,
        &fake,
        &InteractionKeys::from_secret([5; 32]).public_key_hex(),
    )
    .with("SERVERPULSE_MASTER_KEY", &next_hex)
    .with("SERVERPULSE_MASTER_KEY_PREVIOUS", &master_hex)
    .run("rotate-keys", &["rotate-keys"]);
    assert!(rotated.status.success(), "{rotated:?}");
    for guild in [GUILD_A, GUILD_B] {
        let sealed = ai_providers::get(&app.db.pool, Snowflake(guild))
            .await
            .unwrap()
            .unwrap()
            .key
            .unwrap();
        assert_eq!(
            sealed.version,
            serverpulse_web::pulse::keys::version_of(&next_master)
        );
    }

    // Every key was used where it belongs, so the logs had the chance.
    let sent = fake.requests();
    let used = |header: &str, value: &str| sent.iter().any(|r| r.header(header) == Some(value));
    assert!(used("authorization", &format!("Bearer {guild_key}")));
    assert!(used("x-api-key", &other_key));
    assert!(used("authorization", &format!("Bearer {operator_key}")));
    let logs = secrets::captured();
    for process in ["digests run", "serve", "rotate-keys"] {
        let section = logs
            .split("---- ")
            .find(|s| s.starts_with(&format!("{process}: stderr")))
            .unwrap_or_else(|| panic!("{process} not captured"));
        // Verbose: a binary logs nothing below INFO unless told to.
        assert!(
            section.contains(" DEBUG "),
            "{process} not verbose: {section}"
        );
    }
    assert!(logs.contains("a provider failed to write a Pulse Report"));
}
