//! The person's event stream under the fan-out: it hears only its own verification, and a
//! stream that falls behind a burst re-reads from the database and misses nothing.

use std::time::Duration;

use app::model::{RecipientPage, StartedVerification};
use microsoft_emulator::{CONTOSO_ADMIN_EMAIL, CONTOSO_EMPLOYEE_EMAIL};
use reqwest::StatusCode;
use serde_json::json;
use traceless::secret::SecretHash;

use crate::helpers::*;

/// The secret half of the `api-key` the tests give the stored requests (ours is random and
/// stored hashed); the key sent is `<state>.<secret>`.
const API_KEY: &str = "test-callback-api-key";

/// A verification whose link the person opened, so Microsoft has a request for it.
struct Opened {
    token: String,
    /// What the opened page showed last: its stream resumes after it.
    last_event_id: i64,
    /// Our request id (`state`) and Microsoft's `requestId`, for callbacks.
    state: String,
    request_id: String,
}

async fn connected() -> TestApp {
    let app = spawn_app().await;
    app.admin("Contoso Help Desk", "ada@contoso.com").await;
    app.connect_microsoft(CONTOSO_ADMIN_EMAIL, "accept").await;
    app
}

async fn opened(app: &TestApp) -> Opened {
    let started: StartedVerification = app.send_verification_to(CONTOSO_EMPLOYEE_EMAIL).await;
    let token = token_of(&started.link);
    let page: RecipientPage = ok_json(
        app.call_as(
            &new_client(),
            "open_verification_link",
            &[("token", &token)],
        )
        .await,
    )
    .await;
    let id = uuid::Uuid::parse_str(&started.id).unwrap();
    let row = traceless::db::query(
        "SELECT id, microsoft_request_id FROM presentation_requests WHERE verification_id = $1",
    )
    .bind(id)
    .fetch_one_on(&app.pool)
    .await
    .unwrap();
    let (state, request_id): (uuid::Uuid, String) =
        (row.try_get(0).unwrap(), row.try_get(1).unwrap());
    traceless::db::query("UPDATE presentation_requests SET api_key_hash = $1 WHERE id = $2")
        .bind(SecretHash::of(API_KEY).as_str())
        .bind(state)
        .execute_on(&app.pool)
        .await
        .unwrap();
    Opened {
        token,
        last_event_id: page.last_event_id,
        state: state.to_string(),
        request_id,
    }
}

impl Opened {
    async fn stream(&self, app: &TestApp) -> reqwest::Response {
        let response = new_client()
            .get(format!(
                "{}/verify/{}/events?after={}",
                app.address, self.token, self.last_event_id
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        response
    }

    /// Microsoft's `request_retrieved` (a scan; repeats are recorded as ignored events).
    async fn scanned(&self, app: &TestApp) -> StatusCode {
        app.client
            .post(format!(
                "{}{}",
                app.address,
                app::ssr::VERIFIED_ID_CALLBACK_PATH
            ))
            .header("api-key", format!("{}.{API_KEY}", self.state))
            .json(&json!({
                "requestId": self.request_id,
                "requestStatus": "request_retrieved",
                "state": self.state,
            }))
            .send()
            .await
            .unwrap()
            .status()
    }
}

/// The ids of the events that arrive within `wait` (fewer when the stream is quiet).
async fn event_ids(stream: &mut reqwest::Response, wait: Duration, most: usize) -> Vec<i64> {
    let mut ids = Vec::new();
    let mut buffer = String::new();
    let deadline = tokio::time::Instant::now() + wait;
    while ids.len() < most {
        let Ok(chunk) = tokio::time::timeout_at(deadline, stream.chunk()).await else {
            break;
        };
        let Some(chunk) = chunk.unwrap() else { break };
        buffer.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = buffer.find("\n\n") {
            let block: String = buffer.drain(..end + 2).collect();
            ids.extend(
                block
                    .lines()
                    .filter_map(|l| l.strip_prefix("id:"))
                    .map(|v| v.trim().parse::<i64>().unwrap()),
            );
        }
    }
    ids
}

async fn stored_event_ids_after(app: &TestApp, token: &str, after: i64) -> Vec<i64> {
    traceless::db::query(
        "SELECT e.id FROM verification_events e JOIN verifications v ON v.id = e.verification_id
         WHERE v.link_hash = $1 AND e.id > $2 ORDER BY e.id",
    )
    .bind(SecretHash::of(token).as_str())
    .bind(after)
    .fetch_scalars_on(&app.pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn a_stream_receives_only_its_own_verifications_events() {
    let app = connected().await;
    let mine = opened(&app).await;
    let other = opened(&app).await;
    let mut my_stream = mine.stream(&app).await;
    let mut other_stream = other.stream(&app).await;

    for _ in 0..3 {
        assert_eq!(mine.scanned(&app).await, StatusCode::OK);
    }

    let mine_got = event_ids(&mut my_stream, Duration::from_secs(5), 3).await;
    assert_eq!(
        mine_got,
        stored_event_ids_after(&app, &mine.token, mine.last_event_id).await
    );
    assert_eq!(mine_got.len(), 3);
    // Once the other verification has an event of its own, its stream's first event is that
    // one: none of mine came before it.
    assert_eq!(other.scanned(&app).await, StatusCode::OK);
    let other_got = event_ids(&mut other_stream, Duration::from_secs(5), 1).await;
    assert_eq!(
        other_got,
        stored_event_ids_after(&app, &other.token, other.last_event_id).await,
        "another verification's events"
    );
}

#[tokio::test]
async fn a_stream_that_lags_behind_a_burst_misses_nothing_in_order() {
    let app = connected().await;
    let opened = opened(&app).await;
    // Opened, then not read while the burst lands: the stream falls behind.
    let mut stream = opened.stream(&app).await;
    let burst = 150;

    let answers = futures_util::future::join_all((0..burst).map(|_| opened.scanned(&app))).await;
    assert!(answers.iter().all(|s| *s == StatusCode::OK), "{answers:?}");

    let stored = stored_event_ids_after(&app, &opened.token, opened.last_event_id).await;
    assert_eq!(stored.len(), burst, "every callback stored an event");
    let got = event_ids(&mut stream, Duration::from_secs(10), burst).await;
    assert_eq!(got, stored, "every event once, in order");
    // One more event: the next the stream sends is that one, nothing twice before it.
    assert_eq!(opened.scanned(&app).await, StatusCode::OK);
    let newest = stored_event_ids_after(&app, &opened.token, *stored.last().unwrap()).await;
    assert_eq!(newest.len(), 1);
    let more = event_ids(&mut stream, Duration::from_secs(10), 1).await;
    assert_eq!(more, newest, "nothing twice");
}

#[tokio::test]
async fn the_status_of_a_link_shows_its_newest_event_and_an_unknown_link_is_expired() {
    let app = connected().await;
    let opened = opened(&app).await;
    let status = |token: String| {
        let url = format!("{}/verify/{token}/status", app.address);
        async move { new_client().get(url).send().await.unwrap() }
    };
    let before: serde_json::Value = ok_json(status(opened.token.clone()).await).await;
    assert_eq!(before["status"], "requested");
    assert_eq!(before["last_event_id"], opened.last_event_id);

    assert_eq!(opened.scanned(&app).await, StatusCode::OK);

    let after: serde_json::Value = ok_json(status(opened.token.clone()).await).await;
    assert_eq!(after["status"], "scanned");
    assert!(after["last_event_id"].as_i64() > Some(opened.last_event_id));
    let unknown = status("a".repeat(43)).await;
    assert_eq!(unknown.status(), StatusCode::GONE);
}
