//! Renders a 10,000-test report in one format and reports time, size and
//! memory (run by `bench/reports.sh`, one process per format so each peak
//! is its own). Usage: report_bench FORMAT [OUT_FILE]
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::time::Instant;

use aegis_core::plugins::*;
use aegis_mod_reports::document::Document;
use aegis_mod_reports::render;

const NOW: i64 = 1_795_860_900;

fn kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with(field)).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

fn document() -> Document {
    let outcomes = [
        DetectionOutcome::Prevented,
        DetectionOutcome::Alerted,
        DetectionOutcome::Logged,
        DetectionOutcome::NotDetected,
    ];
    let statuses = [
        CoverageStatus::Covered,
        CoverageStatus::Partial,
        CoverageStatus::Gap,
        CoverageStatus::Untested,
    ];
    let tests = (0..10_000)
        .map(|i| TestView {
            id: format!("0190c6d2-0000-7000-8000-{i:012}"),
            name: format!(
                "Procedure {i} of technique T1{:03}: run the emulation step and record it",
                i % 700
            ),
            technique_id: format!("T1{:03}", i % 700),
            state: TestState::Completed,
            campaign_id: Some("0190c6d2-0000-7000-8000-campaign0001".into()),
            platform: Some("windows".into()),
            attack_outcome: Some(AttackOutcome::Succeeded),
            detection_outcome: Some(outcomes[i % 4]),
            executed_at: Some(NOW - 86_400 + i as i64),
            detected_at: Some(NOW - 86_000 + i as i64),
            submitted_at: Some(NOW - 86_300 + i as i64),
            updated_at: NOW,
        })
        .collect();
    let coverage = (0..700)
        .map(|i| TechniqueCoverageView {
            technique_id: format!("T1{i:03}"),
            status: statuses[i % 4],
            tests: 14,
            regression: i % 37 == 0,
            regressed_test_ids: Vec::new(),
            counted: true,
            last_tested_at: Some(NOW - 86_400),
        })
        .collect();
    let tactics = (0..14)
        .map(|i| TacticCoverage {
            id: format!("TA{:04}", i + 1),
            name: format!("Tactic {i}"),
            covered: 20,
            partial: 10,
            gap: 8,
            untested: 12,
        })
        .collect();
    let evidence = (0..2_000)
        .map(|i| EvidenceItem {
            test_id: format!("0190c6d2-0000-7000-8000-{:012}", i * 5),
            side: if i % 2 == 0 { "red" } else { "blue" }.into(),
            file_name: format!("capture-{i}.pcapng"),
            media_type: "application/x-pcapng".into(),
            size_bytes: 1_048_576,
            sha256: format!("{i:064x}"),
        })
        .collect();
    let kpis = [
        "tests",
        "completed tests",
        "detection rate",
        "prevention rate",
        "regressions",
    ]
    .iter()
    .map(|n| Kpi {
        name: (*n).into(),
        value: 50.0,
        unit: "%".into(),
    })
    .collect();
    Document {
        data: ReportData {
            title: "Coverage report: 10,000 tests".into(),
            kind: "coverage".into(),
            generated_at: NOW,
            scope: "all tests".into(),
            kpis,
            tactics,
            coverage,
            tests,
            evidence,
        },
        technique_names: (0..700)
            .map(|i| (format!("T1{i:03}"), format!("Technique {i}")))
            .collect::<BTreeMap<_, _>>(),
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let format = args.next().expect("usage: report_bench FORMAT [OUT_FILE]");
    let out = args.next();
    let renderer = render::builtin(&format).expect("a built-in format");
    let doc = document();
    let before = kib("VmRSS:");
    let start = Instant::now();
    let bytes = (renderer.render)(&doc).unwrap();
    let elapsed = start.elapsed();
    let peak = kib("VmHWM:");
    if let Some(out) = out {
        std::fs::write(out, &bytes).unwrap();
    }
    println!(
        "| {format} | {:.0} ms | {:.1} MB | {:.1} MB | {:.1} MB |",
        elapsed.as_secs_f64() * 1e3,
        bytes.len() as f64 / 1e6,
        before as f64 / 1024.0,
        peak.saturating_sub(before) as f64 / 1024.0,
    );
}
