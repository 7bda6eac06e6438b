//! Live verification events: the browser's `EventSource` as a signal, closed on cleanup.
//! Only the browser connects; during server rendering the list stays empty.

use leptos::prelude::*;

use crate::model::LiveEvent;

/// Subscribes to a server-sent event stream of `status` events (data: [`LiveEvent`])
/// and collects them, oldest first, without duplicates. `None` subscribes to nothing.
/// The browser reconnects by itself after a dropped connection, sending
/// `Last-Event-ID`; after a terminal event the stream is closed for good.
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
    use wasm_bindgen::JsCast;
    use wasm_bindgen::closure::Closure;

    let Ok(source) = web_sys::EventSource::new(url) else {
        return;
    };
    let closer = source.clone();
    let on_status =
        Closure::<dyn Fn(web_sys::MessageEvent)>::new(move |message: web_sys::MessageEvent| {
            let Some(data) = message.data().as_string() else {
                return;
            };
            let Ok(event) = leptos::serde_json::from_str::<LiveEvent>(&data) else {
                return;
            };
            if event.is_terminal() {
                // The server ends the stream here; without this the browser would reconnect.
                closer.close();
            }
            set_events.try_update(|events| {
                if events.iter().all(|e| e.id != event.id) {
                    events.push(event);
                    events.sort_by_key(|e| e.id);
                }
            });
        });
    let _ = source.add_event_listener_with_callback("status", on_status.as_ref().unchecked_ref());
    // The closure must live as long as the source; both are dropped on cleanup.
    let held = SendWrapper::new((source, on_status));
    on_cleanup(move || held.0.close());
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
