//! Who asked, where, and what Discord resolved for us.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use shared::Snowflake;
use shared::db::settings::{self, GuildSettings};
use twilight_model::guild::Permissions;

use crate::AppState;
use crate::error::{Failure, Outcome};

pub struct Ctx {
    pub state: AppState,
    /// Discord's id of this interaction (unique: a repeat is a replay).
    pub interaction_id: Snowflake,
    pub guild_id: Snowflake,
    pub user_id: Snowflake,
    /// Where the command was used (the default channel to analyse).
    pub channel_id: Option<Snowflake>,
    pub permissions: Permissions,
    /// The member's roles (what `/access` rules are matched against).
    pub roles: Vec<Snowflake>,
    /// The interaction's upload limit in bytes (Discord's
    /// `attachment_size_limit`: 10 MiB unless the guild is boosted).
    pub attachment_size_limit: u64,
    pub now: DateTime<Utc>,
    /// Channel names Discord resolved for the options.
    pub channel_names: HashMap<Snowflake, String>,
}

impl Ctx {
    pub fn is_admin(&self) -> bool {
        self.permissions
            .intersects(Permissions::MANAGE_GUILD | Permissions::ADMINISTRATOR)
    }

    pub fn require_admin(&self) -> Outcome<()> {
        if self.is_admin() {
            Ok(())
        } else {
            Err(Failure::user(
                "Only members with the Manage Server permission can change ServerPulse settings. Ask an admin.",
            ))
        }
    }

    pub async fn settings(&self) -> Outcome<GuildSettings> {
        Ok(settings::load(&self.state.pool, self.guild_id).await?)
    }

    /// The settings of a guild with tracking on; otherwise a failure that
    /// tells the user how to turn it on.
    pub async fn tracked_settings(&self) -> Outcome<GuildSettings> {
        let settings = self.settings().await?;
        if !settings.tracking_enabled {
            return Err(Failure::user(
                "Tracking is not enabled on this server yet. An admin can turn it on with /setup.",
            ));
        }
        Ok(settings)
    }

    pub fn channel_label(&self, id: Snowflake) -> String {
        self.channel_names
            .get(&id)
            .map_or_else(|| format!("<#{id}>"), |n| format!("#{n}"))
    }
}

pub fn timezone_of(settings: &GuildSettings) -> Tz {
    settings.timezone.parse().unwrap_or(Tz::UTC)
}
