//! Plain data that crosses between server functions and pages.

use serde::{Deserialize, Serialize};
pub use vocabulary::{EventKind, FailureReason, StatusName};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Role {
    Admin,
    Agent,
}

impl Role {
    pub fn label(self) -> &'static str {
        match self {
            Role::Admin => "Organization administrator",
            Role::Agent => "Agent",
        }
    }

    pub fn form_value(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Agent => "agent",
        }
    }
}

/// The signed-in person, for the header and the overview page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Me {
    pub name: String,
    pub email: String,
    pub role: Role,
    pub organization: String,
    /// The development mailbox is on and theirs to read (admins, no SMTP configured).
    #[serde(default)]
    pub mailbox: bool,
    /// Their address is confirmed; until it is, every page says so and nothing of the
    /// organization's is shown.
    #[serde(default)]
    pub email_confirmed: bool,
}

impl Me {
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Member {
    pub id: String,
    pub name: String,
    pub email: String,
    pub role: Role,
    pub is_you: bool,
    pub since: String,
    /// Two-step verification is on for them.
    #[serde(default)]
    pub two_step: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PendingTeammate {
    pub id: String,
    pub name: String,
    pub email: String,
    pub role: Role,
    pub expires: String,
    pub expired: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Team {
    pub members: Vec<Member>,
    pub pending: Vec<PendingTeammate>,
}

/// A freshly made invite link: shown to the admin once, never stored in clear.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InviteLink {
    pub name: String,
    pub email: String,
    pub url: String,
    pub expires: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Invite {
    pub organization: String,
    pub name: String,
    pub email: String,
    pub role: Role,
}

/// The Microsoft Verified ID connection card.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MicrosoftCard {
    /// Organization administrators may connect and remove; others only look.
    pub can_manage: bool,
    pub connection: Option<MicrosoftConnection>,
    /// A connect waiting for the admin to pick an authority and credential.
    pub pending: Option<PendingChoice>,
    /// The outcome of the last return from Microsoft in this session, shown once.
    pub outcome: Option<ConnectOutcome>,
}

/// Several authorities or credential types: the admin picks one on the card.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PendingChoice {
    pub tenant_name: String,
    pub domains: Vec<String>,
    pub options: Vec<ChoiceOption>,
    /// When the choice stops being offered.
    pub expires_at: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChoiceOption {
    pub authority_id: String,
    pub authority_name: String,
    pub authority_did: String,
    pub linked_domain_verified: bool,
    pub credential_type: String,
    pub claims: Vec<String>,
    /// The claim taken for the email unless the admin picks another; `None`: they must.
    pub default_email_claim: Option<String>,
    /// The claims that may hold the email, with where each comes from (self-issued and
    /// unknown ones are left out: they are never offered).
    pub email_choices: Vec<EmailChoice>,
}

/// A claim that may hold the email, and where it comes from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmailChoice {
    pub claim: String,
    /// Where it comes from, in words.
    pub source: String,
    /// Backed by the directory: no warning. Otherwise the admin must accept the warning.
    pub directory_backed: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MicrosoftConnection {
    pub tenant_name: String,
    pub tenant_id: String,
    pub authority_did: String,
    pub credential_type: String,
    /// False when the authority's linked domain is not verified, or the email is not one we
    /// may trust: nothing can be verified.
    pub active: bool,
    /// Microsoft's listing did not say whether the linked domain is verified and it could not
    /// be confirmed: active, Microsoft checks it when the person presents.
    pub linked_domain_unconfirmed: bool,
    /// When Microsoft last confirmed the connection (connect or refresh).
    pub last_confirmed_at: Option<String>,
    /// Why the last refresh failed; the last known state is kept.
    pub refresh_problem: Option<String>,
    /// Domains that left the tenant and are no longer covered, and since when.
    pub removed_domains: Vec<String>,
    pub domains_removed_at: Option<String>,
    /// The credential types the authority offers, as last read.
    pub credential_types: Vec<String>,
    /// When Microsoft last confirmed the authority and its credential types.
    pub authority_confirmed_at: Option<String>,
    /// Microsoft no longer accepts the kept sign-in: an administrator must sign in again to
    /// re-read the authority.
    pub authority_sign_in_needed: bool,
    /// A sign-in is kept, so the authority is re-read daily; otherwise only when an
    /// administrator signs in.
    pub authority_reread_daily: bool,
    /// False when the authority's linked domain is known not to be verified.
    pub linked_domain_verified: bool,
    pub email_claim: String,
    pub available_claims: Vec<String>,
    /// Where the connected credential's email comes from, in words.
    pub email_source: String,
    pub email_directory_backed: bool,
    /// An admin accepted an email not checked against the directory.
    pub email_source_accepted: bool,
    /// The email is usable (directory-backed, or accepted).
    pub email_usable: bool,
    /// Claims an admin may choose as the email (directory-backed or acceptable with the
    /// warning).
    pub email_choices: Vec<EmailChoice>,
    /// The credential's photo claim: Face Check is offered only with one.
    pub photo_claim: Option<String>,
    pub domains: Vec<String>,
    pub microsoft_account: String,
    pub connected_by: String,
    pub connected_at: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ConnectOutcome {
    Connected,
    ChoiceNeeded,
    Failed { code: String, detail: String },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub id: i64,
    pub at: String,
    pub actor: String,
    pub action: String,
    pub detail: String,
    /// The client's address, when the entry came from a person's browser.
    #[serde(default)]
    pub client: Option<String>,
}

/// One verification event as the live pages receive it (server-sent event data).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LiveEvent {
    pub id: i64,
    pub kind: EventKind,
    /// The verification's status after this event.
    pub status: StatusName,
    /// The timeline's words; only on the agent's stream.
    pub message: Option<String>,
    /// Unix seconds.
    pub at: i64,
}

impl LiveEvent {
    pub fn is_terminal(&self) -> bool {
        self.status.is_terminal()
    }

    /// The reason of a failure or a failed try, if this is one.
    pub fn reason(&self) -> Option<FailureReason> {
        self.kind.reason()
    }
}

/// A verification just started: the link is shown once, to be sent to the person.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StartedVerification {
    pub id: String,
    pub recipient: String,
    /// `None` with account recovery: then only the person gets the link, by mail.
    pub link: Option<String>,
    pub expires: String,
    /// The link is in the outbox, on its way to the person by mail.
    pub emailed: bool,
    pub ticket_id: Option<String>,
    pub ticket_reference: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VerificationSummary {
    pub id: String,
    pub recipient: String,
    pub ticket_reference: Option<String>,
    pub ticket_id: Option<String>,
    pub status: StatusName,
    pub status_label: String,
    pub started_by: String,
    pub started: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VerificationDetail {
    pub id: String,
    pub recipient: String,
    pub ticket_reference: Option<String>,
    pub ticket_id: Option<String>,
    pub note: Option<String>,
    pub status: StatusName,
    pub status_label: String,
    /// For a failure: which of the guide's causes it is.
    pub failure: Option<String>,
    /// An identity mismatch: flag it to the agent.
    pub mismatch: bool,
    pub started_by: String,
    pub started: String,
    pub link_expires: String,
    pub finished: Option<String>,
    pub evidence: Option<EvidenceView>,
    pub events: Vec<TimelineEntry>,
    pub tries_used: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvidenceView {
    pub issuer: String,
    pub credential_types: Vec<String>,
    pub display_name: Option<String>,
    pub email: Option<String>,
    pub job_title: Option<String>,
    pub face_check_score: Option<f64>,
    /// Where the credential's email comes from, in words ("email source: …").
    pub email_source: Option<String>,
    pub checks: Vec<CheckView>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckView {
    pub label: String,
    pub passed: bool,
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimelineEntry {
    pub id: i64,
    pub kind: EventKind,
    pub status: StatusName,
    pub message: String,
    pub at: String,
}

/// The person's verification page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecipientPage {
    pub organization: String,
    pub asked_by: String,
    pub recipient: String,
    pub ticket_reference: Option<String>,
    pub status: StatusName,
    /// After a declined or failed try that may be retried: what happened.
    pub retry_reason: Option<String>,
    pub request: Option<QrRequest>,
    /// The newest event the page reflects; the live stream resumes after it.
    pub last_event_id: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QrRequest {
    /// `openid-vc://…`: the deep link.
    pub url: String,
    /// The QR code, drawn by our server.
    pub qr_svg: String,
    /// Unix seconds.
    pub expires_at: i64,
    /// Seconds left when the server answered: the page counts down from this, so a
    /// phone whose clock is off still renews in time.
    pub expires_in_secs: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerificationSettings {
    pub link_lifetime_hours: u32,
    pub face_check_threshold: Option<u8>,
    /// The connected credential's photo claim: Face Check is offered only with one.
    pub photo_claim: Option<String>,
}

/// An organization API key as admins see it (never the key itself).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiKeyView {
    pub id: String,
    pub name: String,
    /// `tl_live_abcd`
    pub prefix: String,
    pub created_by: String,
    pub created: String,
    pub last_used: Option<String>,
    pub revoked: Option<String>,
}

/// A key just created: shown once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewApiKey {
    pub name: String,
    pub key: String,
    pub webhook_secret: String,
}

/// An event type admins can subscribe an endpoint to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventTypeOption {
    pub name: String,
    pub description: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Webhooks {
    pub endpoints: Vec<WebhookEndpointView>,
    pub event_types: Vec<EventTypeOption>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WebhookEndpointView {
    pub id: String,
    pub url: String,
    pub event_types: Vec<String>,
    pub created_by: String,
    pub created: String,
    /// Failing since then (the last success is older).
    pub failing_since: Option<String>,
    /// Disabled after a day of failures: when, and why.
    pub disabled: Option<(String, String)>,
    pub deliveries: Vec<DeliveryView>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeliveryView {
    pub id: String,
    pub event_type: String,
    /// `pending`, `delivered` or `failed`.
    pub state: String,
    pub verification_id: String,
    pub created: String,
    pub next_attempt: Option<String>,
    pub attempts: Vec<AttemptView>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttemptView {
    pub at: String,
    /// `HTTP 200`, or "no answer".
    pub status: String,
    pub ok: bool,
    pub latency_ms: u64,
    pub response: String,
}

/// An endpoint just added, with its signing secret (shown once).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewWebhookEndpoint {
    pub url: String,
    pub secret: String,
}

/// A ticket in the list of the Tickets page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TicketSummary {
    pub id: String,
    pub reference: String,
    pub subject: Option<String>,
    pub source: String,
    pub updated: String,
}

/// A ticket's page: its verifications and its timeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TicketDetail {
    pub id: String,
    pub reference: String,
    pub subject: Option<String>,
    pub requester_email: Option<String>,
    pub source: String,
    pub created: String,
    pub verifications: Vec<VerificationSummary>,
    pub timeline: Vec<TicketEntry>,
}

/// One line of a ticket's timeline; also the data of its live stream's events.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TicketEntry {
    pub id: i64,
    /// `sent`, `emailed`, `mail_delivered`, `mail_failed`, `opened`, `scanned`, `verified`,
    /// `failed`, `try_failed`, `expired`, `cancelled`.
    pub kind: String,
    pub label: String,
    /// Who did it.
    pub actor: String,
    pub detail: String,
    pub verification_id: Option<String>,
    pub at: String,
}

/// A mail in the development mailbox.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MailboxMessage {
    /// The stable message id (the mail's Message-ID).
    pub id: String,
    pub to: String,
    pub subject: String,
    pub text: String,
    /// The links in the mail, to click.
    pub links: Vec<String>,
    pub delivered: String,
}

/// One of the signed-in person's sessions, for the "Sessions" page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionView {
    pub id: String,
    pub device: String,
    pub address: Option<String>,
    pub signed_in: String,
    pub last_seen: String,
    /// The session of the browser asking ("This device").
    pub current: bool,
}
