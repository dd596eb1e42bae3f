//! `[coverage]`: how long snapshots are kept.

use aegis_core::config::Section;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct CoverageSettings {
    /// `snapshot_retention` deletes snapshots older than this (never the newest).
    pub snapshot_retention_days: u32,
}

impl Default for CoverageSettings {
    fn default() -> Self {
        Self {
            snapshot_retention_days: 365,
        }
    }
}

impl Section for CoverageSettings {
    const NAME: &'static str = "coverage";
}
