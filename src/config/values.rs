//! Small value parsers the sections share; each error names the variable it read.

use std::net::SocketAddr;

use url::Url;

use super::error::ConfigError;

pub(super) fn parse_addr(name: &'static str, value: String) -> Result<SocketAddr, ConfigError> {
    value.trim().parse().map_err(|_| ConfigError::Invalid {
        name,
        value,
        reason: "expected an IP address and port, like 127.0.0.1:3000".into(),
    })
}

pub(super) fn parse_url(name: &'static str, value: String) -> Result<Url, ConfigError> {
    match Url::parse(value.trim()) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => Ok(url),
        _ => Err(ConfigError::Invalid {
            name,
            value,
            reason: "expected an absolute http(s) URL".into(),
        }),
    }
}

pub(super) fn parse_ranged(
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

pub(super) fn parse_bool(name: &'static str, value: String) -> Result<bool, ConfigError> {
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
pub(super) fn redact_password(value: &str) -> String {
    match Url::parse(value) {
        Ok(mut url) if url.password().is_some() => {
            let _ = url.set_password(Some("***"));
            url.to_string()
        }
        _ => value.to_owned(),
    }
}
