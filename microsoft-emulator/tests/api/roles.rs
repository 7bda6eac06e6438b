//! Directory roles (who may consent, who may call the Verified ID admin API), the OpenID
//! Connect scopes as Graph permissions that need consent, and consent propagation.

use microsoft_emulator::{
    CONTOSO_ADMIN_EMAIL, CONTOSO_APP_ADMIN_EMAIL, CONTOSO_GLOBAL_READER_EMAIL,
    CONTOSO_PRIVILEGED_ROLE_ADMIN_EMAIL, CONTOSO_TENANT_ID, DEV_CLIENT_ID, Propagation, Seed,
};
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::*;

/// Signs `user` in after the admin consent and returns their Verified ID admin API answer for
/// the authorities list.
async fn admin_api_as(t: &TestEmu, user: &str) -> StatusCode {
    let (code, verifier) = t.sign_in(user, None).await;
    let (status, tokens) = t.redeem(&code, &verifier).await;
    assert_eq!(status, 200, "{tokens}");
    let (status, admin) = t
        .refresh(
            CONTOSO_TENANT_ID,
            tokens["refresh_token"].as_str().unwrap(),
            &format!("{ADMIN_API}/full_access"),
        )
        .await;
    // The token is issued whatever the roles: `full_access` is consented for everyone.
    assert_eq!(status, 200, "{admin}");
    let res = t
        .http
        .get(format!(
            "{}/v1.0/verifiableCredentials/authorities",
            t.emu.verified_id_url()
        ))
        .bearer_auth(admin["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    StatusCode::from_u16(res.status().as_u16()).unwrap()
}

#[tokio::test]
async fn a_privileged_role_administrator_may_consent_to_anything_but_not_read_verified_id() {
    let t = spawn_emu().await;
    // The demo registration holds a Microsoft Graph application permission; a Privileged Role
    // Administrator may grant it (grant-admin-consent, "Prerequisites").
    let p = t.admin_consent(CONTOSO_PRIVILEGED_ROLE_ADMIN_EMAIL).await;
    assert_eq!(param(&p, "admin_consent"), Some("True"), "{p:?}");
    assert!(param(&p, "error").is_none(), "{p:?}");
    assert_eq!(param(&p, "tenant"), Some(CONTOSO_TENANT_ID));
    assert!(
        param(&p, "scope")
            .unwrap()
            .contains("graph.microsoft.com/Organization.Read.All"),
        "{p:?}"
    );
    assert_eq!(
        admin_api_as(&t, CONTOSO_PRIVILEGED_ROLE_ADMIN_EMAIL).await,
        StatusCode::FORBIDDEN
    );
    // A Global Administrator of the same tenant may.
    assert_eq!(admin_api_as(&t, CONTOSO_ADMIN_EMAIL).await, StatusCode::OK);
}

fn assert_needs_admin_approval(p: &[(String, String)]) {
    assert_eq!(param(p, "error"), Some("consent_required"), "{p:?}");
    assert!(
        param(p, "error_description")
            .unwrap()
            .starts_with("AADSTS90094"),
        "{p:?}"
    );
}

/// The authorize URL of the demo client asking for its static permissions (`.default`) with
/// `prompt=consent`: the page with the "Consent on behalf of your organization" box.
fn static_consent_at_authorize(t: &TestEmu) -> String {
    let (_, challenge) = pkce();
    let url = t.authorize_url(&Authorize {
        tenant: "organizations",
        client_id: DEV_CLIENT_ID,
        redirect_uri: REDIRECT,
        challenge: &challenge,
        prompt: Some("consent"),
    });
    let mut u = url::Url::parse(&url).unwrap();
    let pairs: Vec<(String, String)> = u
        .query_pairs()
        .map(|(k, v)| {
            let v = if k == "scope" {
                "openid profile offline_access https://graph.microsoft.com/.default".to_string()
            } else {
                v.into_owned()
            };
            (k.into_owned(), v)
        })
        .collect();
    u.query_pairs_mut().clear().extend_pairs(pairs);
    u.to_string()
}

#[tokio::test]
async fn an_application_administrator_may_not_consent_to_a_microsoft_graph_application_permission()
{
    // The demo registration holds Graph `Organization.Read.All` (application): Cloud
    // Application and Application Administrators may grant any permission except Microsoft
    // Graph app roles (grant-admin-consent, "Prerequisites"), so Microsoft asks for an admin.
    let t = spawn_emu().await;
    let p = t.admin_consent(CONTOSO_APP_ADMIN_EMAIL).await;
    assert_needs_admin_approval(&p);
    // Nothing was granted: no service principal, no app token.
    let (status, _) = t.app_token(CONTOSO_TENANT_ID, REQUEST_SERVICE).await;
    assert_eq!(status, 400, "nothing was consented");

    // Nor at the authorize endpoint with the organization box.
    let p = location_params(
        &t.submit_page_with(
            &static_consent_at_authorize(&t),
            CONTOSO_APP_ADMIN_EMAIL,
            "accept",
            &[("consent_for_organization", "true")],
        )
        .await,
    );
    assert_needs_admin_approval(&p);
    let (status, _) = t.app_token(CONTOSO_TENANT_ID, REQUEST_SERVICE).await;
    assert_eq!(status, 400, "nothing was consented");

    // A Privileged Role Administrator may, on the same page.
    let p = location_params(
        &t.submit_page_with(
            &static_consent_at_authorize(&t),
            CONTOSO_PRIVILEGED_ROLE_ADMIN_EMAIL,
            "accept",
            &[("consent_for_organization", "true")],
        )
        .await,
    );
    assert!(param(&p, "code").is_some(), "{p:?}");
}

/// The demo seed, with a registration that holds no Microsoft Graph application permission
/// (only the request service's app role).
fn seed_without_graph_app_roles() -> Seed {
    let mut seed = Seed::demo();
    let client = seed
        .clients
        .iter_mut()
        .find(|c| c.client_id == DEV_CLIENT_ID)
        .unwrap();
    client
        .app_roles
        .retain(|role| !role.starts_with("https://graph.microsoft.com/"));
    assert!(
        !client.app_roles.is_empty(),
        "the request service's role stays"
    );
    seed
}

#[tokio::test]
async fn an_application_administrator_may_consent_to_an_app_without_graph_application_permissions()
{
    let t = spawn_emu_with(seed_without_graph_app_roles()).await;
    let p = t.admin_consent(CONTOSO_APP_ADMIN_EMAIL).await;
    assert_eq!(param(&p, "admin_consent"), Some("True"), "{p:?}");
    assert!(param(&p, "error").is_none(), "{p:?}");
    // The request service's app role (not Graph's) was granted.
    let (status, body) = t.app_token(CONTOSO_TENANT_ID, REQUEST_SERVICE).await;
    assert_eq!(status, 200, "{body}");
    assert!(claims_of(body["access_token"].as_str().unwrap())["roles"].is_array());
    // Consenting does not let the account read Verified ID.
    assert_eq!(
        admin_api_as(&t, CONTOSO_APP_ADMIN_EMAIL).await,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn a_global_reader_may_not_consent_but_may_read_verified_id() {
    let t = spawn_emu().await;
    let p = t.admin_consent(CONTOSO_GLOBAL_READER_EMAIL).await;
    assert_eq!(param(&p, "error"), Some("consent_required"), "{p:?}");
    assert!(
        param(&p, "error_description")
            .unwrap()
            .starts_with("AADSTS90094"),
        "{p:?}"
    );
    let p = t.admin_consent(CONTOSO_ADMIN_EMAIL).await;
    assert!(param(&p, "error").is_none(), "{p:?}");
    assert_eq!(
        admin_api_as(&t, CONTOSO_GLOBAL_READER_EMAIL).await,
        StatusCode::OK
    );
}

#[tokio::test]
async fn the_sign_in_page_names_each_accounts_roles() {
    let t = spawn_emu().await;
    let html = t
        .page_html(&t.admin_consent_url(CONTOSO_TENANT_ID, "https://graph.microsoft.com/.default"))
        .await;
    assert!(html.contains("Application Administrator"));
    assert!(html.contains("Global Reader"));
    assert!(html.contains("Global Administrator"));
    assert!(html.contains("Privileged Role Administrator"));
}

/// The demo seed, with a registration that lists no OpenID Connect scope.
fn seed_without_oidc_permissions() -> Seed {
    let mut seed = Seed::demo();
    seed.clients[0].delegated_permissions.retain(|p| {
        !["openid", "profile", "offline_access"]
            .iter()
            .any(|s| p.ends_with(&format!("/{s}")))
    });
    seed
}

/// A browser that keeps the emulator's sign-in session.
async fn with_cookies(seed: Seed) -> TestEmu {
    let mut t = spawn_emu_with(seed).await;
    t.http = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    t
}

fn silent_sign_in(t: &TestEmu) -> String {
    let (_, challenge) = pkce();
    t.authorize_url(&Authorize {
        tenant: CONTOSO_TENANT_ID,
        client_id: DEV_CLIENT_ID,
        redirect_uri: REDIRECT,
        challenge: &challenge,
        prompt: Some("none"),
    })
}

#[tokio::test]
async fn the_openid_scopes_need_consent_like_any_graph_permission() {
    // Registered without them: the admin consent does not grant them, so the sign-in that asks
    // for `openid profile offline_access` needs consent.
    let t = with_cookies(seed_without_oidc_permissions()).await;
    let p = t.admin_consent(CONTOSO_ADMIN_EMAIL).await;
    assert!(param(&p, "error").is_none(), "{p:?}");
    assert!(!param(&p, "scope").unwrap().contains("openid"));
    let res = t.http.get(silent_sign_in(&t)).send().await.unwrap();
    let p = location_params(&res);
    assert_eq!(param(&p, "error"), Some("consent_required"), "{p:?}");
    assert!(
        param(&p, "error_description")
            .unwrap()
            .starts_with("AADSTS65001"),
        "{p:?}"
    );
    // Interactively, the consent page lists them.
    let url = silent_sign_in(&t).replace("prompt=none", "prompt=login");
    let html = t.page_html(&url).await;
    assert!(html.contains("data-kind=\"delegated\">openid "), "{html}");

    // Registered with them (the demo registration): the admin consent grants them and the
    // same sign-in needs no page.
    let t = with_cookies(Seed::demo()).await;
    let p = t.admin_consent(CONTOSO_ADMIN_EMAIL).await;
    assert!(
        param(&p, "scope")
            .unwrap()
            .contains("graph.microsoft.com/offline_access")
    );
    let res = t.http.get(silent_sign_in(&t)).send().await.unwrap();
    let p = location_params(&res);
    assert!(param(&p, "code").is_some(), "{p:?}");
}

fn has_roles(body: &Value) -> bool {
    claims_of(body["access_token"].as_str().unwrap())
        .get("roles")
        .is_some()
}

#[tokio::test]
async fn consent_propagation_delays_the_role_then_the_token_carries_it() {
    let t = spawn_emu().await;
    t.emu.set_consent_propagation(Propagation {
        service_principal_ms: 0,
        roles_ms: 300,
    });
    t.admin_consent(CONTOSO_ADMIN_EMAIL).await;
    let (status, body) = t.app_token(CONTOSO_TENANT_ID, REQUEST_SERVICE).await;
    assert_eq!(status, 200, "{body}");
    assert!(!has_roles(&body), "no roles while the consent propagates");
    // Ask until it carries the role, as a client would; Microsoft gives no signal.
    let mut tries = 0;
    loop {
        let (status, body) = t.app_token(CONTOSO_TENANT_ID, REQUEST_SERVICE).await;
        assert_eq!(status, 200);
        if has_roles(&body) {
            break;
        }
        tries += 1;
        assert!(tries < 100, "the role never arrived");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn consent_propagation_may_leave_the_app_unknown_for_a_while() {
    let t = spawn_emu().await;
    t.emu.set_consent_propagation(Propagation {
        service_principal_ms: 300_000,
        roles_ms: 0,
    });
    t.admin_consent(CONTOSO_ADMIN_EMAIL).await;
    let (status, body) = t.app_token(CONTOSO_TENANT_ID, REQUEST_SERVICE).await;
    assert_eq!(status, 400);
    assert_aad_error(&body, "unauthorized_client", 700016);
}

#[tokio::test]
async fn consents_are_immediate_unless_a_delay_is_set_and_the_delay_is_bounded() {
    let t = spawn_emu().await;
    t.admin_consent(CONTOSO_ADMIN_EMAIL).await;
    let (status, body) = t.app_token(CONTOSO_TENANT_ID, REQUEST_SERVICE).await;
    assert_eq!(status, 200);
    assert!(has_roles(&body));

    let set = |body: Value| {
        t.http
            .post(format!("{}_control/consent_propagation", t.emu.base_url()))
            .json(&body)
            .send()
    };
    let ok = set(serde_json::json!({"service_principal_ms": 10, "roles_ms": 20}))
        .await
        .unwrap();
    assert_eq!(ok.status(), 204);
    let too_long = set(serde_json::json!({"roles_ms": 3_600_000}))
        .await
        .unwrap();
    assert_eq!(too_long.status(), 422);
}
