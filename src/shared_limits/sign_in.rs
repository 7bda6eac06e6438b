//! Password sign-in without a denial of service. Failures are counted three ways, each
//! with its own answer:
//! - per account and client address: past its bar that address waits for the window's end
//!   (whoever guesses one account from one place);
//! - per client address, whatever the account: the same (one place guessing many accounts);
//!   per process, like the other per-address limits;
//! - per account from every address: only past a much higher bar (an attack spread over
//!   many addresses), and then a delay that grows with each further failure, never a lock.
//!
//! So an attacker's failures from one address do not stop the owner signing in from
//! another. Concurrent tries at the moment an account's wait ends may pass together; each
//! of their addresses is still held by its own bars, counted before the password is read. Accounts are counted by the address as typed (normalized), whether or not it
//! has an account: the answers reveal nothing about which exist. Only the password step
//! is counted: a second factor or a Microsoft sign-in is never refused for password
//! failures.

use std::time::Duration;

use time::OffsetDateTime;

use super::{Door, Tally, Windows, shared, wait_until};
use crate::db::Pool;
use crate::email::EmailAddress;
use crate::observe;
use crate::rate_limit::{ClientKey, RateLimitSettings, TooMany};
use crate::secret::SecretHash;

/// The first wait once an account is past its bar; each further failure doubles it.
const FIRST_DELAY: Duration = Duration::from_secs(10);
/// The longest wait: past it the owner, who is refused too, would be locked out in effect.
const LONGEST_DELAY: Duration = Duration::from_secs(5 * 60);

pub struct SignInGuard {
    per_account_and_address: Windows,
    account_and_address_bar: u32,
    per_address: Windows,
    address_bar: u32,
    per_account: Windows,
    account_bar: u32,
}

/// One try at a password: the keys it is counted under. Accounts and addresses are kept
/// hashed, so the counters hold no address in clear.
pub struct SignInAttempt {
    account: String,
    account_and_address: String,
    address: String,
}

impl SignInAttempt {
    pub fn new(email: &str, client: ClientKey) -> Self {
        let account = EmailAddress::limit_key(email);
        SignInAttempt {
            account_and_address: hashed(&format!("{account}\n{client}")),
            account: hashed(&account),
            address: hashed(&client.to_string()),
        }
    }
}

fn hashed(key: &str) -> String {
    SecretHash::of(key).as_str().to_owned()
}

impl SignInGuard {
    pub fn new(settings: &RateLimitSettings, pool: &Pool) -> Self {
        let place = |door, period| {
            if shared(pool) {
                Windows::in_database(door, period, pool.clone())
            } else {
                Windows::in_process(door, period)
            }
        };
        let pair = settings.sign_in_failures_per_account_and_ip;
        let address = settings.sign_in_failures_per_ip;
        let account = settings.sign_in_per_account;
        SignInGuard {
            per_account_and_address: place(Door::SignInFailuresPerAccountAndAddress, pair.period),
            account_and_address_bar: pair.burst.get(),
            per_address: Windows::in_process(Door::SignInFailuresPerAddress, address.period),
            address_bar: address.burst.get(),
            per_account: place(Door::SignInFailuresPerAccount, account.period),
            account_bar: account.burst.get(),
        }
    }

    /// Before the password is checked: refused while a counter says wait (a correct
    /// password too, or waiting would be pointless for a guesser). The try is counted per
    /// address and per account and address now, as a failure until it proves otherwise
    /// ([`Self::succeeded`]): counted after the check, a burst of concurrent tries would
    /// all pass the bar together.
    pub async fn admit(&self, attempt: &SignInAttempt) -> Result<(), TooMany> {
        let now = OffsetDateTime::now_utc();
        let account = self.per_account.read(&attempt.account, now).await;
        if let Some(until) = delayed_until(account, self.account_bar)
            && until > now
        {
            observe::rate_limited("sign-in per account");
            return Err(wait_until(until, now));
        }
        let address = self.per_address.add(&attempt.address, now).await;
        if address.hits > self.address_bar {
            observe::rate_limited("sign-in failures per address");
            return Err(wait_until(address.window_ends, now));
        }
        let pair = self
            .per_account_and_address
            .add(&attempt.account_and_address, now)
            .await;
        if pair.hits > self.account_and_address_bar {
            observe::rate_limited("sign-in per account and address");
            return Err(wait_until(pair.window_ends, now));
        }
        Ok(())
    }

    /// A wrong password, or an address without an account: counted alike. (Per address,
    /// and per account and address, [`Self::admit`] counted it already.)
    pub async fn failed(&self, attempt: &SignInAttempt) {
        let now = OffsetDateTime::now_utc();
        self.per_account.add(&attempt.account, now).await;
    }

    /// The right password: the try is taken back from the address's count, and this
    /// address's failures for the account are forgiven. The account's own count is kept
    /// (an attack spread over addresses may still be under way).
    pub async fn succeeded(&self, attempt: &SignInAttempt) {
        let now = OffsetDateTime::now_utc();
        self.per_address.refund(&attempt.address, now).await;
        self.per_account_and_address
            .clear(&attempt.account_and_address, now)
            .await;
    }

    pub(super) fn forget_ended(&self, now: OffsetDateTime) {
        self.per_account_and_address.forget_ended(now);
        self.per_address.forget_ended(now);
        self.per_account.forget_ended(now);
    }
}

/// Past the bar, the account waits after each failure: `FIRST_DELAY`, doubled for each
/// failure beyond, at most `LONGEST_DELAY`, and never past its window's end.
fn delayed_until(account: Tally, bar: u32) -> Option<OffsetDateTime> {
    let beyond = account.hits.checked_sub(bar)?;
    let last = account.last_at?;
    let delay = FIRST_DELAY
        .saturating_mul(1u32 << beyond.min(16))
        .min(LONGEST_DELAY);
    Some((last + delay).min(account.window_ends))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(secs).unwrap()
    }

    fn tally(hits: u32, last: i64) -> Tally {
        Tally {
            hits,
            last_at: Some(at(last)),
            window_ends: at(10_000),
        }
    }

    #[test]
    fn an_account_waits_only_past_its_bar_and_the_wait_grows_to_a_ceiling() {
        assert_eq!(delayed_until(tally(99, 100), 100), None);
        assert_eq!(delayed_until(tally(100, 100), 100), Some(at(110)));
        assert_eq!(delayed_until(tally(101, 100), 100), Some(at(120)));
        assert_eq!(delayed_until(tally(102, 100), 100), Some(at(140)));
        assert_eq!(delayed_until(tally(150, 100), 100), Some(at(400)));
        assert_eq!(delayed_until(tally(150, 9_900), 100), Some(at(10_000)));
    }

    #[test]
    fn accounts_are_counted_as_typed_in_any_case_and_addresses_apart() {
        let here = ClientKey::from("192.0.2.1".parse::<std::net::IpAddr>().unwrap());
        let there = ClientKey::from("192.0.2.2".parse::<std::net::IpAddr>().unwrap());
        let a = SignInAttempt::new(" ADA@Contoso.com ", here);
        let b = SignInAttempt::new("ada@contoso.com", there);
        assert_eq!(a.account, b.account);
        assert_ne!(a.account_and_address, b.account_and_address);
        assert_ne!(a.address, b.address);
        assert!(!a.account.contains("contoso"));
    }
}
