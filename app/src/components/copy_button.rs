//! A button that copies a value (an invite link) to the clipboard.

use leptos::prelude::*;

#[component]
pub fn CopyButton(
    #[prop(into)] value: String,
    #[prop(default = "Copy link")] label: &'static str,
) -> impl IntoView {
    let copied = RwSignal::new(false);
    let on_click = move |_| {
        #[cfg(feature = "hydrate")]
        {
            if let Some(window) = web_sys::window() {
                let _ = window.navigator().clipboard().write_text(&value);
                copied.set(true);
                set_timeout(move || copied.set(false), std::time::Duration::from_secs(3));
            }
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = &value;
    };
    view! {
        <button type="button" class="button-secondary" on:click=on_click>
            {move || if copied.get() { "Copied" } else { label }}
        </button>
        <span class="visually-hidden" aria-live="polite">{move || copied.get().then_some("Link copied to the clipboard")}</span>
    }
}
