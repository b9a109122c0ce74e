//! `/ai-provider`: which AI provider writes the guild's Pulse Report.

use crate::context::Ctx;
use crate::error::Outcome;
use crate::pulse::providers::Provider;

/// The guild's provider with its key decrypted, when it has one.
pub async fn guild_provider(_ctx: &Ctx) -> Outcome<Option<Provider>> {
    Ok(None)
}
