//! Plugins through the API and the service on both stacks: upload, list,
//! configure against the schema, enable and disable, delete, the audit
//! trail, refusals that leave nothing behind, the role matrix, recorded
//! call failures with automatic disabling, and `aegis plugin validate`.

use std::path::PathBuf;
use std::sync::Arc;

use aegis_core::plugins::{EvaluationInput, PluginFault, PluginSettings};
use aegis_mod_plugins::{PluginService, PluginsError};
use aegis_plugin_host::WasmHost;
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};

use crate::cli::aegis;
use crate::helpers::{Reply, Stack, TestApp, TestEnv, stored_objects};
use crate::stack_tests;
use crate::test_coverage::{assert_page_limits, nulls};

/// A component built by `scripts/build-plugins.sh` (the test command runs it first).
pub fn component(name: &str) -> Vec<u8> {
    let path = component_path(name);
    std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; build the plugins first: bash scripts/build-plugins.sh",
            path.display()
        )
    })
}

fn component_path(name: &str) -> PathBuf {
    let dir = std::env::var("AEGIS_PLUGIN_BUILD_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".cache/aegis/plugins")
        });
    dir.join(format!("{name}.wasm"))
}

pub async fn upload(app: &TestApp, token: &str, kind: &str, file: &str, bytes: Vec<u8>) -> Reply {
    let form = Form::new()
        .text("kind", kind.to_owned())
        .part("file", Part::bytes(bytes).file_name(file.to_owned()));
    app.send(
        app.request("POST", "/api/v1/plugins", token)
            .multipart(form),
    )
    .await
}

async fn audit_actions(app: &TestApp, admin: &str, id: &str) -> Vec<(String, Value)> {
    let page = app
        .get(
            &format!("/api/v1/audit?target_type=plugin&target_id={id}&limit=100"),
            admin,
        )
        .await;
    assert_eq!(page.status, 200, "{:?}", page.body);
    let mut events: Vec<(String, Value)> = page.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap().to_owned(),
                e["detail"].clone(),
            )
        })
        .collect();
    events.reverse();
    events
}

async fn plugin_lifecycle(stack: Stack) {
    let Some(env) = TestEnv::new(stack).await else {
        return;
    };
    let app = env.spawn().await;
    let admin = app.admin_token().await;
    let bytes = component("blue-review-overdue");
    let created = upload(
        &app,
        &admin,
        "alert_rule",
        "blue-review-overdue.wasm",
        bytes.clone(),
    )
    .await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    let plugin = created.body;
    let id = plugin["id"].as_str().unwrap().to_owned();
    assert_eq!(plugin["kind"], "alert_rule");
    assert_eq!(plugin["key"], "blue-review-overdue");
    assert_eq!(plugin["interface_version"], "0.1.0");
    assert_eq!(plugin["sha256"], aegis_plugin_host::sha256_hex(&bytes));
    assert_eq!(plugin["config"], json!({"hours": 24, "severity": "medium"}));
    assert_eq!(plugin["enabled"], true);
    assert_eq!(plugin["file_name"], "blue-review-overdue.wasm");
    let sha = plugin["sha256"].as_str().unwrap();
    assert_eq!(
        stored_objects(&app, "plugins/").await,
        vec![format!("plugins/{sha}.wasm")]
    );

    let again = upload(&app, &admin, "alert_rule", "copy.wasm", bytes).await;
    assert_eq!(
        (again.status, again.body["code"].as_str()),
        (409, Some("plugin_already_registered"))
    );
    let format = upload(
        &app,
        &admin,
        "report_format",
        "md.wasm",
        component("markdown-report"),
    )
    .await;
    assert_eq!(format.status, 201, "{:?}", format.body);
    assert_eq!(format.body["media_type"], "text/markdown");
    assert_eq!(format.body["file_extension"], "md");

    let all = app.get("/api/v1/plugins", &admin).await;
    assert_eq!(all.body["total"], 2);
    let rules = app
        .get("/api/v1/plugins?kind=alert_rule&enabled=true", &admin)
        .await;
    assert_eq!(rules.body["total"], 1);
    assert_eq!(rules.body["items"][0]["id"], id.as_str());

    let path = format!("/api/v1/plugins/{id}");
    let read = app.get(&path, &admin).await;
    assert_eq!(read.headers["etag"], "\"1\"");

    // Configuration is checked against the plugin's own schema, field by field.
    let config_path = format!("{path}/config");
    let bad = app
        .call(
            "PUT",
            &config_path,
            Some(&admin),
            Some(json!({"config": {"hours": 0, "colour": "red"}})),
        )
        .await;
    assert_eq!(bad.status, 422, "{:?}", bad.body);
    let fields: Vec<&str> = bad.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert!(fields.contains(&"config/hours"), "{fields:?}");
    assert!(fields.contains(&"config"), "{fields:?}");
    let not_object = app
        .call(
            "PUT",
            &config_path,
            Some(&admin),
            Some(json!({"config": [1]})),
        )
        .await;
    assert_eq!(not_object.status, 422, "the document says an object");
    let good = app
        .call(
            "PUT",
            &config_path,
            Some(&admin),
            Some(json!({"version": 1, "config": {"hours": 48, "severity": "high"}})),
        )
        .await;
    assert_eq!(good.status, 200, "{:?}", good.body);
    assert_eq!(good.body["config"]["hours"], 48);
    assert_eq!(good.body["version"], 2);
    let stale = app
        .call(
            "PUT",
            &config_path,
            Some(&admin),
            Some(json!({"version": 1, "config": {"hours": 12}})),
        )
        .await;
    assert_eq!(
        (stale.status, stale.body["current_version"].as_i64()),
        (412, Some(2))
    );

    let disabled = app
        .post(&format!("{path}/disable"), &admin, json!({}))
        .await;
    assert_eq!(
        (disabled.status, disabled.body["enabled"].as_bool()),
        (200, Some(false))
    );
    let enabled = app
        .send(
            app.request("POST", &format!("{path}/enable"), &admin)
                .header("If-Match", "\"3\""),
        )
        .await;
    assert_eq!(
        (enabled.status, enabled.body["enabled"].as_bool()),
        (200, Some(true)),
        "{:?}",
        enabled.body
    );

    let deleted = app.call("DELETE", &path, Some(&admin), None).await;
    assert_eq!(deleted.status, 204);
    assert_eq!(app.get(&path, &admin).await.status, 404);
    let left = stored_objects(&app, "plugins/").await;
    assert!(!left.iter().any(|k| k.contains(sha)), "{left:?}");

    let events = audit_actions(&app, &admin, &id).await;
    let actions: Vec<&str> = events.iter().map(|(a, _)| a.as_str()).collect();
    assert_eq!(
        actions,
        [
            "plugin.upload",
            "plugin.configure",
            "plugin.disable",
            "plugin.enable",
            "plugin.delete"
        ]
    );
    // Configuration values may be secrets: the trail names the keys only.
    assert_eq!(events[1].1, json!({"keys": ["hours", "severity"]}));
}

async fn refused_uploads_leave_nothing(stack: Stack) {
    let Some(env) = TestEnv::new(stack).await else {
        return;
    };
    let app = env
        .spawn_with(|s| s.update_section(|p: &mut PluginSettings| p.max_bytes = 200_000))
        .await;
    let admin = app.admin_token().await;
    let mut truncated = component("blue-review-overdue");
    truncated.truncate(truncated.len() / 2);
    let cases: Vec<(&str, Vec<u8>, u16, &str)> = vec![
        ("alert_rule", truncated, 422, "not_a_component"),
        (
            "alert_rule",
            b"not wasm at all".to_vec(),
            422,
            "not_a_component",
        ),
        (
            "alert_rule",
            component("markdown-report"),
            422,
            "wrong_world",
        ),
        (
            "report_format",
            component("regression-c"),
            422,
            "wrong_world",
        ),
        (
            "filter",
            component("regression-c"),
            422,
            "validation_failed",
        ),
        ("alert_rule", vec![0; 300_000], 413, "payload_too_large"),
    ];
    for (kind, bytes, status, code) in cases {
        let reply = upload(&app, &admin, kind, "x.wasm", bytes).await;
        assert_eq!(
            (reply.status, reply.body["code"].as_str()),
            (status, Some(code)),
            "{kind}: {:?}",
            reply.body
        );
    }
    let no_kind = app
        .send(
            app.request("POST", "/api/v1/plugins", &admin)
                .multipart(Form::new().part(
                    "file",
                    Part::bytes(component("regression-c")).file_name("r.wasm"),
                )),
        )
        .await;
    assert_eq!(no_kind.status, 422, "{:?}", no_kind.body);
    // The form is `kind` and `file`, nothing else (the document says so).
    let extra = app
        .send(
            app.request("POST", "/api/v1/plugins", &admin).multipart(
                Form::new()
                    .text("kind", "alert_rule")
                    .text("description", "a note")
                    .part(
                        "file",
                        Part::bytes(component("regression-c")).file_name("r.wasm"),
                    ),
            ),
        )
        .await;
    assert_eq!(
        (extra.status, extra.body["errors"][0]["field"].as_str()),
        (422, Some("form")),
        "{:?}",
        extra.body
    );
    assert_eq!(app.get("/api/v1/plugins", &admin).await.body["total"], 0);
    assert!(stored_objects(&app, "plugins/").await.is_empty());
}

async fn only_administrators_manage_plugins(stack: Stack) {
    let Some(env) = TestEnv::new(stack).await else {
        return;
    };
    let app = env.spawn().await;
    let admin = app.admin_token().await;
    let created = upload(
        &app,
        &admin,
        "alert_rule",
        "c.wasm",
        component("regression-c"),
    )
    .await;
    let id = created.body["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/plugins/{id}");
    for role in ["lead", "red_tech", "blue_tech", "viewer"] {
        let (_, token) = app
            .user_with_role(&admin, &format!("{role}-user"), role)
            .await;
        // The role is checked before the body is read: a small body keeps the
        // client from writing into a connection the server has answered.
        let attempts = [
            upload(&app, &token, "alert_rule", "b.wasm", b"\0asm".to_vec()).await,
            app.get("/api/v1/plugins", &token).await,
            app.get(&path, &token).await,
            app.post(&format!("{path}/disable"), &token, json!({}))
                .await,
            app.post(&format!("{path}/enable"), &token, json!({})).await,
            app.call(
                "PUT",
                &format!("{path}/config"),
                Some(&token),
                Some(json!({"config": {}})),
            )
            .await,
            app.call("DELETE", &path, Some(&token), None).await,
        ];
        for reply in attempts {
            assert_eq!(reply.status, 403, "{role}: {:?}", reply.body);
        }
    }
    assert_eq!(
        app.call("GET", "/api/v1/plugins", None, None).await.status,
        401
    );
    let list = app.get("/api/v1/plugins", &admin).await;
    assert_eq!(list.body["total"], 1, "nothing was added or removed");
    assert_eq!(list.body["items"][0]["version"], 1);
}

async fn failures_are_recorded_and_a_failing_plugin_is_disabled(stack: Stack) {
    let Some(env) = TestEnv::new(stack).await else {
        return;
    };
    let app = env
        .spawn_with(|s| {
            s.update_section(|p: &mut PluginSettings| {
                p.max_consecutive_failures = 3;
                p.call_timeout_ms = 300;
            });
        })
        .await;
    let admin = app.admin_token().await;
    let created = upload(
        &app,
        &admin,
        "alert_rule",
        "hostile.wasm",
        component("hostile"),
    )
    .await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    let id = created.body["id"].as_str().unwrap().to_owned();
    // A second service on the same database and storage, as another replica would be.
    let host = WasmHost::new(
        &app.kernel.settings.section::<PluginSettings>(),
        app.kernel.storage.clone(),
    )
    .unwrap();
    let service = PluginService::new(app.kernel.clone(), Arc::new(host));
    let input = EvaluationInput::default();

    let fine = service.evaluate(&id, &json!({}), &input).await.unwrap();
    assert_eq!(fine[0].title, "0 tests seen");
    let timed_out = service
        .evaluate(&id, &json!({"mode": "loop"}), &input)
        .await;
    assert!(
        matches!(timed_out, Err(PluginsError::Call(PluginFault::TimedOut(_)))),
        "{timed_out:?}"
    );
    let path = format!("/api/v1/plugins/{id}");
    let after_one = app.get(&path, &admin).await.body;
    assert_eq!(after_one["last_error_code"], "plugin_timed_out");
    assert_eq!(
        (after_one["calls"].as_i64(), after_one["failures"].as_i64()),
        (Some(2), Some(1))
    );
    assert_eq!(after_one["enabled"], true);

    for _ in 0..2 {
        let trapped = service
            .evaluate(&id, &json!({"mode": "trap"}), &input)
            .await;
        assert!(
            matches!(trapped, Err(PluginsError::Call(PluginFault::Trapped(_)))),
            "{trapped:?}"
        );
    }
    let off = app.get(&path, &admin).await.body;
    assert_eq!(off["enabled"], false, "{off:?}");
    assert_eq!(off["consecutive_failures"], 3);
    assert_eq!(off["last_error_code"], "plugin_trapped");
    assert!(
        off["disabled_reason"]
            .as_str()
            .unwrap()
            .contains("repeated failures")
    );
    assert!(matches!(
        service.evaluate(&id, &json!({}), &input).await,
        Err(PluginsError::Disabled)
    ));
    let events = audit_actions(&app, &admin, &id).await;
    assert_eq!(events.last().unwrap().0, "plugin.auto_disable");

    // Switched back on, the streak starts again and a good call counts.
    let on = app.post(&format!("{path}/enable"), &admin, json!({})).await;
    assert_eq!(
        (
            on.body["enabled"].as_bool(),
            on.body["consecutive_failures"].as_i64()
        ),
        (Some(true), Some(0))
    );
    assert!(on.body.get("disabled_reason").is_none(), "{:?}", on.body);
    service.evaluate(&id, &json!({}), &input).await.unwrap();
    assert_eq!(app.get(&path, &admin).await.body["calls"], 5);

    // A plugin refusing its input or configuration blames the caller: the
    // failures are counted, but whoever wrote a bad rule cannot switch it off.
    for _ in 0..4 {
        let refused = service
            .evaluate(&id, &json!({"mode": "error"}), &input)
            .await;
        assert!(
            matches!(refused, Err(PluginsError::Call(PluginFault::Reported(_)))),
            "{refused:?}"
        );
    }
    let after = app.get(&path, &admin).await.body;
    assert_eq!(
        (
            after["enabled"].as_bool(),
            after["consecutive_failures"].as_i64()
        ),
        (Some(true), Some(0))
    );
    assert_eq!(
        (
            after["failures"].as_i64(),
            after["last_error_code"].as_str()
        ),
        (Some(7), Some("plugin_error"))
    );
}

/// Components no plugin row points at (an upload whose row was refused
/// while storage could not take the component back, a deletion storage
/// refused to finish) are swept once old enough; registered components
/// and what Aegis did not name stay.
async fn components_without_a_plugin_are_swept(stack: Stack) {
    let Some(env) = TestEnv::new(stack).await else {
        return;
    };
    // The scheduled sweep stays off: the test runs it, on its own clock.
    let app = env
        .spawn_with(|s| {
            s.jobs.insert("plugin_orphan_sweep".into(), String::new());
        })
        .await;
    let admin = app.admin_token().await;
    let created = upload(
        &app,
        &admin,
        "alert_rule",
        "c.wasm",
        component("regression-c"),
    )
    .await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    let registered = stored_objects(&app, "plugins/").await;
    assert_eq!(registered.len(), 1);
    let storage = &app.kernel.storage;
    let orphan = format!("plugins/{}.wasm", "0f".repeat(32));
    storage.put(&orphan, b"\0asm".to_vec()).await.unwrap();
    storage
        .put("plugins/README.txt", b"ours".to_vec())
        .await
        .unwrap();

    let grace = chrono::Duration::minutes(60);
    let sweep = || aegis_mod_plugins::sweep::sweep_orphans(&app.kernel, grace);
    assert_eq!(sweep().await.unwrap().objects, 0, "within the grace");
    app.kernel.clock.advance(chrono::Duration::minutes(61));
    let swept = sweep().await.unwrap();
    assert_eq!((swept.objects, swept.uploads), (1, 0));
    let mut left = stored_objects(&app, "plugins/").await;
    left.sort();
    let mut expected = vec![registered[0].clone(), "plugins/README.txt".to_owned()];
    expected.sort();
    assert_eq!(left, expected);
}

async fn plugin_answers_and_the_upload_form_are_as_documented(stack: Stack) {
    let Some(env) = TestEnv::new(stack).await else {
        return;
    };
    let app = env.spawn().await;
    let admin = app.admin_token().await;
    let created = upload(
        &app,
        &admin,
        "alert_rule",
        "blue-review-overdue.wasm",
        component("blue-review-overdue"),
    )
    .await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    // An alert-rule plugin has no media type, no extension, no failure.
    assert_eq!(nulls(&created.body), Vec::<String>::new());
    for absent in [
        "media_type",
        "file_extension",
        "disabled_reason",
        "last_error",
    ] {
        assert!(created.body.get(absent).is_none(), "{absent}");
    }
    let listed = app.get("/api/v1/plugins", &admin).await.body;
    assert_eq!(nulls(&listed), Vec::<String>::new());
    assert_page_limits(&app, &admin, "/api/v1/plugins").await;
    let path = format!("/api/v1/plugins/{}", created.body["id"].as_str().unwrap());
    for action in ["disable", "enable"] {
        let malformed = app
            .send(
                app.request("POST", &format!("{path}/{action}"), &admin)
                    .header("If-Match", "latest"),
            )
            .await;
        assert_eq!(malformed.status, 422, "{action}: {:?}", malformed.body);
    }
    // An unknown plugin is a 404 before its version is looked at.
    let unknown = app
        .send(
            app.request(
                "PUT",
                &format!("/api/v1/plugins/{}/config", uuid::Uuid::now_v7()),
                &admin,
            )
            .header("If-Match", "\"1\"")
            .json(&json!({"version": 2, "config": {}})),
        )
        .await;
    assert_eq!(unknown.status, 404, "{:?}", unknown.body);

    // The form a generated client fills: `kind` and `file`, both required.
    let doc = app
        .call("GET", "/api/v1/openapi.json", None, None)
        .await
        .body;
    let form = &doc["paths"]["/api/v1/plugins"]["post"]["requestBody"]["content"]["multipart/form-data"]
        ["schema"];
    assert_eq!(form["required"], json!(["kind", "file"]));
    assert_eq!(form["additionalProperties"], false, "no other part");
    assert_eq!(
        form["properties"]["kind"],
        json!({"$ref": "#/components/schemas/PluginKind"})
    );
    assert_eq!(form["properties"]["file"]["format"], "binary");
    let enable = &doc["paths"]["/api/v1/plugins/{id}/enable"]["post"];
    let if_match = enable["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "If-Match")
        .unwrap();
    assert!(if_match["schema"]["pattern"].is_string(), "{if_match}");
}

stack_tests!(
    plugin_answers_and_the_upload_form_are_as_documented,
    components_without_a_plugin_are_swept,
    plugin_lifecycle,
    refused_uploads_leave_nothing,
    only_administrators_manage_plugins,
    failures_are_recorded_and_a_failing_plugin_is_disabled,
);

#[test]
fn the_cli_validates_a_component() {
    let path = component_path("markdown-report");
    component("markdown-report");
    let out = aegis(&["plugin", "validate", path.to_str().unwrap()], &[], None);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("valid report_format plugin"), "{stdout}");
    assert!(stdout.contains("markdown-brief"), "{stdout}");
    assert!(stdout.contains("text/markdown (.md)"), "{stdout}");

    let wrong = aegis(
        &[
            "plugin",
            "validate",
            "--kind",
            "alert-rule",
            path.to_str().unwrap(),
        ],
        &[],
        None,
    );
    assert_eq!(wrong.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("wrong_world"));

    let junk =
        std::env::temp_dir().join(format!("aegis-junk-{}.wasm", uuid::Uuid::new_v4().simple()));
    std::fs::write(&junk, b"\0asm junk").unwrap();
    let refused = aegis(&["plugin", "validate", junk.to_str().unwrap()], &[], None);
    let _ = std::fs::remove_file(&junk);
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("not_a_component"));
}
