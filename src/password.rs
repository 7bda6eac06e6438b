//! Password policy and hashing (argon2id with the crate's recommended parameters).

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use rand::rngs::OsRng;

pub const MIN_LENGTH: usize = 12;
const MAX_LENGTH: usize = 128;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WeakPassword {
    #[error("Use at least 12 characters for your password.")]
    TooShort,
    #[error("Use at most 128 characters for your password.")]
    TooLong,
    #[error("That password is too easy to guess. Pick something less common.")]
    TooCommon,
    #[error("Your password must not contain your email address.")]
    ContainsEmail,
}

/// Checks a new password; `email_local_part` is refused as a substring because it is
/// the first thing an attacker who knows the address will try.
pub fn check_strength(password: &str, email_local_part: &str) -> Result<(), WeakPassword> {
    let length = password.chars().count();
    if length < MIN_LENGTH {
        return Err(WeakPassword::TooShort);
    }
    if length > MAX_LENGTH {
        return Err(WeakPassword::TooLong);
    }
    let lower = password.to_lowercase();
    let distinct = {
        let mut chars: Vec<char> = lower.chars().collect();
        chars.sort_unstable();
        chars.dedup();
        chars.len()
    };
    if distinct < 4 || COMMON.iter().any(|common| lower.contains(common)) {
        return Err(WeakPassword::TooCommon);
    }
    if email_local_part.len() >= 3 && lower.contains(&email_local_part.to_lowercase()) {
        return Err(WeakPassword::ContainsEmail);
    }
    Ok(())
}

/// Fragments that make a long password guessable anyway.
const COMMON: &[&str] = &[
    "password",
    "passw0rd",
    "123456",
    "qwerty",
    "azerty",
    "letmein",
    "welcome",
    "iloveyou",
    "admin",
    "traceless",
    "abcdef",
    "111111",
    "000000",
    "monkey",
    "dragon",
    "football",
];

pub fn hash(password: &str) -> String {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .expect("argon2 with default parameters accepts any password")
        .to_string()
}

/// Constant-time in the password (argon2 verifies the whole hash); a malformed stored
/// hash counts as a mismatch rather than an error the caller could leak.
pub fn verify(password: &str, stored_hash: &str) -> bool {
    PasswordHash::new(stored_hash)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// Spends the same time as a real verification, so that an unknown email cannot be
/// told apart from a wrong password by timing.
pub fn verify_against_dummy(password: &str) {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let dummy = DUMMY.get_or_init(|| hash("dummy password for timing"));
    let _ = verify(password, dummy);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strong_password_passes() {
        assert_eq!(check_strength("correct horse battery", "megan"), Ok(()));
    }

    #[test]
    fn each_weakness_has_its_reason() {
        assert_eq!(check_strength("short", "x"), Err(WeakPassword::TooShort));
        assert_eq!(
            check_strength(&"ab1!".repeat(40), "x"),
            Err(WeakPassword::TooLong)
        );
        assert_eq!(
            check_strength("MyPassword2024", "x"),
            Err(WeakPassword::TooCommon)
        );
        assert_eq!(
            check_strength("aaaaaaaaaaaaaaaa", "x"),
            Err(WeakPassword::TooCommon)
        );
        assert_eq!(
            check_strength("meganbowen-is-great", "meganbowen"),
            Err(WeakPassword::ContainsEmail)
        );
    }

    #[test]
    fn hash_verifies_only_the_same_password() {
        let stored = hash("correct horse battery");
        assert!(verify("correct horse battery", &stored));
        assert!(!verify("correct horse batterx", &stored));
        assert!(!verify("correct horse battery", "not a hash"));
    }
}
