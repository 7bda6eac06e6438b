//! Sign in with Microsoft: the OpenID Connect authorization code flow at the v2.0 endpoints,
//! for the same app registration as connect, with PKCE, a nonce and `prompt=select_account`.
//! Only `openid profile email` are asked: signing in reads nothing of the tenant and keeps no
//! token (no `offline_access`, no Graph scope) (scopes-oidc, "OpenID Connect scopes").

use oauth2::{AuthUrl, CsrfToken, PkceCodeChallenge, RedirectUrl, Scope};
use url::Url;

use super::client::{IdTokenClaims, MicrosoftClient, random_token};
use super::error::MicrosoftError;

/// The only scopes a sign-in asks for.
pub const SIGN_IN_SCOPES: [&str; 3] = ["openid", "profile", "email"];

/// Where a sign-in is started and redeemed: work and school accounts of any tenant, since
/// nobody is known before they sign in. The code is redeemed at the same segment
/// (AADSTS700005 otherwise); the tenant is then the ID token's `tid`.
const SIGN_IN_TENANT: &str = "organizations";

/// What a browser must bring back: kept in its own session, never in a URL we hand out.
#[derive(Clone, serde::Serialize, serde::Deserialize)]
pub struct PendingSignIn {
    /// 256 random bits; must come back unchanged as `state`.
    pub state: String,
    /// 256 random bits; the ID token must carry it.
    pub nonce: String,
    /// The PKCE verifier for the code redemption. Secret.
    pub pkce_verifier: String,
    /// When the sign-in was started (Unix seconds): an old one is refused.
    pub started_at: i64,
}

impl std::fmt::Debug for PendingSignIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingSignIn")
            .field("started_at", &self.started_at)
            .finish_non_exhaustive()
    }
}

/// Where to send the browser, and what to keep in its session until it returns.
pub struct SignInRequest {
    pub url: Url,
    pub pending: PendingSignIn,
}

impl MicrosoftClient {
    /// Microsoft's authorize URL for "Sign in with Microsoft". `select_account` always shows
    /// the account picker, so a browser signed in to Microsoft as someone else can choose
    /// (v2-oauth2-auth-code-flow, `prompt`).
    pub fn sign_in_request(&self, redirect_uri: &Url) -> SignInRequest {
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let nonce = random_token();
        let state = random_token();
        let (url, _) = self
            .oauth_client(SIGN_IN_TENANT)
            .set_auth_uri(AuthUrl::from_url(
                self.endpoints
                    .login_at(&format!("{SIGN_IN_TENANT}/oauth2/v2.0/authorize")),
            ))
            .set_redirect_uri(RedirectUrl::from_url(redirect_uri.clone()))
            .authorize_url(|| CsrfToken::new(state.clone()))
            .add_scopes(SIGN_IN_SCOPES.map(|s| Scope::new(s.to_owned())))
            .set_pkce_challenge(challenge)
            .add_extra_param("response_mode", "query")
            .add_extra_param("nonce", &nonce)
            .add_extra_param("prompt", "select_account")
            .url();
        SignInRequest {
            url,
            pending: PendingSignIn {
                state,
                nonce,
                pkce_verifier: verifier.into_secret(),
                started_at: time::OffsetDateTime::now_utc().unix_timestamp(),
            },
        }
    }

    /// Redeems the code and validates the ID token exactly as connect does (signature against
    /// the token's own tenant's keys, issuer, audience, expiry, nonce). The access token is
    /// dropped unused.
    #[tracing::instrument(skip_all)]
    pub async fn finish_sign_in(
        &self,
        code: &str,
        pending: &PendingSignIn,
        redirect_uri: &Url,
    ) -> Result<IdTokenClaims, MicrosoftError> {
        let (_, id_token) = self
            .redeem_code(code, &pending.pkce_verifier, redirect_uri, SIGN_IN_TENANT)
            .await?;
        self.validate_id_token(&id_token, &pending.nonce).await
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    #[test]
    fn the_sign_in_asks_only_for_openid_profile_email_and_the_account_picker() {
        let redirect = Url::parse("http://127.0.0.1:3000/sign-in/microsoft/callback").unwrap();
        let request = crate::microsoft::client::test_client().sign_in_request(&redirect);
        assert_eq!(
            request.url.path(),
            "/login/organizations/oauth2/v2.0/authorize"
        );
        let q: HashMap<String, String> = request.url.query_pairs().into_owned().collect();
        assert_eq!(q["scope"], "openid profile email");
        assert_eq!(q["prompt"], "select_account");
        assert_eq!(q["response_type"], "code");
        assert_eq!(q["code_challenge_method"], "S256");
        assert_eq!(q["state"], request.pending.state);
        assert_eq!(q["nonce"], request.pending.nonce);
        assert_eq!(q["redirect_uri"], redirect.as_str());
        assert!(!format!("{:?}", request.pending).contains(&request.pending.nonce));
    }
}
