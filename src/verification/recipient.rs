//! The person's side: their link opens the page, which always has a live Microsoft request
//! to scan (made, or renewed when it is about to run out), within the link's limits.

use time::OffsetDateTime;
use uuid::Uuid;

use super::errors::VerificationError;
use super::service::{REQUEST_MARGIN, Verifier, settings_of};
use super::status::{EventKind, FailureReason, Input, RequestState, Status};
use super::transitions::{apply, record_event};
use super::{Verification, store};
use crate::audit::{self, Action};
use crate::integrations::{self, VerifierIdentity};
use crate::microsoft::{
    CredentialType, Did, FaceCheck, MicrosoftError, PresentationCallback, PresentationRequest,
    Registration, TenantId,
};

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

impl Verifier {
    /// The person opened their link: make sure a live Microsoft request is there to scan.
    pub async fn open(&self, token: &str) -> Result<RecipientView, VerificationError> {
        self.recipient_view(token, false).await
    }

    /// A fresh Microsoft request for the page (the old one is about to expire, or the
    /// person wants to try again after declining).
    pub async fn renew(&self, token: &str) -> Result<RecipientView, VerificationError> {
        self.recipient_view(token, true).await
    }

    pub(super) async fn recipient_view(
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
            !r.state.is_done() && r.expires_at > OffsetDateTime::now_utc() + REQUEST_MARGIN
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
                events.iter().rev().find_map(|e| match e.kind {
                    EventKind::AttemptFailed(reason) => Some(reason),
                    _ => None,
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

    pub(super) async fn create_request(
        &self,
        verification: &Verification,
    ) -> Result<store::StoredRequest, VerificationError> {
        self.throttle.check(verification.id).await?;
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
            state: RequestState::Pending,
            face_check_threshold,
        };
        let mut tx = store::begin_on(&self.pool, verification.id).await?;
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
    pub(super) async fn record_face_check_refusal(
        &self,
        verification: &Verification,
        error: &MicrosoftError,
    ) -> Result<(), VerificationError> {
        tracing::warn!(error = %error, "Microsoft refused Face Check: not enabled for the tenant");
        let words = VerificationError::FaceCheckNotEnabled.to_string();
        let mut tx = store::begin_on(&self.pool, verification.id).await?;
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
            EventKind::FaceCheckNotEnabled,
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
