//! Logging setup, done once per process. Logs never carry tokens, links or secrets:
//! the code logs ids, and request URIs are logged without their query strings.

use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// A log filter that `tracing` cannot read: the start stops rather than log at a level
/// nobody asked for.
#[derive(Debug, thiserror::Error)]
#[error("TRACELESS_LOG={filter:?} is not a valid log filter ({source}): try info,traceless=debug")]
pub struct BadFilter {
    filter: String,
    source: tracing_subscriber::filter::ParseError,
}

pub fn init(filter: &str, json: bool) -> Result<(), BadFilter> {
    let filter = EnvFilter::try_new(filter).map_err(|source| BadFilter {
        filter: filter.to_owned(),
        source,
    })?;
    let registry = tracing_subscriber::registry().with(filter);
    // A second init (several tests in one process) is harmless: keep the first.
    let _ = if json {
        registry
            .with(tracing_subscriber::fmt::layer().json().flatten_event(true))
            .try_init()
    } else {
        registry.with(tracing_subscriber::fmt::layer()).try_init()
    };
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::init;

    #[test]
    fn a_bad_log_filter_is_refused_in_one_line_naming_the_variable() {
        let error = init("info,traceless=loud", false).unwrap_err().to_string();
        assert!(
            error.starts_with("TRACELESS_LOG=\"info,traceless=loud\""),
            "{error}"
        );
        assert!(!error.contains('\n'), "{error}");
    }
}
