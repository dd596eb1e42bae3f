//! SQL for campaigns, and the per-campaign test counts read from the
//! test-case module's published view `test_cases_fact`. Private to the
//! module: writes go through the caller's connection (the service's
//! transaction); reads use the pool.

use std::collections::{BTreeMap, HashMap};

use aegis_core::concurrency::{Actor, WriteOutcome};
use aegis_core::db::{Conn, Db, decode_opt_time, decode_time, escape_like, placeholders};
use aegis_core::time;
use chrono::NaiveDate;

use crate::model::{Campaign, CampaignFields, CampaignFilter, CampaignStatus};

const COLUMNS: &str = "id, name, description, threat_actor, status, starts_on, ends_on, source, version, created_at, created_by, updated_at, updated_by, activated_at, completed_at";

#[derive(sqlx::FromRow)]
struct CampaignRow {
    id: String,
    name: String,
    description: String,
    threat_actor: Option<String>,
    status: String,
    starts_on: Option<String>,
    ends_on: Option<String>,
    source: String,
    version: i64,
    created_at: String,
    created_by: String,
    updated_at: String,
    updated_by: String,
    activated_at: Option<String>,
    completed_at: Option<String>,
}

fn date(text: Option<String>) -> Result<Option<NaiveDate>, sqlx::Error> {
    text.map(|t| {
        NaiveDate::parse_from_str(&t, "%Y-%m-%d").map_err(|e| sqlx::Error::Decode(Box::new(e)))
    })
    .transpose()
}

impl TryFrom<CampaignRow> for Campaign {
    type Error = sqlx::Error;

    fn try_from(r: CampaignRow) -> Result<Self, sqlx::Error> {
        Ok(Self {
            fields: CampaignFields {
                name: r.name,
                description: r.description,
                threat_actor: r.threat_actor,
                starts_on: date(r.starts_on)?,
                ends_on: date(r.ends_on)?,
            },
            status: CampaignStatus::parse(&r.status).ok_or_else(|| {
                sqlx::Error::Decode(format!("unknown status `{}`", r.status).into())
            })?,
            id: r.id,
            source: r.source,
            version: r.version,
            created_at: decode_time(&r.created_at)?,
            created_by: r.created_by,
            updated_at: decode_time(&r.updated_at)?,
            updated_by: r.updated_by,
            activated_at: decode_opt_time(r.activated_at.as_deref())?,
            completed_at: decode_opt_time(r.completed_at.as_deref())?,
        })
    }
}

fn day(d: Option<NaiveDate>) -> Option<String> {
    d.map(|d| d.format("%Y-%m-%d").to_string())
}

#[derive(Clone, Debug)]
pub struct CampaignRepo {
    db: Db,
}

impl CampaignRepo {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    pub async fn insert(
        &self,
        conn: &mut Conn,
        id: &str,
        f: &CampaignFields,
        source: &str,
        actor: &Actor,
    ) -> Result<(), sqlx::Error> {
        let at = time::to_db(actor.at);
        sqlx::query(
            "INSERT INTO campaigns_campaign (id, name, description, threat_actor, status, starts_on,
                ends_on, source, version, created_at, created_by, updated_at, updated_by)
             VALUES ($1, $2, $3, $4, 'planned', $5, $6, $7, 1, $8, $9, $8, $9)",
        )
        .bind(id)
        .bind(&f.name)
        .bind(&f.description)
        .bind(&f.threat_actor)
        .bind(day(f.starts_on))
        .bind(day(f.ends_on))
        .bind(source)
        .bind(&at)
        .bind(&actor.username)
        .execute(conn)
        .await?;
        Ok(())
    }

    pub async fn get(&self, id: &str) -> Result<Option<Campaign>, sqlx::Error> {
        let sql = format!("SELECT {COLUMNS} FROM campaigns_campaign WHERE id = $1");
        let row: Option<CampaignRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
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
        f: &CampaignFields,
        actor: &Actor,
    ) -> Result<WriteOutcome, sqlx::Error> {
        let done = sqlx::query(
            "UPDATE campaigns_campaign SET name = $3, description = $4, threat_actor = $5,
                starts_on = $6, ends_on = $7, version = version + 1, updated_at = $8, updated_by = $9
             WHERE id = $1 AND version = $2",
        )
        .bind(id)
        .bind(expected_version)
        .bind(&f.name)
        .bind(&f.description)
        .bind(&f.threat_actor)
        .bind(day(f.starts_on))
        .bind(day(f.ends_on))
        .bind(time::to_db(actor.at))
        .bind(&actor.username)
        .execute(conn)
        .await?;
        Ok(WriteOutcome::of_update(
            done.rows_affected(),
            expected_version,
        ))
    }

    /// Moves the campaign from `from` to `to` if it is still in `from`.
    pub async fn set_status(
        &self,
        conn: &mut Conn,
        id: &str,
        from: CampaignStatus,
        to: CampaignStatus,
        actor: &Actor,
    ) -> Result<bool, sqlx::Error> {
        let at = time::to_db(actor.at);
        let done = sqlx::query(
            "UPDATE campaigns_campaign SET status = $3, version = version + 1, updated_at = $4, updated_by = $5,
                activated_at = CASE WHEN $3 = 'active' THEN $4 ELSE activated_at END,
                completed_at = CASE WHEN $3 = 'completed' THEN $4 ELSE completed_at END
             WHERE id = $1 AND status = $2",
        )
        .bind(id)
        .bind(from.as_str())
        .bind(to.as_str())
        .bind(&at)
        .bind(&actor.username)
        .execute(conn)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Deletes a campaign that no test points at; false otherwise.
    pub async fn delete_if_empty(&self, conn: &mut Conn, id: &str) -> Result<bool, sqlx::Error> {
        let done = sqlx::query(
            "DELETE FROM campaigns_campaign WHERE id = $1
               AND NOT EXISTS (SELECT 1 FROM test_cases_fact WHERE campaign_id = $1)",
        )
        .bind(id)
        .execute(conn)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    pub async fn list(
        &self,
        filter: &CampaignFilter,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<Campaign>, i64), sqlx::Error> {
        let text = filter
            .text
            .as_ref()
            .map(|q| format!("%{}%", escape_like(&q.to_lowercase())));
        let status = filter.status.map(CampaignStatus::as_str);
        let condition = "($1 IS NULL OR status = $1)
             AND ($2 IS NULL OR LOWER(name) LIKE $2 ESCAPE '\\' OR LOWER(description) LIKE $2 ESCAPE '\\'
                  OR LOWER(threat_actor) LIKE $2 ESCAPE '\\')";
        let total: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT COUNT(*) FROM campaigns_campaign WHERE {condition}"
        )))
        .bind(status)
        .bind(&text)
        .fetch_one(self.db.pool())
        .await?;
        let rows: Vec<CampaignRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM campaigns_campaign WHERE {condition}
             ORDER BY created_at DESC, id DESC LIMIT $3 OFFSET $4"
        )))
        .bind(status)
        .bind(&text)
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

    /// Tests by state for each campaign (one grouped query).
    pub async fn progress(
        &self,
        ids: &[String],
    ) -> Result<HashMap<String, BTreeMap<String, i64>>, sqlx::Error> {
        let mut progress: HashMap<String, BTreeMap<String, i64>> = HashMap::new();
        if ids.is_empty() {
            return Ok(progress);
        }
        let placeholders = placeholders(1, ids.len());
        let sql = format!(
            "SELECT campaign_id, state, COUNT(*) FROM test_cases_fact WHERE campaign_id IN ({placeholders})
             GROUP BY campaign_id, state"
        );
        let mut query = sqlx::query_as::<_, (String, String, i64)>(sqlx::AssertSqlSafe(sql));
        for id in ids {
            query = query.bind(id);
        }
        for (campaign, state, count) in query.fetch_all(self.db.pool()).await? {
            progress.entry(campaign).or_default().insert(state, count);
        }
        Ok(progress)
    }
}

/// The test-case module's view of campaigns (see [`crate::campaign_directory`]).
#[async_trait::async_trait]
impl aegis_mod_test_cases::service::CampaignDirectory for CampaignRepo {
    async fn status(&self, id: &str) -> Result<Option<String>, sqlx::Error> {
        sqlx::query_scalar("SELECT status FROM campaigns_campaign WHERE id = $1")
            .bind(id)
            .fetch_optional(self.db.pool())
            .await
    }
}
