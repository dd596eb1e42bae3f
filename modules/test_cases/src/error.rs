//! The module's one error type and the HTTP status each variant becomes.

use aegis_core::ApiError;
use aegis_core::concurrency::VersionError;
use aegis_core::error::{FieldError, Problem};
use aegis_core::storage::StorageError;
use poem_openapi::payload::Json;

#[derive(Debug, thiserror::Error)]
pub enum TestCaseError {
    #[error("{0}")]
    NotFound(String),
    /// The caller's role may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// The test is assigned to another technician of the caller's side.
    #[error("{0}")]
    NotAssignee(String),
    /// Not in this state; `state` is the current one.
    #[error("{detail}")]
    WrongState {
        code: &'static str,
        detail: String,
        state: String,
    },
    #[error("invalid input")]
    Invalid(Vec<FieldError>),
    /// A transition refused because the test lacks fields it needs first
    /// (409: the test, not the request, must change); `state` is the current one.
    #[error("fields missing before this transition")]
    Incomplete {
        state: String,
        missing: Vec<FieldError>,
    },
    /// Text carrying NUL (U+0000), which PostgreSQL cannot store: names
    /// where (422 `invalid_text`).
    #[error("{0} contains a NUL character (U+0000), which no text may hold")]
    InvalidText(String),
    /// A stale or missing version (412, 428).
    #[error(transparent)]
    Version(#[from] VersionError),
    #[error("{0}")]
    TooLarge(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// The upload could not be read to its end.
    #[error("{0}")]
    BadUpload(String),
    #[error("storage: {0}")]
    Storage(#[from] StorageError),
    /// Storage failed during an upload: no evidence was recorded.
    /// `leftover` when what reached storage could not be removed at once.
    #[error("storage: {error}")]
    NotStored { error: StorageError, leftover: bool },
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("identity lookup: {0}")]
    Identity(#[from] aegis_core::auth::IdentityError),
}

impl TestCaseError {
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        Self::Invalid(vec![FieldError::new(field, message)])
    }
}

impl From<opendal::Error> for TestCaseError {
    fn from(error: opendal::Error) -> Self {
        Self::Storage(error.into())
    }
}

impl From<TestCaseError> for ApiError {
    fn from(error: TestCaseError) -> Self {
        match error {
            TestCaseError::NotFound(detail) => ApiError::not_found("not_found", detail),
            TestCaseError::Forbidden(detail) => ApiError::forbidden("forbidden", detail),
            TestCaseError::NotAssignee(detail) => ApiError::forbidden("not_assignee", detail),
            TestCaseError::WrongState {
                code,
                detail,
                state,
            } => ApiError::wrong_state(code, detail, &state),
            TestCaseError::Invalid(errors) => ApiError::invalid(errors),
            TestCaseError::Incomplete { state, missing } => {
                let detail = missing
                    .iter()
                    .map(|e| format!("{}: {}", e.field, e.message))
                    .collect::<Vec<_>>()
                    .join("; ");
                let mut problem = Problem::new(409, "fields_missing", detail);
                problem.current_state = Some(state);
                problem.errors = missing;
                ApiError::Conflict(Json(problem))
            }
            TestCaseError::InvalidText(what) => aegis_core::http::invalid_text(&what),
            TestCaseError::Version(e) => e.into(),
            TestCaseError::TooLarge(detail) => ApiError::payload_too_large(detail),
            TestCaseError::UnsupportedMediaType(detail) => ApiError::unsupported_media_type(detail),
            TestCaseError::BadUpload(detail) => ApiError::bad_request("upload_incomplete", detail),
            TestCaseError::Storage(e) => {
                tracing::error!(error = %e, "evidence storage failed");
                ApiError::unavailable("storage_unavailable", "storage is unavailable; retry later")
            }
            TestCaseError::NotStored { error, leftover } => {
                tracing::error!(%error, leftover, "an evidence upload failed in storage");
                ApiError::unavailable(
                    "storage_unavailable",
                    if leftover {
                        "storage is unavailable: the evidence was not recorded; what reached \
                         storage has no record, is never served, and is removed by the hourly \
                         evidence_orphan_sweep job once storage answers; retry later"
                    } else {
                        "storage is unavailable: the evidence was not recorded and nothing of \
                         it was kept; retry later"
                    },
                )
            }
            TestCaseError::Database(e) => ApiError::database("tests database", &e),
            TestCaseError::Identity(e) => ApiError::internal("tests identity lookup", &e),
        }
    }
}
