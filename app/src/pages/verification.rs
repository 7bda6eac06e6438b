//! `/organization/verifications/:id`: one verification for the agent: its status (live),
//! the evidence Microsoft's presentation gave, and the timeline.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::use_params_map;

use crate::api::verifications::{CancelVerification, verification_overview};
use crate::components::{ErrorView, FormAlert, StatusPill, SubmitButton, use_event_stream};
use crate::model::{EvidenceView, TimelineEntry, VerificationDetail};

#[component]
pub fn VerificationPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let cancel = ServerAction::<CancelVerification>::new();
    // Bumped when the live stream reports the end: the evidence is read again.
    let finished = RwSignal::new(0u32);
    let overview = Resource::new(
        move || (id(), cancel.version().get(), finished.get()),
        |(id, _, _)| verification_overview(id),
    );
    view! {
        <Title text="Verification · Traceless" />
        <p class="back"><A href="/organization/verifications">"← All verifications"</A></p>
        <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match overview.await {
                    Ok(detail) => view! { <Detail detail=detail cancel=cancel finished=finished /> }.into_any(),
                    Err(error) => view! { <ErrorView error not_found="Verification not found" panel=true /> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn Detail(
    detail: VerificationDetail,
    cancel: ServerAction<CancelVerification>,
    finished: RwSignal<u32>,
) -> impl IntoView {
    let last_id = detail.events.last().map_or(0, |e| e.id);
    let events = use_event_stream(detail.status.is_active().then(|| {
        format!(
            "/organization/verifications/{}/events?after={last_id}",
            detail.id
        )
    }));
    let initial_status = detail.status;
    let status =
        Signal::derive(move || events.with(|e| e.last().map_or(initial_status, |e| e.status)));
    // The end arrived live: read the overview again for the evidence and the reason.
    Effect::new(move |_| {
        if events.with(|e| e.last().is_some_and(|e| e.is_terminal())) {
            finished.update(|n| *n += 1);
        }
    });
    let live_entries = move || {
        events.with(|e| {
            e.iter()
                .filter(|e| e.id > last_id)
                .map(|e| TimelineEntry {
                    id: e.id,
                    kind: e.kind,
                    status: e.status,
                    message: e.message.clone().unwrap_or_else(|| e.kind.to_string()),
                    at: clock_time(e.at),
                })
                .collect::<Vec<_>>()
        })
    };
    let cancel_value = cancel.value();
    let id = detail.id.clone();
    view! {
        <Title text=format!("{} · Verification · Traceless", detail.recipient) />
        <section class="page-head verification-head">
            <div>
                <p class="eyebrow">"Verification"</p>
                <h1>{detail.recipient.clone()}</h1>
                {match (detail.ticket_reference.clone(), detail.ticket_id.clone()) {
                    (Some(t), Some(id)) => Some(view! {
                        <p class="muted">"Ticket " <a class="mono" href=format!("/organization/tickets/{id}") rel="external">{t}</a></p>
                    }.into_any()),
                    (Some(t), None) => Some(view! { <p class="muted">"Ticket " <span class="mono">{t}</span></p> }.into_any()),
                    _ => None,
                }}
            </div>
            <div class="verification-status" role="status" aria-live="polite" data-testid="agent-status">
                <StatusPill status=status big=true />
            </div>
        </section>

        {detail.mismatch.then(|| view! {
            <div class="alert alert-error mismatch" role="alert" data-testid="mismatch">
                <p><strong>"Identity mismatch"</strong></p>
                <p>"The credential presented does not belong to the person you meant to verify. Do not act on this person's request."</p>
            </div>
        })}
        {detail.failure.clone().map(|f| view! {
            <div class="alert alert-error" data-testid="failure">
                <p><strong>"Why it failed"</strong></p>
                <p>{f}</p>
            </div>
        })}

        <div class="layout-two">
            <div class="stack">
                <section class="panel" aria-labelledby="facts-title">
                    <h2 id="facts-title">"Details"</h2>
                    <dl class="facts">
                        <dt>"Recipient"</dt><dd>{detail.recipient.clone()}</dd>
                        <dt>"Ticket reference"</dt><dd>{detail.ticket_reference.clone().unwrap_or_else(|| "—".into())}</dd>
                        <dt>"Note"</dt><dd>{detail.note.clone().unwrap_or_else(|| "—".into())}</dd>
                        <dt>"Started by"</dt><dd>{detail.started_by.clone()} ", " {detail.started.clone()}</dd>
                        <dt>"Link valid until"</dt><dd>{detail.link_expires.clone()}</dd>
                        {detail.finished.clone().map(|f| view! { <dt>"Finished"</dt><dd>{f}</dd> })}
                        {(detail.tries_used > 0).then(|| view! { <dt>"Failed tries"</dt><dd>{detail.tries_used}</dd> })}
                    </dl>
                    <FormAlert value=cancel_value />
                    <Show when=move || status.get().is_active()>
                        {
                            let id = id.clone();
                            view! {
                                <ActionForm action=cancel>
                                    <input type="hidden" name="id" value=id />
                                    <SubmitButton label="Cancel verification" busy_label="Cancelling…" pending=cancel.pending() class="button-danger-quiet" />
                                </ActionForm>
                            }
                        }
                    </Show>
                </section>
                <super::recovery::RecoveryStatus id=detail.id.clone() />
                {match detail.evidence.clone() {
                    Some(evidence) => view! { <Evidence evidence=evidence /> }.into_any(),
                    None => view! {
                        <section class="panel" aria-labelledby="evidence-title">
                            <h2 id="evidence-title">"Evidence"</h2>
                            <p class="muted">"Nothing presented yet. When the person shares their credential, what Microsoft reports appears here."</p>
                        </section>
                    }.into_any(),
                }}
            </div>
            <section class="panel" aria-labelledby="timeline-title">
                <h2 id="timeline-title">"Timeline"</h2>
                <ol class="timeline" data-testid="timeline" aria-live="polite">
                    {detail.events.iter().cloned().map(|e| view! { <TimelineItem entry=e /> }).collect_view()}
                    <For each=live_entries key=|e| e.id let:entry>
                        <TimelineItem entry=entry />
                    </For>
                </ol>
            </section>
        </div>
    }
}

#[component]
fn TimelineItem(entry: TimelineEntry) -> impl IntoView {
    view! {
        <li class=format!("timeline-item timeline-{}", entry.status) data-kind=entry.kind.to_string()>
            <span class="timeline-dot" aria-hidden="true"></span>
            <p class="timeline-message">{entry.message.clone()}</p>
            <p class="muted small"><time>{entry.at.clone()}</time></p>
        </li>
    }
}

#[component]
fn Evidence(evidence: EvidenceView) -> impl IntoView {
    view! {
        <section class="panel" aria-labelledby="evidence-title" data-testid="evidence">
            <h2 id="evidence-title">"Evidence"</h2>
            <dl class="facts">
                <dt>"Issuer"</dt><dd class="mono">{evidence.issuer.clone()}</dd>
                <dt>"Credential type"</dt><dd>{evidence.credential_types.join(", ")}</dd>
                <dt>"Name on the credential"</dt><dd>{evidence.display_name.clone().unwrap_or_else(|| "—".into())}</dd>
                <dt>"Email on the credential"</dt><dd>{evidence.email.clone().unwrap_or_else(|| "—".into())}</dd>
                {evidence.email_source.clone().map(|source| view! {
                    <dt>"Email source"</dt><dd data-testid="evidence-email-source">{source}</dd>
                })}
                <dt>"Job title"</dt><dd>{evidence.job_title.clone().unwrap_or_else(|| "—".into())}</dd>
                {evidence.face_check_score.map(|s| view! { <dt>"Face Check score"</dt><dd>{format!("{s:.1}")}</dd> })}
            </dl>
            <h3>"Identity checks"</h3>
            <ul class="checks">
                {evidence.checks.iter().map(|c| view! {
                    <li class=if c.passed { "check check-pass" } else { "check check-fail" } data-passed=c.passed.to_string()>
                        <span class="check-mark" aria-hidden="true">{if c.passed { "✓" } else { "✗" }}</span>
                        <span>
                            <strong>{c.label.clone()}</strong>
                            <span class="visually-hidden">{if c.passed { ": passed" } else { ": failed" }}</span>
                            <span class="muted small check-detail">{c.detail.clone()}</span>
                        </span>
                    </li>
                }).collect_view()}
            </ul>
        </section>
    }
}

/// "17:05:09 UTC" from Unix seconds, for events that arrive live (today's, by nature).
fn clock_time(unix: i64) -> String {
    let day = unix.rem_euclid(86_400);
    format!(
        "{:02}:{:02}:{:02} UTC",
        day / 3600,
        day % 3600 / 60,
        day % 60
    )
}
