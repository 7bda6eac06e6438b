//! The load: Microsoft's callbacks at a steady rate, and pages that poll a status endpoint
//! every second as Microsoft's samples do.

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use reqwest::Client;
use serde_json::json;
use tokio::task::JoinSet;

use crate::prepare::{API_KEY, Verification};
use crate::streams::Tracker;

/// What one run of callbacks did.
pub struct Fired {
    pub sent: usize,
    /// Answered with anything but 200, or not answered.
    pub refused: usize,
    /// From the first callback sent to the last answered.
    pub took: Duration,
    /// Which verification each callback was about, and when it was sent.
    pub sends: Vec<(usize, Instant)>,
}

/// Sends `count` `request_retrieved` callbacks at `rate` per second, open loop (a slow
/// answer does not slow the sender), to verifications taken round-robin from `next`.
#[allow(clippy::too_many_arguments)] // one call site; a struct would only rename these
pub async fn fire(
    client: &Client,
    callback_url: &str,
    verifications: &Arc<Vec<Verification>>,
    tracker: &Arc<Tracker>,
    phase: usize,
    rate: f64,
    count: usize,
    next: &mut usize,
) -> Fired {
    let refused = Arc::new(AtomicUsize::new(0));
    let mut in_flight = JoinSet::new();
    let began = Instant::now();
    let mut sent = 0;
    let mut sends = Vec::with_capacity(count);
    let mut tick = tokio::time::interval(Duration::from_millis(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    while sent < count {
        tick.tick().await;
        let due = ((began.elapsed().as_secs_f64() * rate) as usize + 1).min(count);
        while sent < due {
            let v = *next % verifications.len();
            *next += 1;
            sent += 1;
            let verification = &verifications[v];
            // Microsoft's shape: requestId, requestStatus, state, correlationId; our api-key.
            let body = json!({
                "requestId": verification.request_id,
                "requestStatus": "request_retrieved",
                "state": verification.state,
                "correlationId": format!("bench-{phase}-{sent}"),
            });
            let request = client
                .post(callback_url)
                .header("api-key", format!("{}.{API_KEY}", verification.state))
                .json(&body);
            tracker.expect(v, phase);
            sends.push((v, Instant::now()));
            let refused = Arc::clone(&refused);
            in_flight.spawn(async move {
                match request.send().await {
                    Ok(response) if response.status().is_success() => {}
                    _ => {
                        refused.fetch_add(1, Ordering::Relaxed);
                    }
                }
            });
        }
    }
    while in_flight.join_next().await.is_some() {}
    Fired {
        sent,
        refused: refused.load(Ordering::Relaxed),
        took: began.elapsed(),
        sends,
    }
}

/// Pages that ask `/verify/{token}/status` once a second, spread evenly over the second.
pub struct Pollers {
    stop: Arc<AtomicBool>,
    /// Per verification: the newest event id a poll has shown, and when it was first seen.
    seen: Arc<Vec<(AtomicI64, Mutex<Option<Instant>>)>>,
    pub requests: Arc<AtomicU64>,
    pub failed: Arc<AtomicU64>,
    tasks: JoinSet<()>,
}

impl Pollers {
    pub fn start(base: &str, verifications: &[Verification]) -> Pollers {
        let client = Client::builder()
            .pool_max_idle_per_host(256)
            .build()
            .expect("a client");
        let stop = Arc::new(AtomicBool::new(false));
        let seen: Arc<Vec<_>> = Arc::new(
            verifications
                .iter()
                .map(|v| (AtomicI64::new(v.last_event_id), Mutex::new(None)))
                .collect(),
        );
        let requests = Arc::new(AtomicU64::new(0));
        let failed = Arc::new(AtomicU64::new(0));
        let mut tasks = JoinSet::new();
        let n = verifications.len();
        for (v, verification) in verifications.iter().enumerate() {
            let url = format!("{base}/verify/{}/status", verification.token);
            let (client, stop, seen, requests, failed) = (
                client.clone(),
                Arc::clone(&stop),
                Arc::clone(&seen),
                Arc::clone(&requests),
                Arc::clone(&failed),
            );
            let offset = Duration::from_secs_f64(v as f64 / n as f64);
            tasks.spawn(async move {
                let start = tokio::time::Instant::now() + offset;
                let mut tick = tokio::time::interval_at(start, Duration::from_secs(1));
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                while !stop.load(Ordering::Relaxed) {
                    tick.tick().await;
                    requests.fetch_add(1, Ordering::Relaxed);
                    let last = match client.get(&url).send().await {
                        Ok(r) if r.status().is_success() => r
                            .json::<serde_json::Value>()
                            .await
                            .ok()
                            .and_then(|b| b["last_event_id"].as_i64()),
                        _ => None,
                    };
                    let Some(last) = last else {
                        failed.fetch_add(1, Ordering::Relaxed);
                        continue;
                    };
                    let (newest, first_seen) = &seen[v];
                    if last > newest.swap(last, Ordering::Relaxed) {
                        *first_seen.lock().unwrap() = Some(Instant::now());
                    }
                }
            });
        }
        Pollers {
            stop,
            seen,
            requests,
            failed,
            tasks,
        }
    }

    /// When a poll first showed a newer event for verification `v` than before.
    pub fn first_seen(&self, v: usize) -> Option<Instant> {
        *self.seen[v].1.lock().unwrap()
    }

    /// Forgets what the polls have shown changing so far (they keep the newest id).
    pub fn reset(&self) {
        for (_, first_seen) in self.seen.iter() {
            *first_seen.lock().unwrap() = None;
        }
    }

    pub async fn stop(mut self) {
        self.stop.store(true, Ordering::Relaxed);
        self.tasks.abort_all();
        while self.tasks.join_next().await.is_some() {}
    }
}
