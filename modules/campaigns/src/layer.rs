//! Reading ATT&CK Navigator layers as found in the wild: format 4.x and
//! 3.0 (domain `mitre-enterprise`), one layer or a list of them, techniques
//! with or without a tactic.

use serde_json::Value;

/// Far above any ATT&CK domain's size (Enterprise has under 1,000 techniques
/// and sub-techniques); a bound on what one import creates.
pub const MAX_TECHNIQUES: usize = 5_000;

/// What a campaign is made from: one layer's name, text and techniques.
#[derive(Debug, Clone, PartialEq)]
pub struct LayerDraft {
    pub name: String,
    pub description: String,
    pub domain: String,
    /// Unique technique ids, in the layer's order.
    pub techniques: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
#[error("not an ATT&CK Navigator layer: {0}")]
pub struct LayerError(pub String);

/// Layers in `document`: an object, or an array of objects.
pub fn parse(document: &Value) -> Result<Vec<LayerDraft>, LayerError> {
    let layers: Vec<&Value> = match document {
        Value::Array(items) if !items.is_empty() => items.iter().collect(),
        Value::Object(_) => vec![document],
        _ => {
            return Err(LayerError(
                "expected a layer object or a list of layers".into(),
            ));
        }
    };
    layers
        .into_iter()
        .enumerate()
        .map(|(i, l)| parse_one(i, l))
        .collect()
}

fn parse_one(index: usize, layer: &Value) -> Result<LayerDraft, LayerError> {
    let at = |what: &str| LayerError(format!("layer {}: {what}", index + 1));
    let object = layer.as_object().ok_or_else(|| at("not an object"))?;
    let domain = match object.get("domain").and_then(Value::as_str) {
        // Format 3.0 and older name the Enterprise domain this way.
        Some("mitre-enterprise") | Some("enterprise-attack") => "enterprise-attack",
        Some("mitre-mobile") | Some("mobile-attack") => "mobile-attack",
        Some("ics-attack") => "ics-attack",
        Some(other) => return Err(at(&format!("unknown domain `{other}`"))),
        None => return Err(at("`domain` is missing")),
    };
    let techniques = object
        .get("techniques")
        .map(|t| t.as_array().ok_or_else(|| at("`techniques` is not a list")))
        .transpose()?
        .map(Vec::as_slice)
        .unwrap_or_default();
    let mut seen = std::collections::HashSet::new();
    let mut ids: Vec<String> = Vec::new();
    for entry in techniques {
        let Some(id) = entry.get("techniqueID").and_then(Value::as_str) else {
            continue;
        };
        let id = id.trim().to_ascii_uppercase();
        if seen.insert(id.clone()) {
            ids.push(id);
        }
    }
    if ids.len() > MAX_TECHNIQUES {
        return Err(at(&format!(
            "{} techniques; a layer may list at most {MAX_TECHNIQUES}",
            ids.len()
        )));
    }
    let text = |key: &str| {
        object
            .get(key)
            .and_then(Value::as_str)
            .map(str::trim)
            .unwrap_or_default()
            .to_owned()
    };
    let name = text("name");
    Ok(LayerDraft {
        name: if name.is_empty() {
            format!("Imported layer {}", index + 1)
        } else {
            name.chars().take(200).collect()
        },
        description: text("description").chars().take(64 * 1024).collect(),
        domain: domain.into(),
        techniques: ids,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_old_and_new_formats_and_lists() {
        let v3 = json!({"name": "Bear", "version": "3.0", "domain": "mitre-enterprise",
            "techniques": [{"techniqueID": "T1059", "tactic": "execution"}, {"techniqueID": "T1059", "tactic": "other"}, {"techniqueID": "t1003"}]});
        let drafts = parse(&v3).unwrap();
        assert_eq!(drafts[0].domain, "enterprise-attack");
        assert_eq!(drafts[0].techniques, ["T1059", "T1003"]);
        let list = json!([{"name": "a", "domain": "ics-attack"}, {"domain": "mobile-attack", "techniques": []}]);
        let drafts = parse(&list).unwrap();
        assert_eq!(drafts.len(), 2);
        assert_eq!(drafts[1].name, "Imported layer 2");
        assert!(parse(&json!({"name": "x"})).is_err());
        assert!(parse(&json!([])).is_err());
        assert!(parse(&json!({"domain": "mars-attack"})).is_err());
    }
}
