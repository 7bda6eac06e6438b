//! The person's pages, as far as live updates go: one `EventSource`-like stream per
//! verification, resuming after the event the page showed. A plain HTTP/1.1 reader on a
//! socket (no client library per stream), so 10 000 of them stay cheap beside the server.
//!
//! A [`Tracker`] pairs each callback sent with the next event on its verification's stream.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::prepare::Verification;

/// What was sent and what arrived, per verification and per measurement phase.
pub struct Tracker {
    /// Callbacks sent and not yet seen on the stream: (sent at, phase).
    pending: Vec<Mutex<VecDeque<(Instant, usize)>>>,
    /// Callback → event, per phase.
    latencies: Mutex<Vec<Vec<Duration>>>,
    /// Events that arrived with an id not above the previous one (duplicates, disorder).
    pub out_of_order: AtomicU64,
    /// Events no callback of ours was waiting for.
    pub unexpected: AtomicU64,
    /// Streams whose response head arrived.
    pub open: AtomicUsize,
    /// Streams that ended or failed.
    pub ended: AtomicUsize,
}

impl Tracker {
    pub fn new(streams: usize) -> Arc<Tracker> {
        Arc::new(Tracker {
            pending: (0..streams).map(|_| Mutex::new(VecDeque::new())).collect(),
            latencies: Mutex::new(Vec::new()),
            out_of_order: AtomicU64::new(0),
            unexpected: AtomicU64::new(0),
            open: AtomicUsize::new(0),
            ended: AtomicUsize::new(0),
        })
    }

    /// A callback for verification `v` is about to be sent.
    pub fn expect(&self, v: usize, phase: usize) {
        self.pending[v]
            .lock()
            .unwrap()
            .push_back((Instant::now(), phase));
    }

    fn arrived(&self, v: usize, at: Instant) {
        let Some((sent, phase)) = self.pending[v].lock().unwrap().pop_front() else {
            self.unexpected.fetch_add(1, Ordering::Relaxed);
            return;
        };
        let mut latencies = self.latencies.lock().unwrap();
        if latencies.len() <= phase {
            latencies.resize(phase + 1, Vec::new());
        }
        latencies[phase].push(at.saturating_duration_since(sent));
    }

    /// Callbacks of `phase` whose event has not arrived (yet).
    pub fn outstanding(&self, phase: usize) -> usize {
        self.pending
            .iter()
            .map(|p| {
                p.lock()
                    .unwrap()
                    .iter()
                    .filter(|(_, ph)| *ph == phase)
                    .count()
            })
            .sum()
    }

    /// Forgets what `phase` still waits for (counted as lost by the caller).
    pub fn forget(&self, phase: usize) {
        for p in &self.pending {
            p.lock().unwrap().retain(|(_, ph)| *ph != phase);
        }
    }

    pub fn latencies(&self, phase: usize) -> Vec<Duration> {
        self.latencies
            .lock()
            .unwrap()
            .get(phase)
            .cloned()
            .unwrap_or_default()
    }

    /// Waits until `phase` has nothing outstanding or `limit` passes; returns what is left.
    pub async fn settle(&self, phase: usize, limit: Duration) -> usize {
        let began = Instant::now();
        loop {
            let left = self.outstanding(phase);
            if left == 0 || began.elapsed() >= limit {
                return left;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// Opens one stream per verification, `batch` connections at a time (the listen backlog
/// is finite), and returns once every stream has its response head.
pub async fn open_all(
    addr: SocketAddr,
    verifications: &[Verification],
    tracker: &Arc<Tracker>,
    batch: usize,
) -> anyhow::Result<()> {
    for (start, chunk) in (0..).step_by(batch).zip(verifications.chunks(batch)) {
        for (offset, verification) in chunk.iter().enumerate() {
            let tracker = Arc::clone(tracker);
            let path = format!(
                "/verify/{}/events?after={}",
                verification.token, verification.last_event_id
            );
            let v = start + offset;
            tokio::spawn(async move {
                if let Err(error) = follow(addr, &path, v, &tracker).await {
                    eprintln!("stream {v}: {error:#}");
                }
                tracker.ended.fetch_add(1, Ordering::Relaxed);
            });
        }
        let want = start + chunk.len();
        let began = Instant::now();
        while tracker.open.load(Ordering::Relaxed) + tracker.ended.load(Ordering::Relaxed) < want {
            if began.elapsed() > Duration::from_secs(30) {
                bail!("streams did not open within 30 s");
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    let ended = tracker.ended.load(Ordering::Relaxed);
    if ended > 0 {
        bail!("{ended} streams failed to open");
    }
    Ok(())
}

/// Reads one stream until it ends: each `id:` line is an event.
async fn follow(addr: SocketAddr, path: &str, v: usize, tracker: &Tracker) -> anyhow::Result<()> {
    let mut socket = TcpStream::connect(addr).await.context("connecting")?;
    socket.set_nodelay(true)?;
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nAccept: text/event-stream\r\nCache-Control: no-cache\r\n\r\n"
    );
    socket.write_all(request.as_bytes()).await?;
    let mut buffer = vec![0u8; 1024];
    let mut line = Vec::with_capacity(128);
    let mut in_head = true;
    let mut first_line = true;
    let mut last_id = 0i64;
    loop {
        let read = socket.read(&mut buffer).await?;
        if read == 0 {
            return Ok(());
        }
        let now = Instant::now();
        for &byte in &buffer[..read] {
            if byte != b'\n' {
                line.push(byte);
                continue;
            }
            let text = std::str::from_utf8(&line)
                .unwrap_or("")
                .trim_end_matches('\r');
            if in_head {
                if first_line {
                    first_line = false;
                    if !text.contains(" 200 ") {
                        bail!("the stream was refused: {text}");
                    }
                } else if text.is_empty() {
                    in_head = false;
                    tracker.open.fetch_add(1, Ordering::Relaxed);
                }
            } else if let Some(id) = text.strip_prefix("id:") {
                // Chunk-size lines of the chunked body never start with "id:".
                let id: i64 = id.trim().parse().unwrap_or(0);
                if id <= last_id {
                    tracker.out_of_order.fetch_add(1, Ordering::Relaxed);
                } else {
                    last_id = id;
                    tracker.arrived(v, now);
                }
            }
            line.clear();
        }
    }
}
