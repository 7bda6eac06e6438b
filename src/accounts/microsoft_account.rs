//! The Microsoft account a member signs in with (`tid` + `oid`), and the organization's
//! "Microsoft only" setting that password sign-in obeys. SQL only; the rules are in
//! `integrations::sign_in`, which also audits.

use time::OffsetDateTime;

use super::store::{USER_COLUMNS, UserRow};
use super::{OrganizationId, User, UserId};
use crate::db::{self, Connection};
use crate::email::EmailAddress;

/// The member of `organization_id` bound to the Microsoft account `tenant_id`/`oid`.
pub async fn member_by_microsoft_account(
    conn: &mut impl Connection,
    organization_id: OrganizationId,
    tenant_id: &str,
    oid: &str,
) -> Result<Option<User>, sqlx::Error> {
    let row = db::query(&format!(
        "SELECT {USER_COLUMNS} FROM users
         WHERE organization_id = $1 AND microsoft_tenant_id = $2 AND microsoft_oid = $3"
    ))
    .bind(organization_id.0)
    .bind(tenant_id)
    .bind(oid)
    .fetch_optional_as::<UserRow>(conn)
    .await?;
    row.map(User::try_from).transpose()
}

/// The member of `organization_id` with `email` who is bound to no Microsoft account yet in
/// `tenant_id` (one bound to another account of the tenant is not taken over by an email).
pub async fn unbound_member_by_email(
    conn: &mut impl Connection,
    organization_id: OrganizationId,
    tenant_id: &str,
    email: &EmailAddress,
) -> Result<Option<User>, sqlx::Error> {
    let row = db::query(&format!(
        "SELECT {USER_COLUMNS} FROM users
         WHERE organization_id = $1 AND email = $2
           AND (microsoft_oid IS NULL OR microsoft_tenant_id IS NULL OR microsoft_tenant_id <> $3)"
    ))
    .bind(organization_id.0)
    .bind(email.as_str())
    .bind(tenant_id)
    .fetch_optional_as::<UserRow>(conn)
    .await?;
    row.map(User::try_from).transpose()
}

/// Binds `user` to the Microsoft account. `false` when that account already opens another
/// Traceless account (the unique index), and nothing changed.
pub async fn bind_microsoft_account(
    conn: &mut impl Connection,
    user: UserId,
    tenant_id: &str,
    oid: &str,
) -> Result<bool, sqlx::Error> {
    let taken = db::query(
        "SELECT id FROM users WHERE microsoft_tenant_id = $1 AND microsoft_oid = $2 AND id <> $3",
    )
    .bind(tenant_id)
    .bind(oid)
    .bind(user.0)
    .fetch_optional(&mut *conn)
    .await?;
    if taken.is_some() {
        return Ok(false);
    }
    db::query("UPDATE users SET microsoft_tenant_id = $1, microsoft_oid = $2 WHERE id = $3")
        .bind(tenant_id)
        .bind(oid)
        .bind(user.0)
        .execute(conn)
        .await?;
    Ok(true)
}

/// Whether password sign-in is refused for the organization's members: "Microsoft only" is
/// on, for the tenant that is connected now.
pub async fn is_microsoft_only(
    conn: &mut impl Connection,
    organization_id: OrganizationId,
) -> Result<bool, sqlx::Error> {
    let found = db::query(
        "SELECT m.organization_id FROM microsoft_only_organizations m
         JOIN microsoft_integrations i
           ON i.organization_id = m.organization_id AND i.tenant_id = m.tenant_id
         WHERE m.organization_id = $1",
    )
    .bind(organization_id.0)
    .fetch_optional(conn)
    .await?;
    Ok(found.is_some())
}

/// Turns "Microsoft only" on for the connected `tenant_id`. `false` when the organization has
/// no integration with that tenant (the foreign key and the join make sure of it).
pub async fn turn_on_microsoft_only(
    conn: &mut impl Connection,
    organization_id: OrganizationId,
    tenant_id: &str,
    by: UserId,
    now: OffsetDateTime,
) -> Result<bool, sqlx::Error> {
    let done = db::query(
        "INSERT INTO microsoft_only_organizations (organization_id, tenant_id, turned_on_by, turned_on_at)
         SELECT organization_id, tenant_id, $3, $4 FROM microsoft_integrations
         WHERE organization_id = $1 AND tenant_id = $2
         ON CONFLICT (organization_id) DO UPDATE SET tenant_id = excluded.tenant_id,
           turned_on_by = excluded.turned_on_by, turned_on_at = excluded.turned_on_at",
    )
    .bind(organization_id.0)
    .bind(tenant_id)
    .bind(by.0)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn turn_off_microsoft_only(
    conn: &mut impl Connection,
    organization_id: OrganizationId,
) -> Result<(), sqlx::Error> {
    db::query("DELETE FROM microsoft_only_organizations WHERE organization_id = $1")
        .bind(organization_id.0)
        .execute(conn)
        .await?;
    Ok(())
}

/// Whether `user` is bound to a Microsoft account of `tenant_id` (has signed in with it).
pub async fn is_bound_to_tenant(
    conn: &mut impl Connection,
    user: UserId,
    tenant_id: &str,
) -> Result<bool, sqlx::Error> {
    let found = db::query(
        "SELECT id FROM users WHERE id = $1 AND microsoft_tenant_id = $2 AND microsoft_oid IS NOT NULL",
    )
    .bind(user.0)
    .bind(tenant_id)
    .fetch_optional(conn)
    .await?;
    Ok(found.is_some())
}
