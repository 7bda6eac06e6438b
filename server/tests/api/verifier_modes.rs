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

/// Provider mode against the emulator, configured as for the real Microsoft: our tenant and
/// authority, and the provider app registration customers consent to.
const PROVIDER_MODE: &[(&str, &str)] = &[
    ("TRACELESS_MS_VERIFIER", "provider"),
    ("TRACELESS_MS_PROVIDER_TENANT_ID", PROVIDER_TENANT_ID),
    ("TRACELESS_MS_PROVIDER_AUTHORITY_DID", PROVIDER_DID),
    (
        "TRACELESS_MS_PROVIDER_CLIENT_ID",
        microsoft_emulator::DEV_PROVIDER_CLIENT_ID,
    ),
    (
        "TRACELESS_MS_PROVIDER_CLIENT_SECRET",
        microsoft_emulator::DEV_PROVIDER_CLIENT_SECRET,
    ),
];

async fn request_seen_by_microsoft(app: &TestApp, url: &str) -> serde_json::Value {
    let id = url.rsplit('/').next().unwrap();
    plain_client()
        .get(format!(
            "{}authenticator/api/requests/{id}",
            app.emulator.base_url()
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn status(app: &TestApp, id: &str) -> String {
    let detail: VerificationDetail =
        ok_json(app.call("verification_overview", &[("id", id)]).await).await;
    detail.status.to_string()
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
    let (app, started, url) = verify_megan(PROVIDER_MODE).await;

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

#[tokio::test]
async fn in_provider_mode_customers_consent_to_the_provider_app_without_the_request_role() {
    let app = spawn_app_with(PROVIDER_MODE).await;
    app.admin("Contoso Help Desk", "ada@contoso.com").await;

    let consent = app.start_connect_as(&app.client).await;
    let query: std::collections::HashMap<String, String> = url::Url::parse(&consent)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect();
    assert_eq!(
        query["client_id"],
        microsoft_emulator::DEV_PROVIDER_CLIENT_ID
    );
    // The consent page lists what the customer is asked for: no request-service role.
    let page = new_client()
        .get(&consent)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Organization.Read.All"), "{page}");
    assert!(!page.contains("VerifiableCredential.Create"), "{page}");

    // The whole flow still ends verified: our own app asks in our own tenant.
    app.connect_microsoft(microsoft_emulator::CONTOSO_ADMIN_EMAIL, "accept")
        .await;
    assert!(app.card().await.connection.unwrap().active);
}

/// Builds (does not serve) a provider-mode server on a fresh emulator; `authorities_down`
/// makes the emulator's authority listing answer 503.
async fn build_provider(
    extra: &[(&str, &str)],
    authorities_down: bool,
) -> anyhow::Result<server::Application> {
    let emulator = microsoft_emulator::spawn(microsoft_emulator::EmulatorConfig {
        bind: "127.0.0.1:0".parse().unwrap(),
        seed: microsoft_emulator::Seed::demo(),
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}", dir.path().join("t.db").display());
    let mut vars: Vec<(String, String)> = vec![
        ("TRACELESS_BIND_ADDR".into(), "127.0.0.1:0".into()),
        ("TRACELESS_DATABASE_URL".into(), database),
        (
            "TRACELESS_MS_CLIENT_ID".into(),
            microsoft_emulator::DEV_CLIENT_ID.into(),
        ),
        (
            "TRACELESS_MS_CLIENT_SECRET".into(),
            microsoft_emulator::DEV_CLIENT_SECRET.into(),
        ),
        ("TRACELESS_MS_LOGIN_URL".into(), emulator.login_url()),
        ("TRACELESS_MS_GRAPH_URL".into(), emulator.graph_url()),
        (
            "TRACELESS_MS_VERIFIED_ID_URL".into(),
            emulator.verified_id_url(),
        ),
        ("TRACELESS_MS_TIMEOUT_MS".into(), "1500".into()),
    ];
    for (k, v) in PROVIDER_MODE.iter().chain(extra) {
        vars.retain(|(name, _)| name != k);
        vars.push((k.to_string(), v.to_string()));
    }
    if authorities_down {
        emulator.faults().add(microsoft_emulator::FaultSpec::status(
            "/verifiedid/v1.0/verifiableCredentials/authorities",
            503,
        ));
    }
    let settings = traceless::config::Settings::from_lookup(|name| {
        vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    })
    .expect("valid settings");
    let built = server::Application::build(settings).await;
    drop(emulator);
    drop(dir);
    built
}

#[tokio::test]
async fn provider_mode_starts_when_our_own_authority_is_ready() {
    assert!(build_provider(&[], false).await.is_ok());
}

#[tokio::test]
async fn provider_mode_refuses_to_start_when_our_own_authority_is_not_ours_or_not_readable() {
    // A DID that is not one of our tenant's authorities.
    let error = build_provider(
        &[("TRACELESS_MS_PROVIDER_AUTHORITY_DID", CONTOSO_DID)],
        false,
    )
    .await
    .err()
    .expect("refused");
    let not_ready = error
        .downcast_ref::<server::microsoft::ProviderNotReady>()
        .expect("a settings problem (exit code 2)");
    assert!(
        not_ready
            .to_string()
            .contains("is not among the tenant's authorities"),
        "{not_ready}"
    );
    assert!(!not_ready.to_string().contains('\n'));
    // Microsoft cannot tell us: we do not start on a guess.
    let error = build_provider(&[], true).await.err().expect("refused");
    assert!(
        error
            .downcast_ref::<server::microsoft::ProviderNotReady>()
            .is_some(),
        "{error:#}"
    );
}
