//! The built-in rule kinds. Each reads the same view a plugin gets
//! (`EvaluationInput`), so a built-in kind and a plugin kind are judged on
//! the same data; the coverage drop also compares with a snapshot. Kinds
//! about techniques judge matrix cells: the coverage rows that count
//! (`counted`), whose figures already include their sub-techniques' tests
//! under the coverage module's one rule, so an alert says what the heatmap
//! shows and a sub-technique's event raises one alert, not two.

use std::collections::BTreeMap;

use aegis_core::plugins::{CoverageStatus, EvaluationInput, Finding, Severity, TestState};
use serde_json::{Value, json};

const HOUR: i64 = 3_600;
const DAY: i64 = 24 * HOUR;

/// A built-in kind: its id, name, what it checks and its parameters' schema.
pub struct BuiltinKind {
    pub id: &'static str,
    pub name: &'static str,
    pub description: &'static str,
    pub schema: fn() -> Value,
}

pub const BUILTIN: &[BuiltinKind] = &[
    BuiltinKind {
        id: "coverage_drop",
        name: "Coverage dropped",
        description: "Coverage of the rule's tactic — or, without one, of the whole matrix or any tactic — fell by more than N points since the newest snapshot of the same scope.",
        schema: || {
            json!({"type": "object", "additionalProperties": false, "properties": {
            "points": {"type": "number", "exclusiveMinimum": 0, "maximum": 100, "default": 5,
                       "title": "Percentage points"}}})
        },
    },
    BuiltinKind {
        id: "technique_regressed",
        name: "Technique regressed",
        description: "A technique (or one of its sub-techniques) was prevented or alerted on, and the latest test of the same procedure went undetected; the alert names those tests.",
        schema: || json!({"type": "object", "additionalProperties": false, "properties": {}}),
    },
    BuiltinKind {
        id: "blue_review_overdue",
        name: "Blue review overdue",
        description: "A test has waited in blue review longer than N hours.",
        schema: || {
            json!({"type": "object", "additionalProperties": false, "properties": {
            "hours": {"type": "integer", "minimum": 1, "maximum": 8760, "default": 24, "title": "Hours"}}})
        },
    },
    BuiltinKind {
        id: "technique_stale",
        name: "Technique not re-tested",
        description: "A tested technique has had no completed test, of its own or of a sub-technique, for N days.",
        schema: || {
            json!({"type": "object", "additionalProperties": false, "properties": {
            "days": {"type": "integer", "minimum": 1, "maximum": 3650, "default": 90, "title": "Days"}}})
        },
    },
    BuiltinKind {
        id: "revoked_technique",
        name: "Tests on revoked or deprecated techniques",
        description: "Tests point at techniques MITRE revoked or deprecated; they no longer count toward coverage.",
        schema: || json!({"type": "object", "additionalProperties": false, "properties": {}}),
    },
];

pub fn builtin(id: &str) -> Option<&'static BuiltinKind> {
    BUILTIN.iter().find(|k| k.id == id)
}

/// Coverage statuses then and now, for the coverage drop.
pub struct Baseline {
    /// The newest snapshot's statuses, by technique.
    pub before: BTreeMap<String, CoverageStatus>,
    /// The snapshot's time, for the message.
    pub taken_at: String,
}

/// Runs built-in kind `id` with validated `params`.
pub fn evaluate(
    id: &str,
    params: &Value,
    severity: Severity,
    input: &EvaluationInput,
    scope_tactic: Option<&str>,
    baseline: Option<&Baseline>,
) -> Vec<Finding> {
    let finding =
        |title: String, message: String, techniques: Vec<String>, tests: Vec<String>| Finding {
            severity,
            title,
            message,
            technique_ids: techniques,
            test_ids: tests,
        };
    let number =
        |key: &str, default: i64| params.get(key).and_then(Value::as_i64).unwrap_or(default);
    match id {
        "technique_regressed" => input
            .coverage
            .iter()
            .filter(|c| c.counted && c.regression)
            .map(|c| {
                let techniques = regressed_techniques(input, c);
                let within = match techniques.iter().skip(1).map(String::as_str).collect::<Vec<_>>() {
                    subs if subs.is_empty() => String::new(),
                    subs => format!(" (in {})", subs.join(", ")),
                };
                finding(
                    format!("Technique regressed: {}", c.technique_id),
                    format!(
                        "{} was detected before; the latest test of the same procedure went undetected{within}: {} test(s).",
                        c.technique_id,
                        c.regressed_test_ids.len()
                    ),
                    techniques,
                    c.regressed_test_ids.clone(),
                )
            })
            .collect(),
        "blue_review_overdue" => {
            let limit = number("hours", 24) * HOUR;
            input
                .tests
                .iter()
                .filter(|t| t.state == TestState::BlueEvaluating)
                .filter_map(|t| {
                    let waited = input.now - t.submitted_at?;
                    (waited > limit).then(|| {
                        finding(
                            format!("Blue review overdue: {}", t.name),
                            format!(
                                "{} ({}) has waited {} hours for the blue team's evaluation.",
                                t.name,
                                t.technique_id,
                                waited / HOUR
                            ),
                            vec![t.technique_id.clone()],
                            vec![t.id.clone()],
                        )
                    })
                })
                .collect()
        }
        "technique_stale" => {
            let days = number("days", 90);
            // A retired technique is not counted and not to be re-tested;
            // `revoked_technique` reports its tests instead.
            input
                .coverage
                .iter()
                .filter(|c| c.counted)
                .filter_map(|c| {
                    let idle = input.now - c.last_tested_at?;
                    (idle > days * DAY).then(|| {
                        finding(
                            format!("Not re-tested: {}", c.technique_id),
                            format!(
                                "{} was last tested {} days ago (limit {days}).",
                                c.technique_id,
                                idle / DAY
                            ),
                            vec![c.technique_id.clone()],
                            Vec::new(),
                        )
                    })
                })
                .collect()
        }
        "revoked_technique" => input
            .techniques
            .iter()
            .filter(|t| t.revoked || t.deprecated)
            .filter_map(|t| {
                let tests: Vec<String> = input
                    .tests
                    .iter()
                    .filter(|x| x.technique_id == t.id)
                    .map(|x| x.id.clone())
                    .collect();
                (!tests.is_empty()).then(|| {
                    let what = if t.revoked { "revoked" } else { "deprecated" };
                    let replacement = t
                        .replaced_by
                        .as_deref()
                        .map(|r| format!(" Its replacement is {r}."))
                        .unwrap_or_default();
                    finding(
                        format!("Tests on {what} technique {}", t.id),
                        format!(
                            "{} test(s) point at {} ({}), which MITRE {what}.{replacement}",
                            tests.len(),
                            t.id,
                            t.name
                        ),
                        vec![t.id.clone()],
                        tests,
                    )
                })
            })
            .collect(),
        "coverage_drop" => {
            let Some(baseline) = baseline else {
                return Vec::new();
            };
            let points = params.get("points").and_then(Value::as_f64).unwrap_or(5.0);
            // The rule's tactic; without one, the whole matrix and each tactic.
            let areas: Vec<Option<&str>> = match scope_tactic {
                Some(tactic) => vec![Some(tactic)],
                None => {
                    let tactics: std::collections::BTreeSet<&str> = input
                        .techniques
                        .iter()
                        .flat_map(|t| t.tactics.iter().map(String::as_str))
                        .collect();
                    std::iter::once(None).chain(tactics.into_iter().map(Some)).collect()
                }
            };
            areas
                .into_iter()
                .filter_map(|area| coverage_drop(input, baseline, area, points))
                .map(|(title, message, lost)| finding(title, message, lost, Vec::new()))
                .collect()
        }
        _ => Vec::new(),
    }
}

/// The technique of the row `c` first, then the sub-techniques whose tests
/// regressed (read from the tests the rule sees).
fn regressed_techniques(
    input: &EvaluationInput,
    c: &aegis_core::plugins::TechniqueCoverageView,
) -> Vec<String> {
    let mut ids = vec![c.technique_id.clone()];
    let subs: std::collections::BTreeSet<&str> = input
        .tests
        .iter()
        .filter(|t| c.regressed_test_ids.contains(&t.id) && t.technique_id != c.technique_id)
        .map(|t| t.technique_id.as_str())
        .collect();
    ids.extend(subs.into_iter().map(str::to_owned));
    ids
}

/// Whether coverage of `area` (a tactic, or everything) fell by more than
/// `points` since the baseline: the finding's title, message and the
/// techniques that lost their coverage.
fn coverage_drop(
    input: &EvaluationInput,
    baseline: &Baseline,
    area: Option<&str>,
    points: f64,
) -> Option<(String, String, Vec<String>)> {
    // The matrix cells of the area, as the coverage totals count them.
    let tactics: BTreeMap<&str, &[String]> = input
        .techniques
        .iter()
        .map(|t| (t.id.as_str(), t.tactics.as_slice()))
        .collect();
    let counted: Vec<&str> = input
        .coverage
        .iter()
        .filter(|c| c.counted)
        .map(|c| c.technique_id.as_str())
        .filter(|id| {
            area.is_none_or(|tactic| {
                tactics
                    .get(id)
                    .is_some_and(|ts| ts.iter().any(|x| x == tactic))
            })
        })
        .collect();
    if counted.is_empty() {
        return None;
    }
    let now: BTreeMap<&str, CoverageStatus> = input
        .coverage
        .iter()
        .map(|c| (c.technique_id.as_str(), c.status))
        .collect();
    let covered = |status: &dyn Fn(&str) -> Option<CoverageStatus>| {
        counted
            .iter()
            .filter(|t| status(t) == Some(CoverageStatus::Covered))
            .count() as f64
            * 100.0
            / counted.len() as f64
    };
    let before = covered(&|t| baseline.before.get(t).copied());
    let after = covered(&|t| now.get(t).copied());
    if before - after <= points {
        return None;
    }
    let lost = counted
        .iter()
        .filter(|t| {
            baseline.before.get(**t) == Some(&CoverageStatus::Covered)
                && now.get(**t) != Some(&CoverageStatus::Covered)
        })
        .map(|t| (*t).to_owned())
        .collect();
    let what = area.map_or("overall".to_owned(), |t| format!("tactic {t}"));
    Some((
        format!("Coverage dropped: {what}"),
        format!(
            "Coverage ({what}) fell from {before:.1}% to {after:.1}% since the snapshot of {}, more than the {points} points allowed.",
            baseline.taken_at
        ),
        lost,
    ))
}
