//! Which authority and credential type a connection uses, and which claim holds the email.
//! Pure rules over what the tenant offers, so they are tested without Microsoft.
//!
//! - Prefer authorities whose linked domain is verified and whose DID document is published;
//!   if none is, offer them all (the card then says why the integration is not active).
//! - Every (authority, credential type) pair of the remaining authorities' contracts is an
//!   option; one option is taken as it is, several are for the admin to pick.
//! - No contract at all: there is nothing to request; never guess `VerifiedEmployee`.
//! - The email claim is `mail` for VerifiedEmployee; otherwise the first email-like claim of
//!   the contract; with none, the admin must pick one.

use serde::{Deserialize, Serialize};

use crate::microsoft::{AuthorityOffer, CredentialType, LinkedDomain};

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
}

impl ConnectOption {
    /// The claim that holds the email when the admin has not chosen one; `None` means they
    /// must.
    pub fn default_email_claim(&self) -> Option<&str> {
        if self.credential_type == CredentialType::VERIFIED_EMPLOYEE {
            return Some("mail");
        }
        EMAIL_LIKE
            .iter()
            .find_map(|e| self.claims.iter().find(|c| c.eq_ignore_ascii_case(e)))
            .map(String::as_str)
    }

    /// Whether `claim` is one this credential carries.
    pub fn offers_claim(&self, claim: &str) -> bool {
        self.claims.iter().any(|c| c == claim)
    }
}

/// What the tenant's offer allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Offer {
    /// Exactly one option, with a known email claim: connect with it.
    One(ConnectOption),
    /// Several options, or one whose email claim the admin must name.
    Choose(Vec<ConnectOption>),
    /// Authorities, but not one contract with a credential type.
    NoContracts,
}

/// Reduces what the tenant offers to the options the admin has.
pub fn options(authorities: &[AuthorityOffer]) -> Offer {
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
                let option = ConnectOption {
                    authority_id: authority.id.clone(),
                    authority_name: authority.name.clone(),
                    authority_did: authority.did.as_str().to_owned(),
                    linked_domain: authority.linked_domain,
                    credential_type: credential_type.as_str().to_owned(),
                    claims,
                };
                match options.iter_mut().find(|o| {
                    o.authority_id == option.authority_id
                        && o.credential_type == option.credential_type
                }) {
                    // Two contracts of one type: one option with the claims of both.
                    Some(existing) => {
                        for claim in option.claims {
                            if !existing.claims.contains(&claim) {
                                existing.claims.push(claim);
                            }
                        }
                    }
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
        _ => Offer::Choose(options),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::microsoft::{Authority, Contract, Did};

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

    fn contract(types: &[&str], claims: &[&str]) -> Contract {
        Contract {
            id: format!("c-{}", types.join("-")),
            name: String::new(),
            credential_types: types
                .iter()
                .map(|t| CredentialType::parse(t).unwrap())
                .collect(),
            claims: claims.iter().map(|c| c.to_string()).collect(),
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
}
