//! The read-only views of tests and evidence that alert rules, reports and
//! plugins are given (`aegis_core::plugins`), in one place: the port other
//! modules use instead of the tables. Tests are read from the published
//! `test_cases_fact` view, like every reader outside the module; evidence
//! from the module's own table, since this port lives inside the module.

use aegis_core::db::{Db, decode_opt_time, decode_time};
use aegis_core::plugins::{AttackOutcome, DetectionOutcome, EvidenceItem, TestState, TestView};

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
