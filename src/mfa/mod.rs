//! Two-step verification (MFA): a TOTP authenticator app with ten single-use recovery codes,
//! asked for after the password; and an organization's requirement of it for everyone.
//!
//! Sits above `audit` (each change and each failed code is logged) and `accounts`. The TOTP
//! secret is sealed at rest with the server's one key for secrets (`TRACELESS_TOKEN_KEY`,
//! `microsoft::TokenKey`); without a key no secret can be kept, so two-step verification
//! cannot be turned on (see `TwoStep::begin_setup`).

mod recovery_codes;
mod service;
mod store;
mod teammate_reset;
mod totp;

pub use recovery_codes::RecoveryCode;
pub use service::*;
pub use teammate_reset::{enabled_in_organization, reset_teammate};
pub use totp::{Code, TotpSecret};

use crate::rate_limit::TooMany;

#[derive(Debug, thiserror::Error)]
pub enum MfaError {
    #[error("That code is not right. Enter the 6-digit code your authenticator app shows now.")]
    WrongCode,
    #[error("That recovery code is not right, or it was already used.")]
    WrongRecoveryCode,
    #[error("The password is incorrect.")]
    WrongPassword,
    #[error("Two-step verification is already on for your account.")]
    AlreadyEnabled,
    #[error("Two-step verification is not on for your account.")]
    NotEnabled,
    #[error("Start again: set up your authenticator app with a new QR code.")]
    NoSetupStarted,
    #[error(
        "Two-step verification cannot be turned on: this server has no key to keep secrets with (TRACELESS_TOKEN_KEY). Ask whoever runs Traceless to set it."
    )]
    NoKey,
    #[error(
        "Your organization requires two-step verification, so it cannot be turned off. Ask an organization administrator if you need it turned off."
    )]
    RequiredByOrganization,
    #[error(
        "Turn on two-step verification for your own account first, so that you are not asked to set it up yourself."
    )]
    AdminWithoutMfa,
    #[error("Only organization administrators can do this.")]
    NotAdmin,
    #[error("That teammate is not in your organization.")]
    MemberNotFound,
    #[error(
        "Use your own Two-step verification page to change yours: an administrator resets only other teammates'."
    )]
    ResetOwn,
    #[error("Two-step verification is not on for that teammate: there is nothing to reset.")]
    MemberWithoutMfa,
    #[error(transparent)]
    TooMany(#[from] TooMany),
    #[error("database error")]
    Database(#[from] sqlx::Error),
}

impl MfaError {
    /// The form field a message belongs beside, if any.
    pub fn field(&self) -> Option<&'static str> {
        match self {
            MfaError::WrongCode | MfaError::WrongRecoveryCode => Some("code"),
            MfaError::WrongPassword => Some("password"),
            _ => None,
        }
    }
}
