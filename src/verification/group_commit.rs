//! SQLite's group commit for Microsoft's callbacks. SQLite has one writer and every commit
//! waits for the disk (`synchronous = FULL`: an answered callback is on disk, so Microsoft,
//! which does not repeat a callback we answered 200, loses nothing to a power cut). One
//! commit at a time caps callbacks at the disk's flushes per second (about 650 on the
//! benchmark's machine). So one task writes them: it takes every callback queued while the
//! previous commit was flushing (at most [`MAX_BURST`]), writes each in turn in one
//! transaction, commits once, and only then answers each. A quiet server commits bursts of
//! one, as before; a busy one shares each flush among many callbacks.
//!
//! Correctness is that of one transaction per callback: they run one after another on one
//! connection, each reading what the previous one wrote, so two callbacks of one
//! verification in one burst still end with one verdict. A refusal (`UnknownState`) writes
//! nothing and leaves the burst alone; any other failure, or a failed commit, rolls the
//! whole burst back and hands every callback back to be written on its own
//! ([`Grouped::Alone`]), where a failure is that callback's alone. A callback whose
//! connection closes while it is queued is still written with its burst (Microsoft's retry
//! of it is then recorded as a repeat, as after any answer that got lost), unless the burst
//! is handed back: nobody is left to write it alone, nothing of it was committed, and
//! Microsoft, which got no 200, sends it again.
//!
//! PostgreSQL needs none of this: its writes run in parallel, each callback locking only its
//! verification's row (docs/concurrency.md).

use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

use super::callback::{CallbackNews, Written, write_callback};
use super::errors::CallbackError;
use super::hooks::Reactions;
use crate::db::{self, Pool};

/// Callbacks in one transaction at most: bounds how long the write lock is held (page loads
/// and the expiry sweep wait for it) and how long the first of a burst waits for the last.
const MAX_BURST: usize = 128;

/// Callbacks waiting for the writer; one more waits to be queued (their bodies are bounded
/// by the callback budget already).
const QUEUE: usize = 4096;

/// The handle callbacks queue their writes through; the writer task ends when it is dropped.
pub(super) struct CallbackWriter {
    jobs: mpsc::Sender<Job>,
}

struct Job {
    news: CallbackNews,
    answer: oneshot::Sender<Answer>,
}

enum Answer {
    Written(Result<Written, CallbackError>),
    Alone(CallbackNews),
}

/// What became of a queued callback.
pub(super) enum Grouped {
    /// Committed with its burst (or refused, writing nothing).
    Written(Result<Written, CallbackError>),
    /// Not written: its burst failed, or the writer is gone. The caller writes it alone.
    Alone(CallbackNews),
}

impl CallbackWriter {
    /// Starts the writer task on `pool` (SQLite's).
    pub(super) fn spawn(pool: Pool, reactions: Arc<dyn Reactions>) -> Self {
        let (jobs, queue) = mpsc::channel(QUEUE);
        tokio::spawn(run(pool, reactions, queue));
        CallbackWriter { jobs }
    }

    /// Queues one callback and waits until its burst is committed.
    pub(super) async fn write(&self, news: CallbackNews) -> Grouped {
        let (answer, answered) = oneshot::channel();
        if let Err(mpsc::error::SendError(job)) = self.jobs.send(Job { news, answer }).await {
            return Grouped::Alone(job.news);
        }
        match answered.await {
            Ok(Answer::Written(result)) => Grouped::Written(result),
            Ok(Answer::Alone(news)) => Grouped::Alone(news),
            // The writer stopped mid-burst (a panic): nothing of the burst was committed,
            // and Microsoft retries a callback answered with a 5xx.
            Err(_) => {
                tracing::error!("the callback writer stopped before answering");
                Grouped::Written(Err(CallbackError::Internal))
            }
        }
    }
}

async fn run(pool: Pool, reactions: Arc<dyn Reactions>, mut queue: mpsc::Receiver<Job>) {
    let mut burst = Vec::with_capacity(MAX_BURST);
    while queue.recv_many(&mut burst, MAX_BURST).await > 0 {
        commit_burst(&pool, reactions.as_ref(), &mut burst).await;
    }
}

/// Writes and commits `burst`, answering each of its callbacks; leaves it empty.
async fn commit_burst(pool: &Pool, reactions: &dyn Reactions, burst: &mut Vec<Job>) {
    let mut tx = match db::begin_write(pool, db::Lock::Rows).await {
        Ok(tx) => tx,
        Err(error) => {
            tracing::warn!(%error, "beginning a burst of callbacks; writing each alone");
            return hand_back(burst);
        }
    };
    let mut results = Vec::with_capacity(burst.len());
    for job in burst.iter() {
        match write_callback(&mut tx, reactions, &job.news).await {
            // Writes may be half done: none of the burst may commit.
            Err(CallbackError::Internal) => {
                let _ = tx.rollback().await;
                return hand_back(burst);
            }
            result => results.push(result),
        }
    }
    if let Err(error) = tx.commit().await {
        tracing::warn!(%error, "committing a burst of callbacks; writing each alone");
        return hand_back(burst);
    }
    crate::observe::callback_commit();
    for (job, result) in burst.drain(..).zip(results) {
        // A caller that went away (its connection closed) needs no answer.
        let _ = job.answer.send(Answer::Written(result));
    }
}

/// Every callback of a burst that was not committed goes back to be written alone.
fn hand_back(burst: &mut Vec<Job>) {
    for Job { news, answer } in burst.drain(..) {
        let _ = answer.send(Answer::Alone(news));
    }
}
