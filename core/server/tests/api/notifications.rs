//! The inbox on both stacks: a test assigned, handed to blue and returned,
//! and an alert opened, each tell the right users and never the actor; the
//! derive job run twice stores nothing twice; unread counts, marking read,
//! and another user's notice answering 404. E-mail through a real SMTP
//! server (aiosmtpd, started by scripts/test-services.sh) reaches users with
//! an address, once; a server that cannot be reached is retried, then given up.

use std::path::{Path, PathBuf};

use aegis_core::config::Settings;
use aegis_mod_notifications::SmtpSettings;
use aegis_mod_notifications::settings::SmtpSecurity;
use serde_json::{Value, json};

use crate::helpers::{Stack, TestApp, TestEnv, run_job_now, shared_data};
use crate::stack_tests;
use crate::test_cases::{MINI, Team, create_test, load_catalog, patch, step, test_in_state};

/// Runs the job that derives notices, as the scheduler would.
async fn derive(app: &TestApp) {
    assert!(
        run_job_now(app, aegis_mod_notifications::DERIVE_JOB).await,
        "the derive job succeeds"
    );
}

/// `token`'s notices, oldest first, as (kind, test or alert id, title).
async fn inbox(app: &TestApp, token: &str) -> Vec<(String, String, String)> {
    let reply = app.get("/api/v1/notifications?limit=500", token).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    let mut notices: Vec<(String, String, String)> = reply.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .map(|n| {
            let about = n["test_id"].as_str().or(n["alert_id"].as_str()).unwrap();
            (
                n["kind"].as_str().unwrap().to_owned(),
                about.to_owned(),
                n["title"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    // Notices of one event share its time; order them by what they say.
    notices.sort();
    notices
}

fn kinds_about(notices: &[(String, String, String)], id: &str) -> Vec<String> {
    notices
        .iter()
        .filter(|(_, about, _)| about == id)
        .map(|(kind, _, _)| kind.clone())
        .collect()
}

async fn unread(app: &TestApp, token: &str) -> i64 {
    let reply = app.get("/api/v1/notifications/unread-count", token).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    reply.body["unread"].as_i64().unwrap()
}

fn id_of(test: &Value) -> String {
    test["id"].as_str().unwrap().to_owned()
}

async fn work_handed_over_reaches_the_right_inbox(stack: Stack) {
    let Some(env) = TestEnv::new(stack).await else {
        return;
    };
    let app = env.spawn().await;
    load_catalog(&app, &shared_data(MINI)).await;
    let team = Team::new(&app).await;
    let (admin, lead, red, blue) = (
        team.token("admin"),
        team.token("lead"),
        team.token("red_tech"),
        team.token("blue_tech"),
    );
    let (_, blue_two) = app.user_with_role(admin, "blue-two", "blue_tech").await;

    // The lead plans a test for red and blue: both are told, the lead is not.
    let planned = create_test(
        &app,
        lead,
        json!({
            "name": "Dump LSASS",
            "technique_id": "T1003",
            "red_assignee_id": team.id("red_tech"),
            "blue_assignee_id": team.id("blue_tech"),
            "executed_at": "2026-11-01T10:00:00Z",
            "attack_outcome": "succeeded",
        }),
    )
    .await;
    let planned_id = id_of(&planned);
    derive(&app).await;
    assert_eq!(
        kinds_about(&inbox(&app, red).await, &planned_id),
        ["assigned"]
    );
    assert_eq!(
        inbox(&app, blue).await,
        [(
            "assigned".to_owned(),
            planned_id.clone(),
            "Assigned to you: Dump LSASS".to_owned()
        )]
    );
    assert!(inbox(&app, lead).await.is_empty());

    // Red hands it to blue: its blue assignee is told, red is not.
    step(&app, red, &planned_id, "start-execution").await;
    step(&app, red, &planned_id, "submit-to-blue").await;
    // A test with no blue assignee, handed over by the admin: every blue tech hears.
    let open = test_in_state(&app, admin, "blue_evaluating").await;
    let open_id = id_of(&open);
    derive(&app).await;
    assert_eq!(
        kinds_about(&inbox(&app, blue).await, &planned_id),
        ["assigned", "handed_to_blue"]
    );
    assert_eq!(
        kinds_about(&inbox(&app, red).await, &planned_id),
        ["assigned"]
    );
    assert_eq!(
        kinds_about(&inbox(&app, blue).await, &open_id),
        ["handed_to_blue"]
    );
    assert_eq!(
        kinds_about(&inbox(&app, &blue_two).await, &open_id),
        ["handed_to_blue"]
    );
    assert!(kinds_about(&inbox(&app, &blue_two).await, &planned_id).is_empty());
    assert!(inbox(&app, admin).await.is_empty());

    // Blue completes it, the lead reopens it: red and blue are told it came back.
    let current = app
        .get(&format!("/api/v1/tests/{planned_id}"), blue)
        .await
        .body;
    let reply = patch(
        &app,
        blue,
        &planned_id,
        current["version"].as_i64().unwrap(),
        json!({"detection_outcome": "alerted", "detected_at": "2026-11-01T10:05:00Z"}),
    )
    .await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    step(&app, blue, &planned_id, "complete").await;
    step(&app, lead, &planned_id, "reopen").await;
    derive(&app).await;
    let returned = |notices: Vec<(String, String, String)>| {
        notices
            .into_iter()
            .filter(|(kind, _, _)| kind == "returned")
            .map(|(_, about, title)| (about, title))
            .collect::<Vec<_>>()
    };
    let expected = vec![(
        planned_id.clone(),
        "Returned for evaluation: Dump LSASS".to_owned(),
    )];
    assert_eq!(returned(inbox(&app, red).await), expected);
    assert_eq!(returned(inbox(&app, blue).await), expected);
    assert!(inbox(&app, lead).await.is_empty());

    // Reading the log again stores nothing twice.
    let before = (inbox(&app, red).await, inbox(&app, blue).await);
    derive(&app).await;
    derive(&app).await;
    assert_eq!((inbox(&app, red).await, inbox(&app, blue).await), before);

    // Unread counts and marking read, mine only.
    assert_eq!(unread(&app, blue).await, 4);
    let mine = app
        .get("/api/v1/notifications?unread=true&limit=1", blue)
        .await;
    assert_eq!(
        (mine.body["total"].as_i64(), mine.body["limit"].as_i64()),
        (Some(4), Some(1))
    );
    let first = mine.body["items"][0]["id"].as_str().unwrap().to_owned();
    assert!(mine.body["items"][0].get("read_at").is_none());
    let theirs = app.get("/api/v1/notifications", red).await.body["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let read = app
        .post(
            &format!("/api/v1/notifications/{first}/read"),
            blue,
            json!({}),
        )
        .await;
    assert_eq!(read.status, 200, "{:?}", read.body);
    assert!(read.body["read_at"].is_string());
    assert_eq!(unread(&app, blue).await, 3);
    let again = app
        .post(
            &format!("/api/v1/notifications/{first}/read"),
            blue,
            json!({}),
        )
        .await;
    assert_eq!(again.body["read_at"], read.body["read_at"], "read once");
    for (path, status) in [
        (format!("/api/v1/notifications/{theirs}/read"), 404),
        ("/api/v1/notifications/no-such-notice/read".to_owned(), 404),
    ] {
        let reply = app.post(&path, blue, json!({})).await;
        assert_eq!(reply.status, status, "{path}: {:?}", reply.body);
        assert_eq!(reply.body["code"], "notice_not_found");
    }
    assert_eq!(unread(&app, red).await, 2, "red's notice stays unread");
    let all = app
        .post("/api/v1/notifications/read-all", blue, json!({}))
        .await;
    assert_eq!(all.body["marked"], 3);
    assert_eq!(unread(&app, blue).await, 0);
    let left = app.get("/api/v1/notifications?unread=true", blue).await;
    assert_eq!(left.body["total"], 0);
    assert_eq!(
        app.get("/api/v1/notifications", blue).await.body["total"],
        4
    );

    // Any signed-in role has an inbox; nobody else does.
    assert_eq!(unread(&app, team.token("viewer")).await, 0);
    let anonymous = app
        .call("GET", "/api/v1/notifications/unread-count", None, None)
        .await;
    assert_eq!(anonymous.status, 401);
    for bad in ["limit=0", "limit=501", "offset=-1"] {
        let reply = app.get(&format!("/api/v1/notifications?{bad}"), blue).await;
        assert_eq!(reply.status, 422, "{bad}: {:?}", reply.body);
    }
}

async fn opened_alerts_reach_leads_and_admins(stack: Stack) {
    let Some(env) = TestEnv::new(stack).await else {
        return;
    };
    let app = env.spawn().await;
    load_catalog(&app, &shared_data(MINI)).await;
    let team = Team::new(&app).await;
    test_in_state(&app, team.token("admin"), "blue_evaluating").await;
    let rule = app
        .post(
            "/api/v1/alert-rules",
            team.token("lead"),
            json!({"name": "overdue", "kind": "blue_review_overdue"}),
        )
        .await;
    assert_eq!(rule.status, 201, "{:?}", rule.body);
    let rule_id = rule.body["id"].as_str().unwrap();
    // Two days on, the review is overdue; the lead asks for an evaluation.
    app.kernel.clock.advance(chrono::Duration::hours(48));
    let evaluated = app
        .post(
            &format!("/api/v1/alert-rules/{rule_id}/evaluate"),
            team.token("lead"),
            json!({}),
        )
        .await;
    assert_eq!(evaluated.status, 200, "{:?}", evaluated.body);
    let alerts = app.get("/api/v1/alerts", team.token("lead")).await.body;
    assert_eq!(alerts["total"], 1);
    let alert = &alerts["items"][0];
    let alert_id = alert["id"].as_str().unwrap().to_owned();
    derive(&app).await;
    derive(&app).await;
    let told = vec![(
        "alert_opened".to_owned(),
        alert_id,
        format!("Alert opened: {}", alert["title"].as_str().unwrap()),
    )];
    // The alert opens on the server's behalf, so the lead who asked hears too.
    assert_eq!(inbox(&app, team.token("lead")).await, told);
    assert_eq!(inbox(&app, team.token("admin")).await, told);
    for role in ["red_tech", "blue_tech", "viewer"] {
        let notices = inbox(&app, team.token(role)).await;
        assert!(
            notices.iter().all(|(kind, _, _)| kind != "alert_opened"),
            "{role}: {notices:?}"
        );
    }
}

/// The SMTP test server's address and the Maildir it keeps messages in.
fn smtp_server() -> Option<(String, u16, PathBuf)> {
    let address = std::env::var("AEGIS_TEST_SMTP_ADDR").unwrap_or_else(|_| "127.0.0.1:2525".into());
    let maildir = std::env::var("AEGIS_TEST_SMTP_MAILDIR")
        .map(PathBuf::from)
        .ok()
        .or_else(|| {
            Some(PathBuf::from(std::env::var("HOME").ok()?).join(".cache/aegis/smtp-maildir"))
        })?;
    if let Err(error) = std::net::TcpStream::connect(&address) {
        return aegis_core::testing::missing("the SMTP test server", &error);
    }
    let (host, port) = address.rsplit_once(':').expect("host:port");
    Some((host.to_owned(), port.parse().expect("port"), maildir))
}

fn smtp_to(host: &str, port: u16) -> impl FnOnce(&mut Settings) {
    let (host, port) = (host.to_owned(), port);
    move |settings: &mut Settings| {
        settings.set_section(&SmtpSettings {
            host,
            port,
            security: SmtpSecurity::None,
            from: "Aegis <aegis@example.org>".into(),
            dashboard_url: "https://aegis.example.org/".into(),
            timeout_seconds: 5,
            ..SmtpSettings::default()
        });
    }
}

/// The messages in `maildir` for `recipient` (each test uses addresses of its own).
fn mail_for(maildir: &Path, recipient: &str) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(maildir.join("new")) else {
        return Vec::new();
    };
    entries
        .filter_map(|entry| std::fs::read_to_string(entry.ok()?.path()).ok())
        .filter(|text| {
            text.lines()
                .any(|line| line == format!("X-RcptTo: {recipient}"))
        })
        .map(|text| quoted_printable_joined(&text))
        .collect()
}

/// The message with quoted-printable soft line breaks joined and `=3D`
/// read, enough to find a long link in it.
fn quoted_printable_joined(text: &str) -> String {
    text.replace("=\r\n", "")
        .replace("=\n", "")
        .replace("=3D", "=")
}

async fn patch_me(app: &TestApp, token: &str, body: Value) -> crate::helpers::Reply {
    app.call("PATCH", "/api/v1/auth/me", Some(token), Some(body))
        .await
}

async fn email_job(app: &TestApp) {
    assert!(
        run_job_now(app, aegis_mod_notifications::EMAIL_JOB).await,
        "the e-mail job succeeds"
    );
}

/// (tries, last error) of `user_id`'s notices.
async fn email_tries(app: &TestApp, user_id: &str) -> Vec<(i64, Option<String>)> {
    sqlx::query_as(
        "SELECT email_attempts, email_error FROM notifications_notice WHERE user_id = $1",
    )
    .bind(user_id)
    .fetch_all(app.kernel.db.pool())
    .await
    .expect("notices")
}

async fn notices_are_emailed_to_users_with_an_address(stack: Stack) {
    let Some((host, port, maildir)) = smtp_server() else {
        return;
    };
    let Some(env) = TestEnv::new(stack).await else {
        return;
    };
    let app = env.spawn_with(smtp_to(&host, port)).await;
    load_catalog(&app, &shared_data(MINI)).await;
    let team = Team::new(&app).await;
    let (admin, lead, red, blue) = (
        team.token("admin"),
        team.token("lead"),
        team.token("red_tech"),
        team.token("blue_tech"),
    );
    let unique = uuid::Uuid::new_v4().simple().to_string();
    let (blue_address, red_address) = (
        format!("blue-{unique}@example.org"),
        format!("red-{unique}@example.org"),
    );

    // Blue gives an address on their account; one that is not a single plain address is refused.
    for bad in [
        "blue",
        "blue@example.org, x@example.org",
        "Blue <blue@example.org>",
        "a b@example.org",
    ] {
        let reply = patch_me(&app, blue, json!({"email": bad})).await;
        assert_eq!(reply.status, 422, "{bad}: {:?}", reply.body);
    }
    let me = patch_me(&app, blue, json!({"email": blue_address})).await;
    assert_eq!(me.status, 200, "{:?}", me.body);
    assert_eq!(me.body["email"], blue_address.as_str());
    // The admin sets red's address, then red removes it: red stays inbox-only.
    let set = app
        .call(
            "PATCH",
            &format!("/api/v1/users/{}", team.id("red_tech")),
            Some(admin),
            Some(json!({"email": red_address})),
        )
        .await;
    assert_eq!(set.body["email"], red_address.as_str(), "{:?}", set.body);
    let cleared = patch_me(&app, red, json!({"email": null})).await;
    assert!(cleared.body.get("email").is_none(), "{:?}", cleared.body);

    let planned = create_test(
        &app,
        lead,
        json!({
            "name": "Dump LSASS",
            "technique_id": "T1003",
            "red_assignee_id": team.id("red_tech"),
            "blue_assignee_id": team.id("blue_tech"),
        }),
    )
    .await;
    let planned_id = id_of(&planned);
    derive(&app).await;
    email_job(&app).await;
    email_job(&app).await;

    let sent = mail_for(&maildir, &blue_address);
    assert_eq!(
        sent.len(),
        1,
        "one message, however often the job runs: {sent:?}"
    );
    let message = &sent[0];
    assert!(
        message.contains("Subject: [Aegis] Assigned to you: Dump LSASS"),
        "{message}"
    );
    assert!(
        message.contains("From: Aegis <aegis@example.org>"),
        "{message}"
    );
    assert!(
        message.contains(&format!("https://aegis.example.org/tests/{planned_id}")),
        "{message}"
    );
    assert!(
        mail_for(&maildir, &red_address).is_empty(),
        "red removed the address"
    );

    let notice = &app.get("/api/v1/notifications", blue).await.body["items"][0];
    assert!(notice["emailed_at"].is_string(), "{notice:?}");
    let red_notice = &app.get("/api/v1/notifications", red).await.body["items"][0];
    assert_eq!(red_notice["kind"], "assigned");
    assert!(red_notice.get("emailed_at").is_none(), "{red_notice:?}");
    assert_eq!(
        email_tries(&app, team.id("red_tech")).await,
        [(
            aegis_mod_notifications::service::EMAIL_MAX_ATTEMPTS,
            Some("no e-mail address".to_owned())
        )]
    );
}

async fn an_unreachable_smtp_server_is_retried_then_given_up(stack: Stack) {
    let Some(env) = TestEnv::new(stack).await else {
        return;
    };
    // A port nothing listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = closed.local_addr().expect("address").port();
    drop(closed);
    let app = env.spawn_with(smtp_to("127.0.0.1", port)).await;
    load_catalog(&app, &shared_data(MINI)).await;
    let team = Team::new(&app).await;
    let blue = team.token("blue_tech");
    let me = patch_me(&app, blue, json!({"email": "blue@example.org"})).await;
    assert_eq!(me.status, 200, "{:?}", me.body);
    create_test(
        &app,
        team.token("lead"),
        json!({"name": "Dump LSASS", "technique_id": "T1003", "blue_assignee_id": team.id("blue_tech")}),
    )
    .await;
    derive(&app).await;
    email_job(&app).await;
    let tries = email_tries(&app, team.id("blue_tech")).await;
    assert_eq!(tries.len(), 1);
    assert_eq!(tries[0].0, 1);
    assert!(
        tries[0].1.as_deref().is_some_and(|e| !e.is_empty()),
        "the failure is kept: {tries:?}"
    );
    for _ in 0..6 {
        email_job(&app).await;
    }
    assert_eq!(
        email_tries(&app, team.id("blue_tech")).await[0].0,
        aegis_mod_notifications::service::EMAIL_MAX_ATTEMPTS,
        "tries stop at the limit"
    );
    // The inbox has the notice all the same.
    assert_eq!(unread(&app, blue).await, 1);
}

stack_tests!(
    work_handed_over_reaches_the_right_inbox,
    opened_alerts_reach_leads_and_admins,
    notices_are_emailed_to_users_with_an_address,
    an_unreachable_smtp_server_is_retried_then_given_up,
);
