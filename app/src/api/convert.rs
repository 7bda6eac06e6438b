//! Domain values to their wire views.

use time::OffsetDateTime;
use time::macros::format_description;
use traceless::accounts;

use crate::model::Role;

pub fn role(role: accounts::Role) -> Role {
    match role {
        accounts::Role::Admin => Role::Admin,
        accounts::Role::Agent => Role::Agent,
    }
}

pub fn domain_role(role: Role) -> accounts::Role {
    match role {
        Role::Admin => accounts::Role::Admin,
        Role::Agent => accounts::Role::Agent,
    }
}

/// "27 Nov 2026, 17:05 UTC": unambiguous for readers anywhere.
pub fn when(at: OffsetDateTime) -> String {
    at.format(format_description!(
        "[day padding:none] [month repr:short] [year], [hour]:[minute] UTC"
    ))
    .unwrap_or_else(|_| at.to_string())
}

/// "17:05:09 UTC" for today's timeline entries, the full date otherwise.
pub fn when_precise(at: OffsetDateTime) -> String {
    if at.date() == OffsetDateTime::now_utc().date() {
        at.format(format_description!("[hour]:[minute]:[second] UTC"))
            .unwrap_or_else(|_| at.to_string())
    } else {
        when(at)
    }
}
