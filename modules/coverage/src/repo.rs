//! The aggregate queries behind coverage and KPIs, and snapshot storage.
//! Every figure is computed by the database: no test is loaded into memory.
//! Reads what the test-case module publishes (its maintained aggregates, or
//! its SQL over the `test_cases_fact` view for a scope) and techniques
//! through the catalog's published view `techniques_catalog_technique`,
//! read-only. Writes (snapshots) go through
//! the caller's connection, so the service decides what one unit of work is.

use std::collections::BTreeMap;

use aegis_core::db::{Bind, BindWhere, Conn, Db, Where, escape_like};
use aegis_core::time::{self, Timestamp};
use aegis_mod_test_cases::read::{procedure_outcomes_sql, tally_sql, ttd_histogram_sql, ttd_scope};

use crate::model::{Kpis, Scope, Snapshot, Status, TechniqueCoverage};

/// The SQL behind one coverage or KPI request, public so that tests can
/// check its plans and benchmarks can time it bare. Every query binds
/// `conditions` first; coverage then binds the domain and, when the scope
/// names a platform, its [`platform_pattern`].
pub struct FigureQueries {
    /// Per catalog technique of the domain that is current (and applies to
    /// the platform in scope), plus any technique with tests: its own figures.
    pub coverage: String,
    /// Per technique of the domain, the tests behind its regressions.
    pub regressed: String,
    /// Rows of tests per state and outcome, with time sums.
    pub tally: String,
    /// Completed tests per whole second of time to detect (`tests`), with
    /// how many took that second or less (`upto`).
    pub ttd_histogram: String,
    pub conditions: Where,
}

/// Whole-history figures are read from the aggregates the test-case module
/// maintains (they scale with procedures, not tests). A scope (campaign,
/// platform, time range) computes the same figures from the tests it
/// selects by the module's published SQL: its cost grows with the tests in
/// scope, through the campaign index for a campaign.
pub fn figure_queries(scope: &Scope) -> FigureQueries {
    let conditions = scope_conditions(scope);
    let whole_history = conditions.binds().is_empty();
    let (procedures, tally, histogram) = if whole_history {
        (
            "SELECT technique_domain, technique_id, procedure_key, tests, latest_outcome, last_ran,
                    regressed_test_id FROM test_cases_procedure_latest"
                .to_owned(),
            "SELECT state, outcome, tests, ttd_sum, ttd_count, review_sum, review_count
             FROM test_cases_tally"
                .to_owned(),
            "SELECT ttd_second, tests FROM test_cases_ttd_histogram".to_owned(),
        )
    } else {
        (
            procedure_outcomes_sql(&conditions),
            tally_sql(&conditions),
            ttd_histogram_sql(&conditions),
        )
    };
    let domain = conditions.next_placeholder();
    let platform = if scope.platform.is_some() {
        format!(" AND LOWER(k.platforms) LIKE ${} ESCAPE '\\'", domain + 1)
    } else {
        String::new()
    };
    FigureQueries {
        coverage: format!(
            "WITH per_procedure AS ({procedures}), per_technique AS (
                SELECT technique_domain, technique_id,
                       CAST(SUM(tests) AS BIGINT) AS tests,
                       COUNT(*) AS procedures,
                       SUM(CASE WHEN latest_outcome IN ('prevented', 'alerted') THEN 1 ELSE 0 END) AS detected,
                       SUM(CASE WHEN latest_outcome = 'logged' THEN 1 ELSE 0 END) AS logged,
                       SUM(CASE WHEN latest_outcome = 'not_detected' THEN 1 ELSE 0 END) AS missed,
                       MAX(last_ran) AS last_tested_at
                FROM per_procedure WHERE technique_domain = ${domain}
                GROUP BY technique_domain, technique_id
             )
             SELECT k.attack_id, k.name, k.tactics, k.parent_attack_id, k.revoked, k.deprecated,
                    CASE WHEN k.missing_since IS NULL THEN 0 ELSE 1 END AS missing, k.revoked_by,
                    COALESCE(p.tests, 0) AS tests, COALESCE(p.procedures, 0) AS procedures,
                    COALESCE(p.detected, 0) AS detected, COALESCE(p.logged, 0) AS logged,
                    COALESCE(p.missed, 0) AS missed, p.last_tested_at
             FROM techniques_catalog_technique k
             LEFT JOIN per_technique p ON p.technique_domain = k.domain AND p.technique_id = k.attack_id
             WHERE k.domain = ${domain}
               AND (p.technique_id IS NOT NULL
                    OR (k.revoked = 0 AND k.deprecated = 0 AND k.missing_since IS NULL{platform}))
             ORDER BY k.attack_id"
        ),
        regressed: format!(
            "SELECT technique_id, regressed_test_id FROM ({procedures}) per_procedure
             WHERE technique_domain = ${domain} AND regressed_test_id IS NOT NULL
             ORDER BY technique_id, regressed_test_id"
        ),
        tally,
        ttd_histogram: format!(
            "SELECT ttd_second, CAST(SUM(tests) OVER (ORDER BY ttd_second) AS BIGINT) AS upto, tests
             FROM ({histogram}) h"
        ),
        conditions,
    }
}

/// The tests in scope: a campaign, a platform (any case), and a time range
/// on when the test ran (or was created, before it ran).
fn scope_conditions(scope: &Scope) -> Where {
    let mut conditions = Where::default();
    if let Some(campaign) = &scope.campaign_id {
        conditions.and("t.campaign_id = ?", [Bind::Text(campaign.clone())]);
    }
    if let Some(platform) = &scope.platform {
        conditions.and(
            "LOWER(t.platform) = ?",
            [Bind::Text(platform.to_lowercase())],
        );
    }
    if let Some(from) = scope.from {
        conditions.and("t.ran_at >= ?", [Bind::Text(time::to_db(from))]);
    }
    if let Some(to) = scope.to {
        conditions.and("t.ran_at < ?", [Bind::Text(time::to_db(to))]);
    }
    conditions
}

/// The milliseconds a whole second of time to detect covers, both ends
/// included: the database divides towards zero, so second 0 spans both signs.
fn second_range(second: i64) -> (i64, i64) {
    match second {
        0 => (-999, 999),
        s if s > 0 => (s * 1000, s * 1000 + 999),
        s => (s * 1000 - 999, s * 1000),
    }
}

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

/// One state and outcome of [`FigureQueries::tally`].
#[derive(sqlx::FromRow)]
struct TallyRow {
    state: String,
    outcome: String,
    tests: i64,
    ttd_sum: i64,
    ttd_count: i64,
    review_sum: i64,
    review_count: i64,
}

#[derive(Clone, Debug)]
pub struct CoverageRepo {
    db: Db,
}

/// The `$n` after the domain in [`FigureQueries::coverage`]: the lower-case
/// platform, quoted as in the stored JSON list and escaped for
/// `LIKE ... ESCAPE '\'`, so `%` and `_` in a name match literally.
pub fn platform_pattern(platform: &str) -> String {
    format!("%\"{}\"%", escape_like(&platform.to_lowercase()))
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
        let queries = figure_queries(scope);
        let mut coverage = sqlx::query_as::<_, CoverageRow>(sqlx::AssertSqlSafe(queries.coverage))
            .bind_where(&queries.conditions)
            .bind(domain);
        if let Some(platform) = &scope.platform {
            coverage = coverage.bind(platform_pattern(platform));
        }
        let rows = coverage.fetch_all(self.db.pool()).await?;
        let regressed: Vec<(String, String)> =
            sqlx::query_as(sqlx::AssertSqlSafe(queries.regressed))
                .bind_where(&queries.conditions)
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
        let queries = figure_queries(scope);
        let rows: Vec<TallyRow> = sqlx::query_as(sqlx::AssertSqlSafe(queries.tally))
            .bind_where(&queries.conditions)
            .fetch_all(self.db.pool())
            .await?;
        let mut by_state: BTreeMap<String, i64> = [
            "draft",
            "red_executing",
            "blue_evaluating",
            "completed",
            "cancelled",
        ]
        .into_iter()
        .map(|s| (s.to_owned(), 0))
        .collect();
        let mut outcomes: BTreeMap<String, i64> =
            ["prevented", "alerted", "logged", "not_detected"]
                .into_iter()
                .map(|o| (o.to_owned(), 0))
                .collect();
        let (mut total, mut ttd, mut review) = (0, (0, 0), (0, 0));
        for row in &rows {
            total += row.tests;
            *by_state.entry(row.state.clone()).or_default() += row.tests;
            if row.state == "completed" {
                if let Some(count) = outcomes.get_mut(&row.outcome) {
                    *count += row.tests;
                }
                ttd = (ttd.0 + row.ttd_sum, ttd.1 + row.ttd_count);
                review = (review.0 + row.review_sum, review.1 + row.review_count);
            }
        }
        let completed = by_state["completed"];
        let mean_seconds = |(sum, count): (i64, i64)| {
            (count > 0).then(|| round2(sum as f64 / count as f64 / 1000.0))
        };
        let detected = outcomes["prevented"] + outcomes["alerted"];
        let mut kpis = Kpis {
            tests_total: total,
            completed,
            detection_rate: crate::model::percent(detected, completed),
            prevention_rate: crate::model::percent(outcomes["prevented"], completed),
            tests_by_state: by_state,
            outcomes,
            mean_time_to_detect_seconds: mean_seconds(ttd),
            mean_blue_review_seconds: mean_seconds(review),
            ..Kpis::default()
        };
        if ttd.1 > 0 {
            kpis.median_time_to_detect_seconds = Some(round2(
                self.median_ttd(ttd.1, &queries.ttd_histogram, &queries.conditions)
                    .await?,
            ));
        }
        Ok(kpis)
    }

    /// The middle time to detect (or the mean of the two middle ones) of the
    /// `count` completed tests in scope that have one, in seconds: the
    /// histogram's running count finds the second holding each middle
    /// position, and only that second's tests are read, in order, through
    /// the `(state, ttd_ms)` index.
    async fn median_ttd(
        &self,
        count: i64,
        histogram: &str,
        scope: &Where,
    ) -> Result<f64, sqlx::Error> {
        let middle = if count % 2 == 0 {
            vec![count / 2 - 1, count / 2]
        } else {
            vec![count / 2]
        };
        let holding = format!(
            "SELECT ttd_second, upto - tests FROM ({histogram}) c WHERE upto > ${}
             ORDER BY ttd_second LIMIT 1",
            scope.next_placeholder()
        );
        let mut sum = 0_i64;
        for position in &middle {
            let second: Option<(i64, i64)> = sqlx::query_as(sqlx::AssertSqlSafe(holding.as_str()))
                .bind_where(scope)
                .bind(position)
                .fetch_optional(self.db.pool())
                .await?;
            // Tests written between the two reads; the next request counts them.
            let Some((second, before)) = second else {
                continue;
            };
            let (low, high) = second_range(second);
            let mut within = ttd_scope(scope);
            within.and(
                "t.ttd_ms >= ? AND t.ttd_ms <= ?",
                [Bind::Int(low), Bind::Int(high)],
            );
            let sql = format!(
                "SELECT t.ttd_ms FROM test_cases_fact t{} ORDER BY t.ttd_ms LIMIT 1 OFFSET ${}",
                within.clause(),
                within.next_placeholder()
            );
            let value: Option<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                .bind_where(&within)
                .bind(position - before)
                .fetch_optional(self.db.pool())
                .await?;
            sum += value.unwrap_or_default();
        }
        Ok(sum as f64 / middle.len() as f64 / 1000.0)
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
