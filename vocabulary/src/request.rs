//! The states of a Microsoft presentation request (one QR code) behind a verification.

words! {
    /// `pending → retrieved → presented | failed`.
    pub enum RequestState("request state") {
        /// Shown, not yet scanned.
        Pending => "pending",
        /// Authenticator fetched it.
        Retrieved => "retrieved",
        /// Microsoft sent its verdict on a credential.
        Presented => "presented",
        /// Microsoft reported an error.
        Failed => "failed",
    }
}

impl RequestState {
    /// Microsoft has answered it: a later callback about it is late.
    pub fn is_done(self) -> bool {
        match self {
            RequestState::Presented | RequestState::Failed => true,
            RequestState::Pending | RequestState::Retrieved => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_state_round_trips_through_its_spelling_and_json() {
        for state in RequestState::ALL {
            assert_eq!(state.as_str().parse(), Ok(state));
            let json = serde_json::to_string(&state).unwrap();
            assert_eq!(serde_json::from_str::<RequestState>(&json).unwrap(), state);
        }
        assert!("bogus".parse::<RequestState>().is_err());
    }
}
