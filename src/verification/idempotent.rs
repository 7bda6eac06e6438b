//! A create through the REST API with an `Idempotency-Key`: the first request's
//! verification is remembered per API key in the transaction that creates it, so a retry
//! (or a duplicate sent at the same time, to any instance) gets the same verification (and
//! link) back and the same key with another body is refused
//! (`crate::api_keys::idempotency`).

use uuid::Uuid;

use super::Verification;
use super::create::{Delivery, NewVerification};
use super::errors::VerificationError;
use super::service::{Started, Verifier};
use crate::accounts::Initiator;
use crate::api_keys::idempotency::{self, Remembered};
use crate::db::{self, Connection, Lock, LockKey};
use crate::secret::Secret;

/// One request's `Idempotency-Key`, and what it is checked and sealed with.
pub struct Idempotency<'a> {
    /// The API key the request came with: keys are remembered per API key.
    pub api_key_id: Uuid,
    /// The bearer token as presented: only its holder can unseal a remembered link.
    pub api_token: &'a str,
    pub key: &'a str,
    /// The request body's fingerprint ([`idempotency::request_hash`]).
    pub request_hash: String,
}

impl Idempotency<'_> {
    /// Remembers the new verification under the key (its link sealed, when the link is
    /// handed back rather than mailed), in the transaction that creates it.
    pub(super) async fn remember(
        &self,
        conn: &mut impl Connection,
        verification: &Verification,
        delivery: Delivery,
        link: &Secret,
    ) -> Result<(), sqlx::Error> {
        idempotency::remember(
            conn,
            self.api_key_id,
            self.key,
            &Remembered {
                request_hash: self.request_hash.clone(),
                verification_id: verification.id,
                sealed_link: (delivery == Delivery::Link)
                    .then(|| idempotency::seal(self.api_token, self.key, link.expose())),
            },
        )
        .await
    }
}

/// What an idempotent create did.
pub enum Once {
    /// The first request with this key: the verification was made now.
    Created(Started),
    /// A retry: the first request's verification, and its link when it was handed back
    /// (and the same API key asks).
    Replayed {
        verification: Verification,
        link: Option<String>,
    },
}

/// Why an idempotent create did nothing.
#[derive(Debug, thiserror::Error)]
pub enum OnceError {
    #[error("the Idempotency-Key was used before with a different request")]
    KeyReused,
    #[error(transparent)]
    Verification(#[from] VerificationError),
}

impl Idempotency<'_> {
    /// The advisory lock of this key of this API key: a concurrent duplicate (this
    /// instance or another) waits here for the first to commit, then finds its row.
    fn lock(&self) -> Lock {
        Lock::Key(LockKey::new(
            "idempotency",
            &[self.api_key_id.as_bytes(), self.key.as_bytes()],
        ))
    }
}

impl Verifier {
    /// Creates a verification once per `Idempotency-Key`: a retry with the same body gets
    /// the first one back; the same key with another body is refused.
    ///
    /// The key's row (unique per API key, and an API key belongs to one organization) is
    /// written in the transaction that creates the verification. A duplicate sent while
    /// the first is still running waits for it on the key's lock, then replays its answer;
    /// on SQLite the one writer gives the same order.
    pub async fn create_once(
        &self,
        by: &Initiator,
        new: NewVerification,
        once: &Idempotency<'_>,
    ) -> Result<Once, OnceError> {
        // A retry long after the first needs no lock: look before taking one.
        let earlier = {
            let mut conn = self.pool.acquire().await.map_err(VerificationError::from)?;
            idempotency::find(&mut conn, once.api_key_id, once.key)
                .await
                .map_err(VerificationError::from)?
        };
        if let Some(earlier) = earlier {
            return self.replay(by, once, earlier).await;
        }
        self.admit(by, &new).await?;
        // The key's lock, then a second look: a duplicate that got here first has committed.
        let mut tx = db::begin_write(&self.pool, once.lock())
            .await
            .map_err(VerificationError::from)?;
        let earlier = idempotency::find(&mut tx, once.api_key_id, once.key)
            .await
            .map_err(VerificationError::from)?;
        match earlier {
            Some(earlier) => {
                tx.rollback().await.map_err(VerificationError::from)?;
                self.replay(by, once, earlier).await
            }
            None => Ok(Once::Created(
                self.create_in(tx, by, new, Some(once)).await?,
            )),
        }
    }

    /// The first request's answer, for the same body; a refusal for another.
    async fn replay(
        &self,
        by: &Initiator,
        once: &Idempotency<'_>,
        earlier: Remembered,
    ) -> Result<Once, OnceError> {
        if earlier.request_hash != once.request_hash {
            return Err(OnceError::KeyReused);
        }
        let verification = self
            .get_in(by.organization_id, earlier.verification_id)
            .await?;
        let link = earlier
            .sealed_link
            .as_deref()
            .and_then(|sealed| idempotency::unseal(once.api_token, once.key, sealed));
        Ok(Once::Replayed { verification, link })
    }
}
