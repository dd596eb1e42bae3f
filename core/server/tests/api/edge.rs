//! What the HTTP edge refuses or adds for every route: text with NUL
//! (PostgreSQL cannot store it) and the caching and transport headers.

use reqwest::multipart::{Form, Part};
use serde_json::json;

use crate::helpers::{Reply, Stack, TestEnv, shared_data};
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
    api_answers_are_not_stored_and_production_demands_https,
    development_sends_no_hsts_but_still_no_store,
);
