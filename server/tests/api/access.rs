//! Who may call what: every server function refuses a signed-out caller unless it is
//! meant for one, every administrator's function refuses an agent, and a session id
//! planted before sign-in is worthless after it.

use std::collections::BTreeSet;

use app::error::AppError;
use app::model::{InviteLink, Role};
use microsoft_emulator::CONTOSO_ADMIN_EMAIL;
use reqwest::StatusCode;

use crate::helpers::*;

/// Callable without signing in: signing in itself, invite links, the person's page.
const PUBLIC: &[&str] = &[
    "whoami",
    "sign_up",
    "sign_in",
    // Answers only to a browser whose password step just passed.
    "sign_in_code",
    "sign_out",
    "invite_details",
    "accept_invite",
    "open_verification_link",
    "renew_request",
    "forgot_password",
    "reset_link_open",
    "reset_password",
    // The person's own link authorizes these (account recovery).
    "person_recovery",
    "reveal_temporary_access_pass",
    // Answer the same for any address (email_ownership.rs); the link is the credential.
    "resend_confirmation",
    "confirmation_link_open",
    "confirm_email",
];

const ANY_TEAMMATE: &[&str] = &[
    "microsoft_connection_card",
    "send_verification",
    "verifications",
    "verification_overview",
    "cancel_verification",
    "get_verification_settings",
    "email_verification_link",
    "tickets",
    "ticket_overview",
];

/// The signed-in account's own (its password, sessions, two-step verification): allowed
/// before its address is confirmed, unlike everything of the organization's.
const OWN_ACCOUNT: &[&str] = &[
    "two_step_status",
    "begin_two_step_setup",
    "enable_two_step",
    "disable_two_step",
    "regenerate_recovery_codes",
    "my_sessions",
    "end_my_session",
    "end_my_other_sessions",
    "change_password",
    "may_start_account_recovery",
    "verification_recovery",
];

const ADMINS_ONLY: &[&str] = &[
    "start_microsoft_connect",
    "sign_in_microsoft_another_account",
    "refresh_microsoft_connection",
    "remove_microsoft_integration",
    "choose_microsoft_connection",
    "set_microsoft_email_claim",
    "audit_log",
    "audit_filters",
    "set_two_step_required",
    "reset_teammate_two_step",
    "team_members",
    "invite_teammate",
    "renew_invite",
    "remove_teammate",
    "change_teammate_role",
    "update_verification_settings",
    "api_keys",
    "create_api_key",
    "revoke_api_key",
    "webhook_endpoints",
    "add_webhook_endpoint",
    "remove_webhook_endpoint",
    "enable_webhook_endpoint",
    "redeliver_webhook",
    "mailbox",
    "microsoft_only_setting",
    "set_microsoft_only",
    "account_recovery_card",
    "account_recovery_outcome",
    "enable_account_recovery",
    "turn_off_account_recovery",
    "set_account_recovery_policy",
    "account_recovery_members",
    "set_account_recovery_permission",
];

/// Every `#[server(endpoint = "…")]` in the app's source: a new server function fails
/// this test until it is put in one of the lists above.
fn declared_server_functions() -> BTreeSet<String> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../app/src/api");
    let mut names = BTreeSet::new();
    for entry in std::fs::read_dir(&dir).expect("app/src/api") {
        let source = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        // `#[server(default)]` marks an optional argument, not a function.
        for declaration in source
            .split("#[server(")
            .skip(1)
            .filter(|d| !d.starts_with("default)"))
        {
            let name = declaration
                .split_once("endpoint = \"")
                .and_then(|(_, rest)| rest.split_once('"'))
                .map(|(name, _)| name)
                .expect("every server function names its endpoint");
            names.insert(name.to_owned());
        }
    }
    names
}

#[test]
fn every_server_function_is_classified() {
    let classified: BTreeSet<String> = [PUBLIC, ANY_TEAMMATE, OWN_ACCOUNT, ADMINS_ONLY]
        .concat()
        .into_iter()
        .map(str::to_owned)
        .collect();
    assert_eq!(declared_server_functions(), classified);
}

/// Plausible arguments for each function, naming real rows where it takes an id, so a
/// refusal can only come from who is asking.
fn arguments<'a>(name: &str, ids: &'a Ids) -> Vec<(&'static str, &'a str)> {
    match name {
        "send_verification" => vec![
            ("email", "megan@contoso.com"),
            ("ticket_reference", "HD-1"),
            ("note", ""),
        ],
        "verification_overview" | "cancel_verification" => vec![("id", &ids.verification)],
        "email_verification_link" => vec![("id", &ids.verification), ("link", "not-the-link")],
        "ticket_overview" => vec![("id", "00000000-0000-0000-0000-000000000000")],
        "invite_teammate" => vec![
            ("name", "Mallory"),
            ("email", "mallory@contoso.com"),
            ("role", "admin"),
        ],
        "renew_invite" => vec![("id", &ids.pending)],
        "remove_teammate" | "reset_teammate_two_step" => vec![("id", &ids.admin)],
        "change_teammate_role" => vec![("id", &ids.agent), ("role", "admin")],
        "update_verification_settings" => {
            vec![("link_lifetime_hours", "1"), ("face_check_threshold", "50")]
        }
        "choose_microsoft_connection" => vec![("option", "authority VerifiedEmployee")],
        "set_microsoft_email_claim" => vec![("email_claim", "mail")],
        "create_api_key" => vec![("name", "Zendesk")],
        "revoke_api_key" => vec![("id", &ids.api_key)],
        "add_webhook_endpoint" => vec![
            ("url", "http://127.0.0.1:9/refused"),
            ("events[0]", "verification.verified"),
        ],
        "remove_webhook_endpoint" | "enable_webhook_endpoint" => vec![("id", &ids.endpoint)],
        "redeliver_webhook" => vec![("id", &ids.delivery)],
        "set_microsoft_only" => vec![("on", "false")],
        "set_account_recovery_permission" => vec![("user_id", &ids.agent), ("allowed", "true")],
        "set_account_recovery_policy" => vec![("lifetime_minutes", "60")],
        "account_recovery_outcome" => vec![("code", "declined")],
        "verification_recovery" => vec![("id", &ids.verification)],
        "set_two_step_required" => vec![("required", "on")],
        "enable_two_step" | "regenerate_recovery_codes" => vec![("code", "123456")],
        "disable_two_step" => vec![("password", PASSWORD), ("code", "123456")],
        "end_my_session" => vec![("id", "00000000-0000-0000-0000-000000000000")],
        "change_password" => vec![
            ("current_password", PASSWORD),
            ("password", "violet tractor meadow lantern"),
        ],
        _ => vec![],
    }
}

struct Ids {
    admin: String,
    agent: String,
    pending: String,
    verification: String,
    api_key: String,
    endpoint: String,
    delivery: String,
}

/// What a refused call must leave untouched.
async fn snapshot(app: &TestApp) -> Vec<String> {
    let mut rows = Vec::new();
    for (table, columns) in [
        ("users", "id, role, password_hash"),
        ("invites", "id, expires_at, accepted_at"),
        ("verifications", "id, status"),
        (
            "organizations",
            "id, verification_link_hours, face_check_threshold",
        ),
        ("microsoft_integrations", "organization_id, email_claim"),
        ("microsoft_pending_connections", "organization_id"),
        ("microsoft_connect_attempts", "id"),
        ("audit_log", "id"),
        ("api_keys", "id, revoked_at"),
        ("webhook_endpoints", "id, disabled_at"),
        // Only ids: the delivery worker retries by itself meanwhile.
        ("webhook_deliveries", "id"),
    ] {
        // SQLite's quote(): ids are stored as blobs there. PostgreSQL's quote_nullable()
        // tells NULL from 'NULL' alike.
        let quote = if app.database.is_postgres() {
            "quote_nullable"
        } else {
            "quote"
        };
        let columns: Vec<String> = columns
            .split(", ")
            .map(|c| format!("{quote}({c})"))
            .collect();
        let found: Vec<String> = traceless::db::query(&format!(
            "SELECT '{table}:' || concat_ws('|', {}) FROM {table} ORDER BY 1",
            columns.join(", ")
        ))
        .fetch_scalars_on(&app.pool)
        .await
        .unwrap();
        rows.extend(found);
    }
    rows
}

#[tokio::test]
async fn signed_out_callers_and_agents_are_refused_and_change_nothing() {
    // Arrange: a connected organization with an agent, a pending invite and a verification.
    let app = spawn_app().await;
    app.admin("Contoso", "ada@contoso.com").await;
    app.connect_microsoft(CONTOSO_ADMIN_EMAIL, "accept").await;
    let link: InviteLink = ok_json(
        app.invite("Grace Agent", "grace@contoso.com", "agent")
            .await,
    )
    .await;
    let agent = new_client();
    let accepted = app
        .call_as(
            &agent,
            "accept_invite",
            &[("token", &token_of(&link.url)), ("password", PASSWORD)],
        )
        .await;
    assert!(accepted.status().is_success());
    assert_eq!(
        ok_json::<Option<app::model::Me>>(app.call_as(&agent, "whoami", &[]).await)
            .await
            .unwrap()
            .role,
        Role::Agent
    );
    app.invite("Pat Pending", "pat@contoso.com", "agent").await;
    let key = app.create_api_key("Zendesk").await;
    // Port 9 (discard) on loopback: nothing listens, so the delivery waits and retries.
    let endpoint = app
        .add_webhook_endpoint("http://127.0.0.1:9/refused", &["verification.created"])
        .await;
    let started: app::model::StartedVerification = ok_json(
        app.call(
            "send_verification",
            &[
                ("email", "megan@contoso.com"),
                ("ticket_reference", ""),
                ("note", ""),
            ],
        )
        .await,
    )
    .await;
    let id_of = |email: &'static str| {
        let pool = app.pool.clone();
        async move {
            traceless::db::query("SELECT id FROM users WHERE email = $1")
                .bind(email)
                .fetch_scalar_on::<uuid::Uuid>(&pool)
                .await
                .unwrap()
                .to_string()
        }
    };
    let ids = Ids {
        admin: id_of("ada@contoso.com").await,
        agent: id_of("grace@contoso.com").await,
        pending: id_of("pat@contoso.com").await,
        verification: started.id.clone(),
        api_key: app.api_key_id(&key.key).await,
        endpoint: endpoint.id,
        delivery: traceless::db::query("SELECT id FROM webhook_deliveries")
            .fetch_scalar_on::<uuid::Uuid>(&app.pool)
            .await
            .unwrap()
            .to_string(),
    };
    let before = snapshot(&app).await;

    // Act and assert, one function at a time.
    let signed_out = new_client();
    for name in ANY_TEAMMATE.iter().chain(OWN_ACCOUNT).chain(ADMINS_ONLY) {
        let response = app.call_as(&signed_out, name, &arguments(name, &ids)).await;
        assert_eq!(
            app_error(response, StatusCode::UNAUTHORIZED).await,
            AppError::Unauthenticated,
            "{name}, signed out"
        );
    }
    for name in ADMINS_ONLY {
        let response = app.call_as(&agent, name, &arguments(name, &ids)).await;
        let error = app_error(response, StatusCode::FORBIDDEN).await;
        assert!(
            matches!(error, AppError::Forbidden(_)),
            "{name}, as an agent: {error:?}"
        );
    }
    assert_eq!(snapshot(&app).await, before);

    // The same calls work for whom they are meant (the refusals were about the caller).
    assert!(
        app.call_as(&agent, "verifications", &[])
            .await
            .status()
            .is_success()
    );
    assert!(app.call("team_members", &[]).await.status().is_success());
}

#[tokio::test]
async fn a_session_id_planted_before_sign_in_is_worthless_after_it() {
    let app = spawn_app().await;
    app.admin("Contoso", "ada@contoso.com").await;
    // Mallory holds a live session of her own and plants its id in Ada's browser.
    let mallory = new_client();
    let signed_up = app
        .call_as(
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
    let planted = session_id(&signed_up).expect("Mallory's session cookie");

    // Ada signs in on the browser carrying Mallory's session id.
    let signed_in = plain_client()
        .post(format!("{}/api/sign_in", app.address))
        .header("Accept", "application/json")
        .header("Cookie", format!("traceless_session={planted}"))
        .form(&[("email", "ada@contoso.com"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert!(signed_in.status().is_success(), "{}", signed_in.status());

    // Ada's browser got a new id, and the planted one does not lead to Ada.
    let issued = session_id(&signed_in).expect("a new session cookie at sign-in");
    assert_ne!(issued, planted, "the session id changes at sign-in");
    let me: Option<app::model::Me> = ok_json(
        plain_client()
            .post(format!("{}/api/whoami", app.address))
            .header("Accept", "application/json")
            .header("Cookie", format!("traceless_session={planted}"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(
        me.as_ref().is_none_or(|me| me.email != "ada@contoso.com"),
        "the planted session id is signed in as Ada: {me:?}"
    );
}

fn session_id(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix("traceless_session="))
        .and_then(|v| v.split(';').next())
        .map(str::to_owned)
}

#[tokio::test]
async fn an_unconfirmed_account_is_refused_everything_of_the_organization_and_changes_nothing() {
    let app = spawn_app().await;
    let answer = app
        .sign_up_answer("Contoso", "Ada Admin", "ada@contoso.com", PASSWORD)
        .await;
    assert!(answer.status().is_success());
    let ada = new_client();
    let signed_in = app.sign_in_as(&ada, "ada@contoso.com", PASSWORD).await;
    assert!(signed_in.status().is_success() || signed_in.status().is_redirection());
    let nowhere = uuid::Uuid::new_v4().to_string();
    let ids = Ids {
        admin: nowhere.clone(),
        agent: nowhere.clone(),
        pending: nowhere.clone(),
        verification: nowhere.clone(),
        api_key: nowhere.clone(),
        endpoint: nowhere.clone(),
        delivery: nowhere,
    };
    let before = snapshot(&app).await;

    for name in ANY_TEAMMATE.iter().chain(ADMINS_ONLY) {
        // The development mailbox shows such an account its own account mail only
        // (email_ownership.rs).
        if *name == "mailbox" {
            continue;
        }
        let response = app.call_as(&ada, name, &arguments(name, &ids)).await;
        assert_eq!(
            app_error(response, StatusCode::FORBIDDEN).await,
            AppError::EmailUnconfirmed {
                email: "ada@contoso.com".into()
            },
            "{name}"
        );
    }
    assert_eq!(snapshot(&app).await, before);
    // Its own account is its to see.
    assert!(
        app.call_as(&ada, "my_sessions", &[])
            .await
            .status()
            .is_success()
    );
}
