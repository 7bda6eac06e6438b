//! Where webhooks may go: `https://` anywhere, or `http://` to this machine's loopback
//! (development and tests). Nothing else is ever sent to.

use std::net::IpAddr;

use url::{Host, Url};

const MAX_URL_CHARS: usize = 2000;

/// A URL admins (or an API request) pointed webhooks at, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointUrl(Url);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidUrl {
    #[error("Enter the endpoint's full URL, starting with https://.")]
    NotAUrl,
    #[error(
        "Webhooks are sent over https:// only (http:// is allowed to 127.0.0.1, ::1 or localhost, for development)."
    )]
    NotHttps,
    #[error("The URL must not contain a user name or password; use the signing secret instead.")]
    HasCredentials,
}

impl EndpointUrl {
    pub fn parse(value: &str) -> Result<Self, InvalidUrl> {
        let value = value.trim();
        if value.is_empty() || value.chars().count() > MAX_URL_CHARS {
            return Err(InvalidUrl::NotAUrl);
        }
        let mut url = Url::parse(value).map_err(|_| InvalidUrl::NotAUrl)?;
        let Some(host) = url.host() else {
            return Err(InvalidUrl::NotAUrl);
        };
        let loopback = match host {
            Host::Domain(name) => name.eq_ignore_ascii_case("localhost"),
            Host::Ipv4(ip) => IpAddr::V4(ip).is_loopback(),
            Host::Ipv6(ip) => IpAddr::V6(ip).is_loopback(),
        };
        match url.scheme() {
            "https" => {}
            "http" if loopback => {}
            _ => return Err(InvalidUrl::NotHttps),
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(InvalidUrl::HasCredentials);
        }
        url.set_fragment(None);
        Ok(EndpointUrl(url))
    }

    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_anywhere_and_http_only_to_loopback() {
        for ok in [
            "https://hooks.example.com/traceless",
            "http://127.0.0.1:8080/hook",
            "http://[::1]:9000/",
            "http://localhost/hook",
        ] {
            assert!(EndpointUrl::parse(ok).is_ok(), "{ok}");
        }
        assert_eq!(
            EndpointUrl::parse("http://hooks.example.com/"),
            Err(InvalidUrl::NotHttps)
        );
        assert_eq!(
            EndpointUrl::parse("http://10.0.0.1/"),
            Err(InvalidUrl::NotHttps)
        );
        assert_eq!(
            EndpointUrl::parse("ftp://127.0.0.1/"),
            Err(InvalidUrl::NotHttps)
        );
        assert_eq!(
            EndpointUrl::parse("https://u:p@example.com/"),
            Err(InvalidUrl::HasCredentials)
        );
        assert_eq!(EndpointUrl::parse("not a url"), Err(InvalidUrl::NotAUrl));
        assert_eq!(EndpointUrl::parse(""), Err(InvalidUrl::NotAUrl));
    }
}
