//! Walks the OpenAPI document: every operation has an id and a tag, answers
//! 401 without credentials (login and health aside), and no operation answers
//! a 5xx to a garbage request from an admin.

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
            // Path parameters get a value that exists nowhere.
            let concrete = path
                .split('/')
                .map(|s| {
                    if s.starts_with('{') {
                        "00000000-0000-0000-0000-000000000000"
                    } else {
                        s
                    }
                })
                .collect::<Vec<_>>()
                .join("/");
            out.push((method.to_uppercase(), concrete, id.to_owned()));
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

stack_tests!(
    every_operation_but_login_and_health_needs_credentials,
    no_client_mistake_yields_a_server_error
);
