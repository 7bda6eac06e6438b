//! Where the credential's email comes from (issue 22), and Face Check only where it can work
//! (issue 17 point 6): connect against the emulator's tenants whose contracts map the email
//! from each attestation kind, then verify.

use app::model::{RecipientPage, VerificationDetail};
use microsoft_emulator::{
    ALPINE_ADMIN_EMAIL, ALPINE_EMPLOYEE_EMAIL, FOURTH_COFFEE_ADMIN_EMAIL, LAMNA_ADMIN_EMAIL,
    LAMNA_EMPLOYEE_EMAIL, LAMNA_MEMBER_TYPE, RELECLOUD_ADMIN_EMAIL, RELECLOUD_EMPLOYEE_EMAIL,
    Variant, WINGTIP_ADMIN_EMAIL, WINGTIP_EMPLOYEE_EMAIL,
};
use reqwest::StatusCode;

use crate::helpers::*;

async fn connected(organization: &str, admin_email: &str, microsoft_admin: &str) -> TestApp {
    let app = spawn_app().await;
    app.admin(organization, admin_email).await;
    app.connect_microsoft(microsoft_admin, "accept").await;
    app
}

impl TestApp {
    async fn open_as_person(&self, link: &str) -> reqwest::Response {
        self.call_as(
            &new_client(),
            "open_verification_link",
            &[("token", &token_of(link))],
        )
        .await
    }

    async fn overview(&self, id: &str) -> VerificationDetail {
        ok_json(self.call("verification_overview", &[("id", id)]).await).await
    }

    async fn set_face_check(&self, threshold: &str) -> reqwest::Response {
        self.call(
            "update_verification_settings",
            &[
                ("link_lifetime_hours", "48"),
                ("face_check_threshold", threshold),
            ],
        )
        .await
    }
}

#[tokio::test]
async fn a_self_issued_email_claim_is_never_offered_or_used() {
    let app = connected("Relecloud", "ops@relecloud.com", RELECLOUD_ADMIN_EMAIL).await;

    let card = app.card().await;
    assert!(card.pending.is_none(), "nothing to choose");
    let connection = card.connection.expect("connected, not active");
    assert!(!connection.active && !connection.email_usable);
    assert!(connection.linked_domain_verified, "the email is the reason");
    assert_eq!(connection.email_claim, "", "no email claim is taken");
    assert!(
        connection.email_choices.is_empty(),
        "a self-issued claim is never offered: {:?}",
        connection.email_choices
    );
    assert_eq!(
        connection.email_source,
        "unknown: the credential's contract does not say"
    );

    // Not even with the warning accepted.
    let refused = app
        .call(
            "set_microsoft_email_claim",
            &[("email_claim", "email"), ("accept_unchecked_email", "true")],
        )
        .await;
    let error = app_error(refused, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert!(
        error.to_string().contains("never uses a self-issued email"),
        "{error}"
    );
    assert!(!app.card().await.connection.unwrap().email_usable);

    let refused = app
        .call(
            "send_verification",
            &[
                ("email", RELECLOUD_EMPLOYEE_EMAIL),
                ("ticket_reference", ""),
                ("note", ""),
            ],
        )
        .await;
    let error = app_error(refused, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert!(
        error
            .to_string()
            .contains("not checked against your directory"),
        "{error}"
    );
    assert_eq!(app.count("verifications").await, 0);
}

#[tokio::test]
async fn a_contract_named_verified_employee_mapping_mail_from_self_issued_is_not_directory_backed()
{
    let app = connected(
        "Fourth Coffee",
        "ops@fourthcoffee.com",
        FOURTH_COFFEE_ADMIN_EMAIL,
    )
    .await;

    let connection = app.card().await.connection.expect("connected, not active");
    assert_eq!(connection.credential_type, "VerifiedEmployee");
    assert!(!connection.active && !connection.email_directory_backed);
    assert!(
        connection.email_choices.is_empty(),
        "{:?}",
        connection.email_choices
    );
    let refused = app
        .call(
            "set_microsoft_email_claim",
            &[("email_claim", "mail"), ("accept_unchecked_email", "true")],
        )
        .await;
    app_error(refused, StatusCode::UNPROCESSABLE_ENTITY).await;
    let audit: Vec<String> =
        traceless::db::query("SELECT detail FROM audit_log WHERE action = 'microsoft.connected'")
            .fetch_scalars_on(&app.pool)
            .await
            .unwrap();
    assert!(audit[0].contains("NOT usable"), "{audit:?}");
}

#[tokio::test]
async fn an_id_token_hint_email_needs_the_admins_explicit_choice_and_is_audited() {
    let app = connected("Wingtip", "ops@wingtiptoys.com", WINGTIP_ADMIN_EMAIL).await;

    let connection = app.card().await.connection.expect("connected, not active");
    assert!(!connection.active, "not on its own");
    assert_eq!(connection.email_claim, "email");
    assert!(
        connection.email_source.contains("ID token hint")
            && connection
                .email_source
                .contains("not checked against your directory"),
        "{}",
        connection.email_source
    );
    let email = connection
        .email_choices
        .iter()
        .find(|c| c.claim == "email")
        .expect("offered behind the warning");
    assert!(!email.directory_backed);

    // Without the ticked warning: refused, nothing changes.
    let refused = app
        .call("set_microsoft_email_claim", &[("email_claim", "email")])
        .await;
    let error = app_error(refused, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert!(
        error
            .to_string()
            .contains("anyone who can get this credential can claim any address"),
        "{error}"
    );
    assert!(!app.card().await.connection.unwrap().active);
    assert!(
        !app.audit_actions()
            .await
            .contains(&"microsoft.unchecked_email_accepted".to_owned())
    );

    let accepted = app
        .call(
            "set_microsoft_email_claim",
            &[("email_claim", "email"), ("accept_unchecked_email", "true")],
        )
        .await;
    assert!(accepted.status().is_success(), "{}", accepted.status());
    let connection = app.card().await.connection.unwrap();
    assert!(connection.active && connection.email_source_accepted);
    assert_eq!(
        app.audit_actions().await.last().unwrap(),
        "microsoft.unchecked_email_accepted"
    );

    // Every verification says where the email came from.
    let started = app.send_verification_to(WINGTIP_EMPLOYEE_EMAIL).await;
    let page: RecipientPage = ok_json(app.open_as_person(&started.sent_link()).await).await;
    app.emulator
        .authenticator()
        .present(
            &page.request.expect("a QR code").url,
            WINGTIP_EMPLOYEE_EMAIL,
            Variant::Valid,
        )
        .await
        .expect("the wallet presents");
    let detail = app.overview(&started.id).await;
    assert_eq!(detail.status, "verified", "{:?}", detail.events);
    let source = detail.evidence.unwrap().email_source.expect("email source");
    assert!(
        source.contains("not checked against your directory"),
        "{source}"
    );
}

#[tokio::test]
async fn a_directory_backed_custom_type_connects_on_its_own() {
    let app = connected(
        "Lamna Healthcare",
        "ops@lamnahealthcare.com",
        LAMNA_ADMIN_EMAIL,
    )
    .await;

    let card = app.card().await;
    assert!(card.pending.is_none());
    let connection = card.connection.expect("connected");
    assert!(connection.active, "idTokens from the tenant's own Entra");
    assert_eq!(connection.credential_type, LAMNA_MEMBER_TYPE);
    assert_eq!(connection.email_claim, "email");
    assert!(connection.email_directory_backed);
    assert!(
        connection.email_source.starts_with("your directory"),
        "{}",
        connection.email_source
    );
    assert_eq!(connection.photo_claim.as_deref(), Some("portrait"));

    let started = app.send_verification_to(LAMNA_EMPLOYEE_EMAIL).await;
    let page: RecipientPage = ok_json(app.open_as_person(&started.sent_link()).await).await;
    app.emulator
        .authenticator()
        .present(
            &page.request.unwrap().url,
            LAMNA_EMPLOYEE_EMAIL,
            Variant::Valid,
        )
        .await
        .unwrap();
    let detail = app.overview(&started.id).await;
    assert_eq!(detail.status, "verified", "{:?}", detail.events);
    assert!(
        detail
            .evidence
            .unwrap()
            .email_source
            .unwrap()
            .starts_with("your directory")
    );
}

#[tokio::test]
async fn face_check_is_offered_only_with_a_photo_claim_and_asks_for_that_claim() {
    // Lamna's photo claim is `portrait`: the request names it (the emulator refuses a
    // claim the credential does not have), and the face is checked.
    let app = connected(
        "Lamna Healthcare",
        "ops@lamnahealthcare.com",
        LAMNA_ADMIN_EMAIL,
    )
    .await;
    let settings: app::model::VerificationSettings =
        ok_json(app.call("get_verification_settings", &[]).await).await;
    assert_eq!(settings.photo_claim.as_deref(), Some("portrait"));
    assert!(app.set_face_check("60").await.status().is_success());
    let started = app.send_verification_to(LAMNA_EMPLOYEE_EMAIL).await;
    let page: RecipientPage = ok_json(app.open_as_person(&started.sent_link()).await).await;
    app.emulator
        .authenticator()
        .present(
            &page.request.unwrap().url,
            LAMNA_EMPLOYEE_EMAIL,
            Variant::Valid,
        )
        .await
        .unwrap();
    let detail = app.overview(&started.id).await;
    assert_eq!(detail.status, "verified", "{:?}", detail.events);
    let evidence = detail.evidence.unwrap();
    assert!(evidence.face_check_score.is_some());
    assert!(
        evidence
            .checks
            .iter()
            .any(|c| c.passed && c.label == "Face Check at or above 60")
    );

    // Wingtip's credential has no photo: Face Check is not offered, and refused.
    let app = connected("Wingtip", "ops@wingtiptoys.com", WINGTIP_ADMIN_EMAIL).await;
    let settings: app::model::VerificationSettings =
        ok_json(app.call("get_verification_settings", &[]).await).await;
    assert_eq!(settings.photo_claim, None);
    let error = app_error(
        app.set_face_check("70").await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(
        error.to_string().contains("no photo") || error.to_string().contains("carries none"),
        "{error}"
    );
}

#[tokio::test]
async fn microsofts_face_check_refusal_is_a_settings_problem_for_the_admin() {
    let app = connected("Alpine", "ops@alpineskihouse.com", ALPINE_ADMIN_EMAIL).await;
    assert!(app.card().await.connection.unwrap().active);
    assert!(app.set_face_check("70").await.status().is_success());
    let started = app.send_verification_to(ALPINE_EMPLOYEE_EMAIL).await;

    let response = app.open_as_person(&started.sent_link()).await;

    assert!(!response.status().is_success());
    let body = response.text().await.unwrap();
    assert!(body.contains("must change a setting"), "{body}");
    assert!(!body.contains("expired"), "not a broken link: {body}");
    assert_eq!(
        app.audit_actions().await.last().unwrap(),
        "microsoft.face_check_refused"
    );
    let detail = app.overview(&started.id).await;
    let event = detail
        .events
        .iter()
        .find(|e| e.kind == "face_check_not_enabled")
        .expect("the agent sees it on the timeline");
    assert!(
        event
            .message
            .contains("Face Check is not enabled for your tenant's Verified ID"),
        "{}",
        event.message
    );
    assert_ne!(detail.status, "failed", "the person did nothing wrong");

    // Turned off, the same link works.
    assert!(app.set_face_check("").await.status().is_success());
    let page: RecipientPage = ok_json(
        app.call_as(
            &new_client(),
            "renew_request",
            &[("token", &token_of(&started.sent_link()))],
        )
        .await,
    )
    .await;
    assert!(page.request.is_some());
}
