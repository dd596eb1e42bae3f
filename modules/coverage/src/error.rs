//! What can go wrong with coverage and snapshots, and the status of each.

use aegis_core::ApiError;
use aegis_core::error::FieldError;

#[derive(Debug, thiserror::Error)]
pub enum CoverageError {
    /// 404: no snapshot with this id (or one of the two of a diff).
    #[error("no such snapshot")]
    SnapshotNotFound,
    /// 422: a scope that cannot be read (bad dates, a campaign id that is
    /// not an id).
    #[error("invalid scope")]
    Invalid(Vec<FieldError>),
    /// 500, logged.
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
}

impl CoverageError {
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        Self::Invalid(vec![FieldError::new(field, message)])
    }
}

impl From<CoverageError> for ApiError {
    fn from(error: CoverageError) -> Self {
        match error {
            CoverageError::SnapshotNotFound => {
                ApiError::not_found("snapshot_not_found", error.to_string())
            }
            CoverageError::Invalid(errors) => ApiError::invalid(errors),
            CoverageError::Database(e) => ApiError::database("coverage database", &e),
        }
    }
}
