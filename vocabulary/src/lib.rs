//! The words Traceless and its pages share: a verification's status, why it failed (with the
//! person's and the agent's words), the kinds of events in its history, and the states of
//! Microsoft's requests behind it. Each has one spelling (`as_str`/`Display`, `FromStr`, serde),
//! the same in the database, the JSON and the browser: this crate is compiled into the core
//! and into the wasm, so neither holds a copy. Also the delivery states of mail and webhooks.
//!
//! Adding a failure reason is one variant in [`FailureReason`] plus its two sentences; the
//! compiler then points at every `match` that must decide what it means, and the tests at the
//! migration that must let the database store it.

#[macro_use]
mod words;
mod delivery;
mod event;
mod reason;
mod request;
mod status;

pub use delivery::DeliveryState;
pub use event::EventKind;
pub use reason::FailureReason;
pub use request::RequestState;
pub use status::{Status, StatusName};
pub use words::UnknownWord;
