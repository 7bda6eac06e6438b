//! Sends due webhook deliveries: signed, one attempt each, recorded with its status, latency
//! and the start of the answer. A failure is retried after a wait that doubles each time
//! (up to an hour) until the retry window (a day) is over; an endpoint that has failed for
//! the whole window is disabled, with an audit entry admins see. Deliveries of one
//! verification to one endpoint go out in order: a later one waits for the earlier.
//!
//! Requests go only to the URL an admin (or an API request) gave: no redirect is followed.

use std::future::Future;
use std::time::{Duration, Instant};

use time::OffsetDateTime;

use super::store::{self, Due};
use super::{Attempt, MAX_RETRY_WAIT, WebhookSettings, signature};
use crate::audit::{self, Action};
use crate::db::{self, Pool};

/// How many deliveries one round takes.
const BATCH: i64 = 32;
/// Kept of an answer, for the admin's delivery log.
const EXCERPT_CHARS: usize = 500;

pub struct Worker {
    pool: Pool,
    settings: WebhookSettings,
    http: reqwest::Client,
}

impl Worker {
    pub fn new(pool: Pool, settings: WebhookSettings) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(settings.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent("Traceless-Webhooks/1")
            .build()?;
        Ok(Worker {
            pool,
            settings,
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

    /// Runs rounds until `stop` completes.
    pub async fn run(self, stop: impl Future<Output = ()>) {
        let mut tick = tokio::time::interval(self.tick());
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tokio::pin!(stop);
        loop {
            tokio::select! {
                () = &mut stop => return,
                _ = tick.tick() => {}
            }
            if let Err(error) = self.round().await {
                tracing::warn!(%error, "sending webhooks: a round failed; trying again");
            }
        }
    }

    /// One round: every due delivery, at once. Returns how many were attempted.
    pub async fn round(&self) -> Result<usize, sqlx::Error> {
        let now = OffsetDateTime::now_utc();
        let lease = now + self.settings.timeout + Duration::from_secs(30);
        // Claimed and committed before any is sent: other instances skip these until the
        // lease runs out, and no row stays locked while the endpoints answer.
        let mut tx = db::begin_claim(&self.pool).await?;
        let claimed = store::claim_due(&mut tx, now, lease, BATCH).await?;
        tx.commit().await?;
        if claimed.is_empty() {
            return Ok(0);
        }
        let count = claimed.len();
        let mut sending = tokio::task::JoinSet::new();
        for delivery in claimed {
            let http = self.http.clone();
            sending.spawn(async move {
                let attempt = send(&http, &delivery).await;
                (delivery, attempt)
            });
        }
        while let Some(sent) = sending.join_next().await {
            let Ok((delivery, attempt)) = sent else {
                continue;
            };
            self.record(&delivery, &attempt).await?;
        }
        Ok(count)
    }

    async fn record(&self, due: &Due, attempt: &Attempt) -> Result<(), sqlx::Error> {
        let now = OffsetDateTime::now_utc();
        let succeeded = attempt.status_code.is_some_and(|s| (200..300).contains(&s));
        let mut tx = db::begin_write(&self.pool).await?;
        store::insert_attempt(&mut tx, due, attempt).await?;
        if succeeded {
            store::mark_delivered(&mut tx, due, now).await?;
            tx.commit().await?;
            tracing::info!(delivery = %due.id, event = %due.event_type, "webhook delivered");
            return Ok(());
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
        tx.commit().await
    }
}

/// The wait after the `attempts_before + 1`-th failure: `first`, doubling, at most an hour.
pub fn backoff(first: Duration, attempts_before: u32) -> Duration {
    let factor = 1u32
        .checked_shl(attempts_before.min(20))
        .unwrap_or(u32::MAX);
    first.saturating_mul(factor).min(MAX_RETRY_WAIT)
}

async fn send(http: &reqwest::Client, due: &Due) -> Attempt {
    let attempted_at = OffsetDateTime::now_utc();
    let started = Instant::now();
    let signed = signature::sign(
        &due.secret,
        attempted_at.unix_timestamp(),
        due.payload.as_bytes(),
    );
    let result = http
        .post(&due.url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(signature::HEADER, signed)
        .header("Traceless-Event-Id", &due.event_id)
        .header("Traceless-Event-Type", &due.event_type)
        .body(due.payload.clone())
        .send()
        .await;
    let (status_code, response_excerpt) = match result {
        Ok(response) => {
            let status = response.status().as_u16();
            let body = response.text().await.unwrap_or_default();
            (Some(status), excerpt(&body))
        }
        Err(error) => (None, excerpt(&describe(&error))),
    };
    Attempt {
        delivery_id: due.id,
        attempted_at,
        status_code,
        latency_ms: started.elapsed().as_millis() as u64,
        response_excerpt,
    }
}

fn describe(error: &reqwest::Error) -> String {
    if error.is_timeout() {
        "No answer in time (timed out)".into()
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
