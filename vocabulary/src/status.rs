//! A verification's status: the name stored and shown ([`StatusName`]), and the status the
//! core reasons about ([`Status`]), whose failure carries its reason.

use std::fmt;
use std::str::FromStr;

use crate::{FailureReason, UnknownWord};

words! {
    /// A verification's state, as the API names it.
    #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(rename_all = "snake_case"))]
    pub enum StatusName("verification status") {
        Created => "created",
        Opened => "opened",
        Requested => "requested",
        Scanned => "scanned",
        Verified => "verified",
        Failed => "failed",
        Expired => "expired",
        Cancelled => "cancelled",
    }
}

impl StatusName {
    /// Nothing can change it any more.
    pub fn is_terminal(self) -> bool {
        !self.is_active()
    }

    /// The verification can still change.
    pub fn is_active(self) -> bool {
        match self {
            StatusName::Created
            | StatusName::Opened
            | StatusName::Requested
            | StatusName::Scanned => true,
            StatusName::Verified
            | StatusName::Failed
            | StatusName::Expired
            | StatusName::Cancelled => false,
        }
    }

    /// The words on the agent's status pill.
    pub fn label(self) -> &'static str {
        match self {
            StatusName::Created => "Link sent",
            StatusName::Opened => "Link opened",
            StatusName::Requested => "Waiting for scan",
            StatusName::Scanned => "Scanned",
            StatusName::Verified => "Verified",
            StatusName::Failed => "Failed",
            StatusName::Expired => "Expired",
            StatusName::Cancelled => "Cancelled",
        }
    }
}

/// The verification state machine's states:
/// `created → opened → requested → scanned → verified | failed(reason) | expired | cancelled`.
/// Stored as its name and, for a failure, its reason; spelled as `failed.{reason}` alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
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

impl Status {
    pub fn name(self) -> StatusName {
        match self {
            Status::Created => StatusName::Created,
            Status::Opened => StatusName::Opened,
            Status::Requested => StatusName::Requested,
            Status::Scanned => StatusName::Scanned,
            Status::Verified => StatusName::Verified,
            Status::Failed(_) => StatusName::Failed,
            Status::Expired => StatusName::Expired,
            Status::Cancelled => StatusName::Cancelled,
        }
    }

    /// The stored status (its name; the reason is stored beside it).
    pub fn as_str(self) -> &'static str {
        self.name().as_str()
    }

    /// Reads the stored pair (status, failure reason); `None` for an inconsistent pair.
    pub fn from_stored(name: StatusName, reason: Option<FailureReason>) -> Option<Self> {
        Some(match (name, reason) {
            (StatusName::Created, None) => Status::Created,
            (StatusName::Opened, None) => Status::Opened,
            (StatusName::Requested, None) => Status::Requested,
            (StatusName::Scanned, None) => Status::Scanned,
            (StatusName::Verified, None) => Status::Verified,
            (StatusName::Failed, Some(reason)) => Status::Failed(reason),
            (StatusName::Expired, None) => Status::Expired,
            (StatusName::Cancelled, None) => Status::Cancelled,
            (StatusName::Failed, None)
            | (
                StatusName::Created
                | StatusName::Opened
                | StatusName::Requested
                | StatusName::Scanned
                | StatusName::Verified
                | StatusName::Expired
                | StatusName::Cancelled,
                Some(_),
            ) => return None,
        })
    }

    pub fn failure_reason(self) -> Option<FailureReason> {
        match self {
            Status::Failed(reason) => Some(reason),
            _ => None,
        }
    }

    pub fn is_terminal(self) -> bool {
        self.name().is_terminal()
    }
}

/// `failed.{reason}` for a failure, the name otherwise.
impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.failure_reason() {
            Some(reason) => write!(f, "{}.{reason}", self.name()),
            None => f.write_str(self.as_str()),
        }
    }
}

impl FromStr for Status {
    type Err = UnknownWord;

    fn from_str(word: &str) -> Result<Self, Self::Err> {
        let unknown = || UnknownWord {
            expected: "verification status",
            word: word.to_owned(),
        };
        let (name, reason) = match word.split_once('.') {
            Some((name, reason)) => (name, Some(reason.parse()?)),
            None => (word, None),
        };
        Status::from_stored(name.parse()?, reason).ok_or_else(unknown)
    }
}

serde_as_word!(Status);

#[cfg(test)]
mod tests {
    use super::*;

    fn every_status() -> impl Iterator<Item = Status> {
        [
            Status::Created,
            Status::Opened,
            Status::Requested,
            Status::Scanned,
            Status::Verified,
            Status::Expired,
            Status::Cancelled,
        ]
        .into_iter()
        .chain(FailureReason::ALL.into_iter().map(Status::Failed))
    }

    #[test]
    fn every_status_name_round_trips_through_its_spelling_and_json() {
        for name in StatusName::ALL {
            assert_eq!(name.as_str().parse(), Ok(name));
            let json = serde_json::to_string(&name).unwrap();
            assert_eq!(json, format!("\"{name}\""));
            assert_eq!(serde_json::from_str::<StatusName>(&json).unwrap(), name);
            assert!(!name.label().is_empty());
        }
        assert!("bogus".parse::<StatusName>().is_err());
    }

    #[test]
    fn every_status_round_trips_stored_and_spelled() {
        for status in every_status() {
            assert_eq!(
                Status::from_stored(status.name(), status.failure_reason()),
                Some(status)
            );
            assert_eq!(status.to_string().parse(), Ok(status));
            let json = serde_json::to_string(&status).unwrap();
            assert_eq!(serde_json::from_str::<Status>(&json).unwrap(), status);
            assert_eq!(status.is_terminal(), status.name().is_terminal());
        }
    }

    #[test]
    fn inconsistent_pairs_are_refused() {
        assert_eq!(Status::from_stored(StatusName::Failed, None), None);
        assert_eq!(
            Status::from_stored(StatusName::Verified, Some(FailureReason::Revoked)),
            None
        );
        assert!("failed".parse::<Status>().is_err());
        assert!("failed.bogus".parse::<Status>().is_err());
        assert!("verified.revoked".parse::<Status>().is_err());
    }

    #[test]
    fn only_the_four_ends_are_terminal() {
        let terminal: Vec<_> = StatusName::ALL
            .into_iter()
            .filter(|s| s.is_terminal())
            .collect();
        assert_eq!(
            terminal,
            [
                StatusName::Verified,
                StatusName::Failed,
                StatusName::Expired,
                StatusName::Cancelled
            ]
        );
    }
}
