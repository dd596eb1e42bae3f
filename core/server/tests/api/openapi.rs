//! Walks the OpenAPI document: every operation has an id and a tag, answers
//! 401 without credentials (login and health aside), no operation answers
//! a 5xx to a garbage request from an admin, every 405 says which methods
//! its path takes, and error answers are the document's `Problem`.

use serde_json::{Value, json};

use crate::helpers::{Stack, TestEnv};
use crate::stack_tests;

const PUBLIC: [&str; 3] = ["login", "health", "health_ready"];

fn operations(doc: &Value) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("path item") {
            let id = op["operationId"]
                .as_str()
                .unwrap_or_else(|| panic!("{method} {path} has no operation_id"));
            assert!(
                op["tags"].as_array().is_some_and(|t| !t.is_empty()),
                "{id} has no tag"
            );
            out.push((method.to_uppercase(), concrete(path), id.to_owned()));
        }
    }
    out
}

async fn every_operation_but_login_and_health_needs_credentials(stack: Stack) {
    let Some(env) = TestEnv::new(stack).await else {
        return;
    };
    let app = env.spawn().await;
    let doc = app
        .call("GET", "/api/v1/openapi.json", None, None)
        .await
        .body;
    let ops = operations(&doc);
    assert!(ops.len() >= 15, "only {} operations", ops.len());
    for (method, path, id) in ops {
        if PUBLIC.contains(&id.as_str()) {
            continue;
        }
        let reply = app.call(&method, &path, None, Some(json!({}))).await;
        assert_eq!(
            reply.status, 401,
            "{id} ({method} {path}) answered {} without credentials",
            reply.status
        );
        assert!(reply.body["code"].is_string(), "{id}: no problem code");
    }
}

async fn no_client_mistake_yields_a_server_error(stack: Stack) {
    let Some(env) = TestEnv::new(stack).await else {
        return;
    };
    let app = env.spawn().await;
    let admin = app.admin_token().await;
    let doc = app
        .call("GET", "/api/v1/openapi.json", None, None)
        .await
        .body;
    let garbage = [
        json!(null),
        json!([1, 2]),
        json!({"username": 5, "role": "emperor", "limit": "x"}),
        json!("text"),
    ];
    for (method, path, id) in operations(&doc) {
        if id == "logout" {
            continue;
        }
        for body in &garbage {
            let reply = app
                .call(
                    &method,
                    &format!("{path}?limit=-1&offset=abc&role=nobody"),
                    Some(&admin),
                    Some(body.clone()),
                )
                .await;
            assert!(
                reply.status < 500,
                "{id} answered {} to {body}: {:?}",
                reply.status,
                reply.body
            );
        }
    }
}

/// RFC 9110: a 405 lists the methods the resource supports in `Allow`;
/// for every path, the document's methods (HEAD wherever GET is).
async fn every_405_names_the_methods_of_its_path(stack: Stack) {
    let Some(env) = TestEnv::new(stack).await else {
        return;
    };
    let app = env.spawn().await;
    let admin = app.admin_token().await;
    let doc = app
        .call("GET", "/api/v1/openapi.json", None, None)
        .await
        .body;
    let mut paths = 0;
    for (template, item) in doc["paths"].as_object().unwrap() {
        let path = concrete(template);
        let mut expected: Vec<String> = item
            .as_object()
            .unwrap()
            .keys()
            .map(|m| m.to_uppercase())
            .collect();
        if expected.iter().any(|m| m == "GET") {
            expected.push("HEAD".into());
        }
        expected.sort();
        let reply = app.call("TRACE", &path, Some(&admin), None).await;
        assert_eq!(reply.status, 405, "TRACE {path}: {:?}", reply.body);
        let allow = reply
            .headers
            .get("allow")
            .unwrap_or_else(|| panic!("TRACE {path}: no Allow"))
            .to_str()
            .unwrap();
        let mut listed: Vec<String> = allow.split(',').map(|m| m.trim().to_owned()).collect();
        listed.sort();
        assert_eq!(listed, expected, "TRACE {path}");
        paths += 1;
    }
    assert!(paths >= 15, "only {paths} paths");
    // The document's own path, and a static segment beside `{id}`.
    let reply = app.call("POST", "/api/v1/openapi.json", None, None).await;
    assert_eq!(
        (
            reply.status,
            reply.headers.get("allow").map(|v| v.to_str().unwrap())
        ),
        (405, Some("GET, HEAD"))
    );
    let reply = app
        .call(
            "DELETE",
            "/api/v1/coverage/snapshots/diff",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(
        (
            reply.status,
            reply.headers.get("allow").map(|v| v.to_str().unwrap())
        ),
        (405, Some("GET, HEAD"))
    );
}

/// A path template with a value that exists nowhere for every `{param}`.
fn concrete(template: &str) -> String {
    template
        .split('/')
        .map(|s| {
            if s.starts_with('{') {
                "00000000-0000-0000-0000-000000000000"
            } else {
                s
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Error answers of every kind validate against the document's `Problem`:
/// `errors` only where a 422 names fields, never an empty or null one.
async fn error_answers_are_the_documented_problem(stack: Stack) {
    let Some(env) = TestEnv::new(stack).await else {
        return;
    };
    let app = env.spawn().await;
    let admin = app.admin_token().await;
    let doc = app
        .call("GET", "/api/v1/openapi.json", None, None)
        .await
        .body;
    let schema = json!({
        "$ref": "#/components/schemas/Problem",
        "components": doc["components"],
    });
    let validator = jsonschema::validator_for(&schema).unwrap();
    let bad_token = app.get("/api/v1/auth/me", "nope").await;
    let missing = app.get("/api/v1/users/nope", &admin).await;
    let conflict = app
        .post(
            "/api/v1/users",
            &admin,
            json!({"username": "admin", "role": "viewer", "password": "long-enough-pw"}),
        )
        .await;
    let invalid = app.get("/api/v1/users?limit=0", &admin).await;
    let unreadable = app
        .call("POST", "/api/v1/auth/login", None, Some(json!("text")))
        .await;
    for (reply, status, has_errors) in [
        (&bad_token, 401, false),
        (&missing, 404, false),
        (&conflict, 409, false),
        (&invalid, 422, true),
        (&unreadable, 422, true),
    ] {
        assert_eq!(reply.status, status, "{:?}", reply.body);
        let errors: Vec<String> = validator
            .iter_errors(&reply.body)
            .map(|e| format!("{e} at {}", e.instance_path()))
            .collect();
        assert!(
            errors.is_empty(),
            "{status}: {errors:?} in {:?}",
            reply.body
        );
        assert_eq!(
            reply.body.get("errors").is_some(),
            has_errors,
            "{:?}",
            reply.body
        );
    }
    assert_eq!(invalid.body["errors"][0]["field"], "limit");
}

stack_tests!(
    every_operation_but_login_and_health_needs_credentials,
    no_client_mistake_yields_a_server_error,
    every_405_names_the_methods_of_its_path,
    error_answers_are_the_documented_problem
);
