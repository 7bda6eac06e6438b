//! Outgoing mail (`TRACELESS_SMTP_*`, `TRACELESS_MAIL_*`): SMTP when a host is set, else the
//! development mailbox.

use std::fmt;
use std::time::Duration;

use super::error::ConfigError;
use super::values::parse_ranged;

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

pub(super) fn parse(lookup: &dyn Fn(&str) -> Option<String>) -> Result<MailSettings, ConfigError> {
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
