//! Discord's request signatures: Ed25519 over `timestamp + raw body`.

use ed25519_dalek::{Signature, Verifier as _, VerifyingKey};

/// How far a request's timestamp may be from our clock (replay window).
pub const MAX_CLOCK_SKEW_SECS: i64 = 300;

/// Why a request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("missing X-Signature-Ed25519 or X-Signature-Timestamp")]
    Missing,
    #[error("signature is not 64 bytes of hex")]
    Malformed,
    #[error("timestamp is not Unix seconds within five minutes of now")]
    Stale,
    #[error("signature does not verify")]
    Invalid,
}

/// Checks a request before anything reads its body: the signature must
/// verify over the timestamp bytes followed by the body bytes, and the
/// timestamp must be within [`MAX_CLOCK_SKEW_SECS`] of `now_unix`.
pub fn verify(
    key: &VerifyingKey,
    signature_hex: Option<&str>,
    timestamp: Option<&str>,
    body: &[u8],
    now_unix: i64,
) -> Result<(), SignatureError> {
    let (Some(signature_hex), Some(timestamp)) = (signature_hex, timestamp) else {
        return Err(SignatureError::Missing);
    };
    let mut bytes = [0u8; 64];
    hex::decode_to_slice(signature_hex.trim(), &mut bytes)
        .map_err(|_| SignatureError::Malformed)?;
    let signature = Signature::from_bytes(&bytes);
    let mut message = Vec::with_capacity(timestamp.len() + body.len());
    message.extend_from_slice(timestamp.as_bytes());
    message.extend_from_slice(body);
    key.verify(&message, &signature)
        .map_err(|_| SignatureError::Invalid)?;
    // Checked after the signature so a forged timestamp cannot be probed.
    let sent: i64 = timestamp
        .trim()
        .parse()
        .map_err(|_| SignatureError::Stale)?;
    if (now_unix - sent).abs() > MAX_CLOCK_SKEW_SECS {
        return Err(SignatureError::Stale);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::{Signer as _, SigningKey};

    fn signed(key: &SigningKey, timestamp: &str, body: &[u8]) -> String {
        let mut message = timestamp.as_bytes().to_vec();
        message.extend_from_slice(body);
        hex::encode(key.sign(&message).to_bytes())
    }

    #[test]
    fn accepts_only_a_fresh_matching_signature() {
        let key = SigningKey::from_bytes(&[7; 32]);
        let public = key.verifying_key();
        let body = br#"{"type":1}"#;
        let good = signed(&key, "1000", body);
        assert_eq!(
            verify(&public, Some(&good), Some("1000"), body, 1000),
            Ok(())
        );
        assert_eq!(
            verify(&public, Some(&good), Some("1000"), body, 1300),
            Ok(())
        );
        assert_eq!(
            verify(&public, Some(&good), Some("1000"), body, 1301),
            Err(SignatureError::Stale)
        );
        assert_eq!(
            verify(&public, Some(&good), Some("1000"), b"{\"type\":2}", 1000),
            Err(SignatureError::Invalid)
        );
        assert_eq!(
            verify(&public, Some(&good), Some("1001"), body, 1000),
            Err(SignatureError::Invalid)
        );
        assert_eq!(
            verify(&public, None, Some("1000"), body, 1000),
            Err(SignatureError::Missing)
        );
        assert_eq!(
            verify(&public, Some("zz"), Some("1000"), body, 1000),
            Err(SignatureError::Malformed)
        );
        let other = SigningKey::from_bytes(&[8; 32]);
        let forged = signed(&other, "1000", body);
        assert_eq!(
            verify(&public, Some(&forged), Some("1000"), body, 1000),
            Err(SignatureError::Invalid)
        );
    }
}
