//! Minimal HTML helpers for the emulator's pages (sign-in/consent and the Authenticator).

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

pub(crate) fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font-family:'Segoe UI',system-ui,sans-serif;background:#f2f2f2;margin:0}\
main{max-width:440px;margin:48px auto;background:#fff;padding:44px;box-shadow:0 2px 6px rgba(0,0,0,.2)}\
h1{font-size:1.5rem;font-weight:600}.brand{color:#737373;font-weight:600}\
label.account{display:block;border:1px solid #ddd;padding:8px;margin:6px 0;cursor:pointer}\
.buttons{display:flex;gap:8px;justify-content:flex-end;margin-top:24px}\
button{padding:6px 20px;border:1px solid #8a8886;background:#fff;cursor:pointer}\
button.primary{background:#0067b8;color:#fff;border-color:#0067b8}\
.note{color:#666;font-size:.85rem}.error{color:#a80000}pre{white-space:pre-wrap;font-size:.8rem;background:#f6f6f6;padding:8px}\
select,input[type=text]{width:100%;padding:6px;margin:4px 0 12px;box-sizing:border-box}";

pub(crate) fn page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>{}</title><style>{STYLE}</style></head><body><main>{body}</main></body></html>",
        esc(title)
    )
}

/// Microsoft shows an error page (no redirect) when it cannot trust the redirect URI.
pub(crate) fn error_page(status: StatusCode, code: u32, message: &str) -> Response {
    let body = format!(
        "<p class=\"brand\">Microsoft (emulator)</p><h1>Sorry, but we’re having trouble signing you in.</h1>\
<p class=\"error\" data-testid=\"aadsts\">AADSTS{code}: {}</p>",
        esc(message)
    );
    (status, Html(page("Sign in to your account", &body))).into_response()
}
