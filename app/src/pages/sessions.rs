//! `/account/sessions`: where the signed-in person is signed in, and a way to sign any of
//! those out (a lost phone, a shared computer), or all but this one.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

use crate::api::sessions::{EndMyOtherSessions, EndMySession, my_sessions};
use crate::components::{ErrorView, FormAlert, SubmitButton};
use crate::model::SessionView;

#[component]
pub fn SessionsPage() -> impl IntoView {
    let end_one = ServerAction::<EndMySession>::new();
    let end_others = ServerAction::<EndMyOtherSessions>::new();
    let list = Resource::new(
        move || (end_one.version().get(), end_others.version().get()),
        |_| my_sessions(),
    );
    view! {
        <Title text="Sessions · Traceless" />
        <p class="back"><A href="/account">"← Back to your account"</A></p>
        <section class="page-head">
            <h1>"Sessions"</h1>
            <p class="muted">
                "You are signed in to Traceless on these devices. If you do not recognise one, sign it out "
                "and " <A href="/account/password">"change your password"</A> "."
            </p>
        </section>
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match list.await {
                    Ok(sessions) => {
                        let others = sessions.iter().filter(|s| !s.current).count();
                        view! {
                            <section class="panel" aria-labelledby="sessions-title">
                                <h2 id="sessions-title">"Where you are signed in"</h2>
                                <FormAlert value=end_one.value() />
                                <FormAlert value=end_others.value() />
                                <SessionList sessions=sessions end_one=end_one />
                                {(others > 0).then(|| view! {
                                    <ActionForm action=end_others attr:class="form">
                                        <SubmitButton label="Sign out everywhere else" busy_label="Signing out…" pending=end_others.pending() />
                                    </ActionForm>
                                })}
                            </section>
                        }
                            .into_any()
                    }
                    Err(error) => view! { <ErrorView error panel=true /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn SessionList(sessions: Vec<SessionView>, end_one: ServerAction<EndMySession>) -> impl IntoView {
    view! {
        <ul class="people" data-testid="sessions">
            {sessions.into_iter().map(|s| {
                let label = format!("Sign out {} (last seen {})", s.device, s.last_seen);
                view! {
                    <li class="person" data-testid="session">
                        <div>
                            <p class="person-name">
                                {s.device.clone()}
                                {s.current.then(|| view! { " " <span class="badge">"This device"</span> })}
                            </p>
                            <p class="muted small">
                                {s.address.clone().map(|a| format!("From {a} · "))}
                                "Signed in " {s.signed_in.clone()} " · last seen " {s.last_seen.clone()}
                            </p>
                        </div>
                        {(!s.current).then(|| view! {
                            <div class="row-actions">
                                <ActionForm action=end_one>
                                    <input type="hidden" name="id" value=s.id.clone() />
                                    <button type="submit" class="button-quiet" aria-label=label>"Sign out"</button>
                                </ActionForm>
                            </div>
                        })}
                    </li>
                }
            }).collect_view()}
        </ul>
    }
}
