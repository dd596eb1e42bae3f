//! `[database]` and `[redis]`: where rows and shared keys live.

use serde::{Deserialize, Serialize};

use crate::secret::{lenient_opt_string, lenient_string};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct DatabaseSettings {
    /// `sqlite://path` or `postgres://...`; unset means `<data_dir>/aegis.db`.
    #[serde(deserialize_with = "lenient_opt_string")]
    pub url: Option<String>,
    pub max_connections: u32,
    /// The longest a request waits for a connection before it answers 503.
    pub acquire_timeout_ms: u64,
    /// Run migrations at start-up; unset means on in development only.
    pub migrate_on_start: Option<bool>,
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        Self {
            url: None,
            max_connections: 10,
            acquire_timeout_ms: 3000,
            migrate_on_start: None,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct RedisSettings {
    /// Unset: the in-process key-value store (one replica only).
    #[serde(deserialize_with = "lenient_opt_string")]
    pub url: Option<String>,
    /// Namespace of every key, so several installations can share one Redis.
    #[serde(deserialize_with = "lenient_string")]
    pub key_prefix: String,
}

impl Default for RedisSettings {
    fn default() -> Self {
        Self {
            url: None,
            key_prefix: "aegis".into(),
        }
    }
}
