//! `/confirm-email/:token`: the link in the sign-up mail. Opening it confirms nothing by itself
//! (mail scanners open links too): the person presses "Confirm my address". It signs no one in.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::use_params_map;

use crate::api::email_ownership::{ConfirmEmail, confirmation_link_open};
use crate::components::{Alert, FormAlert, SubmitButton};

#[component]
pub fn ConfirmEmailPage() -> impl IntoView {
    let params = use_params_map();
    let token = move || params.read().get("token").unwrap_or_default();
    let open = Resource::new(token, confirmation_link_open);
    let action = ServerAction::<ConfirmEmail>::new();
    let value = action.value();
    let confirmed = move || matches!(value.get(), Some(Ok(())));
    view! {
        <Title text="Confirm your email address · Traceless" />
        <section class="panel narrow">
            <Show
                when=confirmed
                fallback=move || view! {
                    <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
                        {move || Suspend::new(async move {
                            match open.await {
                                Ok(true) => view! {
                                    <h1>"Confirm your email address"</h1>
                                    <p>"Confirm that this address is yours to start using your organization in Traceless."</p>
                                    <FormAlert value=value />
                                    <ActionForm action=action attr:class="form">
                                        <input type="hidden" name="token" value=token() />
                                        <SubmitButton label="Confirm my address" busy_label="Confirming…" pending=action.pending() />
                                    </ActionForm>
                                    <p class="muted small">"If you did not sign up for Traceless, close this page: nothing happens."</p>
                                }.into_any(),
                                Ok(false) => view! {
                                    <h1>"This link can't be used"</h1>
                                    <Alert kind="error">
                                        "This confirmation link has expired or was already used. "
                                        "If your address is not confirmed yet, sign in and choose “Send the link again”."
                                    </Alert>
                                    <p><A href="/signin">"Go to sign in"</A></p>
                                }.into_any(),
                                Err(error) => view! {
                                    <h1>"This link can't be used"</h1>
                                    <Alert kind="error">{error.to_string()}</Alert>
                                }.into_any(),
                            }
                        })}
                    </Suspense>
                }
            >
                <h1>"Your address is confirmed"</h1>
                <Alert kind="success">"Thank you. Your organization in Traceless is ready to use."</Alert>
                // A full page load: the header and its banner are read afresh.
                <p><a href="/organization" rel="external" class="button-primary">"Go to your organization"</a></p>
                <p class="muted small">"Not signed in on this device? You will be asked to sign in first."</p>
            </Show>
        </section>
    }
}
