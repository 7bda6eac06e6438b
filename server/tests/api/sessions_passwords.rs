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
