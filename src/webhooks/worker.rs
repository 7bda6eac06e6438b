//! Sends due webhook deliveries: signed, one attempt each, recorded with its status, latency
//! and the start of the answer. A failure is retried after a wait that doubles each time
//! (up to an hour) until the retry window (a day) is over; an endpoint that has failed for
//! the whole window is disabled, with an audit entry admins see. Deliveries of one
//! verification to one endpoint go out in order: a later one waits for the earlier.
//!
//! Requests go only to the URL an admin (or an API request) gave, and only to a public
//! address ([`super::guard`]): no redirect is followed, no proxy is used.

use std::collections::HashSet;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use time::OffsetDateTime;
use tokio::task::JoinSet;
use uuid::Uuid;

use super::guard::{self, Guard};
use super::store::{self, Due};
use super::{Attempt, MAX_RETRY_WAIT, WebhookSettings, signature};
use crate::audit::{self, Action};
use crate::db::{self, Pool};

/// How many endpoints this instance sends to at once. Each endpoint gets its own turn, so
/// a slow or failing endpoint holds up only its own deliveries, never another's.
const ENDPOINTS_AT_ONCE: usize = 64;
/// The most deliveries one endpoint's turn sends before it yields its place.
const PER_TURN: usize = 32;
/// Read of an answer, at most: the rest is never read (the connection is dropped).
const ANSWER_BYTES: usize = 4096;
/// Kept of an answer, for the admin's delivery log.
pub const EXCERPT_CHARS: usize = 200;

pub struct Worker {
    pool: Pool,
    settings: WebhookSettings,
    guard: Guard,
    http: reqwest::Client,
}

/// The endpoints with a turn under way in this instance.
type Busy = Arc<Mutex<HashSet<Uuid>>>;

/// Frees an endpoint's place when its turn ends, however it ends.
struct Turn(Busy, Uuid);

impl Drop for Turn {
    fn drop(&mut self) {
        self.0.lock().expect("busy endpoints").remove(&self.1);
    }
}

impl Worker {
    pub fn new(pool: Pool, settings: WebhookSettings) -> anyhow::Result<Self> {
        let guard = settings.guard();
        let http = guard::client(&guard, settings.timeout)?;
        Ok(Worker {
            pool,
            settings,
            guard,
            http,
        })
    }

    /// How often the worker looks for due deliveries: often enough that a short first
    /// retry (in tests) is honoured, at most once a second.
    pub fn tick(&self) -> Duration {
        self.settings
            .first_retry
            .clamp(Duration::from_millis(50), Duration::from_secs(1))
    }

    /// Sends until `stop` completes. Each tick, every endpoint with due deliveries and no
    /// turn under way gets one (up to [`ENDPOINTS_AT_ONCE`]); turns run side by side and
    /// nothing waits for the slowest.
    pub async fn run(self, stop: impl Future<Output = ()>) {
        let worker = Arc::new(self);
        let busy: Busy = Arc::default();
        let mut turns = JoinSet::new();
        let mut tick = tokio::time::interval(worker.tick());
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tokio::pin!(stop);
        loop {
            tokio::select! {
                () = &mut stop => return,
                _ = tick.tick() => {}
            }
            while turns.try_join_next().is_some() {}
            if let Err(error) = worker.start_turns(&busy, &mut turns).await {
                tracing::warn!(%error, "sending webhooks: looking for due deliveries failed; trying again");
            }
        }
    }

    async fn start_turns(
        self: &Arc<Self>,
        busy: &Busy,
        turns: &mut JoinSet<()>,
    ) -> Result<(), sqlx::Error> {
        let busy_now = busy.lock().expect("busy endpoints").clone();
        let free = ENDPOINTS_AT_ONCE.saturating_sub(busy_now.len());
        if free == 0 {
            return Ok(());
        }
        let mut conn = self.pool.acquire().await?;
        // Enough rows that `free` of them are not busy, when so many are due.
        let due = store::endpoints_with_due(
            &mut conn,
            OffsetDateTime::now_utc(),
            (busy_now.len() + free) as i64,
        )
        .await?;
        drop(conn);
        for endpoint in due.into_iter().filter(|e| !busy_now.contains(e)).take(free) {
            busy.lock().expect("busy endpoints").insert(endpoint);
            let turn = Turn(busy.clone(), endpoint);
            let worker = self.clone();
            turns.spawn(async move {
                let _turn = turn;
                if let Err(error) = worker.turn(endpoint).await {
                    tracing::warn!(%error, %endpoint, "sending webhooks: a turn failed; trying again");
                }
            });
        }
        Ok(())
    }

    /// One endpoint's turn: its due deliveries one after another, until none is left,
    /// [`PER_TURN`] were sent, or one failed (the endpoint's next ones wait for its retry
    /// rather than each taking the full deadline). Returns how many were attempted.
    pub async fn turn(&self, endpoint: Uuid) -> Result<usize, sqlx::Error> {
        let mut attempted = 0;
        while attempted < PER_TURN {
            let now = OffsetDateTime::now_utc();
            let lease = now + self.settings.timeout + Duration::from_secs(30);
            // Claimed and committed before it is sent: other instances skip it until the
            // lease runs out, and no row stays locked while the endpoint answers.
            let mut tx = db::begin_claim(&self.pool).await?;
            let claimed = store::claim_due(&mut tx, endpoint, now, lease).await?;
            tx.commit().await?;
            let Some(delivery) = claimed else {
                break;
            };
            let attempt = send(&self.http, &self.guard, self.settings.timeout, &delivery).await;
            attempted += 1;
            let succeeded = self.record(&delivery, &attempt).await?;
            if !succeeded {
                break;
            }
        }
        Ok(attempted)
    }

    /// Stores the attempt and what follows from it; true when it was a success.
    async fn record(&self, due: &Due, attempt: &Attempt) -> Result<bool, sqlx::Error> {
        let now = OffsetDateTime::now_utc();
        let succeeded = attempt.status_code.is_some_and(|s| (200..300).contains(&s));
        crate::observe::delivery_attempt(crate::observe::Queue::Webhook, succeeded);
        // The claimed delivery's row, and the endpoint's through its guarded updates.
        let mut tx = db::begin_write(&self.pool, db::Lock::Rows).await?;
        store::insert_attempt(&mut tx, due, attempt).await?;
        if succeeded {
            store::mark_delivered(&mut tx, due, now).await?;
            tx.commit().await?;
            tracing::info!(delivery = %due.id, event = %due.event_type, "webhook delivered");
            return Ok(true);
        }
        let wait = backoff(self.settings.first_retry, due.attempts);
        // The last try is at the end of the window, not a wait short of it.
        let deadline = due.retry_from + self.settings.retry_window;
        let retry_at = (now < deadline).then(|| (now + wait).min(deadline));
        let failing_since =
            store::mark_failed(&mut tx, due, attempt.attempted_at, retry_at).await?;
        // Expected when a receiver is down: a warning, not an error of ours.
        tracing::warn!(
            delivery = %due.id,
            event = %due.event_type,
            status = ?attempt.status_code,
            retry_in = ?retry_at.map(|_| wait),
            "webhook endpoint did not accept a delivery"
        );
        // A day of failures: either counted on the endpoint, or a delivery given up after
        // its whole window without one success of the endpoint meanwhile.
        let gave_up = retry_at.is_none()
            && store::first_attempt_since(&mut tx, due.id, due.retry_from)
                .await?
                .is_some_and(|first| failing_since <= first);
        if gave_up || now - failing_since >= self.settings.retry_window {
            let reason = format!(
                "Every delivery failed since {} UTC; the last answer: {}",
                failing_since
                    .format(&time::format_description::well_known::Rfc3339)
                    .unwrap_or_default(),
                match attempt.status_code {
                    Some(code) => format!("HTTP {code}"),
                    None => attempt.response_excerpt.clone(),
                }
            );
            if store::disable_endpoint(&mut tx, due.endpoint_id, now, &reason).await? {
                audit::record(
                    &mut tx,
                    due.organization_id,
                    None,
                    Action::WebhookEndpointDisabled,
                    &format!("{}: {reason}", due.url),
                )
                .await?;
                tracing::warn!(endpoint = %due.endpoint_id, "disabled a webhook endpoint after a day of failures");
            }
        }
        tx.commit().await?;
        Ok(false)
    }
}

/// The wait after the `attempts_before + 1`-th failure: `first`, doubling, at most an hour.
pub fn backoff(first: Duration, attempts_before: u32) -> Duration {
    let factor = 1u32
        .checked_shl(attempts_before.min(20))
        .unwrap_or(u32::MAX);
    first.saturating_mul(factor).min(MAX_RETRY_WAIT)
}

/// One attempt, within `timeout` from connecting to the answer's last byte read. Only the
/// first [`ANSWER_BYTES`] of the answer are read.
async fn send(http: &reqwest::Client, guard: &Guard, timeout: Duration, due: &Due) -> Attempt {
    let attempted_at = OffsetDateTime::now_utc();
    let started = Instant::now();
    let deadline = tokio::time::Instant::now() + timeout;
    let (status_code, response_excerpt) = match guard.before_sending(&due.url) {
        Err(reason) => (None, excerpt(&reason)),
        Ok(()) => {
            let signed = signature::sign(
                &due.secret,
                attempted_at.unix_timestamp(),
                due.payload.as_bytes(),
            );
            let request = http
                .post(&due.url)
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .header(signature::HEADER, signed)
                .header("Traceless-Event-Id", &due.event_id)
                .header("Traceless-Event-Type", &due.event_type)
                .body(due.payload.clone())
                .send();
            match tokio::time::timeout_at(deadline, request).await {
                Err(_) => (None, TIMED_OUT.to_owned()),
                Ok(Err(error)) => (None, excerpt(&describe(&error))),
                Ok(Ok(response)) => {
                    let status = response.status().as_u16();
                    let mut start = Vec::new();
                    // An answer still coming at the deadline: its status counts, with what
                    // of it arrived.
                    let _ = tokio::time::timeout_at(
                        deadline,
                        read_start(response, &mut start, ANSWER_BYTES),
                    )
                    .await;
                    (Some(status), excerpt(&String::from_utf8_lossy(&start)))
                }
            }
        }
    };
    Attempt {
        delivery_id: due.id,
        attempted_at,
        status_code,
        latency_ms: started.elapsed().as_millis() as u64,
        response_excerpt,
    }
}

const TIMED_OUT: &str = "No answer in time (timed out)";

/// Reads the answer into `kept` until `limit` bytes (or its end); the rest is never read:
/// the response, and with it the connection, is dropped.
async fn read_start(mut response: reqwest::Response, kept: &mut Vec<u8>, limit: usize) {
    while kept.len() < limit {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                let take = chunk.len().min(limit - kept.len());
                kept.extend_from_slice(&chunk[..take]);
            }
            Ok(None) | Err(_) => return,
        }
    }
}

fn describe(error: &reqwest::Error) -> String {
    if let Some(blocked) = guard::blocked_in(error) {
        blocked.to_string()
    } else if error.is_timeout() {
        TIMED_OUT.into()
    } else if error.is_connect() {
        "Could not connect to the endpoint".into()
    } else {
        format!("The request failed: {error}")
    }
}

fn excerpt(text: &str) -> String {
    text.chars().take(EXCERPT_CHARS).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_double_up_to_an_hour() {
        let first = Duration::from_secs(30);
        assert_eq!(backoff(first, 0), Duration::from_secs(30));
        assert_eq!(backoff(first, 1), Duration::from_secs(60));
        assert_eq!(backoff(first, 3), Duration::from_secs(240));
        assert_eq!(backoff(first, 10), MAX_RETRY_WAIT);
        assert_eq!(backoff(first, 400), MAX_RETRY_WAIT);
    }
}
