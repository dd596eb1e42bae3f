//! SQL for test templates. Writes go through the caller's connection
//! (`&mut *tx`), reads use the pool.

use aegis_core::db::{Conn, Db, decode_time, escape_like, flag};
use aegis_core::time;

use crate::template::{TemplateFields, TemplateFilter, TemplateRecord};
use aegis_core::concurrency::{Actor, WriteOutcome};

const COLUMNS: &str = "id, name, description, technique_domain, technique_id, platforms, executor, command, cleanup_command, elevation_required, input_arguments, source, external_id, version, created_at, created_by, updated_at, updated_by";

macro_rules! template_filter {
    () => {
        "($1 IS NULL OR technique_id = $1 OR technique_id LIKE $2)
         AND ($3 IS NULL OR LOWER(platforms) LIKE $3 ESCAPE '\\')
         AND ($4 IS NULL OR source = $4)
         AND ($5 IS NULL OR LOWER(name) LIKE $5 ESCAPE '\\' OR LOWER(description) LIKE $5 ESCAPE '\\'
              OR LOWER(command) LIKE $5 ESCAPE '\\')"
    };
}

/// Binds the content columns in the order INSERT and UPDATE list them.
macro_rules! bind_content {
    ($query:expr, $f:expr, $hash:expr) => {
        $query
            .bind(&$f.name)
            .bind(&$f.description)
            .bind(&$f.technique_domain)
            .bind(&$f.technique_id)
            .bind(serde_json::to_string(&$f.platforms).unwrap_or_else(|_| "[]".into()))
            .bind(&$f.executor)
            .bind(&$f.command)
            .bind(&$f.cleanup_command)
            .bind(flag($f.elevation_required))
            .bind(serde_json::to_string(&$f.input_arguments).unwrap_or_else(|_| "{}".into()))
            .bind($hash)
    };
}

#[derive(sqlx::FromRow)]
struct TemplateRow {
    id: String,
    name: String,
    description: String,
    technique_domain: String,
    technique_id: String,
    platforms: String,
    executor: Option<String>,
    command: String,
    cleanup_command: Option<String>,
    elevation_required: i64,
    input_arguments: String,
    source: String,
    external_id: Option<String>,
    version: i64,
    created_at: String,
    created_by: String,
    updated_at: String,
    updated_by: String,
}

impl TryFrom<TemplateRow> for TemplateRecord {
    type Error = sqlx::Error;

    fn try_from(r: TemplateRow) -> Result<Self, sqlx::Error> {
        let json = |e: serde_json::Error| sqlx::Error::Decode(Box::new(e));
        Ok(Self {
            fields: TemplateFields {
                name: r.name,
                description: r.description,
                technique_domain: r.technique_domain,
                technique_id: r.technique_id,
                platforms: serde_json::from_str(&r.platforms).map_err(json)?,
                executor: r.executor,
                command: r.command,
                cleanup_command: r.cleanup_command,
                elevation_required: r.elevation_required != 0,
                input_arguments: serde_json::from_str(&r.input_arguments).map_err(json)?,
            },
            id: r.id,
            source: r.source,
            external_id: r.external_id,
            version: r.version,
            created_at: decode_time(&r.created_at)?,
            created_by: r.created_by,
            updated_at: decode_time(&r.updated_at)?,
            updated_by: r.updated_by,
        })
    }
}

/// What an import upsert did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Upserted {
    Created,
    Updated,
    Unchanged,
}

#[derive(Clone, Debug)]
pub(crate) struct TemplateRepo {
    db: Db,
}

impl TemplateRepo {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    #[allow(clippy::too_many_arguments)] // the row's own columns, one argument each
    pub async fn insert(
        &self,
        conn: &mut Conn,
        id: &str,
        fields: &TemplateFields,
        source: &str,
        external_id: Option<&str>,
        hash: &str,
        actor: &Actor,
    ) -> Result<(), sqlx::Error> {
        insert(conn, id, fields, source, external_id, hash, actor).await
    }

    pub async fn get(&self, id: &str) -> Result<Option<TemplateRecord>, sqlx::Error> {
        let sql = format!("SELECT {COLUMNS} FROM test_cases_template WHERE id = $1");
        let row: Option<TemplateRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(self.db.pool())
            .await?;
        row.map(TryInto::try_into).transpose()
    }

    pub async fn update(
        &self,
        conn: &mut Conn,
        id: &str,
        expected_version: i64,
        fields: &TemplateFields,
        hash: &str,
        actor: &Actor,
    ) -> Result<WriteOutcome, sqlx::Error> {
        let done = bind_content!(
            sqlx::query(
                "UPDATE test_cases_template SET version = version + 1, updated_at = $3, updated_by = $4,
                    name = $5, description = $6, technique_domain = $7, technique_id = $8,
                    platforms = $9, executor = $10, command = $11, cleanup_command = $12,
                    elevation_required = $13, input_arguments = $14, content_hash = $15
                 WHERE id = $1 AND version = $2"
            )
            .bind(id)
            .bind(expected_version)
            .bind(time::to_db(actor.at))
            .bind(&actor.username),
            fields,
            hash
        )
        .execute(conn)
        .await?;
        Ok(WriteOutcome::of_update(
            done.rows_affected(),
            expected_version,
        ))
    }

    pub async fn delete(&self, conn: &mut Conn, id: &str) -> Result<bool, sqlx::Error> {
        let done = sqlx::query("DELETE FROM test_cases_template WHERE id = $1")
            .bind(id)
            .execute(conn)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    pub async fn list(
        &self,
        filter: &TemplateFilter,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<TemplateRecord>, i64), sqlx::Error> {
        let subtechniques = filter.technique.as_ref().map(|t| format!("{t}.%"));
        let platform = filter
            .platform
            .as_ref()
            .map(|p| format!("%\"{}\"%", escape_like(&p.to_lowercase())));
        let text = filter
            .text
            .as_ref()
            .map(|q| format!("%{}%", escape_like(&q.to_lowercase())));
        macro_rules! bind_filter {
            ($query:expr) => {
                $query
                    .bind(&filter.technique)
                    .bind(&subtechniques)
                    .bind(&platform)
                    .bind(&filter.source)
                    .bind(&text)
            };
        }
        let total: i64 = bind_filter!(sqlx::query_scalar(concat!(
            "SELECT COUNT(*) FROM test_cases_template WHERE ",
            template_filter!()
        )))
        .fetch_one(self.db.pool())
        .await?;
        let sql = format!(
            "SELECT {COLUMNS} FROM test_cases_template WHERE {} ORDER BY technique_id, name, id LIMIT $6 OFFSET $7",
            template_filter!()
        );
        let rows: Vec<TemplateRow> = bind_filter!(sqlx::query_as(sqlx::AssertSqlSafe(sql)))
            .bind(limit)
            .bind(offset)
            .fetch_all(self.db.pool())
            .await?;
        let items = rows
            .into_iter()
            .map(TryInto::try_into)
            .collect::<Result<Vec<_>, _>>()?;
        Ok((items, total))
    }

    /// Inserts or updates the template with this external id through
    /// `conn`; an unchanged content hash writes nothing.
    pub async fn upsert_external(
        &self,
        conn: &mut Conn,
        source: &str,
        external_id: &str,
        fields: &TemplateFields,
        hash: &str,
        actor: &Actor,
    ) -> Result<Upserted, sqlx::Error> {
        let existing: Option<(String, String)> = sqlx::query_as(
            "SELECT id, content_hash FROM test_cases_template WHERE external_id = $1",
        )
        .bind(external_id)
        .fetch_optional(&mut *conn)
        .await?;
        match existing {
            None => {
                let id = uuid::Uuid::now_v7().to_string();
                insert(conn, &id, fields, source, Some(external_id), hash, actor).await?;
                Ok(Upserted::Created)
            }
            Some((_, stored)) if stored == hash => Ok(Upserted::Unchanged),
            Some((id, _)) => {
                bind_content!(
                    sqlx::query(
                        "UPDATE test_cases_template SET version = version + 1, updated_at = $2, updated_by = $3,
                            name = $4, description = $5, technique_domain = $6, technique_id = $7,
                            platforms = $8, executor = $9, command = $10, cleanup_command = $11,
                            elevation_required = $12, input_arguments = $13, content_hash = $14
                         WHERE id = $1"
                    )
                    .bind(&id)
                    .bind(time::to_db(actor.at))
                    .bind(&actor.username),
                    fields,
                    hash
                )
                .execute(&mut *conn)
                .await?;
                Ok(Upserted::Updated)
            }
        }
    }
}

async fn insert(
    conn: &mut Conn,
    id: &str,
    fields: &TemplateFields,
    source: &str,
    external_id: Option<&str>,
    hash: &str,
    actor: &Actor,
) -> Result<(), sqlx::Error> {
    let at = time::to_db(actor.at);
    bind_content!(
        sqlx::query(
            "INSERT INTO test_cases_template (id, source, external_id, version, created_at, created_by,
                updated_at, updated_by, name, description, technique_domain, technique_id,
                platforms, executor, command, cleanup_command, elevation_required,
                input_arguments, content_hash)
             VALUES ($1, $2, $3, 1, $4, $5, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)"
        )
        .bind(id)
        .bind(source)
        .bind(external_id)
        .bind(&at)
        .bind(&actor.username),
        fields,
        hash
    )
    .execute(conn)
    .await?;
    Ok(())
}
