//! The organization's audit log, for its administrators: newest first, filtered by kind and
//! by person, a page at a time.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;
use crate::model::AuditEntry;

#[cfg(feature = "ssr")]
use {super::convert, crate::ssr, traceless::accounts::UserId, traceless::audit};

/// Entries per page.
pub const PAGE_SIZE: i64 = 100;

/// One choice of a filter: the value sent back, and the words shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Choice {
    pub value: String,
    pub label: String,
}

/// The choices of the audit page's filters: the kinds and the people in this log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditFilterChoices {
    pub kinds: Vec<Choice>,
    pub people: Vec<Choice>,
}

/// Up to [`PAGE_SIZE`] entries, newest first: of one kind (`kind`, as stored), by one person
/// (`person`, their id), older than the entry `before`. Empty filters match everything.
#[server(endpoint = "audit_log")]
pub async fn audit_log(
    #[server(default)] kind: String,
    #[server(default)] person: String,
    #[server(default)] before: String,
) -> Result<Vec<AuditEntry>, AppError> {
    ssr::respond(
        async {
            let admin = ssr::require_admin().await?;
            let bad = |field: &str| {
                AppError::invalid(
                    Some(field),
                    "That filter is not valid. Clear the filters and try again.",
                )
            };
            let filter = audit::Filter {
                action: (!kind.trim().is_empty()).then(|| kind.trim().to_owned()),
                actor: match person.trim() {
                    "" => None,
                    id => Some(UserId(id.parse().map_err(|_| bad("person"))?)),
                },
                before: match before.trim() {
                    "" => None,
                    id => Some(id.parse().map_err(|_| bad("before"))?),
                },
            };
            let entries =
                audit::page(&ssr::pool()?, admin.organization_id, &filter, PAGE_SIZE).await?;
            Ok(entries
                .into_iter()
                .map(|e| AuditEntry {
                    id: e.id,
                    at: convert::when(e.created_at),
                    actor: e.actor_name,
                    action: audit::Action::describe(&e.action).to_owned(),
                    detail: e.detail,
                    client: e.client_address,
                })
                .collect())
        }
        .await,
    )
}

#[server(endpoint = "audit_filters")]
pub async fn audit_filters() -> Result<AuditFilterChoices, AppError> {
    ssr::respond(
        async {
            let admin = ssr::require_admin().await?;
            let (kinds, people) = audit::facets(&ssr::pool()?, admin.organization_id).await?;
            Ok(AuditFilterChoices {
                kinds: kinds
                    .into_iter()
                    .map(|kind| Choice {
                        label: audit::Action::describe(&kind).to_owned(),
                        value: kind,
                    })
                    .collect(),
                people: people
                    .into_iter()
                    .map(|(id, name)| Choice {
                        value: id.to_string(),
                        label: name,
                    })
                    .collect(),
            })
        }
        .await,
    )
}

/// Logs what a person did from their browser (with its address), after the change succeeded.
#[cfg(feature = "ssr")]
pub(crate) async fn record(
    actor: &traceless::accounts::User,
    action: audit::Action,
    detail: &str,
) -> Result<(), AppError> {
    let mut conn = ssr::pool()?.acquire().await?;
    audit::record_from(
        &mut conn,
        actor.organization_id,
        Some(actor),
        action,
        detail,
        ssr::client_address().await,
    )
    .await?;
    Ok(())
}
