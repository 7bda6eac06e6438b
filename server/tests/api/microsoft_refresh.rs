//! Issue 17, points 1 and 9: an authority listing without `linkedDomainsVerified` is not
//! "unverified"; and a connection is re-read from Microsoft (domains that left the tenant stop
//! being covered, admins are told; a failed refresh keeps what was known).

use app::model::RecipientPage;
use microsoft_emulator::{
    FaultSpec, LITWARE_ADMIN_EMAIL, PROSEWARE_ADMIN_EMAIL, PROSEWARE_EMPLOYEE_EMAIL,
    PROSEWARE_SECOND_DOMAIN, PROSEWARE_TENANT_ID,
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
