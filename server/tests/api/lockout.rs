//! Sign-in failures without a denial of service (`traceless::shared_limits::sign_in`):
//! failures count per account and address and per address; the account alone waits
//! only past a much higher bar, and then for a while, not for good. Client addresses are
//! real: the test clients bind other loopback addresses (127.0.0.x).

use reqwest::{Response, StatusCode};

use crate::helpers::*;
use crate::rate_limits::{assert_too_many, client_from};

const WRONG: &str = "not the password at all";

impl TestApp {
    async fn signed_in_as(&self, client: &reqwest::Client) -> Option<app::model::Me> {
        ok_json(self.call_as(client, "whoami", &[]).await).await
    }
}

fn refused_as_wrong(response: &Response) {
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

fn signed_in(response: &Response) {
    assert!(
        response.status().is_success() || response.status().is_redirection(),
        "{}",
        response.status()
    );
}

#[tokio::test]
async fn an_attackers_wrong_passwords_from_one_address_do_not_stop_the_owner_from_another() {
    let app = spawn_app_with(&[(
        "TRACELESS_RATE_LIMIT_SIGN_IN_FAILURES_PER_ACCOUNT_AND_IP",
        "3/h",
    )])
    .await;
    app.admin("Contoso", "ada@contoso.com").await;
    let attacker = client_from("127.0.0.3");
    for _ in 0..3 {
        refused_as_wrong(&app.sign_in_as(&attacker, "ada@contoso.com", WRONG).await);
    }
    // That address now waits, even with the right password: guessing from it is over.
    assert_too_many(app.sign_in_as(&attacker, "ada@contoso.com", PASSWORD).await).await;
    assert!(app.signed_in_as(&attacker).await.is_none());

    // The owner, from her own address, spelled her way, is let in at once.
    let owner = client_from("127.0.0.4");
    signed_in(&app.sign_in_as(&owner, " ADA@Contoso.com ", PASSWORD).await);
    assert_eq!(
        app.signed_in_as(&owner).await.map(|me| me.email),
        Some("ada@contoso.com".to_owned())
    );
}

#[tokio::test]
async fn the_account_alone_waits_only_beyond_its_high_bar_and_then_for_seconds() {
    let app = spawn_app_with(&[("TRACELESS_RATE_LIMIT_SIGN_IN_PER_ACCOUNT", "4/h")]).await;
    app.admin("Contoso", "ada@contoso.com").await;
    // An attack spread over addresses, each failing once.
    for n in 1..=3 {
        let somewhere = client_from(&format!("127.0.1.{n}"));
        refused_as_wrong(&app.sign_in_as(&somewhere, "ada@contoso.com", WRONG).await);
    }
    // Below the bar nobody waits: the owner signs in from elsewhere.
    signed_in(
        &app.sign_in_as(&client_from("127.0.1.9"), "ada@contoso.com", PASSWORD)
            .await,
    );
    refused_as_wrong(
        &app.sign_in_as(&client_from("127.0.1.4"), "ada@contoso.com", WRONG)
            .await,
    );

    // At the bar, every address waits a few seconds after the last failure: a delay, not
    // a lock (the wait grows with each further failure, to five minutes at most).
    let wait = assert_too_many(
        app.sign_in_as(&client_from("127.0.1.9"), "ada@contoso.com", PASSWORD)
            .await,
    )
    .await;
    assert!((1..=10).contains(&wait), "{wait}");
    // Other accounts are untouched.
    app.sign_up("Fabrikam", "Bob", "bob@fabrikam.com", PASSWORD)
        .await;
    signed_in(
        &app.sign_in_as(&client_from("127.0.1.9"), "bob@fabrikam.com", PASSWORD)
            .await,
    );
}

#[tokio::test]
async fn known_and_unknown_accounts_are_counted_and_answered_alike() {
    let app = spawn_app_with(&[(
        "TRACELESS_RATE_LIMIT_SIGN_IN_FAILURES_PER_ACCOUNT_AND_IP",
        "2/h",
    )])
    .await;
    app.admin("Contoso", "ada@contoso.com").await;
    let guesser = client_from("127.0.0.5");
    let mut answers = Vec::new();
    for email in ["ada@contoso.com", "nobody@contoso.com"] {
        let mut seen = Vec::new();
        for _ in 0..3 {
            let response = app.sign_in_as(&guesser, email, WRONG).await;
            let status = response.status();
            let retry_after = response.headers().get("retry-after").is_some();
            seen.push((status, retry_after, response.text().await.unwrap()));
        }
        answers.push(seen);
    }
    let [known, unknown] = <[_; 2]>::try_from(answers).unwrap();
    assert_eq!(known[2].0, StatusCode::TOO_MANY_REQUESTS);
    for (k, u) in known.iter().zip(&unknown) {
        assert_eq!((k.0, k.1), (u.0, u.1));
        // The wait's seconds may differ by one between the two; the rest is the same.
        if k.0 != StatusCode::TOO_MANY_REQUESTS {
            assert_eq!(k.2, u.2);
        }
    }
}

#[tokio::test]
async fn failures_from_one_address_across_accounts_make_that_address_wait() {
    let app = spawn_app_with(&[("TRACELESS_RATE_LIMIT_SIGN_IN_FAILURES_PER_IP", "3/h")]).await;
    app.admin("Contoso", "ada@contoso.com").await;
    let sprayer = client_from("127.0.0.6");
    for n in 0..3 {
        refused_as_wrong(
            &app.sign_in_as(&sprayer, &format!("guess{n}@contoso.com"), WRONG)
                .await,
        );
    }
    assert_too_many(app.sign_in_as(&sprayer, "ada@contoso.com", PASSWORD).await).await;
    signed_in(
        &app.sign_in_as(&client_from("127.0.0.7"), "ada@contoso.com", PASSWORD)
            .await,
    );
}

/// Limits counted in the database, where instances share it. Run with
/// `TRACELESS_TEST_POSTGRES_URL` set (`./scripts/test postgres` does).
mod postgres_only {
    use super::*;

    async fn sign_in_on(
        base: &str,
        client: &reqwest::Client,
        email: &str,
        password: &str,
    ) -> Response {
        client
            .post(format!("{base}/api/sign_in"))
            .header("Accept", "application/json")
            .form(&[("email", email), ("password", password)])
            .send()
            .await
            .expect("request sent")
    }

    #[tokio::test]
    #[ignore = "needs PostgreSQL: run ./scripts/test postgres"]
    async fn two_instances_allow_the_configured_account_bar_not_twice_it() {
        assert!(
            std::env::var(POSTGRES_URL_VAR).is_ok(),
            "this test needs PostgreSQL: set {POSTGRES_URL_VAR} (./scripts/test postgres does)"
        );
        let app = spawn_app_with(&[("TRACELESS_RATE_LIMIT_SIGN_IN_PER_ACCOUNT", "3/h")]).await;
        app.admin("Contoso", "ada@contoso.com").await;
        let other = app.another_instance_behind_the_same_url().await;
        let instances = [app.address.as_str(), other.address.as_str()];
        // Three failures, spread over both instances and three addresses.
        for n in 0..3 {
            let client = client_from(&format!("127.0.2.{n}"));
            let response = sign_in_on(instances[n % 2], &client, "ada@contoso.com", WRONG).await;
            refused_as_wrong(&response);
        }
        // Each instance alone saw fewer than three: both still say wait.
        for base in instances {
            let client = client_from("127.0.2.9");
            assert_too_many(sign_in_on(base, &client, "ada@contoso.com", PASSWORD).await).await;
        }
        other.stop().await;
    }

    #[tokio::test]
    #[ignore = "needs PostgreSQL: run ./scripts/test postgres"]
    async fn the_retention_job_sweeps_counts_once_their_window_ended() {
        use std::time::Duration;
        use time::OffsetDateTime;
        use traceless::retention::{RetentionSettings, erase_expired};

        assert!(
            std::env::var(POSTGRES_URL_VAR).is_ok(),
            "this test needs PostgreSQL: set {POSTGRES_URL_VAR} (./scripts/test postgres does)"
        );
        let app = spawn_app().await;
        refused_as_wrong(
            &app.sign_in_as(&new_client(), "ada@contoso.com", WRONG)
                .await,
        );
        let rows = || async {
            traceless::db::query("SELECT COUNT(*) FROM limit_counts")
                .fetch_scalar_on::<i64>(&app.pool)
                .await
                .unwrap()
        };
        // Per account, and per account and address (per address counts in process).
        assert_eq!(rows().await, 2);
        let settings = RetentionSettings {
            window: Duration::from_secs(90 * 24 * 3600),
        };
        let now = OffsetDateTime::now_utc();
        let early = erase_expired(&app.pool, settings, now).await.unwrap();
        assert_eq!(early.limit_counts, 0);
        let later = erase_expired(&app.pool, settings, now + time::Duration::hours(2))
            .await
            .unwrap();
        assert_eq!(later.limit_counts, 2);
        assert_eq!(rows().await, 0);
    }
}
