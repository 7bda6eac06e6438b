//! The REST API for integrated tools (help desks), under `/api/v1`: bearer API keys, JSON
//! in and out, errors as `{"code", "message"}`. Its OpenAPI 3.1 document is generated from
//! the handlers' annotations and served at `/api/v1/openapi.json`; every route is added
//! through [`ApiRoutes`], which remembers it, so a test can prove each one is documented.

mod auth;
pub mod error;
pub mod schema;
pub mod verifications;

use app::ssr::AppState;
use axum::handler::Handler;
use axum::http::Method;
use axum::{Json, Router, middleware};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use error::ErrorBody;

pub const OPENAPI_PATH: &str = "/api/v1/openapi.json";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Traceless API",
        version = "1",
        description = "Start identity verifications from your help desk and read their results. \
            Authenticate with an organization API key (`Authorization: Bearer tl_live_…`), created by an \
            organization administrator under Organization → API keys. Errors are JSON \
            `{\"code\", \"message\", \"field\"?}` with a stable `code`."
    ),
    paths(
        verifications::create,
        verifications::list,
        verifications::read,
        verifications::cancel,
        openapi_json,
    ),
    components(schemas(
        error::ErrorBody,
        traceless::verification::resource::VerificationResource,
        traceless::verification::resource::StatusName,
        traceless::verification::resource::ReasonResource,
        traceless::verification::resource::EvidenceResource,
        traceless::verification::resource::TicketResource,
    )),
    modifiers(&BearerKey, &ResponseFormats),
    tags((name = "verifications", description = "Identity verifications of people, by email"))
)]
pub struct ApiDoc;

struct BearerKey;

impl Modify for BearerKey {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("tl_live_…")
                    .description(Some("An organization API key"))
                    .build(),
            ),
        );
    }
}

/// The formats of the answers' fields, which the core's resource types (shared with the
/// webhooks' payloads) do not declare themselves.
struct ResponseFormats;

impl Modify for ResponseFormats {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let Some(components) = openapi.components.as_mut() else {
            return;
        };
        let formats: [(&str, &[(&str, &str)]); 3] = [
            (
                "VerificationResource",
                &[
                    ("id", "uuid"),
                    ("recipient_email", "email"),
                    ("created_at", "date-time"),
                    ("updated_at", "date-time"),
                    ("completed_at", "date-time"),
                    ("link_expires_at", "date-time"),
                ],
            ),
            ("CreatedVerification", &[("link", "uri")]),
            ("VerificationPage", &[]),
        ];
        for (name, fields) in formats {
            if let Some(schema) = components.schemas.get_mut(name) {
                schema::set_formats(schema, fields);
            }
        }
        if let Some(page) = components.schemas.get_mut("VerificationPage") {
            schema::set_pattern(page, "next_cursor", schema::CURSOR);
        }
    }
}

/// This document.
#[utoipa::path(
    get,
    path = "/api/v1/openapi.json",
    tag = "meta",
    responses(
        (status = 200, description = "The OpenAPI 3.1 document of this API"),
        (status = 429, description = "`rate_limited`", body = ErrorBody, headers(("Retry-After" = u64, description = "Seconds to wait before trying again"))),
    )
)]
pub async fn openapi_json() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}

/// A router that remembers each route it is given (method and path).
pub struct ApiRoutes {
    router: Router<AppState>,
    routes: Vec<(Method, &'static str)>,
}

impl ApiRoutes {
    fn new() -> Self {
        ApiRoutes {
            router: Router::new(),
            routes: Vec::new(),
        }
    }

    fn get<H: Handler<T, AppState>, T: 'static>(mut self, path: &'static str, h: H) -> Self {
        self.routes.push((Method::GET, path));
        self.router = self.router.route(path, axum::routing::get(h));
        self
    }

    fn post<H: Handler<T, AppState>, T: 'static>(mut self, path: &'static str, h: H) -> Self {
        self.routes.push((Method::POST, path));
        self.router = self.router.route(path, axum::routing::post(h));
        self
    }

    /// Every route, as `(method, path)`.
    pub fn routes(&self) -> &[(Method, &'static str)] {
        &self.routes
    }
}

/// Every `/api/v1` route.
pub fn routes() -> ApiRoutes {
    ApiRoutes::new()
        .post("/api/v1/verifications", verifications::create)
        .get("/api/v1/verifications", verifications::list)
        .get("/api/v1/verifications/{id}", verifications::read)
        .post("/api/v1/verifications/{id}/cancel", verifications::cancel)
        .get(OPENAPI_PATH, openapi_json)
}

/// The API's router, with its per-address limit.
pub fn router(state: &AppState) -> Router<AppState> {
    routes().router.layer(middleware::from_fn_with_state(
        state.clone(),
        auth::limit_per_address,
    ))
}

/// Every `(method, path)` the OpenAPI document describes.
pub fn documented() -> Vec<(Method, String)> {
    let doc = ApiDoc::openapi();
    let mut found = Vec::new();
    for (path, item) in &doc.paths.paths {
        for (method, operation) in [
            (Method::GET, &item.get),
            (Method::POST, &item.post),
            (Method::PUT, &item.put),
            (Method::PATCH, &item.patch),
            (Method::DELETE, &item.delete),
            (Method::HEAD, &item.head),
            (Method::OPTIONS, &item.options),
        ] {
            if operation.is_some() {
                found.push((method, path.clone()));
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    #[test]
    fn every_route_is_in_the_openapi_document_and_nothing_else_is() {
        let served: BTreeSet<(String, String)> = routes()
            .routes()
            .iter()
            .map(|(m, p)| (m.to_string(), (*p).to_owned()))
            .collect();
        let documented: BTreeSet<(String, String)> = documented()
            .into_iter()
            .map(|(m, p)| (m.to_string(), p))
            .collect();
        assert_eq!(served, documented);
    }

    #[test]
    fn the_document_is_openapi_3_1() {
        let json = serde_json::to_value(ApiDoc::openapi()).unwrap();
        assert_eq!(json["openapi"], "3.1.0");
        assert!(json["components"]["securitySchemes"]["api_key"].is_object());
    }
}
