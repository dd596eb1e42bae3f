//! The ATT&CK catalog: sync of the real Enterprise 18.1 bundle, upgrades,
//! failures that leave the catalog untouched, HTTP validators, and the API.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use aegis_mod_techniques::service::{SyncError, SyncOutcome};
use aegis_mod_techniques::{MitreSettings, SyncService};
use serde_json::{Value, json};

use crate::helpers::{Stack, TestApp, TestEnv, lease_renewed, lease_ttl, run_job_now, shared_data};
use crate::stack_tests;

const FULL: &str = "attack/enterprise-attack.json.gz";
const MINI: &str = "attack/fixtures/enterprise-attack-18.1-mini.json";

async fn sync(app: &TestApp, source: &str) -> Result<(String, SyncOutcome), String> {
    SyncService::new(app.kernel.clone())
        .run("test", source, &|_, _, _| {})
        .await
        .map_err(|e| e.to_string())
}

async fn count(app: &TestApp, condition: &str) -> i64 {
    let sql = format!("SELECT COUNT(*) FROM techniques_technique WHERE {condition}");
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .fetch_one(app.kernel.db.pool())
        .await
        .unwrap()
}

async fn the_full_enterprise_bundle_syncs_to_the_published_figures(stack: Stack) {
    let Some(env) = TestEnv::new(stack).await else {
        return;
    };
    let app = env.spawn().await;
    let (_, outcome) = sync(&app, &shared_data(FULL)).await.unwrap();
    let SyncOutcome::Applied { version, counts } = outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(version, "18.1");
    assert_eq!(
        (
            counts.added,
            counts.updated,
            counts.revoked,
            counts.deprecated
        ),
        (835, 0, 132, 12)
    );
    assert_eq!(count(&app, "1 = 1").await, 835);
    assert_eq!(count(&app, "is_subtechnique = 0").await, 356);
    assert_eq!(count(&app, "is_subtechnique = 1").await, 479);
    assert_eq!(count(&app, "revoked = 0 AND deprecated = 0").await, 691);
    assert_eq!(
        count(
            &app,
            "revoked = 0 AND deprecated = 0 AND is_subtechnique = 1"
        )
        .await,
        475
    );
    assert_eq!(count(&app, "revoked = 1").await, 132);
    assert_eq!(count(&app, "deprecated = 1").await, 12);
    assert_eq!(
        count(&app, "is_subtechnique = 1 AND parent_attack_id IS NULL").await,
        0
    );
    assert_eq!(
        count(
            &app,
            "is_subtechnique = 1 AND revoked = 0 AND parent_attack_id <> SUBSTR(attack_id, 1, 5)"
        )
        .await,
        0
    );

    let admin = app.admin_token().await;
    let tactics = app.get("/api/v1/tactics", &admin).await.body;
    let order: Vec<&str> = tactics
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["attack_id"].as_str().unwrap())
        .collect();
    assert_eq!(
        order,
        [
            "TA0043", "TA0042", "TA0001", "TA0002", "TA0003", "TA0004", "TA0005", "TA0006",
            "TA0007", "TA0008", "TA0009", "TA0011", "TA0010", "TA0040"
        ]
    );

    // A second sync of the same release changes nothing.
    let before: Vec<(String, String)> =
        sqlx::query_as("SELECT attack_id, modified FROM techniques_technique ORDER BY attack_id")
            .fetch_all(app.kernel.db.pool())
            .await
            .unwrap();
    let (_, again) = sync(&app, &shared_data(FULL)).await.unwrap();
    assert_eq!(
        again,
        SyncOutcome::Unchanged {
            version: Some("18.1".into())
        }
    );
    let after: Vec<(String, String)> =
        sqlx::query_as("SELECT attack_id, modified FROM techniques_technique ORDER BY attack_id")
            .fetch_all(app.kernel.db.pool())
            .await
            .unwrap();
    assert_eq!(before, after);

    let runs = app.get("/api/v1/system/mitre-sync-runs", &admin).await.body;
    assert_eq!(runs["total"], 2);
    assert_eq!(runs["items"][0]["status"], "unchanged");
    assert_eq!(runs["items"][1]["status"], "succeeded");
    assert_eq!(runs["items"][1]["added"], 835);
    assert_eq!(runs["items"][1]["release_version"], "18.1");
}

/// The mini cut first, then the whole release: an upgrade that adds; then a
/// "later" release without most ids: they are kept and marked, never deleted.
async fn upgrades_add_update_and_never_delete(stack: Stack) {
    let Some(env) = TestEnv::new(stack).await else {
        return;
    };
    let app = env.spawn().await;
    let (_, first) = sync(&app, &shared_data(MINI)).await.unwrap();
    let SyncOutcome::Applied { counts, .. } = first else {
        panic!()
    };
    assert_eq!(counts.added, 49);
    // The mini and full bundles share their collection version: clear the release so the full one applies as an upgrade.
    sqlx::query("DELETE FROM techniques_release")
        .execute(app.kernel.db.pool())
        .await
        .unwrap();
    let (_, second) = sync(&app, &shared_data(FULL)).await.unwrap();
    let SyncOutcome::Applied { counts, .. } = second else {
        panic!()
    };
    assert_eq!((counts.added, counts.missing), (835 - 49, 0));

    // A release that drops ids: everything not in it is marked missing, not deleted.
    let mut later: Value =
        serde_json::from_slice(&std::fs::read(shared_data(MINI)).unwrap()).unwrap();
    for object in later["objects"].as_array_mut().unwrap() {
        if object["type"] == "x-mitre-collection" {
            object["x_mitre_version"] = json!("19.0");
            object["modified"] = json!("2026-04-01T00:00:00.000Z");
        }
    }
    let path = env.settings.data_dir.join("later.json");
    std::fs::write(&path, later.to_string()).unwrap();
    let (_, third) = sync(&app, path.to_str().unwrap()).await.unwrap();
    let SyncOutcome::Applied { version, counts } = third else {
        panic!()
    };
    assert_eq!(
        (version.as_str(), counts.missing, counts.added),
        ("19.0", 835 - 49, 0)
    );
    assert_eq!(count(&app, "1 = 1").await, 835);
    let admin = app.admin_token().await;
    let gone = app.get("/api/v1/techniques/T1110", &admin).await;
    assert_eq!(
        gone.status, 200,
        "a technique that left the release stays readable"
    );
    assert!(gone.body["missing_since"].is_string());
    let matrix = app.get("/api/v1/matrix", &admin).await.body;
    assert!(
        !matrix.to_string().contains("\"T1110\""),
        "the matrix shows the current release only"
    );
}

/// Corrupt, truncated, wrong-shaped and unreachable sources leave the catalog as it was.
async fn failed_syncs_change_nothing_and_say_why(stack: Stack) {
    let Some(env) = TestEnv::new(stack).await else {
        return;
    };
    let app = env.spawn().await;
    sync(&app, &shared_data(MINI)).await.unwrap();
    let before = count(&app, "1 = 1").await;
    let dir = &env.settings.data_dir;
    let mini = std::fs::read(shared_data(MINI)).unwrap();
    let bad = [
        ("truncated.json", mini[..mini.len() / 2].to_vec(), "not JSON"),
        ("corrupt.json.gz", [&[0x1f, 0x8b][..], b"garbage garbage garbage"].concat(), "gzip"),
        (
            "wrong.json",
            br#"{"type": "bundle", "objects": [
                {"type": "x-mitre-collection", "id": "x-mitre-collection--1", "x_mitre_version": "99", "modified": "2026-01-01T00:00:00Z"},
                {"type": "attack-pattern", "id": "attack-pattern--1", "name": 7}]}"#
                .to_vec(),
            "attack-pattern--1",
        ),
        ("no-collection.json", br#"{"type": "bundle", "objects": []}"#.to_vec(), "x-mitre-collection"),
        ("not-a-bundle.json", br#"{"type": "report"}"#.to_vec(), "not a STIX bundle"),
    ];
    for (name, bytes, reason) in bad {
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        let error = sync(&app, path.to_str().unwrap()).await.unwrap_err();
        assert!(error.contains(reason), "{name}: {error}");
    }
    let unreachable = sync(&app, "http://127.0.0.1:9/enterprise-attack.json")
        .await
        .unwrap_err();
    assert!(
        unreachable.starts_with(
            "cannot reach http://127.0.0.1:9/enterprise-attack.json: the connection was refused; \
             upload a STIX bundle instead"
        ),
        "{unreachable}"
    );
    let missing = sync(&app, "/nonexistent/bundle.json").await.unwrap_err();
    assert_eq!(
        missing,
        "cannot read /nonexistent/bundle.json: there is no such file"
    );
    assert_eq!(count(&app, "1 = 1").await, before);

    let admin = app.admin_token().await;
    let runs = app
        .get("/api/v1/system/mitre-sync-runs?limit=10", &admin)
        .await
        .body;
    let failed: Vec<&Value> = runs["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["status"] == "failed")
        .collect();
    assert_eq!(failed.len(), 7);
    assert!(failed.iter().all(
        |r| r["error"].as_str().is_some_and(|e| !e.is_empty()) && r["finished_at"].is_string()
    ));
    // The failed runs freed their place: the next sync runs.
    sqlx::query("DELETE FROM techniques_release")
        .execute(app.kernel.db.pool())
        .await
        .unwrap();
    assert!(sync(&app, &shared_data(MINI)).await.is_ok());
}

/// An HTTP source: the second fetch sends the validators and a 304 is an unchanged run.
async fn http_sources_use_etags(stack: Stack) {
    let Some(env) = TestEnv::new(stack).await else {
        return;
    };
    let app = env.spawn().await;
    let bundle = std::fs::read(shared_data(MINI)).unwrap();
    let conditional = Arc::new(AtomicUsize::new(0));
    let seen = conditional.clone();
    let server = poem::Route::new().at(
        "/enterprise-attack.json",
        poem::endpoint::make(move |req: poem::Request| {
            let (bundle, seen) = (bundle.clone(), seen.clone());
            async move {
                if req
                    .headers()
                    .get("if-none-match")
                    .is_some_and(|v| v == "\"v1\"")
                {
                    seen.fetch_add(1, Ordering::SeqCst);
                    return poem::Response::builder()
                        .status(poem::http::StatusCode::NOT_MODIFIED)
                        .finish();
                }
                poem::Response::builder()
                    .header("ETag", "\"v1\"")
                    .body(bundle)
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "http://{}/enterprise-attack.json",
        listener.local_addr().unwrap()
    );
    let acceptor = poem::listener::TcpAcceptor::from_tokio(listener).unwrap();
    tokio::spawn(poem::Server::new_with_acceptor(acceptor).run(server));

    assert!(matches!(
        sync(&app, &url).await.unwrap().1,
        SyncOutcome::Applied { .. }
    ));
    assert_eq!(
        sync(&app, &url).await.unwrap().1,
        SyncOutcome::Unchanged { version: None }
    );
    assert_eq!(conditional.load(Ordering::SeqCst), 1);
}

async fn the_catalog_api_filters_sorts_and_pages(stack: Stack) {
    let Some(env) = TestEnv::new(stack).await else {
        return;
    };
    let app = env.spawn().await;
    sync(&app, &shared_data(FULL)).await.unwrap();
    let admin = app.admin_token().await;
    let (_, viewer) = app.user_with_role(&admin, "reader", "viewer").await;

    let all = app.get("/api/v1/techniques?limit=1", &viewer).await.body;
    assert_eq!(
        all["total"], 691,
        "active techniques and sub-techniques by default"
    );
    let with_retired = app
        .get(
            "/api/v1/techniques?revoked=true&deprecated=true&limit=1",
            &viewer,
        )
        .await
        .body;
    assert_eq!(with_retired["total"], 835);
    let parents_only = app
        .get("/api/v1/techniques?subtechniques=false&limit=1", &viewer)
        .await
        .body;
    assert_eq!(parents_only["total"], 216);

    let execution = app
        .get("/api/v1/techniques?tactic=execution&limit=500", &viewer)
        .await
        .body;
    assert!(execution["items"].as_array().unwrap().iter().all(|t| {
        t["tactics"]
            .as_array()
            .unwrap()
            .contains(&json!("execution"))
    }));
    assert!(
        execution["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["attack_id"] == "T1059.001")
    );
    let windows = app
        .get("/api/v1/techniques?platform=Windows&limit=1", &viewer)
        .await
        .body;
    let linux = app
        .get("/api/v1/techniques?platform=Linux&limit=1", &viewer)
        .await
        .body;
    assert!(windows["total"].as_i64().unwrap() > linux["total"].as_i64().unwrap());
    let search = app
        .get("/api/v1/techniques?q=powershell", &viewer)
        .await
        .body;
    assert!(
        search["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["attack_id"] == "T1059.001")
    );
    let by_id = app.get("/api/v1/techniques?q=t1059.00", &viewer).await.body;
    assert!(by_id["total"].as_i64().unwrap() >= 5);
    assert!(
        by_id["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["attack_id"].as_str().unwrap().starts_with("T1059.00"))
    );

    let first = app
        .get("/api/v1/techniques?sort=-attack_id&limit=2", &viewer)
        .await
        .body;
    let second = app
        .get(
            "/api/v1/techniques?sort=-attack_id&limit=2&offset=2",
            &viewer,
        )
        .await
        .body;
    let ids: Vec<&str> = [&first, &second]
        .iter()
        .flat_map(|p| {
            p["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t["attack_id"].as_str().unwrap())
        })
        .collect();
    let mut sorted = ids.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(ids, sorted);
    assert_eq!(
        app.get("/api/v1/techniques?sort=colour", &viewer)
            .await
            .status,
        422
    );
    assert_eq!(
        app.get("/api/v1/techniques?domain=atlantis", &viewer)
            .await
            .status,
        422
    );

    let detail = app.get("/api/v1/techniques/t1059.001", &viewer).await;
    assert_eq!(detail.status, 200);
    assert_eq!(detail.body["parent"]["attack_id"], "T1059");
    assert_eq!(detail.body["tactics"][0]["short_name"], "execution");
    assert!(detail.body["url"].as_str().unwrap().contains("T1059/001"));
    let parent = app.get("/api/v1/techniques/T1059", &viewer).await.body;
    assert!(parent["subtechniques"].as_array().unwrap().len() >= 10);
    let revoked = app
        .get("/api/v1/techniques?revoked=true&q=&limit=500", &viewer)
        .await
        .body;
    let revoked_id = revoked["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["revoked"] == true)
        .unwrap()["attack_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let revoked_detail = app
        .get(&format!("/api/v1/techniques/{revoked_id}"), &viewer)
        .await
        .body;
    assert!(
        revoked_detail["replaced_by"]["attack_id"].is_string(),
        "{revoked_detail}"
    );
    assert_eq!(
        app.get("/api/v1/techniques/T9999", &viewer).await.body["code"],
        "technique_not_found"
    );

    let matrix = app.get("/api/v1/matrix", &viewer).await.body;
    let columns = matrix["tactics"].as_array().unwrap();
    assert_eq!(columns.len(), 14);
    assert_eq!(columns[0]["tactic"]["short_name"], "reconnaissance");
    let execution_column = columns
        .iter()
        .find(|c| c["tactic"]["short_name"] == "execution")
        .unwrap();
    let t1059 = execution_column["techniques"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["attack_id"] == "T1059")
        .unwrap();
    assert!(
        t1059["subtechniques"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["attack_id"] == "T1059.001")
    );
    assert_eq!(matrix["release_version"], "18.1");
}

async fn sync_endpoints_are_for_admins_and_run_in_the_background(stack: Stack) {
    let Some(env) = TestEnv::new(stack).await else {
        return;
    };
    let mini = shared_data(MINI);
    let app = env
        .spawn_with(|s| s.update_section(|m: &mut MitreSettings| m.source = mini))
        .await;
    let admin = app.admin_token().await;
    let (_, lead) = app.user_with_role(&admin, "lead-user", "lead").await;
    assert_eq!(
        app.post("/api/v1/system/sync-mitre", &lead, json!({}))
            .await
            .status,
        403
    );
    assert_eq!(
        app.get("/api/v1/system/mitre-sync-runs", &lead)
            .await
            .status,
        403
    );

    let started = app
        .post("/api/v1/system/sync-mitre", &admin, json!({}))
        .await;
    assert_eq!(started.status, 202, "{:?}", started.body);
    let run_id = started.body["run_id"].as_str().unwrap().to_owned();
    let mut status = String::new();
    for _ in 0..100 {
        let runs = app.get("/api/v1/system/mitre-sync-runs", &admin).await.body;
        let run = runs["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == run_id.as_str())
            .cloned()
            .unwrap();
        status = run["status"].as_str().unwrap().to_owned();
        if status != "running" {
            assert_eq!(run["added"], 49);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(status, "succeeded");
    assert_eq!(
        app.get("/api/v1/techniques?limit=1", &lead).await.body["total"],
        43
    );
}

/// One sync at a time across replicas, which the database decides on both
/// stacks; the run frees its place when done.
async fn a_second_sync_waits_for_the_first(stack: Stack) {
    let Some(env) = TestEnv::new(stack).await else {
        return;
    };
    let (first, second) = (env.spawn().await, env.spawn().await);
    let service = SyncService::new(first.kernel.clone());
    let mini = shared_data(MINI);
    let claim = service.begin("test", &mini).await.unwrap();
    let admin = second.admin_token().await;
    let reply = second
        .post("/api/v1/system/sync-mitre", &admin, json!({}))
        .await;
    assert_eq!(
        (reply.status, reply.body["code"].as_str()),
        (409, Some("sync_running"))
    );
    assert!(
        matches!(
            service.begin("test", &mini).await,
            Err(SyncError::AlreadyRunning)
        ),
        "the rule holds on this replica too"
    );
    service.execute(claim, &mini, &|_, _, _| {}).await.unwrap();
    sqlx::query("DELETE FROM techniques_release")
        .execute(first.kernel.db.pool())
        .await
        .unwrap();
    assert!(sync(&first, &mini).await.is_ok(), "the run freed its place");
}

/// The run `id` as `GET /api/v1/system/mitre-sync-runs` shows it.
async fn sync_run(app: &TestApp, admin: &str, id: &str) -> Value {
    let runs = app
        .get("/api/v1/system/mitre-sync-runs?limit=100", admin)
        .await
        .body;
    runs["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == id)
        .cloned()
        .unwrap_or_else(|| panic!("run {id} in {runs}"))
}

/// A replica on the shared backends whose sweep of abandoned runs only the
/// test runs (a scheduled one between a clock advance and the heartbeat
/// that follows it would see a live lease as run out).
async fn sync_replica(env: &TestEnv) -> TestApp {
    let mini = shared_data(MINI);
    env.spawn_with(|s| {
        s.update_section(|m: &mut MitreSettings| m.source = mini);
        s.jobs.insert("stale_sync_sweep".into(), String::new());
    })
    .await
}

/// kill -9 during a sync: the process's heartbeat dies with it. While its
/// lease runs a new sync is refused (it may be alive); past the lease, a
/// new sync starts and the old run is recorded as failed and interrupted.
/// (Before leases: 409 for the lock's 30 minutes and `running` forever.)
async fn a_sync_cut_off_by_a_crash_frees_the_next_after_its_lease(stack: Stack) {
    let Some(env) = TestEnv::new(stack).await else {
        return;
    };
    let (crashed, live) = (sync_replica(&env).await, sync_replica(&env).await);
    let crashed_owner = crashed.kernel.leases.owner().to_owned();
    let claim = SyncService::new(crashed.kernel.clone())
        .begin("api", &shared_data(MINI))
        .await
        .unwrap();
    let old_run = claim.run_id().to_owned();
    // The process dies mid-sync: no outcome, no more heartbeats.
    drop(claim);
    drop(crashed);

    let admin = live.admin_token().await;
    let refused = live
        .post("/api/v1/system/sync-mitre", &admin, json!({}))
        .await;
    assert_eq!(
        (refused.status, refused.body["code"].as_str()),
        (409, Some("sync_running")),
        "within its lease the run may be alive"
    );
    assert_eq!(sync_run(&live, &admin, &old_run).await["status"], "running");

    live.kernel
        .clock
        .advance(lease_ttl() + chrono::Duration::seconds(1));
    let started = live
        .post("/api/v1/system/sync-mitre", &admin, json!({}))
        .await;
    assert_eq!(started.status, 202, "{:?}", started.body);
    let old = sync_run(&live, &admin, &old_run).await;
    assert_eq!(old["status"], "failed", "{old}");
    assert!(old["finished_at"].is_string(), "{old}");
    let error = old["error"].as_str().unwrap();
    assert!(
        error.starts_with(&format!(
            "interrupted: the replica running it ({crashed_owner}) stopped; its lease expired at "
        )),
        "{error}"
    );

    let new_run = started.body["run_id"].as_str().unwrap();
    for _ in 0..100 {
        if sync_run(&live, &admin, new_run).await["status"] != "running" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let new = sync_run(&live, &admin, new_run).await;
    assert_eq!(
        (new["status"].as_str(), new["added"].as_i64()),
        (Some("succeeded"), Some(49))
    );
}

/// A sync whose heartbeat beats keeps its run however long it takes: no
/// new sync and no sweep takes it. A replica that stops beating without
/// dying (paused, cut off from the database) finds its run recorded as
/// interrupted when it comes back, and applies nothing.
async fn a_beating_sync_keeps_its_run_and_a_paused_one_applies_nothing(stack: Stack) {
    let Some(env) = TestEnv::new(stack).await else {
        return;
    };
    let (first, second) = (sync_replica(&env).await, sync_replica(&env).await);
    let mini = shared_data(MINI);
    let service = SyncService::new(first.kernel.clone());
    let admin = second.admin_token().await;

    let claim = service.begin("test", &mini).await.unwrap();
    let run_id = claim.run_id().to_owned();
    for app in [&first, &second] {
        app.kernel.clock.advance(lease_ttl() * 4);
    }
    lease_renewed(&second, "techniques_sync_run", &run_id).await;
    let refused = second
        .post("/api/v1/system/sync-mitre", &admin, json!({}))
        .await;
    assert_eq!(
        (refused.status, refused.body["code"].as_str()),
        (409, Some("sync_running"))
    );
    assert!(run_job_now(&second, "stale_sync_sweep").await);
    assert_eq!(
        sync_run(&second, &admin, &run_id).await["status"],
        "running"
    );
    let outcome = service.execute(claim, &mini, &|_, _, _| {}).await.unwrap();
    assert!(
        matches!(outcome, SyncOutcome::Applied { .. }),
        "{outcome:?}"
    );
    assert_eq!(
        sync_run(&second, &admin, &run_id).await["status"],
        "succeeded"
    );

    // The first replica stalls: its clock stands still while the second's
    // runs on, so its beats fall behind the lease as the second counts it.
    sqlx::query("DELETE FROM techniques_release")
        .execute(first.kernel.db.pool())
        .await
        .unwrap();
    let claim = service.begin("test", &mini).await.unwrap();
    let run_id = claim.run_id().to_owned();
    second.kernel.clock.advance(lease_ttl() * 4);
    assert!(run_job_now(&second, "stale_sync_sweep").await);
    let run = sync_run(&second, &admin, &run_id).await;
    assert_eq!(run["status"], "failed", "{run}");
    assert!(
        run["error"].as_str().unwrap().starts_with("interrupted: "),
        "{run}"
    );
    let late = service.execute(claim, &mini, &|_, _, _| {}).await;
    assert!(matches!(late, Err(SyncError::Interrupted)), "{late:?}");
    assert_eq!(
        sync_run(&second, &admin, &run_id).await,
        run,
        "nothing overwritten"
    );
    let releases: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM techniques_release")
        .fetch_one(first.kernel.db.pool())
        .await
        .unwrap();
    assert_eq!(releases, 0, "the interrupted run applied nothing");
}

async fn the_mitre_sync_job_is_registered_hourly(stack: Stack) {
    let Some(env) = TestEnv::new(stack).await else {
        return;
    };
    let mini = shared_data(MINI);
    let app = env
        .spawn_with(|s| s.update_section(|m: &mut MitreSettings| m.source = mini))
        .await;
    let registry = aegis::modules::compose(&app.kernel).unwrap().jobs;
    let job = registry.get("mitre_sync").unwrap();
    assert_eq!(job.schedule.as_deref(), Some("0 0 * * * *"));
    assert!(aegis_core::scheduler::run_job(&app.kernel, &job.spec).await);
    let admin = app.admin_token().await;
    let status = app
        .get("/api/v1/system/scheduler-status", &admin)
        .await
        .body;
    let row = status
        .as_array()
        .unwrap()
        .iter()
        .find(|j| j["id"] == "mitre_sync")
        .unwrap()
        .clone();
    assert_eq!(row["last_outcome"], "succeeded");
    assert!(row["last_message"].as_str().unwrap().contains("49 added"));
}

/// The optional domains sync beside Enterprise and are queried by `domain`.
async fn mobile_and_ics_domains_sync_beside_enterprise(stack: Stack) {
    let Some(env) = TestEnv::new(stack).await else {
        return;
    };
    let app = env.spawn().await;
    sync(&app, &shared_data(MINI)).await.unwrap();
    for (file, domain) in [
        ("attack/mobile-attack-18.1.json", "mobile-attack"),
        ("attack/ics-attack-18.1.json", "ics-attack"),
    ] {
        let (_, outcome) = sync(&app, &shared_data(file)).await.unwrap();
        assert!(matches!(outcome, SyncOutcome::Applied { .. }), "{file}");
        let admin = app.admin_token().await;
        let page = app
            .get(
                &format!("/api/v1/techniques?domain={domain}&limit=1"),
                &admin,
            )
            .await
            .body;
        assert!(page["total"].as_i64().unwrap() > 30, "{domain}: {page}");
        let tactics = app
            .get(&format!("/api/v1/tactics?domain={domain}"), &admin)
            .await
            .body;
        assert!(tactics.as_array().unwrap().len() >= 10, "{domain}");
    }
    let enterprise = count(&app, "domain = 'enterprise-attack'").await;
    assert_eq!(enterprise, 49, "other domains leave Enterprise alone");
}

stack_tests!(
    a_second_sync_waits_for_the_first,
    a_sync_cut_off_by_a_crash_frees_the_next_after_its_lease,
    a_beating_sync_keeps_its_run_and_a_paused_one_applies_nothing,
    mobile_and_ics_domains_sync_beside_enterprise,
    the_full_enterprise_bundle_syncs_to_the_published_figures,
    upgrades_add_update_and_never_delete,
    failed_syncs_change_nothing_and_say_why,
    http_sources_use_etags,
    the_catalog_api_filters_sorts_and_pages,
    sync_endpoints_are_for_admins_and_run_in_the_background,
    the_mitre_sync_job_is_registered_hourly,
);
