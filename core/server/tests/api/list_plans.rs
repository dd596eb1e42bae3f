//! The hot queries at a realistic size, on both backends (PostgreSQL's
//! `EXPLAIN`, SQLite's `EXPLAIN QUERY PLAN`): every order of the test list
//! the API offers, and the common filters, walk an index of the tests table
//! and stop at the page instead of scanning and sorting every test; a search
//! reads the full-text index; the detail reads one row by its key; coverage
//! and KPIs of the whole history read the maintained aggregates, not the
//! tests, and a campaign's read its tests through the campaign index. The
//! total stops counting 10,000 tests past the page unless an exact one is
//! asked for.

use aegis_core::db::{Backend, Bind, Where};
use aegis_mod_coverage::model::Scope;
use aegis_mod_coverage::repo::figure_queries;
use aegis_mod_test_cases::model::{Position, TestFilter, TestSort};
use aegis_mod_test_cases::repo::{DETAIL_SQL, list_queries};
use aegis_mod_test_cases::workflow::TestState;

use crate::helpers::{Stack, TestApp, TestEnv};
use crate::stack_tests;

/// Tests seeded straight into the table: enough that a scan costs more than
/// an index to either planner.
const SEEDED: i64 = 20_000;

async fn seed(app: &TestApp) {
    let sql = format!(
        "INSERT INTO test_cases_test (id, name, technique_domain, technique_id, campaign_id,
             procedure, state, executed_at, red_notes, blue_notes, procedure_key, ran_at, version,
             created_at, created_by, updated_at, updated_by)
         WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < {SEEDED})
         SELECT 'seed-' || CAST(1000000 + n AS TEXT), 'Seeded test ' || CAST(n AS TEXT),
             'enterprise-attack', CASE WHEN n % 2 = 0 THEN 'T1003' ELSE 'T1059.001' END,
             CASE WHEN n % 10 = 0 THEN 'campaign-' || CAST(n % 50 AS TEXT) END,
             'procedure', CASE n % 4 WHEN 0 THEN 'draft' WHEN 1 THEN 'red_executing'
                 WHEN 2 THEN 'blue_evaluating' ELSE 'completed' END,
             CASE WHEN n % 3 = 0 THEN NULL
                 ELSE '2026-02-01T00:00:00.' || CAST(100000 + n AS TEXT) || 'Z' END,
             '', '', 'procedure-key', '2026-01-01T00:00:00.000000Z', 1,
             '2026-01-01T00:00:00.' || CAST(100000 + n AS TEXT) || 'Z', 'seed',
             '2026-03-01T00:00:00.' || CAST(100000 + n AS TEXT) || 'Z', 'seed'
         FROM seq"
    );
    let db = app.kernel.db.pool();
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .execute(db)
        .await
        .expect("seed");
    // Statistics as a running installation has them: PostgreSQL's autovacuum
    // analyzes, while Aegis never runs ANALYZE on SQLite. There it would also
    // make plans depend on which pooled connection answers: only connections
    // that load the schema afterwards read the new statistics.
    if app.kernel.db.backend() == Backend::Postgres {
        sqlx::query("ANALYZE test_cases_test")
            .execute(db)
            .await
            .expect("analyze");
    }
}

/// What in a page plan says it read every test or sorted them, if anything.
fn full_work(backend: Backend, plan: &[String]) -> Option<String> {
    plan.iter()
        .find(|line| match backend {
            Backend::Postgres => {
                line.contains("Seq Scan on test_cases_test")
                    || line
                        .trim_start()
                        .trim_start_matches("->")
                        .trim_start()
                        .starts_with("Sort ")
            }
            // `SCAN t` alone reads the table; `SCAN t USING INDEX` walks an index in order.
            Backend::Sqlite => line.trim() == "SCAN t" || line.contains("TEMP B-TREE"),
        })
        .cloned()
}

async fn every_list_order_and_common_filter_walks_an_index(stack: Stack) {
    let Some(env) = TestEnv::new(stack).await else {
        return;
    };
    let app = env.spawn().await;
    seed(&app).await;
    let db = &app.kernel.db;
    let backend = db.backend();
    // The plans of a page and of its count, page first.
    let plans = |filter: TestFilter| async move {
        let queries = list_queries(backend, &filter, Some(10_000));
        let limit = queries.page_conditions.next_placeholder();
        // LIMIT and OFFSET as values: a plan of PostgreSQL needs no parameter for them.
        let page = queries.page.replace(
            &format!("LIMIT ${limit} OFFSET ${}", limit + 1),
            "LIMIT 50 OFFSET 0",
        );
        (
            db.query_plan(&page, &queries.page_conditions)
                .await
                .expect("page plan"),
            db.query_plan(&queries.count, &queries.count_conditions)
                .await
                .expect("count plan"),
        )
    };

    let mut cases: Vec<(String, TestFilter)> = Vec::new();
    for column in TestSort::KEYS {
        for descending in [false, true] {
            let filter = TestFilter {
                sort: TestSort { column, descending },
                ..TestFilter::default()
            };
            cases.push((
                format!("sort {}{column}", if descending { "-" } else { "" }),
                filter,
            ));
        }
    }
    let mut keysets = vec![
        ("created_at", true, Some("2026-01-01T00:00:00.110000Z")),
        ("executed_at", true, Some("2026-02-01T00:00:00.110000Z")),
    ];
    // Past the last executed test (the never-executed part, by id), SQLite
    // takes the id index and sorts, whatever the condition's form; a known
    // gap, checked on PostgreSQL only.
    if backend == Backend::Postgres {
        keysets.push(("executed_at", false, None));
    }
    for (column, descending, value) in keysets {
        cases.push((
            format!("keyset after {value:?} in {column}"),
            TestFilter {
                sort: TestSort { column, descending },
                after: Some(Position {
                    value: value.map(str::to_owned),
                    id: "seed-1010000".into(),
                }),
                ..TestFilter::default()
            },
        ));
    }
    cases.push((
        "a campaign's tests".into(),
        TestFilter {
            campaign_id: Some("campaign-10".into()),
            ..TestFilter::default()
        },
    ));
    cases.push((
        "one state".into(),
        TestFilter {
            state: Some(TestState::Completed),
            sort: TestSort {
                column: "state",
                descending: false,
            },
            ..TestFilter::default()
        },
    ));
    cases.push((
        "a technique and its sub-techniques".into(),
        TestFilter {
            technique: Some("T1059".into()),
            ..TestFilter::default()
        },
    ));

    let mut failures = Vec::new();
    for (what, filter) in &cases {
        let (page, _count) = plans(filter.clone()).await;
        if let Some(line) = full_work(backend, &page) {
            failures.push(format!(
                "{what}: `{}` in\n    {}",
                line.trim(),
                page.join("\n    ")
            ));
        }
    }
    assert!(failures.is_empty(), "{backend:?}:\n{}", failures.join("\n"));

    // The filtered count reads the campaign's index, not the table.
    let (_, count) = plans(cases[cases.len() - 3].1.clone()).await;
    assert!(
        !count
            .iter()
            .any(|line| line.contains("Seq Scan on test_cases_test") || line.trim() == "SCAN t"),
        "{backend:?}: {count:?}"
    );
}

async fn a_long_list_counts_ahead_of_the_page_unless_asked(stack: Stack) {
    let Some(env) = TestEnv::new(stack).await else {
        return;
    };
    let app = env.spawn().await;
    seed(&app).await;
    let admin = app.admin_token().await;
    let total = |path: &'static str| {
        let (app, admin) = (&app, admin.clone());
        async move {
            let reply = app.get(path, &admin).await;
            assert_eq!(reply.status, 200, "{path}: {:?}", reply.body);
            (
                reply.body["total"].as_i64().unwrap(),
                reply.body["total_exact"].as_bool().unwrap(),
            )
        }
    };
    assert_eq!(total("/api/v1/tests?limit=1").await, (10_000, false));
    assert_eq!(
        total("/api/v1/tests?limit=1&exact_total=true").await,
        (SEEDED, true)
    );
    // Counting stops 10,000 past the offset: a lower bound, then the end.
    assert_eq!(
        total("/api/v1/tests?limit=1&offset=9000").await,
        (19_000, false)
    );
    assert_eq!(
        total("/api/v1/tests?limit=1&offset=12000").await,
        (SEEDED, true)
    );
    assert_eq!(
        total("/api/v1/tests?limit=1&campaign_id=campaign-10").await,
        (400, true)
    );
    let page = app
        .get("/api/v1/tests?limit=2&sort=-executed_at", &admin)
        .await;
    assert_eq!(
        page.body["items"].as_array().unwrap().len(),
        2,
        "{:?}",
        page.body
    );
}

/// Every id of a campaign's 400 tests in `sort`, a page of `limit` at a time
/// through `next`.
async fn walk(app: &TestApp, token: &str, sort: &str, limit: usize) -> Vec<String> {
    let mut ids = Vec::new();
    let mut after = String::new();
    loop {
        let path =
            format!("/api/v1/tests?campaign_id=campaign-10&sort={sort}&limit={limit}{after}");
        let reply = app.get(&path, token).await;
        assert_eq!(reply.status, 200, "{path}: {:?}", reply.body);
        let items = reply.body["items"].as_array().unwrap();
        ids.extend(items.iter().map(|t| t["id"].as_str().unwrap().to_owned()));
        match reply.body["next"].as_str() {
            Some(next) => after = format!("&after={next}"),
            None => return ids,
        }
    }
}

async fn keyset_pages_walk_the_same_tests_as_offsets(stack: Stack) {
    let Some(env) = TestEnv::new(stack).await else {
        return;
    };
    let app = env.spawn().await;
    seed(&app).await;
    let admin = app.admin_token().await;
    for sort in [
        "-created_at",
        "name",
        "executed_at",
        "-executed_at",
        "-state",
    ] {
        let whole = app
            .get(
                &format!("/api/v1/tests?campaign_id=campaign-10&sort={sort}&limit=500"),
                &admin,
            )
            .await;
        let expected: Vec<String> = whole.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["id"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(expected.len(), 400);
        assert!(whole.body.get("next").is_none(), "a short page has no next");
        assert_eq!(walk(&app, &admin, sort, 50).await, expected, "{sort}");
        assert_eq!(walk(&app, &admin, sort, 7).await, expected, "{sort} by 7");
    }
    // A cursor belongs to its sort, and is not paged with an offset.
    let first = app.get("/api/v1/tests?sort=name&limit=5", &admin).await;
    let next = first.body["next"].as_str().unwrap();
    for path in [
        format!("/api/v1/tests?sort=-name&limit=5&after={next}"),
        format!("/api/v1/tests?sort=name&limit=5&offset=5&after={next}"),
        "/api/v1/tests?after=not-a-cursor".to_owned(),
        "/api/v1/tests?after=e30".to_owned(),
    ] {
        let reply = app.get(&path, &admin).await;
        assert_eq!(reply.status, 422, "{path}: {:?}", reply.body);
    }
}

/// Whether a plan line reads every row of the tests table.
fn scans_the_tests(backend: Backend, line: &str) -> bool {
    match backend {
        Backend::Postgres => line.contains("Seq Scan on test_cases_test"),
        Backend::Sqlite => {
            let line = line.trim();
            line == "SCAN t" || line == "SCAN test_cases_test"
        }
    }
}

async fn search_detail_coverage_and_kpis_read_indexes_and_aggregates(stack: Stack) {
    let Some(env) = TestEnv::new(stack).await else {
        return;
    };
    let app = env.spawn().await;
    seed(&app).await;
    let db = &app.kernel.db;
    let backend = db.backend();

    let searched = TestFilter {
        text: Some("1234".into()),
        ..TestFilter::default()
    };
    let queries = list_queries(backend, &searched, Some(10_000));
    let count = db
        .query_plan(&queries.count, &queries.count_conditions)
        .await
        .unwrap();
    match backend {
        Backend::Sqlite => assert!(
            count
                .iter()
                .any(|line| line.contains("VIRTUAL TABLE INDEX"))
                && !count.iter().any(|line| scans_the_tests(backend, line)),
            "search: {count:#?}"
        ),
        // PostgreSQL guesses a prefix word matches 2% of the rows, and over
        // 20,000 of them a scan can cost it less than the GIN index (which
        // a million tests get, bench/scale.sh). Either way a row is checked
        // against its stored words, never by parsing its text.
        Backend::Postgres => assert!(
            count
                .iter()
                .any(|line| line.contains("test_cases_test_search"))
                || count
                    .iter()
                    .any(|line| line.contains("Filter: (search_vector @@")),
            "search: {count:#?}"
        ),
    }

    let detail = db
        .query_plan(
            &DETAIL_SQL.replace("$1", "'seed-1010000'"),
            &Where::default(),
        )
        .await
        .unwrap();
    assert!(
        !detail.iter().any(|line| scans_the_tests(backend, line)),
        "{backend:?} detail: {detail:#?}"
    );

    let plan = |sql: String, conditions: Where| async move {
        // The domain after the conditions, as a value.
        let domain = format!("${}", conditions.next_placeholder());
        let sql = sql.replace(&domain, "'enterprise-attack'");
        db.query_plan(&sql, &conditions).await.unwrap()
    };
    let whole = figure_queries(&Scope::default());
    for (what, sql) in [
        ("coverage", whole.coverage),
        ("regressions", whole.regressed),
        ("tally", whole.tally),
        ("time to detect", whole.ttd_histogram),
    ] {
        let lines = plan(sql, whole.conditions.clone()).await;
        assert!(
            !lines.iter().any(|line| line.contains("test_cases_test")),
            "{backend:?} whole-history {what} reads the tests: {lines:#?}"
        );
    }
    let campaign = figure_queries(&Scope {
        campaign_id: Some("campaign-10".into()),
        ..Scope::default()
    });
    assert_eq!(
        campaign.conditions.binds(),
        [Bind::Text("campaign-10".into())]
    );
    for (what, sql) in [
        ("coverage", campaign.coverage),
        ("regressions", campaign.regressed),
        ("tally", campaign.tally),
        ("time to detect", campaign.ttd_histogram),
    ] {
        let lines = plan(sql, campaign.conditions.clone()).await;
        assert!(
            !lines.iter().any(|line| scans_the_tests(backend, line)),
            "{backend:?} a campaign's {what} scans the tests: {lines:#?}"
        );
    }
}

stack_tests!(
    search_detail_coverage_and_kpis_read_indexes_and_aggregates,
    every_list_order_and_common_filter_walks_an_index,
    keyset_pages_walk_the_same_tests_as_offsets,
    a_long_list_counts_ahead_of_the_page_unless_asked,
);
