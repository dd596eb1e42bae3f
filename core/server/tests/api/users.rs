use serde_json::{Value, json};

use crate::helpers::{Stack, TestEnv};
use crate::stack_tests;

/// Every users endpoint for every role: admins may, everyone else gets 403.
async fn role_matrix_for_every_users_endpoint(stack: Stack) {
    let Some(env) = TestEnv::new(stack).await else {
        return;
    };
    let app = env.spawn().await;
    let admin = app.admin_token().await;
    let (target, _) = app.user_with_role(&admin, "target-user", "viewer").await;
    let mut tokens = vec![("admin", admin.clone())];
    for role in ["lead", "red_tech", "blue_tech", "viewer"] {
        tokens.push((
            role,
            app.user_with_role(&admin, &format!("{}-user", role.replace('_', "-")), role)
                .await
                .1,
        ));
    }
    let cases: Vec<(&str, String, Option<Value>, u16)> = vec![
        ("GET", "/api/v1/users".into(), None, 200),
        (
            "POST",
            "/api/v1/users".into(),
            Some(json!({"username": "ROLE", "role": "viewer", "password": "matrix-password"})),
            201,
        ),
        ("GET", format!("/api/v1/users/{target}"), None, 200),
        (
            "PATCH",
            format!("/api/v1/users/{target}"),
            Some(json!({"display_name": "Renamed"})),
            200,
        ),
        (
            "POST",
            format!("/api/v1/users/{target}/reset-password"),
            Some(json!({})),
            200,
        ),
        (
            "POST",
            format!("/api/v1/users/{target}/deactivate"),
            None,
            200,
        ),
        ("DELETE", format!("/api/v1/users/{target}"), None, 200),
    ];
    for (role, token) in &tokens {
        for (method, path, body, admin_status) in &cases {
            let body = body.as_ref().map(|b| {
                serde_json::from_str(
                    &b.to_string()
                        .replace("ROLE", &format!("made-by-{}", role.replace('_', "-"))),
                )
                .unwrap()
            });
            let expected = if *role == "admin" { *admin_status } else { 403 };
            let reply = app.call(method, path, Some(token), body).await;
            assert_eq!(
                reply.status, expected,
                "{role} {method} {path}: {:?}",
                reply.body
            );
            if expected == 403 {
                assert_eq!(reply.body["code"], "insufficient_role");
            }
        }
    }
    // Everyone reads themselves.
    for (role, token) in &tokens {
        assert_eq!(
            app.get("/api/v1/auth/me", token).await.status,
            200,
            "{role}"
        );
    }
}

async fn admins_manage_users(stack: Stack) {
    let Some(env) = TestEnv::new(stack).await else {
        return;
    };
    let app = env.spawn().await;
    let admin = app.admin_token().await;
    let (id, token) = app.user_with_role(&admin, "Dave.Red", "red_tech").await;

    let dup = app
        .post(
            "/api/v1/users",
            &admin,
            json!({"username": "dave.red", "role": "viewer", "password": "another-password"}),
        )
        .await;
    assert_eq!(
        (dup.status, dup.body["code"].as_str()),
        (409, Some("username_taken")),
        "usernames are unique regardless of case"
    );
    let bad = app
        .post(
            "/api/v1/users",
            &admin,
            json!({"username": "x", "role": "viewer", "password": "short"}),
        )
        .await;
    assert_eq!(bad.status, 422);
    assert!(bad.body["errors"][0]["field"].is_string());
    let bad_role = app
        .post(
            "/api/v1/users",
            &admin,
            json!({"username": "eve", "role": "emperor", "password": "long-enough-pw"}),
        )
        .await;
    assert_eq!(
        (bad_role.status, bad_role.body["code"].as_str()),
        (422, Some("validation_failed")),
        "a value outside the declared enum is refused like any invalid value"
    );

    let listed = app.get("/api/v1/users?role=red_tech", &admin).await;
    assert_eq!(listed.body["total"], 1);
    let searched = app.get("/api/v1/users?q=DAVE&limit=1", &admin).await;
    assert_eq!(
        (
            searched.body["total"].as_i64(),
            searched.body["items"][0]["id"].as_str()
        ),
        (Some(1), Some(id.as_str()))
    );
    let underscore = app.get("/api/v1/users?q=_", &admin).await;
    assert_eq!(underscore.body["total"], 0, "`_` is a literal in searches");
    assert_eq!(app.get("/api/v1/users?limit=0", &admin).await.status, 422);

    let updated = app
        .call(
            "PATCH",
            &format!("/api/v1/users/{id}"),
            Some(&admin),
            Some(json!({"role": "lead", "display_name": "Dave"})),
        )
        .await;
    assert_eq!(
        (
            updated.body["role"].as_str(),
            updated.body["display_name"].as_str()
        ),
        (Some("lead"), Some("Dave"))
    );
    assert_eq!(
        app.get("/api/v1/users", &token).await.status,
        403,
        "the new role applies at once"
    );

    let reset = app
        .post(
            &format!("/api/v1/users/{id}/reset-password"),
            &admin,
            json!({}),
        )
        .await;
    let generated = reset.body["generated_password"]
        .as_str()
        .unwrap()
        .to_owned();
    app.kernel.clock.advance(chrono::Duration::seconds(1));
    let fresh = app.token("dave.red", &generated).await;

    let gone = app
        .call(
            "POST",
            &format!("/api/v1/users/{id}/deactivate"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!((gone.status, &gone.body["active"]), (200, &json!(false)));
    assert_eq!(
        app.get("/api/v1/auth/me", &fresh).await.status,
        401,
        "a deactivated user's session stops"
    );
    assert_eq!(app.login("dave.red", &generated).await.status, 401);
    // Deactivating keeps the account: its work and audit trail name it.
    let kept = app.get(&format!("/api/v1/users/{id}"), &admin).await;
    assert_eq!((kept.status, &kept.body["active"]), (200, &json!(false)));
    assert_eq!(app.get("/api/v1/users/nope", &admin).await.status, 404);
}

/// `DELETE /users/{id}` stays as a deprecated alias of the deactivation,
/// marked so in the document: clients written against it keep working.
async fn the_deprecated_delete_still_deactivates(stack: Stack) {
    let Some(env) = TestEnv::new(stack).await else {
        return;
    };
    let app = env.spawn().await;
    let admin = app.admin_token().await;
    let (id, token) = app.user_with_role(&admin, "old-client", "viewer").await;
    let reply = app
        .call("DELETE", &format!("/api/v1/users/{id}"), Some(&admin), None)
        .await;
    assert_eq!((reply.status, &reply.body["active"]), (200, &json!(false)));
    assert_eq!(app.get("/api/v1/auth/me", &token).await.status, 401);
    let doc = app
        .call("GET", "/api/v1/openapi.json", None, None)
        .await
        .body;
    let users = &doc["paths"]["/api/v1/users/{id}"];
    assert_eq!(users["delete"]["deprecated"], true);
    assert_eq!(
        doc["paths"]["/api/v1/users/{id}/deactivate"]["post"]["operationId"],
        "deactivate_user"
    );
}

/// New passwords: 10 to 256 characters, as the document declares; an
/// answer leaves out what it does not know instead of sending null.
async fn password_bounds_and_absent_fields_match_the_document(stack: Stack) {
    let Some(env) = TestEnv::new(stack).await else {
        return;
    };
    let app = env.spawn().await;
    let admin = app.admin_token().await;
    let doc = app
        .call("GET", "/api/v1/openapi.json", None, None)
        .await
        .body;
    let password = &doc["components"]["schemas"]["CreateUserRequest"]["properties"]["password"];
    assert_eq!(
        (
            password["minLength"].as_u64(),
            password["maxLength"].as_u64()
        ),
        (Some(10), Some(256))
    );
    let create = |name: &str, password: String| json!({"username": name, "role": "viewer", "password": password});
    for (name, length, status) in [
        ("nine", 9, 422),
        ("too-long", 257, 422),
        ("longest", 256, 201),
    ] {
        let reply = app
            .post("/api/v1/users", &admin, create(name, "p".repeat(length)))
            .await;
        assert_eq!(reply.status, status, "{length}: {:?}", reply.body);
        if status == 422 {
            assert_eq!(
                reply.body["errors"][0]["field"], "password",
                "{:?}",
                reply.body
            );
        } else {
            // Never signed in: no `last_login_at` at all, rather than null.
            assert!(
                reply.body.get("last_login_at").is_none(),
                "{:?}",
                reply.body
            );
        }
    }
    let long_login = app.login("longest", &"p".repeat(257)).await;
    assert_eq!(long_login.status, 422);
    let reset = app
        .post(
            "/api/v1/users/nope/reset-password",
            &admin,
            json!({"password": "short"}),
        )
        .await;
    assert_eq!(reset.status, 422, "{:?}", reset.body);
    let unknown = app
        .call(
            "PATCH",
            "/api/v1/users/nope",
            Some(&admin),
            Some(json!({"display_name": "x", "is_admin": true})),
        )
        .await;
    assert_eq!(
        (unknown.status, unknown.body["errors"][0]["field"].as_str()),
        (422, Some("is_admin"))
    );
    for body in [json!({"active": null}), json!({"display_name": 5})] {
        let reply = app
            .call(
                "PATCH",
                "/api/v1/users/nope",
                Some(&admin),
                Some(body.clone()),
            )
            .await;
        assert_eq!(reply.status, 422, "{body}: {:?}", reply.body);
    }
}

async fn the_last_administrator_cannot_be_removed(stack: Stack) {
    let Some(env) = TestEnv::new(stack).await else {
        return;
    };
    let app = env.spawn().await;
    let admin = app.admin_token().await;
    let me = app.get("/api/v1/auth/me", &admin).await.body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let reply = app
        .call("DELETE", &format!("/api/v1/users/{me}"), Some(&admin), None)
        .await;
    assert_eq!(
        (reply.status, reply.body["code"].as_str()),
        (409, Some("would_lock_out"))
    );
    let reply = app
        .call(
            "PATCH",
            &format!("/api/v1/users/{me}"),
            Some(&admin),
            Some(json!({"role": "viewer"})),
        )
        .await;
    assert_eq!(reply.status, 409);
}

/// Two admins demote each other at the same moment (on two replicas when
/// they share Redis): one change wins, and an administrator remains.
async fn concurrent_demotions_leave_an_administrator(stack: Stack) {
    let Some(env) = TestEnv::new(stack).await else {
        return;
    };
    let (first, second) = (env.spawn().await, env.spawn().await);
    let other = if stack == Stack::Shared {
        &second
    } else {
        &first
    };
    let admin = first.admin_token().await;
    let me = first.get("/api/v1/auth/me", &admin).await.body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (admin2_id, admin2) = first.user_with_role(&admin, "second-admin", "admin").await;
    let (path_a, path_b) = (
        format!("/api/v1/users/{admin2_id}"),
        format!("/api/v1/users/{me}"),
    );
    let body = json!({"role": "viewer"});
    let (a, b) = tokio::join!(
        first.call("PATCH", &path_a, Some(&admin), Some(body.clone())),
        other.call("PATCH", &path_b, Some(&admin2), Some(body.clone())),
    );
    let (a, b) = (a.status, b.status);
    // The loser is refused either by the last-admin rule (409) or, when the
    // winner's change landed first, because they are no longer an admin (403).
    let mut statuses = [a, b];
    statuses.sort_unstable();
    assert!(
        statuses[0] == 200 && [403, 409].contains(&statuses[1]),
        "exactly one demotion wins: {statuses:?}"
    );
    let admins: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM users_user WHERE role = 'admin' AND active = 1")
            .fetch_one(first.kernel.db.pool())
            .await
            .unwrap();
    assert_eq!(admins, 1);
}

stack_tests!(
    concurrent_demotions_leave_an_administrator,
    role_matrix_for_every_users_endpoint,
    admins_manage_users,
    the_deprecated_delete_still_deactivates,
    password_bounds_and_absent_fields_match_the_document,
    the_last_administrator_cannot_be_removed
);
