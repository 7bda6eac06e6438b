//! Rate limits: what each limit allows (read from `TRACELESS_RATE_LIMIT_*`), keyed
//! limiters built on `governor` (GCRA), and the refusal people see ("Too many attempts.
//! Try again in 30 seconds."). The HTTP side (which request counts against which limit,
//! the client's address) lives in the server; this is what the core and the app share.

use std::hash::Hash;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};

use crate::email::EmailAddress;

pub use crate::config::limits::{
    FORWARDED_HEADER, ForwardedHeader, Rate, RateLimitSettings, TRUSTED_PROXIES,
};

/// A refusal: the caller may try again after `retry_after` (whole seconds, at least one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("Too many attempts. Try again in {}.", wait_words(*retry_after))]
pub struct TooMany {
    pub retry_after: Duration,
}

impl TooMany {
    /// Rounds up to whole seconds, so that a client that waits as told is let through.
    pub fn after(wait: Duration) -> Self {
        let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        TooMany {
            retry_after: Duration::from_secs(secs.max(1)),
        }
    }

    /// The value of the `Retry-After` header.
    pub fn retry_after_secs(&self) -> u64 {
        self.retry_after.as_secs()
    }
}

fn wait_words(wait: Duration) -> String {
    let secs = wait.as_secs();
    match secs {
        0 | 1 => "1 second".into(),
        2..=119 => format!("{secs} seconds"),
        _ => format!("{} minutes", secs.div_ceil(60)),
    }
}

/// `rate` as governor's quota: one cell every `period / burst`, `burst` at once.
fn quota(rate: Rate) -> Quota {
    let every = (rate.period / rate.burst.get()).max(Duration::from_nanos(1));
    Quota::with_period(every)
        .expect("a non-zero replenish interval")
        .allow_burst(rate.burst)
}

/// One keyed limit. Keys that have been quiet long enough to be full again are
/// forgotten by [`RateLimits`]' housekeeping, so memory follows recent traffic.
pub struct Limiter<K: Hash + Eq + Clone> {
    limiter: DefaultKeyedRateLimiter<K>,
}

impl<K: Hash + Eq + Clone> Limiter<K> {
    pub fn new(rate: Rate) -> Self {
        Limiter {
            limiter: DefaultKeyedRateLimiter::keyed(quota(rate)),
        }
    }

    /// Counts one attempt for `key`; refused once the key's allowance is spent.
    pub fn check(&self, key: &K) -> Result<(), TooMany> {
        self.limiter.check_key(key).map_err(|not_until| {
            TooMany::after(not_until.wait_time_from(DefaultClock::default().now()))
        })
    }

    pub fn forget_quiet_keys(&self) {
        self.limiter.retain_recent();
        self.limiter.shrink_to_fit();
    }

    /// How many keys are remembered (for tests of the housekeeping).
    pub fn len(&self) -> usize {
        self.limiter.len()
    }

    pub fn is_empty(&self) -> bool {
        self.limiter.is_empty()
    }
}

/// The client's address as the server's rate-limit layer read it (behind trusted proxies, the
/// forwarded one), put in each request's extensions: for per-client limits and the audit log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub IpAddr);

/// The client address a per-address limit counts. IPv6 clients are counted per /64:
/// one customer usually holds a whole /64, and could otherwise rotate through it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClientKey(IpAddr);

impl From<IpAddr> for ClientKey {
    fn from(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => ClientKey(IpAddr::V4(v4)),
                None => {
                    let prefix = u128::from(v6) & !((1u128 << 64) - 1);
                    ClientKey(IpAddr::V6(prefix.into()))
                }
            },
            v4 => ClientKey(v4),
        }
    }
}

impl std::fmt::Display for ClientKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// Every per-process limiter of one running server, shared by the HTTP layer and server
/// functions. Limits that must hold across instances (sign-in failures per account, API
/// requests per key, presentation requests per link) are in `crate::shared_limits`.
pub struct RateLimits {
    pub settings: RateLimitSettings,
    pub sign_in_per_ip: Limiter<ClientKey>,
    pub sign_up_per_ip: Limiter<ClientKey>,
    pub invite_accept_per_ip: Limiter<ClientKey>,
    pub link_per_ip: Limiter<ClientKey>,
    /// Keyed by the link's hash: the secret itself is not kept.
    pub link_per_link: Limiter<String>,
    pub microsoft_per_ip: Limiter<ClientKey>,
    pub api_per_ip: Limiter<ClientKey>,
    /// Two-step verification codes (authenticator or recovery), keyed by the account's id,
    /// with the tight rate of one address's password failures for one account.
    pub mfa_code_per_account: Limiter<uuid::Uuid>,
    /// The sign-in code step per address, with the sign-in per address rate.
    pub mfa_code_per_ip: Limiter<ClientKey>,
    /// "Forgot password" per address asked for (see [`RateLimits::check_forgot_password`]).
    pub forgot_password_per_account: Limiter<String>,
    pub forgot_password_per_ip: Limiter<ClientKey>,
    /// Sign-up and "Send the link again" mails to one address (see
    /// [`RateLimits::check_account_mail`]).
    pub account_mail_per_address: Limiter<String>,
}

/// Sign-up mails (a confirmation link, or a notice to an address that has an account) and
/// "Send the link again" to one address, together: enough for a lost or late mail, too few to
/// flood an inbox. Counted for every address, with or without an account.
pub const ACCOUNT_MAIL_PER_ADDRESS: Rate = Rate::new(
    std::num::NonZeroU32::new(5).expect("not zero"),
    Duration::from_secs(3600),
);

/// "Forgot password" mails to one address: enough for a lost or late mail, too few to
/// flood an inbox. Counted for every address asked for, with or without an account.
pub const FORGOT_PASSWORD_PER_ACCOUNT: Rate = Rate::new(
    std::num::NonZeroU32::new(5).expect("not zero"),
    Duration::from_secs(3600),
);
/// "Forgot password" requests from one client address, whichever addresses they name.
pub const FORGOT_PASSWORD_PER_IP: Rate = Rate::new(
    std::num::NonZeroU32::new(20).expect("not zero"),
    Duration::from_secs(15 * 60),
);

impl RateLimits {
    pub fn new(settings: RateLimitSettings) -> Self {
        RateLimits {
            sign_in_per_ip: Limiter::new(settings.sign_in_per_ip),
            sign_up_per_ip: Limiter::new(settings.sign_up_per_ip),
            invite_accept_per_ip: Limiter::new(settings.invite_accept_per_ip),
            link_per_ip: Limiter::new(settings.link_per_ip),
            link_per_link: Limiter::new(settings.link_per_link),
            microsoft_per_ip: Limiter::new(settings.microsoft_per_ip),
            api_per_ip: Limiter::new(settings.api_per_ip),
            // A code is six digits: per account, the tight bar of one address's password failures.
            mfa_code_per_account: Limiter::new(settings.sign_in_failures_per_account_and_ip),
            mfa_code_per_ip: Limiter::new(settings.sign_in_per_ip),
            forgot_password_per_account: Limiter::new(FORGOT_PASSWORD_PER_ACCOUNT),
            forgot_password_per_ip: Limiter::new(FORGOT_PASSWORD_PER_IP),
            account_mail_per_address: Limiter::new(ACCOUNT_MAIL_PER_ADDRESS),
            settings,
        }
    }

    /// Builds the limiters and starts their housekeeping (on the current Tokio
    /// runtime), which ends when the last `Arc` is dropped.
    pub fn start(settings: RateLimitSettings) -> Arc<Self> {
        let limits = Arc::new(Self::new(settings));
        spawn_housekeeping(&limits);
        limits
    }

    /// One "forgot password" request for `email`, counted under its normalized form.
    pub fn check_forgot_password(&self, email: &str) -> Result<(), TooMany> {
        self.forgot_password_per_account
            .check(&EmailAddress::limit_key(email))
    }

    /// One sign-up or "Send the link again" for `email`, counted under its normalized form.
    pub fn check_account_mail(&self, email: &str) -> Result<(), TooMany> {
        self.account_mail_per_address
            .check(&EmailAddress::limit_key(email))
    }
}

impl ForgetsQuietKeys for RateLimits {
    fn forget_quiet_keys(&self) {
        self.sign_in_per_ip.forget_quiet_keys();
        self.sign_up_per_ip.forget_quiet_keys();
        self.invite_accept_per_ip.forget_quiet_keys();
        self.link_per_ip.forget_quiet_keys();
        self.link_per_link.forget_quiet_keys();
        self.microsoft_per_ip.forget_quiet_keys();
        self.api_per_ip.forget_quiet_keys();
        self.mfa_code_per_account.forget_quiet_keys();
        self.mfa_code_per_ip.forget_quiet_keys();
        self.forgot_password_per_account.forget_quiet_keys();
        self.forgot_password_per_ip.forget_quiet_keys();
        self.account_mail_per_address.forget_quiet_keys();
    }
}

/// Limits that keep per-key counts in memory and can drop the keys that went quiet.
pub trait ForgetsQuietKeys: Send + Sync + 'static {
    fn forget_quiet_keys(&self);
}

/// Forgets `limits`' quiet keys once a minute (on the current Tokio runtime), so memory
/// follows recent traffic; ends when the last `Arc` is dropped.
pub fn spawn_housekeeping<L: ForgetsQuietKeys>(limits: &Arc<L>) {
    let limits = Arc::downgrade(limits);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(60));
        tick.tick().await;
        loop {
            tick.tick().await;
            let Some(limits) = limits.upgrade() else {
                return;
            };
            limits.forget_quiet_keys();
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_limiter_refuses_after_its_burst_and_keys_are_separate() {
        let limiter = Limiter::new(Rate::parse("3/min").unwrap());
        for _ in 0..3 {
            assert_eq!(limiter.check(&"a"), Ok(()));
        }
        let refused = limiter.check(&"a").unwrap_err();
        // One more is allowed every 20 seconds.
        assert!(
            (19..=20).contains(&refused.retry_after_secs()),
            "{refused:?}"
        );
        assert_eq!(limiter.check(&"b"), Ok(()));
    }

    #[test]
    fn refusals_say_when_to_try_again() {
        let words = |secs| TooMany::after(Duration::from_secs(secs)).to_string();
        assert_eq!(words(30), "Too many attempts. Try again in 30 seconds.");
        assert_eq!(words(1), "Too many attempts. Try again in 1 second.");
        assert_eq!(words(300), "Too many attempts. Try again in 5 minutes.");
        assert_eq!(
            TooMany::after(Duration::from_millis(1500)).retry_after_secs(),
            2
        );
        assert_eq!(TooMany::after(Duration::ZERO).retry_after_secs(), 1);
    }

    #[test]
    fn ipv6_clients_are_counted_per_64() {
        let a: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(ClientKey::from(a), ClientKey::from(b));
        assert_ne!(ClientKey::from(a), ClientKey::from(c));
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().unwrap();
        assert_eq!(
            ClientKey::from(mapped),
            ClientKey::from("192.0.2.7".parse::<IpAddr>().unwrap())
        );
    }
}
