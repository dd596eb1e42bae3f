//! The aggregates coverage and KPIs read are what a full recomputation from
//! the tests gives, after a random sequence of creates, edits, completions,
//! reopens and cancels through the API; and the answers read from them are
//! the answers computed from the tests.

use aegis_core::db::Where;
use aegis_mod_test_cases::aggregates;
use aegis_mod_test_cases::read::{procedure_outcomes_sql, tally_sql, ttd_histogram_sql};
use serde_json::{Value, json};

use crate::helpers::{Stack, TestApp, TestEnv, shared_data};
use crate::stack_tests;
use crate::test_cases::{MINI, create_test, load_catalog, patch, step};

// Few procedures, so each is tested again and again.
const TECHNIQUES: [&str; 2] = ["T1059.001", "T1566.001"];
const PROCEDURES: [&str; 2] = ["encoded", "macro"];
const OUTCOMES: [&str; 4] = ["prevented", "alerted", "logged", "not_detected"];

/// A small deterministic generator: each seed is one reproducible sequence.
struct Rng(u64);
impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
    fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
        from[self.below(from.len())]
    }
}

type Procedures = Vec<(String, String, String, i64, String, String, Option<String>)>;
type Tallies = Vec<(String, String, i64, i64, i64, i64, i64)>;
type Histogram = Vec<(i64, i64)>;

/// The three aggregates, from `source` (a table or view per aggregate).
async fn read(
    app: &TestApp,
    [procedures, tallies, histogram]: [String; 3],
) -> (Procedures, Tallies, Histogram) {
    let pool = app.kernel.db.pool();
    let sql = |from: String, order: &str| format!("SELECT * FROM ({from}) a ORDER BY {order}");
    (
        sqlx::query_as(sqlx::AssertSqlSafe(sql(
            procedures,
            "technique_domain, technique_id, procedure_key",
        )))
        .fetch_all(pool)
        .await
        .unwrap(),
        sqlx::query_as(sqlx::AssertSqlSafe(sql(tallies, "state, outcome")))
            .fetch_all(pool)
            .await
            .unwrap(),
        sqlx::query_as(sqlx::AssertSqlSafe(sql(histogram, "ttd_second")))
            .fetch_all(pool)
            .await
            .unwrap(),
    )
}

async fn maintained(app: &TestApp) -> (Procedures, Tallies, Histogram) {
    read(
        app,
        [
            "SELECT * FROM test_cases_procedure_latest".into(),
            "SELECT * FROM test_cases_tally".into(),
            "SELECT * FROM test_cases_ttd_histogram".into(),
        ],
    )
    .await
}

async fn recomputed(app: &TestApp) -> (Procedures, Tallies, Histogram) {
    let all = Where::default();
    read(
        app,
        [
            procedure_outcomes_sql(&all),
            tally_sql(&all),
            ttd_histogram_sql(&all),
        ],
    )
    .await
}

/// `path` read from the aggregates and, with a time range every test is
/// in, computed from the tests: the figures agree.
async fn assert_both_paths_agree(app: &TestApp, token: &str) {
    let everything = "from=2000-01-01T00:00:00Z";
    let coverage = app.get("/api/v1/coverage", token).await.body;
    let scoped = app
        .get(&format!("/api/v1/coverage?{everything}"), token)
        .await
        .body;
    for part in ["overall", "tactics", "techniques"] {
        assert_eq!(coverage[part], scoped[part], "coverage {part}");
    }
    let kpis = app.get("/api/v1/dashboard/kpis", token).await.body;
    let scoped = app
        .get(&format!("/api/v1/dashboard/kpis?{everything}"), token)
        .await
        .body;
    assert_eq!(kpis["kpis"], scoped["kpis"], "KPIs");
}

/// Takes one step of a random test's life: the next transition, a change
/// of its outcome, procedure or run time, a reopen or a cancel.
async fn random_step(app: &TestApp, token: &str, rng: &mut Rng, tests: &[String]) {
    let id = &tests[rng.below(tests.len())];
    let test = app.get(&format!("/api/v1/tests/{id}"), token).await.body;
    let version = test["version"].as_i64().unwrap();
    let minutes = |rng: &mut Rng| {
        chrono::DateTime::parse_from_rfc3339("2026-11-01T10:00:00Z").unwrap()
            + chrono::Duration::seconds(rng.below(4 * 3600) as i64)
    };
    match (test["state"].as_str().unwrap(), rng.below(10)) {
        ("draft", 0) | ("red_executing", 0) => {
            step(app, token, id, "cancel").await;
        }
        ("draft", _) => {
            step(app, token, id, "start-execution").await;
        }
        ("red_executing", 1..=3) => {
            let ran = minutes(rng);
            let body = json!({"executed_at": ran.to_rfc3339(), "attack_outcome": "succeeded"});
            assert_eq!(patch(app, token, id, version, body).await.status, 200);
        }
        ("red_executing", _) => {
            step(app, token, id, "submit-to-blue").await;
        }
        ("blue_evaluating", 0..=1) => {
            let body =
                json!({"technique_id": rng.pick(&TECHNIQUES), "procedure": rng.pick(&PROCEDURES)});
            assert_eq!(patch(app, token, id, version, body).await.status, 200);
        }
        ("blue_evaluating", _) => {
            let outcome = rng.pick(&OUTCOMES);
            let mut body = json!({"detection_outcome": outcome});
            if outcome != "not_detected" {
                let ran: chrono::DateTime<chrono::FixedOffset> =
                    chrono::DateTime::parse_from_rfc3339(test["executed_at"].as_str().unwrap())
                        .unwrap();
                let seen = ran + chrono::Duration::milliseconds(rng.below(5_000_000) as i64);
                body["detected_at"] = json!(seen.to_rfc3339());
            } else {
                body["detected_at"] = Value::Null;
            }
            let reply = patch(app, token, id, version, body).await;
            assert_eq!(reply.status, 200, "{:?}", reply.body);
            step(app, token, id, "complete").await;
        }
        ("completed", 0..=3) => {
            step(app, token, id, "reopen").await;
        }
        _ => {}
    }
}

async fn aggregates_match_a_full_recomputation(stack: Stack) {
    let Some(env) = TestEnv::new(stack).await else {
        return;
    };
    let app = env.spawn().await;
    load_catalog(&app, &shared_data(MINI)).await;
    let admin = app.admin_token().await;
    let mut rng = Rng(0x00c0_ffee_1234_5678);
    let (mut tests, mut regressions_seen) = (Vec::new(), 0);
    for round in 0..12 {
        for _ in 0..4 {
            let ran = chrono::DateTime::parse_from_rfc3339("2026-11-01T10:00:00Z").unwrap()
                + chrono::Duration::minutes(rng.below(240) as i64);
            let body = json!({
                "name": format!("test {}", tests.len()),
                "technique_id": rng.pick(&TECHNIQUES),
                "procedure": rng.pick(&PROCEDURES),
                "executed_at": ran.to_rfc3339(),
                "attack_outcome": "succeeded",
            });
            tests.push(
                create_test(&app, &admin, body).await["id"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
            );
        }
        for _ in 0..30 {
            random_step(&app, &admin, &mut rng, &tests).await;
        }
        let now = maintained(&app).await;
        assert_eq!(now, recomputed(&app).await, "after round {round}");
        regressions_seen += now.0.iter().filter(|p| p.6.is_some()).count();
    }
    let (procedures, _, _) = maintained(&app).await;
    // The sequence reached what the aggregates are about.
    assert_eq!(procedures.len(), 4, "{procedures:?}");
    // Then, surely, a regression: the latest run of a procedure that was
    // detected before goes undetected.
    let detected = procedures
        .iter()
        .find(|p| ["prevented", "alerted"].contains(&p.4.as_str()))
        .or_else(|| procedures.first())
        .unwrap();
    let body = json!({
        "name": "the latest run", "technique_id": detected.1, "executed_at": "2026-11-02T10:00:00Z",
        "procedure": PROCEDURES.iter().find(|p| aegis_mod_test_cases::repo::procedure_hash(p) == detected.2),
        "attack_outcome": "succeeded",
    });
    let latest = create_test(&app, &admin, body).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for transition in ["start-execution", "submit-to-blue"] {
        step(&app, &admin, &latest, transition).await;
    }
    let version = app
        .get(&format!("/api/v1/tests/{latest}"), &admin)
        .await
        .body["version"]
        .as_i64()
        .unwrap();
    patch(
        &app,
        &admin,
        &latest,
        version,
        json!({"detection_outcome": "not_detected"}),
    )
    .await;
    step(&app, &admin, &latest, "complete").await;
    let now = maintained(&app).await;
    assert_eq!(now, recomputed(&app).await, "after the regression");
    let (procedures, tallies, histogram) = now;
    regressions_seen += procedures
        .iter()
        .filter(|p| p.6.as_deref() == Some(latest.as_str()))
        .count();
    assert!(regressions_seen > 0, "a regression was reached");
    assert!(tallies.iter().any(|t| t.0 == "completed"), "{tallies:?}");
    assert!(tallies.iter().any(|t| t.0 == "cancelled"), "{tallies:?}");
    assert!(histogram.len() > 3, "{histogram:?}");
    assert_both_paths_agree(&app, &admin).await;

    // Tests of one procedure completed at once (on PostgreSQL, concurrent
    // transactions over the same aggregate rows) all count.
    let mut waiting = Vec::new();
    for n in 0..8 {
        let body = json!({
            "name": format!("at once {n}"), "technique_id": "T1059.001", "procedure": "encoded",
            "executed_at": format!("2026-11-03T10:0{n}:00Z"), "attack_outcome": "succeeded",
        });
        let id = create_test(&app, &admin, body).await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        step(&app, &admin, &id, "start-execution").await;
        let version = step(&app, &admin, &id, "submit-to-blue").await["version"]
            .as_i64()
            .unwrap();
        let outcome = json!({"detection_outcome": OUTCOMES[n % 4], "detected_at": if n % 4 == 3 { Value::Null } else { json!(format!("2026-11-03T11:0{n}:00Z")) }});
        assert_eq!(patch(&app, &admin, &id, version, outcome).await.status, 200);
        waiting.push(id);
    }
    let paths: Vec<String> = waiting
        .iter()
        .map(|id| format!("/api/v1/tests/{id}/complete"))
        .collect();
    let completions = paths.iter().map(|path| app.post(path, &admin, json!({})));
    for reply in futures::future::join_all(completions).await {
        assert_eq!(reply.status, 200, "{:?}", reply.body);
    }
    let now = maintained(&app).await;
    assert_eq!(now, recomputed(&app).await, "after completions at once");
    let (procedures, tallies, histogram) = now;

    // A rebuild recomputes aggregates that were lost or wrong.
    let pool = app.kernel.db.pool();
    sqlx::query("DELETE FROM test_cases_agg_procedure")
        .execute(pool)
        .await
        .unwrap();
    sqlx::query("UPDATE test_cases_agg_tally SET tests = tests + 7")
        .execute(pool)
        .await
        .unwrap();
    assert_ne!(maintained(&app).await, recomputed(&app).await);
    let mut tx = app.kernel.db.begin().await.unwrap();
    let rebuilt = aggregates::rebuild(&mut tx).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(rebuilt.procedures, procedures.len() as u64);
    assert_eq!(maintained(&app).await, (procedures, tallies, histogram));
}

stack_tests!(aggregates_match_a_full_recomputation);
