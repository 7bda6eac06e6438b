//! Which requests count against which rate limit, and who the client is. Runs before
//! sessions and server functions, so a refused request costs no database work. Each
//! refusal is a 429 with `Retry-After`, in the form its caller reads: a server-function
//! error for our pages, a small HTML page for a browser navigation, plain text for
//! streams and Microsoft. Sign-in failures and presentation requests per link are
//! counted where the account and the link are known (the `sign_in` server function and
//! the verifier, through `traceless::shared_limits`).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Once;

use app::error::AppError;
use app::ssr::{
    AppState, MICROSOFT_CALLBACK_PATH, RECOVERY_CONSENT_CALLBACK_PATH, VERIFIED_ID_CALLBACK_PATH,
};
use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use ipnet::IpNet;
use traceless::rate_limit::{ClientKey, ForwardedHeader, Limiter, RateLimits, TooMany};
use traceless::secret::SecretHash;

/// The client's address as [`limit`] read it (behind trusted proxies, the forwarded one),
/// for handlers that count per client (the event streams) and the audit log.
pub use traceless::rate_limit::ClientAddr;

pub async fn limit(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let limits = &state.limits;
    let ip = read_client_ip(
        &request,
        &limits.settings.trusted_proxies,
        limits.settings.forwarded_header,
    );
    request.extensions_mut().insert(ClientAddr(ip));
    // What server functions count per address (`app::ssr::client`).
    request.extensions_mut().insert(ClientKey::from(ip));
    let path = request.uri().path();
    let checks = checks_for(limits, request.method(), path);
    if checks.is_empty() {
        return next.run(request).await;
    }
    let client = ClientKey::from(ip);
    for check in checks {
        let verdict = match check {
            Check::PerClient(name, limiter) => limiter.check(&client).map_err(|r| (name, r)),
            Check::PerLink(name, token) => limits
                .link_per_link
                .check(&SecretHash::of(token).as_str().to_owned())
                .map_err(|r| (name, r)),
        };
        if let Err((name, refusal)) = verdict {
            tracing::warn!(
                limit = name,
                client = %ip,
                retry_after = refusal.retry_after_secs(),
                "rate limited"
            );
            traceless::observe::rate_limited(name);
            return refused(request.method(), path, request.headers(), refusal);
        }
    }
    next.run(request).await
}

enum Check<'a> {
    PerClient(&'static str, &'a Limiter<ClientKey>),
    /// One verification link, from anywhere; the token is hashed before it is kept.
    PerLink(&'static str, &'a str),
}

fn checks_for<'a>(limits: &'a RateLimits, method: &Method, path: &'a str) -> Vec<Check<'a>> {
    use Check::*;
    match path {
        "/api/sign_in" => vec![PerClient("sign-in per address", &limits.sign_in_per_ip)],
        // "Send the link again" shares sign-up's allowance: both mail an address.
        "/api/sign_up" | "/api/resend_confirmation" => {
            vec![PerClient("sign-up per address", &limits.sign_up_per_ip)]
        }
        "/api/sign_in_code" => vec![PerClient(
            "sign-in code per address",
            &limits.mfa_code_per_ip,
        )],
        "/api/forgot_password" => vec![PerClient(
            "forgot password per address",
            &limits.forgot_password_per_ip,
        )],
        "/api/accept_invite" => vec![PerClient(
            "invite acceptance per address",
            &limits.invite_accept_per_ip,
        )],
        "/api/open_verification_link"
        | "/api/renew_request"
        | "/api/person_recovery"
        | "/api/reveal_temporary_access_pass" => {
            vec![PerClient(
                "verification link per address",
                &limits.link_per_ip,
            )]
        }
        MICROSOFT_CALLBACK_PATH | RECOVERY_CONSENT_CALLBACK_PATH | VERIFIED_ID_CALLBACK_PATH => {
            vec![PerClient("Microsoft per address", &limits.microsoft_per_ip)]
        }
        // HEAD runs the same handler as GET (a page probing whether its stream may open).
        _ if *method == Method::GET || *method == Method::HEAD => match link_token(path) {
            Some(token) => vec![
                PerClient("verification link per address", &limits.link_per_ip),
                PerLink("verification link per link", token),
            ],
            None => Vec::new(),
        },
        _ => Vec::new(),
    }
}

/// The token of `/verify/{token}` (the person's page), `/verify/{token}/events` and
/// `/verify/{token}/status` (for clients that poll: limited like the page they stand for).
fn link_token(path: &str) -> Option<&str> {
    let rest = path.strip_prefix("/verify/")?;
    let token = rest
        .strip_suffix("/events")
        .or_else(|| rest.strip_suffix("/status"))
        .unwrap_or(rest);
    (!token.is_empty() && !token.contains('/')).then_some(token)
}

fn refused(method: &Method, path: &str, headers: &HeaderMap, refusal: TooMany) -> Response {
    let retry_after = refusal.retry_after_secs();
    let (content_type, body) = if path.starts_with("/api/") && !wants_html_only(headers) {
        let error = AppError::from(refusal);
        (
            "application/json",
            serde_json::to_string(&error).unwrap_or_default(),
        )
    } else if wants_html(headers) {
        // A page load, or a form posted before the page hydrated.
        let reload = *method == Method::GET;
        ("text/html; charset=utf-8", refusal_page(&refusal, reload))
    } else {
        ("text/plain; charset=utf-8", refusal.to_string())
    };
    let mut response = (StatusCode::TOO_MANY_REQUESTS, Body::from(body)).into_response();
    let response_headers = response.headers_mut();
    response_headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response_headers.insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
    response
}

fn wants_html(headers: &HeaderMap) -> bool {
    accept(headers).contains("text/html")
}

/// A browser's own form post (our hydrated pages ask server functions for JSON).
fn wants_html_only(headers: &HeaderMap) -> bool {
    wants_html(headers) && !accept(headers).contains("application/json")
}

fn accept(headers: &HeaderMap) -> &str {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

/// A browser navigation that was refused: the words, and a page load tries again by
/// itself once the wait is over (a meta refresh: the content security policy allows no
/// inline script). A refused form post cannot be repeated that way: it says to go back.
fn refusal_page(refusal: &TooMany, reload: bool) -> String {
    let wait = refusal.retry_after_secs();
    let (refresh, next) = if reload {
        (
            format!("<meta http-equiv=\"refresh\" content=\"{wait}\">\n"),
            "This page tries again by itself.",
        )
    } else {
        (
            String::new(),
            "Go back to the form and send it again after the wait.",
        )
    };
    format!(
        r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
{refresh}<title>Too many attempts · Traceless</title>
<link rel="stylesheet" href="/pkg/traceless.css">
</head>
<body>
<main id="main">
<section class="panel narrow" data-testid="rate-limited">
<h1>Please wait a moment</h1>
<p role="alert">{refusal}</p>
<p class="muted">{next}</p>
</section>
</main>
</body>
</html>
"#
    )
}

/// The client's address: what [`limit`] read for this request (it runs first), else read
/// now with `X-Forwarded-For`.
pub fn client_ip(request: &Request, trusted: &[IpNet]) -> IpAddr {
    match request.extensions().get::<ClientAddr>() {
        Some(ClientAddr(ip)) => *ip,
        None => read_client_ip(request, trusted, ForwardedHeader::XForwardedFor),
    }
}

/// The client's address: the socket's peer, unless that peer is a trusted proxy
/// (`TRACELESS_TRUSTED_PROXIES`); then the forwarded hops (`TRACELESS_FORWARDED_HEADER`)
/// are read from the right, past every trusted hop, to the first address a trusted proxy
/// vouched for.
fn read_client_ip(request: &Request, trusted: &[IpNet], header: ForwardedHeader) -> IpAddr {
    let Some(ConnectInfo(peer)) = request.extensions().get::<ConnectInfo<SocketAddr>>() else {
        static WARNED: Once = Once::new();
        WARNED.call_once(|| {
            tracing::warn!(
                "no client address on requests (served without connect info): every client shares one rate limit"
            );
        });
        return IpAddr::V4(Ipv4Addr::UNSPECIFIED);
    };
    forwarded_client(peer.ip(), request.headers(), trusted, header)
}

fn forwarded_client(
    peer: IpAddr,
    headers: &HeaderMap,
    trusted: &[IpNet],
    header: ForwardedHeader,
) -> IpAddr {
    let is_trusted = |ip: &IpAddr| {
        let ip = canonical(*ip);
        trusted.iter().any(|net| net.contains(&ip))
    };
    if !is_trusted(&peer) {
        return peer;
    }
    let mut client = peer;
    for hop in crate::forwarded::hops(headers, header).into_iter().rev() {
        // Anything unreadable was not written by a proxy we trust: stop at the last
        // address one of them did write.
        let Some(ip) = hop else { break };
        client = canonical(ip);
        if !is_trusted(&ip) {
            break;
        }
    }
    client
}

/// IPv4 peers of a dual-stack socket arrive as `::ffff:a.b.c.d`.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const XFF: ForwardedHeader = ForwardedHeader::XForwardedFor;

    fn headers(xff: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in xff {
            headers.append("x-forwarded-for", value.parse().unwrap());
        }
        headers
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn forwarded_for_is_ignored_unless_the_peer_is_a_trusted_proxy() {
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        let spoofed = headers(&["1.2.3.4"]);
        assert_eq!(
            forwarded_client(ip("203.0.113.9"), &spoofed, &trusted, XFF),
            ip("203.0.113.9")
        );
        assert_eq!(
            forwarded_client(ip("10.0.0.2"), &spoofed, &[], XFF),
            ip("10.0.0.2")
        );
    }

    #[test]
    fn the_rightmost_untrusted_hop_is_the_client() {
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        // The client claimed 6.6.6.6 itself; our proxies saw 198.51.100.7.
        let chain = headers(&["6.6.6.6, 198.51.100.7", "10.0.0.5"]);
        assert_eq!(
            forwarded_client(ip("10.0.0.2"), &chain, &trusted, XFF),
            ip("198.51.100.7")
        );
        assert_eq!(
            forwarded_client(ip("::ffff:10.0.0.2"), &chain, &trusted, XFF),
            ip("198.51.100.7")
        );
    }

    #[test]
    fn a_trusted_proxy_without_forwarded_for_is_the_client() {
        let trusted: Vec<IpNet> = vec!["127.0.0.1/32".parse().unwrap()];
        assert_eq!(
            forwarded_client(ip("127.0.0.1"), &headers(&[]), &trusted, XFF),
            ip("127.0.0.1")
        );
        assert_eq!(
            forwarded_client(ip("127.0.0.1"), &headers(&["garbage"]), &trusted, XFF),
            ip("127.0.0.1")
        );
    }

    #[test]
    fn hops_with_ports_and_rfc_7239_forwarded_are_walked_past_trusted_proxies() {
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        let chain = headers(&["6.6.6.6:1, 198.51.100.7:51234", "[::ffff:10.0.0.5]:443"]);
        assert_eq!(
            forwarded_client(ip("10.0.0.2"), &chain, &trusted, XFF),
            ip("198.51.100.7")
        );
        let v6 = headers(&["[2001:db8::9]:4711"]);
        assert_eq!(
            forwarded_client(ip("10.0.0.2"), &v6, &trusted, XFF),
            ip("2001:db8::9")
        );
        let mut forwarded = HeaderMap::new();
        forwarded.append(
            "forwarded",
            r#"for=6.6.6.6, for="[2001:db8::9]:4711";proto=https, for=10.0.0.5"#
                .parse()
                .unwrap(),
        );
        // The client also sent an X-Forwarded-For of its own: not the header we read.
        forwarded.append("x-forwarded-for", "7.7.7.7".parse().unwrap());
        assert_eq!(
            forwarded_client(
                ip("10.0.0.2"),
                &forwarded,
                &trusted,
                ForwardedHeader::Forwarded
            ),
            ip("2001:db8::9")
        );
    }

    #[test]
    fn link_tokens_are_found_in_page_and_stream_paths_only() {
        assert_eq!(link_token("/verify/abc"), Some("abc"));
        assert_eq!(link_token("/verify/abc/events"), Some("abc"));
        assert_eq!(link_token("/verify/abc/status"), Some("abc"));
        assert_eq!(link_token("/verify/"), None);
        assert_eq!(link_token("/verify/abc/other/x"), None);
        assert_eq!(link_token("/organization"), None);
    }
}
