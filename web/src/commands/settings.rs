//! The admin commands: `/setup` (and its channel select; its `count_bots`
//! option decides whether bots and webhooks count in every figure),
//! `/set-update-channel`, `/add-collect-channel`, `/remove-collect-channel`,
//! `/retention`.
//! Each is checked against the caller's permissions and audited.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde_json::json;
use shared::Snowflake;
use shared::bucketing::Bucketing;
use shared::db::digest_settings;
use shared::db::settings::{self, CollectMode, GuildSettings};
use twilight_model::channel::ChannelType;
use twilight_model::channel::message::component::ComponentType;

use super::Options;
use crate::component::ComponentId;
use crate::context::Ctx;
use crate::error::{Failure, Outcome};
use crate::reply::{self, Embed, Message, Reply};
use crate::view::{Choice, keyed_enum};

/// The answer to a settings command seen before (a replayed request).
pub const ALREADY_APPLIED: &str = "Already applied: nothing changed.";

/// Opens the transaction of a settings change by `ctx`'s interaction;
/// `None` when that interaction was applied before (a replay).
pub(super) async fn change(
    ctx: &Ctx,
) -> Outcome<Option<sqlx::Transaction<'static, sqlx::Postgres>>> {
    let mut tx = ctx.state.pool.begin().await?;
    if settings::first_application(&mut tx, ctx.interaction_id).await? {
        Ok(Some(tx))
    } else {
        Ok(None)
    }
}

pub(super) fn already_applied() -> Reply {
    Reply::Message(Message::notice(ALREADY_APPLIED))
}

keyed_enum!(CollectChoice { All = "all", Choose = "choose" });

/// Channels whose activity can be collected: text, voice, announcement,
/// stage and forum channels (threads follow their parent).
pub const COLLECTABLE: [ChannelType; 5] = [
    ChannelType::GuildText,
    ChannelType::GuildVoice,
    ChannelType::GuildAnnouncement,
    ChannelType::GuildStageVoice,
    ChannelType::GuildForum,
];

/// Where digests can go: text and announcement channels.
pub const POSTABLE: [ChannelType; 2] = [ChannelType::GuildText, ChannelType::GuildAnnouncement];

pub(super) async fn setup(ctx: &Ctx, options: &Options) -> Outcome<Reply> {
    ctx.require_admin()?;
    let timezone = match options.string("timezone") {
        Some(name) => Some(name.parse::<Tz>().map_err(|_| {
            Failure::user(format!(
                "`{name}` is not a timezone I know. Start typing a city to pick one, e.g. Europe/Berlin."
            ))
        })?),
        None => None,
    };
    let choose = match options.string("channels").map(CollectChoice::from_key) {
        None | Some(Some(CollectChoice::All)) => false,
        Some(Some(CollectChoice::Choose)) => true,
        Some(None) => {
            return Err(Failure::user(format!(
                "`{}` is not a valid channels choice. Choose {}.",
                options.string("channels").unwrap_or_default(),
                CollectChoice::ALL
                    .iter()
                    .map(|c| c.key())
                    .collect::<Vec<_>>()
                    .join(" or ")
            )));
        }
    };
    let tracking = options.boolean("tracking").unwrap_or(true);
    // Rows are only stored once tracking was on.
    let before = settings::load(&ctx.state.pool, ctx.guild_id).await?;
    let zone_before = before.tracking_since.map(|_| before.timezone);
    let Some(mut tx) = change(ctx).await? else {
        return Ok(already_applied());
    };
    let settings = settings::set_tracking(&mut tx, ctx.guild_id, ctx.user_id, tracking).await?;
    if options.string("channels").is_some() && !choose {
        settings::set_collect_mode(&mut tx, ctx.guild_id, ctx.user_id, CollectMode::All).await?;
    }
    if let Some(tz) = timezone {
        settings::set_timezone(&mut tx, ctx.guild_id, ctx.user_id, tz.name()).await?;
    }
    if let Some(channel) = options.channel("update_channel") {
        settings::set_update_channel(&mut tx, ctx.guild_id, ctx.user_id, Some(channel)).await?;
        digest_settings::clear_delivery_failure(&mut tx, ctx.guild_id).await?;
    }
    if let Some(count_bots) = options.boolean("count_bots") {
        settings::set_count_bots(&mut tx, ctx.guild_id, ctx.user_id, count_bots).await?;
    }
    let import = match options.integer("import_days") {
        Some(days) if settings.tracking_enabled => {
            Some(super::backfill::request(ctx, &mut tx, &settings, days).await?)
        }
        Some(_) => {
            return Err(Failure::user(
                "History can only be imported with tracking on: leave `tracking` out or set it true.",
            ));
        }
        None => None,
    };
    tx.commit().await?;
    let settings = settings::load(&ctx.state.pool, ctx.guild_id)
        .await
        .unwrap_or(settings);
    let alerts = shared::db::alerts::settings_of(&ctx.state.pool, ctx.guild_id).await?;
    let mut embed = super::digest::setup_fields(ctx, settings_embed(ctx, &settings))
        .await?
        .field("Alerts", super::alerts::setup_text(&alerts, ctx.now), false);
    if let (Some(tz), Some(zone_before)) = (timezone, zone_before)
        && let Some(note) = earlier_hours_note(&zone_before, tz, ctx.now)
    {
        embed = embed.field("Earlier data", note, false);
    }
    let embed = embed.footer("Changes are recorded in the settings audit log.");
    let mut message = Message {
        embeds: vec![embed],
        ephemeral: true,
        ..Message::default()
    };
    if let Some(import) = import {
        message.content = import.content;
    }
    if choose {
        message.content =
            Some("Pick the channels to collect (threads follow their parent):".into());
        message.components = vec![reply::row(vec![json!({
            "type": ComponentType::ChannelSelectMenu,
            "custom_id": ComponentId::SetupChannels.encode(),
            "placeholder": "Channels to collect",
            "channel_types": COLLECTABLE, "min_values": 1, "max_values": 25,
        })])];
    }
    Ok(Reply::Message(message))
}

/// What a change of timezone means for the rows already stored, when the
/// new zone's hours start at other minutes than the old one's (rows keep
/// the edges they were written with: see `shared::bucketing`).
fn earlier_hours_note(before: &str, after: Tz, now: DateTime<Utc>) -> Option<String> {
    if before == after.name() {
        return None;
    }
    let shift = Bucketing::named(before).edge_shift_minutes(Bucketing::new(after), now);
    (shift != 0).then(|| {
        format!(
            "Activity recorded before this change stays in {before}'s hours, whose edges are {shift} minutes off {after}'s: days and hours before now may be off by up to {} minutes at their edges. From now on they are exact in {after}.",
            shift.max(60 - shift),
            after = after.name()
        )
    })
}

fn settings_embed(ctx: &Ctx, settings: &GuildSettings) -> Embed {
    Embed::new("ServerPulse settings")
        .field(
            "Tracking",
            if settings.tracking_enabled {
                "on"
            } else {
                "off"
            },
            true,
        )
        .field(
            "Channels",
            match settings.collect_mode {
                CollectMode::All => "all channels",
                CollectMode::AllowList => "chosen channels",
            },
            true,
        )
        .field("Timezone", settings.timezone.clone(), true)
        .field(
            "Bots",
            if settings.count_bots {
                "counted in every figure"
            } else {
                "left out of every figure"
            },
            true,
        )
        .field(
            "Update channel",
            settings
                .update_channel_id
                .map_or_else(|| "not set".to_owned(), |c| ctx.channel_label(c)),
            true,
        )
}

pub(super) async fn choose_channels(ctx: &Ctx, values: &[String]) -> Outcome<Reply> {
    ctx.require_admin()?;
    let chosen: Vec<Snowflake> = values.iter().filter_map(|v| v.parse().ok()).collect();
    if chosen.is_empty() {
        return Err(Failure::user("Pick at least one channel."));
    }
    let Some(mut tx) = change(ctx).await? else {
        return Ok(already_applied());
    };
    for old in settings::collected_channels(&mut *tx, ctx.guild_id).await? {
        if !chosen.contains(&old) {
            settings::set_channel_collected(&mut tx, ctx.guild_id, ctx.user_id, old, false).await?;
        }
    }
    for channel in &chosen {
        settings::set_channel_collected(&mut tx, ctx.guild_id, ctx.user_id, *channel, true).await?;
    }
    settings::set_collect_mode(&mut tx, ctx.guild_id, ctx.user_id, CollectMode::AllowList).await?;
    tx.commit().await?;
    let list: Vec<String> = chosen.iter().map(|c| format!("<#{c}>")).collect();
    Ok(Reply::Update(Message {
        content: Some(format!("Collecting only: {}", list.join(", "))),
        ephemeral: true,
        ..Message::default()
    }))
}

pub(super) async fn set_update_channel(ctx: &Ctx, options: &Options) -> Outcome<Reply> {
    ctx.require_admin()?;
    let channel = options
        .channel("channel")
        .ok_or_else(|| Failure::user("Pick the channel digests and alerts should go to."))?;
    let Some(mut tx) = change(ctx).await? else {
        return Ok(already_applied());
    };
    settings::set_update_channel(&mut tx, ctx.guild_id, ctx.user_id, Some(channel)).await?;
    // Choosing the channel again is how an admin says its permissions
    // are fixed: digests and alerts are posted there again.
    digest_settings::clear_delivery_failure(&mut tx, ctx.guild_id).await?;
    tx.commit().await?;
    let label = ctx.channel_label(channel);
    let digests = match digest_settings::load(&ctx.state.pool, ctx.guild_id)
        .await?
        .and_then(|s| s.schedule.frequency)
    {
        Some(_) => format!("Digests and alerts will go to {label}."),
        None => format!(
            "Alerts will go to {label}, and digests too once you turn them on with /set-digest (they are off now)."
        ),
    };
    Ok(Reply::Message(Message::notice(digests)))
}

pub(super) async fn collect_channel(ctx: &Ctx, options: &Options, collect: bool) -> Outcome<Reply> {
    ctx.require_admin()?;
    let channel = options
        .channel("channel")
        .ok_or_else(|| Failure::user("Pick a channel."))?;
    let label = ctx.channel_label(channel);
    let current = ctx.settings().await?;
    let Some(mut tx) = change(ctx).await? else {
        return Ok(already_applied());
    };
    if !collect && current.collect_mode == CollectMode::All {
        // Everything is collected: the admin means "everything but this".
        let kept = settings::collect_all_but(&mut tx, ctx.guild_id, ctx.user_id, channel).await?;
        tx.commit().await?;
        return Ok(Reply::Message(Message::notice(format!(
            "{label} is no longer collected. ServerPulse now collects an allow-list of the other {kept} channels; \
             channels created from now on are collected once you add them with /add-collect-channel."
        ))));
    }
    let changed =
        settings::set_channel_collected(&mut tx, ctx.guild_id, ctx.user_id, channel, collect)
            .await?;
    tx.commit().await?;
    let text = match (collect, changed, current.collect_mode) {
        (true, _, CollectMode::All) => format!(
            "{label} is on the allow-list. All channels are collected now; run /setup channels:choose to collect only chosen ones."
        ),
        (true, true, CollectMode::AllowList) => format!("{label} is collected from now on."),
        (true, false, CollectMode::AllowList) => format!("{label} was already collected."),
        (false, true, _) => format!("{label} is no longer collected."),
        (false, false, _) => format!("{label} was not on the allow-list."),
    };
    Ok(Reply::Message(Message::notice(text)))
}

/// `/retention days:<n>`: how many days per-member rows are kept.
pub(super) async fn set_retention(ctx: &Ctx, options: &Options) -> Outcome<Reply> {
    ctx.require_admin()?;
    let allowed = settings::RETENTION_DAYS_ALLOWED;
    let days = options
        .integer("days")
        .and_then(|d| i32::try_from(d).ok())
        .filter(|d| allowed.contains(d))
        .ok_or_else(|| {
            Failure::user(format!(
                "Choose a number of days from {} to {}.",
                allowed.start(),
                allowed.end()
            ))
        })?;
    let Some(mut tx) = change(ctx).await? else {
        return Ok(already_applied());
    };
    let previous = settings::set_retention_days(&mut tx, ctx.guild_id, ctx.user_id, days).await?;
    tx.commit().await?;
    Ok(Reply::Message(Message::notice(retention_text(
        days,
        previous,
        ctx.state.config.retention.max_days,
        ctx.now,
    ))))
}

/// What `/retention` answers: the window in force (the operator's limit
/// caps it) and what the next daily run removes.
pub fn retention_text(
    days: i32,
    previous: i32,
    max_days: u32,
    now: chrono::DateTime<chrono::Utc>,
) -> String {
    let kept = shared::db::retention::member_window_days(days, max_days);
    let horizon = shared::db::retention::day_horizon(now, kept);
    let mut text = format!(
        "ServerPulse keeps per-member activity (messages, reactions and voice time by member, and membership history) for {kept} days. \
         The daily retention run removes older rows: data before {} (UTC) will be removed at its next run. \
         Server-wide totals are kept for up to {max_days} days.",
        horizon.format("%Y-%m-%d")
    );
    if i64::from(days) > i64::from(max_days) {
        text.push_str(&format!(
            " You asked for {days} days, but this installation keeps at most {max_days}."
        ));
    }
    if days > previous {
        text.push_str(&format!(
            " Activity already removed under the previous {previous}-day window does not come back."
        ));
    }
    text.push_str(" The change is recorded in the settings audit log.");
    text
}
