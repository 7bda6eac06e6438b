//! What a verification use case can refuse or fail with. A failure of the database or of
//! Microsoft carries the step that failed (the place in our code whose `?` returned it), so
//! the one log line it becomes says what was being done.

use std::fmt;
use std::ops::Deref;
use std::panic::Location;

use crate::email::InvalidEmail;
use crate::integrations::IntegrationError;
use crate::microsoft::MicrosoftError;
use crate::tickets::InvalidTicket;

#[derive(Debug, thiserror::Error)]
pub enum VerificationError {
    #[error(
        "Microsoft Verified ID is not connected. An organization administrator must connect it on the Integrations page first."
    )]
    NotConnected,
    #[error(
        "Microsoft Verified ID is not active: the linked domain of the tenant's Verified ID authority is not verified, so Microsoft would refuse every presentation. Ask your Microsoft administrator to verify the linked domain, then log in to your tenant again on the Integrations page."
    )]
    NotActive,
    #[error(
        "Microsoft Verified ID is not active: the email on the connected credential is not checked against your directory, so it cannot show who the person is. An organization administrator can see where the email comes from, and what to do, on the Integrations page."
    )]
    EmailNotTrusted,
    #[error(
        "Face Check is not enabled for your tenant's Verified ID, so Microsoft refused a request with Face Check. An organization administrator can turn Face Check off in the verification settings, or ask your Microsoft administrator to enable the Face Check add-on (Microsoft Entra admin center → Verified ID → Add-ons)."
    )]
    FaceCheckNotEnabled,
    #[error(transparent)]
    InvalidEmail(#[from] InvalidEmail),
    #[error(
        "Their email domain ({0}) is not among the domains tied to the Microsoft tenant you connected — connect the correct tenant or ask your Microsoft admin to add or verify the domain."
    )]
    DomainNotCovered(String),
    #[error("The note is too long (at most 500 characters).")]
    NoteTooLong,
    /// Whoever holds the link can ask for the pass once the person is verified, so with
    /// account recovery the link goes to the person alone, by mail, never to the agent.
    #[error(
        "With account recovery the link goes to the person by email only, never to whoever sent it: choose delivery by email."
    )]
    RecoveryLinkByEmailOnly,
    #[error(transparent)]
    Ticket(#[from] InvalidTicket),
    #[error("That is not this verification's link: copy the link shown when it was made.")]
    WrongLink,
    #[error("This verification link is expired")]
    LinkExpired,
    #[error("That verification was not found in your organization.")]
    NotFound,
    #[error("The verification is already finished.")]
    AlreadyFinished,
    #[error("Only organization administrators can change verification settings.")]
    NotAdmin,
    #[error("{0}")]
    InvalidSetting(&'static str),
    #[error(transparent)]
    TooMany(#[from] crate::rate_limit::TooMany),
    #[error("Microsoft: {0}")]
    Microsoft(AtStep<MicrosoftError>),
    #[error("database error: {0}")]
    Database(AtStep<sqlx::Error>),
}

/// Why a callback was refused; each maps to one HTTP status and changes nothing.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CallbackError {
    #[error("api-key wrong or missing")]
    Unauthorized,
    #[error("not a Verified ID presentation callback: {0}")]
    Malformed(String),
    #[error("unknown state")]
    UnknownState,
    #[error("internal error")]
    Internal,
}

/// Why removing the Microsoft integration changed nothing: refused (or failed) removing it,
/// or failed cancelling the organization's verifications.
#[derive(Debug, thiserror::Error)]
pub enum RemovalError {
    #[error(transparent)]
    Integration(#[from] IntegrationError),
    #[error("cancelling verifications: {0}")]
    Cancelling(#[from] VerificationError),
}

/// An error with the step that failed: where in the use case it was returned. Reads as the
/// error itself otherwise (`Deref`), so callers that map the cause need not unwrap it.
#[derive(Debug)]
pub struct AtStep<E> {
    pub error: E,
    pub step: &'static Location<'static>,
}

impl<E> AtStep<E> {
    /// The error, at the caller's step (through `?`, the line of the `?`).
    #[track_caller]
    pub fn here(error: E) -> Self {
        Self {
            error,
            step: Location::caller(),
        }
    }
}

impl<E> Deref for AtStep<E> {
    type Target = E;

    fn deref(&self) -> &E {
        &self.error
    }
}

impl<E: fmt::Display> fmt::Display for AtStep<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} (at {}:{})",
            self.error,
            self.step.file(),
            self.step.line()
        )
    }
}

impl<E: std::error::Error + 'static> std::error::Error for AtStep<E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}

impl From<MicrosoftError> for VerificationError {
    #[track_caller]
    fn from(error: MicrosoftError) -> Self {
        VerificationError::Microsoft(AtStep::here(error))
    }
}

impl From<sqlx::Error> for VerificationError {
    #[track_caller]
    fn from(error: sqlx::Error) -> Self {
        VerificationError::Database(AtStep::here(error))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Like a use case: async, a database step, `?`.
    async fn fails() -> Result<(), VerificationError> {
        Err(sqlx::Error::RowNotFound)?; // the step
        Ok(())
    }

    #[tokio::test]
    async fn a_database_error_names_the_step_that_failed() {
        let line = 1 + include_str!("errors.rs")
            .lines()
            .position(|l| l.ends_with("?; // the step"))
            .unwrap();
        let error = fails().await.unwrap_err().to_string();
        assert!(
            error.ends_with(&format!("(at src/verification/errors.rs:{line})")),
            "{error}"
        );
    }
}
