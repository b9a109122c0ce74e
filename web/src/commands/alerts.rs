//! `/alerts`, `/toggle-alert` and `/alert-threshold`: what each alert
//! watches, its last incidents and where they go, and the changes an admin
//! makes (audited; the ingester reloads a guild's alert settings on the
//! settings notification, so a change applies to the next event).

use chrono::{DateTime, Duration, Utc};
use shared::alerts::{
    AlertKind, AlertSettings, Delivery, GuildAlertSettings, Incident, discord_time, seconds_text,
};
use shared::db::alerts;
use shared::db::outbox::{self, OutboxState};

use super::Options;
use super::digest::delivery_settings;
use crate::context::Ctx;
use crate::error::{Failure, Outcome};
use crate::reply::{Embed, Message, Reply};
use crate::view::{Choice, keyed_enum};

keyed_enum!(KindChoice {
    JoinRaid = "join_raid", MassDelete = "mass_delete", ActivityDrop = "activity_drop",
    VoiceSurge = "voice_surge",
});

keyed_enum!(SnoozeChoice {
    ThirtyMinutes = "30m", OneHour = "1h", TwoHours = "2h", FourHours = "4h", EightHours = "8h",
    OneDay = "24h", OneWeek = "7d",
});

impl KindChoice {
    pub fn kind(self) -> AlertKind {
        AlertKind::from_key(self.key()).unwrap_or(AlertKind::JoinRaid)
    }
}

impl SnoozeChoice {
    pub fn length(self) -> Duration {
        match self {
            Self::ThirtyMinutes => Duration::minutes(30),
            Self::OneHour => Duration::hours(1),
            Self::TwoHours => Duration::hours(2),
            Self::FourHours => Duration::hours(4),
            Self::EightHours => Duration::hours(8),
            Self::OneDay => Duration::hours(24),
            Self::OneWeek => Duration::days(7),
        }
    }
}

/// Incidents `/alerts` lists.
const RECENT: i64 = 5;

/// The window an admin may give raids and deletions, in seconds.
const WINDOW_RANGE: (i64, i64) = (5, 3600);
/// Cooldown and quiet period, in minutes.
const COOLDOWN_RANGE: (i64, i64) = (0, 1440);
const QUIET_RANGE: (i64, i64) = (1, 1440);
/// Activity drop's least usual volume, and voice surge's fewest people.
const MINIMUM_RANGE: (i64, i64) = (1, 10_000);

fn kind_option(options: &Options) -> Outcome<AlertKind> {
    let key = options.string("kind").ok_or_else(|| {
        Failure::user(format!(
            "Choose an alert kind: {}.",
            KindChoice::listed(KindChoice::ALL)
        ))
    })?;
    KindChoice::from_key(key)
        .map(KindChoice::kind)
        .ok_or_else(|| {
            Failure::user(format!(
                "`{key}` is not an alert kind. Choose one of: {}.",
                KindChoice::listed(KindChoice::ALL)
            ))
        })
}

/// `/alerts`: each kind, the last incidents and where alerts go.
pub(super) async fn overview(ctx: &Ctx) -> Outcome<Reply> {
    ctx.require_admin()?;
    let settings = alerts::settings_of(&ctx.state.pool, ctx.guild_id).await?;
    let incidents = alerts::recent_incidents(&ctx.state.pool, ctx.guild_id, None, RECENT).await?;
    let mut posts = Vec::with_capacity(incidents.len());
    for incident in &incidents {
        posts.push(match incident.delivery {
            Delivery::Posted => outbox::find(&ctx.state.pool, &incident.outbox_key())
                .await?
                .map(|item| item.state),
            _ => None,
        });
    }
    let delivery = delivery_settings(ctx).await?;
    let mut embed = Embed::new("Alerts").describe(where_alerts_go(ctx, &delivery));
    for kind in AlertKind::ALL {
        let s = settings.get(kind);
        embed = embed.field(kind.label(), kind_text(s, ctx.now), false);
    }
    embed = embed.field("Last incidents", incidents_text(&incidents, &posts), false);
    Ok(Reply::Message(Message {
        embeds: vec![embed.footer(
            "Change with /toggle-alert and /alert-threshold; changes are audited and apply to the next event.",
        )],
        ephemeral: true,
        ..Message::default()
    }))
}

/// Where incidents are posted, or why they are not.
fn where_alerts_go(ctx: &Ctx, delivery: &shared::db::digest_settings::DigestSettings) -> String {
    let mut lines = Vec::new();
    if !delivery.tracking_enabled {
        lines.push(
            "Tracking is off on this server, so nothing is watched. An admin can turn it on with /setup."
                .to_owned(),
        );
    }
    match (delivery.update_channel_id, &delivery.delivery_failure) {
        (None, _) => lines.push(
            "No update channel is set: incidents are recorded and listed here, not posted. Choose one with /set-update-channel."
                .to_owned(),
        ),
        (Some(channel), None) => lines.push(format!(
            "Incidents are posted in {} as one message each, edited while it grows and marked when it is over.",
            ctx.channel_label(channel)
        )),
        (Some(_), Some(failure)) => lines.push(super::digest::failure_text(ctx, failure)),
    }
    lines.join("\n")
}

fn kind_text(s: &AlertSettings, now: DateTime<Utc>) -> String {
    let state = match (s.enabled, s.snoozed_until) {
        (false, _) => "**Off**".to_owned(),
        (true, Some(until)) if until > now => {
            format!("**Snoozed** until {}", discord_time(until, 'f'))
        }
        (true, _) => "**On**".to_owned(),
    };
    format!(
        "{state}: {}. Over after {} without new events; cooldown {}.",
        s.describe(),
        seconds_text(s.quiet_secs),
        if s.cooldown_secs == 0 {
            "none".to_owned()
        } else {
            seconds_text(s.cooldown_secs)
        }
    )
}

/// The last incidents, each with what became of its message (`posts`:
/// its outbox item's state, for those that were to be posted).
fn incidents_text(incidents: &[Incident], posts: &[Option<OutboxState>]) -> String {
    if incidents.is_empty() {
        return "None so far.".to_owned();
    }
    incidents
        .iter()
        .zip(posts)
        .map(|(i, post)| {
            let status = match i.ended_at {
                None => "ongoing".to_owned(),
                Some(ended) => format!("over {}", discord_time(ended, 'R')),
            };
            let delivery = match (i.delivery, post) {
                (Delivery::Posted, Some(OutboxState::Delivered)) => "posted",
                (Delivery::Posted, Some(OutboxState::Pending)) => "being posted",
                (Delivery::Posted, Some(OutboxState::Failed)) => "posting failed",
                (Delivery::Posted, None) => "posted",
                (Delivery::NoChannel, _) => "not posted: no update channel",
                (Delivery::ChannelFailing, _) => "not posted: update channel failing",
            };
            format!(
                "{} {}: {} ({status}; {delivery})",
                i.kind.label(),
                discord_time(i.started_at, 'f'),
                i.summary()
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// `/toggle-alert kind enabled [snooze]`.
pub(super) async fn toggle(ctx: &Ctx, options: &Options) -> Outcome<Reply> {
    ctx.require_admin()?;
    let kind = kind_option(options)?;
    let enabled = options
        .boolean("enabled")
        .ok_or_else(|| Failure::user("Say whether the alert is on: enabled true or false."))?;
    let snooze = match options.string("snooze") {
        None => None,
        Some(key) => Some(SnoozeChoice::from_key(key).ok_or_else(|| {
            Failure::user(format!(
                "`{key}` is not a snooze length. Choose one of: {}.",
                SnoozeChoice::listed(SnoozeChoice::ALL)
            ))
        })?),
    };
    if enabled && snooze.is_some() {
        return Err(Failure::user(
            "Snooze pauses an alert for a while: use enabled:false with snooze, and it comes back on by itself.",
        ));
    }
    let mut settings = alerts::settings_of(&ctx.state.pool, ctx.guild_id)
        .await?
        .get(kind)
        .clone();
    let (text, detail) = match snooze {
        Some(choice) => {
            let until = ctx.now + choice.length();
            settings.enabled = true;
            settings.snoozed_until = Some(until);
            (
                format!(
                    "{} alerts are snoozed until {} ({}); after that they are on again.",
                    kind.label(),
                    discord_time(until, 'f'),
                    discord_time(until, 'R')
                ),
                serde_json::json!({"kind": kind.key(), "snoozed_until": until}),
            )
        }
        None => {
            settings.enabled = enabled;
            settings.snoozed_until = None;
            (
                if enabled {
                    format!("{} alerts are on: {}.", kind.label(), settings.describe())
                } else {
                    format!(
                        "{} alerts are off until you turn them on with /toggle-alert.",
                        kind.label()
                    )
                },
                serde_json::json!({"kind": kind.key(), "enabled": enabled}),
            )
        }
    };
    let Some(mut tx) = super::settings::change(ctx).await? else {
        return Ok(super::settings::already_applied());
    };
    alerts::save_settings(
        &mut tx,
        ctx.guild_id,
        ctx.user_id,
        &settings,
        "alert.toggle",
        detail,
    )
    .await?;
    tx.commit().await?;
    Ok(Reply::Message(Message::notice(text)))
}

/// `/alert-threshold kind threshold [window_seconds] [minimum]
/// [cooldown_minutes] [quiet_minutes]`.
pub(super) async fn threshold(ctx: &Ctx, options: &Options) -> Outcome<Reply> {
    ctx.require_admin()?;
    let kind = kind_option(options)?;
    let current = alerts::settings_of(&ctx.state.pool, ctx.guild_id).await?;
    let settings = changed(current.get(kind), options)?;
    let Some(mut tx) = super::settings::change(ctx).await? else {
        return Ok(super::settings::already_applied());
    };
    alerts::save_settings(
        &mut tx,
        ctx.guild_id,
        ctx.user_id,
        &settings,
        "alert.threshold",
        serde_json::json!({
            "kind": kind.key(),
            "threshold": settings.threshold,
            "window_secs": settings.window_secs,
            "min_volume": settings.min_volume,
            "cooldown_secs": settings.cooldown_secs,
            "quiet_secs": settings.quiet_secs,
        }),
    )
    .await?;
    tx.commit().await?;
    let state = if settings.is_active(ctx.now) {
        ""
    } else {
        " (the alert is off or snoozed: /toggle-alert turns it on)"
    };
    Ok(Reply::Message(Message::notice(format!(
        "{} alerts now fire at {}{state}. Over after {} without new events; cooldown {}.",
        kind.label(),
        settings.describe(),
        seconds_text(settings.quiet_secs),
        seconds_text(settings.cooldown_secs),
    ))))
}

/// `current` with the options applied, each checked against its range and
/// against the kind (a window means nothing to the hourly kinds).
fn changed(current: &AlertSettings, options: &Options) -> Outcome<AlertSettings> {
    let kind = current.kind;
    let mut s = current.clone();
    let threshold = options.number("threshold").ok_or_else(|| {
        Failure::user(format!(
            "Give the threshold ({}).",
            kind.threshold_unit().trim()
        ))
    })?;
    let (low, high) = kind.threshold_range();
    if !(low..=high).contains(&threshold) || !threshold.is_finite() {
        return Err(Failure::user(format!(
            "The {} threshold is {low} to {high} {}.",
            kind.label().to_lowercase(),
            kind.threshold_unit().trim()
        )));
    }
    s.threshold = if kind.has_window() {
        threshold.ceil()
    } else {
        threshold
    };
    if let Some(window) = options.integer("window_seconds") {
        if !kind.has_window() {
            return Err(Failure::user(format!(
                "{} looks at whole hours: it has no window to set.",
                kind.label()
            )));
        }
        s.window_secs = in_range(
            window,
            WINDOW_RANGE,
            "The window is {low} to {high} seconds.",
        )?;
    }
    if let Some(minimum) = options.integer("minimum") {
        if !kind.has_min_volume() {
            return Err(Failure::user(format!(
                "{} has no minimum: its threshold is the count itself.",
                kind.label()
            )));
        }
        s.min_volume = in_range(minimum, MINIMUM_RANGE, "The minimum is {low} to {high}.")?;
    }
    if let Some(minutes) = options.integer("cooldown_minutes") {
        s.cooldown_secs = in_range(
            minutes,
            COOLDOWN_RANGE,
            "The cooldown is {low} to {high} minutes.",
        )? * 60;
    }
    if let Some(minutes) = options.integer("quiet_minutes") {
        s.quiet_secs = in_range(
            minutes,
            QUIET_RANGE,
            "The quiet period is {low} to {high} minutes.",
        )? * 60;
    }
    Ok(s)
}

fn in_range(value: i64, (low, high): (i64, i64), message: &str) -> Outcome<i32> {
    if (low..=high).contains(&value) {
        Ok(value as i32)
    } else {
        Err(Failure::user(
            message
                .replace("{low}", &low.to_string())
                .replace("{high}", &high.to_string()),
        ))
    }
}

/// `/setup`'s line about alerts.
pub(super) fn setup_text(settings: &GuildAlertSettings, now: DateTime<Utc>) -> String {
    let on: Vec<&str> = AlertKind::ALL
        .iter()
        .filter(|k| settings.get(**k).is_active(now))
        .map(|k| k.label())
        .collect();
    if on.is_empty() {
        "All off. See /alerts.".to_owned()
    } else {
        format!("On: {}. See /alerts.", on.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kind_choices_are_the_shared_kinds() {
        let kinds: Vec<AlertKind> = KindChoice::ALL.iter().map(|c| c.kind()).collect();
        assert_eq!(kinds, AlertKind::ALL);
    }
}
