//! Microsoft (`TRACELESS_MS_*`, `TRACELESS_EMULATOR_ADDR`): the app registration or the
//! built-in emulator, Microsoft's base URLs, and whose authority verifies a person.

use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

use url::Url;

use super::error::ConfigError;
use super::values::{parse_addr, parse_bool, parse_ranged, parse_url};
use crate::microsoft::{Did, TOKEN_KEY_VAR, TenantId, TokenKey};

pub const DEFAULT_EMULATOR_ADDR: &str = "127.0.0.1:3100";
pub const DEFAULT_MS_TIMEOUT_MS: u64 = 10_000;
/// Microsoft's consent usually reaches its token endpoint within seconds; a minute covers
/// the slow cases without leaving the admin waiting long.
pub const DEFAULT_MS_CONSENT_WAIT_SECS: u64 = 60;

#[derive(Debug, Clone)]
pub struct MicrosoftSettings {
    /// `None` runs against the built-in emulator: asked for with `TRACELESS_MS_EMULATOR=true`,
    /// or by default in debug builds.
    pub app: Option<MicrosoftApp>,
    pub login_url: Option<Url>,
    pub graph_url: Option<Url>,
    pub verified_id_url: Option<Url>,
    /// Where the built-in emulator listens when it is used.
    pub emulator_addr: SocketAddr,
    /// How long one call to Microsoft may take before we give up on it.
    pub timeout: Duration,
    /// Whose authority asks for presentations.
    pub verifier: VerifierSetting,
    /// With `provider`: the app registration customers consent to (only what provider mode
    /// needs in their tenant: no request-service role), `TRACELESS_MS_PROVIDER_CLIENT_ID` and
    /// `_SECRET`. `app` then acts in our own tenant only. Required with a real Microsoft app;
    /// with the emulator its demo provider app is used when unset.
    pub provider_app: Option<MicrosoftApp>,
    /// How long connect waits for a fresh admin consent to reach Microsoft's token endpoint
    /// (`TRACELESS_MS_CONSENT_WAIT_SECS`, 0–600, default 60) before it reports the missing grant.
    pub consent_wait: Duration,
    /// The optional account-recovery app registration (issue 21), `TRACELESS_MS_RECOVERY_CLIENT_ID`
    /// and `_SECRET`: a second registration holding only what issuing a Temporary Access Pass
    /// needs, so the verification registration keeps asking for no more than verification does.
    /// Unset with a real Microsoft app: account recovery is not offered. With the emulator its
    /// demo recovery app is used when unset.
    pub recovery_app: Option<MicrosoftApp>,
}

/// The multi-tenant app registration in Entra. The secret is kept out of `Debug`.
#[derive(Clone)]
pub struct MicrosoftApp {
    pub client_id: String,
    pub client_secret: String,
}

impl fmt::Debug for MicrosoftApp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MicrosoftApp")
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .finish()
    }
}

/// Which of Microsoft's two documented patterns verifies a person (`TRACELESS_MS_VERIFIER`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VerifierSetting {
    /// `tenant` (the default): presentation requests are made in the customer's tenant, with
    /// its app token and its own authority DID.
    CustomerTenant,
    /// `provider`: Microsoft's service-provider pattern. Our own tenant and authority make
    /// every request and list the customer's DID in `acceptedIssuers`. Both values are
    /// required with a real Microsoft app; with the emulator they may be left out (the
    /// emulator's own values are used).
    ServiceProvider {
        tenant_id: Option<TenantId>,
        authority_did: Option<Did>,
    },
}

pub(super) fn parse(
    lookup: &dyn Fn(&str) -> Option<String>,
    emulator_by_default: bool,
) -> Result<MicrosoftSettings, ConfigError> {
    let credentials = match (
        lookup("TRACELESS_MS_CLIENT_ID"),
        lookup("TRACELESS_MS_CLIENT_SECRET"),
    ) {
        (Some(client_id), Some(client_secret)) => Some(MicrosoftApp {
            client_id,
            client_secret,
        }),
        (None, None) => None,
        (Some(_), None) => {
            return Err(ConfigError::Incomplete {
                present: "TRACELESS_MS_CLIENT_ID",
                missing: "TRACELESS_MS_CLIENT_SECRET",
            });
        }
        (None, Some(_)) => {
            return Err(ConfigError::Incomplete {
                present: "TRACELESS_MS_CLIENT_SECRET",
                missing: "TRACELESS_MS_CLIENT_ID",
            });
        }
    };
    let emulator = lookup("TRACELESS_MS_EMULATOR")
        .map(|value| parse_bool("TRACELESS_MS_EMULATOR", value))
        .transpose()?;
    let app = match (credentials, emulator) {
        (Some(_), Some(true)) => {
            return Err(ConfigError::Invalid {
                name: "TRACELESS_MS_EMULATOR",
                value: "true".into(),
                reason: "TRACELESS_MS_CLIENT_ID and TRACELESS_MS_CLIENT_SECRET are set too: \
                         unset them to use the emulator, or unset this to use Microsoft"
                    .into(),
            });
        }
        (Some(app), _) => Some(app),
        (None, Some(true)) => None,
        (None, None) if emulator_by_default => None,
        (None, _) => return Err(ConfigError::NoMicrosoft),
    };
    let optional_url = |name: &'static str| lookup(name).map(|v| parse_url(name, v)).transpose();
    let timeout_ms = match lookup("TRACELESS_MS_TIMEOUT_MS") {
        Some(value) => parse_ranged(
            "TRACELESS_MS_TIMEOUT_MS",
            value,
            100..=120_000,
            "milliseconds",
        )?,
        None => DEFAULT_MS_TIMEOUT_MS,
    };
    let verifier = parse_verifier(lookup, app.is_some())?;
    let provider_app = parse_provider_app(lookup, &verifier, app.is_some())?;
    let recovery_app = parse_recovery_app(lookup)?;
    let consent_wait_secs = match lookup("TRACELESS_MS_CONSENT_WAIT_SECS") {
        Some(value) => parse_ranged("TRACELESS_MS_CONSENT_WAIT_SECS", value, 0..=600, "seconds")?,
        None => DEFAULT_MS_CONSENT_WAIT_SECS,
    };
    Ok(MicrosoftSettings {
        provider_app,
        app,
        login_url: optional_url("TRACELESS_MS_LOGIN_URL")?,
        graph_url: optional_url("TRACELESS_MS_GRAPH_URL")?,
        verified_id_url: optional_url("TRACELESS_MS_VERIFIED_ID_URL")?,
        emulator_addr: parse_addr(
            "TRACELESS_EMULATOR_ADDR",
            lookup("TRACELESS_EMULATOR_ADDR").unwrap_or_else(|| DEFAULT_EMULATOR_ADDR.into()),
        )?,
        timeout: Duration::from_millis(timeout_ms),
        verifier,
        consent_wait: Duration::from_secs(consent_wait_secs),
        recovery_app,
    })
}

/// An extra app registration's two settings, both or neither (the id trimmed); one without
/// the other names the missing one.
fn app_pair(
    lookup: &dyn Fn(&str) -> Option<String>,
    id: &'static str,
    secret: &'static str,
) -> Result<Option<MicrosoftApp>, ConfigError> {
    match (lookup(id), lookup(secret)) {
        (Some(client_id), Some(client_secret)) => Ok(Some(MicrosoftApp {
            client_id: client_id.trim().to_owned(),
            client_secret,
        })),
        (None, None) => Ok(None),
        (Some(_), None) => Err(ConfigError::Incomplete {
            present: id,
            missing: secret,
        }),
        (None, Some(_)) => Err(ConfigError::Incomplete {
            present: secret,
            missing: id,
        }),
    }
}

/// `TRACELESS_MS_RECOVERY_CLIENT_ID` / `_SECRET`: both or neither; the id is the registration's
/// Application (client) ID, a GUID, and the secret is not empty.
fn parse_recovery_app(
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<MicrosoftApp>, ConfigError> {
    const ID: &str = "TRACELESS_MS_RECOVERY_CLIENT_ID";
    const SECRET: &str = "TRACELESS_MS_RECOVERY_CLIENT_SECRET";
    let Some(MicrosoftApp {
        client_id,
        client_secret,
    }) = app_pair(lookup, ID, SECRET)?
    else {
        return Ok(None);
    };
    if uuid::Uuid::parse_str(&client_id).is_err() || client_id.len() != 36 {
        return Err(ConfigError::Invalid {
            name: ID,
            value: client_id,
            reason: "must be the recovery app registration's Application (client) ID, a GUID"
                .into(),
        });
    }
    if client_secret.trim().is_empty() {
        return Err(ConfigError::Unusable {
            name: SECRET,
            reason: "is empty: set the recovery app registration's client secret".into(),
        });
    }
    Ok(Some(MicrosoftApp {
        client_id,
        client_secret,
    }))
}

/// `TRACELESS_MS_PROVIDER_CLIENT_ID` / `_SECRET`: both or neither, only with `provider`, and
/// required there with a real Microsoft app (issue 17: a customer must not be asked for an
/// application permission we never use in their tenant).
fn parse_provider_app(
    lookup: &dyn Fn(&str) -> Option<String>,
    verifier: &VerifierSetting,
    real_microsoft: bool,
) -> Result<Option<MicrosoftApp>, ConfigError> {
    const ID: &str = "TRACELESS_MS_PROVIDER_CLIENT_ID";
    const SECRET: &str = "TRACELESS_MS_PROVIDER_CLIENT_SECRET";
    let app = app_pair(lookup, ID, SECRET)?;
    match verifier {
        VerifierSetting::CustomerTenant if app.is_some() => Err(ConfigError::Unusable {
            name: ID,
            reason: "only used with TRACELESS_MS_VERIFIER=provider, which is not set".into(),
        }),
        VerifierSetting::ServiceProvider { .. } if app.is_none() && real_microsoft => {
            Err(ConfigError::Missing {
                name: ID,
                reason: "TRACELESS_MS_VERIFIER=provider needs the app registration customers consent to \
                         (with TRACELESS_MS_PROVIDER_CLIENT_SECRET): only Graph User.Read and \
                         Organization.Read.All and the Verified ID admin API's full_access, no request-service role",
            })
        }
        _ => Ok(app),
    }
}

fn parse_verifier(
    lookup: &dyn Fn(&str) -> Option<String>,
    real_microsoft: bool,
) -> Result<VerifierSetting, ConfigError> {
    const TENANT: &str = "TRACELESS_MS_PROVIDER_TENANT_ID";
    const DID: &str = "TRACELESS_MS_PROVIDER_AUTHORITY_DID";
    let tenant_id = lookup(TENANT)
        .map(|value| {
            TenantId::parse(value.trim()).map_err(|e| ConfigError::Invalid {
                name: TENANT,
                reason: e.reason.into(),
                value,
            })
        })
        .transpose()?;
    let authority_did = lookup(DID)
        .map(|value| {
            Did::parse(value.trim()).map_err(|e| ConfigError::Invalid {
                name: DID,
                reason: e.reason.into(),
                value,
            })
        })
        .transpose()?;
    match lookup("TRACELESS_MS_VERIFIER").as_deref() {
        None | Some("tenant") => {
            // A provider value with the default pattern is a half-done switch: say so.
            if let Some(name) = [
                (TENANT, tenant_id.is_some()),
                (DID, authority_did.is_some()),
            ]
            .into_iter()
            .find_map(|(name, set)| set.then_some(name))
            {
                return Err(ConfigError::Unusable {
                    name,
                    reason: "only used with TRACELESS_MS_VERIFIER=provider, which is not set"
                        .into(),
                });
            }
            Ok(VerifierSetting::CustomerTenant)
        }
        Some("provider") => {
            if real_microsoft {
                if tenant_id.is_none() {
                    return Err(ConfigError::Missing {
                        name: TENANT,
                        reason: "TRACELESS_MS_VERIFIER=provider needs our own tenant's id (a GUID)",
                    });
                }
                if authority_did.is_none() {
                    return Err(ConfigError::Missing {
                        name: DID,
                        reason: "TRACELESS_MS_VERIFIER=provider needs our own Verified ID authority (a did:…)",
                    });
                }
            }
            Ok(VerifierSetting::ServiceProvider {
                tenant_id,
                authority_did,
            })
        }
        Some(other) => Err(ConfigError::Invalid {
            name: "TRACELESS_MS_VERIFIER",
            value: other.into(),
            reason: "expected tenant (requests in the customer's tenant) or provider \
                     (our own tenant and authority verify)"
                .into(),
        }),
    }
}

/// `TRACELESS_TOKEN_KEY`: the key that seals the connecting administrator's Microsoft refresh
/// token at rest (`crate::microsoft::TokenKey`); `None` when unset. A malformed value never
/// appears in the error: it is a secret.
pub(super) fn parse_token_key(
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<TokenKey>, ConfigError> {
    lookup(TOKEN_KEY_VAR)
        .map(|value| {
            TokenKey::from_base64(&value).map_err(|reason| ConfigError::Unusable {
                name: TOKEN_KEY_VAR,
                reason,
            })
        })
        .transpose()
}
