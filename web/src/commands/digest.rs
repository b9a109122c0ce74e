//! `/set-digest` and `/digest preview`, what `/setup` shows of digests,
//! and the warning an admin gets while the update channel refuses
//! ServerPulse's posts.

use chrono::{DateTime, Utc, Weekday};
use chrono_tz::Tz;
use shared::db::digest_settings::{
    self, DeliveryFailure, DigestFrequency, DigestSchedule, DigestSettings,
};

use super::Options;
use crate::context::Ctx;
use crate::digest::{self, schedule};
use crate::error::{Failure, Outcome};
use crate::reply::{Embed, Message, Reply};
use crate::view::{Choice, keyed_enum};

keyed_enum!(FrequencyChoice { Hourly = "hourly", Daily = "daily", Weekly = "weekly", Off = "none" });
keyed_enum!(WeekdayChoice {
    Monday = "monday", Tuesday = "tuesday", Wednesday = "wednesday", Thursday = "thursday",
    Friday = "friday", Saturday = "saturday", Sunday = "sunday",
});

impl FrequencyChoice {
    /// `None` for `none`: no digests.
    pub fn frequency(self) -> Option<DigestFrequency> {
        DigestFrequency::from_key(self.key())
    }
}

impl WeekdayChoice {
    pub fn weekday(self) -> Weekday {
        match self {
            Self::Monday => Weekday::Mon,
            Self::Tuesday => Weekday::Tue,
            Self::Wednesday => Weekday::Wed,
            Self::Thursday => Weekday::Thu,
            Self::Friday => Weekday::Fri,
            Self::Saturday => Weekday::Sat,
            Self::Sunday => Weekday::Sun,
        }
    }
}

/// The guild's digest and delivery settings (the defaults when it has no
/// settings row).
pub(super) async fn delivery_settings(ctx: &Ctx) -> Outcome<DigestSettings> {
    Ok(digest_settings::load(&ctx.state.pool, ctx.guild_id)
        .await?
        .unwrap_or_else(|| DigestSettings::defaults(ctx.guild_id)))
}

pub(super) async fn set_digest(ctx: &Ctx, options: &Options) -> Outcome<Reply> {
    ctx.require_admin()?;
    let current = delivery_settings(ctx).await?;
    let Some(key) = options.string("frequency") else {
        return Err(Failure::user(format!(
            "Choose a frequency: {}.",
            FrequencyChoice::listed(FrequencyChoice::ALL)
        )));
    };
    let frequency = FrequencyChoice::from_key(key).ok_or_else(|| {
        Failure::user(format!(
            "`{key}` is not a valid frequency. Choose one of: {}.",
            FrequencyChoice::listed(FrequencyChoice::ALL)
        ))
    })?;
    let hour = match options.integer("hour") {
        None => current.schedule.hour,
        Some(hour) => u8::try_from(hour)
            .ok()
            .filter(|h| *h <= 23)
            .ok_or_else(|| Failure::user("The hour is 0 to 23 (local time)."))?,
    };
    let weekday = options
        .choice("weekday", WeekdayChoice::Monday)
        .map(WeekdayChoice::weekday)?;
    let weekday = if options.string("weekday").is_some() {
        weekday
    } else {
        current.schedule.weekday
    };
    let schedule = DigestSchedule {
        frequency: frequency.frequency(),
        hour,
        weekday,
    };
    let Some(mut tx) = super::settings::change(ctx).await? else {
        return Ok(super::settings::already_applied());
    };
    digest_settings::set_schedule(&mut tx, ctx.guild_id, ctx.user_id, schedule, ctx.now).await?;
    tx.commit().await?;
    let settings = DigestSettings {
        schedule,
        since: Some(ctx.now),
        ..current
    };
    Ok(Reply::Message(Message::notice(what_happens(
        ctx, &settings,
    ))))
}

/// What `settings` will do from `ctx.now`: when digests are posted, the
/// first one, where, and why none would be.
fn what_happens(ctx: &Ctx, settings: &DigestSettings) -> String {
    let Some(frequency) = settings.schedule.frequency else {
        return "Digests are off: ServerPulse posts none.".to_owned();
    };
    let tz = digest::timezone(settings);
    let mut lines = vec![format!(
        "{} Times are in {} (change it with /setup timezone).",
        cadence(&settings.schedule),
        tz.name()
    )];
    if !settings.tracking_enabled {
        lines.push(
            "Tracking is off on this server, so no digest is made until an admin turns it on with /setup."
                .to_owned(),
        );
        return lines.join("\n");
    }
    let next = next_post(frequency, &settings.schedule, tz, ctx.now);
    match (settings.update_channel_id, &settings.delivery_failure) {
        (None, _) => lines.push(
            "⚠️ No update channel is set: each digest is recorded as skipped, not posted, until you choose one with /set-update-channel."
                .to_owned(),
        ),
        (Some(channel), None) => lines.push(format!(
            "The first goes to {} at {}.",
            ctx.channel_label(channel),
            local(next, tz)
        )),
        (Some(_), Some(failure)) => lines.push(failure_text(ctx, failure)),
    }
    lines.join("\n")
}

/// "Daily at 09:00, covering the previous day." and the like.
fn cadence(schedule: &DigestSchedule) -> String {
    let hour = format!("{:02}:00", schedule.hour);
    match schedule.frequency {
        None => "Off.".to_owned(),
        Some(DigestFrequency::Hourly) => {
            "Hourly: a short digest of each hour once it ends (hours without any activity are skipped)."
                .to_owned()
        }
        Some(DigestFrequency::Daily) => {
            format!("Daily at {hour}: a digest of the previous day.")
        }
        Some(DigestFrequency::Weekly) => format!(
            "Weekly on {} at {hour}: a digest of the last full Monday–Sunday week.",
            weekday_name(schedule.weekday)
        ),
    }
}

fn weekday_name(day: Weekday) -> &'static str {
    match day {
        Weekday::Mon => "Mondays",
        Weekday::Tue => "Tuesdays",
        Weekday::Wed => "Wednesdays",
        Weekday::Thu => "Thursdays",
        Weekday::Fri => "Fridays",
        Weekday::Sat => "Saturdays",
        Weekday::Sun => "Sundays",
    }
}

/// When the first digest after `now` is due (the scheduler looks every
/// minute, so it is posted within about a minute of this).
fn next_post(
    frequency: DigestFrequency,
    schedule: &DigestSchedule,
    tz: Tz,
    now: DateTime<Utc>,
) -> DateTime<Utc> {
    let latest = schedule::latest(frequency, schedule, tz, now);
    schedule::following(latest, schedule, tz).scheduled_at
}

fn local(t: DateTime<Utc>, tz: Tz) -> String {
    t.with_timezone(&tz).format("%a %-d %b %H:%M").to_string()
}

/// What went wrong in the update channel and what the admin can do.
pub(super) fn failure_text(ctx: &Ctx, failure: &DeliveryFailure) -> String {
    let channel = ctx.channel_label(failure.channel_id);
    let what = match failure.code {
        10003 | 404 => format!(
            "⚠️ ServerPulse could not post in {channel}: Discord says the channel does not exist. Choose another channel with /set-update-channel."
        ),
        50001 => format!(
            "⚠️ ServerPulse could not post in {channel}: it cannot see the channel. Give ServerPulse View Channel, Send Messages, Embed Links and Attach Files in {channel}, then choose it again with /set-update-channel; or choose another channel with /set-update-channel."
        ),
        _ => format!(
            "⚠️ ServerPulse could not post in {channel}: it lacks permissions there. Give ServerPulse Send Messages, Embed Links and Attach Files in {channel}, then choose it again with /set-update-channel; or choose another channel with /set-update-channel."
        ),
    };
    format!("{what} Until then digests and alerts are recorded but not posted.")
}

/// `/setup`'s digest fields: the schedule and, while it stands, the update
/// channel's failure.
pub(super) async fn setup_fields(ctx: &Ctx, mut embed: Embed) -> Outcome<Embed> {
    let settings = delivery_settings(ctx).await?;
    let tz = digest::timezone(&settings);
    let mut text = cadence(&settings.schedule);
    if let (Some(frequency), true, Some(_), None) = (
        settings.schedule.frequency,
        settings.tracking_enabled,
        settings.update_channel_id,
        &settings.delivery_failure,
    ) {
        text.push_str(&format!(
            " Next: {}.",
            local(next_post(frequency, &settings.schedule, tz, ctx.now), tz)
        ));
    }
    embed = embed.field("Digests", text, false);
    if let Some(failure) = &settings.delivery_failure {
        embed = embed.field("Update channel problem", failure_text(ctx, failure), false);
    }
    Ok(embed)
}

pub(super) async fn preview(ctx: &Ctx) -> Outcome<Reply> {
    ctx.require_admin()?;
    let settings = delivery_settings(ctx).await?;
    let message = digest::preview(&ctx.state.pool, &settings, ctx.now)
        .await
        .map_err(|error| match error {
            digest::DigestError::Db(error) => Failure::Db(error),
            digest::DigestError::Chart(error) => Failure::Internal(error),
        })?;
    let Some(mut message) = message else {
        return Err(Failure::user(
            "Digests are off on this server. Choose a frequency with /set-digest to get them.",
        ));
    };
    message.ephemeral = true;
    message.content = Some(
        "Preview of the next digest, with the figures of its period so far (only you see this):"
            .to_owned(),
    );
    Ok(Reply::Message(message))
}

/// Adds the update channel's failure to an admin command's ephemeral
/// answer, so the admin hears of it in the next settings command they run.
pub(super) async fn warned(ctx: &Ctx, reply: Outcome<Reply>) -> Outcome<Reply> {
    let Ok(Reply::Message(mut message)) = reply else {
        return reply;
    };
    if !message.ephemeral || !ctx.is_admin() {
        return Ok(Reply::Message(message));
    }
    let settings = delivery_settings(ctx).await?;
    if let Some(failure) = &settings.delivery_failure {
        let warning = failure_text(ctx, failure);
        let text = match message.content.take() {
            Some(content) if content.contains(&warning) => content,
            Some(content) => format!("{content}\n\n{warning}"),
            None => warning,
        };
        message.content = Some(text);
    }
    Ok(Reply::Message(message))
}
