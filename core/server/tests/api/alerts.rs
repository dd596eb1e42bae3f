//! Alert rules on both stacks: each built-in kind as a table with an
//! explicit clock, deduplication while open, a plugin kind through the host
//! (and a failing one that stops no other rule), acknowledge and resolve,
//! the role matrix, and signed webhooks with a retry on 500 against a
//! receiver started here.

use std::sync::{Arc, Mutex};

use aegis_core::time::Timestamp;
use aegis_mod_alerts::AlertService;
use aegis_mod_alerts::model::Rule;
use aegis_mod_alerts::webhook::{SIGNATURE_HEADER, TIMESTAMP_HEADER, sign};
use aegis_mod_coverage::CoverageService;
use aegis_mod_plugins::PluginService;
use aegis_plugin_host::WasmHost;
use serde_json::{Value, json};

use crate::helpers::{Stack, TestApp, TestEnv, shared_data};
use crate::plugins::{component, upload};
use crate::stack_tests;
use crate::test_cases::{MINI, load_catalog, revoke_in_catalog, test_in_state};
use crate::test_coverage::{assert_page_limits, completed, nulls};

/// The service as the job runs it, over the app's database and storage.
fn service(app: &TestApp) -> AlertService {
    let host = WasmHost::new(
        &app.kernel
            .settings
            .section::<aegis_core::plugins::PluginSettings>(),
        app.kernel.storage.clone(),
    )
    .unwrap();
    let plugins = PluginService::new(app.kernel.clone(), Arc::new(host));
    AlertService::new(
        app.kernel.clone(),
        CoverageService::new(
            app.kernel.clone(),
            aegis_mod_techniques::CatalogService::new(&app.kernel),
        ),
        plugins,
    )
}

async fn rule(app: &TestApp, token: &str, body: Value) -> Rule {
    let reply = app.post("/api/v1/alert-rules", token, body).await;
    assert_eq!(reply.status, 201, "{:?}", reply.body);
    service(app)
        .rule(reply.body["id"].as_str().unwrap())
        .await
        .unwrap()
}

fn at(text: &str) -> Timestamp {
    chrono::DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&chrono::Utc)
}

async fn open_titles(app: &TestApp, token: &str, rule_id: &str) -> Vec<String> {
    let page = app
        .get(
            &format!("/api/v1/alerts?rule_id={rule_id}&status=open"),
            token,
        )
        .await;
    let mut titles: Vec<String> = page.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["title"].as_str().unwrap().to_owned())
        .collect();
    titles.sort();
    titles
}

async fn each_builtin_kind_fires_when_it_should(stack: Stack) {
    let Some(env) = TestEnv::new(stack).await else {
        return;
    };
    let app = env.spawn().await;
    let mini = shared_data(MINI);
    load_catalog(&app, &mini).await;
    let admin = app.admin_token().await;
    let alerts = service(&app);

    // Data: a test in blue review, a procedure that regressed, one test on a
    // technique MITRE then revokes; a snapshot taken while T1003.001 was covered.
    let waiting = test_in_state(&app, &admin, "blue_evaluating").await;
    completed(
        &app,
        &admin,
        "T1003.001",
        "dump lsass",
        "alerted",
        0,
        5,
        json!({}),
    )
    .await;
    completed(&app, &admin, "T1059.007", "js", "alerted", 5, 5, json!({})).await;
    let snapshot = app
        .post("/api/v1/coverage/snapshots", &admin, json!({}))
        .await;
    assert_eq!(snapshot.status, 201, "{:?}", snapshot.body);
    let missed = completed(
        &app,
        &admin,
        "T1003.001",
        "dump lsass",
        "not_detected",
        30,
        0,
        json!({}),
    )
    .await;
    revoke_in_catalog(&app, &mini, "T1059.007", "T1059.001").await;
    let submitted = at(waiting["updated_at"].as_str().unwrap());

    let hours = |h: i64| submitted + chrono::Duration::hours(h);
    // (kind, params, evaluated at, titles expected)
    let table: Vec<(&str, Value, Timestamp, Vec<String>)> = vec![
        (
            "blue_review_overdue",
            json!({"hours": 24}),
            hours(2),
            vec![],
        ),
        (
            "blue_review_overdue",
            json!({"hours": 24}),
            hours(30),
            vec!["Blue review overdue: test in blue_evaluating".into()],
        ),
        (
            "technique_regressed",
            json!({}),
            hours(1),
            // Alerts name matrix cells: the parent, as the heatmap shows it.
            vec!["Technique regressed: T1003".into()],
        ),
        (
            "technique_stale",
            json!({"days": 90}),
            hours(24 * 10),
            vec![],
        ),
        (
            "technique_stale",
            json!({"days": 90}),
            hours(24 * 400),
            vec!["Not re-tested: T1003".into()],
        ),
        (
            "revoked_technique",
            json!({}),
            hours(1),
            vec!["Tests on revoked technique T1059.007".into()],
        ),
        (
            "coverage_drop",
            json!({"points": 0.1}),
            hours(1),
            vec![
                "Coverage dropped: overall".into(),
                "Coverage dropped: tactic credential-access".into(),
                // T1059 was covered through T1059.007 alone, now revoked.
                "Coverage dropped: tactic execution".into(),
            ],
        ),
        // Overall fell 40 points (two of five cells), each tactic 100.
        (
            "coverage_drop",
            json!({"points": 50}),
            hours(1),
            vec![
                "Coverage dropped: tactic credential-access".into(),
                "Coverage dropped: tactic execution".into(),
            ],
        ),
        (
            "coverage_drop",
            json!({"points": 0.1}),
            hours(1),
            vec!["Coverage dropped: tactic credential-access".into()],
        ),
    ];
    for (i, (kind, params, now, expected)) in table.into_iter().enumerate() {
        let mut input = json!({"name": format!("rule {i}"), "kind": kind, "params": params});
        if i == 8 {
            input["tactic"] = json!("credential-access");
        }
        let r = rule(&app, &admin, input).await;
        let evaluation = alerts.evaluate(&r, "manual", now).await.unwrap();
        assert_eq!(evaluation.error, None, "{kind}");
        assert_eq!(
            open_titles(&app, &admin, &r.id).await,
            expected,
            "{kind} at {now}"
        );
        assert_eq!(evaluation.opened as usize, expected.len(), "{kind}");
        if kind == "technique_regressed" {
            // The alert names the test that missed, so the inbox links to it.
            let page = app
                .get(&format!("/api/v1/alerts?rule_id={}", r.id), &admin)
                .await;
            let alert = &page.body["items"][0];
            assert_eq!(alert["test_ids"], json!([missed["id"]]), "{alert:?}");
            assert_eq!(alert["technique_ids"], json!(["T1003", "T1003.001"]));
        }
    }
}

async fn an_open_finding_opens_no_second_alert(stack: Stack) {
    let Some(env) = TestEnv::new(stack).await else {
        return;
    };
    let app = env.spawn().await;
    load_catalog(&app, &shared_data(MINI)).await;
    let admin = app.admin_token().await;
    let (_, red) = app.user_with_role(&admin, "red-one", "red_tech").await;
    let (_, viewer) = app.user_with_role(&admin, "viewer-one", "viewer").await;
    let waiting = test_in_state(&app, &admin, "blue_evaluating").await;
    let late = at(waiting["updated_at"].as_str().unwrap()) + chrono::Duration::hours(48);
    let r = rule(
        &app,
        &admin,
        json!({"name": "overdue", "kind": "blue_review_overdue", "severity": "high"}),
    )
    .await;
    let alerts = service(&app);
    assert_eq!(alerts.evaluate(&r, "manual", late).await.unwrap().opened, 1);
    let again = alerts.evaluate(&r, "manual", late).await.unwrap();
    assert_eq!((again.findings, again.opened), (1, 0));

    let inbox = app.get("/api/v1/alerts?status=open", &viewer).await;
    assert_eq!(inbox.body["total"], 1);
    let alert = &inbox.body["items"][0];
    assert_eq!(alert["severity"], "high");
    assert_eq!(alert["test_ids"], json!([waiting["id"]]));
    let id = alert["id"].as_str().unwrap();
    assert_eq!(
        app.post(
            &format!("/api/v1/alerts/{id}/acknowledge"),
            &viewer,
            json!({})
        )
        .await
        .status,
        403
    );
    let acked = app
        .post(&format!("/api/v1/alerts/{id}/acknowledge"), &red, json!({}))
        .await;
    assert_eq!(
        (
            acked.body["status"].as_str(),
            acked.body["acknowledged_by"].as_str()
        ),
        (Some("acknowledged"), Some("red-one"))
    );
    assert_eq!(
        alerts.evaluate(&r, "manual", late).await.unwrap().opened,
        0,
        "acknowledged is still open"
    );
    let twice = app
        .post(&format!("/api/v1/alerts/{id}/acknowledge"), &red, json!({}))
        .await;
    assert_eq!(
        (twice.status, twice.body["code"].as_str()),
        (409, Some("alert_wrong_state"))
    );
    let resolved = app
        .post(&format!("/api/v1/alerts/{id}/resolve"), &admin, json!({}))
        .await;
    assert_eq!(
        (
            resolved.body["status"].as_str(),
            resolved.body["resolved_by"].as_str()
        ),
        (Some("resolved"), Some("admin"))
    );
    // Resolved, the same finding may open a new alert.
    assert_eq!(alerts.evaluate(&r, "manual", late).await.unwrap().opened, 1);

    let history = app
        .get(
            &format!("/api/v1/alert-evaluations?rule_id={}", r.id),
            &viewer,
        )
        .await;
    assert_eq!(history.body["total"], 4);
    let now = app
        .post(
            &format!("/api/v1/alert-rules/{}/evaluate", r.id),
            &admin,
            json!({}),
        )
        .await;
    assert_eq!(
        (now.status, now.body["trigger"].as_str()),
        (200, Some("manual"))
    );

    // Deleting the rule takes its alerts and history with it; an evaluation
    // still running then records nothing, instead of failing or orphaning rows.
    assert_eq!(
        app.call(
            "DELETE",
            &format!("/api/v1/alert-rules/{}", r.id),
            Some(&admin),
            None
        )
        .await
        .status,
        204
    );
    assert_eq!(
        app.get(&format!("/api/v1/alerts?rule_id={}", r.id), &admin)
            .await
            .body["total"],
        0
    );
    assert_eq!(
        app.get(
            &format!("/api/v1/alert-evaluations?rule_id={}", r.id),
            &admin
        )
        .await
        .body["total"],
        0
    );
    let repo = aegis_mod_alerts::repo::AlertRepo::new(app.kernel.db.clone());
    let late_alert = aegis_mod_alerts::model::Alert {
        id: uuid::Uuid::now_v7().to_string(),
        rule_id: r.id.clone(),
        severity: aegis_core::plugins::Severity::High,
        title: "late".into(),
        message: String::new(),
        technique_ids: Vec::new(),
        test_ids: Vec::new(),
        status: aegis_mod_alerts::model::AlertStatus::Open,
        opened_at: late,
        acknowledged_at: None,
        acknowledged_by: None,
        resolved_at: None,
        resolved_by: None,
    };
    let mut conn = app.kernel.db.pool().acquire().await.unwrap();
    assert!(
        !repo
            .open_alert(&mut conn, &late_alert, "fingerprint")
            .await
            .unwrap()
    );
    let late_evaluation = aegis_mod_alerts::model::Evaluation {
        id: uuid::Uuid::now_v7().to_string(),
        rule_id: r.id.clone(),
        trigger: "schedule".into(),
        started_at: late,
        duration_ms: 1,
        findings: 1,
        opened: 0,
        error: None,
    };
    repo.record_evaluation(&mut conn, &late_evaluation)
        .await
        .unwrap();
    drop(conn);
    assert_eq!(
        app.get(
            &format!("/api/v1/alert-evaluations?rule_id={}", r.id),
            &admin
        )
        .await
        .body["total"],
        0
    );
}

async fn rules_are_validated_and_managed_by_leads(stack: Stack) {
    let Some(env) = TestEnv::new(stack).await else {
        return;
    };
    let app = env.spawn().await;
    let admin = app.admin_token().await;
    let (_, lead) = app.user_with_role(&admin, "lead-one", "lead").await;
    let (_, blue) = app.user_with_role(&admin, "blue-one", "blue_tech").await;
    let bad = [
        (json!({"name": "x", "kind": "nonsense"}), "kind"),
        (
            json!({"name": "x", "kind": "blue_review_overdue", "params": {"hours": 0}}),
            "params/hours",
        ),
        (
            json!({"name": "x", "kind": "technique_stale", "params": {"weeks": 3}}),
            "params",
        ),
        (
            json!({"name": "x", "kind": "technique_regressed", "webhook_url": "https://93.184.216.34/x"}),
            "webhook_secret",
        ),
        (
            json!({"name": "x", "kind": "technique_regressed", "webhook_url": "http://169.254.169.254/latest", "webhook_secret": "0123456789abcdef"}),
            "webhook_url",
        ),
        (
            json!({"name": "x", "kind": "technique_regressed", "webhook_url": "http://127.0.0.1:6379/", "webhook_secret": "0123456789abcdef"}),
            "webhook_url",
        ),
    ];
    for (body, field) in bad {
        let reply = app.post("/api/v1/alert-rules", &lead, body.clone()).await;
        assert_eq!(reply.status, 422, "{body}: {:?}", reply.body);
        let fields: Vec<&str> = reply.body["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["field"].as_str().unwrap())
            .collect();
        assert!(fields.contains(&field), "{body}: {fields:?}");
    }
    // What the document declares (a name of 1 to 200 characters, not only
    // spaces; an http(s) webhook URL) is refused before the handler runs.
    for (body, field) in [
        (json!({"name": "", "kind": "technique_regressed"}), "name"),
        (json!({"name": "  ", "kind": "technique_regressed"}), "name"),
        (
            json!({"name": "x".repeat(201), "kind": "technique_regressed"}),
            "name",
        ),
        (
            json!({"name": "x", "kind": "technique_regressed", "webhook_url": "ftp://h"}),
            "webhook_url",
        ),
    ] {
        let reply = app.post("/api/v1/alert-rules", &lead, body.clone()).await;
        assert_eq!(reply.status, 422, "{body}: {:?}", reply.body);
        assert!(
            reply.body["detail"].as_str().unwrap().contains(field),
            "{body}: {:?}",
            reply.body
        );
    }
    // The limit counts characters, as the document's `maxLength` does.
    let accented = app
        .post(
            "/api/v1/alert-rules",
            &lead,
            json!({"name": "é".repeat(200), "kind": "technique_regressed"}),
        )
        .await;
    assert_eq!(accented.status, 201, "{:?}", accented.body);
    // A public address written as an IP, so no name lookup is needed here.
    let body = json!({"name": "regressions", "kind": "technique_regressed", "webhook_url": "https://93.184.216.34/a", "webhook_secret": "0123456789abcdef"});
    assert_eq!(
        app.post("/api/v1/alert-rules", &blue, body.clone())
            .await
            .status,
        403
    );
    let created = app.post("/api/v1/alert-rules", &lead, body).await;
    assert_eq!(created.status, 201);
    assert_eq!(created.body["webhook_secret_set"], true);
    assert!(
        created.body.get("webhook_secret").is_none(),
        "the secret is never returned"
    );
    assert!(
        created.body.get("webhook_url").is_none(),
        "nor the URL, often a credential itself"
    );
    assert_eq!(created.body["webhook"], "https://93.184.216.34/…");
    let path = format!(
        "/api/v1/alert-rules/{}",
        created.body["id"].as_str().unwrap()
    );
    assert_eq!(app.get(&path, &blue).await.status, 200);
    let no_version = app
        .call(
            "PUT",
            &path,
            Some(&lead),
            Some(json!({"name": "r", "kind": "technique_regressed"})),
        )
        .await;
    assert_eq!(no_version.status, 428);
    let rename = json!({"name": "r", "kind": "technique_regressed"});
    let malformed = app
        .send(
            app.request("PUT", &path, &lead)
                .header("If-Match", "the latest")
                .json(&rename),
        )
        .await;
    assert_eq!(malformed.status, 422, "{:?}", malformed.body);
    // An unknown rule is a 404 before its version is looked at.
    let unknown = app
        .send(
            app.request(
                "PUT",
                &format!("/api/v1/alert-rules/{}", uuid::Uuid::now_v7()),
                &lead,
            )
            .header("If-Match", "\"1\"")
            .json(&json!({"version": 2, "name": "r", "kind": "technique_regressed"})),
        )
        .await;
    assert_eq!(unknown.status, 404, "{:?}", unknown.body);
    let renamed = app
        .call(
            "PUT",
            &path,
            Some(&lead),
            Some(json!({"version": 1, "name": "renamed", "kind": "technique_regressed"})),
        )
        .await;
    assert_eq!(
        (renamed.status, renamed.body["webhook_secret_set"].as_bool()),
        (200, Some(true)),
        "{:?}",
        renamed.body
    );
    assert_eq!(
        renamed.body["webhook"], "https://93.184.216.34/…",
        "an omitted webhook is kept"
    );
    let moved = app
        .call("PUT", &path, Some(&lead), Some(json!({"version": 2, "name": "renamed", "kind": "technique_regressed", "webhook_url": "https://93.184.216.35/b"})))
        .await;
    assert_eq!(
        (moved.status, moved.body["errors"][0]["field"].as_str()),
        (422, Some("webhook_secret")),
        "a new URL needs a new secret"
    );
    let unhooked = app
        .call("PUT", &path, Some(&lead), Some(json!({"version": 2, "name": "renamed", "kind": "technique_regressed", "webhook_url": ""})))
        .await;
    assert_eq!(
        (
            unhooked.body.get("webhook"),
            unhooked.body["webhook_secret_set"].as_bool()
        ),
        (None, Some(false)),
        "{:?}",
        unhooked.body
    );
    assert_eq!(
        app.call("DELETE", &path, Some(&blue), None).await.status,
        403
    );
    assert_eq!(
        app.call("DELETE", &path, Some(&lead), None).await.status,
        204
    );
    let kinds = app.get("/api/v1/alert-kinds", &blue).await;
    let ids: Vec<&str> = kinds
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            "coverage_drop",
            "technique_regressed",
            "blue_review_overdue",
            "technique_stale",
            "revoked_technique"
        ]
    );
}

async fn plugin_kinds_run_through_the_host_and_a_failing_rule_stops_no_other(stack: Stack) {
    let Some(env) = TestEnv::new(stack).await else {
        return;
    };
    let app = env.spawn().await;
    load_catalog(&app, &shared_data(MINI)).await;
    let admin = app.admin_token().await;
    let overdue = upload(
        &app,
        &admin,
        "alert_rule",
        "o.wasm",
        component("blue-review-overdue"),
    )
    .await;
    let hostile = upload(&app, &admin, "alert_rule", "h.wasm", component("hostile")).await;
    let kinds = app.get("/api/v1/alert-kinds", &admin).await;
    let plugin_kind = format!("plugin:{}", overdue.body["id"].as_str().unwrap());
    let listed = kinds
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["id"] == plugin_kind.as_str())
        .expect("plugin kind listed");
    assert_eq!(
        listed["params_schema"]["properties"]["hours"]["default"],
        24
    );
    assert_eq!(listed["source"], "plugin");

    let waiting = test_in_state(&app, &admin, "blue_evaluating").await;
    let late = at(waiting["updated_at"].as_str().unwrap()) + chrono::Duration::hours(30);
    let bad_params = app
        .post(
            "/api/v1/alert-rules",
            &admin,
            json!({"name": "p", "kind": plugin_kind, "params": {"hours": "soon"}}),
        )
        .await;
    assert_eq!(bad_params.status, 422);
    let failing = rule(&app, &admin, json!({"name": "a failing plugin", "kind": format!("plugin:{}", hostile.body["id"].as_str().unwrap()), "params": {"mode": "trap"}})).await;
    let working = rule(&app, &admin, json!({"name": "b plugin rule", "kind": plugin_kind, "params": {"hours": 24, "severity": "critical"}})).await;
    let builtin = rule(
        &app,
        &admin,
        json!({"name": "c built-in", "kind": "blue_review_overdue"}),
    )
    .await;

    let done = service(&app).evaluate_all(late).await.unwrap();
    assert_eq!(done.len(), 3);
    assert!(
        done[0].error.as_deref().unwrap().contains("trapped"),
        "{:?}",
        done[0].error
    );
    assert_eq!((done[1].opened, done[2].opened), (1, 1));
    let recorded = app
        .get(&format!("/api/v1/alert-rules/{}", failing.id), &admin)
        .await;
    assert!(
        recorded.body["last_error"]
            .as_str()
            .unwrap()
            .contains("trapped")
    );
    let from_plugin = app
        .get(&format!("/api/v1/alerts?rule_id={}", working.id), &admin)
        .await;
    assert_eq!(from_plugin.body["items"][0]["severity"], "critical");
    assert_eq!(
        from_plugin.body["items"][0]["test_ids"],
        json!([waiting["id"]])
    );
    assert_eq!(open_titles(&app, &admin, &builtin.id).await.len(), 1);
}

type Seen = Arc<Mutex<Vec<(poem::http::HeaderMap, String)>>>;

/// A receiver that answers 500 to the first delivery and 200 after, and
/// keeps every request's headers and body.
async fn receiver() -> (String, Seen) {
    use poem::{EndpointExt, Route, handler, post};
    let seen: Seen = Arc::default();
    #[handler]
    async fn hook(
        request: &poem::Request,
        body: String,
        seen: poem::web::Data<&Seen>,
    ) -> poem::http::StatusCode {
        let mut all = seen.lock().unwrap();
        all.push((request.headers().clone(), body));
        if all.len() == 1 {
            poem::http::StatusCode::INTERNAL_SERVER_ERROR
        } else {
            poem::http::StatusCode::OK
        }
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let app = Route::new().at("/hook", post(hook)).data(seen.clone());
    let acceptor = poem::listener::TcpAcceptor::from_tokio(listener).unwrap();
    tokio::spawn(poem::Server::new_with_acceptor(acceptor).run(app));
    (url, seen)
}

async fn webhooks_are_signed_and_retried(stack: Stack) {
    let Some(env) = TestEnv::new(stack).await else {
        return;
    };
    // The receiver listens on loopback, which webhooks may reach only when allowed.
    let app = env
        .spawn_with(|s| {
            s.update_section(|a: &mut aegis_mod_alerts::AlertSettings| {
                a.webhook_allow_private_networks = true;
            });
        })
        .await;
    load_catalog(&app, &shared_data(MINI)).await;
    let admin = app.admin_token().await;
    let (url, seen) = receiver().await;
    let secret = "a-webhook-secret-of-some-length";
    let waiting = test_in_state(&app, &admin, "blue_evaluating").await;
    let late = at(waiting["updated_at"].as_str().unwrap()) + chrono::Duration::hours(30);
    let r = rule(&app, &admin, json!({"name": "hooked", "kind": "blue_review_overdue", "webhook_url": url, "webhook_secret": secret})).await;
    assert_eq!(
        service(&app)
            .evaluate(&r, "manual", late)
            .await
            .unwrap()
            .opened,
        1
    );
    // Delivery runs beside the evaluation; wait for its record.
    let mut delivered = None;
    for _ in 0..100 {
        let row: Option<(i64, i64, Option<i64>)> = sqlx::query_as(
            "SELECT attempts, delivered, status_code FROM alerts_delivery WHERE rule_id = $1",
        )
        .bind(&r.id)
        .fetch_optional(app.kernel.db.pool())
        .await
        .unwrap();
        if row.is_some() {
            delivered = row;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(
        delivered,
        Some((2, 1, Some(200))),
        "one 500, then delivered"
    );
    let listed = app
        .get(&format!("/api/v1/alert-rules/{}/deliveries", r.id), &admin)
        .await;
    assert_eq!(listed.body["total"], 1, "{:?}", listed.body);
    assert_eq!(
        (
            listed.body["items"][0]["attempts"].as_i64(),
            listed.body["items"][0]["delivered"].as_bool()
        ),
        (Some(2), Some(true))
    );
    let (_, viewer) = app.user_with_role(&admin, "viewer-hooks", "viewer").await;
    assert_eq!(
        app.get(&format!("/api/v1/alert-rules/{}/deliveries", r.id), &viewer)
            .await
            .status,
        403
    );
    let requests = seen.lock().unwrap().clone();
    assert_eq!(requests.len(), 2);
    for (headers, body) in &requests {
        let stamp = headers[TIMESTAMP_HEADER].to_str().unwrap();
        assert_eq!(
            headers[SIGNATURE_HEADER].to_str().unwrap(),
            sign(secret, stamp, body)
        );
        let payload: Value = serde_json::from_str(body).unwrap();
        assert!(
            payload["text"]
                .as_str()
                .unwrap()
                .starts_with("[medium] Blue review overdue")
        );
        assert_eq!(payload["alert"]["test_ids"], json!([waiting["id"]]));
        assert_eq!(payload["rule"]["id"], r.id.as_str());
    }
}

async fn alert_answers_are_as_documented(stack: Stack) {
    let Some(env) = TestEnv::new(stack).await else {
        return;
    };
    let app = env.spawn().await;
    let admin = app.admin_token().await;
    load_catalog(&app, &shared_data(MINI)).await;
    // A rule on everything, without webhook, never evaluated: its scope,
    // webhook, last evaluation and last error are left out, not null.
    let created = app
        .post(
            "/api/v1/alert-rules",
            &admin,
            json!({"name": "regressions", "kind": "technique_regressed"}),
        )
        .await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    assert_eq!(nulls(&created.body), Vec::<String>::new());
    for absent in ["campaign_id", "tactic", "webhook", "last_evaluated_at"] {
        assert!(created.body.get(absent).is_none(), "{absent}");
    }
    let id = created.body["id"].as_str().unwrap();
    let evaluation = app
        .post(
            &format!("/api/v1/alert-rules/{id}/evaluate"),
            &admin,
            json!({}),
        )
        .await;
    assert_eq!(evaluation.status, 200, "{:?}", evaluation.body);
    assert!(
        evaluation.body.get("error").is_none(),
        "{:?}",
        evaluation.body
    );
    for path in [
        "/api/v1/alert-rules",
        "/api/v1/alert-evaluations",
        "/api/v1/alerts",
    ] {
        let reply = app.get(path, &admin).await;
        assert_eq!(reply.status, 200, "{path}");
        assert_eq!(nulls(&reply.body), Vec::<String>::new(), "{path}");
    }
    for path in [
        "/api/v1/alert-evaluations".to_owned(),
        "/api/v1/alerts".to_owned(),
        format!("/api/v1/alert-rules/{id}/deliveries"),
    ] {
        let reply = app.get(&format!("{path}?limit=0"), &admin).await;
        assert_eq!(reply.status, 422, "{path}");
    }
    assert_page_limits(&app, &admin, "/api/v1/alerts").await;
    assert_page_limits(&app, &admin, "/api/v1/alert-evaluations").await;

    // The document: a severity is a plain reference (generators refuse
    // `allOf` around one), If-Match is a version, unknown fields are refused.
    let doc = app
        .call("GET", "/api/v1/openapi.json", None, None)
        .await
        .body;
    let input = &doc["components"]["schemas"]["AlertRuleInput"];
    assert_eq!(
        input["properties"]["severity"],
        json!({"$ref": "#/components/schemas/Severity"})
    );
    let put = &doc["paths"]["/api/v1/alert-rules/{id}"]["put"];
    let if_match = put["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "If-Match")
        .unwrap();
    assert!(if_match["schema"]["pattern"].is_string(), "{if_match}");
    for status in ["400", "412", "428"] {
        assert!(put["responses"][status].is_object(), "PUT answers {status}");
    }
    let unknown = app
        .post(
            "/api/v1/alert-rules",
            &admin,
            json!({"name": "x", "kind": "technique_regressed", "colour": "red"}),
        )
        .await;
    assert_eq!(unknown.status, 422, "{:?}", unknown.body);
}

stack_tests!(
    alert_answers_are_as_documented,
    each_builtin_kind_fires_when_it_should,
    an_open_finding_opens_no_second_alert,
    rules_are_validated_and_managed_by_leads,
    plugin_kinds_run_through_the_host_and_a_failing_rule_stops_no_other,
    webhooks_are_signed_and_retried,
);
