//! Daily work on tests: assignees of the right side, each role's queue
//! (`waiting_for=me`) and one action on many tests (`POST /tests/bulk`),
//! whose answer shows per test what was done and what was refused.

use serde_json::{Value, json};

use crate::helpers::{Stack, TestApp, TestEnv, shared_data};
use crate::stack_tests;
use crate::test_cases::{
    MINI, Team, assert_no_all_of, create_test, load_catalog, openapi, patch, test_in_state,
};

async fn bulk(app: &TestApp, token: &str, body: Value) -> crate::helpers::Reply {
    app.post("/api/v1/tests/bulk", token, body).await
}

fn ids(tests: &[&Value]) -> Vec<String> {
    tests
        .iter()
        .map(|t| t["id"].as_str().unwrap().to_owned())
        .collect()
}

/// The ids of the tests a list answers, in its order.
async fn listed(app: &TestApp, token: &str, query: &str) -> Vec<String> {
    let reply = app.get(&format!("/api/v1/tests?{query}"), token).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    reply.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap().to_owned())
        .collect()
}

async fn assignees_are_people_of_their_side(stack: Stack) {
    let Some(env) = TestEnv::new(stack).await else {
        return;
    };
    let app = env.spawn().await;
    load_catalog(&app, &shared_data(MINI)).await;
    let team = Team::new(&app).await;
    let lead = team.token("lead").to_owned();

    let people = app.get("/api/v1/tests/people", team.token("viewer")).await;
    assert_eq!(people.status, 200, "{:?}", people.body);
    let sides = |role: &str| {
        let person = people
            .body
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["id"] == team.id(role))
            .unwrap()
            .clone();
        (person["red"].as_bool(), person["blue"].as_bool())
    };
    assert_eq!(sides("red_tech"), (Some(true), Some(false)));
    assert_eq!(sides("blue_tech"), (Some(false), Some(true)));
    assert_eq!(sides("lead"), (Some(true), Some(true)));
    assert_eq!(sides("viewer"), (Some(false), Some(false)));

    let test = create_test(&app, &lead, json!({"name": "t", "technique_id": "T1003"})).await;
    let id = test["id"].as_str().unwrap();
    for (field, wrong) in [
        ("red_assignee_id", "blue_tech"),
        ("blue_assignee_id", "red_tech"),
        ("red_assignee_id", "viewer"),
    ] {
        let refused = patch(&app, &lead, id, 1, json!({ field: team.id(wrong) })).await;
        assert_eq!(refused.status, 422, "{field} = {wrong}: {:?}", refused.body);
        assert_eq!(refused.body["errors"][0]["field"], field);
    }
    let assigned = patch(
        &app,
        &lead,
        id,
        1,
        json!({"red_assignee_id": team.id("red_tech"), "blue_assignee_id": team.id("blue_tech")}),
    )
    .await;
    assert_eq!(assigned.status, 200, "{:?}", assigned.body);
    assert_eq!(assigned.body["red_assignee_id"], team.id("red_tech"));
    assert_eq!(assigned.body["blue_assignee_id"], team.id("blue_tech"));
    assert_no_all_of(
        &openapi(&app).await,
        &[
            "PersonView",
            "BulkTestInput",
            "BulkItemView",
            "BulkTestReport",
        ],
    );
}

async fn each_role_sees_what_waits_for_it(stack: Stack) {
    let Some(env) = TestEnv::new(stack).await else {
        return;
    };
    let app = env.spawn().await;
    load_catalog(&app, &shared_data(MINI)).await;
    let team = Team::new(&app).await;
    let admin = team.token("admin").to_owned();
    let (red, blue) = (
        team.id("red_tech").to_owned(),
        team.id("blue_tech").to_owned(),
    );

    let mut by_state = Vec::new();
    for state in [
        "draft",
        "red_executing",
        "blue_evaluating",
        "completed",
        "cancelled",
    ] {
        by_state.push(test_in_state(&app, &admin, state).await);
    }
    let [draft, executing, evaluating, completed, cancelled] = &by_state[..] else {
        unreachable!()
    };
    // Hand out the red ones and the blue one; a second blue evaluation
    // stays unassigned and a third goes to another blue tech.
    for test in [draft, executing] {
        let id = test["id"].as_str().unwrap();
        let version = test["version"].as_i64().unwrap();
        let done = patch(&app, &admin, id, version, json!({"red_assignee_id": red})).await;
        assert_eq!(done.status, 200, "{:?}", done.body);
    }
    // A red-side test given to nobody waits for the leads, not the red tech.
    let open_red = create_test(
        &app,
        &admin,
        json!({"name": "open", "technique_id": "T1003"}),
    )
    .await;
    let version = evaluating["version"].as_i64().unwrap();
    let id = evaluating["id"].as_str().unwrap();
    assert_eq!(
        patch(&app, &admin, id, version, json!({"blue_assignee_id": blue}))
            .await
            .status,
        200
    );
    let open_blue = test_in_state(&app, &admin, "blue_evaluating").await;
    let (other_blue, _) = app.user_with_role(&admin, "blue-other", "blue_tech").await;
    let others = test_in_state(&app, &admin, "blue_evaluating").await;
    let version = others["version"].as_i64().unwrap();
    let others_id = others["id"].as_str().unwrap();
    assert_eq!(
        patch(
            &app,
            &admin,
            others_id,
            version,
            json!({"blue_assignee_id": other_blue})
        )
        .await
        .status,
        200
    );

    let mut red_queue = listed(
        &app,
        team.token("red_tech"),
        "waiting_for=me&sort=created_at",
    )
    .await;
    red_queue.sort();
    let mut expected = ids(&[draft, executing]);
    expected.sort();
    assert_eq!(
        red_queue, expected,
        "a red tech: their tests still on the red side"
    );

    let mut blue_queue = listed(&app, team.token("blue_tech"), "waiting_for=me").await;
    blue_queue.sort();
    let mut expected = ids(&[evaluating, &open_blue]);
    expected.sort();
    assert_eq!(
        blue_queue, expected,
        "a blue tech: theirs and unassigned, in blue evaluation"
    );

    let lead_queue = listed(&app, team.token("lead"), "waiting_for=me&limit=500").await;
    assert_eq!(lead_queue.len(), 6, "a lead: every unfinished test");
    assert!(lead_queue.contains(&open_red["id"].as_str().unwrap().to_owned()));
    assert!(!lead_queue.contains(&completed["id"].as_str().unwrap().to_owned()));
    assert!(!lead_queue.contains(&cancelled["id"].as_str().unwrap().to_owned()));

    assert!(
        listed(&app, team.token("viewer"), "waiting_for=me")
            .await
            .is_empty()
    );
    // Combines with the other filters.
    let mut drafts = listed(&app, team.token("lead"), "waiting_for=me&state=draft").await;
    drafts.sort();
    let mut expected = ids(&[draft, &open_red]);
    expected.sort();
    assert_eq!(drafts, expected);
    let refused = app.get("/api/v1/tests?waiting_for=someone", &admin).await;
    assert_eq!(refused.status, 422, "{:?}", refused.body);
}

async fn bulk_actions_report_each_test(stack: Stack) {
    let Some(env) = TestEnv::new(stack).await else {
        return;
    };
    let app = env.spawn().await;
    load_catalog(&app, &shared_data(MINI)).await;
    let team = Team::new(&app).await;
    let (admin, lead) = (
        team.token("admin").to_owned(),
        team.token("lead").to_owned(),
    );
    let mut three = Vec::new();
    for n in 0..3 {
        three.push(
            create_test(
                &app,
                &lead,
                json!({"name": format!("bulk {n}"), "technique_id": "T1003", "tags": ["old"]}),
            )
            .await,
        );
    }
    let good = ids(&three.iter().collect::<Vec<_>>());
    let completed = test_in_state(&app, &admin, "completed").await;
    let completed_id = completed["id"].as_str().unwrap().to_owned();
    let unknown = "01960c8e-0000-7000-8000-000000000000".to_owned();

    // Assign red to the three, a repeat, and an id that names no test.
    let mut with_bad = good.clone();
    with_bad.extend([good[0].clone(), unknown.clone()]);
    let assigned = bulk(
        &app,
        &lead,
        json!({"ids": with_bad, "action": "assign_red", "user_id": team.id("red_tech")}),
    )
    .await;
    assert_eq!(assigned.status, 200, "{:?}", assigned.body);
    let items = assigned.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 4, "a repeated id counts once: {items:?}");
    assert_eq!(
        (
            assigned.body["done"].as_i64(),
            assigned.body["refused"].as_i64()
        ),
        (Some(3), Some(1))
    );
    assert_eq!(
        (items[3]["status"].as_str(), items[3]["code"].as_str()),
        (Some("refused"), Some("not_found"))
    );
    let again = bulk(
        &app,
        &lead,
        json!({"ids": good, "action": "assign_red", "user_id": team.id("red_tech")}),
    )
    .await;
    assert_eq!(again.body["unchanged"], 3, "{:?}", again.body);

    // Blue to a blue tech; a red tech cannot be blue.
    let blue = bulk(
        &app,
        &lead,
        json!({"ids": good, "action": "assign_blue", "user_id": team.id("blue_tech")}),
    )
    .await;
    assert_eq!(blue.body["done"], 3, "{:?}", blue.body);
    let wrong = bulk(
        &app,
        &lead,
        json!({"ids": [good[0]], "action": "assign_blue", "user_id": team.id("red_tech")}),
    )
    .await;
    assert_eq!(
        (
            wrong.body["items"][0]["code"].as_str(),
            wrong.body["refused"].as_i64()
        ),
        (Some("validation_failed"), Some(1))
    );

    // Tags: the completed test's plan is locked, the others take the tag.
    let mut tagged_ids = good.clone();
    tagged_ids.push(completed_id.clone());
    let tagged = bulk(
        &app,
        &lead,
        json!({"ids": tagged_ids, "action": "add_tags", "tags": ["Q3", "apt29"]}),
    )
    .await;
    assert_eq!(tagged.status, 200, "{:?}", tagged.body);
    assert_eq!(
        (
            tagged.body["done"].as_i64(),
            tagged.body["refused"].as_i64()
        ),
        (Some(3), Some(1))
    );
    assert_eq!(tagged.body["items"][3]["code"], "fields_locked");
    let one = app
        .get(&format!("/api/v1/tests/{}", good[1]), &lead)
        .await
        .body;
    assert_eq!(one["tags"], json!(["apt29", "old", "q3"]));
    let untagged = bulk(
        &app,
        &lead,
        json!({"ids": good, "action": "remove_tags", "tags": ["old"]}),
    )
    .await;
    assert_eq!(untagged.body["done"], 3, "{:?}", untagged.body);
    let one = app
        .get(&format!("/api/v1/tests/{}", good[1]), &lead)
        .await
        .body;
    assert_eq!(one["tags"], json!(["apt29", "q3"]));

    // Into a campaign and out again.
    let campaign = app
        .post(
            "/api/v1/campaigns",
            &lead,
            json!({"name": "Bulk", "starts_on": "2026-11-01", "ends_on": "2026-11-30"}),
        )
        .await;
    assert_eq!(campaign.status, 201, "{:?}", campaign.body);
    let campaign_id = campaign.body["id"].as_str().unwrap();
    let moved = bulk(
        &app,
        &lead,
        json!({"ids": good, "action": "move_to_campaign", "campaign_id": campaign_id}),
    )
    .await;
    assert_eq!(moved.body["done"], 3, "{:?}", moved.body);
    assert_eq!(
        listed(&app, &lead, &format!("campaign_id={campaign_id}"))
            .await
            .len(),
        3
    );
    let out = bulk(
        &app,
        &lead,
        json!({"ids": [good[2]], "action": "move_to_campaign", "campaign_id": null}),
    )
    .await;
    assert_eq!(out.body["done"], 1, "{:?}", out.body);

    // A red tech starts their own tests; one given to another red tech and
    // the completed one are refused, the rest are done.
    let (other_red, _) = app.user_with_role(&admin, "red-other", "red_tech").await;
    let given = bulk(
        &app,
        &lead,
        json!({"ids": [good[2]], "action": "assign_red", "user_id": other_red}),
    )
    .await;
    assert_eq!(given.body["done"], 1);
    let started = bulk(
        &app,
        team.token("red_tech"),
        json!({"ids": [good[0], good[1], good[2], completed_id], "action": "start_execution"}),
    )
    .await;
    assert_eq!(started.status, 200, "{:?}", started.body);
    let codes: Vec<(&str, Option<&str>, Option<&str>)> = started.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["status"].as_str().unwrap(),
                i["state"].as_str(),
                i["code"].as_str(),
            )
        })
        .collect();
    assert_eq!(
        codes,
        [
            ("done", Some("red_executing"), None),
            ("done", Some("red_executing"), None),
            ("refused", None, Some("not_assignee")),
            ("refused", None, Some("illegal_transition")),
        ]
    );
    assert!(
        started.body["items"][3]["reason"]
            .as_str()
            .unwrap()
            .contains("completed")
    );

    // Each test's change is in its own history, by the one who made it.
    let history = app
        .get(&format!("/api/v1/tests/{}/history", good[0]), &lead)
        .await
        .body;
    let actions: Vec<&str> = history["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions.iter().filter(|a| **a == "test.update").count(),
        5,
        "{actions:?}"
    );
    assert_eq!(history["items"][0]["action"], "test.start_execution");
    assert_eq!(history["items"][0]["actor_name"], "red-tech-member");

    // Cancel: the lead cancels what is still open.
    let cancelled = bulk(&app, &lead, json!({"ids": good, "action": "cancel"})).await;
    assert_eq!(cancelled.body["done"], 3, "{:?}", cancelled.body);

    // Roles that may never take the action are refused whole, and nothing changes.
    let fresh = create_test(
        &app,
        &lead,
        json!({"name": "fresh", "technique_id": "T1003"}),
    )
    .await;
    let fresh_id = fresh["id"].as_str().unwrap();
    for (role, action) in [
        ("blue_tech", json!({"action": "add_tags", "tags": ["x"]})),
        ("blue_tech", json!({"action": "start_execution"})),
        ("viewer", json!({"action": "cancel"})),
    ] {
        let mut body = action.clone();
        body["ids"] = json!([fresh_id]);
        let refused = bulk(&app, team.token(role), body).await;
        assert_eq!(refused.status, 403, "{role} {action}: {:?}", refused.body);
    }
    let unchanged = app
        .get(&format!("/api/v1/tests/{fresh_id}"), &lead)
        .await
        .body;
    assert_eq!(
        (unchanged["version"].as_i64(), unchanged["state"].as_str()),
        (Some(1), Some("draft"))
    );

    // Malformed requests: the action's field missing or another one sent,
    // no ids, too many ids.
    for body in [
        json!({"ids": [fresh_id], "action": "assign_red"}),
        json!({"ids": [fresh_id], "action": "add_tags"}),
        json!({"ids": [fresh_id], "action": "start_execution", "tags": ["x"]}),
        json!({"ids": [fresh_id], "action": "assign_red", "user_id": null, "campaign_id": null}),
        json!({"ids": [], "action": "cancel"}),
        json!({"ids": vec![fresh_id; 501], "action": "cancel"}),
        json!({"ids": [fresh_id], "action": "add_tags", "tags": ["<b>"]}),
    ] {
        let refused = bulk(&app, &lead, body.clone()).await;
        assert_eq!(refused.status, 422, "{body}: {:?}", refused.body);
    }
}

stack_tests!(
    assignees_are_people_of_their_side,
    each_role_sees_what_waits_for_it,
    bulk_actions_report_each_test,
);
