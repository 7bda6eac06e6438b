//! Security headers on every response. The Content-Security-Policy allows scripts
//! only from our origin and those carrying this response's nonce: Leptos writes its
//! hydration and streaming scripts inline, and signs each with the nonce we hand it
//! through the request (see [`provide_request_nonce`]). WebAssembly needs
//! `'wasm-unsafe-eval'`; nothing needs `'unsafe-inline'`.

use app::ssr::AppState;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use leptos::nonce::Nonce;
use leptos::prelude::{provide_context, use_context};

use crate::site_files::{SECRET_LINK_PREFIXES, is_static_asset};

/// What the policy needs to know about this deployment, worked out once.
#[derive(Clone)]
pub struct SecurityHeaders {
    /// Where a form may send the browser: our origin, and Microsoft's sign-in (before
    /// the page hydrates, "Log in to your tenant" is a real form post answered with a
    /// redirect to Microsoft, which `form-action` governs in Chromium).
    form_action: String,
    /// `cargo leptos watch` reloads pages over a WebSocket on another port.
    extra_connect: Option<String>,
    hsts: bool,
}

impl SecurityHeaders {
    pub fn new(state: &AppState) -> Self {
        let login = state.microsoft.endpoints().login().origin();
        let form_action = match login {
            origin @ url::Origin::Tuple(..) => format!("'self' {}", origin.ascii_serialization()),
            url::Origin::Opaque(_) => "'self'".to_owned(),
        };
        let options = &state.leptos_options;
        let extra_connect = std::env::var_os("LEPTOS_WATCH").map(|_| {
            let port = options.reload_external_port.unwrap_or(options.reload_port);
            format!("ws://{}:{port}", options.site_addr.ip())
        });
        SecurityHeaders {
            form_action,
            extra_connect,
            hsts: state.settings.public_url.scheme() == "https",
        }
    }

    fn policy(&self, nonce: &str) -> String {
        let connect = match &self.extra_connect {
            Some(extra) => format!("'self' {extra}"),
            None => "'self'".to_owned(),
        };
        format!(
            "default-src 'self'; \
             script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
             style-src 'self'; \
             img-src 'self'; \
             font-src 'self'; \
             connect-src {connect}; \
             object-src 'none'; \
             base-uri 'self'; \
             form-action {}; \
             frame-ancestors 'none'",
            self.form_action
        )
    }
}

/// Makes a nonce for this request, hands it to Leptos through the request's
/// extensions, and sets every security header on the way out.
pub async fn add(
    State(headers): State<SecurityHeaders>,
    mut request: Request,
    next: Next,
) -> Response {
    let nonce = Nonce::new();
    request.extensions_mut().insert(nonce.clone());
    let path = request.uri().path().to_owned();
    let mut response = next.run(request).await;
    let out = response.headers_mut();
    if let Ok(policy) = HeaderValue::from_str(&headers.policy(&nonce)) {
        out.insert(header::CONTENT_SECURITY_POLICY, policy);
    }
    out.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    out.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    out.insert(header::REFERRER_POLICY, referrer_policy(&path));
    if !is_static_asset(&path) {
        // Pages name the signed-in person, the person's page holds a live QR code,
        // server functions answer for one session: none of it belongs in a cache.
        out.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if headers.hsts {
        out.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        );
    }
    response
}

/// Verification and invite links carry their secret in the path: never send it on.
fn referrer_policy(path: &str) -> HeaderValue {
    if SECRET_LINK_PREFIXES
        .iter()
        .any(|secret| path.starts_with(secret))
    {
        HeaderValue::from_static("no-referrer")
    } else {
        HeaderValue::from_static("same-origin")
    }
}

/// For the Leptos context of a page render: sign the inline scripts with the nonce
/// that [`add`] put in the policy (Leptos would otherwise make one of its own).
pub fn provide_request_nonce() {
    let nonce = use_context::<axum::http::request::Parts>()
        .and_then(|parts| parts.extensions.get::<Nonce>().cloned());
    if let Some(nonce) = nonce {
        provide_context(nonce);
    }
}

/// The nonce in a Content-Security-Policy header (for tests).
pub fn nonce_of(headers: &HeaderMap) -> Option<String> {
    let policy = headers
        .get(header::CONTENT_SECURITY_POLICY)?
        .to_str()
        .ok()?;
    let start = policy.find("'nonce-")? + "'nonce-".len();
    let end = policy[start..].find('\'')? + start;
    Some(policy[start..end].to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_with_secrets_send_no_referrer() {
        assert_eq!(referrer_policy("/verify/abc"), "no-referrer");
        assert_eq!(referrer_policy("/verify/abc/events"), "no-referrer");
        assert_eq!(referrer_policy("/invite/abc"), "no-referrer");
        assert_eq!(referrer_policy("/organization"), "same-origin");
    }

    #[test]
    fn the_policy_names_its_nonce_and_allows_no_inline_script() {
        let headers = SecurityHeaders {
            form_action: "'self' https://login.microsoftonline.com".into(),
            extra_connect: None,
            hsts: false,
        };
        let policy = headers.policy("abc123");
        assert!(policy.contains("script-src 'self' 'nonce-abc123' 'wasm-unsafe-eval'"));
        assert!(!policy.contains("unsafe-inline"));
        assert!(policy.contains("form-action 'self' https://login.microsoftonline.com"));
        let mut map = HeaderMap::new();
        map.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_str(&policy).unwrap(),
        );
        assert_eq!(nonce_of(&map).as_deref(), Some("abc123"));
    }
}
