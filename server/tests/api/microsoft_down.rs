//! Microsoft on a bad day, as the person opening a link sees it: an outage is said as such
//! and tried again, a short one is ridden out by retries, a refusal is not called an outage.

use app::error::AppError;
use app::model::RecipientPage;
use microsoft_emulator::{CONTOSO_TENANT_ID, DEV_CLIENT_ID, FaultSpec};
use reqwest::StatusCode;

use crate::helpers::*;

async fn sent() -> (TestApp, String) {
    contoso_with_a_link(&[]).await
}

async fn open(app: &TestApp, link: &str) -> reqwest::Response {
    app.call_as(
        &new_client(),
        "open_verification_link",
        &[("token", &token_of(link))],
    )
    .await
}

#[tokio::test]
async fn an_outage_at_microsoft_says_so_and_the_link_works_once_it_is_over() {
    let (app, link) = sent().await;
    app.emulator.faults().add(FaultSpec::status(
        "/verifiedid/*/createPresentationRequest",
        503,
    ));

    let error = app_error(open(&app, &link).await, StatusCode::SERVICE_UNAVAILABLE).await;

    let AppError::Upstream {
        message,
        retry_after_secs,
    } = error
    else {
        panic!("expected Upstream, got {error:?}")
    };
    assert!(message.contains("Microsoft is not answering"), "{message}");
    assert!(retry_after_secs.is_some());
    app.emulator.faults().clear();
    let page: RecipientPage = ok_json(open(&app, &link).await).await;
    assert!(page.request.is_some(), "a QR code once Microsoft answers");
}

#[tokio::test]
async fn a_short_outage_is_ridden_out_by_retries() {
    let (app, link) = sent().await;
    app.emulator
        .faults()
        .add(FaultSpec::status("/verifiedid/*/createPresentationRequest", 503).times(2));

    let page: RecipientPage = ok_json(open(&app, &link).await).await;

    assert!(page.request.is_some());
}

#[tokio::test]
async fn a_revoked_consent_is_a_refusal_not_an_outage() {
    let (app, link) = sent().await;
    // The consent was revoked: the request service refuses the app's token.
    app.emulator
        .revoke_admin_consent(CONTOSO_TENANT_ID, DEV_CLIENT_ID);
    app.emulator.faults().add(FaultSpec::status(
        "/verifiedid/*/createPresentationRequest",
        403,
    ));
    let error = app_error(open(&app, &link).await, StatusCode::BAD_GATEWAY).await;
    assert!(
        matches!(&error, AppError::Upstream { retry_after_secs: None, message } if message.contains("refused")),
        "{error:?}"
    );
    // The refused token is forgotten: the next try asks for a new one, which Microsoft
    // no longer grants, and says so again instead of reusing the dead token.
    app.emulator.faults().clear();
    let error = app_error(open(&app, &link).await, StatusCode::BAD_GATEWAY).await;
    assert!(
        matches!(
            error,
            AppError::Upstream {
                retry_after_secs: None,
                ..
            }
        ),
        "{error:?}"
    );
}
