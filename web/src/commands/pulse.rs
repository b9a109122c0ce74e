//! `/pulse-report`: the Pulse Report of the last seven local days, written
//! by the guild's provider, the operator's default one, or the built-in
//! rules ([`crate::pulse::writer`]); at most one generation per guild per
//! 10 minutes (a repeat within them shows the stored one).

use chrono::Duration;
use serde_json::json;
use shared::db::pulse::{self, NewReport};

use crate::context::{Ctx, timezone_of};
use crate::error::Outcome;
use crate::pulse::{self as report, PulseFigures, writer};
use crate::reply::{Embed, Message, Reply};

/// The least time between two generations in one guild.
pub const REGENERATE_AFTER: Duration = Duration::minutes(10);

fn stored_embed(body: &serde_json::Value) -> Embed {
    let text = |key: &str| body[key].as_str().unwrap_or_default().to_owned();
    let mut embed = Embed::new(text("title")).describe(text("description"));
    for field in body["fields"].as_array().into_iter().flatten() {
        embed = embed.field(
            field[0].as_str().unwrap_or_default(),
            field[1].as_str().unwrap_or_default(),
            true,
        );
    }
    embed.footer(text("footer"))
}

/// What `pulse_reports.shown` holds of a report message: its embed.
pub fn body_of(message: &Message) -> serde_json::Value {
    let Some(embed) = message.embeds.first() else {
        return json!({});
    };
    json!({
        "title": embed.title,
        "description": embed.description,
        "fields": embed.fields.iter().map(|(n, v, _)| json!([n, v])).collect::<Vec<_>>(),
        "footer": embed.footer,
    })
}

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
    let written = writer::write(&ctx.state.providers, &figures, guild_provider).await;
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
            tokens_in: clamp(written.tokens_in),
            tokens_out: clamp(written.tokens_out),
        },
    )
    .await?;
    message.ephemeral = true;
    Ok(Reply::Message(message))
}

fn clamp(tokens: i64) -> i32 {
    i32::try_from(tokens.max(0)).unwrap_or(i32::MAX)
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
