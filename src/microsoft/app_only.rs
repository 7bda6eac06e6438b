//! Reads made with no administrator signed in (the daily refresh): an app-only token
//! (client credentials) in the customer's tenant.
//!
//! What can be read app-only, per Microsoft Learn:
//! - Graph `GET /organization` (name, verified domains): application permission
//!   `Organization.Read.All` is the least privileged one (organization-list,
//!   <https://learn.microsoft.com/en-us/graph/api/organization-list>). `User.Read` is delegated
//!   only.
//! - The Verified ID admin API (authorities, contracts): app-only needs
//!   `VerifiableCredential.Authority.ReadWrite` / `VerifiableCredential.Contract.ReadWrite`
//!   (admin-api, "Application bearer tokens"); no read-only application permission exists.
//!   Traceless does not ask a customer for write access to read, so authority readiness and
//!   credential types are re-read with a delegated token minted from the connecting
//!   administrator's kept refresh token (`integrations::admin_token`), or at each "Log in to
//!   your tenant" when none is kept.

use tracing::instrument;

use super::VERIFIED_ID_ADMIN_APP;
use super::client::{MicrosoftClient, Organization};
use super::error::{MicrosoftError, Step};
use super::id_token::unverified_payload;
use super::ids::Did;
use super::ids::TenantId;
use super::verified_id::Authority;

/// Graph's `.default`: with client credentials, the application permissions granted on Graph.
const GRAPH_DEFAULT: &str = "https://graph.microsoft.com/.default";

/// The Graph application permission the refresh needs (least privileged for `/organization`).
pub const GRAPH_ORGANIZATION_READ_ALL: &str = "Organization.Read.All";

impl MicrosoftClient {
    /// The tenant's organization (display name, verified domains) read with an app-only
    /// Graph token. `ConsentMissing` when the token carries no permission to read it: Microsoft
    /// issues app tokens without `roles` when nothing was granted
    /// (v2-oauth2-client-creds-grant-flow), which a tenant connected before Traceless asked for
    /// `Organization.Read.All` is.
    #[instrument(skip_all, fields(tenant = %tenant))]
    pub async fn organization_app_only(
        &self,
        tenant: &TenantId,
    ) -> Result<Organization, MicrosoftError> {
        #[derive(serde::Deserialize)]
        struct AppClaims {
            #[serde(default)]
            roles: Vec<String>,
        }
        let (token, _) = self
            .client_credentials(Step::Graph, tenant, GRAPH_DEFAULT)
            .await?;
        let claims: AppClaims = unverified_payload(token.expose()).ok_or_else(|| {
            MicrosoftError::malformed(Step::Graph, "the access token is not a JWT")
        })?;
        let can_read = claims.roles.iter().any(|r| {
            [GRAPH_ORGANIZATION_READ_ALL, "Directory.Read.All"]
                .iter()
                .any(|ok| r.eq_ignore_ascii_case(ok))
        });
        if !can_read {
            return Err(MicrosoftError::ConsentMissing {
                permission: "Microsoft Graph: Organization.Read.All (application)",
            });
        }
        let organization = self.organization(&token).await?;
        if &organization.id != tenant {
            return Err(MicrosoftError::malformed(
                Step::Graph,
                "the organization is not the connected tenant",
            ));
        }
        Ok(organization)
    }
}

impl MicrosoftClient {
    /// Our own authority, read app-only in our own tenant as the own-tenant app (provider
    /// mode's start check). The admin API's app tokens need
    /// `VerifiableCredential.Authority.ReadWrite` (admin-api: no read-only application
    /// permission exists); assign it to the app in our own tenant only, never in the
    /// registration's static list that customers consent to. `Ok(None)` when no authority of
    /// the tenant has that DID.
    #[instrument(skip_all, fields(tenant = %tenant, did = %did))]
    pub async fn own_authority(
        &self,
        tenant: &TenantId,
        did: &Did,
    ) -> Result<Option<Authority>, MicrosoftError> {
        let (token, _) = self
            .client_credentials_as(
                self.own_tenant_credentials(),
                Step::AdminApiToken,
                tenant,
                &format!("{VERIFIED_ID_ADMIN_APP}/.default"),
            )
            .await?;
        Ok(self
            .authorities(&token)
            .await?
            .into_iter()
            .find(|a| &a.did == did))
    }
}
