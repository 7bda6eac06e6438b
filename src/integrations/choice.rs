//! Which authority and credential type a connection uses, and which claim holds the email.
//! Pure rules over what the tenant offers, so they are tested without Microsoft.
//!
//! - Prefer authorities whose linked domain is verified and whose DID document is published;
//!   if none is, offer them all (the card then says why the integration is not active).
//! - Every (authority, credential type) pair of the remaining authorities' contracts is an
//!   option; one option is taken as it is, several are for the admin to pick.
//! - No contract at all: there is nothing to request; never guess `VerifiedEmployee`.
//! - The email claim is decided by where the contract maps it from, never by the type's name:
//!   only a directory-backed email claim (`accessTokens`, or `idTokens` from the tenant's own
//!   Entra sign-in) is taken on its own; a `selfIssued` one is never offered; anything else
//!   only with the admin's explicit choice on the card.

use serde::{Deserialize, Serialize};

use crate::microsoft::{
    AuthorityOffer, CredentialType, EmailSource, LinkedDomain, OwnEntra, contract_weakest,
};

/// The claims of a VerifiedEmployee credential; its schema is fixed
/// (how-to-use-quickstart-verifiedemployee), so contracts need not list them.
pub const VERIFIED_EMPLOYEE_CLAIMS: [&str; 8] = [
    "displayName",
    "givenName",
    "surname",
    "jobTitle",
    "preferredLanguage",
    "mail",
    "revocationId",
    "photo",
];

/// Claim names that hold an email address, in order of preference.
const EMAIL_LIKE: [&str; 4] = ["mail", "email", "emailAddress", "emails"];

/// The warning an admin accepts before an email not checked against their directory is used.
pub const UNCHECKED_EMAIL_WARNING: &str = "This email is not checked against your directory: anyone who can get this credential can claim any address.";

/// Where one claim of the credential comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClaimOrigin {
    pub claim: String,
    pub source: EmailSource,
}

/// One way to connect: an authority and one credential type its contracts issue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectOption {
    pub authority_id: String,
    pub authority_name: String,
    pub authority_did: String,
    /// Stored as JSON with a pending connection; an option stored before this field existed
    /// reads as unknown.
    #[serde(default)]
    pub linked_domain: LinkedDomain,
    pub credential_type: String,
    /// The claims the credential carries.
    pub claims: Vec<String>,
    /// Where each mapped claim comes from (a claim missing here: unknown). Absent in options
    /// stored before sources were read: every claim is then unknown.
    #[serde(default)]
    pub origins: Vec<ClaimOrigin>,
    /// The claim Face Check compares the selfie with, if the credential has a photo.
    #[serde(default)]
    pub photo_claim: Option<String>,
}

impl ConnectOption {
    /// Where `claim` comes from.
    pub fn source_of(&self, claim: &str) -> EmailSource {
        self.origins
            .iter()
            .find(|o| o.claim == claim)
            .map_or(EmailSource::Unknown, |o| o.source)
    }

    /// The claim that holds the email when the admin has not chosen one: the first email-like
    /// claim the directory backs. `None` means the admin must choose.
    pub fn default_email_claim(&self) -> Option<&str> {
        self.email_like()
            .find(|c| self.source_of(c).is_directory_backed())
    }

    /// The email-like claim an admin may accept with the warning, when none is
    /// directory-backed.
    pub fn unchecked_email_claim(&self) -> Option<&str> {
        self.email_like()
            .find(|c| self.source_of(c).may_be_accepted())
    }

    fn email_like(&self) -> impl Iterator<Item = &str> {
        EMAIL_LIKE.iter().filter_map(|e| {
            self.claims
                .iter()
                .find(|c| c.eq_ignore_ascii_case(e))
                .map(String::as_str)
        })
    }

    /// Whether some claim of the credential is backed by the directory.
    pub fn has_directory_claim(&self) -> bool {
        self.origins.iter().any(|o| o.source.is_directory_backed())
    }

    /// The claims an admin may pick to hold the email: directory-backed ones, and those that
    /// may be accepted with the warning. Self-issued and unknown ones never.
    pub fn email_choices(&self) -> Vec<ClaimOrigin> {
        self.claims
            .iter()
            .map(|c| ClaimOrigin {
                claim: c.clone(),
                source: self.source_of(c),
            })
            .filter(|o| o.source.is_directory_backed() || o.source.may_be_accepted())
            .collect()
    }

    /// Whether `claim` is one this credential carries.
    pub fn offers_claim(&self, claim: &str) -> bool {
        self.claims.iter().any(|c| c == claim)
    }
}

/// What the tenant's offer allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Offer {
    /// Exactly one option, with a directory-backed email claim: connect with it.
    One(ConnectOption),
    /// Exactly one option, and no claim of it comes from the directory: connect, not active,
    /// and say what the Microsoft admin can do.
    NoDirectoryEmail(ConnectOption),
    /// Several options, or one whose email claim the admin must name.
    Choose(Vec<ConnectOption>),
    /// Authorities, but not one contract with a credential type.
    NoContracts,
}

/// Reduces what the tenant offers to the options the admin has. `own` is the connected
/// tenant's own Entra sign-in: `idTokens` from it are directory-backed.
pub fn options(authorities: &[AuthorityOffer], own: &OwnEntra) -> Offer {
    let any_ready = authorities.iter().any(|a| {
        a.authority.is_ready() && a.contracts.iter().any(|c| !c.credential_types.is_empty())
    });
    let mut options: Vec<ConnectOption> = Vec::new();
    for offer in authorities {
        let authority = &offer.authority;
        if any_ready && !authority.is_ready() {
            tracing::info!(did = %authority.did, "not offering an authority whose linked domain is unverified or whose DID document is unpublished");
            continue;
        }
        for contract in &offer.contracts {
            for credential_type in &contract.credential_types {
                let claims = if credential_type.as_str() == CredentialType::VERIFIED_EMPLOYEE
                    && contract.claims.is_empty()
                {
                    VERIFIED_EMPLOYEE_CLAIMS.map(str::to_owned).to_vec()
                } else {
                    contract.claims.clone()
                };
                // Only mapped claims have a source; the rest stay unknown.
                let origins = contract
                    .claims
                    .iter()
                    .filter(|c| contract.sources.iter().any(|s| &s.claim == *c))
                    .map(|c| ClaimOrigin {
                        claim: c.clone(),
                        source: contract.source_of(c, own),
                    })
                    .collect();
                let option = ConnectOption {
                    authority_id: authority.id.clone(),
                    authority_name: authority.name.clone(),
                    authority_did: authority.did.as_str().to_owned(),
                    linked_domain: authority.linked_domain,
                    credential_type: credential_type.as_str().to_owned(),
                    claims,
                    origins,
                    photo_claim: contract.photo_claim.clone(),
                };
                match options.iter_mut().find(|o| {
                    o.authority_id == option.authority_id
                        && o.credential_type == option.credential_type
                }) {
                    // Two contracts of one type: one option with the claims of both; a claim
                    // both map is as weak as the weaker mapping (a holder may take either).
                    Some(existing) => merge(existing, option),
                    None => options.push(option),
                }
            }
        }
    }
    // did:web first: Microsoft offers only did:web since December 2023 (did:ion is legacy).
    options.sort_by_key(|o| !o.authority_did.starts_with("did:web:"));
    match options.len() {
        0 => Offer::NoContracts,
        1 if options[0].default_email_claim().is_some() => {
            Offer::One(options.pop().expect("one option"))
        }
        1 if !options[0].has_directory_claim() => {
            Offer::NoDirectoryEmail(options.pop().expect("one option"))
        }
        _ => Offer::Choose(options),
    }
}

fn merge(existing: &mut ConnectOption, other: ConnectOption) {
    for claim in other.claims {
        if !existing.claims.contains(&claim) {
            existing.claims.push(claim);
        }
    }
    for origin in other.origins {
        match existing
            .origins
            .iter_mut()
            .find(|o| o.claim == origin.claim)
        {
            Some(o) => o.source = contract_weakest(o.source, origin.source),
            None => existing.origins.push(origin),
        }
    }
    if existing.photo_claim.is_none() {
        existing.photo_claim = other.photo_claim;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::microsoft::Authority;
    use crate::microsoft::{Attestation, ClaimSource, Contract, Did, TenantId};

    const TENANT: &str = "84841066-274d-4ec0-a5c1-276be684bdd3";

    fn own() -> OwnEntra {
        OwnEntra::new(
            &url::Url::parse("https://login.microsoftonline.com/").unwrap(),
            &TenantId::parse(TENANT).unwrap(),
        )
    }

    fn options(authorities: &[AuthorityOffer]) -> Offer {
        super::options(authorities, &own())
    }

    fn authority(id: &str, did: &str, verified: bool, status: &str) -> Authority {
        Authority {
            id: id.into(),
            name: id.to_uppercase(),
            did: Did::parse(did).unwrap(),
            linked_domain_urls: vec![],
            linked_domain: LinkedDomain::from_listing(Some(verified)),
            did_document_status: Some(status.into()),
        }
    }

    /// A contract whose claims all come from `attestation`; VerifiedEmployee without claims
    /// maps Microsoft's VerifiedEmployee claims from the directory.
    fn contract_from(types: &[&str], claims: &[&str], attestation: Attestation) -> Contract {
        let claims: Vec<String> = if claims.is_empty() && types == ["VerifiedEmployee"] {
            VERIFIED_EMPLOYEE_CLAIMS.map(str::to_owned).to_vec()
        } else {
            claims.iter().map(|c| c.to_string()).collect()
        };
        Contract {
            id: format!("c-{}", types.join("-")),
            name: String::new(),
            credential_types: types
                .iter()
                .map(|t| CredentialType::parse(t).unwrap())
                .collect(),
            sources: claims
                .iter()
                .map(|c| ClaimSource {
                    claim: c.clone(),
                    attestation: attestation.clone(),
                })
                .collect(),
            photo_claim: claims.iter().find(|c| *c == "photo").cloned(),
            claims,
        }
    }

    fn contract(types: &[&str], claims: &[&str]) -> Contract {
        contract_from(types, claims, Attestation::AccessToken)
    }

    fn own_id_tokens() -> Attestation {
        Attestation::IdToken {
            configuration: format!(
                "https://login.microsoftonline.com/{TENANT}/v2.0/.well-known/openid-configuration"
            ),
        }
    }

    fn offer(a: Authority, contracts: Vec<Contract>) -> AuthorityOffer {
        AuthorityOffer {
            authority: a,
            contracts,
        }
    }

    #[test]
    fn one_ready_authority_with_verified_employee_connects_with_mail() {
        let Offer::One(o) = options(&[offer(
            authority("a", "did:web:verifiedid.contoso.com", true, "published"),
            vec![contract(&["VerifiedEmployee"], &[])],
        )]) else {
            panic!("expected one option")
        };
        assert_eq!(o.credential_type, "VerifiedEmployee");
        assert_eq!(o.default_email_claim(), Some("mail"));
        assert!(o.offers_claim("mail") && o.linked_domain == LinkedDomain::Verified);
    }

    #[test]
    fn an_unready_legacy_authority_is_not_offered_beside_a_ready_one() {
        let Offer::One(o) = options(&[
            offer(
                authority("ion", "did:ion:EiAbc", true, "submitted"),
                vec![contract(&["VerifiedEmployee"], &[])],
            ),
            offer(
                authority("web", "did:web:w.example", true, "published"),
                vec![contract(&["VerifiedEmployee"], &[])],
            ),
        ]) else {
            panic!("expected one option")
        };
        assert_eq!(o.authority_id, "web");
    }

    #[test]
    fn two_ready_authorities_are_for_the_admin_to_pick() {
        let Offer::Choose(o) = options(&[
            offer(
                authority("ion", "did:ion:EiAbc", true, "published"),
                vec![contract(&["VerifiedEmployee"], &[])],
            ),
            offer(
                authority("web", "did:web:w.example", true, "published"),
                vec![contract(&["VerifiedEmployee"], &[])],
            ),
        ]) else {
            panic!("expected a choice")
        };
        assert_eq!(o.len(), 2);
        assert_eq!(o[0].authority_id, "web", "did:web is offered first");
    }

    #[test]
    fn an_unverified_linked_domain_is_still_offered_when_nothing_is_ready() {
        let Offer::One(o) = options(&[offer(
            authority("l", "did:web:l.example", false, "published"),
            vec![contract(&["VerifiedEmployee"], &[])],
        )]) else {
            panic!("expected one option")
        };
        assert_eq!(o.linked_domain, LinkedDomain::NotVerified);
    }

    #[test]
    fn a_linked_domain_microsoft_did_not_state_is_offered_as_ready() {
        let mut unknown = authority("u", "did:web:u.example", true, "published");
        unknown.linked_domain = LinkedDomain::from_listing(None);
        let Offer::One(o) = options(&[
            offer(unknown, vec![contract(&["VerifiedEmployee"], &[])]),
            offer(
                authority("n", "did:web:n.example", false, "published"),
                vec![contract(&["VerifiedEmployee"], &[])],
            ),
        ]) else {
            panic!("expected one option")
        };
        assert_eq!(o.authority_id, "u", "unknown is preferred over a known no");
        assert_eq!(o.linked_domain, LinkedDomain::Unknown);
    }

    #[test]
    fn no_contract_is_refused_never_guessed() {
        assert_eq!(
            options(&[offer(
                authority("a", "did:web:a.example", true, "published"),
                vec![]
            )]),
            Offer::NoContracts
        );
        assert_eq!(
            options(&[offer(
                authority("a", "did:web:a.example", true, "published"),
                vec![contract(&[], &["mail"])]
            )]),
            Offer::NoContracts
        );
    }

    #[test]
    fn a_custom_type_takes_its_email_claim_and_several_types_are_a_choice() {
        let Offer::Choose(o) = options(&[offer(
            authority("t", "did:web:t.example", true, "published"),
            vec![
                contract(&["VerifiedEmployee"], &[]),
                contract(
                    &["TailspinMember"],
                    &["displayName", "email", "memberNumber"],
                ),
            ],
        )]) else {
            panic!("expected a choice")
        };
        let member = o
            .iter()
            .find(|o| o.credential_type == "TailspinMember")
            .unwrap();
        assert_eq!(member.default_email_claim(), Some("email"));
    }

    #[test]
    fn a_single_custom_type_without_an_email_claim_asks_the_admin() {
        let Offer::Choose(o) = options(&[offer(
            authority("t", "did:web:t.example", true, "published"),
            vec![contract(&["Badge"], &["displayName", "badgeNumber"])],
        )]) else {
            panic!("expected a choice")
        };
        assert_eq!(o[0].default_email_claim(), None);
    }

    #[test]
    fn a_self_issued_email_is_never_offered_or_chosen() {
        let Offer::NoDirectoryEmail(o) = options(&[offer(
            authority("t", "did:web:t.example", true, "published"),
            vec![contract_from(
                &["Badge"],
                &["email"],
                Attestation::SelfIssued,
            )],
        )]) else {
            panic!("expected a connection without a directory email")
        };
        assert_eq!(o.default_email_claim(), None);
        assert_eq!(o.unchecked_email_claim(), None);
        assert!(o.email_choices().is_empty());
    }

    #[test]
    fn a_verified_employee_named_contract_typed_in_by_the_holder_is_not_directory_backed() {
        let Offer::NoDirectoryEmail(o) = options(&[offer(
            authority("t", "did:web:t.example", true, "published"),
            vec![contract_from(
                &["VerifiedEmployee"],
                &["mail", "displayName"],
                Attestation::SelfIssued,
            )],
        )]) else {
            panic!("decided by source, not by name")
        };
        assert_eq!(o.source_of("mail"), EmailSource::SelfIssued);
    }

    #[test]
    fn an_id_token_hint_email_needs_the_admins_choice() {
        let Offer::NoDirectoryEmail(o) = options(&[offer(
            authority("t", "did:web:t.example", true, "published"),
            vec![contract_from(
                &["Member"],
                &["email"],
                Attestation::IdTokenHint,
            )],
        )]) else {
            panic!("expected a connection without a directory email")
        };
        assert_eq!(o.default_email_claim(), None);
        assert_eq!(o.unchecked_email_claim(), Some("email"));
        assert_eq!(o.email_choices()[0].source, EmailSource::IdTokenHint);
    }

    #[test]
    fn id_tokens_from_the_tenants_own_entra_are_directory_backed_others_are_not() {
        let Offer::One(o) = options(&[offer(
            authority("t", "did:web:t.example", true, "published"),
            vec![contract_from(&["Member"], &["email"], own_id_tokens())],
        )]) else {
            panic!("a directory-backed custom type connects on its own")
        };
        assert_eq!(o.source_of("email"), EmailSource::DirectorySignIn);
        let google = Attestation::IdToken {
            configuration: "https://accounts.google.com/.well-known/openid-configuration".into(),
        };
        let other_tenant = Attestation::IdToken {
            configuration: "https://login.microsoftonline.com/a7f3d2c1-5b6e-4f8a-9c0d-1e2f3a4b5c6d/v2.0/.well-known/openid-configuration".into(),
        };
        for attestation in [google, other_tenant] {
            let Offer::NoDirectoryEmail(o) = options(&[offer(
                authority("t", "did:web:t.example", true, "published"),
                vec![contract_from(&["Member"], &["email"], attestation)],
            )]) else {
                panic!("another identity provider is not the directory")
            };
            assert_eq!(o.source_of("email"), EmailSource::OtherIdentityProvider);
        }
    }
}
