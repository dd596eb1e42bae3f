//! The ATT&CK Enterprise release built into Aegis (`data/`, with MITRE's
//! notice), so that an installation without a network has a full catalog on
//! its first start. Kept gzip-compressed: flate2, which already inflates
//! gzip sources, reads it, and the binary grows by 8.6 MB rather than 50.

/// MITRE ATT&CK Enterprise v18.1, STIX 2.1, gzip.
pub const ENTERPRISE_BUNDLE: &[u8] = include_bytes!("../data/enterprise-attack-18.1.json.gz");

/// How sync runs and the release record name the built-in bundle.
pub const ENTERPRISE_SOURCE: &str = "built-in: ATT&CK Enterprise 18.1";
