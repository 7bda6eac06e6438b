//! The organization's recovery policy: how long a pass lasts, whether it works for one
//! sign-in only, and whether holders of a directory role are refused.

use crate::microsoft::{PassLifetime, PassRequest};

/// The shortest pass Traceless asks for (Microsoft's own minimum).
pub const LIFETIME_MIN_MINUTES: u32 = 10;
/// The longest: a working day. Microsoft allows up to 30 days; a help desk's pass is meant to
/// be used now.
pub const LIFETIME_MAX_MINUTES: u32 = 480;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    lifetime_minutes: u32,
    /// One sign-in only.
    pub one_time: bool,
    /// Never recover a member of any directory role this way (checked in Graph first).
    pub refuse_privileged: bool,
}

impl Default for Policy {
    /// 60 minutes, one-time, privileged accounts refused.
    fn default() -> Self {
        Policy {
            lifetime_minutes: 60,
            one_time: true,
            refuse_privileged: true,
        }
    }
}

impl Policy {
    /// `None` when the lifetime is outside 10–480 minutes.
    pub fn new(lifetime_minutes: u32, one_time: bool, refuse_privileged: bool) -> Option<Policy> {
        (LIFETIME_MIN_MINUTES..=LIFETIME_MAX_MINUTES)
            .contains(&lifetime_minutes)
            .then_some(Policy {
                lifetime_minutes,
                one_time,
                refuse_privileged,
            })
    }

    pub fn lifetime_minutes(&self) -> u32 {
        self.lifetime_minutes
    }

    /// What to ask Microsoft for.
    pub fn pass_request(&self) -> PassRequest {
        PassRequest {
            lifetime: PassLifetime::minutes(self.lifetime_minutes)
                .expect("10–480 minutes are within Graph's bounds"),
            one_time: self.one_time,
        }
    }

    /// For the audit log.
    pub fn describe(&self) -> String {
        format!(
            "{} minutes, {}, {}",
            self.lifetime_minutes,
            if self.one_time {
                "one sign-in"
            } else {
                "until it expires"
            },
            if self.refuse_privileged {
                "directory roles refused"
            } else {
                "directory roles allowed"
            }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lifetime_stays_from_10_to_480_minutes() {
        assert!(Policy::new(9, true, true).is_none());
        assert!(Policy::new(481, true, true).is_none());
        assert_eq!(Policy::new(10, true, true).unwrap().lifetime_minutes(), 10);
        assert_eq!(
            Policy::new(480, false, false).unwrap().lifetime_minutes(),
            480
        );
    }

    #[test]
    fn the_default_is_an_hour_once_and_never_a_privileged_account() {
        let p = Policy::default();
        assert_eq!(
            (p.lifetime_minutes(), p.one_time, p.refuse_privileged),
            (60, true, true)
        );
    }
}
