//! Evidence on the local folder and on S3: round trips with matching
//! SHA-256, sides, limits, hostile names, locking, and nothing lost or
//! orphaned when storage or the database fails.

use reqwest::multipart::{Form, Part};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::helpers::{Reply, Stack, TestApp, TestEnv, shared_data, stored_objects};
use crate::stack_tests;
use crate::test_cases::{MINI, Team, load_catalog, openapi, test_in_state};

pub fn bytes(len: usize, seed: u8) -> Vec<u8> {
    // Not compressible and not repetitive at the buffer sizes in play.
    let mut state = u64::from(seed) + 0x9E37_79B9_7F4A_7C15;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}

pub async fn upload(
    app: &TestApp,
    token: &str,
    test_id: &str,
    name: &str,
    media: &str,
    content: Vec<u8>,
) -> Reply {
    let part = Part::bytes(content)
        .file_name(name.to_owned())
        .mime_str(media)
        .unwrap();
    let form = Form::new()
        .text("description", "captured during the run")
        .part("file", part);
    app.send(
        app.request("POST", &format!("/api/v1/tests/{test_id}/evidence"), token)
            .multipart(form),
    )
    .await
}

pub async fn rows(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM test_cases_evidence")
        .fetch_one(app.kernel.db.pool())
        .await
        .unwrap()
}

fn sha256(content: &[u8]) -> String {
    format!("{:x}", Sha256::digest(content))
}

async fn files_round_trip_with_their_sha256(stack: Stack) {
    let Some(env) = TestEnv::new(stack).await else {
        return;
    };
    let app = env.spawn().await;
    load_catalog(&app, &shared_data(MINI)).await;
    let team = Team::new(&app).await;
    let admin = team.token("admin").to_owned();
    let test = test_in_state(&app, &admin, "red_executing").await;
    let id = test["id"].as_str().unwrap();

    // 12 MB crosses the 8 MiB write chunk, so S3 takes it as a multipart upload.
    for (name, media, size) in [
        ("lsass.dmp.zip", "application/zip", 12_000_000),
        ("notes.txt", "text/plain; charset=utf-8", 1_500),
    ] {
        let content = bytes(size, size as u8);
        let reply = upload(
            &app,
            team.token("red_tech"),
            id,
            name,
            media,
            content.clone(),
        )
        .await;
        assert_eq!(reply.status, 201, "{:?}", reply.body);
        let e = &reply.body;
        assert_eq!(e["side"], "red");
        assert_eq!(e["file_name"], name);
        assert_eq!(e["size_bytes"], size);
        assert_eq!(e["sha256"], sha256(&content));
        assert_eq!(e["uploaded_by_name"], "red-tech-member");
        assert_eq!(e["description"], "captured during the run");
        let download = app
            .client
            .get(app.url(e["download_url"].as_str().unwrap()))
            .bearer_auth(team.token("viewer"))
            .send()
            .await
            .unwrap();
        assert_eq!(download.status(), 200);
        let headers = download.headers().clone();
        let expected_type = media.split(';').next().unwrap();
        assert_eq!(headers["content-type"], expected_type);
        assert_eq!(headers["x-content-type-options"], "nosniff");
        assert_eq!(headers["x-checksum-sha256"], sha256(&content).as_str());
        assert!(
            headers["content-disposition"]
                .to_str()
                .unwrap()
                .starts_with(&format!("attachment; filename=\"{name}\""))
        );
        let body = download.bytes().await.unwrap();
        assert_eq!(sha256(&body), sha256(&content));
    }
    let listed = app
        .get(
            &format!("/api/v1/tests/{id}/evidence"),
            team.token("viewer"),
        )
        .await;
    assert_eq!(listed.body.as_array().unwrap().len(), 2);
    assert_eq!(stored_objects(&app, "evidence/").await.len(), 2);

    // Blue evidence once blue evaluates; each side only in its own states.
    let blue_test = test_in_state(&app, &admin, "blue_evaluating").await;
    let blue_id = blue_test["id"].as_str().unwrap();
    let blue = upload(
        &app,
        team.token("blue_tech"),
        blue_id,
        "alert.json",
        "application/json",
        b"{\"rule\":1}".to_vec(),
    )
    .await;
    assert_eq!(blue.status, 201);
    assert_eq!(blue.body["side"], "blue");
    let lead = upload(
        &app,
        team.token("lead"),
        blue_id,
        "triage.txt",
        "text/plain",
        b"lead".to_vec(),
    )
    .await;
    assert_eq!(lead.body["side"], "blue");
    let late = upload(
        &app,
        team.token("red_tech"),
        blue_id,
        "late.txt",
        "text/plain",
        b"late".to_vec(),
    )
    .await;
    assert_eq!(late.status, 409, "{:?}", late.body);
    assert_eq!(late.body["current_state"], "blue_evaluating");
    let early = upload(
        &app,
        team.token("blue_tech"),
        id,
        "early.txt",
        "text/plain",
        b"early".to_vec(),
    )
    .await;
    assert_eq!(early.status, 409);
    let viewer = upload(
        &app,
        team.token("viewer"),
        id,
        "v.txt",
        "text/plain",
        b"v".to_vec(),
    )
    .await;
    assert_eq!(viewer.status, 403);
    let missing = upload(
        &app,
        &admin,
        "00000000-0000-0000-0000-000000000000",
        "x.txt",
        "text/plain",
        b"x".to_vec(),
    )
    .await;
    assert_eq!(missing.status, 404);
}

async fn hostile_and_oversized_uploads_are_refused(stack: Stack) {
    let Some(env) = TestEnv::new(stack).await else {
        return;
    };
    let app = env
        .spawn_with(|s| {
            s.update_section(|e: &mut aegis_mod_test_cases::EvidenceSettings| {
                e.max_bytes = 64 * 1024
            });
        })
        .await;
    load_catalog(&app, &shared_data(MINI)).await;
    let admin = app.admin_token().await;
    let test = test_in_state(&app, &admin, "draft").await;
    let id = test["id"].as_str().unwrap();
    let over = upload(
        &app,
        &admin,
        id,
        "big.bin",
        "application/octet-stream",
        bytes(64 * 1024 + 1, 1),
    )
    .await;
    assert_eq!(over.status, 413, "{:?}", over.body);
    let exact = upload(
        &app,
        &admin,
        id,
        "fits.bin",
        "application/octet-stream",
        bytes(64 * 1024, 2),
    )
    .await;
    assert_eq!(exact.status, 201, "{:?}", exact.body);
    let html = upload(
        &app,
        &admin,
        id,
        "page.html",
        "text/html",
        b"<script>alert(1)</script>".to_vec(),
    )
    .await;
    assert_eq!(html.status, 415, "{:?}", html.body);
    for name in [
        "../../etc/passwd",
        "..",
        "C:\\Windows\\evil.exe",
        "dir/file.txt",
        "line\nbreak.txt",
    ] {
        let reply = upload(&app, &admin, id, name, "text/plain", b"x".to_vec()).await;
        assert!(
            reply.status == 422 || reply.status == 400,
            "{name:?}: {} {:?}",
            reply.status,
            reply.body
        );
    }
    let empty = upload(&app, &admin, id, "empty.txt", "text/plain", Vec::new()).await;
    assert_eq!(empty.status, 422);
    let no_file = app
        .send(
            app.request("POST", &format!("/api/v1/tests/{id}/evidence"), &admin)
                .multipart(Form::new().text("description", "no file")),
        )
        .await;
    assert_eq!(no_file.status, 422);
    // A streamed (chunked) body over the limit is cut off too.
    let stream =
        futures::stream::iter((0..8).map(|i| Ok::<_, std::io::Error>(bytes(16 * 1024, i))));
    let part = Part::stream(reqwest::Body::wrap_stream(stream))
        .file_name("stream.bin")
        .mime_str("application/octet-stream")
        .unwrap();
    let chunked = app
        .send(
            app.request("POST", &format!("/api/v1/tests/{id}/evidence"), &admin)
                .multipart(Form::new().part("file", part)),
        )
        .await;
    assert_eq!(chunked.status, 413, "{:?}", chunked.body);
    // Only the file that fitted is kept, as a row and as an object.
    assert_eq!(rows(&app).await, 1);
    assert_eq!(stored_objects(&app, "evidence/").await.len(), 1);
}

async fn deletion_follows_uploader_and_lead_and_stops_at_completion(stack: Stack) {
    let Some(env) = TestEnv::new(stack).await else {
        return;
    };
    let app = env.spawn().await;
    load_catalog(&app, &shared_data(MINI)).await;
    let team = Team::new(&app).await;
    let admin = team.token("admin").to_owned();
    let test = test_in_state(&app, &admin, "red_executing").await;
    let id = test["id"].as_str().unwrap().to_owned();
    let mut files = Vec::new();
    for n in 0..3 {
        let reply = upload(
            &app,
            team.token("red_tech"),
            &id,
            &format!("f{n}.txt"),
            "text/plain",
            vec![b'a' + n; 10],
        )
        .await;
        files.push(reply.body["id"].as_str().unwrap().to_owned());
    }
    let path = |e: &str| format!("/api/v1/tests/{id}/evidence/{e}");
    assert_eq!(
        app.call(
            "DELETE",
            &path(&files[0]),
            Some(team.token("blue_tech")),
            None
        )
        .await
        .status,
        403
    );
    assert_eq!(
        app.call("DELETE", &path(&files[0]), Some(team.token("viewer")), None)
            .await
            .status,
        403
    );
    assert_eq!(
        app.call(
            "DELETE",
            &path(&files[0]),
            Some(team.token("red_tech")),
            None
        )
        .await
        .status,
        204
    );
    assert_eq!(
        app.call("DELETE", &path(&files[1]), Some(team.token("lead")), None)
            .await
            .status,
        204
    );
    assert_eq!(app.get(&path(&files[0]), &admin).await.status, 404);
    assert_eq!(stored_objects(&app, "evidence/").await.len(), 1);

    // Completed: the last file is locked for everyone, admins included.
    let version = app.get(&format!("/api/v1/tests/{id}"), &admin).await.body["version"]
        .as_i64()
        .unwrap();
    crate::test_cases::patch(
        &app,
        &admin,
        &id,
        version,
        json!({"attack_outcome": "succeeded", "executed_at": "2026-11-01T10:00:00Z"}),
    )
    .await;
    crate::test_cases::step(&app, &admin, &id, "submit-to-blue").await;
    let v = app.get(&format!("/api/v1/tests/{id}"), &admin).await.body["version"]
        .as_i64()
        .unwrap();
    crate::test_cases::patch(
        &app,
        &admin,
        &id,
        v,
        json!({"detection_outcome": "not_detected"}),
    )
    .await;
    crate::test_cases::step(&app, &admin, &id, "complete").await;
    let locked = app
        .call("DELETE", &path(&files[2]), Some(&admin), None)
        .await;
    assert_eq!(locked.status, 409, "{:?}", locked.body);
    assert_eq!(locked.body["code"], "evidence_locked");
    let upload_locked = upload(&app, &admin, &id, "after.txt", "text/plain", b"x".to_vec()).await;
    assert_eq!(upload_locked.status, 409);
    assert_eq!(upload_locked.body["code"], "evidence_locked");
    let history = app
        .get(&format!("/api/v1/tests/{id}/history?limit=100"), &admin)
        .await;
    let actions: Vec<&str> = history.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions
            .iter()
            .filter(|a| **a == "test.evidence_add")
            .count(),
        3
    );
    assert_eq!(
        actions
            .iter()
            .filter(|a| **a == "test.evidence_delete")
            .count(),
        2
    );
}

async fn failures_leave_neither_rows_nor_objects(stack: Stack) {
    let Some(env) = TestEnv::new(stack).await else {
        return;
    };
    let app = env.spawn().await;
    load_catalog(&app, &shared_data(MINI)).await;
    let admin = app.admin_token().await;
    let test = test_in_state(&app, &admin, "draft").await;
    let id = test["id"].as_str().unwrap().to_owned();

    // Storage down: the upload fails with 503 and no row is written.
    let broken = env
        .spawn_with(|s| {
            s.storage.backend = aegis_core::config::StorageBackend::S3;
            s.storage.s3.endpoint = Some("http://127.0.0.1:9".into());
            s.storage.s3.access_key_id = Some(aegis_core::secret::Secret::new("x"));
            s.storage.s3.secret_access_key = Some(aegis_core::secret::Secret::new("x"));
        })
        .await;
    let token = broken.admin_token().await;
    let reply = upload(
        &broken,
        &token,
        &id,
        "a.txt",
        "text/plain",
        b"lost?".to_vec(),
    )
    .await;
    assert_eq!(reply.status, 503, "{:?}", reply.body);
    assert_eq!(reply.body["code"], "storage_unavailable");
    assert_eq!(rows(&app).await, 0);

    // The database refuses the row after the bytes are stored: the object goes too.
    let trigger: &[&str] = match app.kernel.db.backend() {
        aegis_core::db::Backend::Sqlite => &[
            "CREATE TRIGGER inject_failure BEFORE INSERT ON test_cases_evidence BEGIN SELECT RAISE(ABORT, 'injected failure'); END",
        ],
        aegis_core::db::Backend::Postgres => &[
            "CREATE FUNCTION inject_failure() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'injected failure'; END $$ LANGUAGE plpgsql",
            "CREATE TRIGGER inject_failure BEFORE INSERT ON test_cases_evidence FOR EACH ROW EXECUTE FUNCTION inject_failure()",
        ],
    };
    for sql in trigger {
        sqlx::query(*sql)
            .execute(app.kernel.db.pool())
            .await
            .unwrap();
    }
    let reply = upload(&app, &admin, &id, "b.txt", "text/plain", bytes(300_000, 3)).await;
    assert_eq!(reply.status, 500, "{:?}", reply.body);
    assert_eq!(rows(&app).await, 0);
    assert!(
        stored_objects(&app, "evidence/").await.is_empty(),
        "{:?}",
        stored_objects(&app, "evidence/").await
    );
}

async fn the_sweep_removes_only_old_objects_without_rows(stack: Stack) {
    let Some(env) = TestEnv::new(stack).await else {
        return;
    };
    let app = env.spawn().await;
    load_catalog(&app, &shared_data(MINI)).await;
    let admin = app.admin_token().await;
    let test = test_in_state(&app, &admin, "draft").await;
    let id = test["id"].as_str().unwrap();
    let kept = upload(&app, &admin, id, "kept.txt", "text/plain", b"kept".to_vec()).await;
    assert_eq!(kept.status, 201);
    // What a crash between storing and recording leaves: objects without rows.
    let two_hours_ago = chrono::Utc::now().timestamp() as u64 - 7200;
    let old = uuid::Uuid::new_v7(uuid::Timestamp::from_unix(
        uuid::NoContext,
        two_hours_ago,
        0,
    ));
    let fresh = uuid::Uuid::now_v7();
    let storage = &app.kernel.storage;
    storage
        .put(&format!("evidence/{id}/{old}"), b"orphan".to_vec())
        .await
        .unwrap();
    storage
        .put(&format!("evidence/{id}/{fresh}"), b"uploading".to_vec())
        .await
        .unwrap();
    storage
        .put(&format!("evidence/{id}/not-ours.txt"), b"foreign".to_vec())
        .await
        .unwrap();

    let removed =
        aegis_mod_test_cases::evidence::sweep_orphans(&app.kernel, chrono::Duration::minutes(60))
            .await
            .unwrap();
    assert_eq!(removed.objects, 1);
    let mut left = stored_objects(&app, "evidence/").await;
    left.sort();
    let mut expected = vec![
        format!("evidence/{id}/{}", kept.body["id"].as_str().unwrap()),
        format!("evidence/{id}/{fresh}"),
        format!("evidence/{id}/not-ours.txt"),
    ];
    expected.sort();
    assert_eq!(left, expected);
    let status = app.get("/api/v1/system/scheduler-status", &admin).await;
    assert!(
        status
            .body
            .as_array()
            .unwrap()
            .iter()
            .any(|j| j["id"] == "evidence_orphan_sweep"),
        "{:?}",
        status.body
    );
}

/// What a server killed mid-upload leaves, on each backend: on S3 an
/// unfinished multipart upload (parts S3 keeps and bills, in no listing),
/// on the local folder a partial file at its key; and, on both, a complete
/// object whose row was never written. The sweep removes all of them once
/// older than the grace, and nothing recorded.
async fn the_sweep_clears_what_interrupted_uploads_leave(stack: Stack) {
    let Some(env) = TestEnv::new(stack).await else {
        return;
    };
    // The scheduled sweep stays off: the test runs it, on its own clock.
    let app = env
        .spawn_with(|s| {
            s.jobs.insert("evidence_orphan_sweep".into(), String::new());
        })
        .await;
    load_catalog(&app, &shared_data(MINI)).await;
    let admin = app.admin_token().await;
    let test = test_in_state(&app, &admin, "draft").await;
    let id = test["id"].as_str().unwrap();
    let kept = upload(&app, &admin, id, "kept.txt", "text/plain", b"kept".to_vec()).await;
    assert_eq!(kept.status, 201, "{:?}", kept.body);

    // Written as an upload writes (8 MiB parts), then abandoned mid-way:
    // two parts' worth sends the first part to S3; no close, no abort.
    let storage = &app.kernel.storage;
    let cut_key = format!("evidence/{id}/{}", uuid::Uuid::now_v7());
    let mut writer = storage
        .operator()
        .writer_with(&cut_key)
        .chunk(8 * 1024 * 1024)
        .await
        .unwrap();
    for part in 0..3 {
        writer.write(bytes(6 * 1024 * 1024, part)).await.unwrap();
    }
    drop(writer);
    let complete_key = format!("evidence/{id}/{}", uuid::Uuid::now_v7());
    storage
        .put(&complete_key, b"complete".to_vec())
        .await
        .unwrap();
    let pending = storage.pending_uploads("evidence/").await.unwrap();
    match stack {
        Stack::Shared => {
            assert_eq!(pending.len(), 1, "{pending:?}");
            assert_eq!(pending[0].key, cut_key);
        }
        Stack::Embedded => assert!(pending.is_empty(), "{pending:?}"),
    }

    let grace = chrono::Duration::minutes(60);
    let sweep = || aegis_mod_test_cases::evidence::sweep_orphans(&app.kernel, grace);
    let early = sweep().await.unwrap();
    assert_eq!((early.objects, early.uploads), (0, 0), "within the grace");
    app.kernel.clock.advance(chrono::Duration::minutes(61));
    let swept = sweep().await.unwrap();
    let expected = match stack {
        // The partial file of the local folder is an object like any other.
        Stack::Embedded => (2, 0),
        Stack::Shared => (1, 1),
    };
    assert_eq!((swept.objects, swept.uploads), expected);
    assert_eq!(
        storage.pending_uploads("evidence/").await.unwrap(),
        Vec::new()
    );
    assert_eq!(
        stored_objects(&app, "evidence/").await,
        vec![format!(
            "evidence/{id}/{}",
            kept.body["id"].as_str().unwrap()
        )]
    );
    assert_eq!(rows(&app).await, 1);
}

/// The upload form and the download answer are as documented: the two
/// parts, the whole of a description up to its 2,000 characters, and a
/// file served under its own media type, which the document allows.
async fn forms_and_files_are_as_documented(stack: Stack) {
    let Some(env) = TestEnv::new(stack).await else {
        return;
    };
    let app = env.spawn().await;
    load_catalog(&app, &shared_data(MINI)).await;
    let admin = app.admin_token().await;
    let test = test_in_state(&app, &admin, "red_executing").await;
    let id = test["id"].as_str().unwrap();
    let with_description = |description: String| {
        let part = Part::bytes(b"pcap".to_vec())
            .file_name("capture.pcap")
            .mime_str("application/vnd.tcpdump.pcap")
            .unwrap();
        let form = Form::new()
            .text("description", description)
            .part("file", part);
        app.request("POST", &format!("/api/v1/tests/{id}/evidence"), &admin)
            .multipart(form)
    };
    // 2,000 characters of four bytes each: all of it is kept.
    let longest = "𝄞".repeat(2000);
    let kept = app.send(with_description(longest.clone())).await;
    assert_eq!(kept.status, 201, "{:?}", kept.body);
    assert_eq!(kept.body["description"], longest.as_str());
    let over = app.send(with_description("x".repeat(2001))).await;
    assert_eq!(over.status, 422, "{:?}", over.body);
    // Parts come in any order: generated clients send the required `file`
    // first.
    let file = || Part::bytes(b"pcap".to_vec()).file_name("capture.pcap");
    let after = app
        .send(
            app.request("POST", &format!("/api/v1/tests/{id}/evidence"), &admin)
                .multipart(
                    Form::new()
                        .part("file", file())
                        .text("description", " after "),
                ),
        )
        .await;
    assert_eq!(after.status, 201, "{:?}", after.body);
    assert_eq!(after.body["description"], "after");
    // Parts the form does not declare are refused, before the file or
    // after it; a refused upload leaves neither row nor object behind.
    let (rows_before, objects_before) = (rows(&app).await, stored_objects(&app, "evidence/").await);
    for form in [
        Form::new().text("note", "x").part("file", file()),
        Form::new().part("file", file()).text("note", "late"),
        Form::new().part("file", file()).part("file", file()),
        Form::new()
            .part("file", file())
            .text("description", "x".repeat(2001)),
    ] {
        let refused = app
            .send(
                app.request("POST", &format!("/api/v1/tests/{id}/evidence"), &admin)
                    .multipart(form),
            )
            .await;
        assert_eq!(refused.status, 422, "{:?}", refused.body);
    }
    assert_eq!(rows(&app).await, rows_before);
    assert_eq!(stored_objects(&app, "evidence/").await, objects_before);

    let download = app
        .client
        .get(app.url(kept.body["download_url"].as_str().unwrap()))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(
        download.headers()["content-type"],
        "application/vnd.tcpdump.pcap"
    );

    let doc = openapi(&app).await;
    let form = &doc["paths"]["/api/v1/tests/{id}/evidence"]["post"]["requestBody"]["content"]["multipart/form-data"]
        ["schema"];
    let parts: Vec<&String> = form["properties"].as_object().unwrap().keys().collect();
    assert_eq!(parts, ["description", "file"]);
    assert_eq!(form["required"], json!(["file"]));
    assert_eq!(form["properties"]["file"]["format"], "binary");
    assert_eq!(form["properties"]["description"]["maxLength"], 2000);
    let answer = &doc["paths"]["/api/v1/tests/{id}/evidence/{evidence_id}/download"]["get"]["responses"]
        ["200"];
    let types: Vec<&String> = answer["content"].as_object().unwrap().keys().collect();
    assert!(
        types.contains(&&"*/*".to_owned())
            && types.contains(&&"application/octet-stream".to_owned()),
        "{types:?}"
    );
    assert_eq!(answer["content"]["*/*"]["schema"], json!({}));
    assert_eq!(answer["headers"]["X-Checksum-SHA256"]["required"], true);
}

stack_tests!(
    forms_and_files_are_as_documented,
    the_sweep_clears_what_interrupted_uploads_leave,
    files_round_trip_with_their_sha256,
    hostile_and_oversized_uploads_are_refused,
    deletion_follows_uploader_and_lead_and_stops_at_completion,
    failures_leave_neither_rows_nor_objects,
    the_sweep_removes_only_old_objects_without_rows,
);
