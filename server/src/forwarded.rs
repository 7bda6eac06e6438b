//! Reading the hops a proxy chain recorded: `X-Forwarded-For` and RFC 7239 `Forwarded`.
//!
//! Hand-written on purpose, small and tested: `axum-client-ip` (1.x) reads only the
//! rightmost entry of one header, which is right behind exactly one proxy; our model
//! (`TRACELESS_TRUSTED_PROXIES`) walks the chain from the right past every trusted hop,
//! so it needs each hop in order. Entries are read in the forms proxies write: `ip`,
//! `ip:port`, `[v6]` and `[v6]:port` (Azure Application Gateway and others add ports);
//! in `Forwarded`, the `for=` parameter, quoted or not. Anything else (`unknown`, an
//! obfuscated `_name`, garbage) is `None`: not an address a trusted proxy vouched for.

use std::net::{IpAddr, SocketAddr};

use axum::http::HeaderMap;
use traceless::rate_limit::ForwardedHeader;

/// The most hops read (from the right): a long header costs bounded work, and no real
/// chain of proxies is this deep.
const MAX_HOPS: usize = 32;

/// The recorded hops, nearest last (as they were appended); each `None` when unreadable.
pub fn hops(headers: &HeaderMap, header: ForwardedHeader) -> Vec<Option<IpAddr>> {
    let name = match header {
        ForwardedHeader::XForwardedFor => "x-forwarded-for",
        ForwardedHeader::Forwarded => "forwarded",
    };
    let mut hops: Vec<Option<IpAddr>> = headers
        .get_all(name)
        .iter()
        .flat_map(|value| match value.to_str() {
            Ok(value) => value.split(',').map(Some).collect::<Vec<_>>(),
            // Not text: one unreadable hop, which stops the walk here.
            Err(_) => vec![None],
        })
        .map(|element| {
            element.and_then(|element| match header {
                ForwardedHeader::XForwardedFor => node(element),
                ForwardedHeader::Forwarded => forwarded_for(element),
            })
        })
        .collect();
    if hops.len() > MAX_HOPS {
        hops.drain(..hops.len() - MAX_HOPS);
    }
    hops
}

/// One node: `192.0.2.1`, `192.0.2.1:4711`, `2001:db8::1`, `[2001:db8::1]`,
/// `[2001:db8::1]:4711`.
pub fn node(value: &str) -> Option<IpAddr> {
    let value = value.trim();
    if let Ok(ip) = value.parse::<IpAddr>() {
        return Some(ip);
    }
    if let Ok(socket) = value.parse::<SocketAddr>() {
        return Some(socket.ip());
    }
    value
        .strip_prefix('[')
        .and_then(|v| v.strip_suffix(']'))
        .and_then(|v| v.parse::<std::net::Ipv6Addr>().ok())
        .map(IpAddr::V6)
}

/// The `for=` node of one `Forwarded` element (`for=192.0.2.60;proto=http;by=...`).
/// RFC 7239 section 4: parameter names are case-insensitive; a value with `:` or `[`
/// is quoted.
fn forwarded_for(element: &str) -> Option<IpAddr> {
    element.split(';').find_map(|pair| {
        let (name, value) = pair.split_once('=')?;
        if !name.trim().eq_ignore_ascii_case("for") {
            return None;
        }
        let value = value.trim();
        let value = value
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .unwrap_or(value);
        node(value)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> Option<IpAddr> {
        Some(s.parse().unwrap())
    }

    fn headers(name: &str, values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(
                axum::http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                value.parse().unwrap(),
            );
        }
        headers
    }

    #[test]
    fn nodes_are_read_with_and_without_ports() {
        assert_eq!(node("192.0.2.1"), ip("192.0.2.1"));
        assert_eq!(node(" 192.0.2.1:4711 "), ip("192.0.2.1"));
        assert_eq!(node("2001:db8::1"), ip("2001:db8::1"));
        assert_eq!(node("[2001:db8::1]"), ip("2001:db8::1"));
        assert_eq!(node("[2001:db8::1]:4711"), ip("2001:db8::1"));
        for bad in [
            "",
            "unknown",
            "_hidden",
            "192.0.2.1:",
            "[192.0.2.1]",
            "host:80",
        ] {
            assert_eq!(node(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn x_forwarded_for_hops_come_in_order_across_headers() {
        let h = headers(
            "x-forwarded-for",
            &["203.0.113.5:51000, [2001:db8::7]:443", "10.0.0.5"],
        );
        assert_eq!(
            hops(&h, ForwardedHeader::XForwardedFor),
            vec![ip("203.0.113.5"), ip("2001:db8::7"), ip("10.0.0.5")]
        );
    }

    #[test]
    fn forwarded_for_parameters_are_read_as_rfc_7239_writes_them() {
        let h = headers(
            "forwarded",
            &[
                r#"for=192.0.2.43:47011;proto=https, For="[2001:db8:cafe::17]:4711""#,
                "by=10.0.0.1;for=198.51.100.17, for=unknown, for=_hidden",
            ],
        );
        assert_eq!(
            hops(&h, ForwardedHeader::Forwarded),
            vec![
                ip("192.0.2.43"),
                ip("2001:db8:cafe::17"),
                ip("198.51.100.17"),
                None,
                None
            ]
        );
        // The other header is not read.
        assert!(hops(&h, ForwardedHeader::XForwardedFor).is_empty());
    }

    #[test]
    fn a_long_chain_is_read_from_the_right_only() {
        let long: Vec<String> = (0..100).map(|i| format!("192.0.2.{i}")).collect();
        let h = headers("x-forwarded-for", &[&long.join(",")]);
        let read = hops(&h, ForwardedHeader::XForwardedFor);
        assert_eq!(read.len(), MAX_HOPS);
        assert_eq!(read.last().copied().flatten(), ip("192.0.2.99"));
    }
}
