//! The key that seals the administrator's Microsoft refresh token at rest
//! (`TRACELESS_TOKEN_KEY`), and the sealing itself: AES-256-GCM with a random 96-bit nonce per
//! seal, and associated data naming the organization and the tenant, so a sealed token copied
//! to another organization's row (or read for another tenant) does not open. Other secrets kept
//! at rest (two-step verification secrets) are sealed under the same key with their own
//! associated data (`seal_bytes`): one key to configure, rotate and keep.
//!
//! Why a refresh token is kept at all: the Verified ID admin API has no read-only application
//! permission (admin-api), so authority readiness and credential types can only be re-read
//! with a delegated token, minted from the refresh token of the administrator who connected.

use std::fmt;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use rand::RngCore;

use super::ids::Token;

/// The setting's name.
pub const TOKEN_KEY_VAR: &str = "TRACELESS_TOKEN_KEY";

/// A sealed value starts with this, so a future key or cipher change can be told apart.
const SEALED_PREFIX: &str = "v1.";
const NONCE_LEN: usize = 12;

/// 32 bytes for AES-256-GCM. Never printed.
#[derive(Clone)]
pub struct TokenKey([u8; 32]);

impl fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenKey(<redacted>)")
    }
}

impl TokenKey {
    /// A key from its base64 form (standard or URL-safe, padded or not): 32 bytes. The error
    /// says what is wrong without repeating the value (it is a secret); the settings file that
    /// reads `TRACELESS_TOKEN_KEY` (`config::microsoft`) puts it in a configuration error.
    pub fn from_base64(value: &str) -> Result<TokenKey, String> {
        const EXPECTED: &str = "expected 32 random bytes in base64 (for example the output of `openssl rand -base64 32`)";
        let value = value.trim();
        let unpadded = value.trim_end_matches('=');
        let bytes = STANDARD
            .decode(value)
            .or_else(|_| URL_SAFE_NO_PAD.decode(unpadded))
            .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(unpadded))
            .map_err(|_| format!("{EXPECTED}; the value is not base64"))?;
        let key: [u8; 32] = bytes
            .try_into()
            .map_err(|b: Vec<u8>| format!("{EXPECTED}; it decodes to {} bytes", b.len()))?;
        Ok(TokenKey(key))
    }

    /// A key for this process only (the built-in emulator without `TRACELESS_TOKEN_KEY`):
    /// tokens sealed with it do not open after a restart.
    pub fn random() -> TokenKey {
        let mut key = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut key);
        TokenKey(key)
    }

    /// Seals `token` for one organization's connection to one tenant.
    pub fn seal(&self, token: &Token, organization: &str, tenant: &str) -> String {
        self.seal_bytes(
            token.expose().as_bytes(),
            &associated_data(organization, tenant),
        )
    }

    /// Opens what `seal` made for the same organization and tenant; `None` for anything else
    /// (another key, another organization or tenant, a changed byte).
    pub fn open(&self, sealed: &str, organization: &str, tenant: &str) -> Option<Token> {
        let plain = self.open_bytes(sealed, &associated_data(organization, tenant))?;
        String::from_utf8(plain).ok().map(Token::new)
    }

    /// Seals any other secret kept at rest under the same key (a two-step verification
    /// secret). `context` names what it is and whose: it must be given again to open it,
    /// so a sealed value copied to another row or another use does not open.
    pub fn seal_bytes(&self, plain: &[u8], context: &str) -> String {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let sealed = self
            .cipher()
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plain,
                    aad: context.as_bytes(),
                },
            )
            .expect("AES-GCM seals any input shorter than 64 GiB");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        format!("{SEALED_PREFIX}{}", URL_SAFE_NO_PAD.encode(out))
    }

    /// Opens what `seal_bytes` made with the same `context`; `None` for anything else.
    pub fn open_bytes(&self, sealed: &str, context: &str) -> Option<Vec<u8>> {
        let bytes = URL_SAFE_NO_PAD
            .decode(sealed.strip_prefix(SEALED_PREFIX)?)
            .ok()?;
        if bytes.len() <= NONCE_LEN {
            return None;
        }
        let (nonce, ciphertext) = bytes.split_at(NONCE_LEN);
        self.cipher()
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: context.as_bytes(),
                },
            )
            .ok()
    }

    fn cipher(&self) -> Aes256Gcm {
        Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&self.0))
    }
}

fn associated_data(organization: &str, tenant: &str) -> String {
    format!("traceless admin refresh token\norganization={organization}\ntenant={tenant}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(value: &str) -> Result<TokenKey, String> {
        TokenKey::from_base64(value)
    }

    #[test]
    fn a_sealed_token_opens_only_for_its_organization_and_tenant() {
        let key = TokenKey::random();
        let token = Token::new("0.AAAA-refresh-token");
        let sealed = key.seal(&token, "org-a", "tenant-1");
        assert!(!sealed.contains("refresh-token"));
        assert_eq!(
            key.open(&sealed, "org-a", "tenant-1").unwrap().expose(),
            token.expose()
        );
        assert!(key.open(&sealed, "org-b", "tenant-1").is_none());
        assert!(key.open(&sealed, "org-a", "tenant-2").is_none());
        assert!(
            TokenKey::random()
                .open(&sealed, "org-a", "tenant-1")
                .is_none()
        );
        // A fresh nonce each time: the same token never seals the same way twice.
        assert_ne!(sealed, key.seal(&token, "org-a", "tenant-1"));
    }

    #[test]
    fn a_key_is_32_bytes_of_base64_and_an_error_never_repeats_a_bad_value() {
        let good = STANDARD.encode([7u8; 32]);
        assert!(key(&good).is_ok());
        assert!(key(&URL_SAFE_NO_PAD.encode([7u8; 32])).is_ok());
        let short = STANDARD.encode([7u8; 16]);
        let e = key(&short).unwrap_err();
        assert!(e.starts_with("expected 32 random bytes"), "{e}");
        assert!(e.contains("16 bytes") && !e.contains(&short), "{e}");
        let e = key("not base64 at all!").unwrap_err();
        assert!(!e.contains("not base64 at all!"), "{e}");
        assert!(!format!("{:?}", key(&good).unwrap()).contains(&good));
    }
}
