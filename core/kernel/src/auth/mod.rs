//! Authentication and authorisation: who is calling (session cookie, bearer
//! session token or personal API token) and whether their role may. Roles are
//! checked by one extractor, [`Auth`], never by hand in handlers.

mod extractor;
pub mod password;
pub mod revocation;
pub mod throttle;
pub mod token;

use std::sync::Arc;

use async_trait::async_trait;
use poem_openapi::Enum;

pub use extractor::{
    AdminOnly, AnyRole, Auth, BlueTechPlus, Contributor, LeadPlus, RedTechPlus, RolePolicy,
};
pub use revocation::Revocations;
pub use token::{Claims, TokenService};

use crate::time::Timestamp;

/// Name of the HttpOnly session cookie.
pub const SESSION_COOKIE: &str = "aegis_token";
/// Readable cookie holding the CSRF token for the dashboard.
pub const CSRF_COOKIE: &str = "aegis_csrf";
/// Header a cookie-authenticated unsafe request must carry.
pub const CSRF_HEADER: &str = "X-CSRF-Token";

/// A user's role: what they may see and do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Enum)]
#[oai(rename_all = "snake_case")]
pub enum Role {
    Admin,
    Lead,
    RedTech,
    BlueTech,
    Viewer,
}

impl Role {
    pub const ALL: [Role; 5] = [
        Role::Admin,
        Role::Lead,
        Role::RedTech,
        Role::BlueTech,
        Role::Viewer,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Lead => "lead",
            Self::RedTech => "red_tech",
            Self::BlueTech => "blue_tech",
            Self::Viewer => "viewer",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == text)
    }
}

/// An active user as the identity port reports it.
#[derive(Debug, Clone)]
pub struct Identity {
    pub user_id: String,
    pub username: String,
    pub role: Role,
    /// Sessions issued before this (password change, reset) are refused.
    pub sessions_valid_after: Option<Timestamp>,
    /// Bumped by every password change or reset: a session token issued
    /// under another generation is refused.
    pub session_generation: i64,
}

/// How the caller proved who they are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    /// A session token; `cookie` when it came from the `aegis_token` cookie.
    Session {
        jti: String,
        expires_at: i64,
        cookie: bool,
    },
    ApiToken {
        token_id: String,
    },
}

/// The authenticated caller.
#[derive(Debug, Clone)]
pub struct Principal {
    pub user_id: String,
    pub username: String,
    pub role: Role,
    pub credential: Credential,
}

/// An active user as colleagues see them: to pick an assignee or to name
/// who did something. No credentials, no session state.
#[derive(Debug, Clone)]
pub struct Member {
    pub user_id: String,
    pub username: String,
    pub display_name: String,
    pub role: Role,
}

#[derive(Debug, thiserror::Error)]
#[error("identity lookup failed: {0}")]
pub struct IdentityError(pub String);

/// Port implemented by the users module: the kernel knows no user table.
#[async_trait]
pub trait IdentityResolver: Send + Sync + 'static {
    /// The active user with this id, or `None` (unknown or deactivated).
    async fn active_user(&self, user_id: &str) -> Result<Option<Identity>, IdentityError>;
    /// The active owner of an unrevoked, unexpired API token with this hash;
    /// records the token's use.
    async fn api_token_owner(
        &self,
        token_hash: &str,
    ) -> Result<Option<(String, Identity)>, IdentityError>;
    /// The active users by username, at most `limit` of them.
    async fn active_members(&self, limit: i64) -> Result<Vec<Member>, IdentityError>;
}

/// What the extractor needs; put into the request data by the server.
#[derive(Clone)]
pub struct AuthContext {
    pub tokens: TokenService,
    pub revocations: Revocations,
    pub identity: Arc<dyn IdentityResolver>,
}
