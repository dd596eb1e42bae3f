//! Seeds `AEGIS_BENCH_TESTS` tests (100,000 by default) over the full
//! Enterprise catalog into the database given by `AEGIS_DATABASE__URL`, then
//! times the list, detail, coverage, KPI and layer endpoints at one
//! connection (median and p99) next to the queries each runs, executed
//! directly in the same run, and `GET /health` as the floor; then throughput
//! at 32 connections, the write path (completing a test) and the server's
//! memory. Run by bench/scale.sh.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::field_reassign_with_default
)]

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use aegis_core::Kernel;
use aegis_core::config::Settings;
use aegis_core::db::BindWhere;
use aegis_core::secret::Secret;
use aegis_mod_coverage::model::Scope;
use aegis_mod_coverage::repo::CoverageRepo;
use aegis_mod_test_cases::model::{Position, TestFilter};
use aegis_mod_test_cases::repo::{DETAIL_SQL, list_queries};
use aegis_mod_test_cases::workflow::TestState;

/// Timed runs of each request at one connection.
const RUNS: usize = 21;
const BATCH: usize = 500;
/// Connections and seconds of the throughput runs.
const CONNECTIONS: usize = 32;
const LOAD_SECONDS: u64 = 3;

/// A measured request: its name, median and p99, and its bare queries' name and timing.
type Row = (String, (f64, f64), &'static str, (f64, f64));

/// Median and p99 in milliseconds.
fn spread(mut samples: Vec<Duration>) -> (f64, f64) {
    samples.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let p99 = ((samples.len() * 99).div_ceil(100)).saturating_sub(1);
    (ms(samples[samples.len() / 2]), ms(samples[p99]))
}

/// One warm-up, then `RUNS` timed runs of `work`.
async fn time<F: Future>(mut work: impl FnMut() -> F) -> (f64, f64) {
    work().await;
    let mut samples = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        let start = Instant::now();
        work().await;
        samples.push(start.elapsed());
    }
    spread(samples)
}

/// Answered requests per second over `CONNECTIONS` concurrent clients for
/// `LOAD_SECONDS`, and how many were turned away with a 503 (the pool's
/// backpressure); any other failure ends the run.
async fn throughput(client: &reqwest::Client, url: String, token: &str) -> (f64, u64) {
    let done = Arc::new(AtomicU64::new(0));
    let refused = Arc::new(AtomicU64::new(0));
    let until = Instant::now() + Duration::from_secs(LOAD_SECONDS);
    let mut workers = Vec::new();
    for _ in 0..CONNECTIONS {
        let (client, url, token) = (client.clone(), url.clone(), token.to_owned());
        let (done, refused) = (done.clone(), refused.clone());
        workers.push(tokio::spawn(async move {
            while Instant::now() < until {
                let reply = client.get(&url).bearer_auth(&token).send().await.unwrap();
                let status = reply.status();
                reply.bytes().await.unwrap();
                if status == reqwest::StatusCode::SERVICE_UNAVAILABLE {
                    refused.fetch_add(1, Ordering::Relaxed);
                } else {
                    assert!(status.is_success(), "{url}: {status}");
                    done.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    for worker in workers {
        worker.await.unwrap();
    }
    (
        done.load(Ordering::Relaxed) as f64 / LOAD_SECONDS as f64,
        refused.load(Ordering::Relaxed),
    )
}

/// This process's resident memory (the server runs in it), in MB.
fn resident_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|kb| kb.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
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
    // The server's warnings and errors (a refused request says why).
    tracing_subscriber::fmt()
        .with_env_filter("warn")
        .with_writer(std::io::stderr)
        .init();
    let url = std::env::var("AEGIS_DATABASE__URL").expect("AEGIS_DATABASE__URL");
    let tests: usize = std::env::var("AEGIS_BENCH_TESTS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(100_000);
    let bundle = std::env::args().nth(1).expect("usage: scale_bench BUNDLE");
    let dir = std::env::temp_dir().join(format!("aegis-bench-{}", uuid::Uuid::new_v4()));
    let mut settings = Settings::default();
    settings.data_dir = dir.clone();
    settings.database.url = Some(url);
    settings.database.migrate_on_start = Some(true);
    settings.secret_key = Some(Secret::new("bench-secret-key-0123456789-abcdefghijklmnop"));
    settings.admin.password = Some(Secret::new("bench-admin-password"));
    settings.log.level = "warn".into();
    // Only the requests timed here touch the database.
    for job in [
        "notification_derive",
        "notification_email",
        "alert_evaluation",
        "coverage_snapshot",
    ] {
        settings.jobs.insert(job.into(), String::new());
    }
    let kernel = Kernel::connect(settings).await?;
    kernel.db.migrate().await?;
    aegis_mod_techniques::SyncService::new(kernel.clone())
        .run("bench", &bundle, &|_, _, _| {})
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let seeded = Instant::now();
    seed(&kernel, tests).await?;
    eprintln!(
        "seeded {tests} tests in {:.1} s",
        seeded.elapsed().as_secs_f64()
    );
    // The seed wrote the tables directly, as a restore does.
    let rebuilt = Instant::now();
    let mut tx = kernel.db.begin().await?;
    let counts = aegis_mod_test_cases::aggregates::rebuild(&mut tx).await?;
    tx.commit().await?;
    eprintln!(
        "rebuilt the aggregates ({} procedures) in {:.1} s",
        counts.procedures,
        rebuilt.elapsed().as_secs_f64()
    );
    let memory_before_server = resident_mb();

    let app = aegis::build(kernel.clone()).await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    tokio::spawn(aegis::run_with_listener(
        app,
        listener,
        std::future::pending(),
    ));
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(CONNECTIONS)
        .build()?;
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
    let some_id: String = sqlx::query_scalar(
        "SELECT id FROM test_cases_test WHERE state = 'completed' ORDER BY id LIMIT 1 OFFSET 1000",
    )
    .fetch_one(&pool)
    .await?;
    let figures = CoverageRepo::new(kernel.db.clone());
    let campaign_id: String =
        sqlx::query_scalar("SELECT campaign_id FROM test_cases_test WHERE id = $1")
            .bind(&some_id)
            .fetch_one(&pool)
            .await?;
    let campaign = Scope {
        campaign_id: Some(campaign_id.clone()),
        ..Scope::default()
    };
    // The repository's queries, bare: SQL and row decoding, no HTTP or roll-up.
    let coverage_query = |scope: Scope| {
        let figures = figures.clone();
        async move {
            figures
                .techniques("enterprise-attack", &scope)
                .await
                .unwrap()
                .len()
        }
    };
    let kpi_query = || {
        let figures = figures.clone();
        async move {
            figures.kpis(&Scope::default()).await.unwrap();
        }
    };
    // A page's count and rows, as the list runs them.
    let list_query = |filter: TestFilter, offset: i64| {
        let pool = pool.clone();
        async move {
            // The bound the endpoint counts to by default.
            let queries = list_queries(backend, &filter, Some(offset + 10_000));
            let _: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(queries.count))
                .bind_where(&queries.count_conditions)
                .fetch_one(&pool)
                .await
                .unwrap();
            sqlx::query(sqlx::AssertSqlSafe(queries.page))
                .bind_where(&queries.page_conditions)
                .bind(50_i64)
                .bind(offset)
                .fetch_all(&pool)
                .await
                .unwrap();
        }
    };
    let detail_query = || {
        let (pool, id) = (pool.clone(), some_id.clone());
        async move {
            sqlx::query(DETAIL_SQL)
                .bind(id)
                .fetch_one(&pool)
                .await
                .unwrap();
        }
    };
    let endpoint = |path: String| {
        let (client, token) = (client.clone(), token.clone());
        let url = format!("{base}{path}");
        move || {
            let (client, token, url) = (client.clone(), token.clone(), url.clone());
            async move {
                let reply = client.get(&url).bearer_auth(&token).send().await.unwrap();
                assert!(reply.status().is_success(), "{url}: {}", reply.status());
                reply.bytes().await.unwrap().len()
            }
        }
    };
    let completed = TestFilter {
        state: Some(TestState::Completed),
        ..TestFilter::default()
    };
    // A word in a third of the tests, and a technique's (about one in 700).
    let searched = TestFilter {
        text: Some("procedure 1".into()),
        ..TestFilter::default()
    };
    let narrow = TestFilter {
        text: Some("T1059.001".into()),
        ..TestFilter::default()
    };
    let deep = (tests.min(50_000) as i64 / 50 - 1).max(0) * 50;
    // The same depth by keyset: the cursor after the test just before it.
    let before_deep: serde_json::Value = client
        .get(format!("{base}/api/v1/tests?limit=1&offset={}", deep - 1))
        .bearer_auth(&token)
        .send()
        .await?
        .json()
        .await?;
    let cursor = before_deep["next"].as_str().unwrap().to_owned();
    let last = &before_deep["items"][0];
    let keyset = TestFilter {
        after: Some(Position {
            value: last["created_at"].as_str().map(|at| {
                aegis_core::time::to_db(at.parse::<chrono::DateTime<chrono::Utc>>().unwrap())
            }),
            id: last["id"].as_str().unwrap().to_owned(),
        }),
        ..TestFilter::default()
    };

    println!(
        "{} backend, {tests} tests; median / p99 of {RUNS} runs at 1 connection",
        backend.name()
    );
    let health = time(endpoint("/health".into())).await;
    println!(
        "  {:<46} {:>8.2} / {:>8.2} ms",
        "GET /health (the floor)", health.0, health.1
    );
    let rows: Vec<Row> = vec![
        (
            "GET /tests?limit=50".into(),
            time(endpoint("/api/v1/tests?limit=50".into())).await,
            "list queries",
            time(|| list_query(TestFilter::default(), 0)).await,
        ),
        (
            format!("GET /tests?limit=50&offset={deep}"),
            time(endpoint(format!("/api/v1/tests?limit=50&offset={deep}"))).await,
            "list queries",
            time(|| list_query(TestFilter::default(), deep)).await,
        ),
        (
            format!("GET /tests?limit=50&after=… (test {deep})"),
            time(endpoint(format!("/api/v1/tests?limit=50&after={cursor}"))).await,
            "list queries",
            time(|| list_query(keyset.clone(), 0)).await,
        ),
        (
            "GET /tests?state=completed".into(),
            time(endpoint("/api/v1/tests?limit=50&state=completed".into())).await,
            "list queries",
            time(|| list_query(completed.clone(), 0)).await,
        ),
        (
            "GET /tests?q=procedure 1".into(),
            time(endpoint("/api/v1/tests?limit=50&q=procedure%201".into())).await,
            "list queries",
            time(|| list_query(searched.clone(), 0)).await,
        ),
        (
            "GET /tests?q=T1059.001".into(),
            time(endpoint("/api/v1/tests?limit=50&q=T1059.001".into())).await,
            "list queries",
            time(|| list_query(narrow.clone(), 0)).await,
        ),
        (
            "GET /tests/{id}".into(),
            time(endpoint(format!("/api/v1/tests/{some_id}"))).await,
            "detail query",
            time(detail_query).await,
        ),
        (
            "GET /dashboard/kpis".into(),
            time(endpoint("/api/v1/dashboard/kpis".into())).await,
            "coverage + KPI aggregates",
            time(|| async {
                coverage_query(Scope::default()).await;
                kpi_query().await;
            })
            .await,
        ),
        (
            "GET /coverage".into(),
            time(endpoint("/api/v1/coverage".into())).await,
            "coverage queries",
            time(|| coverage_query(Scope::default())).await,
        ),
        (
            "GET /coverage/navigator-layer".into(),
            time(endpoint("/api/v1/coverage/navigator-layer".into())).await,
            "coverage queries",
            time(|| coverage_query(Scope::default())).await,
        ),
        (
            "GET /coverage?campaign_id=… (from the tests)".into(),
            time(endpoint(format!(
                "/api/v1/coverage?campaign_id={campaign_id}"
            )))
            .await,
            "coverage queries",
            time(|| coverage_query(campaign.clone())).await,
        ),
    ];
    for (name, (median, p99), bare_name, (bare, _)) in &rows {
        println!(
            "  {name:<46} {median:>8.2} / {p99:>8.2} ms   bare {bare_name:<26} {bare:>8.2} ms   x{:.2} bare, x{:.1} health",
            median / bare,
            median / health.0
        );
    }

    println!("  throughput at {CONNECTIONS} connections, {LOAD_SECONDS} s each:");
    for path in [
        "/health".to_owned(),
        "/api/v1/tests?limit=50".to_owned(),
        format!("/api/v1/tests/{some_id}"),
        "/api/v1/coverage".to_owned(),
    ] {
        let (rate, refused) = throughput(&client, format!("{base}{path}"), &token).await;
        println!("    GET {path:<44} {rate:>9.0} req/s   {refused} refused (503)");
    }
    println!(
        "  resident memory of the bench process: {memory_before_server:.0} MB before the server \
         started (catalog and seed), {:.0} MB after the load",
        resident_mb()
    );

    // The write path: PATCH a test under blue review with its detection (not
    // timed), then complete it (timed).
    let waiting: Vec<(String,)> = sqlx::query_as(
        "SELECT id FROM test_cases_test WHERE state = 'blue_evaluating' ORDER BY id LIMIT 22",
    )
    .fetch_all(&pool)
    .await?;
    let mut samples = Vec::new();
    for (id,) in &waiting {
        let test: serde_json::Value = client
            .get(format!("{base}/api/v1/tests/{id}"))
            .bearer_auth(&token)
            .send()
            .await?
            .json()
            .await?;
        let version = test["version"].as_i64().unwrap();
        let patched = client
            .patch(format!("{base}/api/v1/tests/{id}"))
            .bearer_auth(&token)
            .header("If-Match", format!("\"{version}\""))
            .json(&serde_json::json!({"detection_outcome": "alerted", "detected_at": "2026-11-01T10:05:00Z"}))
            .send()
            .await?;
        assert!(patched.status().is_success(), "patch: {}", patched.status());
        let start = Instant::now();
        let done = client
            .post(format!("{base}/api/v1/tests/{id}/complete"))
            .bearer_auth(&token)
            .json(&serde_json::json!({}))
            .send()
            .await?;
        samples.push(start.elapsed());
        assert!(done.status().is_success(), "complete: {}", done.status());
    }
    samples.remove(0);
    let (median, p99) = spread(samples);
    println!(
        "  POST /tests/{{id}}/complete {median:>8.2} / {p99:>8.2} ms (median / p99, {} runs)",
        waiting.len() - 1
    );
    kernel.db.close().await;
    std::fs::remove_dir_all(&dir).ok();
    Ok(())
}

/// Inserts the tests (and the transitions of the completed ones) in batches.
async fn seed(kernel: &Kernel, tests: usize) -> anyhow::Result<()> {
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
    while done < tests {
        let n = BATCH.min(tests - done);
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
