//! What the server knows about its own paths: the compiled site's files (wasm, JavaScript,
//! icon, served from `LEPTOS_SITE_ROOT`), and the links that carry a secret.

/// The compiled site and public files: the same for everyone, fine to cache, and nothing a
/// session needs to know about.
pub fn is_static_asset(path: &str) -> bool {
    path.starts_with("/pkg/") || path == "/favicon.svg"
}

/// Paths whose segment after the prefix is a secret that works as a credential (the person's
/// verification link, invites, password resets, email confirmations): blanked in the request
/// log and never sent on as a Referer.
pub const SECRET_LINK_PREFIXES: &[&str] = &[
    "/verify/",
    "/invite/",
    "/reset-password/",
    "/confirm-email/",
];
