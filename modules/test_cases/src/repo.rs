//! SQL for tests, their tags and transitions. Writes go through the
//! caller's connection (`&mut *tx`): the service decides what one unit of
//! work is and never lets this file open a transaction. Reads use the pool
//! and join the catalog's published view `techniques_catalog_technique` to flag revoked
//! and deprecated techniques and name their replacements.

use std::collections::HashMap;

use aegis_core::concurrency::{Actor, WriteOutcome};
use aegis_core::db::{
    Backend, Bind, BindWhere, Conn, Db, Where, decode_opt_time, decode_time, escape_like,
    placeholders,
};
use aegis_core::time;

use crate::aggregates;
use crate::model::{
    AttackOutcome, DetectionOutcome, Position, TechniqueRef, TestFields, TestFilter, TestRecord,
    TestSort, TransitionRecord,
};
use crate::workflow::{Queue, TestState, Transition};

macro_rules! test_select {
    () => {
        "SELECT t.id, t.name, t.technique_domain, t.technique_id, t.campaign_id, t.template_id,
                t.procedure, t.platform, t.target_host, t.red_assignee_id, t.blue_assignee_id,
                t.state, t.executed_at, t.attack_outcome, t.red_notes, t.detection_outcome,
                t.detected_at, t.detection_source, t.blue_notes, t.version, t.created_at,
                t.created_by, t.updated_at, t.updated_by,
                k.name AS technique_name, k.revoked AS technique_revoked,
                k.deprecated AS technique_deprecated, k.revoked_by AS technique_replaced_by,
                r.name AS replacement_name
         FROM test_cases_test t
         LEFT JOIN techniques_catalog_technique k
                ON k.domain = t.technique_domain AND k.attack_id = t.technique_id
         LEFT JOIN techniques_catalog_technique r
                ON r.domain = k.domain AND r.attack_id = k.revoked_by "
    };
}

/// One test by its id (`$1`), as `GET /tests/{id}` reads it.
pub const DETAIL_SQL: &str = concat!(test_select!(), "WHERE t.id = $1");

/// How many tests match a list's filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Total {
    pub count: i64,
    /// False when counting stopped at a bound: at least `count` match.
    pub exact: bool,
}

/// The SQL of one page of `GET /tests`: public so that tests can check its
/// plans and benchmarks can time it bare.
pub struct ListQueries {
    /// How many tests match the filter (wherever the page starts), all or
    /// up to the bound asked for.
    pub count: String,
    pub count_conditions: Where,
    /// The page; its LIMIT and OFFSET are the two placeholders after its conditions.
    pub page: String,
    pub page_conditions: Where,
}

pub fn list_queries(
    backend: Backend,
    filter: &TestFilter,
    count_up_to: Option<i64>,
) -> ListQueries {
    let count_conditions = list_conditions(backend, filter);
    let mut page_conditions = count_conditions.clone();
    if let Some(after) = &filter.after {
        keyset(&mut page_conditions, filter.sort, after);
    }
    ListQueries {
        count: count_sql(filter, &count_conditions, count_up_to),
        count_conditions,
        page: page_sql(filter, &page_conditions),
        page_conditions,
    }
}

/// The tests after `after` in `sort`: a row comparison the sort's index
/// answers by seeking, so a page deep in the list costs what the first does.
fn keyset(conditions: &mut Where, sort: TestSort, after: &Position) {
    let beyond = if sort.descending { "<" } else { ">" };
    let id = Bind::Text(after.id.clone());
    match (sort.column, &after.value) {
        // Never-executed tests come last in both directions, by id.
        ("executed_at", None) => {
            conditions.and(
                &format!("(t.executed_at IS NULL AND t.id {beyond} ?)"),
                [id],
            );
        }
        ("executed_at", Some(value)) => {
            conditions.and(
                &format!("(t.executed_at IS NULL OR (t.executed_at, t.id) {beyond} (?, ?))"),
                [Bind::Text(value.clone()), id],
            );
        }
        (column, value) => {
            conditions.and(
                &format!("(t.{column}, t.id) {beyond} (?, ?)"),
                [Bind::Text(value.clone().unwrap_or_default()), id],
            );
        }
    }
}

/// The words of a search: runs of letters and digits, lower-cased.
pub fn search_words(query: &str) -> Vec<String> {
    query
        .split(|c: char| !c.is_alphanumeric())
        .filter(|word| !word.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// Tests with a word that begins with each word of `query`, in the name,
/// procedure, host or technique id, through the backend's full-text index
/// (see the `test_cases_search` migrations). Words hold letters and digits
/// only, so none can be read as the search syntax around it. A query
/// without a letter or digit finds nothing.
fn search(conditions: &mut Where, backend: Backend, query: &str) {
    let words = search_words(query);
    if words.is_empty() {
        conditions.and("1 = 0", []);
        return;
    }
    match backend {
        Backend::Sqlite => {
            let query: Vec<String> = words.iter().map(|w| format!("\"{w}\"*")).collect();
            conditions.and(
                "t.rowid IN (SELECT rowid FROM test_cases_search WHERE test_cases_search MATCH ?)",
                [Bind::Text(query.join(" "))],
            );
        }
        Backend::Postgres => {
            let query: Vec<String> = words.iter().map(|w| format!("{w}:*")).collect();
            conditions.and(
                "t.search_vector @@ to_tsquery('simple', ?)",
                [Bind::Text(query.join(" & "))],
            );
        }
    }
}

/// The conditions `filter` sets, and nothing for what it leaves open.
fn list_conditions(backend: Backend, filter: &TestFilter) -> Where {
    let text = |value: &str| Bind::Text(value.to_owned());
    let mut conditions = Where::default();
    if let Some(state) = filter.state {
        conditions.and("t.state = ?", [text(state.as_str())]);
    }
    if let Some(technique) = &filter.technique {
        // The technique and its sub-techniques (`T1059`, `T1059.*`). LIKE, not
        // a range: ranges of text follow the database's collation.
        conditions.and(
            "(t.technique_id = ? OR t.technique_id LIKE ?)",
            [text(technique), Bind::Text(format!("{technique}.%"))],
        );
    }
    if let Some(tactic) = &filter.tactic {
        conditions.and(
            "k.tactics LIKE ? ESCAPE '\\'",
            [Bind::Text(format!("%\"{}\"%", escape_like(tactic)))],
        );
    }
    if let Some(campaign) = &filter.campaign_id {
        conditions.and("t.campaign_id = ?", [text(campaign)]);
    }
    if let Some(person) = &filter.assignee_id {
        conditions.and(
            "(t.red_assignee_id = ? OR t.blue_assignee_id = ?)",
            [text(person), text(person)],
        );
    }
    if let Some(outcome) = &filter.outcome {
        conditions.and(
            "(t.attack_outcome = ? OR t.detection_outcome = ?)",
            [text(outcome), text(outcome)],
        );
    }
    if let Some(platform) = &filter.platform {
        conditions.and(
            "LOWER(t.platform) = ?",
            [Bind::Text(platform.to_lowercase())],
        );
    }
    if let Some(tag) = &filter.tag {
        conditions.and(
            "EXISTS (SELECT 1 FROM test_cases_test_tag g WHERE g.test_id = t.id AND g.tag = ?)",
            [text(tag)],
        );
    }
    for (bound, condition) in [
        (filter.created_after, "t.created_at >= ?"),
        (filter.created_before, "t.created_at < ?"),
        (filter.executed_after, "t.executed_at >= ?"),
        (filter.executed_before, "t.executed_at < ?"),
    ] {
        if let Some(at) = bound {
            conditions.and(condition, [Bind::Text(time::to_db(at))]);
        }
    }
    if let Some(query) = &filter.text {
        search(&mut conditions, backend, query);
    }
    if let Some(queue) = &filter.queue {
        let states = queue.states();
        if states.is_empty() {
            // Nothing waits for a viewer.
            conditions.and("1 = 0", []);
        } else {
            let marks = vec!["?"; states.len()].join(", ");
            conditions.and(
                &format!("t.state IN ({marks})"),
                states.iter().map(|s| text(s.as_str())),
            );
        }
        match queue {
            Queue::Red(user) => {
                conditions.and("t.red_assignee_id = ?", [text(user)]);
            }
            Queue::Blue(user) => {
                conditions.and(
                    "(t.blue_assignee_id = ? OR t.blue_assignee_id IS NULL)",
                    [text(user)],
                );
            }
            _ => {}
        }
    }
    conditions
}

/// Counts the tests matching `conditions`, all of them or at most
/// `count_up_to`; the catalog is joined only for a tactic.
fn count_sql(filter: &TestFilter, conditions: &Where, count_up_to: Option<i64>) -> String {
    let catalog = if filter.tactic.is_some() {
        " LEFT JOIN techniques_catalog_technique k
                 ON k.domain = t.technique_domain AND k.attack_id = t.technique_id"
    } else {
        ""
    };
    let matching = format!("test_cases_test t{catalog}{}", conditions.clause());
    match count_up_to {
        None => format!("SELECT COUNT(*) FROM {matching}"),
        // One row past the bound tells a stopped count from an exact one.
        Some(bound) => format!(
            "SELECT COUNT(*) FROM (SELECT 1 FROM {matching} LIMIT {}) bounded",
            bound.saturating_add(1)
        ),
    }
}

/// One page of the tests matching `conditions`, in the filter's order; its
/// LIMIT and OFFSET take the two placeholders after the conditions. Every
/// order is an index of `test_cases_test` walked forwards or backwards (see
/// the list-order migrations), so a page does not sort the matching rows.
fn page_sql(filter: &TestFilter, conditions: &Where) -> String {
    let direction = if filter.sort.descending {
        "DESC"
    } else {
        "ASC"
    };
    let column = filter.sort.column;
    // The column is one of TestSort::KEYS. Only `executed_at` may be NULL;
    // its NULLs come last either way, through `(executed_at IS NULL)` first.
    let order = if column == "executed_at" {
        format!("(t.executed_at IS NULL), t.executed_at {direction}, t.id {direction}")
    } else {
        format!("t.{column} {direction}, t.id {direction}")
    };
    let limit = conditions.next_placeholder();
    format!(
        "{}{} ORDER BY {order} LIMIT ${limit} OFFSET ${}",
        test_select!(),
        conditions.clause(),
        limit + 1
    )
}

/// Binds the editable columns in the order both INSERT and UPDATE list them.
macro_rules! bind_fields {
    ($query:expr, $f:expr) => {
        $query
            .bind(&$f.name)
            .bind(&$f.technique_domain)
            .bind(&$f.technique_id)
            .bind(&$f.campaign_id)
            .bind(&$f.procedure)
            .bind(&$f.platform)
            .bind(&$f.target_host)
            .bind(&$f.red_assignee_id)
            .bind(&$f.blue_assignee_id)
            .bind($f.executed_at.map(time::to_db))
            .bind($f.attack_outcome.map(AttackOutcome::as_str))
            .bind(&$f.red_notes)
            .bind($f.detection_outcome.map(DetectionOutcome::as_str))
            .bind($f.detected_at.map(time::to_db))
            .bind(&$f.detection_source)
            .bind(&$f.blue_notes)
    };
}

#[derive(sqlx::FromRow)]
struct TestRow {
    id: String,
    name: String,
    technique_domain: String,
    technique_id: String,
    campaign_id: Option<String>,
    template_id: Option<String>,
    procedure: String,
    platform: Option<String>,
    target_host: Option<String>,
    red_assignee_id: Option<String>,
    blue_assignee_id: Option<String>,
    state: String,
    executed_at: Option<String>,
    attack_outcome: Option<String>,
    red_notes: String,
    detection_outcome: Option<String>,
    detected_at: Option<String>,
    detection_source: Option<String>,
    blue_notes: String,
    version: i64,
    created_at: String,
    created_by: String,
    updated_at: String,
    updated_by: String,
    technique_name: Option<String>,
    technique_revoked: Option<i64>,
    technique_deprecated: Option<i64>,
    technique_replaced_by: Option<String>,
    replacement_name: Option<String>,
}

fn decode_enum<T>(
    text: Option<String>,
    parse: fn(&str) -> Option<T>,
) -> Result<Option<T>, sqlx::Error> {
    text.map(|t| {
        parse(&t).ok_or_else(|| sqlx::Error::Decode(format!("unknown value `{t}`").into()))
    })
    .transpose()
}

impl TestRow {
    fn into_record(self, tags: Vec<String>) -> Result<TestRecord, sqlx::Error> {
        let state = TestState::parse(&self.state)
            .ok_or_else(|| sqlx::Error::Decode(format!("unknown state `{}`", self.state).into()))?;
        Ok(TestRecord {
            technique: TechniqueRef {
                domain: self.technique_domain.clone(),
                attack_id: self.technique_id.clone(),
                name: self.technique_name,
                revoked: self.technique_revoked.unwrap_or(0) != 0,
                deprecated: self.technique_deprecated.unwrap_or(0) != 0,
                replaced_by: self.technique_replaced_by,
                replaced_by_name: self.replacement_name,
            },
            fields: TestFields {
                name: self.name,
                technique_domain: self.technique_domain,
                technique_id: self.technique_id,
                campaign_id: self.campaign_id,
                procedure: self.procedure,
                platform: self.platform,
                target_host: self.target_host,
                red_assignee_id: self.red_assignee_id,
                blue_assignee_id: self.blue_assignee_id,
                tags,
                executed_at: decode_opt_time(self.executed_at.as_deref())?,
                attack_outcome: decode_enum(self.attack_outcome, AttackOutcome::parse)?,
                red_notes: self.red_notes,
                detection_outcome: decode_enum(self.detection_outcome, DetectionOutcome::parse)?,
                detected_at: decode_opt_time(self.detected_at.as_deref())?,
                detection_source: self.detection_source,
                blue_notes: self.blue_notes,
            },
            id: self.id,
            template_id: self.template_id,
            state,
            version: self.version,
            created_at: decode_time(&self.created_at)?,
            created_by: self.created_by,
            updated_at: decode_time(&self.updated_at)?,
            updated_by: self.updated_by,
        })
    }
}

#[derive(Clone, Debug)]
pub(crate) struct TestRepo {
    db: Db,
}

impl TestRepo {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    pub async fn insert(
        &self,
        conn: &mut Conn,
        id: &str,
        fields: &TestFields,
        template_id: Option<&str>,
        actor: &Actor,
    ) -> Result<(), sqlx::Error> {
        let at = time::to_db(actor.at);
        bind_fields!(
            sqlx::query(
                "INSERT INTO test_cases_test (id, state, template_id, version, created_at, created_by,
                    updated_at, updated_by, name, technique_domain, technique_id, campaign_id,
                    procedure, platform, target_host, red_assignee_id, blue_assignee_id,
                    executed_at, attack_outcome, red_notes, detection_outcome, detected_at,
                    detection_source, blue_notes, procedure_key, ran_at, ttd_ms)
                 VALUES ($1, $2, $3, 1, $4, $5, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14,
                    $15, $16, $17, $18, $19, $20, $21, COALESCE($3, $22), COALESCE($15, $4), $23)"
            )
            .bind(id)
            .bind(TestState::Draft.as_str())
            .bind(template_id)
            .bind(&at)
            .bind(&actor.username),
            fields
        )
        .bind(procedure_hash(&fields.procedure))
        .bind(time_to_detect(fields))
        .execute(&mut *conn)
        .await?;
        aggregates::follow(conn, id, None).await?;
        replace_tags(conn, id, &fields.tags).await
    }

    pub async fn get(&self, id: &str) -> Result<Option<TestRecord>, sqlx::Error> {
        let row: Option<TestRow> = sqlx::query_as(DETAIL_SQL)
            .bind(id)
            .fetch_optional(self.db.pool())
            .await?;
        let Some(row) = row else { return Ok(None) };
        let mut tags = self.tags_of(std::slice::from_ref(&row.id)).await?;
        let own = tags.remove(&row.id).unwrap_or_default();
        row.into_record(own).map(Some)
    }

    /// Writes `fields` if the row is still at `expected_version`.
    pub async fn update(
        &self,
        conn: &mut Conn,
        id: &str,
        expected_version: i64,
        fields: &TestFields,
        actor: &Actor,
    ) -> Result<WriteOutcome, sqlx::Error> {
        let before = aggregates::facts(conn, id).await?;
        let done = bind_fields!(
            sqlx::query(
                "UPDATE test_cases_test SET version = version + 1, updated_at = $3, updated_by = $4,
                    name = $5, technique_domain = $6, technique_id = $7, campaign_id = $8,
                    procedure = $9, platform = $10, target_host = $11, red_assignee_id = $12,
                    blue_assignee_id = $13, executed_at = $14, attack_outcome = $15,
                    red_notes = $16, detection_outcome = $17, detected_at = $18,
                    detection_source = $19, blue_notes = $20,
                    procedure_key = COALESCE(template_id, $21), ran_at = COALESCE($14, created_at),
                    ttd_ms = $22
                 WHERE id = $1 AND version = $2"
            )
            .bind(id)
            .bind(expected_version)
            .bind(time::to_db(actor.at))
            .bind(&actor.username),
            fields
        )
        .bind(procedure_hash(&fields.procedure))
        .bind(time_to_detect(fields))
        .execute(&mut *conn)
        .await?;
        let outcome = WriteOutcome::of_update(done.rows_affected(), expected_version);
        if outcome == WriteOutcome::Conflict {
            return Ok(outcome);
        }
        aggregates::follow(conn, id, before).await?;
        replace_tags(conn, id, &fields.tags).await?;
        Ok(outcome)
    }

    /// Moves the test from `from` to the transition's target state if it is
    /// still in `from` at `from_version` (the fields the preconditions were
    /// checked on), and records the transition with its actor.
    pub async fn transition(
        &self,
        conn: &mut Conn,
        id: &str,
        from: TestState,
        from_version: i64,
        transition: Transition,
        actor: &Actor,
    ) -> Result<WriteOutcome, sqlx::Error> {
        let at = time::to_db(actor.at);
        let backend = self.db.backend();
        // The review time is computed here, once, so KPIs only average a number.
        let sql = format!(
            "UPDATE test_cases_test SET state = $2, version = version + 1, updated_at = $3, updated_by = $4,
                submitted_at = CASE WHEN $6 = 'submit_to_blue' THEN $3 ELSE submitted_at END,
                completed_at = CASE WHEN $6 = 'complete' THEN $3 ELSE completed_at END,
                review_ms = CASE WHEN $6 = 'complete' AND submitted_at IS NOT NULL
                                 THEN CAST(({} - {}) * 1000 AS BIGINT) ELSE review_ms END
             WHERE id = $1 AND state = $5 AND version = $7 RETURNING version",
            backend.epoch_seconds("$3"),
            backend.epoch_seconds("submitted_at"),
        );
        let before = aggregates::facts(conn, id).await?;
        let version: Option<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .bind(transition.to_state().as_str())
            .bind(&at)
            .bind(&actor.username)
            .bind(from.as_str())
            .bind(transition.name())
            .bind(from_version)
            .fetch_optional(&mut *conn)
            .await?;
        let Some(version) = version else {
            return Ok(WriteOutcome::Conflict);
        };
        aggregates::follow(conn, id, before).await?;
        sqlx::query(
            "INSERT INTO test_cases_transition (id, test_id, transition, from_state, to_state, actor_id, actor_name, at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(uuid::Uuid::now_v7().to_string())
        .bind(id)
        .bind(transition.name())
        .bind(from.as_str())
        .bind(transition.to_state().as_str())
        .bind(&actor.user_id)
        .bind(&actor.username)
        .bind(&at)
        .execute(&mut *conn)
        .await?;
        Ok(WriteOutcome::Written(version))
    }

    pub async fn transitions(&self, id: &str) -> Result<Vec<TransitionRecord>, sqlx::Error> {
        let rows: Vec<(String, String, String, String, String, String)> = sqlx::query_as(
            "SELECT transition, from_state, to_state, actor_id, actor_name, at
             FROM test_cases_transition WHERE test_id = $1 ORDER BY at, id",
        )
        .bind(id)
        .fetch_all(self.db.pool())
        .await?;
        rows.into_iter()
            .map(
                |(transition, from_state, to_state, actor_id, actor_name, at)| {
                    Ok(TransitionRecord {
                        transition,
                        from_state,
                        to_state,
                        actor_id,
                        actor_name,
                        at: decode_time(&at)?,
                    })
                },
            )
            .collect()
    }

    /// One page of tests and how many match the filter: all of them, or
    /// with `count_up_to`, at most that many (a count that stops early is
    /// not exact).
    pub async fn list(
        &self,
        filter: &TestFilter,
        limit: i64,
        offset: i64,
        count_up_to: Option<i64>,
    ) -> Result<(Vec<TestRecord>, Total), sqlx::Error> {
        let queries = list_queries(self.db.backend(), filter, count_up_to);
        let counted: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(queries.count))
            .bind_where(&queries.count_conditions)
            .fetch_one(self.db.pool())
            .await?;
        let total = match count_up_to {
            Some(bound) if counted > bound => Total {
                count: bound,
                exact: false,
            },
            _ => Total {
                count: counted,
                exact: true,
            },
        };
        let rows: Vec<TestRow> = sqlx::query_as(sqlx::AssertSqlSafe(queries.page))
            .bind_where(&queries.page_conditions)
            .bind(limit)
            .bind(offset)
            .fetch_all(self.db.pool())
            .await?;
        let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
        let mut tags = self.tags_of(&ids).await?;
        let items = rows
            .into_iter()
            .map(|row| {
                let own = tags.remove(&row.id).unwrap_or_default();
                row.into_record(own)
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok((items, total))
    }

    async fn tags_of(&self, ids: &[String]) -> Result<HashMap<String, Vec<String>>, sqlx::Error> {
        let mut tags: HashMap<String, Vec<String>> = HashMap::new();
        if ids.is_empty() {
            return Ok(tags);
        }
        let placeholders = placeholders(1, ids.len());
        let sql = format!(
            "SELECT test_id, tag FROM test_cases_test_tag WHERE test_id IN ({placeholders}) ORDER BY tag"
        );
        let mut query = sqlx::query_as::<_, (String, String)>(sqlx::AssertSqlSafe(sql));
        for id in ids {
            query = query.bind(id);
        }
        for (test_id, tag) in query.fetch_all(self.db.pool()).await? {
            tags.entry(test_id).or_default().push(tag);
        }
        Ok(tags)
    }
}

/// Milliseconds from execution to detection of a detected test, else none.
pub fn time_to_detect(fields: &TestFields) -> Option<i64> {
    let detected = matches!(
        fields.detection_outcome,
        Some(DetectionOutcome::Prevented | DetectionOutcome::Alerted | DetectionOutcome::Logged)
    );
    match (detected, fields.executed_at, fields.detected_at) {
        (true, Some(executed), Some(seen)) => Some((seen - executed).num_milliseconds()),
        _ => None,
    }
}

/// Tests without a template repeat the same procedure when their text is
/// the same: a short, indexable key for it.
pub fn procedure_hash(procedure: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = format!("{:x}", Sha256::digest(procedure.trim().as_bytes()));
    format!("p:{}", &digest[..32])
}

async fn replace_tags(conn: &mut Conn, test_id: &str, tags: &[String]) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM test_cases_test_tag WHERE test_id = $1")
        .bind(test_id)
        .execute(&mut *conn)
        .await?;
    for tag in tags {
        sqlx::query("INSERT INTO test_cases_test_tag (test_id, tag) VALUES ($1, $2)")
            .bind(test_id)
            .bind(tag)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}
