//! Random one-time secrets (invite links, later verification links and callback keys).
//!
//! A secret is shown once and only its SHA-256 is stored: a database leak does not
//! leak working links. Lookups go by hash; comparisons of hashes are constant-time.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// A freshly generated secret: 256 random bits, URL-safe. Deliberately not `Debug`
/// or `Display`, so it cannot end up in a log line by accident.
pub struct Secret(String);

/// The stored form of a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretHash(String);

impl Secret {
    pub fn generate() -> Self {
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        Self(URL_SAFE_NO_PAD.encode(bytes))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn hash(&self) -> SecretHash {
        SecretHash::of(&self.0)
    }
}

impl SecretHash {
    pub fn of(presented: &str) -> Self {
        Self(hex::encode(Sha256::digest(presented.as_bytes())))
    }

    pub fn from_stored(stored: String) -> Self {
        Self(stored)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether `presented` is the secret whose hash this is, in constant time.
    pub fn matches(&self, presented: &str) -> bool {
        Self::of(presented)
            .0
            .as_bytes()
            .ct_eq(self.0.as_bytes())
            .into()
    }
}

/// A token as it arrives from outside: only well-formed ones are worth a lookup.
pub fn looks_like_secret(presented: &str) -> bool {
    presented.len() == 43
        && presented
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_unique_well_formed_and_match_their_hash() {
        let a = Secret::generate();
        let b = Secret::generate();
        assert_ne!(a.expose(), b.expose());
        assert!(looks_like_secret(a.expose()));
        assert!(a.hash().matches(a.expose()));
        assert!(!a.hash().matches(b.expose()));
        assert_ne!(a.hash().as_str(), a.expose());
    }

    #[test]
    fn odd_input_is_not_a_secret() {
        assert!(!looks_like_secret(""));
        assert!(!looks_like_secret("../../etc/passwd"));
        assert!(!looks_like_secret(&"a".repeat(44)));
    }
}
