//! Campaigns: roles, status, progress and KPIs, a snapshot on completion,
//! and the import of every Navigator layer found in the shared samples.

use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};

use crate::helpers::{Reply, Stack, TestApp, TestEnv, shared_data};
use crate::stack_tests;
use crate::test_cases::{MINI, Team, assert_no_all_of, create_test, load_catalog, openapi};
use crate::test_coverage::completed;

async fn import_layer(app: &TestApp, token: &str, bytes: Vec<u8>) -> Reply {
    let part = Part::bytes(bytes).file_name("layer.json");
    app.send(
        app.request("POST", "/api/v1/campaigns/import/navigator", token)
            .multipart(Form::new().part("file", part)),
    )
    .await
}

async fn campaigns_move_from_planned_to_completed(stack: Stack) {
    let Some(env) = TestEnv::new(stack).await else {
        return;
    };
    let app = env.spawn().await;
    load_catalog(&app, &shared_data(MINI)).await;
    let team = Team::new(&app).await;
    let lead = team.token("lead").to_owned();
    let body = json!({"name": "APT29", "description": "Emulation plan", "threat_actor": "APT29", "starts_on": "2026-11-01", "ends_on": "2026-11-30"});
    for role in ["red_tech", "blue_tech", "viewer"] {
        assert_eq!(
            app.post("/api/v1/campaigns", team.token(role), body.clone())
                .await
                .status,
            403,
            "{role}"
        );
    }
    let bad = app
        .post(
            "/api/v1/campaigns",
            &lead,
            json!({"name": "x", "starts_on": "2026-11-30", "ends_on": "2026-11-01"}),
        )
        .await;
    assert_eq!(bad.status, 422);
    let created = app.post("/api/v1/campaigns", &lead, body).await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    let id = created.body["id"].as_str().unwrap().to_owned();
    assert_eq!(created.body["status"], "planned");
    assert_eq!(created.body["threat_actor"], "APT29");

    let edited = app
        .send(
            app.request("PATCH", &format!("/api/v1/campaigns/{id}"), &lead)
                .header("If-Match", "\"1\"")
                .json(&json!({"threat_actor": null})),
        )
        .await;
    assert_eq!(edited.status, 200, "{:?}", edited.body);
    // Cleared: left out of the answer, never `null`.
    assert!(edited.body.get("threat_actor").is_none(), "{}", edited.body);
    let stale = app
        .send(
            app.request("PATCH", &format!("/api/v1/campaigns/{id}"), &lead)
                .header("If-Match", "\"1\"")
                .json(&json!({"name": "y"})),
        )
        .await;
    assert_eq!(stale.status, 412);

    let premature = app
        .post(
            &format!("/api/v1/campaigns/{id}/complete"),
            &lead,
            json!({}),
        )
        .await;
    assert_eq!(premature.status, 409);
    assert_eq!(premature.body["current_state"], "planned");
    assert_eq!(
        app.post(
            &format!("/api/v1/campaigns/{id}/activate"),
            team.token("red_tech"),
            json!({})
        )
        .await
        .status,
        403
    );
    let active = app
        .post(
            &format!("/api/v1/campaigns/{id}/activate"),
            &lead,
            json!({}),
        )
        .await;
    assert_eq!(active.body["status"], "active");
    assert!(active.body["activated_at"].is_string());

    let admin = team.token("admin").to_owned();
    completed(
        &app,
        &admin,
        "T1003.001",
        "a",
        "alerted",
        0,
        2,
        json!({"campaign_id": id}),
    )
    .await;
    completed(
        &app,
        &admin,
        "T1003.002",
        "b",
        "not_detected",
        0,
        0,
        json!({"campaign_id": id}),
    )
    .await;
    create_test(
        &app,
        &admin,
        json!({"name": "open", "technique_id": "T1059", "campaign_id": id}),
    )
    .await;
    completed(
        &app,
        &admin,
        "T1059.001",
        "elsewhere",
        "alerted",
        0,
        1,
        json!({}),
    )
    .await;
    let detail = app
        .get(&format!("/api/v1/campaigns/{id}"), team.token("viewer"))
        .await;
    assert_eq!(detail.body["progress"], json!({"completed": 2, "draft": 1}));
    assert_eq!(detail.body["tests_total"], 3);
    assert_eq!(detail.body["kpis"]["completed"], 2);
    assert_eq!(detail.body["kpis"]["detection_rate"], 50.0);
    assert_eq!(detail.body["kpis"]["techniques"]["partial"], 1); // T1003: .001 detected, .002 missed
    let listed = app
        .get(
            "/api/v1/campaigns?status=active&q=apt",
            team.token("viewer"),
        )
        .await;
    assert_eq!(listed.body["total"], 1);
    assert_eq!(listed.body["items"][0]["progress"]["completed"], 2);

    assert_eq!(
        app.call(
            "DELETE",
            &format!("/api/v1/campaigns/{id}"),
            Some(&lead),
            None
        )
        .await
        .status,
        409
    );
    let done = app
        .post(
            &format!("/api/v1/campaigns/{id}/complete"),
            &lead,
            json!({}),
        )
        .await;
    assert_eq!(done.status, 200, "{:?}", done.body);
    assert_eq!(done.body["status"], "completed");
    let snapshots = app
        .get(
            &format!("/api/v1/coverage/snapshots?campaign_id={id}"),
            &lead,
        )
        .await;
    assert_eq!(snapshots.body["total"], 1);
    assert_eq!(snapshots.body["items"][0]["trigger"], "campaign");
    assert_eq!(snapshots.body["items"][0]["kpis"]["completed"], 2);
    // Every change has its audit event; completion's names its snapshot.
    let audit = app
        .get(
            &format!("/api/v1/audit?action=campaign.&target_type=campaign&target_id={id}"),
            &admin,
        )
        .await;
    assert_eq!(audit.status, 200, "{:?}", audit.body);
    let actions: Vec<&str> = audit.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "campaign.completed",
            "campaign.active",
            "campaign.update",
            "campaign.create"
        ]
    );
    assert_eq!(
        audit.body["items"][0]["detail"]["snapshot_id"],
        snapshots.body["items"][0]["id"]
    );
    let again = app
        .post(
            &format!("/api/v1/campaigns/{id}/activate"),
            &lead,
            json!({}),
        )
        .await;
    assert_eq!(again.status, 409);
    assert_eq!(again.body["current_state"], "completed");

    // A completed campaign takes no more tests; an unknown one is refused.
    let late = app
        .post(
            "/api/v1/tests",
            &admin,
            json!({"name": "late", "technique_id": "T1003", "campaign_id": id}),
        )
        .await;
    assert_eq!(late.status, 422);
    let unknown = app.post("/api/v1/tests", &admin, json!({"name": "x", "technique_id": "T1003", "campaign_id": uuid::Uuid::new_v4().to_string()})).await;
    assert_eq!(unknown.status, 422);
    let empty = app
        .post("/api/v1/campaigns", &lead, json!({"name": "empty"}))
        .await
        .body;
    assert_eq!(
        app.call(
            "DELETE",
            &format!("/api/v1/campaigns/{}", empty["id"].as_str().unwrap()),
            Some(&lead),
            None
        )
        .await
        .status,
        204
    );
    let deleted = app
        .get(
            &format!(
                "/api/v1/audit?action=campaign.delete&target_type=campaign&target_id={}",
                empty["id"].as_str().unwrap()
            ),
            &admin,
        )
        .await;
    assert_eq!(deleted.body["total"], 1, "{:?}", deleted.body);
    assert_eq!(deleted.body["items"][0]["detail"]["name"], "empty");
}

async fn every_sample_layer_imports(stack: Stack) {
    let Some(env) = TestEnv::new(stack).await else {
        return;
    };
    let app = env.spawn().await;
    load_catalog(&app, &shared_data("attack/enterprise-attack.json.gz")).await;
    let admin = app.admin_token().await;
    let root = std::path::PathBuf::from(shared_data("navigator-layers"));
    let mut files = Vec::new();
    let mut stack_dirs = vec![root.join("samples"), root.join("spec/v4.5/examples")];
    while let Some(dir) = stack_dirs.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack_dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "json") {
                files.push(path);
            }
        }
    }
    files.sort();
    assert!(files.len() >= 25, "{files:?}");
    let mut campaigns = 0;
    for file in &files {
        let bytes = std::fs::read(file).unwrap();
        let document: Value = serde_json::from_slice(&bytes).unwrap();
        let layers = document.as_array().map_or(1, Vec::len);
        let reply = import_layer(&app, &admin, bytes).await;
        assert_eq!(reply.status, 201, "{}: {:?}", file.display(), reply.body);
        let results = reply.body.as_array().unwrap();
        assert_eq!(results.len(), layers, "{}", file.display());
        for (i, result) in results.iter().enumerate() {
            let layer = document.as_array().map_or(&document, |l| &l[i]);
            let listed: std::collections::BTreeSet<String> = layer["techniques"]
                .as_array()
                .map(|t| {
                    t.iter()
                        .filter_map(|e| e["techniqueID"].as_str())
                        .map(|s| s.to_ascii_uppercase())
                        .collect()
                })
                .unwrap_or_default();
            let created = result["tests_created"].as_u64().unwrap() as usize;
            let skipped = result["skipped"].as_array().unwrap().len();
            assert_eq!(
                created + skipped,
                listed.len(),
                "{}: every technique is a test or reported",
                file.display()
            );
            assert_eq!(result["campaign"]["tests_total"], created);
            assert_eq!(result["campaign"]["source"], "navigator");
            campaigns += 1;
        }
    }
    // The Atomic Red Team layer for v18 names only techniques Enterprise 18.1 has.
    let art = import_layer(
        &app,
        &admin,
        std::fs::read(shared_data(
            "navigator-layers/samples/atomic-red-team-attack-v18/art-navigator-layer-windows.json",
        ))
        .unwrap(),
    )
    .await;
    assert_eq!(
        art.body[0]["skipped"],
        json!([]),
        "{:?}",
        art.body[0]["skipped"]
    );
    assert_eq!(art.body[0]["tests_created"], 300);
    // Mobile and ICS techniques are reported while those catalogs are not synced.
    let ics = import_layer(
        &app,
        &admin,
        std::fs::read(shared_data(
            "navigator-layers/samples/mitreattack-python/changelog-v16.1_to_v17.0-layer-ics.json",
        ))
        .unwrap(),
    )
    .await;
    assert_eq!(ics.body[0]["tests_created"], 0);
    assert!(
        ics.body[0]["skipped"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("ics-attack")
    );
    let listed = app.get("/api/v1/campaigns?limit=1", &admin).await;
    assert_eq!(listed.body["total"], campaigns + 2);
    for junk in [
        b"not json".to_vec(),
        b"{\"name\": \"no domain\"}".to_vec(),
        b"[]".to_vec(),
    ] {
        assert_eq!(import_layer(&app, &admin, junk).await.status, 422);
    }
    let red = app
        .user_with_role(&admin, "red-importer", "red_tech")
        .await
        .1;
    assert_eq!(import_layer(&app, &red, b"{}".to_vec()).await.status, 403);
}

/// Campaign days are `YYYY-MM-DD` (OpenAPI `date`), a new campaign needs a
/// name, `null` clears a field, and the documented example is taken.
async fn campaigns_take_what_the_document_declares(stack: Stack) {
    let Some(env) = TestEnv::new(stack).await else {
        return;
    };
    let app = env.spawn().await;
    let admin = app.admin_token().await;
    let doc = openapi(&app).await;
    let new = &doc["components"]["schemas"]["NewCampaignInput"];
    assert_eq!(new["required"], json!(["name"]));
    assert_eq!(new["properties"]["starts_on"]["format"], "date");
    assert!(!doc.to_string().contains("naive-date"));
    let created = app
        .post("/api/v1/campaigns", &admin, new["example"].clone())
        .await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    assert_eq!(created.body["starts_on"], "2026-04-01");
    assert!(
        created.body.get("activated_at").is_none(),
        "{}",
        created.body
    );
    let id = created.body["id"].as_str().unwrap();

    for body in [
        json!({"description": "no name"}),
        json!({"name": "short date", "starts_on": "2026-4-1"}),
        json!({"name": "a time", "starts_on": "2026-04-01T00:00:00Z"}),
    ] {
        let refused = app.post("/api/v1/campaigns", &admin, body.clone()).await;
        assert_eq!(refused.status, 422, "{body}: {:?}", refused.body);
    }
    let cleared = app
        .send(
            app.request("PATCH", &format!("/api/v1/campaigns/{id}"), &admin)
                .header("If-Match", "\"1\"")
                .json(&json!({"ends_on": null, "starts_on": "2026-05-02"})),
        )
        .await;
    assert_eq!(cleared.status, 200, "{:?}", cleared.body);
    assert!(cleared.body.get("ends_on").is_none(), "{}", cleared.body);
    assert_eq!(cleared.body["starts_on"], "2026-05-02");
    let layer = br#"{"name": "L", "domain": "enterprise-attack", "techniques": []}"#;
    let extra = app
        .send(
            app.request("POST", "/api/v1/campaigns/import/navigator", &admin)
                .multipart(
                    Form::new()
                        .part("file", Part::bytes(layer.to_vec()).file_name("l.json"))
                        .text("name", "x"),
                ),
        )
        .await;
    assert_eq!(extra.status, 422, "{:?}", extra.body);
    for bad in ["limit=0", "limit=501", "offset=-1"] {
        let reply = app.get(&format!("/api/v1/campaigns?{bad}"), &admin).await;
        assert_eq!(reply.status, 422, "{bad}");
    }
    assert_no_all_of(
        &doc,
        &[
            "CampaignView",
            "NewCampaignInput",
            "CampaignPatchInput",
            "ImportedLayer",
        ],
    );
}

/// What the dashboard's edit and delete rely on: every plan field changes
/// with its version, and only a campaign no test belongs to (a cancelled one
/// included) can be deleted, the refusal saying how many it has.
async fn campaigns_are_edited_and_only_empty_ones_deleted(stack: Stack) {
    let Some(env) = TestEnv::new(stack).await else {
        return;
    };
    let app = env.spawn().await;
    load_catalog(&app, &shared_data(MINI)).await;
    let team = Team::new(&app).await;
    let lead = team.token("lead");
    let made = app
        .post(
            "/api/v1/campaigns",
            lead,
            json!({"name": "Spring", "threat_actor": "FIN7"}),
        )
        .await;
    let id = made.body["id"].as_str().unwrap().to_owned();
    let edit = |token: &str, version: i64, body: Value| {
        app.request("PATCH", &format!("/api/v1/campaigns/{id}"), token)
            .header("If-Match", format!("\"{version}\""))
            .json(&body)
    };
    let all = json!({
        "name": "Spring purple week",
        "description": "FIN7 against the payment hosts.",
        "threat_actor": "Carbanak",
        "starts_on": "2026-04-01",
        "ends_on": "2026-04-10",
    });
    assert_eq!(
        app.send(edit(team.token("red_tech"), 1, all.clone()))
            .await
            .status,
        403
    );
    let edited = app.send(edit(lead, 1, all)).await;
    assert_eq!(edited.status, 200, "{:?}", edited.body);
    for (field, value) in [
        ("name", "Spring purple week"),
        ("description", "FIN7 against the payment hosts."),
        ("threat_actor", "Carbanak"),
        ("starts_on", "2026-04-01"),
        ("ends_on", "2026-04-10"),
    ] {
        assert_eq!(edited.body[field], value, "{field}");
    }
    assert_eq!(edited.body["version"], 2);
    let stale = app.send(edit(lead, 1, json!({"name": "stale"}))).await;
    assert_eq!(stale.status, 412);
    assert_eq!(stale.body["current_version"], 2);
    let backwards = app
        .send(edit(lead, 2, json!({"ends_on": "2026-03-01"})))
        .await;
    assert_eq!(backwards.status, 422, "{:?}", backwards.body);
    let cleared = app
        .send(edit(
            lead,
            2,
            json!({"threat_actor": null, "ends_on": null}),
        ))
        .await;
    assert_eq!(cleared.status, 200, "{:?}", cleared.body);
    assert!(cleared.body.get("threat_actor").is_none() && cleared.body.get("ends_on").is_none());

    // A cancelled test still belongs to its campaign: the campaign stays.
    let test = create_test(
        &app,
        lead,
        json!({"name": "LSASS", "technique_id": "T1003.001", "campaign_id": id}),
    )
    .await;
    let cancelled = app
        .post(
            &format!("/api/v1/tests/{}/cancel", test["id"].as_str().unwrap()),
            lead,
            json!({}),
        )
        .await;
    assert_eq!(cancelled.status, 200, "{:?}", cancelled.body);
    let refused = app
        .call(
            "DELETE",
            &format!("/api/v1/campaigns/{id}"),
            Some(lead),
            None,
        )
        .await;
    assert_eq!(refused.status, 409);
    assert_eq!(refused.body["code"], "campaign_has_tests");
    let detail = refused.body["detail"].as_str().unwrap();
    assert!(
        detail.contains("has 1 test (cancelled ones count)"),
        "{detail}"
    );
    assert_eq!(
        app.get(&format!("/api/v1/campaigns/{id}"), lead)
            .await
            .status,
        200
    );
}

stack_tests!(
    campaigns_are_edited_and_only_empty_ones_deleted,
    campaigns_take_what_the_document_declares,
    campaigns_move_from_planned_to_completed,
    every_sample_layer_imports,
);
