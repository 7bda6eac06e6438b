//! Open event streams are bounded: a finished verification's stream ends, a resume point
//! beyond what exists is clamped, and a client holds at most its share of open streams
//! (429, or 503 for the whole process, each with `Retry-After`). The status endpoint is
//! rate-limited like the person's page.

use std::time::{Duration, Instant};

use reqwest::StatusCode;

use crate::helpers::*;

/// Far beyond any event id: today's `main` waits for it forever.
const HUGE_AFTER: &str = "9223372036854775000";

/// A cookie-keeping client whose requests come from `ip` (a loopback address); it follows
/// redirects.
fn client_from(ip: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .read_timeout(PATIENCE)
        .local_address(Some(ip.parse().unwrap()))
        .build()
        .unwrap()
}

/// Marks every open link expired, as the sweep does once a link runs out.
async fn expire_all(app: &TestApp) {
    traceless::db::query("UPDATE verifications SET link_expires_at = '2020-01-01T00:00:00Z'")
        .execute_on(&app.pool)
        .await
        .unwrap();
    assert!(app.verifier.expire_overdue().await.unwrap() > 0);
}

/// Reads a stream to its end: the body, and how long that took. A stream that never ends
/// fails the test after a generous wait.
async fn read_to_end(response: reqwest::Response) -> (String, Duration) {
    let began = Instant::now();
    let body = tokio::time::timeout(Duration::from_secs(20), response.text())
        .await
        .expect("the stream ends")
        .expect("a readable body");
    (body, began.elapsed())
}

fn status_events(body: &str) -> usize {
    body.matches("event: status").count()
}

#[tokio::test]
async fn a_finished_links_stream_asked_to_resume_beyond_its_events_ends_at_once() {
    let (app, link) = contoso_with_a_link(&[]).await;
    expire_all(&app).await;

    let began = Instant::now();
    let response = new_client()
        .get(format!("{link}/events?after={HUGE_AFTER}"))
        .send()
        .await
        .unwrap();
    // Nothing is left to send: 204, which tells EventSource not to reconnect.
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let (body, _) = read_to_end(response).await;
    let took = began.elapsed();
    println!("finished link, after={HUGE_AFTER}: answered and ended after {took:?}");
    assert!(took < Duration::from_secs(1), "ended after {took:?}");
    assert_eq!(body, "");

    // The same with Last-Event-ID, as a reconnecting browser sends it.
    let began = Instant::now();
    let response = new_client()
        .get(format!("{link}/events"))
        .header("Last-Event-ID", HUGE_AFTER)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    read_to_end(response).await;
    assert!(began.elapsed() < Duration::from_secs(1));
}

#[tokio::test]
async fn a_finished_links_stream_sends_what_is_left_and_ends() {
    let (app, link) = contoso_with_a_link(&[]).await;
    expire_all(&app).await;

    let response = new_client()
        .get(format!("{link}/events?after=0"))
        .send()
        .await
        .unwrap();
    let (body, took) = read_to_end(response).await;
    assert!(took < Duration::from_secs(1), "ended after {took:?}");
    assert!(status_events(&body) >= 2, "created … expired: {body}");
    assert!(body.contains(r#""status":"expired""#), "{body}");
}

#[tokio::test]
async fn a_resume_point_beyond_the_newest_event_still_gets_the_next_one() {
    let (app, link) = contoso_with_a_link(&[]).await;
    let response = new_client()
        .get(format!("{link}/events?after={HUGE_AFTER}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);

    expire_all(&app).await;

    let (body, _) = read_to_end(response).await;
    assert_eq!(status_events(&body), 1, "{body}");
    assert!(body.contains(r#""status":"expired""#), "{body}");
}

#[tokio::test]
async fn the_21st_stream_from_one_address_is_refused_while_the_20_stay_open() {
    // The default limit: 20 per address.
    let (app, link) = contoso_with_a_link(&[]).await;
    let here = client_from("127.0.0.1");
    let mut open = Vec::new();
    for _ in 0..20 {
        let response = here.get(format!("{link}/events")).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        open.push(response);
    }

    let refused = here.get(format!("{link}/events")).send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = refused.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(wait >= 1);
    // Another address has its own share.
    let elsewhere = client_from("127.0.0.2")
        .get(format!("{link}/events"))
        .send()
        .await
        .unwrap();
    assert_eq!(elsewhere.status(), StatusCode::OK);

    // The 20 are still open: each hears the next event, and ends with it.
    expire_all(&app).await;
    for response in open.drain(..19) {
        let (body, _) = read_to_end(response).await;
        assert!(body.contains(r#""status":"expired""#), "{body}");
    }
    // A slot given back is a slot free again.
    let again = here.get(format!("{link}/events")).send().await.unwrap();
    assert_eq!(again.status(), StatusCode::OK);
}

#[tokio::test]
async fn streams_beyond_the_process_total_are_told_to_come_back() {
    let (app, link) = contoso_with_a_link(&[("TRACELESS_MAX_STREAMS", "3")]).await;
    let mut open = Vec::new();
    for ip in ["127.0.0.1", "127.0.0.2", "127.0.0.3"] {
        let response = client_from(ip)
            .get(format!("{link}/events"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        open.push(response);
    }
    let refused = client_from("127.0.0.4")
        .get(format!("{link}/events"))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(refused.headers().contains_key("retry-after"));
    drop(app);
}

#[tokio::test]
async fn an_agents_streams_are_counted_per_session() {
    let (app, started) =
        contoso_with_a_verification(&[("TRACELESS_MAX_STREAMS_PER_IP", "2")]).await;
    let url = format!(
        "{}/organization/verifications/{}/events",
        app.address, started.id
    );
    let mut open = Vec::new();
    for _ in 0..2 {
        let response = app.client.get(&url).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        open.push(response);
    }
    let refused = app.client.get(&url).send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(refused.headers().contains_key("retry-after"));

    // The same admin signed in elsewhere (another session, same address) has a share too.
    let other_session = new_client();
    app.sign_in_as(&other_session, "ada@contoso.com", PASSWORD)
        .await;
    let response = other_session.get(&url).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn the_status_of_a_link_is_rate_limited_like_its_page() {
    let (_app, link) = contoso_with_a_link(&[("TRACELESS_RATE_LIMIT_LINK_PER_IP", "2/h")]).await;
    let person = new_client();
    for _ in 0..2 {
        let response = person.get(format!("{link}/status")).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
    }
    let refused = person.get(format!("{link}/status")).send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(refused.headers().contains_key("retry-after"));
}
