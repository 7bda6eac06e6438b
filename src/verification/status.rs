//! The verification state machine:
//! `created → opened → requested → scanned → verified | failed(reason) | expired | cancelled`.
//! States only move forward and terminal states are final; a repeated, late or
//! out-of-order input is an `Outcome::Ignore`, recorded by the caller but harmless.

use serde::{Deserialize, Serialize};

/// How many times a person may decline (or hit an Authenticator error) and try again
/// on the same link before the verification fails for good.
pub const MAX_FAILED_ATTEMPTS: u32 = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Status {
    /// The agent made the link; nobody opened it yet.
    Created,
    /// The person opened the link (or may try again after a declined attempt).
    Opened,
    /// A Microsoft presentation request (QR code) is waiting to be scanned.
    Requested,
    /// Authenticator fetched the request: the person is finishing on their phone.
    Scanned,
    Verified,
    Failed(FailureReason),
    Expired,
    /// Stopped by Traceless, e.g. because the Microsoft integration was removed.
    Cancelled,
}

/// Why a verification failed: a closed set that maps onto the guide's causes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum FailureReason {
    /// The credential's email is not the recipient's.
    DifferentEmail,
    /// The credential has no email address (in the integration's email claim) to compare.
    NoEmail,
    /// The credential was issued by someone other than the connected tenant.
    IssuerNotConnectedTenant,
    /// Not the credential type the integration asks for.
    WrongCredentialType,
    Revoked,
    /// The recipient's domain is no longer among the tenant's domains.
    DomainNotCovered,
    /// The person declined in Authenticator. No longer produced: Microsoft documents no
    /// callback for a decline (nor a code for one); kept so stored verifications still read.
    Declined,
    /// Microsoft reported an error it does not document (any `presentation_error` code other
    /// than `claimValidationError`), or a verdict without a credential. The code and message
    /// are in the event's text.
    AuthenticatorError,
    /// Face Check did not match well enough, or Microsoft reported no score for a request
    /// that asked for Face Check.
    FaceCheckBelowThreshold,
    /// Microsoft did not say the credential is valid: no `credentialState.revocationStatus`
    /// of `VALID` (we ask with `allowRevoked: true`, so its absence proves nothing).
    RevocationUnknown,
    /// The integration's email claim is not one we may trust (self-issued, unknown, or not
    /// from the directory without the admin's acceptance) at the time of the presentation.
    EmailNotTrusted,
}

impl FailureReason {
    pub const ALL: [FailureReason; 11] = [
        FailureReason::DifferentEmail,
        FailureReason::NoEmail,
        FailureReason::IssuerNotConnectedTenant,
        FailureReason::WrongCredentialType,
        FailureReason::Revoked,
        FailureReason::DomainNotCovered,
        FailureReason::Declined,
        FailureReason::AuthenticatorError,
        FailureReason::FaceCheckBelowThreshold,
        FailureReason::RevocationUnknown,
        FailureReason::EmailNotTrusted,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FailureReason::DifferentEmail => "different_email",
            FailureReason::NoEmail => "no_email",
            FailureReason::IssuerNotConnectedTenant => "issuer_not_connected_tenant",
            FailureReason::WrongCredentialType => "wrong_credential_type",
            FailureReason::Revoked => "revoked",
            FailureReason::DomainNotCovered => "domain_not_covered",
            FailureReason::Declined => "declined",
            FailureReason::AuthenticatorError => "authenticator_error",
            FailureReason::FaceCheckBelowThreshold => "face_check_below_threshold",
            FailureReason::RevocationUnknown => "revocation_unknown",
            FailureReason::EmailNotTrusted => "email_not_trusted",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == value)
    }

    /// The person may simply try again: nothing about their identity was wrong.
    pub fn retryable(self) -> bool {
        matches!(
            self,
            FailureReason::Declined
                | FailureReason::AuthenticatorError
                | FailureReason::FaceCheckBelowThreshold
        )
    }

    /// An identity mismatch: final, and flagged to the agent. A credential without an email is
    /// final too, but not someone else's identity: it cannot be compared at all.
    /// Nor are an unconfirmed revocation status or an untrusted email source: they say
    /// nothing about whose credential it was.
    pub fn is_mismatch(self) -> bool {
        !self.retryable()
            && !matches!(
                self,
                FailureReason::NoEmail
                    | FailureReason::RevocationUnknown
                    | FailureReason::EmailNotTrusted
            )
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

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Created => "created",
            Status::Opened => "opened",
            Status::Requested => "requested",
            Status::Scanned => "scanned",
            Status::Verified => "verified",
            Status::Failed(_) => "failed",
            Status::Expired => "expired",
            Status::Cancelled => "cancelled",
        }
    }

    /// Reads the stored pair (status, failure reason); `None` for an inconsistent pair.
    pub fn from_stored(status: &str, reason: Option<&str>) -> Option<Self> {
        Some(match (status, reason) {
            ("created", None) => Status::Created,
            ("opened", None) => Status::Opened,
            ("requested", None) => Status::Requested,
            ("scanned", None) => Status::Scanned,
            ("verified", None) => Status::Verified,
            ("failed", Some(reason)) => Status::Failed(FailureReason::parse(reason)?),
            ("expired", None) => Status::Expired,
            ("cancelled", None) => Status::Cancelled,
            _ => return None,
        })
    }

    pub fn failure_reason(self) -> Option<FailureReason> {
        match self {
            Status::Failed(reason) => Some(reason),
            _ => None,
        }
    }

    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            Status::Verified | Status::Failed(_) | Status::Expired | Status::Cancelled
        )
    }
}

/// Something that happened to a verification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Input {
    /// The person opened the link.
    PageOpened,
    /// We created a Microsoft presentation request (a QR code) for the page.
    RequestCreated,
    /// Microsoft: `request_retrieved`.
    Retrieved,
    /// Microsoft: `presentation_verified`, after our identity alignment.
    Presented(Result<(), FailureReason>),
    /// Microsoft: `presentation_error`, mapped to a reason.
    Refused(FailureReason),
    LinkExpired,
    Cancelled,
}

/// What an input does to a verification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Move to this status (possibly the same one, e.g. a fresh QR code while requested).
    Move(Status),
    /// This try failed but the person may try again on the same link: back to `Opened`.
    Retry(FailureReason),
    /// A no-op: why it changes nothing.
    Ignore(&'static str),
}

/// The transition function. `failed_attempts` counts earlier retryable failures.
pub fn next(current: Status, input: Input, failed_attempts: u32) -> Outcome {
    use Status::*;
    if current.is_terminal() {
        return Outcome::Ignore("the verification is already finished");
    }
    let fail = |reason: FailureReason| {
        if reason.retryable() && failed_attempts + 1 < MAX_FAILED_ATTEMPTS {
            Outcome::Retry(reason)
        } else {
            Outcome::Move(Failed(reason))
        }
    };
    match (current, input) {
        (_, Input::LinkExpired) => Outcome::Move(Expired),
        (_, Input::Cancelled) => Outcome::Move(Cancelled),
        (Created, Input::PageOpened) => Outcome::Move(Opened),
        (_, Input::PageOpened) => Outcome::Ignore("the link was already opened"),
        // From Scanned: a fresh code after the scanned one ran out; the person starts over.
        (Created | Opened | Requested | Scanned, Input::RequestCreated) => Outcome::Move(Requested),
        (Opened | Requested, Input::Retrieved) => Outcome::Move(Scanned),
        (Scanned, Input::Retrieved) => Outcome::Ignore("the request was already scanned"),
        (Created, Input::Retrieved) => Outcome::Ignore("no request was made for this link yet"),
        (Created, Input::Presented(_) | Input::Refused(_)) => {
            Outcome::Ignore("no request was made for this link yet")
        }
        // Microsoft may deliver the verdict before (or without) `request_retrieved`.
        (Opened | Requested | Scanned, Input::Presented(Ok(()))) => Outcome::Move(Verified),
        (Opened | Requested | Scanned, Input::Presented(Err(reason)) | Input::Refused(reason)) => {
            fail(reason)
        }
        (Verified | Failed(_) | Expired | Cancelled, _) => {
            unreachable!("terminal states return early")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use FailureReason::*;
    use Status::*;

    const ACTIVE: [Status; 4] = [Created, Opened, Requested, Scanned];
    const TERMINAL: [Status; 4] = [Verified, Failed(Revoked), Expired, Cancelled];

    fn all_inputs() -> Vec<Input> {
        let mut inputs = vec![
            Input::PageOpened,
            Input::RequestCreated,
            Input::Retrieved,
            Input::Presented(Ok(())),
            Input::LinkExpired,
            Input::Cancelled,
        ];
        for reason in FailureReason::ALL {
            inputs.push(Input::Presented(Err(reason)));
            inputs.push(Input::Refused(reason));
        }
        inputs
    }

    #[test]
    fn the_happy_path_moves_forward_one_step_at_a_time() {
        assert_eq!(next(Created, Input::PageOpened, 0), Outcome::Move(Opened));
        assert_eq!(
            next(Opened, Input::RequestCreated, 0),
            Outcome::Move(Requested)
        );
        assert_eq!(next(Requested, Input::Retrieved, 0), Outcome::Move(Scanned));
        assert_eq!(
            next(Scanned, Input::Presented(Ok(())), 0),
            Outcome::Move(Verified)
        );
    }

    #[test]
    fn terminal_states_ignore_every_input() {
        for state in TERMINAL {
            for input in all_inputs() {
                assert!(
                    matches!(next(state, input, 0), Outcome::Ignore(_)),
                    "{state:?} {input:?}"
                );
            }
        }
    }

    #[test]
    fn expiry_and_cancellation_end_any_active_state() {
        for state in ACTIVE {
            assert_eq!(next(state, Input::LinkExpired, 0), Outcome::Move(Expired));
            assert_eq!(next(state, Input::Cancelled, 0), Outcome::Move(Cancelled));
        }
    }

    #[test]
    fn repeated_and_premature_callbacks_are_no_ops() {
        assert!(matches!(
            next(Scanned, Input::Retrieved, 0),
            Outcome::Ignore(_)
        ));
        assert!(matches!(
            next(Created, Input::Retrieved, 0),
            Outcome::Ignore(_)
        ));
        assert!(matches!(
            next(Created, Input::Presented(Ok(())), 0),
            Outcome::Ignore(_)
        ));
        assert!(matches!(
            next(Opened, Input::PageOpened, 0),
            Outcome::Ignore(_)
        ));
    }

    #[test]
    fn a_fresh_code_after_a_scan_waits_for_a_new_scan() {
        assert_eq!(
            next(Scanned, Input::RequestCreated, 0),
            Outcome::Move(Requested)
        );
    }

    #[test]
    fn a_verdict_may_arrive_before_the_scan() {
        assert_eq!(
            next(Requested, Input::Presented(Ok(())), 0),
            Outcome::Move(Verified)
        );
        assert_eq!(
            next(Requested, Input::Refused(DifferentEmail), 0),
            Outcome::Move(Failed(DifferentEmail))
        );
    }

    #[test]
    fn an_identity_mismatch_is_final_at_once() {
        for reason in FailureReason::ALL.into_iter().filter(|r| r.is_mismatch()) {
            assert_eq!(
                next(Scanned, Input::Presented(Err(reason)), 0),
                Outcome::Move(Failed(reason))
            );
        }
    }

    #[test]
    fn a_credential_without_an_email_is_final_but_not_a_mismatch() {
        assert!(!NoEmail.retryable() && !NoEmail.is_mismatch());
        assert_eq!(
            next(Scanned, Input::Presented(Err(NoEmail)), 0),
            Outcome::Move(Failed(NoEmail))
        );
    }

    #[test]
    fn a_decline_may_be_retried_a_few_times_then_fails() {
        assert_eq!(
            next(Scanned, Input::Refused(Declined), 0),
            Outcome::Retry(Declined)
        );
        assert_eq!(
            next(Scanned, Input::Refused(Declined), MAX_FAILED_ATTEMPTS - 2),
            Outcome::Retry(Declined)
        );
        assert_eq!(
            next(Scanned, Input::Refused(Declined), MAX_FAILED_ATTEMPTS - 1),
            Outcome::Move(Failed(Declined))
        );
        assert_eq!(
            next(Requested, Input::Refused(AuthenticatorError), 0),
            Outcome::Retry(AuthenticatorError)
        );
    }

    #[test]
    fn stored_statuses_round_trip_and_inconsistent_pairs_are_refused() {
        for status in [
            Created, Opened, Requested, Scanned, Verified, Expired, Cancelled,
        ]
        .into_iter()
        .chain(FailureReason::ALL.into_iter().map(Failed))
        {
            let reason = status.failure_reason().map(FailureReason::as_str);
            assert_eq!(Status::from_stored(status.as_str(), reason), Some(status));
        }
        assert_eq!(Status::from_stored("failed", None), None);
        assert_eq!(Status::from_stored("verified", Some("revoked")), None);
        assert_eq!(Status::from_stored("failed", Some("bogus")), None);
    }
}
