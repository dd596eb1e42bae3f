//! A registered plugin and what may be asked of the list of them.

use aegis_core::plugins::{PluginKind, PluginRef};
use aegis_core::time::Timestamp;
use serde_json::Value;

#[derive(Debug, Clone)]
pub struct Plugin {
    pub id: String,
    pub kind: PluginKind,
    /// The author's stable id from `describe`, unique per kind.
    pub key: String,
    pub name: String,
    pub description: String,
    pub interface_version: String,
    pub sha256: String,
    pub size_bytes: i64,
    pub storage_key: String,
    pub file_name: Option<String>,
    pub config_schema: Value,
    pub media_type: Option<String>,
    pub file_extension: Option<String>,
    pub config: Value,
    pub enabled: bool,
    /// Why it was switched off, when the server did it.
    pub disabled_reason: Option<String>,
    pub health: CallHealth,
    pub version: i64,
    pub created_at: Timestamp,
    pub created_by: String,
    pub updated_at: Timestamp,
    pub updated_by: String,
}

/// How the plugin's calls have gone.
#[derive(Debug, Clone, Default)]
pub struct CallHealth {
    pub calls: i64,
    pub failures: i64,
    pub consecutive_failures: i64,
    pub last_error_code: Option<String>,
    pub last_error: Option<String>,
    pub last_error_at: Option<Timestamp>,
}

impl Plugin {
    /// What the host needs for a call.
    pub fn reference(&self) -> PluginRef {
        PluginRef {
            name: self.name.clone(),
            kind: self.kind,
            sha256: self.sha256.clone(),
            storage_key: self.storage_key.clone(),
            config: self.config.to_string(),
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct PluginFilter {
    pub kind: Option<PluginKind>,
    pub enabled: Option<bool>,
}

/// Where a component's bytes are stored: by digest, never by user input.
pub fn storage_key(sha256: &str) -> String {
    format!("plugins/{sha256}.wasm")
}
