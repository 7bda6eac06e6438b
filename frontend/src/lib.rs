//! The wasm entry point: hydrates the server-rendered page.

// The crate compiled to wasm instantiates the app's whole view tree; its deeply nested Leptos
// view types overflow the compiler's default query depth (128) in release builds.
#![recursion_limit = "256"]

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(app::App);
}
