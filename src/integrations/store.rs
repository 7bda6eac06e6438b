//! SQL for connect attempts, the integration and its domains. Every query takes the
//! organization id, except the attempt lookup by state (the state is the capability).

use sqlx::{Row, SqliteConnection};
use time::OffsetDateTime;
use uuid::Uuid;

use super::{CoveredDomain, MicrosoftIntegration};
use crate::accounts::{OrganizationId, UserId};

pub struct NewAttempt<'a> {
    pub organization_id: OrganizationId,
    pub user_id: UserId,
    pub state_hash: &'a str,
    pub pkce_verifier: &'a str,
    pub nonce: &'a str,
    pub expires_at: OffsetDateTime,
}

pub async fn insert_attempt(
    conn: &mut SqliteConnection,
    new: NewAttempt<'_>,
) -> Result<Uuid, sqlx::Error> {
    let id = Uuid::new_v4();
    sqlx::query(
        "INSERT INTO microsoft_connect_attempts
         (id, organization_id, user_id, state_hash, pkce_verifier, nonce, created_at, expires_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(id)
    .bind(new.organization_id.0)
    .bind(new.user_id.0)
    .bind(new.state_hash)
    .bind(new.pkce_verifier)
    .bind(new.nonce)
    .bind(OffsetDateTime::now_utc())
    .bind(new.expires_at)
    .execute(conn)
    .await?;
    Ok(id)
}

pub struct Attempt {
    pub id: Uuid,
    pub organization_id: OrganizationId,
    pub user_id: UserId,
    pub pkce_verifier: String,
    pub nonce: String,
    pub expires_at: OffsetDateTime,
    pub used: bool,
}

pub async fn attempt_by_state_hash(
    conn: &mut SqliteConnection,
    state_hash: &str,
) -> Result<Option<Attempt>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT id, organization_id, user_id, pkce_verifier, nonce, expires_at, used_at IS NOT NULL AS used
         FROM microsoft_connect_attempts WHERE state_hash = ?",
    )
    .bind(state_hash)
    .fetch_optional(conn)
    .await?;
    row.map(|row| {
        Ok(Attempt {
            id: row.try_get("id")?,
            organization_id: OrganizationId(row.try_get("organization_id")?),
            user_id: UserId(row.try_get("user_id")?),
            pkce_verifier: row.try_get("pkce_verifier")?,
            nonce: row.try_get("nonce")?,
            expires_at: row.try_get("expires_at")?,
            used: row.try_get("used")?,
        })
    })
    .transpose()
}

/// Uses up an attempt; false when another request already did.
pub async fn mark_attempt_used(conn: &mut SqliteConnection, id: Uuid) -> Result<bool, sqlx::Error> {
    let result = sqlx::query(
        "UPDATE microsoft_connect_attempts SET used_at = ?, pkce_verifier = '', nonce = '' WHERE id = ? AND used_at IS NULL",
    )
    .bind(OffsetDateTime::now_utc())
    .bind(id)
    .execute(conn)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// The organization already linked to `tenant_id`, if any.
pub async fn organization_of_tenant(
    conn: &mut SqliteConnection,
    tenant_id: &str,
) -> Result<Option<OrganizationId>, sqlx::Error> {
    let row = sqlx::query("SELECT organization_id FROM microsoft_integrations WHERE tenant_id = ?")
        .bind(tenant_id)
        .fetch_optional(conn)
        .await?;
    row.map(|row| Ok(OrganizationId(row.try_get("organization_id")?)))
        .transpose()
}

/// Creates or refreshes the organization's integration and replaces its domains.
pub async fn upsert_integration(
    conn: &mut SqliteConnection,
    organization_id: OrganizationId,
    integration: &MicrosoftIntegration,
    connected_by: UserId,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO microsoft_integrations
         (organization_id, tenant_id, tenant_name, authority_id, authority_did, credential_type,
          email_claim, microsoft_account, connected_by, connected_by_name, connected_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (organization_id) DO UPDATE SET
           tenant_id = excluded.tenant_id, tenant_name = excluded.tenant_name,
           authority_id = excluded.authority_id, authority_did = excluded.authority_did,
           credential_type = excluded.credential_type, email_claim = excluded.email_claim,
           microsoft_account = excluded.microsoft_account,
           connected_by = excluded.connected_by, connected_by_name = excluded.connected_by_name,
           connected_at = excluded.connected_at",
    )
    .bind(organization_id.0)
    .bind(&integration.tenant_id)
    .bind(&integration.tenant_name)
    .bind(&integration.authority_id)
    .bind(&integration.authority_did)
    .bind(&integration.credential_type)
    .bind(&integration.email_claim)
    .bind(&integration.microsoft_account)
    .bind(connected_by.0)
    .bind(&integration.connected_by_name)
    .bind(integration.connected_at)
    .execute(&mut *conn)
    .await?;
    sqlx::query("DELETE FROM microsoft_domains WHERE organization_id = ?")
        .bind(organization_id.0)
        .execute(&mut *conn)
        .await?;
    for domain in &integration.domains {
        sqlx::query("INSERT INTO microsoft_domains (organization_id, name, is_default, is_initial) VALUES (?, ?, ?, ?)")
            .bind(organization_id.0)
            .bind(&domain.name)
            .bind(domain.is_default)
            .bind(domain.is_initial)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

pub async fn integration(
    conn: &mut SqliteConnection,
    organization_id: OrganizationId,
) -> Result<Option<MicrosoftIntegration>, sqlx::Error> {
    let Some(row) = sqlx::query(
        "SELECT tenant_id, tenant_name, authority_id, authority_did, credential_type, email_claim, microsoft_account,
                connected_by_name, connected_at
         FROM microsoft_integrations WHERE organization_id = ?",
    )
    .bind(organization_id.0)
    .fetch_optional(&mut *conn)
    .await?
    else {
        return Ok(None);
    };
    let domains = sqlx::query(
        "SELECT name, is_default, is_initial FROM microsoft_domains WHERE organization_id = ?
         ORDER BY is_default DESC, is_initial ASC, name",
    )
    .bind(organization_id.0)
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(|d| {
        Ok(CoveredDomain {
            name: d.try_get("name")?,
            is_default: d.try_get("is_default")?,
            is_initial: d.try_get("is_initial")?,
        })
    })
    .collect::<Result<Vec<_>, sqlx::Error>>()?;
    Ok(Some(MicrosoftIntegration {
        tenant_id: row.try_get("tenant_id")?,
        tenant_name: row.try_get("tenant_name")?,
        authority_id: row.try_get("authority_id")?,
        authority_did: row.try_get("authority_did")?,
        credential_type: row.try_get("credential_type")?,
        email_claim: row.try_get("email_claim")?,
        microsoft_account: row.try_get("microsoft_account")?,
        connected_by_name: row.try_get("connected_by_name")?,
        connected_at: row.try_get("connected_at")?,
        domains,
    }))
}

/// Removes the integration (its domains go with it); false when there was none.
pub async fn delete_integration(
    conn: &mut SqliteConnection,
    organization_id: OrganizationId,
) -> Result<bool, sqlx::Error> {
    let result = sqlx::query("DELETE FROM microsoft_integrations WHERE organization_id = ?")
        .bind(organization_id.0)
        .execute(conn)
        .await?;
    Ok(result.rows_affected() == 1)
}
