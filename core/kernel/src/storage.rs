//! Object storage for evidence, report files and plugin binaries: an opendal
//! `Operator` over a local folder (default), S3, or memory (unit tests).
//! Large objects are streamed through [`Storage::operator`]'s writers and
//! readers; the helpers here suit small objects.

use std::path::Path;

use opendal::{Operator, services};

use crate::config::{StorageBackend, StorageSettings};

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("storage misconfigured: {0}")]
    Config(String),
    #[error("object not found: {0}")]
    NotFound(String),
    #[error("storage unavailable: {0}")]
    Unavailable(String),
}

impl From<opendal::Error> for StorageError {
    fn from(error: opendal::Error) -> Self {
        match error.kind() {
            opendal::ErrorKind::NotFound => Self::NotFound(error.to_string()),
            opendal::ErrorKind::ConfigInvalid => Self::Config(error.to_string()),
            _ => Self::Unavailable(error.to_string()),
        }
    }
}

#[derive(Clone, Debug)]
pub struct Storage {
    operator: Operator,
    kind: StorageBackend,
}

impl Storage {
    /// Builds the configured backend; `data_dir` hosts the default folder.
    pub fn from_settings(
        settings: &StorageSettings,
        data_dir: &Path,
    ) -> Result<Self, StorageError> {
        // Installs opendal's reqwest transport once per process (S3 needs it);
        // done here rather than by a life-before-main constructor.
        opendal::install_default();
        let operator = match settings.backend {
            StorageBackend::Fs => {
                let root = settings
                    .fs_root
                    .clone()
                    .unwrap_or_else(|| data_dir.join("storage"));
                std::fs::create_dir_all(&root).map_err(|e| {
                    StorageError::Config(format!("cannot create {}: {e}", root.display()))
                })?;
                let root = std::fs::canonicalize(&root).unwrap_or(root);
                Operator::new(services::Fs::default().root(&root.to_string_lossy()))?
            }
            StorageBackend::S3 => {
                let s3 = &settings.s3;
                let mut builder = services::S3::default()
                    .bucket(&s3.bucket)
                    .region(&s3.region)
                    .root(&s3.root);
                if let Some(endpoint) = &s3.endpoint {
                    builder = builder.endpoint(endpoint);
                }
                if let Some(key) = &s3.access_key_id {
                    builder = builder.access_key_id(key.expose());
                }
                if let Some(secret) = &s3.secret_access_key {
                    builder = builder.secret_access_key(secret.expose());
                }
                // Explicit settings only: never pick up credentials from the host's ~/.aws.
                builder = builder.disable_config_load().disable_ec2_metadata();
                Operator::new(builder)?
            }
            StorageBackend::Memory => Operator::new(services::Memory::default())?,
        };
        Ok(Self {
            operator,
            kind: settings.backend,
        })
    }

    /// Memory storage: for unit tests, and for checking a plugin on the command line.
    pub fn memory() -> Self {
        Self::from_settings(
            &StorageSettings {
                backend: StorageBackend::Memory,
                ..StorageSettings::default()
            },
            Path::new("."),
        )
        .unwrap_or_else(|_| unreachable!("the memory backend has no settings to get wrong"))
    }

    pub fn kind(&self) -> StorageBackend {
        self.kind
    }

    /// The operator itself, for streaming readers and writers.
    pub fn operator(&self) -> &Operator {
        &self.operator
    }

    pub async fn put(&self, key: &str, bytes: Vec<u8>) -> Result<(), StorageError> {
        self.operator.write(key, bytes).await?;
        Ok(())
    }

    pub async fn get(&self, key: &str) -> Result<Vec<u8>, StorageError> {
        Ok(self.operator.read(key).await?.to_vec())
    }

    pub async fn exists(&self, key: &str) -> Result<bool, StorageError> {
        Ok(self.operator.exists(key).await?)
    }

    /// Deletes `key`; deleting a missing object is not an error.
    pub async fn delete(&self, key: &str) -> Result<(), StorageError> {
        self.operator.delete(key).await?;
        Ok(())
    }

    /// Readiness: a round trip that needs the backend to answer.
    pub async fn ping(&self) -> Result<(), StorageError> {
        self.operator.check().await?;
        Ok(())
    }
}
