//! `[mitre]`: where the ATT&CK catalog comes from.

use aegis_core::config::Section;
use aegis_core::secret::lenient_string;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct MitreSettings {
    /// The Enterprise bundle: an http(s) URL, a `file://` URL or a path (gzip is read too).
    #[serde(deserialize_with = "lenient_string")]
    pub source: String,
    /// Further domains' bundles (mobile, ics), same forms as `source`.
    pub extra_sources: Vec<String>,
    /// Largest bundle accepted, in bytes (the Enterprise bundle is about 50 MB).
    pub max_bundle_bytes: usize,
    pub timeout_seconds: u64,
    /// On a start with no Enterprise catalog, load the ATT&CK release built
    /// into Aegis (no network needed); later syncs bring newer releases.
    pub bundled_on_first_start: bool,
}

impl Default for MitreSettings {
    fn default() -> Self {
        Self {
            source: "https://raw.githubusercontent.com/mitre-attack/attack-stix-data/master/enterprise-attack/enterprise-attack.json".into(),
            extra_sources: Vec::new(),
            max_bundle_bytes: 256 * 1024 * 1024,
            timeout_seconds: 120,
            bundled_on_first_start: true,
        }
    }
}

impl Section for MitreSettings {
    const NAME: &'static str = "mitre";
}
