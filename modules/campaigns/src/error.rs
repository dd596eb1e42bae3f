//! The campaigns module's one error type and the HTTP status each variant
//! becomes (the same statuses and codes campaigns have always answered).

use aegis_core::ApiError;
use aegis_core::concurrency::VersionError;
use aegis_core::error::FieldError;
use aegis_mod_coverage::CoverageError;
use aegis_mod_test_cases::error::TestCaseError;

#[derive(Debug, thiserror::Error)]
pub enum CampaignError {
    /// 404 `not_found`.
    #[error("{0}")]
    NotFound(String),
    /// 409 with `code` and the campaign's current status.
    #[error("{detail}")]
    WrongState {
        code: &'static str,
        detail: String,
        state: String,
    },
    /// 422.
    #[error("invalid input")]
    Invalid(Vec<FieldError>),
    /// A stale or missing version (412, 428).
    #[error(transparent)]
    Version(#[from] VersionError),
    /// What the test-case module answered while importing a layer's tests,
    /// with the status it gives it.
    #[error(transparent)]
    TestCases(#[from] TestCaseError),
    /// What the coverage module answered for a campaign's KPIs.
    #[error(transparent)]
    Coverage(#[from] CoverageError),
    /// 500, logged.
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
}

impl CampaignError {
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        Self::Invalid(vec![FieldError::new(field, message)])
    }
}

impl From<CampaignError> for ApiError {
    fn from(error: CampaignError) -> Self {
        match error {
            CampaignError::NotFound(detail) => ApiError::not_found("not_found", detail),
            CampaignError::WrongState {
                code,
                detail,
                state,
            } => ApiError::wrong_state(code, detail, &state),
            CampaignError::Invalid(errors) => ApiError::invalid(errors),
            CampaignError::Version(e) => e.into(),
            CampaignError::TestCases(e) => e.into(),
            CampaignError::Coverage(e) => e.into(),
            CampaignError::Database(e) => ApiError::database("campaigns database", &e),
        }
    }
}
