//! Identity alignment: is the verified credential the intended person's? Every check
//! is evaluated (the agent sees them all); the first failing one gives the reason.

use serde::{Deserialize, Serialize};

use super::status::FailureReason;
use crate::email::EmailAddress;
use crate::microsoft::{EmailSource, Presentation, RevocationStatus};

/// What the verification expects, from the integration and the agent's request.
pub struct Expectation<'a> {
    pub authority_did: &'a str,
    pub credential_type: &'a str,
    /// The claim holding the email, as the integration names it (`mail` for VerifiedEmployee,
    /// e.g. `email` for a custom credential type).
    pub email_claim: &'a str,
    pub recipient: &'a EmailAddress,
    /// The tenant's verified domains, now (they may have changed since the start).
    pub covered_domains: &'a [String],
    /// Where the email claim comes from, per the connected credential's contract.
    pub email_source: EmailSource,
    /// Directory-backed, or an admin accepted the source: otherwise the email proves nothing.
    pub email_trusted: bool,
    /// The Face Check threshold the request asked for: a presentation must carry a score at
    /// or above it.
    pub face_check_threshold: Option<u8>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Check {
    /// What was checked, for people: "Issuer is the connected tenant".
    pub label: String,
    pub passed: bool,
    /// What was found.
    pub detail: String,
}

/// What the agent sees of a presentation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    pub issuer: String,
    pub credential_types: Vec<String>,
    pub display_name: Option<String>,
    pub email: Option<String>,
    pub job_title: Option<String>,
    pub subject: Option<String>,
    pub face_check_score: Option<f64>,
    /// Where the credential's email comes from, in words (absent in evidence stored before
    /// it was recorded).
    #[serde(default)]
    pub email_source: Option<String>,
    pub checks: Vec<Check>,
}

/// Aligns a verified presentation with what was expected.
pub fn align(
    expected: &Expectation<'_>,
    presentation: &Presentation,
) -> (Evidence, Result<(), FailureReason>) {
    // Prefer the credential of the requested type; Microsoft sends the one asked for.
    let Some(credential) = presentation
        .credentials
        .iter()
        .find(|c| c.has_type(expected.credential_type))
        .or(presentation.credentials.first())
    else {
        return nothing_presented(presentation);
    };
    // VerifiedEmployee omits `mail` when the account has none; an empty value is no email too.
    let claimed_email = credential
        .claim(expected.email_claim)
        .map(str::trim)
        .filter(|e| !e.is_empty());
    let claimed = claimed_email.and_then(|e| EmailAddress::parse(e).ok());

    let mut checks = Vec::new();
    let mut first_failure = None;
    let mut check = |label: String, passed: bool, detail: String, reason: FailureReason| {
        if !passed && first_failure.is_none() {
            first_failure = Some(reason);
        }
        checks.push(Check {
            label,
            passed,
            detail,
        });
    };

    check(
        "Issued by the connected tenant".into(),
        credential.issuer == expected.authority_did,
        if credential.issuer.is_empty() {
            "Microsoft named no issuer".into()
        } else {
            format!("Issuer {}", credential.issuer)
        },
        FailureReason::IssuerNotConnectedTenant,
    );
    check(
        format!("Credential type is {}", expected.credential_type),
        credential.has_type(expected.credential_type),
        format!("Types: {}", credential.types.join(", ")),
        FailureReason::WrongCredentialType,
    );
    // We ask with `allowRevoked: true`, so only an explicit VALID says the credential is
    // good; a missing status fails closed (as Microsoft's own samples treat it).
    check(
        "Microsoft says the credential is valid".into(),
        credential.revocation_status == Some(RevocationStatus::Valid),
        match &credential.revocation_status {
            Some(status) => format!("Revocation status {status}"),
            None => "Microsoft did not say the credential is valid (no revocation status)".into(),
        },
        if credential.is_revoked() {
            FailureReason::Revoked
        } else {
            FailureReason::RevocationUnknown
        },
    );
    check(
        "Email comes from a source you trust".into(),
        expected.email_trusted,
        format!(
            "Email source: {}{}",
            expected.email_source.describe(),
            if expected.email_trusted && !expected.email_source.is_directory_backed() {
                " (accepted by an administrator)"
            } else {
                ""
            }
        ),
        FailureReason::EmailNotTrusted,
    );
    check(
        format!("Email on the credential is {}", expected.recipient),
        claimed.as_ref() == Some(expected.recipient),
        match claimed_email {
            Some(email) => format!("The credential's {} claim is {email}", expected.email_claim),
            None => format!("The credential has no {} claim", expected.email_claim),
        },
        if claimed_email.is_some() {
            FailureReason::DifferentEmail
        } else {
            FailureReason::NoEmail
        },
    );
    let domain = expected.recipient.domain();
    check(
        "Email domain is covered by the tenant".into(),
        // In one (ASCII) form: a domain stored as Microsoft spelled it in Unicode is the
        // recipient's punycode domain.
        expected
            .covered_domains
            .iter()
            .any(|d| crate::email::normalize_domain(d).is_some_and(|d| d == domain)),
        format!("{domain} against {}", expected.covered_domains.join(", ")),
        FailureReason::DomainNotCovered,
    );
    let face_check_score = credential
        .face_check
        .as_ref()
        .and_then(|f| f.match_confidence_score);
    if let Some(threshold) = expected.face_check_threshold {
        // Microsoft refuses below the threshold itself (`claimValidationError`); a verdict
        // without a score is not taken on trust either.
        check(
            format!("Face Check at or above {threshold}"),
            face_check_score.is_some_and(|s| s >= f64::from(threshold)),
            match face_check_score {
                Some(score) => format!("Match confidence {score:.1}"),
                None => "Microsoft reported no Face Check score".into(),
            },
            FailureReason::FaceCheckBelowThreshold,
        );
    }

    let evidence = Evidence {
        issuer: credential.issuer.clone(),
        credential_types: credential.types.clone(),
        display_name: credential.claim("displayName").map(str::to_owned),
        email: claimed_email.map(str::to_owned),
        job_title: credential.claim("jobTitle").map(str::to_owned),
        subject: presentation.subject.clone(),
        face_check_score,
        email_source: Some(expected.email_source.describe().to_owned()),
        checks,
    };
    (evidence, first_failure.map_or(Ok(()), Err))
}

/// Microsoft said "verified" but described no credential: nothing to align, and nothing the
/// person did wrong, so the try fails as a Microsoft error they may retry.
fn nothing_presented(presentation: &Presentation) -> (Evidence, Result<(), FailureReason>) {
    let evidence = Evidence {
        issuer: String::new(),
        credential_types: Vec::new(),
        display_name: None,
        email: None,
        job_title: None,
        subject: presentation.subject.clone(),
        face_check_score: None,
        email_source: None,
        checks: vec![Check {
            label: "A credential was presented".into(),
            passed: false,
            detail:
                "Microsoft reported a verified presentation without a credential it could describe"
                    .into(),
        }],
    };
    (evidence, Err(FailureReason::AuthenticatorError))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::microsoft::Callback;

    const DID: &str = "did:web:verifiedid.contoso.com";

    fn presentation(
        issuer: &str,
        types: &[&str],
        mail: Option<&str>,
        revocation: &str,
    ) -> Presentation {
        let mut claims = serde_json::json!({"displayName": "Megan Bowen", "jobTitle": "Auditor"});
        if let Some(mail) = mail {
            claims["mail"] = mail.into();
        }
        let body = serde_json::json!({
            "requestId": "r", "requestStatus": "presentation_verified", "state": "s",
            "subject": "did:ion:holder",
            "verifiedCredentialsData": [{
                "issuer": issuer, "type": types, "claims": claims,
                "credentialState": {"revocationStatus": revocation},
                "faceCheck": {"matchConfidenceScore": 86.5, "sourcePhotoQuality": "HIGH"}
            }]
        });
        match Callback::parse(body.to_string().as_bytes()).unwrap().event {
            crate::microsoft::CallbackEvent::Verified(p) => p,
            other => panic!("{other:?}"),
        }
    }

    fn expect<'a>(recipient: &'a EmailAddress, domains: &'a [String]) -> Expectation<'a> {
        Expectation {
            authority_did: DID,
            credential_type: "VerifiedEmployee",
            email_claim: "mail",
            recipient,
            covered_domains: domains,
            email_source: EmailSource::Directory,
            email_trusted: true,
            face_check_threshold: None,
        }
    }

    fn domains() -> Vec<String> {
        vec!["contoso.com".into(), "contoso.onmicrosoft.com".into()]
    }

    const TYPES: &[&str] = &["VerifiableCredential", "VerifiedEmployee"];

    #[test]
    fn the_intended_person_passes_every_check() {
        let recipient = EmailAddress::parse("megan.bowen@contoso.com").unwrap();
        let domains = domains();
        let (evidence, result) = align(
            &expect(&recipient, &domains),
            &presentation(DID, TYPES, Some("megan.bowen@contoso.com"), "VALID"),
        );
        assert_eq!(result, Ok(()));
        assert!(evidence.checks.iter().all(|c| c.passed));
        assert_eq!(evidence.display_name.as_deref(), Some("Megan Bowen"));
        assert_eq!(evidence.face_check_score, Some(86.5));
    }

    #[test]
    fn a_covered_domain_stored_in_unicode_covers_the_recipients_punycode_domain() {
        let recipient = EmailAddress::parse("anna@xn--bcher-kva.example").unwrap();
        let unicode_domains = vec!["Bücher.example".to_owned()];
        let exp = Expectation {
            authority_did: DID,
            ..expect(&recipient, &unicode_domains)
        };
        let (_, result) = align(
            &exp,
            &presentation(DID, TYPES, Some("anna@bücher.example"), "VALID"),
        );
        assert_eq!(result, Ok(()));
    }

    #[test]
    fn email_comparison_ignores_case_and_normalises_idn_domains() {
        let recipient = EmailAddress::parse("anna@bücher.example").unwrap();
        let idn_domains = vec!["xn--bcher-kva.example".to_owned()];
        let exp = Expectation {
            authority_did: DID,
            ..expect(&recipient, &idn_domains)
        };
        let (_, result) = align(
            &exp,
            &presentation(DID, TYPES, Some("Anna@XN--BCHER-KVA.example"), "VALID"),
        );
        assert_eq!(result, Ok(()));
        let recipient = EmailAddress::parse("MEGAN.Bowen@Contoso.com").unwrap();
        let domains = domains();
        let (_, result) = align(
            &expect(&recipient, &domains),
            &presentation(DID, TYPES, Some("megan.bowen@CONTOSO.COM"), "VALID"),
        );
        assert_eq!(result, Ok(()));
    }

    #[test]
    fn each_mismatch_has_its_reason() {
        let recipient = EmailAddress::parse("megan.bowen@contoso.com").unwrap();
        let domains = domains();
        let e = expect(&recipient, &domains);
        let cases = [
            (
                presentation(
                    "did:web:verifiedid.fabrikam.com",
                    TYPES,
                    Some("megan.bowen@contoso.com"),
                    "VALID",
                ),
                FailureReason::IssuerNotConnectedTenant,
            ),
            (
                presentation(
                    DID,
                    &["VerifiableCredential", "StudentCard"],
                    Some("megan.bowen@contoso.com"),
                    "VALID",
                ),
                FailureReason::WrongCredentialType,
            ),
            (
                presentation(DID, TYPES, Some("megan.bowen@contoso.com"), "REVOKED"),
                FailureReason::Revoked,
            ),
            (
                presentation(DID, TYPES, Some("megan.bowen@contoso.com"), "SUSPENDED"),
                FailureReason::Revoked,
            ),
            (
                presentation(DID, TYPES, Some("lee.gu@contoso.com"), "VALID"),
                FailureReason::DifferentEmail,
            ),
            (
                presentation(DID, TYPES, None, "VALID"),
                FailureReason::NoEmail,
            ),
            (
                presentation(DID, TYPES, Some("  "), "VALID"),
                FailureReason::NoEmail,
            ),
            (
                presentation(DID, TYPES, Some("not an email"), "VALID"),
                FailureReason::DifferentEmail,
            ),
        ];
        for (presentation, reason) in cases {
            let (evidence, result) = align(&e, &presentation);
            assert_eq!(result, Err(reason));
            assert_eq!(
                evidence.checks.iter().filter(|c| !c.passed).count(),
                1,
                "{reason:?}"
            );
        }
    }

    #[test]
    fn a_domain_removed_from_the_tenant_fails_alignment() {
        let recipient = EmailAddress::parse("megan.bowen@contoso.com").unwrap();
        let only_initial = vec!["contoso.onmicrosoft.com".to_owned()];
        let (_, result) = align(
            &expect(&recipient, &only_initial),
            &presentation(DID, TYPES, Some("megan.bowen@contoso.com"), "VALID"),
        );
        assert_eq!(result, Err(FailureReason::DomainNotCovered));
    }

    #[test]
    fn the_first_failing_check_wins_and_all_are_reported() {
        let recipient = EmailAddress::parse("megan.bowen@contoso.com").unwrap();
        let domains = domains();
        let (evidence, result) = align(
            &expect(&recipient, &domains),
            &presentation(
                "did:web:evil.example",
                TYPES,
                Some("eve@evil.example"),
                "REVOKED",
            ),
        );
        assert_eq!(result, Err(FailureReason::IssuerNotConnectedTenant));
        assert_eq!(evidence.checks.iter().filter(|c| !c.passed).count(), 3);
    }

    #[test]
    fn a_credential_without_the_email_claim_carries_no_email_not_a_different_one() {
        let recipient = EmailAddress::parse("megan.bowen@contoso.com").unwrap();
        let domains = domains();
        let (evidence, result) = align(
            &expect(&recipient, &domains),
            &presentation(DID, TYPES, None, "VALID"),
        );
        assert_eq!(result, Err(FailureReason::NoEmail));
        assert_eq!(evidence.email, None);
        let failed = evidence.checks.iter().find(|c| !c.passed).unwrap();
        assert_eq!(failed.detail, "The credential has no mail claim");
    }

    #[test]
    fn the_email_is_read_from_the_integrations_claim() {
        let recipient = EmailAddress::parse("megan.bowen@contoso.com").unwrap();
        let domains = domains();
        let mut custom = presentation(
            DID,
            &["VerifiableCredential", "ContosoBadge"],
            None,
            "VALID",
        );
        custom.credentials[0]
            .claims
            .insert("email".into(), "Megan.Bowen@contoso.com".into());
        let email_claim = Expectation {
            credential_type: "ContosoBadge",
            email_claim: "email",
            ..expect(&recipient, &domains)
        };
        let (evidence, result) = align(&email_claim, &custom);
        assert_eq!(result, Ok(()));
        assert_eq!(evidence.email.as_deref(), Some("Megan.Bowen@contoso.com"));

        // The same credential read for `mail` carries no email.
        let mail_claim = Expectation {
            credential_type: "ContosoBadge",
            ..expect(&recipient, &domains)
        };
        assert_eq!(align(&mail_claim, &custom).1, Err(FailureReason::NoEmail));
    }

    #[test]
    fn a_missing_revocation_status_fails_closed_with_its_own_reason() {
        let recipient = EmailAddress::parse("megan.bowen@contoso.com").unwrap();
        let domains = domains();
        let mut p = presentation(DID, TYPES, Some("megan.bowen@contoso.com"), "VALID");
        p.credentials[0].revocation_status = None;
        let (evidence, result) = align(&expect(&recipient, &domains), &p);
        assert_eq!(result, Err(FailureReason::RevocationUnknown));
        assert!(!result.unwrap_err().is_mismatch());
        let failed = evidence.checks.iter().find(|c| !c.passed).unwrap();
        assert!(
            failed
                .detail
                .contains("did not say the credential is valid")
        );
    }

    #[test]
    fn an_untrusted_email_source_is_never_verified_and_the_source_is_evidence() {
        let recipient = EmailAddress::parse("megan.bowen@contoso.com").unwrap();
        let domains = domains();
        let p = presentation(DID, TYPES, Some("megan.bowen@contoso.com"), "VALID");
        let self_issued = Expectation {
            email_source: EmailSource::SelfIssued,
            email_trusted: false,
            ..expect(&recipient, &domains)
        };
        let (evidence, result) = align(&self_issued, &p);
        assert_eq!(result, Err(FailureReason::EmailNotTrusted));
        assert_eq!(
            evidence.email_source.as_deref(),
            Some("typed in by the holder")
        );
        let accepted = Expectation {
            email_source: EmailSource::IdTokenHint,
            email_trusted: true,
            ..expect(&recipient, &domains)
        };
        let (evidence, result) = align(&accepted, &p);
        assert_eq!(result, Ok(()));
        assert!(
            evidence
                .email_source
                .unwrap()
                .contains("not checked against your directory")
        );
    }

    #[test]
    fn face_check_requested_needs_a_score_at_or_above_the_threshold() {
        let recipient = EmailAddress::parse("megan.bowen@contoso.com").unwrap();
        let domains = domains();
        let with = |threshold| Expectation {
            face_check_threshold: Some(threshold),
            ..expect(&recipient, &domains)
        };
        let p = presentation(DID, TYPES, Some("megan.bowen@contoso.com"), "VALID");
        assert_eq!(align(&with(80), &p).1, Ok(()), "86.5 passes 80");
        assert_eq!(
            align(&with(90), &p).1,
            Err(FailureReason::FaceCheckBelowThreshold)
        );
        let mut no_score = p.clone();
        no_score.credentials[0].face_check = None;
        assert_eq!(
            align(&with(50), &no_score).1,
            Err(FailureReason::FaceCheckBelowThreshold)
        );
        // Not requested: no score needed.
        assert_eq!(align(&expect(&recipient, &domains), &no_score).1, Ok(()));
    }

    #[test]
    fn a_presentation_without_a_credential_is_a_retryable_microsoft_error() {
        let recipient = EmailAddress::parse("megan.bowen@contoso.com").unwrap();
        let domains = domains();
        let mut p = presentation(DID, TYPES, Some("megan.bowen@contoso.com"), "VALID");
        p.credentials.clear();
        let (evidence, result) = align(&expect(&recipient, &domains), &p);
        assert_eq!(result, Err(FailureReason::AuthenticatorError));
        assert!(result.unwrap_err().retryable());
        assert!(evidence.checks.iter().all(|c| !c.passed));
    }
}
