//! Who verifies: the customer's tenant and authority (default), or Microsoft's
//! service-provider pattern (our tenant and authority, the customer's DID as the only
//! accepted issuer). Both end in "verified"; the request Microsoft sees differs.

use app::model::{RecipientPage, StartedVerification, VerificationDetail};
use microsoft_emulator::{
    CONTOSO_DID, CONTOSO_EMPLOYEE_EMAIL, CONTOSO_TENANT_ID, FABRIKAM_EMPLOYEE_EMAIL, PROVIDER_DID,
    PROVIDER_TENANT_ID, PresentOptions, Variant, WalletError,
};

use crate::helpers::*;

/// Contoso connected, a verification sent to Megan and its link opened: the app, the
/// verification and the request's `openid-vc://` URL.
async fn verify_megan(extra: &[(&str, &str)]) -> (TestApp, StartedVerification, String) {
    let (app, started) = contoso_with_a_verification(extra).await;
    let link = started.link.clone();
    let page: RecipientPage = ok_json(
        app.call_as(
            &new_client(),
            "open_verification_link",
            &[("token", &token_of(&link))],
        )
        .await,
    )
    .await;
    let url = page.request.expect("a QR code").url;
    (app, started, url)
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
    let (app, started, url) = verify_megan(&[]).await;

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
    let (app, started, url) = verify_megan(&[
        ("TRACELESS_MS_VERIFIER", "provider"),
        ("TRACELESS_MS_PROVIDER_TENANT_ID", PROVIDER_TENANT_ID),
        ("TRACELESS_MS_PROVIDER_AUTHORITY_DID", PROVIDER_DID),
    ])
    .await;

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
