//! The kinds of events in a verification's history: stored with each event, sent to the
//! live pages, and read by the reactions (ticket timeline, mail, webhooks).

use std::fmt;
use std::str::FromStr;

use crate::{FailureReason, Status, UnknownWord};

/// What an event records. Spelled `created`, `link_emailed`, …, and for a failure or a
/// failed try with its reason: `failed.{reason}`, `attempt_failed.{reason}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventKind {
    /// The agent started the verification.
    Created,
    /// The link is in the outbox, on its way to the person.
    LinkEmailed,
    Opened,
    /// A Microsoft request (QR code) is shown; again for each fresh one.
    Requested,
    Scanned,
    Verified,
    Failed(FailureReason),
    /// One try failed; the person may try again on the same link.
    AttemptFailed(FailureReason),
    Expired,
    Cancelled,
    /// A callback that changed nothing (repeated, late or out of order), kept for the record.
    Ignored,
    /// Microsoft refused Face Check for the tenant: a settings problem, the status unchanged.
    FaceCheckNotEnabled,
    /// After a verified result, a Temporary Access Pass was issued to the person (the pass is
    /// in no event: only when it stops working). The status stays verified.
    PassIssued,
    /// After a verified result, no Temporary Access Pass was issued; the message says why.
    /// The status stays verified.
    PassRefused,
}

impl EventKind {
    /// The event of a move to `status`.
    pub fn moved_to(status: Status) -> Self {
        match status {
            Status::Created => EventKind::Created,
            Status::Opened => EventKind::Opened,
            Status::Requested => EventKind::Requested,
            Status::Scanned => EventKind::Scanned,
            Status::Verified => EventKind::Verified,
            Status::Failed(reason) => EventKind::Failed(reason),
            Status::Expired => EventKind::Expired,
            Status::Cancelled => EventKind::Cancelled,
        }
    }

    /// The spelling before the reason (`failed` for `failed.revoked`).
    pub fn head(self) -> &'static str {
        match self {
            EventKind::Created => "created",
            EventKind::LinkEmailed => "link_emailed",
            EventKind::Opened => "opened",
            EventKind::Requested => "requested",
            EventKind::Scanned => "scanned",
            EventKind::Verified => "verified",
            EventKind::Failed(_) => "failed",
            EventKind::AttemptFailed(_) => "attempt_failed",
            EventKind::Expired => "expired",
            EventKind::Cancelled => "cancelled",
            EventKind::Ignored => "ignored",
            EventKind::FaceCheckNotEnabled => "face_check_not_enabled",
            EventKind::PassIssued => "temporary_access_pass_issued",
            EventKind::PassRefused => "temporary_access_pass_refused",
        }
    }

    /// The reason of a failure or a failed try.
    pub fn reason(self) -> Option<FailureReason> {
        match self {
            EventKind::Failed(reason) | EventKind::AttemptFailed(reason) => Some(reason),
            _ => None,
        }
    }

    /// Every kind an event may have, reasons included.
    pub fn all() -> impl Iterator<Item = EventKind> {
        let plain = [
            EventKind::Created,
            EventKind::LinkEmailed,
            EventKind::Opened,
            EventKind::Requested,
            EventKind::Scanned,
            EventKind::Verified,
            EventKind::Expired,
            EventKind::Cancelled,
            EventKind::Ignored,
            EventKind::FaceCheckNotEnabled,
            EventKind::PassIssued,
            EventKind::PassRefused,
        ];
        let with_reason = FailureReason::ALL
            .into_iter()
            .flat_map(|r| [EventKind::Failed(r), EventKind::AttemptFailed(r)]);
        plain.into_iter().chain(with_reason)
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.head())?;
        match self.reason() {
            Some(reason) => write!(f, ".{reason}"),
            None => Ok(()),
        }
    }
}

impl FromStr for EventKind {
    type Err = UnknownWord;

    fn from_str(word: &str) -> Result<Self, Self::Err> {
        let unknown = || UnknownWord {
            expected: "event kind",
            word: word.to_owned(),
        };
        if let Some((head, reason)) = word.split_once('.') {
            let reason: FailureReason = reason.parse().map_err(|_| unknown())?;
            return match head {
                "failed" => Ok(EventKind::Failed(reason)),
                "attempt_failed" => Ok(EventKind::AttemptFailed(reason)),
                _ => Err(unknown()),
            };
        }
        EventKind::all()
            .find(|kind| kind.reason().is_none() && kind.head() == word)
            .ok_or_else(unknown)
    }
}

serde_as_word!(EventKind);
compares_with_its_spelling!(EventKind);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_round_trips_through_its_spelling_and_json() {
        let mut count = 0;
        for kind in EventKind::all() {
            assert_eq!(kind.to_string().parse(), Ok(kind), "{kind}");
            let json = serde_json::to_string(&kind).unwrap();
            assert_eq!(json, format!("\"{kind}\""));
            assert_eq!(serde_json::from_str::<EventKind>(&json).unwrap(), kind);
            count += 1;
        }
        assert_eq!(count, 12 + 2 * FailureReason::ALL.len());
    }

    #[test]
    fn failures_carry_their_reason_and_nothing_else_does() {
        assert_eq!(
            "failed.different_email".parse(),
            Ok(EventKind::Failed(FailureReason::DifferentEmail))
        );
        assert_eq!(
            "attempt_failed.authenticator_error".parse(),
            Ok(EventKind::AttemptFailed(FailureReason::AuthenticatorError))
        );
        for word in [
            "failed",
            "attempt_failed",
            "verified.revoked",
            "failed.bogus",
            "bogus",
            "",
        ] {
            assert!(word.parse::<EventKind>().is_err(), "{word}");
        }
    }

    #[test]
    fn a_move_is_recorded_under_its_status() {
        assert_eq!(
            EventKind::moved_to(Status::Failed(FailureReason::Revoked)).to_string(),
            "failed.revoked"
        );
        assert_eq!(EventKind::moved_to(Status::Scanned).to_string(), "scanned");
    }
}
