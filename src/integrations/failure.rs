//! Why connecting a tenant failed, as a closed set the card can explain.

use crate::microsoft::{MicrosoftError, Step};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StateProblem {
    /// No connect attempt has this state (or none was given).
    Unknown,
    Expired,
    /// The attempt was already used: a replayed or reloaded return URL.
    Reused,
    /// The attempt belongs to another browser session or another admin.
    OtherSession,
}

/// A failed connect, in terms of the guide's troubleshooting: each says what happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnectFailure {
    /// The admin pressed Cancel at Microsoft.
    Cancelled,
    /// Consent was declined or needs an administrator (AADSTS65004, 90094, ...).
    ConsentDeclined { detail: String },
    /// Microsoft redirected back with another `error`.
    MicrosoftError { code: String, detail: String },
    /// The return did not belong to a live connect attempt of this session.
    SessionInterrupted(StateProblem),
    /// A Microsoft step failed (code exchange, ID token, Graph, Verified ID admin API).
    StepFailed {
        step: String,
        detail: String,
        transient: bool,
    },
    /// The tenant has no Verified ID authority.
    VerifiedIdNotSetUp { tenant_name: String },
    /// The tenant is already linked to another Traceless organization.
    TenantLinkedElsewhere { tenant_name: String },
    /// The person who returned is not an organization administrator (any more).
    NotAdmin,
    /// Our own storage failed.
    Internal,
}

impl ConnectFailure {
    /// A short machine-readable cause, for the audit log and tests.
    pub fn code(&self) -> &'static str {
        match self {
            ConnectFailure::Cancelled => "cancelled",
            ConnectFailure::ConsentDeclined { .. } => "consent_declined",
            ConnectFailure::MicrosoftError { .. } => "microsoft_error",
            ConnectFailure::SessionInterrupted(StateProblem::Unknown) => "state_unknown",
            ConnectFailure::SessionInterrupted(StateProblem::Expired) => "state_expired",
            ConnectFailure::SessionInterrupted(StateProblem::Reused) => "state_reused",
            ConnectFailure::SessionInterrupted(StateProblem::OtherSession) => "state_other_session",
            ConnectFailure::StepFailed { .. } => "step_failed",
            ConnectFailure::VerifiedIdNotSetUp { .. } => "verified_id_not_set_up",
            ConnectFailure::TenantLinkedElsewhere { .. } => "tenant_linked_elsewhere",
            ConnectFailure::NotAdmin => "not_admin",
            ConnectFailure::Internal => "internal",
        }
    }

    /// What happened, in words for the admin; never a token or a secret.
    pub fn explain(&self) -> String {
        match self {
            ConnectFailure::Cancelled => "You cancelled the sign-in at Microsoft, so nothing was connected.".into(),
            ConnectFailure::ConsentDeclined { detail } => format!(
                "Microsoft did not grant consent for Traceless to connect to your tenant: {detail}. Sign in with an account that can consent for your organization (for example a Global Administrator)."
            ),
            ConnectFailure::MicrosoftError { code, detail } => {
                format!("Microsoft could not complete authorization ({code}): {detail}")
            }
            ConnectFailure::SessionInterrupted(problem) => match problem {
                StateProblem::Unknown => "The sign-in did not come back to the session that started it, so it was not trusted.".into(),
                StateProblem::Expired => "The sign-in took longer than 10 minutes, so it expired.".into(),
                StateProblem::Reused => "This sign-in was already used. Each sign-in at Microsoft can connect only once.".into(),
                StateProblem::OtherSession => "The sign-in was started in another browser session or by another person, so it was not trusted.".into(),
            },
            ConnectFailure::StepFailed { step, detail, transient } => {
                if *transient {
                    format!("{step} did not answer properly ({detail}). This is usually temporary: try again in a few minutes.")
                } else {
                    format!("{step} refused the request: {detail}")
                }
            }
            ConnectFailure::VerifiedIdNotSetUp { tenant_name } => format!(
                "Microsoft Entra Verified ID is not set up for the tenant {tenant_name}: it has no Verified ID authority. Ask your Microsoft administrator to set up Verified ID, then try again."
            ),
            ConnectFailure::TenantLinkedElsewhere { tenant_name } => format!(
                "The Microsoft tenant {tenant_name} is already connected to another Traceless organization. A tenant can be connected to one organization only; remove it there first."
            ),
            ConnectFailure::NotAdmin => "You must be an organization administrator in Traceless to connect integrations.".into(),
            ConnectFailure::Internal => "Something went wrong on our side. Try again in a moment.".into(),
        }
    }

    pub(crate) fn from_microsoft(error: &MicrosoftError) -> Self {
        match error {
            MicrosoftError::VerifiedIdNotSetUp => ConnectFailure::VerifiedIdNotSetUp {
                tenant_name: "you signed in to".into(),
            },
            other => ConnectFailure::StepFailed {
                step: other.step().map(step_name).unwrap_or("Microsoft").into(),
                detail: other.to_string(),
                transient: other.is_transient(),
            },
        }
    }
}

fn step_name(step: Step) -> &'static str {
    match step {
        Step::CodeExchange | Step::AdminApiToken | Step::AppToken => "Microsoft sign-in",
        Step::Discovery => "Checking Microsoft's sign-in token",
        Step::Graph => "Microsoft Graph",
        Step::AdminApi => "The Verified ID admin API",
        Step::PresentationRequest => "The Verified ID request service",
        Step::Callback => "Verified ID",
    }
}
