//! Signed webhooks: a real HTTP receiver on loopback that checks every signature with the
//! docs/api.md's recipe and can refuse on demand.

use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode as AxumStatus};
use hmac::{Hmac, Mac};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::Sha256;

use crate::help_desk_api::{contoso_with_a_key, json_of, megan_for};
use crate::helpers::*;

/// Short waits, so retries happen within a test.
const FAST_RETRIES: &[(&str, &str)] = &[("TRACELESS_WEBHOOK_FIRST_RETRY_MS", "100")];

#[derive(Default)]
struct Inbox {
    /// Answer 500 to this many more requests.
    fail_next: usize,
    /// Every request: (signature header, raw body).
    requests: Vec<(String, String)>,
    /// Bodies answered with 200, in order.
    accepted: Vec<Value>,
}

struct Receiver {
    url: String,
    inbox: Arc<Mutex<Inbox>>,
}

impl Receiver {
    async fn start(fail_first: usize) -> Self {
        let inbox = Arc::new(Mutex::new(Inbox {
            fail_next: fail_first,
            ..Inbox::default()
        }));
        let router = axum::Router::new()
            .route("/hook", axum::routing::post(receive))
            .with_state(inbox.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, router).await });
        Receiver { url, inbox }
    }

    fn accepted(&self) -> Vec<Value> {
        self.inbox.lock().unwrap().accepted.clone()
    }

    fn requests(&self) -> Vec<(String, String)> {
        self.inbox.lock().unwrap().requests.clone()
    }

    async fn wait_for(&self, accepted: usize) -> Vec<Value> {
        eventually(&format!("{accepted} accepted deliveries"), || async {
            let now = self.accepted();
            if now.len() >= accepted {
                Ok(now)
            } else {
                Err(self.requests())
            }
        })
        .await
    }
}

async fn receive(
    State(inbox): State<Arc<Mutex<Inbox>>>,
    headers: HeaderMap,
    body: Bytes,
) -> AxumStatus {
    let signature = headers
        .get("traceless-signature")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body = String::from_utf8(body.to_vec()).unwrap();
    let mut inbox = inbox.lock().unwrap();
    inbox.requests.push((signature, body.clone()));
    if inbox.fail_next > 0 {
        inbox.fail_next -= 1;
        return AxumStatus::INTERNAL_SERVER_ERROR;
    }
    inbox.accepted.push(serde_json::from_str(&body).unwrap());
    AxumStatus::OK
}

/// docs/api.md's recipe: split `t=…,v1=…`, HMAC-SHA256 over `"{t}.{body}"` with the secret,
/// compare hex, and accept only a recent `t`.
fn signature_checks_out(secret: &str, header: &str, body: &str) -> bool {
    let parts: Vec<(&str, &str)> = header
        .split(',')
        .filter_map(|p| p.split_once('='))
        .collect();
    let Some(t) = parts.iter().find(|(k, _)| *k == "t").map(|(_, v)| *v) else {
        return false;
    };
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    if (now - t.parse::<i64>().unwrap_or(0)).abs() > 300 {
        return false;
    }
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t}.{body}").as_bytes());
    let expected = hex::encode(mac.finalize().into_bytes());
    parts.iter().any(|(k, v)| *k == "v1" && *v == expected)
}

async fn attempts_of_delivery(app: &TestApp) -> Vec<Option<i64>> {
    traceless::db::query("SELECT status_code FROM webhook_attempts ORDER BY id")
        .fetch_scalars_on(&app.pool)
        .await
        .unwrap()
}

/// Waits until the worker has recorded `count` attempts (a receiver has the request a
/// moment before the worker records its answer); returns their status codes.
async fn recorded_attempts(app: &TestApp, count: usize) -> Vec<Option<i64>> {
    eventually(&format!("{count} recorded attempts"), || async {
        let attempts = attempts_of_delivery(app).await;
        if attempts.len() >= count {
            Ok(attempts)
        } else {
            Err(attempts)
        }
    })
    .await
}

/// Waits until no delivery is pending: the worker has sent, and recorded, everything the
/// events so far gave it (deliveries are written with their event). Only then can a test
/// say that something was not sent.
async fn every_delivery_settled(app: &TestApp) {
    eventually("no pending webhook delivery", || async {
        let pending: i64 =
            traceless::db::query("SELECT COUNT(*) FROM webhook_deliveries WHERE state = 'pending'")
                .fetch_scalar_on(&app.pool)
                .await
                .unwrap();
        pending == 0
    })
    .await
}

/// The first attempt of the first endpoint's first delivery, once it is recorded, as the
/// admin's delivery log shows it.
async fn first_attempt(app: &TestApp) -> app::model::AttemptView {
    eventually("an attempt is recorded", || async {
        let webhooks: app::model::Webhooks =
            ok_json(app.call("webhook_endpoints", &[]).await).await;
        webhooks.endpoints[0]
            .deliveries
            .first()
            .and_then(|d| d.attempts.first().cloned())
    })
    .await
}

#[tokio::test]
async fn an_endpoint_that_fails_twice_then_succeeds_gets_the_event_once_after_three_attempts() {
    let (app, _key) = contoso_with_a_key(FAST_RETRIES).await;
    let receiver = Receiver::start(2).await;
    let endpoint = app
        .add_webhook_endpoint(&receiver.url, &["verification.created"])
        .await;

    let started = app
        .send_verification_to(microsoft_emulator::CONTOSO_EMPLOYEE_EMAIL)
        .await;

    let accepted = receiver.wait_for(1).await;
    assert_eq!(accepted.len(), 1);
    let event = &accepted[0];
    assert_eq!(event["type"], "verification.created");
    assert_eq!(event["verification"]["id"], started.id.as_str());
    assert_eq!(event["verification"]["status"], "created");
    assert!(event["id"].is_string() && event["created"].is_string());
    // The same event (same id, same body) each time, every time signed.
    let requests = receiver.requests();
    assert_eq!(requests.len(), 3);
    for (signature, body) in &requests {
        assert!(
            signature_checks_out(&endpoint.secret, signature, body),
            "{signature}"
        );
        assert!(!signature_checks_out("whsec_wrong", signature, body));
        assert_eq!(body, &requests[0].1);
    }
    // Recorded: delivered, with three attempts the admin sees.
    assert_eq!(
        recorded_attempts(&app, 3).await,
        vec![Some(500), Some(500), Some(200)]
    );
    let webhooks: app::model::Webhooks = ok_json(app.call("webhook_endpoints", &[]).await).await;
    let delivery = &webhooks.endpoints[0].deliveries[0];
    assert_eq!(delivery.state, "delivered");
    assert_eq!(delivery.attempts.len(), 3);
    assert_eq!(delivery.attempts[2].status, "HTTP 200");
    assert!(
        webhooks.endpoints[0].failing_since.is_none(),
        "a success clears the failure"
    );

    // Redeliver sends the same event again.
    let redeliver = app.call("redeliver_webhook", &[("id", &delivery.id)]).await;
    assert!(redeliver.status().is_success());
    let again = receiver.wait_for(2).await;
    assert_eq!(again[1], again[0]);
}

#[tokio::test]
async fn events_of_one_verification_arrive_in_order_even_when_the_first_is_retried() {
    let (app, key) = contoso_with_a_key(FAST_RETRIES).await;
    let receiver = Receiver::start(3).await;
    app.add_webhook_endpoint(
        &receiver.url,
        &["verification.created", "verification.cancelled"],
    )
    .await;
    let created = json_of(
        app.api_post(&key, "/api/v1/verifications", &megan_for("INC-5"))
            .await,
        StatusCode::CREATED,
    )
    .await;
    let id = created["id"].as_str().unwrap();
    json_of(
        app.api_post(
            &key,
            &format!("/api/v1/verifications/{id}/cancel"),
            &json!({}),
        )
        .await,
        StatusCode::OK,
    )
    .await;

    let accepted = receiver.wait_for(2).await;
    let types: Vec<&str> = accepted
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        vec!["verification.created", "verification.cancelled"]
    );
    assert_eq!(accepted[1]["verification"]["status"], "cancelled");
    assert_eq!(accepted[1]["ticket"]["reference"], "INC-5");
    // Nothing of the second event was sent while the first was still failing.
    let requests = receiver.requests();
    assert!(
        requests[..4]
            .iter()
            .all(|(_, body)| body.contains("verification.created"))
    );
}

#[tokio::test]
async fn a_per_request_webhook_url_gets_that_verification_signed_with_the_keys_secret() {
    let (app, _) = contoso_with_a_key(FAST_RETRIES).await;
    let key = app.create_api_key("Freshdesk").await;
    let receiver = Receiver::start(0).await;
    let mut body = megan_for("INC-6");
    body["webhook_url"] = json!(receiver.url);
    json_of(
        app.api_post(&key.key, "/api/v1/verifications", &body).await,
        StatusCode::CREATED,
    )
    .await;
    // Another verification without it is not sent there.
    json_of(
        app.api_post(&key.key, "/api/v1/verifications", &megan_for("INC-7"))
            .await,
        StatusCode::CREATED,
    )
    .await;

    let accepted = receiver.wait_for(1).await;
    assert_eq!(accepted[0]["type"], "verification.created");
    assert_eq!(accepted[0]["ticket"]["reference"], "INC-6");
    let (signature, raw) = &receiver.requests()[0];
    assert!(signature_checks_out(&key.webhook_secret, signature, raw));
    every_delivery_settled(&app).await;
    assert_eq!(receiver.requests().len(), 1);
}

#[tokio::test]
async fn an_endpoint_failing_for_the_whole_retry_window_is_disabled_with_a_notice() {
    let (app, _) = contoso_with_a_key(&[
        ("TRACELESS_WEBHOOK_FIRST_RETRY_MS", "100"),
        ("TRACELESS_WEBHOOK_RETRY_WINDOW_SECS", "1"),
    ])
    .await;
    let receiver = Receiver::start(usize::MAX).await;
    app.add_webhook_endpoint(&receiver.url, &["verification.created"])
        .await;
    app.send_verification_to(microsoft_emulator::CONTOSO_EMPLOYEE_EMAIL)
        .await;

    let webhooks = eventually("the endpoint is disabled", || async {
        let webhooks: app::model::Webhooks =
            ok_json(app.call("webhook_endpoints", &[]).await).await;
        webhooks.endpoints[0].disabled.is_some().then_some(webhooks)
    })
    .await;
    let (_, reason) = webhooks.endpoints[0].disabled.clone().unwrap();
    assert!(reason.contains("HTTP 500"), "{reason}");
    assert!(
        app.audit_actions()
            .await
            .contains(&"webhook.endpoint_disabled".to_owned())
    );
    // Nothing more is sent to it: once a later event has reached another endpoint and
    // nothing is pending, the worker has run past the disabled one.
    let sent = receiver.requests().len();
    let healthy = Receiver::start(0).await;
    app.add_webhook_endpoint(&healthy.url, &["verification.created"])
        .await;
    app.send_verification_to(microsoft_emulator::CONTOSO_EMPLOYEE_EMAIL)
        .await;
    healthy.wait_for(1).await;
    every_delivery_settled(&app).await;
    assert_eq!(receiver.requests().len(), sent);
}

#[tokio::test]
async fn an_endpoint_needs_a_safe_url_and_at_least_one_event() {
    let app = spawn_app().await;
    app.admin("Contoso Help Desk", "ada@contoso.com").await;
    let no_events = app
        .call(
            "add_webhook_endpoint",
            &[("url", "https://hooks.example.com/")],
        )
        .await;
    assert!(
        app_error(no_events, StatusCode::UNPROCESSABLE_ENTITY)
            .await
            .for_field("events")
            .is_some()
    );
    let plain_http = app
        .call(
            "add_webhook_endpoint",
            &[
                ("url", "http://hooks.example.com/"),
                ("events[0]", "verification.verified"),
            ],
        )
        .await;
    assert!(
        app_error(plain_http, StatusCode::UNPROCESSABLE_ENTITY)
            .await
            .for_field("url")
            .is_some()
    );
    assert_eq!(app.count("webhook_endpoints").await, 0);
}

/// A TCP listener on loopback that accepts connections and never answers: a stalled
/// endpoint, or a witness that nothing connected.
struct Silent {
    port: u16,
    accepted: Arc<std::sync::atomic::AtomicUsize>,
}

impl Silent {
    async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let accepted = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let count = accepted.clone();
        tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((socket, _)) = listener.accept().await {
                count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                held.push(socket);
            }
        });
        Silent { port, accepted }
    }

    fn accepted(&self) -> usize {
        self.accepted.load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// Private targets off, as in production.
const STRICT: &[(&str, &str)] = &[("TRACELESS_WEBHOOK_ALLOW_PRIVATE", "false")];

#[tokio::test]
async fn webhooks_into_private_networks_are_refused_at_registration_and_never_connected() {
    let (app, key) = contoso_with_a_key(STRICT).await;
    let witness = Silent::start().await;
    let port = witness.port;
    app.webhook_hosts()
        .set("inside.test", &["10.0.0.1".parse().unwrap()]);
    app.webhook_hosts()
        .set("here.test", &["127.0.0.1".parse().unwrap()]);
    for (url, reason) in [
        (
            "https://169.254.169.254/latest/meta-data/".to_owned(),
            "cloud metadata",
        ),
        (format!("https://[::ffff:127.0.0.1]:{port}/"), "loopback"),
        (
            "https://inside.test/hook".to_owned(),
            "resolves only to 10.0.0.1",
        ),
        (
            format!("https://here.test:{port}/hook"),
            "resolves only to 127.0.0.1",
        ),
        (format!("https://127.0.0.1:{port}/hook"), "loopback"),
        (format!("http://127.0.0.1:{port}/hook"), "loopback"),
        ("https://[fd00:ec2::254]/".to_owned(), "cloud metadata"),
    ] {
        // On the Webhooks page…
        let refused = app
            .call(
                "add_webhook_endpoint",
                &[("url", &url), ("events[0]", "verification.created")],
            )
            .await;
        let message = app_error(refused, StatusCode::UNPROCESSABLE_ENTITY)
            .await
            .for_field("url")
            .unwrap_or_else(|| panic!("{url}: a url error"));
        assert!(message.contains(reason), "{url}: {message}");
        // …and as one API request's webhook_url.
        let mut body = megan_for("INC-9");
        body["webhook_url"] = json!(url);
        let refused = json_of(
            app.api_post(&key, "/api/v1/verifications", &body).await,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
        assert_eq!(refused["field"], "webhook_url", "{url}: {refused}");
        assert!(
            refused["message"].as_str().unwrap().contains(reason),
            "{url}: {refused}"
        );
    }
    assert_eq!(app.count("webhook_endpoints").await, 0);
    assert_eq!(app.count("verifications").await, 0);
    assert_eq!(witness.accepted(), 0, "nothing connected");
}

#[tokio::test]
async fn metadata_and_link_local_addresses_are_refused_even_with_private_targets_allowed() {
    // The test suite allows private targets (its receivers are on loopback).
    let (app, _key) = contoso_with_a_key(&[]).await;
    app.webhook_hosts()
        .set("metadata.test", &["169.254.169.254".parse().unwrap()]);
    for url in [
        "https://169.254.169.254/",
        "http://169.254.169.254/",
        "https://[fe80::1]/",
        "https://0.0.0.0/",
        "https://metadata.test/",
    ] {
        let refused = app
            .call(
                "add_webhook_endpoint",
                &[("url", url), ("events[0]", "verification.created")],
            )
            .await;
        assert!(
            app_error(refused, StatusCode::UNPROCESSABLE_ENTITY)
                .await
                .for_field("url")
                .is_some(),
            "{url}"
        );
    }
    assert_eq!(app.count("webhook_endpoints").await, 0);
}

#[tokio::test]
async fn a_name_that_resolves_into_a_private_network_at_delivery_fails_with_the_reason_unconnected()
{
    let (app, _key) = contoso_with_a_key(STRICT).await;
    let witness = Silent::start().await;
    // Public when registered (nothing is sent then)…
    app.webhook_hosts()
        .set("rebind.test", &["93.184.215.14".parse().unwrap()]);
    app.add_webhook_endpoint(
        &format!("https://rebind.test:{}/hook", witness.port),
        &["verification.created"],
    )
    .await;
    // …loopback by the time a delivery connects (DNS rebinding).
    app.webhook_hosts()
        .set("rebind.test", &["127.0.0.1".parse().unwrap()]);
    app.send_verification_to(microsoft_emulator::CONTOSO_EMPLOYEE_EMAIL)
        .await;

    let attempt = first_attempt(&app).await;
    assert!(!attempt.ok);
    assert!(
        attempt
            .response
            .contains("rebind.test resolves only to 127.0.0.1"),
        "{attempt:?}"
    );
    assert_eq!(witness.accepted(), 0, "nothing connected");
}

#[tokio::test]
async fn an_endpoint_that_never_answers_does_not_delay_another_endpoints_deliveries() {
    // Each attempt may take a minute: the stalled endpoint holds its turn all test long.
    let (app, _key) = contoso_with_a_key(&[
        ("TRACELESS_WEBHOOK_TIMEOUT_MS", "60000"),
        ("TRACELESS_WEBHOOK_FIRST_RETRY_MS", "100"),
    ])
    .await;
    let stalled = Silent::start().await;
    let receiver = Receiver::start(0).await;
    app.add_webhook_endpoint(
        &format!("http://127.0.0.1:{}/hook", stalled.port),
        &["verification.created"],
    )
    .await;
    app.add_webhook_endpoint(&receiver.url, &["verification.created"])
        .await;

    app.send_verification_to(microsoft_emulator::CONTOSO_EMPLOYEE_EMAIL)
        .await;
    receiver.wait_for(1).await;
    eventually("the stalled endpoint is connected to", || async {
        stalled.accepted() > 0
    })
    .await;

    // The stalled endpoint is still waiting for its answer; the other gets the next
    // events as they come (the wait's 30 s is a generous bound, half the stalled deadline).
    app.send_verification_to(microsoft_emulator::CONTOSO_EMPLOYEE_EMAIL)
        .await;
    app.send_verification_to(microsoft_emulator::CONTOSO_EMPLOYEE_EMAIL)
        .await;
    receiver.wait_for(3).await;
}

#[tokio::test]
async fn only_the_start_of_an_answer_is_read_and_200_characters_are_shown() {
    let (app, _key) = contoso_with_a_key(&[]).await;
    let router = axum::Router::new().route(
        "/hook",
        axum::routing::post(|| async { "x".repeat(1024 * 1024) }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });
    app.add_webhook_endpoint(&url, &["verification.created"])
        .await;
    app.send_verification_to(microsoft_emulator::CONTOSO_EMPLOYEE_EMAIL)
        .await;

    let attempt = first_attempt(&app).await;
    assert!(attempt.ok, "{}", attempt.status);
    assert_eq!(attempt.response, "x".repeat(200));
    let stored: Vec<String> = traceless::db::query("SELECT response_excerpt FROM webhook_attempts")
        .fetch_scalars_on(&app.pool)
        .await
        .unwrap();
    assert_eq!(stored, vec!["x".repeat(200)]);
}

#[tokio::test]
async fn an_endless_answer_is_read_no_further_than_its_start() {
    // A minute per attempt: an attempt recorded well before proves the reading stopped.
    let (app, _key) = contoso_with_a_key(&[("TRACELESS_WEBHOOK_TIMEOUT_MS", "60000")]).await;
    let router = axum::Router::new().route(
        "/hook",
        axum::routing::post(|| async {
            let chunk = Bytes::from(vec![b'y'; 64 * 1024]);
            let endless =
                futures_util::stream::repeat_with(move || Ok::<_, std::io::Error>(chunk.clone()));
            axum::body::Body::from_stream(endless)
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });
    app.add_webhook_endpoint(&url, &["verification.created"])
        .await;
    app.send_verification_to(microsoft_emulator::CONTOSO_EMPLOYEE_EMAIL)
        .await;

    let stored = eventually(
        "the attempt ends without reading the whole answer",
        || async {
            let rows: Vec<String> =
                traceless::db::query("SELECT response_excerpt FROM webhook_attempts")
                    .fetch_scalars_on(&app.pool)
                    .await
                    .unwrap();
            (!rows.is_empty()).then_some(rows)
        },
    )
    .await;
    assert_eq!(stored, vec!["y".repeat(200)]);
    assert_eq!(attempts_of_delivery(&app).await, vec![Some(200)]);
}
