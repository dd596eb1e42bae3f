//! SQL for alert rules, alerts, evaluations and webhook deliveries, and the
//! read of tests in a rule's scope.

use aegis_core::db::{
    Conn, Db, decode_opt_time, decode_time, flag, is_foreign_key_violation, is_unique_violation,
};
use aegis_core::plugins::Severity;
use aegis_core::time::{self, Timestamp};

use crate::model::{
    Alert, AlertFilter, AlertStatus, Delivery, Evaluation, Rule, RuleFields, RuleScope,
};

const RULE_COLUMNS: &str =
    "id, name, kind, params, severity, enabled, campaign_id, tactic, platform,
    webhook_url, webhook_secret, last_evaluated_at, last_error, version, created_at, created_by,
    updated_at, updated_by";

const ALERT_COLUMNS: &str =
    "id, rule_id, severity, title, message, technique_ids, test_ids, status,
    opened_at, acknowledged_at, acknowledged_by, resolved_at, resolved_by";

fn decode<E: std::fmt::Display>(what: &str) -> impl Fn(E) -> sqlx::Error + '_ {
    move |e| sqlx::Error::Decode(format!("{what}: {e}").into())
}

#[derive(sqlx::FromRow)]
struct RuleRow {
    id: String,
    name: String,
    kind: String,
    params: String,
    severity: String,
    enabled: i64,
    campaign_id: Option<String>,
    tactic: Option<String>,
    platform: Option<String>,
    webhook_url: Option<String>,
    webhook_secret: Option<String>,
    last_evaluated_at: Option<String>,
    last_error: Option<String>,
    version: i64,
    created_at: String,
    created_by: String,
    updated_at: String,
    updated_by: String,
}

impl TryFrom<RuleRow> for Rule {
    type Error = sqlx::Error;

    fn try_from(r: RuleRow) -> Result<Self, sqlx::Error> {
        Ok(Self {
            params: serde_json::from_str(&r.params).map_err(decode("params"))?,
            severity: Severity::parse(&r.severity)
                .ok_or_else(|| decode("severity")(&r.severity))?,
            enabled: r.enabled != 0,
            scope: RuleScope {
                campaign_id: r.campaign_id,
                tactic: r.tactic,
                platform: r.platform,
            },
            last_evaluated_at: decode_opt_time(r.last_evaluated_at.as_deref())?,
            created_at: decode_time(&r.created_at)?,
            updated_at: decode_time(&r.updated_at)?,
            id: r.id,
            name: r.name,
            kind: r.kind,
            webhook_url: r.webhook_url,
            webhook_secret: r.webhook_secret,
            last_error: r.last_error,
            version: r.version,
            created_by: r.created_by,
            updated_by: r.updated_by,
        })
    }
}

#[derive(sqlx::FromRow)]
struct AlertRow {
    id: String,
    rule_id: String,
    severity: String,
    title: String,
    message: String,
    technique_ids: String,
    test_ids: String,
    status: String,
    opened_at: String,
    acknowledged_at: Option<String>,
    acknowledged_by: Option<String>,
    resolved_at: Option<String>,
    resolved_by: Option<String>,
}

impl TryFrom<AlertRow> for Alert {
    type Error = sqlx::Error;

    fn try_from(r: AlertRow) -> Result<Self, sqlx::Error> {
        Ok(Self {
            severity: Severity::parse(&r.severity)
                .ok_or_else(|| decode("severity")(&r.severity))?,
            technique_ids: serde_json::from_str(&r.technique_ids)
                .map_err(decode("technique_ids"))?,
            test_ids: serde_json::from_str(&r.test_ids).map_err(decode("test_ids"))?,
            status: AlertStatus::parse(&r.status).ok_or_else(|| decode("status")(&r.status))?,
            opened_at: decode_time(&r.opened_at)?,
            acknowledged_at: decode_opt_time(r.acknowledged_at.as_deref())?,
            resolved_at: decode_opt_time(r.resolved_at.as_deref())?,
            id: r.id,
            rule_id: r.rule_id,
            title: r.title,
            message: r.message,
            acknowledged_by: r.acknowledged_by,
            resolved_by: r.resolved_by,
        })
    }
}

/// An `alerts_delivery` row: id, rule, alert, attempts, status, delivered, error, at.
type DeliveryRow = (
    String,
    String,
    String,
    i64,
    Option<i64>,
    i64,
    Option<String>,
    String,
);

/// An `alerts_evaluation` row: id, rule, trigger, started, duration, findings, opened, error.
type EvaluationRow = (
    String,
    String,
    String,
    String,
    i64,
    i64,
    i64,
    Option<String>,
);

type AnyQuery<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>;

/// A rule's fields, bound in column order (name … webhook_secret) after
/// whatever the statement binds first.
fn bind_fields<'q>(query: AnyQuery<'q>, f: &'q RuleFields) -> AnyQuery<'q> {
    query
        .bind(&f.name)
        .bind(&f.kind)
        .bind(f.params.to_string())
        .bind(f.severity.as_str())
        .bind(flag(f.enabled))
        .bind(&f.scope.campaign_id)
        .bind(&f.scope.tactic)
        .bind(&f.scope.platform)
        .bind(&f.webhook_url)
        .bind(&f.webhook_secret)
}

#[derive(Clone, Debug)]
pub struct AlertRepo {
    db: Db,
}

impl AlertRepo {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    pub async fn insert_rule(
        &self,
        conn: &mut Conn,
        id: &str,
        f: &RuleFields,
        who: &str,
        at: Timestamp,
    ) -> Result<(), sqlx::Error> {
        let query = sqlx::query(
            "INSERT INTO alerts_rule (id, name, kind, params, severity, enabled, campaign_id, tactic,
                platform, webhook_url, webhook_secret, version, created_at, created_by, updated_at, updated_by)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 1, $12, $13, $12, $13)",
        )
        .bind(id);
        bind_fields(query, f)
            .bind(time::to_db(at))
            .bind(who)
            .execute(&mut *conn)
            .await?;
        Ok(())
    }

    /// False when `expected_version` is no longer current.
    pub async fn update_rule(
        &self,
        conn: &mut Conn,
        id: &str,
        expected_version: i64,
        f: &RuleFields,
        who: &str,
        at: Timestamp,
    ) -> Result<bool, sqlx::Error> {
        let query = sqlx::query(
            "UPDATE alerts_rule SET name = $3, kind = $4, params = $5, severity = $6, enabled = $7,
                campaign_id = $8, tactic = $9, platform = $10, webhook_url = $11, webhook_secret = $12,
                version = version + 1, updated_at = $13, updated_by = $14
             WHERE id = $1 AND version = $2",
        )
        .bind(id)
        .bind(expected_version);
        let done = bind_fields(query, f)
            .bind(time::to_db(at))
            .bind(who)
            .execute(&mut *conn)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn rule(&self, id: &str) -> Result<Option<Rule>, sqlx::Error> {
        let sql = format!("SELECT {RULE_COLUMNS} FROM alerts_rule WHERE id = $1");
        let row: Option<RuleRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(self.db.pool())
            .await?;
        row.map(TryInto::try_into).transpose()
    }

    /// Every rule, enabled ones only when asked, by name.
    pub async fn rules(&self, only_enabled: bool) -> Result<Vec<Rule>, sqlx::Error> {
        let sql = format!(
            "SELECT {RULE_COLUMNS} FROM alerts_rule WHERE ($1 = 0 OR enabled = 1) ORDER BY name, id"
        );
        let rows: Vec<RuleRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(flag(only_enabled))
            .fetch_all(self.db.pool())
            .await?;
        rows.into_iter().map(TryInto::try_into).collect()
    }

    /// Deletes the rule; its alerts, evaluations and deliveries go with it
    /// (`ON DELETE CASCADE`).
    pub async fn delete_rule(&self, conn: &mut Conn, id: &str) -> Result<bool, sqlx::Error> {
        let done = sqlx::query("DELETE FROM alerts_rule WHERE id = $1")
            .bind(id)
            .execute(&mut *conn)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Opens an alert unless one with the same fingerprint is still open or
    /// acknowledged for this rule (a partial unique index decides, so two
    /// evaluations at once cannot both open it). True when opened.
    pub async fn open_alert(
        &self,
        conn: &mut Conn,
        alert: &Alert,
        fingerprint: &str,
    ) -> Result<bool, sqlx::Error> {
        let outcome = sqlx::query(
            "INSERT INTO alerts_alert (id, rule_id, fingerprint, severity, title, message,
                technique_ids, test_ids, status, opened_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'open', $9)",
        )
        .bind(&alert.id)
        .bind(&alert.rule_id)
        .bind(fingerprint)
        .bind(alert.severity.as_str())
        .bind(&alert.title)
        .bind(&alert.message)
        .bind(serde_json::to_string(&alert.technique_ids).unwrap_or_default())
        .bind(serde_json::to_string(&alert.test_ids).unwrap_or_default())
        .bind(time::to_db(alert.opened_at))
        .execute(&mut *conn)
        .await;
        match outcome {
            Ok(_) => Ok(true),
            // Already open; or the rule was deleted while it was evaluated.
            Err(e) if is_unique_violation(&e) || is_foreign_key_violation(&e) => Ok(false),
            Err(e) => Err(e),
        }
    }

    pub async fn alert(&self, id: &str) -> Result<Option<Alert>, sqlx::Error> {
        let sql = format!("SELECT {ALERT_COLUMNS} FROM alerts_alert WHERE id = $1");
        let row: Option<AlertRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(self.db.pool())
            .await?;
        row.map(TryInto::try_into).transpose()
    }

    pub async fn alerts(
        &self,
        filter: &AlertFilter,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<Alert>, i64), sqlx::Error> {
        const CONDITION: &str = "($1 IS NULL OR status = $1) AND ($2 IS NULL OR severity = $2) AND ($3 IS NULL OR rule_id = $3)";
        let status = filter.status.map(AlertStatus::as_str);
        let severity = filter.severity.map(Severity::as_str);
        let total: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT COUNT(*) FROM alerts_alert WHERE {CONDITION}"
        )))
        .bind(status)
        .bind(severity)
        .bind(&filter.rule_id)
        .fetch_one(self.db.pool())
        .await?;
        let rows: Vec<AlertRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {ALERT_COLUMNS} FROM alerts_alert WHERE {CONDITION}
             ORDER BY opened_at DESC, id DESC LIMIT $4 OFFSET $5"
        )))
        .bind(status)
        .bind(severity)
        .bind(&filter.rule_id)
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

    /// Moves an alert on from one of `from`; false when it was not in one.
    pub async fn set_alert_status(
        &self,
        conn: &mut Conn,
        id: &str,
        from: &[AlertStatus],
        to: AlertStatus,
        who: &str,
        at: Timestamp,
    ) -> Result<bool, sqlx::Error> {
        let (at_column, by_column) = match to {
            AlertStatus::Acknowledged => ("acknowledged_at", "acknowledged_by"),
            AlertStatus::Resolved => ("resolved_at", "resolved_by"),
            AlertStatus::Open => return Ok(false),
        };
        let allowed: Vec<&str> = from.iter().map(|s| s.as_str()).collect();
        let sql = format!(
            "UPDATE alerts_alert SET status = $2, {at_column} = $3, {by_column} = $4
             WHERE id = $1 AND status IN ($5, $6)"
        );
        let done = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .bind(to.as_str())
            .bind(time::to_db(at))
            .bind(who)
            .bind(allowed.first().copied().unwrap_or_default())
            .bind(allowed.last().copied().unwrap_or_default())
            .execute(&mut *conn)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Records an evaluation; nothing, when its rule was deleted meanwhile.
    pub async fn record_evaluation(
        &self,
        conn: &mut Conn,
        e: &Evaluation,
    ) -> Result<(), sqlx::Error> {
        let inserted = sqlx::query(
            "INSERT INTO alerts_evaluation (id, rule_id, trigger_kind, started_at, duration_ms,
                findings, opened, error)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&e.id)
        .bind(&e.rule_id)
        .bind(&e.trigger)
        .bind(time::to_db(e.started_at))
        .bind(e.duration_ms)
        .bind(e.findings)
        .bind(e.opened)
        .bind(&e.error)
        .execute(&mut *conn)
        .await;
        match inserted {
            Err(gone) if is_foreign_key_violation(&gone) => return Ok(()),
            other => {
                other?;
            }
        }
        sqlx::query("UPDATE alerts_rule SET last_evaluated_at = $2, last_error = $3 WHERE id = $1")
            .bind(&e.rule_id)
            .bind(time::to_db(e.started_at))
            .bind(&e.error)
            .execute(&mut *conn)
            .await?;
        Ok(())
    }

    pub async fn evaluations(
        &self,
        rule_id: Option<&str>,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<Evaluation>, i64), sqlx::Error> {
        let total: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM alerts_evaluation WHERE ($1 IS NULL OR rule_id = $1)",
        )
        .bind(rule_id)
        .fetch_one(self.db.pool())
        .await?;
        let rows: Vec<EvaluationRow> = sqlx::query_as(
            "SELECT id, rule_id, trigger_kind, started_at, duration_ms, findings, opened, error
                 FROM alerts_evaluation WHERE ($1 IS NULL OR rule_id = $1)
                 ORDER BY started_at DESC, id DESC LIMIT $2 OFFSET $3",
        )
        .bind(rule_id)
        .bind(limit)
        .bind(offset)
        .fetch_all(self.db.pool())
        .await?;
        let items = rows
            .into_iter()
            .map(
                |(id, rule_id, trigger, started_at, duration_ms, findings, opened, error)| {
                    Ok(Evaluation {
                        started_at: decode_time(&started_at)?,
                        id,
                        rule_id,
                        trigger,
                        duration_ms,
                        findings,
                        opened,
                        error,
                    })
                },
            )
            .collect::<Result<_, sqlx::Error>>()?;
        Ok((items, total))
    }

    /// A rule's webhook deliveries, newest first.
    pub async fn deliveries(
        &self,
        rule_id: &str,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<Delivery>, i64), sqlx::Error> {
        let total: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM alerts_delivery WHERE rule_id = $1")
                .bind(rule_id)
                .fetch_one(self.db.pool())
                .await?;
        let rows: Vec<DeliveryRow> = sqlx::query_as(
            "SELECT id, rule_id, alert_id, attempts, status_code, delivered, error, at
             FROM alerts_delivery WHERE rule_id = $1 ORDER BY at DESC, id DESC LIMIT $2 OFFSET $3",
        )
        .bind(rule_id)
        .bind(limit)
        .bind(offset)
        .fetch_all(self.db.pool())
        .await?;
        let items = rows
            .into_iter()
            .map(
                |(id, rule_id, alert_id, attempts, status_code, delivered, error, at)| {
                    Ok(Delivery {
                        at: decode_time(&at)?,
                        delivered: delivered != 0,
                        id,
                        rule_id,
                        alert_id,
                        attempts,
                        status_code,
                        error,
                    })
                },
            )
            .collect::<Result<_, sqlx::Error>>()?;
        Ok((items, total))
    }

    #[allow(clippy::too_many_arguments)] // one per column
    pub async fn record_delivery(
        &self,
        conn: &mut Conn,
        rule_id: &str,
        alert_id: &str,
        attempts: i64,
        status_code: Option<i64>,
        error: Option<&str>,
        at: Timestamp,
    ) -> Result<(), sqlx::Error> {
        let done = sqlx::query(
            "INSERT INTO alerts_delivery (id, rule_id, alert_id, attempts, status_code, delivered, error, at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(uuid::Uuid::now_v7().to_string())
        .bind(rule_id)
        .bind(alert_id)
        .bind(attempts)
        .bind(status_code)
        .bind(flag(error.is_none()))
        .bind(error)
        .bind(time::to_db(at))
        .execute(&mut *conn)
        .await;
        match done {
            // The rule was deleted while its webhook was being called.
            Err(gone) if is_foreign_key_violation(&gone) => Ok(()),
            other => other.map(|_| ()),
        }
    }
}
