//! The one error type of the settings: each section's file builds its own messages with
//! it, naming the variable and what is wrong.

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{name}={value:?} is not valid: {reason}")]
    Invalid {
        name: &'static str,
        value: String,
        reason: String,
    },
    #[error("{present} is set but {missing} is not: set both to use a real Microsoft tenant")]
    Incomplete {
        present: &'static str,
        missing: &'static str,
    },
    #[error("{name} is not set: {reason}")]
    Missing {
        name: &'static str,
        reason: &'static str,
    },
    #[error(
        "TRACELESS_MS_CLIENT_ID and TRACELESS_MS_CLIENT_SECRET are not set: set them to talk to Microsoft, or set TRACELESS_MS_EMULATOR=true to run the built-in Microsoft emulator (demo tenants only)"
    )]
    NoMicrosoft,
    #[error("{name}: {reason}")]
    Unusable { name: &'static str, reason: String },
}
