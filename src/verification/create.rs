//! What it takes to start a verification, whoever starts it: an agent on the send form or a
//! help-desk tool through the REST API. Both build a [`NewVerification`] and call
//! `Verifier::create`.

use crate::email::EmailAddress;
use crate::tickets::TicketInput;

/// How the link reaches the person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Delivery {
    /// The link is handed back to whoever asked (the agent copies it, the tool relays it).
    #[default]
    Link,
    /// Traceless mails the link to the person (through the outbox), and hands it back too.
    Email,
}

impl Delivery {
    pub fn as_str(self) -> &'static str {
        match self {
            Delivery::Link => "link",
            Delivery::Email => "email",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value.trim() {
            "link" | "" => Some(Delivery::Link),
            "email" => Some(Delivery::Email),
            _ => None,
        }
    }
}

/// A verification to start, already parsed.
#[derive(Debug, Clone)]
pub struct NewVerification {
    pub recipient: EmailAddress,
    /// The ticket it belongs to, found by reference or made now.
    pub ticket: Option<TicketInput>,
    /// For the team only; never shown to the person. At most 500 characters.
    pub note: Option<String>,
    pub delivery: Delivery,
    /// An API request's own `webhook_url`: this verification's events go there too, from
    /// its first.
    pub webhook: Option<RequestWebhook>,
    /// What follows a verified result (decided now, never later).
    pub after: After,
}

/// What follows a verified result.
#[derive(Debug, Clone, Default)]
pub enum After {
    /// Nothing: the result is the verification.
    #[default]
    Nothing,
    /// The person gets a Temporary Access Pass on their page (issue 21, `crate::recovery`).
    TemporaryAccessPass(RecoveryPermit),
}

impl After {
    /// The REST API's and the send form's word for it.
    pub fn as_str(&self) -> Option<&'static str> {
        match self {
            After::Nothing => None,
            After::TemporaryAccessPass(_) => Some("temporary_access_pass"),
        }
    }
}

/// Proof that whoever asked may start account recovery and that the organization can do it
/// (recovery on, Face Check on): only `crate::recovery::permit` makes one, so a verification
/// cannot be stored with recovery that was never allowed.
#[derive(Debug, Clone)]
pub struct RecoveryPermit(());

impl RecoveryPermit {
    /// For `crate::recovery::permit` alone, after its checks.
    pub(crate) fn checked() -> RecoveryPermit {
        RecoveryPermit(())
    }
}

/// Where one API request wants its verification's events, and the key that signs them.
#[derive(Debug, Clone)]
pub struct RequestWebhook {
    pub url: crate::webhooks::EndpointUrl,
    /// The API key's webhook signing secret.
    pub secret: String,
}
