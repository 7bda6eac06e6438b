//! A measurement, not a test: how long from Microsoft's callback reaching us to the
//! event arriving on an open page's stream. Run it by hand, it writes its figures:
//! `cargo test -p server --test api relay_latency -- --ignored --nocapture`
//! (results in `target/bench/relay-latency.txt`). With `TRACELESS_TEST_POSTGRES_URL` set it
//! measures, in the same run and interleaved, the callback landing on the page's own
//! instance and on another instance (the event crossing through `LISTEN/NOTIFY`).

use std::time::{Duration, Instant};

use microsoft_emulator::{CONTOSO_ADMIN_EMAIL, CONTOSO_EMPLOYEE_EMAIL};

use crate::helpers::*;

/// One sample: a verification whose link is opened on `open_on` (so Microsoft calls that
/// instance back) while the page's stream is open on `app`.
async fn sample(app: &TestApp, open_on: &str) -> Duration {
    let started = app.send_verification_to(CONTOSO_EMPLOYEE_EMAIL).await;
    let token = token_of(&started.link);
    let page: app::model::RecipientPage = ok_json(
        new_client()
            .post(format!("{open_on}/api/open_verification_link"))
            .header("Accept", "application/json")
            .form(&[("token", &token)])
            .send()
            .await
            .unwrap(),
    )
    .await;
    let mut stream = app
        .client
        .get(format!(
            "{}/verify/{token}/events?after={}",
            app.address, page.last_event_id
        ))
        .send()
        .await
        .unwrap();
    let url = page.request.unwrap().url;
    // The wallet's scan posts `request_retrieved` to our callback; time until the page hears it.
    let began = Instant::now();
    let scan = tokio::spawn({
        let emulator = app.emulator.authenticator();
        async move { emulator.scan(&url).await.unwrap() }
    });
    loop {
        let chunk = tokio::time::timeout(Duration::from_secs(5), stream.chunk())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        if String::from_utf8_lossy(&chunk).contains("\"scanned\"") {
            break;
        }
    }
    let took = began.elapsed();
    scan.await.unwrap();
    took
}

fn summary(what: &str, samples: &mut [Duration]) -> String {
    samples.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    format!(
        "{what}: {} samples, p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms\n",
        samples.len(),
        ms(samples[samples.len() / 2]),
        ms(samples[samples.len() * 99 / 100]),
        ms(*samples.last().unwrap()),
    )
}

#[tokio::test]
#[ignore = "a measurement; run by hand"]
async fn relay_latency() {
    let unlimited = "1000000/min";
    let app = spawn_app_with(&[
        ("TRACELESS_RATE_LIMIT_LINK_PER_IP", unlimited),
        ("TRACELESS_RATE_LIMIT_MICROSOFT_PER_IP", unlimited),
    ])
    .await;
    app.admin("Contoso", "ada@contoso.com").await;
    app.connect_microsoft(CONTOSO_ADMIN_EMAIL, "accept").await;
    let postgres = app.database.is_postgres();
    let other = if postgres {
        Some(app.another_instance().await)
    } else {
        None
    };
    let rounds = if postgres { 200 } else { 30 };
    let (mut same, mut across) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        same.push(sample(&app, &app.address).await);
        if let Some(other) = &other {
            across.push(sample(&app, &other.address).await);
        }
    }
    let backend = if postgres { "PostgreSQL" } else { "SQLite" };
    let mut report = format!(
        "callback → server-sent event on an open stream (debug build, loopback, {backend})\n"
    );
    report += &summary("callback on the page's own instance", &mut same);
    if postgres {
        report += &summary("callback on another instance (LISTEN/NOTIFY)", &mut across);
    }
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/bench");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("relay-latency.txt"), &report).unwrap();
    println!("{report}");
    if let Some(other) = other {
        other.stop().await;
    }
}
