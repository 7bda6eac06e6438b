//! `/organization/integrations`: the Microsoft Verified ID connection card.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

use crate::api::integrations::{
    ChooseMicrosoftConnection, RefreshMicrosoftConnection, RemoveMicrosoftIntegration,
    SetMicrosoftEmailClaim, SignInMicrosoftAnotherAccount, StartMicrosoftConnect,
    microsoft_connection_card,
};
use crate::components::{Alert, ErrorView, FormAlert, SubmitButton, field_error};
use crate::model::{
    ChoiceOption, ConnectOutcome, EmailChoice, MicrosoftCard, MicrosoftConnection, PendingChoice,
};

pub const NOT_ADMIN_TEXT: &str = "You must be an organization administrator in Traceless to connect integrations. Ask your Traceless organization administrator to connect Microsoft Verified ID or to grant you the appropriate access.";
const TROUBLESHOOTING: &str = "The handoff back to Traceless can fail if the session was interrupted or if Microsoft could not complete authorization. Try starting again from Step 1. If it keeps failing, confirm with your Microsoft administrator that Verified ID is configured for your tenant and that the account you use can consent to the connection.";

#[component]
pub fn IntegrationsPage() -> impl IntoView {
    let remove = ServerAction::<RemoveMicrosoftIntegration>::new();
    let choose = ServerAction::<ChooseMicrosoftConnection>::new();
    let set_claim = ServerAction::<SetMicrosoftEmailClaim>::new();
    let refresh = ServerAction::<RefreshMicrosoftConnection>::new();
    let card = Resource::new(
        move || {
            (
                remove.version().get(),
                choose.version().get(),
                set_claim.version().get(),
                refresh.version().get(),
            )
        },
        |_| microsoft_connection_card(),
    );
    view! {
        <Title text="Integrations · Traceless" />
        <section class="page-head">
            <h1>"Integrations"</h1>
            <p class="muted">"Connect the services Traceless uses to verify people."</p>
        </section>
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match card.await {
                    Ok(card) => {
                        // Account recovery hangs off a connected tenant, for administrators.
                        let recovery = card.can_manage && card.connection.is_some();
                        view! {
                            <MicrosoftCardView card=card remove=remove choose=choose set_claim=set_claim refresh=refresh />
                            {recovery.then(|| view! { <super::recovery::AccountRecoveryCard /> })}
                        }.into_any()
                    }
                    Err(error) => view! { <ErrorView error /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn MicrosoftCardView(
    card: MicrosoftCard,
    remove: ServerAction<RemoveMicrosoftIntegration>,
    choose: ServerAction<ChooseMicrosoftConnection>,
    set_claim: ServerAction<SetMicrosoftEmailClaim>,
    refresh: ServerAction<RefreshMicrosoftConnection>,
) -> impl IntoView {
    let connect = ServerAction::<StartMicrosoftConnect>::new();
    let connect_value = connect.value();
    let has_failed = matches!(card.outcome, Some(ConnectOutcome::Failed { .. }));
    let has_pending = card.pending.is_some();
    let failed = match &card.outcome {
        Some(ConnectOutcome::Failed { code, detail }) => Some((code.clone(), detail.clone())),
        _ => None,
    };
    let just_connected =
        matches!(card.outcome, Some(ConnectOutcome::Connected)) && card.connection.is_some();
    let can_manage = card.can_manage;
    let connect_button = move |label: &'static str| {
        view! {
            <ActionForm action=connect>
                <TenantField error=field_error(connect_value, "tenant") />
                <SubmitButton label=label busy_label="Opening Microsoft…" pending=connect.pending() />
            </ActionForm>
        }
    };
    // Consent is in place but the account may not read Verified ID: the sign-in leg again.
    let another_account = ServerAction::<SignInMicrosoftAnotherAccount>::new();
    let another_account_value = another_account.value();
    let wrong_account = matches!(&card.outcome, Some(ConnectOutcome::Failed { code, .. }) if code == "admin_api_role_missing");
    view! {
        <article class="panel integration" aria-labelledby="microsoft-title" data-testid="microsoft-card">
            <div class="integration-head">
                <span class="integration-logo" aria-hidden="true">
                    <span></span><span></span><span></span><span></span>
                </span>
                <div>
                    <p class="eyebrow">"Microsoft Entra Verified ID"</p>
                    <h2 id="microsoft-title">"Connect Your Azure AD Tenant to Microsoft Verified ID"</h2>
                </div>
                {match &card.connection {
                    Some(c) if c.active => view! { <span class="status status-active">"Active"</span> }.into_any(),
                    Some(_) => view! { <span class="status status-warning">"Not active"</span> }.into_any(),
                    None if card.pending.is_some() => view! { <span class="status status-warning">"Choice needed"</span> }.into_any(),
                    None => view! { <span class="status">"Not connected"</span> }.into_any(),
                }}
            </div>
            <p>
                "With Microsoft Verified ID, the person you verify proves who they are with a verifiable credential "
                "in Microsoft Authenticator on their phone. Microsoft tells Traceless when the presentation succeeds, "
                "and Traceless checks that the credential's email is the person you meant to verify."
            </p>
            <FormAlert value=connect_value />
            {failed.map(|(code, detail)| view! {
                <div class="alert alert-error" role="alert" data-testid="connect-problem" data-code=code>
                    <p><strong>"We could not finish connecting your tenant."</strong></p>
                    <p>{detail}</p>
                    <p>{TROUBLESHOOTING}</p>
                    {(can_manage && wrong_account).then(|| view! {
                        <ActionForm action=another_account>
                            <SubmitButton label="Sign in with another account" busy_label="Opening Microsoft…" pending=another_account.pending() />
                        </ActionForm>
                        <FormAlert value=another_account_value />
                    })}
                    {can_manage.then(|| connect_button("Start again"))}
                </div>
            })}
            {just_connected.then(|| view! { <Alert kind="success">"Your Microsoft tenant is connected."</Alert> })}
            {match (card.pending, can_manage) {
                (Some(pending), true) => Some(view! { <ChooseCredential pending=pending choose=choose /> }),
                _ => None,
            }}
            {match card.connection {
                Some(connection) => view! { <ActiveConnection connection=connection can_manage=can_manage remove=remove set_claim=set_claim refresh=refresh /> }.into_any(),
                // Waiting for the admin's choice: the form above is the way forward.
                None if can_manage && has_pending => ().into_any(),
                None if can_manage => view! {
                    // After a failure, "Start again" above is the one way forward.
                    {(!has_failed).then(|| view! { <div class="integration-actions">{connect_button("Log in to your tenant")}</div> })}
                    <p class="muted small">
                        "You will sign in at Microsoft with an administrator account of your tenant and consent for Traceless to read your "
                        "organization's verified domains and Verified ID setup, and to request credential presentations."
                    </p>
                }.into_any(),
                None => view! { <Alert kind="info">{NOT_ADMIN_TEXT}</Alert> }.into_any(),
            }}
            <p class="integration-links">
                <A href="/organization/integrations/microsoft/setup">"Setup Instructions"</A>
            </p>
        </article>
    }
}

#[component]
fn ActiveConnection(
    connection: MicrosoftConnection,
    can_manage: bool,
    remove: ServerAction<RemoveMicrosoftIntegration>,
    set_claim: ServerAction<SetMicrosoftEmailClaim>,
    refresh: ServerAction<RefreshMicrosoftConnection>,
) -> impl IntoView {
    let confirming = RwSignal::new(false);
    let remove_value = remove.value();
    let claim_value = set_claim.value();
    let active = connection.active;
    let linked_domain_verified = connection.linked_domain_verified;
    let current_claim = connection.email_claim.clone();
    let claims = connection.email_choices.clone();
    view! {
        <section class="active" aria-labelledby="active-title" data-testid="microsoft-connection" data-active=active.to_string()>
            {if active {
                view! { <h3 id="active-title">"Microsoft Verified ID is active"</h3> }.into_any()
            } else if !linked_domain_verified {
                view! {
                    <h3 id="active-title">"Microsoft Verified ID is connected but not active"</h3>
                    <div class="alert alert-warning" role="alert" data-testid="linked-domain-unverified">
                        <p><strong>"The linked domain of your Verified ID authority is not verified."</strong></p>
                        <p>
                            "Traceless asks Microsoft to accept only credentials whose issuer has a verified linked domain, so Microsoft would refuse every presentation. "
                            "Ask your Microsoft administrator to verify the linked domain (Microsoft Entra admin center → Verified ID → Setup → Verify domain ownership), then log in to your tenant again."
                        </p>
                    </div>
                }.into_any()
            } else {
                view! {
                    <h3 id="active-title">"Microsoft Verified ID is connected but not active"</h3>
                }.into_any()
            }}
            <Freshness connection=connection.clone() can_manage=can_manage refresh=refresh />
            <EmailSourceNotice connection=connection.clone() can_manage=can_manage set_claim=set_claim />
            <p>{if active { "People whose email is in these domains can be verified:" } else { "Once it is active, people whose email is in these domains can be verified:" }}</p>
            <ul class="domains" aria-label="Covered domains">
                {connection.domains.iter().map(|d| view! { <li>{d.clone()}</li> }).collect_view()}
            </ul>
            <dl class="facts">
                <dt>"Microsoft tenant"</dt>
                <dd>{connection.tenant_name.clone()} <span class="muted small">" (" {connection.tenant_id.clone()} ")"</span></dd>
                <dt>"Connected by"</dt>
                <dd>{connection.connected_by.clone()} " on " {connection.connected_at.clone()}
                    {(!connection.microsoft_account.is_empty()).then(|| view! { <span class="muted small">" (Microsoft account " {connection.microsoft_account.clone()} ")"</span> })}
                </dd>
                <dt>"Verified ID authority"</dt>
                <dd class="mono">{connection.authority_did.clone()}</dd>
                <dt>"Credential requested"</dt>
                <dd data-testid="credential-type">{connection.credential_type.clone()}</dd>
                <dt>"Credential types your authority offers"</dt>
                <dd data-testid="credential-types">{connection.credential_types.join(", ")}</dd>
                <dt>"Email claim"</dt>
                <dd class="mono" data-testid="email-claim">{connection.email_claim.clone()}</dd>
                <dt>"Email source"</dt>
                <dd data-testid="email-source" data-directory=connection.email_directory_backed.to_string()>
                    {connection.email_source.clone()}
                    {connection.email_source_accepted.then(|| view! { <span class="status status-warning small">" Accepted by an administrator"</span> })}
                </dd>
            </dl>
            {(can_manage && claims.len() > 1 && connection.email_usable).then(|| view! {
                <details class="change-claim">
                    <summary>"Change the email claim"</summary>
                    <ActionForm action=set_claim>
                        <div class="field">
                            <label for="field-email_claim">"Claim that holds the person's email address"</label>
                            <p class="hint" id="field-email_claim-hint">"Traceless compares this claim of the presented credential with the email address a verification was sent to."</p>
                            <select id="field-email_claim" name="email_claim" aria-describedby="field-email_claim-hint">
                                {claims.iter().map(|c| view! { <option value=c.claim.clone() selected=c.claim == current_claim>{format!("{} (from {})", c.claim, c.source)}</option> }).collect_view()}
                            </select>
                        </div>
                        {claims.iter().any(|c| !c.directory_backed).then(|| view! { <UncheckedEmailConsent /> })}
                        <FormAlert value=claim_value />
                        <SubmitButton label="Save email claim" busy_label="Saving…" pending=set_claim.pending() class="button-secondary" />
                    </ActionForm>
                </details>
            })}
            {(can_manage && !active).then(|| view! {
                <div class="integration-actions">
                    <ReconnectButton />
                </div>
            })}
            <FormAlert value=remove_value />
            {can_manage.then(|| view! {
                <Show
                    when=move || confirming.get()
                    fallback=move || view! {
                        <button type="button" class="button-danger-quiet" on:click=move |_| confirm_open(confirming)>"Delete"</button>
                    }
                >
                    <div class="confirm" role="alertdialog" aria-modal="false" aria-labelledby="confirm-title" aria-describedby="confirm-text">
                        <h4 id="confirm-title">"Delete the Microsoft Verified ID integration?"</h4>
                        <p id="confirm-text">
                            "Traceless will forget this tenant and its domains. Pending Microsoft verifications stop and their links no longer work. "
                            "You can connect again later."
                        </p>
                        <div class="confirm-actions">
                            <ActionForm action=remove>
                                <SubmitButton label="Delete integration" busy_label="Deleting…" pending=remove.pending() class="button-danger" />
                            </ActionForm>
                            <button type="button" class="button-secondary" on:click=move |_| confirming.set(false)>"Keep it"</button>
                        </div>
                    </div>
                </Show>
            })}
        </section>
    }
}

/// What the reads from Microsoft left: an unconfirmed linked domain (a quiet note), domains
/// that left the tenant, a failed refresh with when Microsoft last confirmed the connection,
/// and "Refresh from Microsoft" for administrators.
#[component]
fn Freshness(
    connection: MicrosoftConnection,
    can_manage: bool,
    refresh: ServerAction<RefreshMicrosoftConnection>,
) -> impl IntoView {
    let value = refresh.value();
    let removed = connection.removed_domains.clone();
    view! {
        {(connection.active && connection.linked_domain_unconfirmed).then(|| view! {
            <p class="muted small" data-testid="linked-domain-unconfirmed">
                "Microsoft did not confirm that your Verified ID authority's linked domain is verified. "
                "Traceless asks Microsoft to check it each time someone presents a credential; if it is not verified, Microsoft refuses the presentation."
            </p>
        })}
        {(!removed.is_empty()).then(|| view! {
            <div class="alert alert-warning" role="status" data-testid="domains-removed">
                <p><strong>{format!("Microsoft no longer lists {} for your tenant.", removed.join(", "))}</strong></p>
                <p>
                    "Traceless stopped covering these domains"
                    {connection.domains_removed_at.clone().map(|at| format!(" on {at}"))}
                    ": new verifications to them are refused. If this is a mistake, ask your Microsoft admin to add or verify the domain, then refresh from Microsoft."
                </p>
            </div>
        })}
        {connection.refresh_problem.clone().map(|problem| view! {
            <div class="alert alert-warning" role="status" data-testid="refresh-problem">
                <p><strong>"Traceless could not refresh this connection from Microsoft."</strong></p>
                <p>{problem}</p>
                <p>"The domains and settings below are the last ones Microsoft confirmed."</p>
            </div>
        })}
        {connection.authority_sign_in_needed.then(|| view! {
            <AuthoritySignInNeeded connection=connection.clone() can_manage=can_manage />
        })}
        <p class="muted small" data-testid="last-confirmed">
            {match connection.last_confirmed_at.clone() {
                Some(at) => format!("Last confirmed with Microsoft on {at}."),
                None => "Not yet confirmed with Microsoft since it was connected.".to_string(),
            }}
            {if connection.authority_reread_daily {
                " Traceless re-reads your tenant's domains, Verified ID authority and credential types from Microsoft every day."
            } else {
                " Traceless re-reads your tenant's domains from Microsoft every day; your Verified ID authority and credential types are re-read when an administrator signs in (Log in to your tenant again)."
            }}
        </p>
        {can_manage.then(|| view! {
            <ActionForm action=refresh>
                <FormAlert value=value />
                <SubmitButton label="Refresh from Microsoft" busy_label="Refreshing…" pending=refresh.pending() class="button-secondary" />
            </ActionForm>
        })}
    }
}

/// The kept sign-in stopped working (expired, revoked): what Microsoft last confirmed stays,
/// and an administrator signs in again (the sign-in leg, with Microsoft's account picker) to
/// re-read the authority and keep a new sign-in.
#[component]
fn AuthoritySignInNeeded(connection: MicrosoftConnection, can_manage: bool) -> impl IntoView {
    let sign_in = ServerAction::<SignInMicrosoftAnotherAccount>::new();
    let value = sign_in.value();
    view! {
        <div class="alert alert-warning" role="status" data-testid="authority-sign-in-needed">
            <p><strong>
                {match connection.authority_confirmed_at.clone() {
                    Some(at) => format!("Last confirmed with Microsoft on {at}. "),
                    None => String::new(),
                }}
                "Sign in again to re-read the authority."
            </strong></p>
            <p>
                "Microsoft no longer accepts the sign-in Traceless kept to re-read your Verified ID authority and credential types "
                "(it expired or was revoked). Until an administrator signs in again, Traceless keeps what Microsoft last confirmed."
            </p>
            {can_manage.then(|| view! {
                <ActionForm action=sign_in>
                    <input type="hidden" name="tenant" value=connection.tenant_id.clone() />
                    <SubmitButton label="Sign in again" busy_label="Opening Microsoft…" pending=sign_in.pending() class="button-secondary" />
                </ActionForm>
                <FormAlert value=value />
            })}
        </div>
    }
}

/// "Log in to your tenant" again, e.g. after the linked domain was verified.
#[component]
fn ReconnectButton() -> impl IntoView {
    let connect = ServerAction::<StartMicrosoftConnect>::new();
    let value = connect.value();
    view! {
        <ActionForm action=connect>
            <FormAlert value=value />
            <SubmitButton label="Log in to your tenant again" busy_label="Opening Microsoft…" pending=connect.pending() class="button-secondary" />
        </ActionForm>
    }
}

/// Several authorities or credential types: the admin picks the one Traceless asks for.
#[component]
fn ChooseCredential(
    pending: PendingChoice,
    choose: ServerAction<ChooseMicrosoftConnection>,
) -> impl IntoView {
    let value = choose.value();
    let options = pending.options.clone();
    let selected = RwSignal::new(None::<usize>);
    let claims_of = {
        let options = options.clone();
        move || selected.get().and_then(|i| options.get(i).cloned())
    };
    view! {
        <section class="choose" aria-labelledby="choose-title" data-testid="choose-credential">
            <h3 id="choose-title">"Choose the credential Traceless asks for"</h3>
            <p>
                "Your tenant " <strong>{pending.tenant_name.clone()}</strong>
                " granted every permission Traceless needs and offers more than one Verified ID authority or credential type. "
                "Pick the one your people hold in Microsoft Authenticator. This choice is offered until " {pending.expires_at.clone()} "."
            </p>
            <ActionForm action=choose>
                <fieldset class="options">
                    <legend>"Credential and issuing authority"</legend>
                    {options.iter().enumerate().map(|(i, o)| view! { <OptionRadio index=i option=o.clone() selected=selected /> }).collect_view()}
                </fieldset>
                {move || claims_of().map(|o: ChoiceOption| {
                    let default = o.default_email_claim.clone();
                    view! {
                        <div class="field">
                            <label for="field-email_claim">"Claim that holds the person's email address"</label>
                            <p class="hint" id="field-email_claim-hint">
                                {match &default {
                                    Some(d) => format!("Traceless compares the {d} claim with the verification's email address unless you pick another."),
                                    None => "This credential has no claim named like an email address: pick the one that holds it.".to_string(),
                                }}
                            </p>
                            <select id="field-email_claim" name="email_claim" aria-describedby="field-email_claim-hint" required=default.is_none()>
                                {default.is_none().then(|| view! { <option value="">"Choose a claim…"</option> })}
                                {o.email_choices.iter().map(|c| view! { <option value=c.claim.clone() selected=Some(&c.claim) == default.as_ref()>{format!("{} (from {})", c.claim, c.source)}</option> }).collect_view()}
                            </select>
                            {o.email_choices.is_empty().then(|| view! {
                                <p class="field-error" role="alert">"No claim of this credential comes from your directory or a source you could accept: a claim the holder types in is never used."</p>
                            })}
                        </div>
                        {o.email_choices.iter().any(|c| !c.directory_backed).then(|| view! { <UncheckedEmailConsent /> })}
                    }
                })}
                <FormAlert value=value />
                <SubmitButton label="Use this credential" busy_label="Connecting…" pending=choose.pending() />
            </ActionForm>
            <p class="muted small">"Not the tenant you meant, or something changed at Microsoft? Start over:"</p>
            <ReconnectButton />
        </section>
    }
}

#[component]
fn OptionRadio(
    index: usize,
    option: ChoiceOption,
    selected: RwSignal<Option<usize>>,
) -> impl IntoView {
    let id = format!("option-{index}");
    let value = format!("{} {}", option.authority_id, option.credential_type);
    view! {
        <div class="option">
            <input
                type="radio"
                name="option"
                id=id.clone()
                value=value
                required=true
                data-testid=format!("option-{}", option.authority_did)
                on:change=move |_| selected.set(Some(index))
            />
            <label for=id>
                <strong>{option.credential_type.clone()}</strong>
                " issued by " {if option.authority_name.is_empty() { "an authority".to_string() } else { option.authority_name.clone() }}
                <span class="mono small">" " {option.authority_did.clone()}</span>
                {(!option.linked_domain_verified).then(|| view! {
                    <span class="status status-warning small">"Linked domain not verified"</span>
                })}
            </label>
        </div>
    }
}

/// Where the connected credential's email comes from, when it cannot be used as it is: the
/// reason, what the Microsoft admin can do, and (for a source an admin may accept) the
/// explicit choice with its warning.
#[component]
fn EmailSourceNotice(
    connection: MicrosoftConnection,
    can_manage: bool,
    set_claim: ServerAction<SetMicrosoftEmailClaim>,
) -> impl IntoView {
    if connection.email_usable {
        return ().into_any();
    }
    let value = set_claim.value();
    let acceptable: Vec<EmailChoice> = connection
        .email_choices
        .iter()
        .filter(|c| !c.directory_backed)
        .cloned()
        .collect();
    let current = connection.email_claim.clone();
    view! {
        <div class="alert alert-warning" role="alert" data-testid="email-not-from-directory">
            <p><strong>"The email on this credential is not checked against your directory."</strong></p>
            <p>
                "The " {connection.credential_type.clone()} " credential's email comes from " {connection.email_source.clone()}
                ". Traceless matches people by that email, so it must come from your directory: otherwise anyone who can get this credential can claim any address."
            </p>
            <p>
                "What your Microsoft administrator can do: issue the VerifiedEmployee credential (Microsoft Entra admin center → Verified ID → Setup → Verified employee), "
                "or map the email of your credential from your directory (an accessTokens attestation, or idTokens from your own Microsoft Entra sign-in). Then log in to your tenant again."
            </p>
        </div>
        {(can_manage && !acceptable.is_empty()).then(|| view! {
            <section class="choose" data-testid="accept-unchecked-email">
                <h4>"Use this email anyway"</h4>
                <ActionForm action=set_claim>
                    <div class="field">
                        <label for="field-unchecked_email_claim">"Claim that holds the person's email address"</label>
                        <select id="field-unchecked_email_claim" name="email_claim">
                            {acceptable.iter().map(|c| view! { <option value=c.claim.clone() selected=c.claim == current>{format!("{} (from {})", c.claim, c.source)}</option> }).collect_view()}
                        </select>
                    </div>
                    <UncheckedEmailConsent />
                    <FormAlert value=value />
                    <SubmitButton label="Use this email anyway" busy_label="Saving…" pending=set_claim.pending() class="button-secondary" />
                </ActionForm>
            </section>
        })}
    }
    .into_any()
}

/// The warning an admin must tick before an email not checked against the directory is used.
#[component]
fn UncheckedEmailConsent() -> impl IntoView {
    view! {
        <div class="field checkbox" data-testid="unchecked-email-warning">
            <p class="alert alert-warning">
                <strong>"Warning: "</strong>
                "this email is not checked against your directory: anyone who can get this credential can claim any address."
            </p>
            <label>
                <input type="checkbox" name="accept_unchecked_email" value="true" />
                " I understand, and accept an email that is not checked against our directory (this is recorded in the audit log)."
            </label>
        </div>
    }
}

/// Opens the confirmation and moves keyboard focus to it.
fn confirm_open(confirming: RwSignal<bool>) {
    confirming.set(true);
    #[cfg(feature = "hydrate")]
    request_animation_frame(|| {
        if let Some(button) = document()
            .query_selector(".confirm .button-danger")
            .ok()
            .flatten()
        {
            use wasm_bindgen::JsCast;
            if let Ok(button) = button.dyn_into::<web_sys::HtmlElement>() {
                let _ = button.focus();
            }
        }
    });
}

/// The optional "tenant domain or ID": the admin consent goes to that tenant instead of
/// letting Microsoft find it from the account (an administrator whose account lives in
/// another tenant, or a tenant run by a personal Microsoft account).
#[component]
fn TenantField(error: Signal<Option<String>>) -> impl IntoView {
    view! {
        // Open while it holds an error, so the message is seen.
        <details class="tenant-field" open=move || error.get().is_some()>
            <summary>"Your administrator account is not in the tenant?"</summary>
            <div class="field" class:field-invalid=move || error.get().is_some()>
                <label for="field-tenant">"Tenant domain or ID (optional)"</label>
                <p class="hint" id="field-tenant-hint">
                    "For example contoso.onmicrosoft.com or the tenant ID from the Microsoft Entra admin center. "
                    "Leave it empty to use the tenant of the account you sign in with."
                </p>
                <input id="field-tenant" name="tenant" type="text" inputmode="url" autocomplete="off"
                    autocapitalize="none" spellcheck="false" data-testid="tenant-field"
                    aria-invalid=move || error.get().is_some().then_some("true")
                    aria-describedby=move || if error.get().is_some() { "field-tenant-hint field-tenant-error" } else { "field-tenant-hint" } />
                <p class="field-error" id="field-tenant-error" role="alert">{move || error.get()}</p>
            </div>
        </details>
    }
}
