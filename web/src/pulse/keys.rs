//! Guild API keys at rest: XChaCha20-Poly1305 under the operator's master
//! key, a random 24-byte nonce per encryption, and the guild id and
//! provider as associated data, so a ciphertext copied to another guild's
//! row (or another provider) does not decrypt. The key version is a
//! fingerprint of the master key, so `rotate-keys` knows what to re-seal.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore;
use shared::Snowflake;
use shared::config::{MasterKey, ProviderKind, Secret};
use shared::db::ai_providers::SealedKey;

/// Why a sealed key could not be opened.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum KeyError {
    #[error(
        "the key was stored under another master key ({0}); run rotate-keys or set the key again"
    )]
    OtherMasterKey(String),
    #[error("the stored key does not decrypt for this server and provider")]
    Undecryptable,
}

fn associated_data(guild_id: Snowflake, provider: ProviderKind) -> Vec<u8> {
    format!("serverpulse:ai-key:v1:{}:{}", guild_id.0, provider.name()).into_bytes()
}

/// The master key's fingerprint: the Poly1305 tag of nothing under a fixed
/// nonce and label (a keyed function of the master key that reveals
/// nothing of it), first 8 bytes in hex.
pub fn version_of(master: &MasterKey) -> String {
    let cipher = XChaCha20Poly1305::new(master.expose().into());
    let tag = cipher
        .encrypt(
            &XNonce::default(),
            Payload {
                msg: &[],
                aad: b"serverpulse:master-key-fingerprint",
            },
        )
        .unwrap_or_default();
    hex::encode(&tag[..tag.len().min(8)])
}

/// The last 4 characters of a key, the only part ever shown.
pub fn last4(key: &str) -> String {
    let chars: Vec<char> = key.chars().collect();
    chars[chars.len().saturating_sub(4)..].iter().collect()
}

/// Encrypts `key` for `guild_id`'s `provider`.
pub fn seal(
    master: &MasterKey,
    guild_id: Snowflake,
    provider: ProviderKind,
    key: &Secret,
) -> SealedKey {
    let cipher = XChaCha20Poly1305::new(master.expose().into());
    let mut nonce = [0u8; 24];
    rand::rng().fill_bytes(&mut nonce);
    let aad = associated_data(guild_id, provider);
    let ciphertext = cipher
        .encrypt(
            &XNonce::from(nonce),
            Payload {
                msg: key.expose().as_bytes(),
                aad: &aad,
            },
        )
        .unwrap_or_default();
    SealedKey {
        ciphertext,
        nonce: nonce.to_vec(),
        version: version_of(master),
        last4: last4(key.expose()),
    }
}

/// Decrypts a key stored in `guild_id`'s row for `provider`.
pub fn open(
    master: &MasterKey,
    guild_id: Snowflake,
    provider: ProviderKind,
    sealed: &SealedKey,
) -> Result<Secret, KeyError> {
    if sealed.version != version_of(master) {
        return Err(KeyError::OtherMasterKey(sealed.version.clone()));
    }
    let nonce: [u8; 24] = sealed
        .nonce
        .as_slice()
        .try_into()
        .map_err(|_| KeyError::Undecryptable)?;
    let cipher = XChaCha20Poly1305::new(master.expose().into());
    let aad = associated_data(guild_id, provider);
    let plain = cipher
        .decrypt(
            &XNonce::from(nonce),
            Payload {
                msg: &sealed.ciphertext,
                aad: &aad,
            },
        )
        .map_err(|_| KeyError::Undecryptable)?;
    String::from_utf8(plain)
        .map(Secret::new)
        .map_err(|_| KeyError::Undecryptable)
}

/// What `rotate-keys` did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Rotation {
    /// Keys re-sealed under the current master key.
    pub resealed: u64,
    /// Keys under neither the current nor the previous master key (left as
    /// they are; their guilds must set them again).
    pub unknown: u64,
}

/// Re-seals every key sealed under `previous` with `current`.
pub async fn rotate(
    pool: &sqlx::PgPool,
    current: &MasterKey,
    previous: &MasterKey,
) -> Result<Rotation, shared::db::DbError> {
    use shared::db::ai_providers;
    let (now_version, old_version) = (version_of(current), version_of(previous));
    let mut done = Rotation::default();
    let mut after = Snowflake(0);
    loop {
        let batch = ai_providers::sealed_under_other(pool, &now_version, after, 100).await?;
        let Some(last) = batch.last() else {
            return Ok(done);
        };
        after = last.guild_id;
        for row in batch {
            let (Some(sealed), Some(kind)) = (&row.key, ProviderKind::parse(&row.provider)) else {
                continue;
            };
            let reopened = (sealed.version == old_version)
                .then(|| open(previous, row.guild_id, kind, sealed).ok())
                .flatten();
            match reopened {
                Some(key) => {
                    let resealed = seal(current, row.guild_id, kind, &key);
                    if ai_providers::reseal(pool, row.guild_id, &old_version, &resealed).await? {
                        done.resealed += 1;
                    }
                }
                None => done.unknown += 1,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn master(byte: u8) -> MasterKey {
        MasterKey::from_bytes([byte; 32])
    }

    #[test]
    fn a_sealed_key_opens_only_for_its_guild_provider_and_master_key() {
        let key = Secret::new("sk-live-abcdefgh1234");
        let sealed = seal(&master(1), Snowflake(7), ProviderKind::OpenAi, &key);
        assert_eq!(sealed.last4, "1234");
        assert!(
            !sealed
                .ciphertext
                .windows(4)
                .any(|w| w == b"abcd" || w == b"1234")
        );
        assert_eq!(
            open(&master(1), Snowflake(7), ProviderKind::OpenAi, &sealed).unwrap(),
            key
        );
        assert_eq!(
            open(&master(1), Snowflake(8), ProviderKind::OpenAi, &sealed),
            Err(KeyError::Undecryptable)
        );
        assert_eq!(
            open(&master(1), Snowflake(7), ProviderKind::Groq, &sealed),
            Err(KeyError::Undecryptable)
        );
        assert!(matches!(
            open(&master(2), Snowflake(7), ProviderKind::OpenAi, &sealed),
            Err(KeyError::OtherMasterKey(_))
        ));
        // A fresh nonce each time.
        let again = seal(&master(1), Snowflake(7), ProviderKind::OpenAi, &key);
        assert_ne!(again.nonce, sealed.nonce);
        assert_ne!(again.ciphertext, sealed.ciphertext);
        assert_eq!(again.version, sealed.version);
        assert_ne!(version_of(&master(2)), sealed.version);
    }
}
