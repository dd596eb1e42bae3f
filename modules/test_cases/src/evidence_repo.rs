//! SQL for evidence rows; the files themselves live in object storage.
//! Writes go through the caller's connection (`&mut *tx`), reads use the pool.

use aegis_core::db::{Conn, Db, decode_time};
use aegis_core::time::{self, Timestamp};

use crate::workflow::Side;

#[derive(Debug, Clone)]
pub struct EvidenceRecord {
    pub id: String,
    pub test_id: String,
    pub side: Side,
    pub file_name: String,
    pub media_type: String,
    pub size_bytes: i64,
    pub sha256: String,
    pub storage_key: String,
    pub description: String,
    pub uploaded_by_id: String,
    pub uploaded_by_name: String,
    pub uploaded_at: Timestamp,
}

#[derive(sqlx::FromRow)]
struct EvidenceRow {
    id: String,
    test_id: String,
    side: String,
    file_name: String,
    media_type: String,
    size_bytes: i64,
    sha256: String,
    storage_key: String,
    description: String,
    uploaded_by_id: String,
    uploaded_by_name: String,
    uploaded_at: String,
}

impl TryFrom<EvidenceRow> for EvidenceRecord {
    type Error = sqlx::Error;

    fn try_from(r: EvidenceRow) -> Result<Self, sqlx::Error> {
        Ok(Self {
            side: Side::parse(&r.side)
                .ok_or_else(|| sqlx::Error::Decode(format!("unknown side `{}`", r.side).into()))?,
            uploaded_at: decode_time(&r.uploaded_at)?,
            id: r.id,
            test_id: r.test_id,
            file_name: r.file_name,
            media_type: r.media_type,
            size_bytes: r.size_bytes,
            sha256: r.sha256,
            storage_key: r.storage_key,
            description: r.description,
            uploaded_by_id: r.uploaded_by_id,
            uploaded_by_name: r.uploaded_by_name,
        })
    }
}

const COLUMNS: &str = "id, test_id, side, file_name, media_type, size_bytes, sha256, storage_key, description, uploaded_by_id, uploaded_by_name, uploaded_at";

#[derive(Clone, Debug)]
pub(crate) struct EvidenceRepo {
    db: Db,
}

impl EvidenceRepo {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    /// Records the file if its test is still in one of `open_states` (the
    /// upload may have taken minutes); false when the test moved on.
    pub async fn insert_if_open(
        &self,
        conn: &mut Conn,
        e: &EvidenceRecord,
        open_states: &[&str],
    ) -> Result<bool, sqlx::Error> {
        let (first, second) = match open_states {
            [one] => (*one, *one),
            [one, two, ..] => (*one, *two),
            [] => return Ok(false),
        };
        let done = sqlx::query(
            "INSERT INTO test_cases_evidence (id, test_id, side, file_name, media_type, size_bytes, sha256,
                storage_key, description, uploaded_by_id, uploaded_by_name, uploaded_at)
             SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12
             WHERE EXISTS (SELECT 1 FROM test_cases_test WHERE id = $2 AND state IN ($13, $14))",
        )
        .bind(&e.id)
        .bind(&e.test_id)
        .bind(e.side.as_str())
        .bind(&e.file_name)
        .bind(&e.media_type)
        .bind(e.size_bytes)
        .bind(&e.sha256)
        .bind(&e.storage_key)
        .bind(&e.description)
        .bind(&e.uploaded_by_id)
        .bind(&e.uploaded_by_name)
        .bind(time::to_db(e.uploaded_at))
        .bind(first)
        .bind(second)
        .execute(conn)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn get(
        &self,
        test_id: &str,
        id: &str,
    ) -> Result<Option<EvidenceRecord>, sqlx::Error> {
        let sql =
            format!("SELECT {COLUMNS} FROM test_cases_evidence WHERE test_id = $1 AND id = $2");
        let row: Option<EvidenceRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(test_id)
            .bind(id)
            .fetch_optional(self.db.pool())
            .await?;
        row.map(TryInto::try_into).transpose()
    }

    pub async fn list(&self, test_id: &str) -> Result<Vec<EvidenceRecord>, sqlx::Error> {
        let sql = format!(
            "SELECT {COLUMNS} FROM test_cases_evidence WHERE test_id = $1 ORDER BY uploaded_at, id"
        );
        let rows: Vec<EvidenceRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(test_id)
            .fetch_all(self.db.pool())
            .await?;
        rows.into_iter().map(TryInto::try_into).collect()
    }

    /// Deletes the row; false when it was already gone.
    pub async fn delete(&self, conn: &mut Conn, id: &str) -> Result<bool, sqlx::Error> {
        let done = sqlx::query("DELETE FROM test_cases_evidence WHERE id = $1")
            .bind(id)
            .execute(conn)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    pub async fn key_exists(&self, storage_key: &str) -> Result<bool, sqlx::Error> {
        let found: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM test_cases_evidence WHERE storage_key = $1")
                .bind(storage_key)
                .fetch_one(self.db.pool())
                .await?;
        Ok(found > 0)
    }
}
