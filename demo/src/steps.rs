//! The demo's script: set up tracking, wait for the ingester, then tour
//! every command and keep a transcript of what a user saw.

use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use discord_sim::interactions::{
    CommandOption, FinalMessage, InteractionClient, InteractionKind, Invoker, OptionValue,
};
use serde_json::Value;
use sim_scenario::truth::{AuthorKind, GroundTruth};
use sqlx::PgPool;

pub use crate::transcript::{Entry, Transcript};

/// A guild of the scenario, with channels to point commands at.
pub struct DemoGuild {
    pub id: u64,
    pub text_channel: (u64, String),
    pub second_text_channel: Option<(u64, String)>,
    pub voice_channel: Option<(u64, String)>,
    /// A member who talks (for `/activity analyze member`).
    pub member: Option<u64>,
}

pub fn guilds(truth: &GroundTruth) -> Vec<DemoGuild> {
    truth
        .guild_ids
        .iter()
        .filter_map(|&guild| {
            let live = |kind: u8| {
                truth
                    .channels
                    .iter()
                    .filter(move |c| {
                        c.guild_id == guild && c.kind == kind && c.deleted_ms.is_none()
                    })
                    .map(|c| (c.channel_id, c.name.clone()))
            };
            let mut texts = live(0);
            let text_channel = texts.next()?;
            // The member with the most messages (for /activity analyze member).
            let mut counts = std::collections::HashMap::<u64, usize>::new();
            for m in truth
                .messages
                .iter()
                .filter(|m| m.guild_id == guild && m.author_kind == AuthorKind::Member)
            {
                *counts.entry(m.author_id).or_default() += 1;
            }
            let member = counts
                .into_iter()
                .max_by_key(|&(user, n)| (n, std::cmp::Reverse(user)))
                .map(|(user, _)| user);
            Some(DemoGuild {
                id: guild,
                text_channel,
                second_text_channel: texts.next(),
                voice_channel: live(2).next(),
                member,
            })
        })
        .collect()
}

pub(crate) async fn invoke(
    client: &InteractionClient,
    transcript: &mut Transcript,
    title: String,
    kind: InteractionKind,
    invoker: &Invoker,
) -> Option<FinalMessage> {
    let started = Instant::now();
    let result = client.send(&kind, invoker).await;
    let latency = started.elapsed();
    let (outcome, error) = match result {
        Ok(outcome) => (Some(outcome), None),
        Err(error) => (None, Some(format!("{error:#}"))),
    };
    let answer = outcome.as_ref().and_then(|o| o.final_message.clone());
    transcript.entries.push(Entry {
        title,
        outcome,
        posted: None,
        error,
        latency,
    });
    answer
}

/// The first enabled button of a message: its `custom_id` and label.
fn first_button(message: &Value) -> Option<(String, String)> {
    message["components"]
        .as_array()?
        .iter()
        .flat_map(|row| row["components"].as_array().into_iter().flatten())
        .filter(|c| c["type"] == 2 && c["disabled"] != true)
        .find_map(|c| {
            Some((
                c["custom_id"].as_str()?.to_owned(),
                c["label"].as_str().unwrap_or("?").to_owned(),
            ))
        })
}

/// The first button whose label starts with `prefix`: its `custom_id` and label.
fn button_labelled(message: &Value, prefix: &str) -> Option<(String, String)> {
    message["components"]
        .as_array()?
        .iter()
        .flat_map(|row| row["components"].as_array().into_iter().flatten())
        .filter(|c| c["type"] == 2 && c["label"].as_str().is_some_and(|l| l.starts_with(prefix)))
        .find_map(|c| {
            Some((
                c["custom_id"].as_str()?.to_owned(),
                c["label"].as_str()?.to_owned(),
            ))
        })
}

pub(crate) fn command(name: &str, options: Vec<CommandOption>) -> InteractionKind {
    InteractionKind::Command {
        name: name.to_owned(),
        options,
    }
}

/// `/activity analyze <subcommand>` with its options.
fn analyze(subcommand: &str, options: Vec<CommandOption>) -> InteractionKind {
    let group = OptionValue::SubcommandGroup(vec![sub(subcommand, options)]);
    command("activity", vec![CommandOption::new("analyze", group)])
}

pub(crate) fn sub(name: &str, options: Vec<CommandOption>) -> CommandOption {
    CommandOption::new(name, OptionValue::Subcommand(options))
}

pub(crate) fn string(name: &str, value: &str) -> CommandOption {
    CommandOption::new(name, OptionValue::String(value.to_owned()))
}

fn channel(name: &str, (id, channel_name): &(u64, String), kind: u8) -> CommandOption {
    CommandOption::new(
        name,
        OptionValue::Channel {
            id: *id,
            name: channel_name.clone(),
            kind,
        },
    )
}

/// The `/serverstats` subcommands with the name of their category option
/// and its choices (none for the overview).
fn serverstats_reports() -> Vec<(String, String, Vec<String>)> {
    let definitions = serverpulse_web::definitions::commands();
    let Some(serverstats) = definitions
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["name"] == "serverstats")
    else {
        return Vec::new();
    };
    let mut reports = Vec::new();
    for subcommand in serverstats["options"].as_array().into_iter().flatten() {
        let name = subcommand["name"].as_str().unwrap_or_default().to_owned();
        let category = subcommand["options"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|o| o["name"] != "timeframe" && o["choices"].is_array());
        let (option, choices) = match category {
            Some(o) => (
                o["name"].as_str().unwrap_or_default().to_owned(),
                o["choices"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|c| c["value"].as_str().map(str::to_owned))
                    .collect(),
            ),
            None => (String::new(), Vec::new()),
        };
        reports.push((name, option, choices));
    }
    reports
}

/// `/setup` as an admin: tracking on, all channels, a timezone, an update
/// channel.
pub async fn setup(
    client: &InteractionClient,
    guild: &DemoGuild,
    transcript: &mut Transcript,
) -> anyhow::Result<()> {
    let admin = Invoker::admin(guild.id, guild.text_channel.0);
    let kind = command(
        "setup",
        vec![
            string("timezone", "Europe/Berlin"),
            channel("update_channel", &guild.text_channel, 0),
        ],
    );
    invoke(
        client,
        transcript,
        format!("/setup (guild {})", guild.id),
        kind,
        &admin,
    )
    .await;
    if transcript.failures() > 0 {
        bail!("/setup did not succeed; see the transcript");
    }
    Ok(())
}

/// A dashboard link from `/dashboard open`, as an admin of `guild` gets it.
pub async fn dashboard_link(
    client: &InteractionClient,
    guild: &DemoGuild,
) -> anyhow::Result<String> {
    let admin = Invoker::admin(guild.id, guild.text_channel.0);
    let kind = command(
        "dashboard",
        vec![CommandOption::new("open", OptionValue::Subcommand(vec![]))],
    );
    let outcome = client.send(&kind, &admin).await?;
    let text = outcome
        .final_message
        .as_ref()
        .and_then(|m| m.message["content"].as_str().map(str::to_owned))
        .unwrap_or_default();
    text.split_whitespace()
        .find(|word| word.starts_with("http"))
        .map(str::to_owned)
        .with_context(|| format!("no dashboard link in the answer: {text:?}"))
}

/// Every command a member or an admin would use.
pub async fn tour(
    client: &InteractionClient,
    guild: &DemoGuild,
    transcript: &mut Transcript,
) -> anyhow::Result<()> {
    let member = Invoker::member(guild.id, guild.text_channel.0);
    let mut steps: Vec<(String, InteractionKind)> = Vec::new();
    // Every /serverstats report, with every choice of its category option,
    // taken from the command definitions themselves so the tour cannot drift
    // from what is registered.
    for (subcommand, option, choices) in serverstats_reports() {
        if choices.is_empty() {
            for timeframe in ["7d", "30d"] {
                steps.push((
                    format!("/serverstats {subcommand} timeframe:{timeframe}"),
                    command(
                        "serverstats",
                        vec![sub(&subcommand, vec![string("timeframe", timeframe)])],
                    ),
                ));
            }
        }
        for choice in choices {
            steps.push((
                format!("/serverstats {subcommand} {option}:{choice} timeframe:30d"),
                command(
                    "serverstats",
                    vec![sub(
                        &subcommand,
                        vec![string("timeframe", "30d"), string(&option, &choice)],
                    )],
                ),
            ));
        }
    }
    steps.push((
        "/topmessagers 7d".into(),
        command("topmessagers", vec![string("timeframe", "7d")]),
    ));
    steps.push((
        "/leaderboard metric:messages".into(),
        command("leaderboard", vec![string("metric", "messages")]),
    ));
    steps.push((
        "/leaderboard metric:voice".into(),
        command("leaderboard", vec![string("metric", "voice")]),
    ));
    steps.push((
        "/leaderboard metric:reactions-received".into(),
        command("leaderboard", vec![string("metric", "reactions-received")]),
    ));
    let user = |id: u64| {
        CommandOption::new(
            "user",
            OptionValue::User {
                id,
                username: format!("user{id}"),
            },
        )
    };
    let month = || string("timeframe", "30d");
    if let Some(id) = guild.member {
        steps.push((
            "/activity analyze member".into(),
            analyze("member", vec![user(id), month()]),
        ));
    }
    let text = channel("channel", &guild.text_channel, 0);
    steps.push((
        "/activity analyze channel".into(),
        analyze("channel", vec![text, month()]),
    ));
    steps.push((
        "/activity analyze channel metric:emoji".into(),
        analyze(
            "channel",
            vec![
                channel("channel", &guild.text_channel, 0),
                string("metric", "emoji"),
                month(),
            ],
        ),
    ));
    if let Some(voice) = &guild.voice_channel {
        let options = vec![
            channel("channel", voice, 2),
            string("metric", "voice"),
            month(),
        ];
        steps.push((
            "/activity analyze channel (voice)".into(),
            analyze("channel", options),
        ));
    }
    let week = vec![string("timeframe", "7d")];
    steps.push((
        "/activity analyze comparative".into(),
        analyze("comparative", week),
    ));
    for (title, kind) in steps {
        let answer = invoke(client, transcript, title.clone(), kind, &member).await;
        // Click the first timeframe button under the overview, as a member
        // switching periods would.
        if title == "/serverstats overview timeframe:30d" {
            let Some(answer) = answer else { continue };
            if let Some((custom_id, label)) = first_button(&answer.message) {
                let message = answer.to_message_object(
                    discord_sim::interactions::fresh_id(),
                    guild.text_channel.0,
                    discord_sim::DEFAULT_APPLICATION_ID,
                );
                let click = InteractionKind::Component {
                    custom_id,
                    component_type: 2,
                    values: Vec::new(),
                    message,
                };
                invoke(
                    client,
                    transcript,
                    format!("[{label}] button under the overview"),
                    click,
                    &member,
                )
                .await;
            }
            // And one community health figure's definition.
            if let Some((custom_id, label)) = button_labelled(&answer.message, "What is") {
                let message = answer.to_message_object(
                    discord_sim::interactions::fresh_id(),
                    guild.text_channel.0,
                    discord_sim::DEFAULT_APPLICATION_ID,
                );
                let click = InteractionKind::Component {
                    custom_id,
                    component_type: 2,
                    values: Vec::new(),
                    message,
                };
                invoke(
                    client,
                    transcript,
                    format!("[{label}] button under the overview"),
                    click,
                    &member,
                )
                .await;
            }
        }
    }

    // The settings commands, as an admin and once as a member who may not.
    let admin = Invoker::admin(guild.id, guild.text_channel.0);
    let update_channel = || {
        command(
            "set-update-channel",
            vec![channel("channel", &guild.text_channel, 0)],
        )
    };
    let mut settings = Vec::new();
    if let Some(second) = &guild.second_text_channel {
        for name in ["remove-collect-channel", "add-collect-channel"] {
            settings.push((
                format!("/{name} (admin)"),
                command(name, vec![channel("channel", second, 0)]),
                &admin,
            ));
        }
    }
    settings.push((
        "/set-update-channel (admin)".into(),
        update_channel(),
        &admin,
    ));
    settings.push((
        "/set-update-channel (a member without Manage Server)".into(),
        update_channel(),
        &member,
    ));
    for (title, kind, invoker) in settings {
        invoke(client, transcript, title, kind, invoker).await;
    }
    Ok(())
}

/// Waits until the simulator has handed out every event and the ingester
/// has committed the last one, drawing a progress bar.
pub async fn wait_for_catch_up(
    sim: &discord_sim::SimHandle,
    pool: &PgPool,
    total: usize,
) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(600);
    let mut last_drawn = 0usize;
    loop {
        let (sent, _) = sim.gateway.shard_progress([0, 1]).unwrap_or((0, total));
        let committed = shared::db::ingest::load_checkpoint(pool, 0, 1)
            .await
            .context("reading the ingester's checkpoint")?
            .and_then(|c| c.sequence)
            .unwrap_or(0);
        let last_seq = if sent >= total {
            last_sequence_sent(sim)
        } else {
            None
        };
        let done = last_seq.is_some_and(|seq| committed as u64 >= seq);
        // Sequence numbers also count READY and GUILD_CREATE: close enough
        // for a bar, exact for the end condition above.
        let shown = (committed.max(0) as usize).min(total);
        if shown != last_drawn || done {
            draw_bar(shown, total);
            last_drawn = shown;
        }
        if done {
            eprintln!();
            return Ok(());
        }
        if Instant::now() > deadline {
            eprintln!();
            bail!(
                "the ingester did not catch up within 10 minutes ({committed} of {total} committed)"
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn last_sequence_sent(sim: &discord_sim::SimHandle) -> Option<u64> {
    sim.gateway
        .sessions()
        .into_iter()
        .rfind(|s| s.shard == [0, 1] && s.status == discord_sim::gateway::SessionStatus::Connected)
        .and_then(|s| {
            s.frames
                .iter()
                .rev()
                .find(|f| !f.sends.is_empty())
                .map(|f| f.seq)
        })
}

fn draw_bar(done: usize, total: usize) {
    let width = 40;
    let filled = (done * width)
        .checked_div(total)
        .unwrap_or(width)
        .min(width);
    let percent = (done * 100).checked_div(total).unwrap_or(100);
    eprint!(
        "\ringesting [{}{}] {percent:>3}% {done}/{total} events",
        "#".repeat(filled),
        " ".repeat(width - filled),
    );
}
