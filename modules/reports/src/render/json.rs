//! JSON, following `schema/report.schema.json`.

use serde_json::json;

use crate::document::{Document, attack, detection, when};

pub fn render(doc: &Document) -> Result<Vec<u8>, String> {
    let d = &doc.data;
    let value = json!({
        "title": d.title,
        "kind": d.kind,
        "generated_at": when(Some(d.generated_at)),
        "scope": d.scope,
        "kpis": d.kpis.iter().map(|k| json!({"name": k.name, "value": k.value, "unit": k.unit})).collect::<Vec<_>>(),
        "tactics": d.tactics.iter().map(|t| json!({
            "id": t.id, "name": t.name, "covered": t.covered, "partial": t.partial,
            "gap": t.gap, "untested": t.untested,
        })).collect::<Vec<_>>(),
        "coverage": d.coverage.iter().map(|c| json!({
            "technique_id": c.technique_id,
            "name": doc.technique_names.get(&c.technique_id),
            "status": c.status.as_str(), "tests": c.tests, "regression": c.regression,
            "last_tested_at": c.last_tested_at.map(|t| when(Some(t))),
        })).collect::<Vec<_>>(),
        "tests": d.tests.iter().map(|t| json!({
            "id": t.id, "name": t.name, "technique_id": t.technique_id, "state": t.state.as_str(),
            "campaign_id": t.campaign_id, "platform": t.platform,
            "attack_outcome": Some(attack(t.attack_outcome)).filter(|s| !s.is_empty()),
            "detection_outcome": Some(detection(t.detection_outcome)).filter(|s| !s.is_empty()),
            "executed_at": t.executed_at.map(|x| when(Some(x))),
            "detected_at": t.detected_at.map(|x| when(Some(x))),
        })).collect::<Vec<_>>(),
        "evidence": d.evidence.iter().map(|e| json!({
            "test_id": e.test_id, "side": e.side, "file_name": e.file_name,
            "media_type": e.media_type, "size_bytes": e.size_bytes, "sha256": e.sha256,
        })).collect::<Vec<_>>(),
    });
    serde_json::to_vec_pretty(&value).map_err(|e| e.to_string())
}
