//! Microsoft's callbacks about a presentation request: the `api-key` check before the body
//! is read, then the request's news applied to its verification (identity alignment on a
//! presented credential, the person's refusal, an expired or failed request).

use uuid::Uuid;

use super::alignment::{self, Evidence, Expectation};
use super::errors::{CallbackError, VerificationError};
use super::group_commit::Grouped;
use super::hooks::Reactions;
use super::service::Verifier;
use super::status::{EventKind, FailureReason, Input, RequestState};
use super::transitions::{apply, apply_with_message, record_event};
use super::{Verification, store};
use crate::db;
use crate::integrations::{self, MicrosoftIntegration};
use crate::microsoft::{Callback, CallbackEvent, EmailSource, ErrorInfo};
use crate::secret::SecretHash;

/// A callback whose `api-key` matched one of our presentation requests: only this lets
/// its body be read ([`Verifier::handle_callback`]).
pub struct AuthorizedCallback {
    request: store::StoredRequest,
}

impl Verifier {
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
    /// accepted callbacks (including no-ops) are recorded as events. Answers only once what
    /// it wrote is committed.
    pub async fn handle_callback(
        &self,
        authorized: AuthorizedCallback,
        body: &[u8],
    ) -> Result<(), CallbackError> {
        let callback =
            Callback::parse(body).map_err(|e| CallbackError::Malformed(e.to_string()))?;
        let request = authorized.request;
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
        let news = CallbackNews {
            request,
            event: callback.event,
            integration,
        };
        // SQLite: the group writer commits a burst of callbacks at once, and hands back
        // a burst it could not commit, each callback to be written on its own.
        let written = match &self.callback_writer {
            Some(writer) => match writer.write(news).await {
                Grouped::Written(written) => written,
                Grouped::Alone(news) => self.write_alone(&news).await,
            },
            None => self.write_alone(&news).await,
        }?;
        if let Written {
            verification,
            event: Some(event),
        } = written
        {
            self.announce(&verification, event);
        }
        Ok(())
    }

    /// One callback in a transaction of its own (PostgreSQL: the verification's row locked,
    /// so callbacks of other verifications run in parallel).
    async fn write_alone(&self, news: &CallbackNews) -> Result<Written, CallbackError> {
        let mut tx = store::begin_on(&self.pool, news.request.verification_id)
            .await
            .map_err(internal)?;
        let written = write_callback(&mut tx, self.reactions.as_ref(), news).await?;
        tx.commit().await.map_err(internal)?;
        Ok(written)
    }
}

/// What one callback reports, checked against the request its key named, with what its
/// decision needs from outside the transaction.
pub(super) struct CallbackNews {
    request: store::StoredRequest,
    event: CallbackEvent,
    /// Read for a presented credential only.
    integration: Option<MicrosoftIntegration>,
}

/// What a written callback announces once committed: its verification, and the event it
/// stored (none when a concurrent change got there first).
pub(super) struct Written {
    pub verification: Verification,
    pub event: Option<i64>,
}

/// Decides and writes one callback inside an open write transaction (the verification's
/// row locked on PostgreSQL; SQLite's only writer): one read of the request and its
/// verification, then for news the request-state update, the status update and the event
/// (a repeat or a late callback: the event alone), with the event's reactions.
///
/// `UnknownState` is answered before anything is written; `Internal` may leave writes
/// behind, so the transaction must be rolled back.
pub(super) async fn write_callback(
    conn: &mut impl db::Connection,
    reactions: &dyn Reactions,
    news: &CallbackNews,
) -> Result<Written, CallbackError> {
    // Read again under the write lock, request and verification in one statement: a
    // concurrent callback may have moved them.
    let store::CallbackSubject {
        request,
        verification,
    } = store::callback_subject(conn, news.request.id)
        .await
        .map_err(internal)?
        .ok_or(CallbackError::UnknownState)?;

    // Microsoft's own words for a refusal, for the agent's timeline.
    let mut reported = None;
    let (input, evidence, next_request_state) = match &news.event {
        CallbackEvent::Retrieved => (Input::Retrieved, None, RequestState::Retrieved),
        CallbackEvent::Verified(presentation) => {
            let (evidence, result) = align_with(
                news.integration.as_ref(),
                &verification,
                request.face_check_threshold,
                presentation,
            );
            (
                Input::Presented(result),
                Some(evidence),
                RequestState::Presented,
            )
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
            (Input::Refused(reason), None, RequestState::Failed)
        }
    };
    // A callback about a request that already finished (or a repeated scan) is late:
    // record it, change nothing.
    let request_done = request.state.is_done()
        || (request.state == RequestState::Retrieved && input == Input::Retrieved);
    let event = if request_done {
        Some(
            record_event(
                conn,
                reactions,
                &verification,
                EventKind::Ignored,
                verification.status,
                "Ignored a repeated or late callback from Microsoft",
                None,
                None,
            )
            .await
            .map_err(internal)?,
        )
    } else {
        store::set_request_state(conn, request.id, request.state, next_request_state)
            .await
            .map_err(internal)?;
        match &reported {
            Some(message) => {
                apply_with_message(
                    conn,
                    reactions,
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
                    conn,
                    reactions,
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
    Ok(Written {
        verification,
        event,
    })
}

pub(super) fn align_with(
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

/// A failure while handling a callback: logged once, answered with a bare 500.
fn internal(error: impl std::fmt::Display) -> CallbackError {
    tracing::error!(error = %error, "handling a Verified ID callback");
    CallbackError::Internal
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
}

/// The statements one callback runs inside its transaction, counted where every statement
/// passes (`db::Connection::handle`), so that a regression on the hot path is caught.
#[cfg(test)]
mod statements {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use time::{Duration, OffsetDateTime};

    use super::*;
    use crate::accounts::OrganizationId;
    use crate::db::{Connection, Handle};
    use crate::email::EmailAddress;
    use crate::verification::hooks::{EventRecord, Reacting};

    /// A connection that counts the statements run through it.
    struct Counting<'c, C> {
        inner: &'c mut C,
        statements: usize,
    }

    impl<C: Connection> Connection for Counting<'_, C> {
        fn handle(&mut self) -> Handle<'_> {
            self.statements += 1;
            self.inner.handle()
        }
    }

    /// Counts the events handed over; writes nothing (the reactions' own statements are
    /// counted by their module's tests).
    #[derive(Default)]
    struct Events(AtomicUsize);

    impl Reactions for Events {
        fn on_event<'a>(
            &'a self,
            _conn: &'a mut dyn Connection,
            _event: &'a EventRecord<'_>,
        ) -> Reacting<'a> {
            self.0.fetch_add(1, Ordering::Relaxed);
            Box::pin(async { Ok(()) })
        }
    }

    /// A verification waiting for its scan (`requested`), with one live request.
    async fn requested(pool: &db::Pool) -> store::StoredRequest {
        let organization = OrganizationId(Uuid::new_v4());
        let now = OffsetDateTime::now_utc();
        db::query("INSERT INTO organizations (id, name, created_at) VALUES ($1, $2, $3)")
            .bind(organization.0)
            .bind("Contoso")
            .bind(now)
            .execute_on(pool)
            .await
            .unwrap();
        let recipient = EmailAddress::parse("alex@contoso.com").unwrap();
        let mut conn = pool.acquire().await.unwrap();
        let id = store::insert(
            &mut conn,
            store::NewVerification {
                organization_id: organization,
                created_by: None,
                created_by_name: "Ada",
                recipient: &recipient,
                ticket_id: None,
                ticket_reference: None,
                note: None,
                link_hash: "link-hash",
                link_expires_at: now + Duration::hours(1),
            },
        )
        .await
        .unwrap();
        db::query("UPDATE verifications SET status = 'requested' WHERE id = $1")
            .bind(id)
            .execute(&mut conn)
            .await
            .unwrap();
        let verification = store::by_id(&mut conn, organization, id)
            .await
            .unwrap()
            .unwrap();
        let request_id = Uuid::new_v4();
        store::insert_request(
            &mut conn,
            store::NewRequest {
                id: request_id,
                verification: &verification,
                microsoft_request_id: "microsoft-request",
                api_key_hash: "key-hash",
                url: "openid-vc://?request_uri=https://example.com",
                expires_at: now + Duration::minutes(5),
                face_check_threshold: None,
            },
        )
        .await
        .unwrap();
        store::request(&mut conn, request_id)
            .await
            .unwrap()
            .unwrap()
    }

    /// Writes one `request_retrieved` callback; returns the statements it ran.
    async fn scan(pool: &db::Pool, request: &store::StoredRequest, events: &Events) -> usize {
        let news = CallbackNews {
            request: request.clone(),
            event: CallbackEvent::Retrieved,
            integration: None,
        };
        let mut tx = db::begin_write(pool, db::Lock::Rows).await.unwrap();
        let mut counting = Counting {
            inner: &mut tx,
            statements: 0,
        };
        let written = write_callback(&mut counting, events, &news).await.unwrap();
        let statements = counting.statements;
        tx.commit().await.unwrap();
        assert!(
            written.event.is_some(),
            "every accepted callback is an event"
        );
        statements
    }

    #[tokio::test]
    async fn a_scan_runs_four_statements_and_a_repeat_two() {
        let dir = tempfile::tempdir().unwrap();
        let pool = db::connect(&format!("sqlite://{}", dir.path().join("t.db").display()))
            .await
            .unwrap();
        let request = requested(&pool).await;
        let events = Events::default();

        // One read of the request and its verification; the request's state, the
        // verification's status, the event.
        assert_eq!(scan(&pool, &request, &events).await, 4);
        // A repeated scan changes nothing: the read, and the event that says so.
        assert_eq!(scan(&pool, &request, &events).await, 2);
        assert_eq!(events.0.load(Ordering::Relaxed), 2, "each event reacted to");

        let status: String = db::query("SELECT status FROM verifications")
            .fetch_scalar_on(&pool)
            .await
            .unwrap();
        assert_eq!(status, "scanned");
        pool.close().await;
    }
}
