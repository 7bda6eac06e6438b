//! Tickets and messages: the ticket timeline fed by verification events, the outbox
//! delivered over SMTP (a sink on loopback) with retries, across a restart, and the
//! development mailbox.

use std::time::Duration;

use app::model::{MailboxMessage, StartedVerification, TicketDetail, TicketSummary};
use microsoft_emulator::{
    CONTOSO_ADMIN_EMAIL, CONTOSO_EMPLOYEE_EMAIL, FABRIKAM_ADMIN_EMAIL, Variant,
};
use reqwest::StatusCode;

use crate::helpers::*;
use crate::smtp_sink::SmtpSink;

const MEGAN: &str = CONTOSO_EMPLOYEE_EMAIL;

async fn connected_with(extra: &[(&str, &str)]) -> TestApp {
    let app = spawn_app_with(extra).await;
    app.admin("Contoso Help Desk", "ada@contoso.com").await;
    app.connect_microsoft(CONTOSO_ADMIN_EMAIL, "accept").await;
    app
}

async fn with_sink(sink: &SmtpSink) -> TestApp {
    let settings = sink.settings();
    let extra: Vec<(&str, &str)> = settings.iter().map(|(k, v)| (*k, v.as_str())).collect();
    connected_with(&extra).await
}

impl TestApp {
    async fn send_for_ticket(&self, reference: &str, delivery: &str) -> StartedVerification {
        ok_json(
            self.call(
                "send_verification",
                &[
                    ("email", MEGAN),
                    ("ticket_reference", reference),
                    ("ticket_subject", "Password reset"),
                    ("note", "Calls from a new number"),
                    ("delivery", delivery),
                ],
            )
            .await,
        )
        .await
    }

    async fn ticket(&self, id: &str) -> TicketDetail {
        ok_json(self.call("ticket_overview", &[("id", id)]).await).await
    }

    async fn outbox(&self) -> Vec<(String, String, i64, String)> {
        traceless::db::query(
            "SELECT id, kind, attempts, state FROM outbox_messages ORDER BY created_at",
        )
        .fetch_all_on(&self.pool)
        .await
        .unwrap()
        .iter()
        .map(|row| {
            (
                row.try_get::<uuid::Uuid, _>("id").unwrap().to_string(),
                row.try_get("kind").unwrap(),
                row.try_get("attempts").unwrap(),
                row.try_get("state").unwrap(),
            )
        })
        .collect()
    }

    /// Waits until the ticket's timeline has an entry of `kind`.
    async fn wait_for_entry(&self, ticket: &str, kind: &str) -> TicketDetail {
        eventually(&format!("a {kind} entry on the ticket"), || async {
            let detail = self.ticket(ticket).await;
            if detail.timeline.iter().any(|e| e.kind == kind) {
                Ok(detail)
            } else {
                Err(detail.timeline)
            }
        })
        .await
    }

    /// Waits until the worker has recorded how the first message's delivery ended (the mail
    /// server accepts it a moment before); returns its attempts and state.
    async fn first_mail_outcome(&self) -> (i64, String) {
        eventually("the outbox records how the delivery ended", || async {
            let (_, _, attempts, state) = self.outbox().await.remove(0);
            (state != "pending").then_some((attempts, state))
        })
        .await
    }
}

fn message_id(mail: &crate::smtp_sink::ReceivedMail) -> String {
    mail.header("Message-ID").expect("a Message-ID")
}

#[tokio::test]
async fn an_emailed_link_arrives_over_smtp_with_the_right_link() {
    let sink = SmtpSink::start().await;
    let app = with_sink(&sink).await;

    let started = app.send_for_ticket("INC-4711", "email").await;

    let mails = sink.wait_for_accepted(1).await;
    let mail = &mails[0];
    assert_eq!(mail.recipients, vec![MEGAN.to_owned()]);
    let body = mail.unfolded();
    assert!(
        body.contains(&started.sent_link()),
        "the link is in the mail: {body}"
    );
    assert!(body.contains("INC-4711"), "{body}");
    assert!(body.contains("Treat verification links like sensitive links"));
    assert!(
        !body.contains("Calls from a new number"),
        "the note stays with the team"
    );
    assert!(body.contains("Content-Type: text/html"), "an HTML part too");
    let (id, kind, _, _) = app.outbox().await.remove(0);
    assert_eq!(kind, "link");
    assert!(
        message_id(mail).contains(&id),
        "Message-ID is the outbox id"
    );
    // The delivery reaches the ticket's timeline.
    let ticket = app
        .wait_for_entry(started.ticket_id.as_deref().unwrap(), "mail_delivered")
        .await;
    let kinds: Vec<&str> = ticket.timeline.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, ["sent", "emailed", "mail_delivered"]);
}

#[tokio::test]
async fn a_failing_smtp_server_is_retried_with_backoff_and_then_succeeds() {
    let sink = SmtpSink::start().await;
    sink.refuse_next(2);
    let app = with_sink(&sink).await;

    app.send_for_ticket("INC-1", "email").await;

    let accepted = sink.wait_for_accepted(1).await;
    let seen = sink.seen();
    assert_eq!(seen.len(), 3, "two refusals, then the delivery");
    let ids: Vec<String> = seen.iter().map(message_id).collect();
    assert!(
        ids.iter().all(|id| *id == ids[0]),
        "one Message-ID throughout: {ids:?}"
    );
    assert_eq!(accepted.len(), 1);
    // Backoff: 200 ms after the first refusal, 400 ms after the second.
    let waited = seen[2].at - seen[0].at;
    assert!(waited >= Duration::from_millis(600), "{waited:?}");
    let (attempts, state) = app.first_mail_outcome().await;
    assert_eq!((attempts, state.as_str()), (3, "delivered"));
}

#[tokio::test]
async fn the_outbox_survives_a_restart_and_a_resend_keeps_the_message_id() {
    let sink = SmtpSink::start().await;
    sink.refuse_next(usize::MAX);
    let mut app = with_sink(&sink).await;

    // The message is written with the verification; the mail server refuses it for now.
    app.send_for_ticket("INC-2", "email").await;
    eventually("the mail server refuses a first try", || async {
        !sink.seen().is_empty()
    })
    .await;
    app.stop().await;
    let refused = message_id(&sink.seen()[0]);
    let (_, _, _, state) = app.outbox().await.remove(0);
    assert_eq!(state, "pending", "nothing lost while stopped");

    sink.refuse_next(0);
    app.start_again().await;

    let accepted = sink.wait_for_accepted(1).await;
    assert_eq!(
        message_id(&accepted[0]),
        refused,
        "the re-send has the same Message-ID"
    );
    // Once the outbox records it delivered, the worker is done with it.
    let (_, state) = app.first_mail_outcome().await;
    assert_eq!(state, "delivered");
    assert_eq!(sink.accepted().len(), 1, "delivered once");
}

#[tokio::test]
async fn a_completed_verification_updates_its_tickets_timeline_and_mails_the_agent() {
    let app = connected_with(&[]).await;
    let started = app.send_for_ticket("INC-4711", "link").await;
    let ticket_id = started.ticket_id.clone().expect("a ticket");

    let page: app::model::RecipientPage = ok_json(
        app.call_as(
            &new_client(),
            "open_verification_link",
            &[("token", &token_of(&started.sent_link()))],
        )
        .await,
    )
    .await;
    app.emulator
        .authenticator()
        .present(&page.request.unwrap().url, MEGAN, Variant::Valid)
        .await
        .expect("the wallet presents");

    let ticket = app.wait_for_entry(&ticket_id, "mail_delivered").await;
    let kinds: Vec<&str> = ticket.timeline.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(
        kinds,
        ["sent", "opened", "scanned", "verified", "mail_delivered"]
    );
    assert_eq!(ticket.timeline[0].actor, "Ada Admin");
    assert_eq!(ticket.timeline[3].actor, MEGAN);
    assert_eq!(ticket.reference, "INC-4711");
    assert_eq!(ticket.subject.as_deref(), Some("Password reset"));
    assert_eq!(ticket.verifications.len(), 1);
    assert_eq!(ticket.verifications[0].status, "verified");
    // The result went to the agent, in the development mailbox (no SMTP configured).
    let mailbox: Vec<MailboxMessage> = ok_json(app.call("mailbox", &[]).await).await;
    assert_eq!(mailbox.len(), 1);
    assert_eq!(mailbox[0].to, "ada@contoso.com");
    assert!(
        mailbox[0].subject.starts_with("Verified"),
        "{}",
        mailbox[0].subject
    );
    // Found by reference; the same reference again joins the same ticket.
    let again = app.send_for_ticket("INC-4711", "link").await;
    assert_eq!(again.ticket_id.as_deref(), Some(ticket_id.as_str()));
    let found: Vec<TicketSummary> =
        ok_json(app.call("tickets", &[("search", "inc-47")]).await).await;
    assert_eq!(found.len(), 1);
    assert_eq!(app.ticket(&ticket_id).await.verifications.len(), 2);
}

#[tokio::test]
async fn the_ticket_stream_sends_new_entries_live() {
    let app = connected_with(&[]).await;
    let started = app.send_for_ticket("INC-9", "link").await;
    let ticket_id = started.ticket_id.unwrap();
    let mut stream = app
        .client
        .get(format!(
            "{}/organization/tickets/{ticket_id}/events",
            app.address
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), StatusCode::OK);

    app.call("cancel_verification", &[("id", &started.id)])
        .await;

    let mut seen = String::new();
    while !seen.contains("\"cancelled\"") {
        let chunk = tokio::time::timeout(Duration::from_secs(5), stream.chunk())
            .await
            .expect("an entry within 5 s")
            .unwrap()
            .expect("the stream stays open");
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(seen.contains("\"sent\""), "{seen}");
    assert!(
        seen.contains("Ada Admin cancelled the verification"),
        "{seen}"
    );
}

#[tokio::test]
async fn another_organization_cannot_see_a_ticket() {
    let app = connected_with(&[]).await;
    let started = app.send_for_ticket("INC-4711", "link").await;
    let ticket_id = started.ticket_id.unwrap();

    let other = new_client();
    app.call_as(
        &other,
        "sign_up",
        &[
            ("organization", "Fabrikam"),
            ("name", "Fay"),
            ("email", FABRIKAM_ADMIN_EMAIL),
            ("password", PASSWORD),
        ],
    )
    .await;
    let refused = app
        .call_as(&other, "ticket_overview", &[("id", &ticket_id)])
        .await;
    app_error(refused, StatusCode::NOT_FOUND).await;
    let found: Vec<TicketSummary> =
        ok_json(app.call_as(&other, "tickets", &[("search", "INC")]).await).await;
    assert!(found.is_empty());
    let stream = other
        .get(format!(
            "{}/organization/tickets/{ticket_id}/events",
            app.address
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), StatusCode::NOT_FOUND);
    let mailbox: Vec<MailboxMessage> = ok_json(app.call_as(&other, "mailbox", &[]).await).await;
    assert!(mailbox.is_empty());
}

#[tokio::test]
async fn the_development_mailbox_is_off_when_smtp_is_configured() {
    let sink = SmtpSink::start().await;
    let app = with_sink(&sink).await;
    app_error(app.call("mailbox", &[]).await, StatusCode::NOT_FOUND).await;
    let me = app.whoami().await.unwrap();
    assert!(!me.mailbox);
}

#[tokio::test]
async fn send_by_email_after_the_fact_needs_the_verifications_own_link() {
    let app = connected_with(&[]).await;
    let first = app.send_for_ticket("INC-5", "link").await;
    let second = app.send_for_ticket("INC-6", "link").await;

    let wrong = app
        .call(
            "email_verification_link",
            &[("id", &first.id), ("link", &second.sent_link())],
        )
        .await;
    app_error(wrong, StatusCode::UNPROCESSABLE_ENTITY).await;
    let sent = app
        .call(
            "email_verification_link",
            &[("id", &first.id), ("link", &first.sent_link())],
        )
        .await;
    assert!(sent.status().is_success(), "{}", sent.status());

    app.wait_for_entry(first.ticket_id.as_deref().unwrap(), "mail_delivered")
        .await;
    let mailbox: Vec<MailboxMessage> = ok_json(app.call("mailbox", &[]).await).await;
    assert_eq!(mailbox.len(), 1);
    assert_eq!(mailbox[0].to, MEGAN);
    assert_eq!(mailbox[0].links, vec![first.sent_link()]);
}
