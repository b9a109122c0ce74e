//! The `discord-sim` binary: keygen, scenario files, and serve (which a real
//! twilight shard connects to), stopped by SIGTERM.

mod common;

use std::io::{BufRead as _, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use futures_util::StreamExt as _;
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_discord-sim");

/// Kills the server this test started if an assertion fails before SIGTERM.
struct KillOnDrop(Option<std::process::Child>);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if let Some(child) = &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("discord-sim-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

#[test]
fn keygen_prints_a_matching_key_pair() {
    let output = Command::new(BIN).arg("keygen").output().unwrap();
    assert!(output.status.success());
    let keys: Value = serde_json::from_slice(&output.stdout).unwrap();
    let secret = keys["secret_key"].as_str().unwrap();
    let public = keys["public_key"].as_str().unwrap();
    assert_eq!((secret.len(), public.len()), (64, 64));
    let restored = discord_sim::InteractionKeys::from_secret_hex(secret).unwrap();
    assert_eq!(restored.public_key_hex(), public);
}

#[test]
fn unknown_commands_and_missing_values_fail() {
    assert!(
        !Command::new(BIN)
            .arg("explode")
            .output()
            .unwrap()
            .status
            .success()
    );
    let missing = Command::new(BIN)
        .args(["scenario", "--seed"])
        .output()
        .unwrap();
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("--seed needs a value"));
}

#[tokio::test]
async fn scenario_files_serve_to_a_twilight_shard() {
    let dir = temp_dir("serve");
    let output = Command::new(BIN)
        .args(["scenario", "--seed", "5", "--size", "tiny", "--out"])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let jsonl = dir.join("scenario.jsonl");
    let loaded = discord_sim::scenario_file::load_jsonl(&jsonl).unwrap();
    let (generated, truth) = sim_scenario::generate(5, sim_scenario::ScenarioSize::TINY);
    assert_eq!(
        loaded.events, generated.events,
        "the JSONL file holds the generated stream"
    );
    assert_eq!(loaded.guilds, generated.guilds);
    let written: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("ground-truth.json")).unwrap())
            .unwrap();
    assert_eq!(written, serde_json::to_value(&truth).unwrap());

    let child = Command::new(BIN)
        .args(["serve", "--jsonl"])
        .arg(&jsonl)
        .args([
            "--token",
            common::TOKEN,
            "--gateway-addr",
            "127.0.0.1:0",
            "--rest-addr",
            "127.0.0.1:0",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut child = KillOnDrop(Some(child));
    let stdout = child.0.as_mut().and_then(|c| c.stdout.take()).unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let mut urls = std::collections::HashMap::new();
    for _ in 0..3 {
        let line = lines.next().unwrap().unwrap();
        let (name, url) = line.split_once(char::is_whitespace).unwrap();
        urls.insert(name.to_owned(), url.trim().to_owned());
    }
    let gateway = &urls["gateway"];
    let bot: Value = reqwest::Client::new()
        .get(format!("{}/gateway/bot", urls["rest"]))
        .header("Authorization", format!("Bot {}", common::TOKEN))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(&bot["url"], gateway);

    let mut shard = common::shard(gateway, 0, 1);
    let read = async {
        loop {
            if let Some(Ok(twilight_gateway::Message::Text(text))) = shard.next().await
                && text.contains("\"GUILD_CREATE\"")
            {
                return text;
            }
        }
    };
    let guild_create = tokio::time::timeout(Duration::from_secs(30), read)
        .await
        .expect("GUILD_CREATE in time");
    let parsed = twilight_gateway::parse(guild_create, twilight_gateway::EventTypeFlags::all());
    assert!(matches!(parsed, Ok(Some(_))));

    // SIGTERM ends it cleanly.
    let mut child = child.0.take().expect("still running");
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = tokio::task::spawn_blocking(move || child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(exit.success(), "exit status {exit:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// `interact` signs a command with subcommands and options, and prints the
/// final message the endpoint answered with.
#[tokio::test]
async fn interact_prints_the_final_message() {
    let sim = discord_sim::start(
        discord_sim::SimConfig::new(common::TOKEN),
        common::scenario(&[common::guild_id(1, 0, 1)], 1, &[]),
    )
    .await
    .unwrap();
    let keys = discord_sim::InteractionKeys::generate();
    let public = keys.verifying_key();
    // An endpoint that checks the signature and echoes the command path,
    // the integer option and whether the member may manage the guild.
    let endpoint = axum::routing::post(
        move |headers: axum::http::HeaderMap, body: axum::body::Bytes| async move {
            let header = |name: &str| {
                headers
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_owned()
            };
            let signature = hex::decode(header("x-signature-ed25519")).unwrap();
            let signature = ed25519_dalek::Signature::from_slice(&signature).unwrap();
            let signed = [header("x-signature-timestamp").as_bytes(), &body].concat();
            if public.verify_strict(&signed, &signature).is_err() {
                return axum::response::IntoResponse::into_response(
                    axum::http::StatusCode::UNAUTHORIZED,
                );
            }
            let i: Value = serde_json::from_slice(&body).unwrap();
            let group = &i["data"]["options"][0];
            let sub = &group["options"][0];
            let content = format!(
                "{} {} {} days={} manage={}",
                i["data"]["name"].as_str().unwrap(),
                group["name"].as_str().unwrap(),
                sub["name"].as_str().unwrap(),
                sub["options"][0]["value"],
                i["member"]["permissions"]
                    .as_str()
                    .unwrap()
                    .parse::<u64>()
                    .unwrap()
                    & 32
                    != 0,
            );
            axum::response::IntoResponse::into_response(axum::Json(
                serde_json::json!({"type": 4, "data": {"content": content}}),
            ))
        },
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/interactions", listener.local_addr().unwrap());
    tokio::spawn(async move {
        axum::serve(
            listener,
            axum::Router::new().route("/interactions", endpoint),
        )
        .await
        .unwrap()
    });

    let run = |extra: &[&str]| {
        let mut command = Command::new(BIN);
        command.args([
            "interact",
            "--endpoint",
            &url,
            "--sim",
            &sim.rest.url(),
            "--secret",
            &keys.secret_hex(),
        ]);
        command
            .args(["--command", "stats channel top", "--int", "days=7"])
            .args(extra);
        command
    };
    let mut admin = run(&[]);
    let mut member = run(&["--member"]);
    let (admin, member) =
        tokio::task::spawn_blocking(move || (admin.output().unwrap(), member.output().unwrap()))
            .await
            .unwrap();
    for (output, manage) in [(admin, true), (member, false)] {
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let printed: Value = serde_json::from_slice(&output.stdout).unwrap();
        assert_eq!(printed["status"], 200);
        assert_eq!(printed["final_message"]["delivery"], "inline");
        assert_eq!(
            printed["final_message"]["message"]["content"],
            format!("stats channel top days=7 manage={manage}")
        );
    }
    sim.shutdown().await;
}
