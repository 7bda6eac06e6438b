//! Password policy and hashing (argon2id with the crate's recommended parameters).
//! Each hash or verification holds ~19 MiB for a moment, so only a few run at once:
//! a flood of sign-ins waits in line instead of exhausting memory.

use std::sync::LazyLock;
use std::time::Duration;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use rand::rngs::OsRng;
use tokio::sync::Semaphore;

use crate::rate_limit::TooMany;

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
    /// Refused by the zxcvbn estimate; carries its feedback, in its words.
    #[error("That password is too easy to guess.{0}")]
    Guessable(Feedback),
}

/// zxcvbn's warning and suggestions about a password, as one line or two.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Feedback {
    pub warning: Option<String>,
    pub suggestions: Vec<String>,
}

impl std::fmt::Display for Feedback {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(warning) = &self.warning {
            write!(f, " {warning}")?;
        }
        for suggestion in &self.suggestions {
            write!(f, " {suggestion}")?;
        }
        if self.warning.is_none() && self.suggestions.is_empty() {
            write!(f, " Add another word or two; uncommon words are better.")?;
        }
        Ok(())
    }
}

/// The least zxcvbn score accepted: 3 is "safely unguessable: moderate protection from
/// offline slow-hash scenarios" (about 10^10 guesses), which with argon2 is ample.
const MIN_SCORE: zxcvbn::Score = zxcvbn::Score::Three;

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
    // Beyond the rules above: common passwords, names, words, keyboard patterns, dates and
    // repeats in zxcvbn's dictionaries, and the address's own words.
    let estimate = zxcvbn::zxcvbn(password, &[email_local_part]);
    if estimate.score() < MIN_SCORE {
        let feedback = estimate.feedback();
        return Err(WeakPassword::Guessable(Feedback {
            warning: feedback.and_then(|f| f.warning()).map(|w| w.to_string()),
            suggestions: feedback
                .map(|f| f.suggestions().iter().map(ToString::to_string).collect())
                .unwrap_or_default(),
        }));
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

/// As many argon2 computations at once as there are cores: more would not finish
/// sooner, only hold more memory.
static AT_ONCE: LazyLock<Semaphore> =
    LazyLock::new(|| Semaphore::new(std::thread::available_parallelism().map_or(2, |n| n.get())));

/// How long a request waits for its turn before it is told to come back.
const MAX_WAIT: Duration = Duration::from_secs(10);
/// What a request that waited in vain is told.
const COME_BACK_AFTER: Duration = Duration::from_secs(5);

/// Runs `work` (an argon2 computation) on the blocking pool once a slot is free. The
/// slot is held by the blocking task itself, so a caller that goes away mid-hash
/// does not free it early.
async fn bounded<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, TooMany> {
    let permit = tokio::time::timeout(MAX_WAIT, AT_ONCE.acquire())
        .await
        .map_err(|_| {
            tracing::warn!("password hashing is saturated; a request was turned away");
            TooMany::after(COME_BACK_AFTER)
        })?
        .expect("the semaphore is never closed");
    tokio::task::spawn_blocking(move || {
        let _permit = permit;
        work()
    })
    .await
    .map_err(|_| TooMany::after(COME_BACK_AFTER))
}

/// [`hash`], at most a few at once.
pub async fn hash_bounded(password: String) -> Result<String, TooMany> {
    bounded(move || hash(&password)).await
}

/// [`verify`] against `stored_hash`, or [`verify_against_dummy`] without one, at most a
/// few at once.
pub async fn verify_bounded(
    password: String,
    stored_hash: Option<String>,
) -> Result<bool, TooMany> {
    bounded(move || match stored_hash {
        Some(stored) => verify(&password, &stored),
        None => {
            verify_against_dummy(&password);
            false
        }
    })
    .await
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
    fn a_guessable_password_is_refused_with_zxcvbns_feedback() {
        let Err(WeakPassword::Guessable(feedback)) = check_strength("qazwsxedcrfvtgb", "x") else {
            panic!("a keyboard walk passes");
        };
        assert!(
            feedback.warning.is_some() || !feedback.suggestions.is_empty(),
            "{feedback:?}"
        );
        let message = WeakPassword::Guessable(feedback).to_string();
        assert!(
            message.starts_with("That password is too easy to guess. "),
            "{message}"
        );
    }

    #[test]
    fn hash_verifies_only_the_same_password() {
        let stored = hash("correct horse battery");
        assert!(verify("correct horse battery", &stored));
        assert!(!verify("correct horse batterx", &stored));
        assert!(!verify("correct horse battery", "not a hash"));
    }

    #[tokio::test]
    async fn no_more_hashes_run_at_once_than_there_are_slots() {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicUsize, Ordering};
        let running = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..AT_ONCE.available_permits() * 3 + 2)
            .map(|_| {
                let (running, most) = (running.clone(), most.clone());
                tokio::spawn(bounded(move || {
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                    std::thread::sleep(Duration::from_millis(30));
                    running.fetch_sub(1, Ordering::SeqCst);
                }))
            })
            .collect();
        for task in tasks {
            task.await.unwrap().unwrap();
        }
        let slots = std::thread::available_parallelism().map_or(2, |n| n.get());
        assert!(most.load(Ordering::SeqCst) <= slots, "{most:?} > {slots}");
        assert!(most.load(Ordering::SeqCst) >= 1);
    }

    #[tokio::test]
    async fn bounded_verification_checks_the_password() {
        let stored = hash("correct horse battery");
        assert_eq!(
            verify_bounded("correct horse battery".into(), Some(stored.clone())).await,
            Ok(true)
        );
        assert_eq!(
            verify_bounded("wrong horse battery".into(), Some(stored)).await,
            Ok(false)
        );
        assert_eq!(
            verify_bounded("correct horse battery".into(), None).await,
            Ok(false)
        );
    }
}
