//! The server itself: where it listens (`TRACELESS_BIND_ADDR`), the URL people and Microsoft
//! reach it at (`TRACELESS_PUBLIC_URL`), its logs (`TRACELESS_LOG`, `TRACELESS_LOG_FORMAT`)
//! and how long an invitation lasts (`TRACELESS_INVITE_LIFETIME_HOURS`).

use std::net::SocketAddr;
use std::time::Duration;

use url::Url;

use super::error::ConfigError;
use super::values::{parse_addr, parse_ranged, parse_url, redact_password};

pub const DEFAULT_BIND_ADDR: &str = "127.0.0.1:3000";
pub const DEFAULT_LOG_FILTER: &str = "info,traceless=debug,server=debug,app=debug";
pub const DEFAULT_INVITE_LIFETIME_HOURS: u64 = 72;

/// This section's part of [`super::Settings`] (whose fields it fills).
pub(super) struct Server {
    pub bind_addr: SocketAddr,
    pub public_url: Url,
    pub log_filter: String,
    pub log_json: bool,
    pub invite_lifetime: Duration,
}

pub(super) fn parse(lookup: &dyn Fn(&str) -> Option<String>) -> Result<Server, ConfigError> {
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
    Ok(Server {
        bind_addr,
        public_url,
        log_filter: lookup("TRACELESS_LOG")
            .or_else(|| lookup("RUST_LOG"))
            .unwrap_or_else(|| DEFAULT_LOG_FILTER.into()),
        log_json,
        invite_lifetime: Duration::from_secs(invite_hours * 3600),
    })
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
