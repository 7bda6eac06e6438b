//! Password pages: change it (signed in), "Forgot password?" (ask for a link), and the
//! link's page (set a new one).

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::use_params_map;

use crate::api::password::{ChangePassword, ForgotPassword, ResetPassword, reset_link_open};
use crate::components::{Alert, Field, FormAlert, PasswordField, SubmitButton, field_error};

const NEW_PASSWORD_HINT: &str =
    "At least 12 characters that are hard to guess. A few unrelated words work well.";

/// `/account/password`
#[component]
pub fn ChangePasswordPage() -> impl IntoView {
    let action = ServerAction::<ChangePassword>::new();
    let value = action.value();
    view! {
        <Title text="Change password · Traceless" />
        <p class="back"><A href="/account">"← Back to your account"</A></p>
        <section class="panel narrow">
            <h1>"Change password"</h1>
            <p class="muted">"Every other device signed in to your account is signed out; this one stays signed in."</p>
            {move || value.get().and_then(Result::ok).map(|ended| view! {
                <Alert kind="success">
                    "Your password is changed. "
                    {match ended {
                        0 => "No other device was signed in.".to_owned(),
                        1 => "1 other device was signed out.".to_owned(),
                        n => format!("{n} other devices were signed out."),
                    }}
                </Alert>
            })}
            <FormAlert value=value />
            <ActionForm action=action attr:class="form" attr:novalidate=true>
                <PasswordField label="Current password" name="current_password" autocomplete="current-password" error=field_error(value, "current_password") />
                <PasswordField label="New password" name="password" autocomplete="new-password" hint=NEW_PASSWORD_HINT error=field_error(value, "password") />
                <SubmitButton label="Change password" busy_label="Saving…" pending=action.pending() />
            </ActionForm>
            <p class="muted"><A href="/account/sessions">"See where you are signed in"</A></p>
        </section>
    }
}

/// `/forgot-password`
#[component]
pub fn ForgotPasswordPage() -> impl IntoView {
    let action = ServerAction::<ForgotPassword>::new();
    let value = action.value();
    let sent = move || matches!(value.get(), Some(Ok(())));
    view! {
        <Title text="Forgot password · Traceless" />
        <section class="panel narrow">
            <h1>"Forgot your password?"</h1>
            <Show
                when=sent
                fallback=move || view! {
                    <p class="muted">"Enter the email you sign in with. We will send you a link to choose a new password."</p>
                    <FormAlert value=value />
                    <ActionForm action=action attr:class="form" attr:novalidate=true>
                        <Field label="Email" name="email" input_type="email" autocomplete="username" error=field_error(value, "email") />
                        <SubmitButton label="Send the link" busy_label="Sending…" pending=action.pending() />
                    </ActionForm>
                }
            >
                <Alert kind="success">
                    "If an account uses that address, we sent it a link to choose a new password. "
                    "The link works once, for 30 minutes. Check your inbox, and your spam folder."
                </Alert>
            </Show>
            <p class="muted"><A href="/signin">"Back to sign in"</A></p>
        </section>
    }
}

/// `/reset-password/:token`
#[component]
pub fn ResetPasswordPage() -> impl IntoView {
    let params = use_params_map();
    let token = move || params.read().get("token").unwrap_or_default();
    let open = Resource::new(token, reset_link_open);
    let action = ServerAction::<ResetPassword>::new();
    let value = action.value();
    view! {
        <Title text="Choose a new password · Traceless" />
        <section class="panel narrow">
            <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match open.await {
                        Ok(true) => view! {
                            <h1>"Choose a new password"</h1>
                            <p class="muted">"Every device signed in to your account will be signed out. Then sign in with the new password."</p>
                            <FormAlert value=value />
                            <ActionForm action=action attr:class="form" attr:novalidate=true>
                                <input type="hidden" name="token" value=token() />
                                <PasswordField label="New password" name="password" autocomplete="new-password" hint=NEW_PASSWORD_HINT error=field_error(value, "password") />
                                <SubmitButton label="Set new password" busy_label="Saving…" pending=action.pending() />
                            </ActionForm>
                        }.into_any(),
                        Ok(false) => view! {
                            <h1>"This link can't be used"</h1>
                            <Alert kind="error">"This link to set a new password has expired or was already used. Ask for a new one."</Alert>
                            <p><A href="/forgot-password">"Ask for a new link"</A></p>
                        }.into_any(),
                        Err(error) => view! {
                            <h1>"This link can't be used"</h1>
                            <Alert kind="error">{error.to_string()}</Alert>
                        }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}
