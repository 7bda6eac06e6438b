//! Retrying Microsoft on a bad day: throttling (429) and outages (5xx, timeouts, refused
//! connections) are tried again with exponential backoff, honouring `Retry-After`, within a
//! small budget, so one slow minute at Microsoft does not become an error page, and a long
//! outage still answers within seconds.
//!
//! Microsoft asks clients to honour `Retry-After` on 429 and 503 (Graph throttling guidance;
//! the Verified ID request service's `transientError`, error-codes). Only calls that are safe
//! to repeat go through here: token requests other than the single-use code exchange, GETs,
//! and `createPresentationRequest` (a repeated create only leaves an unused request behind).

use std::future::Future;
use std::time::{Duration, Instant};

use super::error::MicrosoftError;

/// One try's failure, with the wait Microsoft asked for, if it did.
pub(crate) struct Failed {
    pub error: MicrosoftError,
    pub retry_after: Option<Duration>,
}

impl From<MicrosoftError> for Failed {
    fn from(error: MicrosoftError) -> Self {
        Failed {
            error,
            retry_after: None,
        }
    }
}

/// How hard to try.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Tries in all, the first included.
    pub attempts: u32,
    /// The first wait; each next one doubles.
    pub base_delay: Duration,
    /// No try starts after this much time has passed since the first.
    pub budget: Duration,
}

impl RetryPolicy {
    /// A person is waiting for a page: a few quick tries, then an honest answer.
    pub const INTERACTIVE: RetryPolicy = RetryPolicy {
        attempts: 4,
        base_delay: Duration::from_millis(250),
        budget: Duration::from_secs(6),
    };
    /// Tests and callers that must see the first answer.
    pub const NONE: RetryPolicy = RetryPolicy {
        attempts: 1,
        base_delay: Duration::ZERO,
        budget: Duration::ZERO,
    };

    /// The wait before try number `next` (1-based), or `None` to give up.
    fn wait_before(&self, next: u32, started: Instant, hint: Option<Duration>) -> Option<Duration> {
        if next >= self.attempts {
            return None;
        }
        let backoff = self.base_delay.saturating_mul(1 << (next - 1).min(16));
        // Never sooner than Microsoft asked; never past the budget.
        let wait = hint.map_or(backoff, |h| h.max(backoff));
        (started.elapsed() + wait <= self.budget).then_some(wait)
    }
}

/// Runs `call` until it succeeds, fails for good, or the policy gives up.
pub(crate) async fn retrying<T, F, Fut>(
    policy: RetryPolicy,
    mut call: F,
) -> Result<T, MicrosoftError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, Failed>>,
{
    let started = Instant::now();
    let mut tries = 0;
    loop {
        tries += 1;
        match call().await {
            Ok(value) => return Ok(value),
            Err(failed) if failed.error.is_transient() => {
                let Some(wait) = policy.wait_before(tries, started, failed.retry_after) else {
                    return Err(failed.error);
                };
                tracing::info!(error = %failed.error, wait_ms = wait.as_millis() as u64, "Microsoft is not answering properly; trying again");
                tokio::time::sleep(wait).await;
            }
            Err(failed) => return Err(failed.error),
        }
    }
}

/// `Retry-After` in seconds (Microsoft sends seconds, not HTTP dates), capped at a minute.
pub(crate) fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let secs: u64 = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Some(Duration::from_secs(secs.min(60)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::microsoft::Step;
    use std::sync::atomic::{AtomicU32, Ordering};

    fn unavailable() -> Failed {
        Failed {
            error: MicrosoftError::Unavailable {
                step: Step::Graph,
                status: Some(503),
            },
            retry_after: None,
        }
    }

    #[tokio::test]
    async fn a_transient_failure_is_tried_again_until_it_succeeds() {
        let calls = AtomicU32::new(0);
        let policy = RetryPolicy {
            attempts: 4,
            base_delay: Duration::from_millis(1),
            budget: Duration::from_secs(1),
        };
        let result = retrying(policy, || async {
            if calls.fetch_add(1, Ordering::SeqCst) < 2 {
                Err(unavailable())
            } else {
                Ok(7)
            }
        })
        .await;
        assert_eq!(result.unwrap(), 7);
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn a_refusal_is_not_tried_again() {
        let calls = AtomicU32::new(0);
        let result: Result<(), _> = retrying(RetryPolicy::INTERACTIVE, || async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err(Failed::from(MicrosoftError::MissingRole))
        })
        .await;
        assert!(matches!(result, Err(MicrosoftError::MissingRole)));
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_retry_after_beyond_the_budget_gives_up_at_once() {
        let calls = AtomicU32::new(0);
        let started = Instant::now();
        let result: Result<(), _> = retrying(RetryPolicy::INTERACTIVE, || async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err(Failed {
                retry_after: Some(Duration::from_secs(30)),
                ..unavailable()
            })
        })
        .await;
        assert!(matches!(result, Err(MicrosoftError::Unavailable { .. })));
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        assert!(started.elapsed() < Duration::from_secs(1));
    }

    #[test]
    fn waits_double_and_honour_the_hint() {
        let p = RetryPolicy {
            attempts: 5,
            base_delay: Duration::from_millis(100),
            budget: Duration::from_secs(60),
        };
        let now = Instant::now();
        assert_eq!(
            p.wait_before(1, now, None),
            Some(Duration::from_millis(100))
        );
        assert_eq!(
            p.wait_before(3, now, None),
            Some(Duration::from_millis(400))
        );
        assert_eq!(
            p.wait_before(1, now, Some(Duration::from_secs(2))),
            Some(Duration::from_secs(2))
        );
        assert_eq!(p.wait_before(5, now, None), None);
    }
}
