//! The verification state machine:
//! `created → opened → requested → scanned → verified | failed(reason) | expired | cancelled`.
//! The states and reasons themselves are the shared vocabulary's (re-exported here).
//! States only move forward and terminal states are final; a repeated, late or
//! out-of-order input is an `Outcome::Ignore`, recorded by the caller but harmless.

pub use vocabulary::{EventKind, FailureReason, RequestState, Status, StatusName};

/// How many times a person may decline (or hit an Authenticator error) and try again
/// on the same link before the verification fails for good.
pub const MAX_FAILED_ATTEMPTS: u32 = 3;

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
}
