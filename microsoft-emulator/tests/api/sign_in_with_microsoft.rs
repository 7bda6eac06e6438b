//! "Sign in with Microsoft" for the demo app: its second redirect URI, the account picker, the
//! scopes it may ask, and the email claims of the ID token.

use microsoft_emulator::*;
use serde_json::Value;

use crate::helpers::*;

/// The product's sign-in redirect URI on the demo registration.
const SIGN_IN_REDIRECT: &str = "http://127.0.0.1:3000/sign-in/microsoft/callback";
const SIGN_IN_SCOPE: &str = "openid profile email";

fn sign_in_url(t: &TestEmu, redirect_uri: &str, scope: &str, challenge: &str) -> String {
    let mut u = url::Url::parse(&format!(
        "{}/organizations/oauth2/v2.0/authorize",
        t.emu.login_url()
    ))
    .unwrap();
    u.query_pairs_mut()
        .append_pair("client_id", DEV_CLIENT_ID)
        .append_pair("response_type", "code")
        .append_pair("redirect_uri", redirect_uri)
        .append_pair("response_mode", "query")
        .append_pair("scope", scope)
        .append_pair("state", "state-123")
        .append_pair("nonce", "nonce-456")
        .append_pair("code_challenge", challenge)
        .append_pair("code_challenge_method", "S256")
        .append_pair("prompt", "select_account");
    u.to_string()
}

/// Signs `user` in with the sign-in scopes and returns the ID token's claims.
async fn id_token_claims(t: &TestEmu, user: &str) -> Value {
    let (verifier, challenge) = pkce();
    let url = sign_in_url(t, SIGN_IN_REDIRECT, SIGN_IN_SCOPE, &challenge);
    let params = location_params(&t.submit_page(&url, user, "accept").await);
    let code = param(&params, "code").unwrap_or_else(|| panic!("no code: {params:?}"));
    let (status, body) = t
        .token(
            "organizations",
            &[
                ("grant_type", "authorization_code"),
                ("client_id", DEV_CLIENT_ID),
                ("client_secret", DEV_CLIENT_SECRET),
                ("code", code),
                ("redirect_uri", SIGN_IN_REDIRECT),
                ("code_verifier", &verifier),
                ("scope", SIGN_IN_SCOPE),
            ],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body.get("refresh_token").is_none(),
        "no offline_access asked"
    );
    claims_of(body["id_token"].as_str().unwrap())
}

fn oid_of(mail: &str) -> String {
    Seed::demo()
        .tenants
        .iter()
        .flat_map(|t| t.users.iter())
        .find(|u| u.mail.as_deref() == Some(mail))
        .map(|u| u.oid.clone())
        .unwrap()
}

#[tokio::test]
async fn the_sign_in_redirect_uri_is_registered_and_the_page_lets_you_choose_the_user() {
    let t = spawn_emu().await;
    let (_, challenge) = pkce();
    let html = t
        .page_html(&sign_in_url(
            &t,
            SIGN_IN_REDIRECT,
            SIGN_IN_SCOPE,
            &challenge,
        ))
        .await;
    for upn in [
        "adele.vance@contoso.onmicrosoft.com",
        "megan.bowen@contoso.onmicrosoft.com",
        "diego.siciliani@fabrikam.onmicrosoft.com",
    ] {
        assert!(
            html.contains(&format!("data-testid=\"account-{upn}\"")),
            "{upn}"
        );
    }
}

#[tokio::test]
async fn a_redirect_uri_not_registered_on_the_app_is_refused_on_an_error_page() {
    let t = spawn_emu().await;
    let (_, challenge) = pkce();
    let url = sign_in_url(
        &t,
        "http://127.0.0.1:3000/sign-in/microsoft/elsewhere",
        SIGN_IN_SCOPE,
        &challenge,
    );

    let res = t.http.get(url).send().await.unwrap();

    // No redirect to an untrusted URI: an error page (AADSTS50011).
    assert_eq!(res.status(), 400);
    assert!(res.headers().get("location").is_none());
    assert!(res.text().await.unwrap().contains("50011"));
}

#[tokio::test]
async fn a_scope_the_app_is_not_registered_for_is_refused() {
    let t = spawn_emu().await;
    let (_, challenge) = pkce();
    let url = sign_in_url(
        &t,
        SIGN_IN_REDIRECT,
        "openid profile email https://graph.microsoft.com/Mail.Read",
        &challenge,
    );

    let res = t.http.get(url).send().await.unwrap();

    let params = location_params(&res);
    assert_eq!(param(&params, "error"), Some("invalid_scope"), "{params:?}");
    assert!(
        param(&params, "error_description")
            .unwrap()
            .contains("AADSTS70011"),
        "{params:?}"
    );
    assert_eq!(param(&params, "state"), Some("state-123"));
}

#[tokio::test]
async fn the_id_token_vouches_for_an_email_in_a_domain_of_the_tenant_only() {
    let t = spawn_emu().await;
    assert!(t.emu.grant_admin_consent(CONTOSO_TENANT_ID, DEV_CLIENT_ID));

    let claims = id_token_claims(&t, &oid_of(CONTOSO_EMPLOYEE_EMAIL)).await;
    assert_eq!(claims["email"], CONTOSO_EMPLOYEE_EMAIL);
    assert_eq!(claims["xms_edov"], true);
    assert_eq!(claims["nonce"], "nonce-456");
    assert_eq!(claims["tid"], CONTOSO_TENANT_ID);

    let renamed = t
        .http
        .put(format!(
            "{}_control/tenants/{CONTOSO_TENANT_ID}/users/{CONTOSO_EMPLOYEE_EMAIL}/mail",
            t.emu.base_url()
        ))
        .json(&serde_json::json!({ "mail": "megan@elsewhere.example" }))
        .send()
        .await
        .unwrap();
    assert_eq!(renamed.status(), 204);
    let claims = id_token_claims(&t, &oid_of(CONTOSO_EMPLOYEE_EMAIL)).await;
    assert_eq!(claims["email"], "megan@elsewhere.example");
    assert_eq!(claims["xms_edov"], false);
    assert_eq!(claims["oid"], oid_of(CONTOSO_EMPLOYEE_EMAIL));
}
