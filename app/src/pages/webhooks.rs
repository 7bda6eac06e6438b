//! `/organization/webhooks`: endpoints that receive signed verification events, their
//! deliveries and each attempt, for administrators only (the server refuses the rest).

use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::tools::{
    AddWebhookEndpoint, EnableWebhookEndpoint, RedeliverWebhook, RemoveWebhookEndpoint,
    webhook_endpoints,
};
use crate::components::{
    Alert, CopyButton, ErrorView, Field, FormAlert, SubmitButton, field_error,
};
use crate::model::{DeliveryView, EventTypeOption, NewWebhookEndpoint, WebhookEndpointView};

#[derive(Clone, Copy)]
struct Actions {
    remove: ServerAction<RemoveWebhookEndpoint>,
    enable: ServerAction<EnableWebhookEndpoint>,
    redeliver: ServerAction<RedeliverWebhook>,
}

#[component]
pub fn WebhooksPage() -> impl IntoView {
    let add = ServerAction::<AddWebhookEndpoint>::new();
    let actions = Actions {
        remove: ServerAction::new(),
        enable: ServerAction::new(),
        redeliver: ServerAction::new(),
    };
    let refresh = RwSignal::new(0u32);
    let webhooks = Resource::new(
        move || {
            (
                add.version().get(),
                actions.remove.version().get(),
                actions.enable.version().get(),
                actions.redeliver.version().get(),
                refresh.get(),
            )
        },
        |_| webhook_endpoints(),
    );
    let added = add.value();
    view! {
        <Title text="Webhooks · Traceless" />
        <section class="page-head">
            <h1>"Webhooks"</h1>
            <p class="muted">
                "Traceless sends each change of a verification to your endpoints as JSON, signed with HMAC-SHA256 in the "
                <code>"Traceless-Signature"</code> " header, and retries for a day until the endpoint answers 2xx."
            </p>
        </section>
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match webhooks.await {
                    Ok(webhooks) => view! {
                        <div class="layout-two">
                            <section class="panel" aria-labelledby="endpoints-title">
                                <div class="panel-head">
                                    <h2 id="endpoints-title">"Endpoints"</h2>
                                    <button type="button" class="button-quiet" on:click=move |_| refresh.update(|n| *n += 1)>"Refresh"</button>
                                </div>
                                <FormAlert value=actions.remove.value() />
                                <FormAlert value=actions.enable.value() />
                                <FormAlert value=actions.redeliver.value() />
                                {if webhooks.endpoints.is_empty() {
                                    view! { <p class="muted">"No endpoints yet."</p> }.into_any()
                                } else {
                                    webhooks.endpoints.into_iter().map(|e| view! { <EndpointCard endpoint=e actions=actions /> }).collect_view().into_any()
                                }}
                            </section>
                            <section class="panel" aria-labelledby="add-endpoint-title">
                                <h2 id="add-endpoint-title">"Add an endpoint"</h2>
                                <FormAlert value=added />
                                {move || added.get().and_then(Result::ok).map(|e| view! { <NewEndpoint endpoint=e /> })}
                                <ActionForm action=add attr:class="form" attr:novalidate=true>
                                    <Field label="URL" name="url" input_type="url" autocomplete="off" hint="https://, or http:// to 127.0.0.1 or localhost for development" error=field_error(added, "url") />
                                    <EventChoices options=webhooks.event_types error=field_error(added, "events") />
                                    <SubmitButton label="Add endpoint" busy_label="Adding…" pending=add.pending() />
                                </ActionForm>
                            </section>
                        </div>
                    }.into_any(),
                    Err(error) => view! { <ErrorView error panel=true /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn EventChoices(options: Vec<EventTypeOption>, error: Signal<Option<String>>) -> impl IntoView {
    view! {
        <fieldset class="field checkboxes" class:field-invalid=move || error.get().is_some()>
            <legend>"Events"</legend>
            {options.into_iter().enumerate().map(|(i, o)| view! {
                <label class="checkbox">
                    <input type="checkbox" name=format!("events[{i}]") value=o.name.clone() checked=true />
                    <span><code>{o.name.clone()}</code> <span class="muted small">{o.description.clone()}</span></span>
                </label>
            }).collect_view()}
            <p class="field-error" role="alert">{move || error.get()}</p>
        </fieldset>
    }
}

#[component]
fn EndpointCard(endpoint: WebhookEndpointView, actions: Actions) -> impl IntoView {
    let (remove_id, enable_id) = (endpoint.id.clone(), endpoint.id.clone());
    let remove_label = format!("Remove {}", endpoint.url);
    view! {
        <article class="endpoint" data-testid="webhook-endpoint">
            <p class="person-name endpoint-url"><code>{endpoint.url.clone()}</code></p>
            <p class="muted small">
                "Added " {endpoint.created.clone()} " by " {endpoint.created_by.clone()} " · "
                {endpoint.event_types.join(", ")}
            </p>
            {endpoint.disabled.clone().map(|(at, why)| view! {
                <Alert kind="error">
                    <p><strong>"Disabled " {at}</strong> " after a day of failed deliveries. " {why}</p>
                    <ActionForm action=actions.enable>
                        <input type="hidden" name="id" value=enable_id.clone() />
                        <button type="submit" class="button-secondary">"Enable again"</button>
                    </ActionForm>
                </Alert>
            })}
            {(endpoint.disabled.is_none()).then(|| endpoint.failing_since.clone().map(|since| view! {
                <Alert kind="warning">"Failing since " {since} ": deliveries are retried; after a day of failures the endpoint is disabled."</Alert>
            })).flatten()}
            <div class="row-actions">
                <ActionForm action=actions.remove>
                    <input type="hidden" name="id" value=remove_id />
                    <button type="submit" class="button-quiet" aria-label=remove_label>"Remove"</button>
                </ActionForm>
            </div>
            <h3>"Recent deliveries"</h3>
            {if endpoint.deliveries.is_empty() {
                view! { <p class="muted small">"Nothing sent yet."</p> }.into_any()
            } else {
                view! {
                    <ul class="deliveries">
                        {endpoint.deliveries.into_iter().map(|d| view! { <DeliveryRow delivery=d redeliver=actions.redeliver /> }).collect_view()}
                    </ul>
                }.into_any()
            }}
        </article>
    }
}

#[component]
fn DeliveryRow(delivery: DeliveryView, redeliver: ServerAction<RedeliverWebhook>) -> impl IntoView {
    let state_class = format!("badge badge-{}", delivery.state);
    let label = format!("Redeliver {} of {}", delivery.event_type, delivery.created);
    view! {
        <li class="delivery" data-testid="webhook-delivery" data-state=delivery.state.clone()>
            <div class="delivery-head">
                <code>{delivery.event_type.clone()}</code>
                <span class=state_class>{delivery.state.clone()}</span>
                <span class="muted small">{delivery.created.clone()} " · " {delivery.attempts.len()} " attempt(s)"</span>
                {delivery.next_attempt.clone().map(|at| view! { <span class="muted small">" · next try " {at}</span> })}
                <ActionForm action=redeliver>
                    <input type="hidden" name="id" value=delivery.id.clone() />
                    <button type="submit" class="button-quiet" aria-label=label>"Redeliver"</button>
                </ActionForm>
            </div>
            <ol class="attempts">
                {delivery.attempts.into_iter().map(|a| view! {
                    <li class:attempt-ok=a.ok>
                        <span class="nowrap">{a.at}</span> " · " <strong>{a.status}</strong> " · " {a.latency_ms} " ms"
                        {(!a.response.is_empty()).then(|| view! { <pre class="excerpt">{a.response}</pre> })}
                    </li>
                }).collect_view()}
            </ol>
        </li>
    }
}

#[component]
fn NewEndpoint(endpoint: NewWebhookEndpoint) -> impl IntoView {
    view! {
        <Alert kind="success">
            <p>"Endpoint added: " <code>{endpoint.url.clone()}</code></p>
            <p>"Its signing secret:"</p>
            <p class="link-box">
                <input type="text" readonly=true value=endpoint.secret.clone() aria-label="Signing secret" data-testid="new-webhook-secret" />
                <CopyButton value=endpoint.secret.clone() label="Copy secret" />
            </p>
            <p class="small">"Shown only now. Check every request's signature with it (see \"Checking a signature\" in docs/api.md)."</p>
        </Alert>
    }
}
