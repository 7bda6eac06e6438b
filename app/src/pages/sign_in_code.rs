//! `/signin/code`: the second step of signing in, after a correct password: a code from the
//! authenticator app, or (`?recovery=1`) one of the recovery codes.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::use_query_map;

use super::two_step::CodeField;
use crate::api::two_step::SignInCode;
use crate::components::{FormAlert, SubmitButton, field_error};

#[component]
pub fn SignInCodePage() -> impl IntoView {
    let action = ServerAction::<SignInCode>::new();
    let value = action.value();
    let query = use_query_map();
    let recovery = move || query.read().get("recovery").is_some();
    view! {
        <Title text="Two-step verification · Traceless" />
        <section class="panel narrow">
            <h1>"Two-step verification"</h1>
            {move || if recovery() {
                view! { <p>"Enter one of your recovery codes. Each code works once."</p> }.into_any()
            } else {
                view! { <p>"Open your authenticator app and enter the 6-digit code it shows for Traceless."</p> }.into_any()
            }}
            <FormAlert value=value />
            <ActionForm action=action attr:class="form" attr:novalidate=true>
                {move || if recovery() {
                    view! {
                        <input type="hidden" name="recovery" value="true" />
                        <CodeField label="Recovery code" numeric=false error=field_error(value, "code") />
                    }.into_any()
                } else {
                    view! { <CodeField label="Code from the app" error=field_error(value, "code") /> }.into_any()
                }}
                <SubmitButton label="Sign in" busy_label="Checking…" pending=action.pending() />
            </ActionForm>
            {move || if recovery() {
                view! { <p><A href="/signin/code">"Use a code from the app instead"</A></p> }.into_any()
            } else {
                view! { <p><A href="/signin/code?recovery=1">"Use a recovery code instead"</A></p> }.into_any()
            }}
            <p class="muted">"Not you, or took too long? " <A href="/signin">"Sign in again"</A></p>
        </section>
    }
}
