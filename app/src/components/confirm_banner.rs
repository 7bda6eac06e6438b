//! The banner on every page of a signed-in account whose address is not confirmed yet: what
//! is missing, why nothing of the organization shows, and "Send the link again".

use leptos::prelude::*;

use super::CurrentUser;
use crate::api::email_ownership::ResendConfirmation as Resend;
use crate::components::{FormAlert, SubmitButton};

/// Shown under the header while the signed-in account's address is not confirmed.
#[component]
pub fn ConfirmBanner() -> impl IntoView {
    let user = CurrentUser::get().0;
    view! {
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                match user.await {
                    Ok(Some(me)) if !me.email_confirmed => {
                        let email = me.email.clone();
                        view! {
                            <div class="confirm-banner" role="status" data-testid="confirm-banner">
                                <p>
                                    <strong>"Confirm your email address."</strong>
                                    " We sent a link to " <strong>{me.email.clone()}</strong>
                                    ". Until you open it, you cannot see or change your organization's data."
                                </p>
                                <ResendConfirmation email=Signal::derive(move || email.clone()) />
                            </div>
                        }
                            .into_any()
                    }
                    _ => ().into_any(),
                }
            })}
        </Transition>
    }
}

/// "Send the link again" for `email`; says the same whatever the address.
#[component]
pub fn ResendConfirmation(#[prop(into)] email: Signal<String>) -> impl IntoView {
    let action = ServerAction::<Resend>::new();
    let value = action.value();
    view! {
        <ActionForm action=action attr:class="form-inline">
            <input type="hidden" name="email" value=move || email.get() />
            <SubmitButton label="Send the link again" busy_label="Sending…" pending=action.pending() class="button-quiet" />
        </ActionForm>
        <FormAlert value=value />
        {move || matches!(value.get(), Some(Ok(()))).then(|| view! {
            <p class="small" role="status">"If that address is waiting to be confirmed, we sent it a new link. It works for 24 hours."</p>
        })}
    }
}
