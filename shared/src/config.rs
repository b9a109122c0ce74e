//! Configuration from environment variables, read once at start.
//!
//! Each binary has one typed configuration. Reading it fails fast with a
//! [`ConfigError`] whose message is one line naming the variable. Secrets are
//! kept in [`Secret`], whose `Debug` and `Display` never show the value.

use std::collections::HashMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::ops::RangeInclusive;
use std::time::Duration;

use crate::ids::Snowflake;

/// Discord's REST base when `DISCORD_API_URL` is not set.
pub const DEFAULT_DISCORD_API_URL: &str = "https://discord.com/api/v10";
/// Where tests and the README expect a local PostgreSQL.
pub const DEFAULT_LOCAL_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("{0} is not set; see the README's configuration table")]
    Missing(&'static str),
    #[error("{var} is invalid: {reason}")]
    Invalid { var: &'static str, reason: String },
}

/// A value that must never reach a log line.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The value itself, for the one place that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// Where configuration values come from: the process environment, or a map
/// in tests (so tests never mutate the shared process environment).
pub trait Source {
    fn get(&self, var: &str) -> Option<String>;
}

/// The process environment.
pub struct Env;

impl Source for Env {
    fn get(&self, var: &str) -> Option<String> {
        std::env::var(var).ok()
    }
}

impl Source for HashMap<String, String> {
    fn get(&self, var: &str) -> Option<String> {
        HashMap::get(self, var).cloned()
    }
}

impl Source for [(&str, &str)] {
    fn get(&self, var: &str) -> Option<String> {
        self.iter()
            .find(|(k, _)| *k == var)
            .map(|(_, v)| (*v).to_owned())
    }
}

/// Reads variables from a [`Source`], treating an empty value as unset.
struct Reader<'a, S: Source + ?Sized>(&'a S);

impl<S: Source + ?Sized> Reader<'_, S> {
    fn optional(&self, var: &'static str) -> Option<String> {
        self.0
            .get(var)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    }

    fn required(&self, var: &'static str) -> Result<String, ConfigError> {
        self.optional(var).ok_or(ConfigError::Missing(var))
    }

    fn parsed<T: std::str::FromStr>(
        &self,
        var: &'static str,
        default: T,
        what: &str,
    ) -> Result<T, ConfigError> {
        match self.optional(var) {
            None => Ok(default),
            Some(v) => v
                .parse()
                .map_err(|_| invalid(var, format!("expected {what}, got {v:?}"))),
        }
    }

    /// A whole number of at least 1, or `default` when unset.
    fn positive(&self, var: &'static str, default: u64) -> Result<u64, ConfigError> {
        match self.optional(var) {
            None => Ok(default),
            Some(v) => match v.parse::<u64>() {
                Ok(n) if n > 0 => Ok(n),
                _ => Err(invalid(
                    var,
                    format!("expected a positive whole number, got {v:?}"),
                )),
            },
        }
    }

    fn url(
        &self,
        var: &'static str,
        default: Option<&str>,
        schemes: &[&str],
    ) -> Result<Option<String>, ConfigError> {
        let Some(value) = self.optional(var).or(default.map(str::to_owned)) else {
            return Ok(None);
        };
        let parsed =
            url::Url::parse(&value).map_err(|e| invalid(var, format!("not a URL ({e})")))?;
        if !schemes.contains(&parsed.scheme()) {
            return Err(invalid(
                var,
                format!("expected a {} URL", schemes.join(" or ")),
            ));
        }
        Ok(Some(value.trim_end_matches('/').to_owned()))
    }

    /// A duration in milliseconds, or `default` when unset; zero only when
    /// `zero_allowed` (PostgreSQL's "no limit").
    fn millis(
        &self,
        var: &'static str,
        default: Duration,
        zero_allowed: bool,
    ) -> Result<Duration, ConfigError> {
        let ms = if zero_allowed {
            self.parsed(var, default.as_millis() as u64, "whole milliseconds")?
        } else {
            self.positive(var, default.as_millis() as u64)?
        };
        Ok(Duration::from_millis(ms))
    }

    fn database(&self, defaults: DatabaseLimits) -> Result<DatabaseConfig, ConfigError> {
        let url = self
            .url("DATABASE_URL", None, &["postgres", "postgresql"])?
            .ok_or(ConfigError::Missing("DATABASE_URL"))?;
        let max_connections = self.parsed("DATABASE_MAX_CONNECTIONS", 10u32, "a whole number")?;
        if max_connections == 0 {
            return Err(invalid(
                "DATABASE_MAX_CONNECTIONS",
                "must be at least 1".into(),
            ));
        }
        let connect_timeout_secs =
            self.parsed("DATABASE_CONNECT_TIMEOUT_SECS", 10u64, "whole seconds")?;
        let limits = DatabaseLimits {
            acquire_timeout: self.millis(
                "DATABASE_ACQUIRE_TIMEOUT_MS",
                defaults.acquire_timeout,
                false,
            )?,
            statement_timeout: self.millis(
                "DATABASE_STATEMENT_TIMEOUT_MS",
                defaults.statement_timeout,
                true,
            )?,
            lock_timeout: self.millis("DATABASE_LOCK_TIMEOUT_MS", defaults.lock_timeout, true)?,
        };
        Ok(DatabaseConfig {
            url: Secret::new(url),
            max_connections,
            connect_timeout: Duration::from_secs(connect_timeout_secs.max(1)),
            limits,
        })
    }

    fn logging(&self) -> Result<LogFormat, ConfigError> {
        match self.optional("LOG_FORMAT").as_deref() {
            None | Some("text") => Ok(LogFormat::Text),
            Some("json") => Ok(LogFormat::Json),
            Some(other) => Err(invalid(
                "LOG_FORMAT",
                format!("expected text or json, got {other:?}"),
            )),
        }
    }

    /// A whole number of days within `allowed`, or `default` when unset.
    fn days(
        &self,
        var: &'static str,
        default: u32,
        allowed: &RangeInclusive<u32>,
    ) -> Result<u32, ConfigError> {
        let days = self.parsed(var, default, "whole days")?;
        if !allowed.contains(&days) {
            return Err(invalid(
                var,
                format!(
                    "expected {} to {} days, got {days}",
                    allowed.start(),
                    allowed.end()
                ),
            ));
        }
        Ok(days)
    }

    fn retention(&self) -> Result<RetentionPolicy, ConfigError> {
        let defaults = RetentionPolicy::default();
        Ok(RetentionPolicy {
            max_days: self.days(
                "RETENTION_MAX_DAYS",
                defaults.max_days,
                &RETENTION_MAX_DAYS_ALLOWED,
            )?,
            grace_days: self.days(
                "RETENTION_GRACE_DAYS",
                defaults.grace_days,
                &RETENTION_GRACE_DAYS_ALLOWED,
            )?,
        })
    }

    fn port(&self, var: &'static str, default: u16) -> Result<u16, ConfigError> {
        self.parsed(var, default, "a port number (0-65535)")
    }
}

fn invalid(var: &'static str, reason: String) -> ConfigError {
    ConfigError::Invalid { var, reason }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone)]
pub struct DatabaseConfig {
    /// May carry a password, hence secret; see [`DatabaseConfig::redacted_url`].
    pub url: Secret,
    pub max_connections: u32,
    /// How long start-up waits for the server to answer.
    pub connect_timeout: Duration,
    pub limits: DatabaseLimits,
}

/// How long one piece of work may wait for the database. Each binary has
/// its own defaults; migrations run without statement or lock timeout
/// whatever these say (see `db::open`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DatabaseLimits {
    /// `DATABASE_ACQUIRE_TIMEOUT_MS`: waiting for a pool connection.
    pub acquire_timeout: Duration,
    /// `DATABASE_STATEMENT_TIMEOUT_MS`: PostgreSQL's `statement_timeout` on
    /// every pool connection; zero means none.
    pub statement_timeout: Duration,
    /// `DATABASE_LOCK_TIMEOUT_MS`: PostgreSQL's `lock_timeout` on every pool
    /// connection; zero means none.
    pub lock_timeout: Duration,
}

impl DatabaseLimits {
    /// The web endpoint answers within Discord's 3 s: waiting for a pool
    /// connection and then for a lock must together fail inside the 2 s
    /// inline budget, so the user gets "try again" at once instead of a
    /// public "thinking…". Reads conflict only with DDL-strength locks, so
    /// half a second is plenty. A deferred report may run a little longer.
    pub const WEB: Self = Self {
        acquire_timeout: Duration::from_millis(1_250),
        statement_timeout: Duration::from_secs(5),
        lock_timeout: Duration::from_millis(500),
    };
    /// The ingester retries a failed flush, so it can afford patience: a
    /// large batch's upserts may take a while, but not forever.
    pub const INGESTER: Self = Self {
        acquire_timeout: Duration::from_secs(10),
        statement_timeout: Duration::from_secs(60),
        lock_timeout: Duration::from_secs(10),
    };
    /// Tools that run long statements on purpose (the `migrate`
    /// subcommands, benchmarks): no statement or lock timeout.
    pub const UNLIMITED: Self = Self {
        acquire_timeout: Duration::from_secs(30),
        statement_timeout: Duration::ZERO,
        lock_timeout: Duration::ZERO,
    };
}

impl DatabaseConfig {
    /// Host, port and database name only: safe for logs and error lines.
    pub fn redacted_url(&self) -> String {
        redact_url(self.url.expose())
    }
}

/// Where a PostgreSQL URL points, as `host:port/database`: no user, no
/// password, no query parameters (which may carry `password` or
/// `sslpassword`).
pub fn redact_url(raw: &str) -> String {
    let Ok(url) = url::Url::parse(raw) else {
        return "[unparsable URL]".to_owned();
    };
    let host = url
        .host_str()
        .filter(|h| !h.is_empty())
        .unwrap_or("localhost");
    let port = url.port().unwrap_or(5432);
    match url.path().trim_start_matches('/') {
        "" => format!("{host}:{port}"),
        database => format!("{host}:{port}/{database}"),
    }
}

/// What the web server accepts from clients before it gives up on them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpLimits {
    /// `HTTP_HEADER_TIMEOUT_MS`: a connection that has not sent a whole
    /// request head within this is closed.
    pub header_read_timeout: Duration,
    /// `HTTP_REQUEST_TIMEOUT_MS`: a request (body included) still unanswered
    /// after this gets a 503.
    pub request_timeout: Duration,
    /// `HTTP_MAX_CONNECTIONS`: connections served at once; more wait in the
    /// listen backlog until one closes.
    pub max_connections: usize,
}

impl Default for HttpLimits {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(10),
            max_connections: 1_000,
        }
    }
}

/// The AI providers a Pulse Report can be written by. Each speaks one of
/// three wire formats ([`WireFormat`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ProviderKind {
    OpenAi,
    OpenRouter,
    Xai,
    Groq,
    Ollama,
    Gemini,
    Anthropic,
}

/// How a provider is spoken to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WireFormat {
    /// `POST {base}/chat/completions`, `Authorization: Bearer`.
    OpenAiChat,
    /// `POST {base}/models/{model}:generateContent`, `x-goog-api-key`.
    Gemini,
    /// `POST {base}/messages`, `x-api-key` and `anthropic-version`.
    Anthropic,
}

impl ProviderKind {
    pub const ALL: [Self; 7] = [
        Self::OpenAi,
        Self::OpenRouter,
        Self::Xai,
        Self::Groq,
        Self::Ollama,
        Self::Gemini,
        Self::Anthropic,
    ];

    /// The name commands and the database use.
    pub fn name(self) -> &'static str {
        match self {
            Self::OpenAi => "openai",
            Self::OpenRouter => "openrouter",
            Self::Xai => "xai",
            Self::Groq => "groq",
            Self::Ollama => "ollama",
            Self::Gemini => "gemini",
            Self::Anthropic => "anthropic",
        }
    }

    /// The name people know it by.
    pub fn label(self) -> &'static str {
        match self {
            Self::OpenAi => "OpenAI",
            Self::OpenRouter => "OpenRouter",
            Self::Xai => "xAI Grok",
            Self::Groq => "Groq",
            Self::Ollama => "Ollama",
            Self::Gemini => "Google Gemini",
            Self::Anthropic => "Anthropic",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|k| k.name().eq_ignore_ascii_case(name.trim()))
    }

    pub fn wire_format(self) -> WireFormat {
        match self {
            Self::Gemini => WireFormat::Gemini,
            Self::Anthropic => WireFormat::Anthropic,
            _ => WireFormat::OpenAiChat,
        }
    }

    /// The variable that overrides its base URL.
    pub fn base_url_var(self) -> &'static str {
        match self {
            Self::OpenAi => "OPENAI_BASE_URL",
            Self::OpenRouter => "OPENROUTER_BASE_URL",
            Self::Xai => "XAI_BASE_URL",
            Self::Groq => "GROQ_BASE_URL",
            Self::Ollama => "OLLAMA_BASE_URL",
            Self::Gemini => "GEMINI_BASE_URL",
            Self::Anthropic => "ANTHROPIC_BASE_URL",
        }
    }

    /// Its public endpoint; Ollama has none (it runs where the operator
    /// puts it).
    pub fn default_base_url(self) -> Option<&'static str> {
        match self {
            Self::OpenAi => Some("https://api.openai.com/v1"),
            Self::OpenRouter => Some("https://openrouter.ai/api/v1"),
            Self::Xai => Some("https://api.x.ai/v1"),
            Self::Groq => Some("https://api.groq.com/openai/v1"),
            Self::Ollama => None,
            Self::Gemini => Some("https://generativelanguage.googleapis.com/v1beta"),
            Self::Anthropic => Some("https://api.anthropic.com/v1"),
        }
    }

    /// The model used when none is chosen.
    pub fn default_model(self) -> &'static str {
        match self {
            Self::OpenAi => "gpt-4o-mini",
            Self::OpenRouter => "openai/gpt-4o-mini",
            Self::Xai => "grok-3-mini",
            Self::Groq => "llama-3.3-70b-versatile",
            Self::Ollama => "llama3.2",
            Self::Gemini => "gemini-2.0-flash",
            Self::Anthropic => "claude-3-5-haiku-latest",
        }
    }

    /// Whether a request needs a key (a local Ollama does not).
    pub fn needs_key(self) -> bool {
        self != Self::Ollama
    }
}

/// The operator's own provider, tried when a guild's fails or a guild has
/// none (`PULSE_DEFAULT_PROVIDER`, `PULSE_DEFAULT_MODEL`,
/// `PULSE_DEFAULT_API_KEY`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DefaultProvider {
    pub kind: ProviderKind,
    pub model: String,
    pub key: Option<Secret>,
}

/// The operator's master key for keys at rest: 32 bytes. Its `Debug`
/// never shows them.
#[derive(Clone, PartialEq, Eq)]
pub struct MasterKey([u8; 32]);

impl MasterKey {
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// 64 hex digits or base64 (standard or URL-safe, padded or not) of
    /// exactly 32 bytes.
    pub fn parse(text: &str) -> Option<Self> {
        use base64::Engine as _;
        let text = text.trim();
        let mut key = [0u8; 32];
        if text.len() == 64 && hex::decode_to_slice(text, &mut key).is_ok() {
            return Some(Self(key));
        }
        let engines = [
            base64::engine::general_purpose::STANDARD,
            base64::engine::general_purpose::STANDARD_NO_PAD,
            base64::engine::general_purpose::URL_SAFE,
            base64::engine::general_purpose::URL_SAFE_NO_PAD,
        ];
        engines.iter().find_map(|engine| {
            let bytes = engine.decode(text).ok()?;
            <[u8; 32]>::try_from(bytes.as_slice()).ok().map(Self)
        })
    }

    /// The key itself, for the one place that encrypts and decrypts.
    pub fn expose(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MasterKey([redacted])")
    }
}

/// Everything about the AI providers of the Pulse Report: operator
/// configuration only (a guild chooses among these, never a URL).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AiConfig {
    /// Each provider's base URL (`OPENAI_BASE_URL` and its siblings); a
    /// provider missing here is unavailable (Ollama without
    /// `OLLAMA_BASE_URL`).
    pub base_urls: Vec<(ProviderKind, String)>,
    pub default_provider: Option<DefaultProvider>,
    /// `SERVERPULSE_MASTER_KEY`: without it no guild key can be stored.
    pub master_key: Option<MasterKey>,
    /// `SERVERPULSE_MASTER_KEY_PREVIOUS`: the key being rotated away from.
    pub previous_master_key: Option<MasterKey>,
    /// `AI_CONNECT_TIMEOUT_MS`: connecting to a provider.
    pub connect_timeout: Duration,
    /// `AI_REQUEST_TIMEOUT_MS`: one report's requests to one provider,
    /// retries included.
    pub request_timeout: Duration,
}

impl AiConfig {
    pub fn base_url(&self, kind: ProviderKind) -> Option<&str> {
        self.base_urls
            .iter()
            .find(|(k, _)| *k == kind)
            .map(|(_, url)| url.as_str())
    }
}

impl Default for AiConfig {
    /// Every provider at its public endpoint (Ollama unavailable), no
    /// default provider, no master key, the default timeouts.
    fn default() -> Self {
        Self {
            base_urls: ProviderKind::ALL
                .into_iter()
                .filter_map(|k| Some((k, k.default_base_url()?.to_owned())))
                .collect(),
            default_provider: None,
            master_key: None,
            previous_master_key: None,
            connect_timeout: DEFAULT_AI_CONNECT_TIMEOUT,
            request_timeout: DEFAULT_AI_REQUEST_TIMEOUT,
        }
    }
}

/// Default of `AI_CONNECT_TIMEOUT_MS`.
pub const DEFAULT_AI_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Default of `AI_REQUEST_TIMEOUT_MS`.
pub const DEFAULT_AI_REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

impl<S: Source + ?Sized> Reader<'_, S> {
    fn master_key(&self, var: &'static str) -> Result<Option<MasterKey>, ConfigError> {
        match self.optional(var) {
            None => Ok(None),
            Some(text) => MasterKey::parse(&text).map(Some).ok_or_else(|| {
                invalid(
                    var,
                    "expected 32 bytes as 64 hex digits or base64".to_owned(),
                )
            }),
        }
    }

    fn ai(&self) -> Result<AiConfig, ConfigError> {
        let mut base_urls = Vec::new();
        for kind in ProviderKind::ALL {
            if let Some(url) = self.url(
                kind.base_url_var(),
                kind.default_base_url(),
                &["http", "https"],
            )? {
                base_urls.push((kind, url));
            }
        }
        let default_provider = match self.optional("PULSE_DEFAULT_PROVIDER") {
            None => None,
            Some(name) => {
                let kind = ProviderKind::parse(&name).ok_or_else(|| {
                    invalid(
                        "PULSE_DEFAULT_PROVIDER",
                        format!(
                            "expected one of {}, got {name:?}",
                            ProviderKind::ALL.map(ProviderKind::name).join(", ")
                        ),
                    )
                })?;
                if !base_urls.iter().any(|(k, _)| *k == kind) {
                    return Err(invalid(
                        "PULSE_DEFAULT_PROVIDER",
                        format!("{name} has no base URL ({} is unset)", kind.base_url_var()),
                    ));
                }
                let key = self.optional("PULSE_DEFAULT_API_KEY").map(Secret::new);
                if key.is_none() && kind.needs_key() {
                    return Err(ConfigError::Missing("PULSE_DEFAULT_API_KEY"));
                }
                Some(DefaultProvider {
                    kind,
                    model: self
                        .optional("PULSE_DEFAULT_MODEL")
                        .unwrap_or_else(|| kind.default_model().to_owned()),
                    key,
                })
            }
        };
        Ok(AiConfig {
            base_urls,
            default_provider,
            master_key: self.master_key("SERVERPULSE_MASTER_KEY")?,
            previous_master_key: self.master_key("SERVERPULSE_MASTER_KEY_PREVIOUS")?,
            connect_timeout: self.millis(
                "AI_CONNECT_TIMEOUT_MS",
                DEFAULT_AI_CONNECT_TIMEOUT,
                false,
            )?,
            request_timeout: self.millis(
                "AI_REQUEST_TIMEOUT_MS",
                DEFAULT_AI_REQUEST_TIMEOUT,
                false,
            )?,
        })
    }
}

/// Settings of `serverpulse-web`.
#[derive(Debug, Clone)]
pub struct WebConfig {
    pub database: DatabaseConfig,
    pub discord_token: Secret,
    pub application_id: Snowflake,
    /// Hex Ed25519 public key, 32 bytes; checked for shape here and decoded
    /// into a verifying key once by the web crate.
    pub public_key: [u8; 32],
    pub api_url: String,
    /// `PORT`: `/interactions` and `/healthz`, the port a proxy exposes.
    pub listen: SocketAddr,
    /// `OPS_PORT`: `/healthz`, `/readyz` and `/metrics`, kept off the
    /// public port.
    pub ops_listen: SocketAddr,
    pub http: HttpLimits,
    pub log_format: LogFormat,
    /// Deferred answers in flight at once (`DEFERRED_ANSWER_LIMIT`); past
    /// it an interaction is answered "busy" at once.
    pub deferred_limit: usize,
    /// How long a deferred answer may take before it is given up
    /// (`DEFERRED_ANSWER_DEADLINE_SECS`), well inside the 15-minute life of
    /// an interaction token.
    pub deferred_deadline: Duration,
    /// What the retention job keeps (`RETENTION_MAX_DAYS`,
    /// `RETENTION_GRACE_DAYS`).
    pub retention: RetentionPolicy,
    /// The Pulse Report's AI providers.
    pub ai: AiConfig,
    /// The web dashboard's links (`PUBLIC_URL`, `DASHBOARD_SECRET`).
    pub dashboard: DashboardConfig,
}

/// Where the dashboard's links point and what signs them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DashboardConfig {
    /// `PUBLIC_URL`: the public address of this app (the host of the
    /// interactions endpoint, e.g. `https://pulse.example.org`), which
    /// `/dashboard` links start with. Unset: `/dashboard` says so.
    pub public_url: Option<String>,
    /// `DASHBOARD_SECRET`: at least 32 characters signing the links; unset,
    /// a random key is generated once and kept in PostgreSQL.
    pub secret: Option<Secret>,
}

/// The shortest `DASHBOARD_SECRET` accepted.
pub const DASHBOARD_SECRET_MIN_LEN: usize = 32;

/// What the retention job keeps, for the operator to tune.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetentionPolicy {
    /// `RETENTION_MAX_DAYS`: guild-wide totals (and every other row) are
    /// kept at most this many days; a guild's shorter `retention_days`
    /// applies to its per-member rows.
    pub max_days: u32,
    /// `RETENTION_GRACE_DAYS`: a guild the bot was removed from keeps its
    /// data this many days, in case it comes back.
    pub grace_days: u32,
}

impl Default for RetentionPolicy {
    fn default() -> Self {
        Self {
            max_days: 730,
            grace_days: 7,
        }
    }
}

/// The range `RETENTION_MAX_DAYS` accepts.
pub const RETENTION_MAX_DAYS_ALLOWED: RangeInclusive<u32> = 7..=3650;
/// The range `RETENTION_GRACE_DAYS` accepts.
pub const RETENTION_GRACE_DAYS_ALLOWED: RangeInclusive<u32> = 0..=365;

/// Default of `DEFERRED_ANSWER_LIMIT`.
pub const DEFAULT_DEFERRED_LIMIT: usize = 64;
/// Default of `DEFERRED_ANSWER_DEADLINE_SECS`.
pub const DEFAULT_DEFERRED_DEADLINE: Duration = Duration::from_secs(300);
/// The longest `DEFERRED_ANSWER_DEADLINE_SECS` accepted: a minute short of
/// the 15 minutes an interaction token lives.
pub const MAX_DEFERRED_DEADLINE: Duration = Duration::from_secs(14 * 60);

impl WebConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_source(&Env)
    }

    pub fn from_source<S: Source + ?Sized>(source: &S) -> Result<Self, ConfigError> {
        let env = Reader(source);
        let log_format = env.logging()?;
        let database = env.database(DatabaseLimits::WEB)?;
        let discord_token = Secret::new(env.required("DISCORD_TOKEN")?);
        let application_id = env
            .required("DISCORD_APPLICATION_ID")?
            .parse::<Snowflake>()
            .map_err(|_| {
                invalid(
                    "DISCORD_APPLICATION_ID",
                    "expected a numeric Discord id".into(),
                )
            })?;
        let public_key = parse_public_key(&env.required("DISCORD_PUBLIC_KEY")?)?;
        let api_url = env
            .url(
                "DISCORD_API_URL",
                Some(DEFAULT_DISCORD_API_URL),
                &["http", "https"],
            )?
            .unwrap_or_else(|| DEFAULT_DISCORD_API_URL.to_owned());
        let port = env.port("PORT", 8080)?;
        let deferred_limit =
            env.positive("DEFERRED_ANSWER_LIMIT", DEFAULT_DEFERRED_LIMIT as u64)?;
        let deferred_limit = usize::try_from(deferred_limit)
            .map_err(|_| invalid("DEFERRED_ANSWER_LIMIT", "too large".into()))?;
        let deadline = env.positive(
            "DEFERRED_ANSWER_DEADLINE_SECS",
            DEFAULT_DEFERRED_DEADLINE.as_secs(),
        )?;
        if deadline > MAX_DEFERRED_DEADLINE.as_secs() {
            return Err(invalid(
                "DEFERRED_ANSWER_DEADLINE_SECS",
                format!(
                    "at most {} (an interaction token lives 15 minutes), got {deadline}",
                    MAX_DEFERRED_DEADLINE.as_secs()
                ),
            ));
        }
        let ops_port = env.port("OPS_PORT", 9090)?;
        if ops_port == port && port != 0 {
            return Err(invalid(
                "OPS_PORT",
                format!("must differ from PORT ({port})"),
            ));
        }
        let defaults = HttpLimits::default();
        let http = HttpLimits {
            header_read_timeout: env.millis(
                "HTTP_HEADER_TIMEOUT_MS",
                defaults.header_read_timeout,
                false,
            )?,
            request_timeout: env.millis(
                "HTTP_REQUEST_TIMEOUT_MS",
                defaults.request_timeout,
                false,
            )?,
            max_connections: env
                .positive("HTTP_MAX_CONNECTIONS", defaults.max_connections as u64)?
                as usize,
        };
        let retention = env.retention()?;
        Ok(Self {
            database,
            discord_token,
            application_id,
            public_key,
            api_url,
            listen: SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port),
            ops_listen: SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), ops_port),
            http,
            log_format,
            deferred_limit,
            deferred_deadline: Duration::from_secs(deadline),
            retention,
            ai: env.ai()?,
            dashboard: env.dashboard()?,
        })
    }
}

impl<S: Source + ?Sized> Reader<'_, S> {
    fn dashboard(&self) -> Result<DashboardConfig, ConfigError> {
        let public_url = self.url("PUBLIC_URL", None, &["http", "https"])?;
        let secret = self.optional("DASHBOARD_SECRET");
        if let Some(secret) = &secret
            && secret.len() < DASHBOARD_SECRET_MIN_LEN
        {
            return Err(invalid(
                "DASHBOARD_SECRET",
                format!("at least {DASHBOARD_SECRET_MIN_LEN} characters"),
            ));
        }
        Ok(DashboardConfig {
            public_url,
            secret: secret.map(Secret::new),
        })
    }
}

fn parse_public_key(hex_key: &str) -> Result<[u8; 32], ConfigError> {
    let mut key = [0u8; 32];
    hex::decode_to_slice(hex_key, &mut key).map_err(|error| {
        let reason = match error {
            hex::FromHexError::InvalidHexCharacter { .. } => "not hexadecimal",
            _ => "expected 64 hex characters (the application's public key)",
        };
        invalid("DISCORD_PUBLIC_KEY", reason.to_owned())
    })?;
    Ok(key)
}

/// How the ingester cuts batches and how much may wait for the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IngestBatching {
    /// `INGESTER_FLUSH_EVENTS`: frames per batch before a shard flushes early.
    pub flush_events: u64,
    /// `INGESTER_FLUSH_INTERVAL_MS`: a non-empty batch is flushed at least this often.
    pub flush_interval: Duration,
    /// `INGESTER_BUFFER_EVENTS`: frames a shard holds while the database is
    /// unreachable before it stops reading the gateway.
    pub buffer_events: u64,
}

impl Default for IngestBatching {
    fn default() -> Self {
        Self {
            flush_events: 5_000,
            flush_interval: Duration::from_secs(1),
            buffer_events: 100_000,
        }
    }
}

/// Settings of `serverpulse-ingester`.
#[derive(Debug, Clone)]
pub struct IngesterConfig {
    pub database: DatabaseConfig,
    pub discord_token: Secret,
    pub api_url: String,
    /// Gateway override; when unset, twilight's default (Discord's gateway).
    pub gateway_url: Option<String>,
    /// Which shards this process runs: fixed by `SHARD_TOTAL` (and
    /// `SHARDS`), or Discord's recommendation from `GET /gateway/bot`.
    pub shard_plan: ShardPlan,
    /// Health, readiness and metrics, on 0.0.0.0.
    pub listen: SocketAddr,
    pub log_format: LogFormat,
    pub batching: IngestBatching,
    /// `INGESTER_STABLE_AFTER_SECS` (default 60): how long every shard must
    /// have been connected before a start counts as stable; until then a
    /// restart counts as a failed start and repeated ones back off.
    pub stable_after: Duration,
}

impl IngesterConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_source(&Env)
    }

    pub fn from_source<S: Source + ?Sized>(source: &S) -> Result<Self, ConfigError> {
        let env = Reader(source);
        let log_format = env.logging()?;
        let database = env.database(DatabaseLimits::INGESTER)?;
        let discord_token = Secret::new(env.required("DISCORD_TOKEN")?);
        let api_url = env
            .url(
                "DISCORD_API_URL",
                Some(DEFAULT_DISCORD_API_URL),
                &["http", "https"],
            )?
            .unwrap_or_else(|| DEFAULT_DISCORD_API_URL.to_owned());
        let gateway_url = env.url("DISCORD_GATEWAY_URL", None, &["ws", "wss"])?;
        let shard_plan = match env.optional("SHARD_TOTAL") {
            None => {
                if env.optional("SHARDS").is_some() {
                    return Err(invalid(
                        "SHARDS",
                        "needs SHARD_TOTAL: processes splitting the shards must agree on their number"
                            .into(),
                    ));
                }
                ShardPlan::Recommended
            }
            Some(_) => {
                let total = env.parsed("SHARD_TOTAL", 1u32, "a whole number of shards")?;
                if total == 0 {
                    return Err(invalid("SHARD_TOTAL", "must be at least 1".into()));
                }
                let shards = match env.optional("SHARDS") {
                    None => 0..=total - 1,
                    Some(spec) => parse_shard_range(&spec, total)?,
                };
                let max_concurrency = env.parsed(
                    "SHARD_MAX_CONCURRENCY",
                    1u32,
                    "Discord's max_concurrency (a whole number)",
                )?;
                if max_concurrency == 0 {
                    return Err(invalid(
                        "SHARD_MAX_CONCURRENCY",
                        "must be at least 1".into(),
                    ));
                }
                ShardPlan::Fixed {
                    shards,
                    total,
                    max_concurrency,
                }
            }
        };
        let port = env.port("INGESTER_PORT", 8081)?;
        let defaults = IngestBatching::default();
        let batching = IngestBatching {
            flush_events: env.positive("INGESTER_FLUSH_EVENTS", defaults.flush_events)?,
            flush_interval: Duration::from_millis(env.positive(
                "INGESTER_FLUSH_INTERVAL_MS",
                defaults.flush_interval.as_millis() as u64,
            )?),
            buffer_events: env.positive("INGESTER_BUFFER_EVENTS", defaults.buffer_events)?,
        };
        Ok(Self {
            database,
            discord_token,
            api_url,
            gateway_url,
            shard_plan,
            listen: SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port),
            log_format,
            batching,
            stable_after: Duration::from_secs(env.positive("INGESTER_STABLE_AFTER_SECS", 60)?),
        })
    }
}

/// How an ingester process knows its shards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShardPlan {
    /// `SHARD_TOTAL` (and optionally `SHARDS`, default all of them): these
    /// shards of `total`, identifying `max_concurrency` buckets at a time
    /// (`SHARD_MAX_CONCURRENCY`, default 1). Discord is not asked.
    Fixed {
        shards: RangeInclusive<u32>,
        total: u32,
        max_concurrency: u32,
    },
    /// Neither set: every shard of the count `GET /gateway/bot` recommends,
    /// with its `max_concurrency` and session-start budget.
    Recommended,
}

/// `"3"` or `"0-3"`, within `0..shard_total`.
fn parse_shard_range(spec: &str, shard_total: u32) -> Result<RangeInclusive<u32>, ConfigError> {
    let bad = |reason: String| invalid("SHARDS", reason);
    let number = |s: &str| {
        s.trim().parse::<u32>().map_err(|_| {
            bad(format!(
                "expected a shard id or a range like 0-3, got {spec:?}"
            ))
        })
    };
    let (first, last) = match spec.split_once('-') {
        Some((a, b)) => (number(a)?, number(b)?),
        None => {
            let n = number(spec)?;
            (n, n)
        }
    };
    if first > last {
        return Err(bad(format!("range {spec:?} is empty")));
    }
    if last >= shard_total {
        return Err(bad(format!(
            "shard {last} is outside 0-{} (SHARD_TOTAL is {shard_total})",
            shard_total - 1
        )));
    }
    Ok(first..=last)
}

/// Settings the `migrate` subcommands need: only the database.
pub fn database_from_env() -> Result<DatabaseConfig, ConfigError> {
    Reader(&Env).database(DatabaseLimits::UNLIMITED)
}

#[cfg(test)]
mod tests;
