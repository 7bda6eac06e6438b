//! Identity platform: discovery, JWKS, the sign-in page, the token endpoint and admin consent.

use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use microsoft_emulator::*;
use serde_json::Value;

use crate::helpers::*;

#[tokio::test]
async fn discovery_names_the_tenant_issuer_endpoints_and_jwks() {
    let t = spawn_emu().await;
    let login = t.emu.login_url();
    let doc: Value = t
        .http
        .get(format!(
            "{login}/{CONTOSO_TENANT_ID}/v2.0/.well-known/openid-configuration"
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(doc["issuer"], format!("{login}/{CONTOSO_TENANT_ID}/v2.0"));
    assert_eq!(
        doc["jwks_uri"],
        format!("{login}/{CONTOSO_TENANT_ID}/discovery/v2.0/keys")
    );
    assert_eq!(
        doc["token_endpoint"],
        format!("{login}/{CONTOSO_TENANT_ID}/oauth2/v2.0/token")
    );
    assert_eq!(
        doc["authorization_endpoint"],
        format!("{login}/{CONTOSO_TENANT_ID}/oauth2/v2.0/authorize")
    );
    assert!(
        doc["token_endpoint_auth_methods_supported"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m == "client_secret_post")
    );

    let multi: Value = t
        .http
        .get(format!(
            "{login}/organizations/v2.0/.well-known/openid-configuration"
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(multi["issuer"], format!("{login}/{{tenantid}}/v2.0"));

    let by_domain: Value = t
        .http
        .get(format!(
            "{login}/contoso.com/v2.0/.well-known/openid-configuration"
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        by_domain["issuer"],
        format!("{login}/{CONTOSO_TENANT_ID}/v2.0")
    );
}

#[tokio::test]
async fn an_unknown_tenant_gets_aadsts90002() {
    let t = spawn_emu().await;
    let res = t
        .http
        .get(format!(
            "{}/nosuchtenant.example/v2.0/.well-known/openid-configuration",
            t.emu.login_url()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert_aad_error(&res.json().await.unwrap(), "invalid_tenant", 90002);

    let (status, body) = t
        .token(
            "00000000-1111-2222-3333-444444444444",
            &[("grant_type", "client_credentials")],
        )
        .await;
    assert_eq!(status, 400);
    assert_aad_error(&body, "invalid_request", 90002);
}

#[tokio::test]
async fn an_admin_who_accepts_gets_a_code_and_an_id_token_that_verifies_against_the_jwks() {
    let t = spawn_emu().await;
    let body = t.connect(CONTOSO_ADMIN_EMAIL).await;
    assert_eq!(body["token_type"], "Bearer");
    assert!(body["refresh_token"].is_string() && body["access_token"].is_string());
    assert!(body["expires_in"].as_i64().unwrap() > 3000);

    let jwks: Value = t
        .http
        .get(format!(
            "{}/organizations/discovery/v2.0/keys",
            t.emu.login_url()
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    // The JWKS parses as a standard JWK set, as a product using jsonwebtoken would read it.
    let set: jsonwebtoken::jwk::JwkSet = serde_json::from_value(jwks.clone()).unwrap();
    assert!(DecodingKey::from_jwk(&set.keys[0]).is_ok());
    let key = &jwks["keys"][0];
    assert_eq!(key["kty"], "RSA");
    let id_token = body["id_token"].as_str().unwrap();
    let header = jsonwebtoken::decode_header(id_token).unwrap();
    assert_eq!(header.alg, Algorithm::RS256);
    assert_eq!(header.kid.as_deref(), key["kid"].as_str());
    let decoding =
        DecodingKey::from_rsa_components(key["n"].as_str().unwrap(), key["e"].as_str().unwrap())
            .unwrap();
    let mut v = Validation::new(Algorithm::RS256);
    v.set_audience(&[DEV_CLIENT_ID]);
    v.set_issuer(&[t.emu.issuer(CONTOSO_TENANT_ID)]);
    let claims = jsonwebtoken::decode::<Value>(id_token, &decoding, &v)
        .unwrap()
        .claims;
    assert_eq!(claims["tid"], CONTOSO_TENANT_ID);
    assert_eq!(claims["nonce"], "nonce-456");
    assert_eq!(claims["ver"], "2.0");
    assert_eq!(
        claims["preferred_username"],
        "adele.vance@contoso.onmicrosoft.com"
    );
    assert!(claims["oid"].is_string() && claims["sub"].is_string());

    // The access token is for Graph, signed by the same key.
    let mut v = Validation::new(Algorithm::RS256);
    v.set_audience(&["https://graph.microsoft.com"]);
    let at = jsonwebtoken::decode::<Value>(body["access_token"].as_str().unwrap(), &decoding, &v)
        .unwrap()
        .claims;
    assert_eq!(at["scp"], "User.Read");
    assert_eq!(at["tid"], CONTOSO_TENANT_ID);

    // A tampered token does not verify.
    let mut parts: Vec<String> = id_token.split('.').map(str::to_string).collect();
    parts[2] = parts[2].chars().rev().collect();
    assert!(
        jsonwebtoken::decode::<Value>(
            &parts.join("."),
            &decoding,
            &Validation::new(Algorithm::RS256)
        )
        .is_err()
    );
}

#[tokio::test]
async fn cancel_redirects_with_access_denied_and_the_cancel_subcode() {
    let t = spawn_emu().await;
    let (_, challenge) = pkce();
    let url = t.authorize_url(&Authorize {
        tenant: "organizations",
        client_id: DEV_CLIENT_ID,
        redirect_uri: REDIRECT,
        challenge: &challenge,
        prompt: Some("consent"),
    });
    let res = t.submit_page(&url, CONTOSO_ADMIN_EMAIL, "cancel").await;
    assert!(res.status().is_redirection());
    assert!(
        res.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with(REDIRECT)
    );
    let p = location_params(&res);
    assert_eq!(param(&p, "error"), Some("access_denied"));
    assert_eq!(param(&p, "error_subcode"), Some("cancel"));
    assert_eq!(param(&p, "state"), Some("state-123"));
    assert!(param(&p, "code").is_none());
}

#[tokio::test]
async fn declining_consent_redirects_with_aadsts65004() {
    let t = spawn_emu().await;
    let (_, challenge) = pkce();
    let url = t.authorize_url(&Authorize {
        tenant: "organizations",
        client_id: DEV_CLIENT_ID,
        redirect_uri: REDIRECT,
        challenge: &challenge,
        prompt: Some("consent"),
    });
    let p = location_params(&t.submit_page(&url, CONTOSO_ADMIN_EMAIL, "decline").await);
    assert_eq!(param(&p, "error"), Some("consent_required"));
    assert!(
        param(&p, "error_description")
            .unwrap()
            .starts_with("AADSTS65004")
    );
}

#[tokio::test]
async fn a_non_admin_cannot_consent_for_the_tenant() {
    let t = spawn_emu().await;
    let (_, challenge) = pkce();
    let url = t.authorize_url(&Authorize {
        tenant: "organizations",
        client_id: DEV_CLIENT_ID,
        redirect_uri: REDIRECT,
        challenge: &challenge,
        prompt: Some("consent"),
    });
    let p = location_params(&t.submit_page(&url, CONTOSO_EMPLOYEE_EMAIL, "accept").await);
    assert!(
        param(&p, "error_description")
            .unwrap()
            .starts_with("AADSTS90094"),
        "{p:?}"
    );
    assert!(param(&p, "code").is_none());

    // After the admin consented, the same employee signs in fine.
    t.connect(CONTOSO_ADMIN_EMAIL).await;
    let (code, verifier) = t.sign_in(CONTOSO_EMPLOYEE_EMAIL, None).await;
    assert_eq!(t.redeem(&code, &verifier).await.0, 200);
}

#[tokio::test]
async fn an_unregistered_redirect_uri_or_client_gets_an_error_page_not_a_redirect() {
    let t = spawn_emu().await;
    let (_, challenge) = pkce();
    let bad = t.authorize_url(&Authorize {
        tenant: "organizations",
        client_id: DEV_CLIENT_ID,
        redirect_uri: "http://127.0.0.1:9/evil",
        challenge: &challenge,
        prompt: None,
    });
    let res = t.http.get(bad).send().await.unwrap();
    assert_eq!(res.status(), 400);
    assert!(res.text().await.unwrap().contains("AADSTS50011"));

    let unknown = t.authorize_url(&Authorize {
        tenant: "organizations",
        client_id: "11111111-2222-3333-4444-555555555555",
        redirect_uri: REDIRECT,
        challenge: &challenge,
        prompt: None,
    });
    let res = t.http.get(unknown).send().await.unwrap();
    assert_eq!(res.status(), 400);
    assert!(res.text().await.unwrap().contains("AADSTS700016"));

    let res = t
        .http
        .get(format!(
            "{}/nosuch.example/oauth2/v2.0/authorize?client_id={DEV_CLIENT_ID}",
            t.emu.login_url()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert!(res.text().await.unwrap().contains("AADSTS90002"));
}

#[tokio::test]
async fn a_plain_pkce_method_is_refused_at_authorize() {
    let t = spawn_emu().await;
    let url = format!(
        "{}/organizations/oauth2/v2.0/authorize?client_id={DEV_CLIENT_ID}&response_type=code&redirect_uri={}&scope=openid&state=s&code_challenge=abc&code_challenge_method=plain",
        t.emu.login_url(),
        url::form_urlencoded::byte_serialize(REDIRECT.as_bytes()).collect::<String>()
    );
    let p = location_params(&t.http.get(url).send().await.unwrap());
    assert_eq!(param(&p, "error"), Some("invalid_request"));
    assert_eq!(param(&p, "state"), Some("s"));
}

#[tokio::test]
async fn a_wrong_pkce_verifier_is_invalid_grant() {
    let t = spawn_emu().await;
    let (code, _) = t.sign_in(CONTOSO_ADMIN_EMAIL, Some("consent")).await;
    let (status, body) = t
        .redeem(
            &code,
            "a-completely-different-verifier-that-is-long-enough-1234",
        )
        .await;
    assert_eq!(status, 400);
    assert_aad_error(&body, "invalid_grant", 501481);
}

#[tokio::test]
async fn a_code_can_be_redeemed_only_once() {
    let t = spawn_emu().await;
    let (code, verifier) = t.sign_in(CONTOSO_ADMIN_EMAIL, Some("consent")).await;
    assert_eq!(t.redeem(&code, &verifier).await.0, 200);
    let (status, body) = t.redeem(&code, &verifier).await;
    assert_eq!(status, 400);
    assert_aad_error(&body, "invalid_grant", 54005);
}

#[tokio::test]
async fn a_wrong_secret_is_invalid_client() {
    let t = spawn_emu().await;
    let (code, verifier) = t.sign_in(CONTOSO_ADMIN_EMAIL, Some("consent")).await;
    let (status, body) = t
        .token(
            "organizations",
            &[
                ("grant_type", "authorization_code"),
                ("client_id", DEV_CLIENT_ID),
                ("client_secret", "wrong"),
                ("code", &code),
                ("redirect_uri", REDIRECT),
                ("code_verifier", &verifier),
            ],
        )
        .await;
    assert_eq!(status, 401);
    assert_aad_error(&body, "invalid_client", 7000215);

    let (status, body) = t
        .token(
            "organizations",
            &[
                ("grant_type", "authorization_code"),
                ("client_id", DEV_CLIENT_ID),
                ("code", &code),
            ],
        )
        .await;
    assert_eq!(status, 401);
    assert_aad_error(&body, "invalid_client", 7000218);
}

#[tokio::test]
async fn a_different_redirect_uri_at_the_token_endpoint_is_invalid_grant() {
    let t = spawn_emu().await;
    let (code, verifier) = t.sign_in(CONTOSO_ADMIN_EMAIL, Some("consent")).await;
    let (status, body) = t
        .token(
            "organizations",
            &[
                ("grant_type", "authorization_code"),
                ("client_id", DEV_CLIENT_ID),
                ("client_secret", DEV_CLIENT_SECRET),
                ("code", &code),
                ("redirect_uri", "http://127.0.0.1:9/other"),
                ("code_verifier", &verifier),
            ],
        )
        .await;
    assert_eq!(status, 400);
    assert_aad_error(&body, "invalid_grant", 500112);
}

#[tokio::test]
async fn an_unknown_client_or_grant_type_gets_microsofts_error() {
    let t = spawn_emu().await;
    let (status, body) = t
        .token(
            CONTOSO_TENANT_ID,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", "11111111-2222-3333-4444-555555555555"),
                ("client_secret", "x"),
                ("scope", "https://graph.microsoft.com/.default"),
            ],
        )
        .await;
    assert_eq!(status, 400);
    assert_aad_error(&body, "unauthorized_client", 700016);

    let (status, body) = t
        .token(
            CONTOSO_TENANT_ID,
            &[("grant_type", "password"), ("client_id", DEV_CLIENT_ID)],
        )
        .await;
    assert_eq!(status, 400);
    assert_aad_error(&body, "unsupported_grant_type", 70003);

    let (status, body) = t
        .token(CONTOSO_TENANT_ID, &[("client_id", DEV_CLIENT_ID)])
        .await;
    assert_eq!(status, 400);
    assert_aad_error(&body, "invalid_request", 900144);
}

#[tokio::test]
async fn client_credentials_work_only_after_the_admin_consented() {
    let t = spawn_emu().await;
    let (status, body) = t.app_token(CONTOSO_TENANT_ID, REQUEST_SERVICE).await;
    assert_eq!(status, 400);
    assert_aad_error(&body, "unauthorized_client", 700016);

    t.connect(CONTOSO_ADMIN_EMAIL).await;
    let (status, body) = t.app_token(CONTOSO_TENANT_ID, REQUEST_SERVICE).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.get("refresh_token").is_none());
    let claims: Value = claims_of(body["access_token"].as_str().unwrap());
    assert_eq!(claims["aud"], REQUEST_SERVICE);
    assert_eq!(claims["tid"], CONTOSO_TENANT_ID);
    assert_eq!(
        claims["roles"],
        serde_json::json!(["VerifiableCredential.Create.PresentRequest"])
    );

    // Consent is per tenant: Fabrikam has not consented.
    let (status, _) = t.app_token(FABRIKAM_TENANT_ID, REQUEST_SERVICE).await;
    assert_eq!(status, 400);

    // Scopes without /.default are refused.
    let (status, body) = t
        .token(
            CONTOSO_TENANT_ID,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", DEV_CLIENT_ID),
                ("client_secret", DEV_CLIENT_SECRET),
                (
                    "scope",
                    "3db474b9-6a0c-4840-96ac-1fceb342124f/VerifiableCredential.Create.All",
                ),
            ],
        )
        .await;
    assert_eq!(status, 400);
    assert_aad_error(&body, "invalid_scope", 1002012);
}

#[tokio::test]
async fn the_refresh_token_mints_a_delegated_admin_api_token() {
    let t = spawn_emu().await;
    let body = t.connect(CONTOSO_ADMIN_EMAIL).await;
    let rt = body["refresh_token"].as_str().unwrap();
    let scope = format!("{ADMIN_API}/full_access offline_access");
    let (status, body) = t
        .token(
            "organizations",
            &[
                ("grant_type", "refresh_token"),
                ("client_id", DEV_CLIENT_ID),
                ("client_secret", DEV_CLIENT_SECRET),
                ("refresh_token", rt),
                ("scope", &scope),
            ],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let claims: Value = claims_of(body["access_token"].as_str().unwrap());
    assert_eq!(claims["aud"], ADMIN_API);
    assert_eq!(claims["scp"], "full_access");

    let (status, body) = t
        .token(
            "organizations",
            &[
                ("grant_type", "refresh_token"),
                ("client_id", DEV_CLIENT_ID),
                ("client_secret", DEV_CLIENT_SECRET),
                ("refresh_token", "not-a-token"),
                ("scope", &scope),
            ],
        )
        .await;
    assert_eq!(status, 400);
    assert_aad_error(&body, "invalid_grant", 9002313);
}

#[tokio::test]
async fn a_tenant_without_verified_id_gets_aadsts500011_for_verified_id_resources() {
    let t = spawn_emu().await;
    // A Graph-only sign-in works there, and creates the app's service principal.
    let (code, verifier) = t.sign_in(NORTHWIND_ADMIN_EMAIL, Some("consent")).await;
    let (status, body) = t.redeem(&code, &verifier).await;
    assert_eq!(status, 200, "{body}");
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
    assert_eq!(status, 400);
    assert_aad_error(&body, "invalid_resource", 500011);

    let (status, body) = t.app_token(NORTHWIND_TENANT_ID, REQUEST_SERVICE).await;
    assert_eq!(status, 400);
    assert_aad_error(&body, "invalid_resource", 500011);
}

#[tokio::test]
async fn both_admin_consent_endpoints_grant_and_report_cancel_in_their_documented_shapes() {
    let t = spawn_emu().await;
    let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let v1 = format!(
        "{}/{CONTOSO_TENANT_ID}/adminconsent?client_id={DEV_CLIENT_ID}&state=12345&redirect_uri={}",
        t.emu.login_url(),
        enc(REDIRECT)
    );
    let p = location_params(&t.submit_page(&v1, CONTOSO_ADMIN_EMAIL, "cancel").await);
    assert_eq!(param(&p, "error"), Some("permission_denied"));
    assert_eq!(
        param(&p, "error_description"),
        Some("The admin canceled the request")
    );

    let v2 = format!(
        "{}/organizations/v2.0/adminconsent?client_id={DEV_CLIENT_ID}&state=12345&redirect_uri={}&scope={}",
        t.emu.login_url(),
        enc(REDIRECT),
        enc("3db474b9-6a0c-4840-96ac-1fceb342124f/.default")
    );
    let p = location_params(&t.submit_page(&v2, FABRIKAM_ADMIN_EMAIL, "cancel").await);
    assert_eq!(param(&p, "admin_consent"), Some("True"));
    assert_eq!(param(&p, "error"), Some("consent_required"));
    assert!(
        param(&p, "error_description")
            .unwrap()
            .starts_with("AADSTS65004")
    );

    let p = location_params(&t.submit_page(&v1, CONTOSO_ADMIN_EMAIL, "accept").await);
    assert_eq!(param(&p, "admin_consent"), Some("True"));
    assert_eq!(param(&p, "tenant"), Some(CONTOSO_TENANT_ID));
    assert_eq!(param(&p, "state"), Some("12345"));
    assert_eq!(t.app_token(CONTOSO_TENANT_ID, REQUEST_SERVICE).await.0, 200);

    let p = location_params(&t.submit_page(&v2, FABRIKAM_ADMIN_EMAIL, "accept").await);
    assert_eq!(param(&p, "tenant"), Some(FABRIKAM_TENANT_ID));
    // `scope` lists what was granted: the app's static permissions.
    assert_eq!(
        param(&p, "scope"),
        Some(
            "https://graph.microsoft.com/openid https://graph.microsoft.com/profile \
             https://graph.microsoft.com/email https://graph.microsoft.com/offline_access \
             https://graph.microsoft.com/User.Read 6a8b4b39-c021-437c-b060-5a14a3fd65f3/full_access \
             3db474b9-6a0c-4840-96ac-1fceb342124f/VerifiableCredential.Create.PresentRequest \
             https://graph.microsoft.com/Organization.Read.All"
        )
    );
    assert_eq!(
        t.app_token(FABRIKAM_TENANT_ID, REQUEST_SERVICE).await.0,
        200
    );
}

#[tokio::test]
async fn form_post_answers_with_an_auto_submitting_form_and_login_hint_preselects() {
    let t = spawn_emu().await;
    t.emu.grant_admin_consent(CONTOSO_TENANT_ID, DEV_CLIENT_ID);
    let (_, challenge) = pkce();
    let url = t
        .authorize_url(&Authorize {
            tenant: CONTOSO_TENANT_ID,
            client_id: DEV_CLIENT_ID,
            redirect_uri: REDIRECT,
            challenge: &challenge,
            prompt: None,
        })
        .replace("response_mode=query", "response_mode=form_post")
        + "&login_hint=megan.bowen%40contoso.com";
    let html = t.http.get(&url).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("value=\"9a1b2c3d-0002-4000-8000-000000000002\" checked"));
    assert!(
        !html.contains("Fabrikam"),
        "a tenant path lists only that tenant's accounts"
    );
    let res = t.submit_page(&url, CONTOSO_EMPLOYEE_EMAIL, "accept").await;
    assert_eq!(res.status(), 200);
    let page = res.text().await.unwrap();
    assert!(page.contains(&format!("action=\"{REDIRECT}\"")));
    assert!(page.contains("name=\"code\"") && page.contains("name=\"state\" value=\"state-123\""));
}

fn admin_api_refresh_scope() -> String {
    format!("{ADMIN_API}/full_access offline_access")
}

#[tokio::test]
async fn a_refresh_token_is_rotated_and_the_one_it_replaced_is_refused() {
    let t = spawn_emu().await;
    let first = t.connect(CONTOSO_ADMIN_EMAIL).await["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, body) = t
        .refresh(CONTOSO_TENANT_ID, &first, &admin_api_refresh_scope())
        .await;
    assert_eq!(status, 200, "{body}");
    let second = body["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(first, second);

    let (status, body) = t
        .refresh(CONTOSO_TENANT_ID, &first, &admin_api_refresh_scope())
        .await;
    assert_eq!(status, 400);
    assert_aad_error(&body, "invalid_grant", 70008);
    let (status, body) = t
        .refresh(CONTOSO_TENANT_ID, &second, &admin_api_refresh_scope())
        .await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn revoke_sign_in_sessions_ends_every_refresh_token_of_the_user_with_aadsts50173() {
    let t = spawn_emu().await;
    let rt = t.connect(CONTOSO_ADMIN_EMAIL).await["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let upn = Seed::demo()
        .tenants
        .iter()
        .flat_map(|tenant| tenant.users.iter())
        .find(|u| u.mail.as_deref() == Some(CONTOSO_ADMIN_EMAIL))
        .unwrap()
        .upn
        .clone();
    let revoke = |token: String| {
        t.http
            .post(format!(
                "{}/v1.0/users/{upn}/revokeSignInSessions",
                t.emu.graph_url()
            ))
            .bearer_auth(token)
            .send()
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let app_token = |roles: &[&str]| {
        t.emu.sign_token(&serde_json::json!({
            "aud": "https://graph.microsoft.com", "iss": t.emu.issuer(CONTOSO_TENANT_ID),
            "tid": CONTOSO_TENANT_ID, "iat": now, "nbf": now, "exp": now + 600,
            "idtyp": "app", "roles": roles,
        }))
    };
    // Reading the organization is not enough.
    let refused = revoke(app_token(&["Organization.Read.All"])).await.unwrap();
    assert_eq!(refused.status(), 403);

    let revoked = revoke(app_token(&["User.RevokeSessions.All"]))
        .await
        .unwrap();
    assert_eq!(revoked.status(), 200);
    assert_eq!(revoked.json::<Value>().await.unwrap()["value"], true);

    let (status, body) = t
        .refresh(CONTOSO_TENANT_ID, &rt, &admin_api_refresh_scope())
        .await;
    assert_eq!(status, 400);
    assert_aad_error(&body, "invalid_grant", 50173);
    // A new sign-in gets a refresh token that works.
    let fresh = t.connect(CONTOSO_ADMIN_EMAIL).await["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, body) = t
        .refresh(CONTOSO_TENANT_ID, &fresh, &admin_api_refresh_scope())
        .await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn a_lost_directory_role_keeps_the_refresh_token_and_the_admin_api_refuses() {
    let t = spawn_emu().await;
    let rt = t.connect(CONTOSO_ADMIN_EMAIL).await["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        t.emu
            .set_user_roles(CONTOSO_TENANT_ID, CONTOSO_ADMIN_EMAIL, &[])
    );

    let (status, body) = t
        .refresh(CONTOSO_TENANT_ID, &rt, &admin_api_refresh_scope())
        .await;
    assert_eq!(status, 200, "{body}");
    let listed = t
        .http
        .get(format!(
            "{}/v1.0/verifiableCredentials/authorities",
            t.emu.verified_id_url()
        ))
        .bearer_auth(body["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(listed.status(), 403);
}
