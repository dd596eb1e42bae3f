//! Behind a balancer: the client address (login throttle, audit log) comes
//! from `Forwarded` / `X-Forwarded-For` only when the socket peer is a
//! configured trusted proxy (`AEGIS_HTTP__TRUSTED_PROXIES`).

use serde_json::json;

use crate::helpers::{ADMIN_PASSWORD, Stack, TestApp, TestEnv};
use crate::stack_tests;

/// A login sent with `header: value`; returns the status.
async fn login_via(
    app: &TestApp,
    header: &str,
    value: &str,
    username: &str,
    password: &str,
) -> u16 {
    let request = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .header(header, value)
        .json(&json!({ "username": username, "password": password }));
    TestApp::reply(request.send().await.unwrap()).await.status
}

fn throttle_after_three(s: &mut aegis_core::config::Settings) {
    s.auth.login_max_failures = 3;
    s.auth.login_slowdown_after = 3;
}

async fn forwarded_clients_are_throttled_apart_behind_a_trusted_proxy(stack: Stack) {
    let Some(env) = TestEnv::new(stack).await else {
        return;
    };
    let app = env
        .spawn_with(|s| {
            throttle_after_three(s);
            s.http.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
        })
        .await;
    let xff = "X-Forwarded-For";
    // One client fails three times under three usernames: its address is locked.
    for name in ["mallory-1", "mallory-2", "mallory-3"] {
        assert_eq!(
            login_via(&app, xff, "203.0.113.7", name, "wrong").await,
            401
        );
    }
    assert_eq!(
        login_via(&app, xff, "203.0.113.7", "admin", ADMIN_PASSWORD).await,
        429
    );
    // A forged entry on the left does not help: the right-most untrusted address counts.
    assert_eq!(
        login_via(
            &app,
            xff,
            "198.51.100.9, 203.0.113.7",
            "admin",
            ADMIN_PASSWORD
        )
        .await,
        429
    );
    // Another client behind the same proxy is not locked out.
    assert_eq!(
        login_via(&app, xff, "198.51.100.9", "admin", ADMIN_PASSWORD).await,
        200
    );
    assert_eq!(
        login_via(
            &app,
            "Forwarded",
            "for=\"[2001:db8::1]:4711\";proto=https",
            "admin",
            ADMIN_PASSWORD
        )
        .await,
        200
    );
    let (events, _) = app
        .kernel
        .audit
        .list(
            &aegis_core::audit::AuditFilter {
                action: Some("auth.login".into()),
                ..Default::default()
            },
            10,
            0,
        )
        .await
        .unwrap();
    let mut addresses: Vec<_> = events
        .iter()
        .filter_map(|e| e.entry.address.clone())
        .collect();
    addresses.sort();
    assert_eq!(addresses, ["198.51.100.9", "2001:db8::1"]);
}

async fn forged_forwarded_for_is_ignored_without_trusted_proxies(stack: Stack) {
    let Some(env) = TestEnv::new(stack).await else {
        return;
    };
    let app = env.spawn_with(throttle_after_three).await;
    for (i, name) in ["eve-1", "eve-2", "eve-3"].into_iter().enumerate() {
        let forged = format!("203.0.113.{i}");
        assert_eq!(
            login_via(&app, "X-Forwarded-For", &forged, name, "wrong").await,
            401
        );
    }
    assert_eq!(
        login_via(
            &app,
            "X-Forwarded-For",
            "198.51.100.9",
            "admin",
            ADMIN_PASSWORD
        )
        .await,
        429,
        "every forged address is the one socket address"
    );
}

async fn a_successful_login_restarts_its_counters(stack: Stack) {
    let Some(env) = TestEnv::new(stack).await else {
        return;
    };
    let app = env.spawn_with(throttle_after_three).await;
    for round in 0..3 {
        for attempt in 0..2 {
            assert_eq!(
                app.login("admin", "wrong").await.status,
                401,
                "round {round}, attempt {attempt}"
            );
        }
        assert_eq!(
            app.login("admin", ADMIN_PASSWORD).await.status,
            200,
            "round {round}"
        );
    }
}

stack_tests!(
    forwarded_clients_are_throttled_apart_behind_a_trusted_proxy,
    forged_forwarded_for_is_ignored_without_trusted_proxies,
    a_successful_login_restarts_its_counters,
);
