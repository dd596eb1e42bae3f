//! Taking a backup. Every table is read inside one read-only snapshot
//! (PostgreSQL `REPEATABLE READ READ ONLY`; on SQLite one read transaction,
//! which WAL keeps at one instant), so the rows are the database as of one
//! instant while the server keeps serving. The objects those rows name are
//! copied while the snapshot is open: objects are written once under a key
//! no later write reuses, and a row is committed only after its object is
//! stored, so the copy is the object as of the snapshot too. An object
//! deleted after the snapshot (its row went first) makes the attempt start
//! again from a newer snapshot, keeping what it already copied; an object
//! missing while its row is still there is damage, and the backup stops.

use std::collections::BTreeMap;
use std::path::Path;

use futures::TryStreamExt;
use serde_json::Value;
use sha2::{Digest, Sha256};
use sqlx::any::{AnyRow, AnyTypeInfoKind};
use sqlx::{AssertSqlSafe, Row, ValueRef};
use tokio::io::AsyncWriteExt;

use super::catalog::{self, MIGRATIONS_TABLE, quote};
use super::manifest::{self, Manifest, ObjectEntry, TableEntry};
use super::{BackupError, ObjectColumn, hex};
use crate::db::{Backend, Db};
use crate::storage::Storage;
use crate::time;

/// Snapshots tried before giving up when objects keep disappearing.
const ATTEMPTS: usize = 3;
const READ_CHUNK: usize = 1024 * 1024;

/// Backs up `db` and the objects in `storage` that `columns` name into
/// `dir`, which must be absent or empty. The manifest is written last, so
/// a folder without one is an unfinished backup; on failure the files
/// written so far are removed.
pub async fn take(
    db: &Db,
    storage: &Storage,
    columns: &[ObjectColumn],
    dir: &Path,
) -> Result<Manifest, BackupError> {
    prepare(dir)?;
    let taken = take_into(db, storage, columns, dir).await;
    if taken.is_err() {
        for part in ["tables", "objects", "manifest.json.partial"] {
            let path = dir.join(part);
            let _ = std::fs::remove_dir_all(&path).or_else(|_| std::fs::remove_file(&path));
        }
    }
    taken
}

fn prepare(dir: &Path) -> Result<(), BackupError> {
    match std::fs::read_dir(dir) {
        Ok(mut entries) => {
            if entries.next().is_some() {
                return Err(BackupError::NotEmpty(format!(
                    "{} is not empty: a backup goes into a new or empty folder",
                    dir.display()
                )));
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(BackupError::file(dir)(e)),
    }
    for sub in ["tables", "objects"] {
        std::fs::create_dir_all(dir.join(sub)).map_err(BackupError::file(dir.join(sub)))?;
    }
    Ok(())
}

async fn take_into(
    db: &Db,
    storage: &Storage,
    columns: &[ObjectColumn],
    dir: &Path,
) -> Result<Manifest, BackupError> {
    // Kept across attempts: a key names the same bytes for as long as it exists.
    let mut copied: BTreeMap<String, ObjectEntry> = BTreeMap::new();
    for attempt in 1..=ATTEMPTS {
        match snapshot(db, storage, columns, dir, &mut copied).await? {
            Attempt::Done(manifest) => {
                // Objects of an earlier attempt whose rows went meanwhile.
                for key in copied.keys() {
                    if !manifest.objects.iter().any(|o| &o.key == key) {
                        let _ = std::fs::remove_file(manifest::object_file(dir, key));
                    }
                }
                write_manifest(dir, &manifest)?;
                return Ok(manifest);
            }
            Attempt::Vanished(key) => {
                tracing::info!(
                    key,
                    attempt,
                    "an object was deleted during the backup; taking a newer snapshot"
                );
            }
        }
    }
    Err(BackupError::Damaged(format!(
        "objects were deleted during each of {ATTEMPTS} attempts; run the backup again"
    )))
}

enum Attempt {
    Done(Manifest),
    /// An object a snapshot row named was deleted since, with its row.
    Vanished(String),
}

/// What a snapshot row says about the object it names.
struct Named {
    column: ObjectColumn,
    sha256: Option<String>,
    size: Option<i64>,
}

impl Named {
    fn check(&self, key: &str, copy: &ObjectEntry) -> Result<(), BackupError> {
        let sha_differs = self
            .sha256
            .as_ref()
            .is_some_and(|sha| !sha.eq_ignore_ascii_case(&copy.sha256));
        let size_differs = self
            .size
            .is_some_and(|size| u64::try_from(size).ok() != Some(copy.size));
        if sha_differs || size_differs {
            return Err(BackupError::Damaged(format!(
                "the object {key} in storage ({} bytes, SHA-256 {}) is not the one {}.{} recorded; \
                 the store is damaged",
                copy.size, copy.sha256, self.column.table, self.column.key
            )));
        }
        Ok(())
    }
}

async fn snapshot(
    db: &Db,
    storage: &Storage,
    columns: &[ObjectColumn],
    dir: &Path,
    copied: &mut BTreeMap<String, ObjectEntry>,
) -> Result<Attempt, BackupError> {
    let backend = db.backend();
    let mut tx = match backend {
        Backend::Postgres => {
            db.pool()
                .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                .await?
        }
        // Deferred: the first read below fixes the snapshot.
        Backend::Sqlite => db.begin().await?,
    };
    let taken_at = time::to_db(time::now());
    let applied = catalog::applied_migrations(&mut tx, backend)
        .await?
        .unwrap_or_default();
    let Some(&schema_version) = applied.last() else {
        return Err(BackupError::Schema(
            "the database has never been migrated: there is nothing to back up".into(),
        ));
    };
    if let Some(unknown) = applied
        .iter()
        .find(|v| !backend.migrator().version_exists(**v))
    {
        return Err(BackupError::Schema(format!(
            "the database has migration {unknown}, which this Aegis does not know: \
             take the backup with the release that migrated it"
        )));
    }
    let tables: Vec<String> = catalog::tables(&mut tx, backend)
        .await?
        .into_iter()
        .filter(|t| t != MIGRATIONS_TABLE)
        .collect();

    let mut named: BTreeMap<String, Named> = BTreeMap::new();
    for column in columns
        .iter()
        .filter(|c| tables.iter().any(|t| t == c.table))
    {
        let sql = format!(
            "SELECT {key}, {sha}, {size} FROM {table} WHERE {key} IS NOT NULL",
            key = quote(column.key),
            sha = column
                .sha256
                .map_or_else(|| "CAST(NULL AS TEXT)".to_owned(), quote),
            size = column
                .size
                .map_or_else(|| "CAST(NULL AS BIGINT)".to_owned(), quote),
            table = quote(column.table),
        );
        let rows = sqlx::query(AssertSqlSafe(sql)).fetch_all(&mut *tx).await?;
        for row in rows {
            named.insert(
                row.try_get(0)?,
                Named {
                    column: *column,
                    sha256: row.try_get(1)?,
                    size: row.try_get(2)?,
                },
            );
        }
    }
    for (key, row) in &named {
        if let Some(copy) = copied.get(key) {
            row.check(key, copy)?;
            continue;
        }
        match copy_object(storage, dir, key).await? {
            Some(copy) => {
                row.check(key, &copy)?;
                copied.insert(key.clone(), copy);
            }
            None => return missing(db, &row.column, key).await,
        }
    }

    let mut entries = Vec::with_capacity(tables.len());
    for table in &tables {
        entries.push(dump_table(&mut tx, backend, table, dir).await?);
    }
    // Read only: nothing to commit.
    tx.rollback().await?;
    Ok(Attempt::Done(Manifest {
        format: manifest::FORMAT.into(),
        format_version: manifest::FORMAT_VERSION,
        aegis_version: env!("CARGO_PKG_VERSION").into(),
        schema_version,
        backend: backend.name().into(),
        taken_at,
        tables: entries,
        objects: named
            .keys()
            .filter_map(|k| copied.get(k).cloned())
            .collect(),
    }))
}

/// An object a snapshot row names is not in storage: deleted since the
/// snapshot when its row is gone now too (try a newer snapshot), damage
/// when the row is still there.
async fn missing(db: &Db, column: &ObjectColumn, key: &str) -> Result<Attempt, BackupError> {
    let sql = format!(
        "SELECT COUNT(*) FROM {} WHERE {} = $1",
        quote(column.table),
        quote(column.key)
    );
    let rows: i64 = sqlx::query_scalar(AssertSqlSafe(sql))
        .bind(key)
        .fetch_one(db.pool())
        .await?;
    if rows == 0 {
        Ok(Attempt::Vanished(key.to_owned()))
    } else {
        Err(BackupError::Damaged(format!(
            "the object {key}, named by {}.{}, is missing from storage; the store is damaged",
            column.table, column.key
        )))
    }
}

/// Copies `key` to `objects/<key>`, hashing it; `None` when storage has no
/// such object.
async fn copy_object(
    storage: &Storage,
    dir: &Path,
    key: &str,
) -> Result<Option<ObjectEntry>, BackupError> {
    manifest::check_key(key).map_err(|_| {
        BackupError::Damaged(format!(
            "a row names the storage key {key:?}, which cannot be a file of a backup"
        ))
    })?;
    let operator = storage.operator();
    match operator.stat(key).await {
        Ok(_) => {}
        Err(e) if e.kind() == opendal::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e.into()),
    }
    let path = manifest::object_file(dir, key);
    if let Some(parent) = path.parent() {
        tokio::fs::create_dir_all(parent)
            .await
            .map_err(BackupError::file(parent))?;
    }
    let mut file = tokio::fs::File::create(&path)
        .await
        .map_err(BackupError::file(&path))?;
    let mut stream = operator
        .reader_with(key)
        .chunk(READ_CHUNK)
        .await?
        .into_bytes_stream(..)
        .await?;
    let mut hasher = Sha256::new();
    let mut size = 0u64;
    loop {
        let chunk = match stream.try_next().await {
            Ok(Some(chunk)) => chunk,
            Ok(None) => break,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                drop(file);
                let _ = tokio::fs::remove_file(&path).await;
                return Ok(None);
            }
            Err(e) => {
                return Err(BackupError::Storage(opendal::Error::new(
                    opendal::ErrorKind::Unexpected,
                    format!("reading {key}: {e}"),
                )));
            }
        };
        hasher.update(&chunk);
        size += chunk.len() as u64;
        file.write_all(&chunk)
            .await
            .map_err(BackupError::file(&path))?;
    }
    file.sync_all().await.map_err(BackupError::file(&path))?;
    Ok(Some(ObjectEntry {
        key: key.to_owned(),
        size,
        sha256: hex(hasher),
    }))
}

/// Writes every row of `table` as one JSON object per line, keyed by
/// column name (so column order never matters), hashing as it goes.
async fn dump_table(
    conn: &mut crate::db::Conn,
    backend: Backend,
    table: &str,
    dir: &Path,
) -> Result<TableEntry, BackupError> {
    let columns: Vec<String> = catalog::columns(conn, backend, table)
        .await?
        .into_iter()
        .map(|c| c.name)
        .collect();
    let path = manifest::table_file(dir, table);
    let file = tokio::fs::File::create(&path)
        .await
        .map_err(BackupError::file(&path))?;
    let mut out = tokio::io::BufWriter::new(file);
    let mut hasher = Sha256::new();
    let mut rows = 0u64;
    let sql = format!(
        "SELECT {} FROM {}",
        columns
            .iter()
            .map(|c| quote(c))
            .collect::<Vec<_>>()
            .join(", "),
        quote(table)
    );
    let mut stream = sqlx::query(AssertSqlSafe(sql)).fetch(&mut *conn);
    while let Some(row) = stream.try_next().await? {
        let mut object = serde_json::Map::with_capacity(columns.len());
        for (i, name) in columns.iter().enumerate() {
            object.insert(name.clone(), value(&row, i, table, name)?);
        }
        let mut line = serde_json::to_vec(&object).map_err(|e| {
            BackupError::Damaged(format!("a row of {table} cannot be written: {e}"))
        })?;
        line.push(b'\n');
        hasher.update(&line);
        out.write_all(&line)
            .await
            .map_err(BackupError::file(&path))?;
        rows += 1;
    }
    out.flush().await.map_err(BackupError::file(&path))?;
    out.get_ref()
        .sync_all()
        .await
        .map_err(BackupError::file(&path))?;
    Ok(TableEntry {
        name: table.to_owned(),
        columns,
        rows,
        sha256: hex(hasher),
    })
}

/// One value as JSON: integers, reals and text, which is all the schema
/// holds (times are RFC 3339 text, booleans integers, JSON text).
fn value(row: &AnyRow, i: usize, table: &str, column: &str) -> Result<Value, BackupError> {
    let raw = row.try_get_raw(i)?;
    if raw.is_null() {
        return Ok(Value::Null);
    }
    let kind = raw.type_info().kind();
    match kind {
        AnyTypeInfoKind::SmallInt | AnyTypeInfoKind::Integer | AnyTypeInfoKind::BigInt => {
            Ok(Value::from(row.try_get::<i64, _>(i)?))
        }
        AnyTypeInfoKind::Real | AnyTypeInfoKind::Double => {
            serde_json::Number::from_f64(row.try_get::<f64, _>(i)?)
                .map(Value::Number)
                .ok_or_else(|| {
                    BackupError::Damaged(format!(
                        "{table}.{column} holds a number JSON cannot carry"
                    ))
                })
        }
        AnyTypeInfoKind::Text => Ok(Value::String(row.try_get::<String, _>(i)?)),
        other => Err(BackupError::Schema(format!(
            "{table}.{column} holds a {other:?} value, which backups do not carry"
        ))),
    }
}

/// `manifest.json`, written to a side file and renamed, so it appears whole.
fn write_manifest(dir: &Path, manifest: &Manifest) -> Result<(), BackupError> {
    let text = serde_json::to_vec_pretty(manifest)
        .map_err(|e| BackupError::Damaged(format!("the manifest cannot be written: {e}")))?;
    let partial = dir.join("manifest.json.partial");
    std::fs::write(&partial, text).map_err(BackupError::file(&partial))?;
    let done = dir.join(manifest::MANIFEST);
    std::fs::rename(&partial, &done).map_err(BackupError::file(&done))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir() -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("aegis-backup-unit-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    const FILES: ObjectColumn = ObjectColumn {
        table: "files",
        key: "storage_key",
        sha256: Some("sha256"),
        size: None,
    };

    #[tokio::test]
    async fn a_missing_object_is_a_deletion_only_when_its_row_went_too() {
        let dir = temp_dir();
        let url = format!("sqlite://{}?mode=rwc", dir.join("t.db").display());
        let db = Db::connect(&url, 2).await.unwrap();
        sqlx::query("CREATE TABLE files (storage_key TEXT, sha256 TEXT)")
            .execute(db.pool())
            .await
            .unwrap();
        sqlx::query("INSERT INTO files VALUES ('evidence/t/kept', 'x')")
            .execute(db.pool())
            .await
            .unwrap();

        let gone = missing(&db, &FILES, "evidence/t/deleted").await;
        assert!(
            matches!(gone, Ok(Attempt::Vanished(ref k)) if k == "evidence/t/deleted"),
            "a row deleted after the snapshot means try again"
        );
        match missing(&db, &FILES, "evidence/t/kept").await {
            Err(BackupError::Damaged(message)) => {
                assert!(message.contains("evidence/t/kept"), "{message}");
                assert!(message.contains("files.storage_key"), "{message}");
            }
            _ => panic!("a row without its object is damage"),
        }
        db.close().await;
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[tokio::test]
    async fn objects_are_copied_byte_for_byte_with_their_checksum() {
        let dir = temp_dir();
        let storage = Storage::memory();
        let bytes: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
        storage.put("reports/r1.pdf", bytes.clone()).await.unwrap();
        let copy = copy_object(&storage, &dir, "reports/r1.pdf")
            .await
            .unwrap()
            .expect("the object is there");
        assert_eq!(copy.size, bytes.len() as u64);
        assert_eq!(copy.sha256, format!("{:x}", Sha256::digest(&bytes)));
        assert_eq!(
            std::fs::read(dir.join("objects/reports/r1.pdf")).ok(),
            Some(bytes)
        );
        assert!(
            copy_object(&storage, &dir, "reports/none.pdf")
                .await
                .unwrap()
                .is_none()
        );
        let named = Named {
            column: FILES,
            sha256: Some("0".repeat(64)),
            size: None,
        };
        assert!(matches!(
            named.check("reports/r1.pdf", &copy),
            Err(BackupError::Damaged(_))
        ));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
