//! Account recovery's pieces of other pages (issue 21): the card on Integrations, the
//! permission on Team, the choice on the send form, the line on the agent's page, and the
//! person's one look at their Temporary Access Pass.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::api::recovery::{
    EnableAccountRecovery, RevealTemporaryAccessPass, SetAccountRecoveryPermission,
    SetAccountRecoveryPolicy, TurnOffAccountRecovery, account_recovery_card,
    account_recovery_members, account_recovery_outcome, may_start_account_recovery,
    person_recovery, verification_recovery,
};
use crate::components::{Alert, CopyButton, ErrorView, FormAlert, SubmitButton, field_error};

/// On the Integrations page, below a connected tenant, for administrators.
#[component]
pub fn AccountRecoveryCard() -> impl IntoView {
    let enable = ServerAction::<EnableAccountRecovery>::new();
    let turn_off = ServerAction::<TurnOffAccountRecovery>::new();
    let policy = ServerAction::<SetAccountRecoveryPolicy>::new();
    let policy_value = policy.value();
    let card = LocalResource::new(move || {
        turn_off.version().track();
        policy.version().track();
        account_recovery_card()
    });
    let query = use_query_map();
    let just_enabled = move || query.read().get("recovery").as_deref() == Some("enabled");
    let failure = LocalResource::new(move || {
        let code = query.read().get("recovery_error");
        async move {
            match code {
                Some(code) => account_recovery_outcome(code).await.ok().flatten(),
                None => None,
            }
        }
    });
    view! {
        <article class="panel" aria-labelledby="recovery-title" data-testid="recovery-card">
            <p class="eyebrow">"Account recovery"</p>
            <h2 id="recovery-title">"Temporary Access Pass after verification"</h2>
            <p>
                "After a person is verified with Face Check, Traceless can show them a Microsoft Entra Temporary Access Pass on their own page, "
                "so they can sign in and set up Microsoft Authenticator again. Your agents never see the pass."
            </p>
            {move || just_enabled().then(|| view! { <Alert kind="success">"Account recovery is on."</Alert> })}
            {move || failure.get().flatten().map(|message| view! {
                <div class="alert alert-error" role="alert" data-testid="recovery-problem">
                    <p><strong>"Account recovery was not enabled."</strong></p>
                    <p>{message}</p>
                </div>
            })}
            <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match card.await {
                        Ok(card) => {
                            let status = if card.enabled { "On" } else { "Off" };
                            view! {
                                <p data-testid="recovery-state">"Status: " <strong>{status}</strong></p>
                                {card.unavailable.clone().map(|why| view! {
                                    <Alert kind="info">{format!("Account recovery is not offered: {why}")}</Alert>
                                })}
                                <FormAlert value=enable.value() />
                                {if card.enabled {
                                    view! {
                                        <ActionForm action=policy attr:class="form" attr:aria-label="Account recovery policy">
                                            <label for="recovery-lifetime">"How long a pass works (minutes)"</label>
                                            <input id="recovery-lifetime" name="lifetime_minutes" type="number" inputmode="numeric"
                                                min=card.lifetime_min max=card.lifetime_max value=card.lifetime_minutes.to_string()
                                                aria-describedby="recovery-lifetime-hint" />
                                            <p id="recovery-lifetime-hint" class="muted small">{format!("From {} to {} minutes.", card.lifetime_min, card.lifetime_max)}</p>
                                            {move || field_error(policy_value, "lifetime_minutes").get().map(|e| view! { <p class="field-error" role="alert">{e}</p> })}
                                            <label class="checkbox">
                                                <input type="checkbox" name="one_time" checked=card.one_time />
                                                " Works for one sign-in only"
                                            </label>
                                            <label class="checkbox">
                                                <input type="checkbox" name="refuse_privileged" checked=card.refuse_privileged />
                                                " Never for accounts that hold an administrator role in Microsoft Entra"
                                            </label>
                                            <SubmitButton label="Save policy" busy_label="Saving…" pending=policy.pending() class="button-secondary" />
                                        </ActionForm>
                                        <FormAlert value=policy_value />
                                        <ActionForm action=turn_off>
                                            <SubmitButton label="Turn off" busy_label="Turning off…" pending=turn_off.pending() class="button-quiet" />
                                        </ActionForm>
                                        <p class="muted small">"Turning it off makes Traceless forget the permission. Your tenant's administrator can also remove the recovery app in Microsoft Entra."</p>
                                    }.into_any()
                                } else if card.unavailable.is_none() {
                                    view! {
                                        <ActionForm action=enable>
                                            <SubmitButton label="Enable account recovery" busy_label="Opening Microsoft…" pending=enable.pending() />
                                        </ActionForm>
                                        <p class="muted small">
                                            "A Global Administrator or Privileged Role Administrator of your tenant consents, at Microsoft, for a second Traceless app "
                                            "to find users and read their directory roles (User.Read.All) and to create Temporary Access Passes (UserAuthenticationMethod.ReadWrite.All)."
                                        </p>
                                    }.into_any()
                                } else {
                                    ().into_any()
                                }}
                            }.into_any()
                        }
                        Err(error) => view! { <ErrorView error /> }.into_any(),
                    }
                })}
            </Suspense>
        </article>
    }
}

/// On the Team page, for a member who is not an administrator (administrators may anyway):
/// "May start account recovery", which an administrator turns on or off. Shows nothing to
/// those who may not change it.
#[component]
pub fn RecoveryPermission(member_id: String, name: String) -> impl IntoView {
    let set = ServerAction::<SetAccountRecoveryPermission>::new();
    let allowed = {
        let member_id = member_id.clone();
        LocalResource::new(move || {
            set.version().track();
            let member_id = member_id.clone();
            async move {
                account_recovery_members()
                    .await
                    .map(|ids| ids.contains(&member_id))
            }
        })
    };
    move || {
        let member_id = member_id.clone();
        let name = name.clone();
        allowed.get().and_then(Result::ok).map(|allowed| {
            let label = if allowed {
                format!("Stop allowing account recovery for {name}")
            } else {
                format!("Allow account recovery for {name}")
            };
            view! {
                <ActionForm action=set attr:class="inline-form">
                    <input type="hidden" name="user_id" value=member_id />
                    <input type="hidden" name="allowed" value=if allowed { "false" } else { "true" } />
                    <span class="muted small" data-testid="recovery-permission">
                        {if allowed { "May start account recovery" } else { "May not start account recovery" }}
                    </span>
                    " "
                    <button type="submit" class="button-quiet" aria-label=label disabled=move || set.pending().get()>
                        {if allowed { "Stop allowing" } else { "Allow" }}
                    </button>
                </ActionForm>
                <FormAlert value=set.value() />
            }
        })
    }
}

/// On the send form: the choice, only for those who may start recovery while it is on.
#[component]
pub fn RecoveryChoice() -> impl IntoView {
    let may = LocalResource::new(may_start_account_recovery);
    move || {
        may.get().and_then(Result::ok).filter(|may| *may).map(|_| view! {
            <label class="checkbox" data-testid="recovery-choice">
                <input type="checkbox" name="after" value="temporary_access_pass" aria-describedby="recovery-choice-hint" />
                " Then issue a Temporary Access Pass"
            </label>
            <p id="recovery-choice-hint" class="muted small">
                "Once the person is verified with Face Check, their page shows them a pass to sign in and set up Authenticator again. The link then goes to them by email only; you will not see the link or the pass."
            </p>
        })
    }
}

/// While the agent's page waits for the person to ask for their pass, it looks again this often.
#[cfg(feature = "hydrate")]
const RECOVERY_REFRESH_MS: u32 = 4_000;

/// On the agent's page: what happened to the pass (never the pass).
#[component]
pub fn RecoveryStatus(id: String) -> impl IntoView {
    let tick = RwSignal::new(0u32);
    let line = LocalResource::new(move || {
        tick.track();
        verification_recovery(id.clone())
    });
    // The verification's own stream ends at "verified", before the person asks for the pass:
    // look again while the pass is still to come, so the page never stays on "waiting".
    #[cfg(feature = "hydrate")]
    {
        let poll = gloo_timers::callback::Interval::new(RECOVERY_REFRESH_MS, move || {
            let pending = line
                .try_get_untracked()
                .flatten()
                .and_then(Result::ok)
                .flatten()
                .is_some_and(|line| matches!(line.state.as_str(), "requested" | "issuing"));
            if pending {
                tick.try_update(|t| *t += 1);
            }
        });
        let poll = send_wrapper::SendWrapper::new(poll);
        on_cleanup(move || drop(poll));
    }
    move || {
        line.get().and_then(Result::ok).flatten().map(|line| {
            let kind = match line.state.as_str() {
                "issued" => "success",
                "refused" => "error",
                _ => "info",
            };
            view! {
                <div class=format!("alert alert-{kind}") role="status" data-testid="recovery-status"
                    data-state=line.state.clone() data-reason=line.reason.clone().unwrap_or_default()>
                    <p><strong>"Account recovery"</strong></p>
                    <p>{line.text}</p>
                </div>
            }
        })
    }
}

/// On the person's page once they are verified: their pass, shown once.
#[component]
pub fn PassOffer(token: String) -> impl IntoView {
    let reveal = ServerAction::<RevealTemporaryAccessPass>::new();
    let offer = {
        let token = token.clone();
        LocalResource::new(move || person_recovery(token.clone()))
    };
    view! {
        {move || match reveal.value().get() {
            Some(Ok(shown)) => view! {
                <section class="panel" aria-labelledby="pass-title" data-testid="pass">
                    <h2 id="pass-title">"Your Temporary Access Pass"</h2>
                    <p class="mono pass" data-testid="pass-value">{shown.pass.clone()}</p>
                    <CopyButton value=shown.pass.clone() label="Copy pass" />
                    <p>{format!("It works until {}{}. This page shows it only once: copy it or write it down now.",
                        shown.valid_until, if shown.one_time { ", for one sign-in" } else { "" })}</p>
                    <ol>
                        <li>"Go to the Microsoft sign-in page: " <a href="https://myaccount.microsoft.com" rel="noopener noreferrer">"myaccount.microsoft.com"</a></li>
                        <li>"Enter your work email, then this pass when asked for a password or code."</li>
                        <li>"Set up Microsoft Authenticator again at " <a href="https://aka.ms/mysecurityinfo" rel="noopener noreferrer">"aka.ms/mysecurityinfo"</a> "."</li>
                    </ol>
                </section>
            }.into_any(),
            Some(Err(error)) => view! { <Alert kind="error">{error.to_string()}</Alert> }.into_any(),
            None => {
                let token = token.clone();
                match offer.get().and_then(Result::ok).flatten() {
                    Some(view) if view.state == "offered" => view! {
                        <section class="panel" aria-labelledby="pass-offer-title" data-testid="pass-offer">
                            <h2 id="pass-offer-title">"Get back into your account"</h2>
                            <p>"Your help desk set up a Temporary Access Pass for you. It is shown only once, here."</p>
                            <button type="button" class="button-primary" disabled=move || reveal.pending().get()
                                on:click=move |_| { reveal.dispatch(RevealTemporaryAccessPass { token: token.clone() }); }>
                                "Show my Temporary Access Pass"
                            </button>
                        </section>
                    }.into_any(),
                    Some(view) if view.state == "shown" => view! {
                        <p class="muted" data-testid="pass-shown">"Your Temporary Access Pass was already shown once. If you did not save it, contact your help desk."</p>
                    }.into_any(),
                    Some(view) => view! {
                        <Alert kind="info">{view.message.unwrap_or_default()}</Alert>
                    }.into_any(),
                    None => ().into_any(),
                }
            }
        }}
    }
}
