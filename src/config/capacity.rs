//! How much the doors we hold open may hold at once: live event streams per client and
//! in all (`TRACELESS_MAX_STREAMS_PER_IP`, `TRACELESS_MAX_STREAMS`), and the bytes of
//! Microsoft callbacks being read at once (`TRACELESS_CALLBACK_MAX_INFLIGHT_MB`). Beyond
//! them a request is refused with `Retry-After` instead of exhausting file descriptors or
//! memory for every tenant.

use super::error::ConfigError;
use super::values::parse_ranged;

pub const MAX_STREAMS_PER_IP: &str = "TRACELESS_MAX_STREAMS_PER_IP";
pub const MAX_STREAMS: &str = "TRACELESS_MAX_STREAMS";
pub const CALLBACK_MAX_INFLIGHT_MB: &str = "TRACELESS_CALLBACK_MAX_INFLIGHT_MB";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CapacitySettings {
    /// Open streams from one client address (the person's page), or one signed-in
    /// session (the agent's verification and ticket pages). A person needs one or two;
    /// an office behind one address a few more.
    pub max_streams_per_client: u32,
    /// Open streams in this process, together: each holds a connection (a file
    /// descriptor), and the process may have 20 000 to 65 000 of them.
    pub max_streams: u32,
    /// Bytes of callback bodies being read at once, across all of Microsoft's callbacks:
    /// 25 bodies of the 10 MB Microsoft allows.
    pub callback_inflight_bytes: usize,
}

impl Default for CapacitySettings {
    fn default() -> Self {
        CapacitySettings {
            max_streams_per_client: 20,
            max_streams: 50_000,
            callback_inflight_bytes: 256 * 1024 * 1024,
        }
    }
}

impl CapacitySettings {
    pub fn from_lookup(lookup: &dyn Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let defaults = CapacitySettings::default();
        let read = |name: &'static str, range: std::ops::RangeInclusive<u64>, default: u64| {
            lookup(name).map_or(Ok(default), |value| {
                parse_ranged(name, value, range, "a whole number")
            })
        };
        let max_streams = read(MAX_STREAMS, 1..=1_000_000, u64::from(defaults.max_streams))?;
        let per_client = read(
            MAX_STREAMS_PER_IP,
            1..=max_streams,
            u64::from(defaults.max_streams_per_client).min(max_streams),
        )?;
        // At least one 10 MB callback must fit.
        let inflight_mb = read(
            CALLBACK_MAX_INFLIGHT_MB,
            11..=16 * 1024,
            (defaults.callback_inflight_bytes / (1024 * 1024)) as u64,
        )?;
        Ok(CapacitySettings {
            max_streams_per_client: per_client as u32,
            max_streams: max_streams as u32,
            callback_inflight_bytes: (inflight_mb * 1024 * 1024) as usize,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(vars: &[(&str, &str)]) -> Result<CapacitySettings, ConfigError> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        CapacitySettings::from_lookup(&|name: &str| {
            vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
        })
    }

    #[test]
    fn defaults_are_twenty_per_client_fifty_thousand_in_all_and_256_mb_of_callbacks() {
        let s = settings(&[]).unwrap();
        assert_eq!(s.max_streams_per_client, 20);
        assert_eq!(s.max_streams, 50_000);
        assert_eq!(s.callback_inflight_bytes, 256 * 1024 * 1024);
        let s = settings(&[
            (MAX_STREAMS_PER_IP, "20"),
            (MAX_STREAMS, "50000"),
            (CALLBACK_MAX_INFLIGHT_MB, "256"),
        ])
        .unwrap();
        assert_eq!(s, CapacitySettings::default());
    }

    #[test]
    fn bad_values_name_the_setting() {
        for (name, value) in [
            (MAX_STREAMS_PER_IP, "0"),
            (MAX_STREAMS_PER_IP, "many"),
            (MAX_STREAMS, "-1"),
            (CALLBACK_MAX_INFLIGHT_MB, "5"),
        ] {
            let error = settings(&[(name, value)]).unwrap_err().to_string();
            assert!(error.contains(name), "{error}");
        }
        let error = settings(&[(MAX_STREAMS, "10"), (MAX_STREAMS_PER_IP, "11")])
            .unwrap_err()
            .to_string();
        assert!(error.contains(MAX_STREAMS_PER_IP), "{error}");
    }
}
