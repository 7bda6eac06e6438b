//! Live verification events: the browser's `EventSource` as a signal, closed on cleanup.
//! Only the browser connects; during server rendering the list stays empty.

use leptos::prelude::*;

use crate::model::LiveEvent;

/// Subscribes to a server-sent event stream of `status` events (data: [`LiveEvent`])
/// and collects them, oldest first, without duplicates. `None` subscribes to nothing.
/// The browser reconnects by itself after a dropped connection (and after the server ends
/// a stream at its longest life), sending `Last-Event-ID`; when it gives up (an answer
/// that is not a stream: too many open, a proxy while the server restarts) the stream is
/// reopened after the last event seen (see `reconnect`). After a terminal event the
/// stream is closed for good.
pub fn use_event_stream(url: Option<String>) -> ReadSignal<Vec<LiveEvent>> {
    let (events, set_events) = signal(Vec::<LiveEvent>::new());
    #[cfg(feature = "hydrate")]
    if let Some(url) = url {
        let on_status = move |data: &str| {
            let Ok(event) = leptos::serde_json::from_str::<LiveEvent>(data) else {
                return false;
            };
            let terminal = event.is_terminal();
            set_events.try_update(|events| {
                if events.iter().all(|e| e.id != event.id) {
                    events.push(event);
                    events.sort_by_key(|e| e.id);
                }
            });
            terminal
        };
        connect(&url, "status", Box::new(on_status));
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (url, set_events);
    events
}

/// Opens the stream and keeps it (reopened as needed) until the component is cleaned up.
#[cfg(feature = "hydrate")]
fn connect(url: &str, event: &'static str, on_event: Box<dyn Fn(&str) -> bool>) {
    use send_wrapper::SendWrapper;

    let live = std::rc::Rc::new(reconnect::Live::new(url, event, on_event));
    reconnect::Live::open(&live, url);
    // The stream must live as long as the component; closed on cleanup.
    let held = SendWrapper::new(live);
    on_cleanup(move || held.stop());
}

/// One live stream, reopened when the browser gives up on it.
///
/// The browser reconnects by itself after a dropped connection (sending `Last-Event-ID`, after
/// the server's `retry:` hint), but it gives up for good on an answer that is not a stream:
/// the server's 429 or 503 when too many streams are open (with `Retry-After`), or a
/// proxy's 502 while the server restarts. `EventSource` shows none of that, so the page
/// asks with a `HEAD` of the same URL (which holds no stream open): a 429 or 503 is waited
/// out as told (plus a spread, so refused pages do not return together) for as long as it
/// lasts; a 204 (finished, nothing left), 401, 403, 404 or 410 means it is over for good; anything else is tried
/// again a few times with growing pauses. A reopened stream resumes after the last event
/// seen (`?after=`).
#[cfg(feature = "hydrate")]
mod reconnect {
    use std::cell::{Cell, RefCell};
    use std::rc::Rc;

    use wasm_bindgen::JsCast;
    use wasm_bindgen::closure::Closure;

    /// Tries after failures the server did not explain, before the page stops listening
    /// (about 3 minutes).
    const MAX_REOPENS: u32 = 10;
    const MAX_PAUSE_MS: u32 = 30_000;
    /// When a refusal names no wait.
    const DEFAULT_RETRY_AFTER_MS: u32 = 5_000;
    /// At most this much is added to each wait, at random.
    const SPREAD_MS: f64 = 3_000.0;

    type Listeners = (Closure<dyn Fn(web_sys::MessageEvent)>, Closure<dyn Fn()>);

    pub struct Live {
        /// The stream's path, without its query.
        path: String,
        /// The name of the events to handle (`status`, `entry`).
        event: &'static str,
        /// Handles one event's data; true when nothing can follow it.
        on_event: Box<dyn Fn(&str) -> bool>,
        source: RefCell<Option<(web_sys::EventSource, Listeners)>>,
        last_id: Cell<Option<i64>>,
        reopens: Cell<u32>,
        stopped: Cell<bool>,
    }

    /// What the server says about the stream when the browser gave up on it.
    enum Verdict {
        /// It may open now.
        Open,
        /// Too many open: try after this long.
        Wait(u32),
        /// Gone for good (an ended link, a signed-out session).
        Gone,
        /// No answer, or one that explains nothing.
        Unclear,
    }

    impl Live {
        pub fn new(url: &str, event: &'static str, on_event: Box<dyn Fn(&str) -> bool>) -> Self {
            Self {
                path: url.split('?').next().unwrap_or(url).to_owned(),
                event,
                on_event,
                source: RefCell::new(None),
                last_id: Cell::new(None),
                reopens: Cell::new(0),
                stopped: Cell::new(false),
            }
        }

        pub fn open(this: &Rc<Self>, url: &str) {
            let Ok(source) = web_sys::EventSource::new(url) else {
                return;
            };
            let on_message = {
                let live = Rc::downgrade(this);
                Closure::<dyn Fn(web_sys::MessageEvent)>::new(
                    move |message: web_sys::MessageEvent| {
                        if let Some(live) = live.upgrade() {
                            live.receive(message);
                        }
                    },
                )
            };
            let on_error = {
                let live = Rc::downgrade(this);
                Closure::<dyn Fn()>::new(move || {
                    if let Some(live) = live.upgrade() {
                        live.failed();
                    }
                })
            };
            let _ = source
                .add_event_listener_with_callback(this.event, on_message.as_ref().unchecked_ref());
            let _ =
                source.add_event_listener_with_callback("error", on_error.as_ref().unchecked_ref());
            // Replacing drops the previous (closed) source's listeners: never from inside them.
            *this.source.borrow_mut() = Some((source, (on_message, on_error)));
        }

        fn receive(&self, message: web_sys::MessageEvent) {
            let Some(data) = message.data().as_string() else {
                return;
            };
            self.reopens.set(0);
            if let Ok(id) = message.last_event_id().parse::<i64>() {
                self.last_id
                    .set(Some(self.last_id.get().map_or(id, |last| last.max(id))));
            }
            if (self.on_event)(&data) {
                // The server ends the stream here; without this the browser would reconnect.
                self.stop();
            }
        }

        fn failed(self: Rc<Self>) {
            let closed =
                self.source.borrow().as_ref().is_some_and(|(source, _)| {
                    source.ready_state() == web_sys::EventSource::CLOSED
                });
            if !closed || self.stopped.get() {
                return; // the browser is retrying by itself, or we are done
            }
            let url = self.url_to_reopen();
            let live = Rc::downgrade(&self);
            wasm_bindgen_futures::spawn_local(async move {
                let verdict = ask(&url).await;
                let Some(live) = live.upgrade() else { return };
                let pause = match verdict {
                    Verdict::Gone => {
                        live.stopped.set(true);
                        return;
                    }
                    Verdict::Open => 0,
                    // The server explained itself: wait as told, for as long as it lasts.
                    Verdict::Wait(ms) => ms,
                    Verdict::Unclear => {
                        let reopens = live.reopens.get();
                        if reopens >= MAX_REOPENS {
                            return;
                        }
                        live.reopens.set(reopens + 1);
                        1000u32
                            .saturating_mul(1 << reopens.min(5))
                            .min(MAX_PAUSE_MS)
                    }
                };
                let pause = pause.saturating_add((super::js::random() * SPREAD_MS) as u32);
                let again = Rc::downgrade(&live);
                gloo_timers::callback::Timeout::new(pause, move || {
                    if let Some(live) = again.upgrade()
                        && !live.stopped.get()
                    {
                        let url = live.url_to_reopen();
                        Live::open(&live, &url);
                    }
                })
                .forget();
            });
        }

        /// After the last event seen; before any arrived, the first URL (with the page's own
        /// `?after=`) still holds.
        fn url_to_reopen(&self) -> String {
            match self.last_id.get() {
                Some(id) => format!("{}?after={id}", self.path),
                None => self
                    .source
                    .borrow()
                    .as_ref()
                    .map(|(source, _)| source.url())
                    .unwrap_or_else(|| self.path.clone()),
            }
        }

        pub fn stop(&self) {
            self.stopped.set(true);
            if let Some((source, _)) = self.source.borrow().as_ref() {
                source.close();
            }
        }
    }

    /// A `HEAD` of the stream's URL: its status and `Retry-After`, without a stream.
    async fn ask(url: &str) -> Verdict {
        let Some(window) = web_sys::window() else {
            return Verdict::Unclear;
        };
        let init = web_sys::RequestInit::new();
        init.set_method("HEAD");
        let Ok(answer) =
            wasm_bindgen_futures::JsFuture::from(window.fetch_with_str_and_init(url, &init)).await
        else {
            return Verdict::Unclear;
        };
        let Ok(response) = answer.dyn_into::<web_sys::Response>() else {
            return Verdict::Unclear;
        };
        match response.status() {
            // A finished stream with nothing left: the server's way to say "stop".
            204 => Verdict::Gone,
            200..=299 => Verdict::Open,
            429 | 503 => {
                let secs = response
                    .headers()
                    .get("retry-after")
                    .ok()
                    .flatten()
                    .and_then(|v| v.trim().parse::<u32>().ok());
                Verdict::Wait(secs.map_or(DEFAULT_RETRY_AFTER_MS, |s| {
                    s.saturating_mul(1000).min(10 * MAX_PAUSE_MS)
                }))
            }
            401 | 403 | 404 | 410 => Verdict::Gone,
            _ => Verdict::Unclear,
        }
    }
}

/// Unix milliseconds from the browser's clock (`Date.now()`).
#[cfg(feature = "hydrate")]
pub fn now_ms() -> f64 {
    js::now()
}

#[cfg(feature = "hydrate")]
mod js {
    use wasm_bindgen::prelude::*;

    #[wasm_bindgen]
    extern "C" {
        #[wasm_bindgen(js_namespace = Date, js_name = now)]
        pub fn now() -> f64;

        #[wasm_bindgen(js_namespace = Math, js_name = random)]
        pub fn random() -> f64;
    }
}

/// Bumps `tick` on every `event` of the server-sent stream at `url`: a page that re-reads
/// its data on news (a ticket, whose timeline never ends) keys its resource on `tick`. The
/// stream is kept open like [`use_event_stream`]'s (reopened after refusals, resuming after
/// the last event seen); it closes on cleanup.
pub fn refresh_on_events(url: String, event: &'static str, tick: RwSignal<u32>) {
    #[cfg(feature = "hydrate")]
    connect(
        &url,
        event,
        Box::new(move |_| {
            tick.try_update(|n| *n = n.wrapping_add(1));
            false
        }),
    );
    #[cfg(not(feature = "hydrate"))]
    let _ = (url, event, tick);
}
