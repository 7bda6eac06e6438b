//! What open pages hear: after an event or a ticket's timeline entry commits, its topic's
//! subscribers are woken and re-read what is new from the database. In-process fan-out
//! ([`InProcess`]) on one machine; PostgreSQL `LISTEN/NOTIFY` ([`postgres::PostgresRelay`])
//! between instances.

pub mod postgres;
mod relay;

pub use relay::{Announcement, Fanout, InProcess, Publisher, Subscription};

/// What a live stream follows, by id: one verification's events, or one ticket's timeline
/// (a ticket's stream is keyed by the ticket's id). The relay does not care which.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Topic(pub uuid::Uuid);
