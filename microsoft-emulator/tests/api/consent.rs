//! Microsoft's consent rules: dynamic scopes, `.default` with and without the organization box,
//! the admin consent endpoint, refresh tokens limited to consented scopes, app tokens without
//! roles, missing Verified ID service principals (AADSTS650052), and single sign-on.

use microsoft_emulator::*;
use serde_json::{Value, json};

use crate::helpers::*;

const DEFAULT_SCOPE: &str = "openid profile offline_access https://graph.microsoft.com/.default";

/// An authorize URL for the demo client with any scope and prompt; returns (url, verifier).
fn authorize(t: &TestEmu, tenant: &str, scope: &str, prompt: Option<&str>) -> (String, String) {
    let (verifier, challenge) = pkce();
    let mut u = url::Url::parse(&format!(
        "{}/{tenant}/oauth2/v2.0/authorize",
        t.emu.login_url()
    ))
    .unwrap();
    u.query_pairs_mut()
        .append_pair("client_id", DEV_CLIENT_ID)
        .append_pair("response_type", "code")
        .append_pair("redirect_uri", REDIRECT)
        .append_pair("response_mode", "query")
        .append_pair("scope", scope)
        .append_pair("state", "S2")
        .append_pair("nonce", "N")
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256");
    if let Some(p) = prompt {
        u.query_pairs_mut().append_pair("prompt", p);
    }
    (u.to_string(), verifier)
}

/// Redeems a code at `/{tenant}/oauth2/v2.0/token`.
async fn redeem_at(
    t: &TestEmu,
    tenant: &str,
    code: &str,
    verifier: &str,
    scope: &str,
) -> (reqwest::StatusCode, Value) {
    t.token(
        tenant,
        &[
            ("grant_type", "authorization_code"),
            ("client_id", DEV_CLIENT_ID),
            ("client_secret", DEV_CLIENT_SECRET),
            ("code", code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", verifier),
            ("scope", scope),
        ],
    )
    .await
}

/// Signs `user` in through the page with `scope`/`prompt` (and the organization box if asked);
/// returns the refresh token.
async fn consent_and_refresh_token(
    t: &TestEmu,
    user: &str,
    scope: &str,
    prompt: Option<&str>,
    for_organization: bool,
) -> String {
    let (url, verifier) = authorize(t, "organizations", scope, prompt);
    let extra: &[(&str, &str)] = if for_organization {
        &[("consent_for_organization", "true")]
    } else {
        &[]
    };
    let p = location_params(&t.submit_page_with(&url, user, "accept", extra).await);
    let code = param(&p, "code").unwrap_or_else(|| panic!("no code: {p:?}"));
    let (status, body) = redeem_at(t, "organizations", code, &verifier, scope).await;
    assert_eq!(status, 200, "{body}");
    body["refresh_token"].as_str().unwrap().to_string()
}

fn admin_api_scope() -> String {
    format!("{ADMIN_API}/full_access")
}

async fn roles_of_app_token(t: &TestEmu, tenant: &str) -> Option<Value> {
    let (status, body) = t.app_token(tenant, REQUEST_SERVICE).await;
    assert_eq!(status, 200, "{body}");
    claims_of(body["access_token"].as_str().unwrap())
        .get("roles")
        .cloned()
}

#[tokio::test]
async fn dynamic_scopes_grant_only_the_delegated_scopes_asked_for() {
    let t = spawn_emu().await;
    let rt =
        consent_and_refresh_token(&t, CONTOSO_ADMIN_EMAIL, SCOPE, Some("consent"), false).await;

    // The admin API was not asked for: the refresh token cannot mint it.
    let (status, body) = t.refresh(CONTOSO_TENANT_ID, &rt, &admin_api_scope()).await;
    assert_eq!(status, 400);
    assert_aad_error(&body, "invalid_grant", 65001);
    // The app exists in the tenant now, but no app role was granted: a token without roles.
    assert_eq!(roles_of_app_token(&t, CONTOSO_TENANT_ID).await, None);
    let (status, body) = t.app_token(CONTOSO_TENANT_ID, REQUEST_SERVICE).await;
    let (status_create, err) = t
        .create_request(
            body["access_token"].as_str().unwrap(),
            &presentation_body("http://127.0.0.1:9/cb"),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(status_create, 403, "{err}");
    assert_vc_error(&err, "forbidden", "tokenError", None);
}

#[tokio::test]
async fn dynamic_consent_by_an_admin_is_for_their_own_account_only() {
    let t = spawn_emu().await;
    consent_and_refresh_token(&t, CONTOSO_ADMIN_EMAIL, SCOPE, Some("consent"), false).await;
    let (url, _) = authorize(&t, "organizations", SCOPE, None);
    let p = location_params(&t.submit_page(&url, CONTOSO_EMPLOYEE_EMAIL, "accept").await);
    assert!(
        param(&p, "error_description")
            .unwrap()
            .starts_with("AADSTS90094"),
        "{p:?}"
    );
}

#[tokio::test]
async fn dynamic_consent_for_the_organization_is_delegated_only() {
    let t = spawn_emu().await;
    let scope = format!("openid offline_access {ADMIN_API}/full_access");
    let rt =
        consent_and_refresh_token(&t, CONTOSO_ADMIN_EMAIL, &scope, Some("consent"), true).await;
    let (status, body) = t.refresh(CONTOSO_TENANT_ID, &rt, &admin_api_scope()).await;
    assert_eq!(status, 200, "{body}");
    // The refresh token is rotated: the one returned is the one to use next.
    let rt = body["refresh_token"].as_str().unwrap().to_owned();
    // Never the app role, never the other static permission (Graph User.Read).
    assert_eq!(roles_of_app_token(&t, CONTOSO_TENANT_ID).await, None);
    let (status, body) = t
        .refresh(
            CONTOSO_TENANT_ID,
            &rt,
            "https://graph.microsoft.com/User.Read",
        )
        .await;
    assert_eq!(status, 400);
    assert_aad_error(&body, "invalid_grant", 65001);
}

#[tokio::test]
async fn default_with_the_organization_box_grants_every_static_permission_and_the_app_role() {
    let t = spawn_emu().await;
    let (url, _) = authorize(&t, "organizations", DEFAULT_SCOPE, Some("consent"));
    let html = t.page_html(&url).await;
    assert!(html.contains("data-testid=\"consent-for-organization\""));
    // `.default` lists the app's static permissions across APIs, delegated and application.
    for p in [
        "User.Read",
        "full_access",
        "VerifiableCredential.Create.PresentRequest",
    ] {
        assert!(html.contains(p), "{p} listed");
    }
    assert!(html.contains("data-kind=\"application\""));

    let rt = consent_and_refresh_token(
        &t,
        CONTOSO_ADMIN_EMAIL,
        DEFAULT_SCOPE,
        Some("consent"),
        true,
    )
    .await;
    let (status, body) = t.refresh(CONTOSO_TENANT_ID, &rt, &admin_api_scope()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        roles_of_app_token(&t, CONTOSO_TENANT_ID).await,
        Some(json!(["VerifiableCredential.Create.PresentRequest"]))
    );
    // Tenant-wide: an employee signs in without any consent.
    let (code, verifier) = t.sign_in(CONTOSO_EMPLOYEE_EMAIL, None).await;
    assert_eq!(t.redeem(&code, &verifier).await.0, 200);
}

#[tokio::test]
async fn default_without_the_organization_box_consents_static_delegated_for_the_admin_only() {
    let t = spawn_emu().await;
    let rt = consent_and_refresh_token(
        &t,
        CONTOSO_ADMIN_EMAIL,
        DEFAULT_SCOPE,
        Some("consent"),
        false,
    )
    .await;
    let (status, body) = t.refresh(CONTOSO_TENANT_ID, &rt, &admin_api_scope()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        claims_of(body["access_token"].as_str().unwrap())["scp"],
        "full_access"
    );
    assert_eq!(roles_of_app_token(&t, CONTOSO_TENANT_ID).await, None);
    let (url, _) = authorize(&t, "organizations", SCOPE, None);
    let p = location_params(&t.submit_page(&url, CONTOSO_EMPLOYEE_EMAIL, "accept").await);
    assert!(param(&p, "code").is_none(), "{p:?}");
}

#[tokio::test]
async fn a_non_admin_cannot_consent_for_the_organization() {
    let t = spawn_emu().await;
    let (url, _) = authorize(&t, "organizations", DEFAULT_SCOPE, Some("consent"));
    let p = location_params(
        &t.submit_page_with(
            &url,
            CONTOSO_EMPLOYEE_EMAIL,
            "accept",
            &[("consent_for_organization", "true")],
        )
        .await,
    );
    assert_eq!(param(&p, "error"), Some("consent_required"));
    assert!(
        param(&p, "error_description")
            .unwrap()
            .starts_with("AADSTS90094"),
        "{p:?}"
    );
    let (status, _) = t.app_token(CONTOSO_TENANT_ID, REQUEST_SERVICE).await;
    assert_eq!(status, 400, "nothing was consented, no service principal");

    // Nor through the admin consent endpoint.
    let url = t.admin_consent_url("organizations", "https://graph.microsoft.com/.default");
    let p = location_params(&t.submit_page(&url, CONTOSO_EMPLOYEE_EMAIL, "accept").await);
    assert_eq!(param(&p, "admin_consent"), Some("True"));
    assert!(
        param(&p, "error_description")
            .unwrap()
            .starts_with("AADSTS90094"),
        "{p:?}"
    );
}

#[tokio::test]
async fn a_refresh_token_mints_only_consented_scopes() {
    let t = spawn_emu().await;
    let rt =
        consent_and_refresh_token(&t, CONTOSO_ADMIN_EMAIL, SCOPE, Some("consent"), false).await;
    let (status, body) = t
        .refresh(
            CONTOSO_TENANT_ID,
            &rt,
            "https://graph.microsoft.com/User.Read offline_access",
        )
        .await;
    assert_eq!(status, 200, "{body}");
    // The refresh token is rotated: the one returned is the one to use next.
    let rt = body["refresh_token"].as_str().unwrap().to_owned();
    for scope in [
        "https://graph.microsoft.com/Domain.Read.All",
        "6a8b4b39-c021-437c-b060-5a14a3fd65f3/.default",
    ] {
        let (status, body) = t.refresh(CONTOSO_TENANT_ID, &rt, scope).await;
        assert_eq!(status, 400, "{scope}");
        assert_aad_error(&body, "invalid_grant", 65001);
        assert!(
            body["error_description"]
                .as_str()
                .unwrap()
                .contains("has not consented to use the application")
        );
    }
}

#[tokio::test]
async fn the_admin_consent_endpoint_then_a_silent_sign_in_is_the_whole_connect() {
    let t = spawn_emu().await;
    // Leg 1: /organizations/v2.0/adminconsent with Graph's .default.
    let url = t.admin_consent_url("organizations", "https://graph.microsoft.com/.default");
    let html = t.page_html(&url).await;
    assert!(
        html.contains("VerifiableCredential.Create.PresentRequest") && html.contains("full_access")
    );
    assert!(
        !html.contains("consent-for-organization"),
        "always for the organization"
    );
    let res = t.decide(&html, CONTOSO_ADMIN_EMAIL, "accept", &[]).await;
    let cookie = res.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(
        cookie.starts_with("emu_estsauth=") && cookie.contains("Path=/login"),
        "{cookie}"
    );
    let p = location_params(&res);
    assert_eq!(param(&p, "admin_consent"), Some("True"));
    assert_eq!(param(&p, "tenant"), Some(CONTOSO_TENANT_ID));
    assert_eq!(param(&p, "state"), Some("S1"));
    assert!(param(&p, "scope").unwrap().contains("full_access"));
    let session = cookie.split(';').next().unwrap().to_string();

    // Leg 2: authorize in the tenant, no prompt: back at once with a code (single sign-on).
    let (url, verifier) = authorize(&t, CONTOSO_TENANT_ID, SCOPE, None);
    let res = t
        .http
        .get(&url)
        .header("cookie", &session)
        .send()
        .await
        .unwrap();
    assert!(res.status().is_redirection(), "{}", res.status());
    let p = location_params(&res);
    assert_eq!(param(&p, "state"), Some("S2"));
    let code = param(&p, "code").unwrap();
    let (status, body) = redeem_at(&t, CONTOSO_TENANT_ID, code, &verifier, SCOPE).await;
    assert_eq!(status, 200, "{body}");
    let id = claims_of(body["id_token"].as_str().unwrap());
    assert_eq!(id["tid"], CONTOSO_TENANT_ID);
    assert_eq!(id["nonce"], "N");

    // The product proves the grants: delegated admin API token, app token with the role.
    let rt = body["refresh_token"].as_str().unwrap();
    let (status, body) = t.refresh(CONTOSO_TENANT_ID, rt, &admin_api_scope()).await;
    assert_eq!(status, 200, "{body}");
    let admin = body["access_token"].as_str().unwrap().to_string();
    let res = t
        .http
        .get(format!(
            "{}/v1.0/verifiableCredentials/authorities",
            t.emu.verified_id_url()
        ))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(
        roles_of_app_token(&t, CONTOSO_TENANT_ID).await,
        Some(json!(["VerifiableCredential.Create.PresentRequest"]))
    );

    // prompt=login forces the picker even with a session; the session is tenant-bound.
    let (url, _) = authorize(&t, CONTOSO_TENANT_ID, SCOPE, Some("login"));
    let res = t
        .http
        .get(&url)
        .header("cookie", &session)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let (url, _) = authorize(&t, FABRIKAM_TENANT_ID, SCOPE, None);
    let res = t
        .http
        .get(&url)
        .header("cookie", &session)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "a Fabrikam sign-in shows the picker");
}

#[tokio::test]
async fn prompt_none_without_a_session_is_login_required() {
    let t = spawn_emu().await;
    t.emu.grant_admin_consent(CONTOSO_TENANT_ID, DEV_CLIENT_ID);
    let (url, _) = authorize(&t, CONTOSO_TENANT_ID, SCOPE, Some("none"));
    let p = location_params(&t.http.get(&url).send().await.unwrap());
    assert_eq!(param(&p, "error"), Some("login_required"));
    assert_eq!(param(&p, "state"), Some("S2"));

    // With a session but without consent: consent_required, no page.
    let (url, _) = authorize(&t, FABRIKAM_TENANT_ID, SCOPE, None);
    let res = t.submit_page(&url, FABRIKAM_EMPLOYEE_EMAIL, "cancel").await;
    let session = res.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let (url, _) = authorize(&t, FABRIKAM_TENANT_ID, SCOPE, Some("none"));
    let p = location_params(
        &t.http
            .get(&url)
            .header("cookie", &session)
            .send()
            .await
            .unwrap(),
    );
    assert_eq!(param(&p, "error"), Some("consent_required"));
}

#[tokio::test]
async fn a_tenant_without_verified_id_fails_consent_with_aadsts650052() {
    let t = spawn_emu().await;
    let expected = format!(
        "AADSTS650052: The app is trying to access a service '3db474b9-6a0c-4840-96ac-1fceb342124f'(Verifiable Credentials Service Request) that your organization '{NORTHWIND_TENANT_ID}' lacks a service principal for. "
    );
    let p = t.admin_consent(NORTHWIND_ADMIN_EMAIL).await;
    assert_eq!(param(&p, "error"), Some("invalid_client"), "{p:?}");
    assert!(
        param(&p, "error_description")
            .unwrap()
            .starts_with(&expected),
        "{p:?}"
    );
    assert_eq!(param(&p, "state"), Some("S1"));

    let (url, _) = authorize(&t, "organizations", DEFAULT_SCOPE, Some("consent"));
    let p = location_params(
        &t.submit_page_with(
            &url,
            NORTHWIND_ADMIN_EMAIL,
            "accept",
            &[("consent_for_organization", "true")],
        )
        .await,
    );
    assert_eq!(param(&p, "error"), Some("invalid_client"));
    assert!(
        param(&p, "error_description")
            .unwrap()
            .starts_with(&expected),
        "{p:?}"
    );

    // A dynamic scope naming a Verified ID resource fails the same way (the admin API's).
    let (url, _) = authorize(
        &t,
        "organizations",
        &format!("openid {ADMIN_API}/full_access"),
        Some("consent"),
    );
    let p = location_params(&t.submit_page(&url, NORTHWIND_ADMIN_EMAIL, "accept").await);
    assert!(
        param(&p, "error_description")
            .unwrap()
            .starts_with("AADSTS650052: The app is trying to access a service '6a8b4b39-c021-437c-b060-5a14a3fd65f3'(Verifiable Credentials Service Admin)"),
        "{p:?}"
    );
    // Nothing was granted: no service principal.
    let (status, body) = t.app_token(NORTHWIND_TENANT_ID, REQUEST_SERVICE).await;
    assert_aad_error(&body, "unauthorized_client", 700016);
    assert_eq!(status, 400);

    // A Graph-only sign-in still works there.
    let (code, verifier) = t.sign_in(NORTHWIND_ADMIN_EMAIL, Some("consent")).await;
    assert_eq!(t.redeem(&code, &verifier).await.0, 200);
}

#[tokio::test]
async fn delegated_only_consent_can_be_set_up_from_rust_and_over_http() {
    let t = spawn_emu().await;
    assert!(t.emu.grant_delegated_consent(
        CONTOSO_TENANT_ID,
        DEV_CLIENT_ID,
        &["https://graph.microsoft.com/User.Read", &admin_api_scope()],
    ));
    assert_eq!(roles_of_app_token(&t, CONTOSO_TENANT_ID).await, None);
    let (code, verifier) = t.sign_in(CONTOSO_ADMIN_EMAIL, None).await;
    let (_, body) = t.redeem(&code, &verifier).await;
    let (status, _) = t
        .refresh(
            CONTOSO_TENANT_ID,
            body["refresh_token"].as_str().unwrap(),
            &admin_api_scope(),
        )
        .await;
    assert_eq!(status, 200);

    let control = format!("{}_control/consents", t.emu.base_url());
    let res = t
        .http
        .post(&control)
        .json(&json!({"tenant_id": FABRIKAM_TENANT_ID, "client_id": DEV_CLIENT_ID, "delegated_only": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    assert_eq!(roles_of_app_token(&t, FABRIKAM_TENANT_ID).await, None);
    let res = t
        .http
        .post(&control)
        .json(&json!({"tenant_id": FABRIKAM_TENANT_ID, "client_id": DEV_CLIENT_ID}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    assert!(roles_of_app_token(&t, FABRIKAM_TENANT_ID).await.is_some());
    let res = t
        .http
        .post(&control)
        .json(&json!({"tenant_id": FABRIKAM_TENANT_ID, "client_id": DEV_CLIENT_ID, "scopes": ["api://unknown/x"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);

    let res = t
        .http
        .delete(&control)
        .json(&json!({"tenant_id": FABRIKAM_TENANT_ID, "client_id": DEV_CLIENT_ID}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    let (_, body) = t.app_token(FABRIKAM_TENANT_ID, REQUEST_SERVICE).await;
    assert_aad_error(&body, "unauthorized_client", 700016);
}

#[tokio::test]
async fn the_apps_home_tenant_has_it_consented_at_start() {
    let t = spawn_emu().await;
    assert_eq!(
        roles_of_app_token(&t, PROVIDER_TENANT_ID).await,
        Some(json!(["VerifiableCredential.Create.PresentRequest"]))
    );
}

#[tokio::test]
async fn default_cannot_be_combined_with_dynamic_scopes() {
    let t = spawn_emu().await;
    let (url, _) = authorize(
        &t,
        "organizations",
        &format!("openid https://graph.microsoft.com/.default {ADMIN_API}/full_access"),
        None,
    );
    let p = location_params(&t.http.get(&url).send().await.unwrap());
    assert_eq!(param(&p, "error"), Some("invalid_scope"));
    assert!(
        param(&p, "error_description")
            .unwrap()
            .starts_with("AADSTS70011")
    );
}
