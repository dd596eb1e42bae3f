//! What a backup folder holds and how its names are checked: a backup may
//! come from anywhere, so nothing read from it becomes a path, a table or
//! a storage key before it passes these checks.
//!
//! ```text
//! manifest.json            written last: a folder without it is incomplete
//! tables/<table>.jsonl     one JSON object per row, keyed by column name
//! objects/<storage key>    the objects the rows name, byte for byte
//! ```

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::BackupError;

/// Names the format, so a restore refuses any other folder.
pub const FORMAT: &str = "aegis-backup";
/// Bumped when the folder's layout or the row encoding changes.
pub const FORMAT_VERSION: u32 = 1;
pub const MANIFEST: &str = "manifest.json";

/// The table of contents of a backup, with a checksum for every file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    pub format: String,
    pub format_version: u32,
    /// The Aegis release that took it.
    pub aegis_version: String,
    /// The last migration applied to the database it was taken from.
    pub schema_version: i64,
    /// `sqlite` or `postgres`: where it came from (it restores into either).
    pub backend: String,
    /// The instant of the database snapshot (RFC 3339 UTC).
    pub taken_at: String,
    pub tables: Vec<TableEntry>,
    pub objects: Vec<ObjectEntry>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TableEntry {
    pub name: String,
    pub columns: Vec<String>,
    pub rows: u64,
    /// SHA-256 of `tables/<name>.jsonl`, lowercase hex.
    pub sha256: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectEntry {
    pub key: String,
    pub size: u64,
    /// SHA-256 of the object's bytes, lowercase hex.
    pub sha256: String,
}

impl Manifest {
    pub fn rows(&self) -> u64 {
        self.tables.iter().map(|t| t.rows).sum()
    }

    pub fn object_bytes(&self) -> u64 {
        self.objects.iter().map(|o| o.size).sum()
    }

    /// Reads and checks `dir/manifest.json`.
    pub fn read(dir: &Path) -> Result<Self, BackupError> {
        let path = dir.join(MANIFEST);
        let text = match std::fs::read(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(BackupError::BadBackup(format!(
                    "{} has no {MANIFEST}: not an Aegis backup, or one that did not finish",
                    dir.display()
                )));
            }
            Err(source) => return Err(BackupError::File { path, source }),
        };
        let manifest: Self = serde_json::from_slice(&text).map_err(|e| {
            BackupError::BadBackup(format!("{} is not a valid manifest: {e}", path.display()))
        })?;
        if manifest.format != FORMAT || manifest.format_version != FORMAT_VERSION {
            return Err(BackupError::BadBackup(format!(
                "{} is format {} version {}; this Aegis reads {FORMAT} version {FORMAT_VERSION}",
                path.display(),
                manifest.format,
                manifest.format_version
            )));
        }
        for table in &manifest.tables {
            check_identifier(&table.name)?;
            for column in &table.columns {
                check_identifier(column)?;
            }
        }
        for object in &manifest.objects {
            check_key(&object.key)?;
        }
        Ok(manifest)
    }
}

/// `dir/tables/<table>.jsonl`.
pub fn table_file(dir: &Path, table: &str) -> PathBuf {
    dir.join("tables").join(format!("{table}.jsonl"))
}

/// `dir/objects/<key>`, for a key that passed [`check_key`].
pub fn object_file(dir: &Path, key: &str) -> PathBuf {
    key.split('/')
        .fold(dir.join("objects"), |path, part| path.join(part))
}

/// Table and column names: what the schema uses, nothing that could leave
/// a quoted identifier or a file name.
pub fn check_identifier(name: &str) -> Result<(), BackupError> {
    let fine = !name.is_empty()
        && name.len() <= 63
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if fine {
        Ok(())
    } else {
        Err(BackupError::BadBackup(format!(
            "the manifest names a table or column {name:?}, which no Aegis schema has"
        )))
    }
}

/// A storage key becomes a path below `objects/`: relative, no `.` or `..`
/// segment, no empty segment, no backslash or NUL.
pub fn check_key(key: &str) -> Result<(), BackupError> {
    let fine = !key.is_empty()
        && key.len() <= 1024
        && !key.contains(['\\', '\0'])
        && key
            .split('/')
            .all(|part| !part.is_empty() && part != "." && part != "..");
    if fine {
        Ok(())
    } else {
        Err(BackupError::BadBackup(format!(
            "the manifest names an object {key:?}, which is not a storage key Aegis writes"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_stay_below_the_objects_folder() {
        for good in [
            "evidence/0192/0193",
            "reports/0192.pdf",
            "plugins/ab12.wasm",
        ] {
            assert!(check_key(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "/etc/passwd",
            "../x",
            "evidence/../../x",
            "a//b",
            "a/./b",
            "a\\b",
            "a\0b",
            "a/",
        ] {
            assert!(check_key(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            object_file(Path::new("/b"), "evidence/t/e"),
            Path::new("/b/objects/evidence/t/e")
        );
    }

    #[test]
    fn identifiers_are_plain_snake_case() {
        assert!(check_identifier("test_cases_test").is_ok());
        for bad in ["", "Users", "a\"b", "a b", "x;drop", "../t"] {
            assert!(check_identifier(bad).is_err(), "{bad:?}");
        }
    }
}
