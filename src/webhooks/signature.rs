//! Webhook signatures: `Traceless-Signature: t={unix seconds},v1={hex HMAC-SHA256}` where the
//! HMAC's key is the endpoint's signing secret (the whole `whsec_…` text) and its message is
//! `"{t}.{body}"`. The receiver recomputes it over the raw body, compares in constant time,
//! and refuses a timestamp too far from its clock (replays).

use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

pub const HEADER: &str = "Traceless-Signature";

/// How far a receiver should accept a timestamp from its own clock.
pub const TOLERANCE_SECS: i64 = 5 * 60;

fn mac(secret: &str, timestamp: i64, body: &[u8]) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// The header value for `body` sent at `timestamp`.
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let digest = mac(secret, timestamp, body).finalize().into_bytes();
    format!("t={timestamp},v1={}", hex::encode(digest))
}

/// The receiver's check, as documented in docs/api.md (kept here for our own tests and
/// as the reference): any `v1` matching, and `t` within [`TOLERANCE_SECS`] of `now`.
pub fn verify(secret: &str, header: &str, body: &[u8], now: i64) -> bool {
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", t)) => timestamp = t.parse::<i64>().ok(),
            Some(("v1", v)) => signatures.extend(hex::decode(v).ok()),
            _ => {}
        }
    }
    let Some(timestamp) = timestamp else {
        return false;
    };
    if (now - timestamp).abs() > TOLERANCE_SECS {
        return false;
    }
    let expected = mac(secret, timestamp, body).finalize().into_bytes();
    signatures
        .iter()
        .any(|s| bool::from(s.as_slice().ct_eq(expected.as_slice())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_checks_out_only_with_its_secret_body_and_a_recent_time() {
        let body = br#"{"id":"1"}"#;
        let header = sign("whsec_a", 1_700_000_000, body);
        assert!(header.starts_with("t=1700000000,v1="));
        assert!(verify("whsec_a", &header, body, 1_700_000_010));
        assert!(!verify("whsec_b", &header, body, 1_700_000_010));
        assert!(!verify("whsec_a", &header, br#"{"id":"2"}"#, 1_700_000_010));
        assert!(!verify("whsec_a", &header, body, 1_700_000_000 + 301));
        assert!(!verify("whsec_a", "v1=00", body, 1_700_000_000));
    }

    #[test]
    fn the_recipe_is_plain_hmac_sha256_of_timestamp_dot_body() {
        // Computed independently: printf '%s' '1.{}' | openssl dgst -sha256 -hmac 'k'
        assert_eq!(
            sign("k", 1, b"{}"),
            "t=1,v1=3dd49b2593d0f9a349e9e71c4bde3e2b862c2be4003fe9b4ba81332029310158"
        );
    }
}
