//! What the REST side keeps for tests: every request it answered and the
//! messages and interaction tokens it holds.

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A file part of a multipart request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordedFile {
    /// The part's name, e.g. `files[0]`.
    pub field: String,
    pub filename: Option<String>,
    pub content_type: Option<String>,
    pub size: usize,
    /// The bytes, kept in memory (left out of the JSONL log).
    #[serde(skip)]
    pub bytes: Vec<u8>,
}

/// One request the REST side answered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordedRequest {
    pub method: String,
    pub path: String,
    /// `METHOD /template`, e.g. `POST /channels/{channel_id}/messages`;
    /// `None` for routes the simulator does not know.
    pub route: Option<String>,
    pub status: u16,
    /// Whether `Authorization: Bot <token>` was present and right.
    pub authorized: bool,
    pub content_type: Option<String>,
    /// Body size in bytes.
    pub size: usize,
    /// The JSON body, or a multipart request's `payload_json`.
    pub json: Option<Value>,
    pub files: Vec<RecordedFile>,
    /// The JSON the simulator answered with, if any.
    pub response: Option<Value>,
    pub at_ms: i64,
}

/// A message as the simulator keeps it, with its files' bytes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredMessage {
    /// The message object as Discord would return it.
    pub message: Value,
    /// One per attachment of `message`, same order.
    pub files: Vec<StoredFile>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredFile {
    pub attachment_id: String,
    pub filename: String,
    pub content_type: Option<String>,
    /// Base64 (standard alphabet) so the control API can carry it as JSON.
    pub base64: String,
}

impl StoredFile {
    pub fn bytes(&self) -> Vec<u8> {
        base64::engine::general_purpose::STANDARD
            .decode(&self.base64)
            .unwrap_or_default()
    }
}

/// What happened to one interaction token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InteractionRecord {
    pub interaction_id: String,
    pub token: String,
    /// Bumped by every callback, edit and follow-up.
    pub version: u64,
    /// The callback type answered through `POST /interactions/.../callback`.
    pub callback_type: Option<u64>,
    /// The raw callback body.
    pub callback: Option<Value>,
    /// The original response: from a type 4/7 callback or the `@original` edits.
    pub original: Option<StoredMessage>,
    /// How many times `@original` was edited.
    pub original_edits: u32,
    pub followups: Vec<StoredMessage>,
    pub expired: bool,
    /// Sent to the product, whose HTTP answer the simulator has not heard yet.
    pub awaiting_http_answer: bool,
    /// The product's HTTP answer, as the interactions client reported it.
    pub http_answer: Option<Value>,
}
