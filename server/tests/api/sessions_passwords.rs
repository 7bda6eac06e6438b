//! Sessions a person can see and end (issue 19, point 3): stored hashed, listed with
//! device and address, ended one by one or everywhere else, ended with a removed member,
//! a changed role seen at once; the cookie's name and attributes.

use app::error::AppError;
use app::model::{InviteLink, SessionView};
use reqwest::StatusCode;
use time::OffsetDateTime;
use traceless::accounts::sessions;

use crate::helpers::*;

const FIREFOX_ON_WINDOWS: &str =
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0";
const SAFARI_ON_IPHONE: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1";

fn browser(user_agent: &str) -> reqwest::Client {
    browser_builder()
        .user_agent(user_agent)
        .build()
        .expect("client builds")
}

/// Signs Ada in on another browser.
async fn ada_on(app: &TestApp, user_agent: &str) -> reqwest::Client {
    let client = browser(user_agent);
    let response = app.sign_in_as(&client, "ada@contoso.com", PASSWORD).await;
    assert!(response.status().is_success(), "{}", response.status());
    client
}

async fn sessions_of(app: &TestApp, client: &reqwest::Client) -> Vec<SessionView> {
    ok_json(app.call_as(client, "my_sessions", &[]).await).await
}

async fn is_signed_in(app: &TestApp, client: &reqwest::Client) -> bool {
    let me: Option<app::model::Me> = ok_json(app.call_as(client, "whoami", &[]).await).await;
    me.is_some()
}

async fn refused_as_signed_out(app: &TestApp, client: &reqwest::Client) {
    let error = app_error(
        app.call_as(client, "my_sessions", &[]).await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    assert_eq!(error, AppError::Unauthenticated);
}

fn cookie_named<'a>(response: &'a reqwest::Response, name: &str) -> Option<&'a str> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
}

async fn stored_hashes(app: &TestApp) -> Vec<String> {
    traceless::db::query("SELECT token_hash FROM account_sessions")
        .fetch_scalars_on(&app.pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn session_ids_are_stored_only_as_their_hash() {
    let app = spawn_app().await;
    let response = app
        .sign_up("Contoso", "Ada Admin", "ada@contoso.com", PASSWORD)
        .await;
    let cookie = cookie_named(&response, "traceless_session").expect("a session cookie");
    let value = cookie
        .trim_start_matches("traceless_session=")
        .split(';')
        .next()
        .unwrap();

    let hashes = stored_hashes(&app).await;
    assert_eq!(hashes.len(), 1, "one session");
    assert_ne!(hashes[0], value, "the cookie value is not stored");
    assert!(!hashes[0].contains(value));
    assert_eq!(
        hashes[0],
        traceless::secret::SecretHash::of(value).as_str(),
        "its SHA-256 is"
    );
    let data: String = traceless::db::query("SELECT data FROM account_sessions")
        .fetch_scalar_on(&app.pool)
        .await
        .unwrap();
    assert!(!data.contains(value), "{data}");
}

#[tokio::test]
async fn the_sessions_list_shows_each_device_and_marks_this_one() {
    let app = spawn_app().await;
    app.admin("Contoso", "ada@contoso.com").await;
    let laptop = ada_on(&app, FIREFOX_ON_WINDOWS).await;
    let phone = ada_on(&app, SAFARI_ON_IPHONE).await;
    assert!(is_signed_in(&app, &phone).await);

    let list = sessions_of(&app, &laptop).await;

    assert_eq!(list.len(), 3, "{list:?}");
    let this = list.iter().filter(|s| s.current).collect::<Vec<_>>();
    assert_eq!(this.len(), 1, "one is this device: {list:?}");
    assert_eq!(this[0].device, "Firefox on Windows");
    assert_eq!(this[0].address.as_deref(), Some("127.0.0.1"));
    assert!(
        list.iter()
            .any(|s| !s.current && s.device == "Safari on iPhone"),
        "{list:?}"
    );
    // Another person's sessions are not in Ada's list.
    let grace = new_client();
    app.call_as(
        &grace,
        "sign_up",
        &[
            ("organization", "Fabrikam"),
            ("name", "Grace"),
            ("email", "grace@fabrikam.com"),
            ("password", PASSWORD),
        ],
    )
    .await;
    assert_eq!(sessions_of(&app, &grace).await.len(), 1);
    assert_eq!(sessions_of(&app, &laptop).await.len(), 3);
}

#[tokio::test]
async fn signing_out_one_session_ends_it_at_its_next_request() {
    let app = spawn_app().await;
    app.admin("Contoso", "ada@contoso.com").await;
    let phone = ada_on(&app, SAFARI_ON_IPHONE).await;
    let phone_session = sessions_of(&app, &app.client)
        .await
        .into_iter()
        .find(|s| !s.current)
        .expect("the phone's session");

    ok_json::<()>(
        app.call("end_my_session", &[("id", &phone_session.id)])
            .await,
    )
    .await;

    refused_as_signed_out(&app, &phone).await;
    assert!(is_signed_in(&app, &app.client).await, "this one stays");
    assert_eq!(sessions_of(&app, &app.client).await.len(), 1);
    assert!(
        app.audit_actions()
            .await
            .contains(&"session.ended".to_owned())
    );
}

#[tokio::test]
async fn nobody_ends_another_persons_session() {
    let app = spawn_app().await;
    app.admin("Contoso", "ada@contoso.com").await;
    let ada_session = sessions_of(&app, &app.client).await.remove(0);
    let mallory = new_client();
    app.call_as(
        &mallory,
        "sign_up",
        &[
            ("organization", "Evil"),
            ("name", "Mallory"),
            ("email", "mallory@evil.example"),
            ("password", PASSWORD),
        ],
    )
    .await;

    let refused = app_error(
        app.call_as(&mallory, "end_my_session", &[("id", &ada_session.id)])
            .await,
        StatusCode::NOT_FOUND,
    )
    .await;

    assert!(matches!(refused, AppError::NotFound(_)), "{refused:?}");
    assert!(is_signed_in(&app, &app.client).await);
}

#[tokio::test]
async fn signing_out_everywhere_ends_every_other_session() {
    let app = spawn_app().await;
    app.admin("Contoso", "ada@contoso.com").await;
    let laptop = ada_on(&app, FIREFOX_ON_WINDOWS).await;
    let phone = ada_on(&app, SAFARI_ON_IPHONE).await;

    let ended: u64 = ok_json(app.call("end_my_other_sessions", &[]).await).await;

    assert_eq!(ended, 2);
    refused_as_signed_out(&app, &laptop).await;
    refused_as_signed_out(&app, &phone).await;
    let left = sessions_of(&app, &app.client).await;
    assert_eq!(left.len(), 1);
    assert!(left[0].current);
    assert!(
        app.audit_actions()
            .await
            .contains(&"session.signed_out_everywhere".to_owned())
    );
}

async fn grace_the_agent(app: &TestApp) -> (reqwest::Client, String) {
    let link: InviteLink = ok_json(app.invite("Grace", "grace@contoso.com", "agent").await).await;
    let grace = new_client();
    let accepted = app
        .call_as(
            &grace,
            "accept_invite",
            &[("token", &token_of(&link.url)), ("password", PASSWORD)],
        )
        .await;
    assert!(accepted.status().is_success(), "{}", accepted.status());
    let team: app::model::Team = ok_json(app.call("team_members", &[]).await).await;
    let id = team
        .members
        .into_iter()
        .find(|m| m.email == "grace@contoso.com")
        .expect("Grace is a member")
        .id;
    (grace, id)
}

#[tokio::test]
async fn a_removed_member_is_signed_out_at_their_next_request() {
    let app = spawn_app().await;
    app.admin("Contoso", "ada@contoso.com").await;
    let (grace, grace_id) = grace_the_agent(&app).await;
    assert!(is_signed_in(&app, &grace).await);

    ok_json::<()>(app.call("remove_teammate", &[("id", &grace_id)]).await).await;

    refused_as_signed_out(&app, &grace).await;
    assert_eq!(app.count("account_sessions").await, 1, "only Ada's is left");
}

#[tokio::test]
async fn a_role_change_applies_at_the_next_request() {
    let app = spawn_app().await;
    app.admin("Contoso", "ada@contoso.com").await;
    let (grace, grace_id) = grace_the_agent(&app).await;
    app_error(
        app.call_as(&grace, "team_members", &[]).await,
        StatusCode::FORBIDDEN,
    )
    .await;

    ok_json::<()>(
        app.call(
            "change_teammate_role",
            &[("id", &grace_id), ("role", "admin")],
        )
        .await,
    )
    .await;
    ok_json::<app::model::Team>(app.call_as(&grace, "team_members", &[]).await).await;

    ok_json::<()>(
        app.call(
            "change_teammate_role",
            &[("id", &grace_id), ("role", "agent")],
        )
        .await,
    )
    .await;
    app_error(
        app.call_as(&grace, "team_members", &[]).await,
        StatusCode::FORBIDDEN,
    )
    .await;
}

#[tokio::test]
async fn over_https_the_cookie_is_host_prefixed_and_secure() {
    let app = spawn_app_with(&[("TRACELESS_PUBLIC_URL", "https://traceless.example.com/")]).await;

    let response = app
        .sign_up("Contoso", "Ada Admin", "ada@contoso.com", PASSWORD)
        .await;

    assert!(cookie_named(&response, "traceless_session").is_none());
    let cookie = cookie_named(&response, "__Host-traceless_session").expect("a __Host- cookie");
    for attribute in ["Secure", "HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(cookie.contains(attribute), "{attribute}: {cookie}");
    }
    assert!(!cookie.contains("Domain"), "{cookie}");
}

#[tokio::test]
async fn over_plain_http_the_cookie_has_no_prefix_and_is_not_secure() {
    let app = spawn_app().await;

    let response = app
        .sign_up("Contoso", "Ada Admin", "ada@contoso.com", PASSWORD)
        .await;

    assert!(cookie_named(&response, "__Host-traceless_session").is_none());
    let cookie = cookie_named(&response, "traceless_session").expect("a session cookie");
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(cookie.contains(attribute), "{attribute}: {cookie}");
    }
    assert!(!cookie.contains("Secure"), "{cookie}");
    assert!(!cookie.contains("Domain"), "{cookie}");
}

#[tokio::test]
async fn last_seen_is_written_at_most_once_a_minute() {
    let app = spawn_app().await;
    app.admin("Contoso", "ada@contoso.com").await;
    let an_hour_ago = OffsetDateTime::now_utc() - time::Duration::hours(1);
    traceless::db::query("UPDATE account_sessions SET last_seen_at = $1")
        .bind(an_hour_ago)
        .execute_on(&app.pool)
        .await
        .unwrap();
    let last_seen = || async {
        traceless::db::query("SELECT last_seen_at FROM account_sessions")
            .fetch_scalar_on::<OffsetDateTime>(&app.pool)
            .await
            .unwrap()
    };

    assert!(app.whoami().await.is_some());
    let first = last_seen().await;
    assert!(first > an_hour_ago, "seen now");
    assert!(app.whoami().await.is_some());

    assert_eq!(
        last_seen().await,
        first,
        "not written again within the minute"
    );
}

#[tokio::test]
async fn expired_sessions_sign_nobody_in_and_are_swept() {
    let app = spawn_app().await;
    app.admin("Contoso", "ada@contoso.com").await;
    traceless::db::query("UPDATE account_sessions SET expires_at = $1")
        .bind(OffsetDateTime::now_utc() - time::Duration::minutes(1))
        .execute_on(&app.pool)
        .await
        .unwrap();

    assert!(app.whoami().await.is_none());
    let swept = sessions::delete_expired(&app.pool, OffsetDateTime::now_utc())
        .await
        .unwrap();
    assert_eq!(swept, 1);
    assert_eq!(app.count("account_sessions").await, 0);
}

// Password lifecycle (issue 19, point 2).

const NEW_PASSWORD: &str = "violet tractor meadow lantern";

fn field_message(error: &AppError, field: &str) -> String {
    error
        .for_field(field)
        .unwrap_or_else(|| panic!("an error beside {field}: {error:?}"))
}

#[tokio::test]
async fn wrong_current_passwords_count_as_failed_sign_ins() {
    let app = spawn_app_with(&[(
        "TRACELESS_RATE_LIMIT_SIGN_IN_FAILURES_PER_ACCOUNT_AND_IP",
        "3/h",
    )])
    .await;
    app.admin("Contoso", "ada@contoso.com").await;
    let wrong = [
        ("current_password", "not my password at all"),
        ("password", NEW_PASSWORD),
    ];
    for _ in 0..3 {
        app_error(
            app.call("change_password", &wrong).await,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    // The session cannot go on guessing: even the right password now waits.
    let right = [("current_password", PASSWORD), ("password", NEW_PASSWORD)];
    let refused = app.call("change_password", &right).await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(refused.headers().contains_key(reqwest::header::RETRY_AFTER));
}

#[tokio::test]
async fn changing_the_password_needs_the_current_one_and_ends_the_other_sessions() {
    let app = spawn_app().await;
    app.admin("Contoso", "ada@contoso.com").await;
    let phone = ada_on(&app, SAFARI_ON_IPHONE).await;

    let wrong = app_error(
        app.call(
            "change_password",
            &[
                ("current_password", "not my password at all"),
                ("password", NEW_PASSWORD),
            ],
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(field_message(&wrong, "current_password").contains("current password"));
    assert!(is_signed_in(&app, &phone).await, "nothing changed");

    let ended: u64 = ok_json(
        app.call(
            "change_password",
            &[("current_password", PASSWORD), ("password", NEW_PASSWORD)],
        )
        .await,
    )
    .await;

    assert_eq!(ended, 1);
    refused_as_signed_out(&app, &phone).await;
    assert!(is_signed_in(&app, &app.client).await, "this session stays");
    let old = app
        .sign_in_as(&new_client(), "ada@contoso.com", PASSWORD)
        .await;
    app_error(old, StatusCode::UNPROCESSABLE_ENTITY).await;
    let new = app
        .sign_in_as(&new_client(), "ada@contoso.com", NEW_PASSWORD)
        .await;
    assert!(new.status().is_success(), "{}", new.status());
    assert!(
        app.audit_actions()
            .await
            .contains(&"password.changed".to_owned())
    );
}

#[tokio::test]
async fn a_guessable_password_is_refused_with_zxcvbns_feedback_wherever_one_is_set() {
    let app = spawn_app().await;
    const GUESSABLE: &str = "qazwsxedcrfvtgb";

    let sign_up = app_error(
        app.sign_up("Contoso", "Ada Admin", "ada@contoso.com", GUESSABLE)
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    let message = field_message(&sign_up, "password");
    assert!(
        message.starts_with("That password is too easy to guess. "),
        "{message}"
    );
    assert!(
        message.len() > "That password is too easy to guess. ".len() + 10,
        "with zxcvbn's warning or suggestions: {message}"
    );
    assert_eq!(app.count("users").await, 0);

    app.admin("Contoso", "ada@contoso.com").await;
    let change = app_error(
        app.call(
            "change_password",
            &[("current_password", PASSWORD), ("password", GUESSABLE)],
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(field_message(&change, "password"), message);

    let link: InviteLink = ok_json(app.invite("Grace", "grace@contoso.com", "agent").await).await;
    let accept = app_error(
        app.call_as(
            &new_client(),
            "accept_invite",
            &[("token", &token_of(&link.url)), ("password", GUESSABLE)],
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(field_message(&accept, "password").starts_with("That password is too easy to guess."));
}

async fn forgot(app: &TestApp, email: &str) -> (StatusCode, Vec<String>, Vec<u8>) {
    let response = app
        .call_as(&new_client(), "forgot_password", &[("email", email)])
        .await;
    let status = response.status();
    let mut headers: Vec<String> = response
        .headers()
        .iter()
        // The date, and the page nonce drawn afresh for every response.
        .filter(|(name, _)| *name != "date" && *name != "content-security-policy")
        .map(|(name, value)| format!("{name}: {}", value.to_str().unwrap_or("?")))
        .collect();
    headers.sort();
    (status, headers, response.bytes().await.unwrap().to_vec())
}

/// The reset link in the newest mail to `email`.
async fn reset_link_sent_to(app: &TestApp, email: &str) -> String {
    let body: String = traceless::db::query(
        "SELECT body_text FROM outbox_messages WHERE recipient = $1 ORDER BY created_at DESC LIMIT 1",
    )
    .bind(email)
    .fetch_scalar_on(&app.pool)
    .await
    .expect("a mail to the address");
    let start = body.find("/reset-password/").expect("a reset link");
    body[start..]
        .split_whitespace()
        .next()
        .unwrap()
        .trim_start_matches("/reset-password/")
        .to_owned()
}

#[tokio::test]
async fn forgot_password_answers_the_same_bytes_for_known_and_unknown_addresses() {
    let app = spawn_app().await;
    app.admin("Contoso", "ada@contoso.com").await;

    let started = std::time::Instant::now();
    let known = forgot(&app, "ada@contoso.com").await;
    let known_took = started.elapsed();
    let started = std::time::Instant::now();
    let unknown = forgot(&app, "nobody@contoso.com").await;
    let unknown_took = started.elapsed();

    assert!(known.0.is_success(), "{known:?}");
    assert_eq!(known, unknown, "status, headers and body");
    for took in [known_took, unknown_took] {
        assert!(
            took >= traceless::accounts::password_reset::ANSWER_AFTER,
            "{took:?}"
        );
    }
    // Only the real account got a mail.
    let recipients: Vec<String> = traceless::db::query("SELECT recipient FROM outbox_messages")
        .fetch_scalars_on(&app.pool)
        .await
        .unwrap();
    assert_eq!(recipients, ["ada@contoso.com"]);
}

#[tokio::test]
async fn a_reset_link_works_once_and_ends_every_session() {
    let app = spawn_app().await;
    app.admin("Contoso", "ada@contoso.com").await;
    let phone = ada_on(&app, SAFARI_ON_IPHONE).await;
    forgot(&app, "ada@contoso.com").await;
    let token = reset_link_sent_to(&app, "ada@contoso.com").await;
    let stored: Vec<String> = traceless::db::query("SELECT token_hash FROM password_resets")
        .fetch_scalars_on(&app.pool)
        .await
        .unwrap();
    assert_eq!(
        stored,
        [traceless::secret::SecretHash::of(&token).as_str()],
        "stored hashed"
    );
    let stranger = new_client();
    let open: bool = ok_json(
        app.call_as(&stranger, "reset_link_open", &[("token", &token)])
            .await,
    )
    .await;
    assert!(open);

    let reset = app
        .call_as(
            &stranger,
            "reset_password",
            &[("token", &token), ("password", NEW_PASSWORD)],
        )
        .await;
    assert!(
        reset.status().is_success() || reset.status().is_redirection(),
        "{}",
        reset.status()
    );

    refused_as_signed_out(&app, &app.client).await;
    refused_as_signed_out(&app, &phone).await;
    assert_eq!(app.count("account_sessions").await, 0);
    let signed_in = app.sign_in("ada@contoso.com", NEW_PASSWORD).await;
    assert!(signed_in.status().is_success(), "{}", signed_in.status());
    assert!(
        app.audit_actions()
            .await
            .contains(&"password.reset".to_owned())
    );

    let again = app_error(
        app.call_as(
            &stranger,
            "reset_password",
            &[
                ("token", &token),
                ("password", "another fine long passphrase"),
            ],
        )
        .await,
        StatusCode::NOT_FOUND,
    )
    .await;
    assert!(
        again.to_string().contains("expired or was already used"),
        "{again}"
    );
    let open: bool = ok_json(
        app.call_as(&stranger, "reset_link_open", &[("token", &token)])
            .await,
    )
    .await;
    assert!(!open);
}

#[tokio::test]
async fn a_reset_link_lasts_30_minutes_and_no_longer() {
    let app = spawn_app().await;
    app.admin("Contoso", "ada@contoso.com").await;
    forgot(&app, "ada@contoso.com").await;
    let token = reset_link_sent_to(&app, "ada@contoso.com").await;
    let lifetime: (OffsetDateTime, OffsetDateTime) = {
        let row = traceless::db::query("SELECT created_at, expires_at FROM password_resets")
            .fetch_one_on(&app.pool)
            .await
            .unwrap();
        (row.try_get(0).unwrap(), row.try_get(1).unwrap())
    };
    assert_eq!(lifetime.1 - lifetime.0, time::Duration::minutes(30));

    // Thirty minutes later:
    traceless::db::query("UPDATE password_resets SET expires_at = $1")
        .bind(OffsetDateTime::now_utc() - time::Duration::seconds(1))
        .execute_on(&app.pool)
        .await
        .unwrap();
    let late = app_error(
        app.call_as(
            &new_client(),
            "reset_password",
            &[("token", &token), ("password", NEW_PASSWORD)],
        )
        .await,
        StatusCode::NOT_FOUND,
    )
    .await;

    assert!(late.to_string().contains("expired"), "{late}");
    assert!(is_signed_in(&app, &app.client).await, "nothing changed");
}

#[tokio::test]
async fn forgot_password_is_limited_per_address() {
    let app = spawn_app().await;
    let limit = traceless::rate_limit::FORGOT_PASSWORD_PER_ACCOUNT
        .burst
        .get();
    for _ in 0..limit {
        assert!(forgot(&app, "nobody@contoso.com").await.0.is_success());
    }

    let refused = app
        .call_as(
            &new_client(),
            "forgot_password",
            &[("email", "Nobody@Contoso.com")],
        )
        .await;

    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(refused.headers().contains_key("retry-after"));
    assert!(
        forgot(&app, "someone.else@contoso.com")
            .await
            .0
            .is_success()
    );
}
