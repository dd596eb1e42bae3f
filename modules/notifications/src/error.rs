//! What can go wrong with notices, and the status of each.

use aegis_core::ApiError;

#[derive(Debug, thiserror::Error)]
pub enum NotificationsError {
    /// 404: no such notice, or another user's (which is not told apart).
    #[error("no notice with this id")]
    NotFound,
    /// 500.
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
}

impl From<NotificationsError> for ApiError {
    fn from(error: NotificationsError) -> Self {
        match error {
            NotificationsError::NotFound => {
                ApiError::not_found("notice_not_found", error.to_string())
            }
            NotificationsError::Db(e) => ApiError::database("notifications", &e),
        }
    }
}
