//! Account recovery (issue 21), end to end over real HTTP: an admin enables it through the
//! recovery app registration's admin consent at the emulator, an agent sends a verification
//! with "then issue a Temporary Access Pass", the person verifies with Face Check and gets the
//! pass once on their own page; every refusal is recorded with its own reason.

use app::api::recovery::{PersonRecoveryView, RecoveryCard, RecoveryLine, ShownPass};
use app::model::{RecipientPage, StartedVerification, Team, VerificationDetail};
use microsoft_emulator::{
    CONTOSO_ADMIN_EMAIL, CONTOSO_APP_ADMIN_EMAIL, CONTOSO_EMPLOYEE_EMAIL, CONTOSO_EMPLOYEE2_EMAIL,
    CONTOSO_TENANT_ID, DEV_RECOVERY_CLIENT_ID, DEV_RECOVERY_CLIENT_SECRET, FaultSpec, TapPolicy,
    TapTargets, Variant,
};
use reqwest::StatusCode;
use serde_json::json;

use crate::help_desk_api::json_of;
use crate::helpers::*;

const MEGAN: &str = CONTOSO_EMPLOYEE_EMAIL;
/// Contoso's Global Administrator, who holds a credential too: a privileged account.
const ADELE: &str = CONTOSO_ADMIN_EMAIL;

/// The recovery registration configured, as an operator would.
const RECOVERY_APP: [(&str, &str); 2] = [
    ("TRACELESS_MS_RECOVERY_CLIENT_ID", DEV_RECOVERY_CLIENT_ID),
    (
        "TRACELESS_MS_RECOVERY_CLIENT_SECRET",
        DEV_RECOVERY_CLIENT_SECRET,
    ),
];

/// Contoso connected, Face Check on at 70, the recovery registration configured and its
/// redirect URI registered at the emulator.
async fn contoso_with_face_check() -> TestApp {
    let app = spawn_app_with(&RECOVERY_APP).await;
    app.emulator.register_redirect_uri(
        DEV_RECOVERY_CLIENT_ID,
        &format!(
            "{}{}",
            app.address,
            app::ssr::RECOVERY_CONSENT_CALLBACK_PATH
        ),
    );
    app.admin("Contoso Help Desk", "ada@contoso.com").await;
    app.connect_microsoft(CONTOSO_ADMIN_EMAIL, "accept").await;
    face_check(&app, "70").await;
    app
}

async fn face_check(app: &TestApp, threshold: &str) {
    ok_json::<()>(
        app.call(
            "update_verification_settings",
            &[
                ("link_lifetime_hours", "48"),
                ("face_check_threshold", threshold),
            ],
        )
        .await,
    )
    .await;
}

/// Presses "Enable account recovery" and consents at Microsoft as `mail`, pressing `action`;
/// returns where Traceless sends the admin back.
async fn enable_as(app: &TestApp, mail: &str, action: &str) -> String {
    let response = app.call("enable_account_recovery", &[]).await;
    assert!(response.status().is_success(), "{}", response.status());
    let consent = response.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        consent.contains(&format!("/{CONTOSO_TENANT_ID}/v2.0/adminconsent")),
        "the consent goes to the connected tenant: {consent}"
    );
    assert!(consent.contains(DEV_RECOVERY_CLIENT_ID), "{consent}");
    let callback = app.at_microsoft(&consent, mail, action).await;
    app.return_from_microsoft_as(&app.client, &callback).await
}

/// Recovery on, and Contoso's Temporary Access Pass policy on for everyone (10–480 minutes).
async fn recovery_on() -> TestApp {
    let app = contoso_with_face_check().await;
    let landed = enable_as(&app, ADELE, "accept").await;
    assert_eq!(landed, "/organization/integrations?recovery=enabled");
    tap_policy(
        &app,
        TapPolicy {
            minimum_lifetime_in_minutes: 10,
            maximum_lifetime_in_minutes: 480,
            ..TapPolicy::enabled()
        },
    );
    app
}

fn tap_policy(app: &TestApp, policy: TapPolicy) {
    app.emulator
        .set_temporary_access_pass_policy(CONTOSO_TENANT_ID, policy)
        .expect("a policy Graph accepts");
}

async fn card(app: &TestApp) -> RecoveryCard {
    ok_json(app.call("account_recovery_card", &[]).await).await
}

async fn send(
    app: &TestApp,
    client: &reqwest::Client,
    email: &str,
    after: &str,
) -> reqwest::Response {
    app.call_as(
        client,
        "send_verification",
        &[
            ("email", email),
            ("ticket_reference", "HD-2001"),
            ("note", ""),
            ("after", after),
        ],
    )
    .await
}

async fn send_with_recovery(app: &TestApp, email: &str) -> StartedVerification {
    let started: StartedVerification =
        ok_json(send(app, &app.client, email, "temporary_access_pass").await).await;
    // Whoever holds the link could ask for the pass: only the person gets it, by mail.
    assert_eq!(started.link, None, "the agent never gets a recovery link");
    assert!(started.emailed);
    // From here on the tests play the person, who holds the mailed link.
    let link = mailed_link(app, &started).await;
    StartedVerification {
        link: Some(link),
        ..started
    }
}

/// The link mailed to the person: with recovery, the only copy of it (read before the
/// verification ends, which blanks it out of the mail).
async fn mailed_link(app: &TestApp, started: &StartedVerification) -> String {
    let body: String = traceless::db::query(
        "SELECT body_text FROM outbox_messages WHERE kind = 'link' AND verification_id = $1",
    )
    .bind(uuid::Uuid::parse_str(&started.id).expect("an id"))
    .fetch_all_on(&app.pool)
    .await
    .expect("read the outbox")
    .first()
    .map(|row| row.try_get(0).expect("a body"))
    .expect("the link mail");
    body.lines()
        .map(str::trim)
        .find(|line| line.starts_with("http") && line.contains("/verify/"))
        .expect("a link in the mail")
        .to_owned()
}

/// The person opens their link and presents their credential with Face Check.
async fn verify(app: &TestApp, started: &StartedVerification, email: &str) {
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
    app.emulator
        .authenticator()
        .present(&url, email, Variant::Valid)
        .await
        .expect("the wallet presents");
    assert_eq!(detail(app, &started.id).await.status, "verified");
}

async fn reveal(app: &TestApp, started: &StartedVerification) -> reqwest::Response {
    app.call_as(
        &new_client(),
        "reveal_temporary_access_pass",
        &[("token", &token_of(&started.link))],
    )
    .await
}

async fn person(app: &TestApp, started: &StartedVerification) -> Option<PersonRecoveryView> {
    ok_json(
        app.call_as(
            &new_client(),
            "person_recovery",
            &[("token", &token_of(&started.link))],
        )
        .await,
    )
    .await
}

async fn agent_line(app: &TestApp, id: &str) -> Option<RecoveryLine> {
    ok_json(app.call("verification_recovery", &[("id", id)]).await).await
}

async fn detail(app: &TestApp, id: &str) -> VerificationDetail {
    ok_json(app.call("verification_overview", &[("id", id)]).await).await
}

async fn event_kinds(app: &TestApp, id: &str) -> Vec<String> {
    traceless::db::query(
        "SELECT kind FROM verification_events WHERE verification_id = $1 ORDER BY id",
    )
    .bind(uuid::Uuid::parse_str(id).unwrap())
    .fetch_scalars_on(&app.pool)
    .await
    .unwrap()
}

/// Sends with recovery, verifies `email` with Face Check, asks for the pass: the refusal's
/// word as the agent sees it, after checking what the person and the verification show.
async fn refused_for(app: &TestApp, email: &str) -> String {
    let started = send_with_recovery(app, email).await;
    verify(app, &started, email).await;
    let error = app_error(
        reveal(app, &started).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(error.to_string(), traceless::recovery::PERSON_REFUSED);
    assert_eq!(person(app, &started).await.unwrap().state, "refused");
    assert_eq!(
        detail(app, &started.id).await.status,
        "verified",
        "a refusal leaves the verification verified"
    );
    assert_eq!(
        event_kinds(app, &started.id).await.last().unwrap(),
        "temporary_access_pass_refused"
    );
    let line = agent_line(app, &started.id).await.unwrap();
    assert_eq!(line.state, "refused");
    assert!(
        line.text.starts_with("No Temporary Access Pass was issued"),
        "{}",
        line.text
    );
    line.reason.unwrap()
}

#[tokio::test]
async fn an_admin_enables_recovery_with_the_tenants_consent_proved_by_an_app_token() {
    let app = contoso_with_face_check().await;
    let before = card(&app).await;
    assert!(!before.enabled);
    assert_eq!(before.unavailable, None);
    assert_eq!(
        (
            before.lifetime_minutes,
            before.one_time,
            before.refuse_privileged
        ),
        (60, true, true),
        "the default policy"
    );

    let landed = enable_as(&app, ADELE, "accept").await;

    assert_eq!(landed, "/organization/integrations?recovery=enabled");
    assert!(card(&app).await.enabled);
    assert!(
        app.audit_actions()
            .await
            .contains(&"recovery.enabled".to_owned())
    );
}

#[tokio::test]
async fn a_declined_consent_leaves_recovery_off() {
    let app = contoso_with_face_check().await;
    let landed = enable_as(&app, ADELE, "cancel").await;
    assert_eq!(landed, "/organization/integrations?recovery_error=declined");
    assert!(!card(&app).await.enabled);
    assert!(
        app.audit_actions()
            .await
            .contains(&"recovery.enable_failed".to_owned())
    );
}

#[tokio::test]
async fn a_consent_that_did_not_grant_graphs_application_permissions_is_refused() {
    // An Application Administrator may consent, but not to Microsoft Graph app roles.
    let app = contoso_with_face_check().await;
    let landed = enable_as(&app, CONTOSO_APP_ADMIN_EMAIL, "accept").await;
    assert!(
        landed.starts_with("/organization/integrations?recovery_error="),
        "{landed}"
    );
    assert!(!card(&app).await.enabled);
}

#[tokio::test]
async fn microsofts_return_with_an_unknown_state_changes_nothing() {
    let app = contoso_with_face_check().await;
    let landed = app
        .return_from_microsoft_as(
            &app.client,
            &format!(
                "{}{}?admin_consent=True&tenant={CONTOSO_TENANT_ID}&state=forged",
                app.address,
                app::ssr::RECOVERY_CONSENT_CALLBACK_PATH
            ),
        )
        .await;
    assert_eq!(
        landed,
        "/organization/integrations?recovery_error=unknown_attempt"
    );
    assert!(!card(&app).await.enabled);
}

#[tokio::test]
async fn without_face_check_recovery_is_not_offered_and_cannot_be_enabled() {
    let app = contoso_with_face_check().await;
    face_check(&app, "").await;
    let shown = card(&app).await;
    assert!(
        shown.unavailable.as_deref().unwrap().contains("Face Check"),
        "{shown:?}"
    );
    let refused = app_error(
        app.call("enable_account_recovery", &[]).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(refused.to_string().contains("Face Check"), "{refused}");
}

#[tokio::test]
async fn a_server_without_the_recovery_registration_does_not_offer_it() {
    let app = spawn_app().await;
    app.admin("Contoso Help Desk", "ada@contoso.com").await;
    app.connect_microsoft(CONTOSO_ADMIN_EMAIL, "accept").await;
    face_check(&app, "70").await;
    let shown = card(&app).await;
    assert!(
        shown
            .unavailable
            .as_deref()
            .unwrap()
            .contains("TRACELESS_MS_RECOVERY_CLIENT_ID"),
        "{shown:?}"
    );
}

#[tokio::test]
async fn recovery_cannot_be_asked_for_while_it_is_off() {
    let app = contoso_with_face_check().await;
    let refused = app_error(
        send(&app, &app.client, MEGAN, "temporary_access_pass").await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(refused.to_string().contains("not turned on"), "{refused}");
    assert_eq!(app.count("verifications").await, 0, "nothing was sent");
}

#[tokio::test]
async fn the_person_sees_the_pass_exactly_once_and_the_agent_only_that_it_was_issued() {
    let app = recovery_on().await;
    let started = send_with_recovery(&app, MEGAN).await;
    assert_eq!(
        agent_line(&app, &started.id).await.unwrap().state,
        "requested"
    );
    let early = app_error(reveal(&app, &started).await, StatusCode::GONE).await;
    assert!(
        early.to_string().contains("no Temporary Access Pass"),
        "{early}"
    );
    verify(&app, &started, MEGAN).await;
    assert_eq!(person(&app, &started).await.unwrap().state, "offered");

    let response = reveal(&app, &started).await;
    assert_eq!(response.headers()["cache-control"], "no-store");
    let shown: ShownPass = ok_json(response).await;

    assert!(shown.pass.len() >= 8, "a pass of the policy's length");
    assert!(shown.one_time);
    assert!(
        app.emulator
            .has_temporary_access_pass(CONTOSO_TENANT_ID, MEGAN)
    );
    // Once: a second ask (a reload, another tab) gets nothing.
    app_error(reveal(&app, &started).await, StatusCode::GONE).await;
    assert_eq!(person(&app, &started).await.unwrap().state, "shown");
    let line = agent_line(&app, &started.id).await.unwrap();
    assert_eq!(line.state, "issued");
    assert!(line.text.contains("valid until"), "{}", line.text);
    assert!(!line.text.contains(&shown.pass));
    assert_eq!(
        event_kinds(&app, &started.id).await.last().unwrap(),
        "temporary_access_pass_issued"
    );
    // The pass is nowhere in the database: not in events, the timeline, webhooks or mail.
    for (table, column) in [
        ("verification_events", "message"),
        ("ticket_entries", "detail"),
        ("audit_log", "detail"),
        ("outbox_messages", "body_text"),
        ("webhook_deliveries", "payload"),
    ] {
        let texts: Vec<String> = traceless::db::query(&format!("SELECT {column} FROM {table}"))
            .fetch_scalars_on(&app.pool)
            .await
            .unwrap();
        assert!(
            texts.iter().all(|t| !t.contains(&shown.pass)),
            "the pass is in {table}"
        );
    }
}

#[tokio::test]
async fn a_privileged_user_is_refused_with_its_reason() {
    let app = recovery_on().await;
    assert_eq!(refused_for(&app, ADELE).await, "privileged_user");
    assert!(
        !app.emulator
            .has_temporary_access_pass(CONTOSO_TENANT_ID, ADELE)
    );
}

#[tokio::test]
async fn with_the_policy_allowing_it_a_privileged_user_gets_a_pass() {
    let app = recovery_on().await;
    ok_json::<()>(
        app.call(
            "set_account_recovery_policy",
            &[("lifetime_minutes", "30"), ("one_time", "on")],
        )
        .await,
    )
    .await;
    let started = send_with_recovery(&app, ADELE).await;
    verify(&app, &started, ADELE).await;
    let shown: ShownPass = ok_json(reveal(&app, &started).await).await;
    assert!(!shown.pass.is_empty());
}

#[tokio::test]
async fn a_tenant_with_temporary_access_pass_turned_off_is_refused_with_its_reason() {
    let app = recovery_on().await;
    tap_policy(&app, TapPolicy::default());
    assert_eq!(refused_for(&app, MEGAN).await, "policy_disabled");
}

#[tokio::test]
async fn a_user_outside_the_policys_target_group_is_refused_with_its_reason() {
    let app = recovery_on().await;
    tap_policy(
        &app,
        TapPolicy {
            include: TapTargets::Users(vec![CONTOSO_EMPLOYEE2_EMAIL.to_owned()]),
            minimum_lifetime_in_minutes: 10,
            maximum_lifetime_in_minutes: 480,
            ..TapPolicy::enabled()
        },
    );
    assert_eq!(refused_for(&app, MEGAN).await, "user_not_targeted");
}

#[tokio::test]
async fn a_lifetime_the_tenant_does_not_allow_is_refused_with_its_reason() {
    let app = recovery_on().await;
    tap_policy(
        &app,
        TapPolicy {
            minimum_lifetime_in_minutes: 120,
            maximum_lifetime_in_minutes: 480,
            default_lifetime_in_minutes: 120,
            ..TapPolicy::enabled()
        },
    );
    assert_eq!(refused_for(&app, MEGAN).await, "lifetime_not_allowed");
}

#[tokio::test]
async fn microsoft_graph_throttling_and_outages_are_refused_with_their_reasons() {
    let app = recovery_on().await;
    app.emulator
        .faults()
        .add(FaultSpec::status("/graph/v1.0/users/*/authentication/*", 429).times(1));
    assert_eq!(refused_for(&app, MEGAN).await, "throttled");
    app.emulator
        .faults()
        .add(FaultSpec::status("/graph/v1.0/users/*/authentication/*", 503).times(1));
    assert_eq!(refused_for(&app, MEGAN).await, "microsoft_unavailable");
}

#[tokio::test]
async fn a_withdrawn_grant_is_refused_with_its_reason() {
    let app = recovery_on().await;
    app.emulator
        .revoke_admin_consent(CONTOSO_TENANT_ID, DEV_RECOVERY_CLIENT_ID);
    assert_eq!(refused_for(&app, MEGAN).await, "not_granted");
}

#[tokio::test]
async fn turning_recovery_off_refuses_verifications_already_sent_with_it() {
    let app = recovery_on().await;
    let started = send_with_recovery(&app, MEGAN).await;
    ok_json::<()>(app.call("turn_off_account_recovery", &[]).await).await;
    assert!(!card(&app).await.enabled);
    verify(&app, &started, MEGAN).await;
    app_error(
        reveal(&app, &started).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(
        agent_line(&app, &started.id)
            .await
            .unwrap()
            .reason
            .as_deref(),
        Some("recovery_turned_off")
    );
    assert!(
        !app.emulator
            .has_temporary_access_pass(CONTOSO_TENANT_ID, MEGAN)
    );
}

#[tokio::test]
async fn the_policy_lifetime_stays_from_10_to_480_minutes() {
    let app = recovery_on().await;
    for minutes in ["9", "481", "an hour", ""] {
        app_error(
            app.call(
                "set_account_recovery_policy",
                &[("lifetime_minutes", minutes), ("one_time", "on")],
            )
            .await,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    ok_json::<()>(
        app.call(
            "set_account_recovery_policy",
            &[("lifetime_minutes", "480")],
        )
        .await,
    )
    .await;
    let shown = card(&app).await;
    assert_eq!(
        (
            shown.lifetime_minutes,
            shown.one_time,
            shown.refuse_privileged
        ),
        (480, false, false)
    );
}

#[tokio::test]
async fn an_agent_asks_for_recovery_only_once_an_admin_allowed_it() {
    let app = recovery_on().await;
    let invite: app::model::InviteLink = ok_json(
        app.invite("Grace Agent", "grace@contoso.com", "agent")
            .await,
    )
    .await;
    let grace = new_client();
    let accepted = app
        .call_as(
            &grace,
            "accept_invite",
            &[("token", &token_of(&invite.url)), ("password", PASSWORD)],
        )
        .await;
    assert!(accepted.status().is_success() || accepted.status().is_redirection());
    let may: bool = ok_json(app.call_as(&grace, "may_start_account_recovery", &[]).await).await;
    assert!(!may, "not offered before an admin allows it");
    let refused = app_error(
        send(&app, &grace, MEGAN, "temporary_access_pass").await,
        StatusCode::FORBIDDEN,
    )
    .await;
    assert!(
        refused
            .to_string()
            .contains("may not start account recovery"),
        "{refused}"
    );

    let team: Team = ok_json(app.call("team_members", &[]).await).await;
    let grace_id = team
        .members
        .iter()
        .find(|m| m.email == "grace@contoso.com")
        .unwrap()
        .id
        .clone();
    // Only an admin may allow it.
    app_error(
        app.call_as(
            &grace,
            "set_account_recovery_permission",
            &[("user_id", &grace_id), ("allowed", "true")],
        )
        .await,
        StatusCode::FORBIDDEN,
    )
    .await;
    ok_json::<()>(
        app.call(
            "set_account_recovery_permission",
            &[("user_id", &grace_id), ("allowed", "true")],
        )
        .await,
    )
    .await;
    let allowed: Vec<String> = ok_json(app.call("account_recovery_members", &[]).await).await;
    assert_eq!(allowed, vec![grace_id.clone()]);
    let may: bool = ok_json(app.call_as(&grace, "may_start_account_recovery", &[]).await).await;
    assert!(may);
    let sent = send(&app, &grace, MEGAN, "temporary_access_pass").await;
    assert!(sent.status().is_success(), "{}", sent.status());
    assert!(
        app.audit_actions()
            .await
            .contains(&"recovery.permission_changed".to_owned())
    );
}

#[tokio::test]
async fn the_api_asks_for_recovery_with_after_and_is_refused_clearly_when_it_is_off() {
    let app = contoso_with_face_check().await;
    let key: app::model::NewApiKey =
        ok_json(app.call("create_api_key", &[("name", "Zendesk")]).await).await;
    let body =
        json!({"recipient_email": MEGAN, "delivery": "email", "after": "temporary_access_pass"});
    let refused = json_of(
        app.api_post(&key.key, "/api/v1/verifications", &body).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(refused["code"], "recovery_not_allowed");
    assert_eq!(refused["field"], "after");
    let wrong = json_of(
        app.api_post(
            &key.key,
            "/api/v1/verifications",
            &json!({"recipient_email": MEGAN, "after": "coffee"}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(wrong["field"], "after");

    let landed = enable_as(&app, ADELE, "accept").await;
    assert_eq!(landed, "/organization/integrations?recovery=enabled");
    // The link would come back to the tool, which could then ask for the pass itself.
    let by_link = json_of(
        app.api_post(
            &key.key,
            "/api/v1/verifications",
            &json!({"recipient_email": MEGAN, "delivery": "link", "after": "temporary_access_pass"}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(by_link["field"], "delivery");
    assert_eq!(app.count("verifications").await, 0);
    let created = json_of(
        app.api_post(&key.key, "/api/v1/verifications", &body).await,
        StatusCode::CREATED,
    )
    .await;
    assert!(
        created.get("link").is_none_or(serde_json::Value::is_null),
        "{created}"
    );
    let id = uuid::Uuid::parse_str(created["id"].as_str().unwrap()).unwrap();
    let state: String = traceless::db::query(
        "SELECT state FROM verification_recoveries WHERE verification_id = $1",
    )
    .bind(id)
    .fetch_scalar_on(&app.pool)
    .await
    .unwrap();
    assert_eq!(state, "requested");
}

#[tokio::test]
async fn a_verification_sent_without_recovery_never_shows_a_pass() {
    let app = recovery_on().await;
    let started: StartedVerification = ok_json(send(&app, &app.client, MEGAN, "").await).await;
    verify(&app, &started, MEGAN).await;
    assert_eq!(person(&app, &started).await, None);
    assert_eq!(agent_line(&app, &started.id).await, None);
    app_error(reveal(&app, &started).await, StatusCode::GONE).await;
    assert_eq!(app.count("verification_recoveries").await, 0);
}
