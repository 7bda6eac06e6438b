//! The organization's requirement of two-step verification, for administrators (beside the
//! verification settings): once on, a member without it is sent to set it up when they next
//! sign in, and can do nothing else until done.

use leptos::prelude::*;

use crate::api::two_step::{SetTwoStepRequired, TwoStepState};
use crate::components::{Alert, ErrorView, FormAlert, SubmitButton};
use crate::error::AppError;

#[component]
pub fn TwoStepRequirementPanel(
    action: ServerAction<SetTwoStepRequired>,
    status: Resource<Result<TwoStepState, AppError>>,
) -> impl IntoView {
    let value = action.value();
    view! {
        <section class="panel" aria-labelledby="two-step-required-title">
            <h2 id="two-step-required-title">"Two-step verification"</h2>
            <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match status.await {
                        Ok(status) => view! {
                            <p data-testid="two-step-requirement">
                                {if status.required {
                                    "Everyone in your organization must use two-step verification to sign in."
                                } else {
                                    "Two-step verification is up to each person. Require it to protect every account with more than a password."
                                }}
                            </p>
                            {(!status.enabled && !status.required).then(|| view! {
                                <p class="muted small">
                                    "Turn it on for your own account first: "
                                    <a href="/account/two-step">"set up two-step verification"</a>
                                </p>
                            })}
                            <ActionForm action=action attr:class="form">
                                <input type="hidden" name="required" value=if status.required { "off" } else { "on" } />
                                <SubmitButton
                                    label=if status.required { "Stop requiring two-step verification" } else { "Require two-step verification" }
                                    busy_label="Saving…"
                                    pending=action.pending()
                                    class="button-secondary"
                                />
                            </ActionForm>
                        }.into_any(),
                        Err(error) => view! { <ErrorView error /> }.into_any(),
                    }
                })}
            </Suspense>
            <FormAlert value=value />
            {move || matches!(value.get(), Some(Ok(()))).then(|| view! { <Alert kind="success">"Saved."</Alert> })}
        </section>
    }
}
