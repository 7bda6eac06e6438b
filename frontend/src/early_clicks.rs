//! Links clicked while the page is still hydrating are plain browser navigations.
//!
//! Hydration is asynchronous: the router starts listening for link clicks at once, then waits for
//! the page's wasm chunk. A click in that window (a quick user on a slow phone, or a test) made the
//! router navigate inside the page while the old page's HTML was still being hydrated, and the
//! hydration panicked ("entered unreachable code" in tachys) and left a dead page. Until hydration
//! ends, a capturing listener on the window keeps link clicks from the router, so the browser
//! simply loads the link, as it would on a page without wasm.

use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;
use web_sys::{AddEventListenerOptions, Element, Event};

/// Removes its listener when dropped (hydration is over).
pub struct PlainLinksUntilHydrated {
    listener: Option<Closure<dyn FnMut(Event)>>,
}

impl PlainLinksUntilHydrated {
    pub fn install() -> Self {
        let listener = Closure::<dyn FnMut(Event)>::new(|event: Event| {
            let on_link = event
                .target()
                .and_then(|target| target.dyn_into::<Element>().ok())
                .and_then(|element| element.closest("a[href]").ok().flatten())
                .is_some();
            if on_link {
                // Only propagation stops: the browser's own navigation still happens.
                event.stop_propagation();
            }
        });
        let options = AddEventListenerOptions::new();
        options.set_capture(true);
        let added = web_sys::window().is_some_and(|window| {
            window
                .add_event_listener_with_callback_and_add_event_listener_options(
                    "click",
                    listener.as_ref().unchecked_ref(),
                    &options,
                )
                .is_ok()
        });
        Self {
            listener: added.then_some(listener),
        }
    }
}

impl Drop for PlainLinksUntilHydrated {
    fn drop(&mut self) {
        let (Some(listener), Some(window)) = (self.listener.take(), web_sys::window()) else {
            return;
        };
        let _ = window.remove_event_listener_with_callback_and_bool(
            "click",
            listener.as_ref().unchecked_ref(),
            true,
        );
    }
}
