//! Webhooks (`TRACELESS_WEBHOOK_*`): how deliveries are retried, how long one attempt may
//! take, and whether private targets are allowed (development and tests).

use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use super::error::ConfigError;
use super::values::{parse_bool, parse_ranged};

/// How deliveries are retried, and where they may go (`TRACELESS_WEBHOOK_*`).
#[derive(Debug, Clone)]
pub struct WebhookSettings {
    /// The wait before the first retry; it doubles with each failure, up to an hour.
    pub first_retry: Duration,
    /// How long a delivery is retried, and how long an endpoint may fail before it is
    /// disabled.
    pub retry_window: Duration,
    /// How long one attempt may take, from connecting to the answer's last byte read.
    pub timeout: Duration,
    /// `TRACELESS_WEBHOOK_ALLOW_PRIVATE`: loopback and private targets allowed (development
    /// and tests); link-local, metadata and unspecified addresses stay refused.
    pub allow_private: bool,
    /// Fixed DNS answers (tests only; never from the environment).
    pub host_overrides: HostOverrides,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        WebhookSettings {
            first_retry: Duration::from_secs(30),
            retry_window: Duration::from_secs(24 * 3600),
            timeout: Duration::from_secs(10),
            allow_private: false,
            host_overrides: HostOverrides::default(),
        }
    }
}

/// Fixed answers for some names, consulted before the system's resolver. Tests use it to
/// make a name resolve to a private address without a DNS server; it is never read from
/// the environment.
#[derive(Clone, Default)]
pub struct HostOverrides(Arc<RwLock<HashMap<String, Vec<IpAddr>>>>);

impl HostOverrides {
    /// From now on `name` resolves to `addresses` (replacing what it resolved to before).
    pub fn set(&self, name: &str, addresses: &[IpAddr]) {
        self.0
            .write()
            .expect("host overrides lock")
            .insert(name.to_ascii_lowercase(), addresses.to_vec());
    }

    pub(crate) fn get(&self, name: &str) -> Option<Vec<IpAddr>> {
        self.0
            .read()
            .expect("host overrides lock")
            .get(&name.to_ascii_lowercase())
            .cloned()
    }
}

impl fmt::Debug for HostOverrides {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set()
            .entries(self.0.read().expect("host overrides lock").keys())
            .finish()
    }
}

/// `TRACELESS_WEBHOOK_FIRST_RETRY_MS`, `TRACELESS_WEBHOOK_RETRY_WINDOW_SECS` and
/// `TRACELESS_WEBHOOK_TIMEOUT_MS`; tests shorten the first two.
pub(super) fn parse(
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<WebhookSettings, ConfigError> {
    let defaults = WebhookSettings::default();
    let read = |name: &'static str, range, unit: &str, default: Duration, per: u64| {
        lookup(name)
            .map(|value| parse_ranged(name, value, range, unit))
            .transpose()
            .map(|v| v.map_or(default, |n| Duration::from_millis(n * per)))
    };
    Ok(WebhookSettings {
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
        host_overrides: HostOverrides::default(),
    })
}
