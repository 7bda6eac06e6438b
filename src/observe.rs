//! What operators watch: every metric's name, labels and meaning in one place, recorded
//! through the `metrics` facade. Recording costs nothing until a recorder is installed (the
//! server installs the Prometheus one when `TRACELESS_METRICS_ADDR` is set); the names are
//! the contract a dashboard reads, listed in `docs/operations.md`.

use std::time::Duration;

/// Event streams open now (gauge).
pub const OPEN_STREAMS: &str = "traceless_open_streams";
/// Microsoft's callbacks by what became of them (counter; label `outcome`).
pub const CALLBACKS: &str = "traceless_callbacks_total";
/// From a callback's arrival to its event committed and announced (histogram, seconds).
pub const CALLBACK_TO_EVENT: &str = "traceless_callback_to_event_seconds";
/// SQLite's group commit: transactions that committed a burst of callbacks (counter;
/// callbacks accepted per commit = `traceless_callbacks_total{outcome="accepted"}` / this).
pub const CALLBACK_COMMITS: &str = "traceless_callback_commits_total";
/// Calls to Microsoft by endpoint and result (counter; labels `endpoint`, `result`).
pub const MICROSOFT_CALLS: &str = "traceless_microsoft_calls_total";
/// Their latency (histogram, seconds; label `endpoint`).
pub const MICROSOFT_CALL_SECONDS: &str = "traceless_microsoft_call_seconds";
/// Mail and webhook deliveries tried (counter; labels `queue` = mail|webhook, `result`).
pub const DELIVERY_ATTEMPTS: &str = "traceless_delivery_attempts_total";
/// Mail and webhook deliveries waiting (gauge, read from the database at each scrape;
/// label `queue`).
pub const BACKLOG: &str = "traceless_backlog";
/// Requests refused by a rate limit (counter; label `door`).
pub const RATE_LIMITED: &str = "traceless_rate_limited_total";
/// Time spent waiting for a pooled database connection (histogram, seconds).
pub const DB_POOL_WAIT: &str = "traceless_db_pool_wait_seconds";
/// The pool's connections, open and idle (gauges, read at each scrape; label `state`).
pub const DB_POOL_CONNECTIONS: &str = "traceless_db_pool_connections";

/// What became of one callback from Microsoft.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallbackOutcome {
    /// Stored as an event: it moved the verification, or was recorded as late or repeated.
    Accepted,
    /// Not ours or not well-formed (wrong key, unknown request, bad or oversized body).
    Refused,
    /// Told to come back later: too many callback bytes in flight.
    Busy,
    /// Our fault: answered with an error, and Microsoft retries.
    Failed,
}

impl CallbackOutcome {
    fn label(self) -> &'static str {
        match self {
            CallbackOutcome::Accepted => "accepted",
            CallbackOutcome::Refused => "refused",
            CallbackOutcome::Busy => "busy",
            CallbackOutcome::Failed => "failed",
        }
    }
}

/// One callback answered, `took` after it arrived (for an accepted one: its event committed
/// and announced to the open pages).
pub fn callback(outcome: CallbackOutcome, took: Duration) {
    metrics::counter!(CALLBACKS, "outcome" => outcome.label()).increment(1);
    if outcome == CallbackOutcome::Accepted {
        metrics::histogram!(CALLBACK_TO_EVENT).record(took.as_secs_f64());
    }
}

/// One call to Microsoft: `endpoint` is a fixed name (never a URL with ids in it), `ok`
/// whether it answered with success.
/// One burst of callbacks committed by SQLite's group writer.
pub fn callback_commit() {
    metrics::counter!(CALLBACK_COMMITS).increment(1);
}

pub fn microsoft_call(endpoint: &'static str, ok: bool, took: Duration) {
    let result = if ok { "ok" } else { "error" };
    metrics::counter!(MICROSOFT_CALLS, "endpoint" => endpoint, "result" => result).increment(1);
    metrics::histogram!(MICROSOFT_CALL_SECONDS, "endpoint" => endpoint).record(took.as_secs_f64());
}

/// Which queue a delivery belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Queue {
    Mail,
    Webhook,
}

impl Queue {
    pub fn label(self) -> &'static str {
        match self {
            Queue::Mail => "mail",
            Queue::Webhook => "webhook",
        }
    }
}

pub fn delivery_attempt(queue: Queue, delivered: bool) {
    let result = if delivered { "delivered" } else { "failed" };
    metrics::counter!(DELIVERY_ATTEMPTS, "queue" => queue.label(), "result" => result).increment(1);
}

pub fn backlog(queue: Queue, waiting: i64) {
    metrics::gauge!(BACKLOG, "queue" => queue.label()).set(waiting as f64);
}

/// A refusal by the rate limit of `door` (a fixed name: "sign_in_per_ip", "api_per_key"…).
pub fn rate_limited(door: &'static str) {
    metrics::counter!(RATE_LIMITED, "door" => door).increment(1);
}

pub fn pool_wait(took: Duration) {
    metrics::histogram!(DB_POOL_WAIT).record(took.as_secs_f64());
}

pub fn pool_connections(open: u32, idle: usize) {
    metrics::gauge!(DB_POOL_CONNECTIONS, "state" => "open").set(f64::from(open));
    metrics::gauge!(DB_POOL_CONNECTIONS, "state" => "idle").set(idle as f64);
}

/// Counted up and down rather than set: every instance in one process (the tests') adds
/// its own.
pub fn stream_opened() {
    metrics::gauge!(OPEN_STREAMS).increment(1.0);
}

pub fn stream_closed() {
    metrics::gauge!(OPEN_STREAMS).decrement(1.0);
}
