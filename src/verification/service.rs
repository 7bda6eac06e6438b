//! The agent's use cases: start a verification (the send form, the REST API), mail its
//! link, cancel, expire, read, and the organization's verification settings. The person's
//! side is in `recipient`, Microsoft's callbacks in `callback`, the state changes in
//! `transitions`.

use std::sync::Arc;
use std::time::Duration;

use time::OffsetDateTime;
use url::Url;
use uuid::Uuid;

use super::create::{After, Delivery, NewVerification};
use super::errors::{RemovalError, VerificationError};
use super::group_commit::CallbackWriter;
use super::hooks::Reactions;
use super::idempotent::Idempotency;
use super::status::{EventKind, Input, Status};
use super::throttle::PresentationThrottle;
use super::transitions::{apply, record_event};
use super::{Event, Verification, store};
use crate::accounts::{Initiator, OrganizationId, User};
use crate::db::{self, Pool};
use crate::email::EmailAddress;
use crate::integrations::{self, IntegrationError, VerifierIdentity};
use crate::live::Publisher;
use crate::microsoft::MicrosoftClient;
use crate::secret::{Secret, SecretHash, looks_like_secret};
use crate::tickets::{self, TicketInput};

/// How many overdue verifications one sweep expires at most (the next sweep takes the rest).
const EXPIRY_BATCH: i64 = 500;

/// A request with less life left than this is replaced before it is shown.
pub const REQUEST_MARGIN: Duration = Duration::from_secs(30);
/// The longest note, in characters (the REST API declares it too).
pub const MAX_NOTE_CHARS: usize = 500;

/// The send form's fields, as typed.
pub struct StartVerification<'a> {
    pub email: &'a str,
    pub ticket_reference: Option<&'a str>,
    pub ticket_subject: Option<&'a str>,
    pub note: Option<&'a str>,
    pub delivery: Delivery,
    /// What follows a verified result (a recovery permit, when asked and allowed).
    pub after: After,
}

/// A new verification and its link secret (shown once to the agent, stored hashed).
pub struct Started {
    pub verification: Verification,
    pub link: Secret,
}

/// The organization's verification settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    pub link_lifetime_hours: u32,
    pub face_check_threshold: Option<u8>,
}

pub struct Verifier {
    pub(super) pool: Pool,
    pub(super) microsoft: MicrosoftClient,
    pub(super) relay: Arc<dyn Publisher>,
    pub(super) callback_url: Url,
    pub(super) identity: VerifierIdentity,
    pub(super) throttle: PresentationThrottle,
    /// Links to the person's page are built from it.
    pub(super) public_url: Url,
    /// What follows from each stored event (ticket timeline, outbox, webhooks).
    pub(super) reactions: Arc<dyn Reactions>,
    /// SQLite: the task that commits Microsoft's callbacks in bursts (`group_commit`).
    pub(super) callback_writer: Option<CallbackWriter>,
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
        let callback_writer = (pool.backend() == db::Backend::Sqlite)
            .then(|| CallbackWriter::spawn(pool.clone(), Arc::clone(&reactions)));
        Self {
            callback_writer,
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

    pub(super) fn url_of_token(&self, token: &str) -> Url {
        self.public_url
            .join(&format!("verify/{token}"))
            .expect("a link token is a valid path segment")
    }

    /// Caps new Microsoft presentation requests per link at `rate` (counted in the
    /// database on PostgreSQL, where other instances serve the same links).
    pub fn with_presentation_limit(mut self, rate: crate::rate_limit::Rate) -> Self {
        self.throttle = PresentationThrottle::new(rate, &self.pool);
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
                after: input.after,
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
        self.admit(by, &new).await?;
        // Nothing to exclude: the verification is new, its ticket is found or made by one
        // upsert (`tickets::store::find_or_create`).
        let tx = db::begin_write(&self.pool, db::Lock::Rows).await?;
        self.create_in(tx, by, new, None).await
    }

    /// Refuses what the organization cannot start. Read before any transaction: one must
    /// not wait for a second pooled connection while holding its own.
    pub(super) async fn admit(
        &self,
        by: &Initiator,
        new: &NewVerification,
    ) -> Result<(), VerificationError> {
        optional_text(new.note.as_deref(), MAX_NOTE_CHARS).ok_or(VerificationError::NoteTooLong)?;
        if matches!(new.after, After::TemporaryAccessPass(_)) && new.delivery != Delivery::Email {
            return Err(VerificationError::RecoveryLinkByEmailOnly);
        }
        let integration = integrations::integration(&self.pool, by.organization_id)
            .await?
            .ok_or(VerificationError::NotConnected)?;
        if !integration.email_is_usable() {
            return Err(VerificationError::EmailNotTrusted);
        }
        if !integration.is_active() {
            return Err(VerificationError::NotActive);
        }
        if !integration.covers(new.recipient.domain()) {
            return Err(VerificationError::DomainNotCovered(
                new.recipient.domain().to_owned(),
            ));
        }
        Ok(())
    }

    /// Stores an [`admit`](Self::admit)ted verification in `tx`, and commits: with its ticket
    /// (found by reference or made now) and, for [`Delivery::Email`], the link mail in the
    /// outbox; when `once` is given, the request is remembered under its `Idempotency-Key`
    /// in the same transaction (`idempotent`).
    pub(super) async fn create_in(
        &self,
        mut tx: db::WriteTx,
        by: &Initiator,
        new: NewVerification,
        once: Option<&Idempotency<'_>>,
    ) -> Result<Started, VerificationError> {
        let note = optional_text(new.note.as_deref(), MAX_NOTE_CHARS)
            .ok_or(VerificationError::NoteTooLong)?;
        let recipient = &new.recipient;
        // The organization's lock, shared: creates run side by side, but not beside a
        // removal of the integration (which holds it alone), so none is made after the
        // removal listed what to cancel. The integration is then read again under it.
        db::take(
            &mut tx,
            db::Lock::Shared(db::LockKey::organization(by.organization_id.0)),
        )
        .await?;
        if integrations::integration_in(&mut tx, by.organization_id)
            .await?
            .is_none()
        {
            return Err(VerificationError::NotConnected);
        }
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
                recipient,
                ticket_id: ticket_id.map(|t| t.0),
                ticket_reference: new.ticket.as_ref().map(|t| t.reference.as_str()),
                note,
                link_hash: link.hash().as_str(),
                link_expires_at: OffsetDateTime::now_utc()
                    + Duration::from_secs(u64::from(settings.link_lifetime_hours) * 3600),
            },
        )
        .await?;
        if let After::TemporaryAccessPass(_) = &new.after {
            store::insert_recovery_request(&mut tx, by.organization_id, id).await?;
        }
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
            EventKind::Created,
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
        if let Some(once) = once {
            once.remember(&mut tx, &verification, new.delivery, &link)
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
        let mut tx = store::begin_on(&self.pool, id).await?;
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
            EventKind::LinkEmailed,
            verification.status,
            &format!("{by} had the link emailed to {}", verification.recipient),
            Some(by),
            Some(url),
        )
        .await?)
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

    /// An administrator removes the Microsoft integration: it goes, and every active
    /// verification of the organization is cancelled (its link stops working), in one
    /// transaction; open pages hear of each cancellation after the commit. Returns how many
    /// were cancelled.
    pub async fn remove_integration(&self, admin: &User) -> Result<usize, RemovalError> {
        // The organization's lock: one removal (or connection) at a time; the active
        // verifications are then locked row by row (`store::active_of_organization`).
        let mut tx = db::begin_write(
            &self.pool,
            db::Lock::Key(db::LockKey::organization(admin.organization_id.0)),
        )
        .await
        .map_err(IntegrationError::from)?;
        integrations::remove(&mut tx, admin).await?;
        let active = store::active_of_organization(&mut tx, admin.organization_id)
            .await
            .map_err(VerificationError::from)?;
        let mut announced = Vec::new();
        for verification in &active {
            let event = apply(
                &mut tx,
                self.reactions.as_ref(),
                verification,
                Input::Cancelled,
                None,
                None,
            )
            .await?;
            announced.extend(event.map(|event| (verification, event)));
        }
        tx.commit().await.map_err(VerificationError::from)?;
        tracing::info!(organization = %admin.organization_id, by = %admin.id, "Microsoft Verified ID removed");
        for (verification, event) in announced {
            self.announce(verification, event);
        }
        Ok(active.len())
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

    /// Records what followed a verified result (a Temporary Access Pass issued or refused:
    /// `crate::recovery`) as an event on `conn`, through the same reactions as every other
    /// (ticket timeline, webhooks). The status stays verified; `message` must hold nothing
    /// secret. The caller commits, then calls [`announce_after`](Self::announce_after).
    pub async fn record_after_verified(
        &self,
        conn: &mut impl db::Connection,
        verification: &Verification,
        issued: bool,
        message: &str,
    ) -> Result<i64, sqlx::Error> {
        let kind = if issued {
            EventKind::PassIssued
        } else {
            EventKind::PassRefused
        };
        record_event(
            conn,
            self.reactions.as_ref(),
            verification,
            kind,
            Status::Verified,
            message,
            None,
            None,
        )
        .await
    }

    /// Tells live pages about an event [`record_after_verified`](Self::record_after_verified)
    /// stored, once committed.
    pub fn announce_after(&self, verification: &Verification, event_id: i64) {
        self.announce(verification, event_id);
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
}

/// The organization's verification settings and its name, in one read.
pub(super) async fn settings_of(
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
pub(super) fn optional_text(value: Option<&str>, max_chars: usize) -> Option<Option<&str>> {
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

    #[test]
    fn optional_text_is_trimmed_and_bounded() {
        assert_eq!(optional_text(None, 5), Some(None));
        assert_eq!(optional_text(Some("  "), 5), Some(None));
        assert_eq!(optional_text(Some(" T-1 "), 5), Some(Some("T-1")));
        assert_eq!(optional_text(Some("toolong"), 5), None);
        assert_eq!(optional_text(Some("a\u{7}b"), 5), None);
    }
}
