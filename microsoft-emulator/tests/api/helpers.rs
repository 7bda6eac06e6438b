//! Test harness: an emulator on port 0, a reqwest client with redirects off, helpers for the
//! sign-in flow, and a small axum listener that records the callbacks it receives.

use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use base64::Engine;
use microsoft_emulator::*;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

pub const REDIRECT: &str = "http://127.0.0.1:9/auth/microsoft/callback";
pub const SCOPE: &str = "openid profile offline_access https://graph.microsoft.com/User.Read";
pub const REQUEST_SERVICE: &str = "3db474b9-6a0c-4840-96ac-1fceb342124f";
pub const ADMIN_API: &str = "6a8b4b39-c021-437c-b060-5a14a3fd65f3";

pub struct TestEmu {
    pub emu: RunningEmulator,
    pub http: reqwest::Client,
}

pub async fn spawn_emu() -> TestEmu {
    spawn_emu_with(Seed::demo()).await
}

pub async fn spawn_emu_with(seed: Seed) -> TestEmu {
    let emu = microsoft_emulator::spawn(EmulatorConfig {
        bind: "127.0.0.1:0".parse().unwrap(),
        seed,
    })
    .await
    .expect("emulator starts");
    assert!(emu.register_redirect_uri(DEV_CLIENT_ID, REDIRECT));
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    TestEmu { emu, http }
}

pub fn pkce() -> (String, String) {
    let verifier = format!("verifier-{}", uuid::Uuid::new_v4().simple()).repeat(2);
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}

/// Query parameters of a redirect `Location`.
pub fn location_params(res: &reqwest::Response) -> Vec<(String, String)> {
    let loc = res
        .headers()
        .get("location")
        .unwrap_or_else(|| panic!("expected a redirect, got {}", res.status()))
        .to_str()
        .unwrap();
    let url = url::Url::parse(loc).unwrap();
    url.query_pairs().into_owned().collect()
}

pub fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

pub struct Authorize<'a> {
    pub tenant: &'a str,
    pub client_id: &'a str,
    pub redirect_uri: &'a str,
    pub challenge: &'a str,
    pub prompt: Option<&'a str>,
}

impl TestEmu {
    pub fn authorize_url(&self, a: &Authorize<'_>) -> String {
        let mut u = url::Url::parse(&format!(
            "{}/{}/oauth2/v2.0/authorize",
            self.emu.login_url(),
            a.tenant
        ))
        .unwrap();
        u.query_pairs_mut()
            .append_pair("client_id", a.client_id)
            .append_pair("response_type", "code")
            .append_pair("redirect_uri", a.redirect_uri)
            .append_pair("response_mode", "query")
            .append_pair("scope", SCOPE)
            .append_pair("state", "state-123")
            .append_pair("nonce", "nonce-456")
            .append_pair("code_challenge", a.challenge)
            .append_pair("code_challenge_method", "S256");
        if let Some(p) = a.prompt {
            u.query_pairs_mut().append_pair("prompt", p);
        }
        u.to_string()
    }

    /// GETs a sign-in page and POSTs its form with `account` and `action` (accept/cancel/decline).
    pub async fn submit_page(
        &self,
        page_url: &str,
        account: &str,
        action: &str,
    ) -> reqwest::Response {
        self.submit_page_with(page_url, account, action, &[]).await
    }

    /// GETs a sign-in page and returns its HTML (asserting it renders).
    pub async fn page_html(&self, page_url: &str) -> String {
        let page = self.http.get(page_url).send().await.unwrap();
        assert_eq!(page.status(), 200, "sign-in page renders");
        let html = page.text().await.unwrap();
        assert!(html.contains("Accept") && html.contains("Cancel"));
        html
    }

    /// Like `submit_page`, with extra form fields (e.g. the organization checkbox).
    pub async fn submit_page_with(
        &self,
        page_url: &str,
        account: &str,
        action: &str,
        extra: &[(&str, &str)],
    ) -> reqwest::Response {
        let html = self.page_html(page_url).await;
        self.decide(&html, account, action, extra).await
    }

    /// POSTs the decision form of a page already fetched.
    pub async fn decide(
        &self,
        html: &str,
        account: &str,
        action: &str,
        extra: &[(&str, &str)],
    ) -> reqwest::Response {
        let txn = html
            .split("name=\"txn\" value=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap()
            .to_string();
        let mut form = vec![
            ("txn", txn.as_str()),
            ("account", account),
            ("action", action),
        ];
        form.extend_from_slice(extra);
        self.http
            .post(format!("{}/_emulator/decide", self.emu.login_url()))
            .form(&form)
            .send()
            .await
            .unwrap()
    }

    /// The v2 admin consent URL (`/organizations/v2.0/adminconsent`) for the demo client.
    pub fn admin_consent_url(&self, tenant: &str, scope: &str) -> String {
        let mut u = url::Url::parse(&format!(
            "{}/{tenant}/v2.0/adminconsent",
            self.emu.login_url()
        ))
        .unwrap();
        u.query_pairs_mut()
            .append_pair("client_id", DEV_CLIENT_ID)
            .append_pair("scope", scope)
            .append_pair("redirect_uri", REDIRECT)
            .append_pair("state", "S1");
        u.to_string()
    }

    /// Leg 1 of the product's connect: tenant-wide admin consent through the v2 endpoint with
    /// `https://graph.microsoft.com/.default`. Returns the redirect's parameters.
    pub async fn admin_consent(&self, admin: &str) -> Vec<(String, String)> {
        let url = self.admin_consent_url("organizations", "https://graph.microsoft.com/.default");
        location_params(&self.submit_page(&url, admin, "accept").await)
    }

    /// Signs in through `/organizations/` with PKCE; returns (code, verifier).
    pub async fn sign_in(&self, user: &str, prompt: Option<&str>) -> (String, String) {
        let (verifier, challenge) = pkce();
        let url = self.authorize_url(&Authorize {
            tenant: "organizations",
            client_id: DEV_CLIENT_ID,
            redirect_uri: REDIRECT,
            challenge: &challenge,
            prompt,
        });
        let res = self.submit_page(&url, user, "accept").await;
        let params = location_params(&res);
        assert_eq!(param(&params, "state"), Some("state-123"), "{params:?}");
        let code = param(&params, "code")
            .unwrap_or_else(|| panic!("no code: {params:?}"))
            .to_string();
        (code, verifier)
    }

    pub async fn token(&self, tenant: &str, form: &[(&str, &str)]) -> (StatusCode, Value) {
        let res = self
            .http
            .post(format!(
                "{}/{tenant}/oauth2/v2.0/token",
                self.emu.login_url()
            ))
            .form(form)
            .send()
            .await
            .unwrap();
        let status = StatusCode::from_u16(res.status().as_u16()).unwrap();
        (status, res.json().await.unwrap())
    }

    pub async fn redeem(&self, code: &str, verifier: &str) -> (StatusCode, Value) {
        self.token(
            "organizations",
            &[
                ("grant_type", "authorization_code"),
                ("client_id", DEV_CLIENT_ID),
                ("client_secret", DEV_CLIENT_SECRET),
                ("code", code),
                ("redirect_uri", REDIRECT),
                ("code_verifier", verifier),
                ("scope", SCOPE),
            ],
        )
        .await
    }

    /// The product's connect: full admin consent (leg 1), then a sign-in (leg 2); returns the
    /// token response of the sign-in.
    pub async fn connect(&self, admin: &str) -> Value {
        let p = self.admin_consent(admin).await;
        assert_eq!(param(&p, "admin_consent"), Some("True"), "{p:?}");
        assert!(param(&p, "error").is_none(), "{p:?}");
        let (code, verifier) = self.sign_in(admin, None).await;
        let (status, body) = self.redeem(&code, &verifier).await;
        assert_eq!(status, 200, "{body}");
        body
    }

    /// A refresh-token exchange at `/{tenant}/oauth2/v2.0/token`.
    pub async fn refresh(
        &self,
        tenant: &str,
        refresh_token: &str,
        scope: &str,
    ) -> (StatusCode, Value) {
        self.token(
            tenant,
            &[
                ("grant_type", "refresh_token"),
                ("client_id", DEV_CLIENT_ID),
                ("client_secret", DEV_CLIENT_SECRET),
                ("refresh_token", refresh_token),
                ("scope", scope),
            ],
        )
        .await
    }

    pub async fn app_token(&self, tenant: &str, resource: &str) -> (StatusCode, Value) {
        let scope = format!("{resource}/.default");
        self.token(
            tenant,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", DEV_CLIENT_ID),
                ("client_secret", DEV_CLIENT_SECRET),
                ("scope", &scope),
            ],
        )
        .await
    }

    /// Connects Contoso and returns a request-service app token.
    pub async fn contoso_request_token(&self) -> String {
        self.connect(CONTOSO_ADMIN_EMAIL).await;
        let (status, body) = self.app_token(CONTOSO_TENANT_ID, REQUEST_SERVICE).await;
        assert_eq!(status, 200, "{body}");
        body["access_token"].as_str().unwrap().to_string()
    }

    pub async fn create_request(&self, token: &str, body: &Value) -> (StatusCode, Value) {
        let res = self
            .http
            .post(format!(
                "{}/v1.0/verifiableCredentials/createPresentationRequest",
                self.emu.verified_id_url()
            ))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .unwrap();
        let status = StatusCode::from_u16(res.status().as_u16()).unwrap();
        (status, res.json().await.unwrap_or(Value::Null))
    }
}

/// A presentation request body as the product sends it.
pub fn presentation_body(callback_url: &str) -> Value {
    json!({
        "authority": CONTOSO_DID,
        "includeQRCode": false,
        "includeReceipt": false,
        "registration": {"clientName": "Traceless", "purpose": "Verify your employment"},
        "callback": {"url": callback_url, "state": "verification-42", "headers": {"api-key": "secret-key-1"}},
        "requestedCredentials": [{
            "type": "VerifiedEmployee",
            "acceptedIssuers": [CONTOSO_DID],
            "configuration": {"validation": {"allowRevoked": false, "validateLinkedDomain": true}}
        }]
    })
}

#[derive(Clone, Debug)]
pub struct Received {
    pub headers: HeaderMap,
    pub body: Value,
}

/// A relying party's callback endpoint: records calls, answers the next scripted status (200 after).
#[derive(Clone, Default)]
pub struct CallbackSink {
    pub received: Arc<Mutex<Vec<Received>>>,
    pub script: Arc<Mutex<Vec<u16>>>,
}

impl CallbackSink {
    pub async fn start() -> (CallbackSink, String) {
        let sink = CallbackSink::default();
        let app = axum::Router::new()
            .route("/callback", axum::routing::post(record))
            .with_state(sink.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (sink, format!("http://{addr}/callback"))
    }

    pub fn answer_next(&self, statuses: &[u16]) {
        self.script.lock().unwrap().extend_from_slice(statuses);
    }

    pub fn statuses(&self) -> Vec<String> {
        self.received
            .lock()
            .unwrap()
            .iter()
            .map(|r| r.body["requestStatus"].as_str().unwrap().to_string())
            .collect()
    }

    pub fn all(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    /// Waits (briefly) until `n` callbacks arrived.
    pub async fn wait_for(&self, n: usize) -> Vec<Received> {
        for _ in 0..100 {
            if self.received.lock().unwrap().len() >= n {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        self.all()
    }
}

async fn record(
    State(sink): State<CallbackSink>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> StatusCode {
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    sink.received
        .lock()
        .unwrap()
        .push(Received { headers, body });
    let next = {
        let mut s = sink.script.lock().unwrap();
        if s.is_empty() { 200 } else { s.remove(0) }
    };
    StatusCode::from_u16(next).unwrap()
}

/// Asserts Microsoft's identity-platform error JSON shape; returns the AADSTS code.
pub fn assert_aad_error(body: &Value, error: &str, code: u64) {
    assert_eq!(body["error"], error, "{body}");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .starts_with(&format!("AADSTS{code}:")),
        "{body}"
    );
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("\r\nTrace ID: "),
        "{body}"
    );
    assert_eq!(body["error_codes"], json!([code]), "{body}");
    for f in ["trace_id", "correlation_id", "timestamp"] {
        assert!(body[f].is_string(), "{f} missing in {body}");
    }
}

/// Asserts Verified ID's error envelope.
pub fn assert_vc_error(body: &Value, code: &str, inner: &str, target: Option<&str>) {
    assert_eq!(body["error"]["code"], code, "{body}");
    assert!(body["error"]["message"].is_string(), "{body}");
    assert_eq!(body["error"]["innererror"]["code"], inner, "{body}");
    assert!(body["error"]["innererror"]["message"].is_string(), "{body}");
    if let Some(t) = target {
        assert_eq!(body["error"]["innererror"]["target"], t, "{body}");
    }
    for f in ["requestId", "date", "mscv"] {
        assert!(body[f].is_string(), "{f} missing in {body}");
    }
}

/// A JWT's payload, unverified.
pub fn claims_of(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap()
}
