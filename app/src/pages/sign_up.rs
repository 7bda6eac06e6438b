use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

use crate::api::auth::SignUp;
use crate::components::{Field, FormAlert, PasswordField, SubmitButton, field_error};

#[component]
pub fn SignUpPage() -> impl IntoView {
    let action = ServerAction::<SignUp>::new();
    let value = action.value();
    view! {
        <Title text="Create your organization · Traceless" />
        <section class="panel narrow">
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
        </section>
    }
}
