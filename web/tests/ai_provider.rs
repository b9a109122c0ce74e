//! `/ai-provider` with the fake provider server: a key typed into the modal
//! is stored only encrypted (a dump of every table finds no plaintext),
//! reaches its own provider only, cannot be used or decrypted in another
//! guild, and the fallback chain runs guild provider → operator default →
//! built-in. Without a master key, `key` refuses and reports still work.

#[allow(unused_imports)]
mod common;

use std::time::Duration;

use chrono::Duration as Span;
use common::*;
use discord_sim::{InteractionKind, Invoker};
use serverpulse_testkit::providers::{FakeProviders, Fault};
use serverpulse_testkit::secrets;
use serverpulse_testkit::web::{WebApp, WebAppOptions};
use serverpulse_web::component::ComponentId;
use shared::Snowflake;
use shared::config::{AiConfig, DefaultProvider, MasterKey, ProviderKind, Secret};
use shared::db::ai_providers;

/// The keys of these tests (distinctive, recorded for the log check).
fn guild_key() -> &'static str {
    static KEY: std::sync::LazyLock<String> =
        std::sync::LazyLock::new(|| serverpulse_testkit::secrets::api_key("guild"));
    &KEY
}

fn operator_key() -> &'static str {
    static KEY: std::sync::LazyLock<String> =
        std::sync::LazyLock::new(|| serverpulse_testkit::secrets::api_key("operator"));
    &KEY
}

/// The master keys: the configured one and the one `rotate-keys` moves to.
fn master_key(n: usize) -> MasterKey {
    static KEYS: std::sync::LazyLock<[MasterKey; 2]> = std::sync::LazyLock::new(|| {
        [
            serverpulse_testkit::secrets::master_key("master").0,
            serverpulse_testkit::secrets::master_key("master-next").0,
        ]
    });
    KEYS[n].clone()
}

fn ai(fake: &FakeProviders, master: bool, default: Option<ProviderKind>) -> AiConfig {
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
        master_key: master.then(|| master_key(0)),
        connect_timeout: Duration::from_secs(1),
        request_timeout: Duration::from_secs(2),
        ..AiConfig::default()
    }
}

/// Two tracked guilds with no activity: the report's figures are zeros,
/// which is all these tests need.
async fn app(ai: AiConfig) -> (App, u64, u64) {
    let now = at(DST_START_MS) + Span::hours(9);
    let app = WebApp::start(WebAppOptions {
        ai: Some(ai),
        ..WebAppOptions::at(TOKEN, now)
    })
    .await;
    let (a, b) = (9_001, 9_002);
    enable_tracking(&app, a, "UTC").await;
    enable_tracking(&app, b, "UTC").await;
    (app, a, b)
}

fn ai_provider(sub_name: &str, options: Vec<discord_sim::CommandOption>) -> InteractionKind {
    command("ai-provider", vec![sub(sub_name, options)])
}

/// `/ai-provider key`, then the modal submitted with `key`.
async fn set_key(app: &App, invoker: &Invoker, key: &str) -> String {
    let outcome = send(app, &ai_provider("key", vec![]), invoker).await;
    let modal = outcome.response.expect("a modal");
    assert_eq!(modal["type"], 9, "{modal}");
    assert!(modal["data"]["title"].as_str().unwrap().len() <= 45);
    let submit = InteractionKind::ModalSubmit {
        custom_id: modal["data"]["custom_id"].as_str().unwrap().to_owned(),
        fields: vec![(ComponentId::ApiKeyInput.encode(), key.to_owned())],
    };
    content(&final_message(app, &submit, invoker).await).to_owned()
}

async fn report(app: &App, invoker: &Invoker) -> (String, String) {
    let message = final_message(app, &command("pulse-report", vec![]), invoker).await;
    let footer = embed(&message)["footer"]["text"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    (description(&message).to_owned(), footer)
}

/// Every text, json and bytea value of every table, as text and bytes.
async fn dump(app: &App) -> Vec<u8> {
    let columns: Vec<(String, String, String)> = sqlx::query_as(
        "select table_name::text, column_name::text, data_type::text
         from information_schema.columns
         where table_schema = 'public'
           and data_type in ('text', 'character varying', 'jsonb', 'json', 'bytea', 'ARRAY')",
    )
    .fetch_all(&app.db.pool)
    .await
    .unwrap();
    assert!(
        columns
            .iter()
            .any(|(t, c, _)| t == "ai_providers" && c == "key_sealed")
    );
    let mut out = Vec::new();
    for (table, column, kind) in columns {
        let sql = if kind == "bytea" {
            format!("select \"{column}\" from \"{table}\" where \"{column}\" is not null")
        } else {
            format!(
                "select convert_to(\"{column}\"::text, 'UTF8') from \"{table}\" where \"{column}\" is not null"
            )
        };
        let values: Vec<Vec<u8>> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .fetch_all(&app.db.pool)
            .await
            .unwrap();
        for v in values {
            out.extend(v);
            out.push(b'\n');
        }
    }
    out
}

fn holds(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guild_key_is_stored_sealed_sent_to_its_provider_only_and_useless_in_another_guild() {
    let _keys = secrets::check();
    let fake = FakeProviders::start().await;
    let (app, a, b) = app(ai(&fake, true, None)).await;
    let admin_a = admin(a);
    let set = final_message(
        &app,
        &ai_provider(
            "set",
            vec![string("provider", "openai"), string("model", "gpt-test")],
        ),
        &admin_a,
    )
    .await;
    assert!(
        content(&set).starts_with("OpenAI (gpt-test) will write this server's Pulse Reports."),
        "{}",
        content(&set)
    );
    assert!(content(&set).contains("/ai-provider key"));
    let stored = set_key(&app, &admin_a, guild_key()).await;
    let last4 = &guild_key()[guild_key().len() - 4..];
    assert_eq!(
        stored,
        format!(
            "The OpenAI key ending in `{last4}` is stored encrypted. Try it with `/ai-provider test`."
        )
    );

    // No plaintext key anywhere in the database, the audit included.
    let everything = dump(&app).await;
    assert!(!holds(&everything, guild_key()));
    assert!(!holds(&everything, &guild_key()[..guild_key().len() - 4]));
    let audit = shared::db::settings::audit_trail(&app.db.pool, Snowflake(a), 10)
        .await
        .unwrap();
    let actions: Vec<&str> = audit
        .iter()
        .map(|e| e.action.as_str())
        .filter(|a| a.starts_with("ai_provider."))
        .collect();
    assert_eq!(actions, ["ai_provider.key_set", "ai_provider.set"]);
    assert_eq!(audit[0].detail["last4"], last4);

    // The report goes to the guild's provider, with the guild's key.
    let (_, footer) = report(&app, &admin_a).await;
    assert!(
        footer.starts_with("Written by OpenAI (gpt-test)."),
        "{footer}"
    );
    let sent = fake.requests();
    assert_eq!(sent.len(), 1);
    assert_eq!(
        sent[0].header("authorization"),
        Some(format!("Bearer {}", guild_key()).as_str())
    );
    assert_eq!(sent[0].body["model"], "gpt-test");

    // Guild A's sealed key copied into guild B's row: it does not decrypt,
    // nothing is sent, and B's report is the built-in one saying why.
    let row_a = ai_providers::get(&app.db.pool, Snowflake(a))
        .await
        .unwrap()
        .unwrap();
    let sealed = row_a.key.clone().unwrap();
    let mut tx = app.db.pool.begin().await.unwrap();
    ai_providers::set_provider(
        &mut tx,
        Snowflake(b),
        Snowflake(1),
        "openai",
        "gpt-test",
        app.state.clock.as_ref()(),
    )
    .await
    .unwrap();
    assert!(
        ai_providers::set_key(
            &mut tx,
            Snowflake(b),
            Snowflake(1),
            "openai",
            &sealed,
            app.state.clock.as_ref()()
        )
        .await
        .unwrap()
    );
    tx.commit().await.unwrap();
    let master = master_key(0);
    assert!(
        serverpulse_web::pulse::keys::open(&master, Snowflake(b), ProviderKind::OpenAi, &sealed)
            .is_err()
    );
    let (text_b, footer_b) = report(&app, &admin(b)).await;
    assert!(
        text_b.starts_with(
            "**Written by the built-in rules instead**\nOpenAI's key cannot be used: the stored key does not decrypt for this server and provider."
        ),
        "{text_b}"
    );
    assert!(footer_b.contains("(the fallback)"), "{footer_b}");
    assert_eq!(fake.requests().len(), 1, "nothing sent for guild B");

    // Choosing another provider drops the key: it never goes elsewhere.
    let switched = final_message(
        &app,
        &ai_provider("set", vec![string("provider", "groq")]),
        &admin_a,
    )
    .await;
    assert!(
        content(&switched).contains("Set its API key"),
        "{}",
        content(&switched)
    );
    let row = ai_providers::get(&app.db.pool, Snowflake(a))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((row.provider.as_str(), row.key), ("groq", None));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_chain_runs_guild_provider_then_operator_default_then_built_in() {
    let _keys = secrets::check();
    let fake = FakeProviders::start().await;
    let (app, a, b) = app(ai(&fake, true, Some(ProviderKind::Anthropic))).await;
    let admin_a = admin(a);
    final_message(
        &app,
        &ai_provider("set", vec![string("provider", "gemini")]),
        &admin_a,
    )
    .await;
    set_key(&app, &admin_a, guild_key()).await;
    fake.always("gemini", Some(Fault::Malformed));
    let (text, footer) = report(&app, &admin_a).await;
    assert!(
        footer.starts_with("Written by Anthropic (claude-3-5-haiku-latest)."),
        "{footer}"
    );
    assert!(text.contains("about as busy as usual"), "{text}");
    let gemini = fake.requests_to("gemini");
    assert_eq!(gemini.len(), 1);
    assert_eq!(gemini[0].header("x-goog-api-key"), Some(guild_key()));
    let anthropic = fake.requests_to("anthropic");
    assert_eq!(anthropic[0].header("x-api-key"), Some(operator_key()));
    // Each key went to its own provider only.
    for r in fake.requests() {
        let headers = format!("{:?}", r.headers);
        let own = if r.path.starts_with("/gemini/") {
            guild_key()
        } else {
            operator_key()
        };
        let other = if own == guild_key() {
            operator_key()
        } else {
            guild_key()
        };
        assert!(headers.contains(own) && !headers.contains(other));
    }

    // Both failing (in the other guild: the first report stands for 10
    // minutes): the built-in report, with both reasons.
    let admin_b = admin(b);
    final_message(
        &app,
        &ai_provider("set", vec![string("provider", "gemini")]),
        &admin_b,
    )
    .await;
    set_key(&app, &admin_b, guild_key()).await;
    fake.always("anthropic", Some(Fault::Refusal));
    let (text, footer) = report(&app, &admin_b).await;
    assert!(
        text.starts_with(
            "**Written by the built-in rules instead**\nGoogle Gemini answered something that is not its API's JSON: "
        ),
        "{text}"
    );
    assert!(
        text.contains("\nAnthropic gave no text (refusal).\n\n**What changed most**"),
        "{text}"
    );
    assert!(footer.contains("(the fallback)"), "{footer}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_master_key_key_refuses_and_the_built_in_report_still_works() {
    let _keys = secrets::check();
    let fake = FakeProviders::start().await;
    let (app, a, _) = app(ai(&fake, false, None)).await;
    let admin_a = admin(a);
    let set = final_message(
        &app,
        &ai_provider("set", vec![string("provider", "openai")]),
        &admin_a,
    )
    .await;
    assert!(
        content(&set).contains("cannot store one (no master key)"),
        "{}",
        content(&set)
    );
    let refused = final_message(&app, &ai_provider("key", vec![]), &admin_a).await;
    assert!(
        content(&refused)
            .starts_with("This ServerPulse has no master key (SERVERPULSE_MASTER_KEY)"),
        "{}",
        content(&refused)
    );
    let (text, _) = report(&app, &admin_a).await;
    assert!(
        text.starts_with(
            "**Written by the built-in rules instead**\nOpenAI needs an API key and none is set."
        ),
        "{text}"
    );
    assert!(fake.requests().is_empty());
    // Not an admin: refused.
    let member = Invoker::member(a, a + 5);
    let denied = final_message(&app, &ai_provider("clear", vec![]), &member).await;
    assert!(content(&denied).contains("Manage Server"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_shows_success_or_the_providers_error_and_clear_forgets_everything() {
    let _keys = secrets::check();
    let fake = FakeProviders::start().await;
    let (app, a, _) = app(ai(&fake, true, None)).await;
    let admin_a = admin(a);
    let nothing = final_message(&app, &ai_provider("test", vec![]), &admin_a).await;
    assert!(
        content(&nothing).contains("no provider"),
        "{}",
        content(&nothing)
    );
    final_message(
        &app,
        &ai_provider("set", vec![string("provider", "anthropic")]),
        &admin_a,
    )
    .await;
    set_key(&app, &admin_a, guild_key()).await;
    let ok = final_message(&app, &ai_provider("test", vec![]), &admin_a).await;
    assert!(
        content(&ok)
            .starts_with("Anthropic (claude-3-5-haiku-latest) answered: the key and model work"),
        "{}",
        content(&ok)
    );
    assert_eq!(fake.requests()[0].body["max_tokens"], 5);
    fake.queue("anthropic", [Fault::Unauthorized]);
    let bad = final_message(&app, &ai_provider("test", vec![]), &admin_a).await;
    assert_eq!(
        content(&bad),
        "The test failed: Anthropic answered 401: Incorrect API key provided."
    );
    let cleared = final_message(&app, &ai_provider("clear", vec![]), &admin_a).await;
    assert!(content(&cleared).starts_with("The provider and its key are removed"));
    assert_eq!(
        ai_providers::get(&app.db.pool, Snowflake(a)).await.unwrap(),
        None
    );
    let audit = shared::db::settings::audit_trail(&app.db.pool, Snowflake(a), 10)
        .await
        .unwrap();
    let actions: Vec<&str> = audit
        .iter()
        .map(|e| e.action.as_str())
        .filter(|a| a.starts_with("ai_provider."))
        .collect();
    assert_eq!(
        actions,
        [
            "ai_provider.clear",
            "ai_provider.test",
            "ai_provider.test",
            "ai_provider.key_set",
            "ai_provider.set"
        ]
    );
    assert!(!format!("{audit:?}").contains(guild_key()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotate_keys_reseals_under_the_new_master_key() {
    let _keys = secrets::check();
    let fake = FakeProviders::start().await;
    let (app, a, _) = app(ai(&fake, true, None)).await;
    let admin_a = admin(a);
    final_message(
        &app,
        &ai_provider("set", vec![string("provider", "xai")]),
        &admin_a,
    )
    .await;
    set_key(&app, &admin_a, guild_key()).await;
    let (old, new) = (master_key(0), master_key(1));
    let done = serverpulse_web::pulse::keys::rotate(&app.db.pool, &new, &old)
        .await
        .unwrap();
    assert_eq!((done.resealed, done.unknown), (1, 0));
    let sealed = ai_providers::get(&app.db.pool, Snowflake(a))
        .await
        .unwrap()
        .unwrap()
        .key
        .unwrap();
    use serverpulse_web::pulse::keys;
    assert_eq!(sealed.version, keys::version_of(&new));
    assert_eq!(
        keys::open(&new, Snowflake(a), ProviderKind::Xai, &sealed)
            .unwrap()
            .expose(),
        guild_key()
    );
    assert!(keys::open(&old, Snowflake(a), ProviderKind::Xai, &sealed).is_err());
    // Run again: nothing left to do.
    let again = keys::rotate(&app.db.pool, &new, &old).await.unwrap();
    assert_eq!((again.resealed, again.unknown), (0, 0));
}
