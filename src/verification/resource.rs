//! A verification as integrated tools see it: the REST API's answers and the webhooks'
//! payloads share this one shape (and its OpenAPI schema), so the two cannot drift apart.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use utoipa::ToSchema;

use super::Verification;
pub use super::status::StatusName;

/// Why a verification failed: a stable `code` and the words the agent sees.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ReasonResource {
    /// `different_email`, `no_email`, `issuer_not_connected_tenant`, `wrong_credential_type`,
    /// `revoked`, `domain_not_covered`, `declined`, `authenticator_error`,
    /// `face_check_below_threshold`, `revocation_unknown`, `email_not_trusted`.
    pub code: String,
    pub message: String,
}

/// What the presented credential showed (once a credential was presented).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct EvidenceResource {
    /// The issuer's DID.
    pub issuer: String,
    pub credential_types: Vec<String>,
    pub display_name: Option<String>,
    pub email: Option<String>,
    pub job_title: Option<String>,
    pub face_check_score: Option<f64>,
    /// Where the credential's email comes from, in words (e.g. "your directory (Microsoft
    /// Entra ID)"); absent for evidence recorded before it was.
    pub email_source: Option<String>,
    /// Every identity-alignment check passed.
    pub all_checks_passed: bool,
}

/// The ticket a verification belongs to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TicketResource {
    /// The help desk's own reference, such as `INC-4711`.
    pub reference: String,
    pub subject: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct VerificationResource {
    /// The verification's id (a UUID).
    pub id: String,
    pub status: StatusName,
    /// Set when `status` is `failed`.
    pub reason: Option<ReasonResource>,
    pub recipient_email: String,
    pub ticket: Option<TicketResource>,
    /// Who started it: a teammate's name, or `API key {name}`.
    pub created_by: String,
    /// Tries the person used up on this link (declined, Authenticator errors).
    pub failed_attempts: u32,
    pub evidence: Option<EvidenceResource>,
    /// RFC 3339 timestamps, UTC.
    pub created_at: String,
    pub updated_at: String,
    pub completed_at: Option<String>,
    pub link_expires_at: String,
}

pub fn rfc3339(at: OffsetDateTime) -> String {
    at.format(&Rfc3339).unwrap_or_else(|_| at.to_string())
}

impl VerificationResource {
    /// `subject` is the ticket's subject where one is known.
    pub fn of(verification: &Verification, ticket_subject: Option<&str>) -> Self {
        let v = verification;
        VerificationResource {
            id: v.id.to_string(),
            status: v.status.name(),
            reason: v.status.failure_reason().map(|r| ReasonResource {
                code: r.as_str().to_owned(),
                message: r.for_agent().to_owned(),
            }),
            recipient_email: v.recipient.to_string(),
            ticket: v.ticket_reference.as_ref().map(|reference| TicketResource {
                reference: reference.clone(),
                subject: ticket_subject.map(str::to_owned),
            }),
            created_by: v.created_by_name.clone(),
            failed_attempts: v.failed_attempts,
            evidence: v.evidence.as_ref().map(|e| EvidenceResource {
                issuer: e.issuer.clone(),
                credential_types: e.credential_types.clone(),
                display_name: e.display_name.clone(),
                email: e.email.clone(),
                job_title: e.job_title.clone(),
                face_check_score: e.face_check_score,
                email_source: e.email_source.clone(),
                all_checks_passed: e.checks.iter().all(|c| c.passed),
            }),
            created_at: rfc3339(v.created_at),
            updated_at: rfc3339(v.updated_at),
            completed_at: v.completed_at.map(rfc3339),
            link_expires_at: rfc3339(v.link_expires_at),
        }
    }
}
