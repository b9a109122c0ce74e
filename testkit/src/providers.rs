//! A fake AI provider server: the three wire formats the Pulse Report
//! speaks (OpenAI-compatible `/chat/completions`, Gemini
//! `/models/{model}:generateContent`, Anthropic `/messages`), under any
//! path prefix, so one server stands in for several providers at once
//! (`{base}/openai/v1`, `{base}/anthropic/v1`, …). It records every request
//! (method, path, query, headers, body) and injects faults per prefix.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// What the server does with the next request under a prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// 500 with an error body in the format's shape.
    ServerError,
    /// 429 with `retry-after` of this many seconds.
    RateLimited { retry_after_secs: u64 },
    /// 401 with the format's error body ("invalid API key").
    Unauthorized,
    /// Never answers (well, after ten minutes).
    Hang,
    /// 200 with a body that is not JSON.
    Malformed,
    /// 200 with no text: a refusal (OpenAI), a blocked prompt (Gemini), an
    /// empty content list (Anthropic).
    Refusal,
}

/// One request as received.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    pub headers: Vec<(String, String)>,
    pub body: Value,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Default)]
struct Inner {
    requests: Vec<Recorded>,
    /// One-shot faults per prefix, in order.
    queued: HashMap<String, Vec<Fault>>,
    /// A fault every request under the prefix gets.
    always: HashMap<String, Fault>,
    /// The text answered under a prefix (else [`DEFAULT_REPLY`]).
    replies: HashMap<String, String>,
}

/// What a provider answers unless told otherwise: no numbers at all.
pub const DEFAULT_REPLY: &str = "## What changed most\nThe community was about as busy as usual.";
/// The usage every successful answer reports.
pub const TOKENS_IN: i64 = 321;
pub const TOKENS_OUT: i64 = 54;

/// The running server; it stops when dropped.
pub struct FakeProviders {
    /// `http://127.0.0.1:port`.
    pub base: String,
    inner: Arc<Mutex<Inner>>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for FakeProviders {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl FakeProviders {
    pub async fn start() -> Self {
        let inner = Arc::new(Mutex::new(Inner::default()));
        let state = inner.clone();
        let router = Router::new().fallback(
            move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
                let state = state.clone();
                async move { answer(state, method, uri, headers, body).await }
            },
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the fake providers");
        let addr = listener.local_addr().expect("bound address");
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Self {
            base: format!("http://{addr}"),
            inner,
            server,
        }
    }

    /// The base URL of a provider under `prefix` (`{base}/{prefix}/v1`).
    pub fn url(&self, prefix: &str) -> String {
        format!("{}/{prefix}/v1", self.base)
    }

    /// The next requests under `prefix` get these faults, in order.
    pub fn queue(&self, prefix: &str, faults: impl IntoIterator<Item = Fault>) {
        let mut inner = self.inner.lock().unwrap();
        let queue = inner.queued.entry(prefix.to_owned()).or_default();
        queue.extend(faults);
    }

    /// Every request under `prefix` gets `fault` (or none again).
    pub fn always(&self, prefix: &str, fault: Option<Fault>) {
        let mut inner = self.inner.lock().unwrap();
        match fault {
            Some(f) => inner.always.insert(prefix.to_owned(), f),
            None => inner.always.remove(prefix),
        };
    }

    /// The text answered under `prefix`.
    pub fn reply(&self, prefix: &str, text: &str) {
        let mut inner = self.inner.lock().unwrap();
        inner.replies.insert(prefix.to_owned(), text.to_owned());
    }

    /// Every request so far, oldest first.
    pub fn requests(&self) -> Vec<Recorded> {
        self.inner.lock().unwrap().requests.clone()
    }

    /// The requests under `prefix`.
    pub fn requests_to(&self, prefix: &str) -> Vec<Recorded> {
        let start = format!("/{prefix}/");
        self.requests()
            .into_iter()
            .filter(|r| r.path.starts_with(&start))
            .collect()
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Format {
    OpenAi,
    Gemini,
    Anthropic,
}

async fn answer(
    state: Arc<Mutex<Inner>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_owned();
    let prefix = path
        .trim_start_matches('/')
        .split('/')
        .next()
        .unwrap_or_default()
        .to_owned();
    let (fault, reply) = {
        let mut inner = state.lock().unwrap();
        inner.requests.push(Recorded {
            method: method.to_string(),
            path: path.clone(),
            query: uri.query().map(str::to_owned),
            headers: headers
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_str().unwrap_or_default().to_owned()))
                .collect(),
            body: serde_json::from_slice(&body).unwrap_or(Value::Null),
        });
        let queued = inner
            .queued
            .get_mut(&prefix)
            .filter(|q| !q.is_empty())
            .map(|q| q.remove(0));
        let fault = queued.or_else(|| inner.always.get(&prefix).cloned());
        let reply = inner
            .replies
            .get(&prefix)
            .cloned()
            .unwrap_or_else(|| DEFAULT_REPLY.to_owned());
        (fault, reply)
    };
    let format = if path.ends_with("/chat/completions") {
        Format::OpenAi
    } else if path.ends_with(":generateContent") {
        Format::Gemini
    } else if path.ends_with("/messages") {
        Format::Anthropic
    } else {
        return (StatusCode::NOT_FOUND, "no such endpoint").into_response();
    };
    let error = |status: StatusCode, message: &str| {
        let body = match format {
            Format::Anthropic => {
                json!({"type": "error", "error": {"type": "api_error", "message": message}})
            }
            Format::Gemini => {
                json!({"error": {"code": status.as_u16(), "message": message, "status": "ERROR"}})
            }
            Format::OpenAi => {
                json!({"error": {"message": message, "type": "server_error", "code": null}})
            }
        };
        (status, axum::Json(body)).into_response()
    };
    match fault {
        Some(Fault::ServerError) => {
            return error(StatusCode::INTERNAL_SERVER_ERROR, "The server had an error");
        }
        Some(Fault::RateLimited { retry_after_secs }) => {
            let mut response = error(StatusCode::TOO_MANY_REQUESTS, "Rate limit reached");
            response.headers_mut().insert(
                "retry-after",
                retry_after_secs.to_string().parse().expect("header value"),
            );
            return response;
        }
        Some(Fault::Unauthorized) => {
            return error(StatusCode::UNAUTHORIZED, "Incorrect API key provided");
        }
        Some(Fault::Hang) => {
            tokio::time::sleep(Duration::from_secs(600)).await;
            return error(StatusCode::GATEWAY_TIMEOUT, "hung");
        }
        Some(Fault::Malformed) => {
            return (StatusCode::OK, "{\"choices\": [ this is not json").into_response();
        }
        Some(Fault::Refusal) => {
            let body = match format {
                Format::OpenAi => json!({
                    "choices": [{"index": 0, "finish_reason": "stop",
                                 "message": {"role": "assistant", "content": null,
                                             "refusal": "I can't help with that."}}],
                    "usage": {"prompt_tokens": TOKENS_IN, "completion_tokens": 0}
                }),
                Format::Gemini => json!({
                    "promptFeedback": {"blockReason": "SAFETY"},
                    "usageMetadata": {"promptTokenCount": TOKENS_IN, "candidatesTokenCount": 0}
                }),
                Format::Anthropic => json!({
                    "type": "message", "role": "assistant", "content": [],
                    "stop_reason": "refusal",
                    "usage": {"input_tokens": TOKENS_IN, "output_tokens": 0}
                }),
            };
            return (StatusCode::OK, axum::Json(body)).into_response();
        }
        None => {}
    }
    let body = match format {
        Format::OpenAi => json!({
            "id": "chatcmpl-fake", "object": "chat.completion",
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": reply}}],
            "usage": {"prompt_tokens": TOKENS_IN, "completion_tokens": TOKENS_OUT,
                      "total_tokens": TOKENS_IN + TOKENS_OUT}
        }),
        Format::Gemini => json!({
            "candidates": [{"content": {"role": "model", "parts": [{"text": reply}]},
                            "finishReason": "STOP"}],
            "usageMetadata": {"promptTokenCount": TOKENS_IN, "candidatesTokenCount": TOKENS_OUT,
                              "totalTokenCount": TOKENS_IN + TOKENS_OUT}
        }),
        Format::Anthropic => json!({
            "id": "msg_fake", "type": "message", "role": "assistant",
            "content": [{"type": "text", "text": reply}],
            "stop_reason": "end_turn",
            "usage": {"input_tokens": TOKENS_IN, "output_tokens": TOKENS_OUT}
        }),
    };
    (StatusCode::OK, axum::Json(body)).into_response()
}
