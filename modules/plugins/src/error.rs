//! What can go wrong managing or calling plugins, and the status of each.

use aegis_core::ApiError;
use aegis_core::error::FieldError;
use aegis_core::plugins::PluginFault;
use aegis_core::storage::StorageError;

#[derive(Debug, thiserror::Error)]
pub enum PluginsError {
    /// 404.
    #[error("no plugin with this id")]
    NotFound,
    /// 422 with the fault's code: the component was refused, or its
    /// `describe` failed, at upload.
    #[error("the component was refused: {0}")]
    Refused(PluginFault),
    /// 422: what the component says about itself is unusable.
    #[error("{0}")]
    BadDescription(String),
    /// 422: a configuration that does not match the plugin's schema.
    #[error("the configuration does not match the plugin's schema")]
    InvalidConfig(Vec<FieldError>),
    /// 409: the same component, or another with the same kind and id.
    #[error("{1}")]
    Conflict(&'static str, String),
    /// 412.
    #[error("the plugin changed since version {expected}")]
    StaleVersion { expected: i64, current: i64 },
    /// 409: the plugin is switched off.
    #[error("the plugin is disabled")]
    Disabled,
    /// A call failed (evaluate or render): the caller decides what it means.
    #[error("the plugin call failed: {0}")]
    Call(PluginFault),
    /// 503: storing an uploaded component failed.
    #[error("storage: {0}")]
    Storage(#[from] StorageError),
    /// 500.
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
}

impl From<PluginsError> for ApiError {
    fn from(error: PluginsError) -> Self {
        match error {
            PluginsError::NotFound => ApiError::not_found("plugin_not_found", error.to_string()),
            PluginsError::Refused(fault) => {
                ApiError::unprocessable(fault.code(), format!("the plugin {fault}"))
            }
            PluginsError::BadDescription(text) => ApiError::invalid_field("file", text),
            PluginsError::InvalidConfig(errors) => ApiError::invalid(errors),
            PluginsError::Conflict(code, text) => ApiError::conflict(code, text),
            PluginsError::StaleVersion { current, .. } => {
                ApiError::stale_version(error.to_string(), current)
            }
            PluginsError::Disabled => ApiError::conflict("plugin_disabled", error.to_string()),
            PluginsError::Call(fault) => {
                ApiError::unavailable(fault.code(), format!("the plugin {fault}"))
            }
            PluginsError::Storage(e) => {
                // Only an upload writes: its component may have reached
                // storage before the failure did.
                tracing::error!(error = %e, "plugin storage failed");
                ApiError::unavailable(
                    "storage_unavailable",
                    "storage is unavailable: the plugin was not registered; a component \
                     storage kept anyway has no record and is removed by the hourly \
                     plugin_orphan_sweep job; retry later",
                )
            }
            PluginsError::Db(e) => ApiError::database("plugins", &e),
        }
    }
}
