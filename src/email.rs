//! `EmailAddress`: an email address that has been parsed and normalised.
//!
//! Normalisation (trim, lower-case, IDN domain to its ASCII form) happens once here,
//! so every comparison elsewhere is a plain string equality.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EmailAddress(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Enter a valid email address, like name@example.com.")]
pub struct InvalidEmail;

impl EmailAddress {
    pub fn parse(input: &str) -> Result<Self, InvalidEmail> {
        let input = input.trim();
        if input.len() > 254 || input.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(InvalidEmail);
        }
        let (local, domain) = input.rsplit_once('@').ok_or(InvalidEmail)?;
        if local.is_empty()
            || local.len() > 64
            || local.contains('@')
            || local.starts_with('.')
            || local.ends_with('.')
            || local.contains("..")
            || local.chars().any(|c| "()<>[]\\,;:\"".contains(c))
        {
            return Err(InvalidEmail);
        }
        let domain = normalize_domain(domain).ok_or(InvalidEmail)?;
        Ok(Self(format!("{}@{}", local.to_lowercase(), domain)))
    }

    /// The key a limit counts `input` under, whether or not it is a valid address: its
    /// normal form when it parses, else trimmed and lower-cased, so that case and spacing
    /// open no new allowance. No address is longer than 320 characters; a longer input is
    /// not kept whole.
    pub fn limit_key(input: &str) -> String {
        Self::parse(input)
            .map(|e| e.to_string())
            .unwrap_or_else(|_| {
                input
                    .trim()
                    .chars()
                    .take(320)
                    .collect::<String>()
                    .to_lowercase()
            })
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The part after `@`, in its ASCII (punycode) form.
    pub fn domain(&self) -> &str {
        self.0.rsplit_once('@').map(|(_, d)| d).unwrap_or_default()
    }

    pub fn local_part(&self) -> &str {
        self.0.rsplit_once('@').map(|(l, _)| l).unwrap_or_default()
    }
}

/// Lower-cases a domain and converts an internationalised name to ASCII; `None` when it
/// is not a usable mail domain (needs a dot, no empty labels, no leading/trailing hyphens).
pub fn normalize_domain(domain: &str) -> Option<String> {
    let ascii = idna::domain_to_ascii(domain.trim().trim_end_matches('.')).ok()?;
    if ascii.len() > 253 || !ascii.contains('.') {
        return None;
    }
    let labels_ok = ascii.split('.').all(|label| {
        !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    });
    labels_ok.then_some(ascii)
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for EmailAddress {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_case_and_whitespace() {
        let email = EmailAddress::parse("  Megan.Bowen@Contoso.COM ").unwrap();
        assert_eq!(email.as_str(), "megan.bowen@contoso.com");
        assert_eq!(email.domain(), "contoso.com");
        assert_eq!(email.local_part(), "megan.bowen");
    }

    #[test]
    fn converts_internationalised_domains_to_ascii() {
        let email = EmailAddress::parse("anna@bücher.example").unwrap();
        assert_eq!(email.domain(), "xn--bcher-kva.example");
        assert_eq!(
            EmailAddress::parse("anna@xn--bcher-kva.example").unwrap(),
            email
        );
    }

    #[test]
    fn accepts_plus_and_subdomains() {
        assert!(EmailAddress::parse("a+help@eu.mail.contoso.com").is_ok());
    }

    #[test]
    fn rejects_malformed_addresses() {
        for bad in [
            "",
            "no-at-sign",
            "@contoso.com",
            "megan@",
            "megan@localhost",
            "megan@contoso..com",
            "megan@-contoso.com",
            "me gan@contoso.com",
            ".megan@contoso.com",
            "meg..an@contoso.com",
            "megan@conto\nso.com",
            "a@b@contoso.com",
            "<megan>@contoso.com",
        ] {
            assert_eq!(EmailAddress::parse(bad), Err(InvalidEmail), "{bad:?}");
        }
    }
}
