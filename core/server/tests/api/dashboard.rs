//! The built dashboard is served at every path the API does not own.

use crate::helpers::{Stack, TestEnv};
use crate::stack_tests;

async fn the_dashboard_is_served_beside_the_api(stack: Stack) {
    let Some(env) = TestEnv::new(stack).await else {
        return;
    };
    let dist = env.settings.data_dir.join("dist");
    std::fs::create_dir_all(dist.join("assets")).unwrap();
    std::fs::write(
        dist.join("index.html"),
        "<!doctype html><title>Aegis</title><div id=root></div>",
    )
    .unwrap();
    std::fs::write(dist.join("assets/app.js"), "console.log('aegis')").unwrap();
    // A file beside the dashboard's folder that must never be served.
    std::fs::write(
        env.settings.data_dir.join("secret.key"),
        crate::helpers::SECRET_KEY,
    )
    .unwrap();
    let app = env.spawn_with(|s| s.http.frontend_dir = dist.clone()).await;
    for path in [
        "/",
        "/tests/0190a0b0-0000-7000-8000-000000000000",
        "/login?next=%2Ftests",
    ] {
        let reply = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(reply.status(), 200, "{path}");
        let csp = reply.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(csp.contains("default-src 'self'"), "{csp}");
        assert!(
            reply.text().await.unwrap().contains("<div id=root>"),
            "{path}"
        );
    }
    let script = app
        .client
        .get(app.url("/assets/app.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(script.status(), 200);
    assert!(
        script.headers()["content-type"]
            .to_str()
            .unwrap()
            .contains("javascript")
    );
    // The API, its document and health stay the API's.
    assert_eq!(
        app.call("GET", "/health", None, None).await.body["status"],
        "ok"
    );
    assert_eq!(
        app.call("GET", "/api/v1/tests", None, None).await.status,
        401
    );
    assert_eq!(
        app.call("GET", "/api/v1/nope", None, None).await.status,
        404
    );
    let spec = app.call("GET", "/api/v1/openapi.json", None, None).await;
    assert!(spec.body["paths"]["/api/v1/tests"].is_object());
    // Nothing outside the dashboard's folder is served (the secret key sits beside it).
    for path in [
        "/assets/..%2f..%2fsecret.key",
        "/%2e%2e/secret.key",
        "/assets/%2e%2e%2f%2e%2e%2fsecret.key",
    ] {
        let reply = app.client.get(app.url(path)).send().await.unwrap();
        let status = reply.status().as_u16();
        let body = reply.text().await.unwrap();
        // Refused, or (where the client folds `..` away) the app's index page.
        assert!(
            status == 403 || status == 404 || body.contains("<div id=root>"),
            "{path}: {status}"
        );
        assert!(!body.contains(crate::helpers::SECRET_KEY), "{path}");
    }
    // Writes never reach the static files.
    let post = app.call("POST", "/", None, None).await;
    assert_eq!(post.status, 404);
    assert_eq!(post.body["code"], "not_found");
}

stack_tests!(the_dashboard_is_served_beside_the_api);
