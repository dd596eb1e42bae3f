//! What a backup asks the database about its own schema — tables, columns,
//! foreign keys, applied migrations, sequences — the one place where the
//! backup's SQL differs per backend. Every name returned comes from the
//! database's catalog, never from a backup.

use sqlx::{AssertSqlSafe, Row};

use crate::db::{Backend, Conn};

use super::BackupError;

/// sqlx's record of applied migrations: not data, so never backed up; the
/// manifest's schema version stands for it.
pub const MIGRATIONS_TABLE: &str = "_sqlx_migrations";

/// How a column's values are carried in a backup and bound on restore.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnKind {
    Integer,
    Real,
    Text,
}

#[derive(Debug, Clone)]
pub struct Column {
    pub name: String,
    pub kind: ColumnKind,
}

/// `"name"`, for an identifier read from the catalog or checked by
/// [`super::manifest::check_identifier`].
pub fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Every table of the schema, sorted, the migrations table included (callers
/// decide what to do with it); views are not tables and hold no rows, and
/// neither are SQLite's virtual tables (the full-text index) and their
/// shadow tables: they are rebuilt from the rows.
pub async fn tables(conn: &mut Conn, backend: Backend) -> Result<Vec<String>, sqlx::Error> {
    let sql = match backend {
        Backend::Sqlite => {
            "SELECT name FROM pragma_table_list WHERE schema = 'main' AND type = 'table'
               AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name"
        }
        Backend::Postgres => {
            "SELECT CAST(table_name AS TEXT) FROM information_schema.tables
             WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY 1"
        }
    };
    sqlx::query_scalar(sql).fetch_all(conn).await
}

/// The columns of `table` in their order, each with how it is carried;
/// generated columns are computed again on insert, so not carried.
pub async fn columns(
    conn: &mut Conn,
    backend: Backend,
    table: &str,
) -> Result<Vec<Column>, BackupError> {
    let sql = match backend {
        Backend::Sqlite => "SELECT name, type FROM pragma_table_info($1) ORDER BY cid",
        Backend::Postgres => {
            "SELECT CAST(column_name AS TEXT), CAST(data_type AS TEXT) FROM information_schema.columns
             WHERE table_schema = current_schema() AND table_name = $1 AND is_generated = 'NEVER'
             ORDER BY ordinal_position"
        }
    };
    let rows = sqlx::query(sql).bind(table).fetch_all(conn).await?;
    rows.iter()
        .map(|row| {
            let name: String = row.try_get(0)?;
            let declared: String = row.try_get(1)?;
            let kind = kind_of(backend, &declared).ok_or_else(|| {
                BackupError::Schema(format!(
                    "{table}.{name} is of type {declared}, which backups do not carry \
                     (integers, reals and text)"
                ))
            })?;
            Ok(Column { name, kind })
        })
        .collect()
}

/// SQLite's type affinity rules; PostgreSQL's `data_type` names.
fn kind_of(backend: Backend, declared: &str) -> Option<ColumnKind> {
    match backend {
        Backend::Sqlite => {
            let upper = declared.to_ascii_uppercase();
            if upper.contains("INT") {
                Some(ColumnKind::Integer)
            } else if ["CHAR", "CLOB", "TEXT"].iter().any(|t| upper.contains(t)) {
                Some(ColumnKind::Text)
            } else if ["REAL", "FLOA", "DOUB"].iter().any(|t| upper.contains(t)) {
                Some(ColumnKind::Real)
            } else {
                None
            }
        }
        Backend::Postgres => match declared {
            "smallint" | "integer" | "bigint" => Some(ColumnKind::Integer),
            "text" | "character varying" | "character" => Some(ColumnKind::Text),
            "real" | "double precision" => Some(ColumnKind::Real),
            _ => None,
        },
    }
}

/// Every foreign key as (referencing table, referenced table).
pub async fn foreign_keys(
    conn: &mut Conn,
    backend: Backend,
    tables: &[String],
) -> Result<Vec<(String, String)>, sqlx::Error> {
    match backend {
        Backend::Sqlite => {
            let mut edges = Vec::new();
            for table in tables {
                let parents: Vec<String> =
                    sqlx::query_scalar("SELECT \"table\" FROM pragma_foreign_key_list($1)")
                        .bind(table)
                        .fetch_all(&mut *conn)
                        .await?;
                edges.extend(parents.into_iter().map(|p| (table.clone(), p)));
            }
            Ok(edges)
        }
        Backend::Postgres => {
            let rows = sqlx::query(
                "SELECT CAST(c.relname AS TEXT), CAST(p.relname AS TEXT)
                 FROM pg_constraint k
                 JOIN pg_class c ON c.oid = k.conrelid
                 JOIN pg_class p ON p.oid = k.confrelid
                 JOIN pg_namespace n ON n.oid = c.relnamespace
                 WHERE k.contype = 'f' AND n.nspname = current_schema()",
            )
            .fetch_all(conn)
            .await?;
            rows.iter()
                .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
                .collect()
        }
    }
}

/// The versions of the migrations applied, in order; `None` when the
/// database has never been migrated.
pub async fn applied_migrations(
    conn: &mut Conn,
    backend: Backend,
) -> Result<Option<Vec<i64>>, sqlx::Error> {
    if !tables(conn, backend)
        .await?
        .iter()
        .any(|t| t == MIGRATIONS_TABLE)
    {
        return Ok(None);
    }
    let versions = sqlx::query_scalar(AssertSqlSafe(format!(
        "SELECT version FROM {MIGRATIONS_TABLE} WHERE success ORDER BY version"
    )))
    .fetch_all(conn)
    .await?;
    Ok(Some(versions))
}

/// Moves every PostgreSQL sequence behind a column (serial or identity)
/// past the largest value restored, so the next insert does not collide
/// with a restored row. Aegis's own ids are text, so today there are none;
/// a table that gains one stays restorable.
pub async fn advance_sequences(conn: &mut Conn) -> Result<u64, sqlx::Error> {
    let columns = sqlx::query(
        "SELECT CAST(table_name AS TEXT), CAST(column_name AS TEXT) FROM information_schema.columns
         WHERE table_schema = current_schema()
           AND (column_default LIKE 'nextval(%' OR is_identity = 'YES')",
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut advanced = 0;
    for row in &columns {
        let table: String = row.try_get(0)?;
        let column: String = row.try_get(1)?;
        sqlx::query(AssertSqlSafe(format!(
            "SELECT CAST(setval(pg_get_serial_sequence($1, $2), COALESCE(MAX({}), 0) + 1, false) AS BIGINT) FROM {}",
            quote(&column),
            quote(&table)
        )))
        .bind(quote(&table))
        .bind(column.clone())
        .execute(&mut *conn)
        .await?;
        advanced += 1;
    }
    Ok(advanced)
}

/// Tables ordered so that every table comes after the tables it references
/// (a restore inserts in this order); a table referencing itself is left
/// to the rows' own order.
pub fn insertion_order(tables: &[String], edges: &[(String, String)]) -> Vec<String> {
    let mut ordered: Vec<String> = Vec::with_capacity(tables.len());
    let mut left: Vec<&String> = tables.iter().collect();
    while !left.is_empty() {
        let before = left.len();
        left.retain(|table| {
            let ready = edges.iter().all(|(child, parent)| {
                child != *table
                    || parent == *table
                    || !tables.contains(parent)
                    || ordered.contains(parent)
            });
            if ready {
                ordered.push((*table).clone());
            }
            !ready
        });
        if left.len() == before {
            // A cycle between tables: no order satisfies it; insert the rest
            // as they are and let the database name the violation.
            ordered.extend(left.drain(..).cloned());
        }
    }
    ordered
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parents_come_before_their_children() {
        let tables: Vec<String> = ["b_child", "a_grandchild", "c_parent", "d_alone"]
            .map(String::from)
            .to_vec();
        let edges = vec![
            ("b_child".to_owned(), "c_parent".to_owned()),
            ("a_grandchild".to_owned(), "b_child".to_owned()),
            ("a_grandchild".to_owned(), "a_grandchild".to_owned()),
            ("d_alone".to_owned(), "elsewhere".to_owned()),
        ];
        let order = insertion_order(&tables, &edges);
        let at = |t: &str| order.iter().position(|o| o == t).unwrap_or(usize::MAX);
        assert_eq!(order.len(), 4);
        assert!(at("c_parent") < at("b_child"));
        assert!(at("b_child") < at("a_grandchild"));
    }

    #[test]
    fn declared_types_map_to_how_values_are_carried() {
        assert_eq!(
            kind_of(Backend::Sqlite, "BIGINT"),
            Some(ColumnKind::Integer)
        );
        assert_eq!(kind_of(Backend::Sqlite, "TEXT"), Some(ColumnKind::Text));
        assert_eq!(kind_of(Backend::Sqlite, "BLOB"), None);
        assert_eq!(
            kind_of(Backend::Postgres, "integer"),
            Some(ColumnKind::Integer)
        );
        assert_eq!(kind_of(Backend::Postgres, "text"), Some(ColumnKind::Text));
        assert_eq!(kind_of(Backend::Postgres, "bytea"), None);
    }
}
