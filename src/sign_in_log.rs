//! Sign-ins in the organization's audit log: each success, and each wrong password for an
//! existing account (an unknown address belongs to no organization, and the visitor is never
//! told which it was).

use std::net::IpAddr;

use crate::accounts::{self, User};
use crate::audit::{self, Action};
use crate::db::Pool;
use crate::email::EmailAddress;

/// How the person proved who they are, as the log says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Password,
    PasswordAndCode,
    PasswordAndRecoveryCode,
}

impl Method {
    fn words(self) -> &'static str {
        match self {
            Method::Password => "with a password",
            Method::PasswordAndCode => "with a password and an authenticator code",
            Method::PasswordAndRecoveryCode => "with a password and a recovery code",
        }
    }
}

pub async fn signed_in(
    pool: &Pool,
    user: &User,
    method: Method,
    client: Option<IpAddr>,
) -> Result<(), sqlx::Error> {
    let mut conn = pool.acquire().await?;
    audit::record_from(
        &mut conn,
        user.organization_id,
        Some(user),
        Action::SignInSucceeded,
        method.words(),
        client,
    )
    .await
}

/// Logs a refused password for `email` if it is an account's; otherwise does nothing.
pub async fn password_refused(
    pool: &Pool,
    email: &str,
    client: Option<IpAddr>,
) -> Result<(), sqlx::Error> {
    let Ok(email) = EmailAddress::parse(email) else {
        return Ok(());
    };
    let Some(user) = accounts::account_by_email(pool, &email).await? else {
        return Ok(());
    };
    let mut conn = pool.acquire().await?;
    audit::record_from(
        &mut conn,
        user.organization_id,
        Some(&user),
        Action::SignInFailed,
        "wrong password",
        client,
    )
    .await
}
