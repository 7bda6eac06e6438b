//! The states of something sent on the organization's behalf and retried until it arrives:
//! a mail in the outbox, a webhook delivery.

words! {
    /// `pending → delivered | failed`.
    pub enum DeliveryState("delivery state") {
        Pending => "pending",
        Delivered => "delivered",
        /// Retried for the whole window without success.
        Failed => "failed",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_state_round_trips_through_its_spelling_and_json() {
        for state in DeliveryState::ALL {
            assert_eq!(state.as_str().parse(), Ok(state));
            let json = serde_json::to_string(&state).unwrap();
            assert_eq!(serde_json::from_str::<DeliveryState>(&json).unwrap(), state);
        }
        assert!("bogus".parse::<DeliveryState>().is_err());
    }
}
