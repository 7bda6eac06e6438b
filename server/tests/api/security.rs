//! Cross-site requests to server functions are refused before anything runs.

use app::error::AppError;
use reqwest::StatusCode;

use crate::helpers::*;

#[tokio::test]
async fn a_cross_site_sign_up_is_refused_and_changes_nothing() {
    let app = spawn_app().await;
    let form = [
        ("organization", "Evil"),
        ("name", "Eve"),
        ("email", "eve@evil.example"),
        ("password", PASSWORD),
    ];

    for (header, value) in [
        ("Origin", "https://evil.example"),
        ("Sec-Fetch-Site", "cross-site"),
    ] {
        let response = app
            .client
            .post(format!("{}/api/sign_up", app.address))
            .header(header, value)
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(
            app_error(response, StatusCode::FORBIDDEN).await,
            AppError::CrossSite
        );
    }
    assert_eq!(app.count("organizations").await, 0);
}

#[tokio::test]
async fn a_same_origin_request_is_accepted() {
    let app = spawn_app().await;
    let response = app
        .client
        .post(format!("{}/api/whoami", app.address))
        .header("Origin", &app.address)
        .header("Sec-Fetch-Site", "same-origin")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

/// Plain routes refuse with the same error shape and statuses as server functions.
#[tokio::test]
async fn event_streams_refuse_strangers_with_the_one_error_shape() {
    let app = spawn_app().await;
    let stranger = new_client();

    let response = stranger
        .get(format!(
            "{}/organization/verifications/{}/events",
            app.address,
            uuid::Uuid::new_v4()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(
        app_error(response, reqwest::StatusCode::UNAUTHORIZED).await,
        app::error::AppError::Unauthenticated
    );

    let response = stranger
        .get(format!("{}/verify/not-a-real-link/events", app.address))
        .send()
        .await
        .unwrap();
    assert!(matches!(
        app_error(response, reqwest::StatusCode::NOT_FOUND).await,
        app::error::AppError::NotFound(message) if message == "This verification link is expired"
    ));
}
