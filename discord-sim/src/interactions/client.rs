//! Signed POSTs to the product's endpoint, then following the product's
//! answer through the simulator's control routes.

use std::time::Duration;

use serde_json::{Value, json};

use super::InteractionError;
use super::keys::InteractionKeys;
use super::kinds::{InteractionKind, Invoker};
use super::outcome::{Delivery, FinalMessage, InteractionOutcome};
use super::payload::{fresh_id, fresh_token, interaction_payload};
use crate::rest::InteractionRecord;

/// Sends interactions to the product and follows them through the
/// simulator's REST side (reached over HTTP, so it works across processes).
#[derive(Debug, Clone)]
pub struct InteractionClient {
    http: reqwest::Client,
    endpoint: String,
    sim_url: String,
    keys: InteractionKeys,
    application_id: u64,
    /// How long to wait for a deferred answer.
    pub follow_timeout: Duration,
}

impl InteractionClient {
    /// `endpoint`: the product's interactions URL; `sim_url`: the
    /// simulator's REST base (`RestHandle::url`).
    pub fn new(
        endpoint: impl Into<String>,
        sim_url: impl Into<String>,
        keys: InteractionKeys,
    ) -> Self {
        Self {
            http: reqwest::Client::new(),
            endpoint: endpoint.into(),
            sim_url: sim_url.into().trim_end_matches('/').to_owned(),
            keys,
            application_id: crate::DEFAULT_APPLICATION_ID,
            follow_timeout: Duration::from_secs(10),
        }
    }

    pub fn with_application_id(mut self, application_id: u64) -> Self {
        self.application_id = application_id;
        self
    }

    pub fn keys(&self) -> &InteractionKeys {
        &self.keys
    }

    /// POSTs `body` signed with `keys` (not necessarily the client's own);
    /// returns the status and the body.
    pub async fn post_signed(
        &self,
        body: &[u8],
        keys: &InteractionKeys,
    ) -> Result<(u16, Vec<u8>), InteractionError> {
        let timestamp = chrono::Utc::now().timestamp().to_string();
        let signature = keys.sign(&timestamp, body);
        let response = self
            .http
            .post(&self.endpoint)
            .header("Content-Type", "application/json")
            .header(
                "User-Agent",
                "Discord-Interactions/1.0 (+https://discord.com)",
            )
            .header("X-Signature-Ed25519", signature)
            .header("X-Signature-Timestamp", timestamp)
            .body(body.to_vec())
            .send()
            .await
            .map_err(|source| InteractionError::Http {
                url: self.endpoint.clone(),
                source,
            })?;
        let status = response.status().as_u16();
        let bytes = response
            .bytes()
            .await
            .map_err(|source| InteractionError::Http {
                url: self.endpoint.clone(),
                source,
            })?;
        Ok((status, bytes.to_vec()))
    }

    /// Sends one interaction and follows it to the final message.
    pub async fn send(
        &self,
        kind: &InteractionKind,
        invoker: &Invoker,
    ) -> Result<InteractionOutcome, InteractionError> {
        let interaction_id = fresh_id();
        let token = fresh_token();
        self.register(interaction_id, &token).await?;
        let payload =
            interaction_payload(kind, invoker, self.application_id, interaction_id, &token);
        let body = serde_json::to_vec(&payload).expect("JSON values serialize");
        let (status, answer) = self.post_signed(&body, &self.keys).await?;
        let response: Option<Value> = serde_json::from_slice(&answer).ok();
        let answer_error = self.report(&token, status, response.as_ref()).await?;
        let response_type = response
            .as_ref()
            .and_then(|r| r.get("type"))
            .and_then(Value::as_u64);
        let final_message = match (status, response_type) {
            (200, Some(4 | 7)) => Some(FinalMessage {
                message: response
                    .as_ref()
                    .and_then(|r| r.get("data"))
                    .cloned()
                    .unwrap_or_else(|| json!({})),
                files: Vec::new(),
                delivery: Delivery::Inline,
            }),
            (200, Some(5 | 6)) => self.follow(&token, 0, true).await?,
            (202, _) => self.follow(&token, 0, false).await?,
            _ => None,
        };
        let record = self.record(&token, None).await?;
        Ok(InteractionOutcome {
            interaction_id,
            token,
            payload,
            status,
            response,
            answer_error,
            final_message,
            record,
        })
    }

    /// Tells the simulator what the product answered over HTTP, as Discord
    /// would know it; returns Discord's objection to the answer, if any.
    async fn report(
        &self,
        token: &str,
        status: u16,
        body: Option<&Value>,
    ) -> Result<Option<Value>, InteractionError> {
        let url = format!("{}/_sim/interactions/{token}/answer", self.sim_url);
        let response = self
            .http
            .post(&url)
            .json(&json!({"status": status, "body": body}))
            .send()
            .await
            .map_err(|source| InteractionError::Http {
                url: url.clone(),
                source,
            })?;
        match response.status().as_u16() {
            204 => Ok(None),
            400 => Ok(response.json().await.ok()),
            status => Err(InteractionError::Simulator { url, status }),
        }
    }

    async fn register(&self, interaction_id: u64, token: &str) -> Result<(), InteractionError> {
        let url = format!("{}/_sim/interactions", self.sim_url);
        let response = self
            .http
            .post(&url)
            .json(&json!({"id": interaction_id.to_string(), "token": token}))
            .send()
            .await
            .map_err(|source| InteractionError::Http {
                url: url.clone(),
                source,
            })?;
        if !response.status().is_success() {
            return Err(InteractionError::Simulator {
                url,
                status: response.status().as_u16(),
            });
        }
        Ok(())
    }

    /// The token's record; with `after`, waits (bounded) for a change past it.
    async fn record(
        &self,
        token: &str,
        after: Option<(u64, Duration)>,
    ) -> Result<Option<InteractionRecord>, InteractionError> {
        let mut url = format!("{}/_sim/interactions/{token}", self.sim_url);
        if let Some((version, timeout)) = after {
            url.push_str(&format!(
                "?after_version={version}&timeout_ms={}",
                timeout.as_millis()
            ));
        }
        let response =
            self.http
                .get(&url)
                .send()
                .await
                .map_err(|source| InteractionError::Http {
                    url: url.clone(),
                    source,
                })?;
        if response.status() == reqwest::StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if !response.status().is_success() {
            return Err(InteractionError::Simulator {
                url,
                status: response.status().as_u16(),
            });
        }
        response
            .json()
            .await
            .map(Some)
            .map_err(|source| InteractionError::Http { url, source })
    }

    /// Waits for the product's next moves: a callback (after 202) and, after
    /// a deferral, the edit of `@original`.
    async fn follow(
        &self,
        token: &str,
        mut version: u64,
        deferred: bool,
    ) -> Result<Option<FinalMessage>, InteractionError> {
        let deadline = tokio::time::Instant::now() + self.follow_timeout;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let Some(record) = self.record(token, Some((version, left))).await? else {
                return Ok(None);
            };
            let answer = match record.callback_type {
                Some(5 | 6) if record.original_edits > 0 => Some(Delivery::EditedOriginal),
                Some(4 | 7) if !deferred => Some(Delivery::Callback),
                _ => None,
            };
            if let (Some(delivery), Some(original)) = (answer, &record.original) {
                return Ok(Some(FinalMessage {
                    message: original.message.clone(),
                    files: original.files.clone(),
                    delivery,
                }));
            }
            if record.version == version && tokio::time::Instant::now() >= deadline {
                return Ok(None);
            }
            version = record.version;
        }
    }
}
