//! More instances mean more writes, never a twin: instances on one PostgreSQL write in
//! parallel (each use case locks only what it changes, `docs/concurrency.md`), and an
//! `Idempotency-Key` holds across instances because its row is written in the
//! transaction that creates the verification.
//!
//! The two-instance tests need PostgreSQL: they sit in [`postgres_only`], ignored by a
//! plain `cargo test` and run by name by `./scripts/test postgres` (as in `instances`).

use std::sync::Arc;

use app::model::{RecipientPage, StartedVerification};
use microsoft_emulator::{
    CONTOSO_ADMIN_EMAIL, CONTOSO_EMPLOYEE_EMAIL, CONTOSO_EMPLOYEE2_EMAIL, PresentOptions, Variant,
};
use reqwest::StatusCode;
use serde_json::Value;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::help_desk_api::{contoso_with_a_key, megan_for};
use crate::helpers::*;

/// Identical creates sent at once with one `Idempotency-Key`.
const DUPLICATE_CREATES: usize = 50;

/// The answers to [`DUPLICATE_CREATES`] identical creates sent at once, spread over
/// `addresses` in turn: (status, body without the `Idempotent-Replayed` header's effect).
async fn identical_creates_at_once(addresses: &[String], key: &str) -> Vec<(StatusCode, Value)> {
    let body = megan_for("HD-ONCE");
    let mut sent = JoinSet::new();
    for i in 0..DUPLICATE_CREATES {
        let request = plain_client()
            .post(format!(
                "{}/api/v1/verifications",
                addresses[i % addresses.len()]
            ))
            .bearer_auth(key)
            .header("Idempotency-Key", "once-across-instances")
            .json(&body);
        sent.spawn(async move {
            let response = request.send().await.expect("request sent");
            let status = response.status();
            let text = response.text().await.unwrap();
            let body: Value =
                serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {status} {text}"));
            (status, body)
        });
    }
    sent.join_all().await
}

/// One verification, one remembered key, and every answer the same: the first one's.
async fn assert_one_verification_and_identical_answers(
    app: &TestApp,
    answers: &[(StatusCode, Value)],
) {
    assert_eq!(answers.len(), DUPLICATE_CREATES);
    for (status, body) in answers {
        assert_eq!(*status, StatusCode::CREATED, "{body}");
    }
    let first = &answers[0].1;
    assert!(
        first["link"].as_str().is_some_and(|l| !l.is_empty()),
        "{first}"
    );
    for (_, body) in answers {
        assert_eq!(
            body, first,
            "every answer is the first one's:\n{body}\n{first}"
        );
    }
    assert_eq!(app.count("verifications").await, 1);
    assert_eq!(app.count("api_idempotency").await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn identical_creates_at_once_make_one_verification_and_one_answer() {
    let (app, key) = contoso_with_a_key(&[]).await;

    let answers = identical_creates_at_once(std::slice::from_ref(&app.address), &key).await;

    assert_one_verification_and_identical_answers(&app, &answers).await;
}

mod postgres_only {
    use super::*;

    /// Limits generous enough for a burst from one test address (the tests are about
    /// locks, not limits).
    const UNLIMITED: &[(&str, &str)] = &[
        ("TRACELESS_RATE_LIMIT_LINK_PER_IP", "100000/1min"),
        ("TRACELESS_RATE_LIMIT_MICROSOFT_PER_IP", "100000/1min"),
        ("TRACELESS_RATE_LIMIT_API_PER_KEY", "100000/1min"),
        ("TRACELESS_RATE_LIMIT_API_PER_IP", "100000/1min"),
    ];
    /// Verifications whose callbacks arrive at once on two instances: two callbacks each
    /// (the scan, then the verdict), a thousand in all.
    const VERIFICATIONS: usize = 500;
    /// How many requests of the set-up run at once (the set-up is not what is measured).
    const SETUP_AT_ONCE: usize = 32;

    fn on_postgres() {
        assert!(
            std::env::var(POSTGRES_URL_VAR).is_ok(),
            "this test needs PostgreSQL: set {POSTGRES_URL_VAR} (./scripts/test postgres does)"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    #[ignore = "needs PostgreSQL: run ./scripts/test postgres"]
    async fn identical_creates_on_two_instances_make_one_verification_and_one_answer() {
        on_postgres();
        let (app, key) = contoso_with_a_key(UNLIMITED).await;
        // One public URL, as behind a load balancer: the links in the answers agree.
        let other = app.another_instance_behind_the_same_url().await;

        let addresses = [app.address.clone(), other.address.clone()];
        let answers = identical_creates_at_once(&addresses, &key).await;

        assert_one_verification_and_identical_answers(&app, &answers).await;
        other.stop().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    #[ignore = "needs PostgreSQL: run ./scripts/test postgres"]
    async fn a_thousand_callbacks_on_two_instances_leave_each_verification_one_verdict() {
        on_postgres();
        let app = spawn_app_with(UNLIMITED).await;
        app.admin("Contoso Help Desk", "ada@contoso.com").await;
        app.connect_microsoft(CONTOSO_ADMIN_EMAIL, "accept").await;
        let other = app.another_instance().await;
        // Half the links opened on each instance: Microsoft calls back the one that asked.
        let addresses = [app.address.clone(), other.address.clone()];
        let opened = open_links(&app, &addresses).await;

        let began = std::time::Instant::now();
        let mut wallets = JoinSet::new();
        for (i, (_, request_url)) in opened.iter().enumerate() {
            let wallet = app.emulator.authenticator();
            let request = request_url.clone();
            wallets.spawn(async move {
                // Every other person presents someone else's card: the other verdict.
                let user = if i % 2 == 0 {
                    CONTOSO_EMPLOYEE_EMAIL
                } else {
                    CONTOSO_EMPLOYEE2_EMAIL
                };
                wallet
                    .present_with(PresentOptions {
                        request,
                        user: user.into(),
                        variant: Variant::Valid,
                        trust_wallet: true,
                        vp_token_array: false,
                    })
                    .await
                    .expect("the wallet presents")
            });
        }
        let statuses: Vec<Option<u16>> = wallets
            .join_all()
            .await
            .iter()
            .flat_map(|outcome| outcome.statuses())
            .collect();
        let took = began.elapsed();

        println!(
            "{} callbacks for {VERIFICATIONS} verifications on two instances in {:.0} ms",
            statuses.len(),
            took.as_secs_f64() * 1000.0
        );
        assert_eq!(statuses.len(), 2 * VERIFICATIONS);
        let not_ok: Vec<_> = statuses.iter().filter(|s| **s != Some(200)).collect();
        assert!(not_ok.is_empty(), "every callback is taken: {not_ok:?}");
        let verdicts: Vec<(String, String, i64)> = traceless::db::query(
            "SELECT v.id::text, v.status,
               (SELECT COUNT(*) FROM verification_events e WHERE e.verification_id = v.id
                  AND (e.kind = 'verified' OR e.kind LIKE 'failed.%'))
             FROM verifications v",
        )
        .fetch_all_on(&app.pool)
        .await
        .unwrap()
        .iter()
        .map(|row| {
            (
                row.try_get(0).unwrap(),
                row.try_get(1).unwrap(),
                row.try_get(2).unwrap(),
            )
        })
        .collect();
        assert_eq!(verdicts.len(), VERIFICATIONS);
        for (i, (id, _)) in opened.iter().enumerate() {
            let expected = if i % 2 == 0 { "verified" } else { "failed" };
            let (_, status, count) = verdicts
                .iter()
                .find(|(v, _, _)| v == id)
                .expect("the verification is stored");
            assert_eq!(status, expected, "verification {id}");
            assert_eq!(*count, 1, "verification {id} has exactly one verdict");
        }
        other.stop().await;
    }

    /// Starts [`VERIFICATIONS`] verifications and opens each link as the person, on the
    /// instances in turn; returns (id, the presentation request's URL) in order.
    async fn open_links(app: &TestApp, addresses: &[String]) -> Vec<(String, String)> {
        let at_once = Arc::new(Semaphore::new(SETUP_AT_ONCE));
        let mut started = JoinSet::new();
        for i in 0..VERIFICATIONS {
            let send = app
                .client
                .post(format!("{}/api/send_verification", app.address))
                .header("Accept", "application/json")
                .form(&[
                    ("email", CONTOSO_EMPLOYEE_EMAIL),
                    ("ticket_reference", &format!("HD-{i}")),
                    ("note", ""),
                ]);
            let open_url = format!(
                "{}/api/open_verification_link",
                addresses[i % addresses.len()]
            );
            let at_once = at_once.clone();
            started.spawn(async move {
                let _turn = at_once.acquire_owned().await.unwrap();
                let started: StartedVerification = ok_json(send.send().await.unwrap()).await;
                let page: RecipientPage = ok_json(
                    new_client()
                        .post(open_url)
                        .header("Accept", "application/json")
                        .form(&[("token", token_of(&started.link))])
                        .send()
                        .await
                        .unwrap(),
                )
                .await;
                (i, started.id, page.request.expect("a QR code").url)
            });
        }
        let mut opened = started.join_all().await;
        opened.sort_by_key(|(i, _, _)| *i);
        opened.into_iter().map(|(_, id, url)| (id, url)).collect()
    }
}
