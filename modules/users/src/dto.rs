//! Request and response bodies of the users and auth APIs.

use aegis_core::auth::Role;
use chrono::{DateTime, Utc};
use poem_openapi::Object;

use crate::model::{ApiToken, User};

#[derive(Debug, Object)]
pub struct UserView {
    pub id: String,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub last_login_at: Option<DateTime<Utc>>,
}

impl From<User> for UserView {
    fn from(u: User) -> Self {
        Self {
            id: u.id.0,
            username: u.username,
            display_name: u.display_name,
            role: u.role,
            active: u.active,
            created_at: u.created_at,
            updated_at: u.updated_at,
            last_login_at: u.last_login_at,
        }
    }
}

#[derive(Debug, Object)]
pub struct UserPage {
    pub items: Vec<UserView>,
    pub total: i64,
    pub limit: i64,
    pub offset: i64,
}

#[derive(Object)]
pub struct LoginRequest {
    #[oai(validator(max_length = 256))]
    pub username: String,
    #[oai(validator(max_length = 1024))]
    pub password: String,
}

#[derive(Debug, Object)]
pub struct LoginResponse {
    pub access_token: String,
    /// Always `bearer`.
    pub token_type: String,
    /// Seconds until the token expires.
    pub expires_in: i64,
    /// Send back in `X-CSRF-Token` on unsafe requests authenticated by the cookie.
    pub csrf_token: String,
    pub user: UserView,
}

#[derive(Object)]
pub struct ChangePasswordRequest {
    #[oai(validator(max_length = 1024))]
    pub current_password: String,
    #[oai(validator(max_length = 1024))]
    pub new_password: String,
}

#[derive(Object)]
pub struct CreateUserRequest {
    pub username: String,
    pub display_name: Option<String>,
    pub role: Role,
    #[oai(validator(max_length = 1024))]
    pub password: String,
}

#[derive(Object)]
pub struct UpdateUserRequest {
    pub display_name: Option<String>,
    pub role: Option<Role>,
    pub active: Option<bool>,
}

#[derive(Object)]
pub struct ResetPasswordRequest {
    /// Unset: a password is generated and returned once.
    #[oai(validator(max_length = 1024))]
    pub password: Option<String>,
}

#[derive(Debug, Object)]
pub struct ResetPasswordResponse {
    /// Present only when the password was generated; shown this once.
    pub generated_password: Option<String>,
}

#[derive(Object)]
pub struct CreateTokenRequest {
    pub name: String,
    pub expires_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Object)]
pub struct ApiTokenView {
    pub id: String,
    pub name: String,
    /// The first characters, to recognise the token.
    pub prefix: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl From<ApiToken> for ApiTokenView {
    fn from(t: ApiToken) -> Self {
        Self {
            id: t.id,
            name: t.name,
            prefix: t.prefix,
            created_at: t.created_at,
            expires_at: t.expires_at,
            last_used_at: t.last_used_at,
            revoked_at: t.revoked_at,
        }
    }
}

#[derive(Debug, Object)]
pub struct CreatedToken {
    /// The token itself: shown once, stored only as a hash.
    pub token: String,
    pub details: ApiTokenView,
}
