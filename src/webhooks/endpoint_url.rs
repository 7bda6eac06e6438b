//! A webhook URL's form: an absolute `http(s)://` URL with a host and no credentials. Where
//! it may point (scheme and address) is [`super::guard::Guard`]'s to judge: every URL is
//! checked by it at registration and again at each delivery.

use url::Url;

/// The longest webhook URL, in characters (the REST API declares it too).
pub const MAX_URL_CHARS: usize = 2000;

/// A URL admins (or an API request) pointed webhooks at, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointUrl(Url);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidUrl {
    #[error("Enter the endpoint's full URL, starting with https://.")]
    NotAUrl,
    #[error(
        "Webhooks are sent over https:// only (http:// only to this machine or a private network, where this server allows private targets)."
    )]
    NotHttps,
    #[error("The URL must not contain a user name or password; use the signing secret instead.")]
    HasCredentials,
    #[error(
        "Webhooks are not sent to {host}: it is {range}. Enter your endpoint's public address."
    )]
    RefusedAddress { host: String, range: &'static str },
    #[error(
        "Webhooks are not sent to {host}: it resolves only to {address}, {range}. Enter your endpoint's public address."
    )]
    ResolvesToRefused {
        host: String,
        address: String,
        range: &'static str,
    },
}

impl EndpointUrl {
    /// The form only; use [`super::guard::Guard::parse`] or `admit` for a URL to send to.
    pub(super) fn parse_form(value: &str) -> Result<Self, InvalidUrl> {
        let value = value.trim();
        if value.is_empty() || value.chars().count() > MAX_URL_CHARS {
            return Err(InvalidUrl::NotAUrl);
        }
        let mut url = Url::parse(value).map_err(|_| InvalidUrl::NotAUrl)?;
        if url.host().is_none() {
            return Err(InvalidUrl::NotAUrl);
        }
        if !matches!(url.scheme(), "https" | "http") {
            return Err(InvalidUrl::NotHttps);
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

    pub(super) fn url(&self) -> &Url {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_http_url_without_credentials() {
        for ok in [
            "https://hooks.example.com/traceless",
            "http://127.0.0.1:8080/hook",
            "http://[::1]:9000/",
        ] {
            assert!(EndpointUrl::parse_form(ok).is_ok(), "{ok}");
        }
        assert_eq!(
            EndpointUrl::parse_form("ftp://127.0.0.1/"),
            Err(InvalidUrl::NotHttps)
        );
        assert_eq!(
            EndpointUrl::parse_form("https://u:p@example.com/"),
            Err(InvalidUrl::HasCredentials)
        );
        assert_eq!(
            EndpointUrl::parse_form("not a url"),
            Err(InvalidUrl::NotAUrl)
        );
        assert_eq!(EndpointUrl::parse_form(""), Err(InvalidUrl::NotAUrl));
    }
}
