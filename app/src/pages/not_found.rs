use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    crate::ssr::set_status(404);
    view! {
        <Title text="Page not found · Traceless" />
        <section class="panel narrow">
            <h1>"Page not found"</h1>
            <p>"There is nothing at this address. Check the link, or go back to the start."</p>
            <A href="/" attr:class="button-primary">"Go to Traceless"</A>
        </section>
    }
}
