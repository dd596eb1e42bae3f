//! What can go wrong with rules and alerts, and the status of each.

use aegis_core::ApiError;
use aegis_core::error::FieldError;

#[derive(Debug, thiserror::Error)]
pub enum AlertsError {
    /// 404.
    #[error("no {0} with this id")]
    NotFound(&'static str),
    /// 422.
    #[error("invalid rule")]
    Invalid(Vec<FieldError>),
    /// 412.
    #[error("the rule changed since version {expected}")]
    StaleVersion { expected: i64, current: i64 },
    /// 409: the alert is not in a state that allows this.
    #[error("the alert is {0}")]
    WrongState(&'static str),
    /// Whatever listing or calling plugins answered.
    #[error(transparent)]
    Plugins(#[from] aegis_mod_plugins::PluginsError),
    /// 500.
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
}

impl From<AlertsError> for ApiError {
    fn from(error: AlertsError) -> Self {
        match error {
            AlertsError::NotFound(what) => {
                ApiError::not_found(&format!("{what}_not_found"), error.to_string())
            }
            AlertsError::Invalid(errors) => ApiError::invalid(errors),
            AlertsError::StaleVersion { current, .. } => {
                ApiError::stale_version(error.to_string(), current)
            }
            AlertsError::WrongState(state) => {
                ApiError::wrong_state("alert_wrong_state", error.to_string(), state)
            }
            AlertsError::Plugins(e) => e.into(),
            AlertsError::Db(e) => ApiError::database("alerts", &e),
        }
    }
}
