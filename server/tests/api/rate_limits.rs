//! Rate limits: each answers 429 with `Retry-After` and words that say when to try
//! again once its allowance is spent, and leaves other keys (another address, another
//! account, another link) alone. A second client address is real: the test client
//! binds 127.0.0.2, which is loopback too.

use app::error::AppError;
use app::model::StartedVerification;
use microsoft_emulator::{CONTOSO_ADMIN_EMAIL, CONTOSO_EMPLOYEE_EMAIL};
use reqwest::{Response, StatusCode};

use crate::helpers::*;

/// A cookie-keeping client whose requests come from `ip` (a loopback address).
pub fn client_from(ip: &str) -> reqwest::Client {
    browser_builder()
        .local_address(Some(ip.parse().unwrap()))
        .build()
        .unwrap()
}

/// Asserts a refusal: 429, a `Retry-After` of at least a second, and (for server
/// functions) the words people see. Returns the wait.
pub async fn assert_too_many(response: Response) -> u64 {
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(wait >= 1);
    let body = response.text().await.unwrap();
    match serde_json::from_str::<AppError>(&body) {
        // A server function's error, as our pages read it.
        Ok(error) => assert_eq!(
            error,
            AppError::TooManyRequests {
                message: format!("Too many attempts. Try again in {}.", wait_words(wait)),
                retry_after_secs: wait,
            }
        ),
        Err(_) => assert!(
            body.contains(&format!(
                "Too many attempts. Try again in {}.",
                wait_words(wait)
            )),
            "{body}"
        ),
    }
    wait
}

fn wait_words(secs: u64) -> String {
    match secs {
        1 => "1 second".into(),
        2..=119 => format!("{secs} seconds"),
        _ => format!("{} minutes", secs.div_ceil(60)),
    }
}

fn not_limited(response: &Response) {
    assert_ne!(response.status(), StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn sign_in_per_address_refuses_after_its_allowance_and_spares_other_addresses() {
    let app = spawn_app_with(&[("TRACELESS_RATE_LIMIT_SIGN_IN_PER_IP", "3/h")]).await;
    let here = new_client();
    for n in 0..3 {
        let response = app
            .sign_in_as(&here, &format!("guess{n}@contoso.com"), PASSWORD)
            .await;
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    }
    let wait = assert_too_many(app.sign_in_as(&here, "guess9@contoso.com", PASSWORD).await).await;
    // One more every twenty minutes.
    assert!((1100..=1200).contains(&wait), "{wait}");

    let elsewhere = client_from("127.0.0.2");
    let response = app
        .sign_in_as(&elsewhere, "guess9@contoso.com", PASSWORD)
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    // Other limits of the same address are untouched.
    let signed_up = app
        .sign_up_answer("Contoso", "Ada Admin", "ada@contoso.com", PASSWORD)
        .await;
    assert!(signed_up.status().is_success(), "{}", signed_up.status());
}

#[tokio::test]
async fn sign_up_per_address_refuses_after_its_allowance_and_spares_other_addresses() {
    let app = spawn_app_with(&[("TRACELESS_RATE_LIMIT_SIGN_UP_PER_IP", "2/h")]).await;
    let here = new_client();
    for n in 0..2 {
        let response = app
            .call_as(
                &here,
                "sign_up",
                &[
                    ("organization", "Org"),
                    ("name", "Ada"),
                    ("email", &format!("ada{n}@contoso.com")),
                    ("password", PASSWORD),
                ],
            )
            .await;
        assert!(response.status().is_success(), "{}", response.status());
    }
    let refused = app
        .call_as(
            &here,
            "sign_up",
            &[
                ("organization", "Org"),
                ("name", "Ada"),
                ("email", "ada9@contoso.com"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_too_many(refused).await;
    // The same form posted before the page hydrated gets a page, not JSON.
    let posted = here
        .post(format!("{}/api/sign_up", app.address))
        .header("Accept", "text/html,application/xhtml+xml")
        .form(&[
            ("organization", "Org"),
            ("name", "Ada"),
            ("email", "ada9@contoso.com"),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert!(
        posted.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert_too_many(posted).await;
    assert_eq!(app.count("organizations").await, 2);

    let elsewhere = client_from("127.0.0.2");
    let response = app
        .call_as(
            &elsewhere,
            "sign_up",
            &[
                ("organization", "Org"),
                ("name", "Ada"),
                ("email", "ada9@contoso.com"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert!(response.status().is_success(), "{}", response.status());
}

#[tokio::test]
async fn invite_acceptance_per_address_refuses_after_its_allowance() {
    let app = spawn_app_with(&[("TRACELESS_RATE_LIMIT_INVITE_PER_IP", "2/h")]).await;
    let here = new_client();
    let accept = |client: reqwest::Client| {
        let app = &app;
        async move {
            app.call_as(
                &client,
                "accept_invite",
                &[("token", "not-a-real-invite-token"), ("password", PASSWORD)],
            )
            .await
        }
    };
    for _ in 0..2 {
        let response = accept(here.clone()).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
    }
    assert_too_many(accept(here.clone()).await).await;
    not_limited(&accept(client_from("127.0.0.2")).await);
}

/// An admin with Microsoft connected; returns the links of `count` verifications.
async fn links(app: &TestApp, count: usize) -> Vec<String> {
    app.admin("Contoso Help Desk", "ada@contoso.com").await;
    app.connect_microsoft(CONTOSO_ADMIN_EMAIL, "accept").await;
    let mut links = Vec::new();
    for _ in 0..count {
        let started: StartedVerification = ok_json(
            app.call(
                "send_verification",
                &[
                    ("email", CONTOSO_EMPLOYEE_EMAIL),
                    ("ticket_reference", ""),
                    ("note", ""),
                ],
            )
            .await,
        )
        .await;
        links.push(started.sent_link());
    }
    links
}

async fn open_page(client: &reqwest::Client, link: &str) -> Response {
    client
        .get(link)
        .header("Accept", "text/html")
        .send()
        .await
        .expect("the person's page answers")
}

#[tokio::test]
async fn the_persons_page_per_address_counts_pages_streams_and_renewals() {
    let app = spawn_app_with(&[("TRACELESS_RATE_LIMIT_LINK_PER_IP", "4/h")]).await;
    let links = links(&app, 1).await;
    let link = &links[0];
    let person = new_client();
    let token = token_of(link);
    assert_eq!(open_page(&person, link).await.status(), StatusCode::OK);
    let stream = person.get(format!("{link}/events")).send().await.unwrap();
    assert_eq!(stream.status(), StatusCode::OK);
    drop(stream);
    for name in ["open_verification_link", "renew_request"] {
        let response = app.call_as(&person, name, &[("token", &token)]).await;
        assert_eq!(response.status(), StatusCode::OK, "{name}");
    }

    // A browser navigation is told in a page that retries by itself.
    let page = open_page(&person, link).await;
    assert!(
        page.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(page.headers().contains_key("content-security-policy"));
    assert_too_many(page).await;
    assert_too_many(
        app.call_as(&person, "renew_request", &[("token", &token)])
            .await,
    )
    .await;
    assert_too_many(person.get(format!("{link}/events")).send().await.unwrap()).await;

    assert_eq!(
        open_page(&client_from("127.0.0.2"), link).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn one_link_is_limited_from_every_address_and_spares_other_links() {
    let app = spawn_app_with(&[("TRACELESS_RATE_LIMIT_LINK_PER_LINK", "2/h")]).await;
    let links = links(&app, 2).await;
    let person = new_client();
    for _ in 0..2 {
        assert_eq!(open_page(&person, &links[0]).await.status(), StatusCode::OK);
    }
    assert_too_many(open_page(&client_from("127.0.0.2"), &links[0]).await).await;
    assert_eq!(open_page(&person, &links[1]).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn presentation_requests_per_link_are_capped_and_other_links_still_renew() {
    let app = spawn_app_with(&[("TRACELESS_RATE_LIMIT_PRESENTATIONS_PER_LINK", "3/h")]).await;
    let links = links(&app, 2).await;
    let person = new_client();
    let first = token_of(&links[0]);
    // Opening makes the first request; each renewal one more.
    for name in ["open_verification_link", "renew_request", "renew_request"] {
        let response = app.call_as(&person, name, &[("token", &first)]).await;
        assert_eq!(response.status(), StatusCode::OK, "{name}");
    }
    assert_eq!(app.count("presentation_requests").await, 3);

    assert_too_many(
        app.call_as(&person, "renew_request", &[("token", &first)])
            .await,
    )
    .await;
    assert_eq!(
        app.count("presentation_requests").await,
        3,
        "Microsoft was not asked again"
    );

    let second = token_of(&links[1]);
    let response = app
        .call_as(&person, "open_verification_link", &[("token", &second)])
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(app.count("presentation_requests").await, 4);
}

#[tokio::test]
async fn the_persons_page_says_when_to_try_again_once_its_link_spent_its_requests() {
    let app = spawn_app_with(&[("TRACELESS_RATE_LIMIT_PRESENTATIONS_PER_LINK", "1/h")]).await;
    let links = links(&app, 1).await;
    // Requests shorter-lived than the renewal margin are never reused: each open asks anew.
    app.emulator.set_request_lifetime_secs(20);
    let person = new_client();
    assert_eq!(open_page(&person, &links[0]).await.status(), StatusCode::OK);

    let page = open_page(&person, &links[0]).await;
    assert!(
        page.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert_eq!(page.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = page.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(wait > 60, "{wait}");
    let html = page.text().await.unwrap();
    assert!(html.contains("Please wait a moment"), "{html}");
    assert!(html.contains("data-testid=\"rate-limited\""));
    assert!(html.contains(&format!(
        "Too many attempts. Try again in {}.",
        wait_words(wait)
    )));
    assert_eq!(app.count("presentation_requests").await, 1);
}

#[tokio::test]
async fn microsoft_callbacks_per_address_have_a_ceiling() {
    let app = spawn_app_with(&[("TRACELESS_RATE_LIMIT_MICROSOFT_PER_IP", "3/h")]).await;
    let callback = |client: reqwest::Client| {
        let url = format!("{}{}", app.address, app::ssr::VERIFIED_ID_CALLBACK_PATH);
        async move {
            client
                .post(url)
                .header("Content-Type", "application/json")
                .body("{}")
                .send()
                .await
                .unwrap()
        }
    };
    for _ in 0..2 {
        let response = callback(new_client()).await;
        assert!(response.status().is_client_error(), "{}", response.status());
        not_limited(&response);
    }
    // Microsoft's sign-in redirect back counts against the same ceiling.
    let back = new_client()
        .get(format!(
            "{}{}",
            app.address,
            app::ssr::MICROSOFT_CALLBACK_PATH
        ))
        .send()
        .await
        .unwrap();
    not_limited(&back);
    assert_too_many(callback(new_client()).await).await;
    not_limited(&callback(client_from("127.0.0.2")).await);
}

#[tokio::test]
async fn forwarded_addresses_count_only_behind_a_trusted_proxy() {
    let sign_in_from = |app: &TestApp, forwarded: &'static str| {
        let url = format!("{}/api/sign_in", app.address);
        async move {
            new_client()
                .post(url)
                .header("Accept", "application/json")
                .header("X-Forwarded-For", forwarded)
                .form(&[("email", "nobody@contoso.com"), ("password", PASSWORD)])
                .send()
                .await
                .unwrap()
        }
    };

    let proxied = spawn_app_with(&[
        ("TRACELESS_RATE_LIMIT_SIGN_IN_PER_IP", "1/h"),
        ("TRACELESS_TRUSTED_PROXIES", "127.0.0.1"),
    ])
    .await;
    not_limited(&sign_in_from(&proxied, "198.51.100.1").await);
    assert_too_many(sign_in_from(&proxied, "198.51.100.1").await).await;
    not_limited(&sign_in_from(&proxied, "198.51.100.2").await);

    // Without a trusted proxy, anyone could write the header: it is ignored.
    let direct = spawn_app_with(&[("TRACELESS_RATE_LIMIT_SIGN_IN_PER_IP", "1/h")]).await;
    not_limited(&sign_in_from(&direct, "198.51.100.1").await);
    assert_too_many(sign_in_from(&direct, "198.51.100.2").await).await;
}

#[tokio::test]
async fn forwarded_addresses_with_ports_count_per_client_behind_a_trusted_proxy() {
    let sign_in_with = |app: &TestApp, header: &'static str, value: &'static str| {
        let url = format!("{}/api/sign_in", app.address);
        async move {
            new_client()
                .post(url)
                .header("Accept", "application/json")
                .header(header, value)
                .form(&[("email", "nobody@contoso.com"), ("password", PASSWORD)])
                .send()
                .await
                .unwrap()
        }
    };

    // X-Forwarded-For entries as Azure Application Gateway writes them: with ports.
    let proxied = spawn_app_with(&[
        ("TRACELESS_RATE_LIMIT_SIGN_IN_PER_IP", "1/h"),
        ("TRACELESS_TRUSTED_PROXIES", "127.0.0.1"),
    ])
    .await;
    let xff = "x-forwarded-for";
    not_limited(&sign_in_with(&proxied, xff, "198.51.100.1:50001").await);
    // The same client from another port is the same client.
    assert_too_many(sign_in_with(&proxied, xff, "198.51.100.1:50002").await).await;
    not_limited(&sign_in_with(&proxied, xff, "[2001:db8:1::1]:50001").await);
    assert_too_many(sign_in_with(&proxied, xff, "[2001:db8:1::2]:443").await).await;
    not_limited(&sign_in_with(&proxied, xff, "198.51.100.2:50001").await);

    // RFC 7239 Forwarded, when the proxies are said to write it.
    let rfc = spawn_app_with(&[
        ("TRACELESS_RATE_LIMIT_SIGN_IN_PER_IP", "1/h"),
        ("TRACELESS_TRUSTED_PROXIES", "127.0.0.1"),
        ("TRACELESS_FORWARDED_HEADER", "forwarded"),
    ])
    .await;
    let fwd = "forwarded";
    not_limited(&sign_in_with(&rfc, fwd, "for=198.51.100.1;proto=https").await);
    assert_too_many(sign_in_with(&rfc, fwd, r#"for="198.51.100.1:4711""#).await).await;
    not_limited(&sign_in_with(&rfc, fwd, r#"for="[2001:db8:cafe::17]:4711""#).await);
    not_limited(&sign_in_with(&rfc, fwd, "for=198.51.100.2").await);
    // X-Forwarded-For is not read then (anyone could have written it): two "clients" in
    // it are one, the proxy.
    not_limited(&sign_in_with(&rfc, xff, "198.51.100.3").await);
    assert_too_many(sign_in_with(&rfc, xff, "198.51.100.4").await).await;
}

#[tokio::test]
async fn a_malformed_limit_stops_the_server_naming_the_setting() {
    let error = traceless::config::Settings::from_lookup(|name| {
        (name == "TRACELESS_RATE_LIMIT_SIGN_UP_PER_IP").then(|| "many".to_owned())
    })
    .unwrap_err();
    assert!(
        error
            .to_string()
            .contains("TRACELESS_RATE_LIMIT_SIGN_UP_PER_IP"),
        "{error}"
    );
}

#[tokio::test]
async fn api_requests_per_key_are_refused_past_the_keys_allowance() {
    let (app, key) =
        crate::help_desk_api::contoso_with_a_key(&[("TRACELESS_RATE_LIMIT_API_PER_KEY", "3/h")])
            .await;
    for _ in 0..3 {
        not_limited(&app.api_get(&key, "/api/v1/verifications").await);
    }
    let refused = app.api_get(&key, "/api/v1/verifications").await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(refused.headers().contains_key("retry-after"));
}

/// Limits counted in the database, where instances share it. Run with
/// `TRACELESS_TEST_POSTGRES_URL` set (`./scripts/test postgres` does).
mod postgres_only {
    use super::*;

    #[tokio::test]
    #[ignore = "needs PostgreSQL: run ./scripts/test postgres"]
    async fn two_instances_share_one_api_keys_allowance() {
        assert!(
            std::env::var(POSTGRES_URL_VAR).is_ok(),
            "this test needs PostgreSQL: set {POSTGRES_URL_VAR} (./scripts/test postgres does)"
        );
        let (app, key) = crate::help_desk_api::contoso_with_a_key(&[(
            "TRACELESS_RATE_LIMIT_API_PER_KEY",
            "4/h",
        )])
        .await;
        let other = app.another_instance_behind_the_same_url().await;
        let get_on = |base: &str| {
            plain_client()
                .get(format!("{base}/api/v1/verifications"))
                .bearer_auth(&key)
                .send()
        };
        for base in [&app.address, &other.address, &app.address, &other.address] {
            not_limited(&get_on(base).await.unwrap());
        }
        // Each instance saw two of the four: both refuse the fifth.
        for base in [&app.address, &other.address] {
            let refused = get_on(base).await.unwrap();
            assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
        }
        other.stop().await;
    }
}
