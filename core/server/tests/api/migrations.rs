//! Upgrades from an older schema keep every row: a database migrated to the
//! last version before the test-case tables took the `test_cases_` prefix,
//! filled with a test and everything hanging off it, is migrated the rest of
//! the way and then served by the current code.

use aegis_core::db::Db;

use crate::helpers::{Stack, TestEnv};
use crate::stack_tests;

/// The newest migration of the schema whose test-case tables were `tests_*`.
const BEFORE_RENAME: i64 = 20261129000005;

const TEST_ID: &str = "0190f0aa-0000-7000-8000-000000000001";
const TEMPLATE_ID: &str = "0190f0aa-0000-7000-8000-000000000002";

/// One row in every table of the old test-case schema, through the old names.
async fn fill_old_schema(db: &Db) {
    let at = "2026-11-29T10:00:00.000000Z";
    let statements = [
        format!(
            "INSERT INTO tests_template (id, name, description, technique_domain, technique_id, platforms,
                executor, command, cleanup_command, elevation_required, input_arguments, source,
                external_id, content_hash, version, created_at, created_by, updated_at, updated_by)
             VALUES ('{TEMPLATE_ID}', 'List processes', '', 'enterprise-attack', 'T1057', '[\"linux\"]',
                'sh', 'ps aux', NULL, 0, '{{}}', 'manual', NULL, 'hash', 1, '{at}', 'admin', '{at}', 'admin')"
        ),
        format!(
            "INSERT INTO tests_test (id, name, technique_domain, technique_id, campaign_id, template_id,
                procedure, platform, target_host, red_assignee_id, blue_assignee_id, state, executed_at,
                attack_outcome, red_notes, detection_outcome, detected_at, detection_source, blue_notes,
                submitted_at, completed_at, ttd_ms, review_ms, procedure_key, ran_at, version,
                created_at, created_by, updated_at, updated_by)
             VALUES ('{TEST_ID}', 'Process discovery before the upgrade', 'enterprise-attack', 'T1057',
                NULL, '{TEMPLATE_ID}', 'ps aux', 'linux', 'web-01', NULL, NULL, 'completed', '{at}',
                'succeeded', 'ran as root', 'alerted', '{at}', 'EDR', 'rule fired', '{at}', '{at}', 0, 0,
                '{TEMPLATE_ID}', '{at}', 4, '{at}', 'admin', '{at}', 'admin')"
        ),
        format!("INSERT INTO tests_test_tag (test_id, tag) VALUES ('{TEST_ID}', 'upgrade')"),
        format!(
            "INSERT INTO tests_transition (id, test_id, transition, from_state, to_state, actor_id, actor_name, at)
             VALUES ('0190f0aa-0000-7000-8000-000000000003', '{TEST_ID}', 'complete', 'blue_evaluating',
                'completed', 'u1', 'admin', '{at}')"
        ),
        format!(
            "INSERT INTO tests_evidence (id, test_id, side, file_name, media_type, size_bytes, sha256,
                storage_key, description, uploaded_by_id, uploaded_by_name, uploaded_at)
             VALUES ('0190f0aa-0000-7000-8000-000000000004', '{TEST_ID}', 'red', 'ps.txt', 'text/plain',
                3, 'abc', 'evidence/upgrade/ps.txt', '', 'u1', 'admin', '{at}')"
        ),
    ];
    for sql in statements {
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .execute(db.pool())
            .await
            .unwrap();
    }
}

async fn count(db: &Db, table: &str) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
        .fetch_one(db.pool())
        .await
        .unwrap()
}

async fn an_upgrade_keeps_every_test_case_row(stack: Stack) {
    let Some(env) = TestEnv::new(stack).await else {
        return;
    };
    let db = Db::connect(&env.settings.database_url(), 2).await.unwrap();
    db.backend()
        .migrator()
        .run_to(BEFORE_RENAME, db.pool())
        .await
        .unwrap();
    fill_old_schema(&db).await;

    db.migrate().await.unwrap();
    for table in [
        "test_cases_test",
        "test_cases_test_tag",
        "test_cases_transition",
        "test_cases_evidence",
        "test_cases_template",
        "test_cases_fact",
    ] {
        assert_eq!(count(&db, table).await, 1, "{table} after the upgrade");
    }
    let old_left: i64 = sqlx::query_scalar(match stack {
        Stack::Embedded => {
            "SELECT COUNT(*) FROM sqlite_master WHERE name LIKE 'tests\\_%' ESCAPE '\\'"
        }
        Stack::Shared => "SELECT COUNT(*) FROM pg_class WHERE relname LIKE 'tests\\_%' ESCAPE '\\'",
    })
    .fetch_one(db.pool())
    .await
    .unwrap();
    assert_eq!(old_left, 0, "no table or index keeps the old prefix");
    db.close().await;

    // The current code serves the upgraded test with its tag and history.
    let app = env.spawn().await;
    let admin = app.admin_token().await;
    let test = app.get(&format!("/api/v1/tests/{TEST_ID}"), &admin).await;
    assert_eq!(test.status, 200, "{:?}", test.body);
    assert_eq!(test.body["name"], "Process discovery before the upgrade");
    assert_eq!(test.body["state"], "completed");
    assert_eq!(test.body["version"], 4);
    assert_eq!(test.body["tags"], serde_json::json!(["upgrade"]));
    let evidence = app
        .get(&format!("/api/v1/tests/{TEST_ID}/evidence"), &admin)
        .await;
    assert_eq!(evidence.status, 200, "{:?}", evidence.body);
    assert_eq!(
        evidence.body.as_array().map(Vec::len),
        Some(1),
        "{:?}",
        evidence.body
    );
    let coverage = app.get("/api/v1/dashboard/kpis", &admin).await;
    assert_eq!(coverage.status, 200, "{:?}", coverage.body);
    assert_eq!(coverage.body["kpis"]["tests_by_state"]["completed"], 1);

    // The foreign keys follow the renamed tables: deleting the test removes
    // its tag, transition and evidence rows.
    sqlx::query("DELETE FROM test_cases_test WHERE id = $1")
        .bind(TEST_ID)
        .execute(app.kernel.db.pool())
        .await
        .unwrap();
    for table in [
        "test_cases_test_tag",
        "test_cases_transition",
        "test_cases_evidence",
    ] {
        assert_eq!(count(&app.kernel.db, table).await, 0, "{table} cascades");
    }
}

stack_tests!(an_upgrade_keeps_every_test_case_row);
