//! Seeds 100,000 tests over the full Enterprise catalog into the database
//! given by `AEGIS_DATABASE__URL`, then times `GET /api/v1/dashboard/kpis`,
//! `/coverage` and `/coverage/navigator-layer` against the aggregate SQL
//! each runs, executed directly in the same run. Run by bench/coverage.sh.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::field_reassign_with_default
)]

use std::time::{Duration, Instant};

use aegis_core::Kernel;
use aegis_core::config::Settings;
use aegis_core::secret::Secret;
use aegis_mod_coverage::repo::{COVERAGE_SQL, KPI_SQL};

const TESTS: usize = 100_000;
const RUNS: usize = 7;
const BATCH: usize = 500;

fn median(mut samples: Vec<Duration>) -> f64 {
    samples.sort();
    samples[samples.len() / 2].as_secs_f64() * 1000.0
}

/// A small deterministic generator, so every run seeds the same data.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let url = std::env::var("AEGIS_DATABASE__URL").expect("AEGIS_DATABASE__URL");
    let bundle = std::env::args()
        .nth(1)
        .expect("usage: coverage_bench BUNDLE");
    let dir = std::env::temp_dir().join(format!("aegis-bench-{}", uuid::Uuid::new_v4()));
    let mut settings = Settings::default();
    settings.data_dir = dir.clone();
    settings.database.url = Some(url);
    settings.database.migrate_on_start = Some(true);
    settings.secret_key = Some(Secret::new("bench-secret-key-0123456789-abcdefghijklmnop"));
    settings.admin.password = Some(Secret::new("bench-admin-password"));
    settings.log.level = "warn".into();
    let kernel = Kernel::connect(settings).await?;
    kernel.db.migrate().await?;
    aegis_mod_techniques::SyncService::new(kernel.clone())
        .run("bench", &bundle, &|_, _, _| {})
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let seeded = Instant::now();
    seed(&kernel).await?;
    eprintln!(
        "seeded {TESTS} tests in {:.1} s",
        seeded.elapsed().as_secs_f64()
    );

    let app = aegis::build(kernel.clone()).await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    tokio::spawn(aegis::run_with_listener(
        app,
        listener,
        std::future::pending(),
    ));
    let client = reqwest::Client::new();
    let login: serde_json::Value = client
        .post(format!("{base}/api/v1/auth/login"))
        .json(&serde_json::json!({"username": "admin", "password": "bench-admin-password"}))
        .send()
        .await?
        .json()
        .await?;
    let token = login["access_token"].as_str().unwrap().to_owned();

    let backend = kernel.db.backend();
    let pool = kernel.db.pool().clone();
    let none: Option<String> = None;
    let coverage_query = || {
        let pool = pool.clone();
        let none = none.clone();
        async move {
            sqlx::query(COVERAGE_SQL)
                .bind(&none)
                .bind(&none)
                .bind(&none)
                .bind(&none)
                .bind("enterprise-attack")
                .bind(&none)
                .fetch_all(&pool)
                .await
                .unwrap()
                .len()
        }
    };
    let kpi_query = || {
        let pool = pool.clone();
        let none = none.clone();
        async move {
            sqlx::query(KPI_SQL)
                .bind(&none)
                .bind(&none)
                .bind(&none)
                .bind(&none)
                .fetch_one(&pool)
                .await
                .unwrap();
        }
    };
    let endpoint = |path: &'static str| {
        let client = client.clone();
        let url = format!("{base}{path}");
        let token = token.clone();
        async move {
            let reply = client.get(&url).bearer_auth(&token).send().await.unwrap();
            assert!(reply.status().is_success(), "{path}: {}", reply.status());
            reply.bytes().await.unwrap().len()
        }
    };

    macro_rules! time {
        ($work:expr) => {{
            $work.await;
            let mut samples = Vec::new();
            for _ in 0..RUNS {
                let start = Instant::now();
                $work.await;
                samples.push(start.elapsed());
            }
            median(samples)
        }};
    }
    let coverage_sql = time!(coverage_query());
    let kpi_sql_ms = time!(kpi_query());
    let both_sql = time!(async {
        coverage_query().await;
        kpi_query().await;
    });
    let rows: [(&str, f64, &str, f64); 3] = [
        (
            "GET /api/v1/dashboard/kpis",
            time!(endpoint("/api/v1/dashboard/kpis")),
            "coverage + KPI aggregates",
            both_sql,
        ),
        (
            "GET /api/v1/coverage",
            time!(endpoint("/api/v1/coverage")),
            "coverage aggregate",
            coverage_sql,
        ),
        (
            "GET /api/v1/coverage/navigator-layer",
            time!(endpoint("/api/v1/coverage/navigator-layer")),
            "coverage aggregate",
            coverage_sql,
        ),
    ];
    println!(
        "{} backend, {TESTS} tests, median of {RUNS} runs",
        backend.name()
    );
    println!("  KPI aggregate alone: {kpi_sql_ms:.1} ms");
    for (name, ms, bare_name, bare) in rows {
        println!(
            "  {name:<40} {ms:>7.1} ms   bare {bare_name:<26} {bare:>7.1} ms   ratio {:.2}",
            ms / bare
        );
    }
    kernel.db.close().await;
    std::fs::remove_dir_all(&dir).ok();
    Ok(())
}

/// Inserts the tests (and the transitions of the completed ones) in batches.
async fn seed(kernel: &Kernel) -> anyhow::Result<()> {
    let techniques: Vec<String> = sqlx::query_scalar(
        "SELECT attack_id FROM techniques_technique WHERE domain = 'enterprise-attack' AND revoked = 0 AND deprecated = 0 ORDER BY attack_id",
    )
    .fetch_all(kernel.db.pool())
    .await?;
    let campaigns: Vec<String> = (0..10).map(|_| uuid::Uuid::now_v7().to_string()).collect();
    let mut rng = Rng(0x5eed_cafe_f00d_1234);
    let base =
        chrono::DateTime::parse_from_rfc3339("2026-08-01T00:00:00Z")?.with_timezone(&chrono::Utc);
    let outcomes = ["prevented", "alerted", "logged", "not_detected"];
    let platforms = ["windows", "linux", "macos"];
    let mut tx = kernel.db.pool().begin().await?;
    let mut done = 0;
    while done < TESTS {
        let n = BATCH.min(TESTS - done);
        let mut sql = String::from(
            "INSERT INTO test_cases_test (id, name, technique_domain, technique_id, campaign_id, procedure, platform, state,
                executed_at, attack_outcome, red_notes, detection_outcome, detected_at, blue_notes, version,
                created_at, created_by, updated_at, updated_by, submitted_at, completed_at, procedure_key, ran_at,
                ttd_ms, review_ms) VALUES ",
        );
        let mut transitions = String::from(
            "INSERT INTO test_cases_transition (id, test_id, transition, from_state, to_state, actor_id, actor_name, at) VALUES ",
        );
        let mut rows: Vec<[Option<String>; 13]> = Vec::with_capacity(n);
        let mut durations: Vec<(Option<i64>, Option<i64>)> = Vec::with_capacity(n);
        let mut moves: Vec<[String; 5]> = Vec::new();
        for i in 0..n {
            let id = uuid::Uuid::now_v7().to_string();
            let technique = &techniques[rng.below(techniques.len() as u64) as usize];
            let state = match rng.below(10) {
                0 => "draft",
                1 => "red_executing",
                2 => "blue_evaluating",
                _ => "completed",
            };
            let executed = base + chrono::Duration::minutes(rng.below(90 * 24 * 60) as i64);
            let outcome = (state == "completed").then(|| outcomes[rng.below(4) as usize]);
            let detected = outcome
                .filter(|o| *o != "not_detected")
                .map(|_| executed + chrono::Duration::seconds(30 + rng.below(7200) as i64));
            let submitted = executed + chrono::Duration::minutes(5);
            let mut closed_at = None;
            let ttd = detected.map(|d| (d - executed).num_milliseconds());
            let mut review = None;
            if state == "completed" {
                let closed = submitted + chrono::Duration::minutes(10 + rng.below(600) as i64);
                review = Some((closed - submitted).num_milliseconds());
                closed_at = Some(aegis_core::time::to_db(closed));
                moves.push([
                    uuid::Uuid::now_v7().to_string(),
                    id.clone(),
                    "submit_to_blue".into(),
                    aegis_core::time::to_db(submitted),
                    "red_executing".into(),
                ]);
                moves.push([
                    uuid::Uuid::now_v7().to_string(),
                    id.clone(),
                    "complete".into(),
                    aegis_core::time::to_db(closed),
                    "blue_evaluating".into(),
                ]);
            }
            let procedure = format!("procedure {}", rng.below(3));
            rows.push([
                Some(id),
                Some(technique.clone()),
                Some(campaigns[rng.below(10) as usize].clone()),
                Some(aegis_mod_test_cases::repo::procedure_hash(&procedure)),
                Some(procedure),
                Some(platforms[rng.below(3) as usize].to_owned()),
                Some(state.to_owned()),
                Some(aegis_core::time::to_db(executed)),
                outcome.map(str::to_owned),
                detected.map(aegis_core::time::to_db),
                Some(aegis_core::time::to_db(executed)),
                closed_at
                    .as_ref()
                    .map(|_| aegis_core::time::to_db(submitted)),
                closed_at,
            ]);
            durations.push((ttd, review));
            let p = i * 15;
            if i > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&format!(
                "(${}, 'bench test', 'enterprise-attack', ${}, ${}, ${}, ${}, ${}, ${}, 'succeeded', '', ${}, ${}, '', 1, ${}, 'bench', ${}, 'bench', ${}, ${}, ${}, ${}, ${}, ${})",
                p + 1, p + 2, p + 3, p + 5, p + 6, p + 7, p + 8, p + 9, p + 10, p + 11, p + 11, p + 12, p + 13, p + 4, p + 8, p + 14, p + 15
            ));
        }
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for (row, (ttd, review)) in rows.iter().zip(&durations) {
            for value in row {
                query = query.bind(value.clone());
            }
            query = query.bind(*ttd).bind(*review);
        }
        query.execute(&mut *tx).await?;
        for (i, _) in moves.iter().enumerate() {
            if i > 0 {
                transitions.push_str(", ");
            }
            let p = i * 5;
            transitions.push_str(&format!(
                "(${}, ${}, ${}, ${}, 'x', 'bench', 'bench', ${})",
                p + 1,
                p + 2,
                p + 3,
                p + 5,
                p + 4
            ));
        }
        if !moves.is_empty() {
            let mut query = sqlx::query(sqlx::AssertSqlSafe(transitions));
            for m in &moves {
                for value in m {
                    query = query.bind(value.clone());
                }
            }
            query.execute(&mut *tx).await?;
        }
        done += n;
    }
    for (i, id) in campaigns.iter().enumerate() {
        sqlx::query(
            "INSERT INTO campaigns_campaign (id, name, description, status, source, version, created_at, created_by, updated_at, updated_by)
             VALUES ($1, $2, '', 'active', 'manual', 1, $3, 'bench', $3, 'bench')",
        )
        .bind(id)
        .bind(format!("bench campaign {i}"))
        .bind(aegis_core::time::to_db(base))
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    // Fresh statistics, as a running installation would have.
    sqlx::query("ANALYZE").execute(kernel.db.pool()).await?;
    Ok(())
}
