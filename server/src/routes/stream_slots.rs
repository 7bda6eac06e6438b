//! How many live event streams are open, per client and in all. Each open stream holds a
//! connection (a file descriptor) for as long as the page stays; without a bound, one
//! link opened many times would exhaust them for every tenant. A stream takes a [`Slot`]
//! before it starts and gives it back when its body is dropped (the page left, the
//! stream ended, or the server stopped).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use traceless::capacity::CapacitySettings;
use traceless::rate_limit::ClientKey;

/// What a refused page is told to wait: streams are given back as pages close, so a few
/// seconds is a fair guess; the page adds its own back-off and spread.
pub const RETRY_AFTER: Duration = Duration::from_secs(5);

/// Who a stream is counted against.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Holder {
    /// The person's page: by client address (IPv6 by /64).
    Client(ClientKey),
    /// The agent's pages: by signed-in session, so an office behind one address is not
    /// one client.
    Session(String),
}

pub struct StreamSlots {
    per_holder: u32,
    total: u32,
    open: Mutex<Open>,
}

#[derive(Default)]
struct Open {
    total: u32,
    by_holder: HashMap<Holder, u32>,
}

/// Why a stream was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Full {
    /// This client (or session) holds its share.
    Holder,
    /// The process holds all it may.
    Everyone,
}

impl StreamSlots {
    pub fn new(settings: &CapacitySettings) -> Arc<Self> {
        Arc::new(StreamSlots {
            per_holder: settings.max_streams_per_client,
            total: settings.max_streams,
            open: Mutex::new(Open::default()),
        })
    }

    /// A slot for one more stream of `holder`, or why not.
    pub fn take(self: &Arc<Self>, holder: Holder) -> Result<Slot, Full> {
        let mut open = self.lock();
        if open.total >= self.total {
            return Err(Full::Everyone);
        }
        let held = open.by_holder.entry(holder.clone()).or_insert(0);
        if *held >= self.per_holder {
            return Err(Full::Holder);
        }
        *held += 1;
        open.total += 1;
        traceless::observe::stream_opened();
        Ok(Slot {
            slots: Arc::clone(self),
            holder: Some(holder),
        })
    }

    /// Streams open now, in all.
    #[cfg(test)]
    fn open(&self) -> u32 {
        self.lock().total
    }

    fn give_back(&self, holder: &Holder) {
        let mut open = self.lock();
        open.total = open.total.saturating_sub(1);
        traceless::observe::stream_closed();
        if let Some(held) = open.by_holder.get_mut(holder) {
            *held -= 1;
            if *held == 0 {
                // Forget holders without streams: memory follows what is open.
                open.by_holder.remove(holder);
            }
        }
    }

    fn lock(&self) -> MutexGuard<'_, Open> {
        // Every change is one short call: the counts stay consistent after a panic.
        self.open.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// One open stream's place; dropped with the stream's body.
pub struct Slot {
    slots: Arc<StreamSlots>,
    holder: Option<Holder>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        if let Some(holder) = self.holder.take() {
            self.slots.give_back(&holder);
        }
    }
}

impl IntoResponse for Full {
    /// 429 for one client's share, 503 when the whole process is full; both say when to
    /// try again. Plain text: an `EventSource` reads no body, and the page retries itself.
    fn into_response(self) -> Response {
        let (status, words) = match self {
            Full::Holder => (
                StatusCode::TOO_MANY_REQUESTS,
                "Too many live pages are open from here. Close some and this one connects by itself.",
            ),
            Full::Everyone => (
                StatusCode::SERVICE_UNAVAILABLE,
                "The server holds as many live pages as it can. This one connects by itself shortly.",
            ),
        };
        let mut response = (status, words).into_response();
        response.headers_mut().insert(
            header::RETRY_AFTER,
            HeaderValue::from(RETRY_AFTER.as_secs()),
        );
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slots(per_holder: u32, total: u32) -> Arc<StreamSlots> {
        StreamSlots::new(&CapacitySettings {
            max_streams_per_client: per_holder,
            max_streams: total,
            ..CapacitySettings::default()
        })
    }

    fn client(ip: &str) -> Holder {
        Holder::Client(ClientKey::from(ip.parse::<std::net::IpAddr>().unwrap()))
    }

    #[test]
    fn a_holder_gets_its_share_and_another_holder_is_spared() {
        let slots = slots(2, 10);
        let first = slots.take(client("192.0.2.1")).unwrap();
        let _second = slots.take(client("192.0.2.1")).unwrap();
        assert_eq!(slots.take(client("192.0.2.1")).err(), Some(Full::Holder));
        assert!(slots.take(client("192.0.2.2")).is_ok());
        assert!(slots.take(Holder::Session("s".into())).is_ok());

        drop(first);
        assert!(slots.take(client("192.0.2.1")).is_ok(), "a slot given back");
    }

    #[test]
    fn the_process_total_holds_for_everyone_and_slots_come_back() {
        let slots = slots(5, 3);
        let held: Vec<Slot> = ["192.0.2.1", "192.0.2.2", "192.0.2.3"]
            .into_iter()
            .map(|ip| slots.take(client(ip)).unwrap())
            .collect();
        assert_eq!(slots.take(client("192.0.2.4")).err(), Some(Full::Everyone));
        assert_eq!(slots.open(), 3);
        drop(held);
        assert_eq!(slots.open(), 0);
        assert!(
            slots.lock().by_holder.is_empty(),
            "nothing kept for no stream"
        );
    }
}
