//! What a user does (a command, a click, a modal) and who does it.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{MANAGE_GUILD, MEMBER_PERMISSIONS};

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
