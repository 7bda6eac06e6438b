//! Several server instances on one database: an event stored by one instance reaches the
//! pages open on another (PostgreSQL `LISTEN/NOTIFY`), even across a lost listener
//! connection; background work shared by every instance is done once; a browser's session
//! and Microsoft's sign-in return are good on any instance.
//!
//! The event tests need PostgreSQL (`TRACELESS_TEST_POSTGRES_URL`): on SQLite there is one
//! instance by design. They sit in [`postgres_only`], ignored by a plain `cargo test` (so a
//! SQLite run lists them as ignored instead of passing them unchecked) and run by
//! `./scripts/test postgres`. The others run on both.

use std::time::Duration;

use app::model::{RecipientPage, StartedVerification};
use microsoft_emulator::{CONTOSO_ADMIN_EMAIL, CONTOSO_EMPLOYEE_EMAIL, Variant};

use crate::helpers::*;

async fn connected() -> TestApp {
    let app = spawn_app().await;
    app.admin("Contoso Help Desk", "ada@contoso.com").await;
    app.connect_microsoft(CONTOSO_ADMIN_EMAIL, "accept").await;
    app
}

/// The person opens the link on `address` (that instance asks Microsoft for the request,
/// so Microsoft's callbacks go to it).
async fn open_link_on(address: &str, link: &str) -> RecipientPage {
    ok_json(
        new_client()
            .post(format!("{address}/api/open_verification_link"))
            .header("Accept", "application/json")
            .form(&[("token", token_of(link))])
            .send()
            .await
            .expect("request sent"),
    )
    .await
}

/// Event kinds read from an open stream until `last` arrives (or `limit` passes).
async fn read_until(response: &mut reqwest::Response, last: &str, limit: Duration) -> Vec<String> {
    let mut kinds = Vec::new();
    let mut buffer = String::new();
    let deadline = tokio::time::Instant::now() + limit;
    while !kinds.iter().any(|k| k == last) {
        let chunk = match tokio::time::timeout_at(deadline, response.chunk()).await {
            Err(_) => break,
            Ok(chunk) => chunk.expect("the stream reads cleanly"),
        };
        let Some(chunk) = chunk else { break };
        buffer.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = buffer.find("\n\n") {
            let block: String = buffer.drain(..end + 2).collect();
            for line in block.lines() {
                if let Some(data) = line.strip_prefix("data:") {
                    let data: serde_json::Value = serde_json::from_str(data.trim()).unwrap();
                    kinds.push(data["kind"].as_str().unwrap_or_default().to_owned());
                }
            }
        }
    }
    kinds
}

/// The person's stream on `address`, read until it is live (it replays `created` first).
async fn live_stream(address: &str, started: &StartedVerification) -> reqwest::Response {
    let mut stream = new_client()
        .get(format!(
            "{address}/verify/{}/events",
            token_of(&started.sent_link())
        ))
        .send()
        .await
        .unwrap();
    let replayed = read_until(&mut stream, "created", Duration::from_secs(5)).await;
    assert_eq!(replayed, ["created"], "the stream is live");
    stream
}

/// What only PostgreSQL does: events between instances (`LISTEN/NOTIFY`). Run with
/// `TRACELESS_TEST_POSTGRES_URL` set and `cargo test -p server --test api postgres_only:: --
/// --ignored`, as `./scripts/test postgres` does.
mod postgres_only {
    use super::*;

    /// `connected`, failing at once when the suite runs on SQLite rather than passing
    /// without checking anything.
    async fn connected_on_postgres() -> TestApp {
        assert!(
            std::env::var(POSTGRES_URL_VAR).is_ok(),
            "this test needs PostgreSQL: set {POSTGRES_URL_VAR} (./scripts/test postgres does)"
        );
        connected().await
    }

    #[tokio::test]
    #[ignore = "needs PostgreSQL: run ./scripts/test postgres"]
    async fn a_callback_on_one_instance_reaches_the_page_open_on_another() {
        let app = connected_on_postgres().await;
        let other = app.another_instance().await;
        let started = app.send_verification_to(CONTOSO_EMPLOYEE_EMAIL).await;
        let mut page_on_first = live_stream(&app.address, &started).await;

        // Opened on the other instance: Microsoft calls that one back.
        let page = open_link_on(&other.address, &started.sent_link()).await;
        app.emulator
            .authenticator()
            .present(
                &page.request.expect("a QR code").url,
                CONTOSO_EMPLOYEE_EMAIL,
                Variant::Valid,
            )
            .await
            .expect("the wallet presents");

        let kinds = read_until(&mut page_on_first, "verified", Duration::from_secs(5)).await;
        assert_eq!(kinds, ["opened", "requested", "scanned", "verified"]);
        other.stop().await;
    }

    #[tokio::test]
    #[ignore = "needs PostgreSQL: run ./scripts/test postgres"]
    async fn events_committed_while_the_listener_was_cut_off_still_reach_the_page() {
        let app = connected_on_postgres().await;
        let other = app.another_instance().await;
        let started = app.send_verification_to(CONTOSO_EMPLOYEE_EMAIL).await;
        let mut page_on_first = live_stream(&app.address, &started).await;
        let page = open_link_on(&other.address, &started.sent_link()).await;
        let opened = read_until(&mut page_on_first, "requested", Duration::from_secs(5)).await;
        assert_eq!(opened, ["opened", "requested"]);

        // The database drops every listening connection (both instances'); the wallet's
        // callbacks commit on the other instance before the first one has listened again.
        let cut: i64 = traceless::db::query(
            "SELECT COUNT(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity
             WHERE datname = current_database() AND query LIKE 'LISTEN%') AS cut",
        )
        .fetch_scalar_on(&app.pool)
        .await
        .unwrap();
        assert!(cut >= 2, "both listeners were cut off ({cut})");
        app.emulator
            .authenticator()
            .present(
                &page.request.expect("a QR code").url,
                CONTOSO_EMPLOYEE_EMAIL,
                Variant::Valid,
            )
            .await
            .expect("the wallet presents");

        let kinds = read_until(&mut page_on_first, "verified", Duration::from_secs(10)).await;
        assert_eq!(
            kinds,
            ["scanned", "verified"],
            "nothing lost, nothing twice"
        );
        other.stop().await;
    }
}

#[tokio::test]
async fn two_instances_sweeping_at_once_expire_each_verification_once() {
    let app = connected().await;
    let other = app.another_instance().await;
    let mut ids = Vec::new();
    for _ in 0..5 {
        ids.push(app.send_verification_to(CONTOSO_EMPLOYEE_EMAIL).await.id);
    }
    traceless::db::query("UPDATE verifications SET link_expires_at = '2020-01-01T00:00:00Z'")
        .execute_on(&app.pool)
        .await
        .unwrap();

    let (first, second) = tokio::join!(
        app.verifier.expire_overdue(),
        other.verifier.expire_overdue()
    );

    assert_eq!(
        first.unwrap() + second.unwrap(),
        ids.len(),
        "each expired by one sweep"
    );
    for id in &ids {
        let expired: i64 = traceless::db::query(
            "SELECT COUNT(*) FROM verification_events WHERE verification_id = $1 AND kind = 'expired'",
        )
        .bind(uuid::Uuid::parse_str(id).unwrap())
        .fetch_scalar_on(&app.pool)
        .await
        .unwrap();
        assert_eq!(expired, 1, "one expiry event for {id}");
    }
    other.stop().await;
}

#[tokio::test]
async fn a_browser_signed_in_on_one_instance_is_signed_in_on_another() {
    let app = spawn_app().await;
    app.admin("Contoso Help Desk", "ada@contoso.com").await;
    let other = app.another_instance().await;

    // The same browser (cookie jar: cookies are not kept apart by port) asks the other one.
    let me: Option<app::model::Me> = ok_json(
        app.client
            .post(format!("{}/api/whoami", other.address))
            .header("Accept", "application/json")
            .send()
            .await
            .expect("request sent"),
    )
    .await;

    assert_eq!(me.expect("signed in there too").email, "ada@contoso.com");
    other.stop().await;
}

#[tokio::test]
async fn microsoft_may_send_the_admin_back_to_another_instance() {
    let app = spawn_app().await;
    app.admin("Contoso Help Desk", "ada@contoso.com").await;
    let other = app.another_instance_behind_the_same_url().await;
    // What the load balancer does: the return reaches the other instance.
    let to_other = |url: &str| url.replacen(&app.address, &other.address, 1);
    let microsoft = new_client();

    let consent = app.start_connect_as(&app.client).await;
    let mut callback = app
        .at_microsoft_in(&microsoft, &consent, CONTOSO_ADMIN_EMAIL, "accept")
        .await;
    let mut landed = app
        .return_from_microsoft_as(&app.client, &to_other(&callback))
        .await;
    if landed != "/organization/integrations" {
        // Sent on to the sign-in leg; its return, too, reaches the other instance.
        callback = app
            .at_microsoft_in(&microsoft, &landed, CONTOSO_ADMIN_EMAIL, "accept")
            .await;
        landed = app
            .return_from_microsoft_as(&app.client, &to_other(&callback))
            .await;
    }

    assert_eq!(landed, "/organization/integrations");
    assert!(callback.starts_with(&app.address), "{callback}");
    assert_eq!(app.count("microsoft_integrations").await, 1, "connected");
    other.stop().await;
}
