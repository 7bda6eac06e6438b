//! We keep only what we must, and not forever: after `TRACELESS_RETENTION_DAYS` (90 by
//! default) the evidence of a verification and every copy of it are erased. What stays is
//! the record that a verification happened: its status (and failure reason), its times,
//! who asked (agent or API key), who was asked (the address) and the ticket; the event
//! history keeps its kinds and times.
//!
//! Erased, per table (see docs/operations.md, "What we keep, where, and for how long"):
//! - `verifications.evidence`: the presented credential's claims (name, email, job title,
//!   subject), the Face Check score, the alignment checks;
//! - `verification_events.message` and `ticket_entries.detail` of verified and failed
//!   events, whose text quotes the claims;
//! - `outbox_messages` bodies (a result mail quotes the claims; a link mail held the link);
//! - `webhook_deliveries.payload` (the verification resource with its evidence) and
//!   `webhook_attempts.response_excerpt` (what a receiver answered).
//!
//! The job runs at start and hourly on every instance; each statement only touches rows not
//! erased yet, and runs in a write transaction (one writer at a time on both backends),
//! so instances running it at once do the work once.

use std::future::Future;
use std::time::Duration;

use time::OffsetDateTime;

pub use crate::config::{DEFAULT_RETENTION_DAYS, RetentionSettings};
use crate::db::{self, Pool};

/// How often the job runs.
const EVERY: Duration = Duration::from_secs(3600);

/// Put in place of an erased event message or timeline detail.
pub const DETAILS_ERASED: &str = "The details were erased after the retention period.";
/// Put in place of an erased mail body.
pub const MAIL_ERASED: &str = "(This mail's text was erased after the retention period.)";

/// How many rows one run erased something in, per kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Erased {
    pub evidence: u64,
    pub event_messages: u64,
    pub timeline_details: u64,
    pub mail_bodies: u64,
    pub webhook_payloads: u64,
    pub webhook_answers: u64,
    /// Rate-limit counts whose window ended (`crate::shared_limits`): not evidence, so
    /// not in [`Erased::total`]; swept here because this job runs on every instance.
    pub limit_counts: u64,
    /// Sign-ups that never confirmed their address (`crate::accounts::email_confirmation`),
    /// removed with their organizations: housekeeping, not evidence, so not in the total.
    pub abandoned_sign_ups: u64,
}

impl Erased {
    pub fn total(&self) -> u64 {
        self.evidence
            + self.event_messages
            + self.timeline_details
            + self.mail_bodies
            + self.webhook_payloads
            + self.webhook_answers
    }
}

/// Erases what is older than the window as of `now` (a parameter so tests need not wait
/// 90 days).
pub async fn erase_expired(
    pool: &Pool,
    settings: RetentionSettings,
    now: OffsetDateTime,
) -> Result<Erased, sqlx::Error> {
    let before = now - settings.window;
    let mail_erased_html = crate::mail::compose::placeholder_html(MAIL_ERASED);
    Ok(Erased {
        evidence: run(
            pool,
            db::query(
                "UPDATE verifications SET evidence = NULL
                 WHERE created_at < $1 AND evidence IS NOT NULL",
            )
            .bind(before),
        )
        .await?,
        // The kinds whose text quotes the presented credential (`verified`: whose
        // credential it was) or may (a failure explained against the claims).
        event_messages: run(
            pool,
            db::query(
                "UPDATE verification_events SET message = $1
                 WHERE created_at < $2 AND message <> $3
                   AND (kind = 'verified' OR kind LIKE 'failed.%' OR kind LIKE 'attempt_failed.%')",
            )
            .bind(DETAILS_ERASED)
            .bind(before)
            .bind(DETAILS_ERASED),
        )
        .await?,
        timeline_details: run(
            pool,
            db::query(
                "UPDATE ticket_entries SET detail = $1
                 WHERE created_at < $2 AND detail <> $3 AND kind IN ('verified', 'failed', 'try_failed')",
            )
            .bind(DETAILS_ERASED)
            .bind(before)
            .bind(DETAILS_ERASED),
        )
        .await?,
        // A message still waiting to be sent keeps its body (none waits that long: the
        // outbox gives up within hours).
        mail_bodies: run(
            pool,
            db::query(
                "UPDATE outbox_messages SET body_text = $1, body_html = $2
                 WHERE created_at < $3 AND state <> 'pending' AND body_text <> $4",
            )
            .bind(MAIL_ERASED)
            .bind(mail_erased_html.as_str())
            .bind(before)
            .bind(MAIL_ERASED),
        )
        .await?,
        // An empty payload marks an erased delivery: it cannot be redelivered.
        webhook_payloads: run(
            pool,
            db::query(
                "UPDATE webhook_deliveries SET payload = ''
                 WHERE created_at < $1 AND state <> 'pending' AND payload <> ''",
            )
            .bind(before),
        )
        .await?,
        webhook_answers: run(
            pool,
            db::query(
                "UPDATE webhook_attempts SET response_excerpt = ''
                 WHERE attempted_at < $1 AND response_excerpt <> ''",
            )
            .bind(before),
        )
        .await?,
        limit_counts: crate::shared_limits::sweep(pool, now).await?,
        abandoned_sign_ups: {
            let mut tx = db::begin_write(pool, db::Lock::Rows).await?;
            let removed =
                crate::accounts::email_confirmation::remove_abandoned(&mut tx, now).await?;
            tx.commit().await?;
            removed
        },
    })
}

/// One statement in a write transaction of its own, short. No lock beyond its rows: an
/// instance running the same statement at once waits on each row the other holds, then
/// finds it erased (PostgreSQL re-reads the condition) and skips it.
async fn run(pool: &Pool, statement: db::Query<'_>) -> Result<u64, sqlx::Error> {
    let mut tx = db::begin_write(pool, db::Lock::Rows).await?;
    let done = statement.execute(&mut tx).await?;
    tx.commit().await?;
    Ok(done.rows_affected())
}

/// Runs [`erase_expired`] now and then every hour until `stop` completes. A failed run is
/// logged and tried again at the next hour.
pub async fn keep_erasing(pool: Pool, settings: RetentionSettings, stop: impl Future<Output = ()>) {
    let mut tick = tokio::time::interval(EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tokio::pin!(stop);
    loop {
        tokio::select! {
            () = &mut stop => return,
            _ = tick.tick() => {}
        }
        match erase_expired(&pool, settings, OffsetDateTime::now_utc()).await {
            Ok(erased) if erased.total() == 0 && erased.abandoned_sign_ups == 0 => {}
            Ok(erased) => tracing::info!(?erased, "erased data older than the retention period"),
            Err(error) => {
                tracing::warn!(%error, "erasing data older than the retention period failed; trying again in an hour")
            }
        }
    }
}
