//! Small building blocks shared by the pages.

mod copy_button;
mod form;
mod layout;

pub use copy_button::CopyButton;
pub use form::{Alert, Field, FormAlert, PasswordField, SubmitButton, field_error};
pub use layout::{CurrentUser, Footer, Header};
