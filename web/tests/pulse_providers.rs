//! `/pulse-report` written by providers (the fake provider server): what
//! is sent (aggregates only), the figures table beside the model's text,
//! the stored report with its tokens and the 10-minute limit, a text with
//! an invented number rejected, and the fallback to the built-in report.

#[allow(unused_imports)]
mod common;

use std::time::Duration;

use chrono::Duration as Span;
use common::*;
use serverpulse_testkit::providers::{FakeProviders, Fault, TOKENS_IN, TOKENS_OUT};
use serverpulse_testkit::secrets;
use serverpulse_testkit::web::{WebApp, WebAppOptions};
use shared::config::{AiConfig, DefaultProvider, ProviderKind, Secret};
use sim_scenario::truth::GroundTruth;

/// The operator's key (distinctive, recorded for the log check).
fn operator_key() -> &'static str {
    static KEY: std::sync::LazyLock<String> =
        std::sync::LazyLock::new(|| serverpulse_testkit::secrets::api_key("operator"));
    &KEY
}

fn ai(fake: &FakeProviders, default: Option<ProviderKind>) -> AiConfig {
    AiConfig {
        base_urls: ProviderKind::ALL
            .into_iter()
            .map(|k| (k, fake.url(k.name())))
            .collect(),
        default_provider: default.map(|kind| DefaultProvider {
            kind,
            model: kind.default_model().to_owned(),
            key: Some(Secret::new(operator_key())),
        }),
        connect_timeout: Duration::from_secs(1),
        request_timeout: Duration::from_secs(2),
        ..AiConfig::default()
    }
}

/// A week of a small community, its report asked for the morning after.
async fn community(ai: AiConfig) -> (App, GroundTruth, u64) {
    let (_, truth) = dst_scenario(7);
    let guild = truth.guild_ids[0];
    let end = at(truth.start_ms + 7 * DAY_MS) + Span::hours(9);
    let app = WebApp::start(WebAppOptions {
        ai: Some(ai),
        ..WebAppOptions::at(TOKEN, end)
    })
    .await;
    seed(&app, &truth, guild, "UTC").await;
    (app, truth, guild)
}

async fn stored(app: &App) -> Vec<(String, String, i32, i32, i32)> {
    sqlx::query_as(
        "select provider, model, prompt_version, tokens_in, tokens_out
         from pulse_reports order by report_id",
    )
    .fetch_all(&app.db.pool)
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operators_default_provider_writes_beside_our_figures_from_aggregates_only() {
    let _keys = secrets::check();
    let fake = FakeProviders::start().await;
    let (app, truth, guild) = community(ai(&fake, Some(ProviderKind::Anthropic))).await;
    fake.reply(
        "anthropic",
        "## What changed most\nThe community was quieter than usual.\n## Suggestions\n- Ask rank 1 to start threads.",
    );
    let report = final_message(&app, &command("pulse-report", vec![]), &admin(guild)).await;
    let text = description(&report);
    assert!(
        text.starts_with("**What changed most**\nThe community was quieter than usual."),
        "{text}"
    );
    assert!(text.contains("**Suggestions**\n- Ask rank 1 to start threads."));
    // Our closing section, whoever wrote the rest.
    assert!(text.contains("cannot judge how members feel"), "{text}");
    // Our figures beside it, and who wrote it.
    let messages = field(&report, "Messages");
    assert!(messages.contains("week before"), "{messages}");
    let footer = embed(&report)["footer"]["text"].as_str().unwrap();
    assert!(
        footer.starts_with("Written by Anthropic (claude-3-5-haiku-latest)."),
        "{footer}"
    );
    assert_eq!(
        content(&report),
        format!("Provider tokens for this report: {TOKENS_IN} in, {TOKENS_OUT} out.")
    );

    // What was sent: the figures, never a member's id; the operator's key
    // to the operator's provider only.
    let sent = fake.requests();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].header("x-api-key"), Some(operator_key()));
    let body = sent[0].body.to_string();
    assert!(body.contains("rank 1:"), "{body}");
    assert!(body.contains("cannot judge"), "{body}");
    for member in &truth.members {
        assert!(
            !body.contains(&member.user_id.to_string()),
            "user id {} sent",
            member.user_id
        );
    }
    assert!(!body.contains(&guild.to_string()), "guild id sent");

    assert_eq!(
        stored(&app).await,
        vec![(
            "anthropic".to_owned(),
            "claude-3-5-haiku-latest".to_owned(),
            serverpulse_web::pulse::prompt::PROMPT_VERSION,
            TOKENS_IN as i32,
            TOKENS_OUT as i32
        )]
    );

    // Within 10 minutes: the stored one, no new request, its cost shown.
    let again = final_message(&app, &command("pulse-report", vec![]), &admin(guild)).await;
    assert!(content(&again).contains("a new one can be made"));
    assert!(content(&again).contains(&format!("{TOKENS_IN} in, {TOKENS_OUT} out")));
    assert_eq!(description(&again), text);
    assert_eq!(fake.requests().len(), 1);
    assert_eq!(stored(&app).await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_text_with_a_number_not_in_our_figures_is_rejected_for_the_built_in_report() {
    let _keys = secrets::check();
    let fake = FakeProviders::start().await;
    let (app, _, guild) = community(ai(&fake, Some(ProviderKind::OpenAi))).await;
    fake.reply(
        "openai",
        "## What changed most\nMessages rose by 987,654 this week.",
    );
    let report = final_message(&app, &command("pulse-report", vec![]), &admin(guild)).await;
    let text = description(&report);
    assert!(
        text.starts_with(
            "**Written by the built-in rules instead**\nOpenAI's text used figures that are not ours: 987654."
        ),
        "{text}"
    );
    assert!(!text.contains("987,654 this week"));
    let footer = embed(&report)["footer"]["text"].as_str().unwrap();
    assert!(
        footer.starts_with("Written by ServerPulse's built-in rules (the fallback)."),
        "{footer}"
    );
    // The rejected answer's tokens were spent all the same.
    assert_eq!(
        stored(&app).await,
        vec![(
            "builtin".to_owned(),
            String::new(),
            0,
            TOKENS_IN as i32,
            TOKENS_OUT as i32
        )]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_default_provider_falls_back_to_the_built_in_report_saying_why() {
    let _keys = secrets::check();
    let fake = FakeProviders::start().await;
    let (app, _, guild) = community(ai(&fake, Some(ProviderKind::Gemini))).await;
    fake.always("gemini", Some(Fault::ServerError));
    let report = final_message(&app, &command("pulse-report", vec![]), &admin(guild)).await;
    let text = description(&report);
    assert!(
        text.starts_with(
            "**Written by the built-in rules instead**\nGoogle Gemini answered 500: The server had an error."
        ),
        "{text}"
    );
    assert!(text.contains("**What changed most**"), "{text}");
    assert!(!text.contains(operator_key()));
    // The first try and two retries.
    assert_eq!(fake.requests_to("gemini").len(), 3);
    assert_eq!(content(&report), "");
}
