//! The server binary: settings → `Application::build` → serve until SIGTERM.
//! A start that cannot go on says why in one line on stderr and exits non-zero
//! (2 for a configuration problem, 1 for anything else), without a backtrace.

#![recursion_limit = "256"]

use std::process::ExitCode;

use server::{Application, telemetry};
use traceless::config;

#[tokio::main]
async fn main() -> ExitCode {
    // Everything is read and checked before anything binds.
    let settings = match config::load() {
        Ok(settings) => settings,
        Err(error) => return refuse(&error.to_string(), 2),
    };
    if let Err(error) = telemetry::init(&settings.log_filter, settings.log_json) {
        return refuse(&error.to_string(), 2);
    }
    let served = async {
        Application::build(settings)
            .await?
            .run_until_stopped()
            .await
    };
    match served.await {
        Ok(()) => ExitCode::SUCCESS,
        // Provider mode whose own authority is not ready: a settings problem (issue 17).
        Err(error)
            if error
                .downcast_ref::<server::microsoft::ProviderNotReady>()
                .is_some() =>
        {
            refuse(&error.to_string(), 2)
        }
        Err(error) => {
            tracing::error!(error = format!("{error:#}"), "stopped on an error");
            refuse(&format!("{error:#}"), 1)
        }
    }
}

/// One line for the operator: what is wrong, and (for settings) which variable.
fn refuse(message: &str, code: u8) -> ExitCode {
    eprintln!("traceless: {}", message.replace(['\n', '\r'], " "));
    ExitCode::from(code)
}
