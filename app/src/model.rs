//! Plain data that crosses between server functions and pages.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Role {
    Admin,
    Agent,
}

impl Role {
    pub fn label(self) -> &'static str {
        match self {
            Role::Admin => "Organization administrator",
            Role::Agent => "Agent",
        }
    }

    pub fn form_value(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Agent => "agent",
        }
    }
}

/// The signed-in person, for the header and the overview page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Me {
    pub name: String,
    pub email: String,
    pub role: Role,
    pub organization: String,
}

impl Me {
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Member {
    pub id: String,
    pub name: String,
    pub email: String,
    pub role: Role,
    pub is_you: bool,
    pub since: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PendingTeammate {
    pub id: String,
    pub name: String,
    pub email: String,
    pub role: Role,
    pub expires: String,
    pub expired: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Team {
    pub members: Vec<Member>,
    pub pending: Vec<PendingTeammate>,
}

/// A freshly made invite link: shown to the admin once, never stored in clear.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InviteLink {
    pub name: String,
    pub email: String,
    pub url: String,
    pub expires: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Invite {
    pub organization: String,
    pub name: String,
    pub email: String,
    pub role: Role,
}

/// The Microsoft Verified ID connection card.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MicrosoftCard {
    /// Organization administrators may connect and remove; others only look.
    pub can_manage: bool,
    pub connection: Option<MicrosoftConnection>,
    /// The outcome of the last return from Microsoft in this session, shown once.
    pub outcome: Option<ConnectOutcome>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MicrosoftConnection {
    pub tenant_name: String,
    pub tenant_id: String,
    pub authority_did: String,
    pub credential_type: String,
    pub domains: Vec<String>,
    pub microsoft_account: String,
    pub connected_by: String,
    pub connected_at: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ConnectOutcome {
    Connected,
    Failed { code: String, detail: String },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub id: i64,
    pub at: String,
    pub actor: String,
    pub action: String,
    pub detail: String,
}
