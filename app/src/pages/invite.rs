use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::use_params_map;

use crate::api::invite::{AcceptInvite, invite_details};
use crate::components::{Alert, Field, FormAlert, PasswordField, SubmitButton, field_error};

#[component]
pub fn InvitePage() -> impl IntoView {
    let params = use_params_map();
    let token = move || params.read().get("token").unwrap_or_default();
    let details = Resource::new(token, invite_details);
    let action = ServerAction::<AcceptInvite>::new();
    let value = action.value();
    view! {
        <Title text="Join your team · Traceless" />
        <section class="panel narrow">
            <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match details.await {
                        Ok(invite) => view! {
                            <h1>"Join " {invite.organization.clone()} " on Traceless"</h1>
                            <p class="muted">
                                "You were added as " <strong>{invite.role.label()}</strong>
                                ". Choose a password to finish setting up your account."
                            </p>
                            <FormAlert value=value />
                            <ActionForm action=action attr:class="form" attr:novalidate=true>
                                <input type="hidden" name="token" value=token() />
                                <Field label="Email" name="email_display" value=invite.email.clone() readonly=true autocomplete="username" />
                                <PasswordField
                                    label="Choose a password"
                                    name="password"
                                    autocomplete="new-password"
                                    hint="At least 12 characters. A few unrelated words work well."
                                    error=field_error(value, "password")
                                />
                                <SubmitButton label="Set password and sign in" busy_label="Saving…" pending=action.pending() />
                            </ActionForm>
                        }.into_any(),
                        Err(error) => view! {
                            <h1>"This invite link can't be used"</h1>
                            <Alert kind="error">{error.to_string()}</Alert>
                            <p><A href="/signin">"Go to sign in"</A></p>
                        }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}
