//! Teammates: invites, roles, and what each role may do.

use app::error::AppError;
use app::model::{Invite, InviteLink, Role, Team};
use reqwest::StatusCode;

use crate::helpers::*;

async fn invite_link(app: &TestApp, name: &str, email: &str, role: &str) -> InviteLink {
    ok_json(app.invite(name, email, role).await).await
}

#[tokio::test]
async fn an_invited_agent_sets_a_password_and_signs_in_as_agent() {
    let app = spawn_app().await;
    app.admin("Contoso", "ada@contoso.com").await;
    let link = invite_link(&app, "Grace Agent", "grace@contoso.com", "agent").await;
    assert!(
        link.url.starts_with(&format!("{}/invite/", app.address)),
        "{}",
        link.url
    );
    let token = token_of(&link.url);
    let grace = new_client();

    let invite: Invite = ok_json(
        app.call_as(&grace, "invite_details", &[("token", &token)])
            .await,
    )
    .await;
    assert_eq!(invite.organization, "Contoso");
    assert_eq!(invite.email, "grace@contoso.com");
    assert_eq!(invite.role, Role::Agent);
    let accepted = app
        .call_as(
            &grace,
            "accept_invite",
            &[("token", &token), ("password", PASSWORD)],
        )
        .await;
    assert!(accepted.status().is_success() || accepted.status().is_redirection());

    let me: Option<app::model::Me> = ok_json(app.call_as(&grace, "whoami", &[]).await).await;
    assert_eq!(me.unwrap().role, Role::Agent);
    let again = new_client();
    let signed_in = app.sign_in_as(&again, "grace@contoso.com", PASSWORD).await;
    assert!(signed_in.status().is_success() || signed_in.status().is_redirection());
}

#[tokio::test]
async fn an_agent_cannot_use_admin_server_functions() {
    let app = spawn_app().await;
    app.admin("Contoso", "ada@contoso.com").await;
    let link = invite_link(&app, "Grace", "grace@contoso.com", "agent").await;
    let grace = new_client();
    app.call_as(
        &grace,
        "accept_invite",
        &[("token", &token_of(&link.url)), ("password", PASSWORD)],
    )
    .await;
    let users_before = app.count("users").await;

    for (name, form) in [
        ("team_members", vec![]),
        (
            "invite_teammate",
            vec![
                ("name", "Mallory"),
                ("email", "mallory@contoso.com"),
                ("role", "admin"),
            ],
        ),
        (
            "remove_teammate",
            vec![("id", "00000000-0000-0000-0000-000000000000")],
        ),
        (
            "renew_invite",
            vec![("id", "00000000-0000-0000-0000-000000000000")],
        ),
    ] {
        let error = app_error(
            app.call_as(&grace, name, &form).await,
            StatusCode::FORBIDDEN,
        )
        .await;
        assert!(matches!(error, AppError::Forbidden(_)), "{name}: {error:?}");
    }
    assert_eq!(app.count("users").await, users_before);
}

#[tokio::test]
async fn inviting_a_taken_email_or_a_bad_role_changes_nothing() {
    let app = spawn_app().await;
    app.admin("Contoso", "ada@contoso.com").await;
    invite_link(&app, "Grace", "grace@contoso.com", "agent").await;
    let users = app.count("users").await;
    let invites = app.count("invites").await;

    let taken = app_error(
        app.invite("Grace again", "GRACE@contoso.com", "agent")
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(taken.for_field("email").is_some());
    let bad_role = app_error(
        app.invite("Root", "root@contoso.com", "owner").await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(bad_role.for_field("role").is_some());
    let bad_email = app_error(
        app.invite("Nobody", "nobody@", "agent").await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(bad_email.for_field("email").is_some());

    assert_eq!(app.count("users").await, users);
    assert_eq!(app.count("invites").await, invites);
}

#[tokio::test]
async fn an_expired_used_or_unknown_invite_is_refused_with_the_same_message() {
    let app = spawn_app().await;
    app.admin("Contoso", "ada@contoso.com").await;
    let used = token_of(
        &invite_link(&app, "Grace", "grace@contoso.com", "agent")
            .await
            .url,
    );
    let expired = token_of(
        &invite_link(&app, "Alan", "alan@contoso.com", "agent")
            .await
            .url,
    );
    let visitor = new_client();
    app.call_as(
        &visitor,
        "accept_invite",
        &[("token", &used), ("password", PASSWORD)],
    )
    .await;
    traceless::db::query(
        "UPDATE invites SET expires_at = '2020-01-01T00:00:00Z' WHERE accepted_at IS NULL",
    )
    .execute_on(&app.pool)
    .await
    .unwrap();
    let unknown = "A".repeat(43);

    for token in [
        used.as_str(),
        expired.as_str(),
        unknown.as_str(),
        "../../etc",
    ] {
        let stranger = new_client();
        let error = app_error(
            app.call_as(
                &stranger,
                "accept_invite",
                &[("token", token), ("password", "another strong passphrase")],
            )
            .await,
            StatusCode::NOT_FOUND,
        )
        .await;
        assert_eq!(
            error.to_string(),
            "This invite link has expired or was already used. Ask your Traceless organization administrator for a new one."
        );
        let me: Option<app::model::Me> = ok_json(app.call_as(&stranger, "whoami", &[]).await).await;
        assert!(me.is_none());
    }
    // Alan never got in.
    let alan = new_client();
    assert!(
        !app.sign_in_as(&alan, "alan@contoso.com", "another strong passphrase")
            .await
            .status()
            .is_success()
    );
}

#[tokio::test]
async fn a_weak_password_on_an_invite_keeps_the_invite_usable() {
    let app = spawn_app().await;
    app.admin("Contoso", "ada@contoso.com").await;
    let token = token_of(
        &invite_link(&app, "Grace", "grace@contoso.com", "agent")
            .await
            .url,
    );
    let grace = new_client();

    let weak = app_error(
        app.call_as(
            &grace,
            "accept_invite",
            &[("token", &token), ("password", "short")],
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(weak.for_field("password").is_some());

    let ok = app
        .call_as(
            &grace,
            "accept_invite",
            &[("token", &token), ("password", PASSWORD)],
        )
        .await;
    assert!(ok.status().is_success() || ok.status().is_redirection());
}

#[tokio::test]
async fn a_renewed_invite_replaces_the_old_link() {
    let app = spawn_app().await;
    app.admin("Contoso", "ada@contoso.com").await;
    let old = token_of(
        &invite_link(&app, "Grace", "grace@contoso.com", "agent")
            .await
            .url,
    );
    let team: Team = ok_json(app.call("team_members", &[]).await).await;
    let grace_id = team.pending[0].id.clone();

    let renewed: InviteLink = ok_json(app.call("renew_invite", &[("id", &grace_id)]).await).await;

    let visitor = new_client();
    let old_result = app
        .call_as(&visitor, "invite_details", &[("token", &old)])
        .await;
    assert_eq!(old_result.status(), StatusCode::NOT_FOUND);
    let new_result = app
        .call_as(
            &visitor,
            "invite_details",
            &[("token", &token_of(&renewed.url))],
        )
        .await;
    assert_eq!(new_result.status(), StatusCode::OK);
}

#[tokio::test]
async fn an_admin_cannot_touch_another_organizations_people() {
    let app = spawn_app().await;
    app.admin("Contoso", "ada@contoso.com").await;
    invite_link(&app, "Grace", "grace@contoso.com", "agent").await;
    let contoso: Team = ok_json(app.call("team_members", &[]).await).await;
    let grace_id = contoso.pending[0].id.clone();
    let ada_id = contoso.members[0].id.clone();

    let fabrikam = new_client();
    app.call_as(
        &fabrikam,
        "sign_up",
        &[
            ("organization", "Fabrikam"),
            ("name", "Fay"),
            ("email", "fay@fabrikam.com"),
            ("password", PASSWORD),
        ],
    )
    .await;
    let theirs: Team = ok_json(app.call_as(&fabrikam, "team_members", &[]).await).await;
    assert_eq!(theirs.members.len(), 1);
    assert!(theirs.pending.is_empty());

    for (name, id) in [
        ("remove_teammate", &grace_id),
        ("remove_teammate", &ada_id),
        ("renew_invite", &grace_id),
    ] {
        let error = app_error(
            app.call_as(&fabrikam, name, &[("id", id)]).await,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
        assert_eq!(
            error.to_string(),
            "That teammate was not found in your organization."
        );
    }
    let after: Team = ok_json(app.call("team_members", &[]).await).await;
    assert_eq!(after, contoso);
}

#[tokio::test]
async fn a_removed_teammate_is_signed_out_at_once() {
    let app = spawn_app().await;
    app.admin("Contoso", "ada@contoso.com").await;
    let token = token_of(
        &invite_link(&app, "Grace", "grace@contoso.com", "admin")
            .await
            .url,
    );
    let grace = new_client();
    app.call_as(
        &grace,
        "accept_invite",
        &[("token", &token), ("password", PASSWORD)],
    )
    .await;
    let team: Team = ok_json(app.call("team_members", &[]).await).await;
    let grace_id = team
        .members
        .iter()
        .find(|m| m.email == "grace@contoso.com")
        .unwrap()
        .id
        .clone();

    ok_json::<()>(app.call("remove_teammate", &[("id", &grace_id)]).await).await;

    let error = app_error(
        app.call_as(&grace, "team_members", &[]).await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    assert_eq!(error, AppError::Unauthenticated);
}

#[tokio::test]
async fn an_admin_cannot_remove_themselves() {
    let app = spawn_app().await;
    app.admin("Contoso", "ada@contoso.com").await;
    let team: Team = ok_json(app.call("team_members", &[]).await).await;
    let error = app_error(
        app.call("remove_teammate", &[("id", &team.members[0].id)])
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(error.to_string(), "You cannot remove your own account.");
}
