//! Sign up, sign in, sign out, and the session cookie.

use app::error::AppError;
use app::model::Role;
use reqwest::StatusCode;

use crate::helpers::*;

#[tokio::test]
async fn healthz_answers_when_the_database_does() {
    let app = spawn_app().await;
    let response = app.get("/healthz").await;
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn sign_up_creates_an_organization_whose_first_user_is_an_admin() {
    let app = spawn_app().await;

    let response = app
        .sign_up(
            "Contoso Help Desk",
            "Ada Admin",
            "Ada@Contoso.com",
            PASSWORD,
        )
        .await;

    assert!(response.status().is_success() || response.status().is_redirection());
    let me = app.whoami().await.expect("signed in after sign-up");
    assert_eq!(me.email, "ada@contoso.com");
    assert_eq!(me.role, Role::Admin);
    assert_eq!(me.organization, "Contoso Help Desk");
}

#[tokio::test]
async fn sign_up_with_a_taken_email_answers_as_for_a_new_one_and_changes_nothing() {
    let app = spawn_app().await;
    app.admin("Contoso", "ada@contoso.com").await;
    let other = new_client();

    let response = app
        .call_as(
            &other,
            "sign_up",
            &[
                ("organization", "Copycat"),
                ("name", "Eve"),
                ("email", "ADA@contoso.com"),
                ("password", PASSWORD),
            ],
        )
        .await;

    // The same answer as for a new address (email_ownership.rs compares the bytes): the
    // address's owner is told by mail instead.
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.json::<String>().await.unwrap(), "ada@contoso.com");
    assert_eq!(app.count("organizations").await, 1);
    assert_eq!(app.count("users").await, 1);
}

#[tokio::test]
async fn sign_up_with_bad_input_names_the_field_and_stores_nothing() {
    let app = spawn_app().await;
    let cases = [
        ("", "Ada", "ada@contoso.com", PASSWORD, "organization"),
        ("Contoso", "", "ada@contoso.com", PASSWORD, "name"),
        ("Contoso", "Ada", "not-an-email", PASSWORD, "email"),
        ("Contoso", "Ada", "ada@contoso.com", "short", "password"),
        (
            "Contoso",
            "Ada",
            "ada@contoso.com",
            "password1234567",
            "password",
        ),
    ];
    for (organization, name, email, password, field) in cases {
        let response = app.sign_up(organization, name, email, password).await;
        let error = app_error(response, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert!(error.for_field(field).is_some(), "{field}: {error:?}");
    }
    assert_eq!(app.count("organizations").await, 0);
    assert_eq!(app.count("users").await, 0);
    assert!(app.whoami().await.is_none());
}

#[tokio::test]
async fn wrong_password_and_unknown_email_get_the_same_clear_message() {
    let app = spawn_app().await;
    app.admin("Contoso", "ada@contoso.com").await;
    let visitor = new_client();

    let wrong_password = app
        .sign_in_as(&visitor, "ada@contoso.com", "not the password at all")
        .await;
    let wrong_password = app_error(wrong_password, StatusCode::UNPROCESSABLE_ENTITY).await;
    let unknown = app
        .sign_in_as(&visitor, "nobody@contoso.com", PASSWORD)
        .await;
    let unknown = app_error(unknown, StatusCode::UNPROCESSABLE_ENTITY).await;

    assert_eq!(wrong_password, unknown);
    assert_eq!(
        wrong_password.to_string(),
        "The email or password is incorrect. Check both and try again."
    );
}

#[tokio::test]
async fn sign_out_ends_the_session_and_sign_in_starts_a_new_one() {
    let app = spawn_app().await;
    let signed_up = app
        .sign_up("Contoso", "Ada Admin", "ada@contoso.com", PASSWORD)
        .await;
    let first = session_cookie(&signed_up);

    app.call("sign_out", &[]).await;
    assert!(app.whoami().await.is_none());

    let signed_in = app.sign_in("ada@contoso.com", PASSWORD).await;
    let second = session_cookie(&signed_in);
    assert!(app.whoami().await.is_some());
    assert_ne!(first, second, "the session id changes at sign-in");

    // The old session id no longer authenticates anyone.
    let replay = plain_client()
        .post(format!("{}/api/whoami", app.address))
        .header("Cookie", format!("traceless_session={first}"))
        .send()
        .await
        .unwrap();
    assert_eq!(replay.text().await.unwrap(), "null");
}

#[tokio::test]
async fn session_cookie_is_http_only_lax_and_not_secure_over_http() {
    let app = spawn_app().await;
    let response = app
        .sign_up("Contoso", "Ada", "ada@contoso.com", PASSWORD)
        .await;
    let cookie = set_cookie(&response);
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
    assert!(!cookie.contains("Secure"), "{cookie}");
}

#[tokio::test]
async fn session_cookie_is_secure_when_the_public_url_is_https() {
    let app = spawn_app_with(&[("TRACELESS_PUBLIC_URL", "https://traceless.example.com/")]).await;
    let response = app
        .sign_up("Contoso", "Ada", "ada@contoso.com", PASSWORD)
        .await;
    // Over HTTPS the cookie is also `__Host-` prefixed (tests in `sessions_passwords`).
    let cookie = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("__Host-traceless_session="))
        .expect("a session cookie is set");
    assert!(cookie.contains("Secure"), "{cookie}");
}

#[tokio::test]
async fn unauthenticated_calls_are_refused() {
    let app = spawn_app().await;
    let error = app_error(
        app.call("team_members", &[]).await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    assert_eq!(error, AppError::Unauthenticated);
}

fn set_cookie(response: &reqwest::Response) -> String {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("traceless_session="))
        .expect("a session cookie is set")
        .to_owned()
}

/// The session id a response set.
fn session_cookie(response: &reqwest::Response) -> String {
    set_cookie(response)
        .trim_start_matches("traceless_session=")
        .split(';')
        .next()
        .expect("a cookie value")
        .to_owned()
}
