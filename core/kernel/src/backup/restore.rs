//! Restoring a backup into an empty installation, in an order that writes
//! nothing until everything is known to be right: the manifest and every
//! file's SHA-256 are checked first, then that the target database holds no
//! rows and the target storage no objects; then the database is migrated to
//! the backup's schema version, the objects are stored, every row is
//! inserted in one transaction (parents before children), and the remaining
//! migrations bring an older backup up to this release.

use std::collections::BTreeMap;
use std::path::Path;

use futures::TryStreamExt;
use serde_json::Value;
use sha2::{Digest, Sha256};
use sqlx::AssertSqlSafe;
use tokio::io::{AsyncBufReadExt, AsyncReadExt};

use super::catalog::{self, Column, ColumnKind, MIGRATIONS_TABLE, quote};
use super::manifest::{self, Manifest, ObjectEntry};
use super::{BackupError, hex};
use crate::db::{Backend, Conn, Db};
use crate::storage::Storage;

/// Bound values per INSERT, well below SQLite's and PostgreSQL's limits.
const MAX_PARAMETERS: usize = 900;
const READ_CHUNK: usize = 1024 * 1024;
/// S3 takes larger objects as a multipart upload in parts of this size.
const WRITE_CHUNK: usize = 8 * 1024 * 1024;

/// Restores the backup in `dir` into `db` and `storage`, which must hold no
/// rows and no objects. Returns the backup's manifest.
pub async fn restore(db: &Db, storage: &Storage, dir: &Path) -> Result<Manifest, BackupError> {
    let manifest = Manifest::read(dir)?;
    let backend = db.backend();
    let migrator = backend.migrator();
    let latest = migrator.iter().map(|m| m.version).max().unwrap_or_default();
    if manifest.schema_version > latest {
        return Err(BackupError::BadBackup(format!(
            "the backup was taken by a newer Aegis (schema {}, this one knows up to {latest}): \
             restore it with that release or a later one",
            manifest.schema_version
        )));
    }
    if !migrator.version_exists(manifest.schema_version) {
        return Err(BackupError::BadBackup(format!(
            "the backup's schema version {} is not a migration this Aegis knows",
            manifest.schema_version
        )));
    }
    verify(dir, &manifest).await?;

    let mut conn = db.pool().acquire().await?;
    check_empty(&mut conn, backend, storage, manifest.schema_version).await?;
    migrator.run_to(manifest.schema_version, &mut *conn).await?;
    let schema = schema(&mut conn, backend).await?;
    check_tables(&manifest, &schema)?;
    let names: Vec<String> = schema.keys().cloned().collect();
    let edges = catalog::foreign_keys(&mut conn, backend, &names).await?;
    let order = catalog::insertion_order(&names, &edges);
    drop(conn);

    // Objects before rows, as every upload does: a committed row never names
    // a missing object. If anything fails, the objects stored are removed.
    let mut stored = Vec::with_capacity(manifest.objects.len());
    let written = write(db, storage, dir, &manifest, &schema, &order, &mut stored).await;
    if let Err(error) = written {
        for key in &stored {
            let _ = storage.delete(key).await;
        }
        return Err(error);
    }
    migrator.run(db.pool()).await?;
    if backend == Backend::Postgres {
        let mut conn = db.pool().acquire().await?;
        catalog::advance_sequences(&mut conn).await?;
    }
    Ok(manifest)
}

async fn write(
    db: &Db,
    storage: &Storage,
    dir: &Path,
    manifest: &Manifest,
    schema: &BTreeMap<String, Vec<Column>>,
    order: &[String],
    stored: &mut Vec<String>,
) -> Result<(), BackupError> {
    for object in &manifest.objects {
        stored.push(object.key.clone());
        put_object(storage, dir, object).await?;
    }
    let mut tx = db.begin().await?;
    for table in order {
        if let Some(columns) = schema.get(table) {
            insert_table(&mut tx, dir, table, columns).await?;
        }
    }
    tx.commit().await?;
    Ok(())
}

/// Every file the manifest lists is there and matches its SHA-256 (and a
/// table file its row count), before anything is written.
async fn verify(dir: &Path, manifest: &Manifest) -> Result<(), BackupError> {
    for table in &manifest.tables {
        let path = manifest::table_file(dir, &table.name);
        let (sha256, _, lines) = digest(&path).await?;
        if sha256 != table.sha256 || lines != table.rows {
            return Err(damaged(dir, &path));
        }
    }
    for object in &manifest.objects {
        let path = manifest::object_file(dir, &object.key);
        let (sha256, size, _) = digest(&path).await?;
        if sha256 != object.sha256 || size != object.size {
            return Err(damaged(dir, &path));
        }
    }
    Ok(())
}

fn damaged(dir: &Path, path: &Path) -> BackupError {
    BackupError::BadBackup(format!(
        "the backup is damaged: {} does not match its SHA-256 in {}; nothing was restored",
        path.strip_prefix(dir).unwrap_or(path).display(),
        manifest::MANIFEST
    ))
}

/// SHA-256, size and number of lines of a file.
async fn digest(path: &Path) -> Result<(String, u64, u64), BackupError> {
    let mut file = match tokio::fs::File::open(path).await {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(BackupError::BadBackup(format!(
                "the backup is incomplete: {} is missing; nothing was restored",
                path.display()
            )));
        }
        Err(e) => return Err(BackupError::file(path)(e)),
    };
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; READ_CHUNK];
    let (mut size, mut lines) = (0u64, 0u64);
    loop {
        let n = file
            .read(&mut buffer)
            .await
            .map_err(BackupError::file(path))?;
        if n == 0 {
            return Ok((hex(hasher), size, lines));
        }
        hasher.update(&buffer[..n]);
        size += n as u64;
        lines += buffer[..n].iter().filter(|b| **b == b'\n').count() as u64;
    }
}

/// The target holds nothing: no table with a row, no migration past the
/// backup's, no object in storage.
async fn check_empty(
    conn: &mut Conn,
    backend: Backend,
    storage: &Storage,
    version: i64,
) -> Result<(), BackupError> {
    const FRESH: &str = "restore into a new, empty database and an empty storage folder or bucket \
                         prefix, before the first `aegis serve`";
    let tables = catalog::tables(conn, backend).await?;
    match catalog::applied_migrations(conn, backend).await? {
        None => {
            if let Some(table) = tables.first() {
                return Err(BackupError::NotEmpty(format!(
                    "the target database holds tables ({table}, ...) but no Aegis migrations: {FRESH}"
                )));
            }
        }
        Some(applied) => {
            if let Some(last) = applied.last().filter(|last| **last > version) {
                return Err(BackupError::NotEmpty(format!(
                    "the target database is migrated past the backup's schema ({last} > {version}): \
                     {FRESH}; the restore migrates it"
                )));
            }
            for table in tables.iter().filter(|t| *t != MIGRATIONS_TABLE) {
                let rows: i64 = sqlx::query_scalar(AssertSqlSafe(format!(
                    "SELECT COUNT(*) FROM {}",
                    quote(table)
                )))
                .fetch_one(&mut *conn)
                .await?;
                if rows > 0 {
                    return Err(BackupError::NotEmpty(format!(
                        "the target installation is not empty: {table} holds {rows} rows; {FRESH}"
                    )));
                }
            }
        }
    }
    let mut lister = storage.operator().lister_with("/").recursive(true).await?;
    while let Some(entry) = lister.try_next().await? {
        if entry.metadata().is_file() {
            return Err(BackupError::NotEmpty(format!(
                "the target storage is not empty: it holds {}; {FRESH}",
                entry.path()
            )));
        }
    }
    Ok(())
}

/// The target's tables and their columns, at the backup's schema version.
async fn schema(
    conn: &mut Conn,
    backend: Backend,
) -> Result<BTreeMap<String, Vec<Column>>, BackupError> {
    let mut schema = BTreeMap::new();
    for table in catalog::tables(conn, backend).await? {
        if table != MIGRATIONS_TABLE {
            let columns = catalog::columns(conn, backend, &table).await?;
            schema.insert(table, columns);
        }
    }
    Ok(schema)
}

/// The backup has exactly the target's tables, each with its columns.
fn check_tables(
    manifest: &Manifest,
    schema: &BTreeMap<String, Vec<Column>>,
) -> Result<(), BackupError> {
    let mismatch = |what: String| {
        BackupError::BadBackup(format!(
            "the backup does not match schema {}: {what}; nothing was restored",
            manifest.schema_version
        ))
    };
    for table in &manifest.tables {
        let Some(columns) = schema.get(&table.name) else {
            return Err(mismatch(format!(
                "it has a table {} the schema lacks",
                table.name
            )));
        };
        let mut have: Vec<&str> = columns.iter().map(|c| c.name.as_str()).collect();
        let mut want: Vec<&str> = table.columns.iter().map(String::as_str).collect();
        have.sort_unstable();
        want.sort_unstable();
        if have != want {
            return Err(mismatch(format!(
                "{} has columns {want:?}, the schema {have:?}",
                table.name
            )));
        }
    }
    if let Some(absent) = schema
        .keys()
        .find(|name| !manifest.tables.iter().any(|t| &t.name == *name))
    {
        return Err(mismatch(format!("it lacks the table {absent}")));
    }
    Ok(())
}

/// Stores one object from `objects/`, checking its bytes again as they go.
async fn put_object(
    storage: &Storage,
    dir: &Path,
    object: &ObjectEntry,
) -> Result<(), BackupError> {
    let path = manifest::object_file(dir, &object.key);
    let mut file = tokio::fs::File::open(&path)
        .await
        .map_err(BackupError::file(&path))?;
    let mut writer = storage
        .operator()
        .writer_with(&object.key)
        .chunk(WRITE_CHUNK)
        .await?;
    let mut hasher = Sha256::new();
    let mut size = 0u64;
    let mut buffer = vec![0u8; READ_CHUNK];
    let copied: Result<(), BackupError> = async {
        loop {
            let n = file
                .read(&mut buffer)
                .await
                .map_err(BackupError::file(&path))?;
            if n == 0 {
                return Ok(());
            }
            hasher.update(&buffer[..n]);
            size += n as u64;
            writer.write(buffer[..n].to_vec()).await?;
        }
    }
    .await;
    if let Err(error) = copied {
        let _ = writer.abort().await;
        return Err(error);
    }
    if hex(hasher) != object.sha256 || size != object.size {
        let _ = writer.abort().await;
        return Err(damaged(dir, &path));
    }
    writer.close().await?;
    Ok(())
}

/// Inserts every row of `tables/<table>.jsonl`, several rows a statement.
async fn insert_table(
    conn: &mut Conn,
    dir: &Path,
    table: &str,
    columns: &[Column],
) -> Result<(), BackupError> {
    let path = manifest::table_file(dir, table);
    let file = tokio::fs::File::open(&path)
        .await
        .map_err(BackupError::file(&path))?;
    let mut lines = tokio::io::BufReader::new(file).lines();
    let per_statement = (MAX_PARAMETERS / columns.len().max(1)).max(1);
    let mut batch: Vec<Vec<Value>> = Vec::with_capacity(per_statement);
    let mut number = 0u64;
    while let Some(line) = lines.next_line().await.map_err(BackupError::file(&path))? {
        number += 1;
        let bad = |what: String| BackupError::BadBackup(format!("{table}, row {number}: {what}"));
        let mut row: serde_json::Map<String, Value> =
            serde_json::from_str(&line).map_err(|e| bad(e.to_string()))?;
        let values = columns
            .iter()
            .map(|c| {
                row.remove(&c.name)
                    .ok_or_else(|| bad(format!("no value for {}", c.name)))
            })
            .collect::<Result<Vec<_>, _>>()?;
        if let Some(extra) = row.keys().next() {
            return Err(bad(format!("a value for {extra}, which the table lacks")));
        }
        batch.push(values);
        if batch.len() == per_statement {
            insert_rows(conn, table, columns, &mut batch).await?;
        }
    }
    if !batch.is_empty() {
        insert_rows(conn, table, columns, &mut batch).await?;
    }
    Ok(())
}

async fn insert_rows(
    conn: &mut Conn,
    table: &str,
    columns: &[Column],
    batch: &mut Vec<Vec<Value>>,
) -> Result<(), BackupError> {
    let names: Vec<String> = columns.iter().map(|c| quote(&c.name)).collect();
    let tuples: Vec<String> = (0..batch.len())
        .map(|r| {
            format!(
                "({})",
                crate::db::placeholders(r * columns.len() + 1, columns.len())
            )
        })
        .collect();
    let sql = format!(
        "INSERT INTO {} ({}) VALUES {}",
        quote(table),
        names.join(", "),
        tuples.join(", ")
    );
    let mut query = sqlx::query(AssertSqlSafe(sql));
    for row in batch.drain(..) {
        for (column, value) in columns.iter().zip(row) {
            query = match (column.kind, value) {
                (ColumnKind::Integer, Value::Null) => query.bind(None::<i64>),
                (ColumnKind::Real, Value::Null) => query.bind(None::<f64>),
                (ColumnKind::Text, Value::Null) => query.bind(None::<String>),
                (ColumnKind::Integer, Value::Number(n)) if n.is_i64() => query.bind(n.as_i64()),
                (ColumnKind::Real, Value::Number(n)) => query.bind(n.as_f64()),
                (ColumnKind::Text, Value::String(s)) => query.bind(s),
                (kind, value) => {
                    return Err(BackupError::BadBackup(format!(
                        "{table}.{}: {value} is not a value of kind {kind:?}",
                        column.name
                    )));
                }
            };
        }
    }
    query.execute(&mut *conn).await?;
    Ok(())
}
