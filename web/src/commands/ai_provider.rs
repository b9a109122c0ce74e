//! `/ai-provider set | key | test | clear`: which AI provider writes the
//! guild's Pulse Report, and its API key. Manage Server only, ephemeral,
//! audited. The key is typed into a modal (never a command option), sealed
//! under the operator's master key ([`crate::pulse::keys`]) and only ever
//! shown as its last 4 characters.

use std::collections::HashMap;

use serde_json::json;
use shared::config::{ProviderKind, Secret};
use shared::db::ai_providers;
use shared::db::settings::record_audit;
use twilight_model::channel::message::component::{ComponentType, TextInputStyle};

use super::Options;
use crate::component::ComponentId;
use crate::context::Ctx;
use crate::error::{Failure, Outcome};
use crate::pulse::keys;
use crate::pulse::providers::{Prompt, Provider, ProviderError};
use crate::reply::{Message, Reply};

/// The longest model name accepted.
const MODEL_CHARS: usize = 100;
/// A key's length bounds (the modal's too).
const KEY_MIN: usize = 8;
const KEY_MAX: usize = 400;

const NO_MASTER_KEY: &str = "This ServerPulse has no master key (SERVERPULSE_MASTER_KEY), so it cannot store API keys. The built-in Pulse Report works without one; ask the operator to set a master key to use your own provider.";

/// The guild's provider with its key opened, `None` when it chose none,
/// or why its choice cannot be used.
pub async fn guild_provider(ctx: &Ctx) -> Outcome<Option<Result<Provider, ProviderError>>> {
    Ok(
        crate::pulse::writer::guild_provider(&ctx.state.pool, &ctx.state.config.ai, ctx.guild_id)
            .await?,
    )
}

fn notice(text: impl Into<String>) -> Outcome<Reply> {
    Ok(Reply::Message(Message::notice(text)))
}

fn valid_model(model: &str) -> bool {
    (1..=MODEL_CHARS).contains(&model.len())
        && !model.contains("..")
        && model
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-._:/".contains(c))
}

pub(super) async fn set(ctx: &Ctx, options: &Options) -> Outcome<Reply> {
    ctx.require_admin()?;
    let names = ProviderKind::ALL.map(ProviderKind::name).join(", ");
    let kind = options
        .string("provider")
        .and_then(ProviderKind::parse)
        .ok_or_else(|| Failure::user(format!("Choose a provider: one of {names}.")))?;
    if ctx.state.config.ai.base_url(kind).is_none() {
        return Err(Failure::user(format!(
            "{} is not available on this ServerPulse: the operator has not configured its address ({}).",
            kind.label(),
            kind.base_url_var()
        )));
    }
    let model = options
        .string("model")
        .map(str::trim)
        .unwrap_or(kind.default_model());
    if !valid_model(model) {
        return Err(Failure::user(format!(
            "`{}` is not a model name: use letters, digits and - . _ : / (at most {MODEL_CHARS}).",
            crate::reply::escape_markdown(&model.chars().take(MODEL_CHARS).collect::<String>())
        )));
    }
    let mut tx = ctx.state.pool.begin().await?;
    let kept = ai_providers::set_provider(
        &mut tx,
        ctx.guild_id,
        ctx.user_id,
        kind.name(),
        model,
        ctx.now,
    )
    .await?;
    tx.commit().await?;
    let key_line = if !kind.needs_key() {
        " It needs no key.".to_owned()
    } else if kept {
        " Its key is kept.".to_owned()
    } else if ctx.state.config.ai.master_key.is_none() {
        " It needs an API key, and this ServerPulse cannot store one (no master key), so reports stay built-in until the operator sets SERVERPULSE_MASTER_KEY.".to_owned()
    } else {
        " Set its API key with `/ai-provider key`; until then reports are built-in.".to_owned()
    };
    notice(format!(
        "{} ({model}) will write this server's Pulse Reports.{key_line} Only aggregate figures are sent to it, never message content or member ids.",
        kind.label()
    ))
}

/// The modal asking for the key of the guild's provider.
pub(super) async fn key(ctx: &Ctx) -> Outcome<Reply> {
    ctx.require_admin()?;
    if ctx.state.config.ai.master_key.is_none() {
        return Err(Failure::user(NO_MASTER_KEY));
    }
    let row = ai_providers::get(&ctx.state.pool, ctx.guild_id)
        .await?
        .ok_or_else(|| Failure::user("Choose a provider first with `/ai-provider set`."))?;
    let kind = ProviderKind::parse(&row.provider)
        .ok_or_else(|| Failure::user("Choose a provider again with `/ai-provider set`."))?;
    Ok(key_modal(kind))
}

pub fn key_modal(kind: ProviderKind) -> Reply {
    Reply::Modal(json!({
        "custom_id": ComponentId::ApiKeyForm(kind).encode(),
        "title": format!("API key for {}", kind.label()),
        "components": [{"type": ComponentType::ActionRow, "components": [{
            "type": ComponentType::TextInput, "custom_id": ComponentId::ApiKeyInput.encode(),
            "label": "API key (stored encrypted; shown as its last 4 characters)",
            "style": TextInputStyle::Short, "min_length": KEY_MIN, "max_length": KEY_MAX,
            "required": true}]}],
    }))
}

/// The key modal submitted.
pub(super) async fn key_submitted(
    ctx: &Ctx,
    kind: ProviderKind,
    fields: &HashMap<String, String>,
) -> Outcome<Reply> {
    ctx.require_admin()?;
    let Some(master) = ctx.state.config.ai.master_key.as_ref() else {
        return Err(Failure::user(NO_MASTER_KEY));
    };
    let key = fields
        .get(&ComponentId::ApiKeyInput.encode())
        .map(|k| k.trim())
        .unwrap_or_default();
    if !(KEY_MIN..=KEY_MAX).contains(&key.chars().count())
        || key.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(Failure::user(format!(
            "That does not look like an API key ({KEY_MIN} to {KEY_MAX} characters, no spaces). Nothing was stored."
        )));
    }
    let key = Secret::new(key);
    let sealed = keys::seal(master, ctx.guild_id, kind, &key);
    let mut tx = ctx.state.pool.begin().await?;
    let stored = ai_providers::set_key(
        &mut tx,
        ctx.guild_id,
        ctx.user_id,
        kind.name(),
        &sealed,
        ctx.now,
    )
    .await?;
    tx.commit().await?;
    if !stored {
        return Err(Failure::user(format!(
            "This server's provider is no longer {}; nothing was stored. Run `/ai-provider key` again.",
            kind.label()
        )));
    }
    notice(format!(
        "The {} key ending in `{}` is stored encrypted. Try it with `/ai-provider test`.",
        kind.label(),
        sealed.last4
    ))
}

/// One tiny request to the guild's provider.
pub(super) async fn test(ctx: &Ctx) -> Outcome<Reply> {
    ctx.require_admin()?;
    let Some(choice) = guild_provider(ctx).await? else {
        return Err(Failure::user(
            "This server has no provider; choose one with `/ai-provider set`.",
        ));
    };
    let result = match choice {
        Ok(provider) => {
            let prompt = Prompt {
                system: "This is a connection test. Answer with the single word OK.".to_owned(),
                user: "OK?".to_owned(),
                max_tokens: 5,
            };
            ctx.state
                .providers
                .complete(&provider, &prompt)
                .await
                .map(|done| (provider, done))
        }
        Err(error) => Err(error),
    };
    record_audit(
        &ctx.state.pool,
        ctx.guild_id,
        ctx.user_id,
        "ai_provider.test",
        json!({"ok": result.is_ok()}),
    )
    .await?;
    match result {
        Ok((provider, done)) => notice(format!(
            "{} ({}) answered: the key and model work ({} tokens in, {} out).",
            provider.kind.label(),
            provider.model,
            done.tokens_in,
            done.tokens_out
        )),
        Err(error) => notice(format!("The test failed: {error}.")),
    }
}

pub(super) async fn clear(ctx: &Ctx) -> Outcome<Reply> {
    ctx.require_admin()?;
    let mut tx = ctx.state.pool.begin().await?;
    let removed = ai_providers::clear(&mut tx, ctx.guild_id, ctx.user_id).await?;
    tx.commit().await?;
    notice(if removed {
        "The provider and its key are removed; Pulse Reports are written by the built-in rules again."
    } else {
        "This server had no provider; Pulse Reports are written by the built-in rules."
    })
}
