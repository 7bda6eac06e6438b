//! Small building blocks shared by the pages.

mod confirm_banner;
mod copy_button;
mod error_view;
mod form;
mod layout;
mod live;
mod status_pill;

pub use confirm_banner::{ConfirmBanner, ResendConfirmation};
pub use copy_button::CopyButton;
pub use error_view::ErrorView;
pub use form::{Alert, Field, FormAlert, PasswordField, SubmitButton, field_error};
pub use layout::{CurrentUser, Footer, Header};
#[cfg(feature = "hydrate")]
pub use live::now_ms;
pub use live::{refresh_on_events, use_event_stream};
pub use status_pill::StatusPill;
