//! `/organization/verifications`: send a verification link, and follow the
//! organization's verifications. Administrators also set the link lifetime and Face Check.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::two_step::{SetTwoStepRequired, two_step_status};
use crate::api::verifications::{
    EmailVerificationLink, SendVerification, UpdateVerificationSettings, get_verification_settings,
    verifications,
};
use crate::components::{
    Alert, CopyButton, CurrentUser, ErrorView, Field, FormAlert, StatusPill, SubmitButton,
    field_error,
};
use crate::error::AppError;
use crate::model::{StartedVerification, VerificationSettings, VerificationSummary};
use crate::pages::TwoStepRequirementPanel;

pub const SECURITY_NOTE: &str = "Treat verification links like sensitive links: share them only with the intended recipient and through your normal secure channels.";
/// While a verification in the list is still active, look again this often.
const LIST_REFRESH_MS: u32 = 4_000;

#[component]
pub fn VerificationsPage() -> impl IntoView {
    let send = ServerAction::<SendVerification>::new();
    let tick = RwSignal::new(0u32);
    let list = Resource::new(
        move || (send.version().get(), tick.get()),
        |_| verifications(),
    );
    // Live status in the list: cheap polling, and only while something can still change.
    #[cfg(feature = "hydrate")]
    {
        let poll = gloo_timers::callback::Interval::new(LIST_REFRESH_MS, move || {
            let active = list
                .try_get_untracked()
                .flatten()
                .and_then(Result::ok)
                .is_some_and(|l| l.iter().any(|v| v.status.is_active()));
            if active {
                tick.try_update(|t| *t += 1);
            }
        });
        let poll = send_wrapper::SendWrapper::new(poll);
        on_cleanup(move || drop(poll));
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = LIST_REFRESH_MS;
    let user = CurrentUser::get().0;
    // Made here, not inside the admin-only branch: a resource first created inside a
    // Suspend would be fetched after server rendering ended, outside the request.
    let update_settings = ServerAction::<UpdateVerificationSettings>::new();
    let settings = Resource::new(
        move || update_settings.version().get(),
        |_| get_verification_settings(),
    );
    let require_two_step = ServerAction::<SetTwoStepRequired>::new();
    let two_step = Resource::new(
        move || require_two_step.version().get(),
        |_| two_step_status(),
    );
    view! {
        <Title text="Verifications · Traceless" />
        <section class="page-head">
            <h1>"Verifications"</h1>
            <p class="muted">
                "Send a person a verification link. They prove who they are with the verifiable credential in "
                "Microsoft Authenticator, and you watch the result here."
            </p>
        </section>
        <div class="layout-two verifications-layout">
            <div class="stack">
                <SendForm send=send />
                <Suspense fallback=|| ()>
                    {move || Suspend::new(async move {
                        match user.await {
                            Ok(Some(me)) if me.is_admin() => Some(view! {
                                <SettingsPanel update=update_settings settings=settings />
                                <TwoStepRequirementPanel action=require_two_step status=two_step />
                            }),
                            _ => None,
                        }
                    })}
                </Suspense>
            </div>
            <section class="panel" aria-labelledby="list-title">
                <h2 id="list-title">"Your organization's verifications"</h2>
                <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                    {move || Suspend::new(async move {
                        match list.await {
                            Ok(items) if items.is_empty() => view! {
                                <p class="muted">"No verifications yet. Send the first one with the form."</p>
                            }.into_any(),
                            Ok(items) => view! { <VerificationList items=items /> }.into_any(),
                            Err(error) => view! { <ErrorView error /> }.into_any(),
                        }
                    })}
                </Transition>
            </section>
        </div>
    }
}

#[component]
fn VerificationList(items: Vec<VerificationSummary>) -> impl IntoView {
    view! {
        <ul class="verification-list" data-testid="verification-list">
            {items.into_iter().map(|v| {
                let href = format!("/organization/verifications/{}", v.id);
                let label = format!("{}: {}", v.recipient, v.status_label);
                let recipient = v.recipient.clone();
                view! {
                    <li class="verification-item" data-testid="verification-item" data-recipient=recipient>
                        <div class="verification-item-main">
                            <a href=href class="verification-recipient" aria-label=label rel="external">{v.recipient.clone()}</a>
                            <p class="muted small">
                                {match (v.ticket_reference.clone(), v.ticket_id.clone()) {
                                    (Some(t), Some(id)) => Some(view! {
                                        <a class="mono" href=format!("/organization/tickets/{id}") rel="external" aria-label=format!("Ticket {t}")>{t.clone()}</a> " · "
                                    }.into_any()),
                                    (Some(t), None) => Some(view! { <span class="mono">{t}</span> " · " }.into_any()),
                                    _ => None,
                                }}
                                "Started by " {v.started_by.clone()} ", " {v.started.clone()}
                            </p>
                        </div>
                        <StatusPill status=v.status />
                    </li>
                }
            }).collect_view()}
        </ul>
    }
}

#[component]
fn SendForm(send: ServerAction<SendVerification>) -> impl IntoView {
    let value = send.value();
    let ticket_error = field_error(value, "ticket_reference");
    let subject_error = field_error(value, "ticket_subject");
    let note_error = field_error(value, "note");
    view! {
        <section class="panel" aria-labelledby="send-title">
            <h2 id="send-title">"Send a verification"</h2>
            <p class="muted small">
                "The person must have an email address in a domain covered by your Microsoft connection, and the "
                "verifiable credential your organization uses in Microsoft Authenticator."
            </p>
            <FormAlert value=value />
            {move || value.get().and_then(Result::ok).map(|started| view! { <NewVerificationLink started=started /> })}
            <ActionForm action=send attr:class="form" attr:novalidate=true>
                <Field label="Recipient email" name="email" input_type="email" autocomplete="off" error=field_error(value, "email") />
                <div class="field" class:field-invalid=move || ticket_error.get().is_some()>
                    <label for="field-ticket_reference">"Ticket reference " <span class="muted small">"(optional)"</span></label>
                    <input
                        id="field-ticket_reference"
                        name="ticket_reference"
                        type="text"
                        autocomplete="off"
                        maxlength="100"
                        aria-invalid=move || ticket_error.get().is_some().then_some("true")
                        aria-describedby=move || ticket_error.get().is_some().then_some("field-ticket_reference-error")
                    />
                    <p class="field-error" id="field-ticket_reference-error" role="alert">{move || ticket_error.get()}</p>
                </div>
                <div class="field" class:field-invalid=move || subject_error.get().is_some()>
                    <label for="field-ticket_subject">"Ticket subject " <span class="muted small">"(optional)"</span></label>
                    <p class="hint" id="field-ticket_subject-hint">"Why you ask: shown on the ticket and in the mail to the person."</p>
                    <input
                        id="field-ticket_subject"
                        name="ticket_subject"
                        type="text"
                        autocomplete="off"
                        maxlength="200"
                        aria-invalid=move || subject_error.get().is_some().then_some("true")
                        aria-describedby=move || if subject_error.get().is_some() { "field-ticket_subject-hint field-ticket_subject-error" } else { "field-ticket_subject-hint" }
                    />
                    <p class="field-error" id="field-ticket_subject-error" role="alert">{move || subject_error.get()}</p>
                </div>
                <div class="field" class:field-invalid=move || note_error.get().is_some()>
                    <label for="field-note">"Note " <span class="muted small">"(optional)"</span></label>
                    <p class="hint" id="field-note-hint">"Only your team sees the note."</p>
                    <textarea
                        id="field-note"
                        name="note"
                        rows="3"
                        maxlength="500"
                        aria-invalid=move || note_error.get().is_some().then_some("true")
                        aria-describedby=move || if note_error.get().is_some() { "field-note-hint field-note-error" } else { "field-note-hint" }
                    ></textarea>
                    <p class="field-error" id="field-note-error" role="alert">{move || note_error.get()}</p>
                </div>
                <super::recovery::RecoveryChoice />
                <SubmitButton label="Send verification" busy_label="Sending…" pending=send.pending() />
            </ActionForm>
        </section>
    }
}

#[component]
fn NewVerificationLink(started: StartedVerification) -> impl IntoView {
    let href = format!("/organization/verifications/{}", started.id);
    let email = ServerAction::<EmailVerificationLink>::new();
    let emailed = email.value();
    let recipient = started.recipient.clone();
    let ticket = started
        .ticket_id
        .clone()
        .zip(started.ticket_reference.clone());
    let id = started.id.clone();
    let link_box = match started.link.clone() {
        Some(link) => view! {
            <p>
                "Verification link for " <strong>{started.recipient.clone()}</strong>
                ", valid until " {started.expires.clone()} ":"
            </p>
            <div class="link-box">
                <input type="text" readonly=true value=link.clone() aria-label="Verification link" data-testid="verification-link" />
                <CopyButton value=link.clone() />
                <ActionForm action=email attr:class="inline-form">
                    <input type="hidden" name="id" value=id />
                    <input type="hidden" name="link" value=link />
                    <button
                        type="submit"
                        class="button-secondary"
                        disabled=move || email.pending().get() || matches!(emailed.get(), Some(Ok(())))
                    >
                        {move || if email.pending().get() { "Sending…" } else { "Send by email" }}
                    </button>
                </ActionForm>
            </div>
        }
        .into_any(),
        // Account recovery: whoever holds the link could ask for the pass, so only the
        // person gets it, by mail.
        None => view! {
            <p data-testid="link-mailed-only">
                "The verification link is on its way to " <strong>{started.recipient.clone()}</strong>
                " by email, valid until " {started.expires.clone()}
                ". With account recovery only the person gets the link: it is not shown here."
            </p>
        }
        .into_any(),
    };
    view! {
        <div class="alert alert-success" role="status" data-testid="new-verification">
            {link_box}
            <p role="status" data-testid="email-status">
                {move || match emailed.get() {
                    Some(Ok(())) => Some(view! { <span>"The link is on its way to " {recipient.clone()} " by email."</span> }.into_any()),
                    Some(Err(error)) => Some(view! { <span class="field-error">{error.to_string()}</span> }.into_any()),
                    None => None,
                }}
            </p>
            <p class="small">{SECURITY_NOTE}</p>
            {ticket.map(|(id, reference)| view! {
                <p><a href=format!("/organization/tickets/{id}") rel="external">"Open ticket " {reference}</a></p>
            })}
            // A full page load: a client-side navigation started while the list refetches
            // was sometimes dropped by the router.
            <p><a href=href rel="external">"Follow this verification"</a></p>
        </div>
    }
}

/// Link lifetime and Face Check, for organization administrators.
#[component]
fn SettingsPanel(
    update: ServerAction<UpdateVerificationSettings>,
    settings: Resource<Result<VerificationSettings, AppError>>,
) -> impl IntoView {
    let value = update.value();
    view! {
        <section class="panel" aria-labelledby="settings-title">
            <h2 id="settings-title">"Verification settings"</h2>
            <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match settings.await {
                        Ok(current) => view! { <SettingsForm current=current update=update /> }.into_any(),
                        Err(error) => view! { <ErrorView error /> }.into_any(),
                    }
                })}
            </Suspense>
            <FormAlert value=value />
            {move || matches!(value.get(), Some(Ok(()))).then(|| view! { <Alert kind="success">"Settings saved. They apply to new verifications."</Alert> })}
        </section>
    }
}

#[component]
fn SettingsForm(
    current: VerificationSettings,
    update: ServerAction<UpdateVerificationSettings>,
) -> impl IntoView {
    let value = update.value();
    view! {
        <ActionForm action=update attr:class="form" attr:novalidate=true>
            <Field
                label="Link lifetime (hours)"
                name="link_lifetime_hours"
                input_type="number"
                hint="How long a verification link works: 1 to 720 hours."
                value=current.link_lifetime_hours.to_string()
                error=field_error(value, "link_lifetime_hours")
            />
            {match current.photo_claim.clone() {
                Some(photo) => view! { <SettingsThreshold current=current.face_check_threshold photo_claim=photo error=field_error(value, "face_check_threshold") /> }.into_any(),
                // Face Check compares the selfie with a photo on the credential: without one it
                // cannot work, so it is not offered (and stays off).
                None => view! {
                    <input type="hidden" name="face_check_threshold" value="" />
                    <p class="muted small" data-testid="face-check-unavailable">
                        "Face Check is not offered: the connected credential carries no photo to compare the person's face with."
                    </p>
                }.into_any(),
            }}
            <SubmitButton label="Save settings" busy_label="Saving…" pending=update.pending() class="button-secondary" />
        </ActionForm>
    }
}

/// Face Check is optional: an empty field turns it off.
#[component]
fn SettingsThreshold(
    current: Option<u8>,
    photo_claim: String,
    error: Signal<Option<String>>,
) -> impl IntoView {
    view! {
        <div class="field" class:field-invalid=move || error.get().is_some()>
            <label for="field-face_check_threshold">"Face Check threshold " <span class="muted small">"(optional)"</span></label>
            <p class="hint" id="field-face_check_threshold-hint">
                "50 to 100: how sure Microsoft must be that the person matches the photo on their credential (its "
                <span class="mono" data-testid="face-check-photo-claim">{photo_claim}</span>
                " claim). Leave empty to turn Face Check off."
            </p>
            <input
                id="field-face_check_threshold"
                name="face_check_threshold"
                type="number"
                min="50"
                max="100"
                value=current.map(|t| t.to_string())
                aria-invalid=move || error.get().is_some().then_some("true")
                aria-describedby=move || if error.get().is_some() { "field-face_check_threshold-hint field-face_check_threshold-error" } else { "field-face_check_threshold-hint" }
            />
            <p class="field-error" id="field-face_check_threshold-error" role="alert">{move || error.get()}</p>
        </div>
    }
}
