//! Removing and demoting teammates: anyone can be removed, whatever they did, and an
//! organization always keeps an administrator who can sign in, even under races.

use app::error::AppError;
use app::model::{InviteLink, Role, Team};
use reqwest::StatusCode;

use crate::helpers::*;

const LAST_ADMIN: &str =
    "An organization needs at least one administrator. Make someone else an administrator first.";

impl TestApp {
    async fn user_id(&self, email: &str) -> String {
        let id: uuid::Uuid = traceless::db::query("SELECT id FROM users WHERE email = $1")
            .bind(email)
            .fetch_scalar_on(&self.pool)
            .await
            .expect("a user with that email");
        id.to_string()
    }

    /// Invites `email` with `role` as `inviter` and accepts as a new browser, which
    /// stays signed in as them.
    async fn teammate(
        &self,
        inviter: &reqwest::Client,
        name: &str,
        email: &str,
        role: &str,
    ) -> reqwest::Client {
        let link: InviteLink = ok_json(
            self.call_as(
                inviter,
                "invite_teammate",
                &[("name", name), ("email", email), ("role", role)],
            )
            .await,
        )
        .await;
        let browser = new_client();
        let accepted = self
            .call_as(
                &browser,
                "accept_invite",
                &[("token", &token_of(&link.url)), ("password", PASSWORD)],
            )
            .await;
        assert!(accepted.status().is_success(), "{}", accepted.status());
        browser
    }

    async fn remove_as(&self, client: &reqwest::Client, id: &str) -> reqwest::Response {
        self.call_as(client, "remove_teammate", &[("id", id)]).await
    }

    async fn change_role_as(
        &self,
        client: &reqwest::Client,
        id: &str,
        role: &str,
    ) -> reqwest::Response {
        self.call_as(
            client,
            "change_teammate_role",
            &[("id", id), ("role", role)],
        )
        .await
    }

    async fn active_admins(&self) -> i64 {
        traceless::db::query(
            "SELECT COUNT(*) FROM users WHERE role = 'admin' AND password_hash IS NOT NULL",
        )
        .fetch_scalar_on(&self.pool)
        .await
        .unwrap()
    }
}

#[tokio::test]
async fn an_administrator_who_sent_invites_can_be_removed_and_the_invites_keep_their_sender() {
    let app = spawn_app().await;
    app.admin("Contoso", "ada@contoso.com").await;
    let bob = app
        .teammate(&app.client, "Bob Admin", "bob@contoso.com", "admin")
        .await;
    // Bob invites someone (accepted) and someone else (still pending).
    app.teammate(&bob, "Grace", "grace@contoso.com", "agent")
        .await;
    let pending = app
        .call_as(
            &bob,
            "invite_teammate",
            &[
                ("name", "Carol"),
                ("email", "carol@contoso.com"),
                ("role", "agent"),
            ],
        )
        .await;
    assert!(pending.status().is_success());
    let invites = app.count("invites").await;

    let removed = app
        .remove_as(&app.client, &app.user_id("bob@contoso.com").await)
        .await;

    assert_eq!(
        removed.status(),
        StatusCode::OK,
        "{:?}",
        removed.text().await
    );
    assert_eq!(
        app.count("invites").await,
        invites - 1,
        "only Bob's own invite goes"
    );
    let senders: Vec<(Option<String>, String)> = traceless::db::query(
        "SELECT created_by, created_by_name FROM invites i JOIN users u ON u.id = i.user_id
         WHERE u.email IN ('grace@contoso.com', 'carol@contoso.com')",
    )
    .fetch_all_on(&app.pool)
    .await
    .unwrap()
    .iter()
    .map(|row| (row.try_get(0).unwrap(), row.try_get(1).unwrap()))
    .collect();
    assert_eq!(
        senders,
        vec![
            (None, "Bob Admin".to_owned()),
            (None, "Bob Admin".to_owned())
        ]
    );
    let whoami: Option<app::model::Me> = ok_json(app.call_as(&bob, "whoami", &[]).await).await;
    assert!(whoami.is_none(), "a removed teammate is signed out");
    let team: Team = ok_json(app.call("team_members", &[]).await).await;
    assert!(team.pending.iter().any(|p| p.email == "carol@contoso.com"));
}

#[tokio::test]
async fn the_last_administrator_cannot_be_demoted_even_with_an_administrator_invited() {
    let app = spawn_app().await;
    app.admin("Contoso", "ada@contoso.com").await;
    // Invited, not joined: cannot sign in, so does not count.
    app.invite("Bob", "bob@contoso.com", "admin").await;
    let ada = app.user_id("ada@contoso.com").await;

    let error = app_error(
        app.change_role_as(&app.client, &ada, "agent").await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;

    assert_eq!(error.to_string(), LAST_ADMIN);
    assert_eq!(app.whoami().await.unwrap().role, Role::Admin);
}

#[tokio::test]
async fn an_administrator_can_be_demoted_while_another_remains() {
    let app = spawn_app().await;
    app.admin("Contoso", "ada@contoso.com").await;
    let bob = app
        .teammate(&app.client, "Bob", "bob@contoso.com", "admin")
        .await;

    let demoted = app
        .change_role_as(&app.client, &app.user_id("bob@contoso.com").await, "agent")
        .await;

    assert_eq!(demoted.status(), StatusCode::OK);
    let me: Option<app::model::Me> = ok_json(app.call_as(&bob, "whoami", &[]).await).await;
    let me = me.expect("still signed in");
    assert_eq!(me.role, Role::Agent);
    assert_eq!(
        app.call_as(&bob, "team_members", &[]).await.status(),
        StatusCode::FORBIDDEN
    );
    // Ada is now the last administrator: demoting herself is refused.
    let error = app_error(
        app.change_role_as(&app.client, &app.user_id("ada@contoso.com").await, "agent")
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(error.to_string(), LAST_ADMIN);
}

#[tokio::test]
async fn two_administrators_removing_or_demoting_each_other_at_once_leave_one() {
    for change in ["remove", "demote"] {
        for round in 0..3 {
            let app = spawn_app().await;
            app.admin("Contoso", "ada@contoso.com").await;
            let bob = app
                .teammate(&app.client, "Bob", "bob@contoso.com", "admin")
                .await;
            let (ada_id, bob_id) = (
                app.user_id("ada@contoso.com").await,
                app.user_id("bob@contoso.com").await,
            );

            let (by_ada, by_bob) = match change {
                "remove" => tokio::join!(
                    app.remove_as(&app.client, &bob_id),
                    app.remove_as(&bob, &ada_id)
                ),
                _ => tokio::join!(
                    app.change_role_as(&app.client, &bob_id, "agent"),
                    app.change_role_as(&bob, &ada_id, "agent")
                ),
            };

            let statuses = [by_ada.status(), by_bob.status()];
            assert_eq!(
                statuses.iter().filter(|s| s.is_success()).count(),
                1,
                "{change} round {round}: {statuses:?}"
            );
            assert!(
                statuses
                    .iter()
                    .all(|s| s.is_success() || s.is_client_error()),
                "{change} round {round}: {statuses:?}"
            );
            assert_eq!(app.active_admins().await, 1, "{change} round {round}");
        }
    }
}

#[tokio::test]
async fn a_bad_role_or_an_unknown_teammate_changes_nothing() {
    let app = spawn_app().await;
    app.admin("Contoso", "ada@contoso.com").await;
    app.invite("Grace", "grace@contoso.com", "agent").await;
    let grace = app.user_id("grace@contoso.com").await;

    let bad_role = app_error(
        app.change_role_as(&app.client, &grace, "owner").await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(bad_role.for_field("role").is_some(), "{bad_role:?}");
    let unknown = app_error(
        app.change_role_as(&app.client, &uuid::Uuid::new_v4().to_string(), "admin")
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(matches!(unknown, AppError::Invalid { .. }), "{unknown:?}");
    let role: String =
        traceless::db::query("SELECT role FROM users WHERE email = 'grace@contoso.com'")
            .fetch_scalar_on(&app.pool)
            .await
            .unwrap();
    assert_eq!(role, "agent");
}
