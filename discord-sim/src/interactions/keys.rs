//! The application's Ed25519 key pair and Discord's signature.

use ed25519_dalek::{Signer as _, SigningKey, VerifyingKey};

use super::InteractionError;

/// An application's Ed25519 key pair: Discord signs with the secret half,
/// the product verifies with the public half.
#[derive(Clone)]
pub struct InteractionKeys {
    signing: SigningKey,
}

impl std::fmt::Debug for InteractionKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the secret half.
        f.debug_struct("InteractionKeys")
            .field("public_key", &self.public_key_hex())
            .finish()
    }
}

impl InteractionKeys {
    pub fn generate() -> Self {
        Self::from_secret(rand::random())
    }

    pub fn from_secret(secret: [u8; 32]) -> Self {
        Self {
            signing: SigningKey::from_bytes(&secret),
        }
    }

    pub fn from_secret_hex(secret: &str) -> Result<Self, InteractionError> {
        let bytes = hex::decode(secret.trim()).map_err(|_| InteractionError::BadKey)?;
        let secret: [u8; 32] = bytes.try_into().map_err(|_| InteractionError::BadKey)?;
        Ok(Self::from_secret(secret))
    }

    pub fn secret_hex(&self) -> String {
        hex::encode(self.signing.to_bytes())
    }

    /// What the Developer Portal shows as the application's public key.
    pub fn public_key_hex(&self) -> String {
        hex::encode(self.signing.verifying_key().to_bytes())
    }

    pub fn verifying_key(&self) -> VerifyingKey {
        self.signing.verifying_key()
    }

    /// `X-Signature-Ed25519`: hex of the signature of timestamp + body.
    pub fn sign(&self, timestamp: &str, body: &[u8]) -> String {
        let mut message = Vec::with_capacity(timestamp.len() + body.len());
        message.extend_from_slice(timestamp.as_bytes());
        message.extend_from_slice(body);
        hex::encode(self.signing.sign(&message).to_bytes())
    }
}
