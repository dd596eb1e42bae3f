//! The test-case services and repositories on both stacks, without the HTTP
//! server: the life of a test with its versions, and the unit of work of
//! every change (the row and its audit event commit or fail together).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::sync::Arc;

use aegis_core::Kernel;
use aegis_core::audit::AuditFilter;
use aegis_core::auth::{
    Credential, Identity, IdentityError, IdentityResolver, Member, Principal, Role,
};
use aegis_core::concurrency::VersionError;
use aegis_core::db::Backend;
use aegis_core::stack_tests;
use aegis_core::testing::{Stack, TestBackends};
use aegis_mod_techniques::{CatalogService, SyncService};
use aegis_mod_test_cases::error::TestCaseError;
use aegis_mod_test_cases::evidence::UploadMeta;
use aegis_mod_test_cases::model::{AttackOutcome, DetectionOutcome, TestPatch, TestRecord};
use aegis_mod_test_cases::read::{ReadScope, TestCaseReads};
use aegis_mod_test_cases::service::CampaignDirectory;
use aegis_mod_test_cases::template::TemplatePatch;
use aegis_mod_test_cases::workflow::{TestState, Transition};
use aegis_mod_test_cases::{TestCasesModule, TestService};

const MINI_CATALOG: &str = "attack/fixtures/enterprise-attack-18.1-mini.json";

fn shared_data(relative: &str) -> String {
    let root = std::env::var("AEGIS_SHARED_DATA")
        .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data").into());
    let path = format!("{root}/{relative}");
    assert!(
        std::path::Path::new(&path).exists(),
        "test data {path} is missing; set AEGIS_SHARED_DATA"
    );
    path
}

/// The users every principal below belongs to, all active.
struct Users;

#[async_trait::async_trait]
impl IdentityResolver for Users {
    async fn active_user(&self, user_id: &str) -> Result<Option<Identity>, IdentityError> {
        Ok(ROLES
            .iter()
            .find(|(_, id)| *id == user_id)
            .map(|(role, id)| Identity {
                user_id: (*id).into(),
                username: format!("{}-user", role.as_str()),
                role: *role,
                sessions_valid_after: None,
                session_generation: 0,
            }))
    }

    async fn api_token_owner(
        &self,
        _token_hash: &str,
    ) -> Result<Option<(String, Identity)>, IdentityError> {
        Ok(None)
    }

    async fn active_members(&self, _limit: i64) -> Result<Vec<Member>, IdentityError> {
        Ok(ROLES
            .iter()
            .map(|(role, id)| Member {
                user_id: (*id).into(),
                username: format!("{}-user", role.as_str()),
                display_name: format!("{} user", role.as_str()),
                role: *role,
            })
            .collect())
    }
}

/// A campaign directory that knows none: these tests plan no campaigns.
struct NoCampaigns;

#[async_trait::async_trait]
impl CampaignDirectory for NoCampaigns {
    async fn status(&self, _id: &str) -> Result<Option<String>, sqlx::Error> {
        Ok(None)
    }
}

const ROLES: [(Role, &str); 4] = [
    (Role::Admin, "00000000-0000-7000-8000-000000000001"),
    (Role::Lead, "00000000-0000-7000-8000-000000000002"),
    (Role::RedTech, "00000000-0000-7000-8000-000000000003"),
    (Role::BlueTech, "00000000-0000-7000-8000-000000000004"),
];

fn principal(role: Role) -> Principal {
    let (_, id) = ROLES
        .iter()
        .find(|(r, _)| *r == role)
        .expect("a user per role");
    Principal {
        user_id: (*id).into(),
        username: format!("{}-user", role.as_str()),
        role,
        credential: Credential::Session {
            jti: "test".into(),
            expires_at: i64::MAX,
            cookie: false,
        },
    }
}

/// Fresh backends with the small ATT&CK catalog synced, and the module.
struct Fixture {
    _backends: TestBackends,
    kernel: Kernel,
    module: TestCasesModule,
}

impl Fixture {
    async fn new(stack: Stack) -> Option<Self> {
        let backends = TestBackends::new(stack).await?;
        let kernel = backends.kernel().await;
        SyncService::new(kernel.clone())
            .run("test", &shared_data(MINI_CATALOG), &|_, _, _| {})
            .await
            .expect("the catalog syncs");
        let module = TestCasesModule::new(
            &kernel,
            Arc::new(Users),
            Arc::new(NoCampaigns),
            CatalogService::new(&kernel),
        );
        Some(Self {
            _backends: backends,
            kernel,
            module,
        })
    }

    fn tests(&self) -> &TestService {
        self.module.tests()
    }

    async fn create(&self, name: &str) -> TestRecord {
        self.tests()
            .create(&principal(Role::RedTech), &named(name), None)
            .await
            .expect("the test is created")
    }

    async fn scalar(&self, sql: &str, bind: &str) -> i64 {
        sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sql.to_owned()))
            .bind(bind.to_owned())
            .fetch_one(self.kernel.db.pool())
            .await
            .expect("the count reads")
    }

    /// Audit events about test `id`, optionally of one action.
    async fn events(&self, id: &str, action: Option<&str>) -> i64 {
        let filter = AuditFilter {
            target: Some(("test".into(), id.into())),
            action: action.map(str::to_owned),
            ..AuditFilter::default()
        };
        self.kernel
            .audit
            .list(&filter, 1, 0)
            .await
            .expect("the audit log reads")
            .1
    }

    /// Makes every `operation` (`INSERT`, `UPDATE`) on `table` fail until
    /// [`Fixture::heal`]. Each table's trigger has its own name: a pooled
    /// SQLite connection whose schema is stale would take a re-created
    /// trigger of the same name for one that still exists.
    async fn break_writes(&self, table: &str, operation: &str) {
        let statements = match self.kernel.db.backend() {
            Backend::Sqlite => vec![format!(
                "CREATE TRIGGER inject_failure_{table} BEFORE {operation} ON {table} BEGIN SELECT RAISE(ABORT, 'injected failure'); END"
            )],
            Backend::Postgres => vec![
                "CREATE OR REPLACE FUNCTION inject_failure() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'injected failure'; END $$ LANGUAGE plpgsql".to_owned(),
                format!(
                    "CREATE TRIGGER inject_failure_{table} BEFORE {operation} ON {table} FOR EACH ROW EXECUTE FUNCTION inject_failure()"
                ),
            ],
        };
        for sql in statements {
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .execute(self.kernel.db.pool())
                .await
                .expect("the trigger installs");
        }
    }

    async fn heal(&self, table: &str) {
        let sql = match self.kernel.db.backend() {
            Backend::Sqlite => format!("DROP TRIGGER inject_failure_{table}"),
            Backend::Postgres => format!("DROP TRIGGER inject_failure_{table} ON {table}"),
        };
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .execute(self.kernel.db.pool())
            .await
            .expect("the trigger goes");
        let left = match self.kernel.db.backend() {
            Backend::Sqlite => {
                "SELECT COUNT(*) FROM sqlite_master WHERE type = 'trigger' AND name LIKE $1"
            }
            Backend::Postgres => "SELECT COUNT(*) FROM pg_trigger WHERE tgname LIKE $1",
        };
        assert_eq!(self.scalar(left, "inject_failure%").await, 0, "healed");
    }
}

fn named(name: &str) -> TestPatch {
    TestPatch {
        name: Some(name.into()),
        technique_id: Some("T1003".into()),
        tags: Some(vec!["before".into()]),
        ..TestPatch::default()
    }
}

fn at(text: &str) -> chrono::DateTime<chrono::Utc> {
    text.parse().expect("an RFC 3339 time")
}

fn injected(result: Result<impl std::fmt::Debug, TestCaseError>) {
    match result {
        Err(TestCaseError::Database(error)) => {
            assert!(error.to_string().contains("injected failure"), "{error}");
        }
        other => panic!("expected the injected database failure, got {other:?}"),
    }
}

async fn a_test_lives_from_draft_to_completed_with_versions(stack: Stack) {
    let Some(f) = Fixture::new(stack).await else {
        return;
    };
    let red = principal(Role::RedTech);
    let blue = principal(Role::BlueTech);
    let tests = f.tests();

    // Creation checks what it needs and refuses what the catalog lacks.
    let missing = tests.create(&red, &TestPatch::default(), None).await;
    assert!(
        matches!(&missing, Err(TestCaseError::Invalid(e)) if e.len() == 2),
        "{missing:?}"
    );
    let unknown = TestPatch {
        technique_id: Some("T9999".into()),
        ..named("unknown")
    };
    assert!(matches!(
        tests.create(&red, &unknown, None).await,
        Err(TestCaseError::Invalid(e)) if e[0].field == "technique_id"
    ));
    let assignee = TestPatch {
        blue_assignee_id: Some(Some(ROLES[3].1.into())),
        ..named("assigned")
    };
    assert!(tests.create(&red, &assignee, None).await.is_ok());
    let stranger = TestPatch {
        blue_assignee_id: Some(Some("00000000-0000-7000-8000-0000000000ff".into())),
        ..named("assigned to nobody")
    };
    assert!(matches!(
        tests.create(&red, &stranger, None).await,
        Err(TestCaseError::Invalid(e)) if e[0].field == "blue_assignee_id"
    ));

    let test = f.create("dump lsass").await;
    assert_eq!((test.state, test.version), (TestState::Draft, 1));
    assert_eq!(test.fields.technique_id, "T1003");
    assert_eq!(
        test.technique.name.as_deref(),
        Some("OS Credential Dumping")
    );
    let id = test.id.clone();

    // Versions: none sent is 428, a stale one 412 naming the current one.
    let rename = TestPatch {
        name: Some("dump lsass memory".into()),
        ..TestPatch::default()
    };
    assert!(matches!(
        tests.update(&red, &id, None, &rename).await,
        Err(TestCaseError::Version(VersionError::Required))
    ));
    assert!(matches!(
        tests.update(&red, &id, Some(7), &rename).await,
        Err(TestCaseError::Version(VersionError::Stale { current: 1 }))
    ));
    let renamed = tests.update(&red, &id, Some(1), &rename).await.unwrap();
    assert_eq!(
        (renamed.fields.name.as_str(), renamed.version),
        ("dump lsass memory", 2)
    );
    assert!(matches!(
        tests.update(&red, &id, Some(1), &rename).await,
        Err(TestCaseError::Version(VersionError::Stale { current: 2 }))
    ));
    // An edit that changes nothing writes nothing.
    let same = tests.update(&red, &id, Some(2), &rename).await.unwrap();
    assert_eq!(same.version, 2);

    // Transitions check role, state and preconditions.
    assert!(matches!(
        tests
            .transition(&blue, &id, Transition::StartExecution)
            .await,
        Err(TestCaseError::Forbidden(_))
    ));
    assert!(matches!(
        tests.transition(&red, &id, Transition::Complete).await,
        Err(TestCaseError::Forbidden(_))
    ));
    // Times come from the kernel's clock, which tests may move.
    f.kernel.clock.advance(chrono::Duration::hours(5));
    let running = tests
        .transition(&red, &id, Transition::StartExecution)
        .await
        .unwrap();
    assert_eq!(
        (running.state, running.version),
        (TestState::RedExecuting, 3)
    );
    assert!(running.updated_at > chrono::Utc::now() + chrono::Duration::hours(4));
    let early = tests.transition(&red, &id, Transition::SubmitToBlue).await;
    assert!(
        matches!(&early, Err(TestCaseError::Incomplete { state, missing }) if missing.len() == 2 && state == "red_executing"),
        "{early:?}"
    );
    let red_half = TestPatch {
        executed_at: Some(Some(at("2026-11-01T10:00:00Z"))),
        attack_outcome: Some(Some(AttackOutcome::Succeeded)),
        ..TestPatch::default()
    };
    assert!(matches!(
        tests.update(&blue, &id, Some(3), &red_half).await,
        Err(TestCaseError::Forbidden(_))
    ));
    let executed = tests.update(&red, &id, Some(3), &red_half).await.unwrap();
    assert_eq!(executed.version, 4);
    let submitted = tests
        .transition(&red, &id, Transition::SubmitToBlue)
        .await
        .unwrap();
    assert_eq!(
        (submitted.state, submitted.version),
        (TestState::BlueEvaluating, 5)
    );
    assert!(matches!(
        tests.update(&red, &id, Some(5), &red_half).await,
        Err(TestCaseError::WrongState {
            code: "fields_locked",
            ..
        })
    ));
    assert!(matches!(
        tests.transition(&blue, &id, Transition::Complete).await,
        Err(TestCaseError::Incomplete { missing, .. }) if missing[0].field == "detection_outcome"
    ));
    let blue_half = TestPatch {
        detection_outcome: Some(Some(DetectionOutcome::Alerted)),
        detected_at: Some(Some(at("2026-11-01T10:05:00Z"))),
        ..TestPatch::default()
    };
    assert_eq!(
        tests
            .update(&blue, &id, Some(5), &blue_half)
            .await
            .unwrap()
            .version,
        6
    );
    let done = tests
        .transition(&blue, &id, Transition::Complete)
        .await
        .unwrap();
    assert_eq!((done.state, done.version), (TestState::Completed, 7));
    match tests.transition(&blue, &id, Transition::Complete).await {
        Err(TestCaseError::WrongState { code, state, .. }) => {
            assert_eq!((code, state.as_str()), ("illegal_transition", "completed"));
        }
        other => panic!("completing twice: {other:?}"),
    }

    // Each change left its transition record and its history entry.
    let transitions = tests.transitions(&id).await.unwrap();
    let names: Vec<&str> = transitions.iter().map(|t| t.transition.as_str()).collect();
    assert_eq!(names, ["start_execution", "submit_to_blue", "complete"]);
    let actors: Vec<&str> = transitions.iter().map(|t| t.actor_name.as_str()).collect();
    assert_eq!(actors, ["red_tech-user", "red_tech-user", "blue_tech-user"]);
    let (history, total) = tests.history(&id, 50, 0).await.unwrap();
    assert_eq!(total, 7);
    let actions: Vec<&str> = history.iter().map(|e| e.entry.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "test.complete",
            "test.update",
            "test.submit_to_blue",
            "test.update",
            "test.start_execution",
            "test.update",
            "test.create",
        ]
    );
    assert_eq!(
        history[0].entry.actor_name.as_deref(),
        Some("blue_tech-user")
    );

    // The published read port sees the test through the fact view.
    let views = TestCaseReads::new(f.kernel.db.clone())
        .tests(&ReadScope::default())
        .await
        .unwrap();
    let view = views.iter().find(|v| v.id == id).expect("the test is read");
    assert_eq!(view.state.as_str(), "completed");
    assert_eq!(view.technique_id, "T1003");
    assert!(view.submitted_at.is_some());
}

async fn a_change_and_its_audit_event_commit_or_fail_together(stack: Stack) {
    let Some(f) = Fixture::new(stack).await else {
        return;
    };
    let red = principal(Role::RedTech);
    let lead = principal(Role::Lead);
    let tests = f.tests();
    let evidence = f.module.evidence();
    let templates = f.module.templates();
    let a = f.create("kept").await;
    let proof = evidence
        .upload(
            &red,
            &a.id,
            UploadMeta {
                file_name: Some("proof.txt".into()),
                media_type: Some("text/plain".into()),
                description: String::new(),
            },
            &b"proof"[..],
        )
        .await
        .unwrap();
    let count_tests = "SELECT COUNT(*) FROM test_cases_test WHERE id <> $1";

    // The audit log refuses every event: no change may commit without one.
    f.break_writes("kernel_audit_event", "INSERT").await;
    injected(tests.create(&red, &named("lost"), None).await);
    assert_eq!(
        f.scalar(count_tests, &a.id).await,
        0,
        "no row without its event"
    );
    let change = TestPatch {
        name: Some("changed".into()),
        tags: Some(vec!["after".into()]),
        ..TestPatch::default()
    };
    injected(tests.update(&red, &a.id, Some(1), &change).await);
    injected(
        tests
            .transition(&red, &a.id, Transition::StartExecution)
            .await,
    );
    injected(tests.transition(&red, &a.id, Transition::Cancel).await);
    let now = tests.get(&a.id).await.unwrap();
    assert_eq!((now.state, now.version), (TestState::Draft, 1));
    assert_eq!(now.fields.name, "kept");
    assert_eq!(now.fields.tags, ["before"]);
    assert!(tests.transitions(&a.id).await.unwrap().is_empty());
    let refused = evidence
        .upload(
            &red,
            &a.id,
            UploadMeta {
                file_name: Some("lost.txt".into()),
                media_type: Some("text/plain".into()),
                description: String::new(),
            },
            &b"lost"[..],
        )
        .await;
    injected(refused);
    injected(evidence.delete(&red, &a.id, &proof.id).await);
    let files = evidence.list(&a.id).await.unwrap();
    assert_eq!(
        files.len(),
        1,
        "the failed upload left no row, the delete kept one"
    );
    assert_eq!(files[0].id, proof.id);
    let stored = f
        .kernel
        .storage
        .operator()
        .list_with(&format!("evidence/{}/", a.id))
        .recursive(true)
        .await
        .unwrap();
    assert_eq!(
        stored.iter().filter(|e| e.metadata().is_file()).count(),
        1,
        "the failed upload's object is removed, the kept file stays"
    );
    let template = TemplatePatch {
        name: Some("dump".into()),
        technique_id: Some("T1003".into()),
        command: Some("procdump lsass".into()),
        ..TemplatePatch::default()
    };
    injected(templates.create(&lead, &template).await);
    let actor = templates.actor(&lead);
    injected(
        templates
            .import_atomic(&actor, "T1003.yaml", ATOMIC, &mut HashMap::new())
            .await,
    );
    assert_eq!(
        f.scalar(
            "SELECT COUNT(*) FROM test_cases_template WHERE id <> $1",
            ""
        )
        .await,
        0
    );
    f.heal("kernel_audit_event").await;
    assert_eq!(
        f.events(&a.id, None).await,
        2,
        "create and the first upload only"
    );

    // The transition record fails: the transition's event is not kept.
    f.break_writes("test_cases_transition", "INSERT").await;
    injected(
        tests
            .transition(&red, &a.id, Transition::StartExecution)
            .await,
    );
    assert_eq!(f.events(&a.id, Some("test.start_execution")).await, 0);
    let now = tests.get(&a.id).await.unwrap();
    assert_eq!((now.state, now.version), (TestState::Draft, 1));
    f.heal("test_cases_transition").await;

    // The row cannot change: the update's event is not kept either.
    f.break_writes("test_cases_test", "UPDATE").await;
    injected(tests.update(&red, &a.id, Some(1), &change).await);
    assert_eq!(f.events(&a.id, Some("test.update")).await, 0);
    f.heal("test_cases_test").await;

    // With nothing broken, every committed change has exactly its event:
    // a test's version counts its changes, one event each.
    let b = f.create("second").await;
    let a1 = tests.update(&red, &a.id, Some(1), &change).await.unwrap();
    assert_eq!(a1.fields.tags, ["after"]);
    tests
        .transition(&red, &a.id, Transition::StartExecution)
        .await
        .unwrap();
    tests
        .transition(&red, &a.id, Transition::Cancel)
        .await
        .unwrap();
    tests
        .transition(&red, &b.id, Transition::Cancel)
        .await
        .unwrap();
    for id in [&a.id, &b.id] {
        let test = tests.get(id).await.unwrap();
        let uploads = f.events(id, Some("test.evidence_add")).await;
        assert_eq!(
            f.events(id, None).await - uploads,
            test.version,
            "one event per committed change of {}",
            test.fields.name
        );
        assert_eq!(
            f.events(id, Some("test.create")).await,
            1,
            "{}",
            test.fields.name
        );
        let moves = i64::try_from(tests.transitions(id).await.unwrap().len()).unwrap();
        let moved = f.events(id, Some("test.start_execution")).await
            + f.events(id, Some("test.cancel")).await;
        assert_eq!(moves, moved, "one event per recorded transition");
    }
    assert_eq!(f.events(&a.id, Some("test.update")).await, 1);
    assert_eq!(f.events(&a.id, Some("test.evidence_add")).await, 1);
    assert_eq!(f.events(&a.id, Some("test.evidence_delete")).await, 0);

    // Templates and the import commit with their events too.
    let made = templates.create(&lead, &template).await.unwrap();
    let report = templates
        .import_atomic(&actor, "T1003.yaml", ATOMIC, &mut HashMap::new())
        .await
        .unwrap();
    assert_eq!(report.created, 1);
    templates.delete(&lead, &made.id).await.unwrap();
    let template_events = |action: &'static str| {
        let audit = f.kernel.audit.clone();
        async move {
            let filter = AuditFilter {
                action: Some(action.into()),
                ..AuditFilter::default()
            };
            audit.list(&filter, 1, 0).await.unwrap().1
        }
    };
    assert_eq!(template_events("template.create").await, 1);
    assert_eq!(template_events("template.import").await, 1);
    assert_eq!(template_events("template.delete").await, 1);
}

const ATOMIC: &str = r#"
attack_technique: T1003
display_name: OS Credential Dumping
atomic_tests:
- name: Dump the credential store
  auto_generated_guid: 7f3a2c0e-5b4d-4c1e-9a8b-1d2e3f4a5b6c
  description: Reads what it should not.
  supported_platforms:
  - linux
  executor:
    name: sh
    command: cat /etc/shadow
"#;

stack_tests!(
    a_test_lives_from_draft_to_completed_with_versions,
    a_change_and_its_audit_event_commit_or_fail_together,
);
