use serde_json::json;

use crate::helpers::{Stack, TestEnv};
use crate::stack_tests;

async fn logins_logouts_failures_and_user_changes_are_audited(stack: Stack) {
    let Some(env) = TestEnv::new(stack).await else {
        return;
    };
    let app = env.spawn().await;
    let admin = app.admin_token().await;
    app.login("admin", "wrong-password").await;
    let (id, viewer) = app.user_with_role(&admin, "frank", "viewer").await;
    app.call(
        "PATCH",
        &format!("/api/v1/users/{id}"),
        Some(&admin),
        Some(json!({"display_name": "Frank"})),
    )
    .await;
    app.call("POST", "/api/v1/auth/logout", Some(&viewer), None)
        .await;

    let page = app.get("/api/v1/audit?limit=100", &admin).await;
    assert_eq!(page.status, 200);
    let actions: Vec<&str> = page.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for expected in [
        "user.bootstrap_admin",
        "auth.login",
        "auth.login_failed",
        "user.create",
        "user.update",
        "auth.logout",
    ] {
        assert!(
            actions.contains(&expected),
            "{expected} missing from {actions:?}"
        );
    }
    let update = page.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "user.update")
        .unwrap();
    assert_eq!(update["actor_name"], "admin");
    assert_eq!(update["detail"]["after"]["display_name"], "Frank");
    assert!(
        !page.body.to_string().contains("frank-password"),
        "no secret reaches the audit log"
    );

    let only_auth = app.get("/api/v1/audit?action=auth.", &admin).await;
    assert!(
        only_auth.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["action"].as_str().unwrap().starts_with("auth."))
    );
    assert_eq!(
        app.get("/api/v1/audit", &viewer).await.status,
        401,
        "the viewer logged out"
    );
    let (_, lead) = app.user_with_role(&admin, "gina", "lead").await;
    assert_eq!(app.get("/api/v1/audit", &lead).await.status, 403);
}

async fn scheduler_status_reports_job_runs(stack: Stack) {
    let Some(env) = TestEnv::new(stack).await else {
        return;
    };
    let app = env.spawn().await;
    let admin = app.admin_token().await;
    let before = app.get("/api/v1/system/scheduler-status", &admin).await;
    let job = &before
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|j| j["id"] == "audit_retention")
        .unwrap()
        .clone();
    assert_eq!(job["schedule"], "0 30 3 * * *");
    assert!(job["next_run_at"].is_string() && job["last_run_at"].is_null());

    let registry = aegis::modules::compose(&app.kernel).unwrap().jobs;
    let spec = registry.get("audit_retention").unwrap().spec.clone();
    assert!(aegis_core::scheduler::run_job(&app.kernel, &spec).await);
    let after = app.get("/api/v1/system/scheduler-status", &admin).await;
    let job = after
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|j| j["id"] == "audit_retention")
        .unwrap()
        .clone();
    assert_eq!(job["last_outcome"], "succeeded");
    assert!(job["last_duration_ms"].is_i64());
    assert!(job["last_message"].as_str().unwrap().contains("deleted 0"));
}

async fn cron_overrides_are_validated_and_can_disable_jobs(stack: Stack) {
    let Some(env) = TestEnv::new(stack).await else {
        return;
    };
    let mut jobs = std::collections::BTreeMap::new();
    jobs.insert("audit_retention".to_owned(), "every tuesday".to_owned());
    let kernel = aegis_core::Kernel::connect(aegis_core::config::Settings {
        jobs: jobs.clone(),
        ..env.settings.clone()
    })
    .await
    .unwrap();
    let error = aegis::modules::compose(&kernel)
        .err()
        .expect("a bad cron is refused")
        .to_string();
    assert!(error.contains("AEGIS_JOBS__AUDIT_RETENTION"), "{error}");
    jobs.insert("audit_retention".to_owned(), String::new());
    let kernel = aegis_core::Kernel::connect(aegis_core::config::Settings {
        jobs,
        ..env.settings.clone()
    })
    .await
    .unwrap();
    let registry = aegis::modules::compose(&kernel).unwrap().jobs;
    assert!(registry.get("audit_retention").unwrap().schedule.is_none());
}

/// Two replicas fire the same tick: the key-value lock lets one run it.
async fn a_tick_runs_once_across_replicas(stack: Stack) {
    let Some(env) = TestEnv::new(stack).await else {
        return;
    };
    let (first, second) = (env.spawn().await, env.spawn().await);
    let runs = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = runs.clone();
    let spec =
        aegis_core::scheduler::JobSpec::new("count_ticks", "0 * * * * *", "counts", move |_| {
            let counter = counter.clone();
            async move {
                counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                Ok("counted".into())
            }
        });
    // With the in-process store each replica has its own lock, so the embedded
    // stack fires the tick twice on one replica instead.
    let other = if stack == Stack::Shared {
        &second.kernel
    } else {
        &first.kernel
    };
    // Both replicas fire the same scheduled instant.
    let fired = aegis_core::time::now();
    let (a, b) = tokio::join!(
        aegis_core::scheduler::run_tick(&first.kernel, &spec, fired),
        aegis_core::scheduler::run_tick(other, &spec, fired)
    );
    assert!(a ^ b, "exactly one replica ran the tick ({a}, {b})");
    assert_eq!(runs.load(std::sync::atomic::Ordering::SeqCst), 1);
}

stack_tests!(
    a_tick_runs_once_across_replicas,
    logins_logouts_failures_and_user_changes_are_audited,
    scheduler_status_reports_job_runs,
    cron_overrides_are_validated_and_can_disable_jobs,
);
