use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

use super::microsoft_only::MicrosoftOnlyCard;
use super::signed_in;

#[component]
pub fn OrganizationPage() -> impl IntoView {
    signed_in(|me| {
        let admin = me.is_admin();
        view! {
            <Title text=format!("{} · Traceless", me.organization) />
            <section class="page-head">
                <p class="eyebrow">{me.organization.clone()}</p>
                <h1>"Welcome, " {me.name.clone()}</h1>
                <p class="muted">"You are signed in as " {me.email.clone()} " · " {me.role.label()}</p>
            </section>
            <div class="cards">
                <article class="card">
                    <h2>"Verifications"</h2>
                    <p>"Send a person a verification link and watch them prove who they are, live."</p>
                    <A href="/organization/verifications" attr:class="button-primary">"Send a verification"</A>
                </article>
                <article class="card">
                    <h2>"Microsoft Verified ID"</h2>
                    <p>
                        "Verify people with a credential in Microsoft Authenticator. An organization "
                        "administrator connects your Microsoft tenant once; then agents can send verification links."
                    </p>
                    <A href="/organization/integrations" attr:class="button-secondary">
                        {if admin { "Open the connection card" } else { "See the connection" }}
                    </A>
                </article>
                {if admin {
                    view! {
                        <article class="card">
                            <h2>"Team"</h2>
                            <p>"Add agents and other administrators, and send them their invite links."</p>
                            <A href="/organization/team" attr:class="button-secondary">"Manage team"</A>
                        </article>
                        <article class="card">
                            <h2>"Help-desk tools"</h2>
                            <p>"Let your help desk start verifications through the API, and hear the results through signed webhooks."</p>
                            <div class="row-actions">
                                <A href="/organization/api-keys" attr:class="button-secondary">"API keys"</A>
                                <A href="/organization/webhooks" attr:class="button-secondary">"Webhooks"</A>
                            </div>
                        </article>
                        <MicrosoftOnlyCard />
                    }.into_any()
                } else {
                    view! {
                        <article class="card">
                            <h2>"Team"</h2>
                            <p>"Your Traceless organization administrator manages teammates and integrations. Ask them if you need more access."</p>
                        </article>
                    }.into_any()
                }}
            </div>
        }
    })
}
