//! An administrator resets a teammate's two-step verification (lost phone and recovery
//! codes): only another member of their own organization, which ends the member's sessions
//! and is logged; and the account page that gathers a person's own settings.

use app::model::{InviteLink, Me, Team};
use reqwest::StatusCode;

use crate::helpers::{PASSWORD, TestApp, app_error, new_client, ok_json, token_of};
use crate::mfa::{location, spawn_keeping_secrets};

const ADMIN: &str = "ada@contoso.com";
const GRACE: &str = "grace@contoso.com";

impl TestApp {
    /// Invites Grace as an agent; she accepts in her own browser and stays signed in.
    async fn grace_joins(&self) -> reqwest::Client {
        let link: InviteLink = ok_json(self.invite("Grace", GRACE, "agent").await).await;
        let grace = new_client();
        self.call_as(
            &grace,
            "accept_invite",
            &[("token", &token_of(&link.url)), ("password", PASSWORD)],
        )
        .await;
        grace
    }

    async fn team_as(&self, client: &reqwest::Client) -> Team {
        ok_json(self.call_as(client, "team_members", &[]).await).await
    }

    /// Grace's id and whether the Team page shows her two-step verification on.
    async fn grace_on_team_page(&self) -> (String, bool) {
        let team = self.team_as(&self.client).await;
        let grace = team.members.iter().find(|m| m.email == GRACE).unwrap();
        (grace.id.clone(), grace.two_step)
    }

    async fn reset_two_step_as(&self, client: &reqwest::Client, id: &str) -> reqwest::Response {
        self.call_as(client, "reset_teammate_two_step", &[("id", id)])
            .await
    }

    async fn reset_details(&self) -> Vec<String> {
        traceless::db::query("SELECT detail FROM audit_log WHERE action = $1 ORDER BY id")
            .bind("mfa.reset_for_teammate")
            .fetch_scalars_on(&self.pool)
            .await
            .unwrap()
    }
}

async fn signed_in_as(app: &TestApp, client: &reqwest::Client) -> Option<Me> {
    ok_json(app.call_as(client, "whoami", &[]).await).await
}

/// Contoso's administrator (signed in on `app.client`) and Grace, an agent with two-step
/// verification on, signed in on the returned client.
async fn grace_with_two_step() -> (TestApp, reqwest::Client) {
    let app = spawn_keeping_secrets(&[]).await;
    app.admin("Contoso", ADMIN).await;
    let grace = app.grace_joins().await;
    app.enable_two_step_as(&grace).await;
    (app, grace)
}

#[tokio::test]
async fn an_administrator_resets_a_teammates_two_step_verification() {
    let (app, grace) = grace_with_two_step().await;
    let (grace_id, on) = app.grace_on_team_page().await;
    assert!(on, "the Team page shows it on");

    let name: String = ok_json(app.reset_two_step_as(&app.client, &grace_id).await).await;
    assert_eq!(name, "Grace");

    // Her open session ended: its next request is refused.
    app_error(
        app.call_as(&grace, "verifications", &[]).await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    // The password alone signs her in again: no code is asked.
    let response = app.sign_in_as(&grace, GRACE, PASSWORD).await;
    assert_eq!(location(&response).as_deref(), Some("/organization"));
    assert_eq!(signed_in_as(&app, &grace).await.unwrap().email, GRACE);
    assert!(!app.two_step_state_as(&grace).await.enabled);
    assert!(!app.grace_on_team_page().await.1);
    // The administrator's own session is untouched.
    assert_eq!(app.whoami().await.unwrap().email, ADMIN);

    let details = app.reset_details().await;
    assert_eq!(details.len(), 1);
    assert!(details[0].contains(GRACE), "{}", details[0]);
    assert_eq!(app.count("mfa_recovery_codes").await, 0);
}

#[tokio::test]
async fn after_a_reset_a_required_organization_sends_the_member_to_set_it_up() {
    let (app, grace) = grace_with_two_step().await;
    app.enable_two_step().await;
    ok_json::<()>(
        app.call("set_two_step_required", &[("required", "on")])
            .await,
    )
    .await;
    let (grace_id, _) = app.grace_on_team_page().await;

    ok_json::<String>(app.reset_two_step_as(&app.client, &grace_id).await).await;

    let response = app.sign_in_as(&grace, GRACE, PASSWORD).await;
    assert_eq!(location(&response).as_deref(), Some("/account/two-step"));
    assert!(signed_in_as(&app, &grace).await.is_none());
    let state = app.two_step_state_as(&grace).await;
    assert!(state.required && state.setting_up_to_sign_in && !state.enabled);
}

#[tokio::test]
async fn an_agent_cannot_reset_two_step_verification() {
    let app = spawn_keeping_secrets(&[]).await;
    app.admin("Contoso", ADMIN).await;
    app.enable_two_step().await;
    let grace = app.grace_joins().await;
    let admin_id = app
        .team_as(&app.client)
        .await
        .members
        .into_iter()
        .find(|m| m.is_you)
        .unwrap()
        .id;

    app_error(
        app.reset_two_step_as(&grace, &admin_id).await,
        StatusCode::FORBIDDEN,
    )
    .await;

    assert!(app.two_step_state_as(&app.client).await.enabled);
    assert!(app.whoami().await.is_some());
    assert!(app.reset_details().await.is_empty());
}

#[tokio::test]
async fn an_administrator_of_another_organization_gets_not_found() {
    let (app, grace) = grace_with_two_step().await;
    let (grace_id, _) = app.grace_on_team_page().await;
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
    assert!(signed_in_as(&app, &fabrikam).await.is_some());

    app_error(
        app.reset_two_step_as(&fabrikam, &grace_id).await,
        StatusCode::NOT_FOUND,
    )
    .await;

    assert!(app.two_step_state_as(&grace).await.enabled);
    assert_eq!(signed_in_as(&app, &grace).await.unwrap().email, GRACE);
    assert!(app.reset_details().await.is_empty());
}

#[tokio::test]
async fn an_administrator_resets_only_other_teammates_not_themselves() {
    let app = spawn_keeping_secrets(&[]).await;
    app.admin("Contoso", ADMIN).await;
    app.enable_two_step().await;
    let admin_id = app
        .team_as(&app.client)
        .await
        .members
        .into_iter()
        .find(|m| m.is_you)
        .unwrap()
        .id;

    app_error(
        app.reset_two_step_as(&app.client, &admin_id).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(app.two_step_state_as(&app.client).await.enabled);
    // A member without it has nothing to reset; a malformed id names nobody.
    app.grace_joins().await;
    let (grace_id, on) = app.grace_on_team_page().await;
    assert!(!on);
    app_error(
        app.reset_two_step_as(&app.client, &grace_id).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    app_error(
        app.reset_two_step_as(&app.client, "not-an-id").await,
        StatusCode::NOT_FOUND,
    )
    .await;
    assert!(app.reset_details().await.is_empty());
}

#[tokio::test]
async fn the_account_page_shows_the_person_and_sends_visitors_to_sign_in() {
    let app = spawn_keeping_secrets(&[]).await;
    let response = app.get("/account").await;
    assert!(response.status().is_redirection(), "{}", response.status());
    assert_eq!(response.headers()["location"], "/signin");

    app.admin("Contoso", ADMIN).await;
    let response = app.get("/account").await;
    assert_eq!(response.status(), StatusCode::OK);
    let page = response.text().await.unwrap();
    for shown in [
        "Your account",
        ADMIN,
        "Contoso",
        "Change password",
        "Set up two-step verification",
        "You are signed in on this device only.",
        "href=\"/account/sessions\"",
    ] {
        assert!(page.contains(shown), "{shown}");
    }
}
