//! Sign in with Microsoft: who gets in (a member of the organization whose tenant signed
//! them in, found by their bound Microsoft account, or the first time by an email Microsoft
//! vouches for), who is refused and what the refusal says and changes, and "Microsoft only".

use app::error::AppError;
use microsoft_emulator::{
    CONTOSO_ADMIN_EMAIL, CONTOSO_EMPLOYEE_EMAIL, CONTOSO_EMPLOYEE2_EMAIL, CONTOSO_TENANT_ID,
    FABRIKAM_ADMIN_EMAIL,
};
use reqwest::{Response, StatusCode};

use crate::helpers::*;

/// Contoso in Traceless: Adele (the tenant's admin) signed up and connected the tenant.
async fn contoso_connected() -> TestApp {
    let app = spawn_app().await;
    app.admin("Contoso", CONTOSO_ADMIN_EMAIL).await;
    app.connect_microsoft(CONTOSO_ADMIN_EMAIL, "accept").await;
    app
}

/// Invites `email` as an agent and accepts the invite in a browser of its own.
async fn agent(app: &TestApp, email: &str) {
    let link: app::model::InviteLink = ok_json(app.invite("Agent", email, "agent").await).await;
    let accepted = app
        .call_as(
            &new_client(),
            "accept_invite",
            &[("token", &token_of(&link.url)), ("password", PASSWORD)],
        )
        .await;
    assert!(
        accepted.status().is_success() || accepted.status().is_redirection(),
        "{}",
        accepted.status()
    );
}

/// A Contoso administrator changes `mail`'s mailbox address in Entra; the object id stays.
async fn rename_at_microsoft(app: &TestApp, mail: &str, new_mail: &str) {
    let response = plain_client()
        .put(format!(
            "{}_control/tenants/{CONTOSO_TENANT_ID}/users/{mail}/mail",
            app.emulator.base_url()
        ))
        .json(&serde_json::json!({ "mail": new_mail }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
}

async fn whoami_in(app: &TestApp, browser: &reqwest::Client) -> Option<app::model::Me> {
    ok_json(app.call_as(browser, "whoami", &[]).await).await
}

/// Asserts a refusal page with `status` and `cause`, and returns its text.
async fn refused(response: Response, status: StatusCode, cause: &str) -> String {
    assert_eq!(response.status(), status);
    let html = response.text().await.unwrap();
    assert!(
        html.contains(&format!("data-cause=\"{cause}\"")),
        "expected {cause}: {html}"
    );
    html
}

async fn microsoft_account_of(app: &TestApp, email: &str) -> Option<String> {
    traceless::db::query("SELECT microsoft_oid FROM users WHERE email = $1")
        .bind(email)
        .fetch_one_on(&app.pool)
        .await
        .unwrap()
        .try_get(0)
        .unwrap()
}

#[tokio::test]
async fn the_sign_in_asks_microsoft_for_openid_profile_and_email_with_the_account_picker() {
    let app = spawn_app().await;
    let authorize = app.start_microsoft_sign_in_as(&new_client()).await;
    let url = url::Url::parse(&authorize).unwrap();
    assert!(
        authorize.starts_with(&app.emulator.login_url()),
        "{authorize}"
    );
    let q: std::collections::HashMap<String, String> = url.query_pairs().into_owned().collect();
    assert_eq!(q["scope"], "openid profile email");
    assert_eq!(q["prompt"], "select_account");
    assert_eq!(q["code_challenge_method"], "S256");
    assert_eq!(
        q["redirect_uri"],
        format!("{}/sign-in/microsoft/callback", app.address)
    );
}

#[tokio::test]
async fn a_member_signs_in_with_microsoft_and_their_microsoft_account_is_bound() {
    let app = contoso_connected().await;
    agent(&app, CONTOSO_EMPLOYEE_EMAIL).await;
    let browser = new_client();

    let response = app
        .sign_in_with_microsoft_as(&browser, CONTOSO_EMPLOYEE_EMAIL)
        .await;

    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()["location"], "/organization");
    let me = whoami_in(&app, &browser).await.expect("signed in");
    assert_eq!(me.email, CONTOSO_EMPLOYEE_EMAIL);
    assert!(
        microsoft_account_of(&app, CONTOSO_EMPLOYEE_EMAIL)
            .await
            .is_some()
    );
    assert!(
        app.audit_actions()
            .await
            .contains(&"microsoft.sign_in_succeeded".to_owned())
    );
}

#[tokio::test]
async fn a_bound_member_still_signs_in_after_their_email_changes_at_microsoft() {
    let app = contoso_connected().await;
    agent(&app, CONTOSO_EMPLOYEE_EMAIL).await;
    let first = app
        .sign_in_with_microsoft_as(&new_client(), CONTOSO_EMPLOYEE_EMAIL)
        .await;
    assert_eq!(first.status(), StatusCode::SEE_OTHER);
    rename_at_microsoft(&app, CONTOSO_EMPLOYEE_EMAIL, "megan.renamed@contoso.com").await;
    let browser = new_client();

    let again = app
        .sign_in_with_microsoft_as(&browser, CONTOSO_EMPLOYEE_EMAIL)
        .await;

    assert_eq!(again.status(), StatusCode::SEE_OTHER);
    let me = whoami_in(&app, &browser).await.expect("signed in by oid");
    assert_eq!(me.email, CONTOSO_EMPLOYEE_EMAIL);
}

#[tokio::test]
async fn an_email_microsoft_does_not_vouch_for_opens_nothing() {
    let app = contoso_connected().await;
    agent(&app, CONTOSO_EMPLOYEE_EMAIL).await;
    // Megan's mailbox now says an address outside Contoso's verified domains
    // (`xms_edov` false): the one-time match by email does not apply.
    rename_at_microsoft(
        &app,
        CONTOSO_EMPLOYEE_EMAIL,
        "megan.bowen@elsewhere.example",
    )
    .await;
    let browser = new_client();

    let response = app
        .sign_in_with_microsoft_as(&browser, CONTOSO_EMPLOYEE_EMAIL)
        .await;

    refused(response, StatusCode::FORBIDDEN, "not_a_member").await;
    assert!(whoami_in(&app, &browser).await.is_none());
    assert!(
        microsoft_account_of(&app, CONTOSO_EMPLOYEE_EMAIL)
            .await
            .is_none()
    );
}

#[tokio::test]
async fn a_microsoft_account_that_is_not_a_member_is_refused_and_changes_nothing() {
    let app = contoso_connected().await;
    let browser = new_client();

    let response = app
        .sign_in_with_microsoft_as(&browser, CONTOSO_EMPLOYEE2_EMAIL)
        .await;

    let html = refused(response, StatusCode::FORBIDDEN, "not_a_member").await;
    assert!(html.contains("This Microsoft account isn"), "{html}");
    assert!(html.contains("a member of Contoso"), "{html}");
    assert!(whoami_in(&app, &browser).await.is_none());
    assert!(
        app.audit_actions()
            .await
            .contains(&"microsoft.sign_in_refused".to_owned())
    );
}

#[tokio::test]
async fn a_token_from_another_tenant_is_refused_even_for_a_member_with_that_email() {
    let app = contoso_connected().await;
    // Diego is a Contoso member in Traceless, but his Microsoft account is Fabrikam's, and
    // no organization connected Fabrikam.
    agent(&app, FABRIKAM_ADMIN_EMAIL).await;
    let browser = new_client();

    let response = app
        .sign_in_with_microsoft_as(&browser, FABRIKAM_ADMIN_EMAIL)
        .await;

    let html = refused(response, StatusCode::FORBIDDEN, "not_connected").await;
    assert!(html.contains("hasn't connected Microsoft"), "{html}");
    // Nothing about the organization that does exist.
    assert!(!html.contains("Contoso"), "{html}");
    assert!(whoami_in(&app, &browser).await.is_none());
    assert!(
        microsoft_account_of(&app, FABRIKAM_ADMIN_EMAIL)
            .await
            .is_none()
    );
}

#[tokio::test]
async fn an_organization_without_a_connected_tenant_is_refused() {
    let app = spawn_app().await;
    app.admin("Contoso", CONTOSO_ADMIN_EMAIL).await;
    let browser = new_client();

    let response = app
        .sign_in_with_microsoft_as(&browser, CONTOSO_ADMIN_EMAIL)
        .await;

    refused(response, StatusCode::FORBIDDEN, "not_connected").await;
    assert!(whoami_in(&app, &browser).await.is_none());
}

#[tokio::test]
async fn a_tampered_state_is_refused() {
    let app = contoso_connected().await;
    let browser = new_client();
    let authorize = app.start_microsoft_sign_in_as(&browser).await;
    let callback = app
        .at_microsoft(&authorize, CONTOSO_ADMIN_EMAIL, "accept")
        .await;
    let mut url = url::Url::parse(&callback).unwrap();
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .into_owned()
        .map(|(k, v)| {
            if k == "state" {
                (k, format!("{v}x"))
            } else {
                (k, v)
            }
        })
        .collect();
    url.query_pairs_mut().clear().extend_pairs(pairs);

    let response = browser.get(url.as_str()).send().await.unwrap();

    refused(response, StatusCode::BAD_REQUEST, "interrupted").await;
    assert!(whoami_in(&app, &browser).await.is_none());
    // Single use: the genuine return after a refused one is refused too.
    let replay = browser.get(callback).send().await.unwrap();
    refused(replay, StatusCode::BAD_REQUEST, "interrupted").await;
}

#[tokio::test]
async fn a_return_in_another_browser_is_refused() {
    let app = contoso_connected().await;
    let authorize = app.start_microsoft_sign_in_as(&new_client()).await;
    let callback = app
        .at_microsoft(&authorize, CONTOSO_ADMIN_EMAIL, "accept")
        .await;
    let attacker = new_client();

    let response = attacker.get(callback).send().await.unwrap();

    refused(response, StatusCode::BAD_REQUEST, "interrupted").await;
    assert!(whoami_in(&app, &attacker).await.is_none());
}

#[tokio::test]
async fn a_tampered_nonce_is_refused() {
    let app = contoso_connected().await;
    let browser = new_client();
    let authorize = app.start_microsoft_sign_in_as(&browser).await;
    let mut url = url::Url::parse(&authorize).unwrap();
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .into_owned()
        .map(|(k, v)| {
            if k == "nonce" {
                (k, "chosen-by-an-attacker".into())
            } else {
                (k, v)
            }
        })
        .collect();
    url.query_pairs_mut().clear().extend_pairs(pairs);
    let callback = app
        .at_microsoft(url.as_str(), CONTOSO_ADMIN_EMAIL, "accept")
        .await;

    let response = browser.get(callback).send().await.unwrap();

    refused(response, StatusCode::BAD_REQUEST, "untrusted_answer").await;
    assert!(whoami_in(&app, &browser).await.is_none());
}

#[tokio::test]
async fn microsoft_only_refuses_the_password_and_keeps_microsoft_working() {
    let app = contoso_connected().await;
    // Not before the admin has signed in with Microsoft: they could lock themselves out.
    let too_soon = app.call("set_microsoft_only", &[("on", "true")]).await;
    let error = app_error(too_soon, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert!(
        error
            .to_string()
            .contains("Sign in with Microsoft yourself first")
    );
    let admin = new_client();
    let signed_in = app
        .sign_in_with_microsoft_as(&admin, CONTOSO_ADMIN_EMAIL)
        .await;
    assert_eq!(signed_in.status(), StatusCode::SEE_OTHER);

    let turned_on = app
        .call_as(&admin, "set_microsoft_only", &[("on", "true")])
        .await;
    assert!(turned_on.status().is_success(), "{}", turned_on.status());

    let password = app
        .sign_in_as(&new_client(), CONTOSO_ADMIN_EMAIL, PASSWORD)
        .await;
    let AppError::Invalid { message, .. } =
        app_error(password, StatusCode::UNPROCESSABLE_ENTITY).await
    else {
        panic!("expected the Microsoft-only refusal");
    };
    assert!(message.contains("Sign in with Microsoft"), "{message}");
    // A wrong password still gets the usual answer: the refusal says nothing to a guesser.
    let wrong = app
        .sign_in_as(
            &new_client(),
            CONTOSO_ADMIN_EMAIL,
            "not the password at all",
        )
        .await;
    let wrong = app_error(wrong, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert!(wrong.to_string().contains("incorrect"), "{wrong}");
    let again = new_client();
    let microsoft = app
        .sign_in_with_microsoft_as(&again, CONTOSO_ADMIN_EMAIL)
        .await;
    assert_eq!(microsoft.status(), StatusCode::SEE_OTHER);
    assert!(whoami_in(&app, &again).await.is_some());
    assert!(
        app.audit_actions()
            .await
            .contains(&"microsoft.only_on".to_owned())
    );
}

#[tokio::test]
async fn removing_the_integration_turns_microsoft_only_off() {
    let app = contoso_connected().await;
    let admin = new_client();
    app.sign_in_with_microsoft_as(&admin, CONTOSO_ADMIN_EMAIL)
        .await;
    let on = app
        .call_as(&admin, "set_microsoft_only", &[("on", "true")])
        .await;
    assert!(on.status().is_success(), "{}", on.status());

    let removed = app
        .call_as(&admin, "remove_microsoft_integration", &[])
        .await;
    assert!(removed.status().is_success(), "{}", removed.status());

    let password = app
        .sign_in_as(&new_client(), CONTOSO_ADMIN_EMAIL, PASSWORD)
        .await;
    assert!(
        password.status().is_success() || password.status().is_redirection(),
        "{}",
        password.status()
    );
    let on_again = app
        .call_as(&admin, "set_microsoft_only", &[("on", "true")])
        .await;
    let error = app_error(on_again, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert!(error.to_string().contains("Connect Microsoft"), "{error}");
}

#[tokio::test]
async fn only_an_administrator_changes_microsoft_only() {
    let app = contoso_connected().await;
    agent(&app, CONTOSO_EMPLOYEE_EMAIL).await;
    let megan = new_client();
    app.sign_in_with_microsoft_as(&megan, CONTOSO_EMPLOYEE_EMAIL)
        .await;

    let response = app
        .call_as(&megan, "set_microsoft_only", &[("on", "true")])
        .await;

    app_error(response, StatusCode::FORBIDDEN).await;
    assert!(
        !app.audit_actions()
            .await
            .contains(&"microsoft.only_on".to_owned())
    );
}
