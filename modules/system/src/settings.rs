//! `[audit]`: how long the audit trail is kept by `audit_retention`.

use aegis_core::config::Section;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct AuditSettings {
    /// Audit events older than this are deleted by the `audit_retention` job.
    pub retention_days: u32,
}

impl Default for AuditSettings {
    fn default() -> Self {
        Self {
            retention_days: 365,
        }
    }
}

impl Section for AuditSettings {
    const NAME: &'static str = "audit";
}
