//! A Verified ID contract (credential type) as the admin API lists it, with the attestation each
//! claim comes from. Where a claim comes from decides how far it can be trusted: a claim the
//! holder typed (`selfIssued`) proves nothing, one mapped from the tenant's own directory does.
//!
//! Learn: https://learn.microsoft.com/en-us/entra/verified-id/admin-api (contract type: `rules`,
//! `displays`) and https://learn.microsoft.com/en-us/entra/verified-id/rules-and-display-definitions-model
//! (`rulesModel.attestations`: `idTokens`, `idTokenHints`, `presentations`, `accessTokens` are
//! collections, `selfIssued` is a single instance; `idTokenAttestation.configuration` is the
//! identity provider's OpenID configuration document; `displayClaims.type` such as
//! `image/jpg;base64url` for a photo).

use serde::{Deserialize, Serialize};

use super::ids::{CredentialType, TenantId};

/// The attestation flow a claim of a contract is mapped from.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Attestation {
    /// `selfIssued`: the holder types the value in Authenticator.
    SelfIssued,
    /// `idTokenHints`: the issuing app puts the value in the request; whatever it copies in.
    IdTokenHint,
    /// `idTokens`: the holder signs in at an OpenID provider; `configuration` is its document.
    IdToken { configuration: String },
    /// `presentations`: copied from another verifiable credential the holder presents.
    Presentation,
    /// `accessTokens`: read from the tenant's own Entra ID directory (how Microsoft's managed
    /// VerifiedEmployee issues).
    AccessToken,
}

impl Attestation {
    /// The attestation key in `rules.attestations`.
    pub fn key(&self) -> &'static str {
        match self {
            Attestation::SelfIssued => "selfIssued",
            Attestation::IdTokenHint => "idTokenHints",
            Attestation::IdToken { .. } => "idTokens",
            Attestation::Presentation => "presentations",
            Attestation::AccessToken => "accessTokens",
        }
    }
}

/// One output claim of a contract and the attestation it is mapped from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClaimSource {
    pub claim: String,
    pub attestation: Attestation,
}

/// A credential contract of an authority.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contract {
    pub id: String,
    pub name: String,
    /// `rules.vc.type`, e.g. `[VerifiedEmployee]`; empty if the contract has no readable rules.
    pub credential_types: Vec<CredentialType>,
    /// The claims the credential carries, as far as the contract tells (display claims and
    /// attestation mappings), de-duplicated, in first-seen order.
    pub claims: Vec<String>,
    /// Every attestation mapping of the contract: a claim may appear under several.
    pub sources: Vec<ClaimSource>,
    /// A claim the display calls an image (`displays[].claims[].type` `image/…`): the one Face
    /// Check compares the selfie with.
    pub photo_claim: Option<String>,
}

/// The tenant's own Entra sign-in, as its OpenID configuration URL, built from the configured
/// login base (`https://login.microsoftonline.com`, or the emulator's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnEntra {
    configuration: String,
}

impl OwnEntra {
    pub fn new(login_base: &url::Url, tenant: &TenantId) -> OwnEntra {
        let base = login_base.as_str().trim_end_matches('/');
        OwnEntra {
            configuration: format!(
                "{base}/{}/v2.0/.well-known/openid-configuration",
                tenant.as_str()
            ),
        }
    }

    /// Whether an `idTokens` configuration is this tenant's own sign-in. Compared whole (the
    /// tenant id case-insensitively, a trailing slash ignored): a prefix or a look-alike host
    /// is another identity provider.
    pub fn is(&self, configuration: &str) -> bool {
        configuration
            .trim()
            .trim_end_matches('/')
            .eq_ignore_ascii_case(&self.configuration)
    }
}

/// Where the email a credential carries comes from, judged from its contract: only the
/// attestation decides, never the type's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EmailSource {
    /// `accessTokens`: the tenant's directory.
    Directory,
    /// `idTokens` from the tenant's own Entra sign-in.
    DirectorySignIn,
    /// `idTokenHints`: whatever the issuing app put in.
    IdTokenHint,
    /// `presentations`: copied from another credential.
    Presentation,
    /// `idTokens` from another identity provider.
    OtherIdentityProvider,
    /// `selfIssued`: typed by the holder. Never used.
    SelfIssued,
    /// The contract does not say (no mapping for the claim, or stored before we read it).
    Unknown,
}

impl EmailSource {
    pub const ALL: [EmailSource; 7] = [
        EmailSource::Directory,
        EmailSource::DirectorySignIn,
        EmailSource::IdTokenHint,
        EmailSource::Presentation,
        EmailSource::OtherIdentityProvider,
        EmailSource::SelfIssued,
        EmailSource::Unknown,
    ];

    pub fn of(attestation: &Attestation, own: &OwnEntra) -> EmailSource {
        match attestation {
            Attestation::AccessToken => EmailSource::Directory,
            Attestation::IdToken { configuration } if own.is(configuration) => {
                EmailSource::DirectorySignIn
            }
            Attestation::IdToken { .. } => EmailSource::OtherIdentityProvider,
            Attestation::IdTokenHint => EmailSource::IdTokenHint,
            Attestation::Presentation => EmailSource::Presentation,
            Attestation::SelfIssued => EmailSource::SelfIssued,
        }
    }

    /// Checked against the organization's directory: may be used without an admin's choice.
    pub fn is_directory_backed(self) -> bool {
        matches!(self, EmailSource::Directory | EmailSource::DirectorySignIn)
    }

    /// An admin may choose it explicitly, with the warning. Self-issued never; unknown never
    /// (log in again so the contract is read).
    pub fn may_be_accepted(self) -> bool {
        matches!(
            self,
            EmailSource::IdTokenHint
                | EmailSource::Presentation
                | EmailSource::OtherIdentityProvider
        )
    }

    /// Lower is weaker: a claim mapped from several attestations is as weak as its weakest.
    fn strength(self) -> u8 {
        match self {
            EmailSource::SelfIssued => 0,
            EmailSource::Unknown => 1,
            EmailSource::IdTokenHint
            | EmailSource::Presentation
            | EmailSource::OtherIdentityProvider => 2,
            EmailSource::Directory | EmailSource::DirectorySignIn => 3,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            EmailSource::Directory => "directory",
            EmailSource::DirectorySignIn => "directory_sign_in",
            EmailSource::IdTokenHint => "id_token_hint",
            EmailSource::Presentation => "presentation",
            EmailSource::OtherIdentityProvider => "other_identity_provider",
            EmailSource::SelfIssued => "self_issued",
            EmailSource::Unknown => "unknown",
        }
    }

    pub fn parse(stored: &str) -> Option<EmailSource> {
        Self::ALL.into_iter().find(|s| s.as_str() == stored)
    }

    /// For people: where the credential's email comes from.
    pub fn describe(self) -> &'static str {
        match self {
            EmailSource::Directory => "your directory (Microsoft Entra ID)",
            EmailSource::DirectorySignIn => {
                "your directory (the holder signs in with their Microsoft Entra ID account)"
            }
            EmailSource::IdTokenHint => {
                "the app that issues the credential (ID token hint), not checked against your directory"
            }
            EmailSource::Presentation => {
                "another credential the holder presented, not checked against your directory"
            }
            EmailSource::OtherIdentityProvider => {
                "a sign-in at another identity provider, not checked against your directory"
            }
            EmailSource::SelfIssued => "typed in by the holder",
            EmailSource::Unknown => "unknown: the credential's contract does not say",
        }
    }
}

impl Contract {
    /// Where `claim` comes from in this contract: the weakest of its mappings; `Unknown` when
    /// no attestation maps it.
    pub fn source_of(&self, claim: &str, own: &OwnEntra) -> EmailSource {
        self.sources
            .iter()
            .filter(|s| s.claim == claim)
            .map(|s| EmailSource::of(&s.attestation, own))
            .min_by_key(|s| s.strength())
            .unwrap_or(EmailSource::Unknown)
    }
}

/// Weakest of two sources, for a claim two contracts of one type both map.
pub fn weakest(a: EmailSource, b: EmailSource) -> EmailSource {
    if b.strength() < a.strength() { b } else { a }
}

/// The last segment of a claim path (`vc.credentialSubject.email` → `email`), if it is a
/// plausible claim name.
fn claim_name(path: &str) -> Option<&str> {
    let claim = path.rsplit('.').next().unwrap_or(path).trim();
    let plausible = !claim.is_empty()
        && claim.len() <= 64
        && claim.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    plausible.then_some(claim)
}

/// One contract: its types from `rules.vc.type`, its claims from `displays[].claims[].claim`
/// and the attestations' `mapping[].outputClaim`, each mapping kept with its attestation.
/// The docs show `rules` both as an object and as a placeholder string.
pub(crate) fn parse_contract(raw: &serde_json::Value) -> Result<Contract, &'static str> {
    let id = raw["id"]
        .as_str()
        .filter(|s| !s.is_empty())
        .ok_or("no id")?;
    let credential_types = raw["rules"]["vc"]["type"]
        .as_array()
        .map(|types| {
            types
                .iter()
                .filter_map(|t| t.as_str())
                .filter(|t| *t != "VerifiableCredential")
                .filter_map(|t| CredentialType::parse(t).ok())
                .collect()
        })
        .unwrap_or_default();
    let mut claims: Vec<String> = Vec::new();
    let mut add = |claim: &str| {
        if !claims.iter().any(|c| c == claim) {
            claims.push(claim.to_owned());
        }
    };
    let mut photo_claim = None;
    for display in raw["displays"].as_array().into_iter().flatten() {
        for claim in display["claims"].as_array().into_iter().flatten() {
            if let Some(c) = claim["claim"].as_str().and_then(claim_name) {
                add(c);
                let is_image = claim["type"]
                    .as_str()
                    .is_some_and(|t| t.trim().to_ascii_lowercase().starts_with("image/"));
                if is_image && photo_claim.is_none() {
                    photo_claim = Some(c.to_owned());
                }
            }
        }
    }
    let mut sources = Vec::new();
    if let Some(attestations) = raw["rules"]["attestations"].as_object() {
        for (key, entries) in attestations {
            // `selfIssued` is a single instance, the others are collections.
            let entries: Vec<&serde_json::Value> = match entries {
                serde_json::Value::Array(list) => list.iter().collect(),
                serde_json::Value::Object(_) => vec![entries],
                _ => continue,
            };
            for entry in entries {
                let attestation = match key.as_str() {
                    "selfIssued" => Attestation::SelfIssued,
                    "idTokenHints" => Attestation::IdTokenHint,
                    "idTokens" => Attestation::IdToken {
                        configuration: entry["configuration"]
                            .as_str()
                            .unwrap_or_default()
                            .to_owned(),
                    },
                    "presentations" => Attestation::Presentation,
                    "accessTokens" => Attestation::AccessToken,
                    other => {
                        tracing::info!(attestation = other, "ignored an unknown attestation kind");
                        continue;
                    }
                };
                for mapping in entry["mapping"].as_array().into_iter().flatten() {
                    let Some(c) = mapping["outputClaim"].as_str().and_then(claim_name) else {
                        continue;
                    };
                    add(c);
                    // A directory photo (accessTokens `photo`) is a photo even without a display.
                    if photo_claim.is_none()
                        && attestation == Attestation::AccessToken
                        && mapping["inputClaim"]
                            .as_str()
                            .is_some_and(|i| i.trim_start_matches("$.") == "photo")
                    {
                        photo_claim = Some(c.to_owned());
                    }
                    sources.push(ClaimSource {
                        claim: c.to_owned(),
                        attestation: attestation.clone(),
                    });
                }
            }
        }
    }
    Ok(Contract {
        id: id.to_owned(),
        name: raw["name"].as_str().unwrap_or_default().to_owned(),
        credential_types,
        claims,
        sources,
        photo_claim,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const TENANT: &str = "84841066-274d-4ec0-a5c1-276be684bdd3";

    fn own() -> OwnEntra {
        OwnEntra::new(
            &url::Url::parse("https://login.microsoftonline.com").unwrap(),
            &TenantId::parse(TENANT).unwrap(),
        )
    }

    #[test]
    fn contract_claims_come_from_displays_and_attestation_mappings() {
        let c = parse_contract(&json!({"id":"c1","name":"Tailspin member",
            "rules":{"attestations":{"idTokenHints":[{"mapping":[{"inputClaim":"e","outputClaim":"email"},{"outputClaim":"memberNumber"}]}]},
                     "vc":{"type":["VerifiableCredential","TailspinMember"]}},
            "displays":[{"claims":[{"claim":"vc.credentialSubject.displayName"},{"claim":"vc.credentialSubject.email"}]}]}))
        .unwrap();
        assert_eq!(
            c.credential_types,
            vec![CredentialType::parse("TailspinMember").unwrap()]
        );
        assert_eq!(c.claims, vec!["displayName", "email", "memberNumber"]);
        assert_eq!(c.source_of("email", &own()), EmailSource::IdTokenHint);
        assert_eq!(c.source_of("displayName", &own()), EmailSource::Unknown);
        let placeholder = parse_contract(&json!({"id":"c2","rules":"<rules>"})).unwrap();
        assert!(placeholder.credential_types.is_empty() && placeholder.claims.is_empty());
    }

    #[test]
    fn each_attestation_kind_is_kept_with_its_claims() {
        let c = parse_contract(&json!({"id":"c","rules":{"vc":{"type":["X"]},"attestations":{
            "selfIssued":{"mapping":[{"inputClaim":"typed","outputClaim":"typedMail"}]},
            "idTokens":[
                {"configuration":format!("https://login.microsoftonline.com/{}/v2.0/.well-known/openid-configuration", TENANT.to_uppercase()),
                 "mapping":[{"inputClaim":"email","outputClaim":"ownMail"}]},
                {"configuration":"https://accounts.google.com/.well-known/openid-configuration",
                 "mapping":[{"inputClaim":"email","outputClaim":"googleMail"}]},
                {"configuration":format!("https://login.microsoftonline.com/{TENANT}/v2.0/.well-known/openid-configuration.evil.example"),
                 "mapping":[{"inputClaim":"email","outputClaim":"lookAlike"}]}],
            "presentations":[{"mapping":[{"outputClaim":"vpMail"}]}],
            "accessTokens":[{"mapping":[{"inputClaim":"$.mail","outputClaim":"mail"},{"inputClaim":"$.photo","outputClaim":"portrait"}]}]}}}))
        .unwrap();
        let own = own();
        assert_eq!(c.source_of("typedMail", &own), EmailSource::SelfIssued);
        assert_eq!(c.source_of("ownMail", &own), EmailSource::DirectorySignIn);
        assert_eq!(
            c.source_of("googleMail", &own),
            EmailSource::OtherIdentityProvider
        );
        assert_eq!(
            c.source_of("lookAlike", &own),
            EmailSource::OtherIdentityProvider
        );
        assert_eq!(c.source_of("vpMail", &own), EmailSource::Presentation);
        assert_eq!(c.source_of("mail", &own), EmailSource::Directory);
        assert_eq!(c.photo_claim.as_deref(), Some("portrait"));
    }

    #[test]
    fn a_claim_mapped_twice_is_as_weak_as_its_weakest_source() {
        let c = parse_contract(
            &json!({"id":"c","rules":{"vc":{"type":["VerifiedEmployee"]},"attestations":{
            "accessTokens":[{"mapping":[{"inputClaim":"$.mail","outputClaim":"mail"}]}],
            "selfIssued":{"mapping":[{"inputClaim":"mail","outputClaim":"mail"}]}}}}),
        )
        .unwrap();
        assert_eq!(c.source_of("mail", &own()), EmailSource::SelfIssued);
    }

    #[test]
    fn the_photo_claim_is_named_by_the_display() {
        let c = parse_contract(&json!({"id":"c","rules":{"vc":{"type":["Badge"]}},
            "displays":[{"claims":[{"claim":"vc.credentialSubject.name","type":"String"},
                                   {"claim":"vc.credentialSubject.headshot","type":"image/jpg;base64url"}]}]}))
        .unwrap();
        assert_eq!(c.photo_claim.as_deref(), Some("headshot"));
    }

    #[test]
    fn stored_sources_round_trip() {
        for s in EmailSource::ALL {
            assert_eq!(EmailSource::parse(s.as_str()), Some(s));
        }
        assert_eq!(EmailSource::parse("bogus"), None);
    }
}
