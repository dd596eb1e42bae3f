//! The maintained aggregates coverage and KPIs read instead of ranking every
//! test (tables `test_cases_agg_*`, published as the views
//! `test_cases_procedure_latest`, `test_cases_tally` and
//! `test_cases_ttd_histogram`). Each holds, for the whole history, what the
//! matching query of [`crate::read`] computes from the tests; every write of
//! a test calls [`follow`] in its own transaction, so an aggregate changes
//! with the test or not at all, and [`rebuild`] recomputes them from scratch.
//!
//! A write changes the tally and the histogram by the test's contribution
//! before and after it, and recomputes the latest outcome of the procedures
//! the test was and is in, from that procedure's tests only (an index walk):
//! reads then scale with procedures, writes with one procedure's tests.

use aegis_core::db::{Bind, BindWhere, Conn, Where};

use crate::read::{procedure_outcomes_sql, tally_sql, ttd_histogram_sql};

/// What one test adds to the aggregates.
#[derive(sqlx::FromRow, Debug, Clone, PartialEq, Eq)]
pub(crate) struct Facts {
    state: String,
    outcome: String,
    ttd_ms: Option<i64>,
    review_ms: Option<i64>,
    technique_domain: String,
    technique_id: String,
    procedure_key: String,
    ran_at: String,
    updated_at: String,
}

impl Facts {
    /// Whether the test takes part in its procedure's ranking.
    fn ranks(&self) -> bool {
        self.state == "completed" && !self.outcome.is_empty()
    }

    fn procedure(&self) -> (&str, &str, &str) {
        (
            &self.technique_domain,
            &self.technique_id,
            &self.procedure_key,
        )
    }

    fn tally(&self) -> (&str, &str, Option<i64>, Option<i64>) {
        (&self.state, &self.outcome, self.ttd_ms, self.review_ms)
    }

    /// The whole second of its time to detect, when it counts toward the median.
    fn ttd_second(&self) -> Option<i64> {
        (self.state == "completed")
            .then_some(self.ttd_ms)
            .flatten()
            .map(|ms| ms / 1000)
    }
}

/// The test's facts as stored now, through the write's connection.
pub(crate) async fn facts(conn: &mut Conn, id: &str) -> Result<Option<Facts>, sqlx::Error> {
    sqlx::query_as(
        "SELECT state, COALESCE(detection_outcome, '') AS outcome, ttd_ms, review_ms,
                technique_domain, technique_id, procedure_key, ran_at, updated_at
         FROM test_cases_test WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(conn)
    .await
}

/// Brings the aggregates from the test's facts `before` a write (none for a
/// new test) to its facts now.
///
/// Concurrent writes on PostgreSQL: the sums change by increments on the
/// row's latest version; a procedure is recomputed only once its row is
/// locked, so the computation sees every write committed before ours. Rows
/// are locked in key order, one table after the other, so two writes never
/// wait for each other in a cycle.
pub(crate) async fn follow(
    conn: &mut Conn,
    id: &str,
    before: Option<Facts>,
) -> Result<(), sqlx::Error> {
    let after = facts(conn, id).await?;
    if before == after {
        return Ok(());
    }
    let (before, after) = (before.as_ref(), after.as_ref());
    if before.map(Facts::tally) != after.map(Facts::tally) {
        let mut changes: Vec<(&Facts, i64)> = [(before, -1), (after, 1)]
            .into_iter()
            .filter_map(|(facts, sign)| facts.map(|f| (f, sign)))
            .collect();
        changes.sort_by_key(|(f, _)| (&f.state, &f.outcome));
        for (facts, sign) in changes {
            add_to_tally(conn, facts, sign).await?;
        }
    }
    let (was, is) = (
        before.and_then(Facts::ttd_second),
        after.and_then(Facts::ttd_second),
    );
    if was != is {
        let mut changes: Vec<(i64, i64)> = [(was, -1), (is, 1)]
            .into_iter()
            .filter_map(|(second, sign)| second.map(|s| (s, sign)))
            .collect();
        changes.sort_unstable();
        for (second, sign) in changes {
            add_to_histogram(conn, second, sign).await?;
        }
    }
    // The ranking also orders by update time, so any write of a ranked test
    // can change its procedure's latest test.
    let mut procedures: Vec<(&str, &str, &str)> = [before, after]
        .into_iter()
        .flatten()
        .filter(|f| f.ranks())
        .map(Facts::procedure)
        .collect();
    procedures.sort_unstable();
    procedures.dedup();
    for procedure in procedures {
        refresh_procedure(conn, procedure).await?;
    }
    Ok(())
}

async fn add_to_tally(conn: &mut Conn, f: &Facts, sign: i64) -> Result<(), sqlx::Error> {
    let left: i64 = sqlx::query_scalar(
        "INSERT INTO test_cases_agg_tally
             (state, outcome, tests, ttd_sum, ttd_count, review_sum, review_count)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (state, outcome) DO UPDATE SET
             tests = test_cases_agg_tally.tests + excluded.tests,
             ttd_sum = test_cases_agg_tally.ttd_sum + excluded.ttd_sum,
             ttd_count = test_cases_agg_tally.ttd_count + excluded.ttd_count,
             review_sum = test_cases_agg_tally.review_sum + excluded.review_sum,
             review_count = test_cases_agg_tally.review_count + excluded.review_count
         RETURNING tests",
    )
    .bind(&f.state)
    .bind(&f.outcome)
    .bind(sign)
    .bind(sign * f.ttd_ms.unwrap_or(0))
    .bind(sign * i64::from(f.ttd_ms.is_some()))
    .bind(sign * f.review_ms.unwrap_or(0))
    .bind(sign * i64::from(f.review_ms.is_some()))
    .fetch_one(&mut *conn)
    .await?;
    if left == 0 {
        sqlx::query(
            "DELETE FROM test_cases_agg_tally WHERE state = $1 AND outcome = $2 AND tests = 0",
        )
        .bind(&f.state)
        .bind(&f.outcome)
        .execute(conn)
        .await?;
    }
    Ok(())
}

async fn add_to_histogram(conn: &mut Conn, second: i64, sign: i64) -> Result<(), sqlx::Error> {
    let left: i64 = sqlx::query_scalar(
        "INSERT INTO test_cases_agg_ttd (ttd_second, tests) VALUES ($1, $2)
         ON CONFLICT (ttd_second) DO UPDATE SET tests = test_cases_agg_ttd.tests + excluded.tests
         RETURNING tests",
    )
    .bind(second)
    .bind(sign)
    .fetch_one(&mut *conn)
    .await?;
    if left == 0 {
        sqlx::query("DELETE FROM test_cases_agg_ttd WHERE ttd_second = $1 AND tests = 0")
            .bind(second)
            .execute(conn)
            .await?;
    }
    Ok(())
}

const PROCEDURE_COLUMNS: &str = "(technique_domain, technique_id, procedure_key, tests, latest_outcome, last_ran, regressed_test_id)";

#[derive(sqlx::FromRow)]
struct ProcedureRow {
    tests: i64,
    latest_outcome: String,
    last_ran: String,
    regressed_test_id: Option<String>,
}

/// Recomputes one procedure's row from its tests (an index walk).
async fn refresh_procedure(
    conn: &mut Conn,
    (domain, technique, key): (&str, &str, &str),
) -> Result<(), sqlx::Error> {
    const KEY: &str = "technique_domain = $1 AND technique_id = $2 AND procedure_key = $3";
    let keyed = |sql: String| {
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(domain.to_owned())
            .bind(technique.to_owned())
            .bind(key.to_owned())
    };
    // The row exists and is ours until commit (the upsert waits for any
    // write holding it); only then is it computed, in a statement that
    // starts after that write committed.
    keyed(format!(
        "INSERT INTO test_cases_agg_procedure {PROCEDURE_COLUMNS}
         VALUES ($1, $2, $3, 0, '', '', NULL)
         ON CONFLICT (technique_domain, technique_id, procedure_key)
         DO UPDATE SET tests = test_cases_agg_procedure.tests"
    ))
    .execute(&mut *conn)
    .await?;
    let mut one = Where::default();
    one.and(
        "t.technique_domain = ? AND t.technique_id = ? AND t.procedure_key = ?",
        [domain, technique, key].map(|v| Bind::Text(v.to_owned())),
    );
    let now: Option<ProcedureRow> =
        sqlx::query_as(sqlx::AssertSqlSafe(procedure_outcomes_sql(&one)))
            .bind_where(&one)
            .fetch_optional(&mut *conn)
            .await?;
    match now {
        Some(row) => {
            keyed(format!(
                "UPDATE test_cases_agg_procedure
                 SET tests = $4, latest_outcome = $5, last_ran = $6, regressed_test_id = $7
                 WHERE {KEY}"
            ))
            .bind(row.tests)
            .bind(row.latest_outcome)
            .bind(row.last_ran)
            .bind(row.regressed_test_id)
            .execute(conn)
            .await?;
        }
        None => {
            keyed(format!("DELETE FROM test_cases_agg_procedure WHERE {KEY}"))
                .execute(conn)
                .await?;
        }
    }
    Ok(())
}

/// How many rows each aggregate holds after a rebuild.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rebuilt {
    pub procedures: u64,
    pub tallies: u64,
    pub ttd_seconds: u64,
}

/// Recomputes every aggregate from the tests, and on SQLite the search
/// index, through the caller's transaction: after a restore, a bulk load,
/// or to check them.
pub async fn rebuild(conn: &mut Conn) -> Result<Rebuilt, sqlx::Error> {
    let all = Where::default();
    let mut counts = [0_u64; 3];
    let steps = [
        (
            "test_cases_agg_procedure",
            PROCEDURE_COLUMNS,
            procedure_outcomes_sql(&all),
        ),
        (
            "test_cases_agg_tally",
            "(state, outcome, tests, ttd_sum, ttd_count, review_sum, review_count)",
            tally_sql(&all),
        ),
        (
            "test_cases_agg_ttd",
            "(ttd_second, tests)",
            ttd_histogram_sql(&all),
        ),
    ];
    for ((table, columns, select), count) in steps.into_iter().zip(&mut counts) {
        sqlx::query(sqlx::AssertSqlSafe(format!("DELETE FROM {table}")))
            .execute(&mut *conn)
            .await?;
        *count = sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO {table} {columns} {select}"
        )))
        .execute(&mut *conn)
        .await?
        .rows_affected();
    }
    // SQLite's search index is keyed by the tests' rowids, which a VACUUM
    // may renumber (PostgreSQL's is an index of the table itself).
    if conn.backend_name() == "SQLite" {
        sqlx::query("INSERT INTO test_cases_search (test_cases_search) VALUES ('rebuild')")
            .execute(&mut *conn)
            .await?;
    }
    let [procedures, tallies, ttd_seconds] = counts;
    Ok(Rebuilt {
        procedures,
        tallies,
        ttd_seconds,
    })
}
