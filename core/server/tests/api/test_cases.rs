//! Tests: the state machine for every transition × role × starting state,
//! the red/blue field matrix, versions under concurrency, history, filters
//! and revoked techniques.

use aegis_mod_techniques::SyncService;
use serde_json::{Value, json};

use crate::helpers::{Stack, TestApp, TestEnv, shared_data};
use crate::stack_tests;

pub const MINI: &str = "attack/fixtures/enterprise-attack-18.1-mini.json";
const ROLES: [&str; 5] = ["admin", "lead", "red_tech", "blue_tech", "viewer"];
const STATES: [&str; 5] = [
    "draft",
    "red_executing",
    "blue_evaluating",
    "completed",
    "cancelled",
];

pub async fn load_catalog(app: &TestApp, source: &str) {
    SyncService::new(app.kernel.clone())
        .run("test", source, &|_, _, _| {})
        .await
        .expect("catalog syncs");
}

/// One signed-in user per role; `tokens[i]` belongs to `ROLES[i]`.
pub struct Team {
    pub ids: Vec<String>,
    pub tokens: Vec<String>,
}

impl Team {
    pub async fn new(app: &TestApp) -> Self {
        let admin = app.admin_token().await;
        let me = app.get("/api/v1/auth/me", &admin).await;
        let mut ids = vec![me.body["id"].as_str().unwrap().to_owned()];
        let mut tokens = vec![admin.clone()];
        for role in &ROLES[1..] {
            let (id, token) = app
                .user_with_role(&admin, &format!("{}-member", role.replace('_', "-")), role)
                .await;
            ids.push(id);
            tokens.push(token);
        }
        Self { ids, tokens }
    }

    pub fn token(&self, role: &str) -> &str {
        &self.tokens[ROLES.iter().position(|r| *r == role).unwrap()]
    }

    pub fn id(&self, role: &str) -> &str {
        &self.ids[ROLES.iter().position(|r| *r == role).unwrap()]
    }
}

pub async fn create_test(app: &TestApp, token: &str, body: Value) -> Value {
    let reply = app.post("/api/v1/tests", token, body).await;
    assert_eq!(reply.status, 201, "{:?}", reply.body);
    reply.body
}

pub async fn patch(
    app: &TestApp,
    token: &str,
    id: &str,
    version: i64,
    body: Value,
) -> crate::helpers::Reply {
    app.send(
        app.request("PATCH", &format!("/api/v1/tests/{id}"), token)
            .header("If-Match", format!("\"{version}\""))
            .json(&body),
    )
    .await
}

/// The live OpenAPI document, to check it says what the server does.
pub async fn openapi(app: &TestApp) -> Value {
    let reply = app.call("GET", "/api/v1/openapi.json", None, None).await;
    assert_eq!(reply.status, 200);
    reply.body
}

/// Fails when a schema of the document wraps a `$ref` in `allOf`, which
/// generated clients refuse.
pub fn assert_no_all_of(doc: &Value, schemas: &[&str]) {
    for name in schemas {
        let schema = &doc["components"]["schemas"][*name];
        assert!(schema.is_object(), "{name} is in the document");
        assert!(!schema.to_string().contains("allOf"), "{name}: {schema}");
    }
}

pub async fn step(app: &TestApp, token: &str, id: &str, transition: &str) -> Value {
    let reply = app
        .post(
            &format!("/api/v1/tests/{id}/{transition}"),
            token,
            json!({}),
        )
        .await;
    assert_eq!(reply.status, 200, "{transition}: {:?}", reply.body);
    reply.body
}

/// A test brought to `state` by the admin, with both halves filled where
/// the state allows, so every precondition of the next transition holds.
pub async fn test_in_state(app: &TestApp, admin: &str, state: &str) -> Value {
    let test = create_test(
        app,
        admin,
        json!({
            "name": format!("test in {state}"),
            "technique_id": "T1003",
            "executed_at": "2026-11-01T10:00:00Z",
            "attack_outcome": "succeeded",
        }),
    )
    .await;
    let id = test["id"].as_str().unwrap().to_owned();
    let mut current = test;
    let path: &[&str] = match state {
        "draft" => &[],
        "red_executing" => &["start-execution"],
        "blue_evaluating" | "completed" => &["start-execution", "submit-to-blue"],
        "cancelled" => &["cancel"],
        other => panic!("unknown state {other}"),
    };
    for transition in path {
        current = step(app, admin, &id, transition).await;
    }
    if state == "completed" {
        let version = current["version"].as_i64().unwrap();
        let reply = patch(
            app,
            admin,
            &id,
            version,
            json!({"detection_outcome": "alerted", "detected_at": "2026-11-01T10:05:00Z"}),
        )
        .await;
        assert_eq!(reply.status, 200, "{:?}", reply.body);
        current = step(app, admin, &id, "complete").await;
    }
    if state == "blue_evaluating" {
        let version = current["version"].as_i64().unwrap();
        let reply = patch(
            app,
            admin,
            &id,
            version,
            json!({"detection_outcome": "logged"}),
        )
        .await;
        assert_eq!(reply.status, 200, "{:?}", reply.body);
        current = reply.body;
    }
    assert_eq!(current["state"], state);
    current
}

/// Syncs a later release of `bundle` in which `old` is revoked by `new`.
pub async fn revoke_in_catalog(app: &TestApp, bundle: &str, old: &str, new: &str) {
    let mut document: Value = serde_json::from_slice(&std::fs::read(bundle).unwrap()).unwrap();
    let objects = document["objects"].as_array_mut().unwrap();
    let stix_id = |objects: &Vec<Value>, attack_id: &str| -> String {
        objects
            .iter()
            .find(|o| {
                o["type"] == "attack-pattern"
                    && o["external_references"][0]["external_id"] == attack_id
            })
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let (old, new) = (stix_id(objects, old), stix_id(objects, new));
    let later = "2026-12-01T00:00:00.000Z";
    for o in objects.iter_mut() {
        if o["id"] == old.as_str() {
            o["revoked"] = json!(true);
            o["modified"] = json!(later);
        }
        if o["type"] == "x-mitre-collection" {
            o["modified"] = json!(later);
        }
    }
    objects.push(json!({
        "type": "relationship", "id": format!("relationship--{}", uuid::Uuid::new_v4()),
        "spec_version": "2.1", "created": later, "modified": later,
        "relationship_type": "revoked-by", "source_ref": old, "target_ref": new,
    }));
    let next = std::env::temp_dir().join(format!("aegis-revoked-{}.json", uuid::Uuid::new_v4()));
    std::fs::write(&next, serde_json::to_vec(&document).unwrap()).unwrap();
    load_catalog(app, next.to_str().unwrap()).await;
    std::fs::remove_file(&next).ok();
}

async fn every_transition_for_every_role_from_every_state(stack: Stack) {
    let Some(env) = TestEnv::new(stack).await else {
        return;
    };
    let app = env.spawn().await;
    load_catalog(&app, &shared_data(MINI)).await;
    let team = Team::new(&app).await;
    let admin = team.token("admin").to_owned();
    // (slug, roles allowed, from states, to state)
    let transitions: [(&str, &[&str], &[&str], &str); 5] = [
        (
            "start-execution",
            &["admin", "lead", "red_tech"],
            &["draft"],
            "red_executing",
        ),
        (
            "submit-to-blue",
            &["admin", "lead", "red_tech"],
            &["red_executing"],
            "blue_evaluating",
        ),
        (
            "complete",
            &["admin", "lead", "blue_tech"],
            &["blue_evaluating"],
            "completed",
        ),
        (
            "reopen",
            &["admin", "lead"],
            &["completed"],
            "blue_evaluating",
        ),
        (
            "cancel",
            &["admin", "lead", "red_tech"],
            &["draft", "red_executing"],
            "cancelled",
        ),
    ];
    let mut cases = 0;
    for (slug, roles, from, to) in transitions {
        for role in ROLES {
            for state in STATES {
                let test = test_in_state(&app, &admin, state).await;
                let id = test["id"].as_str().unwrap();
                let reply = app
                    .post(
                        &format!("/api/v1/tests/{id}/{slug}"),
                        team.token(role),
                        json!({}),
                    )
                    .await;
                let case = format!("{role} {slug} from {state}: {:?}", reply.body);
                if !roles.contains(&role) {
                    assert_eq!(reply.status, 403, "{case}");
                } else if !from.contains(&state) {
                    assert_eq!(reply.status, 409, "{case}");
                    assert_eq!(reply.body["current_state"], state, "{case}");
                    assert_eq!(reply.body["code"], "illegal_transition", "{case}");
                } else {
                    assert_eq!(reply.status, 200, "{case}");
                    assert_eq!(reply.body["state"], to, "{case}");
                    let last = reply.body["transitions"]
                        .as_array()
                        .unwrap()
                        .last()
                        .unwrap()
                        .clone();
                    assert_eq!(last["to_state"], to, "{case}");
                    assert_eq!(last["from_state"], state, "{case}");
                    assert_eq!(last["actor_id"], team.id(role), "{case}");
                    assert_eq!(reply.body["updated_by"], last["actor_name"], "{case}");
                }
                let after = app.get(&format!("/api/v1/tests/{id}"), &admin).await;
                let expected = if reply.status == 200 { to } else { state };
                assert_eq!(after.body["state"], expected, "{case}");
                cases += 1;
            }
        }
    }
    assert_eq!(cases, 125);
}

async fn transitions_need_their_half_filled(stack: Stack) {
    let Some(env) = TestEnv::new(stack).await else {
        return;
    };
    let app = env.spawn().await;
    load_catalog(&app, &shared_data(MINI)).await;
    let admin = app.admin_token().await;
    let test = create_test(
        &app,
        &admin,
        json!({"name": "bare", "technique_id": "T1059.001"}),
    )
    .await;
    let id = test["id"].as_str().unwrap();
    step(&app, &admin, id, "start-execution").await;
    let refused = app
        .post(
            &format!("/api/v1/tests/{id}/submit-to-blue"),
            &admin,
            json!({}),
        )
        .await;
    // The test, not the request, must change first: a conflict with its
    // state, naming the state and the missing fields.
    assert_eq!(refused.status, 409, "{:?}", refused.body);
    assert_eq!(refused.body["code"], "fields_missing");
    assert_eq!(refused.body["current_state"], "red_executing");
    let fields: Vec<&str> = refused.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["executed_at", "attack_outcome"]);
    let current = app.get(&format!("/api/v1/tests/{id}"), &admin).await.body;
    let ok = patch(
        &app,
        &admin,
        id,
        current["version"].as_i64().unwrap(),
        json!({"executed_at": "2026-11-02T08:00:00Z", "attack_outcome": "blocked"}),
    )
    .await;
    assert_eq!(ok.status, 200);
    step(&app, &admin, id, "submit-to-blue").await;
    let refused = app
        .post(&format!("/api/v1/tests/{id}/complete"), &admin, json!({}))
        .await;
    assert_eq!(refused.status, 409);
    assert_eq!(refused.body["code"], "fields_missing");
    assert_eq!(refused.body["errors"][0]["field"], "detection_outcome");
    // A detection before the execution is refused.
    let current = app.get(&format!("/api/v1/tests/{id}"), &admin).await.body;
    let early = patch(
        &app,
        &admin,
        id,
        current["version"].as_i64().unwrap(),
        json!({"detection_outcome": "alerted", "detected_at": "2026-11-01T00:00:00Z"}),
    )
    .await;
    assert_eq!(early.status, 422);
    assert_eq!(early.body["errors"][0]["field"], "detected_at");
}

async fn each_side_writes_only_its_own_fields(stack: Stack) {
    let Some(env) = TestEnv::new(stack).await else {
        return;
    };
    let app = env.spawn().await;
    load_catalog(&app, &shared_data(MINI)).await;
    let team = Team::new(&app).await;
    let admin = team.token("admin").to_owned();
    // (group, a change, the state where the group is open, writers)
    let groups: [(&str, Value, &str, &[&str]); 3] = [
        (
            "plan",
            json!({"target_host": "ws-042", "tags": ["apt29"]}),
            "draft",
            &["admin", "lead", "red_tech"],
        ),
        (
            "red",
            json!({"red_notes": "ran as SYSTEM", "attack_outcome": "failed"}),
            "red_executing",
            &["admin", "lead", "red_tech"],
        ),
        (
            "blue",
            json!({"blue_notes": "EDR alert 4411", "detection_source": "Sigma: lsass access"}),
            "blue_evaluating",
            &["admin", "lead", "blue_tech"],
        ),
    ];
    for (group, change, state, writers) in &groups {
        for role in ROLES {
            let test = test_in_state(&app, &admin, state).await;
            let id = test["id"].as_str().unwrap();
            let version = test["version"].as_i64().unwrap();
            let reply = patch(&app, team.token(role), id, version, change.clone()).await;
            let case = format!("{role} writes {group} in {state}: {:?}", reply.body);
            if writers.contains(&role) {
                assert_eq!(reply.status, 200, "{case}");
                for (field, value) in change.as_object().unwrap() {
                    assert_eq!(&reply.body[field], value, "{case}");
                }
                assert_eq!(reply.body["version"], version + 1, "{case}");
            } else {
                assert_eq!(reply.status, 403, "{case}");
                let after = app.get(&format!("/api/v1/tests/{id}"), &admin).await;
                assert_eq!(after.body["version"], version, "{case}: nothing changed");
            }
        }
    }
    // Open groups only: red fields after handing over, blue fields before it.
    let handed_over = test_in_state(&app, &admin, "blue_evaluating").await;
    let locked = patch(
        &app,
        &admin,
        handed_over["id"].as_str().unwrap(),
        handed_over["version"].as_i64().unwrap(),
        json!({"red_notes": "late"}),
    )
    .await;
    assert_eq!(locked.status, 409, "{:?}", locked.body);
    assert_eq!(locked.body["code"], "fields_locked");
    assert_eq!(locked.body["current_state"], "blue_evaluating");
    let early = test_in_state(&app, &admin, "red_executing").await;
    let locked = patch(
        &app,
        &admin,
        early["id"].as_str().unwrap(),
        early["version"].as_i64().unwrap(),
        json!({"detection_outcome": "alerted"}),
    )
    .await;
    assert_eq!(locked.status, 409);
    let done = test_in_state(&app, &admin, "completed").await;
    let locked = patch(
        &app,
        &admin,
        done["id"].as_str().unwrap(),
        done["version"].as_i64().unwrap(),
        json!({"name": "renamed"}),
    )
    .await;
    assert_eq!(locked.status, 409);
    // Creating is the red side's; blue fields cannot ride along, unknown fields are refused.
    let denied = app
        .post(
            "/api/v1/tests",
            team.token("blue_tech"),
            json!({"name": "x", "technique_id": "T1003"}),
        )
        .await;
    assert_eq!(denied.status, 403);
    let unknown = app
        .post(
            "/api/v1/tests",
            &admin,
            json!({"name": "x", "technique_id": "T1003", "detection_outcome": "alerted"}),
        )
        .await;
    assert_eq!(
        (unknown.status, unknown.body["errors"][0]["field"].as_str()),
        (422, Some("detection_outcome")),
        "{:?}",
        unknown.body
    );
}

async fn stale_versions_never_overwrite(stack: Stack) {
    let Some(env) = TestEnv::new(stack).await else {
        return;
    };
    let app = env.spawn().await;
    load_catalog(&app, &shared_data(MINI)).await;
    let admin = app.admin_token().await;
    let test = create_test(
        &app,
        &admin,
        json!({"name": "shared", "technique_id": "T1003"}),
    )
    .await;
    let id = test["id"].as_str().unwrap().to_owned();
    assert_eq!(test["version"], 1);

    let unversioned = app
        .call(
            "PATCH",
            &format!("/api/v1/tests/{id}"),
            Some(&admin),
            Some(json!({"name": "no version"})),
        )
        .await;
    assert_eq!(unversioned.status, 428, "{:?}", unversioned.body);
    let via_body = app
        .call(
            "PATCH",
            &format!("/api/v1/tests/{id}"),
            Some(&admin),
            Some(json!({"name": "by body", "version": 1})),
        )
        .await;
    assert_eq!(via_body.status, 200);
    assert_eq!(via_body.headers["etag"], "\"2\"");
    let stale = patch(&app, &admin, &id, 1, json!({"name": "stale"})).await;
    assert_eq!(stale.status, 412, "{:?}", stale.body);
    assert_eq!(stale.body["current_version"], 2);

    // Two editors holding the same version at the same moment: one wins.
    for round in 0..5 {
        let current = app.get(&format!("/api/v1/tests/{id}"), &admin).await.body;
        let version = current["version"].as_i64().unwrap();
        let (a, b) = tokio::join!(
            patch(
                &app,
                &admin,
                &id,
                version,
                json!({"procedure": format!("alice {round}")})
            ),
            patch(
                &app,
                &admin,
                &id,
                version,
                json!({"procedure": format!("bob {round}")})
            ),
        );
        let mut statuses = [a.status, b.status];
        statuses.sort_unstable();
        assert_eq!(
            statuses,
            [200, 412],
            "round {round}: {:?} / {:?}",
            a.body,
            b.body
        );
        let winner = if a.status == 200 { &a } else { &b };
        let stored = app.get(&format!("/api/v1/tests/{id}"), &admin).await.body;
        assert_eq!(stored["procedure"], winner.body["procedure"]);
        assert_eq!(stored["version"], version + 1);
    }
}

async fn history_lists_every_change_field_by_field(stack: Stack) {
    let Some(env) = TestEnv::new(stack).await else {
        return;
    };
    let app = env.spawn().await;
    load_catalog(&app, &shared_data(MINI)).await;
    let team = Team::new(&app).await;
    let red = team.token("red_tech");
    let test = create_test(
        &app,
        red,
        json!({"name": "Dump LSASS", "technique_id": "T1003.001", "tags": ["q4"]}),
    )
    .await;
    let id = test["id"].as_str().unwrap();
    let edited = patch(
        &app,
        red,
        id,
        1,
        json!({"name": "Dump LSASS with comsvcs", "platform": "Windows"}),
    )
    .await;
    assert_eq!(edited.status, 200);
    step(&app, red, id, "start-execution").await;

    let history = app
        .get(&format!("/api/v1/tests/{id}/history"), team.token("viewer"))
        .await;
    assert_eq!(history.status, 200, "{:?}", history.body);
    assert_eq!(history.body["total"], 3);
    let items = history.body["items"].as_array().unwrap();
    let actions: Vec<&str> = items
        .iter()
        .map(|i| i["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        ["test.start_execution", "test.update", "test.create"]
    );
    assert!(items.iter().all(|i| i["actor_name"] == "red-tech-member"));
    let changes = &items[1]["changes"];
    assert_eq!(changes.as_array().unwrap().len(), 2);
    assert_eq!(
        changes[0],
        json!({"field": "name", "before": "Dump LSASS", "after": "Dump LSASS with comsvcs"})
    );
    assert_eq!(
        changes[1],
        json!({"field": "platform", "before": null, "after": "Windows"})
    );
    assert_eq!(items[0]["detail"]["from"], "draft");
    assert_eq!(items[0]["detail"]["to"], "red_executing");
    let created: Vec<&str> = items[2]["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["field"].as_str().unwrap())
        .collect();
    assert!(
        created.contains(&"tags") && created.contains(&"technique_id"),
        "{created:?}"
    );
    // The audit log holds the same events for admins.
    let audit = app
        .get(
            &format!("/api/v1/audit?target_type=test&target_id={id}"),
            team.token("admin"),
        )
        .await;
    assert_eq!(audit.body["total"], 3);
    let missing = app
        .get(
            "/api/v1/tests/00000000-0000-0000-0000-000000000000/history",
            red,
        )
        .await;
    assert_eq!(missing.status, 404);
}

async fn lists_filter_sort_and_page(stack: Stack) {
    let Some(env) = TestEnv::new(stack).await else {
        return;
    };
    let app = env.spawn().await;
    load_catalog(&app, &shared_data(MINI)).await;
    let team = Team::new(&app).await;
    let admin = team.token("admin").to_owned();
    let created = app
        .post(
            "/api/v1/campaigns",
            &admin,
            json!({"name": "APT29 emulation"}),
        )
        .await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    let campaign = created.body["id"].as_str().unwrap().to_owned();
    let specs = [
        (
            "Alpha PowerShell",
            "T1059.001",
            "windows",
            vec!["apt29", "q4"],
            Some(campaign.clone()),
        ),
        ("Bravo bash", "T1059.004", "linux", vec!["q4"], None),
        (
            "Charlie LSASS 50%",
            "T1003.001",
            "windows",
            vec!["apt29"],
            Some(campaign.clone()),
        ),
        ("Delta shadow", "T1003.008", "linux", vec![], None),
        (
            "Echo phishing",
            "T1566.001",
            "windows",
            vec!["initial"],
            None,
        ),
    ];
    let mut ids = Vec::new();
    for (name, technique, platform, tags, campaign_id) in &specs {
        let mut input = json!({
            "name": name, "technique_id": technique, "platform": platform, "tags": tags,
            "red_assignee_id": team.id("red_tech"),
            "executed_at": "2026-11-03T12:00:00Z", "attack_outcome": "succeeded",
        });
        if let Some(campaign_id) = campaign_id {
            input["campaign_id"] = json!(campaign_id);
        }
        let test = create_test(&app, &admin, input).await;
        ids.push(test["id"].as_str().unwrap().to_owned());
    }
    // Alpha completes as alerted; Bravo waits on blue; Echo is cancelled.
    step(&app, &admin, &ids[0], "start-execution").await;
    let t = step(&app, &admin, &ids[0], "submit-to-blue").await;
    let t = patch(
        &app,
        &admin,
        &ids[0],
        t["version"].as_i64().unwrap(),
        json!({"detection_outcome": "alerted", "blue_assignee_id": team.id("blue_tech")}),
    )
    .await
    .body;
    assert_eq!(t["detection_outcome"], "alerted", "{t:?}");
    step(&app, &admin, &ids[0], "complete").await;
    step(&app, &admin, &ids[1], "start-execution").await;
    step(&app, &admin, &ids[1], "submit-to-blue").await;
    step(&app, &admin, &ids[4], "cancel").await;

    let viewer = team.token("viewer");
    let names = |reply: &crate::helpers::Reply| -> Vec<String> {
        reply.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["name"].as_str().unwrap().to_owned())
            .collect()
    };
    let cases: Vec<(String, Vec<&str>)> = vec![
        ("state=completed".into(), vec!["Alpha PowerShell"]),
        ("state=blue_evaluating".into(), vec!["Bravo bash"]),
        (
            "technique=T1059".into(),
            vec!["Alpha PowerShell", "Bravo bash"],
        ),
        ("technique=t1003.001".into(), vec!["Charlie LSASS 50%"]),
        (
            "tactic=credential-access".into(),
            vec!["Charlie LSASS 50%", "Delta shadow"],
        ),
        ("tactic=initial-access".into(), vec!["Echo phishing"]),
        (
            format!("campaign_id={campaign}"),
            vec!["Alpha PowerShell", "Charlie LSASS 50%"],
        ),
        (
            format!("assignee={}", team.id("blue_tech")),
            vec!["Alpha PowerShell"],
        ),
        ("outcome=alerted".into(), vec!["Alpha PowerShell"]),
        (
            "outcome=succeeded".into(),
            vec![
                "Alpha PowerShell",
                "Bravo bash",
                "Charlie LSASS 50%",
                "Delta shadow",
                "Echo phishing",
            ],
        ),
        ("platform=Linux".into(), vec!["Bravo bash", "Delta shadow"]),
        (
            "tag=apt29".into(),
            vec!["Alpha PowerShell", "Charlie LSASS 50%"],
        ),
        ("q=50%25".into(), vec!["Charlie LSASS 50%"]),
        // Words: `_` and `%` only separate them, and `5` begins "50".
        ("q=5_".into(), vec!["Charlie LSASS 50%"]),
        ("q=_".into(), vec![]),
        ("q=powershell".into(), vec!["Alpha PowerShell"]),
        (
            "executed_after=2026-11-03T12:00:00Z&executed_before=2026-11-03T12:00:01Z&tag=q4"
                .into(),
            vec!["Alpha PowerShell", "Bravo bash"],
        ),
        ("created_before=2020-01-01T00:00:00Z".into(), vec![]),
    ];
    for (query, expected) in cases {
        let reply = app
            .get(&format!("/api/v1/tests?{query}&sort=name"), viewer)
            .await;
        assert_eq!(reply.status, 200, "{query}: {:?}", reply.body);
        assert_eq!(names(&reply), expected, "{query}");
        assert_eq!(reply.body["total"], expected.len(), "{query}");
    }
    let mine = app
        .get("/api/v1/tests?assignee=me", team.token("red_tech"))
        .await;
    assert_eq!(mine.body["total"], 5);
    let page = app
        .get("/api/v1/tests?sort=-name&limit=2&offset=1", viewer)
        .await;
    assert_eq!(names(&page), ["Delta shadow", "Charlie LSASS 50%"]);
    assert_eq!(page.body["total"], 5);
    for bad in [
        "sort=id;DROP",
        "state=done",
        "outcome=maybe",
        "technique=T1",
        "limit=0",
        "created_after=yesterday",
    ] {
        let reply = app.get(&format!("/api/v1/tests?{bad}"), viewer).await;
        assert!(
            reply.status == 400 || reply.status == 422,
            "{bad}: {} {:?}",
            reply.status,
            reply.body
        );
    }
}

async fn tests_are_found_by_the_words_they_hold(stack: Stack) {
    let Some(env) = TestEnv::new(stack).await else {
        return;
    };
    let app = env.spawn().await;
    load_catalog(&app, &shared_data(MINI)).await;
    let admin = app.admin_token().await;
    for (name, procedure, host, technique) in [
        (
            "Überprüfung der Anmeldung",
            "powershell.exe -enc SQBFAFgA",
            "host-01.corp.example",
            "T1059.001",
        ),
        ("ÉCOLE phishing", "macro in a .docm", "mail-gw", "T1566.001"),
        (
            "Dump LSASS",
            "rundll32 comsvcs.dll,MiniDump",
            "dc01",
            "T1003.001",
        ),
    ] {
        create_test(
            &app,
            &admin,
            json!({"name": name, "procedure": procedure, "target_host": host, "technique_id": technique}),
        )
        .await;
    }
    let cases: &[(&str, &[&str])] = &[
        // Any case, beyond ASCII too, on both backends.
        ("überprüfung", &["Überprüfung der Anmeldung"]),
        ("ÜBERPRÜF", &["Überprüfung der Anmeldung"]),
        ("école", &["ÉCOLE phishing"]),
        // Accents are kept: `ecole` is another word.
        ("ecole", &[]),
        // Each word begins a word, in any of the four fields.
        ("lsa", &["Dump LSASS"]),
        ("sass", &[]),
        ("powershell exe", &["Überprüfung der Anmeldung"]),
        ("corp", &["Überprüfung der Anmeldung"]),
        ("t1003", &["Dump LSASS"]),
        ("T1566.001", &["ÉCOLE phishing"]),
        ("comsvcs minidump dc01", &["Dump LSASS"]),
        ("comsvcs mail", &[]),
        ("-._", &[]),
    ];
    for (query, expected) in cases {
        let reply = app
            .send(
                app.request("GET", "/api/v1/tests", &admin)
                    .query(&[("sort", "name"), ("q", query)]),
            )
            .await;
        assert_eq!(reply.status, 200, "{query}: {:?}", reply.body);
        let names: Vec<&str> = reply.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].as_str().unwrap())
            .collect();
        assert_eq!(&names, expected, "{query}");
    }
    let long = "a".repeat(201);
    assert_eq!(
        app.get(&format!("/api/v1/tests?q={long}"), &admin)
            .await
            .status,
        422
    );
}

async fn revoked_techniques_are_flagged_with_their_replacement(stack: Stack) {
    let Some(env) = TestEnv::new(stack).await else {
        return;
    };
    let app = env.spawn().await;
    let mini_path = shared_data(MINI);
    load_catalog(&app, &mini_path).await;
    let admin = app.admin_token().await;
    // The catalog refuses revoked and deprecated ids for new work, naming the replacement.
    let revoked = app
        .post(
            "/api/v1/tests",
            &admin,
            json!({"name": "old", "technique_id": "T1066"}),
        )
        .await;
    assert_eq!(revoked.status, 422);
    assert!(
        revoked.body["detail"]
            .as_str()
            .unwrap()
            .contains("use T1027.005"),
        "{:?}",
        revoked.body
    );
    let unknown = app
        .post(
            "/api/v1/tests",
            &admin,
            json!({"name": "old", "technique_id": "T9999"}),
        )
        .await;
    assert_eq!(unknown.status, 422);
    let test = create_test(
        &app,
        &admin,
        json!({"name": "JS", "technique_id": "T1059.007"}),
    )
    .await;
    assert_eq!(test["technique"]["name"], "JavaScript");
    assert_eq!(test["technique"]["revoked"], false);
    assert!(test["technique"].get("warning").is_none(), "{test}");

    // A later release revokes T1059.007 in favour of T1059.001.
    revoke_in_catalog(&app, &mini_path, "T1059.007", "T1059.001").await;

    let id = test["id"].as_str().unwrap();
    for reply in [
        app.get(&format!("/api/v1/tests/{id}"), &admin).await.body,
        app.get("/api/v1/tests?technique=T1059.007", &admin)
            .await
            .body["items"][0]
            .clone(),
    ] {
        let t = &reply["technique"];
        assert_eq!(t["revoked"], true, "{reply:?}");
        assert_eq!(t["replaced_by"], "T1059.001");
        assert_eq!(t["replaced_by_name"], "PowerShell");
        assert_eq!(
            t["warning"],
            "T1059.007 is revoked; ATT&CK replaces it with T1059.001"
        );
    }
    // The old test stays editable; only a change of technique is checked.
    let edit = patch(
        &app,
        &admin,
        id,
        test["version"].as_i64().unwrap(),
        json!({"procedure": "node -e ..."}),
    )
    .await;
    assert_eq!(edit.status, 200, "{:?}", edit.body);
}

/// Technicians work on their own tests: one red tech cannot edit, move,
/// cancel or add evidence to a test a lead gave to another, nor a blue tech
/// complete another's; unassigned tests are open to the side, and a red
/// tech's new test is theirs.
async fn technicians_work_only_on_their_own_or_unassigned_tests(stack: Stack) {
    let Some(env) = TestEnv::new(stack).await else {
        return;
    };
    let app = env.spawn().await;
    load_catalog(&app, &shared_data(MINI)).await;
    let team = Team::new(&app).await;
    let lead = team.token("lead").to_owned();
    let (red_mine, red_mine_id) = (team.token("red_tech").to_owned(), team.id("red_tech"));
    let admin = team.token("admin").to_owned();
    let (other_red_id, other_red) = app.user_with_role(&admin, "red-two", "red_tech").await;
    let (other_blue_id, other_blue) = app.user_with_role(&admin, "blue-two", "blue_tech").await;

    let own = create_test(
        &app,
        &red_mine,
        json!({"name": "mine", "technique_id": "T1003"}),
    )
    .await;
    assert_eq!(
        own["red_assignee_id"], red_mine_id,
        "a red tech's new test is theirs"
    );

    let given = create_test(
        &app,
        &lead,
        json!({"name": "given", "technique_id": "T1003", "red_assignee_id": other_red_id}),
    )
    .await;
    let id = given["id"].as_str().unwrap().to_owned();
    let version = given["version"].as_i64().unwrap();
    let refusals = [
        patch(
            &app,
            &red_mine,
            &id,
            version,
            json!({"red_notes": "mine now"}),
        )
        .await,
        app.post(
            &format!("/api/v1/tests/{id}/start-execution"),
            &red_mine,
            json!({}),
        )
        .await,
        app.post(&format!("/api/v1/tests/{id}/cancel"), &red_mine, json!({}))
            .await,
        app.send(
            app.request("POST", &format!("/api/v1/tests/{id}/evidence"), &red_mine)
                .multipart(
                    reqwest::multipart::Form::new().part(
                        "file",
                        reqwest::multipart::Part::bytes(b"whoami".to_vec())
                            .file_name("out.txt")
                            .mime_str("text/plain")
                            .unwrap(),
                    ),
                ),
        )
        .await,
    ];
    for refused in &refusals {
        assert_eq!(
            (refused.status, refused.body["code"].as_str()),
            (403, Some("not_assignee")),
            "{:?}",
            refused.body
        );
    }
    let unchanged = app.get(&format!("/api/v1/tests/{id}"), &lead).await.body;
    assert_eq!(
        (unchanged["state"].as_str(), unchanged["version"].as_i64()),
        (Some("draft"), Some(version))
    );
    // Its assignee works on it; a lead hands it over.
    step(&app, &other_red, &id, "start-execution").await;
    let current = app.get(&format!("/api/v1/tests/{id}"), &lead).await.body;
    let handed = patch(
        &app,
        &lead,
        &id,
        current["version"].as_i64().unwrap(),
        json!({"red_assignee_id": red_mine_id, "blue_assignee_id": other_blue_id,
               "executed_at": "2026-11-01T10:00:00Z", "attack_outcome": "succeeded"}),
    )
    .await;
    assert_eq!(handed.status, 200, "{:?}", handed.body);
    step(&app, &red_mine, &id, "submit-to-blue").await;

    // The blue side: another blue tech may not complete it; its assignee may.
    let blue_mine = team.token("blue_tech").to_owned();
    let version = app.get(&format!("/api/v1/tests/{id}"), &lead).await.body["version"]
        .as_i64()
        .unwrap();
    let refused = patch(
        &app,
        &blue_mine,
        &id,
        version,
        json!({"detection_outcome": "alerted"}),
    )
    .await;
    assert_eq!(
        (refused.status, refused.body["code"].as_str()),
        (403, Some("not_assignee"))
    );
    let written = patch(
        &app,
        &other_blue,
        &id,
        version,
        json!({"detection_outcome": "alerted"}),
    )
    .await;
    assert_eq!(written.status, 200, "{:?}", written.body);
    let refused = app
        .post(
            &format!("/api/v1/tests/{id}/complete"),
            &blue_mine,
            json!({}),
        )
        .await;
    assert_eq!(refused.status, 403);
    step(&app, &other_blue, &id, "complete").await;

    // An unassigned test is open to either side's technicians.
    let open = test_in_state(&app, &admin, "draft").await;
    assert!(open.get("red_assignee_id").is_none(), "{open}");
    step(
        &app,
        &red_mine,
        open["id"].as_str().unwrap(),
        "start-execution",
    )
    .await;
}

/// What a test lacks is left out of every answer (never `null`), and
/// `null` in a change clears a field, as the document says.
async fn absent_fields_are_left_out_and_null_clears_them(stack: Stack) {
    let Some(env) = TestEnv::new(stack).await else {
        return;
    };
    let app = env.spawn().await;
    load_catalog(&app, &shared_data(MINI)).await;
    let admin = app.admin_token().await;
    let unset = [
        "campaign_id",
        "template_id",
        "platform",
        "target_host",
        "red_assignee_id",
        "blue_assignee_id",
        "executed_at",
        "attack_outcome",
        "detection_outcome",
        "detected_at",
        "detection_source",
    ];
    let test = create_test(
        &app,
        &admin,
        json!({"name": "bare", "technique_id": "T1059.001"}),
    )
    .await;
    let id = test["id"].as_str().unwrap().to_owned();
    let listed = app.get("/api/v1/tests", &admin).await.body;
    for answer in [&test, &listed["items"][0]] {
        for field in unset {
            assert!(answer.get(field).is_none(), "{field}: {answer}");
        }
        for field in ["replaced_by", "replaced_by_name", "warning"] {
            assert!(answer["technique"].get(field).is_none(), "{answer}");
        }
    }
    step(&app, &admin, &id, "start-execution").await;
    let version = app.get(&format!("/api/v1/tests/{id}"), &admin).await.body["version"]
        .as_i64()
        .unwrap();
    let set = patch(
        &app,
        &admin,
        &id,
        version,
        json!({"target_host": "ws-1", "attack_outcome": "blocked", "executed_at": "2026-11-02T08:00:00Z"}),
    )
    .await;
    assert_eq!(set.status, 200, "{:?}", set.body);
    assert_eq!(set.body["attack_outcome"], "blocked");
    let cleared = patch(
        &app,
        &admin,
        &id,
        set.body["version"].as_i64().unwrap(),
        json!({"target_host": null, "attack_outcome": null, "executed_at": null}),
    )
    .await;
    assert_eq!(cleared.status, 200, "{:?}", cleared.body);
    for field in ["target_host", "attack_outcome", "executed_at"] {
        assert!(
            cleared.body.get(field).is_none(),
            "{field}: {}",
            cleared.body
        );
    }

    let doc = openapi(&app).await;
    let props = &doc["components"]["schemas"]["TestPatchInput"]["properties"];
    assert_eq!(props["target_host"]["nullable"], true);
    assert_eq!(props["executed_at"]["nullable"], true);
    assert_eq!(
        props["attack_outcome"],
        json!({"nullable": true, "anyOf": [{"$ref": "#/components/schemas/AttackOutcome"}]})
    );
    let view = &doc["components"]["schemas"]["TestView"];
    assert!(
        !view["required"]
            .as_array()
            .unwrap()
            .contains(&json!("executed_at"))
    );
    assert_no_all_of(
        &doc,
        &[
            "TestView",
            "TechniqueRefView",
            "HistoryEntry",
            "NewTestInput",
            "TestPatchInput",
            "EvidenceView",
        ],
    );
}

/// Paging, sorting, filters and `If-Match` take what the document declares,
/// and refuse the rest before any work.
async fn parameters_are_declared_and_held(stack: Stack) {
    let Some(env) = TestEnv::new(stack).await else {
        return;
    };
    let app = env.spawn().await;
    load_catalog(&app, &shared_data(MINI)).await;
    let admin = app.admin_token().await;
    let test = create_test(
        &app,
        &admin,
        json!({"name": "paged", "technique_id": "T1059.001"}),
    )
    .await;
    let id = test["id"].as_str().unwrap();
    for good in [
        "limit=500",
        "limit=1&offset=0",
        "sort=-technique_id",
        "outcome=not_detected",
        "technique=t1059",
        "executed_after=2026-01-01T00:00:00Z",
    ] {
        let reply = app.get(&format!("/api/v1/tests?{good}"), &admin).await;
        assert_eq!(reply.status, 200, "{good}: {:?}", reply.body);
    }
    for bad in [
        "limit=0",
        "limit=501",
        "offset=-1",
        "sort=colour",
        "outcome=maybe",
        "technique=T59",
    ] {
        let reply = app.get(&format!("/api/v1/tests?{bad}"), &admin).await;
        assert_eq!(reply.status, 422, "{bad}: {:?}", reply.body);
    }
    for bad in ["limit=0", "offset=-1"] {
        let reply = app
            .get(&format!("/api/v1/tests/{id}/history?{bad}"), &admin)
            .await;
        assert_eq!(reply.status, 422, "{bad}");
    }
    // Read but not storable: the document asks for UTC from 1970.
    let early = app
        .get("/api/v1/tests?created_after=1969-12-31T00:00:00Z", &admin)
        .await;
    assert_eq!(early.status, 422);
    let malformed = app
        .send(
            app.request("PATCH", &format!("/api/v1/tests/{id}"), &admin)
                .header("If-Match", "yesterday's")
                .json(&json!({"name": "x"})),
        )
        .await;
    assert_eq!(malformed.status, 422);

    let doc = openapi(&app).await;
    let list = &doc["paths"]["/api/v1/tests"]["get"]["parameters"];
    let param = |name: &str| {
        list.as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == name)
            .unwrap()["schema"]
            .clone()
    };
    assert_eq!(param("limit")["minimum"].as_f64(), Some(1.0));
    assert_eq!(param("limit")["maximum"].as_f64(), Some(500.0));
    assert_eq!(param("offset")["minimum"].as_f64(), Some(0.0));
    assert_eq!(param("sort")["$ref"], "#/components/schemas/TestSortKey");
    assert!(param("created_after")["pattern"].is_string());
    let patch_params = &doc["paths"]["/api/v1/tests/{id}"]["patch"]["parameters"];
    let if_match = patch_params
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "If-Match")
        .unwrap();
    assert!(if_match["schema"]["pattern"].is_string());
}

/// The examples the document shows are requests the server takes.
async fn documented_examples_are_accepted(stack: Stack) {
    let Some(env) = TestEnv::new(stack).await else {
        return;
    };
    let app = env.spawn().await;
    load_catalog(&app, &shared_data(MINI)).await;
    let admin = app.admin_token().await;
    let doc = openapi(&app).await;
    let example = |name: &str| doc["components"]["schemas"][name]["example"].clone();
    let test = create_test(&app, &admin, example("NewTestInput")).await;
    let id = test["id"].as_str().unwrap();
    step(&app, &admin, id, "start-execution").await;
    let version = app.get(&format!("/api/v1/tests/{id}"), &admin).await.body["version"]
        .as_i64()
        .unwrap();
    let red = patch(&app, &admin, id, version, example("TestPatchInput")).await;
    assert_eq!(red.status, 200, "{:?}", red.body);
    assert_eq!(red.body["attack_outcome"], "succeeded");
}

stack_tests!(
    tests_are_found_by_the_words_they_hold,
    absent_fields_are_left_out_and_null_clears_them,
    parameters_are_declared_and_held,
    documented_examples_are_accepted,
    technicians_work_only_on_their_own_or_unassigned_tests,
    every_transition_for_every_role_from_every_state,
    transitions_need_their_half_filled,
    each_side_writes_only_its_own_fields,
    stale_versions_never_overwrite,
    history_lists_every_change_field_by_field,
    lists_filter_sort_and_page,
    revoked_techniques_are_flagged_with_their_replacement,
);
