//! The Discord side of HTTP interactions: Ed25519 keys, Discord-shaped
//! interaction payloads, signed POSTs to the product's endpoint, and
//! following what the product does next until the message a user would see.
//!
//! `keys` signs, `kinds` says what the user did, `payload` builds the
//! body Discord would send, `client` sends it and follows the product's
//! answer, `outcome` is what came of it.

mod client;
mod keys;
mod kinds;
mod outcome;
mod payload;

pub use client::InteractionClient;
pub use keys::InteractionKeys;
pub use kinds::{CommandOption, InteractionKind, Invoker, OptionValue};
pub use outcome::{Delivery, FinalMessage, InteractionOutcome};
pub use payload::{fresh_id, fresh_token, interaction_payload};

/// Manage Guild: what ServerPulse's admin commands ask for.
pub const MANAGE_GUILD: u64 = 1 << 5;
/// Administrator implies every permission.
pub const ADMINISTRATOR: u64 = 1 << 3;
/// What an ordinary member typically has (view channels, send messages, …).
pub const MEMBER_PERMISSIONS: u64 =
    (1 << 10) | (1 << 11) | (1 << 14) | (1 << 15) | (1 << 16) | (1 << 6);
/// Discord's default upload limit, sent as `attachment_size_limit`.
const ATTACHMENT_SIZE_LIMIT: usize = crate::rest::DEFAULT_ATTACHMENT_SIZE_LIMIT;

/// Errors of the interactions client.
#[derive(Debug, thiserror::Error)]
pub enum InteractionError {
    #[error("a secret key is 32 bytes of hex")]
    BadKey,
    #[error("HTTP request to {url} failed")]
    Http { url: String, source: reqwest::Error },
    #[error("the simulator answered {status} to {url}")]
    Simulator { url: String, status: u16 },
}
