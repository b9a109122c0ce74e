//! `/pulse-report`: the Pulse Report of the last seven local days, written
//! by the guild's provider, the operator's default one, or the built-in
//! rules ([`crate::pulse::writer`]); at most one generation per guild per
//! 10 minutes (a repeat within them shows the stored one), and a provider's
//! report of the same days, model and prompt version is reused, not asked
//! for again.

use chrono::Duration;
use shared::db::pulse::{self, NewReport};

use crate::context::{Ctx, timezone_of};
use crate::error::Outcome;
use crate::pulse::writer::{self, Report};
use crate::pulse::{self as report, PulseFigures, body_of, stored_embed};
use crate::reply::{Message, Reply};

/// The least time between two generations in one guild.
pub const REGENERATE_AFTER: Duration = Duration::minutes(10);

pub(super) async fn pulse_report(ctx: &Ctx) -> Outcome<Reply> {
    ctx.require_admin()?;
    let settings = ctx.tracked_settings().await?;
    let pool = &ctx.state.pool;
    if let Some(last) = pulse::latest(pool, ctx.guild_id).await?
        && ctx.now - last.generated_at < REGENERATE_AFTER
    {
        let next = last.generated_at + REGENERATE_AFTER;
        return Ok(Reply::Message(Message {
            content: Some(format!(
                "The report generated {}; a new one can be made {}.{}",
                shared::alerts::discord_time(last.generated_at, 'R'),
                shared::alerts::discord_time(next, 'R'),
                cost(i64::from(last.tokens_in), i64::from(last.tokens_out))
                    .map(|c| format!(" {c}"))
                    .unwrap_or_default()
            )),
            embeds: vec![stored_embed(&last.shown)],
            ephemeral: true,
            ..Message::default()
        }));
    }
    let tz = timezone_of(&settings);
    let figures = PulseFigures::load(pool, ctx.guild_id, tz, ctx.now).await?;
    let guild_provider = super::ai_provider::guild_provider(ctx).await?;
    let written = match writer::write(pool, &ctx.state.providers, &figures, guild_provider).await? {
        Report::Written(written) => written,
        Report::Reused(stored) => {
            return Ok(Reply::Message(Message {
                content: Some(format!(
                    "The report {} ({}) wrote {} for these days, reused: same provider, model and prompt, so nothing was sent again.{}",
                    shared::config::ProviderKind::parse(&stored.provider)
                        .map_or(stored.provider.clone(), |k| k.label().to_owned()),
                    stored.model,
                    shared::alerts::discord_time(stored.generated_at, 'R'),
                    cost(i64::from(stored.tokens_in), i64::from(stored.tokens_out))
                        .map(|c| format!(" {c}"))
                        .unwrap_or_default()
                )),
                embeds: vec![stored_embed(&stored.shown)],
                ephemeral: true,
                ..Message::default()
            }));
        }
    };
    let mut message = report::message(&figures, &written.text);
    message.content = cost(written.tokens_in, written.tokens_out);
    let body = body_of(&message);
    pulse::save(
        pool,
        &NewReport {
            guild_id: ctx.guild_id,
            period_start: figures.from,
            period_end: figures.to,
            provider: written.provider,
            model: written.model,
            prompt_version: written.prompt_version,
            generated_at: ctx.now,
            shown: body,
            tokens_in: writer::stored_tokens(written.tokens_in),
            tokens_out: writer::stored_tokens(written.tokens_out),
        },
    )
    .await?;
    message.ephemeral = true;
    Ok(Reply::Message(message))
}

/// What a report cost in provider tokens, when it cost any.
fn cost(tokens_in: i64, tokens_out: i64) -> Option<String> {
    (tokens_in > 0 || tokens_out > 0).then(|| {
        format!(
            "Provider tokens for this report: {} in, {} out.",
            crate::reply::int(tokens_in),
            crate::reply::int(tokens_out)
        )
    })
}
