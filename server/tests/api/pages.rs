//! Server-rendered pages answer with the right status before any script runs.

use reqwest::StatusCode;

use crate::helpers::*;

#[tokio::test]
async fn public_pages_render() {
    let app = spawn_app().await;
    for (path, text) in [
        ("/", "Verify who is really asking"),
        ("/signup", "Create your organization"),
        ("/signin", "Sign in"),
    ] {
        let response = app.get(path).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert!(response.text().await.unwrap().contains(text), "{path}");
    }
}

#[tokio::test]
async fn an_unknown_page_is_404() {
    let app = spawn_app().await;
    let response = app.get("/no/such/page").await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert!(response.text().await.unwrap().contains("Page not found"));
}

#[tokio::test]
async fn organization_pages_send_visitors_to_sign_in() {
    let app = spawn_app().await;
    for path in ["/organization", "/organization/team"] {
        let response = app.get(path).await;
        assert!(
            response.status().is_redirection(),
            "{path}: {}",
            response.status()
        );
        assert_eq!(response.headers()["location"], "/signin", "{path}");
    }
}

#[tokio::test]
async fn the_team_page_is_403_for_an_agent() {
    let app = spawn_app().await;
    app.admin("Contoso", "ada@contoso.com").await;
    let link: app::model::InviteLink =
        ok_json(app.invite("Grace", "grace@contoso.com", "agent").await).await;
    app.call("sign_out", &[]).await;
    app.call(
        "accept_invite",
        &[("token", &token_of(&link.url)), ("password", PASSWORD)],
    )
    .await;

    let response = app.get("/organization/team").await;

    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("You must be an organization administrator in Traceless")
    );
}

#[tokio::test]
async fn an_expired_invite_page_says_so() {
    let app = spawn_app().await;
    let response = app.get(&format!("/invite/{}", "A".repeat(43))).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("This invite link has expired or was already used")
    );
}

#[tokio::test]
async fn the_404_page_knows_who_is_signed_in() {
    let app = spawn_app().await;
    app.admin("Contoso", "ada@contoso.com").await;
    let response = app.get("/no/such/page").await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert!(
        response.text().await.unwrap().contains("Ada Admin"),
        "the header is rendered with the app's context"
    );
}
