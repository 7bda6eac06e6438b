//! Configuration from `TRACELESS_*` environment variables, with defaults that run the
//! whole product on one machine: SQLite under `data/` and (in debug builds) the built-in
//! Microsoft emulator. Every setting is parsed and checked here, before the server binds:
//! a wrong value stops the start with one line that names the variable and what is wrong.
//!
//! One rule: each section's file (`server`, `database`, `microsoft`, `mail`, `limits`,
//! `capacity`, `webhooks`, `retention`) reads its own variables and words its own errors;
//! this file only assembles [`Settings`] from them.

use std::net::SocketAddr;
use std::time::Duration;

use url::Url;

pub mod capacity;
mod database;
mod error;
pub mod limits;
mod mail;
mod metrics;
mod microsoft;
mod retention;
mod server;
mod values;
mod webhooks;

pub use capacity::CapacitySettings;
pub use database::{DEFAULT_DATABASE_URL, Database, DatabaseUrl};
pub use error::ConfigError;
pub use limits::RateLimitSettings;
pub use mail::{
    DEFAULT_MAIL_MAX_ATTEMPTS, DEFAULT_MAIL_RETRY_BASE_MS, MailSettings, SmtpSecurity, SmtpSettings,
};
pub use microsoft::{
    DEFAULT_EMULATOR_ADDR, DEFAULT_MS_CONSENT_WAIT_SECS, DEFAULT_MS_TIMEOUT_MS, MicrosoftApp,
    MicrosoftSettings, VerifierSetting,
};
pub use retention::{DEFAULT_RETENTION_DAYS, RetentionSettings};
pub use server::{DEFAULT_BIND_ADDR, DEFAULT_INVITE_LIFETIME_HOURS, DEFAULT_LOG_FILTER};
pub use webhooks::{HostOverrides, WebhookSettings};

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
    pub limits: RateLimitSettings,
    /// Webhook retries (`crate::webhooks`).
    pub webhooks: WebhookSettings,
    /// Outgoing mail (`crate::mail`).
    pub mail: MailSettings,
    /// `TRACELESS_RETENTION_DAYS`: evidence, mail bodies and webhook payloads and answers
    /// older than this are erased (`crate::retention`).
    pub retention: RetentionSettings,
    /// Open streams and callback bytes at once (`crate::capacity`).
    pub capacity: CapacitySettings,
    /// `TRACELESS_TOKEN_KEY`: seals the connecting administrator's Microsoft refresh token at
    /// rest (`crate::microsoft::TokenKey`); `None`: a per-process key with the built-in
    /// emulator, none kept with the real Microsoft.
    pub token_key: Option<crate::microsoft::TokenKey>,
    /// `TRACELESS_METRICS_ADDR`: where `GET /metrics` (Prometheus) listens, apart from the
    /// public address; `None`: no metrics.
    pub metrics_addr: Option<SocketAddr>,
}

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
    let server = server::parse(lookup)?;
    Ok(Settings {
        bind_addr: server.bind_addr,
        public_url: server.public_url,
        database_url: database::parse(lookup)?,
        log_filter: server.log_filter,
        log_json: server.log_json,
        invite_lifetime: server.invite_lifetime,
        microsoft: microsoft::parse(lookup, emulator_by_default)?,
        limits: RateLimitSettings::from_lookup(&lookup)?,
        webhooks: webhooks::parse(lookup)?,
        mail: mail::parse(lookup)?,
        retention: retention::parse(lookup)?,
        capacity: CapacitySettings::from_lookup(&lookup)?,
        token_key: microsoft::parse_token_key(lookup)?,
        metrics_addr: metrics::parse(lookup)?,
    })
}

#[cfg(test)]
mod tests;
