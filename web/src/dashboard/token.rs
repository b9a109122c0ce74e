//! The link `/dashboard` hands out: `https://<host>/g/<guild>?t=<token>`.
//!
//! A token is `base64url(guild ‖ user ‖ expiry ‖ generation ‖ sees_private
//! ‖ nonce ‖ HMAC-SHA256(key, those bytes))`: fixed-width big-endian fields, so no
//! two field sets share bytes. Changing any bit, or presenting it under
//! another guild's path, fails the check; one made before the guild's last
//! `/dashboard revoke` carries an old generation and is refused too.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, Utc};
use hmac::{Hmac, Mac as _};
use sha2::{Digest as _, Sha256};
use shared::Snowflake;

/// How long a link opens a session.
pub const LINK_LIFETIME: Duration = Duration::hours(1);

const FIELDS: usize = 8 + 8 + 8 + 8 + 1 + NONCE;
const NONCE: usize = 16;
const MAC: usize = 32;

/// What a link grants: one member's view of one guild until `expires_at`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkClaims {
    pub guild_id: Snowflake,
    pub user_id: Snowflake,
    pub expires_at: DateTime<Utc>,
    /// The guild's link generation when the link was made.
    pub generation: i64,
    /// Whether the member may see private channels named (decided when
    /// the link was made, by [`super::access::sees_private`]).
    pub sees_private: bool,
    /// Random, so two links made in the same second differ (each opens once).
    pub nonce: [u8; NONCE],
}

/// Why a token opens nothing. The page shown says the same for all of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("not a dashboard token")]
    Malformed,
    #[error("signature does not match")]
    Forged,
    #[error("made for another guild")]
    OtherGuild,
    #[error("expired")]
    Expired,
    #[error("revoked")]
    Revoked,
}

/// The HMAC key the links are signed with.
#[derive(Clone)]
pub struct SigningKey(Vec<u8>);

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningKey([redacted])")
    }
}

impl SigningKey {
    pub fn new(bytes: impl Into<Vec<u8>>) -> Self {
        Self(bytes.into())
    }

    fn mac(&self, fields: &[u8]) -> Hmac<Sha256> {
        let mut mac = <Hmac<Sha256> as hmac::KeyInit>::new_from_slice(&self.0)
            .expect("HMAC takes any key length");
        mac.update(fields);
        mac
    }

    /// The token of `claims`.
    pub fn sign(&self, claims: &LinkClaims) -> String {
        let fields = encode_fields(claims);
        let tag = self.mac(&fields).finalize().into_bytes();
        let mut bytes = fields.to_vec();
        bytes.extend_from_slice(&tag);
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// The claims of `token` presented under `guild`'s path at `now`,
    /// if it is genuine, for that guild, unexpired and of `generation`.
    pub fn verify(
        &self,
        token: &str,
        guild: Snowflake,
        now: DateTime<Utc>,
        generation: i64,
    ) -> Result<LinkClaims, TokenError> {
        let bytes = URL_SAFE_NO_PAD
            .decode(token.as_bytes())
            .map_err(|_| TokenError::Malformed)?;
        if bytes.len() != FIELDS + MAC {
            return Err(TokenError::Malformed);
        }
        let (fields, tag) = bytes.split_at(FIELDS);
        self.mac(fields)
            .verify_slice(tag)
            .map_err(|_| TokenError::Forged)?;
        let claims = decode_fields(fields).ok_or(TokenError::Malformed)?;
        if claims.guild_id != guild {
            return Err(TokenError::OtherGuild);
        }
        if claims.expires_at <= now {
            return Err(TokenError::Expired);
        }
        if claims.generation != generation {
            return Err(TokenError::Revoked);
        }
        Ok(claims)
    }
}

/// The SHA-256 of a token or session id: what the database keeps.
pub fn digest(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

fn encode_fields(claims: &LinkClaims) -> [u8; FIELDS] {
    let mut out = [0u8; FIELDS];
    out[0..8].copy_from_slice(&claims.guild_id.0.to_be_bytes());
    out[8..16].copy_from_slice(&claims.user_id.0.to_be_bytes());
    out[16..24].copy_from_slice(&claims.expires_at.timestamp().to_be_bytes());
    out[24..32].copy_from_slice(&claims.generation.to_be_bytes());
    out[32] = u8::from(claims.sees_private);
    out[33..].copy_from_slice(&claims.nonce);
    out
}

fn decode_fields(fields: &[u8]) -> Option<LinkClaims> {
    let word = |i: usize| -> Option<[u8; 8]> { fields.get(i..i + 8)?.try_into().ok() };
    Some(LinkClaims {
        guild_id: Snowflake(u64::from_be_bytes(word(0)?)),
        user_id: Snowflake(u64::from_be_bytes(word(8)?)),
        expires_at: DateTime::from_timestamp(i64::from_be_bytes(word(16)?), 0)?,
        generation: i64::from_be_bytes(word(24)?),
        sees_private: match fields.get(32)? {
            0 => false,
            1 => true,
            _ => return None,
        },
        nonce: fields.get(33..)?.try_into().ok()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(now: DateTime<Utc>) -> LinkClaims {
        LinkClaims {
            guild_id: Snowflake(1 << 63 | 5),
            user_id: Snowflake(42),
            expires_at: now + LINK_LIFETIME,
            generation: 3,
            sees_private: true,
            nonce: [7; NONCE],
        }
    }

    #[test]
    fn a_token_opens_its_guild_only_while_fresh_and_unrevoked() {
        let key = SigningKey::new(*b"0123456789abcdef0123456789abcdef");
        let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let c = claims(now);
        let token = key.sign(&c);
        assert_eq!(key.verify(&token, c.guild_id, now, 3), Ok(c));
        assert_eq!(
            key.verify(&token, Snowflake(7), now, 3),
            Err(TokenError::OtherGuild)
        );
        assert_eq!(
            key.verify(&token, c.guild_id, c.expires_at, 3),
            Err(TokenError::Expired)
        );
        assert_eq!(
            key.verify(&token, c.guild_id, now, 4),
            Err(TokenError::Revoked)
        );
        let other = SigningKey::new(*b"fedcba9876543210fedcba9876543210");
        assert_eq!(
            other.verify(&token, c.guild_id, now, 3),
            Err(TokenError::Forged)
        );
        // Every single flipped bit is caught.
        let bytes = URL_SAFE_NO_PAD.decode(&token).unwrap();
        for bit in 0..bytes.len() * 8 {
            let mut altered = bytes.clone();
            altered[bit / 8] ^= 1 << (bit % 8);
            let altered = URL_SAFE_NO_PAD.encode(altered);
            assert!(
                key.verify(&altered, c.guild_id, now, 3).is_err(),
                "bit {bit}"
            );
        }
        assert_eq!(
            key.verify("not a token", c.guild_id, now, 3),
            Err(TokenError::Malformed)
        );
    }
}
