//! `GET /metrics` (Prometheus text format) on `TRACELESS_METRICS_ADDR`, apart from the public
//! address: it answers in the format, a callback moves its counter and its latency
//! histogram, and an address that does not parse stops the start with one clear line.
//!
//! The recorder is one per process (the tests share it), so counts are compared before and
//! after, never to a fixed number.

use std::collections::BTreeMap;

use microsoft_emulator::{CONTOSO_ADMIN_EMAIL, CONTOSO_EMPLOYEE_EMAIL, Variant};
use reqwest::StatusCode;
use traceless::config::Settings;

use crate::helpers::*;

/// One sample line: `name{label="value",…} number`.
#[derive(Debug)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// Parses the text exposition format strictly: every line is a comment (`# HELP`,
/// `# TYPE` with a known type), blank, or a well-formed sample.
fn parse(text: &str) -> Vec<Sample> {
    let mut samples = Vec::new();
    for line in text.lines() {
        if line.is_empty() {
            continue;
        }
        if let Some(comment) = line.strip_prefix("# ") {
            let mut words = comment.split_whitespace();
            match words.next() {
                Some("HELP") => {}
                Some("TYPE") => {
                    let kind = words.nth(1).unwrap_or_default();
                    assert!(
                        ["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind),
                        "unknown metric type: {line}"
                    );
                }
                _ => panic!("not a HELP or TYPE comment: {line}"),
            }
            continue;
        }
        let (series, value) = line
            .rsplit_once(' ')
            .unwrap_or_else(|| panic!("no value: {line}"));
        let value: f64 = match value {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            other => other
                .parse()
                .unwrap_or_else(|_| panic!("not a number: {line}")),
        };
        let (name, labels) = match series.split_once('{') {
            None => (series, BTreeMap::new()),
            Some((name, rest)) => {
                let inner = rest
                    .strip_suffix('}')
                    .unwrap_or_else(|| panic!("unclosed labels: {line}"));
                let labels = inner
                    .split("\",")
                    .filter(|pair| !pair.is_empty())
                    .map(|pair| {
                        let (key, value) = pair
                            .split_once("=\"")
                            .unwrap_or_else(|| panic!("bad label: {line}"));
                        (key.to_owned(), value.trim_end_matches('"').to_owned())
                    })
                    .collect();
                (name, labels)
            }
        };
        assert!(
            !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':'),
            "bad metric name: {line}"
        );
        samples.push(Sample {
            name: name.to_owned(),
            labels,
            value,
        });
    }
    samples
}

/// The value of the sample `name` with these labels (0 when it was not recorded yet).
fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> f64 {
    samples
        .iter()
        .find(|s| {
            s.name == name
                && labels
                    .iter()
                    .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
        })
        .map_or(0.0, |s| s.value)
}

async fn scrape(app: &TestApp) -> Vec<Sample> {
    let url = app.metrics_url.as_deref().expect("metrics are on");
    let response = plain_client().get(url).send().await.expect("scraped");
    assert_eq!(response.status(), StatusCode::OK);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    parse(&response.text().await.unwrap())
}

#[tokio::test]
async fn metrics_answer_in_the_prometheus_format_and_a_callback_moves_its_counter() {
    let app = spawn_app_with(&[("TRACELESS_METRICS_ADDR", "127.0.0.1:0")]).await;
    app.admin("Contoso Help Desk", "ada@contoso.com").await;
    app.connect_microsoft(CONTOSO_ADMIN_EMAIL, "accept").await;
    let started = app.send_verification_to(CONTOSO_EMPLOYEE_EMAIL).await;
    let page: app::model::RecipientPage = ok_json(
        new_client()
            .post(format!("{}/api/open_verification_link", app.address))
            .header("Accept", "application/json")
            .form(&[("token", token_of(&started.link))])
            .send()
            .await
            .unwrap(),
    )
    .await;
    let before = scrape(&app).await;

    app.emulator
        .authenticator()
        .present(
            &page.request.expect("a QR code").url,
            CONTOSO_EMPLOYEE_EMAIL,
            Variant::Valid,
        )
        .await
        .expect("the wallet presents");
    let after = scrape(&app).await;

    // Both callbacks (the scan, then the verdict) were counted and timed.
    let accepted = [("outcome", "accepted")];
    let callbacks = "traceless_callbacks_total";
    assert!(
        value(&after, callbacks, &accepted) >= value(&before, callbacks, &accepted) + 2.0,
        "{after:?}"
    );
    let timed = "traceless_callback_to_event_seconds_count";
    assert!(value(&after, timed, &[]) >= value(&before, timed, &[]) + 2.0);
    assert!(
        after
            .iter()
            .any(|s| s.name == "traceless_callback_to_event_seconds_bucket"
                && s.labels.get("le").map(String::as_str) == Some("+Inf")),
        "the latency is a histogram with buckets"
    );
    // The presentation request was a call to Microsoft, counted by endpoint.
    assert!(
        value(
            &after,
            "traceless_microsoft_calls_total",
            &[("endpoint", "presentation_request"), ("result", "ok")]
        ) >= 1.0
    );
    // Read at the scrape: the backlogs and the pool.
    for queue in ["mail", "webhook"] {
        assert!(
            after.iter().any(|s| s.name == "traceless_backlog"
                && s.labels.get("queue").map(String::as_str) == Some(queue)),
            "{queue} backlog"
        );
    }
    assert!(
        value(
            &after,
            "traceless_db_pool_connections",
            &[("state", "open")]
        ) >= 1.0
    );
    assert!(
        after
            .iter()
            .any(|s| s.name == "traceless_db_pool_wait_seconds_count")
    );
}

#[tokio::test]
async fn metrics_are_not_on_the_public_address() {
    let app = spawn_app_with(&[("TRACELESS_METRICS_ADDR", "127.0.0.1:0")]).await;
    assert_ne!(
        app.metrics_url.as_deref(),
        Some(format!("{}/metrics", app.address).as_str())
    );

    let public = plain_client()
        .get(format!("{}/metrics", app.address))
        .send()
        .await
        .unwrap();

    assert_eq!(public.status(), StatusCode::NOT_FOUND);
}

#[test]
fn metrics_are_off_unless_an_address_is_set_and_a_bad_one_is_refused() {
    let base = |name: &str| match name {
        "TRACELESS_DATABASE_URL" => Some("sqlite://data/x.db".to_owned()),
        _ => None,
    };
    assert_eq!(Settings::from_lookup(base).unwrap().metrics_addr, None);

    let error = Settings::from_lookup(|name| match name {
        "TRACELESS_METRICS_ADDR" => Some("metrics.internal".to_owned()),
        other => base(other),
    })
    .expect_err("an address that does not parse is refused")
    .to_string();

    assert!(error.contains("TRACELESS_METRICS_ADDR"), "{error}");
    assert!(!error.contains('\n'), "one line: {error}");
}
