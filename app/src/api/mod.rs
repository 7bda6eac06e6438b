//! Server functions: what our own pages ask the server to do. Each checks who is
//! asking before it reads or changes anything.

pub mod audit;
pub mod auth;
pub mod email_ownership;
pub mod integrations;
pub mod invite;
pub mod mailbox;
pub mod microsoft_sign_in;
pub mod password;
pub mod recovery;
pub mod sessions;
pub mod team;
pub mod tickets;
pub mod tools;
pub mod two_step;
pub mod two_step_reset;
pub mod verifications;

#[cfg(feature = "ssr")]
pub(crate) mod convert;
