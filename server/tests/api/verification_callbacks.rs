//! Callbacks as Microsoft really sends them, posted straight to our callback route: the
//! tests build the bodies themselves (documented shapes, plain date strings, extra fields,
//! undocumented error codes, large bodies) instead of relying on the emulator's wallet.

use std::time::Duration;

use app::model::{StartedVerification, VerificationDetail};
use microsoft_emulator::{CONTOSO_ADMIN_EMAIL, CONTOSO_DID, CONTOSO_EMPLOYEE_EMAIL};
use reqwest::StatusCode;
use serde_json::{Value, json};
use traceless::accounts::OrganizationId;
use traceless::secret::SecretHash;

use crate::helpers::*;

const MEGAN: &str = CONTOSO_EMPLOYEE_EMAIL;
/// The `api-key` the tests give the newest presentation request (Microsoft echoes the one we
/// sent; ours is random and stored hashed, so the test replaces the hash).
const API_KEY: &str = "test-callback-api-key";
const MIB: usize = 1024 * 1024;

/// A connected organization with one verification whose link was opened (a live request).
struct Opened {
    app: TestApp,
    id: String,
    link: String,
}

async fn opened() -> Opened {
    opened_with(&[]).await
}

async fn opened_with(extra: &[(&str, &str)]) -> Opened {
    let app = spawn_app_with(extra).await;
    app.admin("Contoso Help Desk", "ada@contoso.com").await;
    app.connect_microsoft(CONTOSO_ADMIN_EMAIL, "accept").await;
    let started: StartedVerification = ok_json(
        app.call(
            "send_verification",
            &[("email", MEGAN), ("ticket_reference", ""), ("note", "")],
        )
        .await,
    )
    .await;
    let opened = Opened {
        app,
        link: started.sent_link(),
        id: started.id,
    };
    opened.open().await;
    opened
}

impl Opened {
    /// Opens the link as the person; `renew` asks for a fresh request.
    async fn open(&self) {
        let name = if self.detail().await.status == "created" {
            "open_verification_link"
        } else {
            "renew_request"
        };
        let response = self
            .app
            .call_as(&new_client(), name, &[("token", &token_of(&self.link))])
            .await;
        assert_eq!(response.status(), StatusCode::OK, "{name}");
    }

    async fn detail(&self) -> VerificationDetail {
        ok_json(
            self.app
                .call("verification_overview", &[("id", &self.id)])
                .await,
        )
        .await
    }

    async fn kinds(&self) -> Vec<String> {
        self.detail()
            .await
            .events
            .into_iter()
            .map(|e| e.kind.to_string())
            .collect()
    }

    /// The newest request's `state` and Microsoft `requestId`, its api-key set to `API_KEY`.
    async fn request(&self) -> (String, String) {
        let row = traceless::db::query(
            "SELECT id, microsoft_request_id FROM presentation_requests
             WHERE verification_id = $1 ORDER BY created_at DESC LIMIT 1",
        )
        .bind(uuid::Uuid::parse_str(&self.id).unwrap())
        .fetch_one_on(&self.app.pool)
        .await
        .unwrap();
        let (state, microsoft_id): (uuid::Uuid, String) =
            (row.try_get(0).unwrap(), row.try_get(1).unwrap());
        traceless::db::query("UPDATE presentation_requests SET api_key_hash = $1 WHERE id = $2")
            .bind(SecretHash::of(API_KEY).as_str())
            .bind(state)
            .execute_on(&self.app.pool)
            .await
            .unwrap();
        (state.to_string(), microsoft_id)
    }

    /// Posts `body` with the newest request's key (which names that request).
    async fn post(&self, body: Vec<u8>) -> StatusCode {
        let (state, _) = self.request().await;
        self.app
            .client
            .post(format!(
                "{}{}",
                self.app.address,
                app::ssr::VERIFIED_ID_CALLBACK_PATH
            ))
            .header("api-key", format!("{state}.{API_KEY}"))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect("the callback is answered")
            .status()
    }

    /// Posts `body` for the newest request, with its `requestId` and `state` filled in.
    async fn callback(&self, mut body: Value) -> StatusCode {
        let (state, microsoft_id) = self.request().await;
        body["requestId"] = microsoft_id.into();
        body["state"] = state.into();
        self.post(body.to_string().into_bytes()).await
    }
}

/// `presentation_verified` in the documented shape (reference §6), for `claims`.
fn presented(claims: Value) -> Value {
    json!({
        "requestStatus": "presentation_verified",
        "subject": "did:web:holder.example",
        "verifiedCredentialsData": [{
            "issuer": CONTOSO_DID,
            "type": ["VerifiableCredential", "VerifiedEmployee"],
            "claims": claims,
            "credentialState": {"revocationStatus": "VALID"},
            "domainValidation": {"url": "https://verifiedid.contoso.com/"},
            "issuanceDate": "2024-05-01T10:00:00Z",
            "expirationDate": "2030-11-01T10:00:00Z"
        }]
    })
}

fn megan() -> Value {
    json!({"displayName": "Megan Bowen", "givenName": "Megan", "surname": "Bowen", "mail": MEGAN})
}

fn error(code: &str, message: &str) -> Value {
    json!({"requestStatus": "presentation_error", "error": {"code": code, "message": message}})
}

#[tokio::test]
async fn a_callback_with_plain_date_strings_and_extra_fields_is_accepted() {
    let v = opened().await;
    let mut body = presented(json!({
        "displayName": "Megan Bowen", "mail": MEGAN, "employeeNumber": 4711, "isManager": false,
        "nested": {"unexpected": true}
    }));
    let credential = &mut body["verifiedCredentialsData"][0];
    credential["issuanceDate"] = "2024-05-01T12:00:00.1234567+02:00".into();
    credential["expirationDate"] = "2030-11-01".into();
    credential["somethingNew"] = json!({"x": [1, 2]});
    credential
        .as_object_mut()
        .unwrap()
        .remove("domainValidation");
    body["aNewTopLevelField"] = "x".into();
    body["receipt"] = json!({"vp_token": ["eyJ.a", "eyJ.b"], "id_token": "eyJ.c", "extra": 1});

    assert_eq!(
        v.callback(json!({"requestStatus": "request_retrieved", "extra": {"a": 1}}))
            .await,
        StatusCode::OK
    );
    assert_eq!(v.callback(body).await, StatusCode::OK);

    let detail = v.detail().await;
    assert_eq!(detail.status, "verified", "{:?}", detail.events);
    assert_eq!(detail.evidence.unwrap().email.as_deref(), Some(MEGAN));
}

#[tokio::test]
async fn a_credential_without_mail_fails_as_carrying_no_email() {
    let v = opened().await;

    let status = v
        .callback(presented(json!({"displayName": "Megan Bowen"})))
        .await;

    assert_eq!(status, StatusCode::OK);
    let detail = v.detail().await;
    assert_eq!(detail.status, "failed");
    assert_eq!(v.kinds().await.last().unwrap(), "failed.no_email");
    let failure = detail.failure.unwrap();
    assert!(failure.contains("carries no email address"), "{failure}");
    assert!(failure.contains("reissue the credential"), "{failure}");
    assert!(!failure.contains("different email"), "{failure}");
    assert!(!detail.mismatch, "no email is not someone else's identity");
    let evidence = detail.evidence.unwrap();
    assert_eq!(evidence.email, None);
    assert!(
        evidence
            .checks
            .iter()
            .any(|c| !c.passed && c.detail == "The credential has no mail claim"),
        "{:?}",
        evidence.checks
    );
}

#[tokio::test]
async fn the_email_claim_is_part_of_the_integration_and_mail_is_the_default() {
    let v = opened().await;
    let organization: uuid::Uuid =
        traceless::db::query("SELECT organization_id FROM microsoft_integrations")
            .fetch_scalar_on(&v.app.pool)
            .await
            .unwrap();
    let integration =
        traceless::integrations::integration(&v.app.pool, OrganizationId(organization))
            .await
            .unwrap()
            .unwrap();
    assert_eq!(integration.email_claim, "mail");

    // A custom credential type whose email claim is `email` (as the connect flow would store
    // it); the request for the page was already made, so the emulator never sees the type.
    traceless::db::query(
        "UPDATE microsoft_integrations SET credential_type = 'ContosoBadge', email_claim = 'email'",
    )
    .execute_on(&v.app.pool)
    .await
    .unwrap();
    let integration =
        traceless::integrations::integration(&v.app.pool, OrganizationId(organization))
            .await
            .unwrap()
            .unwrap();
    assert_eq!(integration.email_claim, "email");
    let mut body = presented(json!({"displayName": "Megan Bowen", "email": MEGAN}));
    body["verifiedCredentialsData"][0]["type"] = json!(["VerifiableCredential", "ContosoBadge"]);

    assert_eq!(v.callback(body).await, StatusCode::OK);

    let detail = v.detail().await;
    assert_eq!(detail.status, "verified", "{:?}", detail.events);
    let evidence = detail.evidence.unwrap();
    assert_eq!(evidence.email.as_deref(), Some(MEGAN));
    assert!(evidence.checks.iter().all(|c| c.passed));
}

#[tokio::test]
async fn a_credential_with_only_mail_fails_when_the_integration_reads_email() {
    let v = opened().await;
    traceless::db::query("UPDATE microsoft_integrations SET email_claim = 'email'")
        .execute_on(&v.app.pool)
        .await
        .unwrap();

    assert_eq!(v.callback(presented(megan())).await, StatusCode::OK);

    assert_eq!(v.kinds().await.last().unwrap(), "failed.no_email");
}

#[tokio::test]
async fn an_undocumented_error_code_is_kept_shown_and_retryable() {
    let v = opened().await;

    let status = v
        .callback(error(
            "walletBusy",
            "The wallet could not finish.\nTry again.",
        ))
        .await;

    assert_eq!(status, StatusCode::OK);
    let detail = v.detail().await;
    assert_eq!(detail.status, "opened", "the person may try again");
    assert_eq!(detail.tries_used, 1);
    assert!(!detail.mismatch);
    let last = detail.events.last().unwrap();
    assert_eq!(last.kind, "attempt_failed.authenticator_error");
    assert!(
        last.message
            .contains("Microsoft reported: walletBusy: The wallet could not finish. Try again."),
        "{}",
        last.message
    );

    // A fresh request, and the person gets through.
    v.open().await;
    assert_eq!(v.callback(presented(megan())).await, StatusCode::OK);
    assert_eq!(v.detail().await.status, "verified");
}

#[tokio::test]
async fn codes_we_once_guessed_are_just_undocumented_codes() {
    let v = opened().await;
    for code in ["userCanceled", "credentialRevoked"] {
        assert_eq!(v.callback(error(code, "")).await, StatusCode::OK);
        assert_eq!(
            v.kinds().await.last().unwrap(),
            "attempt_failed.authenticator_error",
            "{code}"
        );
        v.open().await;
    }
    // The third failed try ends it, still as a Microsoft error, with the code shown.
    assert_eq!(
        v.callback(error("issuerNotAccepted", "Issuer not accepted"))
            .await,
        StatusCode::OK
    );
    let detail = v.detail().await;
    assert_eq!(detail.status, "failed");
    assert!(!detail.mismatch);
    let last = detail.events.last().unwrap();
    assert_eq!(last.kind, "failed.authenticator_error");
    assert!(
        last.message
            .contains("Microsoft reported: issuerNotAccepted: Issuer not accepted."),
        "{}",
        last.message
    );
}

#[tokio::test]
async fn a_verdict_without_a_credential_or_an_error_without_its_code_is_a_retryable_try() {
    let v = opened().await;

    let bare_error = json!({"requestStatus": "presentation_error"});
    assert_eq!(v.callback(bare_error).await, StatusCode::OK);
    let detail = v.detail().await;
    assert_eq!(detail.status, "opened");
    assert!(
        detail
            .events
            .last()
            .unwrap()
            .message
            .contains("Microsoft reported: (no code)."),
        "{:?}",
        detail.events.last()
    );

    v.open().await;
    let empty = json!({"requestStatus": "presentation_verified", "verifiedCredentialsData": []});
    assert_eq!(v.callback(empty).await, StatusCode::OK);
    let detail = v.detail().await;
    assert_eq!(detail.status, "opened");
    assert_eq!(detail.tries_used, 2);
    assert_eq!(
        v.kinds().await.last().unwrap(),
        "attempt_failed.authenticator_error"
    );
}

#[tokio::test]
async fn face_check_below_the_threshold_is_the_documented_code() {
    let v = opened().await;

    let status = v
        .callback(error(
            "claimValidationError",
            "Match confidence score failing to meet the threshold.",
        ))
        .await;

    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        v.kinds().await.last().unwrap(),
        "attempt_failed.face_check_below_threshold"
    );
}

#[tokio::test]
async fn a_revoked_credential_fails_as_revoked() {
    let v = opened().await;
    let mut body = presented(megan());
    body["verifiedCredentialsData"][0]["credentialState"] = json!({"revocationStatus": "REVOKED"});

    assert_eq!(v.callback(body).await, StatusCode::OK);

    let detail = v.detail().await;
    assert_eq!(detail.status, "failed");
    assert!(detail.mismatch);
    assert_eq!(v.kinds().await.last().unwrap(), "failed.revoked");
    assert!(
        detail
            .evidence
            .unwrap()
            .checks
            .iter()
            .any(|c| !c.passed && c.detail == "Revocation status REVOKED")
    );
}

#[tokio::test]
async fn a_credential_without_credential_state_is_not_verified() {
    // We ask with `allowRevoked: true`: only Microsoft's explicit VALID says it is good.
    let v = opened().await;
    let mut body = presented(megan());
    body["verifiedCredentialsData"][0]
        .as_object_mut()
        .unwrap()
        .remove("credentialState");

    assert_eq!(v.callback(body).await, StatusCode::OK);

    let detail = v.detail().await;
    assert_eq!(detail.status, "failed");
    assert_eq!(v.kinds().await.last().unwrap(), "failed.revocation_unknown");
    assert!(!detail.mismatch, "not someone else's identity");
    assert!(
        detail
            .failure
            .unwrap()
            .contains("Microsoft did not say the credential is valid")
    );
}

#[tokio::test]
async fn with_face_check_requested_a_verdict_without_a_score_is_not_verified() {
    let v = opened().await;
    let response = v
        .app
        .call(
            "update_verification_settings",
            &[
                ("link_lifetime_hours", "48"),
                ("face_check_threshold", "80"),
            ],
        )
        .await;
    assert!(response.status().is_success());
    // A fresh request, made with Face Check (the threshold is stored with it).
    v.open().await;

    assert_eq!(v.callback(presented(megan())).await, StatusCode::OK);

    assert_eq!(
        v.kinds().await.last().unwrap(),
        "attempt_failed.face_check_below_threshold"
    );
    let mut scored = presented(megan());
    scored["verifiedCredentialsData"][0]["faceCheck"] =
        json!({"matchConfidenceScore": 91.5, "sourcePhotoQuality": "HIGH"});
    v.open().await;
    assert_eq!(v.callback(scored).await, StatusCode::OK);
    assert_eq!(v.detail().await.status, "verified");
}

#[tokio::test]
async fn an_issuer_we_do_not_recognise_is_a_failure_not_a_refusal() {
    let v = opened().await;
    let mut body = presented(megan());
    body["verifiedCredentialsData"][0]["issuer"] = "not even a DID".into();

    assert_eq!(v.callback(body).await, StatusCode::OK);

    assert_eq!(
        v.kinds().await.last().unwrap(),
        "failed.issuer_not_connected_tenant"
    );
}

#[tokio::test]
async fn a_5_mib_callback_is_accepted_and_an_11_mib_one_is_refused() {
    let v = opened().await;
    let before = v.kinds().await;
    let with_photo = |bytes: usize| {
        let mut claims = megan();
        claims["photo"] = "A".repeat(bytes).into();
        presented(claims)
    };

    assert_eq!(
        v.callback(with_photo(11 * MIB)).await,
        StatusCode::PAYLOAD_TOO_LARGE
    );
    assert_eq!(
        v.kinds().await,
        before,
        "a refused callback changes nothing"
    );
    assert_eq!(v.detail().await.status, "requested");

    assert_eq!(v.callback(with_photo(5 * MIB)).await, StatusCode::OK);
    assert_eq!(v.detail().await.status, "verified");
}

#[tokio::test]
async fn a_callback_missing_state_or_request_id_is_refused_and_changes_nothing() {
    let v = opened().await;
    let (state, microsoft_id) = v.request().await;
    let before = v.kinds().await;
    let full = presented(megan());

    for missing in ["state", "requestId", "requestStatus"] {
        let mut body = full.clone();
        body["state"] = state.clone().into();
        body["requestId"] = microsoft_id.clone().into();
        body.as_object_mut().unwrap().remove(missing);
        assert_eq!(
            v.post(body.to_string().into_bytes()).await,
            StatusCode::BAD_REQUEST,
            "{missing}"
        );
    }
    // Microsoft's samples answer an unknown requestStatus with 400 too.
    let unknown =
        json!({"requestId": microsoft_id, "state": state, "requestStatus": "issuance_successful"});
    assert_eq!(
        v.post(unknown.to_string().into_bytes()).await,
        StatusCode::BAD_REQUEST
    );

    assert_eq!(v.kinds().await, before);
    assert_eq!(v.detail().await.status, "requested");
}

/// The head of a raw HTTP/1.1 callback that declares `len` body bytes.
fn callback_head(app: &TestApp, api_key: &str, len: usize) -> String {
    let host = app.address.trim_start_matches("http://");
    format!(
        "POST {} HTTP/1.1\r\nHost: {host}\r\napi-key: {api_key}\r\n\
         Content-Type: application/json\r\nContent-Length: {len}\r\n\r\n",
        app::ssr::VERIFIED_ID_CALLBACK_PATH
    )
}

async fn raw_connection(app: &TestApp) -> tokio::net::TcpStream {
    tokio::net::TcpStream::connect(app.address.trim_start_matches("http://"))
        .await
        .unwrap()
}

/// The status line of the answer on `socket`, or `None` if none came within `wait`.
async fn status_line(socket: &mut tokio::net::TcpStream, wait: Duration) -> Option<String> {
    use tokio::io::AsyncReadExt;
    let mut answer = vec![0u8; 4096];
    let read = tokio::time::timeout(wait, socket.read(&mut answer))
        .await
        .ok()?;
    let n = read.ok()?;
    let text = String::from_utf8_lossy(&answer[..n]).into_owned();
    text.lines().next().map(str::to_owned)
}

/// This process's resident memory, in MiB (Linux): the server runs in the test's process.
fn resident_mib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024)
}

#[tokio::test]
async fn a_wrong_key_with_a_10_mib_body_is_refused_before_the_body_is_read() {
    use tokio::io::AsyncWriteExt;
    let v = opened().await;
    let (state, _) = v.request().await;
    let before = v.kinds().await;

    for key in [
        format!("{state}.not-the-secret"),
        format!("{}.{API_KEY}", uuid::Uuid::new_v4()),
        API_KEY.to_owned(),
        String::new(),
    ] {
        let mut socket = raw_connection(&v.app).await;
        socket
            .write_all(callback_head(&v.app, &key, 10 * MIB).as_bytes())
            .await
            .unwrap();
        // Not one byte of the body is sent: a server that read it first would never answer.
        let began = std::time::Instant::now();
        let status = status_line(&mut socket, Duration::from_secs(10))
            .await
            .expect("answered without the body");
        println!(
            "api-key {:?}: {status} after {:?}, 0 of 10 MiB sent",
            key.split('.').next_back(),
            began.elapsed()
        );
        assert_eq!(status, "HTTP/1.1 401 Unauthorized");
    }

    // Twenty at once, each sending its whole 10 MiB body: the server keeps none of it.
    let body = bytes_of(10 * MIB);
    let rss_before = resident_mib();
    let began = std::time::Instant::now();
    let mut uploads = tokio::task::JoinSet::new();
    for _ in 0..20 {
        let mut socket = raw_connection(&v.app).await;
        let head = callback_head(&v.app, &format!("{state}.not-the-secret"), 10 * MIB);
        let body = body.clone();
        uploads.spawn(async move {
            socket.write_all(head.as_bytes()).await.unwrap();
            // The server may close the connection once it answered: sending stops there.
            let mut sent = 0;
            for chunk in body.chunks(64 * 1024) {
                if socket.write_all(chunk).await.is_err() {
                    break;
                }
                sent += chunk.len();
            }
            (
                status_line(&mut socket, Duration::from_secs(10)).await,
                sent,
            )
        });
    }
    while let Some(upload) = uploads.join_next().await {
        let (status, sent) = upload.unwrap();
        if let Some(status) = status {
            assert_eq!(status, "HTTP/1.1 401 Unauthorized", "sent {sent} bytes");
        }
    }
    println!(
        "20 wrong-key 10 MiB uploads answered in {:?}; resident memory {:?} MiB before, {:?} MiB after",
        began.elapsed(),
        rss_before,
        resident_mib()
    );
    assert_eq!(
        v.kinds().await,
        before,
        "a refused callback changes nothing"
    );

    // The right key with a normal body still works.
    assert_eq!(
        v.callback(serde_json::json!({"requestStatus": "request_retrieved"}))
            .await,
        StatusCode::OK
    );
}

fn bytes_of(len: usize) -> std::sync::Arc<Vec<u8>> {
    std::sync::Arc::new(vec![b' '; len])
}

#[tokio::test]
async fn callbacks_beyond_the_bytes_in_flight_are_told_to_come_back() {
    use tokio::io::AsyncWriteExt;
    // Room for one 10 MiB body and one more MiB.
    let v = opened_with(&[("TRACELESS_CALLBACK_MAX_INFLIGHT_MB", "11")]).await;
    let (state, microsoft_id) = v.request().await;
    let key = format!("{state}.{API_KEY}");

    // A slow upload holds room for all it declared. It is only let in when it asks while no
    // other callback holds room, and nothing tells the test when the server has read its
    // head: when a contender got there first, the slow upload is refused (503) and tries
    // again, as Microsoft would.
    let open_slow = || async {
        let mut slow = raw_connection(&v.app).await;
        slow.write_all(callback_head(&v.app, &key, 10 * MIB).as_bytes())
            .await
            .unwrap();
        slow.write_all(b"{").await.unwrap();
        slow
    };
    let mut slow = open_slow().await;

    // Once it holds its room (the key was checked first), a 2 MiB callback is refused.
    // Generous: on a loaded machine the key's database read may take a while.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let refused = loop {
        let response = v
            .app
            .client
            .post(format!(
                "{}{}",
                v.app.address,
                app::ssr::VERIFIED_ID_CALLBACK_PATH
            ))
            .header("api-key", &key)
            .header("content-type", "application/json")
            .body(vec![b' '; 2 * MIB])
            .send()
            .await
            .unwrap();
        if response.status() == StatusCode::SERVICE_UNAVAILABLE {
            break response;
        }
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "not a callback");
        let slow_answer = status_line(&mut slow, Duration::from_millis(1)).await;
        if let Some(line) = &slow_answer {
            assert!(
                line.contains(" 503 "),
                "the slow upload was answered {line}"
            );
            slow = open_slow().await;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "never refused; the slow upload was last answered {slow_answer:?}"
        );
    };
    let wait: u64 = refused.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(wait >= 1);

    // The slow upload leaves: its room comes back, and callbacks land again.
    drop(slow);
    let body = serde_json::json!({
        "requestId": microsoft_id,
        "requestStatus": "request_retrieved",
        "state": state,
    });
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let status = v.post(body.to_string().into_bytes()).await;
        if status == StatusCode::OK {
            break;
        }
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(
            tokio::time::Instant::now() < deadline,
            "the room never came back"
        );
        tokio::task::yield_now().await;
    }
}
