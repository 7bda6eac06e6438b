//! `/organization/tickets`: find a ticket by its reference; `/organization/tickets/:id`: its
//! verifications and its timeline, live.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::{use_params_map, use_query_map};

use crate::api::tickets::{find_tickets, ticket_overview};
use crate::components::{ErrorView, StatusPill, refresh_on_events};
use crate::model::{TicketDetail, TicketSummary};

#[component]
pub fn TicketsPage() -> impl IntoView {
    let query = use_query_map();
    let search = move || query.read().get("reference").unwrap_or_default();
    let found = Resource::new(search, find_tickets);
    view! {
        <Title text="Tickets · Traceless" />
        <section class="page-head">
            <h1>"Tickets"</h1>
            <p class="muted">
                "Each ticket collects the verifications sent for it and what happened to them: sent, mail delivered, "
                "opened, scanned, verified or failed, expired, cancelled."
            </p>
        </section>
        <section class="panel" aria-labelledby="find-title">
            <h2 id="find-title">"Find a ticket"</h2>
            // A plain GET form: the search is in the address, so it can be shared and reloaded.
            <form method="get" action="/organization/tickets" class="form form-inline" role="search">
                <div class="field">
                    <label for="field-reference">"Ticket reference"</label>
                    <input id="field-reference" name="reference" type="search" autocomplete="off"
                        placeholder="INC-4711" value=search />
                </div>
                <button type="submit" class="button-primary">"Find"</button>
            </form>
        </section>
        <section class="panel" aria-labelledby="tickets-title">
            <h2 id="tickets-title">{move || if search().is_empty() { "Recent tickets".to_owned() } else { format!("Tickets starting with “{}”", search()) }}</h2>
            <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match found.await {
                        Ok(items) if items.is_empty() => view! {
                            <p class="muted" data-testid="no-tickets">
                                "No tickets found. A ticket is made when you send a verification with a ticket reference."
                            </p>
                        }.into_any(),
                        Ok(items) => view! { <TicketList items=items /> }.into_any(),
                        Err(error) => view! { <ErrorView error /> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

#[component]
fn TicketList(items: Vec<TicketSummary>) -> impl IntoView {
    view! {
        <ul class="verification-list" data-testid="ticket-list">
            {items.into_iter().map(|t| view! {
                <li class="verification-item" data-testid="ticket-item">
                    <div class="verification-item-main">
                        <a href=format!("/organization/tickets/{}", t.id) class="verification-recipient mono" rel="external">{t.reference.clone()}</a>
                        <p class="muted small">
                            {t.subject.clone().map(|s| view! { {s} " · " })}
                            "From " {t.source.clone()} ", last activity " {t.updated.clone()}
                        </p>
                    </div>
                </li>
            }).collect_view()}
        </ul>
    }
}

#[component]
pub fn TicketPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.read().get("id").unwrap_or_default();
    // Bumped by the live stream: the ticket is read again.
    let tick = RwSignal::new(0u32);
    let ticket = Resource::new(move || (id(), tick.get()), |(id, _)| ticket_overview(id));
    view! {
        <Title text="Ticket · Traceless" />
        <p class="back"><A href="/organization/tickets">"← All tickets"</A></p>
        <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match ticket.await {
                    Ok(detail) => view! { <Ticket detail=detail tick=tick /> }.into_any(),
                    Err(error) => view! { <ErrorView error not_found="Ticket not found" panel=true /> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn Ticket(detail: TicketDetail, tick: RwSignal<u32>) -> impl IntoView {
    let last = detail.timeline.last().map_or(0, |e| e.id);
    refresh_on_events(
        format!("/organization/tickets/{}/events?after={last}", detail.id),
        "entry",
        tick,
    );
    let verifications = detail.verifications.clone();
    let timeline = detail.timeline.clone();
    view! {
        <section class="page-head">
            <h1><span class="mono" data-testid="ticket-reference">{detail.reference.clone()}</span></h1>
            {detail.subject.clone().map(|s| view! { <p class="lead">{s}</p> })}
            <p class="muted small">
                {detail.requester_email.clone().map(|r| view! { "Requester " {r} " · " })}
                "From " {detail.source.clone()} ", opened " {detail.created.clone()}
            </p>
        </section>
        <div class="layout-two">
            <section class="panel" aria-labelledby="ticket-verifications">
                <h2 id="ticket-verifications">"Verifications"</h2>
                {if detail.verifications.is_empty() {
                    view! { <p class="muted">"No verifications for this ticket."</p> }.into_any()
                } else {
                    view! {
                        <ul class="verification-list" data-testid="ticket-verifications">
                            {verifications.into_iter().map(|v| view! {
                                <li class="verification-item" data-testid="verification-item" data-recipient=v.recipient.clone()>
                                    <div class="verification-item-main">
                                        <a href=format!("/organization/verifications/{}", v.id) class="verification-recipient" rel="external">{v.recipient.clone()}</a>
                                        <p class="muted small">"Started by " {v.started_by.clone()} ", " {v.started.clone()}</p>
                                    </div>
                                    <StatusPill status=v.status />
                                </li>
                            }).collect_view()}
                        </ul>
                    }.into_any()
                }}
            </section>
            <section class="panel" aria-labelledby="ticket-timeline">
                <h2 id="ticket-timeline">"Timeline"</h2>
                <p class="visually-hidden" aria-live="polite">{format!("{} entries", detail.timeline.len())}</p>
                <ol class="timeline" data-testid="ticket-timeline">
                    {timeline.into_iter().map(|e| view! {
                        <li class=format!("timeline-item timeline-{}", e.kind) data-kind=e.kind.clone() data-testid="ticket-entry">
                            <span class="timeline-dot" aria-hidden="true"></span>
                            <p>
                                <strong>{e.label.clone()}</strong>
                                <span class="muted small">" · " {e.at.clone()} " · " {e.actor.clone()}</span>
                            </p>
                            <p class="small">{e.detail.clone()}</p>
                        </li>
                    }).collect_view()}
                </ol>
            </section>
        </div>
    }
}
