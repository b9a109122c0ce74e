//! `/pulse-report`: the Pulse Report of the last seven local days, written
//! by the built-in rules; at most one generation per guild per 10 minutes
//! (a repeat within them shows the stored one).

use chrono::Duration;
use serde_json::json;
use shared::db::pulse::{self, NewReport};

use crate::context::{Ctx, timezone_of};
use crate::error::Outcome;
use crate::pulse::{self as report, PulseFigures, builtin};
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
                "The report generated {}; a new one can be made {}.",
                shared::alerts::discord_time(last.generated_at, 'R'),
                shared::alerts::discord_time(next, 'R')
            )),
            embeds: vec![stored_embed(&last.shown)],
            ephemeral: true,
            ..Message::default()
        }));
    }
    let tz = timezone_of(&settings);
    let figures = PulseFigures::load(pool, ctx.guild_id, tz, ctx.now).await?;
    let text = builtin::write(&figures);
    let mut message = report::message(&figures, &text);
    let body = body_of(&message);
    pulse::save(
        pool,
        &NewReport {
            guild_id: ctx.guild_id,
            period_start: figures.from,
            period_end: figures.to,
            provider: "builtin".to_owned(),
            model: String::new(),
            prompt_version: 0,
            generated_at: ctx.now,
            shown: body,
        },
    )
    .await?;
    message.ephemeral = true;
    Ok(Reply::Message(message))
}
