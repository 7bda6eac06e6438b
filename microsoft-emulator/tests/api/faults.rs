//! Faults: injected statuses and latency, and misbehaving callbacks.

use std::time::{Duration, Instant};

use microsoft_emulator::*;
use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn a_503_fault_hits_once_with_retry_after_then_the_endpoint_recovers() {
    let t = spawn_emu().await;
    let token = t.contoso_request_token().await;
    t.emu
        .faults()
        .add(FaultSpec::status("/verifiedid/*/createPresentationRequest", 503).times(1));
    let (status, err) = t
        .create_request(&token, &presentation_body("http://127.0.0.1:9/cb"))
        .await;
    assert_eq!(status, 503);
    assert_vc_error(&err, "serviceUnavailable", "transientError", None);
    let (status, _) = t
        .create_request(&token, &presentation_body("http://127.0.0.1:9/cb"))
        .await;
    assert_eq!(status, 201);
}

#[tokio::test]
async fn a_429_on_the_token_endpoint_has_retry_after_and_aad_shape_and_can_target_a_tenant() {
    let t = spawn_emu().await;
    t.connect(CONTOSO_ADMIN_EMAIL).await;
    t.emu.faults().add(FaultSpec {
        retry_after_secs: Some(7),
        ..FaultSpec::status("/login/*/oauth2/v2.0/token", 429).tenant(CONTOSO_TENANT_ID)
    });
    let res = t
        .http
        .post(format!(
            "{}/{CONTOSO_TENANT_ID}/oauth2/v2.0/token",
            t.emu.login_url()
        ))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 429);
    assert_eq!(res.headers()["retry-after"], "7");
    assert_eq!(
        res.json::<serde_json::Value>().await.unwrap()["error"],
        "temporarily_unavailable"
    );
    // Another tenant is unaffected.
    assert_eq!(
        t.app_token(FABRIKAM_TENANT_ID, REQUEST_SERVICE).await.0,
        400
    );
    t.emu.faults().clear();
    assert_eq!(t.app_token(CONTOSO_TENANT_ID, REQUEST_SERVICE).await.0, 200);
}

#[tokio::test]
async fn latency_and_graph_500_faults_over_the_control_api() {
    let t = spawn_emu().await;
    let body = t.connect(CONTOSO_ADMIN_EMAIL).await;
    let control = format!("{}_control/faults", t.emu.base_url());
    let res = t
        .http
        .post(&control)
        .json(&json!({"endpoint": "/graph/*", "latency_ms": 300, "status": 500, "times": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let listed: serde_json::Value = t
        .http
        .get(&control)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 1);
    let started = Instant::now();
    let res = t
        .http
        .get(format!("{}/v1.0/organization", t.emu.graph_url()))
        .bearer_auth(body["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(res.status(), 500);
    assert!(res.json::<serde_json::Value>().await.unwrap()["error"]["code"].is_string());
    let res = t
        .http
        .get(format!("{}/v1.0/organization", t.emu.graph_url()))
        .bearer_auth(body["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(t.http.delete(&control).send().await.unwrap().status(), 204);
}

async fn contoso_request(t: &TestEmu, cb: &str) -> String {
    let token = t.contoso_request_token().await;
    let (_, created) = t.create_request(&token, &presentation_body(cb)).await;
    created["url"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn a_duplicate_fault_sends_each_callback_twice() {
    let t = spawn_emu().await;
    let (sink, cb) = CallbackSink::start().await;
    let url = contoso_request(&t, &cb).await;
    t.emu
        .faults()
        .add(FaultSpec::callback(CallbackFault::Duplicate).times(1));
    t.emu
        .authenticator()
        .present(&url, CONTOSO_EMPLOYEE_EMAIL, Variant::Valid)
        .await
        .unwrap();
    assert_eq!(
        sink.statuses(),
        vec![
            "request_retrieved",
            "request_retrieved",
            "presentation_verified",
            "presentation_verified"
        ]
    );
}

#[tokio::test]
async fn an_out_of_order_fault_sends_verified_before_retrieved() {
    let t = spawn_emu().await;
    let (sink, cb) = CallbackSink::start().await;
    let url = contoso_request(&t, &cb).await;
    t.emu
        .faults()
        .add(FaultSpec::callback(CallbackFault::OutOfOrder).times(1));
    let scanned = t.emu.authenticator().scan(&url).await.unwrap();
    assert!(scanned.callbacks.is_empty());
    t.emu
        .authenticator()
        .present(&url, CONTOSO_EMPLOYEE_EMAIL, Variant::Valid)
        .await
        .unwrap();
    assert_eq!(
        sink.statuses(),
        vec!["presentation_verified", "request_retrieved"]
    );
}

#[tokio::test]
async fn a_drop_fault_sends_nothing() {
    let t = spawn_emu().await;
    let (sink, cb) = CallbackSink::start().await;
    let url = contoso_request(&t, &cb).await;
    let id = url.rsplit('/').next().unwrap().to_string();
    t.emu
        .faults()
        .add(FaultSpec::callback(CallbackFault::Drop).request_id(&id));
    let out = t
        .emu
        .authenticator()
        .present(&url, CONTOSO_EMPLOYEE_EMAIL, Variant::Valid)
        .await
        .unwrap();
    assert_eq!(
        out.dropped,
        vec!["request_retrieved", "presentation_verified"]
    );
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(sink.all().is_empty());
}

#[tokio::test]
async fn a_retry_fault_resends_after_the_rp_answers_5xx() {
    let t = spawn_emu().await;
    let (sink, cb) = CallbackSink::start().await;
    let url = contoso_request(&t, &cb).await;
    t.emu.authenticator().scan(&url).await.unwrap();
    t.emu
        .faults()
        .add(FaultSpec::callback(CallbackFault::RetryOn5xx));
    sink.answer_next(&[500, 503]);
    let out = t
        .emu
        .authenticator()
        .present(&url, CONTOSO_EMPLOYEE_EMAIL, Variant::Valid)
        .await
        .unwrap();
    assert_eq!(out.statuses(), vec![Some(500), Some(503), Some(200)]);
    assert_eq!(
        out.callbacks.iter().map(|c| c.attempt).collect::<Vec<_>>(),
        vec![1, 2, 3]
    );
    assert_eq!(
        sink.statuses(),
        vec![
            "request_retrieved",
            "presentation_verified",
            "presentation_verified",
            "presentation_verified"
        ]
    );
}
