//! Verifications: agents start and follow them; the person opens their link.

use leptos::prelude::*;

use crate::error::AppError;
use crate::model::{
    RecipientPage, StartedVerification, VerificationDetail, VerificationSettings,
    VerificationSummary,
};

#[cfg(feature = "ssr")]
use {
    super::convert,
    crate::error::ForRecipient,
    crate::model::{CheckView, EvidenceView, QrRequest, TimelineEntry},
    crate::ssr,
    traceless::verification::{
        Delivery, RecipientView, StartVerification, Verification, VerificationError,
    },
    uuid::Uuid,
};

#[server(endpoint = "send_verification")]
pub async fn send_verification(
    email: String,
    ticket_reference: String,
    #[server(default)] ticket_subject: String,
    note: String,
    // `link` (the agent copies it) or `email` (Traceless mails it too); empty is `link`.
    #[server(default)] delivery: String,
    // `temporary_access_pass`: then issue the person a Temporary Access Pass; empty: nothing.
    #[server(default)] after: String,
) -> Result<StartedVerification, AppError> {
    ssr::respond(
        async {
            let user = ssr::require_user().await?;
            let state = ssr::state()?;
            let mut delivery = Delivery::parse(&delivery).ok_or_else(|| {
                AppError::invalid(
                    Some("delivery"),
                    "Choose how the link reaches the person: link or email.",
                )
            })?;
            let after = match after.trim() {
                "" => traceless::verification::After::Nothing,
                "temporary_access_pass" => traceless::verification::After::TemporaryAccessPass(
                    traceless::recovery::permit(
                        &state.pool,
                        &traceless::verification::Initiator::agent(&user),
                    )
                    .await?,
                ),
                _ => {
                    return Err(AppError::invalid(
                        Some("after"),
                        "Choose whether to issue a Temporary Access Pass after the verification.",
                    ));
                }
            };
            // With recovery the link reaches the person by mail alone: whoever holds it can
            // ask for the pass (`VerificationError::RecoveryLinkByEmailOnly`).
            let recovery = matches!(
                after,
                traceless::verification::After::TemporaryAccessPass(_)
            );
            if recovery {
                delivery = Delivery::Email;
            }
            let started = state
                .verifier
                .start(
                    &user,
                    StartVerification {
                        email: &email,
                        ticket_reference: Some(&ticket_reference),
                        ticket_subject: Some(&ticket_subject),
                        note: Some(&note),
                        delivery,
                        after,
                    },
                )
                .await?;
            let link = (!recovery).then(|| state.verifier.link_url(&started.link).to_string());
            Ok(StartedVerification {
                id: started.verification.id.to_string(),
                recipient: started.verification.recipient.to_string(),
                link,
                expires: convert::when(started.verification.link_expires_at),
                emailed: delivery == Delivery::Email,
                ticket_id: started.verification.ticket_id.map(|t| t.to_string()),
                ticket_reference: started.verification.ticket_reference.clone(),
            })
        }
        .await,
    )
}

/// "Send by email" beside "Copy link": the link just made goes to the person by mail.
#[server(endpoint = "email_verification_link")]
pub async fn email_verification_link(id: String, link: String) -> Result<(), AppError> {
    ssr::respond(
        async {
            let user = ssr::require_user().await?;
            ssr::state()?
                .verifier
                .email_link(&user, parse_id(&id)?, &link)
                .await?;
            Ok(())
        }
        .await,
    )
}

#[server(endpoint = "verifications")]
pub async fn verifications() -> Result<Vec<VerificationSummary>, AppError> {
    ssr::respond(
        async {
            let user = ssr::require_user().await?;
            let list = ssr::state()?.verifier.list(&user, 100).await?;
            Ok(list.into_iter().map(summary).collect())
        }
        .await,
    )
}

#[server(endpoint = "verification_overview")]
pub async fn verification_overview(id: String) -> Result<VerificationDetail, AppError> {
    ssr::respond(
        async {
            let user = ssr::require_user().await?;
            let verifier = ssr::state()?.verifier;
            let id = parse_id(&id)?;
            let verification = verifier.get(&user, id).await?;
            let events = verifier.events_after(id, 0).await?;
            Ok(detail(verification, events))
        }
        .await,
    )
}

#[server(endpoint = "cancel_verification")]
pub async fn cancel_verification(id: String) -> Result<(), AppError> {
    ssr::respond(
        async {
            let user = ssr::require_user().await?;
            ssr::state()?.verifier.cancel(&user, parse_id(&id)?).await?;
            Ok(())
        }
        .await,
    )
}

/// The person's page: creates a Microsoft request only now, when the link is opened.
#[server(endpoint = "open_verification_link")]
pub async fn open_verification_link(token: String) -> Result<RecipientPage, AppError> {
    ssr::respond(
        async {
            let view = ssr::state()?
                .verifier
                .open(&token)
                .await
                .map_err(ForRecipient)?;
            Ok(recipient(view))
        }
        .await,
    )
}

/// A fresh QR code (the old one is about to expire, or the person tries again).
#[server(endpoint = "renew_request")]
pub async fn renew_request(token: String) -> Result<RecipientPage, AppError> {
    ssr::respond(
        async {
            let view = ssr::state()?
                .verifier
                .renew(&token)
                .await
                .map_err(ForRecipient)?;
            Ok(recipient(view))
        }
        .await,
    )
}

#[server(endpoint = "get_verification_settings")]
pub async fn get_verification_settings() -> Result<VerificationSettings, AppError> {
    ssr::respond(
        async {
            let user = ssr::require_user().await?;
            let settings = ssr::state()?
                .verifier
                .settings(user.organization_id)
                .await?;
            let photo_claim =
                traceless::integrations::integration(&ssr::pool()?, user.organization_id)
                    .await?
                    .and_then(|i| i.photo_claim);
            Ok(VerificationSettings {
                link_lifetime_hours: settings.link_lifetime_hours,
                face_check_threshold: settings.face_check_threshold,
                photo_claim,
            })
        }
        .await,
    )
}

#[server(endpoint = "update_verification_settings")]
pub async fn update_verification_settings(
    link_lifetime_hours: String,
    face_check_threshold: String,
) -> Result<(), AppError> {
    ssr::respond(async {
        let admin = ssr::require_admin().await?;
        let hours = link_lifetime_hours
            .trim()
            .parse::<u32>()
            .map_err(|_| AppError::invalid(Some("link_lifetime_hours"), "Enter a whole number of hours, from 1 to 720."))?;
        let threshold = match face_check_threshold.trim() {
            "" | "off" => None,
            value => Some(value.parse::<u8>().map_err(|_| {
                AppError::invalid(Some("face_check_threshold"), "Enter a Face Check threshold from 50 to 100, or leave it empty to turn Face Check off.")
            })?),
        };
        let verifier = ssr::state()?.verifier;
        let before = verifier.settings(admin.organization_id).await?;
        verifier
            .update_settings(
                &admin,
                traceless::verification::Settings {
                    link_lifetime_hours: hours,
                    face_check_threshold: threshold,
                },
            )
            .await?;
        let face_check = |t: Option<u8>| t.map_or_else(|| "off".to_owned(), |t| format!("threshold {t}"));
        let mut changes = Vec::new();
        if before.link_lifetime_hours != hours {
            changes.push(format!("link lifetime {} → {hours} hours", before.link_lifetime_hours));
        }
        if before.face_check_threshold != threshold {
            changes.push(format!("Face Check {} → {}", face_check(before.face_check_threshold), face_check(threshold)));
        }
        if !changes.is_empty() {
            super::audit::record(&admin, traceless::audit::Action::VerificationSettingsChanged, &changes.join("; ")).await?;
        }
        Ok(())
    }
    .await)
}

#[cfg(feature = "ssr")]
fn recipient(view: RecipientView) -> RecipientPage {
    let v = view.verification;
    RecipientPage {
        organization: view.organization_name,
        asked_by: v.created_by_name,
        recipient: v.recipient.to_string(),
        ticket_reference: v.ticket_reference,
        status: v.status.name(),
        retry_reason: view.retry_after.map(|r| r.for_recipient().to_owned()),
        request: view.request.map(|r| QrRequest {
            qr_svg: traceless::qr::svg(&r.url).unwrap_or_default(),
            url: r.url,
            expires_at: r.expires_at.unix_timestamp(),
            expires_in_secs: (r.expires_at - time::OffsetDateTime::now_utc())
                .whole_seconds()
                .max(0),
        }),
        last_event_id: view.last_event_id,
    }
}

/// A verification in a list (the Verifications page, a ticket's page).
#[cfg(feature = "ssr")]
pub(crate) fn summary(v: Verification) -> VerificationSummary {
    VerificationSummary {
        id: v.id.to_string(),
        recipient: v.recipient.to_string(),
        ticket_reference: v.ticket_reference,
        ticket_id: v.ticket_id.map(|t| t.to_string()),
        status: v.status.name(),
        status_label: v.status.name().label().to_owned(),
        started_by: v.created_by_name,
        started: convert::when(v.created_at),
    }
}

#[cfg(feature = "ssr")]
fn detail(v: Verification, events: Vec<traceless::verification::Event>) -> VerificationDetail {
    let reason = v.status.failure_reason();
    VerificationDetail {
        id: v.id.to_string(),
        recipient: v.recipient.to_string(),
        ticket_reference: v.ticket_reference,
        ticket_id: v.ticket_id.map(|t| t.to_string()),
        note: v.note,
        status: v.status.name(),
        status_label: v.status.name().label().to_owned(),
        failure: reason.map(|r| r.for_agent().to_owned()),
        mismatch: reason.is_some_and(|r| r.is_mismatch()),
        started_by: v.created_by_name,
        started: convert::when(v.created_at),
        link_expires: convert::when(v.link_expires_at),
        finished: v.completed_at.map(convert::when),
        tries_used: v.failed_attempts,
        evidence: v.evidence.map(|e| EvidenceView {
            issuer: e.issuer,
            credential_types: e.credential_types,
            display_name: e.display_name,
            email: e.email,
            job_title: e.job_title,
            face_check_score: e.face_check_score,
            email_source: e.email_source,
            checks: e
                .checks
                .into_iter()
                .map(|c| CheckView {
                    label: c.label,
                    passed: c.passed,
                    detail: c.detail,
                })
                .collect(),
        }),
        events: events
            .into_iter()
            .map(|e| TimelineEntry {
                id: e.id,
                kind: e.kind,
                status: e.status,
                message: e.message,
                at: convert::when_precise(e.at),
            })
            .collect(),
    }
}

#[cfg(feature = "ssr")]
fn parse_id(id: &str) -> Result<Uuid, AppError> {
    id.parse().map_err(|_| VerificationError::NotFound.into())
}
