//! Configuration from `TRACELESS_*` environment variables, with defaults that run the
//! whole product on one machine: SQLite under `data/` and (in debug builds) the built-in
//! Microsoft emulator. Every setting is parsed and checked here, before the server binds:
//! a wrong value stops the start with one line that names the variable and what is wrong.

use std::fmt;
use std::fs::OpenOptions;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use url::Url;

use crate::microsoft::{Did, TenantId};

#[derive(Debug, Clone)]
pub struct Settings {
    /// Address the HTTP server listens on.
    pub bind_addr: SocketAddr,
    /// The URL people and Microsoft use to reach us; links and callbacks are built from it.
    pub public_url: Url,
    pub database_url: DatabaseUrl,
    /// A `tracing` filter directive, e.g. `info,traceless=debug`.
    pub log_filter: String,
    /// One JSON object per log line (for log shippers) instead of human-readable text.
    pub log_json: bool,
    pub invite_lifetime: Duration,
    pub microsoft: MicrosoftSettings,
    /// Rate limits and trusted proxies (`crate::rate_limit`).
    pub limits: crate::rate_limit::RateLimitSettings,
    /// Webhook retries (`crate::webhooks`).
    pub webhooks: crate::webhooks::WebhookSettings,
    /// Outgoing mail (`crate::mail`).
    pub mail: MailSettings,
    /// `TRACELESS_RETENTION_DAYS`: evidence, mail bodies and webhook payloads and answers
    /// older than this are erased (`crate::retention`).
    pub retention: crate::retention::RetentionSettings,
    /// Open streams and callback bytes at once (`crate::capacity`).
    pub capacity: crate::capacity::CapacitySettings,
    /// `TRACELESS_TOKEN_KEY`: seals the connecting administrator's Microsoft refresh token at
    /// rest (`crate::microsoft::TokenKey`); `None`: a per-process key with the built-in
    /// emulator, none kept with the real Microsoft.
    pub token_key: Option<crate::microsoft::TokenKey>,
}

/// Outgoing mail: SMTP when `TRACELESS_SMTP_HOST` is set, else the development mailbox.
#[derive(Debug, Clone)]
pub struct MailSettings {
    pub smtp: Option<SmtpSettings>,
    /// The wait after a first failed attempt; each further failure doubles it (at most an hour).
    pub retry_base: Duration,
    /// After this many failed attempts a message is given up.
    pub max_attempts: u32,
}

#[derive(Clone)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    pub security: SmtpSecurity,
    /// User name and password, when the server wants them.
    pub credentials: Option<(String, String)>,
    /// The sender, like `Traceless <verify@example.com>`.
    pub from: lettre::message::Mailbox,
}

impl fmt::Debug for SmtpSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpSettings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("user", &self.credentials.as_ref().map(|(user, _)| user))
            .field("from", &self.from.to_string())
            .finish()
    }
}

/// How the SMTP connection is protected (`TRACELESS_SMTP_SECURITY`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpSecurity {
    /// `starttls` (the default, port 587): plain connection upgraded to TLS, required.
    StartTls,
    /// `tls` (port 465): TLS from the first byte.
    Tls,
    /// `none`: no encryption, only for a mail server on the same machine or in tests.
    None,
}

pub const DEFAULT_MAIL_RETRY_BASE_MS: u64 = 5_000;
pub const DEFAULT_MAIL_MAX_ATTEMPTS: u64 = 12;

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

/// A database URL we can serve from: a SQLite file (the default, one machine) or PostgreSQL
/// (any number of instances). Anything else is refused by name, so that a typo never
/// becomes a stray SQLite file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatabaseUrl {
    url: String,
    database: Database,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Database {
    /// A SQLite file, created (with its folder) when missing.
    SqliteFile(PathBuf),
    /// A SQLite database in memory that dies with the process (`sqlite::memory:`).
    SqliteMemory,
    /// A PostgreSQL database (`postgres://user:password@host:port/name`); it must exist.
    Postgres,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{name}={value:?} is not valid: {reason}")]
    Invalid {
        name: &'static str,
        value: String,
        reason: String,
    },
    #[error("{present} is set but {missing} is not: set both to use a real Microsoft tenant")]
    Incomplete {
        present: &'static str,
        missing: &'static str,
    },
    #[error("{name} is not set: {reason}")]
    Missing {
        name: &'static str,
        reason: &'static str,
    },
    #[error(
        "TRACELESS_MS_CLIENT_ID and TRACELESS_MS_CLIENT_SECRET are not set: set them to talk to Microsoft, or set TRACELESS_MS_EMULATOR=true to run the built-in Microsoft emulator (demo tenants only)"
    )]
    NoMicrosoft,
    #[error("{name}: {reason}")]
    Unusable { name: &'static str, reason: String },
}

pub const DEFAULT_BIND_ADDR: &str = "127.0.0.1:3000";
pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/traceless.db";
pub const DEFAULT_LOG_FILTER: &str = "info,traceless=debug,server=debug,app=debug";
pub const DEFAULT_EMULATOR_ADDR: &str = "127.0.0.1:3100";
pub const DEFAULT_INVITE_LIFETIME_HOURS: u64 = 72;
pub const DEFAULT_MS_TIMEOUT_MS: u64 = 10_000;
/// Microsoft's consent usually reaches its token endpoint within seconds; a minute covers
/// the slow cases without leaving the admin waiting long.
pub const DEFAULT_MS_CONSENT_WAIT_SECS: u64 = 60;

/// Whether a build without Microsoft credentials falls back to the built-in emulator.
///
/// Decided by `debug_assertions` rather than a cargo feature: it follows the build profile by
/// itself, so `cargo leptos build --release` yields a binary that refuses to start against a
/// fake Microsoft unless told to, without anyone remembering to switch a feature off. (The
/// `emulator` feature of `server` only says whether the emulator is compiled in; release builds
/// keep it, so that `TRACELESS_MS_EMULATOR=true` can run the end-to-end tests against them.)
const EMULATOR_BY_DEFAULT: bool = cfg!(debug_assertions);

/// Reads the process environment and checks what it names on the file system (the database
/// folder and file). What `main` calls before anything binds.
pub fn load() -> Result<Settings, ConfigError> {
    let settings = Settings::from_env()?;
    settings.check_paths()?;
    Ok(settings)
}

impl Settings {
    /// Reads the process environment. Variables set to an empty string count as unset.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok().filter(|v| !v.trim().is_empty()))
    }

    /// Reads settings through `lookup`, so tests need not touch the process environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        parse(&lookup, EMULATOR_BY_DEFAULT)
    }

    /// Checks that the database can be opened for reading and writing, creating its folder
    /// (and an empty file, which SQLite takes as a new database) when missing.
    pub fn check_paths(&self) -> Result<(), ConfigError> {
        self.database_url
            .check_access()
            .map_err(|reason| ConfigError::Unusable {
                name: "TRACELESS_DATABASE_URL",
                reason,
            })
    }

    /// Cookies get the `Secure` flag only when people reach us over HTTPS.
    pub fn secure_cookies(&self) -> bool {
        self.public_url.scheme() == "https"
    }
}

fn parse(
    lookup: &dyn Fn(&str) -> Option<String>,
    emulator_by_default: bool,
) -> Result<Settings, ConfigError> {
    // cargo-leptos announces its chosen address in LEPTOS_SITE_ADDR; ours wins.
    let bind_addr = match lookup("TRACELESS_BIND_ADDR") {
        Some(value) => parse_addr("TRACELESS_BIND_ADDR", value)?,
        None => parse_addr(
            "LEPTOS_SITE_ADDR",
            lookup("LEPTOS_SITE_ADDR").unwrap_or_else(|| DEFAULT_BIND_ADDR.into()),
        )?,
    };
    let public_url = match lookup("TRACELESS_PUBLIC_URL") {
        Some(value) => parse_public_url(value)?,
        None if bind_addr.ip().is_unspecified() => {
            return Err(ConfigError::Missing {
                name: "TRACELESS_PUBLIC_URL",
                reason: "the server listens on every interface, which is no address people or \
                         Microsoft can reach: set the URL they use, like https://verify.example.com/",
            });
        }
        None => {
            Url::parse(&format!("http://{bind_addr}/")).expect("a socket address is a valid host")
        }
    };
    let database_url = {
        let value = lookup("TRACELESS_DATABASE_URL").unwrap_or_else(|| DEFAULT_DATABASE_URL.into());
        DatabaseUrl::parse(&value).map_err(|reason| ConfigError::Invalid {
            name: "TRACELESS_DATABASE_URL",
            value: redact_password(&value),
            reason,
        })?
    };
    let microsoft = parse_microsoft(lookup, emulator_by_default)?;
    let invite_hours = match lookup("TRACELESS_INVITE_LIFETIME_HOURS") {
        Some(value) => parse_ranged(
            "TRACELESS_INVITE_LIFETIME_HOURS",
            value,
            1..=24 * 30,
            "a whole number of hours",
        )?,
        None => DEFAULT_INVITE_LIFETIME_HOURS,
    };
    let log_json = match lookup("TRACELESS_LOG_FORMAT").as_deref() {
        None | Some("text") => false,
        Some("json") => true,
        Some(other) => {
            return Err(ConfigError::Invalid {
                name: "TRACELESS_LOG_FORMAT",
                value: other.into(),
                reason: "expected text or json".into(),
            });
        }
    };
    Ok(Settings {
        bind_addr,
        public_url,
        database_url,
        log_filter: lookup("TRACELESS_LOG")
            .or_else(|| lookup("RUST_LOG"))
            .unwrap_or_else(|| DEFAULT_LOG_FILTER.into()),
        log_json,
        invite_lifetime: Duration::from_secs(invite_hours * 3600),
        microsoft,
        limits: crate::rate_limit::RateLimitSettings::from_lookup(&lookup)?,
        webhooks: parse_webhooks(lookup)?,
        mail: parse_mail(lookup)?,
        retention: parse_retention(lookup)?,
        capacity: crate::capacity::CapacitySettings::from_lookup(&lookup)?,
        token_key: crate::microsoft::TokenKey::from_lookup(&lookup)?,
    })
}

/// `TRACELESS_RETENTION_DAYS`, 1 to 3650 (ten years), default 90.
fn parse_retention(
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<crate::retention::RetentionSettings, ConfigError> {
    let days = match lookup("TRACELESS_RETENTION_DAYS") {
        Some(value) => parse_ranged("TRACELESS_RETENTION_DAYS", value, 1..=3650, "days")?,
        None => crate::retention::DEFAULT_RETENTION_DAYS,
    };
    Ok(crate::retention::RetentionSettings {
        window: Duration::from_secs(days * 24 * 3600),
    })
}

/// `TRACELESS_WEBHOOK_FIRST_RETRY_MS`, `TRACELESS_WEBHOOK_RETRY_WINDOW_SECS` and
/// `TRACELESS_WEBHOOK_TIMEOUT_MS`; tests shorten the first two.
fn parse_webhooks(
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<crate::webhooks::WebhookSettings, ConfigError> {
    let defaults = crate::webhooks::WebhookSettings::default();
    let read = |name: &'static str, range, unit: &str, default: Duration, per: u64| {
        lookup(name)
            .map(|value| parse_ranged(name, value, range, unit))
            .transpose()
            .map(|v| v.map_or(default, |n| Duration::from_millis(n * per)))
    };
    Ok(crate::webhooks::WebhookSettings {
        first_retry: read(
            "TRACELESS_WEBHOOK_FIRST_RETRY_MS",
            10..=3_600_000,
            "milliseconds",
            defaults.first_retry,
            1,
        )?,
        retry_window: read(
            "TRACELESS_WEBHOOK_RETRY_WINDOW_SECS",
            1..=7 * 24 * 3600,
            "seconds",
            defaults.retry_window,
            1000,
        )?,
        timeout: read(
            "TRACELESS_WEBHOOK_TIMEOUT_MS",
            100..=60_000,
            "milliseconds",
            defaults.timeout,
            1,
        )?,
        allow_private: lookup("TRACELESS_WEBHOOK_ALLOW_PRIVATE")
            .map(|value| parse_bool("TRACELESS_WEBHOOK_ALLOW_PRIVATE", value))
            .transpose()?
            .unwrap_or(false),
        host_overrides: crate::webhooks::HostOverrides::default(),
    })
}

fn parse_mail(lookup: &dyn Fn(&str) -> Option<String>) -> Result<MailSettings, ConfigError> {
    const HOST: &str = "TRACELESS_SMTP_HOST";
    let retry_base_ms = match lookup("TRACELESS_MAIL_RETRY_BASE_MS") {
        Some(value) => parse_ranged(
            "TRACELESS_MAIL_RETRY_BASE_MS",
            value,
            10..=3_600_000,
            "milliseconds",
        )?,
        None => DEFAULT_MAIL_RETRY_BASE_MS,
    };
    let max_attempts = match lookup("TRACELESS_MAIL_MAX_ATTEMPTS") {
        Some(value) => parse_ranged(
            "TRACELESS_MAIL_MAX_ATTEMPTS",
            value,
            1..=100,
            "a number of attempts",
        )?,
        None => DEFAULT_MAIL_MAX_ATTEMPTS,
    };
    let others = [
        "TRACELESS_SMTP_PORT",
        "TRACELESS_SMTP_SECURITY",
        "TRACELESS_SMTP_USERNAME",
        "TRACELESS_SMTP_PASSWORD",
        "TRACELESS_SMTP_FROM",
    ];
    let smtp = match lookup(HOST) {
        None => {
            // A half-configured SMTP would silently fall back to the development mailbox.
            if let Some(name) = others.into_iter().find(|name| lookup(name).is_some()) {
                return Err(ConfigError::Unusable {
                    name,
                    reason: "only used with TRACELESS_SMTP_HOST, which is not set (without it, mail goes to the development mailbox)".into(),
                });
            }
            None
        }
        Some(host) => Some(parse_smtp(lookup, host.trim().to_owned())?),
    };
    Ok(MailSettings {
        smtp,
        retry_base: Duration::from_millis(retry_base_ms),
        max_attempts: max_attempts as u32,
    })
}

fn parse_smtp(
    lookup: &dyn Fn(&str) -> Option<String>,
    host: String,
) -> Result<SmtpSettings, ConfigError> {
    if host.is_empty()
        || host.contains(['/', ' ', ':']) && host.parse::<std::net::IpAddr>().is_err()
    {
        return Err(ConfigError::Invalid {
            name: "TRACELESS_SMTP_HOST",
            value: host,
            reason: "expected a host name or IP address, like smtp.example.com (the port goes in TRACELESS_SMTP_PORT)".into(),
        });
    }
    let security = match lookup("TRACELESS_SMTP_SECURITY").as_deref().map(str::trim) {
        None | Some("starttls") => SmtpSecurity::StartTls,
        Some("tls") => SmtpSecurity::Tls,
        Some("none") => SmtpSecurity::None,
        Some(other) => {
            return Err(ConfigError::Invalid {
                name: "TRACELESS_SMTP_SECURITY",
                value: other.into(),
                reason: "expected starttls (port 587), tls (port 465) or none (a local mail server only)".into(),
            });
        }
    };
    let port = match lookup("TRACELESS_SMTP_PORT") {
        Some(value) => parse_ranged("TRACELESS_SMTP_PORT", value, 1..=65_535, "a port")? as u16,
        None => match security {
            SmtpSecurity::StartTls => 587,
            SmtpSecurity::Tls => 465,
            SmtpSecurity::None => 25,
        },
    };
    let credentials = match (
        lookup("TRACELESS_SMTP_USERNAME"),
        lookup("TRACELESS_SMTP_PASSWORD"),
    ) {
        (Some(user), Some(password)) => Some((user, password)),
        (None, None) => None,
        (Some(_), None) => {
            return Err(ConfigError::Incomplete {
                present: "TRACELESS_SMTP_USERNAME",
                missing: "TRACELESS_SMTP_PASSWORD",
            });
        }
        (None, Some(_)) => {
            return Err(ConfigError::Incomplete {
                present: "TRACELESS_SMTP_PASSWORD",
                missing: "TRACELESS_SMTP_USERNAME",
            });
        }
    };
    let from = lookup("TRACELESS_SMTP_FROM").ok_or(ConfigError::Missing {
        name: "TRACELESS_SMTP_FROM",
        reason: "mail needs a sender address, like Traceless <verify@example.com>",
    })?;
    let from = from
        .trim()
        .parse::<lettre::message::Mailbox>()
        .map_err(|_| ConfigError::Invalid {
            name: "TRACELESS_SMTP_FROM",
            value: from.clone(),
            reason: "expected an email address, like verify@example.com or Traceless <verify@example.com>".into(),
        })?;
    Ok(SmtpSettings {
        host,
        port,
        security,
        credentials,
        from,
    })
}

fn parse_microsoft(
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
    })
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
    let app = match (lookup(ID), lookup(SECRET)) {
        (Some(client_id), Some(client_secret)) => Some(MicrosoftApp {
            client_id: client_id.trim().to_owned(),
            client_secret,
        }),
        (None, None) => None,
        (Some(_), None) => {
            return Err(ConfigError::Incomplete {
                present: ID,
                missing: SECRET,
            });
        }
        (None, Some(_)) => {
            return Err(ConfigError::Incomplete {
                present: SECRET,
                missing: ID,
            });
        }
    };
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

fn parse_addr(name: &'static str, value: String) -> Result<SocketAddr, ConfigError> {
    value.trim().parse().map_err(|_| ConfigError::Invalid {
        name,
        value,
        reason: "expected an IP address and port, like 127.0.0.1:3000".into(),
    })
}

fn parse_url(name: &'static str, value: String) -> Result<Url, ConfigError> {
    match Url::parse(value.trim()) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => Ok(url),
        _ => Err(ConfigError::Invalid {
            name,
            value,
            reason: "expected an absolute http(s) URL".into(),
        }),
    }
}

/// The public URL: absolute http(s), and the root of its host, because every route (and the
/// redirect URI registered at Microsoft) is served from `/`.
fn parse_public_url(value: String) -> Result<Url, ConfigError> {
    const NAME: &str = "TRACELESS_PUBLIC_URL";
    let url = parse_url(NAME, value.clone())?;
    let problem = if !url.username().is_empty() || url.password().is_some() {
        Some("must not carry a user name or password")
    } else if url.path() != "/" {
        Some(
            "must be the root of its host (like https://verify.example.com/): Traceless is not served under a path",
        )
    } else if url.query().is_some() || url.fragment().is_some() {
        Some("must not have a query or fragment")
    } else {
        None
    };
    match problem {
        Some(reason) => Err(ConfigError::Invalid {
            name: NAME,
            value: redact_password(&value),
            reason: reason.into(),
        }),
        None => Ok(url),
    }
}

fn parse_ranged(
    name: &'static str,
    value: String,
    range: std::ops::RangeInclusive<u64>,
    unit: &str,
) -> Result<u64, ConfigError> {
    value
        .trim()
        .parse::<u64>()
        .ok()
        .filter(|n| range.contains(n))
        .ok_or_else(|| ConfigError::Invalid {
            name,
            reason: format!(
                "expected {unit} between {} and {}",
                range.start(),
                range.end()
            ),
            value,
        })
}

fn parse_bool(name: &'static str, value: String) -> Result<bool, ConfigError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" => Ok(true),
        "false" | "0" | "no" => Ok(false),
        _ => Err(ConfigError::Invalid {
            name,
            value,
            reason: "expected true or false".into(),
        }),
    }
}

/// A URL fit for an error line: a password in it is replaced.
fn redact_password(value: &str) -> String {
    match Url::parse(value) {
        Ok(mut url) if url.password().is_some() => {
            let _ = url.set_password(Some("***"));
            url.to_string()
        }
        _ => value.to_owned(),
    }
}

const URL_EXAMPLE: &str = "use a sqlite: URL such as sqlite://data/traceless.db, or a postgres: URL such as postgres://traceless@127.0.0.1:5432/traceless";

impl DatabaseUrl {
    /// Parses a database URL; the error says what is wrong, in words for the operator.
    pub fn parse(value: &str) -> Result<Self, String> {
        let value = value.trim();
        let scheme = value
            .split_once(':')
            .map(|(scheme, _)| scheme)
            .filter(|s| {
                s.len() > 1
                    && s.starts_with(|c: char| c.is_ascii_alphabetic())
                    && s.chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
            })
            .ok_or_else(|| format!("expected a URL with a scheme: {URL_EXAMPLE}"))?
            .to_ascii_lowercase();
        match scheme.as_str() {
            "sqlite" => {}
            "postgres" | "postgresql" => {
                sqlx::postgres::PgConnectOptions::from_str(value)
                    .map_err(|e| format!("{e}: {URL_EXAMPLE}"))?;
                let url = Url::parse(value).map_err(|e| format!("{e}: {URL_EXAMPLE}"))?;
                if url.path().trim_start_matches('/').is_empty() {
                    return Err(format!("names no database: {URL_EXAMPLE}"));
                }
                return Ok(Self {
                    url: value.to_owned(),
                    database: Database::Postgres,
                });
            }
            other => {
                return Err(format!(
                    "the {other}: scheme is not supported: {URL_EXAMPLE}"
                ));
            }
        }
        // sqlx strips only a lower-case scheme; anything else would become part of a path.
        let url = format!("sqlite:{}", &value["sqlite:".len()..]);
        let options = sqlx::sqlite::SqliteConnectOptions::from_str(&url)
            .map_err(|e| format!("{e}: {URL_EXAMPLE}"))?;
        let rest = url
            .trim_start_matches("sqlite://")
            .trim_start_matches("sqlite:");
        let (file, query) = rest.split_once('?').unwrap_or((rest, ""));
        let in_memory = file == ":memory:"
            || url::form_urlencoded::parse(query.as_bytes())
                .any(|(k, v)| k == "mode" && v == "memory");
        let database = if in_memory {
            Database::SqliteMemory
        } else if file.is_empty() {
            return Err(format!("names no database file: {URL_EXAMPLE}"));
        } else {
            Database::SqliteFile(options.get_filename().to_path_buf())
        };
        Ok(Self { url, database })
    }

    pub fn as_str(&self) -> &str {
        &self.url
    }

    pub fn database(&self) -> &Database {
        &self.database
    }

    /// Whether the database file can be opened for reading and writing; creates its folder,
    /// and the file itself (empty, which SQLite takes as a new database), when missing.
    pub fn check_access(&self) -> Result<(), String> {
        let Database::SqliteFile(path) = &self.database else {
            return Ok(());
        };
        if path.is_dir() {
            return Err(format!(
                "{} is a folder, not a database file",
                path.display()
            ));
        }
        if let Some(folder) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(folder)
                .map_err(|e| format!("cannot create the folder {}: {e}", folder.display()))?;
        }
        OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(|e| {
                format!(
                    "cannot open {} for reading and writing: {e}",
                    path.display()
                )
            })?;
        Ok(())
    }
}

impl fmt::Display for DatabaseUrl {
    /// The URL without its password, if it has one: fit for logs and error lines.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&redact_password(&self.url))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    /// Settings as a debug build reads them (the emulator is the default).
    fn settings(vars: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        parse_as(vars, true)
    }

    /// Settings as a release build reads them (no emulator unless asked for).
    fn release(vars: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        parse_as(vars, false)
    }

    fn parse_as(vars: &[(&str, &str)], emulator_by_default: bool) -> Result<Settings, ConfigError> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        parse(&|name| vars.get(name).cloned(), emulator_by_default)
    }

    const REAL_MICROSOFT: [(&str, &str); 2] = [
        ("TRACELESS_MS_CLIENT_ID", "abc"),
        ("TRACELESS_MS_CLIENT_SECRET", "very-secret"),
    ];
    const TENANT_ID: &str = "84841066-274d-4ec0-a5c1-276be684bdd3";
    const DID: &str = "did:web:verifiedid.traceless.io";

    #[test]
    fn without_smtp_mail_goes_to_the_development_mailbox() {
        assert!(settings(&[]).unwrap().mail.smtp.is_none());
        let err = settings(&[("TRACELESS_SMTP_FROM", "verify@example.com")]).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("TRACELESS_SMTP_FROM: only used with TRACELESS_SMTP_HOST")
        );
    }

    #[test]
    fn smtp_settings_are_checked_at_start() {
        let s = settings(&[
            ("TRACELESS_SMTP_HOST", "smtp.example.com"),
            ("TRACELESS_SMTP_FROM", "Traceless <verify@example.com>"),
        ])
        .unwrap();
        let smtp = s.mail.smtp.unwrap();
        assert_eq!((smtp.port, smtp.security), (587, SmtpSecurity::StartTls));
        let with = |extra: (&'static str, &'static str)| {
            settings(&[
                ("TRACELESS_SMTP_HOST", "smtp.example.com"),
                ("TRACELESS_SMTP_FROM", "verify@example.com"),
                extra,
            ])
            .map(|_| ())
            .unwrap_err()
            .to_string()
        };
        assert!(with(("TRACELESS_SMTP_SECURITY", "ssl")).contains("expected starttls"));
        assert!(with(("TRACELESS_SMTP_PORT", "99999")).contains("TRACELESS_SMTP_PORT"));
        assert!(with(("TRACELESS_SMTP_USERNAME", "me")).contains("TRACELESS_SMTP_PASSWORD is not"));
        let no_from = settings(&[("TRACELESS_SMTP_HOST", "smtp.example.com")]).unwrap_err();
        assert!(
            no_from
                .to_string()
                .starts_with("TRACELESS_SMTP_FROM is not set")
        );
        let bad_from = settings(&[
            ("TRACELESS_SMTP_HOST", "smtp.example.com"),
            ("TRACELESS_SMTP_FROM", "not an address"),
        ])
        .unwrap_err();
        assert!(bad_from.to_string().contains("expected an email address"));
    }

    #[test]
    fn defaults_run_locally_on_sqlite_with_the_emulator() {
        let s = settings(&[]).unwrap();
        assert_eq!(s.bind_addr.to_string(), DEFAULT_BIND_ADDR);
        assert_eq!(s.public_url.as_str(), "http://127.0.0.1:3000/");
        assert_eq!(s.database_url.as_str(), DEFAULT_DATABASE_URL);
        assert_eq!(
            s.database_url.database(),
            &Database::SqliteFile("data/traceless.db".into())
        );
        assert!(s.microsoft.app.is_none());
        assert_eq!(s.microsoft.verifier, VerifierSetting::CustomerTenant);
        assert!(!s.secure_cookies());
        assert_eq!(s.invite_lifetime, Duration::from_secs(72 * 3600));
    }

    #[test]
    fn https_public_url_turns_on_secure_cookies() {
        let s = settings(&[("TRACELESS_PUBLIC_URL", "https://help.example.com")]).unwrap();
        assert!(s.secure_cookies());
        assert_eq!(s.public_url.as_str(), "https://help.example.com/");
    }

    /// Every bad value stops the start with one line that names its variable.
    #[test]
    fn each_bad_setting_is_refused_in_one_line_naming_its_variable() {
        let cases: &[(&[(&str, &str)], &str)] = &[
            (
                &[("TRACELESS_BIND_ADDR", "localhost")],
                "TRACELESS_BIND_ADDR",
            ),
            (
                &[("TRACELESS_BIND_ADDR", "127.0.0.1:99999")],
                "TRACELESS_BIND_ADDR",
            ),
            (&[("LEPTOS_SITE_ADDR", "nowhere")], "LEPTOS_SITE_ADDR"),
            (
                &[("TRACELESS_BIND_ADDR", "0.0.0.0:3000")],
                "TRACELESS_PUBLIC_URL",
            ),
            (
                &[("TRACELESS_PUBLIC_URL", "help.example.com")],
                "TRACELESS_PUBLIC_URL",
            ),
            (
                &[("TRACELESS_PUBLIC_URL", "ftp://help.example.com/")],
                "TRACELESS_PUBLIC_URL",
            ),
            (
                &[("TRACELESS_PUBLIC_URL", "/relative")],
                "TRACELESS_PUBLIC_URL",
            ),
            (
                &[("TRACELESS_PUBLIC_URL", "https://example.com/traceless/")],
                "TRACELESS_PUBLIC_URL",
            ),
            (
                &[("TRACELESS_PUBLIC_URL", "https://example.com/?a=b")],
                "TRACELESS_PUBLIC_URL",
            ),
            (
                &[("TRACELESS_PUBLIC_URL", "https://u:p@example.com/")],
                "TRACELESS_PUBLIC_URL",
            ),
            (
                &[("TRACELESS_DATABASE_URL", "postgres://db.internal/")],
                "TRACELESS_DATABASE_URL",
            ),
            (
                &[("TRACELESS_DATABASE_URL", "mysql://db.internal/traceless")],
                "TRACELESS_DATABASE_URL",
            ),
            (
                &[("TRACELESS_DATABASE_URL", "data/traceless.db")],
                "TRACELESS_DATABASE_URL",
            ),
            (
                &[("TRACELESS_DATABASE_URL", "sqlite://")],
                "TRACELESS_DATABASE_URL",
            ),
            (
                &[("TRACELESS_DATABASE_URL", "sqlite://x.db?mode=sideways")],
                "TRACELESS_DATABASE_URL",
            ),
            (&[("TRACELESS_LOG_FORMAT", "xml")], "TRACELESS_LOG_FORMAT"),
            (
                &[("TRACELESS_INVITE_LIFETIME_HOURS", "0")],
                "TRACELESS_INVITE_LIFETIME_HOURS",
            ),
            (
                &[("TRACELESS_INVITE_LIFETIME_HOURS", "721")],
                "TRACELESS_INVITE_LIFETIME_HOURS",
            ),
            (
                &[("TRACELESS_INVITE_LIFETIME_HOURS", "-1")],
                "TRACELESS_INVITE_LIFETIME_HOURS",
            ),
            (
                &[("TRACELESS_INVITE_LIFETIME_HOURS", "three days")],
                "TRACELESS_INVITE_LIFETIME_HOURS",
            ),
            (
                &[("TRACELESS_MS_TIMEOUT_MS", "99")],
                "TRACELESS_MS_TIMEOUT_MS",
            ),
            (
                &[("TRACELESS_MS_TIMEOUT_MS", "lots")],
                "TRACELESS_MS_TIMEOUT_MS",
            ),
            (
                &[("TRACELESS_MS_LOGIN_URL", "login.microsoftonline.com")],
                "TRACELESS_MS_LOGIN_URL",
            ),
            (
                &[("TRACELESS_MS_GRAPH_URL", "ftp://x")],
                "TRACELESS_MS_GRAPH_URL",
            ),
            (
                &[("TRACELESS_MS_VERIFIED_ID_URL", "nope")],
                "TRACELESS_MS_VERIFIED_ID_URL",
            ),
            (
                &[("TRACELESS_EMULATOR_ADDR", "3100")],
                "TRACELESS_EMULATOR_ADDR",
            ),
            (
                &[("TRACELESS_MS_CLIENT_ID", "abc")],
                "TRACELESS_MS_CLIENT_SECRET",
            ),
            (
                &[("TRACELESS_MS_CLIENT_SECRET", "abc")],
                "TRACELESS_MS_CLIENT_ID",
            ),
            (
                &[("TRACELESS_MS_EMULATOR", "maybe")],
                "TRACELESS_MS_EMULATOR",
            ),
            (
                &[("TRACELESS_MS_VERIFIER", "both")],
                "TRACELESS_MS_VERIFIER",
            ),
            (
                &[
                    ("TRACELESS_MS_VERIFIER", "provider"),
                    ("TRACELESS_MS_PROVIDER_TENANT_ID", "contoso"),
                ],
                "TRACELESS_MS_PROVIDER_TENANT_ID",
            ),
            (
                &[
                    ("TRACELESS_MS_VERIFIER", "provider"),
                    ("TRACELESS_MS_PROVIDER_AUTHORITY_DID", "web:x"),
                ],
                "TRACELESS_MS_PROVIDER_AUTHORITY_DID",
            ),
        ];
        for (vars, variable) in cases {
            let error = settings(vars)
                .map(|_| ())
                .expect_err(&format!("{vars:?} is refused"))
                .to_string();
            // `--nocapture` shows each line as an operator would read it.
            println!("{error}");
            assert!(error.contains(variable), "{vars:?}: {error}");
            assert!(!error.contains('\n'), "{vars:?}: one line, got {error}");
        }
    }

    #[test]
    fn postgres_is_accepted_and_its_password_never_shown() {
        let url = settings(&[(
            "TRACELESS_DATABASE_URL",
            "postgres://traceless:hunter2@db.internal:5432/traceless",
        )])
        .unwrap()
        .database_url;
        assert_eq!(url.database(), &Database::Postgres);
        assert_eq!(
            url.as_str(),
            "postgres://traceless:hunter2@db.internal:5432/traceless"
        );
        assert!(!url.to_string().contains("hunter2"), "{url}");
        let error = settings(&[(
            "TRACELESS_DATABASE_URL",
            "postgres://traceless:hunter2@db.internal/",
        )])
        .unwrap_err()
        .to_string();
        assert!(error.contains("names no database"), "{error}");
        assert!(!error.contains("hunter2"), "{error}");
    }

    #[test]
    fn sqlite_urls_name_a_file_or_memory() {
        let database = |url: &str| {
            settings(&[("TRACELESS_DATABASE_URL", url)])
                .unwrap()
                .database_url
                .database()
                .clone()
        };
        assert_eq!(
            database("sqlite:///var/lib/traceless/traceless.db"),
            Database::SqliteFile("/var/lib/traceless/traceless.db".into())
        );
        assert_eq!(
            database("sqlite:data.db?mode=rwc"),
            Database::SqliteFile("data.db".into())
        );
        // An upper-case scheme would otherwise end up in the file name.
        assert_eq!(
            database("SQLite://data/x.db"),
            Database::SqliteFile("data/x.db".into())
        );
        assert_eq!(database("sqlite::memory:"), Database::SqliteMemory);
        assert_eq!(database("sqlite://?mode=memory"), Database::SqliteMemory);
    }

    #[test]
    fn a_database_folder_that_cannot_be_made_stops_the_start() {
        let dir = tempfile::tempdir().unwrap();
        // A regular file where a folder should be: no one, not even root, can create it.
        let blocker = dir.path().join("not-a-folder");
        std::fs::write(&blocker, b"").unwrap();
        let url = format!("sqlite://{}/traceless.db", blocker.display());
        let s = settings(&[("TRACELESS_DATABASE_URL", &url)]).unwrap();
        let error = s.check_paths().unwrap_err().to_string();
        assert!(
            error.starts_with("TRACELESS_DATABASE_URL: cannot create the folder"),
            "{error}"
        );
        assert!(!error.contains('\n'));
    }

    #[test]
    fn a_database_path_that_is_a_folder_stops_the_start() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().display());
        let s = settings(&[("TRACELESS_DATABASE_URL", &url)]).unwrap();
        let error = s.check_paths().unwrap_err().to_string();
        assert!(
            error.contains("is a folder, not a database file"),
            "{error}"
        );
    }

    #[test]
    fn a_missing_database_folder_and_file_are_created() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("nested/deeper/traceless.db");
        let url = format!("sqlite://{}", file.display());
        settings(&[("TRACELESS_DATABASE_URL", &url)])
            .unwrap()
            .check_paths()
            .unwrap();
        assert!(file.is_file());
    }

    #[test]
    fn a_release_build_without_microsoft_credentials_refuses_to_start() {
        let error = release(&[]).unwrap_err();
        assert!(matches!(error, ConfigError::NoMicrosoft));
        let line = error.to_string();
        assert!(line.contains("TRACELESS_MS_EMULATOR=true"), "{line}");
        assert!(line.contains("TRACELESS_MS_CLIENT_ID"), "{line}");
    }

    #[test]
    fn the_emulator_runs_only_when_asked_for_or_in_a_debug_build() {
        assert!(
            release(&[("TRACELESS_MS_EMULATOR", "true")])
                .unwrap()
                .microsoft
                .app
                .is_none()
        );
        assert!(settings(&[]).unwrap().microsoft.app.is_none());
        assert!(matches!(
            settings(&[("TRACELESS_MS_EMULATOR", "false")]).unwrap_err(),
            ConfigError::NoMicrosoft
        ));
        let real = release(&REAL_MICROSOFT).unwrap();
        assert_eq!(real.microsoft.app.unwrap().client_id, "abc");
    }

    #[test]
    fn credentials_and_the_emulator_together_are_refused() {
        let mut vars = REAL_MICROSOFT.to_vec();
        vars.push(("TRACELESS_MS_EMULATOR", "true"));
        let error = settings(&vars).unwrap_err().to_string();
        assert!(error.starts_with("TRACELESS_MS_EMULATOR="), "{error}");
    }

    #[test]
    fn client_id_without_secret_is_refused() {
        let err = settings(&[("TRACELESS_MS_CLIENT_ID", "abc")]).unwrap_err();
        assert!(matches!(err, ConfigError::Incomplete { .. }));
    }

    #[test]
    fn client_secret_is_not_in_debug_output() {
        let s = settings(&REAL_MICROSOFT).unwrap();
        assert!(!format!("{s:?}").contains("very-secret"));
    }

    #[test]
    fn the_customer_tenant_verifies_by_default() {
        let s = settings(&[("TRACELESS_MS_VERIFIER", "tenant")]).unwrap();
        assert_eq!(s.microsoft.verifier, VerifierSetting::CustomerTenant);
    }

    #[test]
    fn the_provider_pattern_with_microsoft_needs_our_tenant_and_authority() {
        let mut vars = REAL_MICROSOFT.to_vec();
        vars.push(("TRACELESS_MS_VERIFIER", "provider"));
        let missing_tenant = settings(&vars).unwrap_err().to_string();
        assert!(
            missing_tenant.starts_with("TRACELESS_MS_PROVIDER_TENANT_ID is not set"),
            "{missing_tenant}"
        );
        vars.push(("TRACELESS_MS_PROVIDER_TENANT_ID", TENANT_ID));
        let missing_did = settings(&vars).unwrap_err().to_string();
        assert!(
            missing_did.starts_with("TRACELESS_MS_PROVIDER_AUTHORITY_DID is not set"),
            "{missing_did}"
        );
        vars.push(("TRACELESS_MS_PROVIDER_AUTHORITY_DID", DID));
        let missing_app = settings(&vars).unwrap_err().to_string();
        assert!(
            missing_app.starts_with("TRACELESS_MS_PROVIDER_CLIENT_ID is not set"),
            "{missing_app}"
        );
        vars.push(("TRACELESS_MS_PROVIDER_CLIENT_ID", "provider-app"));
        assert!(matches!(
            settings(&vars).unwrap_err(),
            ConfigError::Incomplete {
                missing: "TRACELESS_MS_PROVIDER_CLIENT_SECRET",
                ..
            }
        ));
        vars.push(("TRACELESS_MS_PROVIDER_CLIENT_SECRET", "provider-secret"));
        let s = settings(&vars).unwrap();
        assert_eq!(
            s.microsoft.provider_app.as_ref().unwrap().client_id,
            "provider-app"
        );
        assert!(!format!("{s:?}").contains("provider-secret"));
        assert_eq!(
            s.microsoft.verifier,
            VerifierSetting::ServiceProvider {
                tenant_id: Some(TenantId::parse(TENANT_ID).unwrap()),
                authority_did: Some(Did::parse(DID).unwrap()),
            }
        );
    }

    #[test]
    fn the_provider_pattern_with_the_emulator_may_leave_its_values_out() {
        let s = settings(&[("TRACELESS_MS_VERIFIER", "provider")]).unwrap();
        assert_eq!(
            s.microsoft.verifier,
            VerifierSetting::ServiceProvider {
                tenant_id: None,
                authority_did: None
            }
        );
    }

    #[test]
    fn a_provider_app_without_the_provider_pattern_is_refused() {
        let mut vars = REAL_MICROSOFT.to_vec();
        vars.push(("TRACELESS_MS_PROVIDER_CLIENT_ID", "provider-app"));
        vars.push(("TRACELESS_MS_PROVIDER_CLIENT_SECRET", "s"));
        let error = settings(&vars).unwrap_err().to_string();
        assert!(
            error.starts_with("TRACELESS_MS_PROVIDER_CLIENT_ID: only used with"),
            "{error}"
        );
    }

    #[test]
    fn provider_values_without_the_provider_pattern_are_refused() {
        let error = settings(&[("TRACELESS_MS_PROVIDER_AUTHORITY_DID", DID)])
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with("TRACELESS_MS_PROVIDER_AUTHORITY_DID: only used with"),
            "{error}"
        );
    }

    #[test]
    fn private_webhook_targets_are_off_unless_asked_for() {
        assert!(!settings(&[]).unwrap().webhooks.allow_private);
        let on = settings(&[("TRACELESS_WEBHOOK_ALLOW_PRIVATE", "true")]).unwrap();
        assert!(on.webhooks.allow_private);
        let error = settings(&[("TRACELESS_WEBHOOK_ALLOW_PRIVATE", "sometimes")])
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with("TRACELESS_WEBHOOK_ALLOW_PRIVATE="),
            "{error}"
        );
    }

    #[test]
    fn retention_is_90_days_unless_set_between_1_and_3650() {
        let day = Duration::from_secs(24 * 3600);
        assert_eq!(settings(&[]).unwrap().retention.window, day * 90);
        let s = settings(&[("TRACELESS_RETENTION_DAYS", "30")]).unwrap();
        assert_eq!(s.retention.window, day * 30);
        for wrong in ["0", "3651", "ninety", "-1"] {
            let error = settings(&[("TRACELESS_RETENTION_DAYS", wrong)])
                .unwrap_err()
                .to_string();
            assert!(error.starts_with("TRACELESS_RETENTION_DAYS="), "{error}");
        }
    }
}
