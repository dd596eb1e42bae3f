//! `[storage]`: where evidence, components and reports are kept.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::secret::{Secret, lenient_opt_string, lenient_string};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum StorageBackend {
    #[default]
    Fs,
    S3,
    /// In memory, for tests only.
    Memory,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct StorageSettings {
    pub backend: StorageBackend,
    /// Root folder for `fs`; unset means `<data_dir>/storage`.
    pub fs_root: Option<PathBuf>,
    pub s3: S3Settings,
}

impl Default for StorageSettings {
    fn default() -> Self {
        Self {
            backend: StorageBackend::Fs,
            fs_root: None,
            s3: S3Settings::default(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct S3Settings {
    #[serde(deserialize_with = "lenient_opt_string")]
    pub endpoint: Option<String>,
    #[serde(deserialize_with = "lenient_string")]
    pub bucket: String,
    #[serde(deserialize_with = "lenient_string")]
    pub region: String,
    /// Folder inside the bucket that holds every Aegis object.
    #[serde(deserialize_with = "lenient_string")]
    pub root: String,
    pub access_key_id: Option<Secret>,
    pub secret_access_key: Option<Secret>,
}

impl Default for S3Settings {
    fn default() -> Self {
        Self {
            endpoint: None,
            bucket: "aegis".into(),
            region: "us-east-1".into(),
            root: "/".into(),
            access_key_id: None,
            secret_access_key: None,
        }
    }
}
