//! `AppError`: the one error type server functions return. It crosses the wire, so it
//! carries only what a person may see: a message that says what to do next. On the server,
//! `from_domain` is the one map from the core's errors to it, and `response` its HTTP answer
//! on plain routes.

#[cfg(feature = "ssr")]
mod from_domain;
#[cfg(feature = "ssr")]
mod response;

#[cfg(feature = "ssr")]
pub use from_domain::{EXPIRED_LINK, ForRecipient};

use leptos::prelude::{FromServerFnError, ServerFnErrorErr};
use leptos::server_fn::codec::JsonEncoding;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    /// Bad input: nothing was changed. `field` names the form field it belongs beside.
    #[error("{message}")]
    Invalid {
        field: Option<String>,
        message: String,
    },
    #[error("Your session has ended. Sign in to continue.")]
    Unauthenticated,
    #[error("{0}")]
    Forbidden(String),
    /// Signed in, but the account's address is not confirmed yet: nothing of the
    /// organization's is shown or changed until it is.
    #[error(
        "Confirm your email address first: we sent a link to {email}. Open it, then try again. No mail? Choose \"Send the link again\" at the top of the page."
    )]
    EmailUnconfirmed { email: String },
    #[error("{0}")]
    NotFound(String),
    /// A link that no longer works (expired, used, revoked or unknown).
    #[error("{0}")]
    Gone(String),
    #[error("This request came from another site and was refused. Reload the page and try again.")]
    CrossSite,
    /// Rate limited: `message` says when to try again (the core's words), and the
    /// response carries the same wait in `Retry-After`.
    #[error("{message}")]
    TooManyRequests {
        message: String,
        retry_after_secs: u64,
    },
    #[error("Something went wrong on our side. Try again in a moment.")]
    Internal,
    /// A service we depend on (Microsoft) is not answering or refused; says who and what
    /// to do. With `retry_after_secs`, the page tries again by itself after that long.
    #[error("{message}")]
    Upstream {
        message: String,
        retry_after_secs: Option<u32>,
    },
    /// The request never reached us or the answer could not be read.
    #[error("Could not reach Traceless. Check your connection and try again.")]
    Transport(String),
}

impl AppError {
    pub fn invalid(field: Option<&str>, message: impl Into<String>) -> Self {
        AppError::Invalid {
            field: field.map(str::to_owned),
            message: message.into(),
        }
    }

    /// The message for a given form field, if this error belongs to it.
    pub fn for_field(&self, name: &str) -> Option<String> {
        match self {
            AppError::Invalid {
                field: Some(field),
                message,
            } if field == name => Some(message.clone()),
            _ => None,
        }
    }

    /// Whether this error is shown next to a field rather than above the form.
    pub fn has_field(&self) -> bool {
        matches!(self, AppError::Invalid { field: Some(_), .. })
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            ServerFnErrorErr::Args(_) | ServerFnErrorErr::MissingArg(_) => AppError::invalid(
                None,
                "Some of the form's fields are missing. Reload the page and try again.",
            ),
            other => AppError::Transport(other.to_string()),
        }
    }
}

impl AppError {
    /// The HTTP status this error is sent with.
    pub fn status(&self) -> u16 {
        match self {
            AppError::Invalid { .. } => 422,
            AppError::Unauthenticated => 401,
            AppError::Forbidden(_) | AppError::EmailUnconfirmed { .. } | AppError::CrossSite => 403,
            AppError::NotFound(_) => 404,
            AppError::Gone(_) => 410,
            AppError::TooManyRequests { .. } => 429,
            AppError::Internal | AppError::Transport(_) => 500,
            AppError::Upstream {
                retry_after_secs: Some(_),
                ..
            } => 503,
            AppError::Upstream { .. } => 502,
        }
    }
}
