//! The few Discord REST calls the endpoint makes: editing `@original` after
//! a deferral (JSON or multipart with PNG files) and registering commands.

use std::time::Duration;

use serde_json::Value;
use shared::Snowflake;
use shared::config::Secret;

/// Retries of one request after a 429 before giving up.
const MAX_RATE_LIMIT_RETRIES: u32 = 3;
/// The longest `retry_after` we are willing to sleep through.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum RestError {
    /// Without its URL: webhook URLs carry the interaction token.
    #[error("request to Discord failed: {0}")]
    Http(reqwest::Error),
    #[error("Discord answered {status}: {body}")]
    Status { status: u16, body: String },
    #[error("still rate limited after {MAX_RATE_LIMIT_RETRIES} retries")]
    RateLimited,
}

impl From<reqwest::Error> for RestError {
    fn from(error: reqwest::Error) -> Self {
        Self::Http(error.without_url())
    }
}

/// A file sent with a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    pub filename: String,
    /// Shared, not copied, by every retry of an upload.
    pub bytes: axum::body::Bytes,
}

impl Attachment {
    /// The MIME type its name says: charts are PNGs, exports CSV, JSON or
    /// gzip.
    pub fn mime_type(&self) -> &'static str {
        match self.filename.rsplit_once('.').map(|(_, ext)| ext) {
            Some("csv") => "text/csv",
            Some("json") => "application/json",
            Some("gz") => "application/gzip",
            _ => "image/png",
        }
    }
}

/// Discord's REST API (or the simulator's) for one application.
#[derive(Clone)]
pub struct DiscordRest {
    http: reqwest::Client,
    api_url: String,
    token: Secret,
    application_id: Snowflake,
}

impl std::fmt::Debug for DiscordRest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DiscordRest")
            .field("api_url", &self.api_url)
            .field("application_id", &self.application_id)
            .finish_non_exhaustive()
    }
}

impl DiscordRest {
    pub fn new(api_url: &str, token: Secret, application_id: Snowflake) -> Self {
        Self {
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(15))
                .user_agent("DiscordBot (https://github.com/serverpulse, 0.1) serverpulse-web")
                .build()
                .expect("a reqwest client with rustls builds"),
            api_url: api_url.trim_end_matches('/').to_owned(),
            token,
            application_id,
        }
    }

    /// `PATCH /webhooks/{app}/{token}/messages/@original`: the answer after a
    /// deferral. With files the body is multipart (`payload_json` plus
    /// `files[n]`), and the payload lists them under `attachments`.
    pub async fn edit_original(
        &self,
        interaction_token: &str,
        payload: Value,
        files: &[Attachment],
    ) -> Result<(), RestError> {
        let url = format!(
            "{}/webhooks/{}/{interaction_token}/messages/@original",
            self.api_url, self.application_id
        );
        self.send(|| message_body(self.http.patch(&url), &payload, files))
            .await
            .map(|_| ())
    }

    /// `DELETE /webhooks/{app}/{token}/messages/@original`.
    pub async fn delete_original(&self, interaction_token: &str) -> Result<(), RestError> {
        let url = format!(
            "{}/webhooks/{}/{interaction_token}/messages/@original",
            self.api_url, self.application_id
        );
        self.send(|| self.http.delete(&url)).await.map(|_| ())
    }

    /// `POST /webhooks/{app}/{token}`: a follow-up message (may be
    /// ephemeral), with its files.
    pub async fn follow_up(
        &self,
        interaction_token: &str,
        payload: &Value,
        files: &[Attachment],
    ) -> Result<(), RestError> {
        let url = format!(
            "{}/webhooks/{}/{interaction_token}",
            self.api_url, self.application_id
        );
        self.send(|| message_body(self.http.post(&url), payload, files))
            .await
            .map(|_| ())
    }

    /// Bulk-overwrites the application's commands, globally or in one guild.
    pub async fn overwrite_commands(
        &self,
        guild: Option<Snowflake>,
        commands: &Value,
    ) -> Result<Value, RestError> {
        let url = match guild {
            Some(guild) => format!(
                "{}/applications/{}/guilds/{guild}/commands",
                self.api_url, self.application_id
            ),
            None => format!(
                "{}/applications/{}/commands",
                self.api_url, self.application_id
            ),
        };
        let authorization = format!("Bot {}", self.token.expose());
        let response = self
            .send(|| {
                self.http
                    .put(&url)
                    .header(reqwest::header::AUTHORIZATION, &authorization)
                    .json(commands)
            })
            .await?;
        Ok(response.json().await?)
    }

    /// Sends the request `build` makes, sleeping through 429s as Discord's
    /// `retry_after` says (bounded), and turns other failures into errors.
    async fn send(
        &self,
        build: impl Fn() -> reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, RestError> {
        for _ in 0..=MAX_RATE_LIMIT_RETRIES {
            let response = build().send().await?;
            let status = response.status();
            if status == reqwest::StatusCode::TOO_MANY_REQUESTS {
                let body: Value = response.json().await.unwrap_or(Value::Null);
                let wait = body
                    .get("retry_after")
                    .and_then(Value::as_f64)
                    .map_or(Duration::from_secs(1), Duration::from_secs_f64)
                    .min(MAX_RETRY_AFTER);
                tracing::warn!(?wait, "rate limited by Discord; retrying");
                metrics::counter!("serverpulse_discord_rate_limited_total").increment(1);
                tokio::time::sleep(wait).await;
                continue;
            }
            if !status.is_success() {
                let body = response.text().await.unwrap_or_default();
                return Err(RestError::Status {
                    status: status.as_u16(),
                    body: body.chars().take(500).collect(),
                });
            }
            return Ok(response);
        }
        Err(RestError::RateLimited)
    }
}

/// A message's body as Discord takes it: JSON alone, or with files
/// multipart: `payload_json` (listing the files under `attachments`) and
/// one `files[n]` part each (PNG charts, CSV/JSON/gzip exports). Used for deferred answers and for the
/// messages ServerPulse posts on its own.
pub(crate) fn message_body(
    request: reqwest::RequestBuilder,
    payload: &Value,
    files: &[Attachment],
) -> reqwest::RequestBuilder {
    if files.is_empty() {
        return request.json(payload);
    }
    let mut payload = payload.clone();
    payload["attachments"] = files
        .iter()
        .enumerate()
        .map(|(i, f)| serde_json::json!({"id": i, "filename": f.filename}))
        .collect();
    let mut form = reqwest::multipart::Form::new().part(
        "payload_json",
        reqwest::multipart::Part::text(payload.to_string())
            .mime_str("application/json")
            .expect("a valid MIME type"),
    );
    for (i, file) in files.iter().enumerate() {
        form = form.part(
            format!("files[{i}]"),
            reqwest::multipart::Part::stream_with_length(
                file.bytes.clone(),
                file.bytes.len() as u64,
            )
            .file_name(file.filename.clone())
            .mime_str(file.mime_type())
            .expect("a valid MIME type"),
        );
    }
    request.multipart(form)
}
