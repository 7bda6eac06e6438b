//! The Traceless server: configuration in, a running axum application out.
//! `main` is three lines; tests call the same `Application::build` on port 0.

mod cross_site;
pub mod microsoft;
mod routes;
pub mod startup;
pub mod telemetry;

pub use startup::Application;
