//! Security headers, read off real responses: the content security policy (and that
//! its nonce signs every inline script Leptos writes), framing, sniffing, referrers,
//! caching and HSTS.

use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use scraper::{Html, Selector};
use server::security_headers::nonce_of;

use crate::helpers::*;

fn header<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers
        .get(name)
        .unwrap_or_else(|| panic!("no {name} header"))
        .to_str()
        .unwrap()
}

/// An admin with Microsoft connected and one verification sent; returns its link.
async fn app_with_a_link() -> (TestApp, String) {
    contoso_with_a_link(&[]).await
}

/// Asserts the policy lets only our own and nonce-signed scripts run, and that the
/// page's inline scripts all carry that nonce. Returns the nonce.
fn assert_policy_covers_the_page(headers: &HeaderMap, html: &str, login_origin: &str) -> String {
    let policy = header(headers, "content-security-policy");
    for directive in [
        "default-src 'self'",
        "'wasm-unsafe-eval'",
        "style-src 'self'",
        "img-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "frame-ancestors 'none'",
        &format!("form-action 'self' {login_origin}"),
    ] {
        assert!(
            policy.contains(directive),
            "{directive} missing in {policy}"
        );
    }
    assert!(!policy.contains("unsafe-inline"), "{policy}");
    let nonce = nonce_of(headers).expect("a nonce in script-src");

    let document = Html::parse_document(html);
    let inline_scripts: Vec<_> = document
        .select(&Selector::parse("script:not([src])").unwrap())
        .collect();
    assert!(!inline_scripts.is_empty(), "the hydration script is inline");
    for script in inline_scripts {
        assert_eq!(
            script.value().attr("nonce"),
            Some(nonce.as_str()),
            "an inline script without this response's nonce: {}",
            script.html()
        );
    }
    // style-src 'self' blocks inline styles: the pages must not rely on any.
    assert_eq!(
        document
            .select(&Selector::parse("[style], style").unwrap())
            .count(),
        0,
        "inline styles would be blocked"
    );
    nonce
}

#[tokio::test]
async fn every_page_has_a_policy_whose_nonce_signs_its_inline_scripts() {
    let (app, link) = app_with_a_link().await;
    let login = url::Url::parse(&app.emulator.login_url()).unwrap();
    let login_origin = login.origin().ascii_serialization();
    let verify_path = url::Url::parse(&link).unwrap().path().to_owned();
    // Streamed, async and error pages, public and signed in.
    for path in [
        "/",
        "/signin",
        "/organization",
        "/organization/verifications",
        verify_path.as_str(),
        "/verify/unknown-link",
        "/no/such/page",
    ] {
        let response = app.get(path).await;
        assert!(
            response.status().is_success() || response.status().is_client_error(),
            "{path}: {}",
            response.status()
        );
        let headers = response.headers().clone();
        let html = response.text().await.unwrap();
        assert_policy_covers_the_page(&headers, &html, &login_origin);
    }
}

#[tokio::test]
async fn each_response_gets_its_own_nonce() {
    let app = spawn_app().await;
    let first = nonce_of(app.get("/signin").await.headers()).unwrap();
    let second = nonce_of(app.get("/signin").await.headers()).unwrap();
    assert_ne!(first, second);
    assert!(first.len() >= 22, "at least 128 bits: {first}");
}

#[tokio::test]
async fn no_response_may_be_framed_or_sniffed() {
    let app = spawn_app().await;
    let responses = [
        app.get("/").await,
        app.call("whoami", &[]).await,
        app.get("/healthz").await,
        app.client
            .post(format!(
                "{}{}",
                app.address,
                app::ssr::VERIFIED_ID_CALLBACK_PATH
            ))
            .body("{}")
            .send()
            .await
            .unwrap(),
    ];
    for response in responses {
        let headers = response.headers();
        assert_eq!(header(headers, "x-content-type-options"), "nosniff");
        assert_eq!(header(headers, "x-frame-options"), "DENY");
        assert!(header(headers, "content-security-policy").contains("frame-ancestors 'none'"));
    }
}

#[tokio::test]
async fn links_with_a_secret_in_the_path_send_no_referrer() {
    let (app, link) = app_with_a_link().await;
    let verify_path = url::Url::parse(&link).unwrap().path().to_owned();
    for path in [
        verify_path.clone(),
        format!("{verify_path}/events"),
        "/invite/some-invite-token".to_owned(),
    ] {
        let response = app.get(&path).await;
        assert_eq!(
            header(response.headers(), "referrer-policy"),
            "no-referrer",
            "{path}"
        );
    }
    for path in ["/", "/signin", "/organization"] {
        let response = app.get(path).await;
        assert_eq!(
            header(response.headers(), "referrer-policy"),
            "same-origin",
            "{path}"
        );
    }
}

#[tokio::test]
async fn personal_pages_server_functions_and_streams_are_never_stored() {
    let (app, link) = app_with_a_link().await;
    let verify_path = url::Url::parse(&link).unwrap().path().to_owned();
    let mut responses = vec![
        (verify_path.clone(), app.get(&verify_path).await),
        ("/organization".into(), app.get("/organization").await),
        (
            "/organization/team".into(),
            app.get("/organization/team").await,
        ),
        ("/api/whoami".into(), app.call("whoami", &[]).await),
    ];
    let stream = app
        .client
        .get(format!("{}{verify_path}/events", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), StatusCode::OK);
    responses.push((format!("{verify_path}/events"), stream));
    for (path, response) in responses {
        assert_eq!(
            header(response.headers(), "cache-control"),
            "no-store",
            "{path}"
        );
    }
}

#[tokio::test]
async fn hsts_is_sent_only_when_people_reach_us_over_https() {
    let plain = spawn_app().await;
    assert!(
        plain
            .get("/")
            .await
            .headers()
            .get("strict-transport-security")
            .is_none()
    );

    let behind_tls = spawn_app_with(&[("TRACELESS_PUBLIC_URL", "https://help.example.com/")]).await;
    let response = behind_tls.get("/").await;
    assert_eq!(
        header(response.headers(), "strict-transport-security"),
        "max-age=31536000"
    );
}
