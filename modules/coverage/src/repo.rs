//! The aggregate queries behind coverage and KPIs, and snapshot storage.
//! Every figure is computed by the database: no test is loaded into memory.
//! Reads test facts through the test-case module's published view
//! `test_cases_fact` and techniques through the catalog's published view
//! `techniques_catalog_technique`, read-only. Writes (snapshots) go through
//! the caller's connection, so the service decides what one unit of work is.

use std::collections::BTreeMap;

use aegis_core::db::{Conn, Db, escape_like};
use aegis_core::time::{self, Timestamp};

use crate::model::{Kpis, Scope, Snapshot, Status, TechniqueCoverage};

/// The tests in scope: `$1` campaign, `$2` lower-case platform, `$3`/`$4`
/// the time range on when the test ran (or was created, before it ran).
macro_rules! in_scope {
    () => {
        "($1 IS NULL OR t.campaign_id = $1)
         AND ($2 IS NULL OR LOWER(t.platform) = $2)
         AND ($3 IS NULL OR t.ran_at >= $3)
         AND ($4 IS NULL OR t.ran_at < $4)"
    };
}

/// Completed tests in scope, each ranked within its procedure (the template
/// it came from, else its procedure text): position 1 is the latest.
macro_rules! ranked_tests {
    () => {
        concat!(
            "SELECT t.id, t.technique_domain, t.technique_id, t.detection_outcome, t.ran_at, t.procedure_key,
                    ROW_NUMBER() OVER (
                        PARTITION BY t.technique_domain, t.technique_id, t.procedure_key
                        ORDER BY t.ran_at DESC, t.updated_at DESC, t.id DESC
                    ) AS pos
             FROM test_cases_fact t
             WHERE t.state = 'completed' AND t.detection_outcome IS NOT NULL AND ",
            in_scope!()
        )
    };
}

/// Per technique: every catalog technique of the domain that is current
/// (and applies to the platform in scope), plus any technique with tests.
/// `$6` is the platform as an escaped LIKE pattern over the stored JSON
/// list ([`platform_pattern`]), so `%` and `_` in a name match literally.
pub const COVERAGE_SQL: &str = concat!(
    "WITH ranked AS (",
    ranked_tests!(),
    "), per_procedure AS (
        SELECT technique_domain, technique_id,
               COUNT(*) AS tests,
               MAX(CASE WHEN pos = 1 THEN detection_outcome END) AS latest,
               MAX(ran_at) AS last_ran
        FROM ranked GROUP BY technique_domain, technique_id, procedure_key
     ), per_technique AS (
        SELECT technique_domain, technique_id,
               CAST(SUM(tests) AS BIGINT) AS tests,
               COUNT(*) AS procedures,
               SUM(CASE WHEN latest IN ('prevented', 'alerted') THEN 1 ELSE 0 END) AS detected,
               SUM(CASE WHEN latest = 'logged' THEN 1 ELSE 0 END) AS logged,
               SUM(CASE WHEN latest = 'not_detected' THEN 1 ELSE 0 END) AS missed,
               MAX(last_ran) AS last_tested_at
        FROM per_procedure GROUP BY technique_domain, technique_id
     )
     SELECT k.attack_id, k.name, k.tactics, k.parent_attack_id, k.revoked, k.deprecated,
            CASE WHEN k.missing_since IS NULL THEN 0 ELSE 1 END AS missing, k.revoked_by,
            COALESCE(p.tests, 0) AS tests, COALESCE(p.procedures, 0) AS procedures,
            COALESCE(p.detected, 0) AS detected, COALESCE(p.logged, 0) AS logged,
            COALESCE(p.missed, 0) AS missed, p.last_tested_at
     FROM techniques_catalog_technique k
     LEFT JOIN per_technique p ON p.technique_domain = k.domain AND p.technique_id = k.attack_id
     WHERE k.domain = $5
       AND (p.technique_id IS NOT NULL
            OR (k.revoked = 0 AND k.deprecated = 0 AND k.missing_since IS NULL
                AND ($6 IS NULL OR LOWER(k.platforms) LIKE $6 ESCAPE '\\')))
     ORDER BY k.attack_id"
);

/// The tests behind regressions: per technique of domain `$5`, the latest
/// test of each procedure that went undetected when an earlier test of the
/// same procedure was prevented or alerted. One pass over the ranked tests,
/// grouped by procedure: a correlated lookup into them made PostgreSQL
/// rescan the ranking for every latest test (seconds at 100,000 tests).
pub const REGRESSED_SQL: &str = concat!(
    "WITH ranked AS (",
    ranked_tests!(),
    "), per_procedure AS (
        SELECT technique_id,
               MAX(CASE WHEN pos = 1 AND detection_outcome = 'not_detected' THEN id END) AS missed,
               MAX(CASE WHEN pos > 1 AND detection_outcome IN ('prevented', 'alerted') THEN 1 ELSE 0 END)
                   AS detected_before
        FROM ranked WHERE technique_domain = $5
        GROUP BY technique_domain, technique_id, procedure_key
     )
     SELECT technique_id, missed FROM per_procedure
     WHERE missed IS NOT NULL AND detected_before = 1
     ORDER BY technique_id, missed"
);

/// Test counts by state and outcome, and the mean times to detect and to review.
pub const KPI_SQL: &str = concat!(
    "SELECT COUNT(*) AS total,
        SUM(CASE WHEN t.state = 'draft' THEN 1 ELSE 0 END) AS draft,
        SUM(CASE WHEN t.state = 'red_executing' THEN 1 ELSE 0 END) AS red_executing,
        SUM(CASE WHEN t.state = 'blue_evaluating' THEN 1 ELSE 0 END) AS blue_evaluating,
        SUM(CASE WHEN t.state = 'completed' THEN 1 ELSE 0 END) AS completed,
        SUM(CASE WHEN t.state = 'cancelled' THEN 1 ELSE 0 END) AS cancelled,
        SUM(CASE WHEN t.state = 'completed' AND t.detection_outcome = 'prevented' THEN 1 ELSE 0 END) AS prevented,
        SUM(CASE WHEN t.state = 'completed' AND t.detection_outcome = 'alerted' THEN 1 ELSE 0 END) AS alerted,
        SUM(CASE WHEN t.state = 'completed' AND t.detection_outcome = 'logged' THEN 1 ELSE 0 END) AS logged,
        SUM(CASE WHEN t.state = 'completed' AND t.detection_outcome = 'not_detected' THEN 1 ELSE 0 END) AS not_detected,
        CAST(AVG(CASE WHEN t.state = 'completed' THEN t.ttd_ms END) AS DOUBLE PRECISION) / 1000.0 AS mean_ttd,
        SUM(CASE WHEN t.state = 'completed' AND t.ttd_ms IS NOT NULL THEN 1 ELSE 0 END) AS ttd_count,
        CAST(AVG(CASE WHEN t.state = 'completed' THEN t.review_ms END) AS DOUBLE PRECISION) / 1000.0 AS mean_review
     FROM test_cases_fact t WHERE ",
    in_scope!()
);

/// The middle of the times to detect: `$5` values from offset `$6`.
const MEDIAN_SQL: &str = concat!(
    "SELECT t.ttd_ms FROM test_cases_fact t
     WHERE t.state = 'completed' AND t.ttd_ms IS NOT NULL AND ",
    in_scope!(),
    " ORDER BY t.ttd_ms LIMIT $5 OFFSET $6"
);

#[derive(sqlx::FromRow)]
struct CoverageRow {
    attack_id: String,
    name: String,
    tactics: String,
    parent_attack_id: Option<String>,
    revoked: i64,
    deprecated: i64,
    missing: i64,
    revoked_by: Option<String>,
    tests: i64,
    procedures: i64,
    detected: i64,
    logged: i64,
    missed: i64,
    last_tested_at: Option<String>,
}

#[derive(sqlx::FromRow)]
struct KpiRow {
    total: i64,
    draft: Option<i64>,
    red_executing: Option<i64>,
    blue_evaluating: Option<i64>,
    completed: Option<i64>,
    cancelled: Option<i64>,
    prevented: Option<i64>,
    alerted: Option<i64>,
    logged: Option<i64>,
    not_detected: Option<i64>,
    mean_ttd: Option<f64>,
    ttd_count: Option<i64>,
    mean_review: Option<f64>,
}

#[derive(Clone, Debug)]
pub struct CoverageRepo {
    db: Db,
}

fn scope_binds(
    scope: &Scope,
) -> (
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
) {
    (
        scope.campaign_id.clone(),
        scope.platform.as_ref().map(|p| p.to_lowercase()),
        scope.from.map(time::to_db),
        scope.to.map(time::to_db),
    )
}

/// The `$6` of [`COVERAGE_SQL`]: the lower-case platform, quoted as in the
/// stored JSON list and escaped for `LIKE ... ESCAPE '\'`.
pub fn platform_pattern(platform: Option<&str>) -> Option<String> {
    platform.map(|p| format!("%\"{}\"%", escape_like(&p.to_lowercase())))
}

impl CoverageRepo {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    /// Each technique's own figures, from its own tests only; the service
    /// rolls sub-techniques into their parents.
    pub async fn techniques(
        &self,
        domain: &str,
        scope: &Scope,
    ) -> Result<Vec<TechniqueCoverage>, sqlx::Error> {
        let (campaign, platform, from, to) = scope_binds(scope);
        let rows: Vec<CoverageRow> = sqlx::query_as(COVERAGE_SQL)
            .bind(&campaign)
            .bind(&platform)
            .bind(&from)
            .bind(&to)
            .bind(domain)
            .bind(platform_pattern(scope.platform.as_deref()))
            .fetch_all(self.db.pool())
            .await?;
        let regressed: Vec<(String, String)> = sqlx::query_as(REGRESSED_SQL)
            .bind(&campaign)
            .bind(&platform)
            .bind(&from)
            .bind(&to)
            .bind(domain)
            .fetch_all(self.db.pool())
            .await?;
        let mut regressed_by_technique: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (technique, test) in regressed {
            regressed_by_technique
                .entry(technique)
                .or_default()
                .push(test);
        }
        Ok(rows
            .into_iter()
            .map(|r| {
                let regressed_test_ids = regressed_by_technique
                    .remove(&r.attack_id)
                    .unwrap_or_default();
                TechniqueCoverage {
                    status: Status::from_counts(r.procedures, r.detected, r.missed),
                    attack_id: r.attack_id,
                    name: r.name,
                    tactics: serde_json::from_str(&r.tactics).unwrap_or_default(),
                    parent_attack_id: r.parent_attack_id,
                    tests: r.tests,
                    procedures: r.procedures,
                    detected: r.detected,
                    logged: r.logged,
                    missed: r.missed,
                    last_tested_at: r.last_tested_at,
                    regression: !regressed_test_ids.is_empty(),
                    regressed_test_ids,
                    subtechniques_tested: Vec::new(),
                    counted: false,
                    revoked: r.revoked != 0,
                    deprecated: r.deprecated != 0,
                    missing_from_release: r.missing != 0,
                    replaced_by: r.revoked_by,
                }
            })
            .collect())
    }

    /// KPIs that come straight from the tests (the technique counts are
    /// filled from coverage by the service).
    pub async fn kpis(&self, scope: &Scope) -> Result<Kpis, sqlx::Error> {
        let (campaign, platform, from, to) = scope_binds(scope);
        let row: KpiRow = sqlx::query_as(KPI_SQL)
            .bind(&campaign)
            .bind(&platform)
            .bind(&from)
            .bind(&to)
            .fetch_one(self.db.pool())
            .await?;
        let n = |v: Option<i64>| v.unwrap_or(0);
        let completed = n(row.completed);
        let mut kpis = Kpis {
            tests_total: row.total,
            tests_by_state: BTreeMap::from([
                ("draft".to_owned(), n(row.draft)),
                ("red_executing".to_owned(), n(row.red_executing)),
                ("blue_evaluating".to_owned(), n(row.blue_evaluating)),
                ("completed".to_owned(), completed),
                ("cancelled".to_owned(), n(row.cancelled)),
            ]),
            completed,
            outcomes: BTreeMap::from([
                ("prevented".to_owned(), n(row.prevented)),
                ("alerted".to_owned(), n(row.alerted)),
                ("logged".to_owned(), n(row.logged)),
                ("not_detected".to_owned(), n(row.not_detected)),
            ]),
            detection_rate: crate::model::percent(n(row.prevented) + n(row.alerted), completed),
            prevention_rate: crate::model::percent(n(row.prevented), completed),
            mean_time_to_detect_seconds: row.mean_ttd.map(round2),
            mean_blue_review_seconds: row.mean_review.map(round2),
            ..Kpis::default()
        };
        let count = n(row.ttd_count);
        if count > 0 {
            kpis.median_time_to_detect_seconds = Some(round2(
                self.median_ttd(count, (&campaign, &platform, &from, &to))
                    .await?,
            ));
        }
        Ok(kpis)
    }

    /// The middle value (or the mean of the two middle values) of `count`.
    async fn median_ttd(
        &self,
        count: i64,
        binds: (
            &Option<String>,
            &Option<String>,
            &Option<String>,
            &Option<String>,
        ),
    ) -> Result<f64, sqlx::Error> {
        let middle: Vec<i64> = sqlx::query_scalar(MEDIAN_SQL)
            .bind(binds.0)
            .bind(binds.1)
            .bind(binds.2)
            .bind(binds.3)
            .bind(if count % 2 == 0 { 2_i64 } else { 1 })
            .bind((count - 1) / 2)
            .fetch_all(self.db.pool())
            .await?;
        Ok(middle.iter().sum::<i64>() as f64 / middle.len().max(1) as f64 / 1000.0)
    }

    /// Stores `s` through `conn` (the caller's transaction).
    pub async fn insert_snapshot(&self, conn: &mut Conn, s: &Snapshot) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO coverage_snapshot (id, taken_at, trigger_kind, campaign_id, scope, kpis, statuses)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&s.id)
        .bind(time::to_db(s.taken_at))
        .bind(&s.trigger)
        .bind(&s.scope.campaign_id)
        .bind(serde_json::to_string(&s.scope).unwrap_or_default())
        .bind(serde_json::to_string(&s.kpis).unwrap_or_default())
        .bind(serde_json::to_string(&s.statuses).unwrap_or_default())
        .execute(conn)
        .await?;
        Ok(())
    }

    pub async fn snapshot(&self, id: &str) -> Result<Option<Snapshot>, sqlx::Error> {
        let row: Option<SnapshotRow> = sqlx::query_as(
            "SELECT id, taken_at, trigger_kind, scope, kpis, statuses FROM coverage_snapshot WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(self.db.pool())
        .await?;
        row.map(TryInto::try_into).transpose()
    }

    /// Newest first, without the per-technique statuses.
    pub async fn snapshots(
        &self,
        campaign_id: Option<&str>,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<Snapshot>, i64), sqlx::Error> {
        let total: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM coverage_snapshot WHERE ($1 IS NULL OR campaign_id = $1)",
        )
        .bind(campaign_id)
        .fetch_one(self.db.pool())
        .await?;
        let rows: Vec<SnapshotRow> = sqlx::query_as(
            "SELECT id, taken_at, trigger_kind, scope, kpis, '{}' AS statuses FROM coverage_snapshot
             WHERE ($1 IS NULL OR campaign_id = $1) ORDER BY taken_at DESC, id DESC LIMIT $2 OFFSET $3",
        )
        .bind(campaign_id)
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

    /// The newest snapshot taken for exactly this scope.
    pub async fn latest_for(&self, scope: &Scope) -> Result<Option<Snapshot>, sqlx::Error> {
        let row: Option<SnapshotRow> = sqlx::query_as(
            "SELECT id, taken_at, trigger_kind, scope, kpis, statuses FROM coverage_snapshot
             WHERE scope = $1 ORDER BY taken_at DESC, id DESC LIMIT 1",
        )
        .bind(serde_json::to_string(scope).unwrap_or_default())
        .fetch_optional(self.db.pool())
        .await?;
        row.map(TryInto::try_into).transpose()
    }

    /// Deletes snapshots taken before `cutoff`, never the newest one.
    pub async fn delete_before(
        &self,
        conn: &mut Conn,
        cutoff: Timestamp,
    ) -> Result<u64, sqlx::Error> {
        let done = sqlx::query(
            "DELETE FROM coverage_snapshot WHERE taken_at < $1
               AND id <> (SELECT id FROM coverage_snapshot ORDER BY taken_at DESC, id DESC LIMIT 1)",
        )
        .bind(time::to_db(cutoff))
        .execute(conn)
        .await?;
        Ok(done.rows_affected())
    }
}

#[derive(sqlx::FromRow)]
struct SnapshotRow {
    id: String,
    taken_at: String,
    trigger_kind: String,
    scope: String,
    kpis: String,
    statuses: String,
}

impl TryFrom<SnapshotRow> for Snapshot {
    type Error = sqlx::Error;

    fn try_from(r: SnapshotRow) -> Result<Self, sqlx::Error> {
        let json = |e: serde_json::Error| sqlx::Error::Decode(Box::new(e));
        Ok(Self {
            taken_at: aegis_core::db::decode_time(&r.taken_at)?,
            id: r.id,
            trigger: r.trigger_kind,
            scope: serde_json::from_str(&r.scope).map_err(json)?,
            kpis: serde_json::from_str(&r.kpis).map_err(json)?,
            statuses: serde_json::from_str(&r.statuses).map_err(json)?,
        })
    }
}

fn round2(value: f64) -> f64 {
    (value * 100.0).round() / 100.0
}
