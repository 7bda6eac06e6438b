//! `/account/two-step`: the person's two-step verification. Set it up (a QR code and the same
//! secret as text, then a code from the app), see the recovery codes once, make new ones, or
//! turn it off. A member whose organization requires it lands here after their password and
//! can do nothing else until it is set up.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

use crate::api::two_step::{
    BeginTwoStepSetup, DisableTwoStep, EnableTwoStep, RecoveryCodes, RegenerateRecoveryCodes,
    TwoStepSetup, TwoStepState, two_step_status,
};
use crate::components::{
    Alert, CopyButton, ErrorView, FormAlert, PasswordField, SubmitButton, field_error,
};

/// The six-digit code (or a recovery code) input: a phone offers its number pad and the
/// code from a text message or the app's autofill.
#[component]
pub(super) fn CodeField(
    label: &'static str,
    #[prop(optional)] hint: &'static str,
    #[prop(default = true)] numeric: bool,
    #[prop(into)] error: Signal<Option<String>>,
) -> impl IntoView {
    let described_by = move || {
        let mut ids = Vec::new();
        if !hint.is_empty() {
            ids.push("field-code-hint");
        }
        if error.get().is_some() {
            ids.push("field-code-error");
        }
        (!ids.is_empty()).then(|| ids.join(" "))
    };
    view! {
        <div class="field" class:field-invalid=move || error.get().is_some()>
            <label for="field-code">{label}</label>
            {(!hint.is_empty()).then(|| view! { <p class="hint" id="field-code-hint">{hint}</p> })}
            <input
                id="field-code"
                name="code"
                type="text"
                class="code-input"
                autocomplete="one-time-code"
                inputmode=if numeric { "numeric" } else { "text" }
                autocapitalize="off"
                spellcheck="false"
                required=true
                aria-invalid=move || error.get().is_some().then_some("true")
                aria-describedby=described_by
            />
            <p class="field-error" id="field-code-error" role="alert">{move || error.get()}</p>
        </div>
    }
}

#[component]
pub fn TwoStepPage() -> impl IntoView {
    let enable = ServerAction::<EnableTwoStep>::new();
    let disable = ServerAction::<DisableTwoStep>::new();
    let regenerate = ServerAction::<RegenerateRecoveryCodes>::new();
    let status = Resource::new(
        move || (enable.version().get(), disable.version().get()),
        |_| two_step_status(),
    );
    view! {
        <Title text="Two-step verification · Traceless" />
        <section class="page-head">
            <h1>"Two-step verification"</h1>
            <p class="muted">
                "After your password, Traceless asks for a code from an authenticator app on your phone "
                "(Microsoft Authenticator, Google Authenticator or any other TOTP app)."
            </p>
        </section>
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match status.await {
                    Ok(status) => view! { <TwoStepBody status enable disable regenerate /> }.into_any(),
                    Err(error) => view! { <ErrorView error panel=true /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn TwoStepBody(
    status: TwoStepState,
    enable: ServerAction<EnableTwoStep>,
    disable: ServerAction<DisableTwoStep>,
    regenerate: ServerAction<RegenerateRecoveryCodes>,
) -> impl IntoView {
    let enabled_codes = enable.value();
    let new_codes = regenerate.value();
    let shown_codes = move || match (enabled_codes.get(), new_codes.get()) {
        (Some(Ok(codes)), _) | (_, Some(Ok(codes))) => Some(codes),
        _ => None,
    };
    view! {
        // Part-way through signing in, the account page is not open to them yet.
        {(!status.setting_up_to_sign_in).then(|| view! {
            <p class="back"><A href="/account">"← Back to your account"</A></p>
        })}
        {status.setting_up_to_sign_in.then(|| view! {
            <Alert kind="info">"Your organization requires two-step verification. Set it up to finish signing in."</Alert>
        })}
        {move || match shown_codes() {
            Some(codes) => view! { <RecoveryCodesPanel codes /> }.into_any(),
            None if status.enabled => view! {
                <EnabledPanel status=status.clone() disable regenerate />
            }.into_any(),
            None => view! { <SetupPanel enable /> }.into_any(),
        }}
    }
}

#[component]
fn SetupPanel(enable: ServerAction<EnableTwoStep>) -> impl IntoView {
    let begin = ServerAction::<BeginTwoStepSetup>::new();
    let setup = begin.value();
    view! {
        <section class="panel narrow" aria-labelledby="setup-title">
            <h2 id="setup-title">"Set up two-step verification"</h2>
            <FormAlert value=setup />
            {move || match setup.get() {
                Some(Ok(setup)) => view! { <ScanAndConfirm setup enable /> }.into_any(),
                _ => view! {
                    <p>"You need an authenticator app on your phone. Traceless shows a QR code to scan with it."</p>
                    <ActionForm action=begin attr:class="form">
                        <SubmitButton label="Set up two-step verification" busy_label="Preparing…" pending=begin.pending() />
                    </ActionForm>
                }.into_any(),
            }}
        </section>
    }
}

#[component]
fn ScanAndConfirm(setup: TwoStepSetup, enable: ServerAction<EnableTwoStep>) -> impl IntoView {
    let value = enable.value();
    view! {
        <ol class="steps">
            <li>
                <p>"In your authenticator app, add an account and scan this QR code."</p>
                <div class="qr-image" role="img" aria-label="QR code to scan with your authenticator app" inner_html=setup.qr_svg></div>
            </li>
            <li>
                <p>"Cannot scan it? Choose to enter a setup key in the app, and type this key (a time-based key):"</p>
                <p class="mono secret-key" data-testid="two-step-secret">{setup.secret_text.clone()}</p>
                <CopyButton value=setup.secret_text.replace(' ', "") label="Copy key" />
            </li>
            <li>
                <p>"Enter the 6-digit code the app shows now, to prove it is set up."</p>
                <FormAlert value=value />
                <ActionForm action=enable attr:class="form" attr:novalidate=true>
                    <CodeField label="Code from the app" error=field_error(value, "code") />
                    <SubmitButton label="Turn on two-step verification" busy_label="Checking…" pending=enable.pending() />
                </ActionForm>
            </li>
        </ol>
    }
}

#[component]
fn RecoveryCodesPanel(codes: RecoveryCodes) -> impl IntoView {
    let all = codes.codes.join("\n");
    view! {
        <section class="panel narrow" aria-labelledby="codes-title">
            <h2 id="codes-title">"Your recovery codes"</h2>
            <Alert kind="success">"Two-step verification is on."</Alert>
            <p>
                "If you lose your phone, sign in with one of these codes instead of a code from the app. "
                "Each works once. Keep them somewhere safe, such as a password manager: they are shown only now."
            </p>
            <ol class="recovery-codes mono" data-testid="recovery-codes">
                {codes.codes.into_iter().map(|c| view! { <li>{c}</li> }).collect_view()}
            </ol>
            <div class="row-actions">
                <CopyButton value=all label="Copy codes" />
                {match codes.continue_to {
                    // A full page load: the header and every page read the new session.
                    Some(href) => view! { <a href=href rel="external" class="button-primary">"Continue to Traceless"</a> }.into_any(),
                    None => view! { <a href="/account/two-step" rel="external" class="button-secondary">"Done"</a> }.into_any(),
                }}
            </div>
        </section>
    }
}

#[component]
fn EnabledPanel(
    status: TwoStepState,
    disable: ServerAction<DisableTwoStep>,
    regenerate: ServerAction<RegenerateRecoveryCodes>,
) -> impl IntoView {
    let regenerated = regenerate.value();
    let disabled = disable.value();
    let recovery = RwSignal::new(false);
    view! {
        <section class="panel narrow" aria-labelledby="on-title">
            <h2 id="on-title">"Two-step verification is on"</h2>
            <p data-testid="recovery-codes-left">
                {format!("You have {} unused recovery codes.", status.recovery_codes_left)}
            </p>
            {status.required.then(|| view! {
                <p class="muted">"Your organization requires two-step verification for everyone."</p>
            })}
        </section>
        <section class="panel narrow" aria-labelledby="regenerate-title">
            <h2 id="regenerate-title">"New recovery codes"</h2>
            <p>"Make ten new codes if you used some or think someone saw them. The old ones stop working."</p>
            <FormAlert value=regenerated />
            <ActionForm action=regenerate attr:class="form" attr:novalidate=true>
                <CodeField label="Code from the app" error=field_error(regenerated, "code") />
                <SubmitButton label="Make new recovery codes" busy_label="Making…" pending=regenerate.pending() class="button-secondary" />
            </ActionForm>
        </section>
        {(!status.required).then(|| view! {
            <section class="panel narrow" aria-labelledby="off-title">
                <h2 id="off-title">"Turn off two-step verification"</h2>
                <p>"Your account is then protected by your password alone."</p>
                <FormAlert value=disabled />
                <ActionForm action=disable attr:class="form" attr:novalidate=true>
                    <PasswordField label="Password" name="password" autocomplete="current-password" error=field_error(disabled, "password") />
                    <CodeField label="Code from the app, or a recovery code" numeric=false error=field_error(disabled, "code") />
                    <div class="field field-check">
                        <input type="checkbox" id="field-recovery" name="recovery" value="true" prop:checked=move || recovery.get() on:change=move |_| recovery.update(|r| *r = !*r) />
                        <label for="field-recovery">"This is a recovery code"</label>
                    </div>
                    <SubmitButton label="Turn off two-step verification" busy_label="Turning off…" pending=disable.pending() class="button-danger" />
                </ActionForm>
            </section>
        })}
    }
}
