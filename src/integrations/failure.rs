//! Why connecting a tenant failed, as a closed set the card can explain.

use crate::microsoft::{MicrosoftError, Step};

/// The application permission `createPresentationRequest` needs, as the Entra portal names it.
pub const REQUEST_ROLE_PERMISSION: &str = "Verifiable Credentials Service Request: VerifiableCredential.Create.PresentRequest (application)";

/// Who may grant tenant-wide admin consent to Traceless's registration, in the words of the
/// Entra admin center. Both registrations (tenant and provider mode) hold a Microsoft Graph
/// application permission (`Organization.Read.All`, the daily refresh), which Cloud Application
/// and Application Administrators may not grant (Learn:
/// https://learn.microsoft.com/en-us/entra/identity/enterprise-apps/grant-admin-consent,
/// "Prerequisites": they may grant "any permission for any API, except Microsoft Graph app
/// roles (application permissions)").
pub const CONSENT_ROLES: &str = "Global Administrator or Privileged Role Administrator";

/// Why the roles that usually grant consent do not suffice here, said beside `CONSENT_ROLES`.
const CONSENT_ROLES_WHY: &str = "Application Administrators and Cloud Application Administrators cannot grant it, because Traceless asks for a Microsoft Graph application permission (Organization.Read.All, to re-read your tenant daily).";

/// Who may read Verified ID through its admin API, which is all connecting does (Learn:
/// admin-api, "Authentication": Global Administrator or Authentication Policy Administrator;
/// a Global Reader may make read-only calls).
pub const VERIFIED_ID_READ_ROLES: &str =
    "Global Administrator, Authentication Policy Administrator or Global Reader";

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
    /// Consent was declined (AADSTS65004, `permission_denied`, ...).
    ConsentDeclined { detail: String },
    /// The account that signed in may not consent for the organization (AADSTS90094,
    /// 90095, 90099).
    NeedsAdministrator { detail: String },
    /// Signed in and consented, but a grant we need is missing: the tenant's administrator
    /// must grant admin consent for `permission`.
    GrantMissing { permission: String },
    /// Consent was granted, but the account that signed in may not read Verified ID: the
    /// admin API answered 401/403 (a Privileged Role Administrator, say).
    AdminApiRoleMissing,
    /// The admin consent endpoint came back granting less than the app needs (its `scope`
    /// lacks `permission`).
    ConsentIncomplete { permission: String },
    /// Verified ID is set up but none of its authorities has a credential contract.
    NoContracts { tenant_name: String },
    /// The admin's pick on the card named no option of the pending connection, or it expired.
    ChoiceUnavailable,
    /// The picked credential has no email-like claim and the admin named none.
    EmailClaimNeeded,
    /// The picked email claim may not be used: self-issued, of unknown source, or not checked
    /// against the directory without the admin's acceptance. `detail` says which.
    EmailNotUsable { detail: String },
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
    /// The tenant has no Verified ID: no authority, or its service principals are missing
    /// (consent fails with AADSTS650052 / 500011). `detail` is Microsoft's words, if any.
    VerifiedIdNotSetUp {
        tenant_name: String,
        detail: Option<String>,
    },
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
            ConnectFailure::NeedsAdministrator { .. } => "needs_administrator",
            ConnectFailure::GrantMissing { .. } => "grant_missing",
            ConnectFailure::AdminApiRoleMissing => "admin_api_role_missing",
            ConnectFailure::ConsentIncomplete { .. } => "consent_incomplete",
            ConnectFailure::NoContracts { .. } => "no_contracts",
            ConnectFailure::ChoiceUnavailable => "choice_unavailable",
            ConnectFailure::EmailClaimNeeded => "email_claim_needed",
            ConnectFailure::EmailNotUsable { .. } => "email_not_usable",
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
                "Consent for Traceless was declined at Microsoft ({detail}), so nothing was connected. To connect, accept the permissions Microsoft lists."
            ),
            ConnectFailure::NeedsAdministrator { detail } => format!(
                "The account you signed in with cannot consent for your organization ({detail}). Sign in with a {CONSENT_ROLES} of the tenant, or ask one to connect. {CONSENT_ROLES_WHY}"
            ),
            ConnectFailure::GrantMissing { permission } => format!(
                "An administrator of the tenant must grant admin consent for {permission}. Start again and accept with a {CONSENT_ROLES}, or grant it in the Microsoft Entra admin center (Enterprise applications → Traceless → Permissions → Grant admin consent)."
            ),
            ConnectFailure::AdminApiRoleMissing => format!(
                "Consent was granted, but Microsoft does not let the account you signed in with read Verified ID. Reading Verified ID needs a {VERIFIED_ID_READ_ROLES} of the tenant. Sign in with another account that has one of these roles, or ask someone who has one to connect."
            ),
            ConnectFailure::ConsentIncomplete { permission } => format!(
                "Microsoft came back from the admin consent without granting {permission}, so Traceless cannot read your tenant. Start again and accept every permission Microsoft lists, or grant admin consent in the Microsoft Entra admin center (Enterprise applications → Traceless → Permissions → Grant admin consent)."
            ),
            ConnectFailure::NoContracts { tenant_name } => format!(
                "Verified ID is set up for {tenant_name}, but it has no credential contract, so there is no credential Traceless could ask people to present. Ask your Microsoft administrator to set up a credential (for example VerifiedEmployee), then try again."
            ),
            ConnectFailure::EmailClaimNeeded => "This credential has no claim named like an email address. Choose the claim that holds the person's email address.".into(),
            ConnectFailure::EmailNotUsable { detail } => detail.clone(),
            ConnectFailure::ChoiceUnavailable => "That choice is no longer available (it expired after 30 minutes or was already made). Log in to your tenant again.".into(),
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
            ConnectFailure::VerifiedIdNotSetUp { tenant_name, detail } => format!(
                "Microsoft Entra Verified ID is not set up for the tenant {tenant_name}{}. Ask your Microsoft administrator to set up Verified ID, then try again.",
                detail.as_ref().map(|d| format!(" (Microsoft: {d})")).unwrap_or_else(|| ": it has no Verified ID authority".into())
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
                detail: None,
            },
            MicrosoftError::ConsentMissing { permission } => ConnectFailure::GrantMissing {
                permission: (*permission).into(),
            },
            MicrosoftError::MissingRole => ConnectFailure::GrantMissing {
                permission: REQUEST_ROLE_PERMISSION.into(),
            },
            // The delegated token acts with the signed-in user's directory roles: 401/403 at
            // the admin API means this account may not read Verified ID (admin-api,
            // "Authentication"), whatever was consented.
            MicrosoftError::Rejected {
                step: Step::AdminApi,
                status: 401 | 403,
                ..
            } => ConnectFailure::AdminApiRoleMissing,
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
