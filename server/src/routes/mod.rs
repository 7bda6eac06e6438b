//! Plain axum routes: what browsers' own machinery, Microsoft and tools call.

pub mod events;
pub mod health;
pub mod link_status;
pub mod microsoft_connect;
pub mod microsoft_sign_in;
pub mod recovery_consent;
pub mod stream_slots;
pub mod verified_id_callback;
