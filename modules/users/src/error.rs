//! What can go wrong in the users module, and the status each maps to.

use aegis_core::ApiError;

#[derive(Debug, thiserror::Error)]
pub enum UsersError {
    /// 404
    #[error("no such user")]
    NotFound,
    /// 404
    #[error("no such API token")]
    TokenNotFound,
    /// 409
    #[error("the username is taken")]
    UsernameTaken,
    /// 401: wrong password, unknown or deactivated user (never said which).
    #[error("invalid username or password")]
    InvalidCredentials,
    /// 403: a signed-in user changing their password gave a wrong current
    /// one. Not 401: their session is fine and stays; not 422: nothing in
    /// the request is malformed, the proof of knowing the secret failed.
    #[error("the current password does not match")]
    WrongCurrentPassword,
    /// 429
    #[error("too many failed logins; retry in {0} s")]
    Throttled(u64),
    /// 422
    #[error("{field}: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    /// 409: an admin may not lock themselves out, nor remove the last admin.
    #[error("{0}")]
    WouldLockOut(&'static str),
    /// 500
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    /// 500
    #[error(transparent)]
    KeyValue(#[from] aegis_core::kv::KvError),
    /// 500
    #[error(transparent)]
    Password(#[from] aegis_core::auth::password::PasswordError),
    /// 500
    #[error("corrupt user row: {0}")]
    Corrupt(String),
}

impl UsersError {
    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        Self::Invalid {
            field,
            message: message.into(),
        }
    }
}

impl From<UsersError> for ApiError {
    fn from(error: UsersError) -> Self {
        match error {
            UsersError::NotFound => ApiError::not_found("user_not_found", "no such user"),
            UsersError::TokenNotFound => {
                ApiError::not_found("api_token_not_found", "no such API token")
            }
            UsersError::UsernameTaken => {
                ApiError::conflict("username_taken", "the username is taken")
            }
            UsersError::InvalidCredentials => {
                ApiError::unauthorized("invalid_credentials", "invalid username or password")
            }
            UsersError::WrongCurrentPassword => ApiError::forbidden(
                "wrong_current_password",
                "the current password does not match",
            ),
            UsersError::Throttled(secs) => {
                ApiError::too_many_requests("too many failed logins; retry later", secs)
            }
            UsersError::Invalid { field, message } => ApiError::invalid_field(field, message),
            UsersError::WouldLockOut(why) => ApiError::conflict("would_lock_out", why),
            UsersError::Database(e) => ApiError::database("users database", &e),
            UsersError::KeyValue(e) => e.into(),
            UsersError::Password(e) => ApiError::internal("users password", &e),
            UsersError::Corrupt(e) => ApiError::internal("users row", &e),
        }
    }
}
