//! Configuration from `TRACELESS_*` environment variables, with defaults that run the
//! whole product on one machine: SQLite under `data/` and the built-in Microsoft emulator.

use std::net::SocketAddr;
use std::time::Duration;

use url::Url;

#[derive(Debug, Clone)]
pub struct Settings {
    /// Address the HTTP server listens on.
    pub bind_addr: SocketAddr,
    /// The URL people and Microsoft use to reach us; links and callbacks are built from it.
    pub public_url: Url,
    pub database_url: String,
    /// A `tracing` filter directive, e.g. `info,traceless=debug`.
    pub log_filter: String,
    /// One JSON object per log line (for log shippers) instead of human-readable text.
    pub log_json: bool,
    pub invite_lifetime: Duration,
    pub microsoft: MicrosoftSettings,
    /// Rate limits and trusted proxies (`crate::rate_limit`).
    pub limits: crate::rate_limit::RateLimitSettings,
}

#[derive(Debug, Clone)]
pub struct MicrosoftSettings {
    /// `None` runs against the built-in emulator (the default run).
    pub app: Option<MicrosoftApp>,
    pub login_url: Option<Url>,
    pub graph_url: Option<Url>,
    pub verified_id_url: Option<Url>,
    /// Where the built-in emulator listens when it is used.
    pub emulator_addr: SocketAddr,
    /// How long one call to Microsoft may take before we give up on it.
    pub timeout: Duration,
}

/// The multi-tenant app registration in Entra. The secret is kept out of `Debug`.
#[derive(Clone)]
pub struct MicrosoftApp {
    pub client_id: String,
    pub client_secret: String,
}

impl std::fmt::Debug for MicrosoftApp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MicrosoftApp")
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .finish()
    }
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
}

pub const DEFAULT_BIND_ADDR: &str = "127.0.0.1:3000";
pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/traceless.db";
pub const DEFAULT_LOG_FILTER: &str = "info,traceless=debug,server=debug,app=debug";
pub const DEFAULT_EMULATOR_ADDR: &str = "127.0.0.1:3100";
pub const DEFAULT_INVITE_LIFETIME_HOURS: u64 = 72;
pub const DEFAULT_MS_TIMEOUT_MS: u64 = 10_000;

impl Settings {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok().filter(|v| !v.trim().is_empty()))
    }

    /// Reads settings through `lookup`, so tests need not touch the process environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        // cargo-leptos announces its chosen address in LEPTOS_SITE_ADDR; ours wins.
        let bind_addr = parse_addr(
            "TRACELESS_BIND_ADDR",
            lookup("TRACELESS_BIND_ADDR")
                .or_else(|| lookup("LEPTOS_SITE_ADDR"))
                .unwrap_or_else(|| DEFAULT_BIND_ADDR.into()),
        )?;
        let public_url = match lookup("TRACELESS_PUBLIC_URL") {
            Some(value) => parse_url("TRACELESS_PUBLIC_URL", value)?,
            None => Url::parse(&format!("http://{bind_addr}/"))
                .expect("a socket address is a valid host"),
        };
        let app = match (
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
        let optional_url =
            |name: &'static str| lookup(name).map(|v| parse_url(name, v)).transpose();
        let timeout_ms = match lookup("TRACELESS_MS_TIMEOUT_MS") {
            Some(value) => value
                .parse::<u64>()
                .ok()
                .filter(|ms| (100..=120_000).contains(ms))
                .ok_or(ConfigError::Invalid {
                    name: "TRACELESS_MS_TIMEOUT_MS",
                    value,
                    reason: "expected milliseconds between 100 and 120000".into(),
                })?,
            None => DEFAULT_MS_TIMEOUT_MS,
        };
        let invite_hours = match lookup("TRACELESS_INVITE_LIFETIME_HOURS") {
            Some(value) => value
                .parse::<u64>()
                .ok()
                .filter(|h| (1..=24 * 30).contains(h))
                .ok_or(ConfigError::Invalid {
                    name: "TRACELESS_INVITE_LIFETIME_HOURS",
                    value,
                    reason: "expected a whole number of hours between 1 and 720".into(),
                })?,
            None => DEFAULT_INVITE_LIFETIME_HOURS,
        };
        Ok(Self {
            bind_addr,
            public_url,
            database_url: lookup("TRACELESS_DATABASE_URL")
                .unwrap_or_else(|| DEFAULT_DATABASE_URL.into()),
            log_filter: lookup("TRACELESS_LOG")
                .or_else(|| lookup("RUST_LOG"))
                .unwrap_or_else(|| DEFAULT_LOG_FILTER.into()),
            log_json: match lookup("TRACELESS_LOG_FORMAT").as_deref() {
                None | Some("text") => false,
                Some("json") => true,
                Some(other) => {
                    return Err(ConfigError::Invalid {
                        name: "TRACELESS_LOG_FORMAT",
                        value: other.into(),
                        reason: "expected text or json".into(),
                    });
                }
            },
            invite_lifetime: Duration::from_secs(invite_hours * 3600),
            microsoft: MicrosoftSettings {
                app,
                login_url: optional_url("TRACELESS_MS_LOGIN_URL")?,
                graph_url: optional_url("TRACELESS_MS_GRAPH_URL")?,
                verified_id_url: optional_url("TRACELESS_MS_VERIFIED_ID_URL")?,
                emulator_addr: parse_addr(
                    "TRACELESS_EMULATOR_ADDR",
                    lookup("TRACELESS_EMULATOR_ADDR")
                        .unwrap_or_else(|| DEFAULT_EMULATOR_ADDR.into()),
                )?,
                timeout: Duration::from_millis(timeout_ms),
            },
            limits: crate::rate_limit::RateLimitSettings::from_lookup(&lookup)?,
        })
    }

    /// Cookies get the `Secure` flag only when people reach us over HTTPS.
    pub fn secure_cookies(&self) -> bool {
        self.public_url.scheme() == "https"
    }
}

fn parse_addr(name: &'static str, value: String) -> Result<SocketAddr, ConfigError> {
    value.parse().map_err(|_| ConfigError::Invalid {
        name,
        value,
        reason: "expected an IP address and port, like 127.0.0.1:3000".into(),
    })
}

fn parse_url(name: &'static str, value: String) -> Result<Url, ConfigError> {
    match Url::parse(&value) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => Ok(url),
        _ => Err(ConfigError::Invalid {
            name,
            value,
            reason: "expected an absolute http(s) URL".into(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn settings(vars: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::from_lookup(|name| vars.get(name).cloned())
    }

    #[test]
    fn defaults_run_locally_on_sqlite_with_the_emulator() {
        let s = settings(&[]).unwrap();
        assert_eq!(s.bind_addr.to_string(), DEFAULT_BIND_ADDR);
        assert_eq!(s.public_url.as_str(), "http://127.0.0.1:3000/");
        assert_eq!(s.database_url, DEFAULT_DATABASE_URL);
        assert!(s.microsoft.app.is_none());
        assert!(!s.secure_cookies());
        assert_eq!(s.invite_lifetime, Duration::from_secs(72 * 3600));
    }

    #[test]
    fn https_public_url_turns_on_secure_cookies() {
        let s = settings(&[("TRACELESS_PUBLIC_URL", "https://help.example.com")]).unwrap();
        assert!(s.secure_cookies());
    }

    #[test]
    fn bad_values_name_the_variable() {
        let err = settings(&[("TRACELESS_BIND_ADDR", "localhost")]).unwrap_err();
        assert!(err.to_string().contains("TRACELESS_BIND_ADDR"));
        let err = settings(&[("TRACELESS_MS_GRAPH_URL", "ftp://x")]).unwrap_err();
        assert!(err.to_string().contains("TRACELESS_MS_GRAPH_URL"));
    }

    #[test]
    fn client_id_without_secret_is_refused() {
        let err = settings(&[("TRACELESS_MS_CLIENT_ID", "abc")]).unwrap_err();
        assert!(matches!(err, ConfigError::Incomplete { .. }));
    }

    #[test]
    fn client_secret_is_not_in_debug_output() {
        let s = settings(&[
            ("TRACELESS_MS_CLIENT_ID", "abc"),
            ("TRACELESS_MS_CLIENT_SECRET", "very-secret"),
        ])
        .unwrap();
        assert!(!format!("{s:?}").contains("very-secret"));
    }
}
