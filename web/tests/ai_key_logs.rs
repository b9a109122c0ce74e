//! No API key reaches a log line: everything logged at every level (our
//! crates and the HTTP stack alike) while a key is set through the modal,
//! used, rejected by its provider, and the operator's key is used, holds
//! neither key. One test in its own binary, so the process-wide log
//! capture sees only it.

#[allow(unused_imports)]
mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Duration as Span;
use common::*;
use discord_sim::InteractionKind;
use serverpulse_testkit::providers::{FakeProviders, Fault};
use serverpulse_testkit::web::{WebApp, WebAppOptions};
use serverpulse_web::component::ComponentId;
use shared::config::{AiConfig, DefaultProvider, MasterKey, ProviderKind, Secret};

const GUILD_KEY: &str = "sk-guild-logged-never-5a5a";
const OPERATOR_KEY: &str = "sk-operator-logged-never-6b6b";

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_key_is_ever_logged() {
    let captured = Captured::default();
    let writer = captured.clone();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .init();

    let fake = FakeProviders::start().await;
    let ai = AiConfig {
        base_urls: ProviderKind::ALL
            .into_iter()
            .map(|k| (k, fake.url(k.name())))
            .collect(),
        default_provider: Some(DefaultProvider {
            kind: ProviderKind::Groq,
            model: "llama".to_owned(),
            key: Some(Secret::new(OPERATOR_KEY)),
        }),
        master_key: Some(MasterKey::from_bytes([9; 32])),
        connect_timeout: Duration::from_secs(1),
        request_timeout: Duration::from_secs(2),
        ..AiConfig::default()
    };
    let now = at(DST_START_MS) + Span::hours(9);
    let app = WebApp::start(WebAppOptions {
        ai: Some(ai),
        ..WebAppOptions::at(TOKEN, now)
    })
    .await;
    let guild = 9_100;
    enable_tracking(&app, guild, "UTC").await;
    let admin = admin(guild);
    let set = command(
        "ai-provider",
        vec![sub("set", vec![string("provider", "openai")])],
    );
    final_message(&app, &set, &admin).await;
    let outcome = send(
        &app,
        &command("ai-provider", vec![sub("key", vec![])]),
        &admin,
    )
    .await;
    let modal = outcome.response.expect("a modal");
    let submit = InteractionKind::ModalSubmit {
        custom_id: modal["data"]["custom_id"].as_str().unwrap().to_owned(),
        fields: vec![(ComponentId::ApiKeyInput.encode(), GUILD_KEY.to_owned())],
    };
    final_message(&app, &submit, &admin).await;
    // The guild's provider rejects its key; the operator's answers.
    fake.always("openai", Some(Fault::Unauthorized));
    let report = final_message(&app, &command("pulse-report", vec![]), &admin).await;
    assert!(
        embed(&report)["footer"]["text"]
            .as_str()
            .unwrap()
            .starts_with("Written by Groq (llama)."),
        "{report:?}"
    );
    let test = command("ai-provider", vec![sub("test", vec![])]);
    final_message(&app, &test, &admin).await;
    assert!(fake.requests().len() >= 3);

    let logs = String::from_utf8_lossy(&captured.0.lock().unwrap()).into_owned();
    assert!(
        logs.contains("a provider failed"),
        "the capture works: {logs}"
    );
    for key in [GUILD_KEY, OPERATOR_KEY] {
        assert!(!logs.contains(key), "{key} logged");
        assert!(!logs.contains(&key[..14]), "part of {key} logged");
    }
}
