//! `Idempotency-Key` for creates through the API: the first request's verification is
//! remembered per API key, so a retry gets the same verification (and link) back, and the
//! same key with a different body is refused.
//!
//! The link is a secret stored only as a hash; to give it back on a retry we keep it
//! sealed with a pad only the API key's holder can make (HMAC-SHA256 keyed by the API key,
//! over the idempotency key), so a copy of the database still holds no working link.

use crate::db::{self, Connection};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use uuid::Uuid;

/// The longest `Idempotency-Key` accepted.
pub const MAX_KEY_CHARS: usize = 255;

/// What the first request with a key produced.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Remembered {
    pub request_hash: String,
    pub verification_id: Uuid,
    pub sealed_link: Option<String>,
}

/// A key is printable ASCII, 1 to 255 characters (as the IETF draft suggests: a UUID fits).
pub fn valid_key(key: &str) -> bool {
    !key.is_empty() && key.len() <= MAX_KEY_CHARS && key.bytes().all(|b| (0x21..0x7f).contains(&b))
}

/// The request body's fingerprint.
pub fn request_hash(body: &[u8]) -> String {
    hex::encode(Sha256::digest(body))
}

fn pad(api_key: &str, idempotency_key: &str, len: usize) -> Vec<u8> {
    let mut pad = Vec::with_capacity(len);
    let mut counter: u32 = 0;
    while pad.len() < len {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(api_key.as_bytes()).expect("HMAC takes any key");
        mac.update(b"traceless idempotent link\0");
        mac.update(idempotency_key.as_bytes());
        mac.update(&counter.to_be_bytes());
        pad.extend_from_slice(&mac.finalize().into_bytes());
        counter += 1;
    }
    pad.truncate(len);
    pad
}

pub fn seal(api_key: &str, idempotency_key: &str, link_token: &str) -> String {
    let bytes = link_token.as_bytes();
    let pad = pad(api_key, idempotency_key, bytes.len());
    hex::encode(
        bytes
            .iter()
            .zip(pad)
            .map(|(b, p)| b ^ p)
            .collect::<Vec<u8>>(),
    )
}

pub fn unseal(api_key: &str, idempotency_key: &str, sealed: &str) -> Option<String> {
    let bytes = hex::decode(sealed).ok()?;
    let pad = pad(api_key, idempotency_key, bytes.len());
    String::from_utf8(bytes.iter().zip(pad).map(|(b, p)| b ^ p).collect()).ok()
}

pub async fn find(
    conn: &mut impl Connection,
    api_key_id: Uuid,
    idempotency_key: &str,
) -> Result<Option<Remembered>, sqlx::Error> {
    db::query(
        "SELECT request_hash, verification_id, sealed_link FROM api_idempotency
         WHERE api_key_id = $1 AND idempotency_key = $2",
    )
    .bind(api_key_id)
    .bind(idempotency_key)
    .fetch_optional_as(conn)
    .await
}

pub async fn remember(
    conn: &mut impl Connection,
    api_key_id: Uuid,
    idempotency_key: &str,
    remembered: &Remembered,
) -> Result<(), sqlx::Error> {
    db::query(
        "INSERT INTO api_idempotency (api_key_id, idempotency_key, request_hash, verification_id, sealed_link, created_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(api_key_id)
    .bind(idempotency_key)
    .bind(&remembered.request_hash)
    .bind(remembered.verification_id)
    .bind(&remembered.sealed_link)
    .bind(OffsetDateTime::now_utc())
    .execute(conn)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_link_opens_only_with_its_api_key_and_idempotency_key() {
        let sealed = seal("tl_live_a", "retry-1", "link-token");
        assert_ne!(sealed, hex::encode("link-token"));
        assert_eq!(
            unseal("tl_live_a", "retry-1", &sealed).as_deref(),
            Some("link-token")
        );
        assert_ne!(
            unseal("tl_live_b", "retry-1", &sealed).as_deref(),
            Some("link-token")
        );
        assert_ne!(
            unseal("tl_live_a", "retry-2", &sealed).as_deref(),
            Some("link-token")
        );
    }

    #[test]
    fn keys_are_printable_and_bounded() {
        assert!(valid_key("4f0c1b2e-retry"));
        assert!(!valid_key(""));
        assert!(!valid_key("has space"));
        assert!(!valid_key(&"a".repeat(256)));
    }
}
