//! The "Sign-in" card of the organization page, for administrators: make "Sign in with
//! Microsoft" the only way in, or allow passwords again.

use leptos::prelude::*;
use leptos_router::components::A;

use crate::api::microsoft_sign_in::{SetMicrosoftOnly, microsoft_only_setting};
use crate::components::{ErrorView, FormAlert, SubmitButton};

#[component]
pub fn MicrosoftOnlyCard() -> impl IntoView {
    let set = ServerAction::<SetMicrosoftOnly>::new();
    // Fetched by the browser, not while the server renders: this card sits inside the page's
    // signed-in Suspend, and a resource made there on the server can outlive a render the
    // browser abandoned (the server function then finds no request context).
    let setting = LocalResource::new(move || {
        set.version().track();
        microsoft_only_setting()
    });
    view! {
        <article class="card" aria-labelledby="sign-in-setting-title" data-testid="microsoft-only-card">
            <h2 id="sign-in-setting-title">"Sign-in"</h2>
            <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match setting.await {
                        Ok(s) if !s.connected => view! {
                            <p>"Members sign in with their email and password. Connect your Microsoft tenant to let them sign in with their work account, or to make that the only way in."</p>
                            <A href="/organization/integrations" attr:class="button-secondary">"Connect Microsoft"</A>
                        }.into_any(),
                        Ok(s) => view! {
                            <p data-testid="microsoft-only-state">
                                {if s.on {
                                    "Microsoft only: members sign in with \"Sign in with Microsoft\"; passwords are refused. Your tenant's Conditional Access decides how they sign in there."
                                } else {
                                    "Members sign in with \"Sign in with Microsoft\" or with their email and password."
                                }}
                            </p>
                            <FormAlert value=set.value() />
                            <ActionForm action=set attr:class="form">
                                <input type="hidden" name="on" value=if s.on { "false" } else { "true" } />
                                <SubmitButton
                                    label=if s.on { "Allow passwords again" } else { "Make Microsoft the only way in" }
                                    busy_label="Saving…"
                                    pending=set.pending()
                                />
                            </ActionForm>
                            {(!s.on).then(|| view! {
                                <p class="muted small">"Sign in with Microsoft yourself once before you turn this on. Removing the Microsoft connection turns it off."</p>
                            })}
                        }.into_any(),
                        Err(error) => view! { <ErrorView error /> }.into_any(),
                    }
                })}
            </Suspense>
        </article>
    }
}
