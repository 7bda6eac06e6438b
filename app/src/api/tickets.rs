//! Tickets: agents find them by reference and follow their verifications and timeline.
//! Organization-scoped: another organization's ticket is simply not found.

use leptos::prelude::*;

use crate::error::AppError;
use crate::model::{TicketDetail, TicketSummary};

#[cfg(feature = "ssr")]
use {
    super::convert,
    crate::model::TicketEntry,
    crate::ssr,
    traceless::tickets::{self, TicketId, TimelineEntry},
};

pub const TICKET_NOT_FOUND: &str = "That ticket was not found in your organization.";

/// The organization's tickets whose reference starts with `search` (all when empty).
#[server(endpoint = "tickets")]
pub async fn find_tickets(
    #[server(default)] search: String,
) -> Result<Vec<TicketSummary>, AppError> {
    ssr::respond(
        async {
            let user = ssr::require_user().await?;
            let search = search.trim();
            let found = tickets::find(
                &ssr::pool()?,
                user.organization_id,
                (!search.is_empty()).then_some(search),
                100,
            )
            .await?;
            Ok(found
                .into_iter()
                .map(|t| TicketSummary {
                    id: t.id.to_string(),
                    reference: t.reference,
                    subject: t.subject,
                    source: t.source,
                    updated: convert::when(t.updated_at),
                })
                .collect())
        }
        .await,
    )
}

#[server(endpoint = "ticket_overview")]
pub async fn ticket_overview(id: String) -> Result<TicketDetail, AppError> {
    ssr::respond(
        async {
            let user = ssr::require_user().await?;
            let state = ssr::state()?;
            let id = parse_ticket_id(&id)?;
            let ticket = tickets::get(&state.pool, user.organization_id, id)
                .await?
                .ok_or_else(|| AppError::NotFound(TICKET_NOT_FOUND.into()))?;
            let verifications = state.verifier.of_ticket(user.organization_id, id).await?;
            let timeline = tickets::timeline(&state.pool, user.organization_id, id, 0).await?;
            Ok(TicketDetail {
                id: ticket.id.to_string(),
                reference: ticket.reference,
                subject: ticket.subject,
                requester_email: ticket.requester_email,
                source: ticket.source,
                created: convert::when(ticket.created_at),
                verifications: verifications
                    .into_iter()
                    .map(super::verifications::summary)
                    .collect(),
                timeline: timeline.into_iter().map(entry).collect(),
            })
        }
        .await,
    )
}

/// A timeline entry on the wire (the page and the live stream).
#[cfg(feature = "ssr")]
pub fn entry(e: TimelineEntry) -> TicketEntry {
    TicketEntry {
        id: e.id,
        kind: e.kind.as_str().to_owned(),
        label: e.kind.label().to_owned(),
        actor: e.actor,
        detail: e.detail,
        verification_id: e.verification_id.map(|v| v.to_string()),
        at: convert::when_precise(e.at),
    }
}

#[cfg(feature = "ssr")]
pub fn parse_ticket_id(id: &str) -> Result<TicketId, AppError> {
    id.parse()
        .map(TicketId)
        .map_err(|_| AppError::NotFound(TICKET_NOT_FOUND.into()))
}
