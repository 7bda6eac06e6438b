//! Organizations and the people in them: sign-up, sign-in, teammates and invites.

pub mod email_confirmation;
mod initiator;
mod mailed_links;
pub mod microsoft_account;
pub mod password_change;
pub mod password_reset;
mod password_sign_in;
mod service;
pub mod sessions;
mod store;

pub use initiator::Initiator;
pub use password_sign_in::sign_in_counted;
pub use service::*;

use std::fmt;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::email::{EmailAddress, InvalidEmail};
use crate::password::WeakPassword;

// Stored as their `Uuid` (`sqlx(transparent)`): rows decode them directly on either backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, sqlx::Type)]
#[sqlx(transparent)]
pub struct OrganizationId(pub Uuid);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, sqlx::Type)]
#[sqlx(transparent)]
pub struct UserId(pub Uuid);

impl fmt::Display for OrganizationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Connects integrations, manages the team, and does everything an agent does.
    Admin,
    /// Starts and follows verifications.
    Agent,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Agent => "agent",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "admin" => Some(Role::Admin),
            "agent" => Some(Role::Agent),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Organization {
    pub id: OrganizationId,
    pub name: String,
}

/// A person who can sign in (or will, once their invite is accepted).
#[derive(Debug, Clone)]
pub struct User {
    pub id: UserId,
    pub organization_id: OrganizationId,
    pub email: EmailAddress,
    pub display_name: String,
    pub role: Role,
    /// False while an invited teammate has not set a password yet.
    pub active: bool,
    /// The person proved they read mail at `email` (a confirmation link, an invitation, a
    /// reset link). Until then the account signs in but touches no organization data.
    pub email_confirmed: bool,
    pub created_at: OffsetDateTime,
}

impl User {
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }
}

/// A pending invite as the admin sees it in the team list.
#[derive(Debug, Clone)]
pub struct PendingInvite {
    pub user: User,
    pub expires_at: OffsetDateTime,
    pub expired: bool,
}

/// What the invite page shows to the person who opened a valid invite link.
#[derive(Debug, Clone)]
pub struct InviteDetails {
    pub organization_name: String,
    pub email: EmailAddress,
    pub display_name: String,
    pub role: Role,
}

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    /// Empty, too long, or with line breaks or other control characters (it is written
    /// into mails, where a line break would let a stranger add lines of their own).
    #[error("Enter your organization's name (up to 100 characters, on one line).")]
    MissingOrganizationName,
    #[error("Enter a name (up to 100 characters).")]
    InvalidName,
    #[error(transparent)]
    InvalidEmail(#[from] InvalidEmail),
    #[error(transparent)]
    WeakPassword(#[from] WeakPassword),
    #[error("An account with this email already exists. Sign in instead, or use another email.")]
    EmailTaken,
    #[error("The email or password is incorrect. Check both and try again.")]
    WrongCredentials,
    /// Told only after the right password, so it says nothing about which addresses exist.
    #[error(
        "Your organization signs in with Microsoft only. Use \"Sign in with Microsoft\" below with your work account."
    )]
    MicrosoftOnly,
    #[error(
        "This invite link has expired or was already used. Ask your Traceless organization administrator for a new one."
    )]
    InviteExpired,
    #[error("Only organization administrators can do this.")]
    NotAdmin,
    #[error("That teammate was not found in your organization.")]
    UnknownTeammate,
    #[error("You cannot remove your own account.")]
    CannotRemoveSelf,
    #[error(
        "An organization needs at least one administrator. Make someone else an administrator first."
    )]
    LastAdministrator,
    #[error("Your current password is not right. Check it and try again.")]
    WrongCurrentPassword,
    #[error(
        "This link to set a new password has expired or was already used. Ask for a new one from the sign-in page."
    )]
    ResetLinkExpired,
    #[error(
        "This confirmation link has expired or was already used. Sign in and choose \"Send the link again\" for a new one."
    )]
    ConfirmationLinkExpired,
    /// Rate limited, or password hashing is saturated: come back later.
    #[error(transparent)]
    TooMany(#[from] crate::rate_limit::TooMany),
    #[error("database error")]
    Database(#[from] sqlx::Error),
}

impl AccountError {
    /// The form field a message belongs beside, if any.
    pub fn field(&self) -> Option<&'static str> {
        match self {
            AccountError::MissingOrganizationName => Some("organization"),
            AccountError::InvalidName => Some("name"),
            AccountError::InvalidEmail(_) | AccountError::EmailTaken => Some("email"),
            AccountError::WeakPassword(_) => Some("password"),
            AccountError::WrongCurrentPassword => Some("current_password"),
            _ => None,
        }
    }
}
