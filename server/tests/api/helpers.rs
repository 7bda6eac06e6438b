//! `spawn_app()` and a `TestApp` with one method per endpoint the tests use.
//!
//! Each test gets a database of its own on the backend the environment names: SQLite
//! (a file in a temporary folder) by default; with `TRACELESS_TEST_POSTGRES_URL` set
//! (`postgres://user@127.0.0.1:port/postgres`, a superuser), a fresh PostgreSQL database
//! per test, dropped when the test ends. The same tests run on both.

use std::fmt::Debug;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use app::error::AppError;
use app::model::MicrosoftCard;
use microsoft_emulator::{DEV_CLIENT_ID, DEV_CLIENT_SECRET, EmulatorConfig, RunningEmulator, Seed};
use reqwest::{Response, StatusCode};
use serde::de::DeserializeOwned;
use server::shutdown::Shutdown;
use server::{Application, telemetry};
use tokio::task::JoinHandle;
use traceless::config::Settings;
use traceless::db::Pool;

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub pool: Pool,
    pub verifier: Arc<traceless::verification::Verifier>,
    /// Microsoft, for this test alone.
    pub emulator: RunningEmulator,
    /// Stops the server as SIGTERM would.
    pub shutdown: Shutdown,
    /// The serving server; finishes once it has stopped.
    serving: JoinHandle<anyhow::Result<()>>,
    /// What it was started with, on the address it got: a restart reuses both.
    settings: Settings,
    pub database: Arc<TestDatabase>,
    /// `http://…/metrics` when started with `TRACELESS_METRICS_ADDR`.
    pub metrics_url: Option<String>,
}

/// Set to a PostgreSQL superuser's URL to run the suite on PostgreSQL.
pub const POSTGRES_URL_VAR: &str = "TRACELESS_TEST_POSTGRES_URL";

/// One test's database; several server instances may share it.
pub struct TestDatabase {
    url: String,
    /// The SQLite file's folder.
    _dir: Option<tempfile::TempDir>,
    /// The server's URL and the database's name, to drop it.
    postgres: Option<(String, String)>,
}

impl TestDatabase {
    pub async fn new() -> Arc<Self> {
        let Ok(server) = std::env::var(POSTGRES_URL_VAR) else {
            let dir = tempfile::tempdir().expect("temp dir");
            return Arc::new(Self {
                url: format!("sqlite://{}", dir.path().join("test.db").display()),
                _dir: Some(dir),
                postgres: None,
            });
        };
        use sqlx::Connection;
        let name = format!("t_{}", uuid::Uuid::new_v4().simple());
        let mut admin = sqlx::PgConnection::connect(&server)
            .await
            .expect("TRACELESS_TEST_POSTGRES_URL answers");
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .await
            .expect("a test database");
        let _ = admin.close().await;
        let mut url: url::Url = server.parse().expect("a URL");
        url.set_path(&name);
        Arc::new(Self {
            url: url.to_string(),
            _dir: None,
            postgres: Some((server, name)),
        })
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn is_postgres(&self) -> bool {
        self.postgres.is_some()
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let Some((server, name)) = self.postgres.take() else {
            return;
        };
        // Drop runs inside the test's runtime, which cannot block on itself: a thread with
        // a runtime of its own drops the database (and ends any connection still open).
        let _ = std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime")
                .block_on(async move {
                    use sqlx::Connection;
                    let mut admin = sqlx::PgConnection::connect(&server).await?;
                    sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .execute(&mut admin)
                        .await?;
                    admin.close().await
                })
        })
        .join();
    }
}

/// Another server instance on a test app's database (and Microsoft): for what crosses
/// instances (events, the expiry sweep).
pub struct Instance {
    pub address: String,
    pub verifier: Arc<traceless::verification::Verifier>,
    pub shutdown: Shutdown,
    serving: JoinHandle<anyhow::Result<()>>,
}

impl Instance {
    pub async fn stop(self) {
        self.shutdown.trigger();
        let _ = self.serving.await;
    }
}

pub const PASSWORD: &str = "correct horse battery staple";

/// An admin of "Contoso Help Desk" with Contoso connected, and a verification sent to
/// Megan; returns the app and the link.
pub async fn contoso_with_a_link(extra: &[(&str, &str)]) -> (TestApp, String) {
    let (app, started) = contoso_with_a_verification(extra).await;
    (app, started.sent_link())
}

/// `contoso_with_a_link`, keeping the whole started verification.
pub async fn contoso_with_a_verification(
    extra: &[(&str, &str)],
) -> (TestApp, app::model::StartedVerification) {
    let app = spawn_app_with(extra).await;
    app.admin("Contoso Help Desk", "ada@contoso.com").await;
    app.connect_microsoft(microsoft_emulator::CONTOSO_ADMIN_EMAIL, "accept")
        .await;
    let started = app
        .send_verification_to(microsoft_emulator::CONTOSO_EMPLOYEE_EMAIL)
        .await;
    (app, started)
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(&[]).await
}

/// Starts the server with extra environment-style settings.
pub async fn spawn_app_with(extra: &[(&str, &str)]) -> TestApp {
    if std::env::var("TEST_LOG").is_ok() {
        telemetry::init("info,traceless=debug,server=debug,app=debug", false)
            .expect("a valid filter");
    }
    let database = TestDatabase::new().await;
    let database_url = database.url().to_owned();
    let emulator = microsoft_emulator::spawn(EmulatorConfig {
        bind: "127.0.0.1:0".parse().unwrap(),
        seed: Seed::demo(),
    })
    .await
    .expect("the emulator starts");
    let mut extra: Vec<(String, String)> = extra
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    // The product is configured as for the real Microsoft; only the base URLs differ.
    for (name, value) in [
        ("TRACELESS_MS_CLIENT_ID", DEV_CLIENT_ID.to_string()),
        ("TRACELESS_MS_CLIENT_SECRET", DEV_CLIENT_SECRET.to_string()),
        ("TRACELESS_MS_LOGIN_URL", emulator.login_url()),
        ("TRACELESS_MS_GRAPH_URL", emulator.graph_url()),
        ("TRACELESS_MS_VERIFIED_ID_URL", emulator.verified_id_url()),
        ("TRACELESS_MS_TIMEOUT_MS", "1500".to_string()),
        // The tests' webhook receivers listen on loopback.
        ("TRACELESS_WEBHOOK_ALLOW_PRIVATE", "true".to_string()),
    ] {
        if !extra.iter().any(|(k, _)| k == name) {
            extra.push((name.to_string(), value));
        }
    }
    let settings = Settings::from_lookup(|name| {
        if let Some((_, v)) = extra.iter().find(|(k, _)| k == name) {
            return Some(v.clone());
        }
        match name {
            "TRACELESS_BIND_ADDR" => Some("127.0.0.1:0".into()),
            "TRACELESS_DATABASE_URL" => Some(database_url.clone()),
            _ => None,
        }
    })
    .expect("test settings are valid");
    let mut settings = settings;
    let application = Application::build(settings.clone())
        .await
        .expect("the app builds");
    let address = format!("http://{}", application.local_addr());
    settings.bind_addr = application.local_addr();
    settings.public_url = format!("{address}/").parse().expect("a URL");
    let pool = application.state().pool.clone();
    let verifier = application.state().verifier.clone();
    for client in [DEV_CLIENT_ID, microsoft_emulator::DEV_PROVIDER_CLIENT_ID] {
        for path in [
            app::ssr::MICROSOFT_CALLBACK_PATH,
            app::ssr::MICROSOFT_SIGN_IN_CALLBACK_PATH,
        ] {
            emulator.register_redirect_uri(client, &format!("{address}{path}"));
        }
    }
    let metrics_url = application
        .metrics_addr()
        .map(|addr| format!("http://{addr}/metrics"));
    let shutdown = application.shutdown();
    let serving = tokio::spawn(application.run_until_stopped());
    TestApp {
        metrics_url,
        address,
        client: new_client(),
        pool,
        verifier,
        emulator,
        shutdown,
        serving,
        settings,
        database,
    }
}

/// How long a test waits for a fact, or for the server's next byte, before it fails saying
/// what it waited for: generous, so a loaded CI machine is slow but never wrong.
pub const PATIENCE: Duration = Duration::from_secs(30);

/// A browser: keeps cookies, follows no redirect (the tests read them), and gives up on a
/// request that stalls for [`PATIENCE`] rather than hanging the suite.
pub fn new_client() -> reqwest::Client {
    browser_builder().build().expect("client builds")
}

/// [`new_client`]'s settings, for a browser with something more (another client address).
pub fn browser_builder() -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .read_timeout(PATIENCE)
}

/// A client with no cookies that follows redirects (a help-desk tool, a script), which also
/// gives up on a stalled request after [`PATIENCE`].
pub fn plain_client() -> reqwest::Client {
    reqwest::Client::builder()
        .read_timeout(PATIENCE)
        .build()
        .expect("client builds")
}

/// What a check of [`eventually`] yields: `true` or `Some(value)` once the fact holds; or
/// `Err(seen)` until then, where `seen` (what was found instead) goes into the failure.
pub trait Fact {
    type Value;
    fn holds(self) -> Result<Self::Value, Option<String>>;
}

impl Fact for bool {
    type Value = ();
    fn holds(self) -> Result<(), Option<String>> {
        if self { Ok(()) } else { Err(None) }
    }
}

impl<T> Fact for Option<T> {
    type Value = T;
    fn holds(self) -> Result<T, Option<String>> {
        self.ok_or(None)
    }
}

impl<T, E: Debug> Fact for Result<T, E> {
    type Value = T;
    fn holds(self) -> Result<T, Option<String>> {
        self.map_err(|seen| Some(format!("{seen:?}")))
    }
}

/// Runs `check` until the fact it checks holds and returns what it yielded: at once, then
/// after pauses growing from 10 ms to a quarter of a second. After [`PATIENCE`] the test
/// fails naming `fact` (and the last thing seen instead). Tests wait for facts this way,
/// never for a fixed time; an absence ("nothing more was sent") is asserted only after a
/// fact that proves the work it is about is done.
pub async fn eventually<F, Fut>(fact: &str, mut check: F) -> <Fut::Output as Fact>::Value
where
    F: FnMut() -> Fut,
    Fut: Future,
    Fut::Output: Fact,
{
    let mut seen = None;
    let waiting = async {
        let mut pause = Duration::from_millis(10);
        loop {
            match check().await.holds() {
                Ok(value) => return value,
                Err(now) => seen = now,
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_millis(250));
        }
    };
    match tokio::time::timeout(PATIENCE, waiting).await {
        Ok(value) => value,
        Err(_) => match seen {
            Some(seen) => panic!("waited {PATIENCE:?} for {fact}; last seen: {seen}"),
            None => panic!("waited {PATIENCE:?} for {fact}"),
        },
    }
}

impl TestApp {
    /// Stops the server as SIGTERM does and waits until it has; returns how long that took.
    pub async fn stop(&mut self) -> std::time::Duration {
        let began = std::time::Instant::now();
        self.shutdown.trigger();
        (&mut self.serving)
            .await
            .expect("the server task ends")
            .expect("the server stops cleanly");
        began.elapsed()
    }

    /// A second server instance on this app's database and Microsoft, on its own port and
    /// public URL (so Microsoft calls back the instance that asked it).
    pub async fn another_instance(&self) -> Instance {
        let mut settings = self.settings.clone();
        let _ = settings.public_url.set_port(Some(0));
        Self::instance(settings).await
    }

    /// A second instance with this one's public URL, as two instances behind one load
    /// balancer: whatever Microsoft sends back may be delivered to either.
    pub async fn another_instance_behind_the_same_url(&self) -> Instance {
        Self::instance(self.settings.clone()).await
    }

    async fn instance(mut settings: Settings) -> Instance {
        settings.bind_addr = "127.0.0.1:0".parse().unwrap();
        let application = Application::build(settings)
            .await
            .expect("the second instance builds");
        let address = format!("http://{}", application.local_addr());
        let shutdown = application.shutdown();
        let verifier = application.state().verifier.clone();
        let serving = tokio::spawn(application.run_until_stopped());
        Instance {
            address,
            verifier,
            shutdown,
            serving,
        }
    }

    /// A deploy: stops the server, then starts a new one on the same address and database
    /// (Microsoft, the emulator, stays up meanwhile).
    pub async fn restart(&mut self) {
        self.stop().await;
        self.start_again().await;
    }

    /// Starts a new server on the same address and database, after [`TestApp::stop`].
    pub async fn start_again(&mut self) {
        let application = Application::build(self.settings.clone())
            .await
            .expect("the app builds again");
        self.shutdown = application.shutdown();
        self.verifier = application.state().verifier.clone();
        self.serving = tokio::spawn(application.run_until_stopped());
    }

    /// Calls a server function the way our hydrated pages do (form-encoded POST).
    pub async fn call(&self, name: &str, form: &[(&str, &str)]) -> Response {
        self.call_as(&self.client, name, form).await
    }

    /// [`TestApp::call`] as `client`. Signing up is the whole journey a person makes (see
    /// [`TestApp::sign_up_as`]), so a test that signs up a second organization in another
    /// browser finds it signed in, as before addresses were confirmed; [`TestApp::post_as`]
    /// sends the form alone.
    pub async fn call_as(
        &self,
        client: &reqwest::Client,
        name: &str,
        form: &[(&str, &str)],
    ) -> Response {
        if name == "sign_up" {
            let field = |key: &str| form.iter().find(|(k, _)| *k == key).map_or("", |(_, v)| *v);
            return self
                .sign_up_as(
                    client,
                    field("organization"),
                    field("name"),
                    field("email"),
                    field("password"),
                )
                .await;
        }
        self.post_as(client, name, form).await
    }

    /// Posts a server function's form as `client`, as a hydrated page does.
    pub async fn post_as(
        &self,
        client: &reqwest::Client,
        name: &str,
        form: &[(&str, &str)],
    ) -> Response {
        client
            .post(format!("{}/api/{name}", self.address))
            .header("Accept", "application/json")
            .form(form)
            .send()
            .await
            .expect("request sent")
    }

    pub async fn get(&self, path: &str) -> Response {
        // As a browser navigates: redirects are only real 302s for HTML requests.
        self.client
            .get(format!("{}{path}", self.address))
            .header("Accept", "text/html,application/xhtml+xml")
            .send()
            .await
            .expect("request sent")
    }

    /// Signs up as a person does end to end: the form, then (for a new account) the
    /// confirmation link read from the mail in the outbox, its page, "Confirm my address",
    /// and signing in. Returns the sign-in's response (its session cookie), or the sign-up's
    /// own answer when it was refused or made no account (an address that had one).
    ///
    /// The account mails it read are then cleared from the outbox, so a test's outbox (and
    /// its mail server) hold only what the test itself caused.
    pub async fn sign_up(
        &self,
        organization: &str,
        name: &str,
        email: &str,
        password: &str,
    ) -> Response {
        self.sign_up_as(&self.client, organization, name, email, password)
            .await
    }

    /// [`TestApp::sign_up`] in `client`'s browser.
    pub async fn sign_up_as(
        &self,
        client: &reqwest::Client,
        organization: &str,
        name: &str,
        email: &str,
        password: &str,
    ) -> Response {
        let answer = self
            .post_as(
                client,
                "sign_up",
                &[
                    ("organization", organization),
                    ("name", name),
                    ("email", email),
                    ("password", password),
                ],
            )
            .await;
        if !answer.status().is_success() {
            return answer;
        }
        let address = traceless::email::EmailAddress::parse(email).expect("a valid address");
        let waiting: Option<bool> = traceless::db::query(
            "SELECT email_confirmed_at IS NULL FROM users WHERE email = $1 AND password_hash IS NOT NULL",
        )
        .bind(address.as_str())
        .fetch_all_on(&self.pool)
        .await
        .expect("read the account")
        .first()
        .map(|row| row.try_get::<bool, _>(0).expect("a flag"));
        if waiting != Some(true) {
            return answer;
        }
        let link = self
            .confirmation_link_for(address.as_str())
            .await
            .expect("a confirmation mail");
        self.confirm_with_link(client, &link).await;
        traceless::db::query(
            "DELETE FROM outbox_messages WHERE kind = 'account' AND recipient = $1",
        )
        .bind(address.as_str())
        .execute_on(&self.pool)
        .await
        .expect("clear the account mail");
        self.sign_in_as(client, email, password).await
    }

    /// The sign-up form's answer alone: nothing confirmed, nobody signed in.
    pub async fn sign_up_answer(
        &self,
        organization: &str,
        name: &str,
        email: &str,
        password: &str,
    ) -> Response {
        self.post_as(
            &self.client,
            "sign_up",
            &[
                ("organization", organization),
                ("name", name),
                ("email", email),
                ("password", password),
            ],
        )
        .await
    }

    /// The link of the newest confirmation mail to `email` in the outbox.
    pub async fn confirmation_link_for(&self, email: &str) -> Option<String> {
        let body: Option<String> = traceless::db::query(
            "SELECT body_text FROM outbox_messages WHERE kind = 'account' AND recipient = $1
             AND subject = $2 ORDER BY created_at DESC LIMIT 1",
        )
        .bind(email)
        .bind(traceless::mail::compose::CONFIRMATION_SUBJECT)
        .fetch_all_on(&self.pool)
        .await
        .expect("read the outbox")
        .first()
        .map(|row| row.try_get(0).expect("a body"));
        let body = body?;
        body.lines()
            .map(str::trim)
            .find(|line| line.starts_with("http") && line.contains("/confirm-email/"))
            .map(str::to_owned)
    }

    /// Opens a confirmation link's page as `browser` and presses "Confirm my address";
    /// returns the button's answer.
    pub async fn confirm_with_link(&self, browser: &reqwest::Client, link: &str) -> Response {
        // The link names the public URL, which may not be this test server's address.
        let path = &link[link.find("/confirm-email/").expect("a confirmation link")..];
        let page = browser
            .get(format!("{}{path}", self.address))
            .header("Accept", "text/html")
            .send()
            .await
            .expect("the link's page");
        assert_eq!(page.status(), StatusCode::OK, "{link}");
        let token = token_of(link);
        self.post_as(browser, "confirm_email", &[("token", &token)])
            .await
    }

    pub async fn sign_in(&self, email: &str, password: &str) -> Response {
        self.call("sign_in", &[("email", email), ("password", password)])
            .await
    }

    pub async fn sign_in_as(
        &self,
        client: &reqwest::Client,
        email: &str,
        password: &str,
    ) -> Response {
        self.post_as(
            client,
            "sign_in",
            &[("email", email), ("password", password)],
        )
        .await
    }

    /// Signs up a fresh organization whose admin is `email`, and stays signed in.
    pub async fn admin(&self, organization: &str, email: &str) {
        let response = self
            .sign_up(organization, "Ada Admin", email, PASSWORD)
            .await;
        assert!(
            response.status().is_success() || response.status().is_redirection(),
            "{}",
            response.status()
        );
    }

    pub async fn whoami(&self) -> Option<app::model::Me> {
        ok_json(self.call("whoami", &[]).await).await
    }

    pub async fn invite(&self, name: &str, email: &str, role: &str) -> Response {
        self.call(
            "invite_teammate",
            &[("name", name), ("email", email), ("role", role)],
        )
        .await
    }

    /// Presses "Log in to your tenant" as `client` and returns Microsoft's admin consent URL.
    pub async fn start_connect_as(&self, client: &reqwest::Client) -> String {
        let response = self.call_as(client, "start_microsoft_connect", &[]).await;
        assert!(response.status().is_success(), "{}", response.status());
        response.headers()["location"].to_str().unwrap().to_owned()
    }

    /// Plays the person at Microsoft's sign-in page: picks `mail`'s account and presses
    /// `action` (accept, cancel, decline). Returns where Microsoft sends the browser back.
    pub async fn at_microsoft(&self, authorize_url: &str, mail: &str, action: &str) -> String {
        self.at_microsoft_in(&new_client(), authorize_url, mail, action)
            .await
    }

    /// `at_microsoft` in a given browser (its cookies are Microsoft's sign-in session). When
    /// Microsoft answers at once (single sign-on), returns that redirect.
    pub async fn at_microsoft_in(
        &self,
        browser: &reqwest::Client,
        authorize_url: &str,
        mail: &str,
        action: &str,
    ) -> String {
        let page = browser.get(authorize_url).send().await.unwrap();
        if page.status().is_redirection() {
            return page.headers()["location"].to_str().unwrap().to_owned();
        }
        assert_eq!(page.status(), StatusCode::OK, "the sign-in page renders");
        let html = page.text().await.unwrap();
        let txn = html
            .split("name=\"txn\" value=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap()
            .to_owned();
        let oid = Seed::demo()
            .tenants
            .iter()
            .flat_map(|t| t.users.iter())
            .find(|u| u.mail.as_deref() == Some(mail))
            .map(|u| u.oid.clone())
            .expect("a demo user");
        let decided = browser
            .post(format!("{}/_emulator/decide", self.emulator.login_url()))
            .form(&[
                ("txn", txn.as_str()),
                ("account", oid.as_str()),
                ("action", action),
            ])
            .send()
            .await
            .unwrap();
        assert!(decided.status().is_redirection(), "{}", decided.status());
        decided.headers()["location"].to_str().unwrap().to_owned()
    }

    /// Follows Microsoft's redirect back to us as `client`; returns where we send it.
    pub async fn return_from_microsoft_as(
        &self,
        client: &reqwest::Client,
        callback_url: &str,
    ) -> String {
        let response = client.get(callback_url).send().await.unwrap();
        assert!(response.status().is_redirection(), "{}", response.status());
        response.headers()["location"].to_str().unwrap().to_owned()
    }

    /// The whole connect flow for the app's own client: admin consent (pressing `action`),
    /// then, when Traceless sends the browser on, the sign-in as the same account. Returns the
    /// last callback URL used.
    pub async fn connect_microsoft(&self, mail: &str, action: &str) -> String {
        self.connect_microsoft_as(&self.client, mail, action).await
    }

    /// `connect_microsoft` for another signed-in browser.
    pub async fn connect_microsoft_as(
        &self,
        client: &reqwest::Client,
        mail: &str,
        action: &str,
    ) -> String {
        let microsoft = new_client();
        let consent = self.start_connect_as(client).await;
        let callback = self
            .at_microsoft_in(&microsoft, &consent, mail, action)
            .await;
        let landed = self.return_from_microsoft_as(client, &callback).await;
        if landed == "/organization/integrations" {
            return callback;
        }
        assert!(
            landed.starts_with(&self.emulator.login_url()),
            "sent on to Microsoft's sign-in: {landed}"
        );
        let callback = self
            .at_microsoft_in(&microsoft, &landed, mail, "accept")
            .await;
        let landed = self.return_from_microsoft_as(client, &callback).await;
        assert_eq!(landed, "/organization/integrations");
        callback
    }

    /// Both legs at Microsoft, but only the consent leg's return reaches Traceless: returns
    /// the sign-in leg's callback URL, not yet followed.
    pub async fn sign_in_callback(&self, mail: &str) -> String {
        let microsoft = new_client();
        let consent = self.start_connect_as(&self.client).await;
        let callback = self
            .at_microsoft_in(&microsoft, &consent, mail, "accept")
            .await;
        let landed = self.return_from_microsoft_as(&self.client, &callback).await;
        assert!(landed.starts_with(&self.emulator.login_url()), "{landed}");
        self.at_microsoft_in(&microsoft, &landed, mail, "accept")
            .await
    }

    /// Presses "Sign in with Microsoft" in `browser`; returns Microsoft's authorize URL.
    pub async fn start_microsoft_sign_in_as(&self, browser: &reqwest::Client) -> String {
        let response = browser
            .get(format!(
                "{}{}",
                self.address,
                app::ssr::MICROSOFT_SIGN_IN_PATH
            ))
            .send()
            .await
            .expect("request sent");
        assert!(response.status().is_redirection(), "{}", response.status());
        response.headers()["location"].to_str().unwrap().to_owned()
    }

    /// "Sign in with Microsoft" in `browser` as `mail`'s Microsoft account, through the
    /// emulator's sign-in page; returns Traceless's answer to Microsoft's redirect back.
    pub async fn sign_in_with_microsoft_as(
        &self,
        browser: &reqwest::Client,
        mail: &str,
    ) -> Response {
        let authorize = self.start_microsoft_sign_in_as(browser).await;
        let callback = self.at_microsoft(&authorize, mail, "accept").await;
        browser.get(callback).send().await.expect("request sent")
    }

    /// Sends a verification to `email` (no ticket, no note) as the signed-in agent.
    pub async fn send_verification_to(&self, email: &str) -> app::model::StartedVerification {
        ok_json(
            self.call(
                "send_verification",
                &[("email", email), ("ticket_reference", ""), ("note", "")],
            )
            .await,
        )
        .await
    }

    pub async fn card_as(&self, client: &reqwest::Client) -> MicrosoftCard {
        ok_json(self.call_as(client, "microsoft_connection_card", &[]).await).await
    }

    pub async fn card(&self) -> MicrosoftCard {
        self.card_as(&self.client).await
    }

    pub async fn audit_actions(&self) -> Vec<String> {
        traceless::db::query("SELECT action FROM audit_log ORDER BY id")
            .fetch_scalars_on(&self.pool)
            .await
            .unwrap()
    }

    /// Fixed DNS answers for this app's webhooks: `set("inside.test", &[10.0.0.1])`.
    pub fn webhook_hosts(&self) -> traceless::webhooks::HostOverrides {
        self.settings.webhooks.host_overrides.clone()
    }

    pub async fn count(&self, table: &str) -> i64 {
        traceless::db::query(&format!("SELECT COUNT(*) FROM {table}"))
            .fetch_scalar_on(&self.pool)
            .await
            .expect("count")
    }
}

pub async fn ok_json<T: DeserializeOwned>(response: Response) -> T {
    let status = response.status();
    let body = response.text().await.expect("body");
    assert!(
        status.is_success(),
        "expected success, got {status}: {body}"
    );
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}"))
}

/// Asserts the response is a server-function error with `status`, and returns it.
pub async fn app_error(response: Response, status: StatusCode) -> AppError {
    let actual = response.status();
    let body = response.text().await.expect("body");
    assert_eq!(actual, status, "body: {body}");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}"))
}

/// A link as tests hold it: text, or a `StartedVerification`'s (`None` only with account
/// recovery, whose link goes to the person by mail alone).
pub trait LinkText {
    fn link_text(&self) -> &str;
}

impl LinkText for str {
    fn link_text(&self) -> &str {
        self
    }
}

impl LinkText for String {
    fn link_text(&self) -> &str {
        self
    }
}

impl LinkText for Option<String> {
    fn link_text(&self) -> &str {
        self.as_deref()
            .expect("a link in the answer: sent without account recovery")
    }
}

/// The link of a verification just sent, which the answer holds unless it was sent with
/// account recovery (then only the person gets it, by mail).
pub trait SentLink {
    fn sent_link(&self) -> String;
}

impl SentLink for app::model::StartedVerification {
    fn sent_link(&self) -> String {
        self.link
            .clone()
            .expect("a link in the answer: sent without account recovery")
    }
}

/// The token at the end of a verification or invite link.
pub fn token_of(link: &(impl LinkText + ?Sized)) -> String {
    link.link_text()
        .rsplit('/')
        .next()
        .expect("a token")
        .to_owned()
}
