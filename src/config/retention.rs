//! Retention (`TRACELESS_RETENTION_DAYS`): how long evidence, mail bodies and webhook
//! payloads and answers are kept before the retention job erases them.

use std::time::Duration;

use super::error::ConfigError;
use super::values::parse_ranged;

pub const DEFAULT_RETENTION_DAYS: u64 = 90;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetentionSettings {
    /// Evidence older than this is erased.
    pub window: Duration,
}

impl Default for RetentionSettings {
    fn default() -> Self {
        RetentionSettings {
            window: Duration::from_secs(DEFAULT_RETENTION_DAYS * 24 * 3600),
        }
    }
}

/// `TRACELESS_RETENTION_DAYS`, 1 to 3650 (ten years), default 90.
pub(super) fn parse(
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<RetentionSettings, ConfigError> {
    let days = match lookup("TRACELESS_RETENTION_DAYS") {
        Some(value) => parse_ranged("TRACELESS_RETENTION_DAYS", value, 1..=3650, "days")?,
        None => DEFAULT_RETENTION_DAYS,
    };
    Ok(RetentionSettings {
        window: Duration::from_secs(days * 24 * 3600),
    })
}
