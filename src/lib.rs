//! Traceless domain core: accounts, organizations, configuration and storage.
//!
//! No Leptos here: the `app` crate uses this only under its `ssr` feature and the
//! `server` binary uses it directly, so none of it is ever compiled to wasm.

pub mod accounts;
pub mod api_keys;
pub mod audit;
pub mod config;
/// `traceless::capacity` is where the server found these settings before `config` was split.
pub use config::capacity;
pub mod db;
pub mod email;
pub mod integrations;
pub mod live;
pub mod mail;
pub mod mfa;
pub mod microsoft;
pub mod observe;
pub mod password;
pub mod qr;
pub mod rate_limit;
pub mod reactions;
pub mod recovery;
pub mod retention;
pub mod secret;
pub mod shared_limits;
pub mod sign_in_log;
pub mod tickets;
pub mod verification;
pub mod webhooks;
