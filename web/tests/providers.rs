//! The provider adapter against the fake provider server: each wire
//! format's request (URL path, auth header, body) and usage counts, and
//! each fault (500, 429 with retry-after, a hang past the budget,
//! malformed JSON, a refusal) turning into a retry or a one-line error.

use std::time::Duration;

use serverpulse_testkit::providers::{FakeProviders, Fault, TOKENS_IN, TOKENS_OUT};
use serverpulse_testkit::secrets;
use serverpulse_web::pulse::providers::{Prompt, Provider, ProviderError, Providers};
use shared::config::{AiConfig, ProviderKind, Secret};

/// The provider key of these tests (distinctive, recorded for the log check).
fn key() -> &'static str {
    static KEY: std::sync::LazyLock<String> =
        std::sync::LazyLock::new(|| serverpulse_testkit::secrets::api_key("providers"));
    &KEY
}

fn config(fake: &FakeProviders, budget: Duration) -> AiConfig {
    AiConfig {
        base_urls: ProviderKind::ALL
            .into_iter()
            .map(|k| (k, fake.url(k.name())))
            .collect(),
        request_timeout: budget,
        connect_timeout: Duration::from_secs(1),
        ..AiConfig::default()
    }
}

fn provider(kind: ProviderKind) -> Provider {
    Provider {
        kind,
        model: kind.default_model().to_owned(),
        key: Some(Secret::new(key())),
    }
}

fn prompt() -> Prompt {
    Prompt {
        system: "Write the report.".to_owned(),
        user: "messages: 10".to_owned(),
        max_tokens: 100,
    }
}

#[tokio::test]
async fn each_wire_format_sends_its_own_path_auth_and_body_and_counts_tokens() {
    let _keys = secrets::check();
    let fake = FakeProviders::start().await;
    let providers = Providers::new(&config(&fake, Duration::from_secs(10)));
    for kind in ProviderKind::ALL {
        let done = providers.complete(&provider(kind), &prompt()).await;
        let done = done.unwrap_or_else(|e| panic!("{kind:?}: {e}"));
        assert_eq!((done.tokens_in, done.tokens_out), (TOKENS_IN, TOKENS_OUT));
        assert!(!done.text.is_empty());
        let requests = fake.requests_to(kind.name());
        assert_eq!(requests.len(), 1, "{kind:?}");
        let r = &requests[0];
        assert_eq!(r.method, "POST");
        assert_eq!(r.query, None, "the key never goes in the URL");
        let prefix = format!("/{}/v1", kind.name());
        match kind {
            ProviderKind::Gemini => {
                assert_eq!(
                    r.path,
                    format!("{prefix}/models/gemini-2.0-flash:generateContent")
                );
                assert_eq!(r.header("x-goog-api-key"), Some(key()));
                assert_eq!(r.header("authorization"), None);
                assert_eq!(
                    r.body["systemInstruction"]["parts"][0]["text"],
                    "Write the report."
                );
                assert_eq!(r.body["contents"][0]["role"], "user");
                assert_eq!(r.body["contents"][0]["parts"][0]["text"], "messages: 10");
                assert_eq!(r.body["generationConfig"]["maxOutputTokens"], 100);
            }
            ProviderKind::Anthropic => {
                assert_eq!(r.path, format!("{prefix}/messages"));
                assert_eq!(r.header("x-api-key"), Some(key()));
                assert_eq!(r.header("anthropic-version"), Some("2023-06-01"));
                assert_eq!(r.header("authorization"), None);
                assert_eq!(r.body["model"], kind.default_model());
                assert_eq!(r.body["system"], "Write the report.");
                assert_eq!(r.body["max_tokens"], 100);
                assert_eq!(r.body["messages"][0]["role"], "user");
                assert_eq!(r.body["messages"][0]["content"], "messages: 10");
            }
            _ => {
                assert_eq!(r.path, format!("{prefix}/chat/completions"));
                assert_eq!(
                    r.header("authorization"),
                    Some(format!("Bearer {}", key()).as_str())
                );
                assert_eq!(r.header("x-api-key"), None);
                assert_eq!(r.body["model"], kind.default_model());
                assert_eq!(r.body["messages"][0]["role"], "system");
                assert_eq!(r.body["messages"][0]["content"], "Write the report.");
                assert_eq!(r.body["messages"][1]["role"], "user");
                assert_eq!(r.body["messages"][1]["content"], "messages: 10");
                assert_eq!(r.body["max_tokens"], 100);
            }
        }
    }
}

#[tokio::test]
async fn a_500_and_a_429_are_retried_after_the_providers_retry_after() {
    let _keys = secrets::check();
    let fake = FakeProviders::start().await;
    let providers = Providers::new(&config(&fake, Duration::from_secs(10)));
    fake.queue(
        "openai",
        [
            Fault::ServerError,
            Fault::RateLimited {
                retry_after_secs: 1,
            },
        ],
    );
    let done = providers
        .complete(&provider(ProviderKind::OpenAi), &prompt())
        .await
        .unwrap();
    assert_eq!(done.tokens_out, TOKENS_OUT);
    assert_eq!(fake.requests_to("openai").len(), 3);

    // Three failures in a row: two retries, then the provider's message.
    fake.always("anthropic", Some(Fault::ServerError));
    let error = providers
        .complete(&provider(ProviderKind::Anthropic), &prompt())
        .await
        .unwrap_err();
    assert_eq!(fake.requests_to("anthropic").len(), 3);
    assert_eq!(
        error.to_string(),
        "Anthropic answered 500: The server had an error"
    );
}

#[tokio::test]
async fn a_retry_after_past_the_budget_is_not_waited_for() {
    let _keys = secrets::check();
    // A 500 without retry-after would be retried within these 2 s; a 429
    // asking for 30 s is answered at once with the provider's message.
    let fake = FakeProviders::start().await;
    let providers = Providers::new(&config(&fake, Duration::from_secs(2)));
    fake.queue(
        "groq",
        [Fault::RateLimited {
            retry_after_secs: 30,
        }],
    );
    let error = providers
        .complete(&provider(ProviderKind::Groq), &prompt())
        .await
        .unwrap_err();
    assert_eq!(fake.requests_to("groq").len(), 1);
    assert_eq!(error.to_string(), "Groq answered 429: Rate limit reached");
}

#[tokio::test]
async fn a_hang_malformed_json_a_refusal_and_a_bad_key_are_one_line_errors() {
    let _keys = secrets::check();
    let fake = FakeProviders::start().await;
    let providers = Providers::new(&config(&fake, Duration::from_secs(1)));
    fake.queue("xai", [Fault::Hang]);
    let error = providers
        .complete(&provider(ProviderKind::Xai), &prompt())
        .await
        .unwrap_err();
    assert_eq!(
        error,
        ProviderError::Timeout {
            provider: "xAI Grok",
            seconds: 1
        }
    );

    fake.queue("openrouter", [Fault::Malformed]);
    let error = providers
        .complete(&provider(ProviderKind::OpenRouter), &prompt())
        .await
        .unwrap_err();
    assert!(
        matches!(error, ProviderError::Malformed { .. }),
        "{error:?}"
    );

    for (kind, reason) in [
        (ProviderKind::OpenAi, "refused: I can't help with that."),
        (ProviderKind::Gemini, "blocked: SAFETY"),
        (ProviderKind::Anthropic, "refusal"),
    ] {
        fake.queue(kind.name(), [Fault::Refusal]);
        let error = providers
            .complete(&provider(kind), &prompt())
            .await
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            format!("{} gave no text ({reason})", kind.label())
        );
    }

    fake.queue("gemini", [Fault::Unauthorized]);
    let error = providers
        .complete(&provider(ProviderKind::Gemini), &prompt())
        .await
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "Google Gemini answered 401: Incorrect API key provided"
    );
    assert!(!error.to_string().contains(key()));
}

#[tokio::test]
async fn an_unconfigured_provider_or_a_missing_key_sends_nothing() {
    let _keys = secrets::check();
    let fake = FakeProviders::start().await;
    let mut config = config(&fake, Duration::from_secs(1));
    config.base_urls.retain(|(k, _)| *k != ProviderKind::Ollama);
    let providers = Providers::new(&config);
    let error = providers
        .complete(&provider(ProviderKind::Ollama), &prompt())
        .await
        .unwrap_err();
    assert_eq!(error, ProviderError::Unavailable("Ollama"));
    let keyless = Provider {
        key: None,
        ..provider(ProviderKind::OpenAi)
    };
    let error = providers.complete(&keyless, &prompt()).await.unwrap_err();
    assert_eq!(error, ProviderError::NoKey("OpenAI"));
    assert!(fake.requests().is_empty());
}
