//! The wasm entry point: hydrates the server-rendered page.

// The crate compiled to wasm instantiates the app's whole view tree; its deeply nested Leptos
// view types overflow the compiler's default query depth (128) in release builds.
#![recursion_limit = "256"]

mod early_clicks;

use leptos::prelude::document;

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    let guard = early_clicks::PlainLinksUntilHydrated::install();
    // Asynchronous hydration: a lazily loaded page's wasm chunk is fetched first, then its
    // server-rendered HTML is hydrated (see `lazy_page!` in `app`).
    wasm_bindgen_futures::spawn_local(async move {
        let Some(body) = document().body() else {
            return;
        };
        leptos::mount::hydrate_from_async(body.clone(), app::App)
            .await
            .forget();
        drop(guard);
        // Tests (and curious people) can tell when the page has become interactive.
        let _ = body.set_attribute("data-hydrated", "true");
    });
}
