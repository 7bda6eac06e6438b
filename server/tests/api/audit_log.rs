//! Security events in the audit log (issue 19 point 7): each audited action writes its row with
//! who, when and from where; the page filters by kind and by person; one organization never
//! sees another's entries.

use app::api::audit::AuditFilterChoices;
use app::model::{AuditEntry, InviteLink, Team};
use reqwest::StatusCode;

use crate::helpers::{
    PASSWORD, TestApp, app_error, eventually, new_client, ok_json, spawn_app, token_of,
};

const ADMIN: &str = "ada@contoso.com";

impl TestApp {
    async fn audit_as(&self, client: &reqwest::Client, form: &[(&str, &str)]) -> Vec<AuditEntry> {
        ok_json(self.call_as(client, "audit_log", form).await).await
    }

    async fn has_action(&self, action: &str) -> bool {
        self.audit_actions().await.iter().any(|a| a == action)
    }
}

#[tokio::test]
async fn sign_ins_are_logged_and_a_failure_only_for_an_existing_account() {
    let app = spawn_app().await;
    app.admin("Contoso", ADMIN).await;
    let visitor = new_client();

    app.sign_in_as(&visitor, ADMIN, "not the password").await;
    eventually("the refused sign-in in the log", || async {
        app.has_action("sign_in.failed").await.then_some(())
    })
    .await;
    app.sign_in_as(&visitor, "nobody@contoso.com", "not the password")
        .await;
    // The answer never tells them apart.
    let unknown = app_error(
        app.sign_in_as(&visitor, "nobody@contoso.com", "wrong")
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    let known = app_error(
        app.sign_in_as(&visitor, ADMIN, "wrong").await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(unknown, known);
    app.sign_in_as(&visitor, ADMIN, PASSWORD).await;
    assert!(app.has_action("sign_in.succeeded").await);

    // The unknown address wrote nothing: every failure row is the admin's, with an address.
    eventually("the second refused sign-in in the log", || async {
        let rows: Vec<String> = traceless::db::query(
            "SELECT actor_name FROM audit_log WHERE action = 'sign_in.failed'",
        )
        .fetch_scalars_on(&app.pool)
        .await
        .unwrap();
        (rows.len() == 2).then_some(rows)
    })
    .await
    .iter()
    .for_each(|name| assert!(name.contains(ADMIN), "{name}"));
    let entries = app
        .audit_as(&app.client, &[("kind", "sign_in.succeeded")])
        .await;
    assert_eq!(entries[0].client.as_deref(), Some("127.0.0.1"));
}

#[tokio::test]
async fn team_changes_and_settings_are_logged() {
    let app = spawn_app().await;
    app.admin("Contoso", ADMIN).await;
    ok_json::<InviteLink>(app.invite("Grace", "grace@contoso.com", "agent").await).await;
    let team: Team = ok_json(app.call("team_members", &[]).await).await;
    let grace_id = team.pending[0].id.clone();
    let link: InviteLink = ok_json(app.call("renew_invite", &[("id", &grace_id)]).await).await;
    let grace = new_client();
    app.call_as(
        &grace,
        "accept_invite",
        &[("token", &token_of(&link.url)), ("password", PASSWORD)],
    )
    .await;
    ok_json::<()>(
        app.call(
            "change_teammate_role",
            &[("id", &grace_id), ("role", "admin")],
        )
        .await,
    )
    .await;
    ok_json::<()>(
        app.call(
            "update_verification_settings",
            &[("link_lifetime_hours", "48"), ("face_check_threshold", "")],
        )
        .await,
    )
    .await;
    ok_json::<()>(app.call("remove_teammate", &[("id", &grace_id)]).await).await;

    for action in [
        "team.invitation_sent",
        "team.invitation_renewed",
        "team.invitation_accepted",
        "team.role_changed",
        "verification.settings_changed",
        "team.member_removed",
    ] {
        assert!(app.has_action(action).await, "{action} not logged");
    }
    let entries = app.audit_as(&app.client, &[]).await;
    let removed = &entries[0];
    assert_eq!(removed.action, "Removed a teammate");
    assert!(removed.detail.contains("grace@contoso.com"));
    assert!(removed.actor.contains(ADMIN));
    let settings = entries
        .iter()
        .find(|e| e.action == "Changed the verification settings")
        .unwrap();
    assert!(settings.detail.contains("48 hours"), "{}", settings.detail);
}

#[tokio::test]
async fn the_log_filters_by_kind_and_by_person_within_one_organization() {
    let app = spawn_app().await;
    app.admin("Contoso", ADMIN).await;
    let link: InviteLink = ok_json(app.invite("Grace", "grace@contoso.com", "agent").await).await;
    let grace = new_client();
    app.call_as(
        &grace,
        "accept_invite",
        &[("token", &token_of(&link.url)), ("password", PASSWORD)],
    )
    .await;
    app.sign_in_as(&grace, "grace@contoso.com", PASSWORD).await;
    // Another organization's admin, busy in their own log.
    let fabrikam = new_client();
    app.call_as(
        &fabrikam,
        "sign_up",
        &[
            ("organization", "Fabrikam"),
            ("name", "Frank"),
            ("email", "frank@fabrikam.com"),
            ("password", PASSWORD),
        ],
    )
    .await;
    ok_json::<InviteLink>(
        app.call_as(
            &fabrikam,
            "invite_teammate",
            &[
                ("name", "Gus"),
                ("email", "gus@fabrikam.com"),
                ("role", "agent"),
            ],
        )
        .await,
    )
    .await;

    let choices: AuditFilterChoices = ok_json(app.call("audit_filters", &[]).await).await;
    assert!(
        choices
            .kinds
            .iter()
            .any(|k| k.value == "team.invitation_sent")
    );
    let grace_choice = choices
        .people
        .iter()
        .find(|p| p.label.contains("grace@contoso.com"))
        .expect("Grace is a choice");
    assert!(!choices.people.iter().any(|p| p.label.contains("fabrikam")));

    let invitations = app
        .audit_as(&app.client, &[("kind", "team.invitation_sent")])
        .await;
    assert_eq!(invitations.len(), 1);
    assert!(invitations[0].detail.contains("grace@contoso.com"));

    let by_grace = app
        .audit_as(&app.client, &[("person", &grace_choice.value)])
        .await;
    assert!(!by_grace.is_empty());
    assert!(
        by_grace
            .iter()
            .all(|e| e.actor.contains("grace@contoso.com"))
    );
    let both = app
        .audit_as(
            &app.client,
            &[
                ("kind", "sign_in.succeeded"),
                ("person", &grace_choice.value),
            ],
        )
        .await;
    assert_eq!(both.len(), 2, "{both:?}");

    // Fabrikam's admin sees only Fabrikam, even when asking for Contoso's person.
    let theirs = app.audit_as(&fabrikam, &[]).await;
    assert!(theirs.iter().all(|e| !e.actor.contains("contoso")));
    assert!(
        app.audit_as(&fabrikam, &[("person", &grace_choice.value)])
            .await
            .is_empty()
    );

    // Pages: older entries than the newest one.
    let all = app.audit_as(&app.client, &[]).await;
    let older = app
        .audit_as(&app.client, &[("before", &all[0].id.to_string())])
        .await;
    assert_eq!(older.len(), all.len() - 1);

    let bad = app_error(
        app.call("audit_log", &[("person", "not-an-id")]).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(bad.for_field("person").is_some());
    // Agents do not read the log.
    app_error(
        app.call_as(&grace, "audit_log", &[]).await,
        StatusCode::FORBIDDEN,
    )
    .await;
}
