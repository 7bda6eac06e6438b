//! Limits that must hold however many instances serve: sign-in failures per account (and
//! per account and address), presentation requests per link, API requests per key. On
//! PostgreSQL, where several instances share one database, each is a fixed-window counter
//! row keyed by (door, key, window), upserted atomically; on SQLite, which one instance
//! serves, they count in process (the same fixed windows for sign-in, `governor` for the
//! rest, as before). Per-address limits stay per process everywhere (`crate::rate_limit`):
//! see docs/operations.md, "Rate limits".
//!
//! A database error while counting is logged and the request goes on: the step it guards
//! reads the same database next and fails there, so letting it through opens nothing.

pub mod sign_in;
mod store;
mod windows;

pub use sign_in::{SignInAttempt, SignInGuard};
pub use windows::{Tally, Windows};

use std::hash::Hash;
use std::sync::Arc;
use std::time::Duration;

use time::OffsetDateTime;
use uuid::Uuid;

use crate::db::{Backend, Pool};
use crate::rate_limit::{
    ForgetsQuietKeys, Limiter, Rate, RateLimitSettings, TooMany, spawn_housekeeping,
};

/// Which limit a count belongs to: the `door` column of its rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Door {
    SignInFailuresPerAccount,
    SignInFailuresPerAccountAndAddress,
    SignInFailuresPerAddress,
    PresentationsPerLink,
    ApiPerKey,
}

impl Door {
    pub fn as_str(self) -> &'static str {
        match self {
            Door::SignInFailuresPerAccount => "sign_in_failures_per_account",
            Door::SignInFailuresPerAccountAndAddress => "sign_in_failures_per_account_and_address",
            Door::SignInFailuresPerAddress => "sign_in_failures_per_address",
            Door::PresentationsPerLink => "presentations_per_link",
            Door::ApiPerKey => "api_per_key",
        }
    }
}

/// Whether a pool's counts must be shared: PostgreSQL is what more than one instance runs on.
fn shared(pool: &Pool) -> bool {
    pool.backend() == Backend::Postgres
}

/// A refusal that ends at `until`.
pub(crate) fn wait_until(until: OffsetDateTime, now: OffsetDateTime) -> TooMany {
    TooMany::after(Duration::try_from(until - now).unwrap_or(Duration::ZERO))
}

/// "N per period" for one kind of key: `governor` in process, or a fixed window in the
/// database (N per window: a client may spend one window's allowance at its end and the
/// next one's at its start, twice N in a moment, never more).
pub enum Allowance<K: Hash + Eq + Clone> {
    Process(Limiter<K>),
    Shared { windows: Windows, burst: u32 },
}

impl<K: Hash + Eq + Clone + std::fmt::Display> Allowance<K> {
    /// Counted in the database on PostgreSQL, in process on SQLite.
    pub fn new(rate: Rate, door: Door, pool: &Pool) -> Self {
        if shared(pool) {
            Allowance::Shared {
                windows: Windows::in_database(door, rate.period, pool.clone()),
                burst: rate.burst.get(),
            }
        } else {
            Allowance::Process(Limiter::new(rate))
        }
    }

    /// Counts one request for `key`; refused once the key's allowance is spent.
    pub async fn check(&self, key: &K) -> Result<(), TooMany> {
        match self {
            Allowance::Process(limiter) => limiter.check(key),
            Allowance::Shared { windows, burst } => {
                let now = OffsetDateTime::now_utc();
                let tally = windows.add(&key.to_string(), now).await;
                if tally.hits > *burst {
                    Err(wait_until(tally.window_ends, now))
                } else {
                    Ok(())
                }
            }
        }
    }

    fn forget_quiet_keys(&self) {
        if let Allowance::Process(limiter) = self {
            limiter.forget_quiet_keys();
        }
    }
}

/// The limits of this module for one running server, shared by the HTTP layer and the
/// server functions (the verifier holds its own presentation allowance).
pub struct SharedLimits {
    pub sign_in: SignInGuard,
    /// Keyed by the API key's id.
    pub api_per_key: Allowance<Uuid>,
}

impl SharedLimits {
    pub fn new(settings: &RateLimitSettings, pool: &Pool) -> Self {
        SharedLimits {
            sign_in: SignInGuard::new(settings, pool),
            api_per_key: Allowance::new(settings.api_per_key, Door::ApiPerKey, pool),
        }
    }

    /// Builds the limits and starts the housekeeping of what counts in process (on the
    /// current Tokio runtime); it ends when the last `Arc` is dropped. Database rows are
    /// swept by the retention job ([`sweep`]).
    pub fn start(settings: &RateLimitSettings, pool: &Pool) -> Arc<Self> {
        let limits = Arc::new(Self::new(settings, pool));
        spawn_housekeeping(&limits);
        limits
    }
}

impl ForgetsQuietKeys for SharedLimits {
    fn forget_quiet_keys(&self) {
        let now = OffsetDateTime::now_utc();
        self.sign_in.forget_ended(now);
        self.api_per_key.forget_quiet_keys();
    }
}

/// Deletes the counts whose window ended before `now`; returns how many.
pub async fn sweep(pool: &Pool, now: OffsetDateTime) -> Result<u64, sqlx::Error> {
    let mut conn = pool.acquire().await?;
    store::delete_ended(&mut conn, now).await
}
