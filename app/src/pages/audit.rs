//! `/organization/audit`: what administrators did, for administrators.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::integrations::audit_log;
use crate::components::ErrorView;

#[component]
pub fn AuditPage() -> impl IntoView {
    let entries = Resource::new(|| (), |_| audit_log());
    view! {
        <Title text="Audit log · Traceless" />
        <section class="page-head">
            <h1>"Audit log"</h1>
            <p class="muted">"Connections, failures and removals of integrations, newest first."</p>
        </section>
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match entries.await {
                    Ok(entries) if entries.is_empty() => view! { <p class="panel muted">"Nothing has happened yet."</p> }.into_any(),
                    Ok(entries) => view! {
                        <div class="panel table-wrap">
                            <table class="table">
                                <thead><tr><th scope="col">"When"</th><th scope="col">"Who"</th><th scope="col">"What"</th><th scope="col">"Details"</th></tr></thead>
                                <tbody>
                                    {entries.into_iter().map(|e| view! {
                                        <tr><td class="nowrap">{e.at}</td><td>{e.actor}</td><td>{e.action}</td><td class="small">{e.detail}</td></tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                        </div>
                    }.into_any(),
                    Err(error) => view! { <ErrorView error panel=true /> }.into_any(),
                }
            })}
        </Suspense>
    }
}
