//! Coverage as an ATT&CK Navigator layer (format 4.5): one colour and score
//! per status, a legend, and the test counts in each technique's comment.

use serde_json::{Value, json};

use crate::model::{Coverage, Status, TechniqueCoverage};

pub const LAYER_FORMAT: &str = "4.5";
pub const NAVIGATOR_VERSION: &str = "5.1.0";

pub fn color(status: Status) -> &'static str {
    match status {
        Status::Covered => "#31a354",
        Status::Partial => "#fdae6b",
        Status::Gap => "#e6550d",
        Status::Untested => "#d9d9d9",
    }
}

/// Higher is better, so Navigator's aggregate scores mean something.
pub fn score(status: Status) -> u8 {
    match status {
        Status::Covered => 3,
        Status::Partial => 2,
        Status::Gap => 1,
        Status::Untested => 0,
    }
}

fn comment(t: &TechniqueCoverage) -> String {
    if t.tests == 0 {
        return "no completed tests".into();
    }
    let mut text = format!(
        "{} completed test{} over {} procedure{}: {} detected, {} logged only, {} missed (latest per procedure)",
        t.tests,
        if t.tests == 1 { "" } else { "s" },
        t.procedures,
        if t.procedures == 1 { "" } else { "s" },
        t.detected,
        t.logged,
        t.missed
    );
    if t.regression {
        text.push_str("; REGRESSION: detected before, missed by the latest test");
    }
    if t.revoked {
        text.push_str(&match &t.replaced_by {
            Some(by) => format!("; revoked, replaced by {by}"),
            None => "; revoked".into(),
        });
    } else if t.deprecated {
        text.push_str("; deprecated");
    }
    text
}

pub fn layer(coverage: &Coverage, name: &str, attack_version: Option<&str>) -> Value {
    let techniques: Vec<Value> = coverage
        .techniques
        .iter()
        .map(|t| {
            let mut metadata = vec![json!({"name": "status", "value": t.status.as_str()})];
            if let Some(at) = &t.last_tested_at {
                metadata.push(json!({"name": "last tested", "value": at}));
            }
            json!({
                "techniqueID": t.attack_id,
                "score": score(t.status),
                "color": color(t.status),
                "comment": comment(t),
                "enabled": true,
                "metadata": metadata,
                "showSubtechniques": false,
            })
        })
        .collect();
    let mut versions = json!({"navigator": NAVIGATOR_VERSION, "layer": LAYER_FORMAT});
    if let Some(version) = attack_version {
        // Navigator names the major version only ("18"), as its own exports do.
        versions["attack"] = json!(version.split('.').next().unwrap_or(version));
    }
    let o = &coverage.overall;
    json!({
        "name": name,
        "versions": versions,
        "domain": "enterprise-attack",
        "description": format!(
            "Aegis detection coverage: {} covered, {} partial, {} gaps, {} untested ({}% covered)",
            o.covered, o.partial, o.gap, o.untested, coverage.covered_percent
        ),
        "sorting": 0,
        "layout": {"layout": "side", "showID": true, "showName": true, "aggregateFunction": "average"},
        "hideDisabled": false,
        "techniques": techniques,
        "gradient": {"colors": [color(Status::Untested), color(Status::Gap), color(Status::Partial), color(Status::Covered)], "minValue": 0, "maxValue": 3},
        "legendItems": Status::ALL.iter().map(|s| json!({"label": s.as_str(), "color": color(*s)})).collect::<Vec<_>>(),
        "showTacticRowBackground": false,
        "selectTechniquesAcrossTactics": true,
        "selectSubtechniquesWithParent": false,
        "selectVisibleTechniques": false,
    })
}
