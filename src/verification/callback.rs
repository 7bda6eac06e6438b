//! Microsoft's callbacks about a presentation request: the `api-key` check before the body
//! is read, then the request's news applied to its verification (identity alignment on a
//! presented credential, the person's refusal, an expired or failed request).

use uuid::Uuid;

use super::alignment::{self, Evidence, Expectation};
use super::errors::{CallbackError, VerificationError};
use super::service::Verifier;
use super::status::{EventKind, FailureReason, Input, RequestState};
use super::transitions::{apply, apply_with_message, record_event};
use super::{Verification, store};
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
    /// accepted callbacks (including no-ops) are recorded as events.
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
        // Read again under the write lock: a concurrent callback may have moved it.
        let mut tx = store::begin_on(&self.pool, request.verification_id)
            .await
            .map_err(internal)?;
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
            CallbackEvent::Retrieved => (Input::Retrieved, None, RequestState::Retrieved),
            CallbackEvent::Verified(presentation) => {
                let (evidence, result) = align_with(
                    integration.as_ref(),
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
        let announced = if request_done {
            Some(
                record_event(
                    &mut tx,
                    self.reactions.as_ref(),
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
            store::set_request_state(&mut tx, request.id, request.state, next_request_state)
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
