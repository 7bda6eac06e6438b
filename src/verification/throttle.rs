//! A cap on new Microsoft presentation requests per verification link. Each request
//! is a call to Microsoft charged to the shared app registration's throttling budget,
//! so one link (reloaded, scripted, or shared around) may not spend it for everyone.
//! Counted in the database on PostgreSQL, so two instances do not allow twice the cap.

use uuid::Uuid;

use crate::db::Pool;
use crate::rate_limit::{Limiter, Rate, RateLimitSettings, TooMany};
use crate::shared_limits::{Allowance, Door};

pub struct PresentationThrottle {
    per_link: Allowance<Uuid>,
}

impl PresentationThrottle {
    pub fn new(rate: Rate, pool: &Pool) -> Self {
        PresentationThrottle {
            per_link: Allowance::new(rate, Door::PresentationsPerLink, pool),
        }
    }

    /// Counts one new presentation request for the verification `id`.
    pub async fn check(&self, id: Uuid) -> Result<(), TooMany> {
        self.per_link
            .check(&id)
            .await
            .inspect_err(|_| crate::observe::rate_limited("presentations per link"))
    }
}

impl Default for PresentationThrottle {
    /// The default cap, in process (until `Verifier::with_presentation_limit` says where).
    fn default() -> Self {
        PresentationThrottle {
            per_link: Allowance::Process(Limiter::new(
                RateLimitSettings::default().presentations_per_link,
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn each_link_has_its_own_allowance() {
        let throttle = PresentationThrottle {
            per_link: Allowance::Process(Limiter::new(Rate::parse("2/min").unwrap())),
        };
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        assert!(throttle.check(a).await.is_ok());
        assert!(throttle.check(a).await.is_ok());
        assert!(throttle.check(a).await.is_err());
        assert!(throttle.check(b).await.is_ok());
    }
}
