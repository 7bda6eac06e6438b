//! The verify side of `traceless::microsoft` against the in-process Microsoft emulator: app token
//! and its role, `createPresentationRequest`, and the callbacks the simulated wallet sends.

use std::time::Duration;

use microsoft_emulator::{
    CONTOSO_DID, CONTOSO_EMPLOYEE_EMAIL, CONTOSO_REVOKED_EMAIL, CONTOSO_TENANT_ID, DEV_CLIENT_ID,
    DEV_CLIENT_SECRET, EmulatorConfig, FABRIKAM_DID, FaultSpec, NORTHWIND_TENANT_ID,
    RunningEmulator, Seed, Variant,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use traceless::microsoft::{
    AppToken, Callback, CallbackEvent, ClientCredentials, CredentialType, Did, FaceCheck,
    MicrosoftClient, MicrosoftEndpoints, MicrosoftError, PRESENTATION_ROLES, PresentationCallback,
    PresentationRequest, Registration, RevocationStatus, Step, TenantId, Token,
};
use url::Url;

/// Nothing listens here: the wallet's callbacks are read from its outcome instead.
const CALLBACK: &str = "http://127.0.0.1:9/api/microsoft/callback";

async fn spawn_emu_with(seed: Seed) -> RunningEmulator {
    microsoft_emulator::spawn(EmulatorConfig {
        bind: "127.0.0.1:0".parse().unwrap(),
        seed,
    })
    .await
    .expect("emulator starts")
}

async fn spawn_emu() -> RunningEmulator {
    spawn_emu_with(Seed::demo()).await
}

fn client(emu: &RunningEmulator) -> MicrosoftClient {
    client_for(&emu.login_url(), &emu.graph_url(), &emu.verified_id_url())
}

fn client_for(login: &str, graph: &str, verified_id: &str) -> MicrosoftClient {
    MicrosoftClient::with_timeout(
        MicrosoftEndpoints::new(login, graph, verified_id).unwrap(),
        ClientCredentials::new(DEV_CLIENT_ID, DEV_CLIENT_SECRET),
        Duration::from_secs(5),
    )
    .unwrap()
}

fn contoso() -> TenantId {
    TenantId::parse(CONTOSO_TENANT_ID).unwrap()
}

fn request(authority: &str) -> PresentationRequest {
    PresentationRequest::new(
        Did::parse(authority).unwrap(),
        CredentialType::verified_employee(),
        Registration {
            client_name: "Traceless".into(),
            purpose: Some("Verify your employment".into()),
        },
        PresentationCallback::new(Url::parse(CALLBACK).unwrap(), "verification-42", "key-1"),
    )
}

/// Contoso has consented; an app token for it.
async fn contoso_app_token(emu: &RunningEmulator) -> AppToken {
    emu.grant_admin_consent(CONTOSO_TENANT_ID, DEV_CLIENT_ID);
    client(emu).app_token(&contoso()).await.unwrap()
}

fn parse_all(outcome: &microsoft_emulator::WalletOutcome) -> Vec<Callback> {
    outcome
        .callbacks
        .iter()
        .map(|c| Callback::parse(&serde_json::to_vec(&c.body).unwrap()).unwrap())
        .collect()
}

/// A one-answer HTTP server: every request gets `status` and `body`.
async fn fake_microsoft(status: u16, body: &'static str) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                // Read the head and whatever body arrives with it; our requests are small.
                while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                    match socket.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                }
                let answer = format!(
                    "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(answer.as_bytes()).await;
                let _ = socket.shutdown().await;
            });
        }
    });
    format!("http://{addr}")
}

#[tokio::test]
async fn an_app_token_before_consent_is_rejected() {
    let emu = spawn_emu().await;

    let err = client(&emu).app_token(&contoso()).await.unwrap_err();

    assert!(
        matches!(&err, MicrosoftError::Rejected { step: Step::AppToken, code, description, .. }
            if code == "unauthorized_client" && description.starts_with("AADSTS")),
        "{err:?}"
    );
}

#[tokio::test]
async fn an_app_token_after_consent_carries_the_role() {
    let emu = spawn_emu().await;

    let token = contoso_app_token(&emu).await;

    assert_eq!(token.tenant, contoso());
    assert!(
        token
            .roles
            .iter()
            .any(|r| PRESENTATION_ROLES.contains(&r.as_str()))
    );
    assert!(!token.expires_within(time::Duration::minutes(5)));
    assert!(!format!("{token:?}").contains(token.token.expose()));
}

#[tokio::test]
async fn an_app_without_the_role_gets_missing_role() {
    let mut seed = Seed::demo();
    for c in &mut seed.clients {
        c.app_roles.clear();
    }
    let emu = spawn_emu_with(seed).await;
    emu.grant_admin_consent(CONTOSO_TENANT_ID, DEV_CLIENT_ID);

    let err = client(&emu).app_token(&contoso()).await.unwrap_err();

    assert!(matches!(err, MicrosoftError::MissingRole), "{err:?}");
}

#[tokio::test]
async fn an_app_token_in_a_tenant_without_verified_id_is_verified_id_not_set_up() {
    let emu = spawn_emu().await;
    emu.grant_admin_consent(NORTHWIND_TENANT_ID, DEV_CLIENT_ID);

    let err = client(&emu)
        .app_token(&TenantId::parse(NORTHWIND_TENANT_ID).unwrap())
        .await
        .unwrap_err();

    assert!(matches!(err, MicrosoftError::VerifiedIdNotSetUp), "{err:?}");
}

#[tokio::test]
async fn a_presentation_request_is_created_with_id_url_and_expiry() {
    let emu = spawn_emu().await;
    let token = contoso_app_token(&emu).await;

    let created = client(&emu)
        .create_presentation_request(&token, &request(CONTOSO_DID))
        .await
        .unwrap();

    assert!(!created.request_id.is_empty());
    assert!(
        created.url.starts_with("openid-vc://?request_uri="),
        "{}",
        created.url
    );
    assert!(created.url.contains(&created.request_id));
    let lifetime = created.expiry - time::OffsetDateTime::now_utc();
    assert!(
        lifetime > time::Duration::seconds(290) && lifetime <= time::Duration::seconds(301),
        "{lifetime}"
    );
}

#[tokio::test]
async fn a_request_with_another_tenants_authority_is_rejected_naming_the_field() {
    let emu = spawn_emu().await;
    let token = contoso_app_token(&emu).await;

    let err = client(&emu)
        .create_presentation_request(&token, &request(FABRIKAM_DID))
        .await
        .unwrap_err();

    match &err {
        MicrosoftError::Rejected {
            step: Step::PresentationRequest,
            status: 400,
            code,
            inner: Some(inner),
            ..
        } => {
            assert_eq!(code, "badRequest");
            assert_eq!(inner.code, "notFound");
            assert_eq!(inner.target.as_deref(), Some("authority"));
        }
        other => panic!("{other:?}"),
    }
    assert!(err.to_string().contains("at authority"), "{err}");
}

#[tokio::test]
async fn a_request_for_an_unknown_credential_type_is_rejected_naming_the_field() {
    let emu = spawn_emu().await;
    let token = contoso_app_token(&emu).await;
    let mut r = request(CONTOSO_DID);
    r.requested_credentials[0].credential_type = CredentialType::parse("PirateLicense").unwrap();

    let err = client(&emu)
        .create_presentation_request(&token, &r)
        .await
        .unwrap_err();

    assert!(
        matches!(&err, MicrosoftError::Rejected { inner: Some(i), .. }
            if i.target.as_deref() == Some("requestedCredentials[0].type")),
        "{err:?}"
    );
}

#[tokio::test]
async fn one_503_is_tried_again_after_the_retry_after_microsoft_asked_for() {
    let emu = spawn_emu().await;
    let token = contoso_app_token(&emu).await;
    emu.faults().add(
        FaultSpec {
            retry_after_secs: Some(1),
            ..FaultSpec::status("/verifiedid/*/createPresentationRequest", 503)
        }
        .times(1),
    );
    let started = std::time::Instant::now();

    let created = client(&emu)
        .create_presentation_request(&token, &request(CONTOSO_DID))
        .await
        .expect("the second try succeeds");

    assert!(created.url.starts_with("openid-vc://"));
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After honoured"
    );
}

#[tokio::test]
async fn app_tokens_are_reused_until_shortly_before_they_expire() {
    let emu = spawn_emu().await;
    emu.grant_admin_consent(CONTOSO_TENANT_ID, DEV_CLIENT_ID);
    let ms = client(&emu);
    let first = ms.app_token(&contoso()).await.unwrap();
    // Any further token request would fail: the cached token is used.
    emu.faults()
        .add(FaultSpec::status("/login/*/oauth2/v2.0/token", 400));
    let second = ms.app_token(&contoso()).await.unwrap();
    assert_eq!(first.token.expose(), second.token.expose());
    ms.forget_app_token(&contoso());
    assert!(ms.app_token(&contoso()).await.is_err());
}

#[tokio::test]
async fn a_request_service_outage_is_unavailable() {
    let emu = spawn_emu().await;
    let token = contoso_app_token(&emu).await;
    emu.faults().add(FaultSpec::status(
        "/verifiedid/*/createPresentationRequest",
        503,
    ));

    let err = client(&emu)
        .with_retry_policy(traceless::microsoft::RetryPolicy::NONE)
        .create_presentation_request(&token, &request(CONTOSO_DID))
        .await
        .unwrap_err();

    assert!(
        matches!(
            err,
            MicrosoftError::Unavailable {
                step: Step::PresentationRequest,
                status: Some(503)
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn an_expired_or_forged_app_token_is_rejected() {
    let emu = spawn_emu().await;
    let mut token = contoso_app_token(&emu).await;
    token.token = Token::new(emu.sign_token(&serde_json::json!({
        "aud": "3db474b9-6a0c-4840-96ac-1fceb342124f", "tid": CONTOSO_TENANT_ID,
        "roles": ["VerifiableCredential.Create.All"], "exp": 1_000_000_000,
    })));

    let err = client(&emu)
        .create_presentation_request(&token, &request(CONTOSO_DID))
        .await
        .unwrap_err();

    assert!(
        matches!(&err, MicrosoftError::Rejected { status: 401, inner: Some(i), .. } if i.code == "tokenError"),
        "{err:?}"
    );
}

#[tokio::test]
async fn the_wallets_callbacks_parse_into_retrieved_then_verified() {
    let emu = spawn_emu().await;
    let token = contoso_app_token(&emu).await;
    let created = client(&emu)
        .create_presentation_request(&token, &request(CONTOSO_DID))
        .await
        .unwrap();

    let outcome = emu
        .authenticator()
        .present(&created.url, CONTOSO_EMPLOYEE_EMAIL, Variant::Valid)
        .await
        .unwrap();
    let callbacks = parse_all(&outcome);

    assert_eq!(callbacks.len(), 2, "{outcome:?}");
    assert_eq!(callbacks[0].event, CallbackEvent::Retrieved);
    assert!(
        callbacks
            .iter()
            .all(|c| c.state == "verification-42" && c.request_id == created.request_id)
    );
    let CallbackEvent::Verified(p) = &callbacks[1].event else {
        panic!("{:?}", callbacks[1])
    };
    let vc = &p.credentials[0];
    assert_eq!(vc.issuer.as_str(), CONTOSO_DID);
    assert!(vc.has_type("VerifiedEmployee"));
    assert!(!vc.is_revoked());
    assert_eq!(vc.claim("mail"), Some(CONTOSO_EMPLOYEE_EMAIL));
    assert!(vc.linked_domain.is_some());
    assert!(vc.face_check.is_none());
}

#[tokio::test]
async fn a_face_check_request_reports_the_score_or_the_error() {
    let emu = spawn_emu().await;
    let token = contoso_app_token(&emu).await;
    let ms = client(&emu);
    let face = request(CONTOSO_DID).with_face_check(FaceCheck::photo(70));

    let ok = ms.create_presentation_request(&token, &face).await.unwrap();
    let outcome = emu
        .authenticator()
        .present(&ok.url, CONTOSO_EMPLOYEE_EMAIL, Variant::Valid)
        .await
        .unwrap();
    let last = parse_all(&outcome).pop().unwrap();
    let CallbackEvent::Verified(p) = last.event else {
        panic!("{last:?}")
    };
    assert!(
        p.credentials[0]
            .face_check
            .as_ref()
            .unwrap()
            .match_confidence_score
            .unwrap()
            >= 70.0
    );

    let low = ms.create_presentation_request(&token, &face).await.unwrap();
    let outcome = emu
        .authenticator()
        .present(&low.url, CONTOSO_EMPLOYEE_EMAIL, Variant::FaceCheckLow)
        .await
        .unwrap();
    let last = parse_all(&outcome).pop().unwrap();
    let CallbackEvent::Error(e) = last.event else {
        panic!("{last:?}")
    };
    assert_eq!(e.code, "claimValidationError");
}

/// We send `allowRevoked: true` so that a revoked credential reaches us with its status and
/// the agent learns why, instead of Microsoft refusing it silently in the wallet.
#[tokio::test]
async fn a_revoked_credential_arrives_verified_with_its_revocation_status() {
    let emu = spawn_emu().await;
    let token = contoso_app_token(&emu).await;
    let created = client(&emu)
        .create_presentation_request(&token, &request(CONTOSO_DID))
        .await
        .unwrap();

    let outcome = emu
        .authenticator()
        .present(&created.url, CONTOSO_REVOKED_EMAIL, Variant::Valid)
        .await
        .unwrap();

    let last = parse_all(&outcome).pop().unwrap();
    let CallbackEvent::Verified(p) = last.event else {
        panic!("{last:?}")
    };
    let vc = &p.credentials[0];
    assert_eq!(vc.revocation_status, Some(RevocationStatus::Revoked));
    assert!(vc.is_revoked());
}

#[tokio::test]
async fn an_empty_authority_list_is_verified_id_not_set_up() {
    let base = fake_microsoft(200, r#"{"value":[]}"#).await;
    let ms = client_for(&base, &base, &base);

    let err = ms.authorities(&Token::new("admin")).await.unwrap_err();

    assert!(matches!(err, MicrosoftError::VerifiedIdNotSetUp), "{err:?}");
}

#[tokio::test]
async fn a_created_request_must_be_201() {
    let base = fake_microsoft(
        200,
        r#"{"requestId":"r","url":"openid-vc://?request_uri=x","expiry":1633017751}"#,
    )
    .await;
    let ms = client_for(&base, &base, &base);
    let token = AppToken {
        tenant: contoso(),
        token: Token::new("t"),
        roles: vec!["VerifiableCredential.Create.All".into()],
        expires_at: None,
    };

    let err = ms
        .create_presentation_request(&token, &request(CONTOSO_DID))
        .await
        .unwrap_err();

    assert!(
        matches!(
            err,
            MicrosoftError::Malformed {
                step: Step::PresentationRequest,
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_201_with_an_unexpected_body_is_malformed() {
    let base = fake_microsoft(201, r#"{"id":"r"}"#).await;
    let ms = client_for(&base, &base, &base);
    let token = AppToken {
        tenant: contoso(),
        token: Token::new("t"),
        roles: vec![],
        expires_at: None,
    };

    let err = ms
        .create_presentation_request(&token, &request(CONTOSO_DID))
        .await
        .unwrap_err();

    assert!(
        matches!(
            err,
            MicrosoftError::Malformed {
                step: Step::PresentationRequest,
                ..
            }
        ),
        "{err:?}"
    );
}
