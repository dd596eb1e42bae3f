//! `[log]`: the tracing filter and the line format.

use serde::{Deserialize, Serialize};

use crate::secret::lenient_string;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// JSON in production, human-readable text in development.
    #[default]
    Auto,
    Json,
    Text,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct LogSettings {
    /// A tracing filter such as `info` or `aegis=debug,sqlx=warn`; `RUST_LOG` wins.
    #[serde(deserialize_with = "lenient_string")]
    pub level: String,
    pub format: LogFormat,
}

impl Default for LogSettings {
    fn default() -> Self {
        Self {
            level: "info".into(),
            format: LogFormat::Auto,
        }
    }
}
