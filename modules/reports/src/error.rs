//! What can go wrong with reports, and the status of each.

use aegis_core::ApiError;
use aegis_core::error::FieldError;
use aegis_core::storage::StorageError;

#[derive(Debug, thiserror::Error)]
pub enum ReportsError {
    /// 404.
    #[error("no report with this id")]
    NotFound,
    /// 422.
    #[error("invalid report request")]
    Invalid(Vec<FieldError>),
    /// 409: not generated (yet, or at all).
    #[error("the report is {0}, not ready")]
    NotReady(&'static str),
    /// 503.
    #[error("storage: {0}")]
    Storage(#[from] StorageError),
    /// Whatever listing or calling plugins answered.
    #[error(transparent)]
    Plugins(#[from] aegis_mod_plugins::PluginsError),
    /// 500.
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
}

impl From<ReportsError> for ApiError {
    fn from(error: ReportsError) -> Self {
        match error {
            ReportsError::NotFound => ApiError::not_found("report_not_found", error.to_string()),
            ReportsError::Invalid(errors) => ApiError::invalid(errors),
            ReportsError::NotReady(state) => {
                ApiError::wrong_state("report_not_ready", error.to_string(), state)
            }
            ReportsError::Storage(e) => {
                // Only reads of a stored file reach a client this way.
                tracing::error!(error = %e, "report storage failed");
                ApiError::unavailable("storage_unavailable", "storage is unavailable; retry later")
            }
            ReportsError::Plugins(e) => e.into(),
            ReportsError::Db(e) => ApiError::database("reports", &e),
        }
    }
}
