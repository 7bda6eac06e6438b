//! A verification's status as a coloured pill.

use leptos::prelude::*;

use crate::model::StatusName;

#[component]
pub fn StatusPill(
    #[prop(into)] status: Signal<StatusName>,
    #[prop(optional)] big: bool,
) -> impl IntoView {
    view! {
        <span
            class=move || format!("status-pill status-{}{}", status.get(), if big { " status-big" } else { "" })
            data-testid="status-pill"
            data-status=move || status.get().as_str()
        >
            {move || status.get().label()}
        </span>
    }
}
