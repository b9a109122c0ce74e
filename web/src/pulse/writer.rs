//! Who writes a report: the guild's provider, then the operator's default
//! provider if one is configured, then the built-in rules, which then say
//! that they are the fallback and why.

use shared::config::DefaultProvider;

use super::PulseFigures;
use super::builtin::{self, PulseText};
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

/// The report of `figures`: the first of `guild`'s provider and the
/// operator's default that answers with a text using only our figures,
/// else the built-in one.
pub async fn write(
    providers: &Providers,
    figures: &PulseFigures,
    guild: Option<Result<Provider, ProviderError>>,
) -> Written {
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
        match ask(providers, &provider, figures, &mut tokens).await {
            Ok(text) => {
                return Written {
                    text,
                    provider: provider.kind.name().to_owned(),
                    model: provider.model.clone(),
                    prompt_version: PROMPT_VERSION,
                    tokens_in: tokens.0,
                    tokens_out: tokens.1,
                    failures,
                };
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
    let mut text = builtin::write(figures);
    if !failures.is_empty() {
        let lines = failures.iter().map(|e| format!("{e}.")).collect::<Vec<_>>();
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
