//! Backups and restore, through the `aegis` binary as an operator runs them:
//! an installation populated through the API is backed up while it serves,
//! restored into a fresh installation of the same kind (a new database and
//! a new storage folder or bucket prefix) and compared answer by answer —
//! totals, coverage, KPIs, evidence and report files, sessions signed out
//! and still valid; a damaged backup, a non-empty target and a damaged
//! store are refused; and a backup crosses from SQLite to PostgreSQL and back.

use aegis_core::config::{Settings, StorageBackend};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::cli::aegis;
use crate::helpers::{Stack, TestApp, TestEnv, shared_data, stored_objects};
use crate::plugins::component;
use crate::reports::generate;
use crate::test_cases::{MINI, load_catalog, test_in_state};
use crate::test_coverage::completed;
use crate::test_evidence::upload;
use crate::{shared_only_tests, stack_tests};

/// The variables that point the `aegis` binary at the backends of `settings`.
fn backend_vars(settings: &Settings) -> Vec<(&'static str, String)> {
    let mut vars = vec![
        ("AEGIS_DATABASE__URL", settings.database_url()),
        ("AEGIS_DATA_DIR", settings.data_dir.display().to_string()),
        (
            "AEGIS_SECRET_KEY",
            settings
                .secret_key
                .as_ref()
                .map(|k| k.expose().to_owned())
                .unwrap_or_default(),
        ),
    ];
    if let Some(url) = &settings.redis.url {
        vars.push(("AEGIS_REDIS__URL", url.clone()));
        vars.push(("AEGIS_REDIS__KEY_PREFIX", settings.redis.key_prefix.clone()));
    }
    if settings.storage.backend == StorageBackend::S3 {
        let s3 = &settings.storage.s3;
        let secret = |s: &Option<aegis_core::secret::Secret>| {
            s.as_ref()
                .map(|s| s.expose().to_owned())
                .unwrap_or_default()
        };
        vars.extend([
            ("AEGIS_STORAGE__BACKEND", "s3".to_owned()),
            (
                "AEGIS_STORAGE__S3__ENDPOINT",
                s3.endpoint.clone().unwrap_or_default(),
            ),
            ("AEGIS_STORAGE__S3__BUCKET", s3.bucket.clone()),
            ("AEGIS_STORAGE__S3__REGION", s3.region.clone()),
            ("AEGIS_STORAGE__S3__ROOT", s3.root.clone()),
            (
                "AEGIS_STORAGE__S3__ACCESS_KEY_ID",
                secret(&s3.access_key_id),
            ),
            (
                "AEGIS_STORAGE__S3__SECRET_ACCESS_KEY",
                secret(&s3.secret_access_key),
            ),
        ]);
    }
    vars
}

/// Runs `aegis args…` against `settings`; (succeeded, stdout, stderr).
fn run(settings: &Settings, args: &[&str]) -> (bool, String, String) {
    let out = aegis(args, &backend_vars(settings), None);
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// An app whose scheduled jobs are all off, so nothing changes between
/// reading the original and reading the restored installation.
async fn spawn_quiet(env: &TestEnv) -> TestApp {
    let kernel = aegis::offline_kernel(env.settings.clone()).await.unwrap();
    let ids: Vec<&'static str> = aegis::modules::compose(&kernel)
        .unwrap()
        .modules
        .iter()
        .flat_map(|m| m.jobs())
        .map(|j| j.id)
        .collect();
    env.spawn_with(|s| {
        for id in ids {
            s.jobs.insert(id.to_owned(), String::new());
        }
    })
    .await
}

fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}

fn sha256(bytes: &[u8]) -> String {
    format!("{:x}", Sha256::digest(bytes))
}

/// Tokens that must keep (or lose) their meaning across a restore.
struct Sessions {
    admin: String,
    lead: String,
    lead_api_token: String,
    signed_out: String,
}

/// An installation with something in every part a backup must carry.
async fn populate(app: &TestApp, with_plugin: bool) -> Sessions {
    load_catalog(app, &shared_data(MINI)).await;
    let admin = app.admin_token().await;
    let (_, lead) = app.user_with_role(&admin, "backup-lead", "lead").await;
    let (_, signed_out) = app.user_with_role(&admin, "backup-viewer", "viewer").await;
    let pat = app
        .post("/api/v1/auth/tokens", &lead, json!({"name": "soar"}))
        .await;
    assert_eq!(pat.status, 201, "{:?}", pat.body);

    let campaign = app
        .post("/api/v1/campaigns", &lead, json!({"name": "Backup drill"}))
        .await;
    assert_eq!(campaign.status, 201, "{:?}", campaign.body);
    let campaign_id = campaign.body["id"].as_str().unwrap().to_owned();
    let activated = app
        .post(
            &format!("/api/v1/campaigns/{campaign_id}/activate"),
            &lead,
            json!({}),
        )
        .await;
    assert_eq!(activated.status, 200, "{:?}", activated.body);
    for (technique, procedure, outcome, ran) in [
        ("T1003.001", "dump lsass", "alerted", 0),
        ("T1003.001", "dump lsass", "not_detected", 30),
        ("T1059.001", "encoded command", "prevented", 10),
        ("T1059.007", "jscript dropper", "logged", 20),
    ] {
        completed(
            app,
            &admin,
            technique,
            procedure,
            outcome,
            ran,
            4,
            json!({"campaign_id": campaign_id, "tags": ["apt29", "drill"]}),
        )
        .await;
    }
    let running = test_in_state(app, &admin, "red_executing").await;
    let running = running["id"].as_str().unwrap();
    // 9 MB crosses the 8 MiB chunk: S3 takes it back as a multipart upload.
    for (name, media, content) in [
        (
            "capture.pcap",
            "application/vnd.tcpdump.pcap",
            noise(9_000_000, 7),
        ),
        ("notes.txt", "text/plain", b"whoami /all\n".to_vec()),
    ] {
        let reply = upload(app, &admin, running, name, media, content).await;
        assert_eq!(reply.status, 201, "{:?}", reply.body);
    }
    let template = app
        .post(
            "/api/v1/templates",
            &lead,
            json!({"name": "Read /etc/shadow", "technique_id": "T1003.008",
                   "platforms": ["Linux"], "executor": "sh", "command": "cat /etc/shadow"}),
        )
        .await;
    assert_eq!(template.status, 201, "{:?}", template.body);

    let snapshot = app
        .post("/api/v1/coverage/snapshots", &lead, json!({}))
        .await;
    assert_eq!(snapshot.status, 201, "{:?}", snapshot.body);
    let done = app
        .post(
            &format!("/api/v1/campaigns/{campaign_id}/complete"),
            &lead,
            json!({}),
        )
        .await;
    assert_eq!(done.status, 200, "{:?}", done.body);

    let rule = app
        .post(
            "/api/v1/alert-rules",
            &lead,
            json!({"name": "regressions", "kind": "technique_regressed", "severity": "high"}),
        )
        .await;
    assert_eq!(rule.status, 201, "{:?}", rule.body);
    let evaluated = app
        .post(
            &format!(
                "/api/v1/alert-rules/{}/evaluate",
                rule.body["id"].as_str().unwrap()
            ),
            &lead,
            json!({}),
        )
        .await;
    assert_eq!(evaluated.status, 200, "{:?}", evaluated.body);

    let report =
        |format: &str| json!({"kind": "campaign", "format": format, "campaign_id": campaign_id});
    assert_eq!(generate(app, &lead, report("pdf")).await["status"], "ready");
    if with_plugin {
        let plugin = crate::plugins::upload(
            app,
            &admin,
            "report_format",
            "md.wasm",
            component("markdown-report"),
        )
        .await;
        assert_eq!(plugin.status, 201, "{:?}", plugin.body);
        let format = format!("plugin:{}", plugin.body["id"].as_str().unwrap());
        assert_eq!(
            generate(app, &lead, report(&format)).await["status"],
            "ready"
        );
    }

    let logout = app
        .call("POST", "/api/v1/auth/logout", Some(&signed_out), None)
        .await;
    assert_eq!(logout.status, 204);
    assert_eq!(app.get("/api/v1/auth/me", &signed_out).await.status, 401);
    Sessions {
        admin,
        lead,
        lead_api_token: pat.body["token"].as_str().unwrap().to_owned(),
        signed_out,
    }
}

/// What a reader sees of an installation: lists with their totals,
/// coverage, KPIs, and the files by checksum. Reading changes nothing.
async fn view(app: &TestApp, admin: &str) -> Value {
    let mut view = json!({});
    for path in [
        "/api/v1/tests?limit=500",
        "/api/v1/campaigns",
        "/api/v1/coverage",
        "/api/v1/dashboard/kpis",
        "/api/v1/coverage/snapshots",
        "/api/v1/coverage/navigator-layer",
        "/api/v1/users",
        "/api/v1/templates",
        "/api/v1/alert-rules",
        "/api/v1/alerts",
        "/api/v1/reports",
        "/api/v1/plugins",
        "/api/v1/techniques?limit=1",
        "/api/v1/audit?limit=500",
    ] {
        let reply = app.get(path, admin).await;
        assert_eq!(reply.status, 200, "{path}: {:?}", reply.body);
        view[path] = reply.body;
    }
    let mut files = serde_json::Map::new();
    let tests = view["/api/v1/tests?limit=500"]["items"]
        .as_array()
        .unwrap()
        .clone();
    for test in &tests {
        let id = test["id"].as_str().unwrap();
        let listed = app
            .get(&format!("/api/v1/tests/{id}/evidence"), admin)
            .await;
        assert_eq!(listed.status, 200, "{:?}", listed.body);
        for evidence in listed.body.as_array().unwrap() {
            let url = evidence["download_url"].as_str().unwrap();
            let (header, bytes) = download(app, admin, url).await;
            assert_eq!(header.as_deref(), Some(sha256(&bytes).as_str()));
            assert_eq!(evidence["sha256"], sha256(&bytes).as_str());
            files.insert(url.to_owned(), json!(sha256(&bytes)));
        }
        view[format!("evidence of {id}")] = listed.body;
    }
    for report in view["/api/v1/reports"]["items"].as_array().unwrap() {
        let url = report["download_url"].as_str().unwrap();
        let (_, bytes) = download(app, admin, url).await;
        files.insert(url.to_owned(), json!(sha256(&bytes)));
    }
    view["files"] = Value::Object(files);
    view
}

async fn download(app: &TestApp, token: &str, url: &str) -> (Option<String>, Vec<u8>) {
    let response = app.request("GET", url, token).send().await.unwrap();
    assert_eq!(response.status(), 200, "{url}");
    let checksum = response
        .headers()
        .get("x-checksum-sha256")
        .map(|v| v.to_str().unwrap().to_owned());
    (checksum, response.bytes().await.unwrap().to_vec())
}

/// Rows per table, counted in the database.
async fn counts(app: &TestApp, tables: &[String]) -> Vec<(String, i64)> {
    let mut counts = Vec::new();
    for table in tables {
        let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT COUNT(*) FROM \"{table}\""
        )))
        .fetch_one(app.kernel.db.pool())
        .await
        .unwrap();
        counts.push((table.clone(), n));
    }
    counts
}

fn manifest(dir: &std::path::Path) -> Value {
    serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap()
}

fn manifest_tables(manifest: &Value) -> Vec<(String, i64)> {
    manifest["tables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["name"].as_str().unwrap().to_owned(),
                t["rows"].as_i64().unwrap(),
            )
        })
        .collect()
}

/// The restored view is the original one, but for the restore's own audit
/// event on top of the log.
fn assert_same_view(original: &Value, restored: &Value) {
    let audit = "/api/v1/audit?limit=500";
    let mut restored = restored.clone();
    let mut events = restored[audit]["items"].as_array().unwrap().clone();
    assert_eq!(events[0]["action"], "system.restore", "{:?}", events[0]);
    events.remove(0);
    restored[audit]["items"] = json!(events);
    restored[audit]["total"] = json!(restored[audit]["total"].as_i64().unwrap() - 1);
    for (key, value) in original.as_object().unwrap() {
        assert_eq!(&restored[key], value, "{key} differs after the restore");
    }
    assert_eq!(
        restored.as_object().unwrap().len(),
        original.as_object().unwrap().len()
    );
}

/// Neither the database nor the storage of `settings` holds anything.
async fn assert_untouched(settings: &Settings) {
    let kernel = aegis_core::Kernel::connect(settings.clone()).await.unwrap();
    let migrated = sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM _sqlx_migrations")
        .fetch_one(kernel.db.pool())
        .await;
    assert!(migrated.is_err(), "the database was not even migrated");
    let mut lister = kernel
        .storage
        .operator()
        .lister_with("/")
        .recursive(true)
        .await
        .unwrap();
    use futures::TryStreamExt;
    while let Some(entry) = lister.try_next().await.unwrap() {
        assert!(!entry.metadata().is_file(), "{} was stored", entry.path());
    }
    kernel.db.close().await;
}

async fn a_restored_installation_answers_as_the_original(stack: Stack) {
    let Some(source_env) = TestEnv::new(stack).await else {
        return;
    };
    let source = spawn_quiet(&source_env).await;
    let sessions = populate(&source, true).await;
    let original = view(&source, &sessions.admin).await;

    // Taken while the original serves.
    let dir = source_env.settings.data_dir.join("backup");
    let (ok, stdout, stderr) = run(
        &source_env.settings,
        &["backup", "--to", dir.to_str().unwrap()],
    );
    assert!(ok, "{stderr}");
    assert!(stdout.contains("test_cases_evidence"), "{stdout}");
    assert!(stdout.contains("secret key"), "{stdout}");
    let manifest = manifest(&dir);
    let tables = manifest_tables(&manifest);
    let names: Vec<String> = tables.iter().map(|(t, _)| t.clone()).collect();
    assert!(!names.contains(&"_sqlx_migrations".to_owned()));
    assert_eq!(
        counts(&source, &names).await,
        tables,
        "the backup holds every row of every table"
    );
    let revocations = tables.iter().find(|(t, _)| t == "kernel_revoked_token");
    assert_eq!(revocations.map(|(_, n)| *n), Some(1));
    // Two evidence files, two reports, one plugin component.
    let objects = manifest["objects"].as_array().unwrap();
    assert_eq!(objects.len(), 5, "{objects:?}");
    for object in objects {
        let key = object["key"].as_str().unwrap();
        let bytes = std::fs::read(dir.join("objects").join(key)).unwrap();
        assert_eq!(object["sha256"], sha256(&bytes).as_str(), "{key}");
    }
    let (ok, _, stderr) = run(
        &source_env.settings,
        &["backup", "--to", dir.to_str().unwrap()],
    );
    assert!(!ok && stderr.contains("not empty"), "{stderr}");

    // A damaged copy is refused before anything is written.
    let Some(third) = TestEnv::new(stack).await else {
        return;
    };
    let damaged = third.settings.data_dir.join("damaged-backup");
    copy_dir(&dir, &damaged);
    let file = damaged.join("tables/test_cases_test.jsonl");
    let mut text = std::fs::read(&file).unwrap();
    let at = text.iter().position(|b| *b == b'T').unwrap();
    text[at] = b'X';
    std::fs::write(&file, text).unwrap();
    let (ok, _, stderr) = run(
        &third.settings,
        &["restore", "--from", damaged.to_str().unwrap()],
    );
    assert!(!ok, "a damaged backup is refused");
    assert!(
        stderr.contains("damaged") && stderr.contains("tables/test_cases_test.jsonl"),
        "{stderr}"
    );
    assert_untouched(&third.settings).await;

    // Restored into a fresh installation of the same kind, migrated but empty
    // (as `aegis migrate` or a container's entrypoint leaves it).
    let Some(target_env) = TestEnv::new(stack).await else {
        return;
    };
    let (ok, _, stderr) = run(&target_env.settings, &["migrate"]);
    assert!(ok, "{stderr}");
    let (ok, stdout, stderr) = run(
        &target_env.settings,
        &["restore", "--from", dir.to_str().unwrap()],
    );
    assert!(ok, "{stderr}");
    assert!(
        stdout.contains("restored") && stdout.contains("kernel_revoked_token"),
        "{stdout}"
    );
    let target = spawn_quiet(&target_env).await;
    let mut expected = tables.clone();
    for (table, rows) in &mut expected {
        if table == "kernel_audit_event" {
            *rows += 1;
        }
    }
    assert_eq!(counts(&target, &names).await, expected);
    let mut keys: Vec<String> = objects
        .iter()
        .map(|o| o["key"].as_str().unwrap().to_owned())
        .collect();
    keys.sort();
    let mut stored = Vec::new();
    for prefix in ["evidence/", "reports/", "plugins/"] {
        stored.extend(stored_objects(&target, prefix).await);
    }
    stored.sort();
    assert_eq!(stored, keys, "exactly the objects the rows name");

    // Same secret key: sessions and API tokens carry over; sign-outs too.
    let restored = view(&target, &sessions.admin).await;
    assert_same_view(&original, &restored);
    let revoked = target.get("/api/v1/auth/me", &sessions.signed_out).await;
    assert_eq!(
        (revoked.status, revoked.body["code"].as_str()),
        (401, Some("token_revoked"))
    );
    assert_eq!(
        target.get("/api/v1/auth/me", &sessions.lead).await.body["username"],
        "backup-lead"
    );
    assert_eq!(
        target
            .get("/api/v1/auth/me", &sessions.lead_api_token)
            .await
            .status,
        200
    );
    assert_eq!(
        target
            .login("backup-lead", "backup-lead-password")
            .await
            .status,
        200
    );
    // The plugin component came back whole: the host runs it again.
    let plugin = &original["/api/v1/plugins"]["items"][0];
    let again = generate(
        &target,
        &sessions.lead,
        json!({"kind": "coverage", "format": format!("plugin:{}", plugin["id"].as_str().unwrap())}),
    )
    .await;
    assert_eq!(again["status"], "ready", "{again:?}");

    // Restoring over data is refused, and changes nothing.
    let before = counts(&target, &names).await;
    let (ok, _, stderr) = run(
        &target_env.settings,
        &["restore", "--from", dir.to_str().unwrap()],
    );
    assert!(!ok && stderr.contains("not empty"), "{stderr}");
    assert_eq!(counts(&target, &names).await, before);
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// An evidence row whose file is gone from storage is damage: the backup
/// stops and says which object, and leaves no half backup behind.
async fn a_backup_stops_at_an_object_missing_from_storage(stack: Stack) {
    let Some(env) = TestEnv::new(stack).await else {
        return;
    };
    let app = spawn_quiet(&env).await;
    load_catalog(&app, &shared_data(MINI)).await;
    let admin = app.admin_token().await;
    let test = test_in_state(&app, &admin, "red_executing").await;
    let evidence = upload(
        &app,
        &admin,
        test["id"].as_str().unwrap(),
        "notes.txt",
        "text/plain",
        b"ipconfig /all\n".to_vec(),
    )
    .await;
    assert_eq!(evidence.status, 201, "{:?}", evidence.body);
    let key = stored_objects(&app, "evidence/").await.remove(0);
    app.kernel.storage.delete(&key).await.unwrap();

    let dir = env.settings.data_dir.join("backup");
    let (ok, _, stderr) = run(&env.settings, &["backup", "--to", dir.to_str().unwrap()]);
    assert!(!ok, "a backup of a damaged store fails");
    assert!(
        stderr.contains(&key) && stderr.contains("missing from storage"),
        "{stderr}"
    );
    assert!(!dir.join("manifest.json").exists());
    assert!(!dir.join("tables").exists(), "no half backup is left");
}

/// A backup from an older release restores into this one: the database is
/// migrated to the backup's schema, the rows go in, the later migrations
/// run. One from a newer release is refused before anything is written.
async fn an_older_backup_is_migrated_forward(stack: Stack) {
    // The release before sessions carried a generation (20261130000004).
    const OLDER: i64 = 20_261_130_000_003;
    let Some(env) = TestEnv::new(stack).await else {
        return;
    };
    let old = aegis_core::Kernel::connect(env.settings.clone())
        .await
        .unwrap();
    let pool = old.db.pool();
    old.db
        .backend()
        .migrator()
        .run_to(OLDER, pool)
        .await
        .unwrap();
    let hash = aegis_core::auth::password::hash_password("old-admin-password")
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO users_user (id, username, username_key, display_name, role, password_hash, active, created_at, updated_at)
         VALUES ('u1', 'old-admin', 'old-admin', 'Old', 'admin', $1, 1, '2026-11-30T10:00:00.000000Z', '2026-11-30T10:00:00.000000Z')",
    )
    .bind(hash)
    .execute(pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO kernel_revoked_token (jti, expires_at, revoked_at)
         VALUES ('signed-out', '2099-01-01T00:00:00.000000Z', '2026-11-30T11:00:00.000000Z')",
    )
    .execute(pool)
    .await
    .unwrap();
    old.db.close().await;
    let dir = env.settings.data_dir.join("backup");
    let (ok, _, stderr) = run(&env.settings, &["backup", "--to", dir.to_str().unwrap()]);
    assert!(ok, "{stderr}");
    let original = std::fs::read(dir.join("manifest.json")).unwrap();
    let mut manifest = manifest(&dir);
    assert_eq!(manifest["schema_version"], OLDER);
    let users = &manifest["tables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "users_user")
        .unwrap()["columns"];
    assert!(
        !users
            .as_array()
            .unwrap()
            .contains(&json!("session_generation"))
    );

    let Some(target) = TestEnv::new(stack).await else {
        return;
    };
    manifest["schema_version"] = json!(99_991_231_000_000_i64);
    std::fs::write(dir.join("manifest.json"), manifest.to_string()).unwrap();
    let (ok, _, stderr) = run(
        &target.settings,
        &["restore", "--from", dir.to_str().unwrap()],
    );
    assert!(!ok && stderr.contains("newer Aegis"), "{stderr}");
    assert_untouched(&target.settings).await;

    std::fs::write(dir.join("manifest.json"), original).unwrap();
    let (ok, _, stderr) = run(
        &target.settings,
        &["restore", "--from", dir.to_str().unwrap()],
    );
    assert!(ok, "{stderr}");
    let restored = spawn_quiet(&target).await;
    let latest = restored
        .kernel
        .db
        .backend()
        .migrator()
        .iter()
        .map(|m| m.version)
        .max();
    let applied: Option<i64> = sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations")
        .fetch_one(restored.kernel.db.pool())
        .await
        .unwrap();
    assert_eq!(applied, latest, "the later migrations ran");
    let token = restored.token("old-admin", "old-admin-password").await;
    let listed = restored.get("/api/v1/users", &token).await;
    assert_eq!(listed.body["total"], 1, "{:?}", listed.body);
    assert!(
        restored
            .kernel
            .revocations
            .is_revoked("signed-out")
            .await
            .unwrap()
    );
}

stack_tests!(
    a_restored_installation_answers_as_the_original,
    a_backup_stops_at_an_object_missing_from_storage,
    an_older_backup_is_migrated_forward,
);

/// The format is the same on both backends: a backup taken on SQLite and a
/// local folder restores on PostgreSQL and S3, and a backup of that
/// restores on SQLite again, answering the same throughout.
async fn a_backup_crosses_between_sqlite_and_postgresql(_: Stack) {
    let (Some(embedded), Some(shared), Some(back)) = (
        TestEnv::new(Stack::Embedded).await,
        TestEnv::new(Stack::Shared).await,
        TestEnv::new(Stack::Embedded).await,
    ) else {
        return;
    };
    let source = spawn_quiet(&embedded).await;
    let sessions = populate(&source, false).await;
    let original = view(&source, &sessions.admin).await;

    let first = embedded.settings.data_dir.join("backup");
    let (ok, _, stderr) = run(
        &embedded.settings,
        &["backup", "--to", first.to_str().unwrap()],
    );
    assert!(ok, "{stderr}");
    assert_eq!(manifest(&first)["backend"], "sqlite");
    let (ok, _, stderr) = run(
        &shared.settings,
        &["restore", "--from", first.to_str().unwrap()],
    );
    assert!(ok, "{stderr}");
    let on_postgres = spawn_quiet(&shared).await;
    assert_same_view(&original, &view(&on_postgres, &sessions.admin).await);
    assert_eq!(
        on_postgres
            .get("/api/v1/auth/me", &sessions.signed_out)
            .await
            .status,
        401
    );

    let second = shared.settings.data_dir.join("backup");
    let (ok, _, stderr) = run(
        &shared.settings,
        &["backup", "--to", second.to_str().unwrap()],
    );
    assert!(ok, "{stderr}");
    assert_eq!(manifest(&second)["backend"], "postgres");
    let (ok, _, stderr) = run(
        &back.settings,
        &["restore", "--from", second.to_str().unwrap()],
    );
    assert!(ok, "{stderr}");
    let on_sqlite = spawn_quiet(&back).await;
    let restored_twice = view(&on_sqlite, &sessions.admin).await;
    let audit = "/api/v1/audit?limit=500";
    let actions: Vec<&str> = restored_twice[audit]["items"]
        .as_array()
        .unwrap()
        .iter()
        .take(2)
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["system.restore", "system.restore"]);
    let mut once = restored_twice.clone();
    let items = once[audit]["items"].as_array().unwrap()[1..].to_vec();
    once[audit]["items"] = json!(items);
    once[audit]["total"] = json!(once[audit]["total"].as_i64().unwrap() - 1);
    assert_same_view(&original, &once);
    assert_eq!(
        on_sqlite
            .get("/api/v1/auth/me", &sessions.signed_out)
            .await
            .status,
        401
    );
}

/// Every column that holds a storage key is declared by its module, so no
/// object kind is left out of backups when a module gains one.
#[tokio::test]
async fn every_storage_key_column_is_declared_for_backups() {
    let backends = aegis_core::testing::TestBackends::new(Stack::Embedded)
        .await
        .unwrap();
    let kernel = backends.kernel().await;
    let mut declared: Vec<(String, String)> = aegis::modules::compose(&kernel)
        .unwrap()
        .modules
        .iter()
        .flat_map(|m| m.object_columns())
        .map(|c| (c.table.to_owned(), c.key.to_owned()))
        .collect();
    declared.sort();
    let mut found: Vec<(String, String)> = sqlx::query_as(
        "SELECT m.name, p.name FROM sqlite_master m, pragma_table_info(m.name) p
         WHERE m.type = 'table' AND p.name LIKE '%storage\\_key%' ESCAPE '\\'",
    )
    .fetch_all(kernel.db.pool())
    .await
    .unwrap();
    found.sort();
    assert_eq!(declared, found);
    assert_eq!(found.len(), 3, "evidence, reports, plugins");
}

/// A table that numbers its rows with a sequence keeps numbering after the
/// restored rows (Aegis's ids are text today; this keeps a future one right).
async fn sequences_continue_after_restored_rows(_: Stack) {
    let Some(backends) = aegis_core::testing::TestBackends::new(Stack::Shared).await else {
        return;
    };
    let kernel = backends.kernel().await;
    let pool = kernel.db.pool();
    sqlx::query("CREATE TABLE numbered (id BIGSERIAL PRIMARY KEY, name TEXT NOT NULL)")
        .execute(pool)
        .await
        .unwrap();
    sqlx::query("INSERT INTO numbered (id, name) VALUES (41, 'restored'), (42, 'restored')")
        .execute(pool)
        .await
        .unwrap();
    let mut conn = pool.acquire().await.unwrap();
    assert_eq!(
        aegis_core::backup::advance_sequences(&mut conn)
            .await
            .unwrap(),
        1
    );
    let next: i64 = sqlx::query_scalar("INSERT INTO numbered (name) VALUES ('new') RETURNING id")
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(next, 43);
}

shared_only_tests!(
    a_backup_crosses_between_sqlite_and_postgresql,
    sequences_continue_after_restored_rows,
);
