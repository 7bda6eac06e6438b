//! Connecting a Microsoft tenant (over real HTTP with the emulator), and removing it.

use app::error::AppError;
use app::model::{ConnectOutcome, MicrosoftCard};
use microsoft_emulator::{
    ADVENTURE_WORKS_ADMIN_EMAIL, CONTOSO_ADMIN_EMAIL, CONTOSO_EMPLOYEE_EMAIL, CONTOSO_TENANT_ID,
    DEV_CLIENT_ID, FABRIKAM_TENANT_ID, FaultSpec, LITWARE_ADMIN_EMAIL, LITWARE_DID,
    LITWARE_EMPLOYEE_EMAIL, NORTHWIND_ADMIN_EMAIL, TAILSPIN_ADMIN_EMAIL, TAILSPIN_AUTHORITY_ID,
    TAILSPIN_MEMBER_TYPE, WOODGROVE_ADMIN_EMAIL, WOODGROVE_AUTHORITY_ID, WOODGROVE_DID,
    WOODGROVE_LEGACY_DID,
};
use reqwest::StatusCode;

use crate::helpers::*;

fn failure_code(card: &MicrosoftCard) -> String {
    match &card.outcome {
        Some(ConnectOutcome::Failed { code, .. }) => code.clone(),
        other => panic!("expected a failure, got {other:?}"),
    }
}

fn failure_detail(card: &MicrosoftCard) -> String {
    match &card.outcome {
        Some(ConnectOutcome::Failed { detail, .. }) => detail.clone(),
        other => panic!("expected a failure, got {other:?}"),
    }
}

#[tokio::test]
async fn an_admin_connects_contoso_and_sees_its_domains() {
    let app = spawn_app().await;
    app.admin("Contoso Help Desk", "ada@contoso.com").await;

    app.connect_microsoft(CONTOSO_ADMIN_EMAIL, "accept").await;

    let card = app.card().await;
    assert_eq!(card.outcome, Some(ConnectOutcome::Connected));
    let connection = card.connection.expect("connected");
    assert_eq!(connection.tenant_name, "Contoso");
    assert_eq!(connection.tenant_id, CONTOSO_TENANT_ID);
    assert_eq!(
        connection.domains,
        vec!["contoso.com", "contoso.onmicrosoft.com"]
    );
    assert_eq!(connection.authority_did, "did:web:verifiedid.contoso.com");
    assert_eq!(connection.credential_type, "VerifiedEmployee");
    assert_eq!(connection.connected_by, "Ada Admin");
    // (Before them: the admin's sign-up, confirmation and sign-in.)
    let connecting: Vec<String> = app
        .audit_actions()
        .await
        .into_iter()
        .filter(|a| a.starts_with("microsoft."))
        .collect();
    assert_eq!(
        connecting,
        vec![
            "microsoft.connect_started",
            "microsoft.consent_granted",
            "microsoft.connected"
        ]
    );
    // The outcome is shown once.
    assert_eq!(app.card().await.outcome, None);
}

#[tokio::test]
async fn cancel_at_microsoft_stores_nothing_and_says_so() {
    let app = spawn_app().await;
    app.admin("Contoso", "ada@contoso.com").await;

    app.connect_microsoft(CONTOSO_ADMIN_EMAIL, "cancel").await;

    // The v2 admin consent endpoint reports Cancel as a declined consent (AADSTS65004).
    let card = app.card().await;
    assert_eq!(failure_code(&card), "consent_declined");
    assert!(failure_detail(&card).contains("AADSTS65004"));
    assert!(card.connection.is_none());
    assert_eq!(app.count("microsoft_integrations").await, 0);
    assert_eq!(
        app.audit_actions().await.last().unwrap(),
        "microsoft.connect_failed"
    );
}

#[tokio::test]
async fn declined_consent_and_a_non_admin_microsoft_account_are_consent_failures() {
    let app = spawn_app().await;
    app.admin("Contoso", "ada@contoso.com").await;

    app.connect_microsoft(CONTOSO_ADMIN_EMAIL, "decline").await;
    let card = app.card().await;
    assert_eq!(failure_code(&card), "consent_declined");
    assert!(failure_detail(&card).contains("AADSTS65004"));

    app.connect_microsoft(CONTOSO_EMPLOYEE_EMAIL, "accept")
        .await;
    let card = app.card().await;
    assert_eq!(failure_code(&card), "needs_administrator");
    assert!(failure_detail(&card).contains("AADSTS90094"));
    assert!(failure_detail(&card).contains("Global Administrator"));
    assert_eq!(app.count("microsoft_integrations").await, 0);
}

#[tokio::test]
async fn a_replayed_return_is_refused_and_changes_nothing() {
    let app = spawn_app().await;
    app.admin("Contoso", "ada@contoso.com").await;
    let callback = app.connect_microsoft(CONTOSO_ADMIN_EMAIL, "accept").await;
    let before = app.card().await.connection;

    app.return_from_microsoft_as(&app.client, &callback).await;

    let card = app.card().await;
    assert_eq!(failure_code(&card), "state_reused");
    assert_eq!(card.connection, before);
    assert_eq!(
        app.audit_actions().await.last().unwrap(),
        "microsoft.connect_failed"
    );
}

#[tokio::test]
async fn a_return_in_another_session_is_refused() {
    let app = spawn_app().await;
    app.admin("Contoso", "ada@contoso.com").await;
    let authorize = app.start_connect_as(&app.client).await;
    let callback = app
        .at_microsoft(&authorize, CONTOSO_ADMIN_EMAIL, "accept")
        .await;
    // The same admin, signed in on another browser, receives the return.
    let other_browser = new_client();
    app.sign_in_as(&other_browser, "ada@contoso.com", PASSWORD)
        .await;

    app.return_from_microsoft_as(&other_browser, &callback)
        .await;

    assert_eq!(
        failure_code(&app.card_as(&other_browser).await),
        "state_other_session"
    );
    assert_eq!(app.count("microsoft_integrations").await, 0);
    // And the attempt is spent: the original browser cannot use it afterwards either.
    app.return_from_microsoft_as(&app.client, &callback).await;
    assert_eq!(failure_code(&app.card().await), "state_reused");
}

#[tokio::test]
async fn an_unknown_or_missing_state_is_refused() {
    let app = spawn_app().await;
    app.admin("Contoso", "ada@contoso.com").await;
    for query in ["code=abc&state=made-up", "code=abc", ""] {
        let url = format!(
            "{}{}?{query}",
            app.address,
            app::ssr::MICROSOFT_CALLBACK_PATH
        );
        app.return_from_microsoft_as(&app.client, &url).await;
        assert_eq!(failure_code(&app.card().await), "state_unknown", "{query}");
    }
}

#[tokio::test]
async fn an_expired_attempt_is_refused() {
    let app = spawn_app().await;
    app.admin("Contoso", "ada@contoso.com").await;
    let authorize = app.start_connect_as(&app.client).await;
    let callback = app
        .at_microsoft(&authorize, CONTOSO_ADMIN_EMAIL, "accept")
        .await;
    traceless::db::query(
        "UPDATE microsoft_connect_attempts SET expires_at = '2020-01-01T00:00:00Z'",
    )
    .execute_on(&app.pool)
    .await
    .unwrap();

    app.return_from_microsoft_as(&app.client, &callback).await;

    assert_eq!(failure_code(&app.card().await), "state_expired");
    assert_eq!(app.count("microsoft_integrations").await, 0);
}

#[tokio::test]
async fn the_tenant_comes_from_the_id_token_not_the_query_string() {
    let app = spawn_app().await;
    app.admin("Contoso", "ada@contoso.com").await;
    let callback = app.sign_in_callback(CONTOSO_ADMIN_EMAIL).await;

    let spoofed = format!("{callback}&tenant={FABRIKAM_TENANT_ID}&tid={FABRIKAM_TENANT_ID}");
    app.return_from_microsoft_as(&app.client, &spoofed).await;

    assert_eq!(
        app.card().await.connection.unwrap().tenant_id,
        CONTOSO_TENANT_ID
    );
}

#[tokio::test]
async fn graph_unavailable_stores_nothing_and_names_graph() {
    let app = spawn_app().await;
    app.admin("Contoso", "ada@contoso.com").await;
    app.emulator
        .faults()
        .add(FaultSpec::status("/graph/*", 503));

    app.connect_microsoft(CONTOSO_ADMIN_EMAIL, "accept").await;

    let card = app.card().await;
    assert_eq!(failure_code(&card), "step_failed");
    assert!(
        failure_detail(&card).contains("Microsoft Graph"),
        "{}",
        failure_detail(&card)
    );
    assert_eq!(app.count("microsoft_integrations").await, 0);
    assert_eq!(app.count("microsoft_domains").await, 0);
}

#[tokio::test]
async fn a_slow_verified_id_admin_api_times_out_and_stores_nothing() {
    let app = spawn_app().await;
    app.admin("Contoso", "ada@contoso.com").await;
    app.emulator
        .faults()
        .add(FaultSpec::latency("/verifiedid/*", 3_000));

    app.connect_microsoft(CONTOSO_ADMIN_EMAIL, "accept").await;

    let card = app.card().await;
    assert_eq!(failure_code(&card), "step_failed");
    assert!(
        failure_detail(&card).contains("did not answer in time"),
        "{}",
        failure_detail(&card)
    );
    assert_eq!(app.count("microsoft_integrations").await, 0);
}

#[tokio::test]
async fn a_tenant_without_verified_id_is_explained() {
    let app = spawn_app().await;
    app.admin("Northwind", "nora@northwindtraders.com").await;

    app.connect_microsoft(NORTHWIND_ADMIN_EMAIL, "accept").await;

    let card = app.card().await;
    assert_eq!(failure_code(&card), "verified_id_not_set_up");
    assert!(failure_detail(&card).contains("Verified ID is not set up"));
    assert_eq!(app.count("microsoft_integrations").await, 0);
}

#[tokio::test]
async fn a_tenant_connected_to_another_organization_is_refused() {
    let app = spawn_app().await;
    app.admin("Contoso", "ada@contoso.com").await;
    app.connect_microsoft(CONTOSO_ADMIN_EMAIL, "accept").await;
    let original = app.card().await.connection;

    let other = new_client();
    app.call_as(
        &other,
        "sign_up",
        &[
            ("organization", "Impostor"),
            ("name", "Ian"),
            ("email", "ian@impostor.example"),
            ("password", PASSWORD),
        ],
    )
    .await;
    app.connect_microsoft_as(&other, CONTOSO_ADMIN_EMAIL, "accept")
        .await;

    let card = app.card_as(&other).await;
    assert_eq!(failure_code(&card), "tenant_linked_elsewhere");
    assert!(card.connection.is_none());
    assert_eq!(app.card().await.connection, original);
}

#[tokio::test]
async fn an_agent_sees_the_card_but_cannot_connect_or_remove() {
    let app = spawn_app().await;
    app.admin("Contoso", "ada@contoso.com").await;
    app.connect_microsoft(CONTOSO_ADMIN_EMAIL, "accept").await;
    let link: app::model::InviteLink =
        ok_json(app.invite("Grace", "grace@contoso.com", "agent").await).await;
    let grace = new_client();
    app.call_as(
        &grace,
        "accept_invite",
        &[("token", &token_of(&link.url)), ("password", PASSWORD)],
    )
    .await;
    let attempts = app.count("microsoft_connect_attempts").await;

    let card = app.card_as(&grace).await;
    assert!(!card.can_manage);
    assert!(card.connection.is_some());
    for name in ["start_microsoft_connect", "remove_microsoft_integration"] {
        let error = app_error(app.call_as(&grace, name, &[]).await, StatusCode::FORBIDDEN).await;
        assert!(matches!(error, AppError::Forbidden(_)), "{name}");
    }
    assert_eq!(app.count("microsoft_connect_attempts").await, attempts);
    assert_eq!(app.count("microsoft_integrations").await, 1);
}

#[tokio::test]
async fn an_admin_removes_the_integration_and_the_audit_log_says_who() {
    let app = spawn_app().await;
    app.admin("Contoso", "ada@contoso.com").await;
    app.connect_microsoft(CONTOSO_ADMIN_EMAIL, "accept").await;

    ok_json::<()>(app.call("remove_microsoft_integration", &[]).await).await;

    assert!(app.card().await.connection.is_none());
    assert_eq!(app.count("microsoft_domains").await, 0);
    assert_eq!(
        app.audit_actions().await.last().unwrap(),
        "microsoft.removed"
    );
    let log: Vec<app::model::AuditEntry> = ok_json(app.call("audit_log", &[]).await).await;
    assert_eq!(log[0].action, "Removed Microsoft Verified ID");
    assert!(log[0].actor.contains("ada@contoso.com"));

    let again = app_error(
        app.call("remove_microsoft_integration", &[]).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(again.to_string().contains("not connected"));
}

#[tokio::test]
async fn reconnecting_refreshes_the_integration() {
    let app = spawn_app().await;
    app.admin("Contoso", "ada@contoso.com").await;
    app.connect_microsoft(CONTOSO_ADMIN_EMAIL, "accept").await;
    let first = app.card().await.connection.unwrap();

    app.connect_microsoft(CONTOSO_ADMIN_EMAIL, "accept").await;

    let second = app.card().await.connection.unwrap();
    assert_eq!(second.tenant_id, first.tenant_id);
    assert_eq!(app.count("microsoft_integrations").await, 1);
    assert_eq!(app.count("microsoft_domains").await, 2);
}

fn sign_in_redirect_state(url: &str) -> String {
    url::Url::parse(url)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "state")
        .map(|(_, v)| v.into_owned())
        .expect("a state")
}

#[tokio::test]
async fn the_consent_leg_asks_for_static_permissions_and_the_sign_in_leg_for_the_consenting_tenant()
{
    let app = spawn_app().await;
    app.admin("Contoso", "ada@contoso.com").await;
    let consent = app.start_connect_as(&app.client).await;
    assert!(
        consent.contains("/organizations/v2.0/adminconsent?")
            && consent.contains("scope=https%3A%2F%2Fgraph.microsoft.com%2F.default"),
        "{consent}"
    );
    let callback = app
        .at_microsoft(&consent, CONTOSO_ADMIN_EMAIL, "accept")
        .await;
    assert!(callback.contains("admin_consent=True"), "{callback}");
    let sign_in = app.return_from_microsoft_as(&app.client, &callback).await;
    assert!(
        sign_in.contains(&format!("/{CONTOSO_TENANT_ID}/oauth2/v2.0/authorize?")),
        "{sign_in}"
    );
    assert!(!sign_in.contains("prompt="), "no second consent: {sign_in}");
    assert_ne!(
        sign_in_redirect_state(&sign_in),
        sign_in_redirect_state(&consent),
        "each leg has its own state"
    );
    assert_eq!(app.count("microsoft_integrations").await, 0);
}

/// Both legs at Microsoft, but between them the tenant's grants shrink to the delegated
/// `scopes` (an admin removed the rest in the Entra portal); returns the card.
async fn connect_with_grants_shrunk_to(app: &TestApp, scopes: &[&str]) -> MicrosoftCard {
    app.admin("Contoso", "ada@contoso.com").await;
    let microsoft = new_client();
    let consent = app.start_connect_as(&app.client).await;
    let callback = app
        .at_microsoft_in(&microsoft, &consent, CONTOSO_ADMIN_EMAIL, "accept")
        .await;
    let sign_in = app.return_from_microsoft_as(&app.client, &callback).await;
    app.emulator
        .revoke_admin_consent(CONTOSO_TENANT_ID, DEV_CLIENT_ID);
    assert!(
        app.emulator
            .grant_delegated_consent(CONTOSO_TENANT_ID, DEV_CLIENT_ID, scopes)
    );
    let callback = app
        .at_microsoft_in(&microsoft, &sign_in, CONTOSO_ADMIN_EMAIL, "accept")
        .await;
    app.return_from_microsoft_as(&app.client, &callback).await;
    app.card().await
}

#[tokio::test]
async fn a_missing_app_role_ends_the_connect_with_its_permission_and_stores_nothing() {
    // No waiting for consent to propagate: the role is simply not granted.
    let app = spawn_app_with(&[("TRACELESS_MS_CONSENT_WAIT_SECS", "0")]).await;
    // The application permission's grant is gone; the delegated ones stay.
    let card = connect_with_grants_shrunk_to(
        &app,
        &[
            "https://graph.microsoft.com/User.Read",
            "6a8b4b39-c021-437c-b060-5a14a3fd65f3/full_access",
        ],
    )
    .await;
    assert_eq!(failure_code(&card), "grant_missing");
    assert!(
        failure_detail(&card).contains("VerifiableCredential.Create.PresentRequest"),
        "{}",
        failure_detail(&card)
    );
    assert_eq!(app.count("microsoft_integrations").await, 0);
    assert_eq!(app.count("microsoft_pending_connections").await, 0);
}

#[tokio::test]
async fn a_missing_admin_api_consent_ends_the_connect_with_its_permission() {
    let app = spawn_app().await;
    let card =
        connect_with_grants_shrunk_to(&app, &["https://graph.microsoft.com/User.Read"]).await;
    assert_eq!(failure_code(&card), "grant_missing");
    assert!(
        failure_detail(&card).contains("full_access"),
        "{}",
        failure_detail(&card)
    );
    assert_eq!(app.count("microsoft_integrations").await, 0);
}

#[tokio::test]
async fn a_tenant_with_two_ready_authorities_asks_the_admin_to_pick_and_stores_the_pick() {
    let app = spawn_app().await;
    app.admin("Woodgrove", "wendy@woodgrovebank.com").await;

    app.connect_microsoft(WOODGROVE_ADMIN_EMAIL, "accept").await;

    let card = app.card().await;
    assert_eq!(card.outcome, Some(ConnectOutcome::ChoiceNeeded));
    assert!(card.connection.is_none());
    let pending = card.pending.expect("a choice");
    let dids: Vec<&str> = pending
        .options
        .iter()
        .map(|o| o.authority_did.as_str())
        .collect();
    assert!(
        dids.contains(&WOODGROVE_DID) && dids.contains(&WOODGROVE_LEGACY_DID),
        "{dids:?}"
    );
    assert_eq!(app.count("microsoft_integrations").await, 0);

    // A pick that is not on offer changes nothing.
    let refused = app
        .call(
            "choose_microsoft_connection",
            &[("option", "made-up VerifiedEmployee")],
        )
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(app.count("microsoft_integrations").await, 0);

    let chosen = format!("{WOODGROVE_AUTHORITY_ID} VerifiedEmployee");
    let response = app
        .call(
            "choose_microsoft_connection",
            &[("option", chosen.as_str())],
        )
        .await;
    assert!(response.status().is_success(), "{}", response.status());
    let card = app.card().await;
    assert!(card.pending.is_none());
    let connection = card.connection.expect("connected");
    assert_eq!(connection.authority_did, WOODGROVE_DID);
    assert_eq!(connection.email_claim, "mail");
    assert!(connection.active);
    assert_eq!(app.count("microsoft_pending_connections").await, 0);
}

#[tokio::test]
async fn an_unverified_linked_domain_connects_but_is_not_active_and_sends_nothing() {
    let app = spawn_app().await;
    app.admin("Litware", "lena@litware.com").await;

    app.connect_microsoft(LITWARE_ADMIN_EMAIL, "accept").await;

    let connection = app.card().await.connection.expect("connected");
    assert_eq!(connection.authority_did, LITWARE_DID);
    assert!(!connection.active);
    let refused = app
        .call(
            "send_verification",
            &[
                ("email", LITWARE_EMPLOYEE_EMAIL),
                ("ticket_reference", ""),
                ("note", ""),
            ],
        )
        .await;
    let error = app_error(refused, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert!(error.to_string().contains("linked domain"), "{error}");
    assert_eq!(app.count("verifications").await, 0);
}

#[tokio::test]
async fn a_tenant_without_contracts_is_refused_with_its_reason() {
    let app = spawn_app().await;
    app.admin("Adventure Works", "ava@adventure-works.com")
        .await;

    app.connect_microsoft(ADVENTURE_WORKS_ADMIN_EMAIL, "accept")
        .await;

    let card = app.card().await;
    assert_eq!(failure_code(&card), "no_contracts");
    assert!(failure_detail(&card).contains("no credential contract"));
    assert_eq!(app.count("microsoft_integrations").await, 0);
}

#[tokio::test]
async fn a_custom_credential_type_uses_its_email_claim_which_the_admin_can_change() {
    let app = spawn_app().await;
    app.admin("Tailspin", "tara@tailspintoys.com").await;
    app.connect_microsoft(TAILSPIN_ADMIN_EMAIL, "accept").await;
    let pending = app.card().await.pending.expect("two types to pick from");
    let member = pending
        .options
        .iter()
        .find(|o| o.credential_type == TAILSPIN_MEMBER_TYPE)
        .expect("the custom type is offered");
    assert_eq!(member.default_email_claim.as_deref(), Some("email"));

    let chosen = format!("{TAILSPIN_AUTHORITY_ID} {TAILSPIN_MEMBER_TYPE}");
    let response = app
        .call(
            "choose_microsoft_connection",
            &[("option", chosen.as_str())],
        )
        .await;
    assert!(response.status().is_success(), "{}", response.status());
    let connection = app.card().await.connection.expect("connected");
    assert_eq!(connection.credential_type, TAILSPIN_MEMBER_TYPE);
    assert_eq!(connection.email_claim, "email");

    let refused = app
        .call("set_microsoft_email_claim", &[("email_claim", "shoeSize")])
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let changed = app
        .call(
            "set_microsoft_email_claim",
            &[("email_claim", "memberNumber")],
        )
        .await;
    assert!(changed.status().is_success());
    assert_eq!(
        app.card().await.connection.unwrap().email_claim,
        "memberNumber"
    );
    assert_eq!(
        app.audit_actions().await.last().unwrap(),
        "microsoft.email_claim_changed"
    );
}
