//! A measurement, not a test: how long from Microsoft's callback reaching us to the
//! event arriving on an open page's stream. Run it by hand, it writes its figures:
//! `cargo test -p server --test api relay_latency -- --ignored --nocapture`
//! (results in `target/bench/relay-latency.txt`).

use std::time::{Duration, Instant};

use microsoft_emulator::{CONTOSO_ADMIN_EMAIL, CONTOSO_EMPLOYEE_EMAIL};

use crate::helpers::*;

#[tokio::test]
#[ignore = "a measurement; run by hand"]
async fn relay_latency() {
    let app = spawn_app().await;
    app.admin("Contoso", "ada@contoso.com").await;
    app.connect_microsoft(CONTOSO_ADMIN_EMAIL, "accept").await;
    let mut samples = Vec::new();
    for _ in 0..30 {
        let started: app::model::StartedVerification = ok_json(
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
        let token = token_of(&started.link);
        let page: app::model::RecipientPage = ok_json(
            app.call_as(
                &new_client(),
                "open_verification_link",
                &[("token", &token)],
            )
            .await,
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
        samples.push(began.elapsed());
        scan.await.unwrap();
    }
    samples.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let report = format!(
        "callback → server-sent event on an open stream, {} samples (debug build, loopback, SQLite)\np50 {:.1} ms, p95 {:.1} ms, max {:.1} ms\n",
        samples.len(),
        ms(samples[samples.len() / 2]),
        ms(samples[samples.len() * 95 / 100]),
        ms(*samples.last().unwrap()),
    );
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/bench");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("relay-latency.txt"), &report).unwrap();
    println!("{report}");
}
