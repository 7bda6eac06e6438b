//! Who verifies: the customer's tenant and authority (default), or Microsoft's
//! service-provider pattern (our tenant and authority, the customer's DID as the only
//! accepted issuer). Both end in "verified"; the request Microsoft sees differs.

use app::model::{RecipientPage, StartedVerification, VerificationDetail};
use microsoft_emulator::{
    CONTOSO_ADMIN_EMAIL, CONTOSO_DID, CONTOSO_EMPLOYEE_EMAIL, CONTOSO_TENANT_ID,
    FABRIKAM_EMPLOYEE_EMAIL, PROVIDER_DID, PROVIDER_TENANT_ID, PresentOptions, Variant,
    WalletError,
};

use crate::helpers::*;

async fn verify_megan(app: &TestApp) -> (StartedVerification, String) {
    app.admin("Contoso Help Desk", "ada@contoso.com").await;
    app.connect_microsoft(CONTOSO_ADMIN_EMAIL, "accept").await;
    let started: StartedVerification = ok_json(
        app.call(
            "send_verification",
            &[
                ("email", CONTOSO_EMPLOYEE_EMAIL),
                ("ticket_reference", ""),
                ("note", ""),
            ],
        )
        .await,
    )
    .await;
    let page: RecipientPage = ok_json(
        app.call_as(
            &new_client(),
            "open_verification_link",
            &[("token", &token_of(&started.link))],
        )
        .await,
    )
    .await;
    let url = page.request.expect("a QR code").url;
    (started, url)
}

async fn request_seen_by_microsoft(app: &TestApp, url: &str) -> serde_json::Value {
    let id = url.rsplit('/').next().unwrap();
    reqwest::get(format!(
        "{}authenticator/api/requests/{id}",
        app.emulator.base_url()
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap()
}

async fn status(app: &TestApp, id: &str) -> String {
    let detail: VerificationDetail =
        ok_json(app.call("verification_overview", &[("id", id)]).await).await;
    detail.status
}

#[tokio::test]
async fn by_default_the_customers_tenant_and_authority_verify() {
    let app = spawn_app().await;
    let (started, url) = verify_megan(&app).await;

    let request = request_seen_by_microsoft(&app, &url).await;
    assert_eq!(request["authority"], CONTOSO_DID);
    assert_eq!(request["tenantId"], CONTOSO_TENANT_ID);
    app.emulator
        .authenticator()
        .present(&url, CONTOSO_EMPLOYEE_EMAIL, Variant::Valid)
        .await
        .unwrap();
    assert_eq!(status(&app, &started.id).await, "verified");
}

#[tokio::test]
async fn as_a_service_provider_our_authority_verifies_the_customers_credential() {
    let app = spawn_app_with(&[
        ("TRACELESS_MS_VERIFIER", "provider"),
        ("TRACELESS_MS_PROVIDER_TENANT_ID", PROVIDER_TENANT_ID),
        ("TRACELESS_MS_PROVIDER_AUTHORITY_DID", PROVIDER_DID),
    ])
    .await;
    let (started, url) = verify_megan(&app).await;

    let request = request_seen_by_microsoft(&app, &url).await;
    assert_eq!(request["authority"], PROVIDER_DID);
    assert_eq!(request["tenantId"], PROVIDER_TENANT_ID);
    // Only the customer's DID is accepted: another tenant's credential is refused by Microsoft.
    let foreign = app
        .emulator
        .authenticator()
        .present_with(PresentOptions {
            request: url.clone(),
            user: FABRIKAM_EMPLOYEE_EMAIL.into(),
            variant: Variant::Valid,
            trust_wallet: false,
            vp_token_array: false,
        })
        .await;
    assert!(
        matches!(
            foreign,
            Err(WalletError::Refused(_)) | Err(WalletError::NoMatchingCredential(_))
        ),
        "{foreign:?}"
    );
    app.emulator
        .authenticator()
        .present(&url, CONTOSO_EMPLOYEE_EMAIL, Variant::Valid)
        .await
        .unwrap();
    assert_eq!(status(&app, &started.id).await, "verified");
}
