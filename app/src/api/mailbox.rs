//! The development mailbox: with no SMTP server configured, delivered mail is kept and shown
//! here, to organization administrators only (an account not confirmed yet sees only its own
//! account mail), so a demo or a test can read each mail and click its link. Off (not found)
//! when SMTP is configured.

use leptos::prelude::*;

use crate::error::AppError;
use crate::model::MailboxMessage;

#[cfg(feature = "ssr")]
use {super::convert, crate::ssr};

pub const MAILBOX_OFF: &str = "The development mailbox is off: Traceless sends mail through the SMTP server it is configured with.";

#[server(endpoint = "mailbox")]
pub async fn mailbox() -> Result<Vec<MailboxMessage>, AppError> {
    ssr::respond(
        async {
            let account = ssr::require_account().await?;
            let state = ssr::state()?;
            if !state.mailbox {
                return Err(AppError::NotFound(MAILBOX_OFF.into()));
            }
            let mut conn = state.pool.acquire().await?;
            let messages = if account.email_confirmed {
                let admin = ssr::require_admin().await?;
                traceless::mail::outbox::mailbox(&mut conn, admin.organization_id, 100).await?
            } else {
                // Not confirmed yet: only the mail about their own account, so that a
                // sign-up without a mail server can follow its confirmation link. (Without
                // SMTP nothing leaves the server: the development mailbox proves no address.)
                traceless::mail::outbox::account_mailbox(
                    &mut conn,
                    account.organization_id,
                    account.email.as_str(),
                    100,
                )
                .await?
            };
            Ok(messages
                .into_iter()
                .map(|m| MailboxMessage {
                    id: m.id.to_string(),
                    links: links_in(&m.mail.text),
                    to: m.mail.to,
                    subject: m.mail.subject,
                    text: m.mail.text,
                    delivered: convert::when(m.delivered_at.unwrap_or(m.created_at)),
                })
                .collect())
        }
        .await,
    )
}

/// The http(s) links of a plain-text mail, each on its own line as our mails write them.
#[cfg(feature = "ssr")]
fn links_in(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| l.starts_with("http://") || l.starts_with("https://"))
        .filter(|l| !l.contains(char::is_whitespace))
        .map(str::to_owned)
        .collect()
}
