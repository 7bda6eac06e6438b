//! A cap on new Microsoft presentation requests per verification link. Each request
//! is a call to Microsoft charged to the shared app registration's throttling budget,
//! so one link (reloaded, scripted, or shared around) may not spend it for everyone.

use uuid::Uuid;

use crate::rate_limit::{Limiter, Rate, RateLimitSettings, TooMany};

pub struct PresentationThrottle {
    per_link: Limiter<Uuid>,
}

impl PresentationThrottle {
    pub fn new(rate: Rate) -> Self {
        PresentationThrottle {
            per_link: Limiter::new(rate),
        }
    }

    /// Counts one new presentation request for the verification `id`.
    pub fn check(&self, id: Uuid) -> Result<(), TooMany> {
        self.per_link.check(&id)
    }
}

impl Default for PresentationThrottle {
    fn default() -> Self {
        Self::new(RateLimitSettings::default().presentations_per_link)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_link_has_its_own_allowance() {
        let throttle = PresentationThrottle::new(Rate::parse("2/min").unwrap());
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        assert!(throttle.check(a).is_ok());
        assert!(throttle.check(a).is_ok());
        assert!(throttle.check(a).is_err());
        assert!(throttle.check(b).is_ok());
    }
}
