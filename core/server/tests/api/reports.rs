//! Reports on both stacks: every built-in format and a plugin format
//! rendered for a realistic campaign and checked the way a reader would —
//! CSV parsed back, HTML free of external references, the PDF's text read
//! with pdftotext, JSON validated against its schema — plus validation,
//! roles, progress and deletion.

use aegis_core::auth::{Credential, Principal, Role};
use aegis_mod_reports::ReportService;
use aegis_mod_reports::model::ReportKind;
use aegis_mod_reports::repo::{ReportLease, ReportRepo};
use aegis_mod_reports::service::ReportRequest;
use serde_json::{Value, json};

use crate::helpers::{
    Stack, TestApp, TestEnv, lease_renewed, lease_ttl, run_job_now, shared_data, stored_objects,
};
use crate::plugins::{component, upload};
use crate::stack_tests;
use crate::test_cases::{MINI, load_catalog, test_in_state};
use crate::test_coverage::{assert_page_limits, completed, nulls};

/// Starts a report and waits for it to finish; returns it.
pub async fn generate(app: &TestApp, token: &str, body: Value) -> Value {
    let started = app.post("/api/v1/reports", token, body.clone()).await;
    assert_eq!(started.status, 202, "{body}: {:?}", started.body);
    let path = started.headers["location"].to_str().unwrap().to_owned();
    for _ in 0..200 {
        let report = app.get(&path, token).await.body;
        match report["status"].as_str().unwrap() {
            "ready" | "failed" => return report,
            _ => tokio::time::sleep(std::time::Duration::from_millis(50)).await,
        }
    }
    panic!("report {path} did not finish");
}

async fn download(app: &TestApp, token: &str, report: &Value) -> (String, Vec<u8>) {
    assert_eq!(report["status"], "ready", "{report:?}");
    let response = app
        .request("GET", report["download_url"].as_str().unwrap(), token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let media = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    (media, response.bytes().await.unwrap().to_vec())
}

/// A campaign with detected, missed and logged tests, a hostile name and evidence.
async fn campaign(app: &TestApp, admin: &str) -> (String, Vec<String>) {
    load_catalog(app, &shared_data(MINI)).await;
    let created = app
        .post(
            "/api/v1/campaigns",
            admin,
            json!({"name": "Q4 <APT29> emulation"}),
        )
        .await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    let id = created.body["id"].as_str().unwrap().to_owned();
    let inside = json!({"campaign_id": id});
    let mut tests = Vec::new();
    for (technique, procedure, outcome, ran) in [
        ("T1003.001", "dump lsass", "alerted", 0),
        ("T1003.001", "dump lsass", "not_detected", 30),
        ("T1059.001", "encoded command", "prevented", 10),
        (
            "T1059.007",
            "=cmd|' /C calc'!A0 <script>alert(1)</script>",
            "logged",
            20,
        ),
    ] {
        let mut extra = inside.clone();
        if procedure.starts_with('=') {
            // A name a spreadsheet would run and a browser would execute.
            extra["name"] = json!(procedure);
        }
        let t = completed(app, admin, technique, procedure, outcome, ran, 4, extra).await;
        tests.push(t["id"].as_str().unwrap().to_owned());
    }
    let open = test_in_state(app, admin, "draft").await;
    let r = app
        .call(
            "PATCH",
            &format!("/api/v1/tests/{}", open["id"].as_str().unwrap()),
            Some(admin),
            Some(json!({"version": open["version"], "campaign_id": id})),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    tests.push(open["id"].as_str().unwrap().to_owned());
    (id, tests)
}

async fn every_format_renders_a_campaign(stack: Stack) {
    let Some(env) = TestEnv::new(stack).await else {
        return;
    };
    let app = env.spawn().await;
    let admin = app.admin_token().await;
    let (campaign_id, tests) = campaign(&app, &admin).await;
    let campaign =
        |format: &str| json!({"kind": "campaign", "format": format, "campaign_id": campaign_id});

    // CSV: parses back, one row per test, formulas neutralised.
    let (media, bytes) =
        download(&app, &admin, &generate(&app, &admin, campaign("csv")).await).await;
    assert_eq!(media, "text/csv");
    let mut reader = csv::Reader::from_reader(bytes.as_slice());
    assert_eq!(reader.headers().unwrap().get(0), Some("test_id"));
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), tests.len());
    let mut ids: Vec<&str> = rows.iter().map(|r| r.get(0).unwrap()).collect();
    ids.sort();
    let mut expected: Vec<&str> = tests.iter().map(String::as_str).collect();
    expected.sort();
    assert_eq!(ids, expected);
    let hostile = rows.iter().find(|r| r.get(2) == Some("T1059.007")).unwrap();
    assert!(hostile.get(1).unwrap().starts_with("'="), "{hostile:?}");
    assert_eq!(hostile.get(8), Some("logged"));

    // HTML: self-contained and escaped.
    let (media, bytes) = download(
        &app,
        &admin,
        &generate(&app, &admin, campaign("html")).await,
    )
    .await;
    assert_eq!(media, "text/html");
    let html = String::from_utf8(bytes).unwrap();
    assert!(html.contains("Campaign report: Q4 &lt;APT29&gt; emulation"));
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    for external in [
        "http://", "https://", "src=", "href=", "<script", "<link", "@import", "url(",
    ] {
        assert!(!html.contains(external), "external reference {external}");
    }

    // PDF: opens, and its text has the title, the KPIs and the tests.
    let (media, bytes) =
        download(&app, &admin, &generate(&app, &admin, campaign("pdf")).await).await;
    assert_eq!(media, "application/pdf");
    assert!(bytes.starts_with(b"%PDF-"));
    let path = std::env::temp_dir().join(format!(
        "aegis-report-{}.pdf",
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::write(&path, &bytes).unwrap();
    let out = std::process::Command::new("pdftotext")
        .arg("-layout")
        .arg(&path)
        .arg("-")
        .output()
        .expect("pdftotext (scripts/install-pdf-tools.sh)");
    let _ = std::fs::remove_file(&path);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("Scope: campaign Q4 <APT29> emulation"),
        "{text}"
    );
    assert!(text.contains("Key figures"), "{text}");
    // 2 of 4 completed tests prevented or alerted; the latest of lsass missed.
    assert!(
        text.contains("detection rate") && text.contains("50.0%"),
        "{text}"
    );
    assert!(
        text.contains("completed tests") && text.contains("Coverage by tactic"),
        "{text}"
    );
    assert!(
        text.contains("T1003.001") && text.contains("regressed"),
        "{text}"
    );
    assert!(text.contains("encoded command"), "{text}");

    // JSON: valid against its published schema.
    let (media, bytes) = download(
        &app,
        &admin,
        &generate(&app, &admin, campaign("json")).await,
    )
    .await;
    assert_eq!(media, "application/json");
    let document: Value = serde_json::from_slice(&bytes).unwrap();
    let schema: Value = serde_json::from_str(include_str!(
        "../../../../modules/reports/schema/report.schema.json"
    ))
    .unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&document)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(document["tests"].as_array().unwrap().len(), tests.len());
    let rate = document["kpis"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["name"] == "detection rate")
        .unwrap();
    assert_eq!(rate["value"], 50.0);

    // Markdown, and a plugin format rendering the same data.
    let (_, bytes) = download(
        &app,
        &admin,
        &generate(&app, &admin, campaign("markdown")).await,
    )
    .await;
    let markdown = String::from_utf8(bytes).unwrap();
    assert!(
        markdown.contains("| detection rate | 50.0% |"),
        "{markdown}"
    );
    let plugin = upload(
        &app,
        &admin,
        "report_format",
        "md.wasm",
        component("markdown-report"),
    )
    .await;
    let format = format!("plugin:{}", plugin.body["id"].as_str().unwrap());
    let formats = app.get("/api/v1/report-formats", &admin).await;
    assert!(
        formats
            .body
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["id"] == format.as_str() && f["extension"] == "md")
    );
    let report = generate(&app, &admin, campaign(&format)).await;
    assert_eq!(report["file_name"], "campaign-report-q4-apt29-emulation.md");
    let (media, bytes) = download(&app, &admin, &report).await;
    assert_eq!(media, "text/markdown");
    assert!(
        String::from_utf8(bytes)
            .unwrap()
            .starts_with("# Campaign report: Q4 <APT29> emulation\n")
    );
}

async fn reports_are_validated_listed_and_deleted(stack: Stack) {
    let Some(env) = TestEnv::new(stack).await else {
        return;
    };
    let app = env.spawn().await;
    let admin = app.admin_token().await;
    load_catalog(&app, &shared_data(MINI)).await;
    let (_, viewer) = app.user_with_role(&admin, "viewer-one", "viewer").await;
    let (_, lead) = app.user_with_role(&admin, "lead-one", "lead").await;
    for (body, field) in [
        (json!({"kind": "campaign", "format": "pdf"}), "campaign_id"),
        (json!({"kind": "coverage", "format": "docx"}), "format"),
        (
            json!({"kind": "coverage", "format": "pdf", "campaign_id": "nope"}),
            "campaign_id",
        ),
    ] {
        let reply = app.post("/api/v1/reports", &lead, body.clone()).await;
        assert_eq!(reply.status, 422, "{body}");
        assert_eq!(reply.body["errors"][0]["field"], field, "{body}");
    }
    assert_eq!(
        app.post(
            "/api/v1/reports",
            &viewer,
            json!({"kind": "executive", "format": "pdf"})
        )
        .await
        .status,
        403
    );
    let executive = generate(&app, &lead, json!({"kind": "executive", "format": "json"})).await;
    assert_eq!(
        (
            executive["progress"].as_i64(),
            executive["created_by"].as_str()
        ),
        (Some(100), Some("lead-one"))
    );
    assert_eq!(executive["title"], "Executive summary");
    let (_, bytes) = download(&app, &viewer, &executive).await;
    let document: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(
        document["tests"],
        json!([]),
        "an executive summary lists no tests"
    );
    assert!(!document["tactics"].as_array().unwrap().is_empty());

    let list = app.get("/api/v1/reports", &viewer).await;
    assert_eq!(list.body["total"], 1);
    assert_eq!(
        app.get("/api/v1/reports?kind=executive&status=ready", &viewer)
            .await
            .body["total"],
        1
    );
    assert_eq!(
        app.get("/api/v1/reports?kind=campaign", &viewer).await.body["total"],
        0
    );
    assert_eq!(
        app.get("/api/v1/reports?status=failed", &viewer).await.body["total"],
        0
    );
    assert_eq!(
        app.get("/api/v1/reports?status=lost", &viewer).await.status,
        422
    );
    let path = format!("/api/v1/reports/{}", executive["id"].as_str().unwrap());
    assert_eq!(
        app.call("DELETE", &path, Some(&viewer), None).await.status,
        403
    );
    assert_eq!(stored_objects(&app, "reports/").await.len(), 1);
    assert_eq!(
        app.call("DELETE", &path, Some(&lead), None).await.status,
        204
    );
    assert!(stored_objects(&app, "reports/").await.is_empty());
    assert_eq!(app.get(&path, &viewer).await.status, 404);
    let audit = app.get("/api/v1/audit?action=report.", &admin).await;
    let actions: Vec<&str> = audit.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["report.delete", "report.generate"]);
}

/// A replica whose sweep of abandoned reports only the test runs (a
/// scheduled one between a clock advance and the heartbeat that follows it
/// would see a live lease as run out), and its report service.
async fn report_replica(env: &TestEnv) -> (TestApp, ReportService) {
    let app = env
        .spawn_with(|s| {
            s.jobs.insert("stale_report_sweep".into(), String::new());
        })
        .await;
    let reports = aegis::modules::compose(&app.kernel).unwrap().reports;
    (app, reports)
}

/// The signed-in admin, as a service sees the caller.
async fn admin_principal(app: &TestApp) -> Principal {
    let user_id: String = sqlx::query_scalar("SELECT id FROM users_user WHERE username = 'admin'")
        .fetch_one(app.kernel.db.pool())
        .await
        .unwrap();
    Principal {
        user_id,
        username: "admin".into(),
        role: Role::Admin,
        credential: Credential::ApiToken {
            token_id: "test".into(),
        },
    }
}

fn executive(title: &str) -> ReportRequest {
    ReportRequest {
        kind: ReportKind::Executive,
        format: "json".into(),
        campaign_id: None,
        platform: None,
        title: Some(title.into()),
    }
}

/// The interruption a sweep records for a report whose replica stopped.
fn assert_interrupted(report: &Value, owner: &str) {
    assert_eq!(report["status"], "failed", "{report}");
    assert!(report["finished_at"].is_string(), "{report}");
    let error = report["error"].as_str().unwrap();
    assert!(
        error.starts_with(&format!(
            "interrupted: the replica generating it ({owner}) stopped; its lease expired at "
        )) && error.ends_with("; generate it again"),
        "{error}"
    );
}

/// kill -9 while reports are queued or running at 10 %: their heartbeats
/// die with the process, and once their leases ran out the sweep fails them,
/// saying they were interrupted. A report whose heartbeat beats is kept
/// however long it waits (the 30-minute rule it replaces failed it), and a
/// restarted replica sweeps at start-up.
async fn a_report_cut_off_by_a_crash_is_failed_and_a_beating_one_kept(stack: Stack) {
    let Some(env) = TestEnv::new(stack).await else {
        return;
    };
    let (live, live_reports) = report_replica(&env).await;
    let (crashed, crashed_reports) = report_replica(&env).await;
    let crashed_owner = crashed.kernel.leases.owner().to_owned();
    let who = admin_principal(&live).await;
    let admin = live.admin_token().await;
    let get = async |id: &str| {
        live.get(&format!("/api/v1/reports/{id}"), &admin)
            .await
            .body
    };

    let claim = crashed_reports
        .request(&who, executive("queued"))
        .await
        .unwrap();
    let queued = claim.report().id.clone();
    drop(claim);
    let claim = crashed_reports
        .request(&who, executive("running"))
        .await
        .unwrap();
    let running = claim.report().id.clone();
    let lease = ReportLease {
        id: &running,
        owner: &crashed_owner,
    };
    let mut conn = live.kernel.db.pool().acquire().await.unwrap();
    let repo = ReportRepo::new(live.kernel.db.clone());
    assert!(repo.progress(&mut conn, lease, 10).await.unwrap());
    drop(claim);
    drop(crashed);
    let beating = live_reports
        .request(&who, executive("beating"))
        .await
        .unwrap();
    let beating_id = beating.report().id.clone();

    for step in [lease_ttl() * 4, chrono::Duration::minutes(40)] {
        live.kernel.clock.advance(step);
        lease_renewed(&live, "reports_report", &beating_id).await;
        assert!(run_job_now(&live, "stale_report_sweep").await);
        assert_eq!(get(&beating_id).await["status"], "queued");
    }
    assert_interrupted(&get(&queued).await, &crashed_owner);
    let stopped = get(&running).await;
    assert_interrupted(&stopped, &crashed_owner);
    assert_eq!(stopped["progress"], 10, "where it stopped");

    live_reports.generate(beating).await;
    assert_eq!(get(&beating_id).await["status"], "ready");

    // A replica that restarts fails what its lease lost at once.
    let claim = live_reports
        .request(&who, executive("restart"))
        .await
        .unwrap();
    let before_restart = claim.report().id.clone();
    drop(claim);
    sqlx::query(
        "UPDATE reports_report SET lease_expires_at = '2000-01-01T00:00:00.000000Z' WHERE id = $1",
    )
    .bind(&before_restart)
    .execute(&mut *conn)
    .await
    .unwrap();
    let (_restarted, _) = report_replica(&env).await;
    let owner = live.kernel.leases.owner().to_owned();
    assert_interrupted(&get(&before_restart).await, &owner);
}

/// A replica that stops beating without dying (paused, cut off from the
/// database) finds its report failed as interrupted when it comes back, and
/// writes nothing: no progress, no file, no `ready`.
async fn a_paused_replica_finds_its_report_failed_and_writes_nothing(stack: Stack) {
    let Some(env) = TestEnv::new(stack).await else {
        return;
    };
    let (live, _) = report_replica(&env).await;
    let (paused, paused_reports) = report_replica(&env).await;
    let who = admin_principal(&live).await;
    let admin = live.admin_token().await;
    let claim = paused_reports
        .request(&who, executive("paused"))
        .await
        .unwrap();
    let path = format!("/api/v1/reports/{}", claim.report().id);
    // Its clock stands still while the live one's runs on: its beats fall
    // behind the lease as the live replica counts it.
    live.kernel.clock.advance(lease_ttl() * 4);
    assert!(run_job_now(&live, "stale_report_sweep").await);
    let failed = live.get(&path, &admin).await.body;
    assert_interrupted(&failed, paused.kernel.leases.owner());

    paused_reports.generate(claim).await;
    assert_eq!(
        live.get(&path, &admin).await.body,
        failed,
        "nothing overwritten"
    );
    assert!(stored_objects(&live, "reports/").await.is_empty());
}

/// Report files no report points at (a deletion or a failed generation
/// that storage refused to clean up) are swept once old enough; files of
/// ready reports and of reports still being generated stay, and so does
/// what Aegis did not name.
async fn report_files_without_a_report_are_swept(stack: Stack) {
    use aegis_mod_reports::model::{Report, ReportKind, ReportStatus};
    use aegis_mod_reports::repo::ReportRepo;
    let Some(env) = TestEnv::new(stack).await else {
        return;
    };
    // The scheduled sweeps stay off: the test runs them, on its own clock.
    let app = env
        .spawn_with(|s| {
            for job in ["report_orphan_sweep", "stale_report_sweep"] {
                s.jobs.insert(job.into(), String::new());
            }
        })
        .await;
    load_catalog(&app, &shared_data(MINI)).await;
    let admin = app.admin_token().await;
    let ready = generate(&app, &admin, json!({"kind": "executive", "format": "json"})).await;
    assert_eq!(ready["status"], "ready", "{ready:?}");
    let ready_file = stored_objects(&app, "reports/").await;
    assert_eq!(ready_file.len(), 1);

    let repo = ReportRepo::new(app.kernel.db.clone());
    let row = |status: ReportStatus| Report {
        id: uuid::Uuid::now_v7().to_string(),
        kind: ReportKind::Executive,
        format: "pdf".into(),
        title: "sweep".into(),
        campaign_id: None,
        platform: None,
        status,
        progress: 0,
        error: None,
        storage_key: None,
        media_type: None,
        file_name: None,
        size_bytes: None,
        created_at: app.kernel.clock.now(),
        created_by: "admin".into(),
        finished_at: None,
    };
    let (generating, failed) = (row(ReportStatus::Queued), row(ReportStatus::Queued));
    let mut conn = app.kernel.db.pool().acquire().await.unwrap();
    let owner = "a replica of the test";
    let until = app.kernel.clock.now() + chrono::Duration::hours(2);
    repo.insert(&mut conn, &generating, owner, until)
        .await
        .unwrap();
    repo.insert(&mut conn, &failed, owner, until).await.unwrap();
    let lease = aegis_mod_reports::repo::ReportLease {
        id: &failed.id,
        owner,
    };
    let marked = repo
        .failed(
            &mut conn,
            lease,
            "cannot record the file",
            app.kernel.clock.now(),
        )
        .await
        .unwrap();
    assert!(marked);
    let storage = &app.kernel.storage;
    let file = |id: &str| format!("reports/{id}.pdf");
    for key in [
        file(&generating.id),
        file(&failed.id),
        file(&uuid::Uuid::now_v7().to_string()),
        "reports/notes.txt".to_owned(),
    ] {
        storage.put(&key, b"%PDF".to_vec()).await.unwrap();
    }

    let grace = chrono::Duration::minutes(60);
    let sweep = || aegis_mod_reports::sweep::sweep_orphans(&app.kernel, grace);
    assert_eq!(sweep().await.unwrap().objects, 0, "within the grace");
    app.kernel.clock.advance(chrono::Duration::minutes(61));
    let swept = sweep().await.unwrap();
    assert_eq!((swept.objects, swept.uploads), (2, 0));
    let mut left = stored_objects(&app, "reports/").await;
    left.sort();
    let mut expected = vec![
        ready_file[0].clone(),
        file(&generating.id),
        "reports/notes.txt".to_owned(),
    ];
    expected.sort();
    assert_eq!(left, expected);
    let (_, bytes) = download(&app, &admin, &ready).await;
    assert!(!bytes.is_empty());
}

async fn report_answers_are_as_documented(stack: Stack) {
    let Some(env) = TestEnv::new(stack).await else {
        return;
    };
    let app = env.spawn().await;
    let admin = app.admin_token().await;
    load_catalog(&app, &shared_data(MINI)).await;
    // Accepted, a report has no file, no end and no error yet: all left out.
    let started = app
        .post(
            "/api/v1/reports",
            &admin,
            json!({"kind": "executive", "format": "json"}),
        )
        .await;
    assert_eq!(started.status, 202, "{:?}", started.body);
    assert_eq!(nulls(&started.body), Vec::<String>::new());
    for absent in ["campaign_id", "platform", "error", "finished_at"] {
        assert!(
            started.body.get(absent).is_none(),
            "{absent}: {:?}",
            started.body
        );
    }
    let ready = generate(&app, &admin, json!({"kind": "coverage", "format": "json"})).await;
    assert_eq!(ready["status"], "ready", "{ready:?}");
    assert_eq!(nulls(&ready), Vec::<String>::new());
    assert!(ready.get("error").is_none());
    let listed = app.get("/api/v1/reports", &admin).await.body;
    assert_eq!(nulls(&listed), Vec::<String>::new());
    assert_page_limits(&app, &admin, "/api/v1/reports").await;
    let long = app
        .post(
            "/api/v1/reports",
            &admin,
            json!({"kind": "executive", "format": "json", "title": "t".repeat(201)}),
        )
        .await;
    assert_eq!(long.status, 422, "a title has at most 200 characters");
}

stack_tests!(
    report_answers_are_as_documented,
    report_files_without_a_report_are_swept,
    every_format_renders_a_campaign,
    reports_are_validated_listed_and_deleted,
    a_report_cut_off_by_a_crash_is_failed_and_a_beating_one_kept,
    a_paused_replica_finds_its_report_failed_and_writes_nothing,
);
