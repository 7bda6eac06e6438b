//! `/account`: the signed-in person's own account in one place (who they are, their
//! password, two-step verification and sessions), so the header needs one link, not four.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

use super::signed_in;
use crate::api::sessions::my_sessions;
use crate::api::two_step::{TwoStepState, two_step_status};
use crate::components::ErrorView;
use crate::error::AppError;
use crate::model::{Me, SessionView};

#[component]
pub fn AccountPage() -> impl IntoView {
    // Made here, not inside the signed-in branch, so the server and the browser create them
    // in the same order (hydration matches them by it).
    let two_step = Resource::new(|| (), |_| two_step_status());
    let sessions = Resource::new(|| (), |_| my_sessions());
    view! {
        <Title text="Your account · Traceless" />
        <section class="page-head">
            <h1>"Your account"</h1>
            <p class="muted">"Your sign-in details, and where you are signed in."</p>
        </section>
        {signed_in(move |me| view! { <AccountCards me two_step sessions /> })}
    }
}

#[component]
fn AccountCards(
    me: Me,
    two_step: Resource<Result<TwoStepState, AppError>>,
    sessions: Resource<Result<Vec<SessionView>, AppError>>,
) -> impl IntoView {
    view! {
        <div class="cards account-cards">
            <article class="card" aria-labelledby="account-who">
                <h2 id="account-who">"You"</h2>
                <dl class="facts">
                    <dt>"Name"</dt>
                    <dd>{me.name.clone()}</dd>
                    <dt>"Email"</dt>
                    <dd>{me.email.clone()}</dd>
                    <dt>"Organization"</dt>
                    <dd>{me.organization.clone()}</dd>
                    <dt>"Role"</dt>
                    <dd>{me.role.label()}</dd>
                </dl>
                <p class="muted small">"An organization administrator can change your name, address or role."</p>
            </article>
            <article class="card" aria-labelledby="account-password">
                <h2 id="account-password">"Password"</h2>
                <p>"Changing it signs out every other device signed in to your account."</p>
                <A href="/account/password" attr:class="button-secondary">"Change password"</A>
            </article>
            <article class="card" aria-labelledby="account-two-step">
                <h2 id="account-two-step">"Two-step verification"</h2>
                <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
                    {move || Suspend::new(async move {
                        match two_step.await {
                            Ok(state) => view! { <TwoStepSummary state /> }.into_any(),
                            Err(error) => view! { <ErrorView error /> }.into_any(),
                        }
                    })}
                </Suspense>
            </article>
            <article class="card" aria-labelledby="account-sessions">
                <h2 id="account-sessions">"Sessions"</h2>
                <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
                    {move || Suspend::new(async move {
                        match sessions.await {
                            Ok(sessions) => view! {
                                <p data-testid="open-sessions">{match sessions.len() {
                                    0 | 1 => "You are signed in on this device only.".to_owned(),
                                    n => format!("You are signed in on {n} devices, this one included."),
                                }}</p>
                            }.into_any(),
                            Err(error) => view! { <ErrorView error /> }.into_any(),
                        }
                    })}
                </Suspense>
                <A href="/account/sessions" attr:class="button-secondary">"See your sessions"</A>
            </article>
        </div>
    }
}

#[component]
fn TwoStepSummary(state: TwoStepState) -> impl IntoView {
    let (badge, text, link) = if state.enabled {
        (
            view! { <span class="badge badge-delivered">"On"</span> },
            format!(
                "After your password, Traceless asks for a code from your authenticator app. {} recovery codes left.",
                state.recovery_codes_left
            ),
            "Manage two-step verification",
        )
    } else {
        (
            view! { <span class="badge badge-muted">"Off"</span> },
            if state.required {
                "Your organization requires it: set it up now, or you will be asked to at your next sign-in.".to_owned()
            } else {
                "Add a code from an authenticator app on your phone to your password, so a stolen password alone does not get in.".to_owned()
            },
            "Set up two-step verification",
        )
    };
    view! {
        <p>{badge}</p>
        <p>{text}</p>
        <A href="/account/two-step" attr:class="button-secondary">{link}</A>
    }
}
