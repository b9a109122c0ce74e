//! What an interaction ended as: the message a user would see, and how.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::payload::{fresh_id, user};
use crate::rest::{InteractionRecord, StoredFile};

/// How the final message reached the user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Delivery {
    /// Type 4 or 7 in the HTTP response.
    Inline,
    /// 202, then a type 4 or 7 through `POST /interactions/.../callback`.
    Callback,
    /// A deferral (5 or 6), then `PATCH .../messages/@original`.
    EditedOriginal,
}

/// The message a user would end up seeing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FinalMessage {
    pub message: Value,
    pub files: Vec<StoredFile>,
    pub delivery: Delivery,
}

impl FinalMessage {
    /// Only the invoking user sees it.
    pub fn ephemeral(&self) -> bool {
        self.message
            .get("flags")
            .and_then(Value::as_u64)
            .is_some_and(|f| f & 64 != 0)
    }

    /// The message as Discord puts it in the `message` field of a component
    /// interaction: the answer's content, embeds, components, flags and
    /// attachments on a message by the application's bot user, with every
    /// field twilight-model requires.
    pub fn to_message_object(
        &self,
        message_id: u64,
        channel_id: u64,
        application_id: u64,
    ) -> Value {
        let answer = &self.message;
        let attachments: Vec<Value> = self
            .files
            .iter()
            .map(|f| {
                // Uploads name attachments by index; the stored message gives
                // each a snowflake of its own.
                json!({
                    "id": fresh_id().to_string(), "filename": f.filename, "size": f.bytes().len(),
                    "url": format!("https://cdn.discordapp.com/attachments/{channel_id}/{message_id}/{}", f.filename),
                    "proxy_url": format!("https://media.discordapp.net/attachments/{channel_id}/{message_id}/{}", f.filename),
                    "content_type": f.content_type,
                })
            })
            .collect();
        let field = |key: &str, default: Value| answer.get(key).cloned().unwrap_or(default);
        // Discord stores every embed a bot sends as type "rich".
        let mut embeds = field("embeds", json!([]));
        for embed in embeds.as_array_mut().into_iter().flatten() {
            if embed.get("type").is_none() {
                embed["type"] = json!("rich");
            }
        }
        json!({
            "id": message_id.to_string(),
            "channel_id": channel_id.to_string(),
            "author": user(application_id, "ServerPulse").as_object().cloned().map(|mut u| {
                u.insert("bot".into(), json!(true));
                Value::Object(u)
            }),
            "content": field("content", json!("")),
            "timestamp": chrono::DateTime::from_timestamp_millis(sim_scenario::snowflake_ms(message_id))
                .unwrap_or_default()
                .to_rfc3339_opts(chrono::SecondsFormat::Micros, false),
            "edited_timestamp": null,
            "tts": false,
            "mention_everyone": false,
            "mentions": [],
            "mention_roles": [],
            "attachments": attachments,
            "embeds": embeds,
            "components": field("components", json!([])),
            "flags": field("flags", json!(0)),
            "pinned": false,
            "type": 20,
            "application_id": application_id.to_string(),
        })
    }
}

/// What happened to one interaction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InteractionOutcome {
    pub interaction_id: u64,
    pub token: String,
    /// The body that was signed and sent.
    pub payload: Value,
    pub status: u16,
    /// The endpoint's JSON answer, if it gave one.
    pub response: Option<Value>,
    /// Discord's objection to that answer (an invalid callback body, a
    /// message over the limits), in Discord's error shape.
    pub answer_error: Option<Value>,
    pub final_message: Option<FinalMessage>,
    /// The REST side's view of the token at the end.
    pub record: Option<InteractionRecord>,
}
