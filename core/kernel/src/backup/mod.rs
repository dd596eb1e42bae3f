//! Backup and restore of a whole installation: every table of the database,
//! read in one snapshot, and the objects in storage its rows name, written
//! to a folder in a backend-neutral form (JSON lines per table, the objects
//! byte for byte, a manifest with a SHA-256 of every file). A backup taken
//! on SQLite restores on PostgreSQL and the other way round.
//!
//! The kernel knows no feature: tables are found in the database's catalog,
//! and which columns hold storage keys is declared by each module
//! ([`crate::module::Module::object_columns`]). The key-value store (Redis)
//! is not backed up: it holds only login throttle counters and short-lived
//! locks; sign-outs are rows of `kernel_revoked_token` and so are in the
//! backup. The secret key that signs tokens is not either: see the README.

mod catalog;
pub mod manifest;
mod restore;
mod take;

use std::path::PathBuf;

pub use catalog::advance_sequences;
pub use manifest::{Manifest, ObjectEntry, TableEntry};
pub use restore::restore;
pub use take::take;

/// A column whose values are keys of objects in storage (evidence files,
/// rendered reports, plugin components), so a backup copies what its rows
/// need and checks each copy against the row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ObjectColumn {
    pub table: &'static str,
    /// The storage key; rows where it is NULL have no object.
    pub key: &'static str,
    /// The object's SHA-256 (hex), when the row keeps one.
    pub sha256: Option<&'static str>,
    /// The object's size in bytes, when the row keeps it.
    pub size: Option<&'static str>,
}

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// A file of the backup folder cannot be read or written.
    #[error("{}: {source}", path.display())]
    File {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("storage: {0}")]
    Storage(#[from] opendal::Error),
    /// The folder cannot be restored: incomplete, damaged, another format,
    /// or from a newer Aegis. Nothing was written.
    #[error("{0}")]
    BadBackup(String),
    /// The target of a restore already holds data, or the folder of a
    /// backup already holds files.
    #[error("{0}")]
    NotEmpty(String),
    /// The installation being backed up is inconsistent: an object a row
    /// names is missing from storage or differs from the row's checksum.
    #[error("{0}")]
    Damaged(String),
    /// The database's schema is not one this Aegis can carry: never
    /// migrated, migrated by a newer release, or a column of a type
    /// backups do not know.
    #[error("{0}")]
    Schema(String),
}

impl BackupError {
    fn file(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| Self::File { path, source }
    }
}

/// Hex SHA-256 of what was fed to `hasher`.
fn hex(hasher: sha2::Sha256) -> String {
    use sha2::Digest;
    format!("{:x}", hasher.finalize())
}
