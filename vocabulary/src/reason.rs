//! Why a verification failed, with the words for the person and for the agent.

words! {
    /// Why a verification failed: a closed set that maps onto the guide's causes.
    pub enum FailureReason("failure reason") {
        /// The credential's email is not the recipient's.
        DifferentEmail => "different_email",
        /// The credential has no email address (in the integration's email claim) to compare.
        NoEmail => "no_email",
        /// The credential was issued by someone other than the connected tenant.
        IssuerNotConnectedTenant => "issuer_not_connected_tenant",
        /// Not the credential type the integration asks for.
        WrongCredentialType => "wrong_credential_type",
        Revoked => "revoked",
        /// The recipient's domain is no longer among the tenant's domains.
        DomainNotCovered => "domain_not_covered",
        /// The person declined in Authenticator. No longer produced: Microsoft documents no
        /// callback for a decline (nor a code for one); kept so stored verifications still read.
        Declined => "declined",
        /// Microsoft reported an error it does not document (any `presentation_error` code other
        /// than `claimValidationError`), or a verdict without a credential. The code and message
        /// are in the event's text.
        AuthenticatorError => "authenticator_error",
        /// Face Check did not match well enough, or Microsoft reported no score for a request
        /// that asked for Face Check.
        FaceCheckBelowThreshold => "face_check_below_threshold",
        /// Microsoft did not say the credential is valid: no `credentialState.revocationStatus`
        /// of `VALID` (we ask with `allowRevoked: true`, so its absence proves nothing).
        RevocationUnknown => "revocation_unknown",
        /// The integration's email claim is not one we may trust (self-issued, unknown, or not
        /// from the directory without the admin's acceptance) at the time of the presentation.
        EmailNotTrusted => "email_not_trusted",
    }
}

/// What a failure means for the link, decided for each reason in one exhaustive `match`.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Consequence {
    /// The person may simply try again: nothing about their identity was wrong.
    Retry,
    /// Someone else's identity (or not the credential asked for): final, flagged to the agent.
    Mismatch,
    /// Final, but says nothing about whose credential it was.
    Final,
}

impl FailureReason {
    fn consequence(self) -> Consequence {
        match self {
            FailureReason::Declined
            | FailureReason::AuthenticatorError
            | FailureReason::FaceCheckBelowThreshold => Consequence::Retry,
            FailureReason::DifferentEmail
            | FailureReason::IssuerNotConnectedTenant
            | FailureReason::WrongCredentialType
            | FailureReason::Revoked
            | FailureReason::DomainNotCovered => Consequence::Mismatch,
            // A credential without an email cannot be compared at all; an unconfirmed
            // revocation status or an untrusted email source says nothing about its owner.
            FailureReason::NoEmail
            | FailureReason::RevocationUnknown
            | FailureReason::EmailNotTrusted => Consequence::Final,
        }
    }

    /// The person may simply try again: nothing about their identity was wrong.
    pub fn retryable(self) -> bool {
        self.consequence() == Consequence::Retry
    }

    /// An identity mismatch: final, and flagged to the agent. A credential without an email is
    /// final too, but not someone else's identity: it cannot be compared at all.
    /// Nor are an unconfirmed revocation status or an untrusted email source: they say
    /// nothing about whose credential it was.
    pub fn is_mismatch(self) -> bool {
        self.consequence() == Consequence::Mismatch
    }

    /// For the person being verified: what happened and what to do, in plain words.
    pub fn for_recipient(self) -> &'static str {
        match self {
            FailureReason::DifferentEmail => {
                "The credential you presented is for a different email address than the one this verification was sent to. Ask the person who sent you the link to check the address, or present the credential of your work account."
            }
            FailureReason::NoEmail => {
                "The credential you presented carries no email address, so it cannot show that you are the person this verification was sent to. Ask your IT department to add an email address to your work account and issue you a new credential."
            }
            FailureReason::IssuerNotConnectedTenant => {
                "The credential you presented was not issued by the organization that asked for this verification. Present your work credential from that organization."
            }
            FailureReason::WrongCredentialType => {
                "The credential you presented is not the kind this verification asks for."
            }
            FailureReason::Revoked => {
                "The credential you presented has been revoked. Ask your IT department for a new one."
            }
            FailureReason::DomainNotCovered => {
                "Your email domain is no longer covered by the organization's Microsoft connection. Contact the person who sent you the link."
            }
            FailureReason::Declined => "You declined the request in Authenticator.",
            FailureReason::AuthenticatorError => "Microsoft Authenticator reported an error.",
            FailureReason::FaceCheckBelowThreshold => {
                "Face Check could not confirm that the photo on your credential matches you."
            }
            FailureReason::RevocationUnknown => {
                "Microsoft did not say the credential is valid, so it could not be accepted. Contact the person who sent you the link."
            }
            FailureReason::EmailNotTrusted => {
                "The organization's Microsoft connection cannot check the email on this kind of credential. Contact the person who sent you the link."
            }
        }
    }

    /// For the agent: which of the guide's causes this is.
    pub fn for_agent(self) -> &'static str {
        match self {
            FailureReason::DifferentEmail => {
                "They presented a credential for a different email than the one used for the verification. Ask them to use the expected work account, or check the address your team used when starting the check."
            }
            FailureReason::NoEmail => {
                "The credential carries no email address, so it cannot be matched to the person you asked to verify. Ask the person's Microsoft admin to add a mail address to their account and reissue the credential (a credential already issued is not updated), then start a new verification."
            }
            FailureReason::IssuerNotConnectedTenant => {
                "The credential was not issued by the Microsoft tenant you connected. They may have presented a credential from another organization."
            }
            FailureReason::WrongCredentialType => {
                "The credential is not the type your integration requests."
            }
            FailureReason::Revoked => "The credential has been revoked by its issuer.",
            FailureReason::DomainNotCovered => {
                "Their email domain is not among the domains tied to the Microsoft tenant you connected — connect the correct tenant or ask your Microsoft admin to add or verify the domain."
            }
            FailureReason::Declined => {
                "They declined the request in Authenticator, or do not yet have the required verifiable credential on their device — they may need to enroll per your organization's Microsoft Verified ID rollout."
            }
            FailureReason::AuthenticatorError => {
                "Microsoft reported an error during the presentation (its code and message are in the timeline); nothing showed a different identity. If the person has used up their tries on this link, start a new verification."
            }
            FailureReason::FaceCheckBelowThreshold => {
                "Face Check did not reach the confidence threshold your organization set."
            }
            FailureReason::RevocationUnknown => {
                "Microsoft did not say the credential is valid (it sent no revocation status of VALID), so it was not accepted. Start a new verification; if it happens again, ask your Microsoft administrator to check the credential's status in Verified ID."
            }
            FailureReason::EmailNotTrusted => {
                "The email claim of the connected credential is not checked against your directory and no administrator accepted that, so the email could not be trusted. An organization administrator can review the email source on the Integrations page."
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reason_round_trips_through_its_spelling_and_json() {
        for reason in FailureReason::ALL {
            assert_eq!(reason.as_str().parse(), Ok(reason));
            let json = serde_json::to_string(&reason).unwrap();
            assert_eq!(json, format!("\"{}\"", reason.as_str()));
            assert_eq!(
                serde_json::from_str::<FailureReason>(&json).unwrap(),
                reason
            );
        }
        assert!("bogus".parse::<FailureReason>().is_err());
        assert!(serde_json::from_str::<FailureReason>("\"bogus\"").is_err());
    }

    #[test]
    fn every_reason_has_words_for_the_person_and_the_agent() {
        for reason in FailureReason::ALL {
            assert!(!reason.for_recipient().trim().is_empty(), "{reason}");
            assert!(!reason.for_agent().trim().is_empty(), "{reason}");
            assert_ne!(reason.for_recipient(), reason.for_agent(), "{reason}");
        }
    }
}
