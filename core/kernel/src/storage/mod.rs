//! Object storage for evidence, report files and plugin binaries: an opendal
//! `Operator` over a local folder (default), S3, or memory (unit tests).
//! Large objects are streamed through [`Storage::operator`]'s writers and
//! readers; the helpers here suit small objects. What interrupted writes
//! leave behind is found here for the modules' sweeps: objects (by listing)
//! and, on S3, multipart uploads never completed ([`Storage::pending_uploads`]).

mod uploads;

use std::path::Path;

use opendal::{Operator, services};

use crate::config::{StorageBackend, StorageSettings};
use crate::time::Timestamp;
pub use uploads::PendingUpload;

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

/// What one sweep of a module's prefix removed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Swept {
    /// Objects without a record.
    pub objects: u64,
    /// Multipart uploads never completed or aborted (S3 only).
    pub uploads: u64,
}

impl std::fmt::Display for Swept {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} objects without a record and {} unfinished uploads removed",
            self.objects, self.uploads
        )
    }
}

#[derive(Clone, Debug)]
pub struct Storage {
    operator: Operator,
    kind: StorageBackend,
    /// S3 only: the requests opendal cannot make about multipart uploads.
    uploads: Option<uploads::S3Uploads>,
}

/// An object found under a prefix, and when it was last written if the
/// backend says.
#[derive(Debug, Clone)]
pub struct StoredObject {
    pub key: String,
    pub modified: Option<Timestamp>,
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
        let uploads =
            (settings.backend == StorageBackend::S3).then(|| uploads::S3Uploads::new(&settings.s3));
        Ok(Self {
            operator,
            kind: settings.backend,
            uploads,
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

    /// The objects under `prefix`, at any depth, with their last change.
    /// For the sweeps of a module's own prefix, which stay small enough
    /// to hold: plugin components and report files.
    pub async fn objects(&self, prefix: &str) -> Result<Vec<StoredObject>, StorageError> {
        let mut found = Vec::new();
        for entry in self.operator.list_with(prefix).recursive(true).await? {
            if !entry.metadata().is_file() {
                continue;
            }
            let key = entry.path().to_owned();
            // Listings of the local folder carry no times: ask for them.
            let modified = match entry.metadata().last_modified() {
                Some(time) => Some(time),
                None => self.operator.stat(&key).await?.last_modified(),
            };
            found.push(StoredObject {
                modified: modified.map(|t| Timestamp::from(std::time::SystemTime::from(t))),
                key,
            });
        }
        Ok(found)
    }

    /// Multipart uploads under `prefix` that were begun and never completed
    /// or aborted. Only S3 has them: the local folder writes an object in
    /// place (an interrupted write is a partial object at its own key, found
    /// by listing) and memory keeps nothing across a failure.
    pub async fn pending_uploads(&self, prefix: &str) -> Result<Vec<PendingUpload>, StorageError> {
        match &self.uploads {
            Some(s3) => s3.list(prefix).await,
            None => Ok(Vec::new()),
        }
    }

    /// Aborts `upload`, freeing its parts. An upload still being written
    /// fails at its next part, so callers abort only what is older than
    /// any upload can run.
    pub async fn abort_upload(&self, upload: &PendingUpload) -> Result<(), StorageError> {
        match &self.uploads {
            Some(s3) => s3.abort(upload).await,
            None => Ok(()),
        }
    }

    /// Aborts the pending uploads under `prefix` that began before
    /// `cutoff`, dating each with `started` (a key Aegis named carries its
    /// time; otherwise S3's initiation time, which `started` receives); an
    /// upload it cannot date is left alone. Returns how many went.
    pub async fn abort_stale_uploads(
        &self,
        prefix: &str,
        cutoff: Timestamp,
        started: impl Fn(&PendingUpload) -> Option<Timestamp>,
    ) -> Result<u64, StorageError> {
        let mut aborted = 0;
        for upload in self.pending_uploads(prefix).await? {
            if started(&upload).is_some_and(|at| at < cutoff) {
                self.abort_upload(&upload).await?;
                tracing::info!(key = upload.key, "aborted an unfinished multipart upload");
                aborted += 1;
            }
        }
        Ok(aborted)
    }

    /// Readiness: a round trip that needs the backend to answer.
    pub async fn ping(&self) -> Result<(), StorageError> {
        self.operator.check().await?;
        Ok(())
    }
}
