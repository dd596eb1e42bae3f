//! Request and response bodies of the users and auth APIs.

use aegis_core::auth::Role;
use aegis_core::http::{Nullable, strict_json};
use chrono::{DateTime, Utc};
use poem_openapi::Object;

use crate::model::{ApiToken, User};

/// A user account.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none, example)]
pub struct UserView {
    pub id: String,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub active: bool,
    /// Where the user's notices are e-mailed; absent: the inbox only.
    pub email: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Absent until the user first signs in.
    pub last_login_at: Option<DateTime<Utc>>,
}

impl poem_openapi::types::Example for UserView {
    fn example() -> Self {
        let at = DateTime::<Utc>::from_timestamp(1_764_547_200, 0).unwrap_or_default();
        Self {
            id: "01936f5e-7a2c-7d4e-9b1a-3c5d7e9f0a1b".into(),
            username: "alice".into(),
            display_name: "Alice Martin".into(),
            role: Role::RedTech,
            active: true,
            email: Some("alice@example.org".into()),
            created_at: at,
            updated_at: at,
            last_login_at: Some(at),
        }
    }
}

impl From<User> for UserView {
    fn from(u: User) -> Self {
        Self {
            id: u.id.0,
            username: u.username,
            display_name: u.display_name,
            role: u.role,
            active: u.active,
            email: u.email,
            created_at: u.created_at,
            updated_at: u.updated_at,
            last_login_at: u.last_login_at,
        }
    }
}

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct UserPage {
    pub items: Vec<UserView>,
    pub total: i64,
    pub limit: i64,
    pub offset: i64,
}

// Passwords: at most 256 characters, as `aegis_core::config::PASSWORD_LENGTHS`
// (an attribute needs a literal); a new one at least 10, which the
// configured minimum may raise.

#[derive(Object)]
#[oai(deny_unknown_fields, example)]
pub struct LoginRequest {
    #[oai(validator(max_length = 256), deserialize_with = "strict_json")]
    pub username: String,
    #[oai(validator(max_length = 256), deserialize_with = "strict_json")]
    pub password: String,
}

impl poem_openapi::types::Example for LoginRequest {
    fn example() -> Self {
        Self {
            username: "alice".into(),
            password: "correct horse battery staple".into(),
        }
    }
}

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
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
#[oai(deny_unknown_fields)]
pub struct ChangePasswordRequest {
    #[oai(validator(max_length = 256), deserialize_with = "strict_json")]
    pub current_password: String,
    /// At least 10 characters (more if the server is configured so).
    #[oai(
        validator(min_length = 10, max_length = 256),
        deserialize_with = "strict_json"
    )]
    pub new_password: String,
}

#[derive(Object)]
#[oai(deny_unknown_fields, example)]
pub struct CreateUserRequest {
    /// 3 to 64 letters, digits, `.`, `_`, `-` and `@`; unique without
    /// regard to case.
    #[oai(
        validator(pattern = r"^[A-Za-z0-9._@-]{3,64}$"),
        deserialize_with = "strict_json"
    )]
    pub username: String,
    /// Up to 128 characters, not only spaces (which are dropped around it),
    /// no control characters. Defaults to the username.
    #[oai(
        validator(
            max_length = 128,
            pattern = r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f\ufeff][^\u0000-\u001f\u007f-\u009f]*$"
        ),
        deserialize_with = "strict_json"
    )]
    pub display_name: Option<String>,
    #[oai(deserialize_with = "strict_json")]
    pub role: Role,
    /// At least 10 characters (more if the server is configured so).
    #[oai(
        validator(min_length = 10, max_length = 256),
        deserialize_with = "strict_json"
    )]
    pub password: String,
    /// Where the user's notices are e-mailed (when SMTP is configured): one
    /// address, at most 254 characters.
    #[oai(
        validator(
            max_length = 254,
            pattern = r#"^[^\s@<>,;"\u0000-\u001f\u007f-\u009f]{1,64}@[^\s@<>,;"\u0000-\u001f\u007f-\u009f]+$"#
        ),
        deserialize_with = "strict_json"
    )]
    pub email: Option<String>,
}

impl poem_openapi::types::Example for CreateUserRequest {
    fn example() -> Self {
        Self {
            username: "alice".into(),
            display_name: Some("Alice Martin".into()),
            role: Role::RedTech,
            password: "correct horse battery staple".into(),
            email: Some("alice@example.org".into()),
        }
    }
}

#[derive(Object)]
#[oai(deny_unknown_fields)]
pub struct UpdateUserRequest {
    /// Up to 128 characters, not only spaces (which are dropped around it),
    /// no control characters.
    #[oai(
        validator(
            max_length = 128,
            pattern = r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f\ufeff][^\u0000-\u001f\u007f-\u009f]*$"
        ),
        deserialize_with = "strict_json"
    )]
    pub display_name: Option<String>,
    #[oai(deserialize_with = "strict_json")]
    pub role: Option<Role>,
    #[oai(deserialize_with = "strict_json")]
    pub active: Option<bool>,
    /// Where the user's notices are e-mailed; `null` removes the address.
    #[oai(validator(
        max_length = 254,
        pattern = r#"^[^\s@<>,;"\u0000-\u001f\u007f-\u009f]{1,64}@[^\s@<>,;"\u0000-\u001f\u007f-\u009f]+$"#
    ))]
    pub email: Nullable<String>,
}

/// Changes to one's own account.
#[derive(Object)]
#[oai(deny_unknown_fields)]
pub struct UpdateMeRequest {
    /// Up to 128 characters, not only spaces (which are dropped around it),
    /// no control characters.
    #[oai(
        validator(
            max_length = 128,
            pattern = r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f\ufeff][^\u0000-\u001f\u007f-\u009f]*$"
        ),
        deserialize_with = "strict_json"
    )]
    pub display_name: Option<String>,
    /// Where one's notices are e-mailed; `null` removes the address.
    #[oai(validator(
        max_length = 254,
        pattern = r#"^[^\s@<>,;"\u0000-\u001f\u007f-\u009f]{1,64}@[^\s@<>,;"\u0000-\u001f\u007f-\u009f]+$"#
    ))]
    pub email: Nullable<String>,
}

#[derive(Object)]
#[oai(deny_unknown_fields)]
pub struct ResetPasswordRequest {
    /// Unset: a password is generated and returned once. At least 10
    /// characters (more if the server is configured so).
    #[oai(
        validator(min_length = 10, max_length = 256),
        deserialize_with = "strict_json"
    )]
    pub password: Option<String>,
}

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct ResetPasswordResponse {
    /// Present only when the password was generated; shown this once.
    pub generated_password: Option<String>,
}

#[derive(Object)]
#[oai(deny_unknown_fields, example)]
pub struct CreateTokenRequest {
    /// Up to 100 characters, not only spaces (which are dropped around it).
    #[oai(
        validator(max_length = 100, pattern = r"[^\s\u0085\ufeff]"),
        deserialize_with = "strict_json"
    )]
    pub name: String,
    /// Must be in the future; absent: the token never expires.
    #[oai(deserialize_with = "strict_json")]
    pub expires_at: Option<DateTime<Utc>>,
}

impl poem_openapi::types::Example for CreateTokenRequest {
    fn example() -> Self {
        Self {
            name: "CI pipeline".into(),
            expires_at: DateTime::<Utc>::from_timestamp(1_798_761_600, 0),
        }
    }
}

/// A personal API token (never its text).
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct ApiTokenView {
    pub id: String,
    pub name: String,
    /// The first characters, to recognise the token.
    pub prefix: String,
    pub created_at: DateTime<Utc>,
    /// Absent: the token never expires.
    pub expires_at: Option<DateTime<Utc>>,
    /// Absent until the token is first used.
    pub last_used_at: Option<DateTime<Utc>>,
    /// Set once the token is revoked.
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
#[oai(skip_serializing_if_is_none)]
pub struct CreatedToken {
    /// The token itself: shown once, stored only as a hash.
    pub token: String,
    pub details: ApiTokenView,
}
