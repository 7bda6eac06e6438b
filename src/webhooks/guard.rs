//! Keeps webhooks out of our own network. The name in a URL proves nothing (DNS can answer
//! differently at registration and at delivery: "rebinding"), so the check that counts is
//! on the address actually connected to: [`Guard`] is the webhook client's DNS resolver and
//! hands the connector only addresses [`address::check`] allows. Literal IP hosts never reach
//! a resolver (hyper connects to them directly), so they are checked here before every
//! attempt, as well as at registration.
//!
//! Registration refuses at once what can already be seen to go nowhere allowed: a literal
//! refused address, or a name that resolves only to refused addresses.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use url::{Host, Url};

use super::address::{self, Refused};
use super::endpoint_url::{EndpointUrl, InvalidUrl};
use crate::config::HostOverrides;

/// A registration does not wait longer than this for DNS: a name that cannot be resolved
/// in time is accepted, and judged again at every delivery.
const REGISTRATION_LOOKUP: Duration = Duration::from_secs(5);

/// Why a connection was not made; the text goes on the delivery's attempt list.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "Not sent: {host} resolves only to {address}, {range}; webhooks are not sent into private networks"
)]
pub struct Blocked {
    pub host: String,
    pub address: IpAddr,
    pub range: &'static str,
}

/// The webhook client's resolver, and the checks around it.
#[derive(Debug, Clone)]
pub struct Guard {
    allow_private: bool,
    overrides: HostOverrides,
}

impl Guard {
    pub fn new(allow_private: bool, overrides: HostOverrides) -> Self {
        Guard {
            allow_private,
            overrides,
        }
    }

    /// Checks what can be seen without DNS: the URL's form, its scheme, and a literal
    /// address. `https://` always; `http://` only to an allowed private or loopback target.
    pub fn parse(&self, value: &str) -> Result<EndpointUrl, InvalidUrl> {
        let url = EndpointUrl::parse_form(value)?;
        self.check_target(url.url())
            .map_err(|refusal| match refusal {
                Target::Refused(host, range) => InvalidUrl::RefusedAddress {
                    host,
                    range: range.describe(),
                },
                Target::NotHttps => InvalidUrl::NotHttps,
            })?;
        Ok(url)
    }

    /// [`Guard::parse`], then DNS: refused when the name resolves only to refused
    /// addresses. A name that does not resolve (yet) is accepted: every delivery is
    /// checked again where it connects.
    pub async fn admit(&self, value: &str) -> Result<EndpointUrl, InvalidUrl> {
        let url = self.parse(value)?;
        self.admit_resolved(&url).await?;
        Ok(url)
    }

    /// The DNS half of [`Guard::admit`], for a URL already parsed.
    pub async fn admit_resolved(&self, url: &EndpointUrl) -> Result<(), InvalidUrl> {
        let Some(Host::Domain(name)) = url.url().host() else {
            return Ok(());
        };
        let name = name.to_owned();
        let Ok(Ok(addresses)) = tokio::time::timeout(REGISTRATION_LOOKUP, self.lookup(&name)).await
        else {
            return Ok(());
        };
        match self.allowed(&name, addresses) {
            Ok(_) => Ok(()),
            Err(blocked) => Err(InvalidUrl::ResolvesToRefused {
                host: blocked.host,
                address: blocked.address.to_string(),
                range: blocked.range,
            }),
        }
    }

    /// Before each attempt: the scheme and a literal address, judged with today's settings
    /// (the endpoint may have been registered under others). Names are judged by the
    /// resolver when the connection is made.
    pub fn before_sending(&self, url: &str) -> Result<(), String> {
        let url = Url::parse(url).map_err(|_| "Not sent: the URL is not valid".to_owned())?;
        self.check_target(&url).map_err(|refusal| match refusal {
            Target::Refused(host, range) => format!(
                "Not sent: {host} is {}; webhooks are not sent into private networks",
                range.describe()
            ),
            Target::NotHttps => {
                "Not sent: webhooks are sent over https:// only to this address".to_owned()
            }
        })
    }

    fn check_target(&self, url: &Url) -> Result<(), Target> {
        let literal = match url.host() {
            Some(Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
            Some(Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
            _ => None,
        };
        if let Some(ip) = literal {
            address::check(ip, self.allow_private)
                .map_err(|range| Target::Refused(ip.to_string(), range))?;
        }
        match url.scheme() {
            "https" => Ok(()),
            // Plain http only where private targets are allowed, and only to one: a literal
            // private or loopback address, or `localhost`.
            "http" if self.allow_private => {
                let local = match (url.host(), literal) {
                    (_, Some(ip)) => address::classify(ip).is_some(),
                    (Some(Host::Domain(name)), None) => name.eq_ignore_ascii_case("localhost"),
                    _ => false,
                };
                if local { Ok(()) } else { Err(Target::NotHttps) }
            }
            _ => Err(Target::NotHttps),
        }
    }

    async fn lookup(&self, name: &str) -> io::Result<Vec<IpAddr>> {
        if let Some(addresses) = self.overrides.get(name) {
            return Ok(addresses);
        }
        Ok(tokio::net::lookup_host((name, 0))
            .await?
            .map(|a| a.ip())
            .collect())
    }

    /// The addresses of `name` that may be connected to; an error naming the first refused
    /// one when none may.
    fn allowed(&self, name: &str, addresses: Vec<IpAddr>) -> Result<Vec<IpAddr>, Blocked> {
        let mut first_refused = None;
        let mut allowed = Vec::new();
        for ip in addresses {
            match address::check(ip, self.allow_private) {
                Ok(()) => allowed.push(ip),
                Err(range) => {
                    first_refused.get_or_insert((ip, range));
                }
            }
        }
        match (allowed.is_empty(), first_refused) {
            (false, _) => Ok(allowed),
            (true, Some((address, range))) => Err(Blocked {
                host: name.to_owned(),
                address,
                range: range.describe(),
            }),
            (true, None) => Ok(allowed),
        }
    }
}

enum Target {
    Refused(String, Refused),
    NotHttps,
}

impl Resolve for Guard {
    fn resolve(&self, name: Name) -> Resolving {
        let guard = self.clone();
        Box::pin(async move {
            let name = name.as_str().to_owned();
            let addresses = guard.lookup(&name).await?;
            if addresses.is_empty() {
                return Err(io::Error::new(
                    io::ErrorKind::NotFound,
                    format!("{name} has no address"),
                )
                .into());
            }
            let allowed = guard.allowed(&name, addresses)?;
            // Port 0: the connector puts the URL's port in.
            let addrs: Addrs = Box::new(allowed.into_iter().map(|ip| SocketAddr::new(ip, 0)));
            Ok(addrs)
        })
    }
}

/// The webhook client: every connection goes through [`Guard`], no proxy from the
/// environment (it would connect for us, past the guard), no redirect (a receiver could
/// send us anywhere), and a deadline on the whole attempt.
pub fn client(guard: &Guard, timeout: Duration) -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .dns_resolver(Arc::new(guard.clone()))
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(timeout)
        .user_agent("Traceless-Webhooks/1")
        .build()
}

/// The [`Blocked`] reason inside a failed request, if the guard is why it failed.
pub fn blocked_in<'e>(error: &'e (dyn std::error::Error + 'static)) -> Option<&'e Blocked> {
    let mut current = Some(error);
    while let Some(e) = current {
        if let Some(blocked) = e.downcast_ref::<Blocked>() {
            return Some(blocked);
        }
        current = e.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guard(allow_private: bool) -> Guard {
        let overrides = HostOverrides::default();
        overrides.set("inside.test", &["10.0.0.1".parse().unwrap()]);
        overrides.set(
            "both.test",
            &[
                "10.0.0.1".parse().unwrap(),
                "93.184.215.14".parse().unwrap(),
            ],
        );
        overrides.set("outside.test", &["93.184.215.14".parse().unwrap()]);
        Guard::new(allow_private, overrides)
    }

    #[test]
    fn literal_addresses_are_refused_at_once() {
        let strict = guard(false);
        for url in [
            "https://169.254.169.254/latest/meta-data/",
            "https://[::ffff:127.0.0.1]/",
            "https://127.0.0.1/",
            "https://10.0.0.1/",
            "https://[fd00:ec2::254]/",
            "https://0x7f.1/",
            "https://2130706433/",
        ] {
            assert!(
                matches!(strict.parse(url), Err(InvalidUrl::RefusedAddress { .. })),
                "{url}"
            );
        }
        assert!(strict.parse("https://93.184.215.14/hook").is_ok());
    }

    #[test]
    fn http_only_to_allowed_private_targets_and_only_with_the_flag() {
        let strict = guard(false);
        let open = guard(true);
        assert!(strict.parse("http://127.0.0.1:8080/").is_err());
        assert!(strict.parse("http://localhost/").is_err());
        for ok in [
            "http://127.0.0.1:8080/",
            "http://[::1]:9000/",
            "http://localhost/hook",
            "http://10.1.2.3/",
            "https://192.168.1.10/",
        ] {
            assert!(open.parse(ok).is_ok(), "{ok}");
        }
        for refused in [
            "http://hooks.example.com/",
            "http://93.184.215.14/",
            "https://169.254.169.254/",
            "https://[fe80::1]/",
            "https://0.0.0.0/",
            "https://[fd00:ec2::254]/",
        ] {
            assert!(open.parse(refused).is_err(), "{refused}");
        }
    }

    #[tokio::test]
    async fn names_are_judged_by_every_address_they_resolve_to() {
        let strict = guard(false);
        assert!(matches!(
            strict.admit("https://inside.test/hook").await,
            Err(InvalidUrl::ResolvesToRefused { .. })
        ));
        assert!(strict.admit("https://both.test/hook").await.is_ok());
        assert!(strict.admit("https://outside.test/hook").await.is_ok());
        assert!(guard(true).admit("https://inside.test/hook").await.is_ok());

        // The resolver hands the connector only what is allowed.
        let addrs: Vec<SocketAddr> = strict
            .resolve("both.test".parse().unwrap())
            .await
            .unwrap()
            .collect();
        assert_eq!(addrs, vec!["93.184.215.14:0".parse().unwrap()]);
        let refused = match strict.resolve("inside.test".parse().unwrap()).await {
            Err(error) => error,
            Ok(_) => panic!("inside.test resolved"),
        };
        let blocked = blocked_in(refused.as_ref()).expect("a Blocked reason");
        assert_eq!(blocked.address, "10.0.0.1".parse::<IpAddr>().unwrap());
    }
}
