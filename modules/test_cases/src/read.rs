//! The read-only views of tests and evidence that alert rules, reports and
//! plugins are given (`aegis_core::plugins`), in one place: the port other
//! modules use instead of the tables. Tests are read from the published
//! `test_cases_fact` view, like every reader outside the module; evidence
//! from the module's own table, since this port lives inside the module.
//!
//! Here too: the SQL of the figures the maintained aggregates hold
//! ([`crate::aggregates`]), over any set of tests, so a reader scoped to a
//! campaign, platform or time computes them from the tests in its scope by
//! the same rules the aggregates keep for the whole history.

use aegis_core::db::{Bind, Db, Where, decode_opt_time, decode_time};
use aegis_core::plugins::{AttackOutcome, DetectionOutcome, EvidenceItem, TestState, TestView};

/// `scope` with `conditions` (no placeholders) added.
fn narrowed(scope: &Where, conditions: &[&str]) -> Where {
    let mut narrowed = scope.clone();
    for condition in conditions {
        narrowed.and(condition, Vec::<Bind>::new());
    }
    narrowed
}

/// Per procedure (technique and procedure key) of the tests `scope` selects
/// from `test_cases_fact t`: how many completed tests with an outcome, the
/// latest one's outcome (`latest_outcome`) and run time (`last_ran`), and
/// that latest test's id when it went undetected after an earlier test of
/// the procedure was prevented or alerted (`regressed_test_id`). "Latest"
/// orders by run time, then update time, then id. The columns of the view
/// `test_cases_procedure_latest`, which holds this for every test.
pub fn procedure_outcomes_sql(scope: &Where) -> String {
    let scope = narrowed(
        scope,
        &["t.state = 'completed'", "t.detection_outcome IS NOT NULL"],
    );
    format!(
        "SELECT technique_domain, technique_id, procedure_key, COUNT(*) AS tests,
                MAX(CASE WHEN pos = 1 THEN detection_outcome END) AS latest_outcome,
                MAX(ran_at) AS last_ran,
                CASE WHEN MAX(CASE WHEN pos > 1 AND detection_outcome IN ('prevented', 'alerted')
                                   THEN 1 ELSE 0 END) = 1
                     THEN MAX(CASE WHEN pos = 1 AND detection_outcome = 'not_detected' THEN id END)
                END AS regressed_test_id
         FROM (SELECT t.id, t.technique_domain, t.technique_id, t.procedure_key,
                      t.detection_outcome, t.ran_at,
                      ROW_NUMBER() OVER (
                          PARTITION BY t.technique_domain, t.technique_id, t.procedure_key
                          ORDER BY t.ran_at DESC, t.updated_at DESC, t.id DESC
                      ) AS pos
               FROM test_cases_fact t{}) ranked
         GROUP BY technique_domain, technique_id, procedure_key",
        scope.clause()
    )
}

/// Per state and detection outcome (`''` for none) of the tests `scope`
/// selects: how many, and the sums and counts of their times to detect and
/// to review in milliseconds. The columns of the view `test_cases_tally`.
pub fn tally_sql(scope: &Where) -> String {
    format!(
        "SELECT t.state, COALESCE(t.detection_outcome, '') AS outcome, COUNT(*) AS tests,
                CAST(COALESCE(SUM(t.ttd_ms), 0) AS BIGINT) AS ttd_sum, COUNT(t.ttd_ms) AS ttd_count,
                CAST(COALESCE(SUM(t.review_ms), 0) AS BIGINT) AS review_sum,
                COUNT(t.review_ms) AS review_count
         FROM test_cases_fact t{}
         GROUP BY t.state, COALESCE(t.detection_outcome, '')",
        scope.clause()
    )
}

/// How many completed tests of `scope` took each whole second to detect
/// (`ttd_second`, `tests`). The columns of the view `test_cases_ttd_histogram`.
pub fn ttd_histogram_sql(scope: &Where) -> String {
    format!(
        "SELECT t.ttd_ms / 1000 AS ttd_second, COUNT(*) AS tests FROM test_cases_fact t{}
         GROUP BY t.ttd_ms / 1000",
        ttd_scope(scope).clause()
    )
}

/// The completed tests of `scope` that have a time to detect.
pub fn ttd_scope(scope: &Where) -> Where {
    narrowed(scope, &["t.state = 'completed'", "t.ttd_ms IS NOT NULL"])
}

fn decode(what: &str, value: &str) -> sqlx::Error {
    sqlx::Error::Decode(format!("{what}: unknown value `{value}`").into())
}

#[derive(sqlx::FromRow)]
struct TestRow {
    id: String,
    name: String,
    technique_id: String,
    state: String,
    campaign_id: Option<String>,
    platform: Option<String>,
    attack_outcome: Option<String>,
    detection_outcome: Option<String>,
    executed_at: Option<String>,
    detected_at: Option<String>,
    submitted_at: Option<String>,
    updated_at: String,
}

fn unix(text: Option<&str>) -> Result<Option<i64>, sqlx::Error> {
    Ok(decode_opt_time(text)?.map(|t| t.timestamp()))
}

impl TryFrom<TestRow> for TestView {
    type Error = sqlx::Error;

    fn try_from(r: TestRow) -> Result<Self, sqlx::Error> {
        let state = TestState::parse(&r.state).ok_or_else(|| decode("state", &r.state))?;
        let attack_outcome = r
            .attack_outcome
            .as_deref()
            .map(|o| AttackOutcome::parse(o).ok_or_else(|| decode("attack_outcome", o)))
            .transpose()?;
        let detection_outcome = r
            .detection_outcome
            .as_deref()
            .map(|o| DetectionOutcome::parse(o).ok_or_else(|| decode("detection_outcome", o)))
            .transpose()?;
        Ok(Self {
            executed_at: unix(r.executed_at.as_deref())?,
            detected_at: unix(r.detected_at.as_deref())?,
            submitted_at: unix(r.submitted_at.as_deref())?,
            updated_at: decode_time(&r.updated_at)?.timestamp(),
            id: r.id,
            name: r.name,
            technique_id: r.technique_id,
            state,
            campaign_id: r.campaign_id,
            platform: r.platform,
            attack_outcome,
            detection_outcome,
        })
    }
}

/// Which tests a view covers: a campaign, a platform, or all.
#[derive(Debug, Clone, Default)]
pub struct ReadScope {
    pub campaign_id: Option<String>,
    pub platform: Option<String>,
}

#[derive(Clone, Debug)]
pub struct TestCaseReads {
    db: Db,
}

impl TestCaseReads {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    /// Tests in the scope, oldest first.
    pub async fn tests(&self, scope: &ReadScope) -> Result<Vec<TestView>, sqlx::Error> {
        let rows: Vec<TestRow> = sqlx::query_as(
            "SELECT id, name, technique_id, state, campaign_id, platform, attack_outcome,
                detection_outcome, executed_at, detected_at, submitted_at, updated_at
             FROM test_cases_fact
             WHERE ($1 IS NULL OR campaign_id = $1) AND ($2 IS NULL OR platform = $2)
             ORDER BY created_at, id",
        )
        .bind(&scope.campaign_id)
        .bind(&scope.platform)
        .fetch_all(self.db.pool())
        .await?;
        rows.into_iter().map(TryInto::try_into).collect()
    }

    /// The evidence of the tests in the scope, by test and upload time.
    pub async fn evidence(&self, scope: &ReadScope) -> Result<Vec<EvidenceItem>, sqlx::Error> {
        let rows: Vec<(String, String, String, String, i64, String)> = sqlx::query_as(
            "SELECT e.test_id, e.side, e.file_name, e.media_type, e.size_bytes, e.sha256
             FROM test_cases_evidence e JOIN test_cases_fact t ON t.id = e.test_id
             WHERE ($1 IS NULL OR t.campaign_id = $1) AND ($2 IS NULL OR t.platform = $2)
             ORDER BY e.test_id, e.uploaded_at",
        )
        .bind(&scope.campaign_id)
        .bind(&scope.platform)
        .fetch_all(self.db.pool())
        .await?;
        Ok(rows
            .into_iter()
            .map(
                |(test_id, side, file_name, media_type, size, sha256)| EvidenceItem {
                    test_id,
                    side,
                    file_name,
                    media_type,
                    size_bytes: u64::try_from(size).unwrap_or_default(),
                    sha256,
                },
            )
            .collect())
    }
}
