//! The module's one error type and the HTTP status each variant becomes.

use aegis_core::ApiError;
use aegis_core::error::FieldError;
use aegis_core::storage::StorageError;

#[derive(Debug, thiserror::Error)]
pub enum TestsError {
    #[error("{0}")]
    NotFound(String),
    /// The caller's role may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// Not in this state; `state` is the current one.
    #[error("{detail}")]
    WrongState {
        code: &'static str,
        detail: String,
        state: String,
    },
    #[error("invalid input")]
    Invalid(Vec<FieldError>),
    #[error("the test changed since version you sent; it is now at {current}")]
    Stale { current: i64 },
    #[error("send the version you edited as If-Match or `version`")]
    VersionRequired,
    #[error("{0}")]
    TooLarge(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// The upload could not be read to its end.
    #[error("{0}")]
    BadUpload(String),
    #[error("storage: {0}")]
    Storage(#[from] StorageError),
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("identity lookup: {0}")]
    Identity(#[from] aegis_core::auth::IdentityError),
}

impl TestsError {
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        Self::Invalid(vec![FieldError::new(field, message)])
    }
}

/// The optimistic-concurrency rule every editable resource follows: a change
/// names the version it was made on, and it must still be the current one.
pub fn check_version(expected: Option<i64>, current: i64) -> Result<i64, TestsError> {
    match expected {
        None => Err(TestsError::VersionRequired),
        Some(v) if v != current => Err(TestsError::Stale { current }),
        Some(v) => Ok(v),
    }
}

impl From<opendal::Error> for TestsError {
    fn from(error: opendal::Error) -> Self {
        Self::Storage(error.into())
    }
}

impl From<TestsError> for ApiError {
    fn from(error: TestsError) -> Self {
        match error {
            TestsError::NotFound(detail) => ApiError::not_found("not_found", detail),
            TestsError::Forbidden(detail) => ApiError::forbidden("forbidden", detail),
            TestsError::WrongState {
                code,
                detail,
                state,
            } => ApiError::wrong_state(code, detail, &state),
            TestsError::Invalid(errors) => ApiError::invalid(errors),
            TestsError::Stale { current } => ApiError::stale_version(
                format!(
                    "the resource changed since the version you sent; it is now at version {current}"
                ),
                current,
            ),
            TestsError::VersionRequired => ApiError::version_required(
                "send the version you edited as an If-Match header or a `version` field",
            ),
            TestsError::TooLarge(detail) => ApiError::payload_too_large(detail),
            TestsError::UnsupportedMediaType(detail) => ApiError::unsupported_media_type(detail),
            TestsError::BadUpload(detail) => ApiError::bad_request("upload_incomplete", detail),
            TestsError::Storage(e) => {
                tracing::error!(error = %e, "evidence storage failed");
                ApiError::unavailable(
                    "storage_unavailable",
                    "storage is unavailable; nothing was saved",
                )
            }
            TestsError::Database(e) => ApiError::internal("tests database", &e),
            TestsError::Identity(e) => ApiError::internal("tests identity lookup", &e),
        }
    }
}
