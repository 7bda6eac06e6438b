//! Team management, for organization administrators only (the server refuses the
//! rest; this page just explains it).

use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::team::{
    ChangeTeammateRole, InviteTeammate, RemoveTeammate, RenewInvite, team_members,
};
use crate::api::two_step_reset::ResetTeammateTwoStep;
use crate::components::{
    Alert, CopyButton, ErrorView, Field, FormAlert, SubmitButton, field_error,
};
use crate::model::{InviteLink, Role, Team};

#[component]
pub fn TeamPage() -> impl IntoView {
    let invite = ServerAction::<InviteTeammate>::new();
    let renew = ServerAction::<RenewInvite>::new();
    let remove = ServerAction::<RemoveTeammate>::new();
    let change_role = ServerAction::<ChangeTeammateRole>::new();
    let reset_two_step = ServerAction::<ResetTeammateTwoStep>::new();
    let members = Resource::new(
        move || {
            (
                invite.version().get(),
                renew.version().get(),
                remove.version().get(),
                change_role.version().get(),
                reset_two_step.version().get(),
            )
        },
        |_| team_members(),
    );
    view! {
        <Title text="Team · Traceless" />
        <section class="page-head">
            <h1>"Team"</h1>
            <p class="muted">"Organization administrators connect integrations and manage the team. Agents start and follow verifications."</p>
        </section>
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match members.await {
                    Ok(team) => view! { <TeamView team=team invite=invite renew=renew remove=remove change_role=change_role reset_two_step=reset_two_step /> }.into_any(),
                    Err(error) => view! { <ErrorView error panel=true /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn TeamView(
    team: Team,
    invite: ServerAction<InviteTeammate>,
    renew: ServerAction<RenewInvite>,
    remove: ServerAction<RemoveTeammate>,
    change_role: ServerAction<ChangeTeammateRole>,
    reset_two_step: ServerAction<ResetTeammateTwoStep>,
) -> impl IntoView {
    let invite_value = invite.value();
    let reset_value = reset_two_step.value();
    let remove_value = remove.value();
    let change_role_value = change_role.value();
    let renew_value = renew.value();
    let has_pending = !team.pending.is_empty();
    view! {
        <div class="layout-two">
            <section class="panel" aria-labelledby="members-title">
                <h2 id="members-title">"Members"</h2>
                <FormAlert value=remove_value />
                <FormAlert value=change_role_value />
                <FormAlert value=reset_value />
                {move || reset_value.get().and_then(Result::ok).map(|name| view! {
                    <Alert kind="success">
                        "Two-step verification is reset for " {name.clone()} ", who is signed out everywhere. "
                        {name.clone()} " now signs in with their password and can set it up again."
                    </Alert>
                })}
                <ul class="people">
                    {team.members.into_iter().map(|m| {
                        let (new_role, role_button) = match m.role {
                            Role::Admin => (Role::Agent, "Make agent"),
                            Role::Agent => (Role::Admin, "Make administrator"),
                        };
                        let role_label = format!("{role_button}: {}", m.name);
                        let remove_label = format!("Remove {}", m.name);
                        let (role_id, remove_id, reset_id) = (m.id.clone(), m.id.clone(), m.id.clone());
                        let recovery_member = (m.role == Role::Agent).then(|| (m.id.clone(), m.name.clone()));
                        let reset_question = format!(
                            "Reset two-step verification for {}? Their authenticator app and recovery codes stop working and they are signed out everywhere.",
                            m.name
                        );
                        let reset_label = format!("Reset two-step verification for {}", m.name);
                        view! {
                        <li class="person">
                            <div>
                                <p class="person-name">{m.name.clone()} {m.is_you.then_some(" (you)")}</p>
                                <p class="muted">{m.email.clone()}</p>
                                <p class="muted small" data-testid="two-step-state">
                                    {if m.two_step { "Two-step verification: on" } else { "Two-step verification: off" }}
                                </p>
                            </div>
                            <span class=format!("badge badge-{}", m.role.form_value())>{m.role.label()}</span>
                            {(!m.is_you).then(|| view! {
                                <div class="row-actions">
                                    <ActionForm action=change_role>
                                        <input type="hidden" name="id" value=role_id />
                                        <input type="hidden" name="role" value=new_role.form_value() />
                                        <button type="submit" class="button-quiet" aria-label=role_label>{role_button}</button>
                                    </ActionForm>
                                    <ActionForm action=remove>
                                        <input type="hidden" name="id" value=remove_id />
                                        <button type="submit" class="button-quiet" aria-label=remove_label>"Remove"</button>
                                    </ActionForm>
                                </div>
                            })}
                            {recovery_member.map(|(member_id, name)| view! {
                                <super::recovery::RecoveryPermission member_id name />
                            })}
                            // For a teammate who lost their phone and their recovery codes. Your
                            // own is changed on your account page. A <details> asks first, with
                            // or without the page's script.
                            {(!m.is_you && m.two_step).then(|| view! {
                                <details class="confirm-reset">
                                    <summary class="button-quiet">"Reset two-step verification"</summary>
                                    <ActionForm action=reset_two_step attr:class="confirm">
                                        <p>{reset_question}</p>
                                        <input type="hidden" name="id" value=reset_id />
                                        <button type="submit" class="button-danger" aria-label=reset_label>"Reset"</button>
                                    </ActionForm>
                                </details>
                            })}
                        </li>
                    }}).collect_view()}
                </ul>
                {has_pending.then(|| view! { <h2>"Invited, not joined yet"</h2> })}
                <FormAlert value=renew_value />
                {move || renew_value.get().and_then(Result::ok).map(|link| view! { <NewLink link=link /> })}
                <ul class="people">
                    {team.pending.into_iter().map(|p| {
                        let (renew_id, remove_id) = (p.id.clone(), p.id.clone());
                        let renew_label = format!("New invite link for {}", p.name);
                        let cancel_label = format!("Cancel invite for {}", p.name);
                        view! {
                        <li class="person">
                            <div>
                                <p class="person-name">{p.name.clone()}</p>
                                <p class="muted">{p.email.clone()}</p>
                                <p class="muted small">
                                    {if p.expired { format!("Invite expired {}", p.expires) } else { format!("Invite valid until {}", p.expires) }}
                                </p>
                            </div>
                            <span class=format!("badge badge-{}", p.role.form_value())>{p.role.label()}</span>
                            <div class="row-actions">
                                <ActionForm action=renew>
                                    <input type="hidden" name="id" value=renew_id />
                                    <button type="submit" class="button-quiet" aria-label=renew_label>"New link"</button>
                                </ActionForm>
                                <ActionForm action=remove>
                                    <input type="hidden" name="id" value=remove_id />
                                    <button type="submit" class="button-quiet" aria-label=cancel_label>"Cancel invite"</button>
                                </ActionForm>
                            </div>
                        </li>
                    }}).collect_view()}
                </ul>
            </section>
            <section class="panel" aria-labelledby="add-title">
                <h2 id="add-title">"Add a teammate"</h2>
                <p class="muted">"They get a one-time invite link to set their password. Send it to them yourself, through a channel you trust."</p>
                <FormAlert value=invite_value />
                {move || invite_value.get().and_then(Result::ok).map(|link| view! { <NewLink link=link /> })}
                <ActionForm action=invite attr:class="form" attr:novalidate=true>
                    <Field label="Name" name="name" autocomplete="off" error=field_error(invite_value, "name") />
                    <Field label="Work email" name="email" input_type="email" autocomplete="off" error=field_error(invite_value, "email") />
                    <div class="field" class:field-invalid=move || field_error(invite_value, "role").get().is_some()>
                        <label for="field-role">"Role"</label>
                        <select id="field-role" name="role">
                            <option value=Role::Agent.form_value() selected=true>{Role::Agent.label()}</option>
                            <option value=Role::Admin.form_value()>{Role::Admin.label()}</option>
                        </select>
                        <p class="field-error" role="alert">{move || field_error(invite_value, "role").get()}</p>
                    </div>
                    <SubmitButton label="Add teammate" busy_label="Adding…" pending=invite.pending() />
                </ActionForm>
            </section>
        </div>
    }
}

#[component]
fn NewLink(link: InviteLink) -> impl IntoView {
    view! {
        <Alert kind="success">
            <p>"Invite link for " <strong>{link.name.clone()}</strong> " (" {link.email.clone()} "), valid until " {link.expires.clone()} ":"</p>
            <p class="link-box">
                <input type="text" readonly=true value=link.url.clone() aria-label="Invite link" data-testid="invite-link" />
                <CopyButton value=link.url.clone() />
            </p>
            <p class="small">"This link is shown only now. Treat it like a password: share it only with " {link.name.clone()} "."</p>
        </Alert>
    }
}
