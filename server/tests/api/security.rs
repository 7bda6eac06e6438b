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
