//! ID-token validation: RS256 signature against the token's own tenant's keys (OIDC discovery →
//! `jwks_uri`, cached briefly), issuer `{login}/{tid}/v2.0`, audience, nonce, expiry.

use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use reqwest::StatusCode;
use serde::Deserialize;
use subtle::ConstantTimeEq;
use tracing::instrument;

use super::client::{IdTokenClaims, MicrosoftClient};
use super::error::{IdTokenProblem, MicrosoftError, Step};
use super::ids::{TenantId, Token};

/// How long a tenant's signing keys are reused before asking again.
const JWKS_TTL: Duration = Duration::from_secs(10 * 60);
/// Clock skew tolerated on `exp` and `nbf`.
const LEEWAY_SECS: u64 = 120;

pub(crate) struct CachedKeys {
    fetched: Instant,
    keys: Arc<JwkSet>,
}

#[derive(Deserialize)]
struct Discovery {
    jwks_uri: url::Url,
}

#[derive(Deserialize)]
struct Peek {
    tid: Option<String>,
}

#[derive(Deserialize)]
struct Claims {
    tid: String,
    #[serde(default)]
    oid: Option<String>,
    #[serde(default)]
    nonce: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    preferred_username: Option<String>,
    #[serde(default)]
    email: Option<String>,
    /// Optional claim; Microsoft sends it as a JSON boolean (optional-claims-reference).
    #[serde(default)]
    xms_edov: Option<serde_json::Value>,
}

fn invalid(p: IdTokenProblem) -> MicrosoftError {
    MicrosoftError::InvalidIdToken(p)
}

/// A JWT's payload, not verified. Only used to learn which tenant's keys to verify with.
pub(crate) fn unverified_payload<T: for<'de> Deserialize<'de>>(token: &str) -> Option<T> {
    let payload = token.split('.').nth(1)?;
    let bytes = URL_SAFE_NO_PAD.decode(payload).ok()?;
    serde_json::from_slice(&bytes).ok()
}

impl MicrosoftClient {
    /// Validates an ID token from the code exchange and returns who signed in where.
    /// The tenant is the token's own `tid`; its issuer must be `{login}/{tid}/v2.0`.
    #[instrument(skip_all)]
    pub async fn validate_id_token(
        &self,
        id_token: &Token,
        expected_nonce: &str,
    ) -> Result<IdTokenClaims, MicrosoftError> {
        let token = id_token.expose();
        let header = jsonwebtoken::decode_header(token)
            .map_err(|e| invalid(IdTokenProblem::Malformed(e.to_string())))?;
        if header.alg != Algorithm::RS256 {
            return Err(invalid(IdTokenProblem::Algorithm(format!(
                "{:?}",
                header.alg
            ))));
        }
        let kid = header.kid.ok_or(invalid(IdTokenProblem::MissingKeyId))?;
        let tenant = unverified_payload::<Peek>(token)
            .ok_or_else(|| invalid(IdTokenProblem::Malformed("unreadable payload".into())))?
            .tid
            .and_then(|t| TenantId::parse(&t).ok())
            .ok_or(invalid(IdTokenProblem::Claim("tid")))?;

        let key = self.signing_key(&tenant, &kid).await?;
        let mut validation = Validation::new(Algorithm::RS256);
        validation.algorithms = vec![Algorithm::RS256];
        validation.leeway = LEEWAY_SECS;
        validation.validate_nbf = true;
        validation.set_audience(&[self.client_id()]);
        validation.set_issuer(&[self.endpoints.issuer(&tenant)]);
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        let claims = jsonwebtoken::decode::<Claims>(token, &key, &validation)
            .map_err(|e| {
                invalid(match e.kind() {
                    ErrorKind::InvalidSignature => IdTokenProblem::Signature,
                    ErrorKind::ExpiredSignature => IdTokenProblem::Expired,
                    ErrorKind::ImmatureSignature => IdTokenProblem::NotYetValid,
                    ErrorKind::InvalidIssuer => IdTokenProblem::Issuer,
                    ErrorKind::InvalidAudience => IdTokenProblem::Audience,
                    ErrorKind::InvalidAlgorithm => IdTokenProblem::Algorithm("mismatch".into()),
                    ErrorKind::MissingRequiredClaim(c) => match c.as_str() {
                        "exp" => IdTokenProblem::Claim("exp"),
                        "iss" => IdTokenProblem::Claim("iss"),
                        _ => IdTokenProblem::Claim("aud"),
                    },
                    _ => IdTokenProblem::Malformed(e.to_string()),
                })
            })?
            .claims;
        // Signed, so this is the same `tid` we chose the keys and issuer by; check anyway.
        if TenantId::parse(&claims.tid).ok().as_ref() != Some(&tenant) {
            return Err(invalid(IdTokenProblem::Claim("tid")));
        }
        let nonce_ok = claims
            .nonce
            .as_deref()
            .is_some_and(|n| bool::from(n.as_bytes().ct_eq(expected_nonce.as_bytes())));
        if !nonce_ok {
            return Err(invalid(IdTokenProblem::Nonce));
        }
        let oid = claims
            .oid
            .filter(|o| !o.is_empty())
            .ok_or(invalid(IdTokenProblem::Claim("oid")))?;
        Ok(IdTokenClaims {
            tenant_id: tenant,
            oid,
            name: claims.name,
            preferred_username: claims.preferred_username,
            email: claims.email,
            // Only a real `true` vouches; a string or anything else does not.
            email_domain_verified: claims.xms_edov == Some(serde_json::Value::Bool(true)),
        })
    }

    /// The tenant's key `kid`, from the cache or fetched again (also when a cached set lacks the
    /// kid: Microsoft rotates keys).
    async fn signing_key(
        &self,
        tenant: &TenantId,
        kid: &str,
    ) -> Result<DecodingKey, MicrosoftError> {
        let cached = {
            let cache = self.jwks.lock().unwrap_or_else(|p| p.into_inner());
            cache
                .get(tenant)
                .filter(|c| c.fetched.elapsed() < JWKS_TTL)
                .map(|c| c.keys.clone())
        };
        let keys = match cached {
            Some(keys) if keys.find(kid).is_some() => keys,
            _ => {
                let keys = Arc::new(self.fetch_jwks(tenant).await?);
                self.jwks.lock().unwrap_or_else(|p| p.into_inner()).insert(
                    tenant.clone(),
                    CachedKeys {
                        fetched: Instant::now(),
                        keys: keys.clone(),
                    },
                );
                keys
            }
        };
        let jwk = keys.find(kid).ok_or(invalid(IdTokenProblem::UnknownKey))?;
        DecodingKey::from_jwk(jwk)
            .map_err(|e| MicrosoftError::malformed(Step::Discovery, format!("signing key: {e}")))
    }

    async fn fetch_jwks(&self, tenant: &TenantId) -> Result<JwkSet, MicrosoftError> {
        let step = Step::Discovery;
        let discovery_url = self
            .endpoints
            .login_at(&format!("{tenant}/v2.0/.well-known/openid-configuration"));
        let discovery: Discovery = self
            .send_json(step, self.http.get(discovery_url), StatusCode::OK)
            .await
            .map_err(|e| match e {
                // Microsoft does not know the token's tenant: the token is not one of its own.
                MicrosoftError::Rejected {
                    status: 400 | 404, ..
                } => invalid(IdTokenProblem::UnknownTenant),
                other => other,
            })?;
        self.send_json(step, self.http.get(discovery.jwks_uri), StatusCode::OK)
            .await
    }
}
