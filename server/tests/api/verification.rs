//! Verifying a person, end to end over real HTTP: our server, the emulator's request
//! service, and its simulated Authenticator calling our callback.

use std::time::Duration;

use app::error::AppError;
use app::model::{RecipientPage, StartedVerification, VerificationDetail};
use microsoft_emulator::{
    CONTOSO_ADMIN_EMAIL, CONTOSO_EMPLOYEE_EMAIL, CONTOSO_EMPLOYEE2_EMAIL, CallbackFault, FaultSpec,
    PresentOptions, Variant,
};
use reqwest::StatusCode;

use crate::helpers::*;

const MEGAN: &str = CONTOSO_EMPLOYEE_EMAIL;

async fn connected() -> TestApp {
    let app = spawn_app().await;
    app.admin("Contoso Help Desk", "ada@contoso.com").await;
    app.connect_microsoft(CONTOSO_ADMIN_EMAIL, "accept").await;
    app
}

impl TestApp {
    async fn start_verification(&self, email: &str) -> reqwest::Response {
        self.call(
            "send_verification",
            &[
                ("email", email),
                ("ticket_reference", "HD-1042"),
                ("note", "Password reset"),
            ],
        )
        .await
    }

    async fn started(&self, email: &str) -> StartedVerification {
        ok_json(self.start_verification(email).await).await
    }

    /// Opens the link as the person (no session) and returns their page.
    async fn open_link(&self, link: &str) -> reqwest::Response {
        self.call_as(
            &new_client(),
            "open_verification_link",
            &[("token", &token_of(link))],
        )
        .await
    }

    async fn recipient_page(&self, link: &str) -> RecipientPage {
        ok_json(self.open_link(link).await).await
    }

    async fn renew(&self, link: &str) -> RecipientPage {
        ok_json(
            self.call_as(
                &new_client(),
                "renew_request",
                &[("token", &token_of(link))],
            )
            .await,
        )
        .await
    }

    async fn detail(&self, id: &str) -> VerificationDetail {
        ok_json(self.call("verification_overview", &[("id", id)]).await).await
    }

    async fn present(&self, request_url: &str, user: &str, variant: Variant) {
        self.emulator
            .authenticator()
            .present(request_url, user, variant)
            .await
            .expect("the wallet presents");
    }

    async fn event_kinds(&self, id: &str) -> Vec<String> {
        self.detail(id)
            .await
            .events
            .into_iter()
            .map(|e| e.kind.to_string())
            .collect()
    }

    fn callback_url(&self) -> String {
        format!("{}{}", self.address, app::ssr::VERIFIED_ID_CALLBACK_PATH)
    }
}

fn request_url(page: &RecipientPage) -> String {
    page.request.as_ref().expect("a QR code").url.clone()
}

#[tokio::test]
async fn the_intended_person_is_verified_and_the_link_is_used_up() {
    let app = connected().await;
    let started = app.started(MEGAN).await;
    assert!(
        started
            .sent_link()
            .starts_with(&format!("{}/verify/", app.address))
    );

    let page = app.recipient_page(&started.sent_link()).await;
    let request = page.request.clone().unwrap();
    assert!(
        request.url.starts_with("openid-vc://?request_uri="),
        "{}",
        request.url
    );
    assert!(request.qr_svg.contains("<svg"));
    assert_eq!(page.asked_by, "Ada Admin");
    assert_eq!(page.organization, "Contoso Help Desk");
    assert_eq!(page.ticket_reference.as_deref(), Some("HD-1042"));

    app.emulator
        .authenticator()
        .scan(&request.url)
        .await
        .unwrap();
    assert_eq!(app.detail(&started.id).await.status, "scanned");
    app.present(&request.url, MEGAN, Variant::Valid).await;

    let detail = app.detail(&started.id).await;
    assert_eq!(detail.status, "verified");
    let evidence = detail.evidence.expect("evidence");
    assert_eq!(evidence.issuer, "did:web:verifiedid.contoso.com");
    assert_eq!(evidence.email.as_deref(), Some(MEGAN));
    assert_eq!(evidence.display_name.as_deref(), Some("Megan Bowen"));
    assert!(
        evidence.checks.iter().all(|c| c.passed),
        "{:?}",
        evidence.checks
    );
    assert_eq!(
        app.event_kinds(&started.id).await,
        vec!["created", "opened", "requested", "scanned", "verified"]
    );
    // Single use.
    let again = app_error(app.open_link(&started.sent_link()).await, StatusCode::GONE).await;
    assert_eq!(
        again,
        AppError::Gone("This verification link is expired".into())
    );
}

#[tokio::test]
async fn a_credential_for_another_email_fails_and_is_flagged() {
    let app = connected().await;
    let started = app.started(MEGAN).await;
    let page = app.recipient_page(&started.sent_link()).await;

    // Lee presents his own (valid) credential on Megan's link.
    app.present(&request_url(&page), CONTOSO_EMPLOYEE2_EMAIL, Variant::Valid)
        .await;

    let detail = app.detail(&started.id).await;
    assert_eq!(detail.status, "failed");
    assert!(detail.mismatch);
    assert!(detail.failure.unwrap().contains("different email"));
    assert_eq!(
        app.event_kinds(&started.id).await.last().unwrap(),
        "failed.different_email"
    );
    assert_eq!(
        app.open_link(&started.sent_link()).await.status(),
        StatusCode::GONE
    );
}

#[tokio::test]
async fn each_identity_mismatch_has_its_reason() {
    let app = connected().await;
    let cases = [
        (Variant::DifferentMail, true, "failed.different_email"),
        (
            Variant::OtherTenant,
            true,
            "failed.issuer_not_connected_tenant",
        ),
        (Variant::Revoked, true, "failed.revoked"),
        // Without trust_wallet too: we ask with allowRevoked, so Microsoft passes a revoked
        // credential through with its status and our alignment fails it.
        (Variant::Revoked, false, "failed.revoked"),
    ];
    for (variant, trust_wallet, kind) in cases {
        let started = app.started(MEGAN).await;
        let page = app.recipient_page(&started.sent_link()).await;
        app.emulator
            .authenticator()
            .present_with(PresentOptions {
                request: request_url(&page),
                user: MEGAN.into(),
                variant,
                trust_wallet,
                vp_token_array: false,
            })
            .await
            .unwrap();
        assert_eq!(
            app.event_kinds(&started.id).await.last().unwrap(),
            kind,
            "{variant:?} trust={trust_wallet}"
        );
        assert!(app.detail(&started.id).await.mismatch);
    }
}

#[tokio::test]
async fn a_callback_with_a_wrong_or_missing_api_key_changes_nothing() {
    let app = connected().await;
    let started = app.started(MEGAN).await;
    app.recipient_page(&started.sent_link()).await;
    let row = traceless::db::query("SELECT id, microsoft_request_id FROM presentation_requests")
        .fetch_one_on(&app.pool)
        .await
        .unwrap();
    let (state, microsoft_id): (uuid::Uuid, String) =
        (row.try_get(0).unwrap(), row.try_get(1).unwrap());
    let body = serde_json::json!({"requestId": microsoft_id, "requestStatus": "request_retrieved", "state": state.to_string()});
    let before = app.event_kinds(&started.id).await;

    for key in [Some("wrong-key"), None] {
        let mut request = app.client.post(app.callback_url()).json(&body);
        if let Some(key) = key {
            request = request.header("api-key", key);
        }
        assert_eq!(
            request.send().await.unwrap().status(),
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(app.event_kinds(&started.id).await, before);
    assert_eq!(app.detail(&started.id).await.status, "requested");
}

#[tokio::test]
async fn unknown_state_malformed_and_oversized_callbacks_are_refused() {
    let app = connected().await;
    // A request whose key we know: refusals for the body come after the key passed.
    let started = app.started(MEGAN).await;
    app.recipient_page(&started.sent_link()).await;
    let state: uuid::Uuid = traceless::db::query("SELECT id FROM presentation_requests")
        .fetch_one_on(&app.pool)
        .await
        .unwrap()
        .try_get(0)
        .unwrap();
    traceless::db::query("UPDATE presentation_requests SET api_key_hash = $1")
        .bind(traceless::secret::SecretHash::of("some-key").as_str())
        .execute_on(&app.pool)
        .await
        .unwrap();
    let events_before = app.count("verification_events").await;
    let key = format!("{state}.some-key");
    let post = |body: Vec<u8>| {
        app.client
            .post(app.callback_url())
            .header("api-key", &key)
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    let unknown = serde_json::json!({"requestId": "x", "requestStatus": "request_retrieved", "state": uuid::Uuid::new_v4().to_string()});
    assert_eq!(
        post(unknown.to_string().into_bytes())
            .await
            .unwrap()
            .status(),
        StatusCode::BAD_REQUEST
    );
    let not_ours = serde_json::json!({"requestId": "x", "requestStatus": "request_retrieved", "state": "not-a-uuid"});
    assert_eq!(
        post(not_ours.to_string().into_bytes())
            .await
            .unwrap()
            .status(),
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        post(b"{not json".to_vec()).await.unwrap().status(),
        StatusCode::BAD_REQUEST
    );
    let unknown_status =
        serde_json::json!({"requestId": "x", "requestStatus": "issuance_successful", "state": "s"});
    assert_eq!(
        post(unknown_status.to_string().into_bytes())
            .await
            .unwrap()
            .status(),
        StatusCode::BAD_REQUEST
    );
    let huge = vec![b' '; 11 * 1024 * 1024];
    assert_eq!(
        post(huge).await.unwrap().status(),
        StatusCode::PAYLOAD_TOO_LARGE
    );
    assert_eq!(app.count("verification_events").await, events_before);
}

#[tokio::test]
async fn duplicate_callbacks_are_recorded_no_ops() {
    let app = connected().await;
    let started = app.started(MEGAN).await;
    let page = app.recipient_page(&started.sent_link()).await;
    app.emulator
        .faults()
        .add(FaultSpec::callback(CallbackFault::Duplicate));

    app.emulator
        .authenticator()
        .scan(&request_url(&page))
        .await
        .unwrap();
    app.present(&request_url(&page), MEGAN, Variant::Valid)
        .await;

    let kinds = app.event_kinds(&started.id).await;
    assert_eq!(
        kinds.iter().filter(|k| *k == "verified").count(),
        1,
        "{kinds:?}"
    );
    assert_eq!(
        kinds.iter().filter(|k| *k == "scanned").count(),
        1,
        "{kinds:?}"
    );
    assert!(
        kinds.iter().filter(|k| *k == "ignored").count() >= 2,
        "{kinds:?}"
    );
    assert_eq!(app.detail(&started.id).await.status, "verified");
}

#[tokio::test]
async fn an_out_of_order_scan_after_the_verdict_changes_nothing() {
    let app = connected().await;
    let started = app.started(MEGAN).await;
    let page = app.recipient_page(&started.sent_link()).await;
    app.emulator
        .faults()
        .add(FaultSpec::callback(CallbackFault::OutOfOrder));

    app.present(&request_url(&page), MEGAN, Variant::Valid)
        .await;

    let kinds = app.event_kinds(&started.id).await;
    assert_eq!(app.detail(&started.id).await.status, "verified");
    assert!(
        kinds.ends_with(&["verified".to_string(), "ignored".to_string()]),
        "{kinds:?}"
    );
}

#[tokio::test]
async fn a_callback_for_an_expired_link_is_ignored() {
    let app = connected().await;
    let started = app.started(MEGAN).await;
    let page = app.recipient_page(&started.sent_link()).await;
    traceless::db::query("UPDATE verifications SET link_expires_at = '2020-01-01T00:00:00Z'")
        .execute_on(&app.pool)
        .await
        .unwrap();
    // The sweeper runs every few seconds; opening the link expires it at once.
    assert_eq!(
        app.open_link(&started.sent_link()).await.status(),
        StatusCode::GONE
    );

    app.present(&request_url(&page), MEGAN, Variant::Valid)
        .await;

    let detail = app.detail(&started.id).await;
    assert_eq!(detail.status, "expired");
    assert_eq!(
        app.event_kinds(&started.id).await.last().unwrap(),
        "ignored"
    );
}

#[tokio::test]
async fn a_silent_expiry_is_noticed_by_the_sweeper() {
    let app = connected().await;
    let started = app.started(MEGAN).await;
    traceless::db::query("UPDATE verifications SET link_expires_at = '2020-01-01T00:00:00Z'")
        .execute_on(&app.pool)
        .await
        .unwrap();

    eventually("the sweeper marks the verification expired", || async {
        let status = app.detail(&started.id).await.status.to_string();
        if status == "expired" {
            Ok(())
        } else {
            Err(status)
        }
    })
    .await;
}

#[tokio::test]
async fn an_expiring_request_is_replaced_and_the_new_one_works() {
    let app = connected().await;
    app.emulator.set_request_lifetime_secs(20);
    let started = app.started(MEGAN).await;
    let first = app.recipient_page(&started.sent_link()).await;

    // Less than REQUEST_MARGIN left: opening again gives a fresh request.
    let second = app.recipient_page(&started.sent_link()).await;
    assert_ne!(request_url(&first), request_url(&second));
    app.present(&request_url(&second), MEGAN, Variant::Valid)
        .await;
    assert_eq!(app.detail(&started.id).await.status, "verified");
}

#[tokio::test]
async fn starting_is_refused_with_a_reason_and_stores_nothing() {
    let app = spawn_app().await;
    app.admin("Contoso", "ada@contoso.com").await;
    let not_connected = app_error(
        app.start_verification(MEGAN).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(not_connected.to_string().contains("not connected"));

    app.connect_microsoft(CONTOSO_ADMIN_EMAIL, "accept").await;
    let malformed = app_error(
        app.start_verification("megan@").await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(malformed.for_field("email").is_some());
    let uncovered = app_error(
        app.start_verification("someone@example.org").await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(
        uncovered.for_field("email").unwrap(),
        "Their email domain (example.org) is not among the domains tied to the Microsoft tenant you connected — connect the correct tenant or ask your Microsoft admin to add or verify the domain."
    );
    assert_eq!(app.count("verifications").await, 0);
}

#[tokio::test]
async fn removing_the_integration_stops_pending_verifications() {
    let app = connected().await;
    let started = app.started(MEGAN).await;
    app.recipient_page(&started.sent_link()).await;

    ok_json::<()>(app.call("remove_microsoft_integration", &[]).await).await;

    assert_eq!(app.detail(&started.id).await.status, "cancelled");
    assert_eq!(
        app.open_link(&started.sent_link()).await.status(),
        StatusCode::GONE
    );
}

#[tokio::test]
async fn another_organization_cannot_see_or_follow_a_verification() {
    let app = connected().await;
    let started = app.started(MEGAN).await;
    let other = new_client();
    app.call_as(
        &other,
        "sign_up",
        &[
            ("organization", "Fabrikam"),
            ("name", "Fay"),
            ("email", "fay@fabrikam.com"),
            ("password", PASSWORD),
        ],
    )
    .await;

    let error = app_error(
        app.call_as(&other, "verification_overview", &[("id", &started.id)])
            .await,
        StatusCode::NOT_FOUND,
    )
    .await;
    assert!(matches!(error, AppError::NotFound(_)));
    let list: Vec<app::model::VerificationSummary> =
        ok_json(app.call_as(&other, "verifications", &[]).await).await;
    assert!(list.is_empty());
    let cancel = app
        .call_as(&other, "cancel_verification", &[("id", &started.id)])
        .await;
    assert_eq!(cancel.status(), StatusCode::NOT_FOUND);
    let stream = other
        .get(format!(
            "{}/organization/verifications/{}/events",
            app.address, started.id
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), StatusCode::NOT_FOUND);
    let anonymous = new_client()
        .get(format!(
            "{}/organization/verifications/{}/events",
            app.address, started.id
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
}

/// Reads server-sent events until `count` have arrived or the stream ends.
async fn read_events(
    response: &mut reqwest::Response,
    count: usize,
) -> Vec<(i64, serde_json::Value)> {
    let mut events = Vec::new();
    let mut buffer = String::new();
    while events.len() < count {
        let chunk = tokio::time::timeout(Duration::from_secs(5), response.chunk())
            .await
            .expect("an event within 5 s")
            .unwrap();
        let Some(chunk) = chunk else { break };
        buffer.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = buffer.find("\n\n") {
            let block: String = buffer.drain(..end + 2).collect();
            let id = block
                .lines()
                .find_map(|l| l.strip_prefix("id:"))
                .map(|v| v.trim().parse::<i64>().unwrap());
            let data = block
                .lines()
                .find_map(|l| l.strip_prefix("data:"))
                .map(|v| serde_json::from_str(v.trim()).unwrap());
            if let (Some(id), Some(data)) = (id, data) {
                events.push((id, data));
            }
        }
    }
    events
}

#[tokio::test]
async fn a_reconnecting_stream_resumes_after_the_last_event_id_and_ends_when_done() {
    let app = connected().await;
    let started = app.started(MEGAN).await;
    let events_url = format!(
        "{}/verify/{}/events",
        app.address,
        token_of(&started.sent_link())
    );

    let mut first = app.client.get(&events_url).send().await.unwrap();
    assert_eq!(first.headers()["content-type"], "text/event-stream");
    let seen = read_events(&mut first, 1).await;
    assert_eq!(seen[0].1["kind"], "created");
    assert!(
        seen[0].1.get("message").is_none() || seen[0].1["message"].is_null(),
        "the person's stream carries no agent text"
    );
    drop(first); // the connection drops

    let page = app.recipient_page(&started.sent_link()).await;
    app.present(&request_url(&page), MEGAN, Variant::Valid)
        .await;

    let mut resumed = app
        .client
        .get(&events_url)
        .header("Last-Event-ID", seen[0].0.to_string())
        .send()
        .await
        .unwrap();
    let missed = read_events(&mut resumed, 10).await;
    let kinds: Vec<&str> = missed
        .iter()
        .map(|(_, e)| e["kind"].as_str().unwrap())
        .collect();
    // The wallet fetches the request (request_retrieved) before it presents.
    assert_eq!(kinds, ["opened", "requested", "scanned", "verified"]);
    assert!(missed.windows(2).all(|w| w[0].0 < w[1].0), "ids increase");
    assert!(
        resumed.chunk().await.unwrap().is_none(),
        "the stream ends after a terminal state"
    );
}

#[tokio::test]
async fn the_agent_stream_relays_live_events_with_their_words() {
    let app = connected().await;
    let started = app.started(MEGAN).await;
    let mut stream = app
        .client
        .get(format!(
            "{}/organization/verifications/{}/events",
            app.address, started.id
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(read_events(&mut stream, 1).await[0].1["kind"], "created");

    let page = app.recipient_page(&started.sent_link()).await;
    let live = read_events(&mut stream, 2).await;
    assert_eq!(live[0].1["kind"], "opened");
    assert_eq!(live[1].1["kind"], "requested");
    app.emulator
        .authenticator()
        .scan(&request_url(&page))
        .await
        .unwrap();
    let scanned = read_events(&mut stream, 1).await;
    assert_eq!(scanned[0].1["status"], "scanned");
    assert!(
        scanned[0].1["message"]
            .as_str()
            .unwrap()
            .contains("Authenticator")
    );
}

/// Also what a decline looks like to us: Microsoft documents no callback for it, so the scanned
/// request simply runs out and the person gets a fresh one on the same link.
#[tokio::test]
async fn a_fresh_code_after_a_scanned_one_ran_out_starts_over() {
    let app = connected().await;
    let started = app.started(MEGAN).await;
    let first = app.recipient_page(&started.sent_link()).await;
    app.emulator
        .authenticator()
        .scan(&request_url(&first))
        .await
        .unwrap();
    // The person walked away; Microsoft's request ran out.
    traceless::db::query("UPDATE presentation_requests SET expires_at = '2020-01-01T00:00:00Z'")
        .execute_on(&app.pool)
        .await
        .unwrap();

    let fresh = app.renew(&started.sent_link()).await;

    assert_eq!(fresh.status, "requested");
    app.emulator
        .authenticator()
        .scan(&request_url(&fresh))
        .await
        .unwrap();
    assert_eq!(app.detail(&started.id).await.status, "scanned");
    app.present(&request_url(&fresh), MEGAN, Variant::Valid)
        .await;
    assert_eq!(app.detail(&started.id).await.status, "verified");
}

#[tokio::test]
async fn face_check_below_the_organizations_threshold_may_be_retried() {
    let app = connected().await;
    ok_json::<()>(
        app.call(
            "update_verification_settings",
            &[
                ("link_lifetime_hours", "48"),
                ("face_check_threshold", "80"),
            ],
        )
        .await,
    )
    .await;
    let started = app.started(MEGAN).await;
    let page = app.recipient_page(&started.sent_link()).await;

    app.present(&request_url(&page), MEGAN, Variant::FaceCheckLow)
        .await;

    let detail = app.detail(&started.id).await;
    assert_eq!(
        detail.status, "opened",
        "a low Face Check score is a failed try, not a mismatch"
    );
    assert_eq!(
        app.event_kinds(&started.id).await.last().unwrap(),
        "attempt_failed.face_check_below_threshold"
    );
    let retry = app.renew(&started.sent_link()).await;
    app.present(&request_url(&retry), MEGAN, Variant::Valid)
        .await;
    let detail = app.detail(&started.id).await;
    assert_eq!(detail.status, "verified");
    assert!(
        detail.evidence.unwrap().face_check_score.is_some(),
        "the score is evidence"
    );
}

#[tokio::test]
async fn verification_settings_are_validated_and_admin_only() {
    let app = connected().await;
    for (hours, threshold) in [
        ("0", ""),
        ("721", ""),
        ("24", "49"),
        ("24", "101"),
        ("x", ""),
        ("24", "high"),
    ] {
        let response = app
            .call(
                "update_verification_settings",
                &[
                    ("link_lifetime_hours", hours),
                    ("face_check_threshold", threshold),
                ],
            )
            .await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{hours} {threshold}"
        );
    }
    let settings: app::model::VerificationSettings =
        ok_json(app.call("get_verification_settings", &[]).await).await;
    assert_eq!(settings.link_lifetime_hours, 24);
    assert_eq!(settings.face_check_threshold, None);

    let link: app::model::InviteLink =
        ok_json(app.invite("Grace", "grace@contoso.com", "agent").await).await;
    let grace = new_client();
    app.call_as(
        &grace,
        "accept_invite",
        &[("token", &token_of(&link.url)), ("password", PASSWORD)],
    )
    .await;
    let refused = app
        .call_as(
            &grace,
            "update_verification_settings",
            &[("link_lifetime_hours", "1"), ("face_check_threshold", "")],
        )
        .await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    // Agents do start verifications.
    let started = app
        .call_as(
            &grace,
            "send_verification",
            &[("email", MEGAN), ("ticket_reference", ""), ("note", "")],
        )
        .await;
    assert_eq!(started.status(), StatusCode::OK);
}
