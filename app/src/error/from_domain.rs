//! The one map from the core's errors to `AppError`, the answer our pages and plain routes
//! give. Server functions only write `?`; a new domain error variant is a compile error
//! here, and nowhere else. (The REST API has its own map for its own wire shape:
//! `server/src/api_v1/error.rs`.)
//!
//! Unexpected failures (the database, Microsoft where the person cannot act on it) are
//! logged once here, with their cause, and reach the person as `AppError::Internal`.

use traceless::accounts::AccountError;
use traceless::api_keys::ApiKeyError;
use traceless::integrations::sign_in::MicrosoftOnlyError;
use traceless::integrations::{ConnectFailure, IntegrationError, InvalidTenant};
use traceless::mfa::MfaError;
use traceless::microsoft::MicrosoftError;
use traceless::rate_limit::TooMany;
use traceless::tickets::InvalidTicket;
use traceless::verification::{RemovalError, VerificationError};
use traceless::webhooks::WebhookError;

use super::AppError;
use crate::ssr::{ADMIN_ONLY, internal};

/// What a refused link says, whatever the reason: it reveals nothing about the link.
pub const EXPIRED_LINK: &str = "This verification link is expired";

/// How long the person's page waits before asking Microsoft again after an outage.
const RECIPIENT_RETRY_SECS: u32 = 10;

impl From<sqlx::Error> for AppError {
    fn from(error: sqlx::Error) -> Self {
        internal(format!("database: {error}"))
    }
}

impl From<MicrosoftOnlyError> for AppError {
    fn from(error: MicrosoftOnlyError) -> Self {
        match error {
            MicrosoftOnlyError::NotAdmin => AppError::Forbidden(ADMIN_ONLY.into()),
            MicrosoftOnlyError::Database(e) => e.into(),
            refusal @ (MicrosoftOnlyError::NotConnected
            | MicrosoftOnlyError::SignInWithMicrosoftFirst) => {
                AppError::invalid(None, refusal.to_string())
            }
        }
    }
}

impl From<TooMany> for AppError {
    fn from(refusal: TooMany) -> Self {
        AppError::TooManyRequests {
            message: refusal.to_string(),
            retry_after_secs: refusal.retry_after_secs(),
        }
    }
}

impl From<AccountError> for AppError {
    fn from(error: AccountError) -> Self {
        match error {
            AccountError::TooMany(refusal) => refusal.into(),
            AccountError::Database(e) => e.into(),
            AccountError::NotAdmin => AppError::Forbidden(ADMIN_ONLY.into()),
            AccountError::InviteExpired
            | AccountError::ResetLinkExpired
            | AccountError::ConfirmationLinkExpired => AppError::NotFound(error.to_string()),
            other => AppError::invalid(other.field(), other.to_string()),
        }
    }
}

impl From<MfaError> for AppError {
    fn from(error: MfaError) -> Self {
        match error {
            MfaError::TooMany(refusal) => refusal.into(),
            MfaError::Database(e) => e.into(),
            MfaError::NotAdmin => AppError::Forbidden(ADMIN_ONLY.into()),
            MfaError::MemberNotFound => AppError::NotFound(error.to_string()),
            MfaError::NoKey => {
                tracing::warn!("two-step verification refused: TRACELESS_TOKEN_KEY is not set");
                AppError::Forbidden(error.to_string())
            }
            other => AppError::invalid(other.field(), other.to_string()),
        }
    }
}

impl From<ApiKeyError> for AppError {
    fn from(error: ApiKeyError) -> Self {
        match error {
            ApiKeyError::NotAdmin => AppError::Forbidden(ADMIN_ONLY.into()),
            ApiKeyError::InvalidName => AppError::invalid(Some("name"), error.to_string()),
            ApiKeyError::NotFound | ApiKeyError::Unauthorized => {
                AppError::NotFound(ApiKeyError::NotFound.to_string())
            }
            ApiKeyError::Database(e) => e.into(),
        }
    }
}

impl From<WebhookError> for AppError {
    fn from(error: WebhookError) -> Self {
        match error {
            WebhookError::NotAdmin => AppError::Forbidden(ADMIN_ONLY.into()),
            WebhookError::InvalidUrl(_) => AppError::invalid(Some("url"), error.to_string()),
            WebhookError::NoEventTypes | WebhookError::UnknownEventType(_) => {
                AppError::invalid(Some("events"), error.to_string())
            }
            WebhookError::NotFound | WebhookError::DeliveryNotFound => {
                AppError::NotFound(error.to_string())
            }
            WebhookError::EndpointDisabled | WebhookError::Erased => {
                AppError::invalid(None, error.to_string())
            }
            WebhookError::Database(e) => e.into(),
        }
    }
}

impl From<IntegrationError> for AppError {
    fn from(error: IntegrationError) -> Self {
        match error {
            IntegrationError::NotAdmin => AppError::Forbidden(
                "You must be an organization administrator in Traceless to connect integrations. Ask your Traceless organization administrator to connect Microsoft Verified ID or to grant you the appropriate access.".into(),
            ),
            IntegrationError::NotConnected => {
                AppError::invalid(None, "Microsoft Verified ID is not connected.")
            }
            // Form-level: the claim is a list, with no field error of its own under it.
            IntegrationError::UnknownClaim => AppError::invalid(
                None,
                "The credential carries no claim of that name. Choose one from the list.",
            ),
            IntegrationError::RefreshedRecently => AppError::TooManyRequests {
                message: "Traceless refreshed this connection a moment ago. Try again in a minute."
                    .into(),
                retry_after_secs: traceless::integrations::refresh::MANUAL_SPACING
                    .whole_seconds()
                    .unsigned_abs(),
            },
            // Shown above the button (the form's alert): the form has no field error for it.
            IntegrationError::EmailNotUsable(refusal) => {
                AppError::invalid(None, refusal.to_string())
            }
            IntegrationError::Microsoft(e) => {
                internal(format!("preparing the Microsoft sign-in: {e}"))
            }
            IntegrationError::Database(e) => e.into(),
        }
    }
}

/// The administrator's pick among several connections was refused.
impl From<ConnectFailure> for AppError {
    fn from(failure: ConnectFailure) -> Self {
        match failure {
            ConnectFailure::Internal => internal("storing the connection choice"),
            // The claim list has a field error of its own.
            ConnectFailure::EmailClaimNeeded => {
                AppError::invalid(Some("email_claim"), failure.explain())
            }
            // Everything else (an email that cannot be used, too) is shown above the button.
            other => AppError::invalid(None, other.explain()),
        }
    }
}

impl From<InvalidTenant> for AppError {
    fn from(error: InvalidTenant) -> Self {
        AppError::invalid(Some("tenant"), error.to_string())
    }
}

/// An agent's (or an administrator's) verification request was refused.
impl From<VerificationError> for AppError {
    fn from(error: VerificationError) -> Self {
        match error {
            VerificationError::NotConnected
            | VerificationError::NotActive
            | VerificationError::EmailNotTrusted
            | VerificationError::FaceCheckNotEnabled => AppError::invalid(None, error.to_string()),
            VerificationError::InvalidEmail(_) | VerificationError::DomainNotCovered(_) => {
                AppError::invalid(Some("email"), error.to_string())
            }
            VerificationError::Ticket(e) => {
                let field = match e {
                    InvalidTicket::SubjectTooLong => "ticket_subject",
                    _ => "ticket_reference",
                };
                AppError::invalid(Some(field), e.to_string())
            }
            VerificationError::WrongLink => AppError::invalid(None, error.to_string()),
            VerificationError::NoteTooLong => AppError::invalid(Some("note"), error.to_string()),
            VerificationError::RecoveryLinkByEmailOnly => {
                AppError::invalid(Some("delivery"), error.to_string())
            }
            VerificationError::InvalidSetting(message) => AppError::invalid(None, message),
            VerificationError::AlreadyFinished => AppError::invalid(None, error.to_string()),
            VerificationError::LinkExpired => AppError::Gone(EXPIRED_LINK.into()),
            VerificationError::NotFound => AppError::NotFound(error.to_string()),
            VerificationError::NotAdmin => AppError::Forbidden(ADMIN_ONLY.into()),
            VerificationError::TooMany(refusal) => refusal.into(),
            VerificationError::Microsoft(e) => internal(format!("Microsoft: {e}")),
            VerificationError::Database(e) => internal(format!("database: {e}")),
        }
    }
}

impl From<RemovalError> for AppError {
    fn from(error: RemovalError) -> Self {
        match error {
            RemovalError::Integration(e) => e.into(),
            RemovalError::Cancelling(e) => e.into(),
        }
    }
}

/// A refusal of the person's link (their page, its status), which has its own answers:
/// every refusal of the link looks the same and reveals nothing. Call sites say whose
/// error it is: `.map_err(ForRecipient)?`.
pub struct ForRecipient(pub VerificationError);

impl From<ForRecipient> for AppError {
    fn from(ForRecipient(error): ForRecipient) -> Self {
        match error {
            VerificationError::LinkExpired
            | VerificationError::NotConnected
            | VerificationError::NotActive
            | VerificationError::EmailNotTrusted
            | VerificationError::NotFound => AppError::Gone(EXPIRED_LINK.into()),
            // A settings problem of the organization (its admins see it in the audit log and
            // the agent on the verification's timeline); the link itself is fine.
            VerificationError::FaceCheckNotEnabled => AppError::Upstream {
                message: "This verification cannot start yet: the organization that sent it must change a setting first. Tell the person who sent you this link; the link will work once they have.".into(),
                retry_after_secs: None,
            },
            VerificationError::Microsoft(e) => microsoft_for_recipient(&e),
            other => other.into(),
        }
    }
}

/// Microsoft failed while the person waits: an outage says so and the page retries by
/// itself; a refusal (a revoked consent, a removed authority) cannot be fixed by the person.
fn microsoft_for_recipient(error: &MicrosoftError) -> AppError {
    if error.is_transient() {
        tracing::warn!(error = %error, "Microsoft is not answering a presentation request");
        AppError::Upstream {
            message: "Microsoft is not answering right now. Your link still works: this page tries again by itself.".into(),
            retry_after_secs: Some(RECIPIENT_RETRY_SECS),
        }
    } else {
        tracing::error!(error = %error, "Microsoft refused a presentation request");
        AppError::Upstream {
            message: "Microsoft refused to start this verification. Tell the person who sent you this link: their Traceless administrator needs to check the Microsoft Verified ID connection.".into(),
            retry_after_secs: None,
        }
    }
}

impl From<traceless::recovery::AccountRecoveryError> for AppError {
    fn from(error: traceless::recovery::AccountRecoveryError) -> Self {
        use traceless::recovery::AccountRecoveryError as E;
        match error {
            E::NotAdmin => AppError::Forbidden(ADMIN_ONLY.into()),
            E::NotPermitted => AppError::Forbidden(error.to_string()),
            E::LifetimeOutOfRange => AppError::invalid(Some("lifetime_minutes"), error.to_string()),
            E::UnknownMember => AppError::NotFound(error.to_string()),
            E::Database(e) => e.into(),
            refusal @ (E::NotConnected | E::NotConfigured | E::NoFaceCheck(_) | E::NotEnabled) => {
                AppError::invalid(None, refusal.to_string())
            }
        }
    }
}

impl From<traceless::recovery::RevealError> for AppError {
    fn from(error: traceless::recovery::RevealError) -> Self {
        use traceless::recovery::RevealError as E;
        match error {
            // Like any refused link: nothing about the link or the account.
            E::NothingToShow => AppError::Gone(error.to_string()),
            E::Refused(_) => AppError::invalid(None, error.to_string()),
            E::Database(e) => e.into(),
        }
    }
}
