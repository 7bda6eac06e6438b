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
