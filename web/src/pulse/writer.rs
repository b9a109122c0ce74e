//! Who writes a report: the guild's provider, then the operator's default
//! provider if one is configured, then the built-in rules, which then say
//! that they are the fallback and why. Before a provider is asked, the
//! report it wrote for the same guild, week, model and prompt version is
//! looked up and reused when stored ([`shared::db::pulse::cached`]).

use shared::Snowflake;
use shared::config::{AiConfig, DefaultProvider, ProviderKind};
use shared::db::DbError;
use shared::db::ai_providers::{self, GuildProvider};
use shared::db::pulse::{self as stored, CacheKey, StoredReport};
use sqlx::PgPool;

use super::PulseFigures;
use super::builtin::{self, PulseText};
use super::keys;
use super::prompt::{self, PROMPT_VERSION};
use super::providers::{Provider, ProviderError, Providers};

/// `pulse_reports.provider` of a built-in report.
pub const BUILTIN: &str = "builtin";

/// A written report and what it cost.
#[derive(Debug, Clone, PartialEq)]
pub struct Written {
    pub text: PulseText,
    /// `builtin` or the provider's name (`openai`, …).
    pub provider: String,
    pub model: String,
    /// The prompt's version; 0 for a built-in report.
    pub prompt_version: i32,
    /// Tokens of every answer received for this report (a rejected one
    /// cost them too).
    pub tokens_in: i64,
    pub tokens_out: i64,
    /// Why each provider tried before the one that wrote it failed.
    pub failures: Vec<ProviderError>,
}

/// Provider tokens as stored (an `integer` column).
pub fn stored_tokens(tokens: i64) -> i32 {
    i32::try_from(tokens.max(0)).unwrap_or(i32::MAX)
}

/// The operator's default provider as a [`Provider`].
pub fn operator_default(default: &DefaultProvider) -> Provider {
    Provider {
        kind: default.kind,
        model: default.model.clone(),
        key: default.key.clone(),
    }
}

/// Asks one provider and checks its numbers.
pub async fn ask(
    providers: &Providers,
    provider: &Provider,
    figures: &PulseFigures,
    tokens: &mut (i64, i64),
) -> Result<PulseText, ProviderError> {
    let request = prompt::prompt(figures);
    let done = providers.complete(provider, &request).await?;
    tokens.0 += done.tokens_in;
    tokens.1 += done.tokens_out;
    let invented = prompt::invented_numbers(&done.text, &request.user);
    if !invented.is_empty() {
        return Err(ProviderError::InventedNumbers {
            provider: provider.kind.label(),
            numbers: invented.into_iter().take(5).collect::<Vec<_>>().join(", "),
        });
    }
    let author = format!("{} ({})", provider.kind.label(), provider.model);
    Ok(prompt::sections_of(&done.text, author))
}

/// A report: one stored for the same key, or one written now.
#[derive(Debug, Clone, PartialEq)]
pub enum Report {
    /// The provider that would have been asked wrote this one for the
    /// same guild, week, model and prompt version: no request was made.
    Reused(StoredReport),
    Written(Written),
}

/// The cache key of `provider`'s report of `figures`.
fn cache_key<'a>(figures: &PulseFigures, provider: &'a Provider) -> CacheKey<'a> {
    CacheKey {
        guild_id: figures.guild_id,
        period_start: figures.from,
        period_end: figures.to,
        provider: provider.kind.name(),
        model: &provider.model,
        prompt_version: PROMPT_VERSION,
    }
}

/// The report of `figures`: for each of `guild`'s provider and the
/// operator's default in turn, the report it wrote before for the same
/// key, or else its answer now if its text uses only our figures; else
/// the built-in one.
pub async fn write(
    pool: &PgPool,
    providers: &Providers,
    figures: &PulseFigures,
    guild: Option<Result<Provider, ProviderError>>,
) -> Result<Report, DbError> {
    let default = providers
        .config()
        .default_provider
        .as_ref()
        .map(operator_default);
    let mut failures = Vec::new();
    let guild = match guild {
        Some(Ok(provider)) => Some(provider),
        Some(Err(error)) => {
            failures.push(error);
            None
        }
        None => None,
    };
    let mut tokens = (0, 0);
    for provider in guild.into_iter().chain(default) {
        if let Some(report) = stored::cached(pool, &cache_key(figures, &provider)).await? {
            return Ok(Report::Reused(report));
        }
        match ask(providers, &provider, figures, &mut tokens).await {
            Ok(text) => {
                return Ok(Report::Written(Written {
                    text,
                    provider: provider.kind.name().to_owned(),
                    model: provider.model.clone(),
                    prompt_version: PROMPT_VERSION,
                    tokens_in: tokens.0,
                    tokens_out: tokens.1,
                    failures,
                }));
            }
            Err(error) => {
                tracing::warn!(
                    guild_id = %figures.guild_id,
                    provider = provider.kind.name(),
                    %error,
                    "a provider failed to write a Pulse Report"
                );
                failures.push(error);
            }
        }
    }
    Ok(Report::Written(fallback(
        figures,
        failures,
        Vec::new(),
        tokens,
    )))
}

/// The built-in report of `figures`; when providers failed (`failures`)
/// or were not asked (`notes`), it opens with a section saying so.
pub fn fallback(
    figures: &PulseFigures,
    failures: Vec<ProviderError>,
    notes: Vec<String>,
    tokens: (i64, i64),
) -> Written {
    let mut text = builtin::write(figures);
    if !failures.is_empty() || !notes.is_empty() {
        let lines = failures
            .iter()
            .map(|e| format!("{e}."))
            .chain(notes)
            .collect::<Vec<_>>();
        text.sections.insert(
            0,
            ("Written by the built-in rules instead".to_owned(), lines),
        );
        text.author = format!("{} (the fallback)", builtin::AUTHOR);
    }
    Written {
        text,
        provider: BUILTIN.to_owned(),
        model: String::new(),
        prompt_version: 0,
        tokens_in: tokens.0,
        tokens_out: tokens.1,
        failures,
    }
}

/// The provider `guild` chose with its key opened, `None` when it chose
/// none, or why its choice cannot be used.
pub async fn guild_provider(
    pool: &PgPool,
    ai: &AiConfig,
    guild: Snowflake,
) -> Result<Option<Result<Provider, ProviderError>>, DbError> {
    let Some(row) = ai_providers::get(pool, guild).await? else {
        return Ok(None);
    };
    Ok(Some(usable(ai, &row)))
}

fn usable(ai: &AiConfig, row: &GuildProvider) -> Result<Provider, ProviderError> {
    let kind = ProviderKind::parse(&row.provider).ok_or_else(|| ProviderError::Key {
        provider: "the chosen provider",
        reason: format!("{} is not a provider this ServerPulse knows", row.provider),
    })?;
    let key = match &row.key {
        None => None,
        Some(sealed) => {
            let master = ai.master_key.as_ref().ok_or_else(|| ProviderError::Key {
                provider: kind.label(),
                reason: "this ServerPulse has no master key to decrypt it".to_owned(),
            })?;
            Some(keys::open(master, row.guild_id, kind, sealed).map_err(|e| {
                ProviderError::Key {
                    provider: kind.label(),
                    reason: e.to_string(),
                }
            })?)
        }
    };
    Ok(Provider {
        kind,
        model: row.model.clone(),
        key,
    })
}
