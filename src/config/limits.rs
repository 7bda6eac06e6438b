//! Rate limits (`TRACELESS_RATE_LIMIT_*`) and the proxies whose forwarded client address is
//! believed (`TRACELESS_TRUSTED_PROXIES`, `TRACELESS_FORWARDED_HEADER`). The limiters that
//! apply them are in `crate::rate_limit`.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use ipnet::IpNet;

use super::error::ConfigError;

/// "N per period": a burst of `burst` at once, then one more every `period / burst`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub burst: NonZeroU32,
    pub period: Duration,
}

impl Rate {
    pub const fn new(burst: NonZeroU32, period: Duration) -> Self {
        Rate { burst, period }
    }

    /// Parses `30/min`, `10/15min`, `5/s`, `600/h`: a count, a slash, an optional
    /// whole number and a unit (`s`, `min`, `h`).
    pub fn parse(value: &str) -> Option<Self> {
        let (count, period) = value.trim().split_once('/')?;
        let burst = count.trim().parse::<NonZeroU32>().ok()?;
        let period = period.trim();
        let unit_at = period
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(period.len());
        let (amount, unit) = period.split_at(unit_at);
        let amount = if amount.is_empty() {
            1
        } else {
            amount.parse::<u64>().ok().filter(|n| *n > 0)?
        };
        let unit_secs = match unit.trim() {
            "s" | "sec" => 1,
            "min" | "m" => 60,
            "h" => 3600,
            _ => return None,
        };
        let period = Duration::from_secs(amount.checked_mul(unit_secs)?);
        (period <= Duration::from_secs(24 * 3600)).then_some(Rate { burst, period })
    }
}

impl std::fmt::Display for Rate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let secs = self.period.as_secs();
        match secs {
            s if s % 3600 == 0 => write!(f, "{}/{}h", self.burst, s / 3600),
            s if s % 60 == 0 => write!(f, "{}/{}min", self.burst, s / 60),
            s => write!(f, "{}/{}s", self.burst, s),
        }
    }
}

/// What each limit allows. Per-address limits are generous because one address is
/// often a whole office behind NAT; per-account and per-link limits are tight because
/// they protect one password or one Microsoft budget. See docs/operations.md, "Rate limits".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLimitSettings {
    /// Failed sign-ins of one account from every address together before each further
    /// try waits (a delay that grows, never a lock): the much higher bar of an attack
    /// spread over many addresses (`crate::shared_limits::sign_in`).
    pub sign_in_per_account: Rate,
    /// Failed sign-ins of one account from one client address before that address waits
    /// for the window's end (the owner elsewhere is not stopped).
    pub sign_in_failures_per_account_and_ip: Rate,
    /// Failed sign-ins from one client address, whatever the accounts.
    pub sign_in_failures_per_ip: Rate,
    /// Sign-in tries from one client address (guessing across many accounts).
    pub sign_in_per_ip: Rate,
    pub sign_up_per_ip: Rate,
    pub invite_accept_per_ip: Rate,
    /// The person's page, its event stream and its QR renewals, from one address.
    pub link_per_ip: Rate,
    /// Opens of one verification link's page and stream, from anywhere.
    pub link_per_link: Rate,
    /// New Microsoft presentation requests for one link: each costs a call to
    /// Microsoft against the shared app registration's throttling budget.
    pub presentations_per_link: Rate,
    /// Microsoft's calls to us (presentation callbacks, the sign-in redirect back).
    /// All of Microsoft arrives from few addresses, so this is only a ceiling.
    pub microsoft_per_ip: Rate,
    /// REST API requests with one API key (a help-desk tool).
    pub api_per_key: Rate,
    /// REST API requests from one address, keys or not (guessing keys, floods).
    pub api_per_ip: Rate,
    /// Proxies whose `X-Forwarded-For` is believed. Empty: the socket's address is the
    /// client, and `X-Forwarded-For` is ignored (anyone can send it).
    pub trusted_proxies: Vec<IpNet>,
    /// Which header the trusted proxies append to (`TRACELESS_FORWARDED_HEADER`). Only
    /// one is read: a header the proxies pass through untouched is the client's to forge.
    pub forwarded_header: ForwardedHeader,
}

/// The header trusted proxies record each hop in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ForwardedHeader {
    /// `X-Forwarded-For` (nginx, Apache, HAProxy, most load balancers).
    #[default]
    XForwardedFor,
    /// RFC 7239 `Forwarded` (`for=` of each element).
    Forwarded,
}

pub const FORWARDED_HEADER: &str = "TRACELESS_FORWARDED_HEADER";

impl ForwardedHeader {
    pub fn parse(value: &str) -> Option<Self> {
        match value.trim().to_ascii_lowercase().as_str() {
            "x-forwarded-for" => Some(ForwardedHeader::XForwardedFor),
            "forwarded" => Some(ForwardedHeader::Forwarded),
            _ => None,
        }
    }
}

const fn rate(burst: u32, period_secs: u64) -> Rate {
    match NonZeroU32::new(burst) {
        Some(burst) => Rate::new(burst, Duration::from_secs(period_secs)),
        None => panic!("a rate allows at least one"),
    }
}

impl Default for RateLimitSettings {
    fn default() -> Self {
        RateLimitSettings {
            sign_in_per_account: rate(100, 60 * 60),
            sign_in_failures_per_account_and_ip: rate(10, 15 * 60),
            sign_in_failures_per_ip: rate(100, 15 * 60),
            sign_in_per_ip: rate(60, 60),
            sign_up_per_ip: rate(30, 5 * 60),
            invite_accept_per_ip: rate(30, 5 * 60),
            link_per_ip: rate(120, 60),
            link_per_link: rate(60, 60),
            presentations_per_link: rate(10, 10 * 60),
            microsoft_per_ip: rate(3000, 60),
            api_per_key: rate(600, 60),
            api_per_ip: rate(1200, 60),
            trusted_proxies: Vec::new(),
            forwarded_header: ForwardedHeader::XForwardedFor,
        }
    }
}

pub const TRUSTED_PROXIES: &str = "TRACELESS_TRUSTED_PROXIES";

impl RateLimitSettings {
    /// Reads `TRACELESS_RATE_LIMIT_<NAME>` (each `N/period`, e.g. `10/15min`) and
    /// `TRACELESS_TRUSTED_PROXIES` (comma-separated addresses or CIDR ranges).
    pub fn from_lookup(lookup: &impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let defaults = RateLimitSettings::default();
        let rate = |name: &'static str, default: Rate| -> Result<Rate, ConfigError> {
            match lookup(name) {
                None => Ok(default),
                Some(value) => Rate::parse(&value).ok_or(ConfigError::Invalid {
                    name,
                    value,
                    reason:
                        "expected a count per period, like 10/min, 30/15min or 5/s (at most a day)"
                            .into(),
                }),
            }
        };
        Ok(RateLimitSettings {
            sign_in_per_account: rate(
                "TRACELESS_RATE_LIMIT_SIGN_IN_PER_ACCOUNT",
                defaults.sign_in_per_account,
            )?,
            sign_in_failures_per_account_and_ip: rate(
                "TRACELESS_RATE_LIMIT_SIGN_IN_FAILURES_PER_ACCOUNT_AND_IP",
                defaults.sign_in_failures_per_account_and_ip,
            )?,
            sign_in_failures_per_ip: rate(
                "TRACELESS_RATE_LIMIT_SIGN_IN_FAILURES_PER_IP",
                defaults.sign_in_failures_per_ip,
            )?,
            sign_in_per_ip: rate("TRACELESS_RATE_LIMIT_SIGN_IN_PER_IP", defaults.sign_in_per_ip)?,
            sign_up_per_ip: rate("TRACELESS_RATE_LIMIT_SIGN_UP_PER_IP", defaults.sign_up_per_ip)?,
            invite_accept_per_ip: rate(
                "TRACELESS_RATE_LIMIT_INVITE_PER_IP",
                defaults.invite_accept_per_ip,
            )?,
            link_per_ip: rate("TRACELESS_RATE_LIMIT_LINK_PER_IP", defaults.link_per_ip)?,
            link_per_link: rate("TRACELESS_RATE_LIMIT_LINK_PER_LINK", defaults.link_per_link)?,
            presentations_per_link: rate(
                "TRACELESS_RATE_LIMIT_PRESENTATIONS_PER_LINK",
                defaults.presentations_per_link,
            )?,
            microsoft_per_ip: rate(
                "TRACELESS_RATE_LIMIT_MICROSOFT_PER_IP",
                defaults.microsoft_per_ip,
            )?,
            api_per_key: rate("TRACELESS_RATE_LIMIT_API_PER_KEY", defaults.api_per_key)?,
            api_per_ip: rate("TRACELESS_RATE_LIMIT_API_PER_IP", defaults.api_per_ip)?,
            trusted_proxies: match lookup(TRUSTED_PROXIES) {
                None => Vec::new(),
                Some(value) => parse_proxies(&value).map_err(|bad| ConfigError::Invalid {
                    name: TRUSTED_PROXIES,
                    value: value.clone(),
                    reason: format!(
                        "{bad:?} is not an IP address or CIDR range; expected e.g. 127.0.0.1,10.0.0.0/8"
                    ),
                })?,
            },
            forwarded_header: match lookup(FORWARDED_HEADER) {
                None => ForwardedHeader::default(),
                Some(value) => ForwardedHeader::parse(&value).ok_or(ConfigError::Invalid {
                    name: FORWARDED_HEADER,
                    value,
                    reason: "expected x-forwarded-for or forwarded".into(),
                })?,
            },
        })
    }
}

/// Comma-separated addresses (`10.0.0.7`, `::1`) and ranges (`10.0.0.0/8`); the first
/// entry that is neither is returned as the error.
fn parse_proxies(value: &str) -> Result<Vec<IpNet>, String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
        .map(|entry| {
            entry
                .parse::<IpNet>()
                .or_else(|_| entry.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| entry.to_owned())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn rates_parse_as_count_per_period() {
        let parsed = |s: &str| Rate::parse(s).map(|r| (r.burst.get(), r.period.as_secs()));
        assert_eq!(parsed("10/min"), Some((10, 60)));
        assert_eq!(parsed("30/15min"), Some((30, 900)));
        assert_eq!(parsed(" 5 / s "), Some((5, 1)));
        assert_eq!(parsed("600/h"), Some((600, 3600)));
        assert_eq!(parsed("2/10s"), Some((2, 10)));
        for bad in [
            "0/min", "10", "10/", "10/week", "-1/min", "10/0min", "10/25h", "x/min",
        ] {
            assert_eq!(Rate::parse(bad), None, "{bad}");
        }
        assert_eq!(Rate::parse("30/15min").unwrap().to_string(), "30/15min");
    }

    fn settings(vars: &[(&str, &str)]) -> Result<RateLimitSettings, ConfigError> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        RateLimitSettings::from_lookup(&|name: &str| vars.get(name).cloned())
    }

    #[test]
    fn settings_default_and_override_one_by_one() {
        assert_eq!(settings(&[]).unwrap(), RateLimitSettings::default());
        let s = settings(&[
            ("TRACELESS_RATE_LIMIT_SIGN_IN_PER_ACCOUNT", "3/min"),
            (TRUSTED_PROXIES, "127.0.0.1, 10.0.0.0/8,::1"),
        ])
        .unwrap();
        assert_eq!(s.sign_in_per_account, Rate::parse("3/min").unwrap());
        assert_eq!(
            s.sign_up_per_ip,
            RateLimitSettings::default().sign_up_per_ip
        );
        assert_eq!(s.trusted_proxies.len(), 3);
        assert!(s.trusted_proxies[1].contains(&"10.1.2.3".parse::<IpAddr>().unwrap()));
    }

    #[test]
    fn bad_settings_name_the_variable() {
        let err = settings(&[("TRACELESS_RATE_LIMIT_LINK_PER_IP", "lots")]).unwrap_err();
        assert!(
            err.to_string().contains("TRACELESS_RATE_LIMIT_LINK_PER_IP"),
            "{err}"
        );
        let err = settings(&[(FORWARDED_HEADER, "x-real-ip")]).unwrap_err();
        assert!(err.to_string().contains(FORWARDED_HEADER), "{err}");
        assert_eq!(
            settings(&[(FORWARDED_HEADER, "Forwarded")])
                .unwrap()
                .forwarded_header,
            ForwardedHeader::Forwarded
        );
        let err = settings(&[(TRUSTED_PROXIES, "10.0.0.1,proxy.internal")]).unwrap_err();
        assert!(err.to_string().contains(TRUSTED_PROXIES), "{err}");
        assert!(err.to_string().contains("proxy.internal"), "{err}");
    }
}
