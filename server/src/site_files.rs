//! The compiled site's files (wasm, JavaScript, icon), served from `LEPTOS_SITE_ROOT`.

/// The compiled site and public files: the same for everyone, fine to cache, and nothing a
/// session needs to know about.
pub fn is_static_asset(path: &str) -> bool {
    path.starts_with("/pkg/") || path == "/favicon.svg"
}
