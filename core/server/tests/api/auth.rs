use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::json;

use crate::helpers::{ADMIN_PASSWORD, SECRET_KEY, Stack, TestApp, TestEnv};
use crate::{shared_only_tests, stack_tests};

async fn login_returns_a_bearer_token_and_a_hardened_cookie(stack: Stack) {
    let Some(env) = TestEnv::new(stack).await else {
        return;
    };
    let app = env.spawn().await;
    let reply = app.login("admin", ADMIN_PASSWORD).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert_eq!(reply.body["token_type"], "bearer");
    assert_eq!(reply.body["expires_in"], 720 * 60);
    assert_eq!(reply.body["user"]["username"], "admin");
    assert_eq!(reply.body["user"]["role"], "admin");
    let cookies: Vec<&str> = reply
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    let session = cookies
        .iter()
        .find(|c| c.starts_with("aegis_token="))
        .expect("session cookie");
    assert!(
        session.contains("HttpOnly") && session.contains("SameSite=Strict"),
        "{session}"
    );
    assert!(
        !session.contains("Secure"),
        "development cookies are not Secure: {session}"
    );

    let token = reply.body["access_token"].as_str().unwrap();
    let me = app.get("/api/v1/auth/me", token).await;
    assert_eq!(
        (me.status, me.body["username"].as_str()),
        (200, Some("admin"))
    );
}

async fn production_cookies_are_secure(stack: Stack) {
    let Some(env) = TestEnv::new(stack).await else {
        return;
    };
    let app = env
        .spawn_with(|s| s.env = aegis_core::config::Environment::Production)
        .await;
    let reply = app.login("admin", ADMIN_PASSWORD).await;
    let cookie = reply
        .headers
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert!(cookie.contains("Secure"), "{cookie}");
    assert_eq!(
        app.call("GET", "/docs", None, None).await.status,
        404,
        "docs are off in production"
    );
}

async fn wrong_passwords_and_unknown_users_are_refused_alike(stack: Stack) {
    let Some(env) = TestEnv::new(stack).await else {
        return;
    };
    let app = env.spawn().await;
    let wrong = app.login("admin", "not-the-password").await;
    let unknown = app.login("nobody-here", "whatever-password").await;
    for reply in [wrong, unknown] {
        assert_eq!(
            (reply.status, reply.body["code"].as_str()),
            (401, Some("invalid_credentials"))
        );
    }
}

fn forge(claims: serde_json::Value, algorithm: Algorithm, key: &str) -> String {
    jsonwebtoken::encode(
        &Header::new(algorithm),
        &claims,
        &EncodingKey::from_secret(key.as_bytes()).unwrap(),
    )
    .unwrap()
}

async fn bad_tokens_are_refused(stack: Stack) {
    let Some(env) = TestEnv::new(stack).await else {
        return;
    };
    let app = env.spawn().await;
    let good = app.admin_token().await;
    let me = app.get("/api/v1/auth/me", &good).await;
    let sub = me.body["id"].as_str().unwrap().to_owned();
    let now = chrono::Utc::now().timestamp();
    let claims = |exp: i64| json!({ "sub": sub, "jti": uuid::Uuid::new_v4().to_string(), "iat": now - 10, "exp": exp, "iss": "aegis" });

    // Sanity: a token forged with the real key and HS256 is accepted, so the refusals below are about what changed.
    assert_eq!(
        app.get(
            "/api/v1/auth/me",
            &forge(claims(now + 600), Algorithm::HS256, SECRET_KEY)
        )
        .await
        .status,
        200
    );

    let expired = forge(claims(now - 5), Algorithm::HS256, SECRET_KEY);
    let reply = app.get("/api/v1/auth/me", &expired).await;
    assert_eq!(
        (reply.status, reply.body["code"].as_str()),
        (401, Some("token_expired"))
    );

    let other_key = forge(
        claims(now + 600),
        Algorithm::HS256,
        "another-key-entirely-0123456789abcdef",
    );
    let other_alg = forge(claims(now + 600), Algorithm::HS512, SECRET_KEY);
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(claims(now + 600).to_string());
    let alg_none = format!("{header}.{payload}.");
    let mut tampered_parts: Vec<String> = good.split('.').map(str::to_owned).collect();
    tampered_parts[1] = URL_SAFE_NO_PAD.encode(claims(now + 600).to_string());
    let tampered = tampered_parts.join(".");
    for (what, token) in [
        ("other key", other_key),
        ("HS512", other_alg),
        ("alg none", alg_none),
        ("tampered", tampered),
        ("garbage", "abc".into()),
    ] {
        let reply = app.get("/api/v1/auth/me", &token).await;
        assert_eq!(
            (reply.status, reply.body["code"].as_str()),
            (401, Some("invalid_token")),
            "{what}"
        );
    }
}

async fn logout_blacklists_the_token(stack: Stack) {
    let Some(env) = TestEnv::new(stack).await else {
        return;
    };
    let app = env.spawn().await;
    let token = app.admin_token().await;
    assert_eq!(
        app.call("POST", "/api/v1/auth/logout", Some(&token), None)
            .await
            .status,
        204
    );
    let reply = app.get("/api/v1/auth/me", &token).await;
    assert_eq!(
        (reply.status, reply.body["code"].as_str()),
        (401, Some("token_revoked"))
    );
    // A fresh login still works.
    assert_eq!(
        app.get("/api/v1/auth/me", &app.admin_token().await)
            .await
            .status,
        200
    );
}

/// Two replicas sharing PostgreSQL and Redis: a logout on one is honoured by the other.
/// The in-process store is one replica by definition: shared stack only.
async fn logout_reaches_every_replica_through_redis(stack: Stack) {
    let Some(env) = TestEnv::new(stack).await else {
        return;
    };
    let (first, second) = (env.spawn().await, env.spawn().await);
    let token = first.admin_token().await;
    assert_eq!(second.get("/api/v1/auth/me", &token).await.status, 200);
    assert_eq!(
        first
            .call("POST", "/api/v1/auth/logout", Some(&token), None)
            .await
            .status,
        204
    );
    let reply = second.get("/api/v1/auth/me", &token).await;
    assert_eq!(
        (reply.status, reply.body["code"].as_str()),
        (401, Some("token_revoked"))
    );
}

async fn repeated_failures_are_throttled_with_retry_after(stack: Stack) {
    let Some(env) = TestEnv::new(stack).await else {
        return;
    };
    let app = env
        .spawn_with(|s| {
            s.auth.login_max_failures = 4;
            s.auth.login_slowdown_after = 2;
        })
        .await;
    // Spellings the login lookup treats as one user count as one.
    for (attempt, name) in ["admin", " Admin", "ADMIN ", "admin"]
        .into_iter()
        .enumerate()
    {
        let reply = app.login(name, "wrong-password").await;
        assert_eq!(reply.status, 401, "attempt {attempt}");
    }
    let reply = app.login("admin", ADMIN_PASSWORD).await;
    assert_eq!(
        (reply.status, reply.body["code"].as_str()),
        (429, Some("too_many_requests"))
    );
    let retry: u64 = reply
        .headers
        .get("retry-after")
        .unwrap()
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=900).contains(&retry), "Retry-After {retry}");
    let audit = app
        .kernel
        .audit
        .list(
            &aegis_core::audit::AuditFilter {
                action: Some("auth.login_throttled".into()),
                ..Default::default()
            },
            10,
            0,
        )
        .await
        .unwrap();
    assert_eq!(audit.1, 1);
}

async fn cookie_sessions_need_the_csrf_header_for_changes(stack: Stack) {
    let Some(env) = TestEnv::new(stack).await else {
        return;
    };
    let app = env.spawn().await;
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let login = client
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"username": "admin", "password": ADMIN_PASSWORD}))
        .send()
        .await
        .unwrap();
    let csrf = TestApp::reply(login).await.body["csrf_token"]
        .as_str()
        .unwrap()
        .to_owned();

    let me = client.get(app.url("/api/v1/auth/me")).send().await.unwrap();
    assert_eq!(me.status(), 200, "the cookie authenticates reads");
    let body = json!({"name": "ci"});
    let forged = TestApp::reply(
        client
            .post(app.url("/api/v1/auth/tokens"))
            .json(&body)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (forged.status, forged.body["code"].as_str()),
        (403, Some("csrf_failed"))
    );
    let wrong = client
        .post(app.url("/api/v1/auth/tokens"))
        .header("X-CSRF-Token", "nope")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 403);
    let right = client
        .post(app.url("/api/v1/auth/tokens"))
        .header("X-CSRF-Token", &csrf)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(right.status(), 201);
}

async fn personal_api_tokens_are_shown_once_listed_and_revocable(stack: Stack) {
    let Some(env) = TestEnv::new(stack).await else {
        return;
    };
    let app = env.spawn().await;
    let session = app.admin_token().await;
    let created = app
        .post("/api/v1/auth/tokens", &session, json!({"name": "soar"}))
        .await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    let token = created.body["token"].as_str().unwrap().to_owned();
    let id = created.body["details"]["id"].as_str().unwrap().to_owned();
    assert!(token.starts_with("aegis_pat_"));

    assert_eq!(
        app.get("/api/v1/users", &token).await.status,
        200,
        "the token carries the owner's role"
    );
    let listed = app.get("/api/v1/auth/tokens", &session).await;
    assert_eq!(listed.body.as_array().unwrap().len(), 1);
    assert!(
        !listed.body.to_string().contains(&token),
        "the token text is never listed"
    );
    assert!(listed.body[0]["last_used_at"].is_string());

    assert_eq!(
        app.call(
            "DELETE",
            &format!("/api/v1/auth/tokens/{id}"),
            Some(&session),
            None
        )
        .await
        .status,
        204
    );
    let reply = app.get("/api/v1/users", &token).await;
    assert_eq!(
        (reply.status, reply.body["code"].as_str()),
        (401, Some("invalid_token"))
    );
    assert_eq!(
        app.call(
            "DELETE",
            &format!("/api/v1/auth/tokens/{id}"),
            Some(&session),
            None
        )
        .await
        .status,
        404
    );

    let past = app
        .post(
            "/api/v1/auth/tokens",
            &session,
            json!({"name": "old", "expires_at": "2020-01-01T00:00:00Z"}),
        )
        .await;
    assert_eq!(
        (past.status, past.body["code"].as_str()),
        (422, Some("validation_failed"))
    );

    // A name must be a string and nothing else may ride along: the same 422
    // as every invalid value, never a token named "true".
    for (body, field) in [
        (json!({"name": true, "x": 1}), None),
        (json!({"name": true}), None),
        (json!({"name": 7}), None),
        (json!({"name": "ci", "x": 1}), Some("x")),
        (json!({"name": "   "}), Some("name")),
        // Optional means "may be left out", not "may be null".
        (json!({"name": "ci", "expires_at": null}), None),
    ] {
        let reply = app
            .post("/api/v1/auth/tokens", &session, body.clone())
            .await;
        assert_eq!(
            (reply.status, reply.body["code"].as_str()),
            (422, Some("validation_failed")),
            "{body}: {:?}",
            reply.body
        );
        if let Some(field) = field {
            assert_eq!(reply.body["errors"][0]["field"], field, "{body}");
        }
    }
    let listed = app.get("/api/v1/auth/tokens", &session).await;
    assert_eq!(
        listed.body.as_array().unwrap().len(),
        1,
        "{:?}",
        listed.body
    );
    // Not yet expired, used or revoked: those fields are absent, not null.
    let fresh = app
        .post("/api/v1/auth/tokens", &session, json!({"name": "fresh"}))
        .await;
    for absent in ["expires_at", "last_used_at", "revoked_at"] {
        assert!(
            fresh.body["details"].get(absent).is_none(),
            "{:?}",
            fresh.body
        );
    }
}

/// The caller's own session goes on with the token the change returns;
/// every other session and every API token of the user ends.
async fn changing_ones_password_ends_other_sessions(stack: Stack) {
    let Some(env) = TestEnv::new(stack).await else {
        return;
    };
    let app = env.spawn().await;
    let admin = app.admin_token().await;
    let (_, caller) = app.user_with_role(&admin, "carol", "viewer").await;
    let other_session = app.token("carol", "carol-password").await;
    let api_token = app
        .post("/api/v1/auth/tokens", &caller, json!({"name": "script"}))
        .await
        .body["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let wrong = app
        .post(
            "/api/v1/auth/password",
            &caller,
            json!({"current_password": "nope", "new_password": "a-new-password-1"}),
        )
        .await;
    // Refused, but the session stays (not 401) and nothing was malformed (not 422).
    assert_eq!(
        (wrong.status, wrong.body["code"].as_str()),
        (403, Some("wrong_current_password"))
    );
    assert_eq!(app.get("/api/v1/auth/me", &caller).await.status, 200);
    let short = app
        .post(
            "/api/v1/auth/password",
            &caller,
            json!({"current_password": "carol-password", "new_password": "short"}),
        )
        .await;
    assert_eq!(short.status, 422);
    let ok = app
        .post(
            "/api/v1/auth/password",
            &caller,
            json!({"current_password": "carol-password", "new_password": "a-new-password-1"}),
        )
        .await;
    assert_eq!(ok.status, 200, "{:?}", ok.body);
    let renewed = ok.body["access_token"].as_str().unwrap();
    let me = app.get("/api/v1/auth/me", renewed).await;
    assert_eq!(
        (me.status, me.body["username"].as_str()),
        (200, Some("carol")),
        "the caller goes on with the returned session"
    );
    assert_eq!(app.get("/api/v1/auth/me", &other_session).await.status, 401);
    assert_eq!(
        app.get("/api/v1/auth/me", &caller).await.status,
        401,
        "the token the change was made with is replaced"
    );
    assert_eq!(
        app.get("/api/v1/auth/me", &api_token).await.status,
        401,
        "a password change revokes API tokens"
    );
    assert_eq!(app.login("carol", "carol-password").await.status, 401);
    assert_eq!(app.login("carol", "a-new-password-1").await.status, 200);
}

/// The key-value store is a cache: a logout is kept in the database, so a
/// replica whose store is empty (Redis restarted with nothing kept, a fresh
/// in-process store) still refuses the token.
async fn logout_survives_an_emptied_key_value_store(stack: Stack) {
    let Some(env) = TestEnv::new(stack).await else {
        return;
    };
    let app = env.spawn().await;
    let token = app.admin_token().await;
    let other = app.admin_token().await;
    assert_eq!(
        app.call("POST", "/api/v1/auth/logout", Some(&token), None)
            .await
            .status,
        204
    );
    // Same database, nothing in the store: a new Redis namespace on the
    // shared stack, a new in-process store on the embedded one.
    let restarted = env
        .spawn_with(|s| s.redis.key_prefix = format!("{}-restarted", s.redis.key_prefix))
        .await;
    let reply = restarted.get("/api/v1/auth/me", &token).await;
    assert_eq!(
        (reply.status, reply.body["code"].as_str()),
        (401, Some("token_revoked"))
    );
    assert_eq!(restarted.get("/api/v1/auth/me", &other).await.status, 200);
}

/// A revocation is kept until the token would have expired, then pruned by
/// the users module's `revoked_token_prune` job.
async fn revocations_are_pruned_once_the_token_has_expired(stack: Stack) {
    let Some(env) = TestEnv::new(stack).await else {
        return;
    };
    let app = env.spawn().await;
    let token = app.admin_token().await;
    assert_eq!(
        app.call("POST", "/api/v1/auth/logout", Some(&token), None)
            .await
            .status,
        204
    );
    let count = || async {
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM kernel_revoked_token")
            .fetch_one(app.kernel.db.pool())
            .await
            .unwrap()
    };
    assert_eq!(count().await, 1);
    aegis_mod_users::jobs::revoked_token_prune(app.kernel.clone())
        .await
        .unwrap();
    assert_eq!(count().await, 1, "the token has not expired yet");
    app.kernel
        .clock
        .advance(chrono::Duration::minutes(720) + chrono::Duration::seconds(5));
    let summary = aegis_mod_users::jobs::revoked_token_prune(app.kernel.clone())
        .await
        .unwrap();
    assert_eq!(count().await, 0, "{summary}");
}

/// A password reset ends every session issued before it, even one whose
/// `iat` (whole seconds) equals the reset's second.
async fn a_password_reset_ends_sessions_from_the_same_second(stack: Stack) {
    let Some(env) = TestEnv::new(stack).await else {
        return;
    };
    let app = env.spawn().await;
    let admin = app.admin_token().await;
    let (id, before) = app.user_with_role(&admin, "dora", "viewer").await;
    let reset = app
        .post(
            &format!("/api/v1/users/{id}/reset-password"),
            &admin,
            json!({"password": "dora-new-password"}),
        )
        .await;
    assert_eq!(reset.status, 200, "{:?}", reset.body);
    // The session issued before the reset, with its `iat` in the reset's
    // second (or later): whole seconds cannot tell them apart.
    let mut claims: serde_json::Value = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(before.split('.').nth(1).unwrap())
            .unwrap(),
    )
    .unwrap();
    claims["iat"] = json!(app.kernel.clock.now().timestamp());
    let same_second = forge(claims, Algorithm::HS256, SECRET_KEY);
    for token in [&before, &same_second] {
        let reply = app.get("/api/v1/auth/me", token).await;
        assert_eq!(
            (reply.status, reply.body["code"].as_str()),
            (401, Some("token_revoked"))
        );
    }
    let after = app.token("dora", "dora-new-password").await;
    assert_eq!(app.get("/api/v1/auth/me", &after).await.status, 200);
}

stack_tests!(
    login_returns_a_bearer_token_and_a_hardened_cookie,
    production_cookies_are_secure,
    wrong_passwords_and_unknown_users_are_refused_alike,
    bad_tokens_are_refused,
    logout_blacklists_the_token,
    repeated_failures_are_throttled_with_retry_after,
    cookie_sessions_need_the_csrf_header_for_changes,
    personal_api_tokens_are_shown_once_listed_and_revocable,
    changing_ones_password_ends_other_sessions,
    logout_survives_an_emptied_key_value_store,
    revocations_are_pruned_once_the_token_has_expired,
    a_password_reset_ends_sessions_from_the_same_second,
);

shared_only_tests!(logout_reaches_every_replica_through_redis);

mod cors {
    use crate::helpers::{Stack, TestEnv};

    /// Production answers CORS only for configured origins.
    #[tokio::test]
    async fn production_cors_admits_only_configured_origins() {
        let Some(env) = TestEnv::new(Stack::Embedded).await else {
            return;
        };
        let app = env
            .spawn_with(|s| {
                s.env = aegis_core::config::Environment::Production;
                s.http.cors_origins = vec!["https://aegis.example".into()];
            })
            .await;
        let preflight = |origin: &'static str| {
            app.client
                .request(reqwest::Method::OPTIONS, app.url("/api/v1/auth/me"))
                .header("Origin", origin)
                .header("Access-Control-Request-Method", "GET")
                .send()
        };
        let allowed = preflight("https://aegis.example").await.unwrap();
        assert_eq!(
            allowed
                .headers()
                .get("access-control-allow-origin")
                .unwrap(),
            "https://aegis.example"
        );
        let refused = preflight("https://evil.example").await.unwrap();
        assert!(
            refused
                .headers()
                .get("access-control-allow-origin")
                .is_none()
        );
    }
}
