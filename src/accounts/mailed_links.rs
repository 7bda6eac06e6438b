//! The single-use links Traceless mails about an account (email confirmations, password
//! resets): stored as the SHA-256 of their secret, good until used or expired.

use time::OffsetDateTime;
use uuid::Uuid;

use super::UserId;
use crate::db;
use crate::secret::{SecretHash, looks_like_secret};

/// Which kind of mailed link, and so which table holds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum MailedLink {
    EmailConfirmation,
    PasswordReset,
}

impl MailedLink {
    fn open_query(self) -> &'static str {
        match self {
            MailedLink::EmailConfirmation => {
                "SELECT id, user_id FROM email_confirmations
                 WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2"
            }
            MailedLink::PasswordReset => {
                "SELECT id, user_id FROM password_resets
                 WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2"
            }
        }
    }

    /// The unused, unexpired link behind `token`: its id and its account.
    pub(super) async fn open(
        self,
        conn: &mut impl db::Connection,
        token: &str,
        now: OffsetDateTime,
    ) -> Result<Option<(Uuid, UserId)>, sqlx::Error> {
        if !looks_like_secret(token) {
            return Ok(None);
        }
        let row = db::query(self.open_query())
            .bind(SecretHash::of(token).as_str())
            .bind(now)
            .fetch_optional(conn)
            .await?;
        row.map(|row| Ok((row.try_get(0)?, UserId(row.try_get(1)?))))
            .transpose()
    }
}
