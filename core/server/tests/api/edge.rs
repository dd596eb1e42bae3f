//! What the HTTP edge refuses or adds for every route: text with NUL
//! (PostgreSQL cannot store it) in requests and in what is uploaded or
//! imported (file names, atomics, layers, STIX bundles), and the caching
//! and transport headers.

use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};

use crate::cli::aegis;
use crate::helpers::{Reply, Stack, TestApp, TestEnv, shared_data, stored_objects};
use crate::stack_tests;
use crate::test_cases::{MINI, create_test, load_catalog};

fn refused_as_invalid_text(what: &str, reply: &Reply) {
    assert_eq!(
        (reply.status, reply.body["code"].as_str()),
        (422, Some("invalid_text")),
        "{what}: {:?}",
        reply.body
    );
}

async fn text_with_nul_is_refused_everywhere(stack: Stack) {
    let Some(env) = TestEnv::new(stack).await else {
        return;
    };
    let app = env.spawn().await;
    load_catalog(&app, &shared_data(MINI)).await;
    let admin = app.admin_token().await;

    // Without signing in: the login username and password.
    let reply = app.login("ad\u{0}min", "whatever-password").await;
    refused_as_invalid_text("login username", &reply);
    let reply = app.login("admin", "pass\u{0}word").await;
    refused_as_invalid_text("login password", &reply);

    // JSON bodies, in values and in keys, at any depth.
    let bodies = [
        (
            "/api/v1/tests",
            json!({"name": "dump\u{0}lsass", "technique_id": "T1003"}),
        ),
        (
            "/api/v1/tests",
            json!({"name": "tagged", "technique_id": "T1003", "tags": ["ok", "b\u{0}d"]}),
        ),
        ("/api/v1/campaigns", json!({"name": "Q4\u{0}"})),
        (
            "/api/v1/templates",
            json!({
                "name": "\u{0}",
                "technique_id": "T1003.008",
                "platforms": ["Linux"],
                "executor": "sh",
                "command": "true",
            }),
        ),
        (
            "/api/v1/templates",
            json!({
                "name": "keys",
                "technique_id": "T1003.008",
                "platforms": ["Linux"],
                "executor": "sh",
                "command": "cat #{f}",
                "input_arguments": {"f\u{0}": {"default": "x"}},
            }),
        ),
    ];
    for (path, body) in bodies {
        let reply = app.post(path, &admin, body.clone()).await;
        refused_as_invalid_text(&format!("POST {path} {body}"), &reply);
    }

    // Query strings and path parameters, percent-encoded.
    for path in [
        "/api/v1/tests?q=%00",
        "/api/v1/tests?q=a%00b&limit=5",
        "/api/v1/templates?q=%00",
        "/api/v1/campaigns?q=x%00",
        "/api/v1/tests/%00",
        "/api/v1/campaigns/a%00b",
    ] {
        refused_as_invalid_text(&format!("GET {path}"), &app.get(path, &admin).await);
    }
    // Nothing was written, and the same requests without NUL still work.
    let list = app.get("/api/v1/tests?q=dump", &admin).await;
    assert_eq!((list.status, &list.body["total"]), (200, &json!(0)));
    let test = create_test(
        &app,
        &admin,
        json!({"name": "fine", "technique_id": "T1003"}),
    )
    .await;
    let id = test["id"].as_str().unwrap();

    // Multipart text fields.
    let form = Form::new().text("description", "seen\u{0}here").part(
        "file",
        Part::bytes(b"log".to_vec())
            .file_name("run.log")
            .mime_str("text/plain")
            .unwrap(),
    );
    let reply = app
        .send(
            app.request("POST", &format!("/api/v1/tests/{id}/evidence"), &admin)
                .multipart(form),
        )
        .await;
    refused_as_invalid_text("evidence description", &reply);
    let evidence = app
        .get(&format!("/api/v1/tests/{id}/evidence"), &admin)
        .await;
    assert_eq!(evidence.status, 200, "{:?}", evidence.body);
    assert_eq!(
        evidence.body.as_array().map(Vec::len),
        Some(0),
        "{:?}",
        evidence.body
    );
}

/// A multipart form with one `file` part named `file_name`, after the
/// text `field` if any.
fn form_with_file(field: Option<(&str, &str)>, file_name: &str, bytes: Vec<u8>) -> Form {
    let mut form = Form::new();
    if let Some((name, value)) = field {
        form = form.text(name.to_owned(), value.to_owned());
    }
    form.part("file", Part::bytes(bytes).file_name(file_name.to_owned()))
}

async fn total(app: &TestApp, token: &str, path: &str) -> i64 {
    let reply = app.get(path, token).await;
    assert_eq!(reply.status, 200, "{path}: {:?}", reply.body);
    reply.body["total"].as_i64().unwrap()
}

/// Every multipart upload refuses NUL in a part's file name with 422
/// `invalid_text`, before reading the part: evidence, atomics, Navigator
/// layers and plugin components.
async fn nul_in_multipart_file_names_is_refused(stack: Stack) {
    let Some(env) = TestEnv::new(stack).await else {
        return;
    };
    let app = env.spawn().await;
    load_catalog(&app, &shared_data(MINI)).await;
    let admin = app.admin_token().await;
    let test = create_test(
        &app,
        &admin,
        json!({"name": "fine", "technique_id": "T1003"}),
    )
    .await;
    let evidence = format!("/api/v1/tests/{}/evidence", test["id"].as_str().unwrap());
    // The part is refused before its bytes are read: the same bytes do for all.
    let uploads = [
        (evidence.as_str(), Some(("description", "seen"))),
        ("/api/v1/templates/import/atomic", None),
        ("/api/v1/campaigns/import/navigator", None),
        ("/api/v1/plugins", Some(("kind", "alert_rule"))),
    ];
    for (path, field) in uploads {
        let reply = app
            .send(app.request("POST", path, &admin).multipart(form_with_file(
                field,
                "run\u{0}.log",
                b"{}".to_vec(),
            )))
            .await;
        refused_as_invalid_text(&format!("file name in POST {path}"), &reply);
    }
    assert_eq!(total(&app, &admin, "/api/v1/templates").await, 0);
    assert_eq!(total(&app, &admin, "/api/v1/campaigns").await, 0);
    assert_eq!(total(&app, &admin, "/api/v1/plugins").await, 0);
    let listed = app.get(&evidence, &admin).await;
    assert_eq!(
        listed.body.as_array().map(Vec::len),
        Some(0),
        "{:?}",
        listed.body
    );
    assert!(stored_objects(&app, "evidence/").await.is_empty());
    assert!(stored_objects(&app, "plugins/").await.is_empty());
}

/// An Atomic Red Team file with NUL in any text, spelt as a YAML escape or
/// written raw, is refused whole: 422 `invalid_text` through the API, a
/// reported problem (and the other files imported) through `aegis import
/// atomics`. No test of the file is imported without the others.
async fn nul_in_an_atomic_file_refuses_it_whole(stack: Stack) {
    let Some(env) = TestEnv::new(stack).await else {
        return;
    };
    let app = env.spawn().await;
    let admin = app.admin_token().await;
    let atomic = |command: &str| {
        format!(
            "attack_technique: T1003\natomic_tests:\n\
             - name: first\n  auto_generated_guid: 0b7a4c3e-1111-4d2b-9c35-2f3d2e1a9b10\n  \
             supported_platforms: [linux]\n  executor: {{name: sh, command: id}}\n\
             - name: second\n  auto_generated_guid: 0b7a4c3e-2222-4d2b-9c35-2f3d2e1a9b10\n  \
             supported_platforms: [linux]\n  executor: {{name: sh, command: {command}}}\n"
        )
    };
    for (what, yaml) in [
        ("escaped", atomic(r#""cat /etc/shadow\0""#)),
        ("raw", atomic("\"cat /etc/shadow\u{0}\"")),
    ] {
        let reply = app
            .send(
                app.request("POST", "/api/v1/templates/import/atomic", &admin)
                    .multipart(form_with_file(None, "T1003.yaml", yaml.into_bytes())),
            )
            .await;
        refused_as_invalid_text(&format!("{what} NUL in an atomic"), &reply);
    }
    assert_eq!(total(&app, &admin, "/api/v1/templates").await, 0);

    // The command line reports the file and imports the others.
    let dir = env.settings.data_dir.join("atomics");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("bad.yaml"), atomic(r#""id\0""#)).unwrap();
    std::fs::write(
        dir.join("good.yaml"),
        atomic("id").replace("0b7a4c3e", "1c8b5d4f"),
    )
    .unwrap();
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
    assert!(stdout.contains("2 templates created"), "{stdout}");
    assert!(
        stdout.contains("skipped bad.yaml: the atomic test 0b7a4c3e-2222-4d2b-9c35-2f3d2e1a9b10 of bad.yaml contains a NUL character"),
        "{stdout}"
    );
    assert_eq!(total(&app, &admin, "/api/v1/templates").await, 2);
}

/// A Navigator layer file with NUL in any text is refused whole with 422
/// `invalid_text`: not one campaign of a list of layers is created.
async fn nul_in_a_navigator_layer_refuses_the_file_whole(stack: Stack) {
    let Some(env) = TestEnv::new(stack).await else {
        return;
    };
    let app = env.spawn().await;
    load_catalog(&app, &shared_data(MINI)).await;
    let admin = app.admin_token().await;
    let layer = |name: &str, description: &str| {
        json!({"name": name, "description": description, "domain": "enterprise-attack",
            "versions": {"layer": "4.5"}, "techniques": [{"techniqueID": "T1003"}]})
    };
    for file in [
        json!([layer("fine", ""), layer("APT\u{0}29", "")]),
        json!([layer("fine", ""), layer("APT29", "plan\u{0}")]),
    ] {
        let reply = app
            .send(
                app.request("POST", "/api/v1/campaigns/import/navigator", &admin)
                    .multipart(form_with_file(
                        None,
                        "layer.json",
                        file.to_string().into_bytes(),
                    )),
            )
            .await;
        refused_as_invalid_text(&format!("layer {file}"), &reply);
    }
    assert_eq!(total(&app, &admin, "/api/v1/campaigns").await, 0);
    assert_eq!(total(&app, &admin, "/api/v1/tests").await, 0);
}

/// A STIX bundle naming a technique with NUL fails its sync with a reason
/// that names the object and field, on both backends alike, and writes
/// nothing of the catalog; the failed run is recorded.
async fn nul_in_a_stix_bundle_fails_the_sync_cleanly(stack: Stack) {
    use aegis_mod_techniques::SyncService;
    let Some(env) = TestEnv::new(stack).await else {
        return;
    };
    let app = env.spawn().await;
    let mut bundle: Value =
        serde_json::from_slice(&std::fs::read(shared_data(MINI)).unwrap()).unwrap();
    let objects = bundle["objects"].as_array_mut().unwrap();
    let technique = objects
        .iter_mut()
        .find(|o| {
            o["type"] == "attack-pattern" && o["revoked"] != true && o["x_mitre_deprecated"] != true
        })
        .unwrap();
    technique["name"] = json!("Credential\u{0}Dumping");
    let stix_id = technique["id"].as_str().unwrap().to_owned();
    let path = env.settings.data_dir.join("nul-bundle.json");
    std::fs::write(&path, bundle.to_string()).unwrap();

    let error = SyncService::new(app.kernel.clone())
        .run("test", path.to_str().unwrap(), &|_, _, _| {})
        .await
        .unwrap_err()
        .to_string();
    assert!(
        error.contains(&stix_id) && error.contains("`name` contains a NUL character"),
        "{error}"
    );
    let admin = app.admin_token().await;
    assert_eq!(total(&app, &admin, "/api/v1/techniques").await, 0);
    let runs = app.get("/api/v1/system/mitre-sync-runs", &admin).await.body;
    assert_eq!(runs["items"][0]["status"], "failed", "{runs}");
    assert!(
        runs["items"][0]["error"]
            .as_str()
            .unwrap()
            .contains(&stix_id),
        "{runs}"
    );
}

/// A dashboard at `dist` with one script, for the caching checks.
fn write_dashboard(dist: &std::path::Path) {
    std::fs::create_dir_all(dist.join("assets")).unwrap();
    std::fs::write(
        dist.join("index.html"),
        "<!doctype html><div id=root></div>",
    )
    .unwrap();
    std::fs::write(dist.join("assets/app.js"), "console.log('aegis')").unwrap();
}

fn header<'a>(reply: &'a Reply, name: &str) -> Option<&'a str> {
    reply.headers.get(name).map(|v| v.to_str().unwrap())
}

async fn api_answers_are_not_stored_and_production_demands_https(stack: Stack) {
    let Some(env) = TestEnv::new(stack).await else {
        return;
    };
    let dist = env.settings.data_dir.join("dist");
    write_dashboard(&dist);
    let app = env
        .spawn_with(|s| {
            s.env = aegis_core::config::Environment::Production;
            s.http.frontend_dir = dist.clone();
        })
        .await;
    let login = app.login("admin", crate::helpers::ADMIN_PASSWORD).await;
    assert_eq!(login.status, 200, "{:?}", login.body);
    let token = login.body["access_token"].as_str().unwrap().to_owned();
    let me = app.get("/api/v1/auth/me", &token).await;
    let refused = app.call("GET", "/api/v1/auth/me", None, None).await;
    let missing = app.get("/api/v1/nothing-here", &token).await;
    // Tokens, private data and refusals alike: never kept by a cache.
    for (what, reply) in [
        ("login", &login),
        ("me", &me),
        ("401", &refused),
        ("404", &missing),
    ] {
        assert_eq!(header(reply, "cache-control"), Some("no-store"), "{what}");
        let hsts = header(reply, "strict-transport-security").unwrap_or_default();
        assert!(hsts.starts_with("max-age=31536000"), "{what}: {hsts:?}");
    }
    // The dashboard's files stay cacheable, and still demand HTTPS.
    for path in ["/", "/assets/app.js", "/health"] {
        let reply = app.call("GET", path, None, None).await;
        assert_eq!(reply.status, 200, "{path}");
        assert_ne!(header(&reply, "cache-control"), Some("no-store"), "{path}");
        assert!(
            header(&reply, "strict-transport-security").is_some(),
            "{path}"
        );
    }
}

async fn development_sends_no_hsts_but_still_no_store(stack: Stack) {
    let Some(env) = TestEnv::new(stack).await else {
        return;
    };
    let app = env.spawn().await;
    let token = app.admin_token().await;
    let me = app.get("/api/v1/auth/me", &token).await;
    assert_eq!(header(&me, "cache-control"), Some("no-store"));
    // Plain-HTTP development must not pin browsers to HTTPS for localhost.
    assert_eq!(header(&me, "strict-transport-security"), None);
}

async fn time_filters_outside_the_storable_years_are_refused(stack: Stack) {
    let Some(env) = TestEnv::new(stack).await else {
        return;
    };
    let app = env.spawn().await;
    load_catalog(&app, &shared_data(MINI)).await;
    let admin = app.admin_token().await;
    create_test(
        &app,
        &admin,
        json!({"name": "one", "technique_id": "T1003"}),
    )
    .await;
    // Year 10000 (`+10000-...`) would sort before every stored time and match everything;
    // before 1970 is outside the stored form too.
    for query in [
        "/api/v1/tests?created_after=%2B10000-01-01T00:00:00Z",
        "/api/v1/tests?created_before=%2B10000-01-01T00:00:00Z",
        "/api/v1/tests?executed_after=%2B10000-01-01T00:00:00Z",
        "/api/v1/tests?executed_before=1969-12-31T23:59:59Z",
        "/api/v1/audit?since=%2B10000-01-01T00:00:00Z",
        "/api/v1/audit?until=1969-12-31T23:59:59Z",
        "/api/v1/coverage?from=%2B10000-01-01T00:00:00Z",
        "/api/v1/dashboard/kpis?to=1969-12-31T23:59:59Z",
    ] {
        let reply = app.get(query, &admin).await;
        assert_eq!(
            (reply.status, reply.body["code"].as_str()),
            (422, Some("validation_failed")),
            "{query}: {:?}",
            reply.body
        );
    }
    // The edges of the range stay accepted.
    for query in [
        "/api/v1/tests?created_after=1970-01-01T00:00:00Z&created_before=9999-12-31T23:59:59Z",
        "/api/v1/audit?since=1970-01-01T00:00:00Z&until=9999-12-31T23:59:59Z",
    ] {
        let reply = app.get(query, &admin).await;
        assert_eq!(reply.status, 200, "{query}: {:?}", reply.body);
        assert_ne!(reply.body["total"], 0, "{query}");
    }
}

stack_tests!(
    time_filters_outside_the_storable_years_are_refused,
    text_with_nul_is_refused_everywhere,
    nul_in_multipart_file_names_is_refused,
    nul_in_an_atomic_file_refuses_it_whole,
    nul_in_a_navigator_layer_refuses_the_file_whole,
    nul_in_a_stix_bundle_fails_the_sync_cleanly,
    api_answers_are_not_stored_and_production_demands_https,
    development_sends_no_hsts_but_still_no_store,
);
