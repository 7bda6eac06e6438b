//! Identifiers Microsoft hands us, as newtypes that can only be built by parsing.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Why a string is not a valid identifier of the given kind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a valid {kind}: {reason}")]
pub struct IdParseError {
    pub kind: &'static str,
    pub reason: &'static str,
}

fn err(kind: &'static str, reason: &'static str) -> IdParseError {
    IdParseError { kind, reason }
}

/// An Entra tenant id: a GUID in its hyphenated form, stored lower-cased.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TenantId(String);

impl TenantId {
    pub fn parse(s: &str) -> Result<TenantId, IdParseError> {
        const KIND: &str = "tenant id";
        // Only the canonical 8-4-4-4-12 form: uuid alone would also accept braces, URNs and
        // the 32-digit form, none of which Microsoft uses in `tid` or in URLs.
        if s.len() != 36 {
            return Err(err(
                KIND,
                "expected a GUID like 84841066-274d-4ec0-a5c1-276be684bdd3",
            ));
        }
        let well_formed = s.char_indices().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_hexdigit(),
        });
        if !well_formed {
            return Err(err(
                KIND,
                "expected a GUID like 84841066-274d-4ec0-a5c1-276be684bdd3",
            ));
        }
        Ok(TenantId(s.to_ascii_lowercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for TenantId {
    type Err = IdParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        TenantId::parse(s)
    }
}

impl TryFrom<String> for TenantId {
    type Error = IdParseError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        TenantId::parse(&s)
    }
}

impl From<TenantId> for String {
    fn from(t: TenantId) -> String {
        t.0
    }
}

impl fmt::Display for TenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A decentralized identifier (`did:<method>:<method-specific-id>`), e.g. the `did:web:...`
/// of a Verified ID authority. Checked against the DID syntax (W3C DID Core §3.1).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Did(String);

impl Did {
    /// Long `did:ion` long-form ids exist; anything beyond this is not a DID we will see.
    const MAX_LEN: usize = 4096;

    pub fn parse(s: &str) -> Result<Did, IdParseError> {
        const KIND: &str = "DID";
        if s.len() > Self::MAX_LEN {
            return Err(err(KIND, "too long"));
        }
        let rest = s
            .strip_prefix("did:")
            .ok_or_else(|| err(KIND, "must start with \"did:\""))?;
        let (method, id) = rest
            .split_once(':')
            .ok_or_else(|| err(KIND, "must be did:<method>:<id>"))?;
        if method.is_empty()
            || !method
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        {
            return Err(err(
                KIND,
                "the method must be lower-case letters and digits",
            ));
        }
        if id.is_empty() || id.ends_with(':') {
            return Err(err(KIND, "the method-specific id must not be empty"));
        }
        let bytes = id.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            let b = bytes[i];
            if b == b'%' {
                let hex = bytes.get(i + 1..i + 3);
                if !hex.is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit)) {
                    return Err(err(KIND, "bad percent-encoding"));
                }
                i += 3;
                continue;
            }
            if !(b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b':')) {
                return Err(err(KIND, "unexpected character"));
            }
            i += 1;
        }
        Ok(Did(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The DID method, e.g. `web`.
    pub fn method(&self) -> &str {
        self.0[4..].split(':').next().unwrap_or_default()
    }
}

impl FromStr for Did {
    type Err = IdParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Did::parse(s)
    }
}

impl TryFrom<String> for Did {
    type Error = IdParseError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Did::parse(&s)
    }
}

impl From<Did> for String {
    fn from(d: Did) -> String {
        d.0
    }
}

impl fmt::Display for Did {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A verifiable-credential type name from a contract's `rules.vc.type`, e.g. `VerifiedEmployee`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CredentialType(String);

impl CredentialType {
    /// Microsoft's own employee credential.
    pub const VERIFIED_EMPLOYEE: &'static str = "VerifiedEmployee";

    pub fn parse(s: &str) -> Result<CredentialType, IdParseError> {
        const KIND: &str = "credential type";
        if s.is_empty() || s.len() > 256 {
            return Err(err(KIND, "must be 1 to 256 characters"));
        }
        if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(err(KIND, "must not contain spaces or control characters"));
        }
        Ok(CredentialType(s.to_string()))
    }

    pub fn verified_employee() -> CredentialType {
        CredentialType(Self::VERIFIED_EMPLOYEE.to_string())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for CredentialType {
    type Err = IdParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        CredentialType::parse(s)
    }
}

impl TryFrom<String> for CredentialType {
    type Error = IdParseError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        CredentialType::parse(&s)
    }
}

impl From<CredentialType> for String {
    fn from(c: CredentialType) -> String {
        c.0
    }
}

impl fmt::Display for CredentialType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A bearer token, refresh token, ID token or other credential string from Microsoft.
/// Its `Debug` never shows the value, so it cannot reach a log line through `{:?}`.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    pub fn new(value: impl Into<String>) -> Token {
        Token(value.into())
    }

    /// The raw value, for an `Authorization` header or for storage (encrypted).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_ids_are_canonical_guids_lower_cased() {
        let t = TenantId::parse("84841066-274D-4EC0-A5C1-276BE684BDD3").unwrap();
        assert_eq!(t.as_str(), "84841066-274d-4ec0-a5c1-276be684bdd3");
        for bad in [
            "",
            "organizations",
            "contoso.com",
            "84841066274d4ec0a5c1276be684bdd3",
            "{84841066-274d-4ec0-a5c1-276be684bdd3}",
            "84841066-274d-4ec0-a5c1-276be684bdzz",
            "84841066-274d-4ec0-a5c1276be684bdd3-",
            "84841066-274d-4ec0-a5c1-276be684bdd3/../x",
        ] {
            assert!(TenantId::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn tenant_ids_deserialize_only_when_valid() {
        let t: TenantId = serde_json::from_str("\"84841066-274d-4ec0-a5c1-276be684bdd3\"").unwrap();
        assert_eq!(t.to_string(), "84841066-274d-4ec0-a5c1-276be684bdd3");
        assert!(serde_json::from_str::<TenantId>("\"common\"").is_err());
    }

    #[test]
    fn dids_follow_the_did_syntax() {
        let d = Did::parse("did:web:verifiedid.contoso.com").unwrap();
        assert_eq!(d.method(), "web");
        assert_eq!(d.as_str(), "did:web:verifiedid.contoso.com");
        assert!(Did::parse("did:ion:EiA_x-y.z:abc%20def").is_ok());
        for bad in [
            "",
            "did:",
            "did:web",
            "did:web:",
            "did:web:contoso.com:",
            "did:Web:contoso.com",
            "dad:web:contoso.com",
            "did:web:contoso.com/path",
            "did:web:contoso com",
            "did:web:bad%2",
            "did:web:<script>",
        ] {
            assert!(Did::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn credential_types_are_single_words() {
        assert_eq!(
            CredentialType::parse("VerifiedEmployee").unwrap(),
            CredentialType::verified_employee()
        );
        assert!(CredentialType::parse("").is_err());
        assert!(CredentialType::parse("Verified Employee").is_err());
    }

    #[test]
    fn tokens_do_not_show_in_debug() {
        let t = Token::new("eyJhbGciOiJSUzI1NiJ9.secret.sig");
        assert!(!format!("{t:?}").contains("secret"));
        assert_eq!(t.expose(), "eyJhbGciOiJSUzI1NiJ9.secret.sig");
    }
}
