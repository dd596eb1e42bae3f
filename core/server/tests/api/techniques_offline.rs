//! The ATT&CK catalog without a network: the release built into Aegis loads
//! on a first start, a source out of reach fails in words, and an admin
//! uploads a bundle instead (refused in words when Aegis cannot read it).

use std::io::Write;

use aegis_mod_techniques::progress::ProgressBoard;
use aegis_mod_techniques::{MitreSettings, SyncService};
use reqwest::multipart::{Form, Part};
use serde_json::Value;

use crate::helpers::{Reply, Stack, TestApp, TestEnv, shared_data};
use crate::stack_tests;

const MINI: &str = "attack/fixtures/enterprise-attack-18.1-mini.json";

/// Nothing listens on the discard port: what a machine without a network
/// meets, without depending on the test machine's own network.
const UNREACHABLE: &str = "http://127.0.0.1:9/enterprise-attack.json";

async fn upload(app: &TestApp, token: &str, name: &str, bytes: Vec<u8>) -> Reply {
    let part = Part::bytes(bytes).file_name(name.to_owned());
    app.send(
        app.request("POST", "/api/v1/system/mitre-bundle", token)
            .multipart(Form::new().part("file", part)),
    )
    .await
}

/// The run `id` once it has ended (runs end on their own; the bound only
/// keeps a broken sync from hanging the suite).
async fn ended_run(app: &TestApp, admin: &str, id: &str) -> Value {
    for _ in 0..1200 {
        let runs = app
            .get("/api/v1/system/mitre-sync-runs?limit=100", admin)
            .await
            .body;
        let run = runs["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == id)
            .cloned()
            .unwrap_or_else(|| panic!("run {id} in {runs}"));
        if run["status"] != "running" {
            return run;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("run {id} still running")
}

async fn runs(app: &TestApp, admin: &str) -> Vec<Value> {
    app.get("/api/v1/system/mitre-sync-runs?limit=100", admin)
        .await
        .body["items"]
        .as_array()
        .unwrap()
        .clone()
}

/// A fresh installation on a machine without a network: the first start
/// loads the built-in Enterprise release (the whole catalog, references
/// included); "Sync now" then fails saying the source is out of reach and
/// what to do, never a network client's error; a restart on a catalog
/// loads nothing again.
async fn a_first_start_offline_loads_the_built_in_release(stack: Stack) {
    let Some(env) = TestEnv::new(stack).await else {
        return;
    };
    let offline = |s: &mut aegis_core::config::Settings| {
        s.update_section(|m: &mut MitreSettings| {
            m.source = UNREACHABLE.into();
            m.bundled_on_first_start = true;
        });
        // Only the runs this test starts.
        s.jobs.insert("mitre_sync".into(), String::new());
    };
    let app = env.spawn_with(offline).await;
    let admin = app.admin_token().await;
    let first = runs(&app, &admin).await;
    assert_eq!(first.len(), 1, "{first:?}");
    assert_eq!(first[0]["trigger"], "first_start");
    let run = ended_run(&app, &admin, first[0]["id"].as_str().unwrap()).await;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(run["release_version"], "18.1");
    assert_eq!(run["added"], 835);
    assert_eq!(run["source"], "built-in: ATT&CK Enterprise 18.1");

    let all = app.get("/api/v1/techniques?limit=1", &admin).await.body;
    assert_eq!(all["total"], 691, "the whole current release");
    let matrix = app.get("/api/v1/matrix", &admin).await.body;
    assert_eq!(matrix["tactics"].as_array().unwrap().len(), 14);
    assert_eq!(matrix["release_version"], "18.1");
    let lsass = app.get("/api/v1/techniques/T1003.001", &admin).await.body;
    let cited = lsass["references"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["source_name"] == "Deep Instinct LSASS")
        .unwrap_or_else(|| panic!("{lsass}"));
    assert!(
        cited["url"]
            .as_str()
            .unwrap()
            .starts_with("https://www.deepinstinct.com/")
    );
    assert!(
        lsass["description"]
            .as_str()
            .unwrap()
            .contains("(Citation: Deep Instinct LSASS)")
    );

    let started = app
        .post("/api/v1/system/sync-mitre", &admin, serde_json::json!({}))
        .await;
    assert_eq!(started.status, 202, "{:?}", started.body);
    let failed = ended_run(&app, &admin, started.body["run_id"].as_str().unwrap()).await;
    assert_eq!(failed["status"], "failed");
    let error = failed["error"].as_str().unwrap();
    assert!(
        error.starts_with(&format!(
            "cannot reach {UNREACHABLE}: the connection was refused; upload a STIX bundle instead"
        )),
        "{error}"
    );
    for internals in ["hyper", "reqwest", "error sending request", "tcp connect"] {
        assert!(!error.contains(internals), "{error}");
    }
    assert_eq!(
        app.get("/api/v1/techniques?limit=1", &admin).await.body["total"],
        691,
        "a failed sync leaves the catalog"
    );

    let restarted = env.spawn_with(offline).await;
    assert_eq!(
        runs(&restarted, &admin).await.len(),
        2,
        "a start on a catalog loads nothing"
    );
}

/// An admin uploads a bundle, plain or gzip: it runs through the same
/// sync, is audited, and fills the catalog. A file Aegis cannot read is a
/// 422 saying why, and nothing runs; only admins may upload.
async fn an_admin_uploads_a_bundle_and_unreadable_files_are_refused(stack: Stack) {
    let Some(env) = TestEnv::new(stack).await else {
        return;
    };
    let app = env
        .spawn_with(|s| s.update_section(|m: &mut MitreSettings| m.source = UNREACHABLE.into()))
        .await;
    let admin = app.admin_token().await;
    let (_, lead) = app.user_with_role(&admin, "lead-user", "lead").await;
    let (_, viewer) = app.user_with_role(&admin, "viewer-user", "viewer").await;
    let mini = std::fs::read(shared_data(MINI)).unwrap();

    // Refused before the body is read (a small one, so the client sends it
    // whole before the answer closes the connection).
    for token in [&lead, &viewer] {
        let reply = upload(&app, token, "mini.json", mini[..1024].to_vec()).await;
        assert_eq!(reply.status, 403, "{:?}", reply.body);
    }
    let refused = [
        ("half.json", mini[..mini.len() / 2].to_vec(), "not JSON"),
        (
            "report.json",
            br#"{"type": "report"}"#.to_vec(),
            "not a STIX bundle",
        ),
        (
            "empty-bundle.json",
            br#"{"type": "bundle", "objects": []}"#.to_vec(),
            "x-mitre-collection",
        ),
        (
            "broken.json.gz",
            [&[0x1f, 0x8b][..], b"not really gzip"].concat(),
            "gzip",
        ),
        ("notes.txt", b"hello".to_vec(), "not JSON"),
    ];
    for (name, bytes, reason) in refused {
        let reply = upload(&app, &admin, name, bytes).await;
        assert_eq!(reply.status, 422, "{name}: {:?}", reply.body);
        assert_eq!(reply.body["code"], "invalid_bundle", "{name}");
        let detail = reply.body["detail"].as_str().unwrap();
        assert!(detail.contains(reason), "{name}: {detail}");
    }
    let empty = upload(&app, &admin, "empty.json", Vec::new()).await;
    assert_eq!(empty.status, 422, "{:?}", empty.body);
    assert!(
        runs(&app, &admin).await.is_empty(),
        "a refused file starts no run"
    );

    let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gzip.write_all(&mini).unwrap();
    let accepted = upload(
        &app,
        &admin,
        "enterprise-mini.json.gz",
        gzip.finish().unwrap(),
    )
    .await;
    assert_eq!(accepted.status, 202, "{:?}", accepted.body);
    let run_id = accepted.body["run_id"].as_str().unwrap().to_owned();
    let run = ended_run(&app, &admin, &run_id).await;
    assert_eq!(
        (
            run["status"].as_str(),
            run["trigger"].as_str(),
            run["added"].as_i64()
        ),
        (Some("succeeded"), Some("upload"), Some(49)),
        "{run}"
    );
    assert_eq!(run["source"], "upload: enterprise-mini.json.gz");
    assert_eq!(
        app.get("/api/v1/techniques?limit=1", &viewer).await.body["total"],
        43
    );
    let audit = app
        .get("/api/v1/audit?action=mitre.upload", &admin)
        .await
        .body;
    let event = &audit["items"][0];
    assert_eq!(
        (event["actor_name"].as_str(), event["target_id"].as_str()),
        (Some("admin"), Some(run_id.as_str())),
        "{audit}"
    );
    assert_eq!(event["detail"]["release_version"], "18.1");

    // The same release again: a run that finds it unchanged.
    let again = upload(&app, &admin, "mini.json", mini.clone()).await;
    assert_eq!(again.status, 202, "{:?}", again.body);
    let run = ended_run(&app, &admin, again.body["run_id"].as_str().unwrap()).await;
    assert_eq!(run["status"], "unchanged", "{run}");

    // Past the configured bound: 413 before anything is read.
    let small = env
        .spawn_with(|s| s.update_section(|m: &mut MitreSettings| m.max_bundle_bytes = 4096))
        .await;
    let admin = small.admin_token().await;
    let too_large = upload(&small, &admin, "mini.json", mini).await;
    assert_eq!(too_large.status, 413, "{:?}", too_large.body);
}

/// A running sync says where it stands, on every replica: its progress goes
/// through the key-value store (Redis on the shared stack; the embedded
/// stack is one process, whose in-process store its own replica reads).
async fn a_running_sync_shows_its_progress_on_every_replica(stack: Stack) {
    let Some(env) = TestEnv::new(stack).await else {
        return;
    };
    let running = env.spawn().await;
    let second_replica;
    let other = match stack {
        Stack::Shared => {
            second_replica = env.spawn().await;
            &second_replica
        }
        Stack::Embedded => &running,
    };
    let service = SyncService::new(running.kernel.clone());
    let mini = shared_data(MINI);
    let claim = service.begin("test", &mini).await.unwrap();
    let run_id = claim.run_id().to_owned();
    let board = ProgressBoard::start(running.kernel.kv.clone(), &run_id, &|_, _, _| {});
    board.report("applying", 150, 835);
    let admin = other.admin_token().await;
    let mut progress = Value::Null;
    for _ in 0..100 {
        let run = runs(other, &admin)
            .await
            .into_iter()
            .find(|r| r["id"] == run_id.as_str())
            .unwrap();
        progress = run["progress"].clone();
        if !progress.is_null() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(
        progress,
        serde_json::json!({"stage": "applying", "done": 150, "total": 835})
    );
    drop(board);
    service.execute(claim, &mini, &|_, _, _| {}).await.unwrap();
    let ended = ended_run(other, &admin, &run_id).await;
    assert!(ended.get("progress").is_none(), "{ended}");
}

stack_tests!(
    a_first_start_offline_loads_the_built_in_release,
    an_admin_uploads_a_bundle_and_unreadable_files_are_refused,
    a_running_sync_shows_its_progress_on_every_replica,
);
