//! The `api-key` we give Microsoft for one presentation request's callbacks:
//! `<our request id>.<random secret>`. Microsoft echoes it as a header, so the request it
//! belongs to is known, and the key checked, before a byte of the (up to 10 MB) body is
//! read. Only the secret's hash is stored; the id half is no secret (it is also the
//! callback's `state`).

use uuid::Uuid;

use crate::secret::{Secret, SecretHash};

/// A new request's key: the header value Microsoft will echo, and what we store.
pub struct CallbackKey {
    header: String,
    hash: SecretHash,
}

impl CallbackKey {
    pub fn issue(request_id: Uuid) -> Self {
        let secret = Secret::generate();
        CallbackKey {
            header: format!("{request_id}.{}", secret.expose()),
            hash: secret.hash(),
        }
    }

    /// The `api-key` header value for `callback.headers`.
    pub fn header(&self) -> &str {
        &self.header
    }

    /// The stored hash: of the secret half only.
    pub fn hash(&self) -> &SecretHash {
        &self.hash
    }
}

/// Splits a presented `api-key` into the request it names and the secret to compare.
/// `None` for anything else (a key without an id is refused unread).
pub fn parse(presented: &str) -> Option<(Uuid, &str)> {
    let (id, secret) = presented.trim().split_once('.')?;
    let id = id.parse::<Uuid>().ok()?;
    (!secret.is_empty()).then_some((id, secret))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_issued_key_names_its_request_and_matches_its_stored_hash() {
        let id = Uuid::new_v4();
        let key = CallbackKey::issue(id);
        let (named, secret) = parse(key.header()).expect("our own key parses");
        assert_eq!(named, id);
        assert!(key.hash().matches(secret));
        assert!(
            !key.hash().matches(key.header()),
            "the hash is of the secret half"
        );
    }

    #[test]
    fn keys_without_a_request_id_are_not_keys() {
        for bad in [
            "",
            "secret",
            ".secret",
            "not-a-uuid.secret",
            &format!("{}.", Uuid::new_v4()),
        ] {
            assert_eq!(parse(bad), None, "{bad:?}");
        }
    }
}
