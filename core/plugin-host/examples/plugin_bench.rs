//! Times the plugin host (run by `bench/plugins.sh`): a cold load (fetch,
//! hash, compile, link, call), a warm call of a trivial rule, and a rule over
//! 10,000 tests, each next to a baseline measured in the same run.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::path::PathBuf;
use std::time::{Duration, Instant};

use aegis_core::plugins::PluginSettings;
use aegis_core::plugins::*;
use aegis_core::storage::Storage;
use aegis_plugin_host::{WasmHost, sha256_hex};

const NOW: i64 = 1_795_860_900;
const HOUR: i64 = 3_600;

fn component(dir: &std::path::Path, name: &str) -> Vec<u8> {
    std::fs::read(dir.join(format!("{name}.wasm"))).expect("built component")
}

async fn register(storage: &Storage, name: &str, kind: PluginKind, bytes: Vec<u8>) -> PluginRef {
    let sha256 = sha256_hex(&bytes);
    let key = format!("plugins/{sha256}.wasm");
    storage.put(&key, bytes).await.expect("store");
    PluginRef {
        name: name.into(),
        kind,
        sha256,
        storage_key: key,
        config: "{}".into(),
    }
}

/// 10,000 tests, one in a hundred waiting in blue review for two days.
fn ten_thousand_tests() -> EvaluationInput {
    let tests = (0..10_000)
        .map(|i| {
            let overdue = i % 100 == 0;
            TestView {
                id: format!("0190c6d2-0000-7000-8000-{i:012}"),
                name: format!("Test {i}"),
                technique_id: format!("T1{:03}", i % 700),
                state: if overdue {
                    TestState::BlueEvaluating
                } else {
                    TestState::Completed
                },
                campaign_id: Some("0190c6d2-0000-7000-8000-campaign0001".into()),
                platform: Some("windows".into()),
                attack_outcome: Some(AttackOutcome::Succeeded),
                detection_outcome: (!overdue).then_some(DetectionOutcome::Alerted),
                executed_at: Some(NOW - 60 * HOUR),
                detected_at: None,
                submitted_at: Some(NOW - if overdue { 48 } else { 2 } * HOUR),
                updated_at: NOW - HOUR,
            }
        })
        .collect();
    EvaluationInput {
        now: NOW,
        tests,
        ..EvaluationInput::default()
    }
}

/// The same rule as the example plugin, natively: the baseline.
fn native_overdue(input: &EvaluationInput, hours: i64) -> Vec<Finding> {
    input
        .tests
        .iter()
        .filter(|t| t.state == TestState::BlueEvaluating)
        .filter_map(|t| {
            let waited = input.now - t.submitted_at?;
            (waited > hours * HOUR).then(|| Finding {
                severity: Severity::Medium,
                title: format!("Blue review overdue: {}", t.name),
                message: format!(
                    "Test {} ({}) has waited {} hours.",
                    t.name,
                    t.technique_id,
                    waited / HOUR
                ),
                technique_ids: vec![t.technique_id.clone()],
                test_ids: vec![t.id.clone()],
            })
        })
        .collect()
}

struct Stats {
    median: Duration,
    p99: Duration,
}

fn stats(mut samples: Vec<Duration>) -> Stats {
    samples.sort();
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
    Stats {
        median: at(0.5),
        p99: at(0.99),
    }
}

async fn measure<F, Fut>(runs: usize, mut work: F) -> Stats
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let mut samples = Vec::with_capacity(runs);
    for _ in 0..runs {
        let start = Instant::now();
        work().await;
        samples.push(start.elapsed());
    }
    stats(samples)
}

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1e3)
}

fn report(what: &str, plugin: &Stats, baseline_name: &str, baseline: &Stats) {
    println!(
        "| {what} | {} | {} | {baseline_name}: {} | {:.1} |",
        ms(plugin.median),
        ms(plugin.p99),
        ms(baseline.median),
        plugin.median.as_secs_f64() / baseline.median.as_secs_f64()
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let dir = PathBuf::from(
        std::env::args()
            .nth(1)
            .expect("usage: plugin_bench PLUGIN_BUILD_DIR"),
    );
    let settings = PluginSettings::default();
    let storage = Storage::memory();
    let trivial = register(
        &storage,
        "regression-c",
        PluginKind::AlertRule,
        component(&dir, "regression-c"),
    )
    .await;
    let overdue = register(
        &storage,
        "blue-review-overdue",
        PluginKind::AlertRule,
        component(&dir, "blue-review-overdue"),
    )
    .await;
    let empty = EvaluationInput {
        now: NOW,
        ..EvaluationInput::default()
    };
    let big = ten_thousand_tests();

    println!("| measurement | median | p99 | baseline (median) | ratio |");
    println!("|---|---|---|---|---|");

    // Cold: a host with nothing cached fetches, hashes, compiles, links and calls.
    let cold = measure(20, || {
        let (storage, trivial, empty, settings) = (
            storage.clone(),
            trivial.clone(),
            empty.clone(),
            settings.clone(),
        );
        async move {
            let host = WasmHost::new(&settings, storage).unwrap();
            host.evaluate(&trivial, "{}", &empty).await.unwrap();
        }
    })
    .await;
    let fetch_and_hash = measure(20, || {
        let (storage, key) = (storage.clone(), trivial.storage_key.clone());
        async move {
            let bytes = storage.get(&key).await.unwrap();
            std::hint::black_box(sha256_hex(&bytes));
        }
    })
    .await;
    report(
        "cold load and call (regression-c)",
        &cold,
        "fetch + SHA-256 only",
        &fetch_and_hash,
    );

    let host = WasmHost::new(&settings, storage.clone()).unwrap();
    host.evaluate(&trivial, "{}", &empty).await.unwrap();
    host.evaluate(&overdue, "{}", &big).await.unwrap();

    // Warm: the compiled component is cached; each call still gets a fresh store and instance.
    let warm = measure(2_000, || {
        let (host, trivial, empty) = (host.clone(), trivial.clone(), empty.clone());
        async move {
            host.evaluate(&trivial, "{}", &empty).await.unwrap();
        }
    })
    .await;
    // The floor of any call the host makes: the hop to a blocking thread and back.
    let hop = measure(2_000, || async {
        tokio::task::spawn_blocking(|| std::hint::black_box(1))
            .await
            .unwrap();
    })
    .await;
    report(
        "warm call, trivial rule",
        &warm,
        "blocking-thread hop",
        &hop,
    );

    let findings = host
        .evaluate(&overdue, r#"{"hours":24}"#, &big)
        .await
        .unwrap();
    assert_eq!(findings.len(), 100);
    // The plugin and the baseline find the same tests.
    let ids = |found: &[Finding]| found.iter().map(|f| f.test_ids.clone()).collect::<Vec<_>>();
    assert_eq!(ids(&findings), ids(&native_overdue(&big, 24)));
    let rule = measure(50, || {
        let (host, overdue, big) = (host.clone(), overdue.clone(), &big);
        async move {
            host.evaluate(&overdue, r#"{"hours":24}"#, big)
                .await
                .unwrap();
        }
    })
    .await;
    let native = measure(50, || async {
        std::hint::black_box(native_overdue(&big, 24));
    })
    .await;
    report(
        "rule over 10,000 tests (blue-review-overdue)",
        &rule,
        "same rule in native Rust",
        &native,
    );
    println!(
        "\n{} findings per evaluation; component cache holds {}",
        findings.len(),
        host.cached()
    );
}
