//! The coverage service and repository on both stacks, without HTTP: status
//! rules, KPIs and snapshots (also inside a caller's transaction). Test
//! facts are seeded as rows of the test-case module's table (production code
//! reads them only through its `test_cases_fact` view), the catalog as rows
//! of the techniques module's tables.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use aegis_core::Kernel;
use aegis_core::audit::AuditFilter;
use aegis_core::auth::{Credential, Principal, Role};
use aegis_core::testing::{Stack, TestBackends};
use aegis_core::time::{self, Timestamp};
use aegis_mod_coverage::model::{Coverage, Status};
use aegis_mod_coverage::{CoverageError, CoverageService, Scope};
use aegis_mod_techniques::CatalogService;

const DOMAIN: &str = "enterprise-attack";

/// A kernel on fresh backends with a small catalog, and its service; `None`
/// (skipped) when a shared service is down outside CI.
async fn setup(stack: Stack) -> Option<(TestBackends, Kernel, CoverageService)> {
    let backends = TestBackends::new(stack).await?;
    let kernel = backends.kernel().await;
    catalog(&kernel).await;
    let service = CoverageService::new(kernel.clone(), CatalogService::new(&kernel));
    Some((backends, kernel, service))
}

async fn tactic(kernel: &Kernel, id: &str, short: &str, name: &str, order: i64) {
    sqlx::query(
        "INSERT INTO techniques_tactic (domain, attack_id, stix_id, short_name, name, description,
            matrix_order, deprecated, modified)
         VALUES ($1, $2, $3, $4, $5, '', $6, 0, '2026-01-01T00:00:00Z')",
    )
    .bind(DOMAIN)
    .bind(id)
    .bind(format!("x-mitre-tactic--{id}"))
    .bind(short)
    .bind(name)
    .bind(order)
    .execute(kernel.db.pool())
    .await
    .unwrap();
}

async fn technique(kernel: &Kernel, id: &str, tactics: &[&str], platforms: &[&str], revoked: bool) {
    sqlx::query(
        "INSERT INTO techniques_technique (domain, attack_id, stix_id, name, description, detection,
            tactics, platforms, data_sources, created, modified, is_subtechnique, parent_attack_id,
            revoked, revoked_by, deprecated)
         VALUES ($1, $2, $3, $4, '', '', $5, $6, '[]', '2020-01-01T00:00:00Z',
            '2026-01-01T00:00:00Z', $7, $8, $9, $10, 0)",
    )
    .bind(DOMAIN)
    .bind(id)
    .bind(format!("attack-pattern--{id}"))
    .bind(format!("Technique {id}"))
    .bind(serde_json::to_string(tactics).unwrap())
    .bind(serde_json::to_string(platforms).unwrap())
    .bind(i64::from(id.contains('.')))
    .bind(id.split_once('.').map(|(parent, _)| parent.to_owned()))
    .bind(i64::from(revoked))
    .bind(revoked.then_some("T1106"))
    .execute(kernel.db.pool())
    .await
    .unwrap();
}

/// Two tactics; T1059 (+ .001), T1003 (+ .001), T1110 on Windows and Linux
/// or Windows only; T1055 revoked (replaced by T1106).
async fn catalog(kernel: &Kernel) {
    tactic(kernel, "TA0002", "execution", "Execution", 1).await;
    tactic(
        kernel,
        "TA0006",
        "credential-access",
        "Credential Access",
        2,
    )
    .await;
    let both = ["Windows", "Linux"];
    technique(kernel, "T1059", &["execution"], &both, false).await;
    technique(kernel, "T1059.001", &["execution"], &["Windows"], false).await;
    technique(kernel, "T1003", &["credential-access"], &both, false).await;
    technique(
        kernel,
        "T1003.001",
        &["credential-access"],
        &["Windows"],
        false,
    )
    .await;
    technique(kernel, "T1110", &["credential-access"], &["Windows"], false).await;
    technique(kernel, "T1055", &["execution"], &["Windows"], true).await;
}

/// One test as its facts: what the test-case module would have stored
/// (written straight into its tables, its aggregates then rebuilt).
#[derive(Clone)]
struct Fact {
    technique: &'static str,
    procedure: &'static str,
    state: &'static str,
    outcome: Option<&'static str>,
    /// Minutes after the base time the test ran.
    ran: i64,
    campaign: Option<String>,
    platform: &'static str,
    ttd_ms: Option<i64>,
    review_ms: Option<i64>,
}

fn done(technique: &'static str, procedure: &'static str, outcome: &'static str, ran: i64) -> Fact {
    Fact {
        technique,
        procedure,
        state: "completed",
        outcome: Some(outcome),
        ran,
        campaign: None,
        platform: "windows",
        ttd_ms: None,
        review_ms: None,
    }
}

fn base() -> Timestamp {
    time::from_db("2026-10-01T08:00:00.000000Z").unwrap()
}

async fn seed(kernel: &Kernel, fact: Fact) -> String {
    let id = uuid::Uuid::now_v7().to_string();
    let ran = time::to_db(base() + chrono::Duration::minutes(fact.ran));
    let completed = fact.state == "completed";
    sqlx::query(
        "INSERT INTO test_cases_test (id, name, technique_domain, technique_id, campaign_id, procedure,
            platform, state, executed_at, attack_outcome, red_notes, detection_outcome, blue_notes,
            submitted_at, completed_at, ttd_ms, review_ms, procedure_key, ran_at, version,
            created_at, created_by, updated_at, updated_by)
         VALUES ($1, 'seeded', $2, $3, $4, $5, $6, $7, $8, $9, '', $10, '', $11, $11, $12, $13,
            $14, $8, 1, $8, 'seed', $8, 'seed')",
    )
    .bind(&id)
    .bind(DOMAIN)
    .bind(fact.technique)
    .bind(fact.campaign)
    .bind(fact.procedure)
    .bind(fact.platform)
    .bind(fact.state)
    .bind(&ran)
    .bind(completed.then_some("succeeded"))
    .bind(fact.outcome)
    .bind(completed.then(|| ran.clone()))
    .bind(fact.ttd_ms)
    .bind(fact.review_ms)
    .bind(format!("procedure:{}", fact.procedure))
    .execute(kernel.db.pool())
    .await
    .unwrap();
    // And its aggregates, as a write through the module keeps them.
    let mut tx = kernel.db.begin().await.unwrap();
    aegis_mod_test_cases::aggregates::rebuild(&mut tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    id
}

fn status(coverage: &Coverage, id: &str) -> (Status, bool, i64, i64) {
    let t = coverage
        .techniques
        .iter()
        .find(|t| t.attack_id == id)
        .unwrap_or_else(|| panic!("{id} is listed"));
    (t.status, t.regression, t.tests, t.procedures)
}

fn lead() -> Principal {
    Principal {
        user_id: "u-lead".into(),
        username: "lead".into(),
        role: Role::Lead,
        credential: Credential::ApiToken {
            token_id: "t".into(),
        },
    }
}

async fn statuses_follow_the_latest_test_of_each_procedure(stack: Stack) {
    let Some((_backends, kernel, service)) = setup(stack).await else {
        return;
    };
    // T1059: detected, then missed by the same procedure: a regression.
    seed(&kernel, done("T1059", "a", "alerted", 0)).await;
    let regressed = seed(&kernel, done("T1059", "a", "not_detected", 10)).await;
    // T1059.001: one procedure prevented, another only logged: partial.
    seed(&kernel, done("T1059.001", "a", "prevented", 0)).await;
    seed(&kernel, done("T1059.001", "b", "logged", 5)).await;
    // T1003: missed, then alerted: the latest decides, covered.
    seed(&kernel, done("T1003", "a", "not_detected", 0)).await;
    seed(&kernel, done("T1003", "a", "alerted", 10)).await;
    // T1003.001: missed, never detected: a gap without regression.
    seed(&kernel, done("T1003.001", "a", "not_detected", 0)).await;
    // T1110: only unfinished tests: untested.
    let mut draft = done("T1110", "a", "prevented", 0);
    draft.state = "blue_evaluating";
    seed(&kernel, draft).await;
    // T1055 is revoked: listed with its tests (drift), never counted.
    seed(&kernel, done("T1055", "a", "alerted", 0)).await;

    let coverage = service.coverage(&Scope::default()).await.unwrap();
    // A parent is judged on its own and its sub-techniques' procedures:
    // T1059 missed one of three, T1003 covered one of two.
    assert_eq!(status(&coverage, "T1059"), (Status::Partial, true, 4, 3));
    assert_eq!(
        status(&coverage, "T1059.001"),
        (Status::Partial, false, 2, 2)
    );
    assert_eq!(status(&coverage, "T1003"), (Status::Partial, false, 3, 2));
    assert_eq!(status(&coverage, "T1003.001"), (Status::Gap, false, 1, 1));
    let t1059 = coverage
        .techniques
        .iter()
        .find(|t| t.attack_id == "T1059")
        .unwrap();
    assert_eq!(t1059.regressed_test_ids, [regressed]);
    assert_eq!(t1059.subtechniques_tested, ["T1059.001"]);
    assert_eq!(status(&coverage, "T1110"), (Status::Untested, false, 0, 0));
    let drift = coverage
        .techniques
        .iter()
        .find(|t| t.attack_id == "T1055")
        .unwrap();
    assert!(drift.revoked);
    assert_eq!(drift.replaced_by.as_deref(), Some("T1106"));
    assert_eq!(drift.status, Status::Covered);
    assert_eq!(
        (
            coverage.overall.covered,
            coverage.overall.partial,
            coverage.overall.gap,
            coverage.overall.untested
        ),
        (0, 2, 0, 1),
        "each matrix cell once; the revoked technique not at all"
    );
    assert_eq!(coverage.covered_percent, 0.0);
    let tactics: Vec<(&str, i64, i64, i64, i64, f64)> = coverage
        .tactics
        .iter()
        .map(|t| {
            (
                t.short_name.as_str(),
                t.counts.covered,
                t.counts.partial,
                t.counts.gap,
                t.counts.untested,
                t.covered_percent,
            )
        })
        .collect();
    assert_eq!(
        tactics,
        [
            ("execution", 0, 1, 0, 0, 0.0),
            ("credential-access", 0, 1, 0, 1, 0.0)
        ]
    );

    // A platform scope keeps the tests and the untested techniques of it.
    let linux = Scope::parse(None, Some(" Linux ".into()), None, None).unwrap();
    let on_linux = service.coverage(&linux).await.unwrap();
    let listed: Vec<(&str, Status)> = on_linux
        .techniques
        .iter()
        .map(|t| (t.attack_id.as_str(), t.status))
        .collect();
    assert_eq!(
        listed,
        [("T1003", Status::Untested), ("T1059", Status::Untested)]
    );
    // A time range ending before the second runs brings the first back.
    let early = Scope::parse(
        None,
        None,
        None,
        Some(base() + chrono::Duration::minutes(1)),
    )
    .unwrap();
    let before = service.coverage(&early).await.unwrap();
    assert_eq!(status(&before, "T1059"), (Status::Covered, false, 2, 2));
    assert_eq!(status(&before, "T1003"), (Status::Gap, false, 2, 2));
}

async fn kpis_count_states_rates_and_times(stack: Stack) {
    let Some((_backends, kernel, service)) = setup(stack).await else {
        return;
    };
    let campaign = uuid::Uuid::now_v7().to_string();
    let timed = |outcome, ttd: Option<i64>, review: i64| Fact {
        campaign: Some(campaign.clone()),
        ttd_ms: ttd,
        review_ms: Some(review),
        ..done("T1059", "a", outcome, 0)
    };
    seed(&kernel, timed("prevented", Some(60_000), 3_600_000)).await;
    seed(
        &kernel,
        Fact {
            procedure: "b",
            ..timed("alerted", Some(120_000), 7_200_000)
        },
    )
    .await;
    seed(
        &kernel,
        Fact {
            technique: "T1003",
            ..timed("logged", Some(600_000), 1_800_000)
        },
    )
    .await;
    seed(
        &kernel,
        Fact {
            technique: "T1003.001",
            ..timed("not_detected", None, 0)
        },
    )
    .await;
    for state in ["draft", "red_executing", "blue_evaluating", "cancelled"] {
        let open = Fact {
            state,
            outcome: None,
            campaign: Some(campaign.clone()),
            ..done("T1110", "a", "prevented", 0)
        };
        seed(&kernel, open).await;
    }
    // Elsewhere: another campaign, on Linux.
    let other = Fact {
        campaign: Some(uuid::Uuid::now_v7().to_string()),
        platform: "linux",
        ttd_ms: Some(30_000),
        ..done("T1059", "c", "alerted", 0)
    };
    seed(&kernel, other).await;

    let scope = Scope::parse(Some(campaign.clone()), None, None, None).unwrap();
    let report = service.kpis(&scope).await.unwrap();
    let k = &report.kpis;
    assert_eq!(k.tests_total, 8);
    assert_eq!(
        k.tests_by_state,
        [
            ("blue_evaluating", 1),
            ("cancelled", 1),
            ("completed", 4),
            ("draft", 1),
            ("red_executing", 1)
        ]
        .into_iter()
        .map(|(s, n)| (s.to_owned(), n))
        .collect()
    );
    assert_eq!(k.completed, 4);
    assert_eq!(k.outcomes["prevented"], 1);
    assert_eq!(k.outcomes["not_detected"], 1);
    assert_eq!(k.detection_rate, 50.0);
    assert_eq!(k.prevention_rate, 25.0);
    assert_eq!(k.mean_time_to_detect_seconds, Some(260.0));
    assert_eq!(k.median_time_to_detect_seconds, Some(120.0));
    assert_eq!(k.mean_blue_review_seconds, Some(3150.0));
    // T1059 covered (both procedures detected), T1003 partial (logged, and
    // its sub-technique missed), T1110 untested; sub-techniques count
    // through their parents.
    assert_eq!(
        (
            k.techniques.covered,
            k.techniques.partial,
            k.techniques.gap,
            k.techniques.untested
        ),
        (1, 1, 0, 1)
    );
    assert_eq!(k.regressions, 0);
    assert!(report.previous.is_none());
    assert!(report.change.is_empty());

    // Everything: an even number of times to detect takes the middle two.
    let all = service.kpis(&Scope::default()).await.unwrap().kpis;
    assert_eq!(all.tests_total, 9);
    assert_eq!(all.detection_rate, 60.0);
    assert_eq!(all.prevention_rate, 20.0);
    assert_eq!(all.mean_time_to_detect_seconds, Some(202.5));
    assert_eq!(all.median_time_to_detect_seconds, Some(90.0));
    let linux = Scope::parse(None, Some("linux".into()), None, None).unwrap();
    let on_linux = service.kpis(&linux).await.unwrap().kpis;
    assert_eq!((on_linux.tests_total, on_linux.detection_rate), (1, 100.0));

    // After a snapshot of the scope, the change is measured against it.
    let snapshot = service.take_snapshot("daily", &scope).await.unwrap();
    seed(
        &kernel,
        Fact {
            technique: "T1110",
            ..timed("alerted", Some(60_000), 60_000)
        },
    )
    .await;
    let report = service.kpis(&scope).await.unwrap();
    assert_eq!(report.previous.map(|p| p.id), Some(snapshot.id));
    assert_eq!(report.change["tests_total"], 1.0);
    assert_eq!(report.change["techniques_covered"], 1.0);
    assert_eq!(report.change["techniques_untested"], -1.0);
}

async fn snapshots_are_stored_with_their_unit_of_work(stack: Stack) {
    let Some((_backends, kernel, service)) = setup(stack).await else {
        return;
    };
    seed(&kernel, done("T1003", "a", "not_detected", 0)).await;
    let first = service
        .take_snapshot("daily", &Scope::default())
        .await
        .unwrap();
    assert_eq!(first.trigger, "daily");
    assert_eq!(first.statuses["T1003"], Status::Gap);
    assert_eq!(first.kpis.techniques.gap, 1);
    let stored = service.snapshot(&first.id).await.unwrap();
    assert_eq!(stored.kpis, first.kpis);
    assert_eq!(stored.statuses, first.statuses);

    // Inside a caller's transaction: gone with a rollback...
    let mut tx = kernel.db.begin().await.unwrap();
    let dropped = service
        .take_snapshot_in(&mut tx, "campaign", &Scope::default())
        .await
        .unwrap();
    drop(tx);
    assert!(matches!(
        service.snapshot(&dropped.id).await,
        Err(CoverageError::SnapshotNotFound)
    ));
    assert_eq!(service.snapshots(None, 10, 0).await.unwrap().1, 1);
    // ...kept with a commit.
    kernel.clock.advance(chrono::Duration::days(1));
    seed(&kernel, done("T1003", "a", "alerted", 10)).await;
    let mut tx = kernel.db.begin().await.unwrap();
    let kept = service
        .take_snapshot_in(&mut tx, "campaign", &Scope::default())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert!(
        kept.taken_at >= first.taken_at + chrono::Duration::days(1),
        "the kernel clock"
    );
    assert_eq!(
        service
            .latest_snapshot(&Scope::default())
            .await
            .unwrap()
            .map(|s| s.id),
        Some(kept.id.clone())
    );

    let diff = service.diff(&first.id, &kept.id).await.unwrap();
    let changed: Vec<(&str, Option<Status>, Option<Status>)> = diff
        .changed
        .iter()
        .map(|c| (c.attack_id.as_str(), c.before, c.after))
        .collect();
    assert_eq!(
        changed,
        [("T1003", Some(Status::Gap), Some(Status::Covered))]
    );
    assert_eq!(diff.kpi_change["techniques_covered"], 1.0);
    assert!(matches!(
        service.diff(&first.id, "nope").await,
        Err(CoverageError::SnapshotNotFound)
    ));

    // On demand: the snapshot and its audit event together.
    let campaign = uuid::Uuid::now_v7().to_string();
    let scope = Scope::parse(Some(campaign.clone()), None, None, None).unwrap();
    let manual = service.take_snapshot_for(&lead(), &scope).await.unwrap();
    assert_eq!(manual.trigger, "manual");
    let filter = AuditFilter {
        action: Some("snapshot.create".into()),
        ..AuditFilter::default()
    };
    let (events, total) = kernel.audit.list(&filter, 10, 0).await.unwrap();
    assert_eq!(total, 1);
    assert_eq!(
        events[0].entry.target_id.as_deref(),
        Some(manual.id.as_str())
    );
    assert_eq!(events[0].entry.actor_name.as_deref(), Some("lead"));
    let (listed, total) = service.snapshots(Some(&campaign), 10, 0).await.unwrap();
    assert_eq!((listed.len(), total), (1, 1));
    assert!(
        listed[0].statuses.is_empty(),
        "lists leave the statuses out"
    );
    let (listed, total) = service.snapshots(None, 10, 0).await.unwrap();
    assert_eq!(total, 3);
    assert_eq!(listed[0].id, manual.id, "newest first");

    // Retention as of a later "now": only the newest stays, ever.
    let now = kernel.clock.now();
    assert_eq!(service.apply_retention(now).await.unwrap(), 0);
    let later = now + chrono::Duration::days(366);
    assert_eq!(service.apply_retention(later).await.unwrap(), 2);
    assert_eq!(service.apply_retention(later).await.unwrap(), 0);
    assert_eq!(service.snapshots(None, 10, 0).await.unwrap().1, 1);
}

async fn scopes_are_parsed_before_any_query(_stack: Stack) {
    assert!(matches!(
        Scope::parse(Some("not-an-id".into()), None, None, None),
        Err(CoverageError::Invalid(_))
    ));
    let (from, to) = (base(), base() - chrono::Duration::days(1));
    assert!(matches!(
        Scope::parse(None, None, Some(from), Some(to)),
        Err(CoverageError::Invalid(_))
    ));
    let scope = Scope::parse(Some(String::new()), Some("  ".into()), None, None).unwrap();
    assert_eq!(scope, Scope::default());
}

aegis_core::stack_tests!(
    statuses_follow_the_latest_test_of_each_procedure,
    kpis_count_states_rates_and_times,
    snapshots_are_stored_with_their_unit_of_work,
    scopes_are_parsed_before_any_query,
);
