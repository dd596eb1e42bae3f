//! SQL for the catalog, releases and sync runs.

use std::collections::HashMap;

use aegis_core::db::{Conn, Db, escape_like, flag};
use aegis_core::time::{self, Timestamp};
use sqlx::{Any, Transaction};

use crate::model::{SyncCounts, SyncRun, TechniqueFilter, TechniqueSort};
use crate::source::Validators;
use crate::stix::{Catalog, Release, Tactic, Technique};

#[derive(sqlx::FromRow)]
struct TechniqueRow {
    attack_id: String,
    stix_id: String,
    name: String,
    description: String,
    detection: String,
    tactics: String,
    platforms: String,
    data_sources: String,
    url: Option<String>,
    version: Option<String>,
    created: String,
    modified: String,
    is_subtechnique: i64,
    parent_attack_id: Option<String>,
    revoked: i64,
    revoked_by: Option<String>,
    deprecated: i64,
    missing_since: Option<String>,
    /// Read by [`FULL_TECHNIQUE_COLUMNS`] only: lists leave the citations out.
    #[sqlx(default)]
    external_references: Option<String>,
}

/// A stored technique: the STIX fields plus when it left the catalog.
#[derive(Debug, Clone)]
pub struct StoredTechnique {
    pub technique: Technique,
    pub missing_since: Option<String>,
}

fn list(json: &str) -> Vec<String> {
    serde_json::from_str(json).unwrap_or_default()
}

impl From<TechniqueRow> for StoredTechnique {
    fn from(r: TechniqueRow) -> Self {
        StoredTechnique {
            technique: Technique {
                attack_id: r.attack_id,
                stix_id: r.stix_id,
                name: r.name,
                description: r.description,
                detection: r.detection,
                tactics: list(&r.tactics),
                platforms: list(&r.platforms),
                data_sources: list(&r.data_sources),
                url: r.url,
                version: r.version,
                created: r.created,
                modified: r.modified,
                is_subtechnique: r.is_subtechnique != 0,
                parent_attack_id: r.parent_attack_id,
                revoked: r.revoked != 0,
                revoked_by: r.revoked_by,
                deprecated: r.deprecated != 0,
                references: r
                    .external_references
                    .and_then(|json| serde_json::from_str(&json).ok())
                    .unwrap_or_default(),
            },
            missing_since: r.missing_since,
        }
    }
}

#[derive(sqlx::FromRow)]
struct TacticRow {
    attack_id: String,
    stix_id: String,
    short_name: String,
    name: String,
    description: String,
    url: Option<String>,
    matrix_order: i64,
    deprecated: i64,
    modified: String,
    missing_since: Option<String>,
}

#[derive(Debug, Clone)]
pub struct StoredTactic {
    pub tactic: Tactic,
    pub missing_since: Option<String>,
}

impl From<TacticRow> for StoredTactic {
    fn from(r: TacticRow) -> Self {
        StoredTactic {
            tactic: Tactic {
                attack_id: r.attack_id,
                stix_id: r.stix_id,
                short_name: r.short_name,
                name: r.name,
                description: r.description,
                url: r.url,
                matrix_order: r.matrix_order,
                deprecated: r.deprecated != 0,
                modified: r.modified,
            },
            missing_since: r.missing_since,
        }
    }
}

const TECHNIQUE_COLUMNS: &str = "attack_id, stix_id, name, description, detection, tactics, platforms, data_sources, url, version, created, modified, is_subtechnique, parent_attack_id, revoked, revoked_by, deprecated, missing_since";
/// One technique in full, its cited sources too (what a technique's page and
/// the sync's comparison need; lists and the matrix do without them).
const FULL_TECHNIQUE_COLUMNS: &str = "attack_id, stix_id, name, description, detection, tactics, platforms, data_sources, url, version, created, modified, is_subtechnique, parent_attack_id, revoked, revoked_by, deprecated, missing_since, external_references";
const TACTIC_COLUMNS: &str = "attack_id, stix_id, short_name, name, description, url, matrix_order, deprecated, modified, missing_since";

macro_rules! technique_filter {
    () => {
        "domain = $1
         AND ($2 IS NULL OR tactics LIKE $2 ESCAPE '\\')
         AND ($3 IS NULL OR platforms LIKE $3 ESCAPE '\\')
         AND ($4 IS NULL OR LOWER(attack_id) LIKE $4 ESCAPE '\\' OR LOWER(name) LIKE $4 ESCAPE '\\')
         AND ($5 = 1 OR is_subtechnique = 0)
         AND ($6 = 1 OR revoked = 0)
         AND ($7 = 1 OR deprecated = 0)"
    };
}

/// A sync run as the process running it holds it.
#[derive(Debug, Clone, Copy)]
pub struct RunLease<'a> {
    pub run_id: &'a str,
    /// The process's lease owner name.
    pub owner: &'a str,
}

/// How a run ended, as recorded.
#[derive(Debug, Clone, Copy)]
pub struct RunEnd<'a> {
    /// `succeeded`, `unchanged` or `failed`.
    pub status: &'a str,
    pub release: Option<&'a Release>,
    pub counts: &'a SyncCounts,
    pub error: Option<&'a str>,
    pub at: Timestamp,
}

#[derive(Clone, Debug)]
pub struct CatalogRepo {
    db: Db,
}

impl CatalogRepo {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    pub async fn release(
        &self,
        domain: &str,
    ) -> Result<Option<(Release, Validators)>, sqlx::Error> {
        let row: Option<(String, String, Option<String>, Option<String>)> =
            sqlx::query_as("SELECT version, modified, etag, last_modified FROM techniques_release WHERE domain = $1")
                .bind(domain)
                .fetch_optional(self.db.pool())
                .await?;
        Ok(row.map(|(version, modified, etag, last_modified)| {
            (
                Release {
                    domain: domain.into(),
                    version,
                    modified,
                },
                Validators {
                    etag,
                    last_modified,
                },
            )
        }))
    }

    /// HTTP validators of the last sync from `source`, whatever its domain.
    pub async fn validators_for_source(&self, source: &str) -> Result<Validators, sqlx::Error> {
        let row: Option<(Option<String>, Option<String>)> =
            sqlx::query_as("SELECT etag, last_modified FROM techniques_release WHERE source = $1 ORDER BY synced_at DESC LIMIT 1")
                .bind(source)
                .fetch_optional(self.db.pool())
                .await?;
        Ok(row
            .map(|(etag, last_modified)| Validators {
                etag,
                last_modified,
            })
            .unwrap_or_default())
    }

    /// Applies a catalog in one transaction: inserts, updates what changed,
    /// marks what disappeared, and records `run` as succeeded. Nothing is
    /// deleted. `None`, with nothing changed, when the run's lease was lost
    /// (another replica recorded it as interrupted): the catalog and the
    /// run's record never disagree.
    pub async fn apply(
        &self,
        catalog: &Catalog,
        source: &str,
        validators: &Validators,
        progress: &(dyn Fn(usize, usize) + Send + Sync),
        run: RunLease<'_>,
        at: Timestamp,
    ) -> Result<Option<SyncCounts>, sqlx::Error> {
        let domain = catalog.release.domain.as_str();
        let now = time::to_db(at);
        let mut tx = self.db.pool().begin().await?;
        let mut counts = SyncCounts::default();

        let existing_tactics: HashMap<String, StoredTactic> =
            self.tactics_in(&mut tx, domain).await?;
        for tactic in &catalog.tactics {
            let unchanged = existing_tactics
                .get(&tactic.attack_id)
                .is_some_and(|s| s.tactic == *tactic && s.missing_since.is_none());
            if !unchanged {
                upsert_tactic(&mut tx, domain, tactic).await?;
            }
        }
        for attack_id in existing_tactics
            .keys()
            .filter(|id| !catalog.tactics.iter().any(|t| &&t.attack_id == id))
        {
            sqlx::query("UPDATE techniques_tactic SET missing_since = $3 WHERE domain = $1 AND attack_id = $2 AND missing_since IS NULL")
                .bind(domain)
                .bind(attack_id)
                .bind(&now)
                .execute(&mut *tx)
                .await?;
        }

        let existing: HashMap<String, StoredTechnique> =
            self.techniques_in(&mut tx, domain).await?;
        let total = catalog.techniques.len();
        for (done, technique) in catalog.techniques.iter().enumerate() {
            match existing.get(&technique.attack_id) {
                None => {
                    counts.added += 1;
                    counts.revoked += i64::from(technique.revoked);
                    counts.deprecated += i64::from(technique.deprecated);
                    upsert_technique(&mut tx, domain, technique).await?;
                }
                Some(stored)
                    if stored.technique != *technique || stored.missing_since.is_some() =>
                {
                    counts.updated += 1;
                    counts.revoked += i64::from(technique.revoked && !stored.technique.revoked);
                    counts.deprecated +=
                        i64::from(technique.deprecated && !stored.technique.deprecated);
                    upsert_technique(&mut tx, domain, technique).await?;
                }
                Some(_) => {}
            }
            if done % 50 == 0 || done + 1 == total {
                progress(done + 1, total);
            }
        }
        let present: std::collections::HashSet<&str> = catalog
            .techniques
            .iter()
            .map(|t| t.attack_id.as_str())
            .collect();
        for (attack_id, stored) in &existing {
            if !present.contains(attack_id.as_str()) && stored.missing_since.is_none() {
                counts.missing += 1;
                sqlx::query("UPDATE techniques_technique SET missing_since = $3 WHERE domain = $1 AND attack_id = $2")
                    .bind(domain)
                    .bind(attack_id)
                    .bind(&now)
                    .execute(&mut *tx)
                    .await?;
            }
        }

        sqlx::query(
            "INSERT INTO techniques_release (domain, source, version, modified, etag, last_modified, synced_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (domain) DO UPDATE SET source = $2, version = $3, modified = $4, etag = $5, last_modified = $6, synced_at = $7",
        )
        .bind(domain)
        .bind(source)
        .bind(&catalog.release.version)
        .bind(&catalog.release.modified)
        .bind(&validators.etag)
        .bind(&validators.last_modified)
        .bind(&now)
        .execute(&mut *tx)
        .await?;
        let end = RunEnd {
            status: "succeeded",
            release: Some(&catalog.release),
            counts: &counts,
            error: None,
            at,
        };
        if !self.finish_run(&mut tx, run, &end).await? {
            return Ok(None);
        }
        tx.commit().await?;
        Ok(Some(counts))
    }

    async fn tactics_in(
        &self,
        tx: &mut Transaction<'_, Any>,
        domain: &str,
    ) -> Result<HashMap<String, StoredTactic>, sqlx::Error> {
        let sql = format!("SELECT {TACTIC_COLUMNS} FROM techniques_tactic WHERE domain = $1");
        let rows: Vec<TacticRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(domain)
            .fetch_all(&mut **tx)
            .await?;
        Ok(rows
            .into_iter()
            .map(|r| (r.attack_id.clone(), r.into()))
            .collect())
    }

    async fn techniques_in(
        &self,
        tx: &mut Transaction<'_, Any>,
        domain: &str,
    ) -> Result<HashMap<String, StoredTechnique>, sqlx::Error> {
        let sql =
            format!("SELECT {FULL_TECHNIQUE_COLUMNS} FROM techniques_technique WHERE domain = $1");
        let rows: Vec<TechniqueRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(domain)
            .fetch_all(&mut **tx)
            .await?;
        Ok(rows
            .into_iter()
            .map(|r| (r.attack_id.clone(), r.into()))
            .collect())
    }

    pub async fn tactics(&self, domain: &str) -> Result<Vec<StoredTactic>, sqlx::Error> {
        let sql = format!(
            "SELECT {TACTIC_COLUMNS} FROM techniques_tactic WHERE domain = $1 ORDER BY matrix_order, attack_id"
        );
        let rows: Vec<TacticRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(domain)
            .fetch_all(self.db.pool())
            .await?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    pub async fn technique(
        &self,
        domain: &str,
        attack_id: &str,
    ) -> Result<Option<StoredTechnique>, sqlx::Error> {
        let sql = format!(
            "SELECT {FULL_TECHNIQUE_COLUMNS} FROM techniques_technique WHERE domain = $1 AND attack_id = $2"
        );
        let row: Option<TechniqueRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(domain)
            .bind(attack_id)
            .fetch_optional(self.db.pool())
            .await?;
        Ok(row.map(Into::into))
    }

    pub async fn subtechniques(
        &self,
        domain: &str,
        parent: &str,
    ) -> Result<Vec<StoredTechnique>, sqlx::Error> {
        let sql = format!(
            "SELECT {TECHNIQUE_COLUMNS} FROM techniques_technique WHERE domain = $1 AND parent_attack_id = $2 ORDER BY attack_id"
        );
        let rows: Vec<TechniqueRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(domain)
            .bind(parent)
            .fetch_all(self.db.pool())
            .await?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    pub async fn search(
        &self,
        filter: &TechniqueFilter,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<StoredTechnique>, i64), sqlx::Error> {
        let tactic = filter
            .tactic
            .as_ref()
            .map(|t| format!("%\"{}\"%", escape_like(t)));
        let platform = filter
            .platform
            .as_ref()
            .map(|p| format!("%\"{}\"%", escape_like(p)));
        let text = filter
            .text
            .as_ref()
            .map(|q| format!("%{}%", escape_like(&q.to_lowercase())));
        macro_rules! bind_filter {
            ($query:expr) => {
                $query
                    .bind(&filter.domain)
                    .bind(&tactic)
                    .bind(&platform)
                    .bind(&text)
                    .bind(flag(filter.include_subtechniques))
                    .bind(flag(filter.include_revoked))
                    .bind(flag(filter.include_deprecated))
            };
        }
        let total: i64 = bind_filter!(sqlx::query_scalar(concat!(
            "SELECT COUNT(*) FROM techniques_technique WHERE ",
            technique_filter!()
        )))
        .fetch_one(self.db.pool())
        .await?;
        let order = match filter.sort {
            TechniqueSort::AttackId => "attack_id ASC",
            TechniqueSort::AttackIdDesc => "attack_id DESC",
            TechniqueSort::Name => "name ASC, attack_id ASC",
            TechniqueSort::NameDesc => "name DESC, attack_id ASC",
            TechniqueSort::Modified => "modified ASC, attack_id ASC",
            TechniqueSort::ModifiedDesc => "modified DESC, attack_id ASC",
        };
        let sql = format!(
            "SELECT {TECHNIQUE_COLUMNS} FROM techniques_technique WHERE {} ORDER BY {order} LIMIT $8 OFFSET $9",
            technique_filter!()
        );
        let rows: Vec<TechniqueRow> = bind_filter!(sqlx::query_as(sqlx::AssertSqlSafe(sql)))
            .bind(limit)
            .bind(offset)
            .fetch_all(self.db.pool())
            .await?;
        Ok((rows.into_iter().map(Into::into).collect(), total))
    }

    /// Every active technique and sub-technique of a domain (for the matrix).
    pub async fn active(&self, domain: &str) -> Result<Vec<StoredTechnique>, sqlx::Error> {
        let sql = format!(
            "SELECT {TECHNIQUE_COLUMNS} FROM techniques_technique WHERE domain = $1 AND revoked = 0 AND deprecated = 0 AND missing_since IS NULL ORDER BY attack_id"
        );
        let rows: Vec<TechniqueRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(domain)
            .fetch_all(self.db.pool())
            .await?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    /// Records every running run whose lease ran out by `now` as failed and
    /// interrupted; returns their ids. A run from before leases has none and
    /// counts as run out.
    pub async fn fail_abandoned(
        &self,
        conn: &mut Conn,
        now: Timestamp,
    ) -> Result<Vec<String>, sqlx::Error> {
        sqlx::query_scalar(
            "UPDATE techniques_sync_run SET status = 'failed', finished_at = $1,
                error = 'interrupted: the replica running it (' || COALESCE(lease_owner, 'unknown')
                    || ') stopped; its lease expired at ' || COALESCE(lease_expires_at, 'an unknown time')
             WHERE status = 'running' AND (lease_expires_at IS NULL OR lease_expires_at < $1)
             RETURNING id",
        )
        .bind(time::to_db(now))
        .fetch_all(conn)
        .await
    }

    /// Records `run` as running, leased to its owner until `expires_at`;
    /// false (nothing written) while another run is running, which the
    /// unique index on running runs decides across replicas.
    pub async fn start_run(
        &self,
        conn: &mut Conn,
        run: RunLease<'_>,
        trigger: &str,
        source: &str,
        started_at: Timestamp,
        expires_at: Timestamp,
    ) -> Result<bool, sqlx::Error> {
        let done = sqlx::query(
            "INSERT INTO techniques_sync_run (id, started_at, status, trigger_kind, domain, source, lease_owner, lease_expires_at)
             VALUES ($1, $2, 'running', $3, '', $4, $5, $6)
             ON CONFLICT DO NOTHING",
        )
        .bind(run.run_id)
        .bind(time::to_db(started_at))
        .bind(trigger)
        .bind(source)
        .bind(run.owner)
        .bind(time::to_db(expires_at))
        .execute(conn)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// The heartbeat of a run: false when it is no longer running under
    /// this lease.
    pub async fn renew_run(
        &self,
        run: RunLease<'_>,
        expires_at: Timestamp,
    ) -> Result<bool, sqlx::Error> {
        let done = sqlx::query(
            "UPDATE techniques_sync_run SET lease_expires_at = $3
             WHERE id = $1 AND lease_owner = $2 AND status = 'running'",
        )
        .bind(run.run_id)
        .bind(run.owner)
        .bind(time::to_db(expires_at))
        .execute(self.db.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Records how a run ended, only while it is still running under its
    /// lease; false (nothing written) when it was recorded as interrupted.
    pub async fn finish_run(
        &self,
        conn: &mut Conn,
        run: RunLease<'_>,
        end: &RunEnd<'_>,
    ) -> Result<bool, sqlx::Error> {
        let done = sqlx::query(
            "UPDATE techniques_sync_run SET finished_at = $3, status = $4, domain = COALESCE($5, domain), release_version = $6,
             added = $7, updated = $8, revoked = $9, deprecated = $10, missing = $11, error = $12
             WHERE id = $1 AND lease_owner = $2 AND status = 'running'",
        )
        .bind(run.run_id)
        .bind(run.owner)
        .bind(time::to_db(end.at))
        .bind(end.status)
        .bind(end.release.map(|r| r.domain.clone()))
        .bind(end.release.map(|r| r.version.clone()))
        .bind(end.counts.added)
        .bind(end.counts.updated)
        .bind(end.counts.revoked)
        .bind(end.counts.deprecated)
        .bind(end.counts.missing)
        .bind(end.error)
        .execute(conn)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Whether `domain` holds any technique, current or not.
    pub async fn has_techniques(&self, domain: &str) -> Result<bool, sqlx::Error> {
        let found: Option<i64> =
            sqlx::query_scalar("SELECT 1 FROM techniques_technique WHERE domain = $1 LIMIT 1")
                .bind(domain)
                .fetch_optional(self.db.pool())
                .await?;
        Ok(found.is_some())
    }

    pub async fn runs(&self, limit: i64, offset: i64) -> Result<(Vec<SyncRun>, i64), sqlx::Error> {
        let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM techniques_sync_run")
            .fetch_one(self.db.pool())
            .await?;
        let rows: Vec<SyncRun> = sqlx::query_as(
            "SELECT id, started_at, finished_at, status, trigger_kind, domain, source, release_version, added, updated, revoked, deprecated, missing, error
             FROM techniques_sync_run ORDER BY started_at DESC, id DESC LIMIT $1 OFFSET $2",
        )
        .bind(limit)
        .bind(offset)
        .fetch_all(self.db.pool())
        .await?;
        Ok((rows, total))
    }
}

async fn upsert_tactic(
    tx: &mut Transaction<'_, Any>,
    domain: &str,
    t: &Tactic,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO techniques_tactic (domain, attack_id, stix_id, short_name, name, description, url, matrix_order, deprecated, modified, missing_since)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, NULL)
         ON CONFLICT (domain, attack_id) DO UPDATE SET stix_id = $3, short_name = $4, name = $5, description = $6, url = $7,
           matrix_order = $8, deprecated = $9, modified = $10, missing_since = NULL",
    )
    .bind(domain)
    .bind(&t.attack_id)
    .bind(&t.stix_id)
    .bind(&t.short_name)
    .bind(&t.name)
    .bind(&t.description)
    .bind(&t.url)
    .bind(t.matrix_order)
    .bind(flag(t.deprecated))
    .bind(&t.modified)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn upsert_technique(
    tx: &mut Transaction<'_, Any>,
    domain: &str,
    t: &Technique,
) -> Result<(), sqlx::Error> {
    let json = |v: &Vec<String>| serde_json::to_string(v).unwrap_or_else(|_| "[]".into());
    let references = serde_json::to_string(&t.references).unwrap_or_else(|_| "[]".into());
    sqlx::query(
        "INSERT INTO techniques_technique (domain, attack_id, stix_id, name, description, detection, tactics, platforms, data_sources,
           url, version, created, modified, is_subtechnique, parent_attack_id, revoked, revoked_by, deprecated, missing_since,
           external_references)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, NULL, $19)
         ON CONFLICT (domain, attack_id) DO UPDATE SET stix_id = $3, name = $4, description = $5, detection = $6, tactics = $7,
           platforms = $8, data_sources = $9, url = $10, version = $11, created = $12, modified = $13, is_subtechnique = $14,
           parent_attack_id = $15, revoked = $16, revoked_by = $17, deprecated = $18, missing_since = NULL,
           external_references = $19",
    )
    .bind(domain)
    .bind(&t.attack_id)
    .bind(&t.stix_id)
    .bind(&t.name)
    .bind(&t.description)
    .bind(&t.detection)
    .bind(json(&t.tactics))
    .bind(json(&t.platforms))
    .bind(json(&t.data_sources))
    .bind(&t.url)
    .bind(&t.version)
    .bind(&t.created)
    .bind(&t.modified)
    .bind(flag(t.is_subtechnique))
    .bind(&t.parent_attack_id)
    .bind(flag(t.revoked))
    .bind(&t.revoked_by)
    .bind(flag(t.deprecated))
    .bind(references)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
