//! How a signed-in page shows the error that stopped it loading, the same way everywhere:
//! an ended session goes to sign in, something not found gets the page's not-found panel,
//! anything else is an alert with the message.

use leptos::prelude::*;
use leptos_router::components::Redirect;

use super::Alert;
use crate::error::AppError;

#[component]
pub fn ErrorView(
    error: AppError,
    /// The heading of the not-found panel ("Ticket not found"). Without one, not found is
    /// an alert like any other error.
    #[prop(optional)]
    not_found: Option<&'static str>,
    /// The alert stands in for the page's own panel, so it gets one.
    #[prop(optional)]
    panel: bool,
) -> impl IntoView {
    match (error, not_found) {
        (AppError::Unauthenticated, _) => view! { <Redirect path="/signin" /> }.into_any(),
        (AppError::NotFound(message), Some(title)) => view! {
            <section class="panel">
                <h1>{title}</h1>
                <p>{message}</p>
            </section>
        }
        .into_any(),
        (error, _) if panel => view! {
            <div class="panel">
                <Alert kind="error">{error.to_string()}</Alert>
            </div>
        }
        .into_any(),
        (error, _) => view! { <Alert kind="error">{error.to_string()}</Alert> }.into_any(),
    }
}
