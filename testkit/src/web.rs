//! The web app's router in-process on port 0, in front of a fresh database,
//! with the simulator's REST side as Discord and its signing client as the
//! sender of interactions.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use discord_sim::{InteractionClient, InteractionKeys, SimHandle};
use metrics_exporter_prometheus::PrometheusHandle;
use serverpulse_web::AppState;
use shared::config::WebConfig;
use shared::testing::TestDatabase;
use sim_scenario::Scenario;

/// How to start a [`WebApp`]; [`WebAppOptions::at`] gives the defaults.
pub struct WebAppOptions {
    /// The bot token the app and the simulator agree on.
    pub token: String,
    /// The app's clock is pinned here.
    pub now: DateTime<Utc>,
    /// How long a command may run before the app defers its answer.
    pub inline_budget: Duration,
    /// The `/metrics` handle; a recorder of the app's own when `None`.
    pub metrics: Option<PrometheusHandle>,
    /// What the simulator's gateway serves (the REST side needs none).
    pub scenario: Scenario,
    /// The bound on deferred answers; the configured one when `None`.
    pub deferred: Option<serverpulse_web::interactions::Deferred>,
    /// The AI providers' configuration (e.g. base URLs of
    /// [`crate::providers::FakeProviders`]); the environment's defaults
    /// when `None`.
    pub ai: Option<shared::config::AiConfig>,
    /// The app's clock when it must move during a test; pinned at `now`
    /// when `None`.
    pub clock: Option<serverpulse_web::Clock>,
}

impl WebAppOptions {
    /// The production inline budget, a recorder of its own, and a gateway
    /// with nothing to serve (an empty scenario starting at `now`).
    pub fn at(token: &str, now: DateTime<Utc>) -> Self {
        Self {
            token: token.to_owned(),
            now,
            inline_budget: serverpulse_web::interactions::INLINE_BUDGET,
            metrics: None,
            scenario: Scenario {
                seed: 0,
                start_ms: now.timestamp_millis(),
                days: 0,
                guilds: Vec::new(),
                events: Vec::new(),
            },
            deferred: None,
            ai: None,
            clock: None,
        }
    }
}

/// A running web app; the server task stops when this is dropped.
pub struct WebApp {
    /// `http://127.0.0.1:port` of the app.
    pub base: String,
    /// `{base}/interactions`.
    pub endpoint: String,
    pub db: TestDatabase,
    pub sim: SimHandle,
    /// Sends interactions signed with the key the app was configured with.
    pub client: InteractionClient,
    pub state: AppState,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for WebApp {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl WebApp {
    /// A fresh migrated database, the simulator, and the router serving on
    /// port 0, configured as the binary would be from its environment.
    pub async fn start(options: WebAppOptions) -> Self {
        let WebAppOptions {
            token,
            now,
            inline_budget,
            metrics,
            scenario,
            deferred,
            ai,
            clock,
        } = options;
        let db = TestDatabase::create().await;
        let sim = crate::sim::start(crate::sim::config(&token), scenario).await;
        let keys = InteractionKeys::generate();
        let app_id = discord_sim::DEFAULT_APPLICATION_ID.to_string();
        let public_key = keys.public_key_hex();
        let api = sim.rest.api_url();
        // Bound first, so dashboard links (PUBLIC_URL) point at this app.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("bound address");
        let base = format!("http://{addr}");
        let vars: Vec<(&str, &str)> = vec![
            ("PUBLIC_URL", &base),
            ("DATABASE_URL", &db.url),
            ("DISCORD_TOKEN", &token),
            ("DISCORD_APPLICATION_ID", &app_id),
            ("DISCORD_PUBLIC_KEY", &public_key),
            ("DISCORD_API_URL", &api),
        ];
        let mut config = WebConfig::from_source(vars.as_slice()).expect("test configuration");
        if let Some(ai) = ai {
            config.ai = ai;
        }
        let metrics = metrics.unwrap_or_else(|| {
            metrics_exporter_prometheus::PrometheusBuilder::new()
                .build_recorder()
                .handle()
        });
        let mut state = AppState::new(db.pool.clone(), config, metrics)
            .expect("state")
            .with_clock(clock.unwrap_or_else(|| Arc::new(move || now)));
        state.inline_budget = inline_budget;
        if let Some(deferred) = deferred {
            state.deferred = deferred;
        }
        let router = serverpulse_web::router(state.clone());
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        let endpoint = format!("{base}/interactions");
        let client = InteractionClient::new(endpoint.clone(), sim.rest.url(), keys);
        Self {
            base,
            endpoint,
            db,
            sim,
            client,
            state,
            server,
        }
    }
}
