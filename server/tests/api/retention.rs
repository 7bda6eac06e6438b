//! What we keep, and for how long: a link mail loses its link once it is delivered by SMTP
//! or the link ends, and after the retention period the evidence of a verification and
//! every copy of it are erased while the verification itself remains. On both backends.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use app::model::{MailboxMessage, RecipientPage, StartedVerification};
use microsoft_emulator::{CONTOSO_ADMIN_EMAIL, CONTOSO_EMPLOYEE_EMAIL, Variant};
use reqwest::StatusCode;
use time::OffsetDateTime;
use traceless::mail::compose::LINK_REMOVED;
use traceless::retention::{DETAILS_ERASED, MAIL_ERASED, RetentionSettings, erase_expired};

use crate::helpers::*;
use crate::smtp_sink::SmtpSink;

const MEGAN: &str = CONTOSO_EMPLOYEE_EMAIL;
/// The presented credential's name: evidence, quoted in events and the result mail.
const MEGANS_NAME: &str = "Megan Bowen";

async fn connected_with(extra: &[(&str, &str)]) -> TestApp {
    let app = spawn_app_with(extra).await;
    app.admin("Contoso Help Desk", "ada@contoso.com").await;
    app.connect_microsoft(CONTOSO_ADMIN_EMAIL, "accept").await;
    app
}

impl TestApp {
    async fn emailed_to_megan(&self, reference: &str) -> StartedVerification {
        ok_json(
            self.call(
                "send_verification",
                &[
                    ("email", MEGAN),
                    ("ticket_reference", reference),
                    ("note", ""),
                    ("delivery", "email"),
                ],
            )
            .await,
        )
        .await
    }

    /// Megan opens the link and presents her credential.
    async fn megan_presents(&self, link: &str) {
        let page: RecipientPage = ok_json(
            self.call_as(
                &new_client(),
                "open_verification_link",
                &[("token", &token_of(link))],
            )
            .await,
        )
        .await;
        let request = page.request.expect("a QR code").url;
        self.emulator
            .authenticator()
            .present(&request, MEGAN, Variant::Valid)
            .await
            .expect("the wallet presents");
    }

    /// (kind, state, body_text) of every outbox message, oldest first.
    async fn mails(&self) -> Vec<(String, String, String)> {
        traceless::db::query(
            "SELECT kind, state, body_text FROM outbox_messages ORDER BY created_at",
        )
        .fetch_all_on(&self.pool)
        .await
        .unwrap()
        .iter()
        .map(|row| {
            (
                row.try_get("kind").unwrap(),
                row.try_get("state").unwrap(),
                row.try_get("body_text").unwrap(),
            )
        })
        .collect()
    }

    /// Waits until the outbox holds `count` messages, every one delivered; returns them.
    async fn all_mail_delivered(&self, count: usize) -> Vec<(String, String, String)> {
        eventually(&format!("{count} delivered mails"), || async {
            let mails = self.mails().await;
            if mails.len() == count && mails.iter().all(|(_, state, _)| state == "delivered") {
                Ok(mails)
            } else {
                Err(mails)
            }
        })
        .await
    }

    async fn texts_of(&self, sql: &str) -> Vec<String> {
        traceless::db::query(sql)
            .fetch_scalars_on(&self.pool)
            .await
            .unwrap()
    }
}

#[tokio::test]
async fn a_link_mail_delivered_by_smtp_no_longer_holds_the_link() {
    let sink = SmtpSink::start().await;
    let settings = sink.settings();
    let extra: Vec<(&str, &str)> = settings.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let app = connected_with(&extra).await;

    let started = app.emailed_to_megan("INC-1").await;
    let sent = sink.wait_for_accepted(1).await;
    assert!(
        sent[0].unfolded().contains(&started.sent_link()),
        "the person got it"
    );

    let mails = app.all_mail_delivered(1).await;
    assert_eq!(mails[0].0, "link");
    assert_eq!(mails[0].2, LINK_REMOVED);
    let html: String = traceless::db::query("SELECT body_html FROM outbox_messages")
        .fetch_scalar_on(&app.pool)
        .await
        .unwrap();
    assert!(!html.contains(&started.sent_link()), "{html}");
    assert!(!html.contains("/verify/"), "{html}");
}

#[tokio::test]
async fn the_development_mailbox_shows_the_link_until_the_link_ends() {
    let app = connected_with(&[]).await;
    let started = app.emailed_to_megan("INC-2").await;
    app.all_mail_delivered(1).await;
    // The developer clicks the link from here.
    let mailbox: Vec<MailboxMessage> = ok_json(app.call("mailbox", &[]).await).await;
    assert_eq!(mailbox[0].links, vec![started.sent_link()]);

    let cancelled = app
        .call("cancel_verification", &[("id", &started.id)])
        .await;
    assert!(cancelled.status().is_success(), "{}", cancelled.status());

    let mailbox: Vec<MailboxMessage> = ok_json(app.call("mailbox", &[]).await).await;
    let link_mail = mailbox
        .iter()
        .find(|m| m.to == MEGAN)
        .expect("the link mail is still listed");
    assert!(link_mail.links.is_empty(), "{link_mail:?}");
    assert_eq!(link_mail.text, LINK_REMOVED);
    let bodies = app
        .texts_of("SELECT body_text || body_html FROM outbox_messages")
        .await;
    assert!(
        bodies.iter().all(|b| !b.contains(&started.sent_link())),
        "{bodies:?}"
    );
}

/// A webhook receiver on loopback that answers with a sentence.
async fn receiver() -> (String, Arc<Mutex<usize>>) {
    let received = Arc::new(Mutex::new(0));
    let count = received.clone();
    let router = axum::Router::new().route(
        "/hook",
        axum::routing::post(move || {
            let count = count.clone();
            async move {
                *count.lock().unwrap() += 1;
                "Thanks, ticket INC-3 updated"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });
    (url, received)
}

#[tokio::test]
async fn after_the_retention_period_the_evidence_and_mail_bodies_are_gone_and_the_verification_remains()
 {
    let app = connected_with(&[]).await;
    let (url, received) = receiver().await;
    let added = app
        .call(
            "add_webhook_endpoint",
            &[("url", &url), ("events[0]", "verification.verified")],
        )
        .await;
    assert!(added.status().is_success(), "{}", added.status());
    let started = app.emailed_to_megan("INC-3").await;
    app.all_mail_delivered(1).await;
    app.megan_presents(&started.sent_link()).await;
    // The link mail, and the result to the agent.
    let mails = app.all_mail_delivered(2).await;
    eventually("the webhook is delivered and recorded", || async {
        let received = *received.lock().unwrap();
        received > 0 && app.count("webhook_attempts").await > 0
    })
    .await;

    // Before: the link already left its mail (the link ended); the evidence is everywhere.
    assert_eq!(mails[0].2, LINK_REMOVED);
    assert!(mails[1].2.contains(MEGANS_NAME), "{}", mails[1].2);
    let everything = "SELECT COALESCE(v.evidence, '') FROM verifications v
         UNION ALL SELECT message FROM verification_events
         UNION ALL SELECT detail FROM ticket_entries
         UNION ALL SELECT body_text || body_html FROM outbox_messages
         UNION ALL SELECT payload FROM webhook_deliveries";
    let holding = |texts: &[String]| texts.iter().filter(|t| t.contains(MEGANS_NAME)).count();
    assert!(holding(&app.texts_of(everything).await) >= 5);

    // A day short of the period: nothing goes.
    let settings = RetentionSettings {
        window: Duration::from_secs(90 * 24 * 3600),
    };
    let now = OffsetDateTime::now_utc();
    let early = erase_expired(&app.pool, settings, now + time::Duration::days(89))
        .await
        .unwrap();
    assert_eq!(early.total(), 0);

    let erased = erase_expired(&app.pool, settings, now + time::Duration::days(91))
        .await
        .unwrap();
    assert_eq!(erased.evidence, 1);
    assert_eq!(erased.mail_bodies, 2);
    assert_eq!(erased.webhook_payloads, 1);
    assert_eq!(erased.webhook_answers, 1);
    assert_eq!(holding(&app.texts_of(everything).await), 0);
    assert!(
        app.texts_of("SELECT body_text FROM outbox_messages")
            .await
            .iter()
            .all(|b| b == MAIL_ERASED)
    );
    assert_eq!(
        app.texts_of("SELECT response_excerpt FROM webhook_attempts")
            .await,
        vec![String::new()]
    );
    assert!(
        app.texts_of("SELECT message FROM verification_events WHERE kind = 'verified'")
            .await
            .iter()
            .all(|m| m == DETAILS_ERASED)
    );
    // The verification remains: its status, times and who.
    let row = traceless::db::query(
        "SELECT status, recipient_email, created_by_name, completed_at FROM verifications",
    )
    .fetch_one_on(&app.pool)
    .await
    .unwrap();
    assert_eq!(row.try_get::<String, _>("status").unwrap(), "verified");
    assert_eq!(row.try_get::<String, _>("recipient_email").unwrap(), MEGAN);
    assert_eq!(
        row.try_get::<String, _>("created_by_name").unwrap(),
        "Ada Admin"
    );
    assert!(
        row.try_get::<Option<OffsetDateTime>, _>("completed_at")
            .unwrap()
            .is_some()
    );
    let detail: app::model::VerificationDetail = ok_json(
        app.call("verification_overview", &[("id", &started.id)])
            .await,
    )
    .await;
    assert_eq!(detail.status, "verified");
    assert!(detail.evidence.is_none());
    // An erased delivery cannot be sent again.
    let webhooks: app::model::Webhooks = ok_json(app.call("webhook_endpoints", &[]).await).await;
    let delivery = &webhooks.endpoints[0].deliveries[0].id;
    let redeliver = app.call("redeliver_webhook", &[("id", delivery)]).await;
    let refused = app_error(redeliver, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert!(refused.to_string().contains("retention"), "{refused:?}");

    // Running again (another instance, the next hour) finds nothing left to do.
    let again = erase_expired(&app.pool, settings, now + time::Duration::days(91))
        .await
        .unwrap();
    assert_eq!(again.total(), 0);
}
