//! Templates: CRUD, tests made from them, and the Atomic Red Team import of
//! one file through the API, a folder through the CLI, and the full corpus.

use reqwest::multipart::{Form, Part};
use serde_json::json;

use crate::cli::aegis;
use crate::helpers::{Reply, Stack, TestApp, TestEnv, shared_data};
use crate::stack_tests;
use crate::test_cases::{MINI, Team, assert_no_all_of, load_catalog, openapi};

async fn import(app: &TestApp, token: &str, name: &str, yaml: Vec<u8>) -> Reply {
    let part = Part::bytes(yaml)
        .file_name(name.to_owned())
        .mime_str("application/yaml")
        .unwrap();
    app.send(
        app.request("POST", "/api/v1/templates/import/atomic", token)
            .multipart(Form::new().part("file", part)),
    )
    .await
}

fn atomic_tests_in(yaml: &str) -> u64 {
    yaml.lines()
        .filter(|l| l.trim_start().starts_with("auto_generated_guid:"))
        .count() as u64
}

async fn templates_are_written_edited_and_instantiated(stack: Stack) {
    let Some(env) = TestEnv::new(stack).await else {
        return;
    };
    let app = env.spawn().await;
    load_catalog(&app, &shared_data(MINI)).await;
    let team = Team::new(&app).await;
    let red = team.token("red_tech");
    let body = json!({
        "name": "Read /etc/shadow",
        "technique_id": "T1003.008",
        "platforms": ["Linux"],
        "executor": "sh",
        "command": "cat #{file} > #{out}",
        "input_arguments": {
            "file": {"description": "what to read", "type": "path", "default": "/etc/shadow"},
            "out": {"default": "/tmp/loot"}
        }
    });
    assert_eq!(
        app.post("/api/v1/templates", team.token("blue_tech"), body.clone())
            .await
            .status,
        403
    );
    let created = app.post("/api/v1/templates", red, body).await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    let id = created.body["id"].as_str().unwrap().to_owned();
    assert_eq!(created.body["source"], "manual");
    assert_eq!(created.body["platforms"], json!(["linux"]));
    assert_eq!(created.body["input_arguments"]["out"]["type"], "string");

    let edited = app
        .send(
            app.request("PATCH", &format!("/api/v1/templates/{id}"), red)
                .header("If-Match", "\"1\"")
                .json(&json!({"description": "credential access on Linux"})),
        )
        .await;
    assert_eq!(edited.status, 200, "{:?}", edited.body);
    assert_eq!(edited.headers["etag"], "\"2\"");
    let stale = app
        .send(
            app.request("PATCH", &format!("/api/v1/templates/{id}"), red)
                .header("If-Match", "\"1\"")
                .json(&json!({"name": "stale"})),
        )
        .await;
    assert_eq!(stale.status, 412);
    let bad = app
        .post(
            "/api/v1/templates",
            red,
            json!({"name": "x", "technique_id": "T1066"}),
        )
        .await;
    assert_eq!(
        bad.status, 422,
        "revoked techniques are refused: {:?}",
        bad.body
    );

    let test = app
        .post(
            &format!("/api/v1/templates/{id}/tests"),
            red,
            json!({
                "arguments": {"out": "/dev/shm/x"}, "target_host": "db-01", "tags": ["linux-creds"]
            }),
        )
        .await;
    assert_eq!(test.status, 201, "{:?}", test.body);
    assert_eq!(test.body["procedure"], "cat /etc/shadow > /dev/shm/x");
    assert_eq!(test.body["technique"]["attack_id"], "T1003.008");
    assert_eq!(test.body["template_id"], id.as_str());
    assert_eq!(test.body["platform"], "linux");
    assert_eq!(test.body["state"], "draft");
    assert_eq!(test.body["name"], "Read /etc/shadow");
    let unknown = app
        .post(
            &format!("/api/v1/templates/{id}/tests"),
            red,
            json!({"arguments": {"nope": "1"}}),
        )
        .await;
    assert_eq!(unknown.status, 422);

    let listed = app
        .get(
            "/api/v1/templates?technique=T1003&platform=linux&q=shadow",
            team.token("viewer"),
        )
        .await;
    assert_eq!(listed.body["total"], 1, "{:?}", listed.body);
    assert_eq!(
        app.call(
            "DELETE",
            &format!("/api/v1/templates/{id}"),
            Some(red),
            None
        )
        .await
        .status,
        403
    );
    assert_eq!(
        app.call(
            "DELETE",
            &format!("/api/v1/templates/{id}"),
            Some(team.token("lead")),
            None
        )
        .await
        .status,
        204
    );
    assert_eq!(
        app.get(&format!("/api/v1/templates/{id}"), red)
            .await
            .status,
        404
    );
    let kept = app
        .get(
            &format!("/api/v1/tests/{}", test.body["id"].as_str().unwrap()),
            red,
        )
        .await;
    assert_eq!(kept.status, 200, "tests made from a deleted template stay");
}

async fn one_atomic_file_imports_through_the_api(stack: Stack) {
    let Some(env) = TestEnv::new(stack).await else {
        return;
    };
    let app = env.spawn().await;
    load_catalog(&app, &shared_data(MINI)).await;
    let team = Team::new(&app).await;
    let lead = team.token("lead");
    let yaml = std::fs::read(shared_data("atomic-red-team/T1003/T1003.yaml")).unwrap();
    let expected = atomic_tests_in(std::str::from_utf8(&yaml).unwrap());
    assert!(expected > 5);
    assert_eq!(
        import(&app, team.token("red_tech"), "T1003.yaml", yaml.clone())
            .await
            .status,
        403
    );
    let first = import(&app, lead, "T1003.yaml", yaml.clone()).await;
    assert_eq!(first.status, 200, "{:?}", first.body);
    assert_eq!(first.body["created"], expected);
    assert_eq!(first.body["unknown_techniques"], json!([]));
    let again = import(&app, lead, "T1003.yaml", yaml.clone()).await;
    assert_eq!(again.body["created"], 0);
    assert_eq!(again.body["unchanged"], expected);
    let listed = app
        .get("/api/v1/templates?source=atomic-red-team&limit=500", lead)
        .await;
    assert_eq!(listed.body["total"], expected);
    let gsecdump = listed.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["external_id"] == "96345bfc-8ae7-4b6a-80b7-223200f24ef9")
        .unwrap();
    assert_eq!(gsecdump["name"], "Gsecdump");
    assert_eq!(gsecdump["executor"], "command_prompt");
    assert_eq!(gsecdump["elevation_required"], true);
    assert!(
        gsecdump["command"]
            .as_str()
            .unwrap()
            .contains("#{gsecdump_exe}")
    );

    // An edited atomic updates its template; a technique the catalog lacks is reported.
    let edited = String::from_utf8(yaml).unwrap().replacen(
        "Dump credentials from memory using Gsecdump.",
        "Dump credentials with Gsecdump (edited).",
        1,
    );
    let update = import(&app, lead, "T1003.yaml", edited.into_bytes()).await;
    assert_eq!(update.body["updated"], 1, "{:?}", update.body);
    assert_eq!(update.body["unchanged"], expected - 1);
    let foreign = "attack_technique: T1999\natomic_tests:\n- name: Unknown\n  auto_generated_guid: 0b7a4c3e-1111-4d2b-9c35-2f3d2e1a9b10\n  supported_platforms: [linux]\n  executor: {name: sh, command: id}\n";
    let unknown = import(&app, lead, "T1999.yaml", foreign.as_bytes().to_vec()).await;
    assert_eq!(unknown.status, 200);
    assert_eq!(unknown.body["created"], 1);
    assert_eq!(unknown.body["unknown_techniques"], json!(["T1999"]));
    for junk in [
        "not: [an atomic",
        "plain text",
        "attack_technique: T1003\natomic_tests: 5",
    ] {
        let reply = import(&app, lead, "junk.yaml", junk.as_bytes().to_vec()).await;
        assert_eq!(reply.status, 422, "{junk}: {:?}", reply.body);
    }
}

async fn the_whole_atomic_red_team_corpus_imports_once(stack: Stack) {
    let Some(env) = TestEnv::new(stack).await else {
        return;
    };
    let app = env.spawn().await;
    load_catalog(&app, &shared_data("attack/enterprise-attack.json.gz")).await;
    let identity = aegis_mod_users::UsersModule::new(&app.kernel).identity_resolver();
    let campaigns = aegis_mod_campaigns::campaign_directory(&app.kernel);
    let module = aegis_mod_test_cases::TestCasesModule::new(
        &app.kernel,
        identity,
        campaigns,
        aegis_mod_techniques::CatalogService::new(&app.kernel),
    );
    let actor = aegis_core::concurrency::Actor {
        user_id: "test".into(),
        username: "corpus-test".into(),
        at: aegis_core::time::now(),
    };
    let dir = std::path::PathBuf::from(shared_data("atomic-red-team"));
    let calls = std::sync::atomic::AtomicUsize::new(0);
    let progress = |done: usize, total: usize, _: &str| {
        assert!(done <= total);
        calls.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    };
    let first =
        aegis_mod_test_cases::import_atomic_dir(module.templates(), &actor, &dir, &progress)
            .await
            .unwrap();
    assert_eq!(first.files, 333);
    assert_eq!(calls.load(std::sync::atomic::Ordering::Relaxed), 333);
    assert_eq!(first.created, 1790, "{:?}", first.problems);
    assert!(first.problems.is_empty(), "{:?}", first.problems);
    assert!(
        first.unknown_techniques.is_empty(),
        "{:?}",
        first.unknown_techniques
    );
    let stamp = |app: &TestApp| {
        let pool = app.kernel.db.pool().clone();
        async move {
            sqlx::query_as::<_, (i64, String, i64)>(
                "SELECT COUNT(*), MAX(updated_at), CAST(SUM(version) AS BIGINT) FROM test_cases_template",
            )
            .fetch_one(&pool)
            .await
            .unwrap()
        }
    };
    let before = stamp(&app).await;
    assert_eq!(before.0, 1790);
    let again =
        aegis_mod_test_cases::import_atomic_dir(module.templates(), &actor, &dir, &|_, _, _| {})
            .await
            .unwrap();
    assert_eq!(
        (again.created, again.updated, again.unchanged),
        (0, 0, 1790)
    );
    assert_eq!(stamp(&app).await, before, "a re-import writes nothing");
    // Platforms as the atomics name them, searchable.
    let admin = app.admin_token().await;
    let windows = app
        .get("/api/v1/templates?platform=windows&limit=1", &admin)
        .await;
    assert!(
        windows.body["total"].as_i64().unwrap() > 1000,
        "{:?}",
        windows.body["total"]
    );
}

async fn the_cli_imports_a_folder_with_progress(stack: Stack) {
    let Some(env) = TestEnv::new(stack).await else {
        return;
    };
    let dir = env.settings.data_dir.join("atomics");
    for technique in ["T1003", "T1059.001"] {
        std::fs::create_dir_all(dir.join(technique)).unwrap();
        std::fs::copy(
            shared_data(&format!("atomic-red-team/{technique}/{technique}.yaml")),
            dir.join(technique).join(format!("{technique}.yaml")),
        )
        .unwrap();
    }
    let expected: u64 = ["T1003", "T1059.001"]
        .iter()
        .map(|t| {
            atomic_tests_in(
                &std::fs::read_to_string(dir.join(t).join(format!("{t}.yaml"))).unwrap(),
            )
        })
        .sum();
    let vars = [
        ("AEGIS_DATABASE__URL", env.settings.database_url()),
        (
            "AEGIS_DATA_DIR",
            env.settings.data_dir.display().to_string(),
        ),
    ];
    let out = aegis(&["import", "atomics", dir.to_str().unwrap()], &vars, None);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains(&format!(
            "2 files: {expected} templates created, 0 updated, 0 unchanged"
        )),
        "{stdout}"
    );
    // With an empty catalog the techniques are reported, not fatal.
    assert!(
        stdout.contains(
            "not in the ATT&CK catalog (imported anyway; run `aegis sync-mitre`): T1003, T1059.001"
        ),
        "{stdout}"
    );
    let out = aegis(&["import", "atomics", dir.to_str().unwrap()], &vars, None);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(&format!(
            "0 templates created, 0 updated, {expected} unchanged"
        )),
        "{stdout}"
    );
    let missing = aegis(&["import", "atomics", "/nonexistent/atomics"], &vars, None);
    assert!(!missing.status.success());
}

/// Templates take what the document declares: its example, platform names
/// counted in characters, `null` clearing a field, arguments holding only
/// their three fields, and a well-formed version; answers leave out what a
/// template lacks.
async fn templates_take_what_the_document_declares(stack: Stack) {
    let Some(env) = TestEnv::new(stack).await else {
        return;
    };
    let app = env.spawn().await;
    load_catalog(&app, &shared_data(MINI)).await;
    let admin = app.admin_token().await;
    let doc = openapi(&app).await;
    let example = doc["components"]["schemas"]["NewTemplateInput"]["example"].clone();
    let created = app.post("/api/v1/templates", &admin, example).await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    let id = created.body["id"].as_str().unwrap().to_owned();
    assert!(
        created.body.get("external_id").is_none(),
        "{}",
        created.body
    );

    // 64 characters, each of two bytes: within the documented maxLength.
    let wide = "İ".repeat(64);
    let edit = |version: i64, body| {
        app.request("PATCH", &format!("/api/v1/templates/{id}"), &admin)
            .header("If-Match", format!("\"{version}\""))
            .json(&body)
    };
    let platforms = app.send(edit(1, json!({"platforms": [wide]}))).await;
    assert_eq!(platforms.status, 200, "{:?}", platforms.body);
    let cleared = app
        .send(edit(2, json!({"cleanup_command": null, "executor": null})))
        .await;
    assert_eq!(cleared.status, 200, "{:?}", cleared.body);
    for field in ["cleanup_command", "executor"] {
        assert!(
            cleared.body.get(field).is_none(),
            "{field}: {}",
            cleared.body
        );
    }
    let listed = app.get("/api/v1/templates", &admin).await;
    assert!(listed.body["items"][0].get("cleanup_command").is_none());

    let misspelt = app
        .send(edit(
            3,
            json!({"input_arguments": {"out": {"defualt": "/tmp/x"}}}),
        ))
        .await;
    assert_eq!(misspelt.status, 422, "{:?}", misspelt.body);
    let malformed = app
        .send(
            app.request("PATCH", &format!("/api/v1/templates/{id}"), &admin)
                .header("If-Match", "three")
                .json(&json!({"name": "x"})),
        )
        .await;
    assert_eq!(malformed.status, 422);
    let unversioned = app
        .send(
            app.request("PATCH", &format!("/api/v1/templates/{id}"), &admin)
                .json(&json!({"name": "x"})),
        )
        .await;
    assert_eq!(unversioned.status, 428);
    assert_eq!(unversioned.body["code"], "version_required");
    for bad in ["limit=0", "limit=501", "offset=-1"] {
        let reply = app.get(&format!("/api/v1/templates?{bad}"), &admin).await;
        assert_eq!(reply.status, 422, "{bad}");
    }

    let patch_params = &doc["paths"]["/api/v1/templates/{id}"]["patch"]["parameters"];
    let if_match = patch_params
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "If-Match")
        .expect("If-Match is declared");
    assert!(if_match["schema"]["pattern"].is_string());
    assert_eq!(
        doc["components"]["schemas"]["NewTemplateInput"]["required"],
        json!(["name", "technique_id"])
    );
    // The import form takes its `file` and nothing else.
    let atomic = std::fs::read(shared_data("atomic-red-team/T1059.001/T1059.001.yaml")).unwrap();
    for form in [
        Form::new().text("source", "x").part(
            "file",
            Part::bytes(atomic.clone()).file_name("T1059.001.yaml"),
        ),
        Form::new()
            .part(
                "file",
                Part::bytes(atomic.clone()).file_name("T1059.001.yaml"),
            )
            .text("source", "x"),
    ] {
        let refused = app
            .send(
                app.request("POST", "/api/v1/templates/import/atomic", &admin)
                    .multipart(form),
            )
            .await;
        assert_eq!(refused.status, 422, "{:?}", refused.body);
    }
    let form = &doc["paths"]["/api/v1/templates/import/atomic"]["post"]["requestBody"]["content"]["multipart/form-data"]
        ["schema"];
    assert_eq!(form["required"], json!(["file"]));
    assert_eq!(form["properties"]["file"]["format"], "binary");
    assert_no_all_of(
        &doc,
        &[
            "TemplateView",
            "NewTemplateInput",
            "TemplatePatchInput",
            "FromTemplateInput",
            "InputArgumentView",
            "InputArgumentInput",
        ],
    );
}

/// Many templates give many tests in one request, sharing the plan fields;
/// each test is audited; what one template cannot give is its own result.
async fn many_templates_make_many_tests_at_once(stack: Stack) {
    let Some(env) = TestEnv::new(stack).await else {
        return;
    };
    let app = env.spawn().await;
    load_catalog(&app, &shared_data(MINI)).await;
    let team = Team::new(&app).await;
    let lead = team.token("lead");
    let yaml = std::fs::read(shared_data("atomic-red-team/T1003.001/T1003.001.yaml")).unwrap();
    assert_eq!(import(&app, lead, "T1003.001.yaml", yaml).await.status, 200);
    let listed = app
        .get("/api/v1/templates?technique=T1003.001&limit=3", lead)
        .await;
    let templates: Vec<String> = listed.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(templates.len(), 3);
    let campaign = app
        .post(
            "/api/v1/campaigns",
            lead,
            json!({"name": "Q3 credential access"}),
        )
        .await;
    let campaign_id = campaign.body["id"].as_str().unwrap();
    let missing = uuid::Uuid::new_v4().to_string();
    let body = json!({
        "template_ids": [templates[0], missing, templates[1], templates[2]],
        "campaign_id": campaign_id,
        "target_host": "ws-042",
        "blue_assignee_id": team.id("blue_tech"),
        "tags": ["Quarterly"],
    });
    for role in ["blue_tech", "viewer"] {
        let refused = app
            .post("/api/v1/templates/tests", team.token(role), body.clone())
            .await;
        assert_eq!(refused.status, 403, "{role}");
    }
    let red = team.token("red_tech");
    let made = app.post("/api/v1/templates/tests", red, body).await;
    assert_eq!(made.status, 200, "{:?}", made.body);
    assert_eq!(
        (made.body["created"].as_i64(), made.body["failed"].as_i64()),
        (Some(3), Some(1))
    );
    let results = made.body["results"].as_array().unwrap();
    assert_eq!(results[1]["template_id"], missing.as_str());
    assert_eq!(results[1]["problem"]["status"], 404);
    assert!(results[1].get("test").is_none());
    for (result, template) in [
        (&results[0], &templates[0]),
        (&results[2], &templates[1]),
        (&results[3], &templates[2]),
    ] {
        let test = &result["test"];
        assert_eq!(test["template_id"], template.as_str());
        assert_eq!(test["campaign_id"], campaign_id);
        assert_eq!(test["target_host"], "ws-042");
        assert_eq!(test["tags"], json!(["quarterly"]));
        assert_eq!(test["blue_assignee_id"], team.id("blue_tech"));
        // A red tech's test is theirs, as one made alone.
        assert_eq!(test["red_assignee_id"], team.id("red_tech"));
        assert_eq!(test["state"], "draft");
        assert_eq!(test["technique"]["attack_id"], "T1003.001");
        assert!(result.get("problem").is_none());
    }
    let in_campaign = app
        .get(&format!("/api/v1/tests?campaign_id={campaign_id}"), lead)
        .await;
    assert_eq!(in_campaign.body["total"], 3);
    let audited = app
        .get("/api/v1/audit?action=test.create", team.token("admin"))
        .await;
    assert_eq!(audited.body["total"], 3, "{:?}", audited.body);

    // Shared fields refused for the first template refuse the request whole.
    let unknown_campaign = app
        .post(
            "/api/v1/templates/tests",
            red,
            json!({"template_ids": [templates[0], templates[1]], "campaign_id": uuid::Uuid::new_v4().to_string()}),
        )
        .await;
    assert_eq!(unknown_campaign.status, 422, "{:?}", unknown_campaign.body);
    assert_eq!(unknown_campaign.body["errors"][0]["field"], "campaign_id");
    // Bounds the document declares: 1 to 200 ids, each once, well formed.
    let too_many: Vec<String> = (0..201).map(|_| uuid::Uuid::new_v4().to_string()).collect();
    for bad in [
        json!({"template_ids": []}),
        json!({"template_ids": too_many}),
        json!({"template_ids": [templates[0], templates[0]]}),
        json!({"template_ids": ["not-an-id"]}),
        json!({"template_ids": [templates[0]], "name": "x"}),
    ] {
        let reply = app.post("/api/v1/templates/tests", red, bad.clone()).await;
        assert_eq!(reply.status, 422, "{bad}: {:?}", reply.body);
    }
    let total = app.get("/api/v1/tests", lead).await;
    assert_eq!(total.body["total"], 3, "refused requests made nothing");
    let doc = openapi(&app).await;
    let ids = &doc["components"]["schemas"]["FromTemplatesInput"]["properties"]["template_ids"];
    assert_eq!(
        (ids["minItems"].as_i64(), ids["maxItems"].as_i64()),
        (Some(1), Some(200))
    );
}

fn zip_of(entries: &[(&str, Vec<u8>)]) -> Vec<u8> {
    use std::io::Write;
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, bytes) in entries {
        zip.start_file(*name, options).unwrap();
        zip.write_all(bytes).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

fn tar_gz_of(entries: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let mut tar = tar::Builder::new(gz);
    for (name, bytes) in entries {
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        // Written raw, so a hostile name reaches the archive as given.
        header.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
        header.set_cksum();
        tar.append(&header, bytes.as_slice()).unwrap();
    }
    tar.into_inner().unwrap().finish().unwrap()
}

async fn import_archive(app: &TestApp, token: &str, name: &str, bytes: Vec<u8>) -> Reply {
    let part = Part::bytes(bytes).file_name(name.to_owned());
    app.send(
        app.request("POST", "/api/v1/templates/import/atomic-archive", token)
            .multipart(Form::new().part("file", part)),
    )
    .await
}

/// Real atomics in a zip and a tarball import as the files would, counted;
/// hostile archives (paths climbing out, links, bombs) are refused whole.
async fn atomic_archives_import_within_bounds(stack: Stack) {
    let Some(env) = TestEnv::new(stack).await else {
        return;
    };
    let app = env.spawn().await;
    load_catalog(&app, &shared_data(MINI)).await;
    let team = Team::new(&app).await;
    let lead = team.token("lead");
    let atomic = |t: &str| {
        let path = format!("atomic-red-team/{t}/{t}.yaml");
        (
            format!("atomics/{t}/{t}.yaml"),
            std::fs::read(shared_data(&path)).unwrap(),
        )
    };
    let (t1003, t1003_yaml) = atomic("T1003");
    let (t1059, t1059_yaml) = atomic("T1059.001");
    let (t1078, t1078_yaml) = atomic("T1078.001");
    let expected: u64 = [&t1003_yaml, &t1059_yaml]
        .iter()
        .map(|y| atomic_tests_in(std::str::from_utf8(y).unwrap()))
        .sum();
    let licence = std::fs::read(shared_data("atomic-red-team/LICENSE.txt")).unwrap();
    let zip = zip_of(&[
        (&t1003, t1003_yaml.clone()),
        (&t1059, t1059_yaml.clone()),
        ("atomics/LICENSE.txt", licence),
        (
            "atomics/T1003/broken/T1003.002.yaml",
            b"\xff\xfe not text".to_vec(),
        ),
    ]);
    assert_eq!(
        import_archive(&app, team.token("red_tech"), "atomics.zip", zip.clone())
            .await
            .status,
        403
    );
    let first = import_archive(&app, lead, "atomics.zip", zip).await;
    assert_eq!(first.status, 200, "{:?}", first.body);
    assert_eq!(first.body["files"], 3, "{:?}", first.body);
    assert_eq!(first.body["created"], expected);
    assert_eq!(
        first.body["problems"][0]["file"],
        "atomics/T1003/broken/T1003.002.yaml"
    );
    let audited = app
        .get("/api/v1/audit?action=template.import", team.token("admin"))
        .await;
    assert_eq!(audited.body["total"], 2, "one event per imported file");

    // The same atomics in a tarball change nothing; a new one is created.
    let tarball = tar_gz_of(&[
        (&t1003, t1003_yaml),
        (&t1059, t1059_yaml),
        (&t1078, t1078_yaml.clone()),
    ]);
    let again = import_archive(&app, lead, "atomics.tar.gz", tarball).await;
    assert_eq!(again.status, 200, "{:?}", again.body);
    assert_eq!(again.body["files"], 3);
    assert_eq!(again.body["unchanged"], expected);
    assert_eq!(
        again.body["created"],
        atomic_tests_in(std::str::from_utf8(&t1078_yaml).unwrap())
    );

    // Hostile archives are refused whole, and import nothing.
    let before = app.get("/api/v1/templates?limit=1", lead).await.body["total"].clone();
    let climbing = tar_gz_of(&[(&t1003, b"x".to_vec()), ("../../T1003.yaml", b"x".to_vec())]);
    let bomb = zip_of(&[("atomics/T1003/T1003.yaml", vec![b'#'; 3 * 1024 * 1024])]);
    // 300 MiB of zeros beside an atomic: never imported, but a tarball must
    // be unpacked to reach what follows.
    let mut gz_bomb = tar::Builder::new(flate2::write::GzEncoder::new(
        Vec::new(),
        flate2::Compression::fast(),
    ));
    let mut header = tar::Header::new_gnu();
    header.set_size(300 << 20);
    header.set_mode(0o644);
    gz_bomb
        .append_data(
            &mut header,
            "atomics/T1003/src/zeros.bin",
            std::io::Read::take(std::io::repeat(0), 300 << 20),
        )
        .unwrap();
    let gz_bomb = gz_bomb.into_inner().unwrap().finish().unwrap();
    // Both well within the upload bound: what they unpack to is the trouble.
    assert!(
        bomb.len() < 64 * 1024 && gz_bomb.len() < 4 << 20,
        "{}",
        gz_bomb.len()
    );
    let mut link = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(tar::EntryType::Symlink);
    header.set_size(0);
    link.append_link(&mut header, "atomics/T1003/T1003.yaml", "/etc/passwd")
        .unwrap();
    let link = link.into_inner().unwrap();
    for (name, archive, status) in [
        ("climbing.tar.gz", climbing, 422),
        ("link.tar", link, 422),
        ("bomb.zip", bomb, 413),
        ("gz-bomb.tar.gz", gz_bomb, 413),
        ("plain.yaml", b"attack_technique: T1003".to_vec(), 422),
        (
            "empty.zip",
            zip_of(&[("README.md", b"no atomics".to_vec())]),
            422,
        ),
    ] {
        let reply = import_archive(&app, lead, name, archive).await;
        assert_eq!(reply.status, status, "{name}: {:?}", reply.body);
        let detail = reply.body["detail"].as_str().unwrap_or_default().to_owned()
            + reply.body["errors"][0]["message"]
                .as_str()
                .unwrap_or_default();
        assert!(!detail.is_empty(), "{name} says why: {:?}", reply.body);
    }
    assert_eq!(
        app.get("/api/v1/templates?limit=1", lead).await.body["total"],
        before
    );
}

stack_tests!(
    many_templates_make_many_tests_at_once,
    atomic_archives_import_within_bounds,
    templates_take_what_the_document_declares,
    templates_are_written_edited_and_instantiated,
    one_atomic_file_imports_through_the_api,
    the_whole_atomic_red_team_corpus_imports_once,
    the_cli_imports_a_folder_with_progress,
);
