//! Recovery codes: ten single-use codes shown once when two-step verification is turned on,
//! for a lost phone. Each is 16 characters of Crockford base32 (80 random bits), shown as
//! `xxxx-xxxx-xxxx-xxxx`, and kept only as its SHA-256 (`secret::SecretHash`).
//!
//! Why SHA-256 and not argon2: with 80 random bits a stolen hash cannot be guessed back
//! (2^80 tries), so a slow hash buys nothing; a fast, unsalted one lets a code be found and
//! deleted by its hash in one statement, which is what makes a code usable exactly once even
//! when two sign-ins race.

use std::fmt;

use rand::Rng;

use crate::secret::SecretHash;

pub const COUNT: usize = 10;
const LENGTH: usize = 16;
/// Crockford's base32: no I, L, O or U, so nothing reads as something else.
const ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";

/// One recovery code in the clear: exists only to be shown once.
#[derive(Clone, PartialEq, Eq)]
pub struct RecoveryCode(String);

impl fmt::Debug for RecoveryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RecoveryCode(<redacted>)")
    }
}

impl RecoveryCode {
    /// As shown: four groups of four.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn hash(&self) -> SecretHash {
        SecretHash::of(&normalize(&self.0).expect("a generated code is well formed"))
    }
}

/// A fresh set of [`COUNT`] codes.
pub fn generate() -> Vec<RecoveryCode> {
    let mut rng = rand::rngs::OsRng;
    (0..COUNT)
        .map(|_| {
            let chars: Vec<u8> = (0..LENGTH)
                .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())])
                .collect();
            let groups: Vec<&str> = chars
                .chunks(4)
                .map(|c| std::str::from_utf8(c).expect("ASCII"))
                .collect();
            RecoveryCode(groups.join("-"))
        })
        .collect()
}

/// The hash a typed code is kept under, or `None` when it cannot be a code (nothing is looked
/// up). Case, spaces and dashes do not matter; I and L read as 1, O as 0 (Crockford).
pub fn hash_of_typed(input: &str) -> Option<SecretHash> {
    normalize(input).map(|code| SecretHash::of(&code))
}

fn normalize(input: &str) -> Option<String> {
    let code: String = input
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| match c.to_ascii_lowercase() {
            'i' | 'l' => '1',
            'o' => '0',
            other => other,
        })
        .collect();
    (code.len() == LENGTH && code.bytes().all(|b| ALPHABET.contains(&b))).then_some(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ten_distinct_codes_whose_typed_forms_hash_alike() {
        let codes = generate();
        assert_eq!(codes.len(), COUNT);
        let mut hashes: Vec<String> = codes.iter().map(|c| c.hash().as_str().to_owned()).collect();
        hashes.sort();
        hashes.dedup();
        assert_eq!(hashes.len(), COUNT);
        let code = &codes[0];
        assert_eq!(code.expose().len(), 19);
        let typed = code.expose().to_uppercase().replace('-', " ");
        assert_eq!(
            hash_of_typed(&typed).unwrap().as_str(),
            code.hash().as_str()
        );
    }

    #[test]
    fn anything_that_cannot_be_a_code_is_refused_before_any_lookup() {
        assert!(hash_of_typed("").is_none());
        assert!(hash_of_typed("abcd-efgh").is_none());
        assert!(hash_of_typed("abcd-efgh-jkmn-pqr!").is_none());
        assert!(hash_of_typed("abcd-efgh-jkmn-pqrs").is_some());
    }
}
