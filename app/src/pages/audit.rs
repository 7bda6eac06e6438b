//! `/organization/audit`: what happened in the organization, for administrators: newest
//! first, filtered by kind and by person (`?kind=…&person=…`, applied on the server), a page
//! at a time (`?before=…`).

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::api::audit::{AuditFilterChoices, Choice, PAGE_SIZE, audit_filters, audit_log};
use crate::components::ErrorView;

#[component]
pub fn AuditPage() -> impl IntoView {
    let query = use_query_map();
    let param = move |name: &str| query.read().get(name).unwrap_or_default();
    let wanted = move || (param("kind"), param("person"), param("before"));
    let entries = Resource::new(wanted, |(kind, person, before)| {
        audit_log(kind, person, before)
    });
    let filters = Resource::new(|| (), |_| audit_filters());
    view! {
        <Title text="Audit log · Traceless" />
        <section class="page-head">
            <h1>"Audit log"</h1>
            <p class="muted">"Sign-ins, two-step verification, the team, settings and integrations, newest first."</p>
        </section>
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                filters.await.ok().map(|filters| view! {
                    <FilterForm filters kind=param("kind") person=param("person") />
                })
            })}
        </Suspense>
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match entries.await {
                    Ok(entries) if entries.is_empty() => {
                        // Only a filter or a later page can hide entries: without them, the log
                        // is simply empty.
                        let filtered = !param("kind").is_empty() || !param("person").is_empty();
                        let words = if filtered {
                            "Nothing matches. Clear the filters to see everything."
                        } else if !param("before").is_empty() {
                            "No older entries."
                        } else {
                            "Nothing has been logged yet. Sign-ins, team changes and settings will show here."
                        };
                        view! { <p class="panel muted">{words}</p> }.into_any()
                    }
                    Ok(entries) => {
                        let older = (entries.len() as i64 == PAGE_SIZE)
                            .then(|| entries.last().map(|e| e.id))
                            .flatten()
                            .map(|id| {
                                let mut href = format!("/organization/audit?before={id}");
                                for name in ["kind", "person"] {
                                    let value = param(name);
                                    if !value.is_empty() {
                                        href.push_str(&format!("&{name}={}", encode(&value)));
                                    }
                                }
                                href
                            });
                        view! {
                            <div class="panel table-wrap">
                                <table class="table">
                                    <thead><tr><th scope="col">"When"</th><th scope="col">"Who"</th><th scope="col">"What"</th><th scope="col">"Details"</th><th scope="col">"From"</th></tr></thead>
                                    <tbody>
                                        {entries.into_iter().map(|e| view! {
                                            <tr><td class="nowrap">{e.at}</td><td>{e.actor}</td><td>{e.action}</td><td class="small">{e.detail}</td><td class="small mono">{e.client}</td></tr>
                                        }).collect_view()}
                                    </tbody>
                                </table>
                            </div>
                            {older.map(|href| view! { <p><a href=href>"Older entries"</a></p> })}
                        }.into_any()
                    }
                    Err(error) => view! { <ErrorView error panel=true /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// A plain GET form: the filters live in the address, so a filtered view can be reloaded,
/// bookmarked and used without scripts.
#[component]
fn FilterForm(filters: AuditFilterChoices, kind: String, person: String) -> impl IntoView {
    view! {
        <form method="get" action="/organization/audit" class="panel form filter-form" aria-label="Filter the audit log">
            <div class="field">
                <label for="filter-kind">"Kind"</label>
                <select id="filter-kind" name="kind">
                    <option value="" selected=kind.is_empty()>"All kinds"</option>
                    {options(filters.kinds, &kind)}
                </select>
            </div>
            <div class="field">
                <label for="filter-person">"Person"</label>
                <select id="filter-person" name="person">
                    <option value="" selected=person.is_empty()>"Everyone"</option>
                    {options(filters.people, &person)}
                </select>
            </div>
            <div class="row-actions">
                <button type="submit" class="button-secondary">"Filter"</button>
                <a href="/organization/audit">"Clear filters"</a>
            </div>
        </form>
    }
}

fn options(choices: Vec<Choice>, current: &str) -> impl IntoView + use<> {
    let current = current.to_owned();
    choices
        .into_iter()
        .map(|c| {
            let selected = c.value == current;
            view! { <option value=c.value selected=selected>{c.label}</option> }
        })
        .collect_view()
}

/// A query value, percent-encoded (ids and kinds are plain ASCII, but never trust that).
fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
