//! `[evidence]`: what files may be attached to test cases, and when an
//! orphaned object is swept.

use aegis_core::config::{ConfigError, Section};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct EvidenceSettings {
    /// Largest evidence file, in bytes.
    pub max_bytes: u64,
    /// Media types accepted, as the upload declares them (parameters ignored).
    pub allowed_media_types: Vec<String>,
    /// Objects without a database row, and unfinished S3 multipart uploads,
    /// are removed by `evidence_orphan_sweep` once older than this, so
    /// uploads in progress are left alone.
    pub orphan_grace_minutes: u32,
}

impl Default for EvidenceSettings {
    fn default() -> Self {
        let types = [
            "text/plain",
            "text/csv",
            "application/json",
            "application/xml",
            "application/pdf",
            "application/zip",
            "application/gzip",
            "application/x-7z-compressed",
            "application/vnd.tcpdump.pcap",
            "application/x-pcapng",
            "application/octet-stream",
            "image/png",
            "image/jpeg",
            "image/gif",
            "image/webp",
            "video/mp4",
        ];
        Self {
            max_bytes: 256 * 1024 * 1024,
            allowed_media_types: types.iter().map(|t| (*t).to_owned()).collect(),
            orphan_grace_minutes: 60,
        }
    }
}

impl Section for EvidenceSettings {
    const NAME: &'static str = "evidence";

    fn check(&self) -> Result<(), ConfigError> {
        if self.max_bytes == 0 {
            return Err(ConfigError(
                "AEGIS_EVIDENCE__MAX_BYTES: must be positive".into(),
            ));
        }
        if let Some(bad_type) = self.allowed_media_types.iter().find(|t| {
            t.split_once('/')
                .is_none_or(|(a, b)| a.is_empty() || b.is_empty())
        }) {
            return Err(ConfigError(format!(
                "AEGIS_EVIDENCE__ALLOWED_MEDIA_TYPES: `{bad_type}` is not a media type (type/subtype)"
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_pass_and_bad_values_name_their_variable() {
        assert!(EvidenceSettings::default().check().is_ok());
        let zero = EvidenceSettings {
            max_bytes: 0,
            ..EvidenceSettings::default()
        };
        let err = zero.check().unwrap_err().to_string();
        assert!(err.contains("AEGIS_EVIDENCE__MAX_BYTES"), "{err}");
        let typeless = EvidenceSettings {
            allowed_media_types: vec!["text/plain".into(), "pdf".into()],
            ..EvidenceSettings::default()
        };
        let err = typeless.check().unwrap_err().to_string();
        assert!(
            err.contains("AEGIS_EVIDENCE__ALLOWED_MEDIA_TYPES") && err.contains("`pdf`"),
            "{err}"
        );
    }
}
