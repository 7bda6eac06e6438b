//! Two-step verification (issue 19 point 4): turning it on needs a code, the password alone
//! gives no session, wrong and replayed codes are refused, a recovery code works once, the
//! code step is rate limited, and an organization can require it of everyone.

use app::api::two_step::{RecoveryCodes, TwoStepSetup, TwoStepState};
use app::model::InviteLink;
use reqwest::StatusCode;
use totp_rs::{Algorithm, Secret, TOTP};

use crate::helpers::{
    PASSWORD, TestApp, app_error, new_client, ok_json, spawn_app, spawn_app_with, token_of,
};

/// The person's authenticator app, computing codes with the same crate as the server.
pub struct Authenticator(TOTP);

impl Authenticator {
    /// From the secret as the page shows it for typing in.
    pub fn from_text(text: &str) -> Self {
        let bytes = Secret::Encoded(text.replace(' ', ""))
            .to_bytes()
            .expect("the key shown is base32");
        Authenticator(TOTP::new(Algorithm::SHA1, 6, 1, 30, bytes).expect("a valid secret"))
    }

    fn now() -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
    }

    /// The code the app shows now.
    pub fn code(&self) -> String {
        self.0.generate(Self::now())
    }

    /// The code of the next 30-second step (accepted: clocks drift).
    pub fn next_code(&self) -> String {
        self.0.generate(Self::now() + 30)
    }

    /// A code that is none of those the server accepts now.
    pub fn wrong_code(&self) -> String {
        let now = Self::now();
        let valid: Vec<String> = (0..4).map(|i| self.0.generate(now + i * 30 - 30)).collect();
        (0..1_000_000)
            .map(|n| format!("{n:06}"))
            .find(|c| !valid.contains(c))
            .unwrap()
    }
}

/// Where a server function's answer redirects the page to, if anywhere.
pub fn location(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get(reqwest::header::LOCATION)
        .map(|v| v.to_str().unwrap().to_owned())
}

impl TestApp {
    pub async fn two_step_state_as(&self, client: &reqwest::Client) -> TwoStepState {
        ok_json(self.call_as(client, "two_step_status", &[]).await).await
    }

    /// Sets up two-step verification for whoever `client` is: returns their app and their
    /// recovery codes.
    pub async fn enable_two_step_as(
        &self,
        client: &reqwest::Client,
    ) -> (Authenticator, Vec<String>) {
        let setup: TwoStepSetup =
            ok_json(self.call_as(client, "begin_two_step_setup", &[]).await).await;
        assert!(setup.qr_svg.contains("<svg"));
        let app = Authenticator::from_text(&setup.secret_text);
        let codes: RecoveryCodes = ok_json(
            self.call_as(client, "enable_two_step", &[("code", &app.code())])
                .await,
        )
        .await;
        (app, codes.codes)
    }

    pub async fn enable_two_step(&self) -> (Authenticator, Vec<String>) {
        self.enable_two_step_as(&self.client).await
    }

    pub async fn sign_in_code(&self, code: &str) -> reqwest::Response {
        self.call("sign_in_code", &[("code", code)]).await
    }

    pub async fn sign_in_recovery_code(&self, code: &str) -> reqwest::Response {
        self.call("sign_in_code", &[("code", code), ("recovery", "true")])
            .await
    }

    pub async fn sign_out(&self) {
        let response = self.call("sign_out", &[]).await;
        assert!(response.status().is_success() || response.status().is_redirection());
    }
}

const ADMIN: &str = "ada@contoso.com";

/// 32 bytes in base64: the key secrets are sealed with (`TRACELESS_TOKEN_KEY`).
const TOKEN_KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

/// A server that can keep two-step secrets (it has a key), with `extra` settings.
pub async fn spawn_keeping_secrets(extra: &[(&str, &str)]) -> TestApp {
    let mut settings = vec![("TRACELESS_TOKEN_KEY", TOKEN_KEY)];
    settings.extend_from_slice(extra);
    spawn_app_with(&settings).await
}

async fn admin_with_two_step() -> (TestApp, Authenticator, Vec<String>) {
    admin_with_two_step_on(spawn_keeping_secrets(&[]).await).await
}

async fn admin_with_two_step_on(app: TestApp) -> (TestApp, Authenticator, Vec<String>) {
    app.admin("Contoso", ADMIN).await;
    let (authenticator, codes) = app.enable_two_step().await;
    app.sign_out().await;
    (app, authenticator, codes)
}

#[tokio::test]
async fn turning_two_step_on_needs_a_current_code_from_the_app() {
    let app = spawn_keeping_secrets(&[]).await;
    app.admin("Contoso", ADMIN).await;
    let setup: TwoStepSetup = ok_json(app.call("begin_two_step_setup", &[]).await).await;
    let authenticator = Authenticator::from_text(&setup.secret_text);

    let refused = app_error(
        app.call("enable_two_step", &[("code", &authenticator.wrong_code())])
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(refused.for_field("code").is_some(), "{refused:?}");
    assert!(!app.two_step_state_as(&app.client).await.enabled);

    let codes: RecoveryCodes = ok_json(
        app.call("enable_two_step", &[("code", &authenticator.code())])
            .await,
    )
    .await;
    assert_eq!(codes.codes.len(), 10);
    let state = app.two_step_state_as(&app.client).await;
    assert!(state.enabled);
    assert_eq!(state.recovery_codes_left, 10);
    // Only hashes are kept: no code, and no secret in the clear.
    let stored: Vec<String> = traceless::db::query("SELECT code_hash FROM mfa_recovery_codes")
        .fetch_scalars_on(&app.pool)
        .await
        .unwrap();
    assert!(
        !stored
            .iter()
            .any(|h| codes.codes.iter().any(|c| h.contains(&c.replace('-', ""))))
    );
    let sealed: String = traceless::db::query("SELECT sealed_secret FROM mfa_secrets")
        .fetch_scalar_on(&app.pool)
        .await
        .unwrap();
    assert!(!sealed.contains(&setup.secret_text.replace(' ', "")));
    assert!(
        app.audit_actions()
            .await
            .contains(&"mfa.enabled".to_owned())
    );
}

#[tokio::test]
async fn without_a_key_to_seal_secrets_two_step_cannot_be_turned_on() {
    let app = spawn_app().await;
    app.admin("Contoso", ADMIN).await;
    let refused = app_error(
        app.call("begin_two_step_setup", &[]).await,
        StatusCode::FORBIDDEN,
    )
    .await;
    assert!(refused.to_string().contains("TRACELESS_TOKEN_KEY"));
    assert_eq!(app.count("mfa_secrets").await, 0);
}

#[tokio::test]
async fn with_two_step_on_the_password_alone_gives_no_session() {
    let (app, authenticator, _) = admin_with_two_step().await;

    let response = app.sign_in(ADMIN, PASSWORD).await;
    assert_eq!(location(&response).as_deref(), Some("/signin/code"));
    assert!(app.whoami().await.is_none());
    app_error(
        app.call("verifications", &[]).await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    app_error(
        app.call("team_members", &[]).await,
        StatusCode::UNAUTHORIZED,
    )
    .await;

    // The code of the next step: the current one was used to turn it on.
    let response = app.sign_in_code(&authenticator.next_code()).await;
    assert_eq!(location(&response).as_deref(), Some("/organization"));
    assert_eq!(app.whoami().await.unwrap().email, ADMIN);
}

#[tokio::test]
async fn a_wrong_code_is_refused_and_logged() {
    let (app, authenticator, _) = admin_with_two_step().await;
    app.sign_in(ADMIN, PASSWORD).await;

    let refused = app_error(
        app.sign_in_code(&authenticator.wrong_code()).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(refused.for_field("code").is_some());
    assert!(app.whoami().await.is_none());
    assert!(
        app.audit_actions()
            .await
            .contains(&"mfa.code_failed".to_owned())
    );
    // The password step still stands: the right code now signs in.
    app.sign_in_code(&authenticator.next_code()).await;
    assert!(app.whoami().await.is_some());
}

#[tokio::test]
async fn a_code_already_used_is_refused_when_replayed() {
    let (app, authenticator, _) = admin_with_two_step().await;
    app.sign_in(ADMIN, PASSWORD).await;
    let code = authenticator.next_code();
    app.sign_in_code(&code).await;
    assert!(app.whoami().await.is_some());
    app.sign_out().await;

    // Someone who saw the code tries it within its window.
    app.sign_in(ADMIN, PASSWORD).await;
    app_error(
        app.sign_in_code(&code).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(app.whoami().await.is_none());
    // An older code (the one of the current step, before the one used) is refused too.
    app_error(
        app.sign_in_code(&authenticator.code()).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
}

#[tokio::test]
async fn a_recovery_code_works_once() {
    let (app, _, codes) = admin_with_two_step().await;
    app.sign_in(ADMIN, PASSWORD).await;
    // Typed in capitals with spaces: still the code.
    let typed = codes[3].to_uppercase().replace('-', " ");
    let response = app.sign_in_recovery_code(&typed).await;
    assert_eq!(location(&response).as_deref(), Some("/organization"));
    assert!(app.whoami().await.is_some());
    assert_eq!(
        app.two_step_state_as(&app.client).await.recovery_codes_left,
        9
    );
    assert!(
        app.audit_actions()
            .await
            .contains(&"mfa.recovery_code_used".to_owned())
    );
    app.sign_out().await;

    app.sign_in(ADMIN, PASSWORD).await;
    let refused = app_error(
        app.sign_in_recovery_code(&codes[3]).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(refused.to_string().contains("already used"));
    assert!(app.whoami().await.is_none());
    app.sign_in_recovery_code(&codes[4]).await;
    assert!(app.whoami().await.is_some());
}

#[tokio::test]
async fn the_code_step_is_limited_per_account() {
    // The code step per account counts at the rate of one address's password failures.
    let app = spawn_keeping_secrets(&[(
        "TRACELESS_RATE_LIMIT_SIGN_IN_FAILURES_PER_ACCOUNT_AND_IP",
        "5/min",
    )])
    .await;
    let (app, authenticator, _) = admin_with_two_step_on(app).await;
    app.sign_in(ADMIN, PASSWORD).await;

    // Turning it on counted one; four wrong codes use up the rest.
    for _ in 0..4 {
        app_error(
            app.sign_in_code(&authenticator.wrong_code()).await,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    // Even the right code is refused until the limit allows another try.
    let response = app.sign_in_code(&authenticator.next_code()).await;
    assert!(
        response
            .headers()
            .contains_key(reqwest::header::RETRY_AFTER)
    );
    app_error(response, StatusCode::TOO_MANY_REQUESTS).await;
    assert!(app.whoami().await.is_none());
}

#[tokio::test]
async fn the_code_step_is_limited_per_address() {
    let app = spawn_keeping_secrets(&[("TRACELESS_RATE_LIMIT_SIGN_IN_PER_IP", "3/min")]).await;
    let (app, authenticator, _) = admin_with_two_step_on(app).await;
    app.sign_in(ADMIN, PASSWORD).await;
    for _ in 0..3 {
        app_error(
            app.sign_in_code(&authenticator.wrong_code()).await,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    app_error(
        app.sign_in_code(&authenticator.next_code()).await,
        StatusCode::TOO_MANY_REQUESTS,
    )
    .await;
}

#[tokio::test]
async fn turning_two_step_off_needs_the_password_and_a_code() {
    let (app, authenticator, codes) = admin_with_two_step().await;
    app.sign_in(ADMIN, PASSWORD).await;
    app.sign_in_code(&authenticator.next_code()).await;

    let refused = app_error(
        app.call(
            "disable_two_step",
            &[
                ("password", "not the password"),
                ("code", &authenticator.next_code()),
            ],
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(refused.for_field("password").is_some());
    ok_json::<()>(
        app.call(
            "disable_two_step",
            &[
                ("password", PASSWORD),
                ("code", &codes[0]),
                ("recovery", "true"),
            ],
        )
        .await,
    )
    .await;
    assert!(!app.two_step_state_as(&app.client).await.enabled);
    assert_eq!(app.count("mfa_recovery_codes").await, 0);
    assert!(
        app.audit_actions()
            .await
            .contains(&"mfa.disabled".to_owned())
    );

    app.sign_out().await;
    let response = app.sign_in(ADMIN, PASSWORD).await;
    assert_eq!(location(&response).as_deref(), Some("/organization"));
}

#[tokio::test]
async fn new_recovery_codes_need_a_code_and_replace_the_old_ones() {
    let (app, authenticator, old) = admin_with_two_step().await;
    app.sign_in(ADMIN, PASSWORD).await;
    app.sign_in_recovery_code(&old[9]).await;

    app_error(
        app.call(
            "regenerate_recovery_codes",
            &[("code", &authenticator.wrong_code())],
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    let fresh: RecoveryCodes = ok_json(
        app.call(
            "regenerate_recovery_codes",
            &[("code", &authenticator.next_code())],
        )
        .await,
    )
    .await;
    assert_eq!(fresh.codes.len(), 10);
    app.sign_out().await;
    app.sign_in(ADMIN, PASSWORD).await;
    app_error(
        app.sign_in_recovery_code(&old[0]).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    app.sign_in_recovery_code(&fresh.codes[0]).await;
    assert!(app.whoami().await.is_some());
}

#[tokio::test]
async fn an_administrator_must_have_two_step_before_requiring_it() {
    let app = spawn_app().await;
    app.admin("Contoso", ADMIN).await;
    app_error(
        app.call("set_two_step_required", &[("required", "on")])
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(!app.two_step_state_as(&app.client).await.required);
}

#[tokio::test]
async fn a_required_organization_sends_a_member_without_two_step_to_set_it_up() {
    let app = spawn_keeping_secrets(&[]).await;
    app.admin("Contoso", ADMIN).await;
    // Signed in before the requirement: their session stops working at once.
    let link: InviteLink = ok_json(app.invite("Grace", "grace@contoso.com", "agent").await).await;
    let grace = new_client();
    app.call_as(
        &grace,
        "accept_invite",
        &[("token", &token_of(&link.url)), ("password", PASSWORD)],
    )
    .await;
    assert!(
        ok_json::<Option<app::model::Me>>(app.call_as(&grace, "whoami", &[]).await)
            .await
            .is_some()
    );

    let (_, _) = app.enable_two_step().await;
    ok_json::<()>(
        app.call("set_two_step_required", &[("required", "on")])
            .await,
    )
    .await;
    assert!(
        app.audit_actions()
            .await
            .contains(&"organization.mfa_required".to_owned())
    );
    app_error(
        app.call_as(&grace, "verifications", &[]).await,
        StatusCode::UNAUTHORIZED,
    )
    .await;

    // Signing in again leads to setting it up, and nothing else works meanwhile.
    let response = app.sign_in_as(&grace, "grace@contoso.com", PASSWORD).await;
    assert_eq!(location(&response).as_deref(), Some("/account/two-step"));
    assert!(
        ok_json::<Option<app::model::Me>>(app.call_as(&grace, "whoami", &[]).await)
            .await
            .is_none()
    );
    for refused in ["verifications", "tickets", "get_verification_settings"] {
        app_error(
            app.call_as(&grace, refused, &[]).await,
            StatusCode::UNAUTHORIZED,
        )
        .await;
    }
    let state = app.two_step_state_as(&grace).await;
    assert!(state.required && state.setting_up_to_sign_in && !state.enabled);

    let (_, codes) = app.enable_two_step_as(&grace).await;
    assert_eq!(codes.len(), 10);
    let me: Option<app::model::Me> = ok_json(app.call_as(&grace, "whoami", &[]).await).await;
    assert_eq!(me.unwrap().email, "grace@contoso.com");
    ok_json::<Vec<app::model::VerificationSummary>>(
        app.call_as(&grace, "verifications", &[]).await,
    )
    .await;
}

#[tokio::test]
async fn a_new_member_of_a_required_organization_sets_it_up_after_accepting_the_invite() {
    let (app, authenticator, _) = admin_with_two_step().await;
    app.sign_in(ADMIN, PASSWORD).await;
    app.sign_in_code(&authenticator.next_code()).await;
    ok_json::<()>(
        app.call("set_two_step_required", &[("required", "on")])
            .await,
    )
    .await;
    let link: InviteLink = ok_json(app.invite("Grace", "grace@contoso.com", "agent").await).await;

    let grace = new_client();
    let response = app
        .call_as(
            &grace,
            "accept_invite",
            &[("token", &token_of(&link.url)), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(location(&response).as_deref(), Some("/account/two-step"));
    app_error(
        app.call_as(&grace, "verifications", &[]).await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    app.enable_two_step_as(&grace).await;
    ok_json::<Vec<app::model::VerificationSummary>>(
        app.call_as(&grace, "verifications", &[]).await,
    )
    .await;
}
