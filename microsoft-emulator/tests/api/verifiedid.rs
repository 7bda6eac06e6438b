//! Verified ID: admin API shapes, createPresentationRequest success and validation, request_uri.

use microsoft_emulator::*;
use serde_json::{Value, json};

use crate::helpers::*;

/// Changes a valid request body into an invalid one.
type Mutation = Box<dyn Fn(&mut Value)>;

async fn admin_token(t: &TestEmu, admin: &str) -> String {
    let body = t.connect(admin).await;
    let (status, body) = t
        .token(
            "organizations",
            &[
                ("grant_type", "refresh_token"),
                ("client_id", DEV_CLIENT_ID),
                ("client_secret", DEV_CLIENT_SECRET),
                ("refresh_token", body["refresh_token"].as_str().unwrap()),
                ("scope", &format!("{ADMIN_API}/full_access")),
            ],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    body["access_token"].as_str().unwrap().to_string()
}

async fn get(t: &TestEmu, path: &str, token: &str) -> (u16, Value) {
    let res = t
        .http
        .get(format!("{}{path}", t.emu.verified_id_url()))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    (res.status().as_u16(), res.json().await.unwrap())
}

#[tokio::test]
async fn authorities_and_contracts_have_the_documented_shape() {
    let t = spawn_emu().await;
    let token = admin_token(&t, CONTOSO_ADMIN_EMAIL).await;
    let (status, body) = get(&t, "/v1.0/verifiableCredentials/authorities", &token).await;
    assert_eq!(status, 200, "{body}");
    let a = &body["value"][0];
    assert_eq!(a["id"], CONTOSO_AUTHORITY_ID);
    assert_eq!(a["status"], "Enabled");
    assert_eq!(a["didModel"]["did"], CONTOSO_DID);
    assert_eq!(
        a["didModel"]["linkedDomainUrls"],
        json!(["https://verifiedid.contoso.com/"])
    );
    assert_eq!(a["didModel"]["didDocumentStatus"], "published");

    let (status, body) = get(
        &t,
        &format!("/v1.0/verifiableCredentials/authorities/{CONTOSO_AUTHORITY_ID}/contracts"),
        &token,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        body["value"][0]["rules"]["vc"]["type"],
        json!(["VerifiedEmployee"])
    );
    assert_eq!(body["value"][0]["authorityId"], CONTOSO_AUTHORITY_ID);

    let (status, body) = get(
        &t,
        "/v1.0/verifiableCredentials/authorities/nope/contracts",
        &token,
    )
    .await;
    assert_eq!(status, 404);
    assert_vc_error(&body, "notFound", "notFound", None);
}

#[tokio::test]
async fn a_tenant_without_verified_id_has_no_authorities_and_non_admins_are_refused() {
    let t = spawn_emu().await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let northwind = t.emu.sign_token(&json!({"aud": ADMIN_API, "iss": t.emu.issuer(NORTHWIND_TENANT_ID), "tid": NORTHWIND_TENANT_ID,
        "exp": now + 600, "scp": "full_access", "oid": "2b4d6f8a-0001-4000-8000-000000000001"}));
    let (status, body) = get(&t, "/v1.0/verifiableCredentials/authorities", &northwind).await;
    assert_eq!(status, 200);
    assert_eq!(body["value"], json!([]));

    let employee = t.emu.sign_token(
        &json!({"aud": ADMIN_API, "iss": t.emu.issuer(CONTOSO_TENANT_ID), "tid": CONTOSO_TENANT_ID,
        "exp": now + 600, "scp": "full_access", "oid": "9a1b2c3d-0002-4000-8000-000000000002"}),
    );
    let (status, body) = get(&t, "/v1.0/verifiableCredentials/authorities", &employee).await;
    assert_eq!(status, 403);
    assert_vc_error(&body, "forbidden", "tokenError", None);

    let (status, body) = get(&t, "/v1.0/verifiableCredentials/authorities", "garbage").await;
    assert_eq!(status, 401);
    assert_vc_error(&body, "unauthorized", "tokenError", None);
}

#[tokio::test]
async fn create_presentation_request_answers_201_with_request_id_url_and_expiry() {
    let t = spawn_emu().await;
    let token = t.contoso_request_token().await;
    let (status, body) = t
        .create_request(&token, &presentation_body("http://127.0.0.1:9/cb"))
        .await;
    assert_eq!(status, 201, "{body}");
    let id = body["requestId"].as_str().unwrap();
    let url = body["url"].as_str().unwrap();
    assert!(url.starts_with("openid-vc://?request_uri="), "{url}");
    assert!(url.ends_with(id));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let expiry = body["expiry"].as_i64().unwrap();
    assert!(
        (now + 295..=now + 301).contains(&expiry),
        "{expiry} vs {now}"
    );
    assert!(body.get("qrCode").is_none());

    let mut with_qr = presentation_body("http://127.0.0.1:9/cb");
    with_qr["includeQRCode"] = json!(true);
    let (status, body) = t.create_request(&token, &with_qr).await;
    assert_eq!(status, 201);
    assert!(body["qrCode"].as_str().unwrap().starts_with("data:image/"));
}

#[tokio::test]
async fn create_presentation_request_validates_each_field_like_microsoft() {
    let t = spawn_emu().await;
    let token = t.contoso_request_token().await;
    let base = presentation_body("http://127.0.0.1:9/cb");
    let cases: Vec<(&str, Mutation, &str, &str)> = vec![
        (
            "no callback",
            Box::new(|b| {
                b.as_object_mut().unwrap().remove("callback");
            }),
            "badOrMissingField",
            "callback",
        ),
        (
            "no callback url",
            Box::new(|b| {
                b["callback"].as_object_mut().unwrap().remove("url");
            }),
            "badOrMissingField",
            "callback.url",
        ),
        (
            "bad header",
            Box::new(|b| {
                b["callback"]["headers"] = json!({"x-custom": "1"});
            }),
            "badOrMissingField",
            "callback.headers",
        ),
        (
            "no authority",
            Box::new(|b| {
                b.as_object_mut().unwrap().remove("authority");
            }),
            "badOrMissingField",
            "authority",
        ),
        (
            "not a did",
            Box::new(|b| {
                b["authority"] = json!("contoso");
            }),
            "badOrMissingField",
            "authority",
        ),
        (
            "other tenant's did",
            Box::new(|b| {
                b["authority"] = json!(FABRIKAM_DID);
            }),
            "notFound",
            "authority",
        ),
        (
            "unknown type",
            Box::new(|b| {
                b["requestedCredentials"][0]["type"] = json!("DriversLicense");
            }),
            "notFound",
            "requestedCredentials[0].type",
        ),
        (
            "no credentials",
            Box::new(|b| {
                b["requestedCredentials"] = json!([]);
            }),
            "badOrMissingField",
            "requestedCredentials",
        ),
        (
            "qr not bool",
            Box::new(|b| {
                b["includeQRCode"] = json!("yes");
            }),
            "badOrMissingField",
            "includeQRCode",
        ),
        (
            "no registration",
            Box::new(|b| {
                b.as_object_mut().unwrap().remove("registration");
            }),
            "badOrMissingField",
            "registration",
        ),
        (
            "face check with receipt",
            Box::new(|b| {
                b["includeReceipt"] = json!(true);
                b["requestedCredentials"][0]["configuration"]["validation"]["faceCheck"] =
                    json!({"sourcePhotoClaimName": "photo"});
            }),
            "badOrMissingField",
            "includeReceipt",
        ),
        (
            "threshold out of range",
            Box::new(|b| {
                b["requestedCredentials"][0]["configuration"]["validation"]["faceCheck"] =
                    json!({"sourcePhotoClaimName": "photo", "matchConfidenceThreshold": 20});
            }),
            "badOrMissingField",
            "requestedCredentials[0].configuration.validation.faceCheck.matchConfidenceThreshold",
        ),
        (
            "two constraint kinds",
            Box::new(|b| {
                b["requestedCredentials"][0]["constraints"] =
                    json!([{"claimName": "mail", "values": ["a"], "contains": "b"}]);
            }),
            "badOrMissingField",
            "requestedCredentials[0].constraints[0]",
        ),
    ];
    for (name, mutate, inner, target) in cases {
        let mut body = base.clone();
        mutate(&mut body);
        let (status, err) = t.create_request(&token, &body).await;
        assert_eq!(status, 400, "{name}: {err}");
        assert_vc_error(&err, "badRequest", inner, Some(target));
    }
    // Authorization is an accepted callback header.
    let mut body = base.clone();
    body["callback"]["headers"] = json!({"Authorization": "Bearer abc"});
    assert_eq!(t.create_request(&token, &body).await.0, 201);

    // Not JSON at all.
    let res = t
        .http
        .post(format!(
            "{}/v1.0/verifiableCredentials/createPresentationRequest",
            t.emu.verified_id_url()
        ))
        .bearer_auth(&token)
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert_vc_error(
        &res.json().await.unwrap(),
        "badRequest",
        "badOrMissingField",
        None,
    );
}

#[tokio::test]
async fn create_presentation_request_needs_an_app_token_with_the_role() {
    let t = spawn_emu().await;
    let (status, err) = t
        .create_request("", &presentation_body("http://127.0.0.1:9/cb"))
        .await;
    assert_eq!(status, 401);
    assert_vc_error(&err, "unauthorized", "tokenError", None);

    let delegated = t.connect(CONTOSO_ADMIN_EMAIL).await;
    let (status, _) = t
        .create_request(
            delegated["access_token"].as_str().unwrap(),
            &presentation_body("http://127.0.0.1:9/cb"),
        )
        .await;
    assert_eq!(status, 401, "a Graph token has the wrong audience");

    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let no_roles = t.emu.sign_token(&json!({"aud": REQUEST_SERVICE, "iss": t.emu.issuer(CONTOSO_TENANT_ID), "tid": CONTOSO_TENANT_ID, "exp": now + 600, "idtyp": "app"}));
    let (status, err) = t
        .create_request(&no_roles, &presentation_body("http://127.0.0.1:9/cb"))
        .await;
    assert_eq!(status, 403);
    assert_vc_error(&err, "forbidden", "tokenError", None);
}

#[tokio::test]
async fn a_public_callback_can_be_required_by_the_seed() {
    let mut seed = Seed::demo();
    seed.require_public_callback = true;
    let t = spawn_emu_with(seed).await;
    let token = t.contoso_request_token().await;
    let (status, err) = t
        .create_request(&token, &presentation_body("http://localhost:3000/cb"))
        .await;
    assert_eq!(status, 400);
    assert_vc_error(
        &err,
        "badRequest",
        "badOrMissingField",
        Some("callback.url"),
    );
    assert_eq!(err["error"]["innererror"]["message"], "URL must be public");
}

#[tokio::test]
async fn the_request_uri_returns_a_signed_request_object_and_triggers_request_retrieved() {
    let t = spawn_emu().await;
    let (sink, cb) = CallbackSink::start().await;
    let token = t.contoso_request_token().await;
    let (_, created) = t.create_request(&token, &presentation_body(&cb)).await;
    let request_uri = created["url"]
        .as_str()
        .unwrap()
        .split("request_uri=")
        .nth(1)
        .unwrap()
        .to_string();
    let res = t.http.get(&request_uri).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "application/jwt");
    let claims = claims_of(&res.text().await.unwrap());
    assert_eq!(claims["client_id"], CONTOSO_DID);
    assert_eq!(claims["registration"]["client_name"], "Traceless");
    let got = sink.wait_for(1).await;
    assert_eq!(got[0].body["requestStatus"], "request_retrieved");
    assert_eq!(got[0].body["state"], "verification-42");

    let missing = format!(
        "{}/v1.0/tenants/{CONTOSO_TENANT_ID}/verifiableCredentials/presentationRequests/nope",
        t.emu.verified_id_url()
    );
    assert_eq!(t.http.get(missing).send().await.unwrap().status(), 404);
}

#[tokio::test]
async fn the_request_lifetime_can_be_set_over_http() {
    let t = spawn_emu().await;
    let control = format!("{}_control/request_lifetime", t.emu.base_url());
    for bad in [0, 3601] {
        let response = t
            .http
            .post(&control)
            .json(&json!({"secs": bad}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 422);
    }
    let response = t
        .http
        .post(&control)
        .json(&json!({"secs": 20}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);

    let token = t.contoso_request_token().await;
    let (status, body) = t
        .create_request(&token, &presentation_body("http://127.0.0.1:9/cb"))
        .await;
    assert_eq!(status, 201, "{body}");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let expiry = body["expiry"].as_i64().unwrap();
    assert!((now + 15..=now + 21).contains(&expiry), "{expiry} vs {now}");
}
