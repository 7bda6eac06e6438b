//! The OpenAPI document says what the API enforces: each declared limit, enum and shape is
//! the handlers' own (read from the same constants), and the server refuses exactly at
//! the declared boundary. `scripts/fuzz-api` checks the same from outside with Schemathesis.

use reqwest::StatusCode;
use serde_json::{Value, json};
use server::api_v1::schema;
use server::api_v1::verifications::Delivery;
use traceless::verification::resource::StatusName;

use crate::help_desk_api::{contoso_with_a_key, json_of};
use crate::helpers::*;

const MEGAN: &str = microsoft_emulator::CONTOSO_EMPLOYEE_EMAIL;

async fn document(app: &TestApp) -> Value {
    json_of(
        reqwest::get(format!("{}/api/v1/openapi.json", app.address))
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await
}

fn property<'a>(doc: &'a Value, component: &str, name: &str) -> &'a Value {
    let found = &doc["components"]["schemas"][component]["properties"][name];
    assert!(found.is_object(), "{component}.{name} is documented");
    found
}

fn parameter<'a>(doc: &'a Value, path: &str, method: &str, name: &str) -> &'a Value {
    doc["paths"][path][method]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == name)
        .map(|p| &p["schema"])
        .unwrap_or_else(|| panic!("{method} {path} documents {name}"))
}

fn words(values: &Value) -> Vec<String> {
    values
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn the_documents_limits_and_enums_are_the_handlers_own() {
    let app = spawn_app().await;
    let doc = document(&app).await;

    let max = |v: &Value| v["maxLength"].as_u64().unwrap() as usize;
    let email = property(&doc, "CreateVerification", "recipient_email");
    assert_eq!(email["format"], "email");
    assert_eq!(max(email), schema::EMAIL_MAX);
    assert_eq!(
        max(property(&doc, "TicketFields", "reference")),
        traceless::tickets::MAX_REFERENCE_CHARS
    );
    assert_eq!(
        max(property(&doc, "TicketFields", "subject")),
        traceless::tickets::MAX_SUBJECT_CHARS
    );
    assert_eq!(
        max(property(&doc, "CreateVerification", "note")),
        traceless::verification::MAX_NOTE_CHARS
    );
    let webhook_url = property(&doc, "CreateVerification", "webhook_url");
    assert_eq!(max(webhook_url), traceless::webhooks::MAX_URL_CHARS);
    assert_eq!(webhook_url["format"], "uri");
    assert_eq!(webhook_url["pattern"], schema::HTTPS_URL);
    let idempotency_key = parameter(&doc, "/api/v1/verifications", "post", "Idempotency-Key");
    assert_eq!(
        max(idempotency_key),
        traceless::api_keys::idempotency::MAX_KEY_CHARS
    );
    assert_eq!(idempotency_key["pattern"], schema::PRINTABLE_ASCII);

    // `delivery` lists exactly the words the handler accepts (and the answers write).
    let delivery = words(&property(&doc, "CreateVerification", "delivery")["enum"]);
    let accepted: Vec<String> = Delivery::ALL
        .iter()
        .map(|d| d.as_str().to_owned())
        .collect();
    assert_eq!(delivery, accepted);
    for d in Delivery::ALL {
        assert_eq!(serde_json::to_value(d).unwrap(), d.as_str());
        assert_eq!(Delivery::parse(d.as_str()), Some(d));
    }
    assert_eq!(
        words(&doc["components"]["schemas"]["Delivery"]["enum"]),
        accepted
    );
    // `status` likewise.
    let statuses: Vec<String> = StatusName::ALL
        .iter()
        .map(|s| s.as_str().to_owned())
        .collect();
    assert_eq!(
        words(&doc["components"]["schemas"]["StatusName"]["enum"]),
        statuses
    );

    let limit = parameter(&doc, "/api/v1/verifications", "get", "limit");
    assert_eq!(limit["type"], "integer");
    assert_eq!(limit["minimum"], 1);
    assert_eq!(limit["maximum"], schema::PAGE_MAX);
    assert_eq!(limit["default"], schema::PAGE_DEFAULT);
    assert_eq!(
        parameter(&doc, "/api/v1/verifications", "get", "cursor")["pattern"],
        schema::CURSOR
    );
    for path in [
        "/api/v1/verifications/{id}",
        "/api/v1/verifications/{id}/cancel",
    ] {
        let method = if path.ends_with("cancel") {
            "post"
        } else {
            "get"
        };
        let id = parameter(&doc, path, method, "id");
        assert_eq!(id["format"], "uuid");
        assert_eq!(id["pattern"], schema::UUID);
    }

    // Typos are refused, so the document says no other field is allowed.
    for component in ["CreateVerification", "TicketFields"] {
        assert_eq!(
            doc["components"]["schemas"][component]["additionalProperties"],
            false
        );
    }
    assert_eq!(
        doc["components"]["schemas"]["CreateVerification"]["required"],
        json!(["recipient_email"])
    );

    // Answers: ids, addresses and times say their format.
    let resource = &doc["components"]["schemas"]["VerificationResource"]["properties"];
    assert_eq!(resource["id"]["format"], "uuid");
    assert_eq!(resource["recipient_email"]["format"], "email");
    for time in [
        "created_at",
        "updated_at",
        "completed_at",
        "link_expires_at",
    ] {
        assert_eq!(resource[time]["format"], "date-time", "{time}");
    }
    assert_eq!(
        property(&doc, "VerificationPage", "next_cursor")["pattern"],
        schema::CURSOR
    );
}

#[tokio::test]
async fn every_error_answer_is_documented_with_its_status_and_shape() {
    let app = spawn_app().await;
    let doc = document(&app).await;
    let expected: [(&str, &str, &[&str]); 5] = [
        (
            "/api/v1/verifications",
            "post",
            &["400", "401", "409", "422", "429"],
        ),
        ("/api/v1/verifications", "get", &["401", "422", "429"]),
        ("/api/v1/verifications/{id}", "get", &["401", "404", "429"]),
        (
            "/api/v1/verifications/{id}/cancel",
            "post",
            &["401", "404", "409", "429"],
        ),
        ("/api/v1/openapi.json", "get", &["429"]),
    ];
    for (path, method, statuses) in expected {
        let responses = doc["paths"][path][method]["responses"].as_object().unwrap();
        let errors: Vec<&str> = responses
            .keys()
            .map(String::as_str)
            .filter(|s| !s.starts_with('2'))
            .collect();
        assert_eq!(errors, statuses, "{method} {path}");
        for status in statuses {
            let response = &responses[*status];
            assert_eq!(
                response["content"]["application/json"]["schema"]["$ref"],
                "#/components/schemas/ErrorBody",
                "{method} {path} {status}"
            );
        }
        assert!(
            responses["429"]["headers"]["Retry-After"].is_object(),
            "{method} {path}"
        );
    }
}

/// A string of `n` characters, multi-byte ones included (limits count characters).
fn chars(n: usize) -> String {
    "é".repeat(n)
}

#[tokio::test]
async fn the_api_refuses_exactly_past_the_documented_limits() {
    let (app, key) = contoso_with_a_key(&[]).await;
    let doc = document(&app).await;
    let max = |component: &str, name: &str| {
        property(&doc, component, name)["maxLength"]
            .as_u64()
            .unwrap() as usize
    };
    let create = |body: Value| {
        let app = &app;
        let key = &key;
        async move { app.api_post(key, "/api/v1/verifications", &body).await }
    };
    let field_of = |response: reqwest::Response| async move {
        let body = json_of(response, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(body["code"], "invalid_field", "{body}");
        body["field"].as_str().unwrap().to_owned()
    };

    let reference = max("TicketFields", "reference");
    let subject = max("TicketFields", "subject");
    let note = max("CreateVerification", "note");
    let at_the_limit = json!({
        "recipient_email": MEGAN,
        "ticket": {"reference": chars(reference), "subject": chars(subject)},
        "note": format!("{}\n", chars(note - 1)),
    });
    json_of(create(at_the_limit).await, StatusCode::CREATED).await;
    let one_past = [
        (
            json!({"recipient_email": MEGAN, "ticket": {"reference": chars(reference + 1)}}),
            "ticket.reference",
        ),
        // Counted as sent: white space around it is not trimmed away first.
        (
            json!({"recipient_email": MEGAN, "ticket": {"reference": format!(" {} ", chars(reference - 1))}}),
            "ticket.reference",
        ),
        (
            json!({"recipient_email": MEGAN, "ticket": {"reference": "R", "subject": chars(subject + 1)}}),
            "ticket.subject",
        ),
        (
            json!({"recipient_email": MEGAN, "note": chars(note + 1)}),
            "note",
        ),
        // The patterns: no control character (a note may break lines), not blank.
        (
            json!({"recipient_email": MEGAN, "ticket": {"reference": "INC-1\n"}}),
            "ticket.reference",
        ),
        (
            json!({"recipient_email": MEGAN, "ticket": {"reference": "  "}}),
            "ticket.reference",
        ),
        (
            json!({"recipient_email": MEGAN, "ticket": {"reference": "R", "subject": "a\tb"}}),
            "ticket.subject",
        ),
        (json!({"recipient_email": MEGAN, "note": "a\u{7}b"}), "note"),
        (
            json!({"recipient_email": format!(" {MEGAN}")}),
            "recipient_email",
        ),
    ];
    for (body, field) in one_past {
        assert_eq!(field_of(create(body.clone()).await).await, field, "{body}");
    }

    // Each documented `delivery` is accepted.
    for delivery in words(&property(&doc, "CreateVerification", "delivery")["enum"]) {
        let body = json!({"recipient_email": MEGAN, "delivery": delivery});
        let created = json_of(create(body).await, StatusCode::CREATED).await;
        assert_eq!(created["delivery"], delivery);
    }

    // `Idempotency-Key`: the longest documented is accepted, one more refused.
    let longest = "k".repeat(
        parameter(&doc, "/api/v1/verifications", "post", "Idempotency-Key")["maxLength"]
            .as_u64()
            .unwrap() as usize,
    );
    let body = json!({"recipient_email": MEGAN});
    json_of(
        app.api_post_with(&key, "/api/v1/verifications", &body, Some(&longest))
            .await,
        StatusCode::CREATED,
    )
    .await;
    let too_long = format!("{longest}k");
    assert_eq!(
        field_of(
            app.api_post_with(&key, "/api/v1/verifications", &body, Some(&too_long))
                .await
        )
        .await,
        "Idempotency-Key"
    );

    // `limit` at its documented bounds.
    let page_max = parameter(&doc, "/api/v1/verifications", "get", "limit")["maximum"]
        .as_i64()
        .unwrap();
    let list = |query: String| {
        let app = &app;
        let key = &key;
        async move {
            app.api_get(key, &format!("/api/v1/verifications?{query}"))
                .await
        }
    };
    json_of(list(format!("limit={page_max}")).await, StatusCode::OK).await;
    assert_eq!(
        field_of(list(format!("limit={}", page_max + 1)).await).await,
        "limit"
    );

    // Every cursor of the documented shape is accepted, even one this API never gave (the
    // largest timestamp the pattern allows included); anything else is refused.
    let page = json_of(list("limit=1".into()).await, StatusCode::OK).await;
    let given = page["next_cursor"].as_str().unwrap().to_owned();
    for cursor in [
        given.as_str(),
        "0_00000000-0000-0000-0000-000000000000",
        "99999999999999999999_ffffffff-ffff-ffff-ffff-ffffffffffff",
    ] {
        json_of(list(format!("cursor={cursor}")).await, StatusCode::OK).await;
    }
    for cursor in [
        given.to_uppercase(),
        given.replace('_', ":"),
        "123456789012345678901_00000000-0000-0000-0000-000000000000".to_owned(),
        "MTIzOjAwMDAwMDAw".to_owned(),
    ] {
        assert_eq!(
            field_of(list(format!("cursor={cursor}")).await).await,
            "cursor"
        );
    }

    // An id that is not the documented UUID form names no verification.
    let id = page["data"][0]["id"].as_str().unwrap().to_owned();
    json_of(
        app.api_get(&key, &format!("/api/v1/verifications/{id}"))
            .await,
        StatusCode::OK,
    )
    .await;
    for other in [id.to_uppercase(), id.replace('-', "")] {
        json_of(
            app.api_get(&key, &format!("/api/v1/verifications/{other}"))
                .await,
            StatusCode::NOT_FOUND,
        )
        .await;
    }
}

#[test]
fn the_documented_email_length_is_the_parsers() {
    let domain = "contoso.com";
    let local = "a".repeat(64);
    let labels = "b".repeat(schema::EMAIL_MAX - local.len() - 1 - domain.len() - 1);
    let longest = format!("{local}@{labels}.{domain}");
    assert_eq!(longest.len(), schema::EMAIL_MAX);
    // Labels are at most 63 characters: split the long one.
    let longest = split_labels(&longest);
    assert_eq!(longest.len(), schema::EMAIL_MAX);
    assert!(traceless::email::EmailAddress::parse(&longest).is_ok());
    let too_long = format!("{local}@b{}", &longest[local.len() + 1..]);
    assert_eq!(too_long.len(), schema::EMAIL_MAX + 1);
    assert!(traceless::email::EmailAddress::parse(&too_long).is_err());
}

/// Replaces every 50th character of the domain with a dot, keeping the length.
fn split_labels(address: &str) -> String {
    let (local, domain) = address.split_once('@').unwrap();
    let domain: String = domain
        .chars()
        .enumerate()
        .map(|(i, c)| if i % 50 == 49 && c == 'b' { '.' } else { c })
        .collect();
    format!("{local}@{domain}")
}
