//! From a parsed interaction to a [`Reply`]: commands, autocomplete,
//! buttons, selects and modal submits. Permissions are checked here, from
//! the interaction's `member.permissions`, whatever the registration said.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde_json::json;
use shared::Snowflake;
use shared::db::DbError;
use shared::db::settings::{self, CollectMode, GuildSettings};
use shared::time::Timeframe;
use twilight_model::application::interaction::application_command::{
    CommandData, CommandDataOption, CommandOptionValue,
};
use twilight_model::application::interaction::message_component::MessageComponentInteractionData;
use twilight_model::application::interaction::modal::{
    ModalInteractionComponent, ModalInteractionData,
};
use twilight_model::application::interaction::{Interaction, InteractionData, InteractionType};

use crate::AppState;
use crate::definitions::{ADMINISTRATOR, MANAGE_GUILD};
use crate::reply::{self, Embed, Message, Reply};
use crate::view::{
    ActivityKind, BoardMetric, ChannelKind, ChannelMetric, MembersCategory, Request, TrendMetric,
    View,
};

/// Why a request could not be answered with a report.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    /// Something the user can fix; the text says how.
    #[error("{0}")]
    User(String),
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("{0}")]
    Internal(String),
}

impl Failure {
    pub fn user(text: impl Into<String>) -> Self {
        Self::User(text.into())
    }

    /// The short ephemeral message the user sees.
    pub fn message(&self) -> Message {
        match self {
            Self::User(text) => Message::notice(text.clone()),
            Self::Db(error) if error.is_unavailable() => {
                tracing::warn!(%error, "database unavailable while answering");
                Message::notice(
                    "The statistics database is unavailable right now. Please try again in a minute.",
                )
            }
            Self::Db(error) => {
                tracing::error!(%error, "query failed while answering");
                Message::notice(
                    "Something went wrong on our side while reading statistics. Please try again.",
                )
            }
            Self::Internal(error) => {
                tracing::error!(%error, "internal error while answering");
                Message::notice("Something went wrong on our side. Please try again.")
            }
        }
    }
}

pub type Outcome<T> = Result<T, Failure>;

/// Who asked, where, and what Discord resolved for us.
pub struct Ctx {
    pub state: AppState,
    pub guild_id: Snowflake,
    pub user_id: Snowflake,
    /// Where the command was used (the default channel to analyse).
    pub channel_id: Option<Snowflake>,
    pub permissions: u64,
    pub now: DateTime<Utc>,
    /// Channel names Discord resolved for the options.
    pub channel_names: HashMap<Snowflake, String>,
}

impl Ctx {
    pub fn is_admin(&self) -> bool {
        self.permissions & (MANAGE_GUILD | ADMINISTRATOR) != 0
    }

    fn require_admin(&self) -> Outcome<()> {
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

/// Answers one interaction (never fails: failures become notices).
pub async fn dispatch(state: AppState, interaction: Interaction) -> Reply {
    let Some(guild_id) = interaction.guild_id else {
        return Reply::Message(Message::notice(
            "ServerPulse commands work inside a server only.",
        ));
    };
    let member = interaction.member.as_ref();
    let permissions = member.and_then(|m| m.permissions).map_or(0, |p| p.bits());
    let user_id = member
        .and_then(|m| m.user.as_ref())
        .or(interaction.user.as_ref())
        .map_or(Snowflake(0), |u| Snowflake(u.id.get()));
    let mut ctx = Ctx {
        now: (state.clock)(),
        state,
        guild_id: Snowflake(guild_id.get()),
        user_id,
        channel_id: interaction.channel.as_ref().map(|c| Snowflake(c.id.get())),
        permissions,
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
        Some(InteractionData::MessageComponent(data)) => component(&ctx, &data).await,
        Some(InteractionData::ModalSubmit(data)) => modal(&ctx, &data).await,
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

struct Options(HashMap<String, CommandOptionValue>);

impl Options {
    fn string(&self, name: &str) -> Option<&str> {
        match self.0.get(name) {
            Some(CommandOptionValue::String(s) | CommandOptionValue::Focused(s, _)) => Some(s),
            _ => None,
        }
    }

    fn boolean(&self, name: &str) -> Option<bool> {
        match self.0.get(name) {
            Some(CommandOptionValue::Boolean(b)) => Some(*b),
            _ => None,
        }
    }

    fn channel(&self, name: &str) -> Option<Snowflake> {
        match self.0.get(name) {
            Some(CommandOptionValue::Channel(id)) => Some(Snowflake(id.get())),
            _ => None,
        }
    }

    fn user(&self, name: &str) -> Option<Snowflake> {
        match self.0.get(name) {
            Some(CommandOptionValue::User(id)) => Some(Snowflake(id.get())),
            _ => None,
        }
    }

    /// A choice among `parse`'s keys; an unknown value is the user's error.
    fn choice<T>(
        &self,
        name: &str,
        parse: fn(&str) -> Option<T>,
        default: T,
        allowed: &str,
    ) -> Outcome<T> {
        match self.string(name) {
            None => Ok(default),
            Some(value) => parse(value).ok_or_else(|| {
                Failure::user(format!(
                    "`{value}` is not a valid {name}. Choose one of: {allowed}."
                ))
            }),
        }
    }
}

/// The timeframe option: a preset, `custom` (answered with the modal:
/// `Ok(None)`), or an error naming the choices.
fn timeframe_option(options: &Options, allowed: &[&str]) -> Outcome<Option<Timeframe>> {
    match options.string("timeframe") {
        None => Ok(Some(Timeframe::Last7Days)),
        Some("custom") if allowed.contains(&"custom") => Ok(None),
        Some(key) if allowed.contains(&key) => Ok(Timeframe::from_key(key)),
        Some(other) => Err(Failure::user(format!(
            "`{other}` is not a timeframe I know. Choose one of: {}.",
            allowed.join(", ")
        ))),
    }
}

const ALL_TIMEFRAMES: &[&str] = &["24h", "7d", "30d", "90d", "all", "custom"];

fn keys<T: Copy>(all: &[T], key: fn(T) -> &'static str) -> String {
    all.iter().map(|v| key(*v)).collect::<Vec<_>>().join(", ")
}

/// The modal asking for a custom timeframe; its id carries the view.
pub fn custom_timeframe_modal(view: View) -> Reply {
    let input = |id: &str, label: &str, placeholder: &str| {
        json!({"type": 1, "components": [{"type": 4, "custom_id": id, "label": label, "style": 1,
               "min_length": 10, "max_length": 10, "required": true, "placeholder": placeholder}]})
    };
    Reply::Modal(json!({
        "custom_id": format!("tf|{}", view.encode()),
        "title": "Custom timeframe",
        "components": [
            input("from", "From (YYYY-MM-DD, first day)", "2026-10-01"),
            input("to", "To (YYYY-MM-DD, last day)", "2026-10-31"),
        ],
    }))
}

async fn command(ctx: &Ctx, data: &CommandData) -> Outcome<Reply> {
    let (path, values) = flatten(&data.options);
    let options = Options(values);
    let path: Vec<&str> = path.iter().map(String::as_str).collect();
    let view = match (data.name.as_str(), path.as_slice()) {
        ("serverstats", ["overview"]) => View::Overview,
        ("serverstats", ["members"]) => View::Members(options.choice(
            "category",
            MembersCategory::from_key,
            MembersCategory::Growth,
            &keys(MembersCategory::ALL, MembersCategory::key),
        )?),
        ("serverstats", ["activity"]) => View::Activity(options.choice(
            "type",
            ActivityKind::from_key,
            ActivityKind::Messages,
            &keys(ActivityKind::ALL, ActivityKind::key),
        )?),
        ("serverstats", ["channels"]) => View::Channels(options.choice(
            "type",
            ChannelKind::from_key,
            ChannelKind::Text,
            &keys(ChannelKind::ALL, ChannelKind::key),
        )?),
        ("serverstats", ["trends"]) => View::Trends(options.choice(
            "metric",
            TrendMetric::from_key,
            TrendMetric::Messages,
            &keys(TrendMetric::ALL, TrendMetric::key),
        )?),
        ("activity", ["analyze", "member"]) => {
            View::Member(options.user("user").unwrap_or(ctx.user_id))
        }
        ("activity", ["analyze", "channel"]) => View::Channel(
            options
                .channel("channel")
                .or(ctx.channel_id)
                .ok_or_else(|| Failure::user("Pick a channel to analyse."))?,
            options.choice(
                "metric",
                ChannelMetric::from_key,
                ChannelMetric::Messages,
                &keys(ChannelMetric::ALL, ChannelMetric::key),
            )?,
        ),
        ("activity", ["analyze", "comparative"]) => View::Comparative(
            options.choice(
                "metric",
                TrendMetric::from_key,
                TrendMetric::Messages,
                &keys(TrendMetric::ALL, TrendMetric::key),
            )?,
            options.channel("channel"),
            options.channel("other"),
        ),
        ("topmessagers", []) => {
            let timeframe = timeframe_option(&options, &["24h", "7d", "30d", "all"])?
                .expect("custom is not offered");
            return report(
                ctx,
                Request {
                    view: View::TopMessagers,
                    timeframe,
                },
            )
            .await;
        }
        ("leaderboard", []) => View::Leaderboard(
            options.channel("channel"),
            options.choice(
                "metric",
                BoardMetric::from_key,
                BoardMetric::Messages,
                &keys(BoardMetric::ALL, BoardMetric::key),
            )?,
            0,
        ),
        ("setup", []) => return setup(ctx, &options).await,
        ("set-update-channel", []) => return set_update_channel(ctx, &options).await,
        ("add-collect-channel", []) => return collect_channel(ctx, &options, true).await,
        ("remove-collect-channel", []) => return collect_channel(ctx, &options, false).await,
        (name, _) => {
            return Err(Failure::user(format!(
                "I don't know the command `/{name}`. The command list may be out of date; an admin can re-register commands."
            )));
        }
    };
    match timeframe_option(&options, ALL_TIMEFRAMES)? {
        Some(timeframe) => report(ctx, Request { view, timeframe }).await,
        None => {
            ctx.tracked_settings().await?;
            Ok(custom_timeframe_modal(view))
        }
    }
}

async fn report(ctx: &Ctx, request: Request) -> Outcome<Reply> {
    Ok(Reply::Message(crate::report::render(ctx, request).await?))
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

async fn component(ctx: &Ctx, data: &MessageComponentInteractionData) -> Outcome<Reply> {
    let id = data.custom_id.as_str();
    if let Some(request) = Request::from_custom_id(id) {
        return Ok(Reply::Update(crate::report::render(ctx, request).await?));
    }
    if let Some(view) = id.strip_prefix("tfc|").and_then(View::decode) {
        ctx.tracked_settings().await?;
        return Ok(custom_timeframe_modal(view));
    }
    if let Some(timeframe) = id
        .strip_prefix("sel|")
        .and_then(crate::view::decode_timeframe)
    {
        let view = data
            .values
            .first()
            .and_then(|v| View::decode(v))
            .ok_or_else(|| {
                Failure::user("That choice is not available any more; run the command again.")
            })?;
        return Ok(Reply::Update(
            crate::report::render(ctx, Request { view, timeframe }).await?,
        ));
    }
    if id == SETUP_CHANNELS_ID {
        return choose_channels(ctx, &data.values).await;
    }
    Err(Failure::user(
        "This button is from an older version of ServerPulse; run the command again.",
    ))
}

async fn modal(ctx: &Ctx, data: &ModalInteractionData) -> Outcome<Reply> {
    let view = data
        .custom_id
        .strip_prefix("tf|")
        .and_then(View::decode)
        .ok_or_else(|| {
            Failure::user(
                "This form is from an older version of ServerPulse; run the command again.",
            )
        })?;
    let mut fields = HashMap::new();
    fn collect(components: &[ModalInteractionComponent], fields: &mut HashMap<String, String>) {
        for component in components {
            match component {
                ModalInteractionComponent::ActionRow(row) => collect(&row.components, fields),
                ModalInteractionComponent::Label(label) => {
                    collect(std::slice::from_ref(&label.component), fields)
                }
                ModalInteractionComponent::TextInput(input) => {
                    fields.insert(input.custom_id.clone(), input.value.clone());
                }
                _ => {}
            }
        }
    }
    collect(&data.components, &mut fields);
    let settings = ctx.tracked_settings().await?;
    let (Some(from), Some(to)) = (fields.get("from"), fields.get("to")) else {
        return Err(Failure::user(
            "Fill in both dates, like 2026-10-01 and 2026-10-31.",
        ));
    };
    let timeframe =
        crate::period::parse_custom(from, to, timezone_of(&settings)).map_err(Failure::User)?;
    report(ctx, Request { view, timeframe }).await
}

pub const SETUP_CHANNELS_ID: &str = "setup|channels";

async fn setup(ctx: &Ctx, options: &Options) -> Outcome<Reply> {
    ctx.require_admin()?;
    let timezone = match options.string("timezone") {
        Some(name) => Some(name.parse::<Tz>().map_err(|_| {
            Failure::user(format!(
                "`{name}` is not a timezone I know. Start typing a city to pick one, e.g. Europe/Berlin."
            ))
        })?),
        None => None,
    };
    let choose = match options.string("channels") {
        None | Some("all") => false,
        Some("choose") => true,
        Some(other) => {
            return Err(Failure::user(format!(
                "`{other}` is not a valid channels choice. Choose all or choose."
            )));
        }
    };
    let tracking = options.boolean("tracking").unwrap_or(true);
    let mut tx = ctx.state.pool.begin().await.map_err(DbError::from)?;
    let settings = settings::set_tracking(&mut tx, ctx.guild_id, ctx.user_id, tracking).await?;
    if options.string("channels").is_some() && !choose {
        settings::set_collect_mode(&mut tx, ctx.guild_id, ctx.user_id, CollectMode::All).await?;
    }
    if let Some(tz) = timezone {
        settings::set_timezone(&mut tx, ctx.guild_id, ctx.user_id, tz.name()).await?;
    }
    if let Some(channel) = options.channel("update_channel") {
        settings::set_update_channel(&mut tx, ctx.guild_id, ctx.user_id, Some(channel)).await?;
    }
    tx.commit().await.map_err(DbError::from)?;
    let settings = settings::load(&ctx.state.pool, ctx.guild_id)
        .await
        .unwrap_or(settings);
    let mut message = Message {
        embeds: vec![settings_embed(ctx, &settings)],
        ephemeral: true,
        ..Message::default()
    };
    if choose {
        message.content =
            Some("Pick the channels to collect (threads follow their parent):".into());
        message.components = vec![reply::row(vec![json!({
            "type": 8, "custom_id": SETUP_CHANNELS_ID, "placeholder": "Channels to collect",
            "channel_types": [0, 2, 5, 13, 15], "min_values": 1, "max_values": 25,
        })])];
    }
    Ok(Reply::Message(message))
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
            "Update channel",
            settings
                .update_channel_id
                .map_or_else(|| "not set".to_owned(), |c| ctx.channel_label(c)),
            true,
        )
        .footer("Changes are recorded in the settings audit log.")
}

async fn choose_channels(ctx: &Ctx, values: &[String]) -> Outcome<Reply> {
    ctx.require_admin()?;
    let chosen: Vec<Snowflake> = values.iter().filter_map(|v| v.parse().ok()).collect();
    if chosen.is_empty() {
        return Err(Failure::user("Pick at least one channel."));
    }
    let mut tx = ctx.state.pool.begin().await.map_err(DbError::from)?;
    for old in settings::collected_channels(&mut *tx, ctx.guild_id).await? {
        if !chosen.contains(&old) {
            settings::set_channel_collected(&mut tx, ctx.guild_id, ctx.user_id, old, false).await?;
        }
    }
    for channel in &chosen {
        settings::set_channel_collected(&mut tx, ctx.guild_id, ctx.user_id, *channel, true).await?;
    }
    settings::set_collect_mode(&mut tx, ctx.guild_id, ctx.user_id, CollectMode::AllowList).await?;
    tx.commit().await.map_err(DbError::from)?;
    let list: Vec<String> = chosen.iter().map(|c| format!("<#{c}>")).collect();
    Ok(Reply::Update(Message {
        content: Some(format!("Collecting only: {}", list.join(", "))),
        ephemeral: true,
        ..Message::default()
    }))
}

async fn set_update_channel(ctx: &Ctx, options: &Options) -> Outcome<Reply> {
    ctx.require_admin()?;
    let channel = options
        .channel("channel")
        .ok_or_else(|| Failure::user("Pick the channel digests and alerts should go to."))?;
    let mut tx = ctx.state.pool.begin().await.map_err(DbError::from)?;
    settings::set_update_channel(&mut tx, ctx.guild_id, ctx.user_id, Some(channel)).await?;
    tx.commit().await.map_err(DbError::from)?;
    Ok(Reply::Message(Message::notice(format!(
        "Digests and alerts will go to {}.",
        ctx.channel_label(channel)
    ))))
}

async fn collect_channel(ctx: &Ctx, options: &Options, collect: bool) -> Outcome<Reply> {
    ctx.require_admin()?;
    let channel = options
        .channel("channel")
        .ok_or_else(|| Failure::user("Pick a channel."))?;
    let label = ctx.channel_label(channel);
    let current = ctx.settings().await?;
    let mut tx = ctx.state.pool.begin().await.map_err(DbError::from)?;
    if !collect && current.collect_mode == CollectMode::All {
        // Everything is collected: the admin means "everything but this".
        let kept = settings::collect_all_but(&mut tx, ctx.guild_id, ctx.user_id, channel).await?;
        tx.commit().await.map_err(DbError::from)?;
        return Ok(Reply::Message(Message::notice(format!(
            "{label} is no longer collected. ServerPulse now collects an allow-list of the other {kept} channels; \
             channels created from now on are collected once you add them with /add-collect-channel."
        ))));
    }
    let changed =
        settings::set_channel_collected(&mut tx, ctx.guild_id, ctx.user_id, channel, collect)
            .await?;
    tx.commit().await.map_err(DbError::from)?;
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
