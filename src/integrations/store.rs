//! SQL for connect attempts, the integration and its domains. Every query takes the
//! organization id, except the attempt lookup by state (the state is the capability).

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use super::{ClaimOrigin, ConnectOption, CoveredDomain, Freshness, MicrosoftIntegration};
use crate::accounts::{OrganizationId, UserId};
use crate::db::{self, Connection};
use crate::microsoft::{EmailSource, LinkedDomain};

pub struct NewAttempt<'a> {
    pub organization_id: OrganizationId,
    pub user_id: UserId,
    pub state_hash: &'a str,
    pub pkce_verifier: &'a str,
    pub nonce: &'a str,
    pub expires_at: OffsetDateTime,
    pub phase: Phase,
    pub token_tenant: &'a str,
}

/// Which leg of the connect an attempt waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// The admin consent endpoint's return (`admin_consent=True`).
    Consent,
    /// The sign-in's return with a code.
    SignIn,
}

impl Phase {
    /// As stored in `microsoft_connect_attempts.phase`.
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Consent => "consent",
            Phase::SignIn => "sign_in",
        }
    }

    fn parse(stored: &str) -> Option<Self> {
        match stored {
            "consent" => Some(Phase::Consent),
            "sign_in" => Some(Phase::SignIn),
            _ => None,
        }
    }
}

pub async fn insert_attempt(
    conn: &mut impl Connection,
    new: NewAttempt<'_>,
) -> Result<Uuid, sqlx::Error> {
    let id = Uuid::new_v4();
    db::query(
        "INSERT INTO microsoft_connect_attempts
         (id, organization_id, user_id, state_hash, pkce_verifier, nonce, created_at, expires_at,
          phase, token_tenant)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(id)
    .bind(new.organization_id.0)
    .bind(new.user_id.0)
    .bind(new.state_hash)
    .bind(new.pkce_verifier)
    .bind(new.nonce)
    .bind(OffsetDateTime::now_utc())
    .bind(new.expires_at)
    .bind(new.phase.as_str())
    .bind(new.token_tenant)
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
    pub phase: Phase,
    pub token_tenant: String,
}

/// A `microsoft_connect_attempts` row as read.
#[derive(sqlx::FromRow)]
struct AttemptRow {
    id: Uuid,
    organization_id: OrganizationId,
    user_id: UserId,
    pkce_verifier: String,
    nonce: String,
    expires_at: OffsetDateTime,
    used: bool,
    phase: String,
    token_tenant: String,
}

impl TryFrom<AttemptRow> for Attempt {
    type Error = sqlx::Error;

    fn try_from(row: AttemptRow) -> Result<Self, sqlx::Error> {
        Ok(Attempt {
            id: row.id,
            organization_id: row.organization_id,
            user_id: row.user_id,
            pkce_verifier: row.pkce_verifier,
            nonce: row.nonce,
            expires_at: row.expires_at,
            used: row.used,
            phase: Phase::parse(&row.phase)
                .ok_or_else(|| sqlx::Error::Decode("connect attempt phase".into()))?,
            token_tenant: row.token_tenant,
        })
    }
}

pub async fn attempt_by_state_hash(
    conn: &mut impl Connection,
    state_hash: &str,
) -> Result<Option<Attempt>, sqlx::Error> {
    let row = db::query(
        "SELECT id, organization_id, user_id, pkce_verifier, nonce, expires_at, used_at IS NOT NULL AS used,
                phase, token_tenant
         FROM microsoft_connect_attempts WHERE state_hash = $1",
    )
    .bind(state_hash)
    .fetch_optional_as::<AttemptRow>(conn)
    .await?;
    row.map(Attempt::try_from).transpose()
}

/// Uses up an attempt; false when another request already did.
pub async fn mark_attempt_used(conn: &mut impl Connection, id: Uuid) -> Result<bool, sqlx::Error> {
    let result = db::query(
        "UPDATE microsoft_connect_attempts SET used_at = $1, pkce_verifier = '', nonce = '' WHERE id = $2 AND used_at IS NULL",
    )
    .bind(OffsetDateTime::now_utc())
    .bind(id)
    .execute(conn)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// The organization already linked to `tenant_id`, if any.
pub async fn organization_of_tenant(
    conn: &mut impl Connection,
    tenant_id: &str,
) -> Result<Option<OrganizationId>, sqlx::Error> {
    let row: Option<(OrganizationId,)> =
        db::query("SELECT organization_id FROM microsoft_integrations WHERE tenant_id = $1")
            .bind(tenant_id)
            .fetch_optional_as(conn)
            .await?;
    Ok(row.map(|(id,)| id))
}

/// Creates or refreshes the organization's integration and replaces its domains.
pub async fn upsert_integration(
    conn: &mut impl Connection,
    organization_id: OrganizationId,
    integration: &MicrosoftIntegration,
    connected_by: UserId,
) -> Result<(), sqlx::Error> {
    db::query(
        "INSERT INTO microsoft_integrations
         (organization_id, tenant_id, tenant_name, authority_id, authority_did, credential_type,
          microsoft_account, connected_by, connected_by_name, connected_at,
          email_claim, available_claims, linked_domain_verified, linked_domain,
          confirmed_at, next_refresh_at, refresh_attempted_at, refresh_problem,
          removed_domains, domains_removed_at,
          email_source, email_source_accepted, claim_origins, photo_claim,
          credential_types, authority_confirmed_at, authority_sign_in_needed)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $10, $15, NULL, NULL, '[]', NULL,
                 $16, $17, $18, $19, $20, $10, $21)
         ON CONFLICT (organization_id) DO UPDATE SET
           tenant_id = excluded.tenant_id, tenant_name = excluded.tenant_name,
           authority_id = excluded.authority_id, authority_did = excluded.authority_did,
           credential_type = excluded.credential_type, microsoft_account = excluded.microsoft_account,
           connected_by = excluded.connected_by, connected_by_name = excluded.connected_by_name,
           connected_at = excluded.connected_at, email_claim = excluded.email_claim,
           available_claims = excluded.available_claims,
           linked_domain_verified = excluded.linked_domain_verified,
           linked_domain = excluded.linked_domain, confirmed_at = excluded.confirmed_at,
           next_refresh_at = excluded.next_refresh_at,
           refresh_attempted_at = NULL, refresh_problem = NULL,
           removed_domains = '[]', domains_removed_at = NULL,
           email_source = excluded.email_source,
           email_source_accepted = excluded.email_source_accepted,
           claim_origins = excluded.claim_origins, photo_claim = excluded.photo_claim,
           credential_types = excluded.credential_types,
           authority_confirmed_at = excluded.authority_confirmed_at,
           authority_sign_in_needed = excluded.authority_sign_in_needed",
    )
    .bind(organization_id.0)
    .bind(&integration.tenant_id)
    .bind(&integration.tenant_name)
    .bind(&integration.authority_id)
    .bind(&integration.authority_did)
    .bind(&integration.credential_type)
    .bind(&integration.microsoft_account)
    .bind(connected_by.0)
    .bind(&integration.connected_by_name)
    .bind(integration.connected_at)
    .bind(&integration.email_claim)
    .bind(serde_json::to_string(&integration.available_claims).expect("strings serialize"))
    // The old flag, kept truthful for readers of the column: verified only when Microsoft said so.
    .bind(integration.linked_domain == LinkedDomain::Verified)
    .bind(integration.linked_domain.as_str())
    // A connect is a confirmation: the first daily refresh follows a day later.
    .bind(integration.connected_at + super::refresh::REFRESH_INTERVAL)
    .bind(integration.email_source.as_str())
    .bind(integration.email_source_accepted)
    .bind(serde_json::to_string(&integration.claim_origins).expect("plain data serializes"))
    .bind(integration.photo_claim.as_deref())
    .bind(serde_json::to_string(&integration.credential_types).expect("strings serialize"))
    // A sign-in just read the authority.
    .bind(false)
    .execute(&mut *conn)
    .await?;
    replace_domains(conn, organization_id, &integration.domains).await
}

/// Replaces the organization's covered domains.
pub async fn replace_domains(
    conn: &mut impl Connection,
    organization_id: OrganizationId,
    domains: &[CoveredDomain],
) -> Result<(), sqlx::Error> {
    db::query("DELETE FROM microsoft_domains WHERE organization_id = $1")
        .bind(organization_id.0)
        .execute(&mut *conn)
        .await?;
    for domain in domains {
        db::query("INSERT INTO microsoft_domains (organization_id, name, is_default, is_initial) VALUES ($1, $2, $3, $4)")
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
    conn: &mut impl Connection,
    organization_id: OrganizationId,
) -> Result<Option<MicrosoftIntegration>, sqlx::Error> {
    let Some(row) = db::query(
        "SELECT tenant_id, tenant_name, authority_id, authority_did, credential_type, microsoft_account,
                connected_by_name, connected_at, email_claim, available_claims, linked_domain,
                confirmed_at, refresh_attempted_at, refresh_problem, removed_domains, domains_removed_at,
                email_source, email_source_accepted, claim_origins, photo_claim,
                credential_types, authority_confirmed_at, authority_sign_in_needed,
                EXISTS (SELECT 1 FROM microsoft_admin_tokens t
                        WHERE t.organization_id = microsoft_integrations.organization_id
                          AND t.tenant_id = microsoft_integrations.tenant_id) AS token_kept
         FROM microsoft_integrations WHERE organization_id = $1",
    )
    .bind(organization_id.0)
    .fetch_optional_as::<IntegrationRow>(&mut *conn)
    .await?
    else {
        return Ok(None);
    };
    let domains = db::query(
        "SELECT name, is_default, is_initial FROM microsoft_domains WHERE organization_id = $1
         ORDER BY is_default DESC, is_initial ASC, name",
    )
    .bind(organization_id.0)
    .fetch_all_as::<CoveredDomain>(&mut *conn)
    .await?;
    row.into_integration(domains).map(Some)
}

/// A `microsoft_integrations` row as read; its lists are JSON text.
#[derive(sqlx::FromRow)]
struct IntegrationRow {
    tenant_id: String,
    tenant_name: String,
    authority_id: String,
    authority_did: String,
    credential_type: String,
    microsoft_account: String,
    connected_by_name: String,
    connected_at: OffsetDateTime,
    email_claim: String,
    available_claims: String,
    linked_domain: String,
    confirmed_at: Option<OffsetDateTime>,
    refresh_attempted_at: Option<OffsetDateTime>,
    refresh_problem: Option<String>,
    removed_domains: String,
    domains_removed_at: Option<OffsetDateTime>,
    email_source: String,
    email_source_accepted: bool,
    claim_origins: String,
    photo_claim: Option<String>,
    credential_types: String,
    authority_confirmed_at: Option<OffsetDateTime>,
    authority_sign_in_needed: bool,
    token_kept: bool,
}

impl IntegrationRow {
    fn into_integration(
        self,
        domains: Vec<CoveredDomain>,
    ) -> Result<MicrosoftIntegration, sqlx::Error> {
        let json = |e: serde_json::Error| sqlx::Error::Decode(Box::new(e));
        Ok(MicrosoftIntegration {
            tenant_id: self.tenant_id,
            tenant_name: self.tenant_name,
            authority_id: self.authority_id,
            authority_did: self.authority_did,
            credential_type: self.credential_type,
            microsoft_account: self.microsoft_account,
            connected_by_name: self.connected_by_name,
            connected_at: self.connected_at,
            email_claim: self.email_claim,
            available_claims: serde_json::from_str(&self.available_claims).map_err(json)?,
            linked_domain: LinkedDomain::parse(&self.linked_domain).ok_or_else(|| {
                sqlx::Error::Decode("microsoft_integrations.linked_domain".into())
            })?,
            email_source: EmailSource::parse(&self.email_source)
                .ok_or_else(|| sqlx::Error::Decode("integration email source".into()))?,
            email_source_accepted: self.email_source_accepted,
            claim_origins: serde_json::from_str::<Vec<ClaimOrigin>>(&self.claim_origins)
                .map_err(json)?,
            photo_claim: self.photo_claim,
            credential_types: serde_json::from_str(&self.credential_types).map_err(json)?,
            domains,
            freshness: Box::new(Freshness {
                confirmed_at: self.confirmed_at,
                attempted_at: self.refresh_attempted_at,
                problem: self.refresh_problem,
                removed_domains: serde_json::from_str(&self.removed_domains).map_err(json)?,
                domains_removed_at: self.domains_removed_at,
                authority_confirmed_at: self.authority_confirmed_at,
                authority_sign_in_needed: self.authority_sign_in_needed,
                authority_token_kept: self.token_kept,
            }),
        })
    }
}

/// Removes the integration (its domains go with it); false when there was none.
pub async fn delete_integration(
    conn: &mut impl Connection,
    organization_id: OrganizationId,
) -> Result<bool, sqlx::Error> {
    let result = db::query("DELETE FROM microsoft_integrations WHERE organization_id = $1")
        .bind(organization_id.0)
        .execute(conn)
        .await?;
    Ok(result.rows_affected() == 1)
}

/// Changes the claim that holds the email, with its source and whether the admin accepted
/// that source; false when there is no integration.
pub async fn set_email_claim(
    conn: &mut impl Connection,
    organization_id: OrganizationId,
    claim: &str,
    source: EmailSource,
    accepted: bool,
) -> Result<bool, sqlx::Error> {
    let result =
        db::query("UPDATE microsoft_integrations SET email_claim = $1, email_source = $2, email_source_accepted = $3 WHERE organization_id = $4")
            .bind(claim)
            .bind(source.as_str())
            .bind(accepted)
            .bind(organization_id.0)
            .execute(conn)
            .await?;
    Ok(result.rows_affected() == 1)
}

/// A connect waiting for the admin's pick (see `choice`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingConnection {
    pub tenant_id: String,
    pub tenant_name: String,
    pub microsoft_account: String,
    pub domains: Vec<CoveredDomain>,
    pub options: Vec<ConnectOption>,
    pub expires_at: OffsetDateTime,
}

#[derive(Serialize, Deserialize)]
struct StoredDomain {
    name: String,
    is_default: bool,
    is_initial: bool,
}

/// Replaces the organization's pending connection.
pub async fn put_pending(
    conn: &mut impl Connection,
    organization_id: OrganizationId,
    user_id: UserId,
    pending: &PendingConnection,
) -> Result<(), sqlx::Error> {
    let domains: Vec<StoredDomain> = pending
        .domains
        .iter()
        .map(|d| StoredDomain {
            name: d.name.clone(),
            is_default: d.is_default,
            is_initial: d.is_initial,
        })
        .collect();
    db::query(
        "INSERT INTO microsoft_pending_connections
         (organization_id, user_id, tenant_id, tenant_name, microsoft_account, domains, options, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT (organization_id) DO UPDATE SET
           user_id = excluded.user_id, tenant_id = excluded.tenant_id, tenant_name = excluded.tenant_name,
           microsoft_account = excluded.microsoft_account, domains = excluded.domains,
           options = excluded.options, created_at = excluded.created_at, expires_at = excluded.expires_at",
    )
    .bind(organization_id.0)
    .bind(user_id.0)
    .bind(&pending.tenant_id)
    .bind(&pending.tenant_name)
    .bind(&pending.microsoft_account)
    .bind(serde_json::to_string(&domains).expect("plain data serializes"))
    .bind(serde_json::to_string(&pending.options).expect("plain data serializes"))
    .bind(OffsetDateTime::now_utc())
    .bind(pending.expires_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// A `microsoft_pending_connections` row as read; its lists are JSON text.
#[derive(sqlx::FromRow)]
struct PendingRow {
    tenant_id: String,
    tenant_name: String,
    microsoft_account: String,
    domains: String,
    options: String,
    expires_at: OffsetDateTime,
}

/// The organization's pending connection, if one has not expired.
pub async fn pending(
    conn: &mut impl Connection,
    organization_id: OrganizationId,
) -> Result<Option<PendingConnection>, sqlx::Error> {
    let Some(row) = db::query(
        "SELECT tenant_id, tenant_name, microsoft_account, domains, options, expires_at
         FROM microsoft_pending_connections WHERE organization_id = $1 AND expires_at > $2",
    )
    .bind(organization_id.0)
    .bind(OffsetDateTime::now_utc())
    .fetch_optional_as::<PendingRow>(conn)
    .await?
    else {
        return Ok(None);
    };
    let decode = |e: serde_json::Error| sqlx::Error::Decode(Box::new(e));
    let domains: Vec<StoredDomain> = serde_json::from_str(&row.domains).map_err(decode)?;
    Ok(Some(PendingConnection {
        tenant_id: row.tenant_id,
        tenant_name: row.tenant_name,
        microsoft_account: row.microsoft_account,
        domains: domains
            .into_iter()
            .map(|d| CoveredDomain {
                name: d.name,
                is_default: d.is_default,
                is_initial: d.is_initial,
            })
            .collect(),
        options: serde_json::from_str(&row.options).map_err(decode)?,
        expires_at: row.expires_at,
    }))
}

pub async fn delete_pending(
    conn: &mut impl Connection,
    organization_id: OrganizationId,
) -> Result<(), sqlx::Error> {
    db::query("DELETE FROM microsoft_pending_connections WHERE organization_id = $1")
        .bind(organization_id.0)
        .execute(conn)
        .await?;
    Ok(())
}

/// Claims the next integration whose daily refresh is due: moves its `next_refresh_at` to
/// `until` with a conditional UPDATE (the row must still be due), so of several instances
/// exactly one wins each refresh. `None` when nothing is due.
pub async fn claim_due_refresh(
    conn: &mut impl Connection,
    now: OffsetDateTime,
    until: OffsetDateTime,
) -> Result<Option<OrganizationId>, sqlx::Error> {
    loop {
        let Some(row) = db::query(
            "SELECT organization_id FROM microsoft_integrations
             WHERE next_refresh_at IS NULL OR next_refresh_at <= $1
             ORDER BY next_refresh_at LIMIT 1",
        )
        .bind(now)
        .fetch_optional(&mut *conn)
        .await?
        else {
            return Ok(None);
        };
        let organization_id: Uuid = row.try_get("organization_id")?;
        let claimed = db::query(
            "UPDATE microsoft_integrations SET next_refresh_at = $1
             WHERE organization_id = $2 AND (next_refresh_at IS NULL OR next_refresh_at <= $3)",
        )
        .bind(until)
        .bind(organization_id)
        .bind(now)
        .execute(&mut *conn)
        .await?;
        if claimed.rows_affected() == 1 {
            return Ok(Some(OrganizationId(organization_id)));
        }
        // Another instance took it between the read and the update: look again.
    }
}

/// Records a manual refresh attempt unless one was made after `not_before`; false then
/// (manual refreshes are spaced: Microsoft throttles per app, and every customer shares ours).
pub async fn claim_manual_refresh(
    conn: &mut impl Connection,
    organization_id: OrganizationId,
    now: OffsetDateTime,
    not_before: OffsetDateTime,
) -> Result<bool, sqlx::Error> {
    let result = db::query(
        "UPDATE microsoft_integrations SET refresh_attempted_at = $1
         WHERE organization_id = $2 AND (refresh_attempted_at IS NULL OR refresh_attempted_at <= $3)",
    )
    .bind(now)
    .bind(organization_id.0)
    .bind(not_before)
    .execute(conn)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// A refresh that read the domains from Microsoft: confirmed now; domains that left are added
/// to the notice. `problem`: what else could not be read (the authority), if anything.
pub async fn record_refresh_success(
    conn: &mut impl Connection,
    organization_id: OrganizationId,
    now: OffsetDateTime,
    removed_domains: &[String],
    problem: Option<&str>,
) -> Result<(), sqlx::Error> {
    db::query(
        "UPDATE microsoft_integrations SET confirmed_at = $1, refresh_attempted_at = $1,
           refresh_problem = $4,
           removed_domains = CASE WHEN $2 = '[]' THEN removed_domains ELSE $2 END,
           domains_removed_at = CASE WHEN $2 = '[]' THEN domains_removed_at ELSE $1 END
         WHERE organization_id = $3",
    )
    .bind(now)
    .bind(serde_json::to_string(removed_domains).expect("strings serialize"))
    .bind(organization_id.0)
    .bind(problem)
    .execute(conn)
    .await?;
    Ok(())
}

/// The authority re-read from Microsoft: its linked-domain state and the credential types it
/// offers, confirmed now.
pub async fn record_authority_read(
    conn: &mut impl Connection,
    organization_id: OrganizationId,
    now: OffsetDateTime,
    linked_domain: LinkedDomain,
    credential_types: &[String],
) -> Result<(), sqlx::Error> {
    db::query(
        "UPDATE microsoft_integrations SET linked_domain = $1, linked_domain_verified = $2,
           credential_types = $3, authority_confirmed_at = $4, authority_sign_in_needed = $5
         WHERE organization_id = $6",
    )
    .bind(linked_domain.as_str())
    .bind(linked_domain == LinkedDomain::Verified)
    .bind(serde_json::to_string(credential_types).expect("strings serialize"))
    .bind(now)
    .bind(false)
    .bind(organization_id.0)
    .execute(conn)
    .await?;
    Ok(())
}

/// The kept sign-in stopped working: the last known authority state stays, and the card asks
/// an administrator to sign in again.
pub async fn record_authority_sign_in_needed(
    conn: &mut impl Connection,
    organization_id: OrganizationId,
) -> Result<(), sqlx::Error> {
    db::query(
        "UPDATE microsoft_integrations SET authority_sign_in_needed = $1 WHERE organization_id = $2",
    )
    .bind(true)
    .bind(organization_id.0)
    .execute(conn)
    .await?;
    Ok(())
}

/// A refresh that could not read Microsoft: everything known stays, the problem is kept.
pub async fn record_refresh_failure(
    conn: &mut impl Connection,
    organization_id: OrganizationId,
    now: OffsetDateTime,
    problem: &str,
) -> Result<(), sqlx::Error> {
    db::query(
        "UPDATE microsoft_integrations SET refresh_attempted_at = $1, refresh_problem = $2
         WHERE organization_id = $3",
    )
    .bind(now)
    .bind(problem)
    .bind(organization_id.0)
    .execute(conn)
    .await?;
    Ok(())
}

/// The email addresses of the organization's administrators (for notices).
pub async fn admin_emails(
    conn: &mut impl Connection,
    organization_id: OrganizationId,
) -> Result<Vec<String>, sqlx::Error> {
    db::query(
        "SELECT email FROM users WHERE organization_id = $1 AND role = 'admin' ORDER BY email",
    )
    .bind(organization_id.0)
    .fetch_all(conn)
    .await?
    .iter()
    .map(|r| r.try_get("email"))
    .collect()
}

/// The organization's name (for the words of a notice).
pub async fn organization_name(
    conn: &mut impl Connection,
    organization_id: OrganizationId,
) -> Result<String, sqlx::Error> {
    db::query("SELECT name FROM organizations WHERE id = $1")
        .bind(organization_id.0)
        .fetch_one(conn)
        .await?
        .try_get("name")
}
