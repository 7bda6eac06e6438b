//! Email ownership (issue 19 point 1): a sign-up's address is confirmed by a mailed link before
//! the account touches organization data; sign-up tells nobody which addresses have accounts;
//! an unconfirmed sign-up never blocks the address's owner.

use std::time::{Duration, Instant};

use app::error::AppError;
use app::model::InviteLink;
use reqwest::{Response, StatusCode};
use time::OffsetDateTime;
use traceless::accounts::password_reset::ANSWER_AFTER;
use traceless::config::RetentionSettings;

use crate::helpers::*;

const ADA: &str = "ada@contoso.com";
const OTHER_PASSWORD: &str = "plum orchard violin harbor";

/// What a visitor can compare between two answers: the status, every header but the date
/// and the page nonce (drawn afresh each time), and the body.
async fn observable(response: Response) -> (StatusCode, Vec<String>, Vec<u8>) {
    let status = response.status();
    let mut headers: Vec<String> = response
        .headers()
        .iter()
        .filter(|(name, _)| *name != "date" && *name != "content-security-policy")
        .map(|(name, value)| format!("{name}: {}", value.to_str().unwrap_or("?")))
        .collect();
    headers.sort();
    (status, headers, response.bytes().await.unwrap().to_vec())
}

/// Signs up `email` from a fresh browser; returns what it saw and how long it took.
async fn sign_up_from_a_fresh_browser(
    app: &TestApp,
    organization: &str,
    email: &str,
    password: &str,
) -> ((StatusCode, Vec<String>, Vec<u8>), Duration) {
    let started = Instant::now();
    let response = app
        .post_as(
            &new_client(),
            "sign_up",
            &[
                ("organization", organization),
                ("name", "Ada Admin"),
                ("email", email),
                ("password", password),
            ],
        )
        .await;
    let took = started.elapsed();
    (observable(response).await, took)
}

async fn email_confirmed(app: &TestApp, email: &str) -> Option<bool> {
    traceless::db::query("SELECT email_confirmed_at IS NOT NULL FROM users WHERE email = $1")
        .bind(email)
        .fetch_all_on(&app.pool)
        .await
        .unwrap()
        .first()
        .map(|row| row.try_get(0).unwrap())
}

/// A browser signed in as a fresh sign-up whose address is not confirmed.
async fn unconfirmed_admin(app: &TestApp, email: &str, password: &str) -> reqwest::Client {
    let answer = app
        .sign_up_answer("Contoso Help Desk", "Ada Admin", email, password)
        .await;
    assert_eq!(answer.status(), StatusCode::OK);
    let browser = new_client();
    let signed_in = app.sign_in_as(&browser, email, password).await;
    assert!(signed_in.status().is_success() || signed_in.status().is_redirection());
    browser
}

fn is_unconfirmed_refusal(error: &AppError, email: &str) {
    assert_eq!(
        error,
        &AppError::EmailUnconfirmed {
            email: email.to_owned()
        }
    );
    assert!(
        error.to_string().starts_with(&format!(
            "Confirm your email address first: we sent a link to {email}."
        )),
        "{error}"
    );
}

#[tokio::test]
async fn sign_up_signs_no_one_in_and_mails_a_confirmation_link() {
    let app = spawn_app().await;

    let answer = app
        .sign_up_answer(
            "Contoso Help Desk",
            "Ada Admin",
            "Ada@Contoso.com",
            PASSWORD,
        )
        .await;

    assert_eq!(answer.status(), StatusCode::OK);
    assert!(answer.headers().get("set-cookie").is_none());
    assert_eq!(answer.json::<String>().await.unwrap(), ADA);
    assert!(app.whoami().await.is_none(), "not signed in");
    assert_eq!(email_confirmed(&app, ADA).await, Some(false));
    let link = app.confirmation_link_for(ADA).await.expect("a link mailed");
    assert!(
        link.starts_with(&format!("{}/confirm-email/", app.address)),
        "{link}"
    );
    let kind: String =
        traceless::db::query("SELECT kind FROM outbox_messages WHERE recipient = $1")
            .bind(ADA)
            .fetch_scalar_on(&app.pool)
            .await
            .unwrap();
    assert_eq!(kind, "account");
    // Only the token's hash is stored.
    let stored: String = traceless::db::query("SELECT token_hash FROM email_confirmations")
        .fetch_scalar_on(&app.pool)
        .await
        .unwrap();
    assert_eq!(
        stored,
        traceless::secret::SecretHash::of(&token_of(&link)).as_str()
    );
    assert!(
        app.audit_actions()
            .await
            .contains(&"account.signed_up".to_owned())
    );
}

#[tokio::test]
async fn an_unconfirmed_account_signs_in_but_cannot_read_or_send() {
    let app = spawn_app().await;
    let ada = unconfirmed_admin(&app, ADA, PASSWORD).await;

    // Signed in: it knows who it is (the banner says what is missing).
    let me: Option<app::model::Me> = ok_json(app.call_as(&ada, "whoami", &[]).await).await;
    let me = me.expect("signed in");
    assert!(!me.email_confirmed);

    // Nothing of the organization's is read.
    for read in [
        "team_members",
        "verifications",
        "tickets",
        "api_keys",
        "audit_log",
    ] {
        let error = app_error(app.call_as(&ada, read, &[]).await, StatusCode::FORBIDDEN).await;
        is_unconfirmed_refusal(&error, ADA);
    }
    let stream = ada
        .get(format!(
            "{}/organization/verifications/{}/events",
            app.address,
            uuid::Uuid::new_v4()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), StatusCode::FORBIDDEN);

    // Nothing is sent or changed.
    let users = app.count("users").await;
    let send = app
        .call_as(
            &ada,
            "send_verification",
            &[
                ("email", "megan@contoso.com"),
                ("ticket_reference", ""),
                ("note", ""),
            ],
        )
        .await;
    is_unconfirmed_refusal(&app_error(send, StatusCode::FORBIDDEN).await, ADA);
    let invite = app
        .call_as(
            &ada,
            "invite_teammate",
            &[
                ("name", "Grace"),
                ("email", "grace@contoso.com"),
                ("role", "agent"),
            ],
        )
        .await;
    is_unconfirmed_refusal(&app_error(invite, StatusCode::FORBIDDEN).await, ADA);
    let key = app
        .call_as(&ada, "create_api_key", &[("name", "Help desk")])
        .await;
    is_unconfirmed_refusal(&app_error(key, StatusCode::FORBIDDEN).await, ADA);
    assert_eq!(app.count("verifications").await, 0);
    assert_eq!(app.count("api_keys").await, 0);
    assert_eq!(app.count("users").await, users);
    assert_eq!(app.count("invites").await, 0);

    // Once confirmed, the same session reads its organization.
    let link = app.confirmation_link_for(ADA).await.unwrap();
    let confirmed = app.confirm_with_link(&new_client(), &link).await;
    assert_eq!(confirmed.status(), StatusCode::OK);
    let team = app.call_as(&ada, "team_members", &[]).await;
    assert_eq!(team.status(), StatusCode::OK);
}

#[tokio::test]
async fn the_development_mailbox_shows_an_unconfirmed_account_only_its_own_account_mail() {
    let app = spawn_app().await;
    let ada = unconfirmed_admin(&app, ADA, PASSWORD).await;

    let mails: Vec<app::model::MailboxMessage> = eventually("the link in the mailbox", || async {
        let mails: Vec<app::model::MailboxMessage> =
            ok_json(app.call_as(&ada, "mailbox", &[]).await).await;
        (!mails.is_empty()).then_some(mails)
    })
    .await;

    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].to, ADA);
    assert_eq!(
        mails[0].subject,
        traceless::mail::compose::CONFIRMATION_SUBJECT
    );
    assert_eq!(
        mails[0].links,
        vec![app.confirmation_link_for(ADA).await.unwrap()]
    );
}

#[tokio::test]
async fn sign_up_answers_the_same_for_a_new_an_unconfirmed_and_a_known_address() {
    let app = spawn_app().await;
    let fresh = OffsetDateTime::now_utc();

    let (new, new_took) = sign_up_from_a_fresh_browser(&app, "Contoso", ADA, PASSWORD).await;
    // The address now waits for its confirmation.
    let (unconfirmed, unconfirmed_took) =
        sign_up_from_a_fresh_browser(&app, "Contoso", ADA, PASSWORD).await;
    let link = app.confirmation_link_for(ADA).await.unwrap();
    app.confirm_with_link(&new_client(), &link).await;
    let organizations = app.count("organizations").await;
    // The address has an account that can sign in.
    let (known, known_took) =
        sign_up_from_a_fresh_browser(&app, "Copycat", ADA, OTHER_PASSWORD).await;

    assert_eq!(new.0, StatusCode::OK);
    assert_eq!(new, unconfirmed, "status, headers and body");
    assert_eq!(new, known, "status, headers and body");
    for took in [new_took, unconfirmed_took, known_took] {
        assert!(took >= ANSWER_AFTER, "{took:?}");
    }
    // The known address: nothing made, its password unchanged, its owner told by mail.
    assert_eq!(app.count("organizations").await, organizations);
    let signed_in = app.sign_in_as(&new_client(), ADA, PASSWORD).await;
    assert!(signed_in.status().is_success() || signed_in.status().is_redirection());
    let subjects: Vec<String> = traceless::db::query(
        "SELECT subject FROM outbox_messages WHERE recipient = $1 AND created_at > $2 ORDER BY created_at",
    )
    .bind(ADA)
    .bind(fresh)
    .fetch_scalars_on(&app.pool)
    .await
    .unwrap();
    assert_eq!(
        subjects.last().unwrap(),
        "Someone tried to sign up for Traceless with your address"
    );
}

#[tokio::test]
async fn a_confirmation_link_works_once_and_not_after_it_expires() {
    let app = spawn_app().await;
    app.sign_up_answer("Contoso", "Ada Admin", ADA, PASSWORD)
        .await;
    let link = app.confirmation_link_for(ADA).await.unwrap();

    let first = app.confirm_with_link(&new_client(), &link).await;
    assert_eq!(first.status(), StatusCode::OK);
    assert_eq!(email_confirmed(&app, ADA).await, Some(true));
    assert!(
        app.audit_actions()
            .await
            .contains(&"account.email_confirmed".to_owned())
    );
    let again = app
        .call_as(
            &new_client(),
            "confirm_email",
            &[("token", &token_of(&link))],
        )
        .await;
    assert_eq!(
        app_error(again, StatusCode::NOT_FOUND).await.to_string(),
        "This confirmation link has expired or was already used. Sign in and choose \"Send the link again\" for a new one."
    );

    // Another sign-up whose link is a day old.
    app.sign_up_answer("Fabrikam", "Bob", "bob@fabrikam.com", PASSWORD)
        .await;
    let old = app.confirmation_link_for("bob@fabrikam.com").await.unwrap();
    traceless::db::query("UPDATE email_confirmations SET expires_at = $1 WHERE used_at IS NULL")
        .bind(OffsetDateTime::now_utc() - time::Duration::minutes(1))
        .execute_on(&app.pool)
        .await
        .unwrap();
    let open: bool = ok_json(
        app.call("confirmation_link_open", &[("token", &token_of(&old))])
            .await,
    )
    .await;
    assert!(!open);
    let late = app
        .call("confirm_email", &[("token", &token_of(&old))])
        .await;
    app_error(late, StatusCode::NOT_FOUND).await;
    assert_eq!(email_confirmed(&app, "bob@fabrikam.com").await, Some(false));
}

#[tokio::test]
async fn opening_the_link_elsewhere_confirms_but_signs_no_one_in() {
    let app = spawn_app().await;
    let ada = unconfirmed_admin(&app, ADA, PASSWORD).await;
    let link = app.confirmation_link_for(ADA).await.unwrap();
    let stranger = new_client();

    let confirmed = app.confirm_with_link(&stranger, &link).await;

    assert_eq!(confirmed.status(), StatusCode::OK);
    assert!(confirmed.headers().get("set-cookie").is_none());
    let stranger_is: Option<app::model::Me> =
        ok_json(app.call_as(&stranger, "whoami", &[]).await).await;
    assert!(stranger_is.is_none(), "the link gives no session");
    let me: Option<app::model::Me> = ok_json(app.call_as(&ada, "whoami", &[]).await).await;
    assert!(me.unwrap().email_confirmed);
}

#[tokio::test]
async fn an_invitation_is_not_blocked_by_an_unconfirmed_sign_up_and_confirms_the_address() {
    let app = spawn_app().await;
    app.admin("Contoso", ADA).await;
    // Someone signed up with Grace's address and never confirmed it.
    let squatter = unconfirmed_admin(&app, "grace@contoso.com", OTHER_PASSWORD).await;

    let link: InviteLink = ok_json(app.invite("Grace", "grace@contoso.com", "agent").await).await;

    // The squatter's account is gone, with its organization and its session.
    let squatter_is: Option<app::model::Me> =
        ok_json(app.call_as(&squatter, "whoami", &[]).await).await;
    assert!(squatter_is.is_none());
    assert_eq!(app.count("organizations").await, 1);
    let grace = new_client();
    let accepted = app
        .call_as(
            &grace,
            "accept_invite",
            &[("token", &token_of(&link.url)), ("password", PASSWORD)],
        )
        .await;
    assert!(accepted.status().is_success() || accepted.status().is_redirection());
    assert_eq!(email_confirmed(&app, "grace@contoso.com").await, Some(true));
    let verifications = app.call_as(&grace, "verifications", &[]).await;
    assert_eq!(verifications.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_squatters_unconfirmed_sign_up_does_not_block_the_owner() {
    let app = spawn_app().await;
    let squatter = unconfirmed_admin(&app, ADA, OTHER_PASSWORD).await;
    let squatters_link = app.confirmation_link_for(ADA).await.unwrap();

    // The owner signs up with their own address and password, and confirms.
    app.sign_up("Contoso Help Desk", "Ada Admin", ADA, PASSWORD)
        .await;

    let me = app.whoami().await.expect("the owner is signed in");
    assert!(me.email_confirmed);
    assert_eq!(me.organization, "Contoso Help Desk");
    assert_eq!(app.count("organizations").await, 1);
    let gone: Option<app::model::Me> = ok_json(app.call_as(&squatter, "whoami", &[]).await).await;
    assert!(
        gone.is_none(),
        "the squatter's session ended with its account"
    );
    let refused = app.sign_in_as(&new_client(), ADA, OTHER_PASSWORD).await;
    app_error(refused, StatusCode::UNPROCESSABLE_ENTITY).await;
    // The squatter's link died with its account.
    let late = app
        .call("confirm_email", &[("token", &token_of(&squatters_link))])
        .await;
    app_error(late, StatusCode::NOT_FOUND).await;
}

#[tokio::test]
async fn send_the_link_again_answers_alike_and_is_limited() {
    let app = spawn_app().await;
    app.sign_up_answer("Contoso", "Ada Admin", ADA, PASSWORD)
        .await;
    let resend = |email: &'static str| {
        let app = &app;
        async move {
            let started = Instant::now();
            let response = app
                .call_as(&new_client(), "resend_confirmation", &[("email", email)])
                .await;
            (started.elapsed(), response)
        }
    };

    let (waiting_took, waiting) = resend(ADA).await;
    let (unknown_took, unknown) = resend("nobody@contoso.com").await;

    let waiting = observable(waiting).await;
    assert_eq!(waiting.0, StatusCode::OK);
    assert_eq!(
        waiting,
        observable(unknown).await,
        "status, headers and body"
    );
    assert!(waiting_took >= ANSWER_AFTER && unknown_took >= ANSWER_AFTER);
    let links: i64 = traceless::db::query("SELECT COUNT(*) FROM email_confirmations")
        .fetch_scalar_on(&app.pool)
        .await
        .unwrap();
    assert_eq!(links, 2, "the sign-up's link and a new one");
    // Five mails an hour to one address, the sign-up's included.
    for _ in 0..3 {
        assert_eq!(resend(ADA).await.1.status(), StatusCode::OK);
    }
    let (_, limited) = resend(ADA).await;
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(limited.headers().get("retry-after").is_some());
    // Earlier links still work.
    let link = app.confirmation_link_for(ADA).await.unwrap();
    assert_eq!(
        app.confirm_with_link(&new_client(), &link).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_reset_link_confirms_the_address() {
    let app = spawn_app().await;
    app.sign_up_answer("Contoso", "Ada Admin", ADA, OTHER_PASSWORD)
        .await;
    app.call("forgot_password", &[("email", ADA)]).await;
    let body: String = traceless::db::query(
        "SELECT body_text FROM outbox_messages WHERE recipient = $1 AND subject = 'Set a new password for Traceless'",
    )
    .bind(ADA)
    .fetch_scalar_on(&app.pool)
    .await
    .unwrap();
    let link = body
        .lines()
        .find(|l| l.contains("/reset-password/"))
        .unwrap()
        .trim();

    let reset = app
        .call(
            "reset_password",
            &[("token", &token_of(link)), ("password", PASSWORD)],
        )
        .await;

    assert!(reset.status().is_success() || reset.status().is_redirection());
    assert_eq!(email_confirmed(&app, ADA).await, Some(true));
    let kind: String = traceless::db::query(
        "SELECT kind FROM outbox_messages WHERE subject = 'Set a new password for Traceless'",
    )
    .fetch_scalar_on(&app.pool)
    .await
    .unwrap();
    assert_eq!(kind, "account");
}

#[tokio::test]
async fn sign_ups_that_never_confirm_are_removed_after_a_week() {
    let app = spawn_app().await;
    app.admin("Contoso", ADA).await;
    app.sign_up_answer("Fabrikam", "Bob", "bob@fabrikam.com", PASSWORD)
        .await;
    let settings = RetentionSettings {
        window: Duration::from_secs(90 * 24 * 3600),
    };
    let now = OffsetDateTime::now_utc();

    let early =
        traceless::retention::erase_expired(&app.pool, settings, now + time::Duration::days(6))
            .await
            .unwrap();
    assert_eq!(early.abandoned_sign_ups, 0);
    let later =
        traceless::retention::erase_expired(&app.pool, settings, now + time::Duration::days(8))
            .await
            .unwrap();

    assert_eq!(later.abandoned_sign_ups, 1);
    assert_eq!(app.count("organizations").await, 1);
    assert_eq!(email_confirmed(&app, "bob@fabrikam.com").await, None);
    assert_eq!(email_confirmed(&app, ADA).await, Some(true));
}
