//! Who started something: a signed-in teammate, or a tool of the organization through its
//! API key. Kept with the accounts so that whoever records an actor (API keys, verifications)
//! needs nothing above them.

use super::{OrganizationId, User, UserId};

/// Who starts a verification: a signed-in teammate, or a tool of the organization.
#[derive(Debug, Clone)]
pub struct Initiator {
    pub organization_id: OrganizationId,
    /// The teammate, who also gets the result by mail; `None` for a tool.
    pub user_id: Option<UserId>,
    /// Shown as "who asks": the teammate's name, or the tool's (its API key's) name.
    pub name: String,
    /// The ticket's source when this creates the ticket: "Traceless" or the tool's name.
    pub source: String,
}

impl Initiator {
    pub fn agent(user: &User) -> Self {
        Self {
            organization_id: user.organization_id,
            user_id: Some(user.id),
            name: user.display_name.clone(),
            source: "Traceless".into(),
        }
    }

    /// A help-desk tool, named by its API key.
    pub fn tool(organization_id: OrganizationId, name: &str) -> Self {
        Self {
            organization_id,
            user_id: None,
            name: name.to_owned(),
            source: name.to_owned(),
        }
    }
}
