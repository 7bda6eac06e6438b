//! The connect flow of `traceless::microsoft` against the in-process Microsoft emulator: sign-in
//! with PKCE, code exchange, ID-token validation, Graph domains, Verified ID authority.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use microsoft_emulator::{
    CONTOSO_ADMIN_EMAIL, CONTOSO_AUTHORITY_ID, CONTOSO_DID, CONTOSO_TENANT_ID, DEV_CLIENT_ID,
    DEV_CLIENT_SECRET, EmulatorConfig, FABRIKAM_TENANT_ID, FaultSpec, NORTHWIND_ADMIN_EMAIL,
    RunningEmulator, Seed,
};
use serde_json::Value;
use traceless::microsoft::{
    AuthorizationRequest, ClientCredentials, CredentialType, IdTokenProblem, MicrosoftClient,
    MicrosoftEndpoints, MicrosoftError, Step, TenantId, Token,
};
use url::Url;

const REDIRECT: &str = "http://127.0.0.1:9/auth/microsoft/callback";

struct TestEmu {
    emu: RunningEmulator,
    browser: reqwest::Client,
}

async fn spawn_emu() -> TestEmu {
    let emu = microsoft_emulator::spawn(EmulatorConfig {
        bind: "127.0.0.1:0".parse().unwrap(),
        seed: Seed::demo(),
    })
    .await
    .expect("emulator starts");
    assert!(emu.register_redirect_uri(DEV_CLIENT_ID, REDIRECT));
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    TestEmu { emu, browser }
}

impl TestEmu {
    fn endpoints(&self) -> MicrosoftEndpoints {
        MicrosoftEndpoints::new(
            &self.emu.login_url(),
            &self.emu.graph_url(),
            &self.emu.verified_id_url(),
        )
        .unwrap()
    }

    fn client(&self) -> MicrosoftClient {
        self.client_with(DEV_CLIENT_SECRET, MicrosoftClient::DEFAULT_TIMEOUT)
    }

    fn client_with(&self, secret: &str, timeout: Duration) -> MicrosoftClient {
        MicrosoftClient::with_timeout(
            self.endpoints(),
            ClientCredentials::new(DEV_CLIENT_ID, secret),
            timeout,
        )
        .unwrap()
    }

    /// Plays the admin's browser: opens the authorize URL, picks `account` and presses Accept.
    /// Returns the code from the redirect back to us.
    async fn sign_in(&self, auth: &AuthorizationRequest, account: &str) -> String {
        let page = self.browser.get(auth.url.clone()).send().await.unwrap();
        assert_eq!(page.status(), 200, "the sign-in page renders");
        let html = page.text().await.unwrap();
        let txn = html
            .split("name=\"txn\" value=\"")
            .nth(1)
            .and_then(|s| s.split('"').next())
            .expect("the page has a transaction id")
            .to_string();
        let res = self
            .browser
            .post(format!("{}/_emulator/decide", self.emu.login_url()))
            .form(&[
                ("txn", txn.as_str()),
                ("account", account),
                ("action", "accept"),
            ])
            .send()
            .await
            .unwrap();
        let location = res
            .headers()
            .get("location")
            .unwrap_or_else(|| panic!("expected a redirect, got {}", res.status()))
            .to_str()
            .unwrap();
        let back = Url::parse(location).unwrap();
        assert!(back.as_str().starts_with(REDIRECT), "{back}");
        let q: Vec<(String, String)> = back.query_pairs().into_owned().collect();
        let get = |k: &str| q.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        assert_eq!(get("state").as_deref(), Some(auth.state.as_str()));
        get("code").unwrap_or_else(|| panic!("no code: {q:?}"))
    }

    /// A signed-in admin's authorization request and code, after the admin consent leg
    /// (granted directly: the consent page itself is tested in the emulator and the server).
    async fn admin_code(
        &self,
        ms: &MicrosoftClient,
        account: &str,
    ) -> (AuthorizationRequest, String) {
        let seed = Seed::demo();
        let tenant = seed
            .tenants
            .iter()
            .find(|t| t.users.iter().any(|u| u.mail.as_deref() == Some(account)))
            .expect("a demo user");
        if tenant.verified_id.is_some() {
            self.emu.grant_admin_consent(&tenant.id, DEV_CLIENT_ID);
        }
        let auth = ms.authorization_request(None, &redirect());
        let code = self.sign_in(&auth, account).await;
        (auth, code)
    }
}

fn redirect() -> Url {
    Url::parse(REDIRECT).unwrap()
}

fn payload(jwt: &str) -> Value {
    let part = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// A genuine ID token's claims, changed by `edit`, signed with the emulator's key.
async fn forged_id_token(t: &TestEmu, edit: impl FnOnce(&mut Value)) -> (Token, String) {
    let ms = t.client();
    let (auth, code) = t.admin_code(&ms, CONTOSO_ADMIN_EMAIL).await;
    let tokens = ms
        .exchange_code(&code, &auth.pkce_verifier, &redirect(), &auth.token_tenant)
        .await
        .unwrap();
    let mut claims = payload(tokens.id_token.expose());
    edit(&mut claims);
    (Token::new(t.emu.sign_token(&claims)), auth.nonce)
}

fn assert_invalid_id_token(
    r: Result<impl std::fmt::Debug, MicrosoftError>,
    problem: IdTokenProblem,
) {
    match r {
        Err(MicrosoftError::InvalidIdToken(p)) => assert_eq!(p, problem),
        other => panic!("expected InvalidIdToken({problem:?}), got {other:?}"),
    }
}

#[tokio::test]
async fn a_contoso_admin_connects_with_domains_authority_and_credential_type() {
    let t = spawn_emu().await;
    let ms = t.client();
    let (auth, code) = t.admin_code(&ms, CONTOSO_ADMIN_EMAIL).await;

    let connected = ms
        .read_tenant(
            &code,
            &auth.pkce_verifier,
            &redirect(),
            &auth.nonce,
            &auth.token_tenant,
        )
        .await
        .unwrap();

    let contoso = TenantId::parse(CONTOSO_TENANT_ID).unwrap();
    assert_eq!(connected.admin.tenant_id, contoso);
    assert_eq!(
        connected.admin.preferred_username.as_deref(),
        Some("adele.vance@contoso.onmicrosoft.com")
    );
    assert!(!connected.admin.oid.is_empty());
    assert_eq!(connected.organization.id, contoso);
    assert_eq!(connected.organization.display_name, "Contoso");
    let mut domains: Vec<(&str, bool, bool)> = connected
        .organization
        .verified_domains
        .iter()
        .map(|d| (d.name.as_str(), d.is_default, d.is_initial))
        .collect();
    domains.sort();
    assert_eq!(
        domains,
        vec![
            ("contoso.com", true, false),
            ("contoso.onmicrosoft.com", false, true)
        ]
    );
    assert_eq!(connected.authorities.len(), 1);
    let offer = &connected.authorities[0];
    assert_eq!(offer.authority.did.as_str(), CONTOSO_DID);
    assert_eq!(offer.authority.id, CONTOSO_AUTHORITY_ID);
    assert!(offer.authority.is_ready());
    assert_eq!(
        offer
            .authority
            .linked_domain_urls
            .iter()
            .map(Url::as_str)
            .collect::<Vec<_>>(),
        vec!["https://verifiedid.contoso.com/"]
    );
    assert_eq!(
        offer
            .contracts
            .iter()
            .flat_map(|c| c.credential_types.clone())
            .collect::<Vec<_>>(),
        vec![CredentialType::verified_employee()]
    );
    // The app role is granted with the admin consent, and proven with a real token.
    let role = ms.app_token(&contoso).await.unwrap();
    assert!(!role.roles.is_empty());
}

#[tokio::test]
async fn the_steps_one_by_one_give_the_same_picture() {
    let t = spawn_emu().await;
    let ms = t.client();
    let (auth, code) = t.admin_code(&ms, CONTOSO_ADMIN_EMAIL).await;

    let tokens = ms
        .exchange_code(&code, &auth.pkce_verifier, &redirect(), &auth.token_tenant)
        .await
        .unwrap();
    assert!(tokens.expires_at.is_some());
    assert!(!format!("{tokens:?}").contains(tokens.access_token.expose()));
    let claims = ms
        .validate_id_token(&tokens.id_token, &auth.nonce)
        .await
        .unwrap();
    // A second validation uses the cached keys and gives the same answer.
    assert_eq!(
        ms.validate_id_token(&tokens.id_token, &auth.nonce)
            .await
            .unwrap(),
        claims
    );
    let org = ms.organization(&tokens.access_token).await.unwrap();
    assert_eq!(org.id, claims.tenant_id);
    let admin = ms
        .admin_api_token(&tokens.refresh_token, &claims.tenant_id)
        .await
        .unwrap()
        .access_token;
    let authorities = ms.authorities(&admin).await.unwrap();
    assert_eq!(authorities.len(), 1);
    let contracts = ms.contracts(&admin, &authorities[0].id).await.unwrap();
    assert!(
        contracts
            .iter()
            .any(|c| c.credential_types == vec![CredentialType::verified_employee()])
    );
}

#[tokio::test]
async fn a_tenant_without_verified_id_is_verified_id_not_set_up() {
    let t = spawn_emu().await;
    let ms = t.client();
    let (auth, code) = t.admin_code(&ms, NORTHWIND_ADMIN_EMAIL).await;

    let err = ms
        .read_tenant(
            &code,
            &auth.pkce_verifier,
            &redirect(),
            &auth.nonce,
            &auth.token_tenant,
        )
        .await
        .unwrap_err();

    assert!(matches!(err, MicrosoftError::VerifiedIdNotSetUp), "{err:?}");
    assert_eq!(err.to_string(), "Verified ID is not set up for this tenant");
}

#[tokio::test]
async fn an_id_token_with_a_flipped_signature_byte_is_refused() {
    let t = spawn_emu().await;
    let ms = t.client();
    let (auth, code) = t.admin_code(&ms, CONTOSO_ADMIN_EMAIL).await;
    let tokens = ms
        .exchange_code(&code, &auth.pkce_verifier, &redirect(), &auth.token_tenant)
        .await
        .unwrap();
    let mut parts: Vec<String> = tokens
        .id_token
        .expose()
        .split('.')
        .map(String::from)
        .collect();
    let mut sig = URL_SAFE_NO_PAD.decode(&parts[2]).unwrap();
    sig[10] ^= 0x01;
    parts[2] = URL_SAFE_NO_PAD.encode(sig);
    let tampered = Token::new(parts.join("."));

    let r = ms.validate_id_token(&tampered, &auth.nonce).await;

    assert_invalid_id_token(r, IdTokenProblem::Signature);
}

#[tokio::test]
async fn an_id_token_with_another_nonce_is_refused() {
    let t = spawn_emu().await;
    let (token, _nonce) = forged_id_token(&t, |c| c["nonce"] = "replayed-nonce".into()).await;
    let r = t
        .client()
        .validate_id_token(&token, "the-nonce-of-this-sign-in")
        .await;
    assert_invalid_id_token(r, IdTokenProblem::Nonce);
}

#[tokio::test]
async fn an_id_token_with_another_tenants_issuer_is_refused() {
    let t = spawn_emu().await;
    let fabrikam_issuer = t.emu.issuer(FABRIKAM_TENANT_ID);
    let (token, nonce) = forged_id_token(&t, |c| c["iss"] = fabrikam_issuer.into()).await;
    let r = t.client().validate_id_token(&token, &nonce).await;
    assert_invalid_id_token(r, IdTokenProblem::Issuer);
}

#[tokio::test]
async fn an_expired_id_token_is_refused() {
    let t = spawn_emu().await;
    let (token, nonce) = forged_id_token(&t, |c| {
        c["iat"] = (now() - 7200).into();
        c["nbf"] = (now() - 7200).into();
        c["exp"] = (now() - 3600).into();
    })
    .await;
    let r = t.client().validate_id_token(&token, &nonce).await;
    assert_invalid_id_token(r, IdTokenProblem::Expired);
}

#[tokio::test]
async fn an_id_token_for_another_app_is_refused() {
    let t = spawn_emu().await;
    let (token, nonce) = forged_id_token(&t, |c| {
        c["aud"] = "00000000-0000-0000-0000-000000000001".into()
    })
    .await;
    let r = t.client().validate_id_token(&token, &nonce).await;
    assert_invalid_id_token(r, IdTokenProblem::Audience);
}

#[tokio::test]
async fn an_id_token_naming_a_tenant_microsoft_does_not_know_is_refused() {
    let t = spawn_emu().await;
    let (token, nonce) = forged_id_token(&t, |c| {
        c["tid"] = "00000000-1111-2222-3333-444444444444".into();
        c["iss"] = "http://127.0.0.1:9/00000000-1111-2222-3333-444444444444/v2.0".into();
    })
    .await;
    let r = t.client().validate_id_token(&token, &nonce).await;
    assert_invalid_id_token(r, IdTokenProblem::UnknownTenant);
}

#[tokio::test]
async fn an_unsigned_id_token_is_refused() {
    let t = spawn_emu().await;
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let body = URL_SAFE_NO_PAD.encode(
        serde_json::json!({"tid": CONTOSO_TENANT_ID, "aud": DEV_CLIENT_ID, "nonce": "n",
            "iss": t.emu.issuer(CONTOSO_TENANT_ID), "exp": now() + 600, "oid": "x"})
        .to_string(),
    );
    let token = Token::new(format!("{header}.{body}."));
    let r = t.client().validate_id_token(&token, "n").await;
    assert!(
        matches!(
            r,
            Err(MicrosoftError::InvalidIdToken(
                IdTokenProblem::Algorithm(_) | IdTokenProblem::Malformed(_)
            ))
        ),
        "{r:?}"
    );
}

#[tokio::test]
async fn a_wrong_pkce_verifier_is_rejected_with_invalid_grant() {
    let t = spawn_emu().await;
    let ms = t.client();
    let (_auth, code) = t.admin_code(&ms, CONTOSO_ADMIN_EMAIL).await;
    let other = ms.authorization_request(None, &redirect());

    let err = ms
        .exchange_code(
            &code,
            &other.pkce_verifier,
            &redirect(),
            &other.token_tenant,
        )
        .await
        .unwrap_err();

    match &err {
        MicrosoftError::Rejected {
            step: Step::CodeExchange,
            status: 400,
            code,
            description,
            ..
        } => {
            assert_eq!(code, "invalid_grant");
            assert!(description.starts_with("AADSTS"), "{description}");
            assert!(!description.contains("Trace ID"), "{description}");
        }
        other => panic!("{other:?}"),
    }
    assert!(err.to_string().starts_with("Microsoft refused"));
}

#[tokio::test]
async fn a_code_redeemed_twice_is_rejected() {
    let t = spawn_emu().await;
    let ms = t.client();
    let (auth, code) = t.admin_code(&ms, CONTOSO_ADMIN_EMAIL).await;
    ms.exchange_code(&code, &auth.pkce_verifier, &redirect(), &auth.token_tenant)
        .await
        .unwrap();

    let err = ms
        .exchange_code(&code, &auth.pkce_verifier, &redirect(), &auth.token_tenant)
        .await
        .unwrap_err();

    assert!(
        matches!(&err, MicrosoftError::Rejected { code, description, .. }
            if code == "invalid_grant" && description.starts_with("AADSTS54005")),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_wrong_client_secret_is_rejected_with_invalid_client() {
    let t = spawn_emu().await;
    let (auth, code) = t.admin_code(&t.client(), CONTOSO_ADMIN_EMAIL).await;
    let ms = t.client_with("not-the-secret", MicrosoftClient::DEFAULT_TIMEOUT);

    let err = ms
        .exchange_code(&code, &auth.pkce_verifier, &redirect(), &auth.token_tenant)
        .await
        .unwrap_err();

    assert!(
        matches!(&err, MicrosoftError::Rejected { step: Step::CodeExchange, status: 401, code, .. } if code == "invalid_client"),
        "{err:?}"
    );
    assert!(!err.to_string().contains("not-the-secret"));
}

#[tokio::test]
async fn graph_answering_503_is_unavailable_at_the_graph_step() {
    let t = spawn_emu().await;
    let ms = t.client();
    let (auth, code) = t.admin_code(&ms, CONTOSO_ADMIN_EMAIL).await;
    t.emu.faults().add(FaultSpec::status("/graph/*", 503));

    let err = ms
        .read_tenant(
            &code,
            &auth.pkce_verifier,
            &redirect(),
            &auth.nonce,
            &auth.token_tenant,
        )
        .await
        .unwrap_err();

    assert!(
        matches!(
            err,
            MicrosoftError::Unavailable {
                step: Step::Graph,
                status: Some(503)
            }
        ),
        "{err:?}"
    );
    assert!(err.is_transient());
    assert_eq!(err.step(), Some(Step::Graph));
    assert!(err.to_string().contains("Microsoft Graph"));
}

#[tokio::test]
async fn a_token_endpoint_outage_is_unavailable_not_a_refusal() {
    let t = spawn_emu().await;
    let ms = t.client();
    let (auth, code) = t.admin_code(&ms, CONTOSO_ADMIN_EMAIL).await;
    t.emu
        .faults()
        .add(FaultSpec::status("/login/*/oauth2/v2.0/token", 503).times(1));

    let err = ms
        .exchange_code(&code, &auth.pkce_verifier, &redirect(), &auth.token_tenant)
        .await
        .unwrap_err();

    assert!(
        matches!(
            err,
            MicrosoftError::Unavailable {
                step: Step::CodeExchange,
                status: Some(503)
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_slow_admin_api_times_out_at_the_admin_api_step() {
    let t = spawn_emu().await;
    let ms = t.client_with(DEV_CLIENT_SECRET, Duration::from_millis(500));
    let (auth, code) = t.admin_code(&ms, CONTOSO_ADMIN_EMAIL).await;
    t.emu
        .faults()
        .add(FaultSpec::latency("/verifiedid/*", 2_000));

    let err = ms
        .read_tenant(
            &code,
            &auth.pkce_verifier,
            &redirect(),
            &auth.nonce,
            &auth.token_tenant,
        )
        .await
        .unwrap_err();

    assert!(
        matches!(
            err,
            MicrosoftError::Timeout {
                step: Step::AdminApi
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("did not answer in time"));
}

#[tokio::test]
async fn nothing_listening_is_unavailable() {
    let ms = MicrosoftClient::with_timeout(
        MicrosoftEndpoints::new(
            "http://127.0.0.1:9/login",
            "http://127.0.0.1:9/graph",
            "http://127.0.0.1:9/verifiedid",
        )
        .unwrap(),
        ClientCredentials::new(DEV_CLIENT_ID, DEV_CLIENT_SECRET),
        Duration::from_secs(2),
    )
    .unwrap();
    let err = ms.organization(&Token::new("whatever")).await.unwrap_err();
    assert!(
        matches!(
            err,
            MicrosoftError::Unavailable {
                step: Step::Graph,
                status: None
            } | MicrosoftError::Timeout { step: Step::Graph }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn an_id_token_signed_with_a_key_the_tenant_does_not_publish_is_refused() {
    let t = spawn_emu().await;
    let (token, nonce) = forged_id_token(&t, |_| {}).await;
    let mut parts: Vec<&str> = token.expose().split('.').collect();
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256","kid":"rotated-away","typ":"JWT"}"#);
    parts[0] = &header;
    let r = t
        .client()
        .validate_id_token(&Token::new(parts.join(".")), &nonce)
        .await;
    assert_invalid_id_token(r, IdTokenProblem::UnknownKey);
}

#[tokio::test]
async fn an_id_token_from_the_future_or_without_oid_is_refused() {
    let t = spawn_emu().await;
    let (token, nonce) = forged_id_token(&t, |c| {
        c["nbf"] = (now() + 3600).into();
        c["exp"] = (now() + 7200).into();
    })
    .await;
    let r = t.client().validate_id_token(&token, &nonce).await;
    assert_invalid_id_token(r, IdTokenProblem::NotYetValid);

    let (token, nonce) = forged_id_token(&t, |c| {
        c.as_object_mut().unwrap().remove("oid");
    })
    .await;
    let r = t.client().validate_id_token(&token, &nonce).await;
    assert_invalid_id_token(r, IdTokenProblem::Claim("oid"));
}

#[tokio::test]
async fn a_non_admin_of_a_consented_tenant_is_refused_by_the_admin_api() {
    let t = spawn_emu().await;
    t.emu.grant_admin_consent(CONTOSO_TENANT_ID, DEV_CLIENT_ID);
    let ms = t.client();
    let (auth, code) = t
        .admin_code(&ms, microsoft_emulator::CONTOSO_EMPLOYEE_EMAIL)
        .await;

    let err = ms
        .read_tenant(
            &code,
            &auth.pkce_verifier,
            &redirect(),
            &auth.nonce,
            &auth.token_tenant,
        )
        .await
        .unwrap_err();

    assert!(
        matches!(
            &err,
            MicrosoftError::Rejected {
                step: Step::AdminApi,
                status: 403,
                ..
            }
        ),
        "{err:?}"
    );
}
