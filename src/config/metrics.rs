//! Where the metrics are served (`TRACELESS_METRICS_ADDR`): an address of its own, so
//! `/metrics` is never on the public listener. Unset: no metrics at all.

use std::net::SocketAddr;

use super::error::ConfigError;
use super::values::parse_addr;

pub(super) fn parse(
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<SocketAddr>, ConfigError> {
    lookup("TRACELESS_METRICS_ADDR")
        .map(|value| parse_addr("TRACELESS_METRICS_ADDR", value))
        .transpose()
}
