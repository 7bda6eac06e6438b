//! `/organization/mailbox`: the development mailbox. With no SMTP server configured, the mail
//! Traceless sends is kept here for organization administrators, to read and click through.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::mailbox::mailbox;
use crate::components::ErrorView;
use crate::model::MailboxMessage;

/// Look for new mail this often while the page is open.
const REFRESH_MS: u32 = 3_000;

#[component]
pub fn MailboxPage() -> impl IntoView {
    let tick = RwSignal::new(0u32);
    let messages = Resource::new(move || tick.get(), |_| mailbox());
    #[cfg(feature = "hydrate")]
    {
        let poll = gloo_timers::callback::Interval::new(REFRESH_MS, move || {
            tick.try_update(|t| *t += 1);
        });
        let poll = send_wrapper::SendWrapper::new(poll);
        on_cleanup(move || drop(poll));
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = REFRESH_MS;
    view! {
        <Title text="Development mailbox · Traceless" />
        <section class="page-head">
            <h1>"Development mailbox"</h1>
            <p class="alert alert-warning" role="note">
                "For development and demos only. No mail server is configured (TRACELESS_SMTP_HOST), so mail "
                "Traceless sends is kept here instead of being delivered. Only organization administrators see it."
            </p>
        </section>
        <section class="panel" aria-labelledby="mailbox-title">
            <h2 id="mailbox-title">"Delivered mail"</h2>
            <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match messages.await {
                        Ok(items) if items.is_empty() => view! {
                            <p class="muted">"No mail yet. Choose “Send by email” when you send a verification."</p>
                        }.into_any(),
                        Ok(items) => view! { <Mails items=items /> }.into_any(),
                        Err(error) => view! { <ErrorView error /> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

#[component]
fn Mails(items: Vec<MailboxMessage>) -> impl IntoView {
    view! {
        <ul class="mailbox" data-testid="mailbox">
            {items.into_iter().map(|m| view! {
                <li class="mail" data-testid="mail" data-to=m.to.clone()>
                    <details>
                        <summary>
                            <strong>{m.subject.clone()}</strong>
                            <span class="muted small">" · to " {m.to.clone()} " · " {m.delivered.clone()}</span>
                        </summary>
                        <pre class="mail-body">{m.text.clone()}</pre>
                        {(!m.links.is_empty()).then(|| view! {
                            <p class="small">"Links in this mail: "
                                {m.links.into_iter().map(|l| view! {
                                    <a href=l.clone() data-testid="mail-link" rel="external">{l.clone()}</a> " "
                                }).collect_view()}
                            </p>
                        })}
                        <p class="muted small">"Message-ID " <span class="mono">{m.id.clone()}</span></p>
                    </details>
                </li>
            }).collect_view()}
        </ul>
    }
}
