//! Issue 17, points 1 and 9: an authority listing without `linkedDomainsVerified` is not
//! "unverified"; and a connection is re-read from Microsoft (domains that left the tenant stop
//! being covered, admins are told; a failed refresh keeps what was known). Authority readiness
//! and credential types are re-read with the connecting administrator's sealed sign-in.

use app::model::RecipientPage;
use microsoft_emulator::{
    CONTOSO_ADMIN_EMAIL, CONTOSO_AUTHORITY_ID, CONTOSO_TENANT_ID, FaultSpec, LITWARE_ADMIN_EMAIL,
    PROSEWARE_ADMIN_EMAIL, PROSEWARE_EMPLOYEE_EMAIL, PROSEWARE_SECOND_DOMAIN, PROSEWARE_TENANT_ID,
};
use reqwest::StatusCode;

use crate::helpers::*;

const VALIDATE: &str =
    "/verifiedid/v1.0/verifiableCredentials/authorities/*/validateWellKnownDidConfiguration";

async fn proseware(app: &TestApp) {
    app.admin("Proseware Help Desk", "ada@proseware.com").await;
    app.connect_microsoft(PROSEWARE_ADMIN_EMAIL, "accept").await;
}

async fn stored_linked_domain(app: &TestApp) -> String {
    traceless::db::query("SELECT linked_domain FROM microsoft_integrations")
        .fetch_scalar_on(&app.pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_listing_without_linked_domains_verified_is_confirmed_by_validate_well_known_did_configuration()
 {
    let app = spawn_app().await;
    proseware(&app).await;

    let connection = app.card().await.connection.expect("connected");
    assert!(connection.active);
    assert!(!connection.linked_domain_unconfirmed);
    assert_eq!(stored_linked_domain(&app).await, "verified");
}

#[tokio::test]
async fn an_unconfirmed_linked_domain_is_active_and_every_request_asks_microsoft_to_check_it() {
    let app = spawn_app().await;
    // Microsoft cannot confirm it: the listing's silence stays "unknown", never "no".
    app.emulator.faults().add(FaultSpec::status(VALIDATE, 503));
    proseware(&app).await;

    let connection = app.card().await.connection.expect("connected");
    assert!(connection.active, "unknown is not unverified");
    assert!(connection.linked_domain_unconfirmed);
    assert_eq!(stored_linked_domain(&app).await, "unknown");
    let started = app.send_verification_to(PROSEWARE_EMPLOYEE_EMAIL).await;
    let page: RecipientPage = ok_json(
        app.call_as(
            &new_client(),
            "open_verification_link",
            &[("token", &token_of(&started.link))],
        )
        .await,
    )
    .await;
    let url = page.request.expect("a QR code").url;
    let id = url.rsplit('/').next().unwrap();
    let seen: serde_json::Value = reqwest::get(format!(
        "{}authenticator/api/requests/{id}",
        app.emulator.base_url()
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(seen["validateLinkedDomain"], true, "{seen}");
}

#[tokio::test]
async fn linked_domains_verified_false_is_not_active() {
    let app = spawn_app().await;
    app.admin("Litware Help Desk", "ada@litware.com").await;
    app.connect_microsoft(LITWARE_ADMIN_EMAIL, "accept").await;

    let connection = app.card().await.connection.expect("connected");
    assert!(!connection.active);
    assert_eq!(stored_linked_domain(&app).await, "not_verified");
}

async fn refresh(app: &TestApp) -> reqwest::Response {
    app.call("refresh_microsoft_connection", &[]).await
}

#[tokio::test]
async fn a_domain_that_left_the_tenant_stops_being_covered_and_the_admins_are_told() {
    let app = spawn_app().await;
    proseware(&app).await;
    let before = app.card().await.connection.unwrap();
    assert!(
        before
            .domains
            .contains(&PROSEWARE_SECOND_DOMAIN.to_string())
    );

    assert!(
        app.emulator
            .remove_domain(PROSEWARE_TENANT_ID, PROSEWARE_SECOND_DOMAIN)
    );
    ok_json::<()>(refresh(&app).await).await;

    let after = app.card().await.connection.unwrap();
    assert!(!after.domains.contains(&PROSEWARE_SECOND_DOMAIN.to_string()));
    assert!(after.domains.contains(&"proseware.com".to_string()));
    assert_eq!(after.removed_domains, vec![PROSEWARE_SECOND_DOMAIN]);
    assert!(after.domains_removed_at.is_some());
    assert!(after.refresh_problem.is_none());
    // New verifications to it are refused with the guide's words.
    let refused = app
        .call(
            "send_verification",
            &[
                ("email", &format!("someone@{PROSEWARE_SECOND_DOMAIN}")),
                ("ticket_reference", ""),
                ("note", ""),
            ],
        )
        .await;
    let error = app_error(refused, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert!(
        error
            .to_string()
            .contains("is not among the domains tied to the Microsoft tenant you connected"),
        "{error}"
    );
    // The organization's administrators get a notice through the outbox.
    let notices: Vec<String> = traceless::db::query(
        "SELECT recipient FROM outbox_messages WHERE kind = 'notice' AND subject LIKE '%proseware.net%'",
    )
    .fetch_scalars_on(&app.pool)
    .await
    .unwrap();
    assert_eq!(notices, vec!["ada@proseware.com"]);
    assert!(
        app.audit_actions()
            .await
            .contains(&"microsoft.refreshed".to_string())
    );
}

#[tokio::test]
async fn a_failed_refresh_keeps_the_last_known_state_and_says_when_it_was_last_confirmed() {
    let app = spawn_app().await;
    proseware(&app).await;
    let before = app.card().await.connection.unwrap();
    app.emulator
        .faults()
        .add(FaultSpec::status("/graph/*", 503));
    app.emulator
        .remove_domain(PROSEWARE_TENANT_ID, PROSEWARE_SECOND_DOMAIN);

    ok_json::<()>(refresh(&app).await).await;

    let after = app.card().await.connection.unwrap();
    assert_eq!(after.domains, before.domains, "the last known domains stay");
    assert!(after.active);
    assert!(after.refresh_problem.is_some());
    assert_eq!(after.last_confirmed_at, before.last_confirmed_at);
    assert!(after.last_confirmed_at.is_some());
    assert!(
        app.audit_actions()
            .await
            .contains(&"microsoft.refresh_failed".to_string())
    );
}

#[tokio::test]
async fn a_second_refresh_within_a_minute_is_refused() {
    let app = spawn_app().await;
    proseware(&app).await;
    ok_json::<()>(refresh(&app).await).await;
    let again = app_error(refresh(&app).await, StatusCode::TOO_MANY_REQUESTS).await;
    assert!(again.to_string().contains("a moment ago"), "{again}");
}

#[tokio::test]
async fn only_administrators_refresh_from_microsoft() {
    let app = spawn_app().await;
    proseware(&app).await;
    let link: app::model::InviteLink =
        ok_json(app.invite("Grace", "grace@proseware.com", "agent").await).await;
    let grace = new_client();
    app.call_as(
        &grace,
        "accept_invite",
        &[("token", &token_of(&link.url)), ("password", PASSWORD)],
    )
    .await;

    let refused = app
        .call_as(&grace, "refresh_microsoft_connection", &[])
        .await;
    app_error(refused, StatusCode::FORBIDDEN).await;
    assert!(
        !app.audit_actions()
            .await
            .iter()
            .any(|a| a.starts_with("microsoft.refresh"))
    );
}

#[tokio::test]
async fn the_daily_refresh_claims_each_due_connection_once_across_instances() {
    let app = spawn_app().await;
    proseware(&app).await;
    app.emulator
        .remove_domain(PROSEWARE_TENANT_ID, PROSEWARE_SECOND_DOMAIN);
    let microsoft = traceless::microsoft::MicrosoftClient::new(
        traceless::microsoft::MicrosoftEndpoints::new(
            &app.emulator.login_url(),
            &app.emulator.graph_url(),
            &app.emulator.verified_id_url(),
        )
        .unwrap(),
        traceless::microsoft::ClientCredentials::new(
            microsoft_emulator::DEV_CLIENT_ID,
            microsoft_emulator::DEV_CLIENT_SECRET,
        ),
    )
    .unwrap();
    let page: url::Url = format!("{}/organization/integrations", app.address)
        .parse()
        .unwrap();
    let due = |pool: traceless::db::Pool| {
        let (microsoft, page) = (microsoft.clone(), page.clone());
        async move {
            traceless::integrations::refresh::refresh_due(&pool, &microsoft, &page)
                .await
                .unwrap()
        }
    };
    // Not due yet: connected a moment ago.
    assert_eq!(due(app.pool.clone()).await, 0);
    traceless::db::query("UPDATE microsoft_integrations SET next_refresh_at = $1")
        .bind(time::OffsetDateTime::now_utc() - time::Duration::hours(1))
        .execute_on(&app.pool)
        .await
        .unwrap();

    let (a, b) = tokio::join!(due(app.pool.clone()), due(app.pool.clone()));

    assert_eq!(a + b, 1, "one instance refreshed it");
    let after = app.card().await.connection.unwrap();
    assert_eq!(after.removed_domains, vec![PROSEWARE_SECOND_DOMAIN]);
    assert_eq!(
        due(app.pool.clone()).await,
        0,
        "the next one is a day later"
    );
}

// ------------------------------------------------------------------------------------------
// The authority and its credential types, re-read with the connecting administrator's kept
// (sealed) sign-in.

/// 32 bytes (0, 1, …, 31) in base64: the tests' `TRACELESS_TOKEN_KEY`.
const TOKEN_KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

/// Contoso connected by Adele, with a token key: her sign-in is kept.
async fn contoso_keeping_a_sign_in() -> TestApp {
    let app = spawn_app_with(&[("TRACELESS_TOKEN_KEY", TOKEN_KEY)]).await;
    app.admin("Contoso Help Desk", "ada@contoso.com").await;
    app.connect_microsoft(CONTOSO_ADMIN_EMAIL, "accept").await;
    app
}

fn token_key() -> traceless::microsoft::TokenKey {
    traceless::microsoft::TokenKey::from_base64(TOKEN_KEY).unwrap()
}

/// The daily job's client: the app's settings, another process's object (same key).
fn daily_client(app: &TestApp) -> traceless::microsoft::MicrosoftClient {
    traceless::microsoft::MicrosoftClient::new(
        traceless::microsoft::MicrosoftEndpoints::new(
            &app.emulator.login_url(),
            &app.emulator.graph_url(),
            &app.emulator.verified_id_url(),
        )
        .unwrap(),
        traceless::microsoft::ClientCredentials::new(
            microsoft_emulator::DEV_CLIENT_ID,
            microsoft_emulator::DEV_CLIENT_SECRET,
        ),
    )
    .unwrap()
    .with_token_key(Some(token_key()))
}

fn visitor_pass() -> microsoft_emulator::Contract {
    microsoft_emulator::Contract {
        id: "CoNtOsOvIsItOrPaSs2026aBcDeF".into(),
        name: "Contoso visitor pass".into(),
        vc_types: vec!["ContosoVisitorPass".into()],
        claims: vec!["displayName".into(), "mail".into()],
        attestation: Default::default(),
        photo_claim: None,
    }
}

async fn kept_tokens(app: &TestApp) -> i64 {
    app.count("microsoft_admin_tokens").await
}

#[tokio::test]
async fn refresh_from_microsoft_re_reads_the_authority_and_its_credential_types() {
    let app = contoso_keeping_a_sign_in().await;
    let before = app.card().await.connection.unwrap();
    assert!(before.active && before.linked_domain_verified);
    assert!(before.authority_reread_daily);
    assert_eq!(before.credential_types, vec!["VerifiedEmployee"]);

    // In Entra, the linked domain breaks and a new credential type is published.
    assert!(app.emulator.set_linked_domain_verified(
        CONTOSO_TENANT_ID,
        CONTOSO_AUTHORITY_ID,
        false
    ));
    assert!(
        app.emulator
            .add_contract(CONTOSO_TENANT_ID, CONTOSO_AUTHORITY_ID, visitor_pass())
    );
    ok_json::<()>(refresh(&app).await).await;

    let after = app.card().await.connection.unwrap();
    assert!(!after.linked_domain_verified);
    assert!(!after.active, "Microsoft would refuse every presentation");
    assert_eq!(
        after.credential_types,
        vec!["VerifiedEmployee", "ContosoVisitorPass"]
    );
    assert!(
        after.refresh_problem.is_none(),
        "{:?}",
        after.refresh_problem
    );
    assert!(!after.authority_sign_in_needed);
    assert_eq!(stored_linked_domain(&app).await, "not_verified");
    assert_eq!(kept_tokens(&app).await, 1, "the rotated sign-in is kept");
}

#[tokio::test]
async fn the_daily_refresh_re_reads_the_authority_with_the_kept_sign_in() {
    let app = contoso_keeping_a_sign_in().await;
    app.emulator
        .set_linked_domain_verified(CONTOSO_TENANT_ID, CONTOSO_AUTHORITY_ID, false);
    app.emulator
        .add_contract(CONTOSO_TENANT_ID, CONTOSO_AUTHORITY_ID, visitor_pass());
    traceless::db::query("UPDATE microsoft_integrations SET next_refresh_at = $1")
        .bind(time::OffsetDateTime::now_utc() - time::Duration::hours(1))
        .execute_on(&app.pool)
        .await
        .unwrap();
    let page: url::Url = format!("{}/organization/integrations", app.address)
        .parse()
        .unwrap();

    let done = traceless::integrations::refresh::refresh_due(&app.pool, &daily_client(&app), &page)
        .await
        .unwrap();

    assert_eq!(done, 1);
    let after = app.card().await.connection.unwrap();
    assert!(!after.active && !after.linked_domain_verified);
    assert!(
        after
            .credential_types
            .contains(&"ContosoVisitorPass".to_string())
    );
    // Twice in a row: the second mint uses the refresh token the first one received.
    traceless::db::query("UPDATE microsoft_integrations SET next_refresh_at = $1")
        .bind(time::OffsetDateTime::now_utc() - time::Duration::hours(1))
        .execute_on(&app.pool)
        .await
        .unwrap();
    traceless::integrations::refresh::refresh_due(&app.pool, &daily_client(&app), &page)
        .await
        .unwrap();
    let again = app.card().await.connection.unwrap();
    assert!(!again.authority_sign_in_needed && again.refresh_problem.is_none());
}

#[tokio::test]
async fn a_revoked_sign_in_keeps_the_last_state_and_the_card_asks_to_sign_in_again() {
    let app = contoso_keeping_a_sign_in().await;
    let before = app.card().await.connection.unwrap();
    // Adele's sessions are revoked through Graph (an app holding User.RevokeSessions.All),
    // and meanwhile the linked domain breaks.
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let graph_token = app.emulator.sign_token(&serde_json::json!({
        "aud": "https://graph.microsoft.com", "iss": app.emulator.issuer(CONTOSO_TENANT_ID),
        "tid": CONTOSO_TENANT_ID, "iat": now, "nbf": now, "exp": now + 600,
        "idtyp": "app", "roles": ["User.RevokeSessions.All"],
    }));
    let adele = microsoft_emulator::Seed::demo()
        .tenants
        .iter()
        .flat_map(|t| t.users.iter())
        .find(|u| u.mail.as_deref() == Some(CONTOSO_ADMIN_EMAIL))
        .map(|u| u.upn.clone())
        .unwrap();
    let revoked = reqwest::Client::new()
        .post(format!(
            "{}/v1.0/users/{adele}/revokeSignInSessions",
            app.emulator.graph_url()
        ))
        .bearer_auth(graph_token)
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), StatusCode::OK);
    app.emulator
        .set_linked_domain_verified(CONTOSO_TENANT_ID, CONTOSO_AUTHORITY_ID, false);

    ok_json::<()>(refresh(&app).await).await;

    let after = app.card().await.connection.unwrap();
    assert!(after.authority_sign_in_needed);
    assert!(
        after.active && after.linked_domain_verified,
        "the last known state stays"
    );
    assert_eq!(after.authority_confirmed_at, before.authority_confirmed_at);
    assert!(!after.authority_reread_daily);
    assert_eq!(kept_tokens(&app).await, 0, "the dead sign-in is forgotten");
    assert!(after.refresh_problem.is_none(), "the domains were re-read");

    // "Sign in again": the sign-in leg with the account picker re-reads everything and keeps
    // a new sign-in.
    let response = app
        .call(
            "sign_in_microsoft_another_account",
            &[("tenant", CONTOSO_TENANT_ID)],
        )
        .await;
    let sign_in = response.headers()["location"].to_str().unwrap().to_owned();
    assert!(sign_in.contains("prompt=select_account"), "{sign_in}");
    let callback = app
        .at_microsoft(&sign_in, CONTOSO_ADMIN_EMAIL, "accept")
        .await;
    assert_eq!(
        app.return_from_microsoft_as(&app.client, &callback).await,
        "/organization/integrations"
    );
    let signed_in = app.card().await.connection.unwrap();
    assert!(!signed_in.authority_sign_in_needed && signed_in.authority_reread_daily);
    assert!(!signed_in.linked_domain_verified, "re-read at the sign-in");
    assert_eq!(kept_tokens(&app).await, 1);
}

#[tokio::test]
async fn an_admin_who_lost_the_role_keeps_the_sign_in_and_the_card_names_the_roles() {
    let app = contoso_keeping_a_sign_in().await;
    // A role change does not revoke refresh tokens; the admin API refuses the call.
    assert!(
        app.emulator
            .set_user_roles(CONTOSO_TENANT_ID, CONTOSO_ADMIN_EMAIL, &[])
    );

    ok_json::<()>(refresh(&app).await).await;

    let after = app.card().await.connection.unwrap();
    let problem = after
        .refresh_problem
        .expect("the authority was not re-read");
    assert!(
        problem
            .contains("Global Administrator, Authentication Policy Administrator or Global Reader"),
        "{problem}"
    );
    assert!(after.active, "the last known state stays");
    assert!(!after.authority_sign_in_needed);
    assert_eq!(
        kept_tokens(&app).await,
        1,
        "the sign-in still works at Microsoft"
    );
}

#[tokio::test]
async fn the_kept_sign_in_is_sealed_for_its_organization_and_tenant() {
    let app = contoso_keeping_a_sign_in().await;
    let row = traceless::db::query(
        "SELECT organization_id, tenant_id, sealed_token FROM microsoft_admin_tokens",
    )
    .fetch_one_on(&app.pool)
    .await
    .unwrap();
    let organization: uuid::Uuid = row.try_get("organization_id").unwrap();
    let tenant: String = row.try_get("tenant_id").unwrap();
    let sealed: String = row.try_get("sealed_token").unwrap();
    assert_eq!(tenant, CONTOSO_TENANT_ID);
    let token = token_key()
        .open(&sealed, &organization.to_string(), &tenant)
        .expect("it opens for its own organization");
    assert!(token.expose().len() >= 32);
    assert!(
        !sealed.contains(token.expose()),
        "not readable as plain text"
    );
    // Microsoft knows it: it mints an admin-API token.
    daily_client(&app)
        .admin_api_token(
            &token,
            &traceless::microsoft::TenantId::parse(&tenant).unwrap(),
        )
        .await
        .expect("a live refresh token");

    // The same row under another organization does not open, there or anywhere.
    app.admin("Fabrikam Help Desk", "ada@fabrikam.com").await;
    let other: uuid::Uuid = traceless::db::query("SELECT id FROM organizations WHERE id <> $1")
        .bind(organization)
        .fetch_scalar_on(&app.pool)
        .await
        .unwrap();
    traceless::db::query("UPDATE microsoft_admin_tokens SET organization_id = $1")
        .bind(other)
        .execute_on(&app.pool)
        .await
        .unwrap();
    assert!(
        token_key()
            .open(&sealed, &other.to_string(), &tenant)
            .is_none()
    );
}

#[tokio::test]
async fn a_sign_in_sealed_under_another_key_asks_for_a_sign_in() {
    // As after a restart with the emulator's per-process key.
    let app = contoso_keeping_a_sign_in().await;
    traceless::db::query("UPDATE microsoft_integrations SET next_refresh_at = $1")
        .bind(time::OffsetDateTime::now_utc() - time::Duration::hours(1))
        .execute_on(&app.pool)
        .await
        .unwrap();
    let other_key =
        daily_client(&app).with_token_key(Some(traceless::microsoft::TokenKey::random()));
    let page: url::Url = format!("{}/organization/integrations", app.address)
        .parse()
        .unwrap();

    traceless::integrations::refresh::refresh_due(&app.pool, &other_key, &page)
        .await
        .unwrap();

    let card = app.card().await.connection.unwrap();
    assert!(card.authority_sign_in_needed && !card.authority_reread_daily);
    assert!(card.active, "the last known state stays");
    assert_eq!(kept_tokens(&app).await, 0);
}

#[tokio::test]
async fn removing_the_integration_forgets_the_kept_sign_in() {
    let app = contoso_keeping_a_sign_in().await;
    assert_eq!(kept_tokens(&app).await, 1);
    ok_json::<()>(app.call("remove_microsoft_integration", &[]).await).await;
    assert_eq!(kept_tokens(&app).await, 0);
}

#[tokio::test]
async fn without_a_token_key_no_sign_in_is_kept_and_the_card_says_when_the_authority_is_re_read() {
    let app = spawn_app().await;
    app.admin("Contoso Help Desk", "ada@contoso.com").await;
    app.connect_microsoft(CONTOSO_ADMIN_EMAIL, "accept").await;
    assert_eq!(kept_tokens(&app).await, 0);
    ok_json::<()>(refresh(&app).await).await;
    let card = app.card().await.connection.unwrap();
    assert!(!card.authority_reread_daily && !card.authority_sign_in_needed);
    assert!(card.refresh_problem.is_none());
}
