//! Who may connect, what the consent grants, and tenants that are not the common case: the
//! administrator roles Microsoft distinguishes, the sign-in leg's scopes, consent that takes a
//! moment to propagate, the tenant field, the granted `scope`, and international domain names.

use app::error::AppError;
use app::model::{ConnectOutcome, MicrosoftCard};
use microsoft_emulator::{
    CONTOSO_ADMIN_EMAIL, CONTOSO_APP_ADMIN_EMAIL, CONTOSO_GLOBAL_READER_EMAIL,
    CONTOSO_PRIVILEGED_ROLE_ADMIN_EMAIL, CONTOSO_TENANT_ID, Propagation,
};
use reqwest::StatusCode;

use crate::helpers::*;

const FINISHING: &str = "/organization/integrations/microsoft/finishing";

fn failure(card: &MicrosoftCard) -> (String, String) {
    match &card.outcome {
        Some(ConnectOutcome::Failed { code, detail }) => (code.clone(), detail.clone()),
        other => panic!("expected a failure, got {other:?}"),
    }
}

#[tokio::test]
async fn a_privileged_role_administrator_consents_then_is_told_which_roles_can_read_verified_id() {
    let app = spawn_app().await;
    app.admin("Contoso", "ada@contoso.com").await;

    // The consent leg goes through (a Privileged Role Administrator may grant any permission,
    // Microsoft Graph application permissions included); the admin API then refuses the
    // account, which may not read Verified ID.
    app.connect_microsoft(CONTOSO_PRIVILEGED_ROLE_ADMIN_EMAIL, "accept")
        .await;

    let card = app.card().await;
    let (code, detail) = failure(&card);
    assert_eq!(code, "admin_api_role_missing");
    assert!(
        detail
            .contains("Global Administrator, Authentication Policy Administrator or Global Reader"),
        "{detail}"
    );
    assert!(detail.contains("Sign in with another account"), "{detail}");
    assert!(card.connection.is_none());
    assert_eq!(app.count("microsoft_integrations").await, 0);
    assert!(
        app.audit_actions()
            .await
            .contains(&"microsoft.consent_granted".to_owned())
    );
}

#[tokio::test]
async fn an_application_administrator_is_refused_at_the_consent_and_told_which_roles_may_grant_it()
{
    let app = spawn_app().await;
    app.admin("Contoso", "ada@contoso.com").await;

    // The registration holds a Microsoft Graph application permission (the daily refresh),
    // which an Application Administrator may not grant: Microsoft answers "Need admin
    // approval" (AADSTS90094) at the consent leg, before any sign-in.
    app.connect_microsoft(CONTOSO_APP_ADMIN_EMAIL, "accept")
        .await;

    let card = app.card().await;
    let (code, detail) = failure(&card);
    assert_eq!(code, "needs_administrator");
    assert!(detail.contains("AADSTS90094"), "{detail}");
    assert!(
        detail.contains("Sign in with a Global Administrator or Privileged Role Administrator"),
        "{detail}"
    );
    // The roles that usually grant consent are named as unable to grant this one, and why.
    assert!(
        detail.contains("Application Administrators and Cloud Application Administrators cannot"),
        "{detail}"
    );
    assert!(
        detail.contains("Microsoft Graph application permission"),
        "{detail}"
    );
    assert!(card.connection.is_none());
    assert_eq!(app.count("microsoft_integrations").await, 0);
    assert!(
        !app.audit_actions()
            .await
            .contains(&"microsoft.consent_granted".to_owned())
    );
}

#[tokio::test]
async fn a_global_reader_cannot_consent_but_connects_with_another_account_after_consent() {
    let app = spawn_app().await;
    app.admin("Contoso", "ada@contoso.com").await;

    // A Global Reader may not grant admin consent (AADSTS90094).
    app.connect_microsoft(CONTOSO_GLOBAL_READER_EMAIL, "accept")
        .await;
    let (code, detail) = failure(&app.card().await);
    assert_eq!(code, "needs_administrator");
    assert!(
        detail.contains("Global Administrator or Privileged Role Administrator"),
        "{detail}"
    );

    // A Privileged Role Administrator consents, and may not read Verified ID.
    app.connect_microsoft(CONTOSO_PRIVILEGED_ROLE_ADMIN_EMAIL, "accept")
        .await;
    assert_eq!(failure(&app.card().await).0, "admin_api_role_missing");

    // "Sign in with another account": the sign-in leg only, with Microsoft's account picker.
    let response = app
        .call("sign_in_microsoft_another_account", &[("tenant", "")])
        .await;
    assert!(response.status().is_success(), "{}", response.status());
    let sign_in = response.headers()["location"].to_str().unwrap().to_owned();
    assert!(sign_in.contains("/oauth2/v2.0/authorize?"), "{sign_in}");
    assert!(sign_in.contains("prompt=select_account"), "{sign_in}");

    // The Global Reader picks their account: reading is all connecting does, so it connects.
    let callback = app
        .at_microsoft(&sign_in, CONTOSO_GLOBAL_READER_EMAIL, "accept")
        .await;
    let landed = app.return_from_microsoft_as(&app.client, &callback).await;
    assert_eq!(landed, "/organization/integrations");
    let card = app.card().await;
    assert_eq!(card.outcome, Some(ConnectOutcome::Connected));
    let connection = card.connection.expect("connected");
    assert_eq!(connection.tenant_id, CONTOSO_TENANT_ID);
    assert_eq!(
        connection.microsoft_account,
        "enrico.cattaneo@contoso.onmicrosoft.com"
    );
}

#[tokio::test]
async fn the_sign_in_legs_scopes_come_with_the_admin_consent_so_microsoft_shows_no_page() {
    let app = spawn_app().await;
    app.admin("Contoso", "ada@contoso.com").await;
    let microsoft = new_client();
    let consent = app.start_connect_as(&app.client).await;
    let page = microsoft
        .get(&consent)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    // The admin consent lists the OpenID Connect scopes among the Graph permissions.
    for scope in ["openid", "profile", "offline_access", "User.Read"] {
        assert!(
            page.contains(&format!("data-kind=\"delegated\">{scope} ")),
            "{scope} on the consent page"
        );
    }
    let callback = app
        .at_microsoft_in(&microsoft, &consent, CONTOSO_ADMIN_EMAIL, "accept")
        .await;
    assert!(callback.contains("openid"), "granted scope: {callback}");
    let sign_in = app.return_from_microsoft_as(&app.client, &callback).await;
    // Signed in at Microsoft and every scope consented: straight back with a code.
    let answer = microsoft.get(&sign_in).send().await.unwrap();
    assert!(answer.status().is_redirection(), "{}", answer.status());
    let back = answer.headers()["location"].to_str().unwrap().to_owned();
    assert!(back.contains("code="), "{back}");
    assert_eq!(
        app.return_from_microsoft_as(&app.client, &back).await,
        "/organization/integrations"
    );
    assert_eq!(app.card().await.outcome, Some(ConnectOutcome::Connected));
}

/// Both legs at Microsoft as Contoso's admin; returns where Traceless sends the browser.
async fn consent_and_sign_in(app: &TestApp) -> String {
    let microsoft = new_client();
    let consent = app.start_connect_as(&app.client).await;
    let callback = app
        .at_microsoft_in(&microsoft, &consent, CONTOSO_ADMIN_EMAIL, "accept")
        .await;
    let sign_in = app.return_from_microsoft_as(&app.client, &callback).await;
    let callback = app
        .at_microsoft_in(&microsoft, &sign_in, CONTOSO_ADMIN_EMAIL, "accept")
        .await;
    app.return_from_microsoft_as(&app.client, &callback).await
}

/// Stays on the waiting page until it moves on to the card, asking again as its "Check again
/// now" link does rather than waiting out its meta refresh, and checks every waiting page it
/// is shown; returns how many there were.
async fn wait_on_the_finishing_page(app: &TestApp) -> usize {
    let pages = std::cell::Cell::new(0);
    eventually("the waiting page moves on to the card", || async {
        let response = app.get(FINISHING).await;
        if response.status().is_redirection() {
            assert_eq!(response.headers()["location"], "/organization/integrations");
            return true;
        }
        assert_eq!(response.status(), StatusCode::OK);
        let html = response.text().await.unwrap();
        assert!(
            html.contains("Microsoft is finishing your consent"),
            "{html}"
        );
        assert!(html.contains("name=\"viewport\""));
        assert!(html.contains("role=\"status\""));
        let refresh: Option<u64> = html
            .split("http-equiv=\"refresh\" content=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .and_then(|s| s.parse().ok());
        assert!(
            refresh.is_some_and(|seconds| seconds >= 1),
            "a meta refresh"
        );
        pages.set(pages.get() + 1);
        assert!(pages.get() < 30, "the waiting page never moved on");
        false
    })
    .await;
    pages.get()
}

#[tokio::test]
async fn a_consent_still_propagating_is_waited_for_and_then_connects() {
    let app = spawn_app_with(&[("TRACELESS_MS_CONSENT_WAIT_SECS", "30")]).await;
    app.admin("Contoso", "ada@contoso.com").await;
    // For 2 s after consent, Microsoft issues app tokens without `roles`.
    app.emulator.set_consent_propagation(Propagation {
        service_principal_ms: 0,
        roles_ms: 2_000,
    });

    assert_eq!(consent_and_sign_in(&app).await, FINISHING);
    // While it waits, nothing is connected and the card offers no choice.
    assert_eq!(app.count("microsoft_integrations").await, 0);
    assert!(app.card().await.pending.is_none());

    assert!(wait_on_the_finishing_page(&app).await >= 1);
    let card = app.card().await;
    assert_eq!(card.outcome, Some(ConnectOutcome::Connected));
    assert_eq!(card.connection.unwrap().tenant_id, CONTOSO_TENANT_ID);
    assert_eq!(app.count("microsoft_consent_waits").await, 0);
    assert_eq!(app.count("microsoft_pending_connections").await, 0);
}

#[tokio::test]
async fn an_app_not_yet_known_to_the_tenant_is_waited_for_too() {
    let app = spawn_app_with(&[("TRACELESS_MS_CONSENT_WAIT_SECS", "30")]).await;
    app.admin("Contoso", "ada@contoso.com").await;
    // For 2 s after consent, client credentials fail with AADSTS700016.
    app.emulator.set_consent_propagation(Propagation {
        service_principal_ms: 2_000,
        roles_ms: 0,
    });
    assert_eq!(consent_and_sign_in(&app).await, FINISHING);
    assert!(wait_on_the_finishing_page(&app).await >= 1);
    assert_eq!(app.card().await.outcome, Some(ConnectOutcome::Connected));
}

#[tokio::test]
async fn a_consent_that_does_not_propagate_in_the_window_is_a_missing_grant() {
    let app = spawn_app_with(&[("TRACELESS_MS_CONSENT_WAIT_SECS", "2")]).await;
    app.admin("Contoso", "ada@contoso.com").await;
    app.emulator.set_consent_propagation(Propagation {
        service_principal_ms: 0,
        roles_ms: 600_000,
    });
    assert_eq!(consent_and_sign_in(&app).await, FINISHING);
    assert!(wait_on_the_finishing_page(&app).await >= 1);
    let card = app.card().await;
    let (code, detail) = failure(&card);
    assert_eq!(code, "grant_missing");
    assert!(
        detail.contains("VerifiableCredential.Create.PresentRequest"),
        "{detail}"
    );
    assert!(card.pending.is_none());
    assert_eq!(app.count("microsoft_integrations").await, 0);
    assert_eq!(app.count("microsoft_consent_waits").await, 0);
    assert_eq!(app.count("microsoft_pending_connections").await, 0);
    assert_eq!(
        app.audit_actions().await.last().unwrap(),
        "microsoft.connect_failed"
    );
}

#[tokio::test]
async fn the_tenant_field_sends_the_admin_consent_to_that_tenant() {
    let app = spawn_app().await;
    app.admin("Contoso", "ada@contoso.com").await;

    let by_domain = app
        .call("start_microsoft_connect", &[("tenant", " Contoso.com ")])
        .await;
    assert!(by_domain.status().is_success());
    let consent = by_domain.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        consent.contains("/login/contoso.com/v2.0/adminconsent?"),
        "{consent}"
    );
    // Microsoft shows only that tenant's accounts.
    let page = new_client()
        .get(&consent)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains(CONTOSO_ADMIN_EMAIL));
    assert!(!page.contains("fabrikam.com"));

    let by_id = app
        .call(
            "start_microsoft_connect",
            &[("tenant", &CONTOSO_TENANT_ID.to_uppercase())],
        )
        .await;
    let consent = by_id.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        consent.contains(&format!("/login/{CONTOSO_TENANT_ID}/v2.0/adminconsent?")),
        "{consent}"
    );
    // And the whole connect works through it.
    let callback = app
        .at_microsoft(&consent, CONTOSO_ADMIN_EMAIL, "accept")
        .await;
    let sign_in = app.return_from_microsoft_as(&app.client, &callback).await;
    let callback = app
        .at_microsoft(&sign_in, CONTOSO_ADMIN_EMAIL, "accept")
        .await;
    app.return_from_microsoft_as(&app.client, &callback).await;
    assert_eq!(app.card().await.outcome, Some(ConnectOutcome::Connected));
}

#[tokio::test]
async fn a_tenant_field_that_is_neither_a_domain_nor_an_id_is_refused_and_changes_nothing() {
    let app = spawn_app().await;
    app.admin("Contoso", "ada@contoso.com").await;
    let attempts = app.count("microsoft_connect_attempts").await;
    for bad in [
        "contoso",
        "ada@contoso.com",
        "https://contoso.com",
        "organizations",
    ] {
        let error = app_error(
            app.call("start_microsoft_connect", &[("tenant", bad)])
                .await,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
        assert!(
            matches!(&error, AppError::Invalid { field: Some(f), message } if f == "tenant" && message.contains("tenant ID")),
            "{bad}: {error:?}"
        );
    }
    assert_eq!(app.count("microsoft_connect_attempts").await, attempts);
}

#[tokio::test]
async fn an_admin_consent_granting_less_than_needed_stops_before_the_sign_in() {
    let app = spawn_app().await;
    app.admin("Contoso", "ada@contoso.com").await;
    let consent = app.start_connect_as(&app.client).await;
    let state = url::Url::parse(&consent)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "state")
        .map(|(_, v)| v.into_owned())
        .unwrap();
    // Microsoft's redirect names what was granted; here the admin API permission is missing.
    let mut back = url::Url::parse(&format!(
        "{}{}",
        app.address,
        app::ssr::MICROSOFT_CALLBACK_PATH
    ))
    .unwrap();
    back.query_pairs_mut()
        .append_pair("admin_consent", "True")
        .append_pair("tenant", CONTOSO_TENANT_ID)
        .append_pair(
            "scope",
            "https://graph.microsoft.com/openid https://graph.microsoft.com/User.Read",
        )
        .append_pair("state", &state);
    let landed = app
        .return_from_microsoft_as(&app.client, back.as_str())
        .await;
    assert_eq!(landed, "/organization/integrations", "no sign-in leg");
    let (code, detail) = failure(&app.card().await);
    assert_eq!(code, "consent_incomplete");
    assert!(detail.contains("full_access"), "{detail}");
}
