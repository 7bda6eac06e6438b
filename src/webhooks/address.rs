//! Which IP addresses a webhook may connect to. Everything that is not a public unicast
//! address is refused: a webhook URL is chosen by an organization admin (or an API request),
//! and without this they could make our server reach metadata services and internal hosts
//! and read the answer on the Webhooks page.
//!
//! IPv6 addresses that carry an IPv4 address (mapped `::ffff:a.b.c.d`, compatible
//! `::a.b.c.d`, NAT64 `64:ff9b::a.b.c.d`) are judged by the IPv4 address they carry, so
//! `[::ffff:127.0.0.1]` is loopback.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// A range webhooks are not sent to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// 127/8, ::1.
    Loopback,
    /// 10/8, 172.16/12, 192.168/16.
    Private,
    /// fc00::/7 (IPv6's private range).
    UniqueLocal,
    /// 100.64/10 (carrier-grade NAT).
    Shared,
    /// 169.254/16, fe80::/10.
    LinkLocal,
    /// 169.254.169.254, fd00:ec2::254: the clouds' instance metadata services.
    CloudMetadata,
    /// 0.0.0.0, ::.
    Unspecified,
    /// 0/8 ("this network").
    ThisNetwork,
    /// 224/4, ff00::/8.
    Multicast,
    /// 255.255.255.255.
    Broadcast,
    /// 192.0.2/24, 198.51.100/24, 203.0.113/24, 2001:db8::/32.
    Documentation,
    /// 198.18/15.
    Benchmark,
    /// 240/4, 192.0.0/24 (IETF protocol assignments), and IPv6 outside 2000::/3.
    Reserved,
}

impl Refused {
    /// Allowed with `TRACELESS_WEBHOOK_ALLOW_PRIVATE=true` (a receiver on this machine or in
    /// the same network, for development and tests). Link-local, metadata and unspecified
    /// addresses are never allowed: nothing legitimate receives webhooks there.
    pub fn allowed_with_private(self) -> bool {
        matches!(
            self,
            Refused::Loopback | Refused::Private | Refused::UniqueLocal | Refused::Shared
        )
    }

    /// For the admin: "a private address".
    pub fn describe(self) -> &'static str {
        match self {
            Refused::Loopback => "a loopback address (this server itself)",
            Refused::Private | Refused::UniqueLocal => "a private network address",
            Refused::Shared => "a shared (carrier-grade NAT) address",
            Refused::LinkLocal => "a link-local address",
            Refused::CloudMetadata => "a cloud metadata service address",
            Refused::Unspecified => "an unspecified address",
            Refused::ThisNetwork => "a \"this network\" address",
            Refused::Multicast => "a multicast address",
            Refused::Broadcast => "the broadcast address",
            Refused::Documentation => "a documentation address",
            Refused::Benchmark => "a benchmarking address",
            Refused::Reserved => "a reserved address",
        }
    }
}

/// `None` for a public unicast address; otherwise the range it is in.
pub fn classify(ip: IpAddr) -> Option<Refused> {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => classify_v6(v6),
    }
}

/// Whether `ip` may be connected to, with or without private targets allowed.
pub fn check(ip: IpAddr, allow_private: bool) -> Result<(), Refused> {
    match classify(ip) {
        None => Ok(()),
        Some(range) if allow_private && range.allowed_with_private() => Ok(()),
        Some(range) => Err(range),
    }
}

fn classify_v4(ip: Ipv4Addr) -> Option<Refused> {
    let [a, b, c, _] = ip.octets();
    Some(match (a, b, c) {
        _ if ip == Ipv4Addr::new(169, 254, 169, 254) => Refused::CloudMetadata,
        _ if ip.is_unspecified() => Refused::Unspecified,
        _ if ip.is_broadcast() => Refused::Broadcast,
        (0, _, _) => Refused::ThisNetwork,
        (127, _, _) => Refused::Loopback,
        (10, _, _) => Refused::Private,
        (172, 16..=31, _) => Refused::Private,
        (192, 168, _) => Refused::Private,
        (100, 64..=127, _) => Refused::Shared,
        (169, 254, _) => Refused::LinkLocal,
        (192, 0, 2) | (198, 51, 100) | (203, 0, 113) => Refused::Documentation,
        (198, 18..=19, _) => Refused::Benchmark,
        (192, 0, 0) => Refused::Reserved,
        (224..=239, _, _) => Refused::Multicast,
        (240..=255, _, _) => Refused::Reserved,
        _ => return None,
    })
}

fn classify_v6(ip: Ipv6Addr) -> Option<Refused> {
    // An IPv4 address in IPv6 clothing is judged as the IPv4 address.
    if let Some(v4) = embedded_v4(ip) {
        return classify_v4(v4);
    }
    let segments = ip.segments();
    Some(match segments {
        _ if ip.is_unspecified() => Refused::Unspecified,
        _ if ip.is_loopback() => Refused::Loopback,
        _ if ip == Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254) => Refused::CloudMetadata,
        [s, ..] if s & 0xffc0 == 0xfe80 => Refused::LinkLocal,
        [s, ..] if s & 0xfe00 == 0xfc00 => Refused::UniqueLocal,
        [s, ..] if s & 0xff00 == 0xff00 => Refused::Multicast,
        [0x2001, 0x0db8, ..] => Refused::Documentation,
        // 2001:2::/48 is IPv6's benchmarking range.
        [0x2001, 0x0002, 0, ..] => Refused::Benchmark,
        // Only 2000::/3 is global unicast; the rest is reserved or special.
        [s, ..] if s & 0xe000 != 0x2000 => Refused::Reserved,
        _ => return None,
    })
}

/// The IPv4 address inside a mapped (`::ffff:a.b.c.d`), compatible (`::a.b.c.d`) or NAT64
/// (`64:ff9b::a.b.c.d`, `64:ff9b:1::/48`) address.
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = ip.segments();
    let tail = || Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    match s {
        [0, 0, 0, 0, 0, 0xffff, _, _] => Some(tail()),
        // `::` and `::1` are themselves, not 0.0.0.0 and 0.0.0.1.
        [0, 0, 0, 0, 0, 0, _, _] if !ip.is_unspecified() && !ip.is_loopback() => Some(tail()),
        [0x64, 0xff9b, 0, 0, 0, 0, _, _] => Some(tail()),
        [0x64, 0xff9b, 1, ..] => Some(tail()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn class(ip: &str) -> Option<Refused> {
        classify(ip.parse().unwrap())
    }

    #[test]
    fn every_refused_ipv4_range_and_its_edges() {
        for (ip, expected) in [
            ("0.0.0.0", Refused::Unspecified),
            ("0.1.2.3", Refused::ThisNetwork),
            ("0.255.255.255", Refused::ThisNetwork),
            ("127.0.0.1", Refused::Loopback),
            ("127.255.255.254", Refused::Loopback),
            ("10.0.0.1", Refused::Private),
            ("10.255.255.255", Refused::Private),
            ("172.16.0.1", Refused::Private),
            ("172.31.255.255", Refused::Private),
            ("192.168.0.1", Refused::Private),
            ("192.168.255.255", Refused::Private),
            ("100.64.0.1", Refused::Shared),
            ("100.127.255.255", Refused::Shared),
            ("169.254.0.1", Refused::LinkLocal),
            ("169.254.169.254", Refused::CloudMetadata),
            ("169.254.255.255", Refused::LinkLocal),
            ("192.0.2.1", Refused::Documentation),
            ("198.51.100.7", Refused::Documentation),
            ("203.0.113.200", Refused::Documentation),
            ("198.18.0.1", Refused::Benchmark),
            ("198.19.255.255", Refused::Benchmark),
            ("192.0.0.8", Refused::Reserved),
            ("224.0.0.1", Refused::Multicast),
            ("239.255.255.250", Refused::Multicast),
            ("240.0.0.1", Refused::Reserved),
            ("255.255.255.254", Refused::Reserved),
            ("255.255.255.255", Refused::Broadcast),
        ] {
            assert_eq!(class(ip), Some(expected), "{ip}");
        }
        for public in [
            "1.1.1.1",
            "8.8.8.8",
            "9.255.255.255",
            "11.0.0.1",
            "100.63.255.255",
            "100.128.0.0",
            "126.255.255.255",
            "128.0.0.1",
            "169.253.255.255",
            "169.255.0.0",
            "172.15.255.255",
            "172.32.0.0",
            "192.0.3.1",
            "192.167.255.255",
            "192.169.0.0",
            "198.17.255.255",
            "198.20.0.0",
            "198.51.101.1",
            "203.0.114.1",
            "223.255.255.255",
        ] {
            assert_eq!(class(public), None, "{public}");
        }
    }

    #[test]
    fn every_refused_ipv6_range() {
        for (ip, expected) in [
            ("::", Refused::Unspecified),
            ("::1", Refused::Loopback),
            ("fe80::1", Refused::LinkLocal),
            ("febf:ffff::1", Refused::LinkLocal),
            ("fc00::1", Refused::UniqueLocal),
            ("fd12:3456::1", Refused::UniqueLocal),
            ("fd00:ec2::254", Refused::CloudMetadata),
            ("ff02::1", Refused::Multicast),
            ("2001:db8::1", Refused::Documentation),
            ("2001:2::1", Refused::Benchmark),
            ("100::1", Refused::Reserved),
            ("fec0::1", Refused::Reserved),
        ] {
            assert_eq!(class(ip), Some(expected), "{ip}");
        }
        for public in ["2606:4700::1111", "2a00:1450:4001::200e", "2001:4860::8888"] {
            assert_eq!(class(public), None, "{public}");
        }
    }

    #[test]
    fn ipv4_in_ipv6_clothing_is_judged_as_the_ipv4_address() {
        for (ip, expected) in [
            ("::ffff:127.0.0.1", Some(Refused::Loopback)),
            ("::ffff:10.0.0.1", Some(Refused::Private)),
            ("::ffff:169.254.169.254", Some(Refused::CloudMetadata)),
            ("::ffff:0.0.0.0", Some(Refused::Unspecified)),
            ("::ffff:192.168.1.1", Some(Refused::Private)),
            ("::ffff:100.64.0.1", Some(Refused::Shared)),
            ("::ffff:224.0.0.1", Some(Refused::Multicast)),
            ("::ffff:198.18.0.1", Some(Refused::Benchmark)),
            ("::ffff:192.0.2.1", Some(Refused::Documentation)),
            ("::127.0.0.1", Some(Refused::Loopback)),
            ("::10.1.2.3", Some(Refused::Private)),
            ("::169.254.169.254", Some(Refused::CloudMetadata)),
            ("64:ff9b::127.0.0.1", Some(Refused::Loopback)),
            ("64:ff9b::a9fe:a9fe", Some(Refused::CloudMetadata)),
            ("64:ff9b:1::10.0.0.1", Some(Refused::Private)),
            ("::ffff:8.8.8.8", None),
            ("64:ff9b::8.8.8.8", None),
        ] {
            assert_eq!(class(ip), expected, "{ip}");
        }
    }

    #[test]
    fn allowing_private_targets_never_allows_link_local_metadata_or_unspecified() {
        for ip in [
            "127.0.0.1",
            "::1",
            "10.0.0.1",
            "172.16.5.4",
            "192.168.1.1",
            "100.64.0.1",
            "fd12::1",
            "::ffff:127.0.0.1",
        ] {
            let ip: IpAddr = ip.parse().unwrap();
            assert!(check(ip, false).is_err(), "{ip} refused by default");
            assert_eq!(check(ip, true), Ok(()), "{ip} allowed with the flag");
        }
        for ip in [
            "169.254.169.254",
            "169.254.1.1",
            "fe80::1",
            "fd00:ec2::254",
            "0.0.0.0",
            "::",
            "::ffff:169.254.169.254",
            "224.0.0.1",
            "192.0.2.1",
        ] {
            let ip: IpAddr = ip.parse().unwrap();
            assert!(check(ip, true).is_err(), "{ip} refused even with the flag");
        }
        assert_eq!(check("8.8.8.8".parse().unwrap(), false), Ok(()));
    }
}
