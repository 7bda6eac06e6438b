//! The simulated Authenticator: each presentation variant and the callbacks it causes.

use microsoft_emulator::*;
use serde_json::{Value, json};

use crate::helpers::*;

/// A Contoso request with the given tweaks; returns (emulator, sink, request url).
async fn request(tweak: impl Fn(&mut Value)) -> (TestEmu, CallbackSink, String) {
    let t = spawn_emu().await;
    let (sink, cb) = CallbackSink::start().await;
    let token = t.contoso_request_token().await;
    let mut body = presentation_body(&cb);
    tweak(&mut body);
    let (status, created) = t.create_request(&token, &body).await;
    assert_eq!(status, 201, "{created}");
    let url = created["url"].as_str().unwrap().to_string();
    (t, sink, url)
}

#[tokio::test]
async fn a_valid_presentation_sends_retrieved_then_verified_with_headers_and_state_echoed() {
    let (t, sink, url) = request(|_| {}).await;
    let wallet = t.emu.authenticator();
    let scanned = wallet.scan(&url).await.unwrap();
    assert_eq!(scanned.request_statuses(), vec!["request_retrieved"]);
    assert_eq!(scanned.statuses(), vec![Some(200)]);
    let out = wallet
        .present(&url, CONTOSO_EMPLOYEE_EMAIL, Variant::Valid)
        .await
        .unwrap();
    assert_eq!(out.request_statuses(), vec!["presentation_verified"]);

    let got = sink.all();
    assert_eq!(
        sink.statuses(),
        vec!["request_retrieved", "presentation_verified"]
    );
    for r in &got {
        assert_eq!(r.headers["api-key"], "secret-key-1");
        assert_eq!(r.headers["content-type"], "application/json");
        assert_eq!(r.body["state"], "verification-42");
        assert_eq!(r.body["requestId"], out.request_id);
    }
    let v = &got[1].body;
    assert!(v["subject"].as_str().unwrap().starts_with("did:"));
    let c = &v["verifiedCredentialsData"][0];
    assert_eq!(c["issuer"], CONTOSO_DID);
    assert_eq!(
        c["type"],
        json!(["VerifiableCredential", "VerifiedEmployee"])
    );
    assert_eq!(c["claims"]["mail"], CONTOSO_EMPLOYEE_EMAIL);
    assert_eq!(c["claims"]["displayName"], "Megan Bowen");
    assert_eq!(
        c["claims"]["revocationId"],
        "megan.bowen@contoso.onmicrosoft.com"
    );
    assert!(c["claims"]["photo"].is_string());
    assert_eq!(c["credentialState"]["revocationStatus"], "VALID");
    assert_eq!(
        c["domainValidation"]["url"],
        "https://verifiedid.contoso.com/"
    );
    assert!(c["issuanceDate"].is_string() && c["expirationDate"].is_string());
    assert!(c.get("faceCheck").is_none());
    assert!(v.get("receipt").is_none());

    // A finished request cannot be presented again.
    assert!(matches!(
        wallet
            .present(&url, CONTOSO_EMPLOYEE_EMAIL, Variant::Valid)
            .await,
        Err(WalletError::AlreadyCompleted(_))
    ));
}

#[tokio::test]
async fn a_revoked_credential_is_refused_at_the_wallet_without_a_callback() {
    let (t, sink, url) = request(|_| {}).await;
    let err = t
        .emu
        .authenticator()
        .present(&url, CONTOSO_REVOKED_EMAIL, Variant::Valid)
        .await
        .unwrap_err();
    assert!(matches!(err, WalletError::Refused(_)), "{err:?}");
    // The wallet opened the request; nothing else reaches the relying party.
    assert_eq!(sink.statuses(), vec!["request_retrieved"]);
    // The request stays open: the person can still present a valid credential.
    t.emu
        .authenticator()
        .present(&url, CONTOSO_EMPLOYEE_EMAIL, Variant::Valid)
        .await
        .unwrap();
    assert_eq!(
        sink.statuses(),
        vec!["request_retrieved", "presentation_verified"]
    );
}

#[tokio::test]
async fn a_revoked_credential_is_presented_as_revoked_when_allow_revoked_is_true() {
    let (t, sink, url) = request(|b| {
        b["requestedCredentials"][0]["configuration"]["validation"]["allowRevoked"] = json!(true);
    })
    .await;
    t.emu
        .authenticator()
        .present(&url, CONTOSO_REVOKED_EMAIL, Variant::Valid)
        .await
        .unwrap();
    let v = &sink.all()[1].body;
    assert_eq!(v["requestStatus"], "presentation_verified");
    assert_eq!(
        v["verifiedCredentialsData"][0]["credentialState"]["revocationStatus"],
        "REVOKED"
    );

    // trust_wallet sends it even without allowRevoked (for the relying party's own checks).
    let (t, sink, url) = request(|_| {}).await;
    t.emu
        .authenticator()
        .present_with(PresentOptions {
            request: url,
            user: CONTOSO_EMPLOYEE_EMAIL.into(),
            variant: Variant::Revoked,
            trust_wallet: true,
            ..Default::default()
        })
        .await
        .unwrap();
    let c = &sink.all()[1].body["verifiedCredentialsData"][0];
    assert_eq!(c["credentialState"]["revocationStatus"], "REVOKED");
}

#[tokio::test]
async fn another_tenants_credential_is_refused_at_the_wallet_unless_its_issuer_is_accepted() {
    let (t, sink, url) = request(|_| {}).await;
    let err = t
        .emu
        .authenticator()
        .present(&url, CONTOSO_EMPLOYEE_EMAIL, Variant::OtherTenant)
        .await
        .unwrap_err();
    assert!(matches!(err, WalletError::Refused(_)), "{err:?}");
    assert_eq!(sink.statuses(), vec!["request_retrieved"]);

    let (t, sink, url) = request(|b| {
        b["requestedCredentials"][0]["acceptedIssuers"] = json!([]);
    })
    .await;
    t.emu
        .authenticator()
        .present(&url, CONTOSO_EMPLOYEE_EMAIL, Variant::OtherTenant)
        .await
        .unwrap();
    let c = &sink.all()[1].body["verifiedCredentialsData"][0];
    assert_eq!(c["issuer"], FABRIKAM_DID);
    assert_eq!(
        c["domainValidation"]["url"],
        "https://verifiedid.fabrikam.com/"
    );
}

#[tokio::test]
async fn a_different_mail_is_presented_as_verified() {
    let (t, sink, url) = request(|_| {}).await;
    t.emu
        .authenticator()
        .present(&url, CONTOSO_EMPLOYEE_EMAIL, Variant::DifferentMail)
        .await
        .unwrap();
    let v = &sink.all()[1].body;
    assert_eq!(v["requestStatus"], "presentation_verified");
    assert_ne!(
        v["verifiedCredentialsData"][0]["claims"]["mail"],
        CONTOSO_EMPLOYEE_EMAIL
    );

    // ...unless a constraint on mail makes Microsoft refuse it.
    let (t, sink, url) = request(|b| {
        b["requestedCredentials"][0]["constraints"] =
            json!([{"claimName": "mail", "values": [CONTOSO_EMPLOYEE_EMAIL]}]);
    })
    .await;
    t.emu
        .authenticator()
        .present(&url, CONTOSO_EMPLOYEE_EMAIL, Variant::DifferentMail)
        .await
        .unwrap();
    assert_eq!(sink.all()[1].body["requestStatus"], "presentation_error");
}

#[tokio::test]
async fn face_check_reports_the_score_or_a_claim_validation_error() {
    let face = |b: &mut Value| {
        b["requestedCredentials"][0]["configuration"]["validation"]["faceCheck"] =
            json!({"sourcePhotoClaimName": "photo", "matchConfidenceThreshold": 70});
    };
    let (t, sink, url) = request(face).await;
    t.emu
        .authenticator()
        .present(&url, CONTOSO_EMPLOYEE_EMAIL, Variant::Valid)
        .await
        .unwrap();
    let fc = &sink.all()[1].body["verifiedCredentialsData"][0]["faceCheck"];
    assert!(fc["matchConfidenceScore"].as_f64().unwrap() >= 70.0);
    assert_eq!(fc["sourcePhotoQuality"], "HIGH");

    let (t, sink, url) = request(face).await;
    t.emu
        .authenticator()
        .present(&url, CONTOSO_EMPLOYEE_EMAIL, Variant::FaceCheckLow)
        .await
        .unwrap();
    let e = &sink.all()[1].body;
    assert_eq!(e["requestStatus"], "presentation_error");
    assert_eq!(e["error"]["code"], "claimValidationError");
    assert_eq!(
        e["error"]["message"],
        "Match confidence score failing to meet the threshold."
    );
}

#[tokio::test]
async fn a_decline_sends_nothing_but_the_retrieval() {
    let (t, sink, url) = request(|_| {}).await;
    let out = t.emu.authenticator().decline(&url).await.unwrap();
    assert_eq!(out.request_statuses(), vec!["request_retrieved"]);
    assert_eq!(sink.statuses(), vec!["request_retrieved"]);

    // Declining again after the scan sends nothing at all.
    let out = t.emu.authenticator().decline(&url).await.unwrap();
    assert!(out.callbacks.is_empty());
    assert_eq!(sink.statuses(), vec!["request_retrieved"]);
}

#[tokio::test]
async fn a_test_control_makes_the_wallet_send_an_undocumented_error_code() {
    let (t, sink, url) = request(|_| {}).await;
    let res = t
        .http
        .post(format!("{}/api/decline", t.emu.authenticator_url()))
        .json(&json!({"request": url, "error_code": "userCanceled", "error_message": "The user declined."}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(
        sink.statuses(),
        vec!["request_retrieved", "presentation_error"]
    );
    let e = &sink.all()[1].body;
    assert_eq!(e["error"]["code"], "userCanceled");
    assert_eq!(e["error"]["message"], "The user declined.");
    // The request is finished.
    assert!(matches!(
        t.emu.authenticator().decline(&url).await,
        Err(WalletError::AlreadyCompleted(_))
    ));
}

#[tokio::test]
async fn the_receipt_carries_vp_token_as_a_string_or_an_array() {
    let receipt = |b: &mut Value| {
        b["includeReceipt"] = json!(true);
    };
    let (t, sink, url) = request(receipt).await;
    t.emu
        .authenticator()
        .present(&url, CONTOSO_EMPLOYEE_EMAIL, Variant::Valid)
        .await
        .unwrap();
    assert!(sink.all()[1].body["receipt"]["vp_token"].is_string());

    let (t, sink, url) = request(receipt).await;
    t.emu
        .authenticator()
        .present_with(PresentOptions {
            request: url,
            user: CONTOSO_EMPLOYEE_EMAIL.into(),
            vp_token_array: true,
            ..Default::default()
        })
        .await
        .unwrap();
    let r = &sink.all()[1].body["receipt"];
    assert!(r["vp_token"].is_array());
    assert!(r["id_token"].is_string());
}

#[tokio::test]
async fn the_authorization_callback_header_is_echoed_and_the_wallet_reports_the_rps_answer() {
    let (t, sink, url) = request(|b| {
        b["callback"]["headers"] = json!({"Authorization": "Bearer rp-minted"});
    })
    .await;
    sink.answer_next(&[200, 401]);
    let out = t
        .emu
        .authenticator()
        .present(&url, CONTOSO_EMPLOYEE_EMAIL, Variant::Valid)
        .await
        .unwrap();
    assert_eq!(out.statuses(), vec![Some(200), Some(401)]);
    assert_eq!(sink.all()[0].headers["authorization"], "Bearer rp-minted");
}

#[tokio::test]
async fn an_expired_request_cannot_be_scanned() {
    let mut seed = Seed::demo();
    seed.request_lifetime_secs = 1;
    let t = spawn_emu_with(seed).await;
    let token = t.contoso_request_token().await;
    let (_, created) = t
        .create_request(&token, &presentation_body("http://127.0.0.1:9/cb"))
        .await;
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let err = t
        .emu
        .authenticator()
        .scan(created["url"].as_str().unwrap())
        .await
        .unwrap_err();
    assert!(matches!(err, WalletError::Expired(_)));
}

#[tokio::test]
async fn the_wallet_http_api_and_page_drive_the_same_flow() {
    let (t, sink, url) = request(|_| {}).await;
    let api = t.emu.authenticator_url();
    let res = t
        .http
        .post(format!("{api}/api/present"))
        .json(&json!({"request": url, "user": CONTOSO_EMPLOYEE2_EMAIL, "variant": "valid"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let out: Value = res.json().await.unwrap();
    assert_eq!(
        out["callbacks"][1]["request_status"],
        "presentation_verified"
    );
    assert_eq!(out["callbacks"][1]["status"], 200);
    assert_eq!(sink.statuses().len(), 2);

    let res = t
        .http
        .post(format!("{api}/api/scan"))
        .json(&json!({"request": "nope"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);

    let page = t
        .http
        .get(format!(
            "{api}/?request={}",
            url::form_urlencoded::byte_serialize(url.as_bytes()).collect::<String>()
        ))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Share") && page.contains("megan.bowen"));

    let users: Value = t
        .http
        .get(format!("{api}/api/users"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(users.as_array().unwrap().len() >= 8);
}

#[tokio::test]
async fn the_authenticator_page_shares_a_credential_through_its_form() {
    let (t, sink, url) = request(|_| {}).await;
    let res = t
        .http
        .post(format!("{}/act", t.emu.authenticator_url()))
        .form(&[
            ("request", url.as_str()),
            ("user", "lee.gu@contoso.onmicrosoft.com"),
            ("variant", "valid"),
            ("action", "present"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("data-testid=\"outcome\">Shared<")
    );
    assert_eq!(
        sink.statuses(),
        vec!["request_retrieved", "presentation_verified"]
    );
    assert_eq!(
        sink.all()[1].body["verifiedCredentialsData"][0]["claims"]["mail"],
        CONTOSO_EMPLOYEE2_EMAIL
    );
}

#[tokio::test]
async fn a_northwind_user_has_no_credential_to_present() {
    let (t, sink, url) = request(|_| {}).await;
    let err = t
        .emu
        .authenticator()
        .present(&url, NORTHWIND_EMPLOYEE_EMAIL, Variant::Valid)
        .await
        .unwrap_err();
    assert!(matches!(err, WalletError::NoMatchingCredential(_)));
    let err = t
        .emu
        .authenticator()
        .present(&url, CONTOSO_NO_CREDENTIAL_EMAIL, Variant::Valid)
        .await
        .unwrap_err();
    assert!(matches!(err, WalletError::NoMatchingCredential(_)));
    assert!(sink.all().is_empty());
}
