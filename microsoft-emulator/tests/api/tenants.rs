//! The demo tenants that exercise a client's edge cases: two authorities (Woodgrove), an
//! unverified linked domain (Litware), no contracts (Adventure Works), a custom credential type
//! (Tailspin), a user without mail (Contoso), the service-provider pattern (Traceless), and the
//! shapes of the callbacks Microsoft sends.

use microsoft_emulator::*;
use serde_json::{Value, json};

use crate::helpers::*;

/// A delegated admin-API token for `admin` after the full connect.
async fn admin_token(t: &TestEmu, tenant: &str, admin: &str) -> String {
    let body = t.connect(admin).await;
    let (status, body) = t
        .refresh(
            tenant,
            body["refresh_token"].as_str().unwrap(),
            &format!("{ADMIN_API}/full_access"),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    body["access_token"].as_str().unwrap().to_string()
}

async fn admin_get(t: &TestEmu, token: &str, path: &str) -> Value {
    let res = t
        .http
        .get(format!(
            "{}/v1.0/verifiableCredentials/{path}",
            t.emu.verified_id_url()
        ))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{path}");
    res.json().await.unwrap()
}

/// A request-service token for a tenant whose admin granted full consent.
async fn request_token(t: &TestEmu, tenant: &str) -> String {
    t.emu.grant_admin_consent(tenant, DEV_CLIENT_ID);
    let (status, body) = t.app_token(tenant, REQUEST_SERVICE).await;
    assert_eq!(status, 200, "{body}");
    body["access_token"].as_str().unwrap().to_string()
}

/// A presentation request body with the given authority, type and accepted issuers.
fn body(callback: &str, authority: &str, vc_type: &str, accepted: &[&str]) -> Value {
    json!({
        "authority": authority,
        "registration": {"clientName": "Traceless"},
        "callback": {"url": callback, "state": "s-1"},
        "requestedCredentials": [{"type": vc_type, "acceptedIssuers": accepted,
            "configuration": {"validation": {"allowRevoked": false, "validateLinkedDomain": false}}}]
    })
}

/// Creates a request and has `user` present; returns the terminal callback body.
async fn presented(t: &TestEmu, token: &str, request: Value, user: &str) -> Value {
    let (sink, cb) = CallbackSink::start().await;
    let mut request = request;
    request["callback"]["url"] = json!(cb);
    let (status, created) = t.create_request(token, &request).await;
    assert_eq!(status, 201, "{created}");
    t.emu
        .authenticator()
        .present(created["url"].as_str().unwrap(), user, Variant::Valid)
        .await
        .unwrap();
    sink.all().last().unwrap().body.clone()
}

#[tokio::test]
async fn woodgrove_lists_two_published_authorities_and_an_odd_entry() {
    let t = spawn_emu().await;
    let token = admin_token(&t, WOODGROVE_TENANT_ID, WOODGROVE_ADMIN_EMAIL).await;
    let list = admin_get(&t, &token, "authorities").await;
    let value = list["value"].as_array().unwrap();
    let real: Vec<&Value> = value
        .iter()
        .filter(|a| a["didModel"]["did"].is_string())
        .collect();
    assert_eq!(real.len(), 2);
    assert_eq!(real[0]["didModel"]["did"], WOODGROVE_LEGACY_DID);
    assert_eq!(real[1]["didModel"]["did"], WOODGROVE_DID);
    for a in &real {
        assert_eq!(a["linkedDomainsVerified"], true);
        assert_eq!(a["didModel"]["didDocumentStatus"], "published");
        assert!(a["didMethod"].is_string(), "an unknown extra field");
        let id = a["id"].as_str().unwrap();
        let contracts = admin_get(&t, &token, &format!("authorities/{id}/contracts")).await;
        assert_eq!(
            contracts["value"][0]["rules"]["vc"]["type"],
            json!(["VerifiedEmployee"])
        );
    }
    assert!(
        value.len() > 2
            && value
                .iter()
                .any(|a| a.get("didModel").is_none() || a["didModel"].get("did").is_none()),
        "odd entries a reader must skip"
    );

    // Users' credentials are issued by the did:web authority.
    let rt = request_token(&t, WOODGROVE_TENANT_ID).await;
    let v = presented(
        &t,
        &rt,
        body("", WOODGROVE_DID, VERIFIED_EMPLOYEE, &[WOODGROVE_DID]),
        WOODGROVE_EMPLOYEE_EMAIL,
    )
    .await;
    assert_eq!(v["requestStatus"], "presentation_verified");
    assert_eq!(v["verifiedCredentialsData"][0]["issuer"], WOODGROVE_DID);
}

#[tokio::test]
async fn litware_has_an_unverified_linked_domain() {
    let t = spawn_emu().await;
    let token = admin_token(&t, LITWARE_TENANT_ID, LITWARE_ADMIN_EMAIL).await;
    let list = admin_get(&t, &token, "authorities").await;
    assert_eq!(list["value"][0]["didModel"]["did"], LITWARE_DID);
    assert_eq!(list["value"][0]["linkedDomainsVerified"], false);

    // Without validateLinkedDomain the credential is presented, with no domainValidation.
    let rt = request_token(&t, LITWARE_TENANT_ID).await;
    let v = presented(
        &t,
        &rt,
        body("", LITWARE_DID, VERIFIED_EMPLOYEE, &[LITWARE_DID]),
        LITWARE_EMPLOYEE_EMAIL,
    )
    .await;
    assert_eq!(v["requestStatus"], "presentation_verified");
    assert!(
        v["verifiedCredentialsData"][0]
            .get("domainValidation")
            .is_none()
    );

    // With it, the wallet refuses and nothing reaches the relying party.
    let (sink, cb) = CallbackSink::start().await;
    let mut req = body(&cb, LITWARE_DID, VERIFIED_EMPLOYEE, &[LITWARE_DID]);
    req["requestedCredentials"][0]["configuration"]["validation"]["validateLinkedDomain"] =
        json!(true);
    let (_, created) = t.create_request(&rt, &req).await;
    let err = t
        .emu
        .authenticator()
        .present(
            created["url"].as_str().unwrap(),
            LITWARE_EMPLOYEE_EMAIL,
            Variant::Valid,
        )
        .await
        .unwrap_err();
    assert!(matches!(err, WalletError::Refused(_)), "{err:?}");
    assert_eq!(sink.statuses(), vec!["request_retrieved"]);
}

#[tokio::test]
async fn adventure_works_has_an_authority_but_no_contracts() {
    let t = spawn_emu().await;
    let token = admin_token(&t, ADVENTURE_WORKS_TENANT_ID, ADVENTURE_WORKS_ADMIN_EMAIL).await;
    let list = admin_get(&t, &token, "authorities").await;
    assert_eq!(list["value"][0]["id"], ADVENTURE_WORKS_AUTHORITY_ID);
    let contracts = admin_get(
        &t,
        &token,
        &format!("authorities/{ADVENTURE_WORKS_AUTHORITY_ID}/contracts"),
    )
    .await;
    assert_eq!(contracts["value"], json!([]));

    let rt = request_token(&t, ADVENTURE_WORKS_TENANT_ID).await;
    let (status, err) = t
        .create_request(
            &rt,
            &body(
                "http://127.0.0.1:9/cb",
                ADVENTURE_WORKS_DID,
                VERIFIED_EMPLOYEE,
                &[],
            ),
        )
        .await;
    assert_eq!(status, 400);
    assert_vc_error(
        &err,
        "badRequest",
        "notFound",
        Some("requestedCredentials[0].type"),
    );
}

#[tokio::test]
async fn tailspin_has_a_custom_type_whose_email_claim_is_email() {
    let t = spawn_emu().await;
    let token = admin_token(&t, TAILSPIN_TENANT_ID, TAILSPIN_ADMIN_EMAIL).await;
    let contracts = admin_get(
        &t,
        &token,
        &format!("authorities/{TAILSPIN_AUTHORITY_ID}/contracts"),
    )
    .await;
    let value = contracts["value"].as_array().unwrap();
    assert_eq!(value.len(), 2);
    let member = value
        .iter()
        .find(|c| c["rules"]["vc"]["type"] == json!([TAILSPIN_MEMBER_TYPE]))
        .unwrap();
    // Signed in with the tenant's own Entra account: `idTokens` at its OpenID configuration.
    let id_tokens = &member["rules"]["attestations"]["idTokens"][0];
    assert_eq!(
        id_tokens["configuration"],
        json!(format!(
            "{}/{TAILSPIN_TENANT_ID}/v2.0/.well-known/openid-configuration",
            t.emu.login_url()
        ))
    );
    let outputs: Vec<&str> = id_tokens["mapping"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["outputClaim"].as_str().unwrap())
        .collect();
    assert_eq!(outputs, vec!["email", "displayName", "memberNumber"]);
    let display: Vec<&str> = member["displays"][0]["claims"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["claim"].as_str().unwrap())
        .collect();
    assert!(display.contains(&"vc.credentialSubject.email"));
    assert!(!display.contains(&"vc.credentialSubject.mail"));

    // The wallet presents the requested type.
    let rt = request_token(&t, TAILSPIN_TENANT_ID).await;
    let v = presented(
        &t,
        &rt,
        body("", TAILSPIN_DID, TAILSPIN_MEMBER_TYPE, &[TAILSPIN_DID]),
        TAILSPIN_EMPLOYEE_EMAIL,
    )
    .await;
    let c = &v["verifiedCredentialsData"][0];
    assert_eq!(
        c["type"],
        json!(["VerifiableCredential", TAILSPIN_MEMBER_TYPE])
    );
    assert_eq!(c["claims"]["email"], TAILSPIN_EMPLOYEE_EMAIL);
    assert!(c["claims"]["memberNumber"].is_string());
    assert!(c["claims"].get("mail").is_none());
    assert!(
        c.get("expirationDate").is_none(),
        "this credential does not expire"
    );

    // Face Check needs a photo claim, which TailspinMember lacks.
    let mut face = body(
        "http://127.0.0.1:9/cb",
        TAILSPIN_DID,
        TAILSPIN_MEMBER_TYPE,
        &[TAILSPIN_DID],
    );
    face["requestedCredentials"][0]["configuration"]["validation"]["faceCheck"] =
        json!({"sourcePhotoClaimName": "photo"});
    let (status, err) = t.create_request(&rt, &face).await;
    assert_eq!(status, 400);
    assert_vc_error(
        &err,
        "badRequest",
        "badOrMissingField",
        Some("requestedCredentials[0].configuration.validation.faceCheck.sourcePhotoClaimName"),
    );

    // The same person also holds a VerifiedEmployee credential.
    let v = presented(
        &t,
        &rt,
        body("", TAILSPIN_DID, VERIFIED_EMPLOYEE, &[TAILSPIN_DID]),
        TAILSPIN_EMPLOYEE_EMAIL,
    )
    .await;
    assert_eq!(
        v["verifiedCredentialsData"][0]["claims"]["mail"],
        TAILSPIN_EMPLOYEE_EMAIL
    );

    // A member without a VerifiedEmployee credential has nothing to present: 422, no callback.
    let (sink, cb) = CallbackSink::start().await;
    let (_, created) = t
        .create_request(
            &rt,
            &body(&cb, TAILSPIN_DID, VERIFIED_EMPLOYEE, &[TAILSPIN_DID]),
        )
        .await;
    let res = t
        .http
        .post(format!("{}/api/present", t.emu.authenticator_url()))
        .json(&json!({"request": created["url"], "user": TAILSPIN_MEMBER_EMAIL}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    assert!(sink.all().is_empty());
}

#[tokio::test]
async fn a_user_without_mail_presents_a_credential_without_mail() {
    let t = spawn_emu().await;
    let token = t.contoso_request_token().await;
    let v = presented(
        &t,
        &token,
        body("", CONTOSO_DID, VERIFIED_EMPLOYEE, &[CONTOSO_DID]),
        CONTOSO_NO_MAIL_UPN,
    )
    .await;
    assert_eq!(v["requestStatus"], "presentation_verified");
    let claims = &v["verifiedCredentialsData"][0]["claims"];
    assert!(claims.get("mail").is_none(), "{claims}");
    assert_eq!(claims["revocationId"], CONTOSO_NO_MAIL_UPN);
    assert_eq!(claims["displayName"], "Johanna Lorenz");
}

#[tokio::test]
async fn a_service_provider_verifies_customer_credentials_with_its_own_authority() {
    let t = spawn_emu().await;
    // The provider's own tenant: its app token, its DID, the customer's DID accepted.
    let (status, body_) = t.app_token(PROVIDER_TENANT_ID, REQUEST_SERVICE).await;
    assert_eq!(status, 200, "{body_}");
    let token = body_["access_token"].as_str().unwrap().to_string();

    let v = presented(
        &t,
        &token,
        body("", PROVIDER_DID, TAILSPIN_MEMBER_TYPE, &[TAILSPIN_DID]),
        TAILSPIN_MEMBER_EMAIL,
    )
    .await;
    assert_eq!(v["requestStatus"], "presentation_verified");
    assert_eq!(v["verifiedCredentialsData"][0]["issuer"], TAILSPIN_DID);
    assert_eq!(
        v["verifiedCredentialsData"][0]["claims"]["email"],
        TAILSPIN_MEMBER_EMAIL
    );

    let v = presented(
        &t,
        &token,
        body("", PROVIDER_DID, VERIFIED_EMPLOYEE, &[CONTOSO_DID]),
        CONTOSO_EMPLOYEE_EMAIL,
    )
    .await;
    assert_eq!(v["verifiedCredentialsData"][0]["issuer"], CONTOSO_DID);

    // A type neither the provider nor an accepted issuer issues is unknown.
    let (status, err) = t
        .create_request(
            &token,
            &body(
                "http://127.0.0.1:9/cb",
                PROVIDER_DID,
                TAILSPIN_MEMBER_TYPE,
                &[CONTOSO_DID],
            ),
        )
        .await;
    assert_eq!(status, 400);
    assert_vc_error(
        &err,
        "badRequest",
        "notFound",
        Some("requestedCredentials[0].type"),
    );
    // The provider's token cannot use a customer's DID as its authority.
    let (status, _) = t
        .create_request(
            &token,
            &body(
                "http://127.0.0.1:9/cb",
                CONTOSO_DID,
                VERIFIED_EMPLOYEE,
                &[CONTOSO_DID],
            ),
        )
        .await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn callbacks_carry_plain_date_strings_extra_fields_and_no_empty_optional_fields() {
    let t = spawn_emu().await;
    let token = t.contoso_request_token().await;
    let (sink, cb) = CallbackSink::start().await;
    let (_, created) = t.create_request(&token, &presentation_body(&cb)).await;
    t.emu
        .authenticator()
        .present(
            created["url"].as_str().unwrap(),
            CONTOSO_EMPLOYEE_EMAIL,
            Variant::Valid,
        )
        .await
        .unwrap();
    let all = sink.all();
    assert!(
        all[0].body["correlationId"].is_string(),
        "request_retrieved"
    );
    let v = &all[1].body;
    assert!(v["correlationId"].is_string());
    let c = &v["verifiedCredentialsData"][0];
    assert_eq!(c["issuanceDate"], "2026-05-01T10:00:00.0000000Z");
    assert_eq!(c["expirationDate"], "2027-05-01T10:00:00.0000000Z");
    assert!(c.get("faceCheck").is_none(), "Face Check was not asked for");
    assert_eq!(
        c["domainValidation"]["url"],
        "https://verifiedid.contoso.com/"
    );
    assert!(v.get("receipt").is_none());

    // Fabrikam's credentials: dates with an offset, and one without an expiration date.
    t.emu.grant_admin_consent(FABRIKAM_TENANT_ID, DEV_CLIENT_ID);
    let (_, fab) = t.app_token(FABRIKAM_TENANT_ID, REQUEST_SERVICE).await;
    let fab = fab["access_token"].as_str().unwrap();
    let v = presented(
        &t,
        fab,
        body("", FABRIKAM_DID, VERIFIED_EMPLOYEE, &[FABRIKAM_DID]),
        FABRIKAM_EMPLOYEE_EMAIL,
    )
    .await;
    let c = &v["verifiedCredentialsData"][0];
    assert_eq!(c["issuanceDate"], "2026-03-02T08:15:30+00:00");
    assert!(c.get("expirationDate").is_none());

    // No jobTitle when the person has none.
    let rt = request_token(&t, WOODGROVE_TENANT_ID).await;
    let v = presented(
        &t,
        &rt,
        body("", WOODGROVE_DID, VERIFIED_EMPLOYEE, &[]),
        WOODGROVE_EMPLOYEE_EMAIL,
    )
    .await;
    assert!(
        v["verifiedCredentialsData"][0]["claims"]
            .get("jobTitle")
            .is_none()
    );
}

async fn validate(t: &TestEmu, token: &str, authority_id: &str) -> (u16, String) {
    let res = t
        .http
        .post(format!(
            "{}/v1.0/verifiableCredentials/authorities/{authority_id}/validateWellKnownDidConfiguration",
            t.emu.verified_id_url()
        ))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    (res.status().as_u16(), res.text().await.unwrap())
}

#[tokio::test]
async fn proseware_lists_its_authority_without_linked_domains_verified_and_validation_confirms_it()
{
    let t = spawn_emu().await;
    let token = admin_token(&t, PROSEWARE_TENANT_ID, PROSEWARE_ADMIN_EMAIL).await;
    let list = admin_get(&t, &token, "authorities").await;
    let a = &list["value"][0];
    assert_eq!(a["didModel"]["did"], PROSEWARE_DID);
    assert!(a.get("linkedDomainsVerified").is_none(), "{a}");
    let one = admin_get(&t, &token, &format!("authorities/{PROSEWARE_AUTHORITY_ID}")).await;
    assert!(one.get("linkedDomainsVerified").is_none(), "{one}");
    assert_eq!(validate(&t, &token, PROSEWARE_AUTHORITY_ID).await.0, 204);
}

#[tokio::test]
async fn validation_of_an_unverified_linked_domain_is_refused() {
    let t = spawn_emu().await;
    let token = admin_token(&t, LITWARE_TENANT_ID, LITWARE_ADMIN_EMAIL).await;
    let (status, body) = validate(&t, &token, LITWARE_AUTHORITY_ID).await;
    assert_eq!(status, 400, "{body}");
    assert_vc_error(
        &serde_json::from_str(&body).unwrap(),
        "badRequest",
        "badOrMissingField",
        Some("linkedDomainUrls"),
    );
    // Another tenant's authority is not found, and a token is needed.
    assert_eq!(validate(&t, &token, PROSEWARE_AUTHORITY_ID).await.0, 404);
    assert_eq!(validate(&t, "nope", LITWARE_AUTHORITY_ID).await.0, 401);
}

#[tokio::test]
async fn the_provider_app_is_granted_only_what_provider_mode_needs() {
    let t = spawn_emu().await;
    t.emu
        .grant_admin_consent(CONTOSO_TENANT_ID, DEV_PROVIDER_CLIENT_ID);
    let token = |resource: &'static str| {
        let t = &t;
        async move {
            let (status, body) = t
                .token(
                    CONTOSO_TENANT_ID,
                    &[
                        ("grant_type", "client_credentials"),
                        ("client_id", DEV_PROVIDER_CLIENT_ID),
                        ("client_secret", DEV_PROVIDER_CLIENT_SECRET),
                        ("scope", &format!("{resource}/.default")),
                    ],
                )
                .await;
            assert_eq!(status, 200, "{body}");
            claims_of(body["access_token"].as_str().unwrap())
        }
    };
    assert!(token(REQUEST_SERVICE).await.get("roles").is_none());
    assert_eq!(
        token("https://graph.microsoft.com").await["roles"],
        json!(["Organization.Read.All"])
    );
    assert!(token(ADMIN_API).await.get("roles").is_none());
}

/// Each claim sits under the attestation its contract maps it from, as the admin API returns
/// it (rules-and-display-definitions-model): `selfIssued` a single instance, the others arrays.
#[tokio::test]
async fn contracts_carry_their_claims_under_each_attestation_kind() {
    let t = spawn_emu().await;
    let cases = [
        (RELECLOUD_TENANT_ID, RELECLOUD_ADMIN_EMAIL, "selfIssued"),
        (WINGTIP_TENANT_ID, WINGTIP_ADMIN_EMAIL, "idTokenHints"),
        (LAMNA_TENANT_ID, LAMNA_ADMIN_EMAIL, "idTokens"),
        (
            FOURTH_COFFEE_TENANT_ID,
            FOURTH_COFFEE_ADMIN_EMAIL,
            "selfIssued",
        ),
        (CONTOSO_TENANT_ID, CONTOSO_ADMIN_EMAIL, "accessTokens"),
    ];
    for (tenant, admin, kind) in cases {
        let token = admin_token(&t, tenant, admin).await;
        let authorities = admin_get(&t, &token, "authorities").await;
        let authority = authorities["value"][0]["id"].as_str().unwrap().to_owned();
        let contracts = admin_get(&t, &token, &format!("authorities/{authority}/contracts")).await;
        let attestations = &contracts["value"][0]["rules"]["attestations"];
        let entry = if kind == "selfIssued" {
            assert!(attestations[kind].is_object(), "{tenant}: {attestations}");
            &attestations[kind]
        } else {
            &attestations[kind][0]
        };
        let outputs: Vec<&str> = entry["mapping"]
            .as_array()
            .unwrap_or_else(|| panic!("{tenant}: {attestations}"))
            .iter()
            .map(|m| m["outputClaim"].as_str().unwrap())
            .collect();
        assert!(
            outputs.contains(&"email") || outputs.contains(&"mail"),
            "{tenant}: {outputs:?}"
        );
        assert_eq!(
            attestations.as_object().unwrap().len(),
            1,
            "{tenant}: one attestation kind"
        );
    }
    // Lamna's photo claim is `portrait`, shown as an image.
    let token = admin_token(&t, LAMNA_TENANT_ID, LAMNA_ADMIN_EMAIL).await;
    let authorities = admin_get(&t, &token, "authorities").await;
    let authority = authorities["value"][0]["id"].as_str().unwrap().to_owned();
    let contracts = admin_get(&t, &token, &format!("authorities/{authority}/contracts")).await;
    let portrait = contracts["value"][0]["displays"][0]["claims"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["claim"] == json!("vc.credentialSubject.portrait"))
        .unwrap()
        .clone();
    assert_eq!(portrait["type"], json!("image/jpg;base64url"));
}

/// Face Check without the add-on: Microsoft's 400 with the `aka.ms/fcbilling` message
/// (using-facecheck; presentation-request-api error codes). The same request without Face
/// Check is accepted.
#[tokio::test]
async fn alpine_ski_house_has_no_face_check_and_refuses_a_request_for_it() {
    let t = spawn_emu().await;
    let rt = request_token(&t, ALPINE_TENANT_ID).await;
    let mut request = body(
        "http://127.0.0.1:9/cb",
        ALPINE_DID,
        VERIFIED_EMPLOYEE,
        &[ALPINE_DID],
    );
    request["requestedCredentials"][0]["configuration"]["validation"]["faceCheck"] =
        json!({"sourcePhotoClaimName": "photo", "matchConfidenceThreshold": 70});

    let (status, err) = t.create_request(&rt, &request).await;

    assert_eq!(status, 400, "{err}");
    assert_vc_error(&err, "badRequest", "badOrMissingField", Some("authority"));
    assert!(err.to_string().contains("aka.ms/fcbilling"), "{err}");
    let plain = body(
        "http://127.0.0.1:9/cb",
        ALPINE_DID,
        VERIFIED_EMPLOYEE,
        &[ALPINE_DID],
    );
    let (status, created) = t.create_request(&rt, &plain).await;
    assert_eq!(status, 201, "{created}");
}
