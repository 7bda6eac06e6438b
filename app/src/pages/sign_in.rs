use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::use_query_map;

use crate::api::auth::SignIn;
use crate::components::{Alert, Field, FormAlert, PasswordField, SubmitButton, field_error};

#[component]
pub fn SignInPage() -> impl IntoView {
    let action = ServerAction::<SignIn>::new();
    let value = action.value();
    let query = use_query_map();
    let signed_out = move || query.read().get("signed_out").is_some() && value.get().is_none();
    let password_reset =
        move || query.read().get("password_reset").is_some() && value.get().is_none();
    view! {
        <Title text="Sign in · Traceless" />
        <section class="panel narrow">
            <h1>"Sign in"</h1>
            <Show when=signed_out>
                <Alert kind="success">"You are signed out."</Alert>
            </Show>
            <Show when=password_reset>
                <Alert kind="success">"Your password is changed and every device was signed out. Sign in with the new password."</Alert>
            </Show>
            <FormAlert value=value />
            <ActionForm action=action attr:class="form" attr:novalidate=true>
                <Field label="Email" name="email" input_type="email" autocomplete="username" error=field_error(value, "email") />
                <PasswordField label="Password" name="password" autocomplete="current-password" error=field_error(value, "password") />
                <SubmitButton label="Sign in" busy_label="Signing in…" pending=action.pending() />
            </ActionForm>
            <p class="muted"><A href="/forgot-password">"Forgot password?"</A></p>
            <div class="sign-in-alternative">
                <p class="muted">"Does your organization use Microsoft 365 or Entra ID?"</p>
                // A plain link: the server sends the browser on to Microsoft.
                <a href="/sign-in/microsoft" rel="external" class="button-secondary" data-testid="sign-in-with-microsoft">"Sign in with Microsoft"</a>
            </div>
            <p class="muted">"New to Traceless? " <A href="/signup">"Create your organization"</A></p>
            <p class="muted">"Invited by a teammate? Open the invite link they sent you to set your password."</p>
        </section>
    }
}
