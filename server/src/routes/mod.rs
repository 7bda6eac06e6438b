//! Plain axum routes: what browsers' own machinery, Microsoft and tools call.

pub mod health;
pub mod microsoft_connect;
