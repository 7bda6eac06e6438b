//! `/organization/api-keys`: organization API keys for help-desk tools, for administrators
//! only (the server refuses everyone else; this page just shows the refusal).

use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::tools::{CreateApiKey, RevokeApiKey, api_keys};
use crate::components::{
    Alert, CopyButton, ErrorView, Field, FormAlert, SubmitButton, field_error,
};
use crate::model::{ApiKeyView, NewApiKey};

#[component]
pub fn ApiKeysPage() -> impl IntoView {
    let create = ServerAction::<CreateApiKey>::new();
    let revoke = ServerAction::<RevokeApiKey>::new();
    let keys = Resource::new(
        move || (create.version().get(), revoke.version().get()),
        |_| api_keys(),
    );
    let created = create.value();
    view! {
        <Title text="API keys · Traceless" />
        <section class="page-head">
            <h1>"API keys"</h1>
            <p class="muted">
                "Your help-desk tool starts verifications and reads their results through the Traceless API "
                "with one of these keys. See " <a href="/api/v1/openapi.json">"the API's OpenAPI document"</a> "."
            </p>
        </section>
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match keys.await {
                    Ok(keys) => view! {
                        <div class="layout-two">
                            <section class="panel" aria-labelledby="keys-title">
                                <h2 id="keys-title">"Keys"</h2>
                                <FormAlert value=revoke.value() />
                                <KeyList keys=keys revoke=revoke />
                            </section>
                            <section class="panel" aria-labelledby="new-key-title">
                                <h2 id="new-key-title">"Create a key"</h2>
                                <p class="muted">"Name it after the tool that will use it. The key is shown once: copy it into the tool's settings."</p>
                                <FormAlert value=created />
                                {move || created.get().and_then(Result::ok).map(|key| view! { <NewKey key=key /> })}
                                <ActionForm action=create attr:class="form" attr:novalidate=true>
                                    <Field label="Name" name="name" autocomplete="off" hint="For example: Zendesk production" error=field_error(created, "name") />
                                    <SubmitButton label="Create key" busy_label="Creating…" pending=create.pending() />
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
fn KeyList(keys: Vec<ApiKeyView>, revoke: ServerAction<RevokeApiKey>) -> impl IntoView {
    if keys.is_empty() {
        return view! { <p class="muted">"No keys yet."</p> }.into_any();
    }
    view! {
        <ul class="people" data-testid="api-keys">
            {keys.into_iter().map(|k| {
                let label = format!("Revoke {}", k.name);
                let id = k.id.clone();
                view! {
                    <li class="person" class:revoked=k.revoked.is_some()>
                        <div>
                            <p class="person-name">{k.name.clone()}</p>
                            <p class="muted small"><code>{k.prefix.clone()} "…"</code></p>
                            <p class="muted small">
                                "Created " {k.created.clone()} " by " {k.created_by.clone()} " · "
                                {match &k.last_used { Some(at) => format!("last used {at}"), None => "never used".to_owned() }}
                            </p>
                        </div>
                        {match k.revoked.clone() {
                            Some(at) => view! { <span class="badge badge-muted">"Revoked " {at}</span> }.into_any(),
                            None => view! {
                                <div class="row-actions">
                                    <ActionForm action=revoke>
                                        <input type="hidden" name="id" value=id />
                                        <button type="submit" class="button-quiet" aria-label=label>"Revoke"</button>
                                    </ActionForm>
                                </div>
                            }.into_any(),
                        }}
                    </li>
                }
            }).collect_view()}
        </ul>
    }
    .into_any()
}

#[component]
fn NewKey(key: NewApiKey) -> impl IntoView {
    view! {
        <Alert kind="success">
            <p>"API key " <strong>{key.name.clone()}</strong> " created:"</p>
            <p class="link-box">
                <input type="text" readonly=true value=key.key.clone() aria-label="API key" data-testid="new-api-key" />
                <CopyButton value=key.key.clone() label="Copy key" />
            </p>
            <p>"Signing secret for the webhooks of this key's requests (their " <code>"webhook_url"</code> "):"</p>
            <p class="link-box">
                <input type="text" readonly=true value=key.webhook_secret.clone() aria-label="Webhook signing secret" data-testid="new-api-key-webhook-secret" />
                <CopyButton value=key.webhook_secret.clone() label="Copy secret" />
            </p>
            <p class="small">"Both are shown only now; Traceless keeps only a hash of the key. Treat them like passwords."</p>
        </Alert>
    }
}
