//! The host against real components: the example plugins and the hostile
//! fixture, built from source by `scripts/build-plugins.sh` (the test
//! command runs it first), plus hand-written components for refusals.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::path::PathBuf;
use std::time::Duration;

use aegis_core::config::{StorageBackend, StorageSettings};
use aegis_core::plugins::PluginSettings;
use aegis_core::plugins::*;
use aegis_core::storage::Storage;
use aegis_plugin_host::{WasmHost, sha256_hex};
use serde_json::json;

const NOW: i64 = 1_795_860_900; // 2026-11-28T10:15:00Z
const HOUR: i64 = 3_600;

/// A component built by `scripts/build-plugins.sh`.
fn component(name: &str) -> Vec<u8> {
    let dir = std::env::var("AEGIS_PLUGIN_BUILD_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".cache/aegis/plugins")
        });
    let path = dir.join(format!("{name}.wasm"));
    std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; build the plugins first: bash scripts/build-plugins.sh",
            path.display()
        )
    })
}

struct Fixture {
    host: WasmHost,
    storage: Storage,
    _dir: TempDir,
}

struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn settings() -> PluginSettings {
    PluginSettings {
        call_timeout_ms: 500,
        memory_limit_bytes: 32 * 1024 * 1024,
        ..PluginSettings::default()
    }
}

fn fixture_with(settings: PluginSettings) -> Fixture {
    let dir = std::env::temp_dir().join(format!("aegis-host-{}", uuid::Uuid::new_v4().simple()));
    let storage = Storage::from_settings(
        &StorageSettings {
            backend: StorageBackend::Fs,
            ..StorageSettings::default()
        },
        &dir,
    )
    .expect("local storage");
    Fixture {
        host: WasmHost::new(&settings, storage.clone()).expect("host"),
        storage,
        _dir: TempDir(dir),
    }
}

fn fixture() -> Fixture {
    fixture_with(settings())
}

impl Fixture {
    /// Inspects and stores a component as an upload would; returns its reference.
    async fn register(&self, name: &str, kind: PluginKind, config: serde_json::Value) -> PluginRef {
        let bytes = component(name);
        let inspected = self
            .host
            .inspect(bytes.clone(), Some(kind))
            .await
            .expect("inspect");
        let key = format!("plugins/{}.wasm", inspected.sha256);
        self.storage.put(&key, bytes).await.expect("store");
        self.host.admit(&inspected);
        PluginRef {
            name: name.into(),
            kind,
            sha256: inspected.sha256,
            storage_key: key,
            config: config.to_string(),
        }
    }
}

fn test(id: &str, state: TestState, submitted_at: Option<i64>) -> TestView {
    TestView {
        id: id.into(),
        name: format!("test {id}"),
        technique_id: "T1059.001".into(),
        state,
        campaign_id: None,
        platform: Some("windows".into()),
        attack_outcome: Some(AttackOutcome::Succeeded),
        detection_outcome: None,
        executed_at: submitted_at,
        detected_at: None,
        submitted_at,
        updated_at: NOW - HOUR,
    }
}

fn input() -> EvaluationInput {
    EvaluationInput {
        now: NOW,
        tests: vec![
            test("overdue", TestState::BlueEvaluating, Some(NOW - 30 * HOUR)),
            test("recent", TestState::BlueEvaluating, Some(NOW - 2 * HOUR)),
            test("done", TestState::Completed, Some(NOW - 90 * HOUR)),
        ],
        techniques: vec![TechniqueView {
            id: "T1003".into(),
            name: "OS Credential Dumping".into(),
            tactics: vec!["credential-access".into()],
            revoked: false,
            deprecated: false,
            replaced_by: None,
        }],
        coverage: vec![
            TechniqueCoverageView {
                technique_id: "T1003".into(),
                status: CoverageStatus::Gap,
                tests: 4,
                regression: true,
                regressed_test_ids: vec!["done".into()],
                counted: true,
                last_tested_at: Some(NOW - DAY),
            },
            TechniqueCoverageView {
                technique_id: "T1059.001".into(),
                status: CoverageStatus::Covered,
                tests: 2,
                regression: false,
                regressed_test_ids: Vec::new(),
                counted: false,
                last_tested_at: Some(NOW - DAY),
            },
        ],
    }
}

const DAY: i64 = 24 * HOUR;

/// Guards against a hang: a sandbox that failed to stop a call must fail
/// the test rather than stall the suite.
async fn bounded<T>(work: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(60), work)
        .await
        .expect("the call was not stopped")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn describes_each_example() {
    let f = fixture();
    let rule = f
        .host
        .inspect(component("blue-review-overdue"), None)
        .await
        .expect("rule");
    assert_eq!(rule.description.kind, PluginKind::AlertRule);
    assert_eq!(rule.description.id, "blue-review-overdue");
    assert_eq!(rule.description.interface_version, "0.1.0");
    assert_eq!(
        rule.description.config_schema["properties"]["hours"]["default"],
        24
    );
    let format = f
        .host
        .inspect(component("markdown-report"), None)
        .await
        .expect("format");
    assert_eq!(format.description.kind, PluginKind::ReportFormat);
    assert_eq!(
        format.description.media_type.as_deref(),
        Some("text/markdown")
    );
    assert_eq!(format.description.file_extension.as_deref(), Some("md"));
    let c = f
        .host
        .inspect(component("regression-c"), Some(PluginKind::AlertRule))
        .await
        .expect("c");
    assert_eq!(c.description.id, "technique-regressed");
    assert_eq!(c.sha256, sha256_hex(&component("regression-c")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blue_review_overdue_flags_only_tests_past_the_limit() {
    let f = fixture();
    let rule = f
        .register("blue-review-overdue", PluginKind::AlertRule, json!({}))
        .await;
    let params = json!({"hours": 24, "severity": "high"}).to_string();
    let findings = f
        .host
        .evaluate(&rule, &params, &input())
        .await
        .expect("evaluate");
    assert_eq!(findings.len(), 1, "{findings:?}");
    let finding = &findings[0];
    assert_eq!(finding.test_ids, vec!["overdue".to_owned()]);
    assert_eq!(finding.technique_ids, vec!["T1059.001".to_owned()]);
    assert_eq!(finding.severity, Severity::High);
    assert!(finding.message.contains("30 hours"), "{}", finding.message);
    assert!(
        finding.message.contains("2026-11-27T04:15:00Z"),
        "{}",
        finding.message
    );

    // A lower limit takes in the recent test too; a nonsense one is the plugin's own error.
    let two = f
        .host
        .evaluate(&rule, r#"{"hours":1}"#, &input())
        .await
        .expect("evaluate");
    assert_eq!(two.len(), 2);
    assert_eq!(two[0].severity, Severity::Medium);
    let bad = f
        .host
        .evaluate(&rule, r#"{"severity":"dire"}"#, &input())
        .await;
    assert!(
        matches!(
            bad,
            Err(PluginFault::Reported(PluginError::InvalidConfig(_)))
        ),
        "{bad:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_c_rule_reports_regressed_techniques_by_name() {
    let f = fixture();
    let rule = f
        .register("regression-c", PluginKind::AlertRule, json!({}))
        .await;
    let findings = f
        .host
        .evaluate(&rule, "{}", &input())
        .await
        .expect("evaluate");
    assert_eq!(findings.len(), 1, "{findings:?}");
    assert_eq!(
        findings[0].title,
        "Technique regressed: T1003 OS Credential Dumping"
    );
    assert_eq!(findings[0].technique_ids, vec!["T1003".to_owned()]);
    assert_eq!(findings[0].severity, Severity::High);
    assert!(findings[0].message.contains("4 completed tests"));
    let quiet = EvaluationInput {
        coverage: Vec::new(),
        ..input()
    };
    assert!(
        f.host
            .evaluate(&rule, "{}", &quiet)
            .await
            .expect("evaluate")
            .is_empty()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_markdown_format_renders_the_report() {
    let f = fixture();
    let format = f
        .register(
            "markdown-report",
            PluginKind::ReportFormat,
            json!({"organisation": "Blue | Red Co"}),
        )
        .await;
    let data = ReportData {
        title: "Q4 purple team".into(),
        kind: "campaign".into(),
        generated_at: NOW,
        scope: "campaign APT29".into(),
        kpis: vec![Kpi {
            name: "detection rate".into(),
            value: 62.5,
            unit: "%".into(),
        }],
        tactics: vec![TacticCoverage {
            id: "TA0006".into(),
            name: "Credential Access".into(),
            covered: 3,
            partial: 1,
            gap: 2,
            untested: 10,
        }],
        coverage: input().coverage,
        tests: input().tests,
        evidence: vec![EvidenceItem {
            test_id: "overdue".into(),
            side: "red".into(),
            file_name: "run.log".into(),
            media_type: "text/plain".into(),
            size_bytes: 12,
            sha256: "ab".repeat(32),
        }],
    };
    let bytes = f.host.render(&format, &data).await.expect("render");
    let text = String::from_utf8(bytes).expect("utf-8");
    assert!(text.starts_with("# Q4 purple team\n"), "{text}");
    assert!(text.contains("**Blue \\| Red Co**"), "{text}");
    assert!(text.contains("generated 2026-11-28T10:15:00Z"), "{text}");
    assert!(text.contains("| detection rate | 62.5% |"), "{text}");
    assert!(
        text.contains("| Credential Access (TA0006) | 3 | 1 | 2 | 10 |"),
        "{text}"
    );
    assert!(text.contains("- **T1003**: regressed"), "{text}");
    assert!(
        text.contains("| test overdue | T1059.001 | 2026-11-27 | — | 1 |"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_calls_end_in_typed_errors_and_the_plugin_still_works() {
    async fn call(
        f: &Fixture,
        plugin: &PluginRef,
        mode: &str,
    ) -> Result<Vec<Finding>, PluginFault> {
        let params = json!({"mode": mode}).to_string();
        bounded(f.host.evaluate(plugin, &params, &input())).await
    }
    // A loop ends at the deadline (500 ms here).
    let f = fixture();
    let hostile = f
        .register("hostile", PluginKind::AlertRule, json!({}))
        .await;
    let timed_out = call(&f, &hostile, "loop").await;
    assert!(
        matches!(&timed_out, Err(PluginFault::TimedOut(t)) if t.contains("500 ms")),
        "{timed_out:?}"
    );
    // Every other fault ends on its own; a far deadline keeps a loaded
    // machine from turning a slow one into a timeout.
    let f = fixture_with(PluginSettings {
        call_timeout_ms: 60_000,
        ..settings()
    });
    let hostile = f
        .register("hostile", PluginKind::AlertRule, json!({}))
        .await;
    let memory = call(&f, &hostile, "memory").await;
    assert_eq!(memory, Err(PluginFault::OutOfMemory(32 * 1024 * 1024)));
    assert!(matches!(
        call(&f, &hostile, "trap").await,
        Err(PluginFault::Trapped(_))
    ));
    assert!(matches!(
        call(&f, &hostile, "panic").await,
        Err(PluginFault::Trapped(_))
    ));
    let oversized = call(&f, &hostile, "oversized").await;
    assert!(
        matches!(&oversized, Err(PluginFault::InvalidOutput(t)) if t.contains("100000 findings")),
        "{oversized:?}"
    );
    assert!(matches!(
        call(&f, &hostile, "empty-title").await,
        Err(PluginFault::InvalidOutput(_))
    ));
    assert_eq!(
        call(&f, &hostile, "error").await,
        Err(PluginFault::Reported(PluginError::InvalidInput(
            "the fixture refuses".into()
        )))
    );
    assert_eq!(call(&f, &hostile, "log-flood").await, Ok(Vec::new()));
    // Every call had a fresh store: the same component behaves after all that.
    let normal = call(&f, &hostile, "").await.expect("a normal call");
    assert_eq!(normal[0].title, "3 tests seen");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_normal_call_succeeds_while_a_hostile_one_spins() {
    let f = fixture();
    let hostile = f
        .register("hostile", PluginKind::AlertRule, json!({}))
        .await;
    let rule = f
        .register("blue-review-overdue", PluginKind::AlertRule, json!({}))
        .await;
    let spinning = {
        let (host, plugin) = (f.host.clone(), hostile.clone());
        tokio::spawn(async move { host.evaluate(&plugin, r#"{"mode":"loop"}"#, &input()).await })
    };
    let bomb = {
        let (host, plugin) = (f.host.clone(), hostile.clone());
        tokio::spawn(async move {
            host.evaluate(&plugin, r#"{"mode":"memory"}"#, &input())
                .await
        })
    };
    let normal = bounded(f.host.evaluate(&rule, "{}", &input()))
        .await
        .expect("normal call");
    assert_eq!(normal.len(), 1);
    assert!(matches!(
        bounded(spinning).await.expect("join"),
        Err(PluginFault::TimedOut(_))
    ));
    assert!(matches!(
        bounded(bomb).await.expect("join"),
        Err(PluginFault::OutOfMemory(_))
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fuel_budget_stops_a_loop_deterministically() {
    let f = fixture_with(PluginSettings {
        fuel: Some(5_000_000),
        call_timeout_ms: 60_000,
        ..settings()
    });
    let hostile = f
        .register("hostile", PluginKind::AlertRule, json!({}))
        .await;
    let outcome = bounded(f.host.evaluate(&hostile, r#"{"mode":"loop"}"#, &input())).await;
    assert!(
        matches!(&outcome, Err(PluginFault::TimedOut(t)) if t.contains("fuel")),
        "{outcome:?}"
    );
    let fine = f.host.evaluate(&hostile, "{}", &input()).await;
    assert!(fine.is_ok(), "{fine:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn components_of_the_wrong_world_version_or_imports_are_refused() {
    let f = fixture();
    let wrong_world = f
        .host
        .inspect(component("markdown-report"), Some(PluginKind::AlertRule))
        .await;
    assert!(
        matches!(&wrong_world, Err(PluginFault::Rejected(Rejection::WrongWorld { declared: "alert_rule", found })) if found == "report_format"),
        "{wrong_world:?}"
    );
    let future = wat::parse_str(
        r#"(component
            (core module $m (func (export "describe")))
            (core instance $i (instantiate $m))
            (func $describe (canon lift (core func $i "describe")))
            (instance $rule (export "describe" (func $describe)))
            (export "aegis:plugin/alert-rule@0.2.0" (instance $rule)))"#,
    )
    .expect("wat");
    let version = f.host.inspect(future, None).await;
    assert!(
        matches!(&version, Err(PluginFault::Rejected(Rejection::UnsupportedVersion(v))) if v.contains("0.2.0")),
        "{version:?}"
    );
    let greedy = wat::parse_str(
        r#"(component
            (import "wasi:cli/environment@0.2.0" (instance))
            (core module $m (func (export "describe")))
            (core instance $i (instantiate $m))
            (func $describe (canon lift (core func $i "describe")))
            (instance $rule (export "describe" (func $describe)))
            (export "aegis:plugin/alert-rule@0.1.0" (instance $rule)))"#,
    )
    .expect("wat");
    let imports = f.host.inspect(greedy, None).await;
    assert_eq!(
        imports.map(|_| ()),
        Err(PluginFault::Rejected(Rejection::ForbiddenImport(
            "wasi:cli/environment@0.2.0".into()
        )))
    );
    let module = wat::parse_str("(module)").expect("wat");
    assert!(matches!(
        f.host.inspect(module, None).await,
        Err(PluginFault::Rejected(Rejection::NotAComponent(_)))
    ));
    let mut corrupt = component("blue-review-overdue");
    corrupt.truncate(corrupt.len() / 2);
    assert!(matches!(
        f.host.inspect(corrupt, None).await,
        Err(PluginFault::Rejected(Rejection::NotAComponent(_)))
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tampered_stored_bytes_are_refused() {
    let f = fixture();
    let rule = f
        .register("blue-review-overdue", PluginKind::AlertRule, json!({}))
        .await;
    // Another host has nothing cached, so it reads storage — where the bytes changed.
    let other = WasmHost::new(&settings(), f.storage.clone()).expect("host");
    f.storage
        .put(&rule.storage_key, component("hostile"))
        .await
        .expect("overwrite");
    let outcome = other.evaluate(&rule, "{}", &input()).await;
    assert!(
        matches!(&outcome, Err(PluginFault::Rejected(Rejection::HashMismatch { expected, .. })) if *expected == rule.sha256),
        "{outcome:?}"
    );
    assert_eq!(other.cached(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn warm_calls_use_the_compiled_component() {
    let f = fixture();
    let rule = f
        .register("blue-review-overdue", PluginKind::AlertRule, json!({}))
        .await;
    let cold = WasmHost::new(&settings(), f.storage.clone()).expect("host");
    cold.evaluate(&rule, "{}", &input())
        .await
        .expect("first call");
    assert_eq!(cold.cached(), 1);
    // With the stored bytes gone, only the cache can answer.
    f.storage.delete(&rule.storage_key).await.expect("delete");
    cold.evaluate(&rule, "{}", &input())
        .await
        .expect("warm call");
    cold.forget(&rule.sha256);
    assert!(matches!(
        cold.evaluate(&rule, "{}", &input()).await,
        Err(PluginFault::Unavailable(_))
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inspection_caches_nothing_until_admitted() {
    let f = fixture();
    let inspected = f
        .host
        .inspect(
            component("blue-review-overdue"),
            Some(PluginKind::AlertRule),
        )
        .await
        .expect("inspect");
    assert_eq!(f.host.cached(), 0, "inspection has no side effect");
    let refused = f
        .host
        .inspect(component("markdown-report"), Some(PluginKind::AlertRule))
        .await;
    assert!(refused.is_err());
    assert_eq!(f.host.cached(), 0);
    f.host.admit(&inspected);
    assert_eq!(f.host.cached(), 1);
    // Admitted, it answers without the stored bytes (none were stored here).
    let rule = PluginRef {
        name: "blue-review-overdue".into(),
        kind: PluginKind::AlertRule,
        sha256: inspected.sha256.clone(),
        storage_key: "plugins/absent.wasm".into(),
        config: "{}".into(),
    };
    f.host
        .evaluate(&rule, "{}", &input())
        .await
        .expect("admitted component runs");
    f.host.forget(&inspected.sha256);
    assert_eq!(f.host.cached(), 0);
}
