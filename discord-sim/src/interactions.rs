//! The Discord side of HTTP interactions: Ed25519 keys, Discord-shaped
//! interaction payloads, signed POSTs to the product's endpoint, and
//! following what the product does next until the message a user would see.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use ed25519_dalek::{Signer as _, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::rest::{InteractionRecord, StoredFile};

/// Manage Guild: what ServerPulse's admin commands ask for.
pub const MANAGE_GUILD: u64 = 1 << 5;
/// Administrator implies every permission.
pub const ADMINISTRATOR: u64 = 1 << 3;
/// What an ordinary member typically has (view channels, send messages, …).
pub const MEMBER_PERMISSIONS: u64 =
    (1 << 10) | (1 << 11) | (1 << 14) | (1 << 15) | (1 << 16) | (1 << 6);
/// Discord's default upload limit, sent as `attachment_size_limit`.
const ATTACHMENT_SIZE_LIMIT: u64 = 10 * 1024 * 1024;

/// Errors of the interactions client.
#[derive(Debug, thiserror::Error)]
pub enum InteractionError {
    #[error("a secret key is 32 bytes of hex")]
    BadKey,
    #[error("HTTP request to {url} failed")]
    Http { url: String, source: reqwest::Error },
    #[error("the simulator answered {status} to {url}")]
    Simulator { url: String, status: u16 },
}

/// An application's Ed25519 key pair: Discord signs with the secret half,
/// the product verifies with the public half.
#[derive(Clone)]
pub struct InteractionKeys {
    signing: SigningKey,
}

impl std::fmt::Debug for InteractionKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the secret half.
        f.debug_struct("InteractionKeys")
            .field("public_key", &self.public_key_hex())
            .finish()
    }
}

impl InteractionKeys {
    pub fn generate() -> Self {
        Self::from_secret(rand::random())
    }

    pub fn from_secret(secret: [u8; 32]) -> Self {
        Self {
            signing: SigningKey::from_bytes(&secret),
        }
    }

    pub fn from_secret_hex(secret: &str) -> Result<Self, InteractionError> {
        let bytes = hex::decode(secret.trim()).map_err(|_| InteractionError::BadKey)?;
        let secret: [u8; 32] = bytes.try_into().map_err(|_| InteractionError::BadKey)?;
        Ok(Self::from_secret(secret))
    }

    pub fn secret_hex(&self) -> String {
        hex::encode(self.signing.to_bytes())
    }

    /// What the Developer Portal shows as the application's public key.
    pub fn public_key_hex(&self) -> String {
        hex::encode(self.signing.verifying_key().to_bytes())
    }

    pub fn verifying_key(&self) -> VerifyingKey {
        self.signing.verifying_key()
    }

    /// `X-Signature-Ed25519`: hex of the signature of timestamp + body.
    pub fn sign(&self, timestamp: &str, body: &[u8]) -> String {
        let mut message = Vec::with_capacity(timestamp.len() + body.len());
        message.extend_from_slice(timestamp.as_bytes());
        message.extend_from_slice(body);
        hex::encode(self.signing.sign(&message).to_bytes())
    }
}

/// Who clicks: the member behind an interaction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Invoker {
    pub user_id: u64,
    pub username: String,
    pub guild_id: u64,
    pub channel_id: u64,
    /// The member's permissions in the channel; decides admin rights.
    pub permissions: u64,
    pub roles: Vec<u64>,
    pub locale: String,
}

impl Invoker {
    /// A member with Manage Guild.
    pub fn admin(guild_id: u64, channel_id: u64) -> Self {
        Self {
            user_id: 1_100_000_000_000_000_101,
            username: "admin".into(),
            guild_id,
            channel_id,
            permissions: MEMBER_PERMISSIONS | MANAGE_GUILD,
            roles: Vec::new(),
            locale: "en-US".into(),
        }
    }

    /// A member without Manage Guild.
    pub fn member(guild_id: u64, channel_id: u64) -> Self {
        Self {
            user_id: 1_100_000_000_000_000_102,
            username: "member".into(),
            permissions: MEMBER_PERMISSIONS,
            ..Self::admin(guild_id, channel_id)
        }
    }
}

/// One option of a command, as the user filled it in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CommandOption {
    pub name: String,
    pub value: OptionValue,
    /// The option being typed (autocomplete).
    #[serde(default)]
    pub focused: bool,
}

impl CommandOption {
    pub fn new(name: impl Into<String>, value: OptionValue) -> Self {
        Self {
            name: name.into(),
            value,
            focused: false,
        }
    }

    pub fn focused(mut self) -> Self {
        self.focused = true;
        self
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "value", rename_all = "snake_case")]
pub enum OptionValue {
    SubcommandGroup(Vec<CommandOption>),
    Subcommand(Vec<CommandOption>),
    String(String),
    Integer(i64),
    Number(f64),
    Boolean(bool),
    User {
        id: u64,
        username: String,
    },
    /// `kind` is the channel type (0 text, 2 voice, …).
    Channel {
        id: u64,
        name: String,
        kind: u8,
    },
    Role {
        id: u64,
        name: String,
    },
}

/// What the user did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum InteractionKind {
    Ping,
    Command {
        name: String,
        #[serde(default)]
        options: Vec<CommandOption>,
    },
    /// Typing into an option with autocomplete; one option is `focused`.
    Autocomplete {
        name: String,
        options: Vec<CommandOption>,
    },
    /// A button (`component_type` 2) or select (3, 5–8) click on `message`.
    Component {
        custom_id: String,
        component_type: u8,
        #[serde(default)]
        values: Vec<String>,
        message: Value,
    },
    /// A modal's text inputs, `(custom_id, value)`.
    ModalSubmit {
        custom_id: String,
        fields: Vec<(String, String)>,
    },
}

static NEXT_LOW_BITS: AtomicU64 = AtomicU64::new(1);

/// A fresh snowflake for now.
pub fn fresh_id() -> u64 {
    let low = NEXT_LOW_BITS.fetch_add(1, Ordering::Relaxed);
    sim_scenario::snowflake_at(chrono::Utc::now().timestamp_millis(), low)
}

/// A fresh interaction token (Discord's are long opaque strings).
pub fn fresh_token() -> String {
    let bytes: [u8; 32] = rand::random();
    format!("sim{}", hex::encode(bytes))
}

/// A stable command id per name, as if the command had been registered once.
fn command_id(name: &str) -> u64 {
    let hash = name.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    sim_scenario::snowflake_at(1_700_000_000_000, hash)
}

fn user(id: u64, username: &str) -> Value {
    json!({
        "id": id.to_string(), "username": username, "discriminator": "0", "global_name": username,
        "avatar": null, "public_flags": 0,
    })
}

fn add_resolved(resolved: &mut Map<String, Value>, kind: &str, id: u64, value: Value) {
    let entry = resolved.entry(kind).or_insert_with(|| json!({}));
    entry[id.to_string()] = value;
}

fn options_json(options: &[CommandOption], resolved: &mut Map<String, Value>) -> Vec<Value> {
    let mut out = Vec::new();
    for option in options {
        {
            let (kind, value, nested): (u8, Option<Value>, Option<&Vec<CommandOption>>) =
                match &option.value {
                    OptionValue::SubcommandGroup(nested) => (2, None, Some(nested)),
                    OptionValue::Subcommand(nested) => (1, None, Some(nested)),
                    OptionValue::String(s) => (3, Some(json!(s)), None),
                    OptionValue::Integer(i) => (4, Some(json!(i)), None),
                    OptionValue::Boolean(b) => (5, Some(json!(b)), None),
                    OptionValue::User { id, username } => {
                        add_resolved(resolved, "users", *id, user(*id, username));
                        add_resolved(
                            resolved,
                            "members",
                            *id,
                            json!({
                                "roles": [], "joined_at": "2025-01-01T00:00:00.000000+00:00", "permissions": MEMBER_PERMISSIONS.to_string(),
                                "pending": false, "flags": 0, "nick": null, "avatar": null, "premium_since": null,
                                "communication_disabled_until": null,
                            }),
                        );
                        (6, Some(json!(id.to_string())), None)
                    }
                    OptionValue::Channel { id, name, kind } => {
                        add_resolved(
                            resolved,
                            "channels",
                            *id,
                            json!({"id": id.to_string(), "name": name, "type": kind, "permissions": "0"}),
                        );
                        (7, Some(json!(id.to_string())), None)
                    }
                    OptionValue::Role { id, name } => {
                        add_resolved(
                            resolved,
                            "roles",
                            *id,
                            json!({
                                "id": id.to_string(), "name": name, "color": 0, "colors": {"primary_color": 0, "secondary_color": null, "tertiary_color": null},
                                "hoist": false, "position": 1, "permissions": "0", "managed": false, "mentionable": true, "flags": 0,
                            }),
                        );
                        (8, Some(json!(id.to_string())), None)
                    }
                    OptionValue::Number(n) => (10, Some(json!(n)), None),
                };
            let mut item = json!({"name": option.name, "type": kind});
            if let Some(value) = value {
                item["value"] = value;
            }
            if let Some(nested) = nested {
                item["options"] = Value::Array(options_json(nested, resolved));
            }
            if option.focused {
                item["focused"] = json!(true);
            }
            out.push(item);
        }
    }
    out
}

fn command_data(name: &str, options: &[CommandOption], guild_id: u64) -> Value {
    let mut resolved = Map::new();
    let options = options_json(options, &mut resolved);
    let mut data = json!({
        "id": command_id(name).to_string(), "name": name, "type": 1, "guild_id": guild_id.to_string(),
        "options": options,
    });
    if !resolved.is_empty() {
        data["resolved"] = Value::Object(resolved);
    }
    data
}

/// The interaction body Discord would POST, with every field
/// twilight-model's `Interaction` requires.
pub fn interaction_payload(
    kind: &InteractionKind,
    invoker: &Invoker,
    application_id: u64,
    interaction_id: u64,
    token: &str,
) -> Value {
    let guild_id = invoker.guild_id.to_string();
    let member_user = user(invoker.user_id, &invoker.username);
    if matches!(kind, InteractionKind::Ping) {
        return json!({
            "id": interaction_id.to_string(), "application_id": application_id.to_string(), "type": 1,
            "token": token, "version": 1, "user": member_user,
            "authorizing_integration_owners": {}, "attachment_size_limit": ATTACHMENT_SIZE_LIMIT, "entitlements": [],
        });
    }
    let (kind_number, data, message) = match kind {
        InteractionKind::Ping => unreachable!("answered above"),
        InteractionKind::Command { name, options } => {
            (2, command_data(name, options, invoker.guild_id), None)
        }
        InteractionKind::Autocomplete { name, options } => {
            (4, command_data(name, options, invoker.guild_id), None)
        }
        InteractionKind::Component {
            custom_id,
            component_type,
            values,
            message,
        } => {
            let mut data = json!({"custom_id": custom_id, "component_type": component_type});
            if *component_type != 2 {
                data["values"] = json!(values);
            }
            (3, data, Some(message.clone()))
        }
        InteractionKind::ModalSubmit { custom_id, fields } => {
            let rows: Vec<Value> = fields
                .iter()
                .enumerate()
                .map(|(i, (field, value))| {
                    let row_id = 2 * i as i64 + 1;
                    json!({"type": 1, "id": row_id, "components": [{"type": 4, "id": row_id + 1, "custom_id": field, "value": value}]})
                })
                .collect();
            (5, json!({"custom_id": custom_id, "components": rows}), None)
        }
    };
    let mut payload = json!({
        "id": interaction_id.to_string(),
        "application_id": application_id.to_string(),
        "type": kind_number,
        "token": token,
        "version": 1,
        "guild_id": guild_id,
        "channel_id": invoker.channel_id.to_string(),
        "channel": {"id": invoker.channel_id.to_string(), "type": 0, "guild_id": guild_id, "name": "general"},
        "guild": {"id": guild_id, "locale": invoker.locale, "features": []},
        "guild_locale": invoker.locale,
        "locale": invoker.locale,
        "member": {
            "user": member_user,
            "roles": invoker.roles.iter().map(u64::to_string).collect::<Vec<_>>(),
            "permissions": invoker.permissions.to_string(),
            "joined_at": "2025-01-01T00:00:00.000000+00:00",
            "premium_since": null, "nick": null, "avatar": null, "communication_disabled_until": null,
            "deaf": false, "mute": false, "flags": 0, "pending": false,
        },
        "app_permissions": (MEMBER_PERMISSIONS | (1 << 13)).to_string(),
        "entitlements": [],
        "authorizing_integration_owners": {"0": guild_id},
        "context": 0,
        "attachment_size_limit": ATTACHMENT_SIZE_LIMIT,
        "data": data,
    });
    if let Some(message) = message {
        payload["message"] = message;
    }
    payload
}

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
