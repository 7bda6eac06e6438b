//! Bearer-token checks shared by Graph and Verified ID: signature, expiry, audience, issuer, tenant.

use axum::http::{HeaderMap, header};
use jsonwebtoken::errors::ErrorKind;
use serde::Deserialize;

use crate::state::EmulatorState;

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct AccessClaims {
    pub tid: String,
    pub iss: String,
    #[serde(default)]
    pub oid: Option<String>,
    #[serde(default)]
    pub scp: Option<String>,
    #[serde(default)]
    pub roles: Option<Vec<String>>,
    #[serde(default)]
    pub idtyp: Option<String>,
}

impl AccessClaims {
    pub fn has_scope(&self, s: &str) -> bool {
        self.scp
            .as_deref()
            .is_some_and(|scp| scp.split(' ').any(|x| x.eq_ignore_ascii_case(s)))
    }
    pub fn has_role(&self, r: &str) -> bool {
        self.roles
            .as_deref()
            .is_some_and(|roles| roles.iter().any(|x| x.eq_ignore_ascii_case(r)))
    }
    pub fn is_app(&self) -> bool {
        self.idtyp.as_deref() == Some("app") || self.scp.is_none()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokenProblem {
    Missing,
    Invalid,
    Expired,
    WrongAudience,
    WrongTenant,
}

impl TokenProblem {
    pub fn message(self) -> &'static str {
        match self {
            TokenProblem::Missing => "Access token is empty.",
            TokenProblem::Invalid => {
                "Access token validation failure. Invalid signature or malformed token."
            }
            TokenProblem::Expired => "Lifetime validation failed, the token is expired.",
            TokenProblem::WrongAudience => "Invalid audience.",
            TokenProblem::WrongTenant => {
                "Access token validation failure. Invalid issuer or unknown tenant."
            }
        }
    }
}

pub(crate) fn bearer(
    state: &EmulatorState,
    headers: &HeaderMap,
    audiences: &[&str],
) -> Result<AccessClaims, TokenProblem> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or(TokenProblem::Missing)?;
    let claims: AccessClaims =
        state
            .0
            .keys
            .verify(token, audiences)
            .map_err(|e| match e.kind() {
                ErrorKind::ExpiredSignature => TokenProblem::Expired,
                ErrorKind::InvalidAudience => TokenProblem::WrongAudience,
                _ => TokenProblem::Invalid,
            })?;
    if claims.iss != state.issuer(&claims.tid) || state.seed().tenant(&claims.tid).is_none() {
        return Err(TokenProblem::WrongTenant);
    }
    Ok(claims)
}
