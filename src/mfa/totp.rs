//! TOTP (RFC 6238) as authenticator apps read it: HMAC-SHA1, six digits, 30-second steps and a
//! 160-bit secret (RFC 4226's recommended length). A code of the step before or after the
//! current one is accepted too, for phones whose clock drifts.

use std::fmt;

use rand::RngCore;
use subtle::ConstantTimeEq;
use totp_rs::{Algorithm, TOTP};

pub const DIGITS: usize = 6;
pub const STEP_SECS: u64 = 30;
const SECRET_BYTES: usize = 20;
/// RFC 4226 asks for at least 128 bits; a shorter stored value is not ours.
const MIN_SECRET_BYTES: usize = 16;

/// A TOTP secret. Never logged or printed.
#[derive(Clone)]
pub struct TotpSecret(Vec<u8>);

impl fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TotpSecret(<redacted>)")
    }
}

impl TotpSecret {
    pub fn generate() -> TotpSecret {
        let mut bytes = vec![0u8; SECRET_BYTES];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        TotpSecret(bytes)
    }

    /// A secret as it was stored (after opening its seal).
    pub fn from_bytes(bytes: Vec<u8>) -> Option<TotpSecret> {
        (bytes.len() >= MIN_SECRET_BYTES).then_some(TotpSecret(bytes))
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    fn totp(&self) -> TOTP {
        TOTP::new(Algorithm::SHA1, DIGITS, 1, STEP_SECS, self.0.clone())
            .expect("six digits and a secret of at least 128 bits")
    }

    /// The secret in base32 (RFC 4648, no padding), as apps take it typed in.
    pub fn base32(&self) -> String {
        self.totp().get_secret_base32()
    }

    /// The base32 text in groups of four, easier to read and type on a phone (apps ignore
    /// the spaces).
    pub fn grouped(&self) -> String {
        let text = self.base32();
        text.as_bytes()
            .chunks(4)
            .map(|c| std::str::from_utf8(c).expect("base32 is ASCII"))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The `otpauth://` URI an authenticator app reads from the QR code.
    pub fn otpauth_uri(&self, issuer: &str, account: &str) -> String {
        let enc = |v: &str| {
            url::form_urlencoded::byte_serialize(v.as_bytes())
                .collect::<String>()
                .replace('+', "%20")
        };
        format!(
            "otpauth://totp/{}:{}?secret={}&issuer={}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECS}",
            enc(issuer),
            enc(account),
            self.base32(),
            enc(issuer),
        )
    }

    /// The time step `code` belongs to, if it is this secret's code for a step within one of
    /// `now` (Unix seconds). Every candidate is compared, in constant time.
    pub fn step_of(&self, code: &Code, now: u64) -> Option<u64> {
        let totp = self.totp();
        let current = now / STEP_SECS;
        let mut found = None;
        for step in current.saturating_sub(1)..=current + 1 {
            let expected = totp.generate(step * STEP_SECS);
            if bool::from(expected.as_bytes().ct_eq(code.0.as_bytes())) {
                found = Some(step);
            }
        }
        found
    }
}

/// A six-digit code as typed: spaces and dashes are ignored.
#[derive(Clone, PartialEq, Eq)]
pub struct Code(String);

impl fmt::Debug for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Code(<redacted>)")
    }
}

impl Code {
    pub fn parse(input: &str) -> Option<Code> {
        let digits: String = input
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .collect();
        (digits.len() == DIGITS && digits.bytes().all(|b| b.is_ascii_digit()))
            .then_some(Code(digits))
    }
}

/// The current Unix time in seconds.
pub fn now() -> u64 {
    time::OffsetDateTime::now_utc().unix_timestamp().max(0) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B, SHA-1, truncated to six digits.
    #[test]
    fn codes_match_the_rfc_test_vectors() {
        let secret = TotpSecret::from_bytes(b"12345678901234567890".to_vec()).unwrap();
        for (time, code) in [
            (59, "287082"),
            (1111111109, "081804"),
            (2000000000, "279037"),
        ] {
            let code = Code::parse(code).unwrap();
            assert_eq!(secret.step_of(&code, time), Some(time / STEP_SECS));
        }
    }

    #[test]
    fn a_code_one_step_away_is_accepted_and_two_steps_away_is_not() {
        let secret = TotpSecret::generate();
        let totp = secret.totp();
        let now = 1_800_000_000;
        let before = Code::parse(&totp.generate(now - STEP_SECS)).unwrap();
        assert_eq!(secret.step_of(&before, now), Some(now / STEP_SECS - 1));
        let old = Code::parse(&totp.generate(now - 2 * STEP_SECS)).unwrap();
        assert_eq!(secret.step_of(&old, now), None);
    }

    #[test]
    fn codes_are_six_digits_and_spaces_are_ignored() {
        assert!(Code::parse("123 456").is_some());
        assert!(Code::parse("12345").is_none());
        assert!(Code::parse("12345a").is_none());
        assert!(Code::parse("1234567").is_none());
    }

    #[test]
    fn the_uri_names_the_issuer_and_account_and_never_debug_prints_the_secret() {
        let secret = TotpSecret::generate();
        let uri = secret.otpauth_uri("Traceless", "ada@contoso.com");
        assert!(uri.starts_with("otpauth://totp/Traceless:ada%40contoso.com?secret="));
        assert!(uri.contains(&secret.base32()));
        assert!(!format!("{secret:?}").contains(&secret.base32()));
        assert_eq!(secret.grouped().replace(' ', ""), secret.base32());
    }
}
