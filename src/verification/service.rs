//! Verification use cases. Each state change is stored with its event in one
//! transaction, then announced on the relay.

use std::sync::Arc;
use std::time::Duration;

use time::OffsetDateTime;
use url::Url;
use uuid::Uuid;

use super::alignment::{self, Evidence, Expectation};
use super::create::{Delivery, NewVerification};
use super::hooks::{EventRecord, Reactions};
use super::status::{self, FailureReason, Input, MAX_FAILED_ATTEMPTS, Outcome, Status};
use super::throttle::PresentationThrottle;
use super::{Event, Verification, store};
use crate::accounts::{Initiator, OrganizationId, User};
use crate::audit::{self, Action};
use crate::db::{self, Pool};
use crate::email::{EmailAddress, InvalidEmail};
use crate::integrations::{self, MicrosoftIntegration, VerifierIdentity};
use crate::live::{Announcement, Publisher, Topic};
use crate::microsoft::{
    Callback, CallbackEvent, CredentialType, Did, EmailSource, ErrorInfo, FaceCheck,
    MicrosoftClient, MicrosoftError, PresentationCallback, PresentationRequest, Registration,
    TenantId,
};
use crate::secret::{Secret, SecretHash, looks_like_secret};
use crate::tickets::{self, InvalidTicket, TicketInput};

/// How many overdue verifications one sweep expires at most (the next sweep takes the rest).
const EXPIRY_BATCH: i64 = 500;

/// A request with less life left than this is replaced before it is shown.
pub const REQUEST_MARGIN: Duration = Duration::from_secs(30);
/// The longest note, in characters (the REST API declares it too).
pub const MAX_NOTE_CHARS: usize = 500;

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
    Microsoft(#[from] MicrosoftError),
    #[error("database error")]
    Database(#[from] sqlx::Error),
}

/// A callback whose `api-key` matched one of our presentation requests: only this lets
/// its body be read ([`Verifier::handle_callback`]).
pub struct AuthorizedCallback {
    request: store::StoredRequest,
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

/// The send form's fields, as typed.
pub struct StartVerification<'a> {
    pub email: &'a str,
    pub ticket_reference: Option<&'a str>,
    pub ticket_subject: Option<&'a str>,
    pub note: Option<&'a str>,
    pub delivery: Delivery,
}

/// A new verification and its link secret (shown once to the agent, stored hashed).
pub struct Started {
    pub verification: Verification,
    pub link: Secret,
}

/// What the recipient's page shows.
pub struct RecipientView {
    pub verification: Verification,
    pub organization_name: String,
    /// The Microsoft request to scan; `None` only while the person is in Authenticator.
    pub request: Option<LiveRequest>,
    /// The last try failed but they may try again.
    pub retry_after: Option<FailureReason>,
    /// The newest stored event: the page's live stream resumes after it.
    pub last_event_id: i64,
}

#[derive(Debug, Clone)]
pub struct LiveRequest {
    /// `openid-vc://?request_uri=...`: the QR code and the deep link.
    pub url: String,
    pub expires_at: OffsetDateTime,
}

/// The organization's verification settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    pub link_lifetime_hours: u32,
    pub face_check_threshold: Option<u8>,
}

pub struct Verifier {
    pool: Pool,
    microsoft: MicrosoftClient,
    relay: Arc<dyn Publisher>,
    callback_url: Url,
    identity: VerifierIdentity,
    throttle: PresentationThrottle,
    /// Links to the person's page are built from it.
    public_url: Url,
    /// What follows from each stored event (ticket timeline, outbox, webhooks).
    reactions: Arc<dyn Reactions>,
}

impl Verifier {
    /// Who verifies presentations (the customer's tenant, or ours as a service provider).
    pub fn identity(&self) -> &VerifierIdentity {
        &self.identity
    }

    pub fn new(
        pool: Pool,
        microsoft: MicrosoftClient,
        relay: Arc<dyn Publisher>,
        callback_url: Url,
        identity: VerifierIdentity,
        public_url: Url,
        reactions: Arc<dyn Reactions>,
    ) -> Self {
        Self {
            pool,
            microsoft,
            relay,
            callback_url,
            identity,
            throttle: PresentationThrottle::default(),
            public_url,
            reactions,
        }
    }

    /// The person's page for a link secret.
    pub fn link_url(&self, link: &Secret) -> Url {
        self.url_of_token(link.expose())
    }

    fn url_of_token(&self, token: &str) -> Url {
        self.public_url
            .join(&format!("verify/{token}"))
            .expect("a link token is a valid path segment")
    }

    /// Caps new Microsoft presentation requests per link at `rate`.
    pub fn with_presentation_limit(mut self, rate: crate::rate_limit::Rate) -> Self {
        self.throttle = PresentationThrottle::new(rate);
        self
    }

    pub fn relay(&self) -> &Arc<dyn Publisher> {
        &self.relay
    }

    /// An agent (or admin) starts a verification from the send form. Nothing is stored when
    /// refused.
    pub async fn start(
        &self,
        actor: &User,
        input: StartVerification<'_>,
    ) -> Result<Started, VerificationError> {
        let recipient = EmailAddress::parse(input.email)?;
        let ticket =
            TicketInput::parse(input.ticket_reference.unwrap_or(""), input.ticket_subject)?;
        let note =
            optional_text(input.note, MAX_NOTE_CHARS).ok_or(VerificationError::NoteTooLong)?;
        self.create(
            &Initiator::agent(actor),
            NewVerification {
                recipient,
                ticket,
                note: note.map(str::to_owned),
                delivery: input.delivery,
                webhook: None,
            },
        )
        .await
    }

    /// Starts a verification for whoever asks (the send form, the REST API): with its ticket
    /// (found by reference or made now) and, for [`Delivery::Email`], the link mail in the
    /// outbox, all in one transaction. Nothing is stored when refused.
    pub async fn create(
        &self,
        by: &Initiator,
        new: NewVerification,
    ) -> Result<Started, VerificationError> {
        let note = optional_text(new.note.as_deref(), MAX_NOTE_CHARS)
            .ok_or(VerificationError::NoteTooLong)?;
        let recipient = new.recipient;
        let integration = integrations::integration(&self.pool, by.organization_id)
            .await?
            .ok_or(VerificationError::NotConnected)?;
        if !integration.email_is_usable() {
            return Err(VerificationError::EmailNotTrusted);
        }
        if !integration.is_active() {
            return Err(VerificationError::NotActive);
        }
        if !integration.covers(recipient.domain()) {
            return Err(VerificationError::DomainNotCovered(
                recipient.domain().to_owned(),
            ));
        }
        let mut tx = db::begin_write(&self.pool).await?;
        let (settings, _) = settings_of(&mut tx, by.organization_id).await?;
        let ticket_id = match &new.ticket {
            Some(ticket) => Some(
                tickets::store::find_or_create(
                    &mut tx,
                    by.organization_id,
                    ticket,
                    recipient.as_str(),
                    &by.source,
                )
                .await?,
            ),
            None => None,
        };
        let link = Secret::generate();
        let id = store::insert(
            &mut tx,
            store::NewVerification {
                organization_id: by.organization_id,
                created_by: by.user_id,
                created_by_name: &by.name,
                recipient: &recipient,
                ticket_id: ticket_id.map(|t| t.0),
                ticket_reference: new.ticket.as_ref().map(|t| t.reference.as_str()),
                note,
                link_hash: link.hash().as_str(),
                link_expires_at: OffsetDateTime::now_utc()
                    + Duration::from_secs(u64::from(settings.link_lifetime_hours) * 3600),
            },
        )
        .await?;
        if let Some(webhook) = &new.webhook {
            crate::webhooks::add_request_endpoint(
                &mut tx,
                by.organization_id,
                id,
                &webhook.url,
                &webhook.secret,
                &by.name,
            )
            .await?;
        }
        let verification = store::by_id(&mut tx, by.organization_id, id)
            .await?
            .ok_or(VerificationError::NotFound)?;
        let mut last_event = record_event(
            &mut tx,
            self.reactions.as_ref(),
            &verification,
            "created",
            Status::Created,
            &format!("{} started a verification for {}", by.name, recipient),
            Some(&by.name),
            None,
        )
        .await?;
        if new.delivery == Delivery::Email {
            let url = self.link_url(&link);
            last_event = self
                .record_link_emailed(&mut tx, &verification, &by.name, &url)
                .await?;
        }
        tx.commit().await?;
        self.announce(&verification, last_event);
        tracing::info!(organization = %by.organization_id, verification = %id, delivery = new.delivery.as_str(), "verification started");
        Ok(Started { verification, link })
    }

    /// "Send by email" after the fact: the agent hands back the link they were shown (it is
    /// stored only hashed), and it goes to the outbox with an event on the timeline.
    pub async fn email_link(
        &self,
        actor: &User,
        id: Uuid,
        link: &str,
    ) -> Result<(), VerificationError> {
        let token = link.trim().rsplit('/').next().unwrap_or_default();
        let mut tx = db::begin_write(&self.pool).await?;
        let verification = store::by_id(&mut tx, actor.organization_id, id)
            .await?
            .ok_or(VerificationError::NotFound)?;
        let matches = looks_like_secret(token)
            && store::by_link_hash(&mut tx, SecretHash::of(token).as_str())
                .await?
                .is_some_and(|v| v.id == verification.id);
        if !matches {
            return Err(VerificationError::WrongLink);
        }
        if verification.status.is_terminal()
            || verification.link_expires_at <= OffsetDateTime::now_utc()
        {
            return Err(VerificationError::AlreadyFinished);
        }
        let url = self.url_of_token(token);
        let event = self
            .record_link_emailed(&mut tx, &verification, &actor.display_name, &url)
            .await?;
        tx.commit().await?;
        self.announce(&verification, event);
        Ok(())
    }

    async fn record_link_emailed(
        &self,
        conn: &mut impl crate::db::Connection,
        verification: &Verification,
        by: &str,
        url: &Url,
    ) -> Result<i64, VerificationError> {
        Ok(record_event(
            conn,
            self.reactions.as_ref(),
            verification,
            "link_emailed",
            verification.status,
            &format!("{by} had the link emailed to {}", verification.recipient),
            Some(by),
            Some(url),
        )
        .await?)
    }

    /// The person opened their link: make sure a live Microsoft request is there to scan.
    pub async fn open(&self, token: &str) -> Result<RecipientView, VerificationError> {
        self.recipient_view(token, false).await
    }

    /// A fresh Microsoft request for the page (the old one is about to expire, or the
    /// person wants to try again after declining).
    pub async fn renew(&self, token: &str) -> Result<RecipientView, VerificationError> {
        self.recipient_view(token, true).await
    }

    async fn recipient_view(
        &self,
        token: &str,
        force_new: bool,
    ) -> Result<RecipientView, VerificationError> {
        let mut verification = self.by_token(token).await?;
        if verification.status.is_terminal() {
            return Err(VerificationError::LinkExpired);
        }
        if verification.link_expires_at <= OffsetDateTime::now_utc() {
            self.transition(&verification, Input::LinkExpired, None, None, None)
                .await?;
            return Err(VerificationError::LinkExpired);
        }
        if verification.status == Status::Created {
            self.transition(&verification, Input::PageOpened, None, None, None)
                .await?;
            verification = self.by_token(token).await?;
        }
        let mut conn = self.pool.acquire().await?;
        let (_, organization_name) = settings_of(&mut conn, verification.organization_id).await?;
        let latest = store::latest_request(&mut conn, verification.id).await?;
        drop(conn);
        let reusable = latest.filter(|r| {
            matches!(r.state.as_str(), "pending" | "retrieved")
                && r.expires_at > OffsetDateTime::now_utc() + REQUEST_MARGIN
        });
        let request = match (reusable, verification.status) {
            // The person is finishing on their phone: do not pull the QR code away.
            (Some(r), Status::Scanned) => Some(r),
            (None, Status::Scanned) if !force_new => None,
            (Some(r), _) if !force_new => Some(r),
            _ => Some(self.create_request(&verification).await?),
        };
        let verification = self.by_token(token).await?;
        let events = self.events_after(verification.id, 0).await?;
        // While the person is finishing in Authenticator, the last failure is old news.
        let retry_after =
            if verification.failed_attempts == 0 || verification.status == Status::Scanned {
                None
            } else {
                events.iter().rev().find_map(|e| {
                    e.kind
                        .strip_prefix("attempt_failed.")
                        .and_then(FailureReason::parse)
                })
            };
        Ok(RecipientView {
            retry_after,
            last_event_id: events.last().map_or(0, |e| e.id),
            verification,
            organization_name,
            request: request.map(|r| LiveRequest {
                url: r.url,
                expires_at: r.expires_at,
            }),
        })
    }

    async fn create_request(
        &self,
        verification: &Verification,
    ) -> Result<store::StoredRequest, VerificationError> {
        self.throttle.check(verification.id)?;
        let integration = integrations::integration(&self.pool, verification.organization_id)
            .await?
            .ok_or(VerificationError::NotConnected)?;
        let mut conn = self.pool.acquire().await?;
        let (settings, organization_name) =
            settings_of(&mut conn, verification.organization_id).await?;
        drop(conn);

        let malformed = |what: &str| {
            MicrosoftError::InvalidConfiguration(format!("stored {what} is not valid"))
        };
        let tenant = TenantId::parse(&integration.tenant_id).map_err(|_| malformed("tenant id"))?;
        let authority =
            Did::parse(&integration.authority_did).map_err(|_| malformed("authority DID"))?;
        let credential_type = CredentialType::parse(&integration.credential_type)
            .map_err(|_| malformed("credential type"))?;
        // Who verifies: the customer's tenant with its own authority, or our tenant and
        // authority with the customer's DID as the accepted issuer.
        let (verifier_tenant, verifier_did) = match &self.identity {
            VerifierIdentity::CustomerTenant => (tenant, authority.clone()),
            VerifierIdentity::ServiceProvider {
                tenant_id,
                authority,
            } => (tenant_id.clone(), authority.clone()),
        };
        let app_token = self.microsoft.app_token(&verifier_tenant).await?;
        let request_id = Uuid::new_v4();
        let api_key = super::callback_key::CallbackKey::issue(request_id);
        let mut request = PresentationRequest::new(
            verifier_did,
            credential_type,
            Registration {
                client_name: format!("{organization_name} (Traceless)"),
                purpose: Some(format!(
                    "{} asks you to confirm you are {}",
                    verification.created_by_name, verification.recipient
                )),
            },
            PresentationCallback::new(
                self.callback_url.clone(),
                request_id.to_string(),
                api_key.header(),
            ),
        );
        request = request.accepting_issuer(authority);
        // Face Check only where it can work: against the credential's own photo claim. A
        // credential without one is requested without Face Check (the settings page does not
        // offer it then).
        let face_check_threshold = match (&integration.photo_claim, settings.face_check_threshold) {
            (Some(photo), Some(threshold)) => {
                request = request.with_face_check(FaceCheck::on(photo, threshold));
                Some(threshold)
            }
            _ => None,
        };
        let created = match self
            .microsoft
            .create_presentation_request(&app_token, &request)
            .await
        {
            Ok(created) => created,
            Err(error) if face_check_threshold.is_some() && is_face_check_refusal(&error) => {
                self.record_face_check_refusal(verification, &error).await?;
                return Err(VerificationError::FaceCheckNotEnabled);
            }
            Err(error) => return Err(error.into()),
        };
        let stored = store::StoredRequest {
            id: request_id,
            verification_id: verification.id,
            organization_id: verification.organization_id,
            microsoft_request_id: created.request_id.clone(),
            api_key_hash: api_key.hash().as_str().to_owned(),
            url: created.url.clone(),
            expires_at: created.expiry,
            state: "pending".into(),
            face_check_threshold,
        };
        let mut tx = db::begin_write(&self.pool).await?;
        store::insert_request(
            &mut tx,
            store::NewRequest {
                id: request_id,
                verification,
                microsoft_request_id: &created.request_id,
                api_key_hash: &stored.api_key_hash,
                url: &created.url,
                expires_at: created.expiry,
                face_check_threshold,
            },
        )
        .await?;
        // Re-read inside the transaction: a callback may have moved it meanwhile.
        let current = store::by_id(&mut tx, verification.organization_id, verification.id)
            .await?
            .ok_or(VerificationError::NotFound)?;
        let announced = apply(
            &mut tx,
            self.reactions.as_ref(),
            &current,
            Input::RequestCreated,
            None,
            Some(&stored.expires_at),
        )
        .await?;
        tx.commit().await?;
        if let Some(event) = announced {
            self.announce(&current, event);
        }
        Ok(stored)
    }

    /// Microsoft refused Face Check for the tenant: a settings problem for the admin (audit
    /// log) and the agent (the verification's timeline), not a broken link for the person.
    async fn record_face_check_refusal(
        &self,
        verification: &Verification,
        error: &MicrosoftError,
    ) -> Result<(), VerificationError> {
        tracing::warn!(error = %error, "Microsoft refused Face Check: not enabled for the tenant");
        let words = VerificationError::FaceCheckNotEnabled.to_string();
        let mut tx = db::begin_write(&self.pool).await?;
        // Re-read under the write lock: the event carries the status it has now.
        let verification = &store::by_id(&mut tx, verification.organization_id, verification.id)
            .await?
            .ok_or(VerificationError::NotFound)?;
        audit::record(
            &mut tx,
            verification.organization_id,
            None,
            Action::MicrosoftFaceCheckRefused,
            &words,
        )
        .await?;
        let event = record_event(
            &mut tx,
            self.reactions.as_ref(),
            verification,
            "face_check_not_enabled",
            verification.status,
            &words,
            None,
            None,
        )
        .await?;
        tx.commit().await?;
        self.announce(verification, event);
        Ok(())
    }

    /// Checks a callback's `api-key` header, before its body is read: the key names our
    /// request (`callback_key`), whose stored hash it must match. Unknown requests and wrong
    /// keys alike are `Unauthorized`, so the answer tells a guesser nothing.
    pub async fn authorize_callback(
        &self,
        api_key: Option<&str>,
    ) -> Result<AuthorizedCallback, CallbackError> {
        let (request_id, secret) = api_key
            .and_then(super::callback_key::parse)
            .ok_or(CallbackError::Unauthorized)?;
        let mut conn = self.pool.acquire().await.map_err(|e| {
            tracing::error!(error = %e, "checking a Verified ID callback's key");
            CallbackError::Internal
        })?;
        let request = store::request(&mut conn, request_id)
            .await
            .map_err(|e| {
                tracing::error!(error = %e, "checking a Verified ID callback's key");
                CallbackError::Internal
            })?
            .ok_or(CallbackError::Unauthorized)?;
        if !SecretHash::from_stored(request.api_key_hash.clone()).matches(secret) {
            return Err(CallbackError::Unauthorized);
        }
        Ok(AuthorizedCallback { request })
    }

    /// Handles one callback from Microsoft whose key was checked. Refusals change nothing;
    /// accepted callbacks (including no-ops) are recorded as events.
    pub async fn handle_callback(
        &self,
        authorized: AuthorizedCallback,
        body: &[u8],
    ) -> Result<(), CallbackError> {
        let callback =
            Callback::parse(body).map_err(|e| CallbackError::Malformed(e.to_string()))?;
        let request = authorized.request;
        let internal = |e: sqlx::Error| {
            tracing::error!(error = %e, "handling a Verified ID callback");
            CallbackError::Internal
        };
        // The key named one of our requests; the body must be about that request, by our
        // state and by Microsoft's id.
        if callback.state.parse::<Uuid>().ok() != Some(request.id)
            || request.microsoft_request_id != callback.request_id
        {
            return Err(CallbackError::UnknownState);
        }
        // What a presentation is checked against, read before taking the write lock: a
        // transaction must not wait for a second pooled connection while holding it.
        let integration = match &callback.event {
            CallbackEvent::Verified(_) => {
                integrations::integration(&self.pool, request.organization_id)
                    .await
                    .map_err(internal)?
            }
            _ => None,
        };
        // Read again under the write lock: a concurrent callback may have moved it.
        let mut tx = db::begin_write(&self.pool).await.map_err(internal)?;
        let request = store::request(&mut tx, request.id)
            .await
            .map_err(internal)?
            .ok_or(CallbackError::UnknownState)?;
        let verification = store::by_id(&mut tx, request.organization_id, request.verification_id)
            .await
            .map_err(internal)?
            .ok_or(CallbackError::UnknownState)?;

        // Microsoft's own words for a refusal, for the agent's timeline.
        let mut reported = None;
        let (input, evidence, next_request_state) = match &callback.event {
            CallbackEvent::Retrieved => (Input::Retrieved, None, "retrieved"),
            CallbackEvent::Verified(presentation) => {
                let (evidence, result) = align_with(
                    integration.as_ref(),
                    &verification,
                    request.face_check_threshold,
                    presentation,
                );
                (Input::Presented(result), Some(evidence), "presented")
            }
            CallbackEvent::Error(error) => {
                let reason = refusal_reason(error);
                if reason == FailureReason::AuthenticatorError {
                    // Undocumented codes are worth knowing about; the code is short and
                    // sanitised, the message may name the person, so it stays out of logs.
                    tracing::warn!(code = %error.code, "Verified ID reported an undocumented presentation_error code");
                }
                let words = error.to_string();
                reported = Some(format!(
                    "{} Microsoft reported: {}.",
                    reason.for_agent(),
                    words.trim_end_matches('.')
                ));
                (Input::Refused(reason), None, "failed")
            }
        };
        // A callback about a request that already finished (or a repeated scan) is late:
        // record it, change nothing.
        let request_done = matches!(request.state.as_str(), "presented" | "failed")
            || (request.state == "retrieved" && input == Input::Retrieved);
        let announced = if request_done {
            Some(
                record_event(
                    &mut tx,
                    self.reactions.as_ref(),
                    &verification,
                    "ignored",
                    verification.status,
                    "Ignored a repeated or late callback from Microsoft",
                    None,
                    None,
                )
                .await
                .map_err(internal)?,
            )
        } else {
            store::set_request_state(&mut tx, request.id, &request.state, next_request_state)
                .await
                .map_err(internal)?;
            match &reported {
                Some(message) => {
                    apply_with_message(
                        &mut tx,
                        self.reactions.as_ref(),
                        &verification,
                        input,
                        evidence.as_ref(),
                        message,
                        None,
                    )
                    .await
                }
                None => {
                    apply(
                        &mut tx,
                        self.reactions.as_ref(),
                        &verification,
                        input,
                        evidence.as_ref(),
                        None,
                    )
                    .await
                }
            }
            .map_err(|e| match e {
                VerificationError::Database(e) => internal(e),
                _ => CallbackError::Internal,
            })?
        };
        tx.commit().await.map_err(internal)?;
        if let Some(event) = announced {
            self.announce(&verification, event);
        }
        Ok(())
    }

    /// Marks active verifications whose link has expired (Microsoft sends nothing when a
    /// request simply runs out), a batch at a time. Returns how many were expired.
    ///
    /// Every instance runs this sweep: each claims its batch with `FOR UPDATE SKIP
    /// LOCKED` (PostgreSQL), so two sweeps take different rows and a verification is
    /// expired once, with one event. The claim and the transitions are one transaction.
    pub async fn expire_overdue(&self) -> Result<usize, VerificationError> {
        let mut tx = db::begin_claim(&self.pool).await?;
        let overdue =
            store::claim_overdue(&mut tx, OffsetDateTime::now_utc(), EXPIRY_BATCH).await?;
        let mut announced = Vec::with_capacity(overdue.len());
        for verification in &overdue {
            if let Some(event) = apply(
                &mut tx,
                self.reactions.as_ref(),
                verification,
                Input::LinkExpired,
                None,
                None,
            )
            .await?
            {
                announced.push((verification, event));
            }
        }
        tx.commit().await?;
        for (verification, event) in &announced {
            self.announce(verification, *event);
        }
        Ok(announced.len())
    }

    /// Stops the organization's active verifications (the integration was removed).
    pub async fn cancel_all(
        &self,
        organization_id: OrganizationId,
    ) -> Result<usize, VerificationError> {
        let mut conn = self.pool.acquire().await?;
        let active = store::active_of_organization(&mut conn, organization_id).await?;
        drop(conn);
        let count = active.len();
        for verification in active {
            self.transition(&verification, Input::Cancelled, None, None, None)
                .await?;
        }
        Ok(count)
    }

    /// An agent stops one verification: its link stops working.
    pub async fn cancel(&self, actor: &User, id: Uuid) -> Result<(), VerificationError> {
        self.cancel_by(&Initiator::agent(actor), id).await
    }

    /// An agent or a tool stops one verification of its organization.
    pub async fn cancel_by(&self, by: &Initiator, id: Uuid) -> Result<(), VerificationError> {
        let verification = self.get_in(by.organization_id, id).await?;
        if verification.status.is_terminal() {
            return Err(VerificationError::AlreadyFinished);
        }
        self.transition(
            &verification,
            Input::Cancelled,
            None,
            Some(&format!("{} cancelled the verification", by.name)),
            Some(&by.name),
        )
        .await
    }

    /// A page of `organization_id`'s verifications, newest first, after `after` (the
    /// `(created_at, id)` of the previous page's last).
    pub async fn page(
        &self,
        organization_id: OrganizationId,
        filter: &super::ListFilter,
        after: Option<(OffsetDateTime, Uuid)>,
        limit: i64,
    ) -> Result<Vec<Verification>, VerificationError> {
        let mut conn = self.pool.acquire().await?;
        Ok(store::page(&mut conn, organization_id, filter, after, limit).await?)
    }

    /// One verification of `organization_id`; another organization's is `NotFound`.
    pub async fn get_in(
        &self,
        organization_id: OrganizationId,
        id: Uuid,
    ) -> Result<Verification, VerificationError> {
        let mut conn = self.pool.acquire().await?;
        store::by_id(&mut conn, organization_id, id)
            .await?
            .ok_or(VerificationError::NotFound)
    }

    pub async fn list(
        &self,
        actor: &User,
        limit: i64,
    ) -> Result<Vec<Verification>, VerificationError> {
        let mut conn = self.pool.acquire().await?;
        Ok(store::recent(&mut conn, actor.organization_id, limit).await?)
    }

    /// The verifications of one of the organization's tickets, newest first.
    pub async fn of_ticket(
        &self,
        organization_id: OrganizationId,
        ticket: tickets::TicketId,
    ) -> Result<Vec<Verification>, VerificationError> {
        let mut conn = self.pool.acquire().await?;
        Ok(store::of_ticket(&mut conn, organization_id, ticket.0).await?)
    }

    /// One verification of the actor's organization.
    pub async fn get(&self, actor: &User, id: Uuid) -> Result<Verification, VerificationError> {
        let mut conn = self.pool.acquire().await?;
        store::by_id(&mut conn, actor.organization_id, id)
            .await?
            .ok_or(VerificationError::NotFound)
    }

    /// The verification behind a link, whatever its status (for its event stream).
    pub async fn by_token(&self, token: &str) -> Result<Verification, VerificationError> {
        if !looks_like_secret(token) {
            return Err(VerificationError::LinkExpired);
        }
        let mut conn = self.pool.acquire().await?;
        store::by_link_hash(&mut conn, SecretHash::of(token).as_str())
            .await?
            .ok_or(VerificationError::LinkExpired)
    }

    /// What a link's verification stands at: its status and newest event id. Read-only,
    /// for clients that poll instead of following the event stream.
    pub async fn link_status(&self, token: &str) -> Result<(Status, i64), VerificationError> {
        let verification = self.by_token(token).await?;
        let mut conn = self.pool.acquire().await?;
        let last = store::last_event_id(&mut conn, verification.id).await?;
        Ok((verification.status, last))
    }

    pub async fn events_after(
        &self,
        verification_id: Uuid,
        after: i64,
    ) -> Result<Vec<Event>, VerificationError> {
        let mut conn = self.pool.acquire().await?;
        Ok(store::events_after(&mut conn, verification_id, after).await?)
    }

    /// A verification's newest event: where its live stream stands, and (when terminal)
    /// that nothing can follow.
    pub async fn newest_event(
        &self,
        verification_id: Uuid,
    ) -> Result<Option<Event>, VerificationError> {
        let mut conn = self.pool.acquire().await?;
        Ok(store::newest_event(&mut conn, verification_id).await?)
    }

    pub async fn settings(
        &self,
        organization_id: OrganizationId,
    ) -> Result<Settings, VerificationError> {
        let mut conn = self.pool.acquire().await?;
        Ok(settings_of(&mut conn, organization_id).await?.0)
    }

    pub async fn update_settings(
        &self,
        actor: &User,
        settings: Settings,
    ) -> Result<(), VerificationError> {
        if !actor.is_admin() {
            return Err(VerificationError::NotAdmin);
        }
        if !(1..=24 * 30).contains(&settings.link_lifetime_hours) {
            return Err(VerificationError::InvalidSetting(
                "Links can live from 1 hour to 30 days (720 hours).",
            ));
        }
        if settings
            .face_check_threshold
            .is_some_and(|t| !(50..=100).contains(&t))
        {
            return Err(VerificationError::InvalidSetting(
                "The Face Check threshold must be between 50 and 100.",
            ));
        }
        // Face Check only where it can work: the connected credential must carry a photo.
        if settings.face_check_threshold.is_some()
            && integrations::integration(&self.pool, actor.organization_id)
                .await?
                .is_some_and(|i| i.photo_claim.is_none())
        {
            return Err(VerificationError::InvalidSetting(
                "Face Check needs a photo on the credential, and the connected credential carries none. Leave the threshold empty.",
            ));
        }
        let mut conn = self.pool.acquire().await?;
        store::set_organization_settings(
            &mut conn,
            actor.organization_id,
            i64::from(settings.link_lifetime_hours),
            settings.face_check_threshold.map(i64::from),
        )
        .await?;
        Ok(())
    }

    /// `actor`: the agent who caused it, when one did (with their own words in `message`).
    async fn transition(
        &self,
        verification: &Verification,
        input: Input,
        evidence: Option<&Evidence>,
        message: Option<&str>,
        actor: Option<&str>,
    ) -> Result<(), VerificationError> {
        let mut tx = db::begin_write(&self.pool).await?;
        let current = store::by_id(&mut tx, verification.organization_id, verification.id)
            .await?
            .ok_or(VerificationError::NotFound)?;
        let announced = match message {
            Some(message) => {
                apply_with_message(
                    &mut tx,
                    self.reactions.as_ref(),
                    &current,
                    input,
                    evidence,
                    message,
                    actor,
                )
                .await?
            }
            None => {
                apply(
                    &mut tx,
                    self.reactions.as_ref(),
                    &current,
                    input,
                    evidence,
                    None,
                )
                .await?
            }
        };
        tx.commit().await?;
        if let Some(event) = announced {
            self.announce(&current, event);
        }
        Ok(())
    }

    /// Wakes the verification's streams and, when it belongs to one, its ticket's (the
    /// relay fans out by id; a ticket's id is its stream's key).
    fn announce(&self, verification: &Verification, event_id: i64) {
        self.relay.publish(Announcement {
            topic: Topic(verification.id),
            event_id,
        });
        if let Some(ticket) = verification.ticket_id {
            self.relay.publish(Announcement {
                topic: Topic(ticket),
                event_id,
            });
        }
    }
}

/// Applies `input` to `verification` inside a transaction; returns the stored event's id.
async fn apply(
    conn: &mut impl db::Connection,
    reactions: &dyn Reactions,
    verification: &Verification,
    input: Input,
    evidence: Option<&Evidence>,
    request_expiry: Option<&OffsetDateTime>,
) -> Result<Option<i64>, VerificationError> {
    let message = default_message(verification, input, evidence, request_expiry);
    apply_with_message(
        conn,
        reactions,
        verification,
        input,
        evidence,
        &message,
        None,
    )
    .await
}

async fn apply_with_message(
    conn: &mut impl db::Connection,
    reactions: &dyn Reactions,
    verification: &Verification,
    input: Input,
    evidence: Option<&Evidence>,
    message: &str,
    actor: Option<&str>,
) -> Result<Option<i64>, VerificationError> {
    let is_callback = matches!(
        input,
        Input::Retrieved | Input::Presented(_) | Input::Refused(_)
    );
    let (status, attempts, kind, message) = match status::next(
        verification.status,
        input,
        verification.failed_attempts,
    ) {
        Outcome::Move(status) => {
            let (kind, message) = match status {
                Status::Failed(reason) => (
                    format!("failed.{}", reason.as_str()),
                    format!("Failed: {message}"),
                ),
                other => (other.as_str().to_owned(), message.to_owned()),
            };
            (status, verification.failed_attempts, kind, message)
        }
        Outcome::Retry(reason) => {
            let attempts = verification.failed_attempts + 1;
            let message = format!(
                "This try failed: {message} They can try again on the same link ({attempts} of {MAX_FAILED_ATTEMPTS} tries used)."
            );
            (
                Status::Opened,
                attempts,
                format!("attempt_failed.{}", reason.as_str()),
                message,
            )
        }
        Outcome::Ignore(why) => {
            // Callbacks are recorded even when they change nothing; page loads are not.
            if !is_callback {
                return Ok(None);
            }
            let event = record_event(
                conn,
                reactions,
                verification,
                "ignored",
                verification.status,
                &format!("Ignored a callback: {why}"),
                None,
                None,
            )
            .await?;
            return Ok(Some(event));
        }
    };
    if !store::update_status(conn, verification, status, attempts, evidence).await? {
        // Someone else moved it first; their event tells the story.
        return Ok(None);
    }
    Ok(Some(
        record_event(
            conn,
            reactions,
            verification,
            &kind,
            status,
            &message,
            actor,
            None,
        )
        .await?,
    ))
}

/// Stores a verification event and, in the same transaction, everything that follows from
/// it ([`Reactions::on_event`]: ticket timeline, outbox, webhooks). Every event of every
/// verification method is stored through here.
#[allow(clippy::too_many_arguments)] // each is one fact about the event; a struct would only rename them
async fn record_event(
    conn: &mut impl crate::db::Connection,
    reactions: &dyn Reactions,
    verification: &Verification,
    kind: &str,
    status: Status,
    message: &str,
    actor: Option<&str>,
    link: Option<&Url>,
) -> Result<i64, sqlx::Error> {
    let event_id = store::insert_event(conn, verification, kind, status, message).await?;
    reactions
        .on_event(
            conn,
            &EventRecord {
                verification,
                event_id,
                kind,
                status,
                message,
                actor,
                link,
            },
        )
        .await?;
    Ok(event_id)
}

fn default_message(
    verification: &Verification,
    input: Input,
    evidence: Option<&Evidence>,
    request_expiry: Option<&OffsetDateTime>,
) -> String {
    match input {
        Input::PageOpened => "The person opened the verification link".into(),
        Input::RequestCreated => match request_expiry {
            Some(at) => format!(
                "A QR code from Microsoft is shown, valid until {:02}:{:02}:{:02} UTC",
                at.hour(),
                at.minute(),
                at.second()
            ),
            None => "A QR code from Microsoft is shown".into(),
        },
        Input::Retrieved => "Scanned: the person is finishing in Microsoft Authenticator".into(),
        Input::Presented(Ok(())) => {
            let who = evidence
                .map(|e| {
                    format!(
                        "{} ({})",
                        e.display_name.as_deref().unwrap_or("unnamed"),
                        e.email.as_deref().unwrap_or("no email")
                    )
                })
                .unwrap_or_default();
            format!(
                "Verified: the credential of {who} matches {}",
                verification.recipient
            )
        }
        // `apply_with_message` says whether it is the end or a try the person may repeat.
        Input::Presented(Err(reason)) | Input::Refused(reason) => reason.for_agent().to_owned(),
        Input::LinkExpired => "The link expired before the person was verified".into(),
        Input::Cancelled => "Cancelled: the Microsoft Verified ID integration was removed".into(),
    }
}

fn align_with(
    integration: Option<&MicrosoftIntegration>,
    verification: &Verification,
    face_check_threshold: Option<u8>,
    presentation: &crate::microsoft::Presentation,
) -> (Evidence, Result<(), FailureReason>) {
    let (did, credential_type, email_claim, domains, email_source, email_trusted) =
        match integration {
            Some(i) => (
                i.authority_did.as_str(),
                i.credential_type.as_str(),
                i.email_claim.as_str(),
                i.domains.iter().map(|d| d.name.clone()).collect(),
                i.email_source,
                i.email_is_usable(),
            ),
            // No integration any more: nothing can match it.
            None => (
                "",
                "VerifiedEmployee",
                "mail",
                Vec::new(),
                EmailSource::Unknown,
                false,
            ),
        };
    alignment::align(
        &Expectation {
            authority_did: did,
            credential_type,
            email_claim,
            recipient: &verification.recipient,
            covered_domains: &domains,
            email_source,
            email_trusted,
            face_check_threshold,
        },
        presentation,
    )
}

/// Microsoft's 400 for Face Check without the add-on: "Premium features cannot be used until
/// billing is enabled by the admin. See https://aka.ms/fcbilling" (using-facecheck;
/// presentation-request-api error codes), or any 400 naming the `faceCheck` field.
fn is_face_check_refusal(error: &MicrosoftError) -> bool {
    let MicrosoftError::Rejected {
        status: 400,
        description,
        inner,
        ..
    } = error
    else {
        return false;
    };
    let mentions = |text: &str| {
        let text = text.to_ascii_lowercase();
        text.contains("fcbilling")
            || text.contains("facecheck")
            || text.contains("premium features")
    };
    mentions(description)
        || inner
            .as_ref()
            .is_some_and(|i| mentions(&i.message) || i.target.as_deref().is_some_and(mentions))
}

/// Maps Microsoft's `presentation_error` onto our reasons, by documented codes only.
/// `claimValidationError` is the one Microsoft documents: Face Check below the threshold or a
/// constraint not met (using-facecheck); we send no constraints, so it is Face Check. Any other
/// code (none is documented: not `userCanceled`, `credentialRevoked` or `issuerNotAccepted`
/// either) is a Microsoft error the person may retry with a fresh request; its code and
/// message go to the agent. A revoked credential is judged from `credentialState` instead.
fn refusal_reason(error: &ErrorInfo) -> FailureReason {
    if error.is_claim_validation() {
        FailureReason::FaceCheckBelowThreshold
    } else {
        FailureReason::AuthenticatorError
    }
}

/// The organization's verification settings and its name, in one read.
async fn settings_of(
    conn: &mut impl db::Connection,
    organization_id: OrganizationId,
) -> Result<(Settings, String), sqlx::Error> {
    let (hours, threshold, name) = store::organization_settings(conn, organization_id).await?;
    let settings = Settings {
        link_lifetime_hours: hours.clamp(1, 720) as u32,
        face_check_threshold: threshold.and_then(|t| u8::try_from(t).ok()),
    };
    Ok((settings, name))
}

/// Trims optional free text; `None` when it is too long, `Some(None)` when empty.
fn optional_text(value: Option<&str>, max_chars: usize) -> Option<Option<&str>> {
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        Some(v)
            if v.chars().count() > max_chars || v.chars().any(|c| c.is_control() && c != '\n') =>
        {
            None
        }
        other => Some(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(code: &str, message: &str) -> ErrorInfo {
        ErrorInfo {
            code: code.into(),
            message: message.into(),
        }
    }

    #[test]
    fn only_the_documented_presentation_error_code_is_mapped() {
        assert_eq!(
            refusal_reason(&error(
                "claimValidationError",
                "Match confidence score failing to meet the threshold."
            )),
            FailureReason::FaceCheckBelowThreshold
        );
        // Undocumented codes, whatever they seem to say, are retryable Microsoft errors.
        for code in [
            "userCanceled",
            "credentialRevoked",
            "issuerNotAccepted",
            "somethingElse",
            "",
        ] {
            let reason = refusal_reason(&error(code, "The face did not match"));
            assert_eq!(reason, FailureReason::AuthenticatorError, "{code}");
            assert!(reason.retryable());
        }
    }

    #[test]
    fn optional_text_is_trimmed_and_bounded() {
        assert_eq!(optional_text(None, 5), Some(None));
        assert_eq!(optional_text(Some("  "), 5), Some(None));
        assert_eq!(optional_text(Some(" T-1 "), 5), Some(Some("T-1")));
        assert_eq!(optional_text(Some("toolong"), 5), None);
        assert_eq!(optional_text(Some("a\u{7}b"), 5), None);
    }
}
