//! SQL for reports. Writes go through the caller's connection (a
//! transaction when an audit event goes with them); reads use the pool.

use aegis_core::db::{Conn, Db, decode_opt_time, decode_time};
use aegis_core::time::{self, Timestamp};

use crate::model::{Report, ReportKind, ReportStatus};

const COLUMNS: &str = "id, kind, format, title, campaign_id, platform, status, progress, error,
    storage_key, media_type, file_name, size_bytes, created_at, created_by, finished_at";

#[derive(sqlx::FromRow)]
struct ReportRow {
    id: String,
    kind: String,
    format: String,
    title: String,
    campaign_id: Option<String>,
    platform: Option<String>,
    status: String,
    progress: i64,
    error: Option<String>,
    storage_key: Option<String>,
    media_type: Option<String>,
    file_name: Option<String>,
    size_bytes: Option<i64>,
    created_at: String,
    created_by: String,
    finished_at: Option<String>,
}

impl TryFrom<ReportRow> for Report {
    type Error = sqlx::Error;

    fn try_from(r: ReportRow) -> Result<Self, sqlx::Error> {
        let bad = |what: &str, v: &str| sqlx::Error::Decode(format!("{what} `{v}`").into());
        Ok(Self {
            kind: ReportKind::parse(&r.kind).ok_or_else(|| bad("kind", &r.kind))?,
            status: ReportStatus::parse(&r.status).ok_or_else(|| bad("status", &r.status))?,
            created_at: decode_time(&r.created_at)?,
            finished_at: decode_opt_time(r.finished_at.as_deref())?,
            id: r.id,
            format: r.format,
            title: r.title,
            campaign_id: r.campaign_id,
            platform: r.platform,
            progress: r.progress,
            error: r.error,
            storage_key: r.storage_key,
            media_type: r.media_type,
            file_name: r.file_name,
            size_bytes: r.size_bytes,
            created_by: r.created_by,
        })
    }
}

/// A report as the process generating it holds it.
#[derive(Debug, Clone, Copy)]
pub struct ReportLease<'a> {
    pub id: &'a str,
    /// The process's lease owner name.
    pub owner: &'a str,
}

/// Only a report still unfinished under its lease: once another replica
/// recorded it as interrupted, or it was deleted, its process writes nothing.
const HELD: &str = "id = $1 AND lease_owner = $2 AND status IN ('queued', 'running')";

/// Where a generated report's file is and what it is.
#[derive(Debug, Clone, Copy)]
pub struct StoredFile<'a> {
    pub storage_key: &'a str,
    pub media_type: &'a str,
    pub file_name: &'a str,
    pub size_bytes: i64,
}

#[derive(Clone, Debug)]
pub struct ReportRepo {
    db: Db,
}

impl ReportRepo {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    /// Records a requested report as queued, leased to `owner` until `expires_at`.
    pub async fn insert(
        &self,
        conn: &mut Conn,
        r: &Report,
        owner: &str,
        expires_at: Timestamp,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO reports_report (id, kind, format, title, campaign_id, platform, status,
                progress, created_at, created_by, lease_owner, lease_expires_at)
             VALUES ($1, $2, $3, $4, $5, $6, 'queued', 0, $7, $8, $9, $10)",
        )
        .bind(&r.id)
        .bind(r.kind.as_str())
        .bind(&r.format)
        .bind(&r.title)
        .bind(&r.campaign_id)
        .bind(&r.platform)
        .bind(time::to_db(r.created_at))
        .bind(&r.created_by)
        .bind(owner)
        .bind(time::to_db(expires_at))
        .execute(conn)
        .await?;
        Ok(())
    }

    pub async fn get(&self, id: &str) -> Result<Option<Report>, sqlx::Error> {
        let sql = format!("SELECT {COLUMNS} FROM reports_report WHERE id = $1");
        let row: Option<ReportRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(self.db.pool())
            .await?;
        row.map(TryInto::try_into).transpose()
    }

    /// Reports of a kind and status (either optional), newest first.
    pub async fn list(
        &self,
        kind: Option<ReportKind>,
        status: Option<ReportStatus>,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<Report>, i64), sqlx::Error> {
        const CONDITION: &str = "($1 IS NULL OR kind = $1) AND ($2 IS NULL OR status = $2)";
        let (kind, status) = (
            kind.map(ReportKind::as_str),
            status.map(ReportStatus::as_str),
        );
        let total: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT COUNT(*) FROM reports_report WHERE {CONDITION}"
        )))
        .bind(kind)
        .bind(status)
        .fetch_one(self.db.pool())
        .await?;
        let sql = format!(
            "SELECT {COLUMNS} FROM reports_report WHERE {CONDITION}
             ORDER BY created_at DESC, id DESC LIMIT $3 OFFSET $4"
        );
        let rows: Vec<ReportRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(kind)
            .bind(status)
            .bind(limit)
            .bind(offset)
            .fetch_all(self.db.pool())
            .await?;
        let items = rows
            .into_iter()
            .map(TryInto::try_into)
            .collect::<Result<_, _>>()?;
        Ok((items, total))
    }

    /// The report is running, `progress` percent done; false when it is no
    /// longer held under `lease`.
    pub async fn progress(
        &self,
        conn: &mut Conn,
        lease: ReportLease<'_>,
        progress: i64,
    ) -> Result<bool, sqlx::Error> {
        let sql =
            format!("UPDATE reports_report SET status = 'running', progress = $3 WHERE {HELD}");
        let done = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(lease.id)
            .bind(lease.owner)
            .bind(progress)
            .execute(conn)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// The heartbeat of a report's generation: false when it is no longer
    /// held under `lease`.
    pub async fn renew(
        &self,
        lease: ReportLease<'_>,
        expires_at: Timestamp,
    ) -> Result<bool, sqlx::Error> {
        let sql = format!("UPDATE reports_report SET lease_expires_at = $3 WHERE {HELD}");
        let done = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(lease.id)
            .bind(lease.owner)
            .bind(time::to_db(expires_at))
            .execute(self.db.pool())
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Records the stored file of a report; false when it is no longer held
    /// under `lease` (deleted, or recorded as interrupted).
    pub async fn ready(
        &self,
        conn: &mut Conn,
        lease: ReportLease<'_>,
        file: &StoredFile<'_>,
        at: Timestamp,
    ) -> Result<bool, sqlx::Error> {
        let sql = format!(
            "UPDATE reports_report SET status = 'ready', progress = 100, storage_key = $3,
                media_type = $4, file_name = $5, size_bytes = $6, finished_at = $7
             WHERE {HELD}"
        );
        let done = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(lease.id)
            .bind(lease.owner)
            .bind(file.storage_key)
            .bind(file.media_type)
            .bind(file.file_name)
            .bind(file.size_bytes)
            .bind(time::to_db(at))
            .execute(conn)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Records why a report failed; false when it is no longer held under `lease`.
    pub async fn failed(
        &self,
        conn: &mut Conn,
        lease: ReportLease<'_>,
        error: &str,
        at: Timestamp,
    ) -> Result<bool, sqlx::Error> {
        let sql = format!(
            "UPDATE reports_report SET status = 'failed', error = $3, finished_at = $4 WHERE {HELD}"
        );
        let done = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(lease.id)
            .bind(lease.owner)
            .bind(error)
            .bind(time::to_db(at))
            .execute(conn)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Records every unfinished report whose lease ran out by `now` as failed
    /// and interrupted (the process generating it stopped); returns their
    /// ids. One from before leases has none and counts as run out.
    pub async fn fail_abandoned(
        &self,
        conn: &mut Conn,
        now: Timestamp,
    ) -> Result<Vec<String>, sqlx::Error> {
        sqlx::query_scalar(
            "UPDATE reports_report SET status = 'failed', finished_at = $1,
                error = 'interrupted: the replica generating it (' || COALESCE(lease_owner, 'unknown')
                    || ') stopped; its lease expired at ' || COALESCE(lease_expires_at, 'an unknown time')
                    || '; generate it again'
             WHERE status IN ('queued', 'running')
                AND (lease_expires_at IS NULL OR lease_expires_at < $1)
             RETURNING id",
        )
        .bind(time::to_db(now))
        .fetch_all(conn)
        .await
    }

    /// Whether report `id` still needs the file at `storage_key`: it points
    /// at it, or it is still being generated (the file comes before the row
    /// says so).
    pub async fn claims_file(&self, id: &str, storage_key: &str) -> Result<bool, sqlx::Error> {
        let found: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM reports_report
             WHERE id = $1 AND (storage_key = $2 OR status IN ('queued', 'running'))",
        )
        .bind(id)
        .bind(storage_key)
        .fetch_one(self.db.pool())
        .await?;
        Ok(found > 0)
    }

    pub async fn delete(&self, conn: &mut Conn, id: &str) -> Result<bool, sqlx::Error> {
        let done = sqlx::query("DELETE FROM reports_report WHERE id = $1")
            .bind(id)
            .execute(conn)
            .await?;
        Ok(done.rows_affected() == 1)
    }
}
