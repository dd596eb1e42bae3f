//! Persistence: one sqlx `AnyPool` for SQLite and PostgreSQL; the URL picks the
//! backend. Repositories write portable SQL with `$n` placeholders and keep ids,
//! times (RFC 3339 UTC text) and JSON as TEXT, booleans and counts as integers,
//! because `Any` cannot decode native uuid, timestamptz or boolean columns on
//! both backends. What must differ per backend stays in this file.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::migrate::Migrator;
use sqlx::{AnyPool, Executor};

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("../../migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("../../migrations/postgres");

/// How long a request waits for a database connection by default.
pub const DEFAULT_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn from_url(url: &str) -> Option<Self> {
        if url.starts_with("sqlite:") {
            Some(Self::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Some(Self::Postgres)
        } else {
            None
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
        }
    }

    /// SQL for the seconds since 1970 of an RFC 3339 text column, as a
    /// floating-point number, so durations can be aggregated in SQL.
    /// `column` must be a trusted identifier, never user input.
    pub fn epoch_seconds(self, column: &str) -> String {
        match self {
            Self::Sqlite => format!("((julianday({column}) - 2440587.5) * 86400.0)"),
            Self::Postgres => {
                format!(
                    "CAST(EXTRACT(EPOCH FROM CAST({column} AS TIMESTAMPTZ)) AS DOUBLE PRECISION)"
                )
            }
        }
    }

    /// The migration tree of this backend, embedded in the binary.
    pub fn migrator(self) -> &'static Migrator {
        match self {
            Self::Sqlite => &SQLITE_MIGRATIONS,
            Self::Postgres => &POSTGRES_MIGRATIONS,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("unsupported database URL (expected sqlite:// or postgres://)")]
    UnsupportedUrl,
    #[error("cannot prepare the SQLite folder: {0}")]
    Folder(#[from] std::io::Error),
    #[error(transparent)]
    Sqlx(#[from] sqlx::Error),
    #[error(transparent)]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

/// One unit of work: commit it, or drop it to roll back. Services open
/// one with [`Db::begin`] and hand `&mut tx` (a [`Conn`]) to repositories
/// and to [`crate::audit::AuditLog::record_in`], so a change and its audit
/// event commit or fail together.
pub type Tx = sqlx::Transaction<'static, sqlx::Any>;

/// What a repository writes through: a transaction (`&mut *tx`) or a pooled
/// connection.
pub type Conn = sqlx::AnyConnection;

/// The database handle every repository receives.
#[derive(Clone, Debug)]
pub struct Db {
    pool: AnyPool,
    backend: Backend,
}

impl Db {
    pub async fn connect(url: &str, max_connections: u32) -> Result<Self, DbError> {
        Self::connect_with(url, max_connections, DEFAULT_ACQUIRE_TIMEOUT).await
    }

    /// [`Db::connect`] with the longest a request waits for a connection
    /// before it fails (a 503) instead of hanging while the database is down.
    pub async fn connect_with(
        url: &str,
        max_connections: u32,
        acquire_timeout: Duration,
    ) -> Result<Self, DbError> {
        sqlx::any::install_default_drivers();
        let backend = Backend::from_url(url).ok_or(DbError::UnsupportedUrl)?;
        if backend == Backend::Sqlite {
            ensure_sqlite_folder(url)?;
        }
        let options = AnyConnectOptions::from_str(url)?;
        let pool = AnyPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(acquire_timeout)
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        // WAL lets readers run beside the one writer; the busy
                        // timeout queues writers instead of failing them.
                        // A 32 MiB page cache and in-memory sorts keep aggregate reports off the disk.
                        conn.execute("PRAGMA foreign_keys = ON; PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 10000; PRAGMA synchronous = NORMAL; PRAGMA cache_size = -32768; PRAGMA temp_store = MEMORY;")
                            .await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await?;
        Ok(Self { pool, backend })
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Starts a transaction; the service that opens it decides what one unit
    /// of work is and commits it. Dropped uncommitted, it rolls back.
    ///
    /// On SQLite it takes the write lock at once (`BEGIN IMMEDIATE`): a
    /// deferred transaction that reads and then writes fails with "database
    /// is locked", without waiting, when another connection wrote in
    /// between, whereas taking the lock first waits its turn (the busy
    /// timeout). SQLite has one writer at a time either way.
    pub async fn begin(&self) -> Result<Tx, sqlx::Error> {
        match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await,
            Backend::Postgres => self.pool.begin().await,
        }
    }

    /// Applies every pending migration of this backend; applied ones are skipped.
    pub async fn migrate(&self) -> Result<(), DbError> {
        self.backend.migrator().run(&self.pool).await?;
        Ok(())
    }

    /// Readiness: one round trip.
    pub async fn ping(&self) -> Result<(), DbError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

fn ensure_sqlite_folder(url: &str) -> Result<(), DbError> {
    let path = url
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:");
    let path = path.split('?').next().unwrap_or_default();
    if path.is_empty() || path == ":memory:" {
        return Ok(());
    }
    if let Some(parent) = Path::new(path).parent()
        && !parent.as_os_str().is_empty()
    {
        std::fs::create_dir_all(parent)?;
    }
    Ok(())
}

/// True when the database could not be reached: no connection within the
/// acquire timeout, a closed pool, or a connection that broke or answered
/// garbage while being opened (a server going away mid-handshake reads as a
/// protocol error). Such a request may be retried as it is (a 503), unlike
/// a statement the database refused.
pub fn is_unavailable(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(e) => e.code().is_some_and(|code| unavailable_code(&code)),
        _ => false,
    }
}

/// Codes a server sends when it, not the statement, is the problem: on
/// PostgreSQL (five-character SQLSTATEs) a lost connection (class 08), a
/// shutdown or restart ending the session (57P01-57P03) and too many
/// connections (53300); on SQLite (numbers below 10000) a database still
/// locked after the busy timeout (5, 6 and their extended codes). The
/// statement may be retried as it was.
fn unavailable_code(code: &str) -> bool {
    if code.len() == 5 {
        return code.starts_with("08") || matches!(code, "57P01" | "57P02" | "57P03" | "53300");
    }
    code.parse::<u32>()
        .is_ok_and(|sqlite| matches!(sqlite & 0xff, 5 | 6))
}

/// True when the error is a unique-constraint violation (a 409 for clients).
pub fn is_unique_violation(error: &sqlx::Error) -> bool {
    error
        .as_database_error()
        .is_some_and(|e| e.is_unique_violation())
}

/// True when a row points at one that is gone (the parent was deleted).
pub fn is_foreign_key_violation(error: &sqlx::Error) -> bool {
    error
        .as_database_error()
        .is_some_and(|e| e.is_foreign_key_violation())
}

/// Makes `%`, `_` and `\` literal in a LIKE pattern; pair it with
/// `LIKE $n ESCAPE '\'`, which both backends understand.
pub fn escape_like(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

/// A value bound to a [`Where`] placeholder.
#[derive(Debug, Clone, PartialEq)]
pub enum Bind {
    Text(String),
    Int(i64),
}

/// The conditions of a query, only those a request sets: each is plain SQL
/// the planner can match to an index on both backends, where a fixed
/// `($1 IS NULL OR col = $1)` hides the index from SQLite's planner and from
/// a PostgreSQL generic plan. `?` in a condition becomes the next `$n`.
#[derive(Debug, Clone, Default)]
pub struct Where {
    conditions: Vec<String>,
    binds: Vec<Bind>,
}

impl Where {
    /// Adds `condition`, its `?`s taking `values` in order.
    pub fn and(&mut self, condition: &str, values: impl IntoIterator<Item = Bind>) -> &mut Self {
        let mut sql = String::with_capacity(condition.len() + 8);
        for (i, part) in condition.split('?').enumerate() {
            if i > 0 {
                sql.push_str(&format!("${}", self.binds.len() + i));
            }
            sql.push_str(part);
        }
        let values: Vec<Bind> = values.into_iter().collect();
        assert_eq!(
            values.len(),
            condition.matches('?').count(),
            "one value per placeholder"
        );
        self.binds.extend(values);
        self.conditions.push(sql);
        self
    }

    /// `WHERE a AND b`, or nothing when no condition is set.
    pub fn clause(&self) -> String {
        if self.conditions.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", self.conditions.join(" AND "))
        }
    }

    /// The number the next placeholder after the conditions takes.
    pub fn next_placeholder(&self) -> usize {
        self.binds.len() + 1
    }

    pub fn binds(&self) -> &[Bind] {
        &self.binds
    }
}

/// Binds every value of a [`Where`] to a query, in order.
pub trait BindWhere: Sized {
    fn bind_where(self, conditions: &Where) -> Self;
}

macro_rules! impl_bind_where {
    (<$($generic:ident)?> $query:ty) => {
        impl<'q, $($generic)?> BindWhere for $query {
            fn bind_where(mut self, conditions: &Where) -> Self {
                for value in conditions.binds() {
                    self = match value {
                        Bind::Text(text) => self.bind(text.clone()),
                        Bind::Int(number) => self.bind(*number),
                    };
                }
                self
            }
        }
    };
}

impl_bind_where!(<> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>);
impl_bind_where!(<O> sqlx::query::QueryAs<'q, sqlx::Any, O, sqlx::any::AnyArguments>);
impl_bind_where!(<O> sqlx::query::QueryScalar<'q, sqlx::Any, O, sqlx::any::AnyArguments>);

impl Db {
    /// How the backend would run `sql` (with `conditions` bound), one line
    /// per plan step: PostgreSQL's `EXPLAIN`, SQLite's `EXPLAIN QUERY PLAN`.
    /// For tests that check a hot query uses its indexes.
    pub async fn query_plan(
        &self,
        sql: &str,
        conditions: &Where,
    ) -> Result<Vec<String>, sqlx::Error> {
        match self.backend {
            Backend::Postgres => {
                let sql = format!("EXPLAIN {sql}");
                sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(sql))
                    .bind_where(conditions)
                    .fetch_all(&self.pool)
                    .await
            }
            Backend::Sqlite => {
                let sql = format!("EXPLAIN QUERY PLAN {sql}");
                let rows: Vec<(i64, i64, i64, String)> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                    .bind_where(conditions)
                    .fetch_all(&self.pool)
                    .await?;
                Ok(rows.into_iter().map(|(_, _, _, detail)| detail).collect())
            }
        }
    }
}

/// A stored time column read back; a malformed one is a decode error.
pub fn decode_time(text: &str) -> Result<crate::time::Timestamp, sqlx::Error> {
    crate::time::from_db(text).map_err(|e| sqlx::Error::Decode(Box::new(e)))
}

/// [`decode_time`] for a nullable column.
pub fn decode_opt_time(text: Option<&str>) -> Result<Option<crate::time::Timestamp>, sqlx::Error> {
    text.map(decode_time).transpose()
}

/// `$first, …, $(first + count - 1)`: the placeholders of an `IN (...)` list
/// whose values are all bound. Only numbers are formatted into the SQL.
pub fn placeholders(first: usize, count: usize) -> String {
    (first..first + count)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Booleans live in integer columns on both backends.
pub fn flag(value: bool) -> i64 {
    i64::from(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_side_codes_are_unavailable_and_statement_codes_are_not() {
        for code in ["08006", "57P01", "57P03", "53300", "5", "517", "6"] {
            assert!(unavailable_code(code), "{code}");
        }
        // 22021 (bad encoding) is 5 modulo 256: only SQLite's numbers count.
        for code in ["23505", "22021", "42601", "19", "2067"] {
            assert!(!unavailable_code(code), "{code}");
        }
    }

    #[test]
    fn like_patterns_keep_wildcards_literal() {
        assert_eq!(escape_like(r"red_tech 50% \x"), r"red\_tech 50\% \\x");
    }
}
