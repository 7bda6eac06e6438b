//! Signing up, and proving the address: the sign-up answer that tells nobody which addresses
//! have accounts, "Send the link again", and the confirmation link's page
//! (`traceless::accounts::email_confirmation`).
//!
//! Sign-up and "Send the link again" answer the same status, headers and body whatever the
//! address, no sooner than `password_reset::ANSWER_AFTER` after the password hash (which
//! every sign-up does), and never sign anyone in: only the mail differs, and only the
//! address's owner reads it.

use leptos::prelude::*;

use crate::error::AppError;

#[cfg(feature = "ssr")]
use {
    crate::ssr,
    time::OffsetDateTime,
    traceless::accounts::email_confirmation::{self, IssuedConfirmation, SignUpOutcome},
    traceless::accounts::password_reset::EvenAnswer,
    traceless::audit::{self, Action},
    traceless::db::{self, Lock},
    traceless::mail::{MessageKind, compose, outbox},
};

/// Creates an organization with the caller as its first administrator, whose address is
/// confirmed by a mailed link; answers the address as understood ("We sent a link to …").
/// The answer is the same, and as slow, when the address already has an account: that
/// address gets a notice instead, and nothing is created.
#[server(endpoint = "sign_up")]
pub async fn sign_up(
    organization: String,
    name: String,
    email: String,
    password: String,
) -> Result<String, AppError> {
    ssr::respond(
        async {
            let state = ssr::state()?;
            let sign_up = email_confirmation::validate(traceless::accounts::SignUp {
                organization_name: &organization,
                display_name: &name,
                email: &email,
                password: &password,
            })
            .await?;
            state.limits.check_account_mail(sign_up.email.as_str())?;
            // From here on the paths differ only in database work: the floor hides it.
            let answer = EvenAnswer::start();
            let now = OffsetDateTime::now_utc();
            let mut tx = db::begin_write(&state.pool, Lock::Rows).await?;
            let mail = match email_confirmation::register(&mut tx, &sign_up, now).await? {
                SignUpOutcome::Created(issued) => {
                    audit::record_from(
                        &mut tx,
                        issued.user.organization_id,
                        Some(&issued.user),
                        Action::SignedUp,
                        &format!("organization \"{}\"", issued.organization_name),
                        ssr::client_address().await,
                    )
                    .await?;
                    Some((
                        issued.user.organization_id,
                        confirmation_mail(&state, &issued)?,
                    ))
                }
                SignUpOutcome::AlreadyMember {
                    user,
                    organization_name,
                }
                | SignUpOutcome::Invited {
                    user,
                    organization_name,
                } => {
                    let mail = compose::sign_up_notice(&compose::SignUpNoticeMail {
                        to: user.email.as_str(),
                        organization: &organization_name,
                        invited: !user.active,
                        base: &state.settings.public_url,
                    });
                    Some((user.organization_id, mail))
                }
                SignUpOutcome::Raced => None,
            };
            if let Some((organization_id, mail)) = mail {
                enqueue(&mut tx, organization_id, &mail).await?;
                tx.commit().await?;
            }
            answer.wait().await;
            Ok(sign_up.email.to_string())
        }
        .await,
    )
}

/// "Send the link again": a new confirmation link to `email` when an account waits for that
/// address to be confirmed. The answer is the same, and as slow, for any address.
#[server(endpoint = "resend_confirmation")]
pub async fn resend_confirmation(email: String) -> Result<(), AppError> {
    ssr::respond(
        async {
            let answer = EvenAnswer::start();
            let state = ssr::state()?;
            state.limits.check_account_mail(&email)?;
            let mut tx = db::begin_write(&state.pool, Lock::Rows).await?;
            if let Some(issued) =
                email_confirmation::reissue(&mut tx, &email, OffsetDateTime::now_utc()).await?
            {
                let mail = confirmation_mail(&state, &issued)?;
                enqueue(&mut tx, issued.user.organization_id, &mail).await?;
            }
            tx.commit().await?;
            answer.wait().await;
            Ok(())
        }
        .await,
    )
}

/// Whether a confirmation link still works, for its page.
#[server(endpoint = "confirmation_link_open")]
pub async fn confirmation_link_open(token: String) -> Result<bool, AppError> {
    ssr::respond(async { Ok(email_confirmation::is_open(&ssr::pool()?, &token).await?) }.await)
}

/// Confirms the address behind a link ("Confirm my address" on the link's page). Signs no
/// one in: the person continues in the browser they signed in with, or signs in.
#[server(endpoint = "confirm_email")]
pub async fn confirm_email(token: String) -> Result<(), AppError> {
    ssr::respond(
        async {
            let pool = ssr::pool()?;
            let user = email_confirmation::confirm(&pool, &token).await?;
            audit::record_from(
                &mut pool.acquire().await?,
                user.organization_id,
                Some(&user),
                Action::EmailConfirmed,
                "",
                ssr::client_address().await,
            )
            .await?;
            Ok(())
        }
        .await,
    )
}

#[cfg(feature = "ssr")]
fn confirmation_mail(
    state: &ssr::AppState,
    issued: &IssuedConfirmation,
) -> Result<traceless::mail::Mail, AppError> {
    let link = state
        .settings
        .public_url
        .join(&format!("confirm-email/{}", issued.token.expose()))
        .map_err(ssr::internal)?;
    Ok(compose::confirmation(&compose::ConfirmationMail {
        to: issued.user.email.as_str(),
        organization: &issued.organization_name,
        link: &link,
        expires_at: issued.expires_at,
    }))
}

#[cfg(feature = "ssr")]
async fn enqueue(
    conn: &mut impl traceless::db::Connection,
    organization_id: traceless::accounts::OrganizationId,
    mail: &traceless::mail::Mail,
) -> Result<(), AppError> {
    outbox::enqueue(
        conn,
        outbox::NewMessage {
            organization_id,
            verification_id: None,
            ticket_id: None,
            kind: MessageKind::Account,
            mail,
        },
    )
    .await?;
    Ok(())
}
