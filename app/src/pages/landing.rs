use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

use crate::components::CurrentUser;

#[component]
pub fn LandingPage() -> impl IntoView {
    let user = CurrentUser::get().0;
    view! {
        <Title text="Traceless · Verify who is really asking" />
        <section class="hero">
            <h1>"Verify who is really asking"</h1>
            <p class="lead">
                "Traceless lets your help desk confirm a caller's identity before resetting a password "
                "or granting access. With Microsoft Entra Verified ID, the person proves who they are "
                "with a credential in Microsoft Authenticator, and Microsoft tells Traceless when it succeeds."
            </p>
            <div class="actions">
                <Transition fallback=|| view! { <A href="/signup" attr:class="button-primary">"Create your organization"</A> }>
                    {move || Suspend::new(async move {
                        match user.await {
                            Ok(Some(_)) => view! { <A href="/organization" attr:class="button-primary">"Go to your organization"</A> }.into_any(),
                            _ => view! {
                                <A href="/signup" attr:class="button-primary">"Create your organization"</A>
                                <A href="/signin" attr:class="button-secondary">"Sign in"</A>
                            }.into_any(),
                        }
                    })}
                </Transition>
            </div>
        </section>
        <section class="steps" aria-label="How it works">
            <ol>
                <li>
                    <h2>"Connect your tenant"</h2>
                    <p>"An organization administrator signs in to Microsoft and consents. Traceless learns which email domains your tenant covers."</p>
                </li>
                <li>
                    <h2>"Send a verification link"</h2>
                    <p>"An agent, or your help-desk tool, sends the person a link tied to their work email."</p>
                </li>
                <li>
                    <h2>"See the result live"</h2>
                    <p>"The person scans a QR code with Microsoft Authenticator. You see the verified identity as soon as Microsoft confirms it."</p>
                </li>
            </ol>
        </section>
    }
}
