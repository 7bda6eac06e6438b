//! Live verification events: the browser's `EventSource` as a signal, closed on cleanup.
//! Only the browser connects; during server rendering the list stays empty.

use leptos::prelude::*;

use crate::model::LiveEvent;

/// Subscribes to a server-sent event stream of `status` events (data: [`LiveEvent`])
/// and collects them, oldest first, without duplicates. `None` subscribes to nothing.
/// The browser reconnects by itself after a dropped connection, sending
/// `Last-Event-ID`; when it gives up (an answer that is not a stream, as from a proxy
/// while the server restarts) a new stream is opened after the last event seen. After a
/// terminal event the stream is closed for good.
pub fn use_event_stream(url: Option<String>) -> ReadSignal<Vec<LiveEvent>> {
    let (events, set_events) = signal(Vec::<LiveEvent>::new());
    #[cfg(feature = "hydrate")]
    if let Some(url) = url {
        connect(&url, set_events);
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (url, set_events);
    events
}

#[cfg(feature = "hydrate")]
fn connect(url: &str, set_events: WriteSignal<Vec<LiveEvent>>) {
    use send_wrapper::SendWrapper;

    let live = std::rc::Rc::new(reconnect::Live::new(url, set_events));
    reconnect::Live::open(&live, url);
    // The stream must live as long as the component; closed on cleanup.
    let held = SendWrapper::new(live);
    on_cleanup(move || held.stop());
}

/// One live stream, reopened when the browser gives up on it.
///
/// The browser reconnects by itself after a dropped connection (sending `Last-Event-ID`, after
/// the server's `retry:` hint), but it gives up for good on an answer that is not a stream:
/// a proxy's 502 while the server restarts, say. Then a new stream is opened after a pause,
/// resuming after the last event seen (`?after=`), a few times with growing pauses.
#[cfg(feature = "hydrate")]
mod reconnect {
    use std::cell::{Cell, RefCell};
    use std::rc::{Rc, Weak};

    use leptos::prelude::*;
    use wasm_bindgen::JsCast;
    use wasm_bindgen::closure::Closure;

    use crate::model::LiveEvent;

    /// Tries after the browser gave up, before the page stops listening (about 3 minutes).
    const MAX_REOPENS: u32 = 10;
    const MAX_PAUSE_MS: u32 = 30_000;

    type Listeners = (Closure<dyn Fn(web_sys::MessageEvent)>, Closure<dyn Fn()>);

    pub struct Live {
        /// The stream's path, without its query.
        path: String,
        set_events: WriteSignal<Vec<LiveEvent>>,
        source: RefCell<Option<(web_sys::EventSource, Listeners)>>,
        last_id: Cell<Option<i64>>,
        reopens: Cell<u32>,
        stopped: Cell<bool>,
    }

    impl Live {
        pub fn new(url: &str, set_events: WriteSignal<Vec<LiveEvent>>) -> Self {
            Self {
                path: url.split('?').next().unwrap_or(url).to_owned(),
                set_events,
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
            let on_status = {
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
                .add_event_listener_with_callback("status", on_status.as_ref().unchecked_ref());
            let _ =
                source.add_event_listener_with_callback("error", on_error.as_ref().unchecked_ref());
            // Replacing drops the previous (closed) source's listeners: never from inside them.
            *this.source.borrow_mut() = Some((source, (on_status, on_error)));
        }

        fn receive(&self, message: web_sys::MessageEvent) {
            let Some(data) = message.data().as_string() else {
                return;
            };
            let Ok(event) = leptos::serde_json::from_str::<LiveEvent>(&data) else {
                return;
            };
            self.reopens.set(0);
            self.last_id.set(Some(
                self.last_id.get().map_or(event.id, |id| id.max(event.id)),
            ));
            if event.is_terminal() {
                // The server ends the stream here; without this the browser would reconnect.
                self.stop();
            }
            self.set_events.try_update(|events| {
                if events.iter().all(|e| e.id != event.id) {
                    events.push(event);
                    events.sort_by_key(|e| e.id);
                }
            });
        }

        fn failed(self: Rc<Self>) {
            let closed =
                self.source.borrow().as_ref().is_some_and(|(source, _)| {
                    source.ready_state() == web_sys::EventSource::CLOSED
                });
            let reopens = self.reopens.get();
            if !closed || self.stopped.get() || reopens >= MAX_REOPENS {
                return; // the browser is retrying by itself, or we are done
            }
            self.reopens.set(reopens + 1);
            let pause = 1000u32
                .saturating_mul(1 << reopens.min(5))
                .min(MAX_PAUSE_MS);
            let live: Weak<Self> = Rc::downgrade(&self);
            gloo_timers::callback::Timeout::new(pause, move || {
                if let Some(live) = live.upgrade()
                    && !live.stopped.get()
                {
                    let url = match live.last_id.get() {
                        Some(id) => format!("{}?after={id}", live.path),
                        None => live.url_as_first_opened(),
                    };
                    Live::open(&live, &url);
                }
            })
            .forget();
        }

        /// Before any event arrived, the first URL (with the page's own `?after=`) still holds.
        fn url_as_first_opened(&self) -> String {
            self.source
                .borrow()
                .as_ref()
                .map(|(source, _)| source.url())
                .unwrap_or_else(|| self.path.clone())
        }

        pub fn stop(&self) {
            self.stopped.set(true);
            if let Some((source, _)) = self.source.borrow().as_ref() {
                source.close();
            }
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
    }
}

/// Bumps `tick` on every `event` of the server-sent stream at `url`: a page that re-reads
/// its data on news (a ticket, whose timeline never ends) keys its resource on `tick`. The
/// browser reconnects by itself, sending `Last-Event-ID`; the stream closes on cleanup.
pub fn refresh_on_events(url: String, event: &'static str, tick: RwSignal<u32>) {
    #[cfg(feature = "hydrate")]
    {
        use send_wrapper::SendWrapper;
        use wasm_bindgen::JsCast;
        use wasm_bindgen::closure::Closure;

        if let Ok(source) = web_sys::EventSource::new(&url) {
            let on_event = Closure::<dyn Fn(web_sys::MessageEvent)>::new(move |_| {
                tick.try_update(|n| *n = n.wrapping_add(1));
            });
            let _ =
                source.add_event_listener_with_callback(event, on_event.as_ref().unchecked_ref());
            let held = SendWrapper::new((source, on_event));
            on_cleanup(move || held.0.close());
        }
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (url, event, tick);
}
