//! The connecting administrator's Microsoft refresh token, kept sealed (see
//! `microsoft::token_key`) so that authority readiness and credential types can be re-read
//! without anyone signing in: the Verified ID admin API offers no read-only application
//! permission, only the delegated `full_access`.
//!
//! - Kept when a sign-in read the tenant and the connect went on (connected, a choice to make,
//!   or waiting for consent), and only when a key is configured (`TRACELESS_TOKEN_KEY`, or the
//!   emulator's per-process key).
//! - Replaced by the refresh token Microsoft returns at each use.
//! - Forgotten when Microsoft no longer honours it (the card then asks for a sign-in), and when
//!   the integration is removed. Never logged, never sent to the browser.

use time::OffsetDateTime;

use crate::accounts::OrganizationId;
use crate::db::{self, Connection, Pool};
use crate::microsoft::{AuthorityOffer, LinkedDomain, MicrosoftClient, MicrosoftError, TenantId};
use crate::microsoft::{Token, TokenKey};

/// Keeps `token` for the organization's connection to `tenant_id`, sealed, replacing any
/// other; without a key (or a token) nothing is kept, and an older token is forgotten.
pub(super) async fn keep(
    conn: &mut impl Connection,
    key: Option<&TokenKey>,
    organization_id: OrganizationId,
    tenant_id: &str,
    token: Option<&Token>,
) -> Result<(), sqlx::Error> {
    let (Some(key), Some(token)) = (key, token) else {
        return forget(conn, organization_id).await;
    };
    let sealed = key.seal(token, &organization_id.0.to_string(), tenant_id);
    db::query(
        "INSERT INTO microsoft_admin_tokens (organization_id, tenant_id, sealed_token, stored_at)
         VALUES ($1, $2, $3, $4)
         ON CONFLICT (organization_id) DO UPDATE SET tenant_id = excluded.tenant_id,
           sealed_token = excluded.sealed_token, stored_at = excluded.stored_at",
    )
    .bind(organization_id.0)
    .bind(tenant_id)
    .bind(sealed)
    .bind(OffsetDateTime::now_utc())
    .execute(conn)
    .await?;
    Ok(())
}

/// Forgets the organization's kept token, if any.
pub(super) async fn forget(
    conn: &mut impl Connection,
    organization_id: OrganizationId,
) -> Result<(), sqlx::Error> {
    db::query("DELETE FROM microsoft_admin_tokens WHERE organization_id = $1")
        .bind(organization_id.0)
        .execute(conn)
        .await?;
    Ok(())
}

/// The kept token for the organization's connection to `tenant_id`: `None` when none is kept
/// (or it was kept for another tenant), `Some(None)` when it does not open with this key
/// (another key, e.g. the emulator's before a restart, or a row that is not this
/// organization's).
async fn kept(
    conn: &mut impl Connection,
    key: &TokenKey,
    organization_id: OrganizationId,
    tenant_id: &str,
) -> Result<Option<Option<Token>>, sqlx::Error> {
    let Some(row) = db::query(
        "SELECT sealed_token FROM microsoft_admin_tokens
         WHERE organization_id = $1 AND tenant_id = $2",
    )
    .bind(organization_id.0)
    .bind(tenant_id)
    .fetch_optional(conn)
    .await?
    else {
        return Ok(None);
    };
    let sealed: String = row.try_get("sealed_token")?;
    Ok(Some(key.open(
        &sealed,
        &organization_id.0.to_string(),
        tenant_id,
    )))
}

/// What re-reading the connected authority found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum AuthorityRead {
    /// Microsoft answered: the authority's linked-domain state and the credential types it
    /// offers now.
    Read {
        linked_domain: LinkedDomain,
        credential_types: Vec<String>,
    },
    /// No token is kept (no key configured, or none survived): the authority is re-read when
    /// an administrator signs in.
    NotKept,
    /// Microsoft no longer honours the kept token, or it does not open with this key (the
    /// emulator's per-process key after a restart); it was forgotten. An administrator must
    /// sign in again.
    SignInNeeded,
    /// Microsoft could not be read; the last known state stays. The reason, in words.
    Failed(String),
}

/// Re-reads the connected authority with a delegated admin-API token minted from the kept
/// refresh token, keeping the one Microsoft returns in its place.
pub(super) async fn reread_authority(
    pool: &Pool,
    microsoft: &MicrosoftClient,
    organization_id: OrganizationId,
    tenant_id: &str,
    authority_id: &str,
) -> Result<AuthorityRead, sqlx::Error> {
    let Some(key) = microsoft.token_key() else {
        return Ok(AuthorityRead::NotKept);
    };
    let Ok(tenant) = TenantId::parse(tenant_id) else {
        return Ok(AuthorityRead::Failed(
            "the stored tenant id is not valid".into(),
        ));
    };
    let mut conn = pool.acquire().await?;
    let token = match kept(&mut conn, key, organization_id, tenant_id).await? {
        None => return Ok(AuthorityRead::NotKept),
        Some(Some(token)) => token,
        // Useless to anyone: only a new sign-in helps.
        Some(None) => {
            forget(&mut conn, organization_id).await?;
            tracing::info!(organization = %organization_id, "the kept Microsoft sign-in does not open with this key; an administrator must sign in again");
            return Ok(AuthorityRead::SignInNeeded);
        }
    };
    drop(conn);
    let minted = microsoft.admin_api_token(&token, &tenant).await;
    let mut conn = pool.acquire().await?;
    let admin_token = match minted {
        Ok(minted) => {
            // The redeemed token may already be spent: keep its replacement at once.
            keep(
                &mut conn,
                Some(key),
                organization_id,
                tenant_id,
                minted.refresh_token.as_ref(),
            )
            .await?;
            minted.access_token
        }
        Err(e) if e.is_dead_grant() => {
            forget(&mut conn, organization_id).await?;
            tracing::info!(organization = %organization_id, "Microsoft no longer honours the kept sign-in; an administrator must sign in again");
            return Ok(AuthorityRead::SignInNeeded);
        }
        Err(e) => return Ok(AuthorityRead::Failed(explain(&e))),
    };
    drop(conn);
    Ok(match microsoft.authority_offers(&admin_token).await {
        Ok(offers) => read_of(&offers, authority_id),
        Err(e) => AuthorityRead::Failed(explain(&e)),
    })
}

/// The connected authority in what Microsoft listed.
fn read_of(offers: &[AuthorityOffer], authority_id: &str) -> AuthorityRead {
    let Some(offer) = offers.iter().find(|o| o.authority.id == authority_id) else {
        return AuthorityRead::Failed(
            "Microsoft no longer lists the connected Verified ID authority; log in to your tenant again to pick one".into(),
        );
    };
    let mut credential_types: Vec<String> = Vec::new();
    for t in offer
        .contracts
        .iter()
        .flat_map(|c| c.credential_types.iter())
    {
        if !credential_types.iter().any(|k| k == t.as_str()) {
            credential_types.push(t.as_str().to_owned());
        }
    }
    AuthorityRead::Read {
        linked_domain: offer.authority.linked_domain,
        credential_types,
    }
}

/// A failed re-read in words; a refusal of the admin API names the roles that may read it,
/// as at connect.
fn explain(error: &MicrosoftError) -> String {
    super::ConnectFailure::from_microsoft(error).explain()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_authority_that_left_the_listing_is_a_failure_not_an_empty_read() {
        assert!(matches!(
            read_of(&[], "some-authority"),
            AuthorityRead::Failed(reason) if reason.contains("no longer lists")
        ));
    }
}
