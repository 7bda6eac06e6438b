//! `/signup`: create an organization. The answer is always "We sent a link to …": whether
//! the address already had an account is told only to its owner, by mail.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

use crate::api::email_ownership::SignUp;
use crate::components::{
    Alert, Field, FormAlert, PasswordField, ResendConfirmation, SubmitButton, field_error,
};

#[component]
pub fn SignUpPage() -> impl IntoView {
    let action = ServerAction::<SignUp>::new();
    let value = action.value();
    let sent_to = move || value.get().and_then(Result::ok);
    view! {
        <Title text="Create your organization · Traceless" />
        <section class="panel narrow">
            <Show
                when=move || sent_to().is_some()
                fallback=move || view! {
                    <h1>"Create your organization"</h1>
                    <p class="muted">"You will be its first organization administrator. You can add teammates afterwards."</p>
                    <FormAlert value=value />
                    <ActionForm action=action attr:class="form" attr:novalidate=true>
                        <Field label="Organization name" name="organization" autocomplete="organization" error=field_error(value, "organization") />
                        <Field label="Your name" name="name" autocomplete="name" error=field_error(value, "name") />
                        <Field label="Work email" name="email" input_type="email" autocomplete="email" error=field_error(value, "email") />
                        <PasswordField
                            label="Password"
                            name="password"
                            autocomplete="new-password"
                            hint="At least 12 characters. A few unrelated words work well."
                            error=field_error(value, "password")
                        />
                        <SubmitButton label="Create organization" busy_label="Creating…" pending=action.pending() />
                    </ActionForm>
                    <p class="muted">"Already have an account? " <A href="/signin">"Sign in"</A></p>
                }
            >
                <h1>"Check your email"</h1>
                <Alert kind="success">
                    "We sent a link to " <strong>{sent_to}</strong> ". Open it to confirm your address."
                </Alert>
                <p>
                    "You can sign in now, but you can use your organization only once your address is confirmed. "
                    "The link works for 24 hours."
                </p>
                <p class="muted">
                    "No mail after a few minutes? Check your spam folder, and that the address is right. "
                    "Then send the link again:"
                </p>
                <ResendConfirmation email=Signal::derive(move || sent_to().unwrap_or_default()) />
                <p><A href="/signin">"Sign in"</A></p>
            </Show>
        </section>
    }
}
