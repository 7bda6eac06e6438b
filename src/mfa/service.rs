//! The two-step verification use cases: set up, turn on, check at sign-in, turn off,
//! new recovery codes, and the organization's requirement. Every change and every refused
//! code is written to the audit log with the client's address.

use std::net::IpAddr;

use time::OffsetDateTime;

use super::MfaError;
use super::recovery_codes::{self, RecoveryCode};
use super::store;
use super::totp::{self, Code, TotpSecret};
use crate::accounts::{self, AccountError, User};
use crate::audit::{self, Action};
use crate::db::{self, Lock, LockKey, Pool};
use crate::microsoft::TokenKey;

/// What the account page shows about the signed-in person's two-step verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    pub enabled: bool,
    pub recovery_codes_left: i64,
    /// Their organization requires it.
    pub required: bool,
}

/// What the person needs to add Traceless to an authenticator app.
#[derive(Debug, Clone)]
pub struct Setup {
    /// The secret in base32, in groups of four, for typing in.
    pub secret_text: String,
    /// The `otpauth://` URI, for the QR code.
    pub uri: String,
}

/// How the person proves they hold their second factor.
#[derive(Debug, Clone, Copy)]
pub enum Proof<'a> {
    /// The six digits their app shows now.
    Code(&'a str),
    /// One of their recovery codes.
    RecoveryCode(&'a str),
}

/// Who is acting, and from where (for the audit log).
#[derive(Debug, Clone, Copy)]
pub struct Caller<'a> {
    pub user: &'a User,
    pub client: Option<IpAddr>,
}

/// The use cases, over the database and the key secrets are sealed with.
pub struct TwoStep<'a> {
    pool: &'a Pool,
    key: Option<&'a TokenKey>,
}

/// What the sealed secret is tied to: a secret copied to another account's row does not open.
fn seal_context(user: &User) -> String {
    format!("traceless two-step secret\nuser={}", user.id)
}

impl<'a> TwoStep<'a> {
    pub fn new(pool: &'a Pool, key: Option<&'a TokenKey>) -> Self {
        TwoStep { pool, key }
    }

    pub async fn status(&self, user: &User) -> Result<Status, MfaError> {
        let mut conn = self.pool.acquire().await?;
        let enabled = store::secret_of(&mut conn, user.id)
            .await?
            .is_some_and(|s| s.enabled_at.is_some());
        Ok(Status {
            enabled,
            recovery_codes_left: if enabled {
                store::recovery_codes_left(&mut conn, user.id).await?
            } else {
                0
            },
            required: store::required(&mut conn, user.organization_id).await?,
        })
    }

    /// Makes a new secret for the person to add to their app; it is only used once they
    /// enter a code from it ([`TwoStep::enable`]).
    pub async fn begin_setup(&self, user: &User, issuer: &str) -> Result<Setup, MfaError> {
        let key = self.key.ok_or(MfaError::NoKey)?;
        let secret = TotpSecret::generate();
        let sealed = key.seal_bytes(secret.as_bytes(), &seal_context(user));
        let mut conn = self.pool.acquire().await?;
        if !store::keep_pending(&mut conn, user.id, &sealed, OffsetDateTime::now_utc()).await? {
            return Err(MfaError::AlreadyEnabled);
        }
        Ok(Setup {
            secret_text: secret.grouped(),
            uri: secret.otpauth_uri(issuer, user.email.as_str()),
        })
    }

    /// Turns two-step verification on with a current code from the secret being set up,
    /// and returns the recovery codes (shown once; only their hashes are kept).
    pub async fn enable(
        &self,
        caller: Caller<'_>,
        code: &str,
    ) -> Result<Vec<RecoveryCode>, MfaError> {
        let user = caller.user;
        let mut conn = self.pool.acquire().await?;
        let row = store::secret_of(&mut conn, user.id)
            .await?
            .ok_or(MfaError::NoSetupStarted)?;
        drop(conn);
        if row.enabled_at.is_some() {
            return Err(MfaError::AlreadyEnabled);
        }
        let secret = self
            .open(user, &row.sealed_secret)
            .ok_or(MfaError::NoSetupStarted)?;
        let step = Code::parse(code)
            .and_then(|code| secret.step_of(&code, totp::now()))
            .ok_or(MfaError::WrongCode)?;
        let codes = recovery_codes::generate();
        let hashes: Vec<String> = codes.iter().map(|c| c.hash().as_str().to_owned()).collect();
        let mut tx = db::begin_write(
            self.pool,
            Lock::Key(LockKey::organization(user.organization_id.0)),
        )
        .await?;
        if !store::enable(&mut tx, user.id, step as i64, OffsetDateTime::now_utc()).await? {
            return Err(MfaError::AlreadyEnabled);
        }
        store::replace_recovery_codes(&mut tx, user.id, &hashes).await?;
        self.audit(&mut tx, caller, Action::MfaEnabled, "").await?;
        tx.commit().await?;
        tracing::info!(user = %user.id, "two-step verification turned on");
        Ok(codes)
    }

    /// Checks the second step of a sign-in (or of a change that needs it). A TOTP code is
    /// accepted once: the same code again, or an older one, is refused as a replay. A
    /// recovery code is used up. Refusals are logged.
    pub async fn check(&self, caller: Caller<'_>, proof: Proof<'_>) -> Result<(), MfaError> {
        let user = caller.user;
        let mut conn = self.pool.acquire().await?;
        let row = store::secret_of(&mut conn, user.id)
            .await?
            .filter(|s| s.enabled_at.is_some())
            .ok_or(MfaError::NotEnabled)?;
        drop(conn);
        let mut tx = db::begin_write(
            self.pool,
            Lock::Key(LockKey::organization(user.organization_id.0)),
        )
        .await?;
        let outcome = match proof {
            Proof::Code(typed) => {
                let step = Code::parse(typed).and_then(|code| {
                    // A secret that does not open (the key changed) matches no code: the
                    // person signs in with a recovery code and sets up again.
                    self.open(user, &row.sealed_secret)?
                        .step_of(&code, totp::now())
                });
                match step {
                    Some(step) if store::accept_step(&mut tx, user.id, step as i64).await? => {
                        Ok(())
                    }
                    Some(_) => Err((MfaError::WrongCode, "a code that was already used")),
                    None => Err((MfaError::WrongCode, "a wrong code")),
                }
            }
            Proof::RecoveryCode(typed) => match recovery_codes::hash_of_typed(typed) {
                Some(hash) if store::use_recovery_code(&mut tx, user.id, hash.as_str()).await? => {
                    let left = store::recovery_codes_left(&mut tx, user.id).await?;
                    self.audit(
                        &mut tx,
                        caller,
                        Action::MfaRecoveryCodeUsed,
                        &format!("{left} recovery codes left"),
                    )
                    .await?;
                    Ok(())
                }
                _ => Err((MfaError::WrongRecoveryCode, "a wrong recovery code")),
            },
        };
        if let Err((_, what)) = &outcome {
            self.audit(&mut tx, caller, Action::MfaCodeFailed, what)
                .await?;
        }
        tx.commit().await?;
        outcome.map_err(|(error, _)| error)
    }

    /// Turns two-step verification off: needs the password and a code (or a recovery code).
    pub async fn disable(
        &self,
        caller: Caller<'_>,
        password: &str,
        proof: Proof<'_>,
    ) -> Result<(), MfaError> {
        let user = caller.user;
        let status = self.status(user).await?;
        if !status.enabled {
            return Err(MfaError::NotEnabled);
        }
        if status.required {
            return Err(MfaError::RequiredByOrganization);
        }
        match accounts::sign_in(self.pool, user.email.as_str(), password).await {
            Ok(same) if same.id == user.id => {}
            Ok(_) | Err(AccountError::WrongCredentials) => return Err(MfaError::WrongPassword),
            Err(AccountError::TooMany(too_many)) => return Err(too_many.into()),
            Err(AccountError::Database(e)) => return Err(e.into()),
            Err(_) => return Err(MfaError::WrongPassword),
        }
        self.check(caller, proof).await?;
        let mut tx = db::begin_write(
            self.pool,
            Lock::Key(LockKey::organization(caller.user.organization_id.0)),
        )
        .await?;
        store::forget(&mut tx, user.id).await?;
        self.audit(&mut tx, caller, Action::MfaDisabled, "").await?;
        tx.commit().await?;
        tracing::info!(user = %user.id, "two-step verification turned off");
        Ok(())
    }

    /// Replaces the recovery codes (the old ones stop working); needs a current code.
    pub async fn regenerate_recovery_codes(
        &self,
        caller: Caller<'_>,
        code: &str,
    ) -> Result<Vec<RecoveryCode>, MfaError> {
        self.check(caller, Proof::Code(code)).await?;
        let codes = recovery_codes::generate();
        let hashes: Vec<String> = codes.iter().map(|c| c.hash().as_str().to_owned()).collect();
        let mut tx = db::begin_write(
            self.pool,
            Lock::Key(LockKey::organization(caller.user.organization_id.0)),
        )
        .await?;
        store::replace_recovery_codes(&mut tx, caller.user.id, &hashes).await?;
        self.audit(&mut tx, caller, Action::MfaRecoveryCodesRegenerated, "")
            .await?;
        tx.commit().await?;
        Ok(codes)
    }

    /// Requires (or stops requiring) two-step verification of everyone in the administrator's
    /// organization. An administrator must have it on before requiring it.
    pub async fn set_required(&self, caller: Caller<'_>, required: bool) -> Result<(), MfaError> {
        let admin = caller.user;
        if !admin.is_admin() {
            return Err(MfaError::NotAdmin);
        }
        let status = self.status(admin).await?;
        if required && !status.enabled {
            return Err(MfaError::AdminWithoutMfa);
        }
        if status.required == required {
            return Ok(());
        }
        let mut tx = db::begin_write(
            self.pool,
            Lock::Key(LockKey::organization(admin.organization_id.0)),
        )
        .await?;
        store::set_required(&mut tx, admin.organization_id, required).await?;
        let action = if required {
            Action::MfaRequired
        } else {
            Action::MfaNoLongerRequired
        };
        self.audit(&mut tx, caller, action, "").await?;
        tx.commit().await?;
        tracing::info!(organization = %admin.organization_id, by = %admin.id, required, "two-step verification requirement changed");
        Ok(())
    }

    fn open(&self, user: &User, sealed: &str) -> Option<TotpSecret> {
        let bytes = self.key?.open_bytes(sealed, &seal_context(user))?;
        TotpSecret::from_bytes(bytes)
    }

    async fn audit(
        &self,
        conn: &mut impl db::Connection,
        caller: Caller<'_>,
        action: Action,
        detail: &str,
    ) -> Result<(), sqlx::Error> {
        audit::record_from(
            conn,
            caller.user.organization_id,
            Some(caller.user),
            action,
            detail,
            caller.client,
        )
        .await
    }
}

/// Whether two-step verification is on for `user` (sign-in then asks for a code).
pub async fn enabled(pool: &Pool, user: &User) -> Result<bool, sqlx::Error> {
    let mut conn = pool.acquire().await?;
    Ok(store::secret_of(&mut conn, user.id)
        .await?
        .is_some_and(|s| s.enabled_at.is_some()))
}

/// Whether `user`'s organization requires two-step verification and they have not set it
/// up: until they do, they can do nothing but set it up.
pub async fn setup_outstanding(pool: &Pool, user: &User) -> Result<bool, sqlx::Error> {
    let mut conn = pool.acquire().await?;
    store::setup_outstanding(&mut conn, user.organization_id, user.id).await
}
