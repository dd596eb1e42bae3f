use crate::helpers::{Stack, TestEnv};
use crate::stack_tests;

async fn health_and_readiness_name_the_backends(stack: Stack) {
    let Some(env) = TestEnv::new(stack).await else {
        return;
    };
    let app = env.spawn().await;
    let reply = app.call("GET", "/health", None, None).await;
    assert_eq!(
        (reply.status, reply.body["status"].as_str()),
        (200, Some("ok"))
    );

    let landing = app.client.get(app.url("/")).send().await.unwrap();
    assert!(
        landing.url().path().starts_with("/docs"),
        "/ leads to the API docs in development"
    );
    for docs in ["/docs", "/redoc", "/api/v1/openapi.json"] {
        assert_eq!(
            app.call("GET", docs, None, None).await.status,
            200,
            "{docs} in development"
        );
    }
    let reply = app.call("GET", "/health/ready", None, None).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    let kinds: Vec<&str> = reply.body["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["kind"].as_str().unwrap())
        .collect();
    let expected = match stack {
        Stack::Embedded => ["sqlite", "memory", "fs"],
        Stack::Shared => ["postgres", "redis", "s3"],
    };
    assert_eq!(kinds, expected);
}

async fn readiness_answers_503_naming_the_failed_dependency(stack: Stack) {
    let Some(env) = TestEnv::new(stack).await else {
        return;
    };
    let app = env.spawn().await;
    app.kernel.db.close().await;
    let reply = app.call("GET", "/health/ready", None, None).await;
    assert_eq!(reply.status, 503, "{:?}", reply.body);
    let failed: Vec<&str> = reply.body["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["ok"] == false)
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(failed, ["database"]);
    assert!(
        reply.body["checks"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["error"].is_null() || c["error"] == "unavailable"),
        "no internals reach anonymous callers: {:?}",
        reply.body
    );
}

async fn unknown_routes_and_bad_bodies_are_json_problems(stack: Stack) {
    let Some(env) = TestEnv::new(stack).await else {
        return;
    };
    let app = env.spawn().await;
    let reply = app.call("GET", "/api/v1/nothing-here", None, None).await;
    assert_eq!(
        (reply.status, reply.body["code"].as_str()),
        (404, Some("not_found"))
    );

    let response = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    let reply = crate::helpers::TestApp::reply(response).await;
    assert_eq!(
        (reply.status, reply.body["code"].as_str()),
        (400, Some("invalid_request"))
    );

    // A small limit keeps the refused body inside socket buffers, so the
    // client reads the answer instead of seeing the connection reset.
    let app = env.spawn_with(|s| s.http.max_body_bytes = 64).await;
    let huge = format!("{{\"username\": \"{}\"}}", "x".repeat(2000));
    let response = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .header("content-type", "application/json")
        .body(huge)
        .send()
        .await
        .unwrap();
    let reply = crate::helpers::TestApp::reply(response).await;
    assert_eq!(
        (reply.status, reply.body["code"].as_str()),
        (413, Some("payload_too_large"))
    );
}

stack_tests!(
    health_and_readiness_name_the_backends,
    readiness_answers_503_naming_the_failed_dependency,
    unknown_routes_and_bad_bodies_are_json_problems,
);
