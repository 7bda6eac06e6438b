//! The Microsoft side of connecting a tenant, in two legs:
//!
//! 1. **Admin consent** (`admin_consent_request`): the admin consent endpoint with `.default`,
//!    where an administrator grants, for the whole organization, every permission the app
//!    registration lists, delegated *and* application.
//! 2. **Sign-in** (`MicrosoftClient::authorization_request`, then `read_tenant`): authorization
//!    code with PKCE and a nonce; the validated ID token's `tid` names the tenant. Then every
//!    grant is proven (admin-API token from the refresh token; the caller proves the app role)
//!    and what the tenant offers is read: verified domains, authorities, contracts.
//!
//! Why the admin consent endpoint and not `authorize` with `prompt=consent`: application
//! permissions (the request service's `VerifiableCredential.Create.PresentRequest` role) can
//! only be granted through static consent, and dynamic scopes grant delegated permissions only
//! (consent-types-developer; v2-admin-consent: "the admin consent endpoint ... grants the
//! permissions configured statically ... including application permissions"). With
//! `authorize` + `.default` an administrator who leaves "Consent on behalf of your
//! organization" unticked grants delegated permissions for themselves only; the admin consent
//! endpoint has no such trap. It returns no code and its `tenant` parameter must not be trusted
//! (v2-admin-consent, security note), so the sign-in leg follows and binds the tenant through
//! the ID token.

use url::Url;

use super::client::{IdTokenClaims, MicrosoftClient, Organization, random_token};
use super::contract::Contract;
use super::error::{MicrosoftError, Step};
use super::ids::Token;
use super::verified_id::Authority;

/// `.default` of Microsoft Graph: at the admin consent endpoint it stands for the app
/// registration's whole static permission list, across resources (scopes-oidc, ".default").
pub const ADMIN_CONSENT_SCOPE: &str = "https://graph.microsoft.com/.default";

/// Where to send the admin for the consent leg, and the `state` to expect back.
pub struct ConsentRequest {
    /// `{login}/organizations/v2.0/adminconsent?client_id&scope&redirect_uri&state`.
    pub url: Url,
    /// 256 random bits; must come back unchanged.
    pub state: String,
}

impl std::fmt::Debug for ConsentRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConsentRequest")
            .field("url", &self.url.path())
            .field("state", &"<redacted>")
            .finish()
    }
}

/// An authority of the tenant with the contracts it issues.
#[derive(Debug, Clone)]
pub struct AuthorityOffer {
    pub authority: Authority,
    pub contracts: Vec<Contract>,
}

/// What the sign-in leg learned, every step having succeeded.
#[derive(Debug, Clone)]
pub struct ConnectedTenant {
    pub admin: IdTokenClaims,
    pub organization: Organization,
    /// Every usable authority, with its contracts (possibly none).
    pub authorities: Vec<AuthorityOffer>,
    /// The admin's refresh token after minting the admin-API token (the one redeemed is
    /// replaced by it), kept sealed to re-read the authority later.
    pub admin_refresh_token: Option<Token>,
}

impl MicrosoftClient {
    /// The consent leg. `organizations`, not `common` (v2-admin-consent: `common` is not
    /// accepted here) and not a tenant we would have to guess.
    pub fn admin_consent_request(&self, redirect_uri: &Url) -> ConsentRequest {
        self.admin_consent_request_at("organizations", redirect_uri)
    }

    /// The consent leg at a named tenant (its GUID or one of its domains), for administrators
    /// whose account lives elsewhere (MSP/GDAP, a tenant run by a personal account):
    /// v2-admin-consent takes `{tenant}` as a GUID, a domain, or `organizations`.
    pub fn admin_consent_request_at(&self, tenant: &str, redirect_uri: &Url) -> ConsentRequest {
        let state = random_token();
        let mut url = self
            .endpoints
            .login_at(&format!("{tenant}/v2.0/adminconsent"));
        url.query_pairs_mut()
            .append_pair("client_id", self.client_id())
            .append_pair("scope", ADMIN_CONSENT_SCOPE)
            .append_pair("redirect_uri", redirect_uri.as_str())
            .append_pair("state", &state);
        ConsentRequest { url, state }
    }

    /// The sign-in leg after Microsoft redirected back with a code: exchange it at
    /// `token_tenant`, validate the ID token, read the verified domains, prove the delegated
    /// admin-API grant, and read the authorities and their contracts.
    #[tracing::instrument(skip_all)]
    pub async fn read_tenant(
        &self,
        code: &str,
        pkce_verifier: &str,
        redirect_uri: &Url,
        nonce: &str,
        token_tenant: &str,
    ) -> Result<ConnectedTenant, MicrosoftError> {
        let tokens = self
            .exchange_code(code, pkce_verifier, redirect_uri, token_tenant)
            .await?;
        let admin = self.validate_id_token(&tokens.id_token, nonce).await?;
        let organization = self.organization(&tokens.access_token).await?;
        if organization.id != admin.tenant_id {
            return Err(MicrosoftError::malformed(
                Step::Graph,
                "the organization is not the tenant the admin signed in to",
            ));
        }
        let admin_token = self
            .admin_api_token(&tokens.refresh_token, &admin.tenant_id)
            .await?;
        let authorities = self.authority_offers(&admin_token.access_token).await?;
        tracing::info!(tenant = %admin.tenant_id, authorities = authorities.len(), "read the Microsoft tenant");
        Ok(ConnectedTenant {
            admin,
            organization,
            authorities,
            admin_refresh_token: admin_token.refresh_token,
        })
    }

    /// The tenant's authorities, each with its contracts, read with a delegated admin-API
    /// token (at connect, and at each re-read).
    pub async fn authority_offers(
        &self,
        admin_token: &Token,
    ) -> Result<Vec<AuthorityOffer>, MicrosoftError> {
        let mut authorities = Vec::new();
        for authority in self.authorities(admin_token).await? {
            let contracts = self.contracts(admin_token, &authority.id).await?;
            authorities.push(AuthorityOffer {
                authority,
                contracts,
            });
        }
        Ok(authorities)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::microsoft::TenantId;

    fn client() -> MicrosoftClient {
        crate::microsoft::client::test_client()
    }

    #[test]
    fn the_consent_url_is_the_v2_admin_consent_endpoint_with_default() {
        let redirect = Url::parse("http://127.0.0.1:3000/cb").unwrap();
        let c = client().admin_consent_request(&redirect);
        assert_eq!(c.url.path(), "/login/organizations/v2.0/adminconsent");
        let q: HashMap<String, String> = c.url.query_pairs().into_owned().collect();
        assert_eq!(q["client_id"], "5f0c7a3e-9d1b-4c2a-8e6f-2b7d9a1c4e80");
        assert_eq!(q["scope"], "https://graph.microsoft.com/.default");
        assert_eq!(q["redirect_uri"], "http://127.0.0.1:3000/cb");
        assert_eq!(q["state"], c.state);
        assert_eq!(c.state.len(), 43);
        assert!(!format!("{c:?}").contains(&c.state));
    }

    #[test]
    fn the_sign_in_goes_to_the_consenting_tenant_without_prompting_again() {
        let redirect = Url::parse("http://127.0.0.1:3000/cb").unwrap();
        let tenant = TenantId::parse("84841066-274d-4ec0-a5c1-276be684bdd3").unwrap();
        let a = client().authorization_request(Some(&tenant), &redirect);
        assert_eq!(
            a.url.path(),
            "/login/84841066-274d-4ec0-a5c1-276be684bdd3/oauth2/v2.0/authorize"
        );
        assert_eq!(a.token_tenant, tenant.as_str());
        let q: HashMap<String, String> = a.url.query_pairs().into_owned().collect();
        assert_eq!(
            q["scope"],
            "openid profile offline_access https://graph.microsoft.com/User.Read"
        );
        assert!(!q.contains_key("prompt"));
        assert_eq!(q["code_challenge_method"], "S256");
        assert_eq!(q["nonce"], a.nonce);
        let b = client().authorization_request(None, &redirect);
        assert_eq!(b.url.path(), "/login/organizations/oauth2/v2.0/authorize");
        assert_eq!(b.token_tenant, "organizations");
    }
}
