//! CSV: one row per test, for spreadsheets.

use std::collections::HashMap;

use crate::document::{Document, attack, detection, when};

const HEADER: [&str; 12] = [
    "test_id",
    "name",
    "technique_id",
    "technique",
    "state",
    "campaign_id",
    "platform",
    "attack_outcome",
    "detection_outcome",
    "executed_at",
    "detected_at",
    "evidence_files",
];

pub fn render(doc: &Document) -> Result<Vec<u8>, String> {
    let mut out = csv::Writer::from_writer(Vec::new());
    out.write_record(HEADER).map_err(|e| e.to_string())?;
    let mut files: HashMap<&str, usize> = HashMap::new();
    for e in &doc.data.evidence {
        *files.entry(e.test_id.as_str()).or_default() += 1;
    }
    for t in &doc.data.tests {
        let evidence = files.get(t.id.as_str()).copied().unwrap_or_default();
        let name = doc
            .technique_names
            .get(&t.technique_id)
            .map(String::as_str)
            .unwrap_or("");
        out.write_record([
            &neutral(&t.id),
            &neutral(&t.name),
            &neutral(&t.technique_id),
            &neutral(name),
            t.state.as_str(),
            &neutral(t.campaign_id.as_deref().unwrap_or("")),
            &neutral(t.platform.as_deref().unwrap_or("")),
            attack(t.attack_outcome),
            detection(t.detection_outcome),
            &when(t.executed_at),
            &when(t.detected_at),
            &evidence.to_string(),
        ])
        .map_err(|e| e.to_string())?;
    }
    out.into_inner().map_err(|e| e.to_string())
}

/// Spreadsheets run cells that start with `=`, `+`, `-` or `@` as formulas:
/// user text is prefixed with `'` so it stays text (CSV injection).
fn neutral(text: &str) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_owned()
    }
}
