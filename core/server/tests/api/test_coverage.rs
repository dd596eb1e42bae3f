//! Coverage rules, KPIs, snapshots with their diff and retention, and the
//! Navigator export validated against the 4.5 schema.

use serde_json::{Value, json};

use crate::helpers::{Stack, TestApp, TestEnv, shared_data};
use crate::stack_tests;
use crate::test_cases::{MINI, create_test, load_catalog, patch, step};

/// Where `value` holds a null, as JSON pointers: an answer leaves an absent
/// value out, as its document says, so a typed client never meets a null.
pub fn nulls(value: &Value) -> Vec<String> {
    fn walk(value: &Value, at: String, found: &mut Vec<String>) {
        match value {
            Value::Null => found.push(at),
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    walk(item, format!("{at}/{i}"), found);
                }
            }
            Value::Object(map) => {
                for (key, item) in map {
                    walk(item, format!("{at}/{key}"), found);
                }
            }
            Value::Bool(_) | Value::Number(_) | Value::String(_) => {}
        }
    }
    let mut found = Vec::new();
    walk(value, String::new(), &mut found);
    found
}

/// The limits a list declares in the document: `limit` 1 to 500, `offset`
/// from 0. Beyond them the request is malformed (422, as every unfit value).
pub async fn assert_page_limits(app: &TestApp, token: &str, path: &str) {
    for query in ["limit=0", "limit=501", "offset=-1"] {
        let reply = app.get(&format!("{path}?{query}"), token).await;
        assert_eq!(reply.status, 422, "{path}?{query}: {:?}", reply.body);
    }
    let doc = app
        .call("GET", "/api/v1/openapi.json", None, None)
        .await
        .body;
    let params = doc["paths"][path]["get"]["parameters"].as_array().unwrap();
    let schema = |name: &str| {
        params
            .iter()
            .find(|p| p["name"] == name)
            .map(|p| p["schema"].clone())
            .unwrap()
    };
    assert_eq!(
        (
            schema("limit")["minimum"].as_f64(),
            schema("limit")["maximum"].as_f64()
        ),
        (Some(1.0), Some(500.0)),
        "{path}"
    );
    assert_eq!(schema("offset")["minimum"].as_f64(), Some(0.0), "{path}");
}

/// A completed test: ran at `ran` (minutes after 10:00), detected `ttd`
/// minutes later unless missed.
#[allow(clippy::too_many_arguments)] // each one is a column of the tables that call it
pub async fn completed(
    app: &TestApp,
    token: &str,
    technique: &str,
    procedure: &str,
    outcome: &str,
    ran: i64,
    ttd: i64,
    extra: Value,
) -> Value {
    let executed = chrono::DateTime::parse_from_rfc3339("2026-11-01T10:00:00Z").unwrap()
        + chrono::Duration::minutes(ran);
    let mut body = json!({
        "name": format!("{technique} {procedure}"), "technique_id": technique, "procedure": procedure,
        "executed_at": executed.to_rfc3339(), "attack_outcome": "succeeded",
    });
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    let test = create_test(app, token, body).await;
    let id = test["id"].as_str().unwrap().to_owned();
    step(app, token, &id, "start-execution").await;
    let t = step(app, token, &id, "submit-to-blue").await;
    let mut blue = json!({"detection_outcome": outcome});
    if outcome != "not_detected" {
        blue["detected_at"] = json!((executed + chrono::Duration::minutes(ttd)).to_rfc3339());
    }
    let r = patch(app, token, &id, t["version"].as_i64().unwrap(), blue).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    step(app, token, &id, "complete").await
}

/// (technique, procedure, outcome, minutes after 10:00)
type Run = (&'static str, &'static str, &'static str, i64);

/// Each run completed in order (detected 3 minutes after it ran, unless
/// missed); the tests as completed.
async fn complete_runs(app: &TestApp, token: &str, runs: &[Run]) -> Vec<Value> {
    let mut tests = Vec::new();
    for &(technique, procedure, outcome, ran) in runs {
        tests.push(completed(app, token, technique, procedure, outcome, ran, 3, json!({})).await);
    }
    tests
}

fn status_of<'a>(coverage: &'a Value, id: &str) -> &'a Value {
    coverage["techniques"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["attack_id"] == id)
        .unwrap_or_else(|| panic!("{id} missing"))
}

async fn coverage_follows_the_latest_test_of_each_procedure(stack: Stack) {
    let Some(env) = TestEnv::new(stack).await else {
        return;
    };
    let app = env.spawn().await;
    load_catalog(&app, &shared_data(MINI)).await;
    let admin = app.admin_token().await;
    let runs: &[Run] = &[
        ("T1003.001", "comsvcs", "alerted", 0),
        ("T1003.002", "reg save", "logged", 0),
        ("T1003.004", "lsadump", "not_detected", 0),
        ("T1059.001", "encoded", "prevented", 0),
        ("T1059.001", "download cradle", "not_detected", 5),
        ("T1059.004", "reverse shell", "alerted", 0),
        ("T1059.004", "reverse shell", "not_detected", 60),
        ("T1059.006", "pty spawn", "not_detected", 0),
        ("T1059.006", "pty spawn", "alerted", 60),
        ("T1566.001", "macro", "logged", 0),
        ("T1566.001", "macro", "prevented", 30),
    ];
    complete_runs(&app, &admin, runs).await;
    // Work in progress counts for nothing.
    create_test(
        &app,
        &admin,
        json!({"name": "wip", "technique_id": "T1548.002"}),
    )
    .await;

    let coverage = app.get("/api/v1/coverage", &admin).await;
    assert_eq!(coverage.status, 200, "{:?}", coverage.body);
    let c = &coverage.body;
    // (technique, status, completed tests, procedures, regression)
    let expected = [
        ("T1003.001", "covered", 1, 1, false),
        ("T1003.002", "partial", 1, 1, false),
        ("T1003.004", "gap", 1, 1, false),
        ("T1059.001", "partial", 2, 2, false),
        ("T1059.004", "gap", 2, 1, true),
        ("T1059.006", "covered", 2, 1, false),
        ("T1566.001", "covered", 2, 1, false),
        ("T1548.002", "untested", 0, 0, false),
        ("T1078", "untested", 0, 0, false),
        // Parents are judged on their sub-techniques' procedures too.
        ("T1003", "partial", 3, 3, false),
        ("T1059", "partial", 6, 4, true),
        ("T1566", "covered", 2, 1, false),
        ("T1548", "untested", 0, 0, false),
    ];
    for (id, status, tests, procedures, regression) in expected {
        let t = status_of(c, id);
        assert_eq!(t["status"], status, "{id}: {t:?}");
        assert_eq!(t["tests"], tests, "{id}");
        assert_eq!(t["procedures"], procedures, "{id}");
        assert_eq!(t["regression"], regression, "{id}");
    }
    // Revoked and deprecated techniques without tests are not listed at all.
    assert!(
        c["techniques"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["attack_id"] != "T1066")
    );
    // Totals count each matrix cell once: T1566 covered, T1003 and T1059
    // partial, T1548 and T1078 untested.
    let overall = &c["overall"];
    assert_eq!(overall["covered"], 1);
    assert_eq!(overall["partial"], 2);
    assert_eq!(overall["gap"], 0);
    assert_eq!(overall["untested"], 2);
    let counted: Vec<&str> = c["techniques"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["counted"] == true)
        .map(|t| t["attack_id"].as_str().unwrap())
        .collect();
    assert_eq!(counted, ["T1003", "T1059", "T1078", "T1548", "T1566"]);
    let credential = c["tactics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["short_name"] == "credential-access")
        .unwrap();
    assert_eq!(
        credential["counts"],
        json!({"covered": 0, "partial": 1, "gap": 0, "untested": 0})
    );
    assert_eq!(credential["covered_percent"], 0.0);
    let initial = c["tactics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["short_name"] == "initial-access")
        .unwrap();
    assert_eq!(
        initial["counts"],
        json!({"covered": 1, "partial": 0, "gap": 0, "untested": 1})
    );
    assert_eq!(initial["covered_percent"], 50.0);
    let gaps = app.get("/api/v1/coverage?status=gap", &admin).await;
    let ids: Vec<&str> = gaps.body["techniques"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["attack_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["T1003.004", "T1059.004"]);
}

async fn coverage_scopes_by_campaign_platform_and_dates(stack: Stack) {
    let Some(env) = TestEnv::new(stack).await else {
        return;
    };
    let app = env.spawn().await;
    load_catalog(&app, &shared_data(MINI)).await;
    let admin = app.admin_token().await;
    let campaign = app
        .post("/api/v1/campaigns", &admin, json!({"name": "Q4"}))
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    completed(
        &app,
        &admin,
        "T1059.004",
        "bash",
        "alerted",
        0,
        1,
        json!({"platform": "Linux", "campaign_id": campaign}),
    )
    .await;
    completed(
        &app,
        &admin,
        "T1059.001",
        "pwsh",
        "not_detected",
        600,
        1,
        json!({"platform": "Windows"}),
    )
    .await;
    let get = |query: String| {
        let app = &app;
        let admin = admin.clone();
        async move {
            app.get(&format!("/api/v1/coverage?{query}"), &admin)
                .await
                .body
        }
    };
    let in_campaign = get(format!("campaign_id={campaign}")).await;
    assert_eq!(status_of(&in_campaign, "T1059.004")["status"], "covered");
    assert_eq!(status_of(&in_campaign, "T1059.001")["status"], "untested");
    let linux = get("platform=linux".into()).await;
    assert_eq!(status_of(&linux, "T1059.004")["status"], "covered");
    // Platform scope lists the techniques that apply to it: PowerShell is not a Linux technique.
    assert!(
        linux["techniques"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["attack_id"] != "T1059.001")
    );
    let early = get("from=2026-11-01T09:00:00Z&to=2026-11-01T12:00:00Z".into()).await;
    assert_eq!(status_of(&early, "T1059.004")["status"], "covered");
    assert_eq!(status_of(&early, "T1059.001")["status"], "untested");
    let late = get("from=2026-11-01T12:00:00Z".into()).await;
    assert_eq!(status_of(&late, "T1059.001")["status"], "gap");
    let bad = app
        .get(
            "/api/v1/coverage?from=2026-12-01T00:00:00Z&to=2026-11-01T00:00:00Z",
            &admin,
        )
        .await;
    assert_eq!(bad.status, 422);
    // The document declares both: a campaign id is a UUID, a date's year is
    // 1970 to 9999. A malformed id is an unfit value (422).
    let bad = app.get("/api/v1/coverage?campaign_id=nope", &admin).await;
    assert_eq!(bad.status, 422);
    let bad = app
        .get("/api/v1/coverage?from=1969-12-31T00:00:00Z", &admin)
        .await;
    assert_eq!(bad.status, 422);
}

async fn the_platform_filter_matches_literally(stack: Stack) {
    let Some(env) = TestEnv::new(stack).await else {
        return;
    };
    let app = env.spawn().await;
    load_catalog(&app, &shared_data(MINI)).await;
    let admin = app.admin_token().await;
    let techniques = |query: &'static str| {
        let app = &app;
        let admin = admin.clone();
        async move {
            let reply = app.get(&format!("/api/v1/coverage?{query}"), &admin).await;
            assert_eq!(reply.status, 200, "{query}: {:?}", reply.body);
            reply.body["techniques"].as_array().unwrap().len()
        }
    };
    assert!(techniques("platform=linux").await > 0);
    // `%` and `_` are characters of a platform name, not wildcards.
    for query in [
        "platform=%25",
        "platform=_inux",
        "platform=l%25",
        "platform=%5C",
    ] {
        assert_eq!(techniques(query).await, 0, "{query}");
    }
}

async fn drift_shows_revoked_coverage_with_its_replacement(stack: Stack) {
    let Some(env) = TestEnv::new(stack).await else {
        return;
    };
    let app = env.spawn().await;
    let mini = shared_data(MINI);
    load_catalog(&app, &mini).await;
    let admin = app.admin_token().await;
    completed(
        &app,
        &admin,
        "T1059.007",
        "node",
        "alerted",
        0,
        2,
        json!({}),
    )
    .await;
    let before = app.get("/api/v1/coverage", &admin).await.body;
    assert_eq!(status_of(&before, "T1059.007")["revoked"], false);
    let covered_before = before["overall"]["covered"].as_i64().unwrap();
    crate::test_cases::revoke_in_catalog(&app, &mini, "T1059.007", "T1059.001").await;
    let after = app.get("/api/v1/coverage", &admin).await.body;
    let t = status_of(&after, "T1059.007");
    assert_eq!(t["status"], "covered");
    assert_eq!(t["revoked"], true);
    assert_eq!(t["replaced_by"], "T1059.001");
    assert_eq!(
        after["overall"]["covered"],
        covered_before - 1,
        "drifted coverage is not counted"
    );
    let layer = app
        .get("/api/v1/coverage/navigator-layer", &admin)
        .await
        .body;
    let entry = layer["techniques"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["techniqueID"] == "T1059.007")
        .unwrap();
    assert!(
        entry["comment"]
            .as_str()
            .unwrap()
            .contains("revoked, replaced by T1059.001"),
        "{entry:?}"
    );
}

async fn kpis_count_rates_and_times(stack: Stack) {
    let Some(env) = TestEnv::new(stack).await else {
        return;
    };
    let app = env.spawn().await;
    load_catalog(&app, &shared_data(MINI)).await;
    let admin = app.admin_token().await;
    // Times to detect of 2, 4 and 12 minutes; one prevented, one missed.
    completed(&app, &admin, "T1003.001", "a", "prevented", 0, 2, json!({})).await;
    completed(&app, &admin, "T1003.002", "b", "alerted", 0, 4, json!({})).await;
    completed(&app, &admin, "T1003.004", "c", "logged", 0, 12, json!({})).await;
    completed(
        &app,
        &admin,
        "T1003.005",
        "d",
        "not_detected",
        0,
        0,
        json!({}),
    )
    .await;
    create_test(
        &app,
        &admin,
        json!({"name": "draft", "technique_id": "T1059"}),
    )
    .await;
    let reply = app.get("/api/v1/dashboard/kpis", &admin).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    let k = &reply.body["kpis"];
    assert_eq!(k["tests_total"], 5);
    assert_eq!(k["tests_by_state"]["completed"], 4);
    assert_eq!(k["tests_by_state"]["draft"], 1);
    assert_eq!(k["detection_rate"], 50.0);
    assert_eq!(k["prevention_rate"], 25.0);
    assert_eq!(k["mean_time_to_detect_seconds"], 360.0);
    assert_eq!(k["median_time_to_detect_seconds"], 240.0);
    assert!(k["mean_blue_review_seconds"].as_f64().unwrap() >= 0.0);
    // T1003's four sub-techniques make one partial cell.
    assert_eq!(k["techniques"]["covered"], 0);
    assert_eq!(k["techniques"]["partial"], 1);
    assert_eq!(k["techniques"]["gap"], 0);
    assert!(
        reply.body.get("previous_snapshot_id").is_none(),
        "without a snapshot the field is left out, not null: {:?}",
        reply.body
    );
    // An even count takes the mean of the middle two.
    completed(&app, &admin, "T1003.008", "e", "alerted", 0, 6, json!({})).await;
    let snapshot = app
        .post("/api/v1/coverage/snapshots", &admin, json!({}))
        .await;
    assert_eq!(snapshot.status, 201, "{:?}", snapshot.body);
    let k = app.get("/api/v1/dashboard/kpis", &admin).await.body;
    assert_eq!(k["kpis"]["median_time_to_detect_seconds"], 300.0);
    assert_eq!(k["previous_snapshot_id"], snapshot.body["id"]);
    assert_eq!(k["change"], json!({}));
    completed(
        &app,
        &admin,
        "T1059.001",
        "f",
        "not_detected",
        0,
        0,
        json!({}),
    )
    .await;
    let k = app.get("/api/v1/dashboard/kpis", &admin).await.body;
    assert_eq!(k["change"]["completed"], 1.0);
    assert_eq!(k["change"]["techniques_gap"], 1.0);
    assert_eq!(k["change"]["techniques_untested"], -1.0);
}

async fn snapshots_diff_and_age_out(stack: Stack) {
    let Some(env) = TestEnv::new(stack).await else {
        return;
    };
    let app = env.spawn().await;
    load_catalog(&app, &shared_data(MINI)).await;
    let team = crate::test_cases::Team::new(&app).await;
    let admin = team.token("admin").to_owned();
    assert_eq!(
        app.post(
            "/api/v1/coverage/snapshots",
            team.token("red_tech"),
            json!({})
        )
        .await
        .status,
        403
    );
    completed(
        &app,
        &admin,
        "T1003.001",
        "a",
        "not_detected",
        0,
        0,
        json!({}),
    )
    .await;
    let first = app
        .post("/api/v1/coverage/snapshots", team.token("lead"), json!({}))
        .await
        .body;
    completed(&app, &admin, "T1003.001", "a", "alerted", 60, 1, json!({})).await;
    completed(&app, &admin, "T1059.004", "b", "logged", 0, 1, json!({})).await;
    let second = app
        .post("/api/v1/coverage/snapshots", &admin, json!({}))
        .await
        .body;
    let diff = app
        .get(
            &format!(
                "/api/v1/coverage/snapshots/diff?from={}&to={}",
                first["id"].as_str().unwrap(),
                second["id"].as_str().unwrap()
            ),
            team.token("viewer"),
        )
        .await;
    assert_eq!(diff.status, 200, "{:?}", diff.body);
    assert_eq!(
        diff.body["changed"],
        json!([
            {"attack_id": "T1003", "before": "gap", "after": "covered"},
            {"attack_id": "T1003.001", "before": "gap", "after": "covered"},
            {"attack_id": "T1059", "before": "untested", "after": "partial"},
            {"attack_id": "T1059.004", "before": "untested", "after": "partial"},
        ])
    );
    assert_eq!(diff.body["kpi_change"]["techniques_covered"], 1.0);
    assert_eq!(diff.body["kpi_change"]["techniques_gap"], -1.0);
    let one = app
        .get(
            &format!(
                "/api/v1/coverage/snapshots/{}",
                second["id"].as_str().unwrap()
            ),
            &admin,
        )
        .await;
    assert_eq!(one.body["statuses"]["T1059.004"], "partial");
    let listed = app.get("/api/v1/coverage/snapshots", &admin).await;
    assert_eq!(listed.body["total"], 2);
    assert_eq!(listed.body["items"][0]["id"], second["id"]);
    assert_eq!(
        app.get("/api/v1/coverage/snapshots/diff?from=x&to=y", &admin)
            .await
            .status,
        404
    );

    // Retention with a controllable clock: a year on, only the newest stays.
    let service = aegis_mod_coverage::CoverageService::new(
        app.kernel.clone(),
        aegis_mod_techniques::CatalogService::new(&app.kernel),
    );
    let now = aegis_core::time::now();
    assert_eq!(service.apply_retention(now).await.unwrap(), 0);
    let later = now + chrono::Duration::days(366);
    assert_eq!(service.apply_retention(later).await.unwrap(), 1);
    assert_eq!(
        service
            .apply_retention(later + chrono::Duration::days(400))
            .await
            .unwrap(),
        0,
        "never the newest"
    );
    let listed = app.get("/api/v1/coverage/snapshots", &admin).await;
    assert_eq!(listed.body["total"], 1);
    assert_eq!(listed.body["items"][0]["id"], second["id"]);
    let jobs = app
        .get("/api/v1/system/scheduler-status", &admin)
        .await
        .body;
    for job in ["coverage_snapshot", "snapshot_retention"] {
        assert!(
            jobs.as_array().unwrap().iter().any(|j| j["id"] == job),
            "{job}"
        );
    }
}

async fn the_navigator_export_is_a_valid_4_5_layer(stack: Stack) {
    let Some(env) = TestEnv::new(stack).await else {
        return;
    };
    let app = env.spawn().await;
    load_catalog(&app, &shared_data(MINI)).await;
    let admin = app.admin_token().await;
    completed(
        &app,
        &admin,
        "T1003.001",
        "a",
        "alerted",
        0,
        1,
        json!({"platform": "windows"}),
    )
    .await;
    completed(
        &app,
        &admin,
        "T1059.004",
        "b",
        "not_detected",
        0,
        0,
        json!({"platform": "linux"}),
    )
    .await;
    let schema: Value = serde_json::from_slice(
        &std::fs::read(shared_data(
            "navigator-layers/spec/v4.5/layer-4.5.schema.json",
        ))
        .unwrap(),
    )
    .unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    for query in ["", "?platform=windows"] {
        let reply = app
            .get(&format!("/api/v1/coverage/navigator-layer{query}"), &admin)
            .await;
        assert_eq!(reply.status, 200, "{:?}", reply.body);
        let layer = &reply.body;
        let errors: Vec<String> = validator
            .iter_errors(layer)
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(layer["domain"], "enterprise-attack");
        assert_eq!(layer["versions"]["layer"], "4.5");
        assert_eq!(layer["versions"]["attack"], "18");
        assert_eq!(layer["legendItems"].as_array().unwrap().len(), 4);
    }
    let layer = app
        .get("/api/v1/coverage/navigator-layer", &admin)
        .await
        .body;
    let entry = |id: &str| {
        layer["techniques"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["techniqueID"] == id)
            .unwrap()
            .clone()
    };
    assert_eq!(entry("T1003.001")["color"], "#31a354");
    assert_eq!(entry("T1003.001")["score"], 3);
    assert_eq!(entry("T1059.004")["color"], "#e6550d");
    assert!(
        entry("T1003.001")["comment"]
            .as_str()
            .unwrap()
            .starts_with("1 completed test over 1 procedure: 1 detected")
    );
    assert_eq!(entry("T1078")["score"], 0);
    // A parent shows its rolled-up standing and says where it comes from.
    assert_eq!(entry("T1003")["score"], 3);
    assert_eq!(entry("T1059")["color"], "#e6550d");
    assert!(
        entry("T1003")["comment"]
            .as_str()
            .unwrap()
            .contains("including sub-technique T1003.001"),
        "{:?}",
        entry("T1003")
    );
    // Our own export reads back in as a campaign of every listed technique.
    let part = reqwest::multipart::Part::bytes(serde_json::to_vec(&layer).unwrap())
        .file_name("aegis.json");
    let imported = app
        .send(
            app.request("POST", "/api/v1/campaigns/import/navigator", &admin)
                .multipart(reqwest::multipart::Form::new().part("file", part)),
        )
        .await;
    assert_eq!(imported.status, 201, "{:?}", imported.body);
    assert_eq!(
        imported.body[0]["tests_created"],
        layer["techniques"].as_array().unwrap().len()
    );
}

async fn coverage_answers_are_as_documented(stack: Stack) {
    let Some(env) = TestEnv::new(stack).await else {
        return;
    };
    let app = env.spawn().await;
    load_catalog(&app, &shared_data(MINI)).await;
    let admin = app.admin_token().await;
    // Nothing tested yet: no times to detect, no previous snapshot, no date
    // in the scope, no test date on a technique. Each is left out.
    for path in [
        "/api/v1/coverage",
        "/api/v1/dashboard/kpis",
        "/api/v1/coverage/navigator-layer",
    ] {
        let reply = app.get(path, &admin).await;
        assert_eq!(reply.status, 200, "{path}: {:?}", reply.body);
        assert_eq!(nulls(&reply.body), Vec::<String>::new(), "{path}");
    }
    let coverage = app.get("/api/v1/coverage", &admin).await.body;
    assert_eq!(coverage["scope"], json!({}));
    let snapshot = app
        .post("/api/v1/coverage/snapshots", &admin, json!({}))
        .await;
    assert_eq!(snapshot.status, 201, "{:?}", snapshot.body);
    assert_eq!(nulls(&snapshot.body), Vec::<String>::new());
    let listed = app.get("/api/v1/coverage/snapshots", &admin).await.body;
    assert_eq!(nulls(&listed), Vec::<String>::new());
    assert_page_limits(&app, &admin, "/api/v1/coverage/snapshots").await;
    // A scope's campaign is a UUID, in a query as in a body.
    let bad = app
        .post(
            "/api/v1/coverage/snapshots",
            &admin,
            json!({"campaign_id": "nope"}),
        )
        .await;
    assert_eq!(bad.status, 422, "{:?}", bad.body);

    let doc = app
        .call("GET", "/api/v1/openapi.json", None, None)
        .await
        .body;
    let layer = &doc["paths"]["/api/v1/coverage/navigator-layer"]["get"]["responses"]["200"]["content"]
        ["application/json; charset=utf-8"]["schema"];
    assert_eq!(layer["$ref"], "#/components/schemas/NavigatorLayer");
    let technique = &doc["components"]["schemas"]["NavigatorTechnique"];
    assert!(
        technique["properties"]["techniqueID"].is_object(),
        "{technique}"
    );
    let params = doc["paths"]["/api/v1/coverage"]["get"]["parameters"]
        .as_array()
        .unwrap();
    let param = |name: &str| params.iter().find(|p| p["name"] == name).unwrap()["schema"].clone();
    assert_eq!(param("campaign_id")["format"], "uuid");
    assert_eq!(param("from")["format"], "date-time");
    assert!(param("to")["pattern"].is_string());
}

/// Every view reads one standing per technique: a parent judged on its own
/// and its sub-techniques' tests. Heatmap cells (the matrix's techniques
/// with their coverage rows) and tactic totals, the technique list and its
/// status filter, KPIs, the Navigator layer, a snapshot and a report's
/// document agree, for parents in each state.
async fn every_view_agrees_on_parent_techniques(stack: Stack) {
    let Some(env) = TestEnv::new(stack).await else {
        return;
    };
    let app = env.spawn().await;
    load_catalog(&app, &shared_data(MINI)).await;
    let admin = app.admin_token().await;
    let runs: &[Run] = &[
        // T1003 partial: its own procedure alerted, a sub-technique missed.
        ("T1003", "procdump", "alerted", 0),
        ("T1003.001", "comsvcs", "not_detected", 0),
        ("T1003.002", "reg save", "alerted", 0),
        // T1059 covered through sub-techniques only.
        ("T1059.001", "encoded", "prevented", 0),
        ("T1059.004", "bash", "alerted", 0),
        // T1566 a gap, with a regression in one sub-technique.
        ("T1566.001", "macro", "alerted", 0),
        ("T1566.001", "macro", "not_detected", 30),
        ("T1566.002", "link", "not_detected", 0),
    ];
    let tests = complete_runs(&app, &admin, runs).await;
    // The last run missed what the one before it alerted on.
    let regressed = tests[6]["id"].clone();
    let coverage = app.get("/api/v1/coverage", &admin).await.body;
    let status = |id: &str| {
        status_of(&coverage, id)["status"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let expected = [
        ("T1003", "partial"),
        ("T1059", "covered"),
        ("T1566", "gap"),
        ("T1548", "untested"),
        ("T1078", "untested"),
    ];
    for (id, want) in expected {
        assert_eq!(status(id), want, "{id}");
    }
    let t1566 = status_of(&coverage, "T1566");
    assert_eq!(t1566["regression"], true);
    assert_eq!(t1566["regressed_test_ids"], json!([regressed]));
    assert_eq!(
        t1566["subtechniques_tested"],
        json!(["T1566.001", "T1566.002"])
    );

    // The heatmap's cells: each tactic's techniques in the matrix, coloured
    // by their coverage row. The tactic totals count exactly those cells.
    let matrix = app.get("/api/v1/matrix", &admin).await.body;
    let mut cells_overall = json!({"covered": 0, "partial": 0, "gap": 0, "untested": 0});
    let mut seen = std::collections::BTreeSet::new();
    for column in matrix["tactics"].as_array().unwrap() {
        let short = column["tactic"]["short_name"].as_str().unwrap();
        let mut cells = json!({"covered": 0, "partial": 0, "gap": 0, "untested": 0});
        for technique in column["techniques"].as_array().unwrap() {
            let id = technique["attack_id"].as_str().unwrap();
            let s = status(id);
            cells[&s] = json!(cells[&s].as_i64().unwrap() + 1);
            if seen.insert(id.to_owned()) {
                cells_overall[&s] = json!(cells_overall[&s].as_i64().unwrap() + 1);
            }
        }
        let totals = coverage["tactics"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["short_name"] == short)
            .unwrap_or_else(|| panic!("{short} has totals"));
        assert_eq!(totals["counts"], cells, "{short}");
    }
    assert_eq!(coverage["overall"], cells_overall);
    assert_eq!(
        coverage["overall"],
        json!({"covered": 1, "partial": 1, "gap": 1, "untested": 2})
    );

    // The technique list's status filter returns parents by the same rule.
    for (id, want) in expected {
        let listed = app
            .get(&format!("/api/v1/coverage?status={want}"), &admin)
            .await;
        assert!(
            listed.body["techniques"]
                .as_array()
                .unwrap()
                .iter()
                .any(|t| t["attack_id"] == id),
            "{id} listed as {want}"
        );
    }

    // KPIs.
    let kpis = app.get("/api/v1/dashboard/kpis", &admin).await.body;
    assert_eq!(kpis["kpis"]["techniques"], coverage["overall"]);
    assert_eq!(kpis["kpis"]["regressions"], 1);

    // The Navigator layer: score and colour of each parent's status.
    let layer = app
        .get("/api/v1/coverage/navigator-layer", &admin)
        .await
        .body;
    let scores = [
        ("covered", 3, "#31a354"),
        ("partial", 2, "#fdae6b"),
        ("gap", 1, "#e6550d"),
        ("untested", 0, "#d9d9d9"),
    ];
    for (id, want) in expected {
        let entry = layer["techniques"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["techniqueID"] == id)
            .unwrap();
        let (_, score, color) = scores.iter().find(|(s, _, _)| *s == want).unwrap();
        assert_eq!(
            (&entry["score"], &entry["color"]),
            (&json!(score), &json!(color)),
            "{id}"
        );
    }

    // A snapshot freezes the same statuses and counts; a diff against a
    // later one names the parent that moved.
    let snapshot = app
        .post("/api/v1/coverage/snapshots", &admin, json!({}))
        .await
        .body;
    for (id, want) in expected {
        assert_eq!(snapshot["statuses"][id], want, "{id}");
    }
    assert_eq!(snapshot["kpis"]["techniques"], coverage["overall"]);

    // A report's document (the data every format, the PDF included, renders).
    let report =
        crate::reports::generate(&app, &admin, json!({"kind": "coverage", "format": "json"})).await;
    assert_eq!(report["status"], "ready", "{report:?}");
    let document = app
        .request("GET", report["download_url"].as_str().unwrap(), &admin)
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    for tactic in document["tactics"].as_array().unwrap() {
        let totals = coverage["tactics"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["attack_id"] == tactic["id"])
            .unwrap();
        for s in ["covered", "partial", "gap", "untested"] {
            assert_eq!(tactic[s], totals["counts"][s], "{} {s}", tactic["id"]);
        }
    }
    let figure = |name: &str| {
        document["kpis"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["name"] == name)
            .unwrap_or_else(|| panic!("{name}"))["value"]
            .clone()
    };
    assert_eq!(figure("techniques covered"), 1.0);
    assert_eq!(figure("techniques partly covered"), 1.0);
    assert_eq!(figure("techniques with a gap"), 1.0);
    assert_eq!(figure("regressions"), 1.0);
    for (id, want) in expected {
        let row = document["coverage"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["technique_id"] == id)
            .unwrap();
        assert_eq!(row["status"], want, "{id}");
    }
}

stack_tests!(
    coverage_answers_are_as_documented,
    coverage_follows_the_latest_test_of_each_procedure,
    coverage_scopes_by_campaign_platform_and_dates,
    the_platform_filter_matches_literally,
    drift_shows_revoked_coverage_with_its_replacement,
    kpis_count_rates_and_times,
    snapshots_diff_and_age_out,
    the_navigator_export_is_a_valid_4_5_layer,
    every_view_agrees_on_parent_techniques,
);
