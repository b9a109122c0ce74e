//! The AI providers a Pulse Report can be written by: one adapter over
//! three wire formats (OpenAI-compatible chat completions, Gemini
//! `generateContent`, Anthropic Messages), spoken with our own reqwest
//! client. Base URLs come from the operator's configuration only.
//!
//! Each call has a connect timeout and a total budget (retries included);
//! a 429 or 5xx answer is retried at most [`RETRIES`] times, after the
//! provider's `retry-after` when it gives one, and never past the budget.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use shared::config::{AiConfig, ProviderKind, Secret, WireFormat};
use tokio::time::Instant;

/// Retries after the first attempt.
pub const RETRIES: u32 = 2;
/// Wait before a retry when the provider gives no `retry-after`.
const BACKOFF: Duration = Duration::from_millis(500);
/// Anthropic's API version header value.
pub const ANTHROPIC_VERSION: &str = "2023-06-01";
/// The longest error text kept from a provider's answer.
const ERROR_CHARS: usize = 200;

/// Why a provider gave no text. `Display` is one human line, never a key.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum ProviderError {
    #[error("{0} is not available on this ServerPulse (its base URL is not configured)")]
    Unavailable(&'static str),
    #[error("{0} needs an API key and none is set")]
    NoKey(&'static str),
    #[error("{provider} did not answer within {seconds} s")]
    Timeout {
        provider: &'static str,
        seconds: u64,
    },
    #[error("{provider} could not be reached: {reason}")]
    Connect {
        provider: &'static str,
        reason: String,
    },
    #[error("{provider} answered {status}: {message}")]
    Status {
        provider: &'static str,
        status: u16,
        message: String,
    },
    #[error("{provider} answered something that is not its API's JSON: {reason}")]
    Malformed {
        provider: &'static str,
        reason: String,
    },
    #[error("{provider} gave no text{}", reason.as_deref().map(|r| format!(" ({r})")).unwrap_or_default())]
    Empty {
        provider: &'static str,
        reason: Option<String>,
    },
    #[error("{provider}'s key cannot be used: {reason}")]
    Key {
        provider: &'static str,
        reason: String,
    },
    #[error("{provider}'s text used figures that are not ours: {numbers}")]
    InventedNumbers {
        provider: &'static str,
        numbers: String,
    },
}

/// One provider as a guild or the operator chose it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Provider {
    pub kind: ProviderKind,
    pub model: String,
    pub key: Option<Secret>,
}

/// What a provider wrote and what it counted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completion {
    pub text: String,
    pub tokens_in: i64,
    pub tokens_out: i64,
}

/// A request: system instructions, the user's part, an answer bound.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prompt {
    pub system: String,
    pub user: String,
    pub max_tokens: u32,
}

/// The HTTP side: one reqwest client with the configured connect timeout,
/// and the per-call budget.
#[derive(Debug, Clone)]
pub struct Providers {
    http: reqwest::Client,
    config: AiConfig,
}

impl Providers {
    pub fn new(config: &AiConfig) -> Self {
        let http = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .user_agent(concat!("ServerPulse/", env!("CARGO_PKG_VERSION")))
            .build()
            .unwrap_or_default();
        Self {
            http,
            config: config.clone(),
        }
    }

    pub fn config(&self) -> &AiConfig {
        &self.config
    }

    /// Asks `provider` for a completion of `prompt`, retrying 429 and 5xx
    /// within the total budget.
    pub async fn complete(
        &self,
        provider: &Provider,
        prompt: &Prompt,
    ) -> Result<Completion, ProviderError> {
        let name = provider.kind.label();
        let base = self
            .config
            .base_url(provider.kind)
            .ok_or(ProviderError::Unavailable(name))?;
        if provider.kind.needs_key() && provider.key.is_none() {
            return Err(ProviderError::NoKey(name));
        }
        let budget = self.config.request_timeout;
        let deadline = Instant::now() + budget;
        let timeout = || ProviderError::Timeout {
            provider: name,
            seconds: budget.as_secs().max(1),
        };
        let mut attempt = 0;
        loop {
            let remaining = deadline.saturating_duration_since(Instant::now());
            if remaining.is_zero() {
                return Err(timeout());
            }
            let request = build(&self.http, base, provider, prompt).timeout(remaining);
            let response = match request.send().await {
                Ok(response) => response,
                Err(e) if e.is_timeout() => return Err(timeout()),
                Err(e) => {
                    return Err(ProviderError::Connect {
                        provider: name,
                        reason: reqwest_reason(&e),
                    });
                }
            };
            let status = response.status();
            let retry_after = response
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(Duration::from_secs);
            let body = match response.bytes().await {
                Ok(body) => body,
                Err(e) if e.is_timeout() => return Err(timeout()),
                Err(e) => {
                    return Err(ProviderError::Connect {
                        provider: name,
                        reason: reqwest_reason(&e),
                    });
                }
            };
            if status.is_success() {
                return parse(provider.kind.wire_format(), name, &body);
            }
            let error = ProviderError::Status {
                provider: name,
                status: status.as_u16(),
                message: error_message(&body),
            };
            let retryable = status.as_u16() == 429 || status.is_server_error();
            if !retryable || attempt >= RETRIES {
                return Err(error);
            }
            let wait = retry_after.unwrap_or(BACKOFF * 2u32.pow(attempt));
            if Instant::now() + wait >= deadline {
                return Err(error);
            }
            tracing::info!(
                provider = provider.kind.name(),
                status = status.as_u16(),
                wait_ms = wait.as_millis() as u64,
                "provider asked us to retry"
            );
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }
}

/// What went wrong in one line, without the request's URL.
fn reqwest_reason(e: &reqwest::Error) -> String {
    let kind = if e.is_connect() {
        "connection failed"
    } else if e.is_body() || e.is_decode() {
        "reading the answer failed"
    } else {
        "request failed"
    };
    match std::error::Error::source(e) {
        Some(source) => format!("{kind}: {source}"),
        None => kind.to_owned(),
    }
}

fn build(
    http: &reqwest::Client,
    base: &str,
    provider: &Provider,
    prompt: &Prompt,
) -> reqwest::RequestBuilder {
    let key = provider.key.as_ref().map(Secret::expose);
    match provider.kind.wire_format() {
        WireFormat::OpenAiChat => {
            let body = json!({
                "model": provider.model,
                "messages": [
                    {"role": "system", "content": prompt.system},
                    {"role": "user", "content": prompt.user},
                ],
                "max_tokens": prompt.max_tokens,
                "temperature": 0.2,
            });
            let request = http.post(format!("{base}/chat/completions")).json(&body);
            match key {
                Some(key) => request.bearer_auth(key),
                None => request,
            }
        }
        WireFormat::Gemini => {
            let body = json!({
                "systemInstruction": {"parts": [{"text": prompt.system}]},
                "contents": [{"role": "user", "parts": [{"text": prompt.user}]}],
                "generationConfig": {"maxOutputTokens": prompt.max_tokens, "temperature": 0.2},
            });
            let request = http
                .post(format!(
                    "{base}/models/{}:generateContent",
                    provider.model.trim_start_matches("models/")
                ))
                .json(&body);
            match key {
                Some(key) => request.header("x-goog-api-key", key),
                None => request,
            }
        }
        WireFormat::Anthropic => {
            let body = json!({
                "model": provider.model,
                "max_tokens": prompt.max_tokens,
                "system": prompt.system,
                "messages": [{"role": "user", "content": prompt.user}],
                "temperature": 0.2,
            });
            let request = http
                .post(format!("{base}/messages"))
                .header("anthropic-version", ANTHROPIC_VERSION)
                .json(&body);
            match key {
                Some(key) => request.header("x-api-key", key),
                None => request,
            }
        }
    }
}

/// The provider's own error message from an error body (each format puts
/// it under `error.message`), cut to one short line.
fn error_message(body: &[u8]) -> String {
    let text = serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| {
            v["error"]["message"]
                .as_str()
                .or_else(|| v["error"].as_str())
                .or_else(|| v["message"].as_str())
                .map(str::to_owned)
        })
        .unwrap_or_else(|| String::from_utf8_lossy(body).into_owned());
    one_line(&text)
}

fn one_line(text: &str) -> String {
    let line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if line.is_empty() {
        return "no message".to_owned();
    }
    match line.char_indices().nth(ERROR_CHARS) {
        Some((i, _)) => format!("{}…", &line[..i]),
        None => line,
    }
}

#[derive(Deserialize)]
struct OpenAiResponse {
    choices: Vec<OpenAiChoice>,
    #[serde(default)]
    usage: Option<OpenAiUsage>,
}

#[derive(Deserialize)]
struct OpenAiChoice {
    message: OpenAiMessage,
    #[serde(default)]
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct OpenAiMessage {
    #[serde(default)]
    content: Option<String>,
    #[serde(default)]
    refusal: Option<String>,
}

#[derive(Deserialize, Serialize)]
struct OpenAiUsage {
    #[serde(default)]
    prompt_tokens: i64,
    #[serde(default)]
    completion_tokens: i64,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GeminiResponse {
    #[serde(default)]
    candidates: Vec<GeminiCandidate>,
    #[serde(default)]
    usage_metadata: Option<GeminiUsage>,
    #[serde(default)]
    prompt_feedback: Option<GeminiFeedback>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GeminiCandidate {
    #[serde(default)]
    content: Option<GeminiContent>,
    #[serde(default)]
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct GeminiContent {
    #[serde(default)]
    parts: Vec<GeminiPart>,
}

#[derive(Deserialize)]
struct GeminiPart {
    #[serde(default)]
    text: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GeminiUsage {
    #[serde(default)]
    prompt_token_count: i64,
    #[serde(default)]
    candidates_token_count: i64,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GeminiFeedback {
    #[serde(default)]
    block_reason: Option<String>,
}

#[derive(Deserialize)]
struct AnthropicResponse {
    #[serde(default)]
    content: Vec<AnthropicBlock>,
    #[serde(default)]
    stop_reason: Option<String>,
    #[serde(default)]
    usage: Option<AnthropicUsage>,
}

#[derive(Deserialize)]
struct AnthropicBlock {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    text: Option<String>,
}

#[derive(Deserialize)]
struct AnthropicUsage {
    #[serde(default)]
    input_tokens: i64,
    #[serde(default)]
    output_tokens: i64,
}

fn parse(format: WireFormat, name: &'static str, body: &[u8]) -> Result<Completion, ProviderError> {
    let malformed = |e: serde_json::Error| ProviderError::Malformed {
        provider: name,
        reason: one_line(&e.to_string()),
    };
    let (text, tokens_in, tokens_out, reason) = match format {
        WireFormat::OpenAiChat => {
            let r: OpenAiResponse = serde_json::from_slice(body).map_err(malformed)?;
            let usage = r.usage.unwrap_or(OpenAiUsage {
                prompt_tokens: 0,
                completion_tokens: 0,
            });
            let choice = r.choices.into_iter().next();
            let reason = choice.as_ref().and_then(|c| {
                c.message
                    .refusal
                    .clone()
                    .map(|r| format!("refused: {r}"))
                    .or_else(|| c.finish_reason.clone())
            });
            let text = choice.and_then(|c| c.message.content).unwrap_or_default();
            (text, usage.prompt_tokens, usage.completion_tokens, reason)
        }
        WireFormat::Gemini => {
            let r: GeminiResponse = serde_json::from_slice(body).map_err(malformed)?;
            let (tokens_in, tokens_out) = r
                .usage_metadata
                .map_or((0, 0), |u| (u.prompt_token_count, u.candidates_token_count));
            let candidate = r.candidates.into_iter().next();
            let reason = r
                .prompt_feedback
                .and_then(|f| f.block_reason)
                .map(|b| format!("blocked: {b}"))
                .or_else(|| candidate.as_ref().and_then(|c| c.finish_reason.clone()));
            let text = candidate
                .and_then(|c| c.content)
                .map(|c| {
                    c.parts
                        .into_iter()
                        .filter_map(|p| p.text)
                        .collect::<String>()
                })
                .unwrap_or_default();
            (text, tokens_in, tokens_out, reason)
        }
        WireFormat::Anthropic => {
            let r: AnthropicResponse = serde_json::from_slice(body).map_err(malformed)?;
            let (tokens_in, tokens_out) = r
                .usage
                .map_or((0, 0), |u| (u.input_tokens, u.output_tokens));
            let text = r
                .content
                .into_iter()
                .filter(|b| b.kind == "text")
                .filter_map(|b| b.text)
                .collect::<String>();
            (text, tokens_in, tokens_out, r.stop_reason)
        }
    };
    if text.trim().is_empty() {
        return Err(ProviderError::Empty {
            provider: name,
            reason: reason.map(|r| one_line(&r)),
        });
    }
    Ok(Completion {
        text,
        tokens_in,
        tokens_out,
    })
}
