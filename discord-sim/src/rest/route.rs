//! The Discord routes the simulator knows, parsed from the request path.

use axum::http::Method;

/// A Discord route the simulator knows, with its parameters.
pub(super) enum Route {
    Gateway,
    GatewayBot,
    ChannelMessages {
        channel_id: String,
    },
    ChannelMessage {
        channel_id: String,
        message_id: String,
    },
    InteractionCallback {
        interaction_id: String,
        token: String,
    },
    Webhook {
        application_id: String,
        token: String,
    },
    Original {
        application_id: String,
        token: String,
    },
    Commands {
        application_id: String,
        guild_id: Option<String>,
    },
    /// `GET /channels/{id}/threads/archived/public|private`
    ArchivedThreads {
        channel_id: String,
        private: bool,
    },
    /// `GET /channels/{id}/users/@me/threads/archived/private`
    JoinedPrivateArchivedThreads {
        channel_id: String,
    },
    /// `GET /guilds/{id}/members`
    GuildMembers {
        guild_id: String,
    },
    /// `GET /guilds/{id}/channels`
    GuildChannels {
        guild_id: String,
    },
    /// `GET /guilds/{id}/threads/active`
    ActiveThreads {
        guild_id: String,
    },
    /// `GET /guilds/{id}/roles`
    GuildRoles {
        guild_id: String,
    },
}

impl Route {
    pub(super) fn parse(path: &str) -> Option<Self> {
        let rest = path.strip_prefix("/api/v10/")?;
        let parts: Vec<String> = rest
            .trim_end_matches('/')
            .split('/')
            .map(str::to_owned)
            .collect();
        let parts: Vec<&str> = parts.iter().map(String::as_str).collect();
        Some(match parts.as_slice() {
            ["gateway"] => Self::Gateway,
            ["gateway", "bot"] => Self::GatewayBot,
            ["channels", id, "messages"] => Self::ChannelMessages {
                channel_id: (*id).to_owned(),
            },
            ["channels", id, "messages", message] => Self::ChannelMessage {
                channel_id: (*id).to_owned(),
                message_id: (*message).to_owned(),
            },
            ["interactions", id, token, "callback"] => Self::InteractionCallback {
                interaction_id: (*id).to_owned(),
                token: (*token).to_owned(),
            },
            ["webhooks", app, token] => Self::Webhook {
                application_id: (*app).to_owned(),
                token: (*token).to_owned(),
            },
            ["webhooks", app, token, "messages", "@original"] => Self::Original {
                application_id: (*app).to_owned(),
                token: (*token).to_owned(),
            },
            [
                "channels",
                id,
                "threads",
                "archived",
                kind @ ("public" | "private"),
            ] => Self::ArchivedThreads {
                channel_id: (*id).to_owned(),
                private: *kind == "private",
            },
            [
                "channels",
                id,
                "users",
                "@me",
                "threads",
                "archived",
                "private",
            ] => Self::JoinedPrivateArchivedThreads {
                channel_id: (*id).to_owned(),
            },
            ["guilds", id, "members"] => Self::GuildMembers {
                guild_id: (*id).to_owned(),
            },
            ["guilds", id, "channels"] => Self::GuildChannels {
                guild_id: (*id).to_owned(),
            },
            ["guilds", id, "threads", "active"] => Self::ActiveThreads {
                guild_id: (*id).to_owned(),
            },
            ["guilds", id, "roles"] => Self::GuildRoles {
                guild_id: (*id).to_owned(),
            },
            ["applications", app, "commands"] => Self::Commands {
                application_id: (*app).to_owned(),
                guild_id: None,
            },
            ["applications", app, "guilds", guild, "commands"] => Self::Commands {
                application_id: (*app).to_owned(),
                guild_id: Some((*guild).to_owned()),
            },
            _ => return None,
        })
    }

    pub(super) fn template(&self) -> &'static str {
        match self {
            Self::Gateway => "/gateway",
            Self::GatewayBot => "/gateway/bot",
            Self::ChannelMessages { .. } => "/channels/{channel_id}/messages",
            Self::ChannelMessage { .. } => "/channels/{channel_id}/messages/{message_id}",
            Self::InteractionCallback { .. } => {
                "/interactions/{interaction_id}/{interaction_token}/callback"
            }
            Self::Webhook { .. } => "/webhooks/{application_id}/{interaction_token}",
            Self::Original { .. } => {
                "/webhooks/{application_id}/{interaction_token}/messages/@original"
            }
            Self::Commands { guild_id: None, .. } => "/applications/{application_id}/commands",
            Self::Commands {
                guild_id: Some(_), ..
            } => "/applications/{application_id}/guilds/{guild_id}/commands",
            Self::ArchivedThreads { private: false, .. } => {
                "/channels/{channel_id}/threads/archived/public"
            }
            Self::ArchivedThreads { private: true, .. } => {
                "/channels/{channel_id}/threads/archived/private"
            }
            Self::JoinedPrivateArchivedThreads { .. } => {
                "/channels/{channel_id}/users/@me/threads/archived/private"
            }
            Self::GuildMembers { .. } => "/guilds/{guild_id}/members",
            Self::GuildChannels { .. } => "/guilds/{guild_id}/channels",
            Self::ActiveThreads { .. } => "/guilds/{guild_id}/threads/active",
            Self::GuildRoles { .. } => "/guilds/{guild_id}/roles",
        }
    }

    /// Interaction routes authenticate with the token in the path.
    pub(super) fn bot_auth(&self) -> bool {
        !matches!(
            self,
            Self::InteractionCallback { .. } | Self::Webhook { .. } | Self::Original { .. }
        )
    }

    pub(super) fn allows(&self, method: &Method) -> bool {
        match self {
            Self::Gateway
            | Self::GatewayBot
            | Self::ArchivedThreads { .. }
            | Self::JoinedPrivateArchivedThreads { .. }
            | Self::GuildMembers { .. }
            | Self::GuildChannels { .. }
            | Self::ActiveThreads { .. }
            | Self::GuildRoles { .. } => method == Method::GET,
            Self::ChannelMessages { .. } => [Method::GET, Method::POST].contains(method),
            Self::InteractionCallback { .. } | Self::Webhook { .. } => method == Method::POST,
            Self::ChannelMessage { .. } => method == Method::PATCH,
            Self::Original { .. } => [Method::GET, Method::PATCH, Method::DELETE].contains(method),
            Self::Commands { .. } => [Method::GET, Method::PUT].contains(method),
        }
    }

    /// The channel whose message bucket a request counts against: creating
    /// and editing messages share one bucket per channel.
    pub(super) fn message_channel(&self) -> Option<&str> {
        match self {
            Self::ChannelMessages { channel_id } | Self::ChannelMessage { channel_id, .. } => {
                Some(channel_id)
            }
            _ => None,
        }
    }

    /// What `X-RateLimit-Bucket` is a hash of: one per route, the same for
    /// every channel (the channel splits the limit, not the bucket id).
    pub(super) fn bucket(&self) -> &'static str {
        match self {
            Self::ChannelMessages { .. } | Self::ChannelMessage { .. } => {
                "/channels/{channel_id}/messages"
            }
            _ => self.template(),
        }
    }
}
