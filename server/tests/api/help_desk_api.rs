//! The REST API for help-desk tools: API keys (created in the UI), create / read / list /
//! cancel, idempotent creates, errors with stable codes, and the OpenAPI document.

use std::collections::BTreeSet;

use app::model::NewApiKey;
use microsoft_emulator::{CONTOSO_ADMIN_EMAIL, FABRIKAM_ADMIN_EMAIL};
use reqwest::{Response, StatusCode};
use serde_json::{Value, json};

use crate::helpers::*;

const MEGAN: &str = microsoft_emulator::CONTOSO_EMPLOYEE_EMAIL;

pub struct AddedEndpoint {
    pub id: String,
    pub secret: String,
}

impl TestApp {
    /// Creates an API key as the signed-in admin (as the API keys page does).
    pub async fn create_api_key(&self, name: &str) -> NewApiKey {
        ok_json(self.call("create_api_key", &[("name", name)]).await).await
    }

    pub async fn api_key_id(&self, key: &str) -> String {
        let keys: Vec<app::model::ApiKeyView> = ok_json(self.call("api_keys", &[]).await).await;
        keys.into_iter()
            .find(|k| key.starts_with(&k.prefix))
            .expect("the key is listed")
            .id
    }

    /// Registers a webhook endpoint as the signed-in admin.
    pub async fn add_webhook_endpoint(&self, url: &str, events: &[&str]) -> AddedEndpoint {
        let names: Vec<String> = (0..events.len()).map(|i| format!("events[{i}]")).collect();
        let mut form: Vec<(&str, &str)> = vec![("url", url)];
        form.extend(names.iter().map(String::as_str).zip(events.iter().copied()));
        let added: app::model::NewWebhookEndpoint =
            ok_json(self.call("add_webhook_endpoint", &form).await).await;
        let webhooks: app::model::Webhooks =
            ok_json(self.call("webhook_endpoints", &[]).await).await;
        let id = webhooks
            .endpoints
            .into_iter()
            .find(|e| e.url == added.url)
            .expect("the endpoint is listed")
            .id;
        AddedEndpoint {
            id,
            secret: added.secret,
        }
    }

    pub async fn api_post(&self, key: &str, path: &str, body: &Value) -> Response {
        self.api_post_with(key, path, body, None).await
    }

    pub async fn api_post_with(
        &self,
        key: &str,
        path: &str,
        body: &Value,
        idempotency_key: Option<&str>,
    ) -> Response {
        let mut request = plain_client()
            .post(format!("{}{path}", self.address))
            .bearer_auth(key)
            .json(body);
        if let Some(idempotency_key) = idempotency_key {
            request = request.header("Idempotency-Key", idempotency_key);
        }
        request.send().await.expect("request sent")
    }

    pub async fn api_get(&self, key: &str, path: &str) -> Response {
        plain_client()
            .get(format!("{}{path}", self.address))
            .bearer_auth(key)
            .send()
            .await
            .expect("request sent")
    }
}

/// A connected Contoso whose admin made an API key.
pub async fn contoso_with_a_key(extra: &[(&str, &str)]) -> (TestApp, String) {
    let app = spawn_app_with(extra).await;
    app.admin("Contoso Help Desk", "ada@contoso.com").await;
    app.connect_microsoft(CONTOSO_ADMIN_EMAIL, "accept").await;
    let key = app.create_api_key("Zendesk").await;
    (app, key.key)
}

pub fn megan_for(reference: &str) -> Value {
    json!({
        "recipient_email": MEGAN,
        "ticket": {"reference": reference, "subject": "Password reset"},
        "delivery": "link"
    })
}

pub async fn json_of(response: Response, status: StatusCode) -> Value {
    let actual = response.status();
    let body = response.text().await.unwrap();
    assert_eq!(actual, status, "{body}");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}"))
}

async fn error_code(response: Response, status: StatusCode) -> (String, Option<String>) {
    let body = json_of(response, status).await;
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    (
        body["code"].as_str().unwrap().to_owned(),
        body["field"].as_str().map(str::to_owned),
    )
}

#[tokio::test]
async fn a_tool_creates_reads_lists_and_cancels_a_verification_with_its_key() {
    let (app, key) = contoso_with_a_key(&[]).await;

    let created = json_of(
        app.api_post(&key, "/api/v1/verifications", &megan_for("INC-4711"))
            .await,
        StatusCode::CREATED,
    )
    .await;
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(created["status"], "created");
    assert_eq!(created["recipient_email"], MEGAN);
    assert_eq!(created["ticket"]["reference"], "INC-4711");
    assert_eq!(created["created_by"], "Zendesk");
    assert_eq!(created["delivery"], "link");
    let link = created["link"].as_str().unwrap();
    assert!(
        link.starts_with(&format!("{}/verify/", app.address)),
        "{link}"
    );

    // The person's link works like one the agent sent.
    let opened = app
        .call("open_verification_link", &[("token", &token_of(link))])
        .await;
    assert!(opened.status().is_success(), "{}", opened.status());

    let read = json_of(
        app.api_get(&key, &format!("/api/v1/verifications/{id}"))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(read["id"], id.as_str());
    assert_eq!(read["status"], "requested");
    assert!(read["link"].is_null(), "the link is shown only once");

    // The agent sees it too, with the key as its starter.
    let agent_view: app::model::VerificationDetail =
        ok_json(app.call("verification_overview", &[("id", &id)]).await).await;
    assert_eq!(agent_view.started_by, "Zendesk");

    json_of(
        app.api_post(&key, "/api/v1/verifications", &megan_for("INC-9"))
            .await,
        StatusCode::CREATED,
    )
    .await;
    let of_ticket = json_of(
        app.api_get(&key, "/api/v1/verifications?ticket=INC-4711")
            .await,
        StatusCode::OK,
    )
    .await;
    let ids: Vec<&str> = of_ticket["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec![id.as_str()]);
    let requested = json_of(
        app.api_get(&key, "/api/v1/verifications?status=requested")
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(requested["data"].as_array().unwrap().len(), 1);

    let cancelled = json_of(
        app.api_post(
            &key,
            &format!("/api/v1/verifications/{id}/cancel"),
            &json!({}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(cancelled["status"], "cancelled");
    assert!(cancelled["completed_at"].is_string());
    let again = app
        .api_post(
            &key,
            &format!("/api/v1/verifications/{id}/cancel"),
            &json!({}),
        )
        .await;
    assert_eq!(
        error_code(again, StatusCode::CONFLICT).await.0,
        "already_finished"
    );
    // The key's last use is shown to admins.
    let keys: Vec<app::model::ApiKeyView> = ok_json(app.call("api_keys", &[]).await).await;
    assert!(keys[0].last_used.is_some());
}

#[tokio::test]
async fn list_pages_follow_the_cursor_to_the_end() {
    let (app, key) = contoso_with_a_key(&[]).await;
    for n in 0..5 {
        json_of(
            app.api_post(&key, "/api/v1/verifications", &megan_for(&format!("P-{n}")))
                .await,
            StatusCode::CREATED,
        )
        .await;
    }
    let mut seen = Vec::new();
    let mut path = "/api/v1/verifications?limit=2".to_owned();
    loop {
        let page = json_of(app.api_get(&key, &path).await, StatusCode::OK).await;
        for v in page["data"].as_array().unwrap() {
            seen.push(v["ticket"]["reference"].as_str().unwrap().to_owned());
        }
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/api/v1/verifications?limit=2&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(
        seen,
        vec!["P-4", "P-3", "P-2", "P-1", "P-0"],
        "newest first, each once"
    );
}

#[tokio::test]
async fn a_missing_unknown_or_revoked_key_is_refused_and_changes_nothing() {
    let (app, key) = contoso_with_a_key(&[]).await;
    let body = megan_for("INC-1");

    let no_key = plain_client()
        .post(format!("{}/api/v1/verifications", app.address))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_code(no_key, StatusCode::UNAUTHORIZED).await.0,
        "unauthorized"
    );
    let unknown = format!("tl_live_{}", "A".repeat(43));
    for bad in [unknown.as_str(), "nonsense", &key[..key.len() - 1]] {
        let response = app.api_post(bad, "/api/v1/verifications", &body).await;
        assert_eq!(
            error_code(response, StatusCode::UNAUTHORIZED).await.0,
            "unauthorized",
            "{bad}"
        );
    }

    let id = app.api_key_id(&key).await;
    let revoked = app.call("revoke_api_key", &[("id", &id)]).await;
    assert!(revoked.status().is_success());
    for response in [
        app.api_post(&key, "/api/v1/verifications", &body).await,
        app.api_get(&key, "/api/v1/verifications").await,
    ] {
        assert_eq!(
            error_code(response, StatusCode::UNAUTHORIZED).await.0,
            "unauthorized"
        );
    }
    assert_eq!(app.count("verifications").await, 0);
}

#[tokio::test]
async fn another_organizations_key_finds_nothing_of_ours() {
    let (app, key) = contoso_with_a_key(&[]).await;
    let created = json_of(
        app.api_post(&key, "/api/v1/verifications", &megan_for("INC-1"))
            .await,
        StatusCode::CREATED,
    )
    .await;
    let id = created["id"].as_str().unwrap();

    // Fabrikam, another organization with its own key.
    let fabrikam = new_client();
    app.call_as(
        &fabrikam,
        "sign_up",
        &[
            ("organization", "Fabrikam Support"),
            ("name", "Diego"),
            ("email", "diego@fabrikam.com"),
            ("password", PASSWORD),
        ],
    )
    .await;
    app.connect_microsoft_as(&fabrikam, FABRIKAM_ADMIN_EMAIL, "accept")
        .await;
    let theirs: NewApiKey = ok_json(
        app.call_as(&fabrikam, "create_api_key", &[("name", "Freshdesk")])
            .await,
    )
    .await;

    let read = app
        .api_get(&theirs.key, &format!("/api/v1/verifications/{id}"))
        .await;
    assert_eq!(error_code(read, StatusCode::NOT_FOUND).await.0, "not_found");
    let cancel = app
        .api_post(
            &theirs.key,
            &format!("/api/v1/verifications/{id}/cancel"),
            &json!({}),
        )
        .await;
    assert_eq!(
        error_code(cancel, StatusCode::NOT_FOUND).await.0,
        "not_found"
    );
    let list = json_of(
        app.api_get(&theirs.key, "/api/v1/verifications?ticket=INC-1")
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(list["data"], json!([]));
    let ours = json_of(
        app.api_get(&key, &format!("/api/v1/verifications/{id}"))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(ours["status"], "created", "untouched");
}

#[tokio::test]
async fn each_bad_field_is_a_422_that_names_it_and_stores_nothing() {
    let (app, key) = contoso_with_a_key(&[]).await;
    let cases = [
        (json!({}), "recipient_email"),
        (json!({"recipient_email": 42}), "recipient_email"),
        (
            json!({"recipient_email": "not an email"}),
            "recipient_email",
        ),
        (
            json!({"recipient_email": MEGAN, "ticket": "INC-1"}),
            "ticket",
        ),
        (
            json!({"recipient_email": MEGAN, "ticket": {"subject": "x"}}),
            "ticket.reference",
        ),
        (
            json!({"recipient_email": MEGAN, "ticket": {"reference": "R".repeat(201)}}),
            "ticket.reference",
        ),
        (
            json!({"recipient_email": MEGAN, "ticket": {"reference": "R", "subject": "S".repeat(201)}}),
            "ticket.subject",
        ),
        (
            json!({"recipient_email": MEGAN, "delivery": "fax"}),
            "delivery",
        ),
        (
            json!({"recipient_email": MEGAN, "webhook_url": "http://hooks.example.com/"}),
            "webhook_url",
        ),
        (
            json!({"recipient_email": MEGAN, "note": "N".repeat(501)}),
            "note",
        ),
        (json!({"recipient_email": MEGAN, "colour": "red"}), "body"),
    ];
    for (body, field) in cases {
        let response = app.api_post(&key, "/api/v1/verifications", &body).await;
        assert_eq!(
            error_code(response, StatusCode::UNPROCESSABLE_ENTITY).await,
            ("invalid_field".to_owned(), Some(field.to_owned())),
            "{body}"
        );
    }
    // A domain the tenant does not cover names the field too, with its own code.
    let outside = app
        .api_post(
            &key,
            "/api/v1/verifications",
            &json!({"recipient_email": "someone@fabrikam.com"}),
        )
        .await;
    assert_eq!(
        error_code(outside, StatusCode::UNPROCESSABLE_ENTITY).await,
        (
            "domain_not_covered".to_owned(),
            Some("recipient_email".to_owned())
        )
    );
    let not_json = plain_client()
        .post(format!("{}/api/v1/verifications", app.address))
        .bearer_auth(&key)
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_code(not_json, StatusCode::BAD_REQUEST).await.0,
        "invalid_json"
    );
    for query in ["status=done", "limit=0", "limit=101", "cursor=garbage"] {
        let response = app
            .api_get(&key, &format!("/api/v1/verifications?{query}"))
            .await;
        assert_eq!(
            error_code(response, StatusCode::UNPROCESSABLE_ENTITY)
                .await
                .0,
            "invalid_field",
            "{query}"
        );
    }
    let unknown_id = app.api_get(&key, "/api/v1/verifications/not-a-uuid").await;
    assert_eq!(
        error_code(unknown_id, StatusCode::NOT_FOUND).await.0,
        "not_found"
    );
    assert_eq!(app.count("verifications").await, 0);
}

#[tokio::test]
async fn a_retried_create_with_the_same_idempotency_key_returns_the_first_result() {
    let (app, key) = contoso_with_a_key(&[]).await;
    let body = megan_for("INC-77");
    let first = app
        .api_post_with(&key, "/api/v1/verifications", &body, Some("retry-77"))
        .await;
    assert!(first.headers().get("idempotent-replayed").is_none());
    let first = json_of(first, StatusCode::CREATED).await;
    let retry = app
        .api_post_with(&key, "/api/v1/verifications", &body, Some("retry-77"))
        .await;
    assert_eq!(retry.headers()["idempotent-replayed"], "true");
    let retry = json_of(retry, StatusCode::CREATED).await;
    assert_eq!(retry["id"], first["id"]);
    assert_eq!(retry["link"], first["link"], "the same working link");
    assert_eq!(app.count("verifications").await, 1);

    // The same key with another body is refused; a new key makes a new verification.
    let other = app
        .api_post_with(
            &key,
            "/api/v1/verifications",
            &megan_for("INC-78"),
            Some("retry-77"),
        )
        .await;
    assert_eq!(
        error_code(other, StatusCode::UNPROCESSABLE_ENTITY).await.0,
        "idempotency_key_reused"
    );
    json_of(
        app.api_post_with(&key, "/api/v1/verifications", &body, Some("retry-78"))
            .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(app.count("verifications").await, 2);
    // The stored record holds no working link.
    let sealed: String = traceless::db::query("SELECT sealed_link FROM api_idempotency LIMIT 1")
        .fetch_scalar_on(&app.pool)
        .await
        .unwrap();
    assert!(!first["link"].as_str().unwrap().contains(&sealed));
}

#[tokio::test]
async fn the_openapi_document_describes_every_api_route() {
    let app = spawn_app().await;
    let doc = json_of(
        plain_client()
            .get(format!("{}/api/v1/openapi.json", app.address))
            .send()
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await;
    assert_eq!(doc["openapi"], "3.1.0");
    let mut documented = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            documented.insert((method.to_uppercase(), path.clone()));
        }
    }
    let served: BTreeSet<(String, String)> = server::api_v1::routes()
        .routes()
        .iter()
        .map(|(m, p)| (m.to_string(), (*p).to_owned()))
        .collect();
    assert_eq!(
        served, documented,
        "every /api/v1 route is documented, and only those"
    );
    // Each served route answers (not the app's 404 page).
    for (method, path) in &served {
        let url = format!("{}{}", app.address, path.replace("{id}", "x"));
        let response = match method.as_str() {
            "GET" => plain_client().get(&url).send().await.unwrap(),
            _ => plain_client().post(&url).send().await.unwrap(),
        };
        assert!(
            response.status() == StatusCode::OK || response.status() == StatusCode::UNAUTHORIZED,
            "{method} {path}: {}",
            response.status()
        );
    }
}

#[tokio::test]
async fn delivery_by_email_mails_the_link_and_keeps_it_out_of_the_answer() {
    let (app, key) = contoso_with_a_key(&[]).await;
    let mut body = megan_for("INC-8");
    body["delivery"] = json!("email");
    let created = json_of(
        app.api_post(&key, "/api/v1/verifications", &body).await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(created["delivery"], "email");
    assert!(created["link"].is_null());
    let row = traceless::db::query(
        "SELECT recipient, body_text FROM outbox_messages WHERE kind = 'link'",
    )
    .fetch_one_on(&app.pool)
    .await
    .unwrap();
    let (recipient, text): (String, String) = (
        row.try_get("recipient").unwrap(),
        row.try_get("body_text").unwrap(),
    );
    assert_eq!(recipient, MEGAN);
    assert!(
        text.contains("/verify/") && text.contains("INC-8"),
        "{text}"
    );
}
