//! The Traceless server: configuration in, a running axum application out.
//! `main` is three lines; tests call the same `Application::build` on port 0.

// Leptos view types nest deeply; the app's larger pages exceed the default limit.
#![recursion_limit = "256"]

pub mod api_v1;
mod cross_site;
mod forwarded;
pub mod metrics;
pub mod microsoft;
mod rate_limit;
mod routes;
pub mod security_headers;
mod sessions;
pub mod shutdown;
mod site_files;
pub mod startup;
pub mod telemetry;

pub use startup::Application;
