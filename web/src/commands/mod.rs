//! From a parsed interaction to a [`Reply`]: commands and autocomplete
//! here, buttons, selects and forms in [`components`], the admin commands
//! in [`settings`]. Permissions are checked from the interaction's
//! `member.permissions`, whatever the registration said.

pub mod access;
pub mod ai_provider;
pub mod alerts;
pub mod backfill;
mod components;
mod dashboard;
pub mod digest;
mod privacy;
mod pulse;
pub mod settings;

use std::collections::HashMap;

use shared::Snowflake;
use twilight_model::application::interaction::application_command::{
    CommandData, CommandDataOption, CommandOptionValue,
};
use twilight_model::application::interaction::{Interaction, InteractionData, InteractionType};
use twilight_model::guild::Permissions;

use crate::AppState;
use crate::context::Ctx;
use crate::error::{Failure, Outcome};
use crate::reply::{self, Message, Reply};
use crate::view::{
    ActivityKind, BoardMetric, ChannelKind, ChannelMetric, Choice, MembersCategory, Request,
    TimeframeChoice, TrendMetric, View,
};
use components::custom_timeframe_modal;

/// Answers one interaction (never fails: failures become notices).
pub async fn dispatch(state: AppState, interaction: Interaction) -> Reply {
    let Some(guild_id) = interaction.guild_id else {
        return Reply::Message(Message::notice(
            "ServerPulse commands work inside a server only.",
        ));
    };
    let member = interaction.member.as_ref();
    let permissions = member
        .and_then(|m| m.permissions)
        .unwrap_or(Permissions::empty());
    let user_id = member
        .and_then(|m| m.user.as_ref())
        .or(interaction.user.as_ref())
        .map_or(Snowflake(0), |u| Snowflake(u.id.get()));
    let mut ctx = Ctx {
        now: (state.clock)(),
        state,
        interaction_id: Snowflake(interaction.id.get()),
        guild_id: Snowflake(guild_id.get()),
        user_id,
        channel_id: interaction.channel.as_ref().map(|c| Snowflake(c.id.get())),
        permissions,
        roles: member
            .map(|m| m.roles.iter().map(|r| Snowflake(r.get())).collect())
            .unwrap_or_default(),
        attachment_size_limit: interaction.attachment_size_limit,
        channel_names: HashMap::new(),
    };
    let result = match interaction.data {
        Some(InteractionData::ApplicationCommand(data)) => {
            if let Some(resolved) = &data.resolved {
                for (id, channel) in &resolved.channels {
                    ctx.channel_names
                        .insert(Snowflake(id.get()), channel.name.clone());
                }
            }
            if interaction.kind == InteractionType::ApplicationCommandAutocomplete {
                Ok(autocomplete(&data))
            } else {
                command(&ctx, &data).await
            }
        }
        Some(InteractionData::MessageComponent(data)) => components::component(&ctx, &data).await,
        Some(InteractionData::ModalSubmit(data)) => components::modal(&ctx, &data).await,
        _ => Err(Failure::user(
            "ServerPulse does not know this kind of interaction.",
        )),
    };
    // A failure is a new ephemeral message, also after a click: the
    // report clicked on stays as it was.
    result.unwrap_or_else(|failure| Reply::Message(failure.message()))
}

/// Options of the innermost subcommand, and the subcommand path.
fn flatten(options: &[CommandDataOption]) -> (Vec<String>, HashMap<String, CommandOptionValue>) {
    let mut path = Vec::new();
    let mut current = options;
    while let Some((
        name,
        CommandOptionValue::SubCommandGroup(nested) | CommandOptionValue::SubCommand(nested),
    )) = current.first().map(|o| (&o.name, &o.value))
    {
        path.push(name.clone());
        current = nested;
    }
    let values = current
        .iter()
        .map(|o| (o.name.clone(), o.value.clone()))
        .collect();
    (path, values)
}

pub(crate) struct Options(HashMap<String, CommandOptionValue>);

impl Options {
    pub(crate) fn string(&self, name: &str) -> Option<&str> {
        match self.0.get(name) {
            Some(CommandOptionValue::String(s) | CommandOptionValue::Focused(s, _)) => Some(s),
            _ => None,
        }
    }

    pub(crate) fn boolean(&self, name: &str) -> Option<bool> {
        match self.0.get(name) {
            Some(CommandOptionValue::Boolean(b)) => Some(*b),
            _ => None,
        }
    }

    pub(crate) fn number(&self, name: &str) -> Option<f64> {
        match self.0.get(name) {
            Some(CommandOptionValue::Number(n)) => Some(*n),
            Some(CommandOptionValue::Integer(i)) => Some(*i as f64),
            _ => None,
        }
    }

    pub(crate) fn integer(&self, name: &str) -> Option<i64> {
        match self.0.get(name) {
            Some(CommandOptionValue::Integer(i)) => Some(*i),
            _ => None,
        }
    }

    pub(crate) fn channel(&self, name: &str) -> Option<Snowflake> {
        match self.0.get(name) {
            Some(CommandOptionValue::Channel(id)) => Some(Snowflake(id.get())),
            _ => None,
        }
    }

    pub(crate) fn role(&self, name: &str) -> Option<Snowflake> {
        match self.0.get(name) {
            Some(CommandOptionValue::Role(id)) => Some(Snowflake(id.get())),
            _ => None,
        }
    }

    pub(crate) fn user(&self, name: &str) -> Option<Snowflake> {
        match self.0.get(name) {
            Some(CommandOptionValue::User(id)) => Some(Snowflake(id.get())),
            _ => None,
        }
    }

    /// One of `T`'s keys (`default` when left out); an unknown value is
    /// the user's error.
    fn choice<T: Choice>(&self, name: &str, default: T) -> Outcome<T> {
        match self.string(name) {
            None => Ok(default),
            Some(value) => T::from_key(value).ok_or_else(|| {
                Failure::user(format!(
                    "`{value}` is not a valid {name}. Choose one of: {}.",
                    T::listed(T::ALL)
                ))
            }),
        }
    }
}

/// The timeframe option among those `view` offers: a preset, or `None` for
/// custom dates (answered with the form).
fn timeframe_option(options: &Options, view: View) -> Outcome<Option<shared::time::Timeframe>> {
    match options.string("timeframe") {
        None => Ok(Some(shared::time::Timeframe::Last7Days)),
        Some(key) => {
            let offered = TimeframeChoice::offered(view);
            TimeframeChoice::from_key(key)
                .filter(|c| offered.contains(c))
                .map(TimeframeChoice::preset)
                .ok_or_else(|| {
                    Failure::user(format!(
                        "`{key}` is not a timeframe I know. Choose one of: {}.",
                        TimeframeChoice::listed(offered)
                    ))
                })
        }
    }
}

async fn command(ctx: &Ctx, data: &CommandData) -> Outcome<Reply> {
    let (path, values) = flatten(&data.options);
    let options = Options(values);
    let path: Vec<&str> = path.iter().map(String::as_str).collect();
    let view = match (data.name.as_str(), path.as_slice()) {
        ("serverstats", ["overview"]) => View::Overview,
        ("serverstats", ["members"]) => {
            View::Members(options.choice("category", MembersCategory::Growth)?)
        }
        ("serverstats", ["activity"]) => {
            View::Activity(options.choice("type", ActivityKind::Messages)?)
        }
        ("serverstats", ["channels"]) => View::Channels(options.choice("type", ChannelKind::Text)?),
        ("serverstats", ["trends"]) => {
            View::Trends(options.choice("metric", TrendMetric::Messages)?)
        }
        ("activity", ["analyze", "member"]) => {
            View::Member(options.user("user").unwrap_or(ctx.user_id))
        }
        ("activity", ["analyze", "channel"]) => View::Channel(
            options
                .channel("channel")
                .or(ctx.channel_id)
                .ok_or_else(|| Failure::user("Pick a channel to analyse."))?,
            options.choice("metric", ChannelMetric::Messages)?,
        ),
        ("activity", ["analyze", "comparative"]) => View::Comparative(
            options.choice("metric", TrendMetric::Messages)?,
            options.channel("channel"),
            options.channel("other"),
        ),
        ("topmessagers", []) => View::TopMessagers,
        ("leaderboard", []) => View::Leaderboard(
            options.channel("channel"),
            options.choice("metric", BoardMetric::Messages)?,
            0,
        ),
        ("setup", []) => return settings::setup(ctx, &options).await,
        ("set-update-channel", []) => {
            return digest::warned(ctx, settings::set_update_channel(ctx, &options).await).await;
        }
        ("add-collect-channel", []) => {
            return digest::warned(ctx, settings::collect_channel(ctx, &options, true).await).await;
        }
        ("remove-collect-channel", []) => {
            let reply = settings::collect_channel(ctx, &options, false).await;
            return digest::warned(ctx, reply).await;
        }
        ("retention", []) => return settings::set_retention(ctx, &options).await,
        ("backfill", ["start"]) => return backfill::start(ctx, &options).await,
        ("backfill", ["status"]) => return backfill::status(ctx).await,
        ("backfill", ["cancel"]) => return backfill::cancel(ctx).await,
        ("set-digest", []) => {
            return digest::warned(ctx, digest::set_digest(ctx, &options).await).await;
        }
        ("pulse-report", []) => return digest::warned(ctx, pulse::pulse_report(ctx).await).await,
        ("alerts", []) => return digest::warned(ctx, alerts::overview(ctx).await).await,
        ("toggle-alert", []) => {
            return digest::warned(ctx, alerts::toggle(ctx, &options).await).await;
        }
        ("alert-threshold", []) => {
            return digest::warned(ctx, alerts::threshold(ctx, &options).await).await;
        }
        ("ai-provider", ["set"]) => return ai_provider::set(ctx, &options).await,
        ("ai-provider", ["key"]) => return ai_provider::key(ctx).await,
        ("ai-provider", ["test"]) => return ai_provider::test(ctx).await,
        ("ai-provider", ["clear"]) => return ai_provider::clear(ctx).await,
        ("dashboard", ["open"]) => return dashboard::open(ctx).await,
        ("dashboard", ["revoke"]) => return dashboard::revoke(ctx).await,
        ("digest", ["preview"]) => return digest::warned(ctx, digest::preview(ctx).await).await,
        ("access", [sub]) => return access::access_command(ctx, sub, &options).await,
        ("audit", []) => {
            let log = match options.string("log") {
                None => crate::component::AuditLog::Settings,
                Some(key) => crate::component::AuditLog::from_key(key)
                    .ok_or_else(|| Failure::user("Choose the settings audit or the access log."))?,
            };
            return Ok(Reply::Message(access::audit(ctx, log, 0).await?));
        }
        ("privacy", [sub]) => return privacy::privacy(ctx, sub).await,
        ("export-report", []) => return privacy::export_report(ctx, &options).await,
        (name, _) => {
            return Err(Failure::user(format!(
                "I don't know the command `/{name}`. The command list may be out of date; an admin can re-register commands."
            )));
        }
    };
    match timeframe_option(&options, view)? {
        Some(timeframe) => report(ctx, Request { view, timeframe }).await,
        None => {
            access::authorize(ctx, view).await?;
            ctx.tracked_settings().await?;
            Ok(custom_timeframe_modal(view))
        }
    }
}

/// A report as a new message: public, or only for the member who asked
/// when `/access answers` says so.
pub(crate) async fn report(ctx: &Ctx, request: Request) -> Outcome<Reply> {
    let (mut message, rules) = authorized_report(ctx, request).await?;
    message.ephemeral = rules.private_answers;
    Ok(Reply::Message(message))
}

/// The report of `request` once its limits and the member's access are
/// checked: every path to a report (options, the form, a component) comes
/// through here.
pub(crate) async fn checked_report(ctx: &Ctx, request: Request) -> Outcome<crate::reply::Message> {
    Ok(authorized_report(ctx, request).await?.0)
}

async fn authorized_report(
    ctx: &Ctx,
    request: Request,
) -> Outcome<(crate::reply::Message, shared::db::access::Access)> {
    let request = request.validate().map_err(Failure::User)?;
    let rules = access::authorize(ctx, request.view).await?;
    let message = crate::answers::report(ctx, request).await?;
    if let View::Member(user) = request.view
        && user != ctx.user_id
    {
        access::log_member_analysis(ctx, user).await?;
    }
    Ok((message, rules))
}

/// Timezone names containing what the user typed (case-insensitive).
fn autocomplete(data: &CommandData) -> Reply {
    let (_, values) = flatten(&data.options);
    let typed = Options(values)
        .string("timezone")
        .unwrap_or_default()
        .to_lowercase();
    let choices = chrono_tz::TZ_VARIANTS
        .iter()
        .map(|tz| tz.name())
        .filter(|name| name.to_lowercase().contains(&typed))
        .take(reply::limits::CHOICES)
        .map(|name| (name.to_owned(), name.to_owned()))
        .collect();
    Reply::Choices(choices)
}
