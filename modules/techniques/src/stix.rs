//! Reads an ATT&CK STIX 2.1 bundle into a [`Catalog`]: tactics in matrix
//! order, techniques with their tactics, parent, replacement and flags. Only
//! what Aegis keeps is read; anything malformed is an error naming the object.

use std::collections::HashMap;

use serde::Deserialize;
use serde_json::Value;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum StixError {
    #[error("not JSON: {0}")]
    NotJson(String),
    #[error("not a STIX bundle: {0}")]
    NotABundle(String),
    #[error("object {id}: {problem}")]
    BadObject { id: String, problem: String },
    #[error("the bundle holds no {0}")]
    Missing(&'static str),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Release {
    /// `enterprise-attack`, `mobile-attack`, `ics-attack`.
    pub domain: String,
    pub version: String,
    pub modified: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Tactic {
    pub attack_id: String,
    pub stix_id: String,
    pub short_name: String,
    pub name: String,
    pub description: String,
    pub url: Option<String>,
    pub matrix_order: i64,
    pub deprecated: bool,
    pub modified: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Technique {
    pub attack_id: String,
    pub stix_id: String,
    pub name: String,
    pub description: String,
    pub detection: String,
    /// Tactic short names (`execution`), from the kill-chain phases.
    pub tactics: Vec<String>,
    pub platforms: Vec<String>,
    pub data_sources: Vec<String>,
    pub url: Option<String>,
    pub version: Option<String>,
    pub created: String,
    pub modified: String,
    pub is_subtechnique: bool,
    pub parent_attack_id: Option<String>,
    pub revoked: bool,
    pub revoked_by: Option<String>,
    pub deprecated: bool,
    /// The sources the texts cite as `(Citation: <source_name>)`.
    pub references: Vec<Reference>,
}

/// A cited source of a technique: one of its STIX external references.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, Deserialize)]
pub struct Reference {
    /// What `(Citation: …)` names in the description and detection text.
    pub source_name: String,
    /// The full citation (author, title, date).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Catalog {
    pub release: Release,
    pub tactics: Vec<Tactic>,
    pub techniques: Vec<Technique>,
}

#[derive(Deserialize)]
struct Bundle {
    #[serde(rename = "type")]
    kind: String,
    objects: Vec<Value>,
}

#[derive(Deserialize)]
struct ExternalReference {
    source_name: String,
    external_id: Option<String>,
    url: Option<String>,
    description: Option<String>,
}

fn external_references(o: &Value, id: &str) -> Result<Vec<ExternalReference>, StixError> {
    Ok(o.get("external_references")
        .map(|v| serde_json::from_value(v.clone()))
        .transpose()
        .map_err(|e| StixError::BadObject {
            id: id.into(),
            problem: format!("external_references: {e}"),
        })?
        .unwrap_or_default())
}

/// The ATT&CK reference names the object itself (`mitre-attack`, …).
fn is_attack_reference(r: &ExternalReference) -> bool {
    r.source_name.starts_with("mitre-")
        && r.source_name.ends_with("attack")
        && r.external_id.is_some()
}

/// The sources an object cites: its external references but its own ATT&CK
/// id and the catalog cross-references (CAPEC ids) that carry no citation.
fn cited_references(o: &Value, id: &str) -> Result<Vec<Reference>, StixError> {
    Ok(external_references(o, id)?
        .into_iter()
        .filter(|r| !is_attack_reference(r) && (r.description.is_some() || r.url.is_some()))
        .map(|r| Reference {
            source_name: r.source_name,
            description: r.description,
            url: r.url,
        })
        .collect())
}

fn text<'a>(o: &'a Value, key: &str) -> Option<&'a str> {
    o.get(key).and_then(Value::as_str)
}

fn flag(o: &Value, key: &str) -> bool {
    o.get(key).and_then(Value::as_bool).unwrap_or(false)
}

fn strings(o: &Value, key: &str) -> Vec<String> {
    o.get(key)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

fn required<'a>(o: &'a Value, key: &str, id: &str) -> Result<&'a str, StixError> {
    text(o, key).ok_or_else(|| StixError::BadObject {
        id: id.into(),
        problem: format!("`{key}` is missing or not text"),
    })
}

/// The ATT&CK id and page of an object (`mitre-attack`, `mitre-mobile-attack`, `mitre-ics-attack`).
fn attack_reference(o: &Value, id: &str) -> Result<(String, Option<String>), StixError> {
    external_references(o, id)?
        .into_iter()
        .find(is_attack_reference)
        .map(|r| (r.external_id.unwrap_or_default(), r.url))
        .ok_or_else(|| StixError::BadObject {
            id: id.into(),
            problem: "no ATT&CK external id".into(),
        })
}

pub fn parse(bytes: &[u8]) -> Result<Catalog, StixError> {
    let value: Value =
        serde_json::from_slice(bytes).map_err(|e| StixError::NotJson(e.to_string()))?;
    let bundle: Bundle =
        serde_json::from_value(value).map_err(|e| StixError::NotABundle(e.to_string()))?;
    if bundle.kind != "bundle" {
        return Err(StixError::NotABundle(format!("type is `{}`", bundle.kind)));
    }

    let mut release = None;
    let mut matrix_order: Vec<String> = Vec::new();
    let mut parents: HashMap<String, String> = HashMap::new();
    let mut replacements: HashMap<String, String> = HashMap::new();
    for o in &bundle.objects {
        let id = text(o, "id").unwrap_or("(no id)");
        match text(o, "type") {
            Some("x-mitre-collection") => {
                let domain = strings(o, "x_mitre_domains").into_iter().next();
                release = Some(Release {
                    domain: domain
                        .unwrap_or_else(|| domain_from_name(text(o, "name").unwrap_or_default())),
                    version: required(o, "x_mitre_version", id)?.to_owned(),
                    modified: required(o, "modified", id)?.to_owned(),
                });
            }
            Some("x-mitre-matrix") if matrix_order.is_empty() => {
                matrix_order = strings(o, "tactic_refs")
            }
            Some("relationship") if !flag(o, "revoked") => {
                let (source, target) = (
                    required(o, "source_ref", id)?,
                    required(o, "target_ref", id)?,
                );
                match text(o, "relationship_type") {
                    Some("subtechnique-of") => {
                        parents.insert(source.into(), target.into());
                    }
                    Some("revoked-by") => {
                        replacements.insert(source.into(), target.into());
                    }
                    _ => {}
                }
            }
            None => {
                return Err(StixError::BadObject {
                    id: id.into(),
                    problem: "`type` is missing".into(),
                });
            }
            _ => {}
        }
    }
    let release = release.ok_or(StixError::Missing("x-mitre-collection object"))?;

    let mut tactics = Vec::new();
    for o in bundle
        .objects
        .iter()
        .filter(|o| text(o, "type") == Some("x-mitre-tactic"))
    {
        let id = required(o, "id", "(tactic)")?;
        let (attack_id, url) = attack_reference(o, id)?;
        let order = matrix_order
            .iter()
            .position(|r| r == id)
            .map_or(i64::MAX / 2, |p| p as i64);
        tactics.push(Tactic {
            attack_id,
            stix_id: id.into(),
            short_name: required(o, "x_mitre_shortname", id)?.into(),
            name: required(o, "name", id)?.into(),
            description: text(o, "description").unwrap_or_default().into(),
            url,
            matrix_order: order,
            deprecated: flag(o, "x_mitre_deprecated") || flag(o, "revoked"),
            modified: required(o, "modified", id)?.into(),
        });
    }
    tactics.sort_by_key(|t| (t.matrix_order, t.attack_id.clone()));
    for (position, tactic) in tactics.iter_mut().enumerate() {
        tactic.matrix_order = position as i64 + 1;
    }

    // Each pattern's STIX id and ATT&CK reference, read once: the second pass
    // needs every pattern's ATT&CK id to name parents and replacements.
    let mut patterns = Vec::new();
    for o in bundle
        .objects
        .iter()
        .filter(|o| text(o, "type") == Some("attack-pattern"))
    {
        let id = required(o, "id", "(attack-pattern)")?;
        let (attack_id, url) = attack_reference(o, id)?;
        patterns.push((o, id, attack_id, url));
    }
    let attack_ids: HashMap<&str, String> = patterns
        .iter()
        .map(|(_, id, attack_id, _)| (*id, attack_id.clone()))
        .collect();
    let mut techniques = Vec::new();
    for (o, id, attack_id, url) in patterns.iter().cloned() {
        let tactics_of = o
            .get("kill_chain_phases")
            .and_then(Value::as_array)
            .map(|phases| {
                phases
                    .iter()
                    .filter_map(|p| text(p, "phase_name").map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        let is_subtechnique = flag(o, "x_mitre_is_subtechnique");
        let parent = parents
            .get(id)
            .and_then(|p| attack_ids.get(p.as_str()))
            .cloned()
            .or_else(|| {
                // A sub-technique without its relationship still names its parent in its id.
                is_subtechnique.then(|| attack_id.split('.').next().unwrap_or_default().to_owned())
            });
        let revoked = flag(o, "revoked");
        techniques.push(Technique {
            stix_id: id.into(),
            name: required(o, "name", id)?.into(),
            description: text(o, "description").unwrap_or_default().into(),
            detection: text(o, "x_mitre_detection").unwrap_or_default().into(),
            tactics: tactics_of,
            platforms: strings(o, "x_mitre_platforms"),
            data_sources: strings(o, "x_mitre_data_sources"),
            url,
            version: text(o, "x_mitre_version").map(str::to_owned),
            created: text(o, "created").unwrap_or_default().into(),
            modified: required(o, "modified", id)?.into(),
            is_subtechnique,
            parent_attack_id: if is_subtechnique { parent } else { None },
            revoked,
            revoked_by: if revoked {
                replacements
                    .get(id)
                    .and_then(|r| attack_ids.get(r.as_str()))
                    .cloned()
            } else {
                None
            },
            deprecated: flag(o, "x_mitre_deprecated"),
            references: cited_references(o, id)?,
            attack_id,
        });
    }
    if tactics.is_empty() {
        return Err(StixError::Missing("x-mitre-tactic objects"));
    }
    if techniques.is_empty() {
        return Err(StixError::Missing("attack-pattern objects"));
    }
    // An ATT&CK id should name one object; if a bundle repeats one, the
    // active object wins over revoked or deprecated ones.
    techniques.sort_by(|a, b| {
        a.attack_id
            .cmp(&b.attack_id)
            .then((a.revoked || a.deprecated).cmp(&(b.revoked || b.deprecated)))
    });
    techniques.dedup_by(|later, kept| later.attack_id == kept.attack_id);
    let catalog = Catalog {
        release,
        tactics,
        techniques,
    };
    refuse_nul(&catalog)?;
    Ok(catalog)
}

/// Refuses a catalog holding NUL (U+0000) in any text it keeps, naming the
/// object and field: PostgreSQL cannot store it, and the sync is all or
/// nothing, so the whole bundle is refused before anything is written.
fn refuse_nul(catalog: &Catalog) -> Result<(), StixError> {
    let check = |id: &str, fields: &[(&str, &str)]| match fields
        .iter()
        .find(|(_, text)| text.contains('\0'))
    {
        Some((field, _)) => Err(StixError::BadObject {
            id: id.into(),
            problem: format!("`{field}` contains a NUL character (U+0000), which no text may hold"),
        }),
        None => Ok(()),
    };
    let r = &catalog.release;
    check(
        "x-mitre-collection",
        &[
            ("x_mitre_domains", &r.domain),
            ("x_mitre_version", &r.version),
            ("modified", &r.modified),
        ],
    )?;
    for t in &catalog.tactics {
        check(
            &t.stix_id,
            &[
                ("external_id", &t.attack_id),
                ("id", &t.stix_id),
                ("x_mitre_shortname", &t.short_name),
                ("name", &t.name),
                ("description", &t.description),
                ("url", t.url.as_deref().unwrap_or_default()),
                ("modified", &t.modified),
            ],
        )?;
    }
    for t in &catalog.techniques {
        let (tactics, platforms, sources) = (
            t.tactics.concat(),
            t.platforms.concat(),
            t.data_sources.concat(),
        );
        check(
            &t.stix_id,
            &[
                ("external_id", &t.attack_id),
                ("id", &t.stix_id),
                ("name", &t.name),
                ("description", &t.description),
                ("x_mitre_detection", &t.detection),
                ("kill_chain_phases", &tactics),
                ("x_mitre_platforms", &platforms),
                ("x_mitre_data_sources", &sources),
                ("url", t.url.as_deref().unwrap_or_default()),
                ("x_mitre_version", t.version.as_deref().unwrap_or_default()),
                ("created", &t.created),
                ("modified", &t.modified),
                (
                    "subtechnique-of",
                    t.parent_attack_id.as_deref().unwrap_or_default(),
                ),
                ("revoked-by", t.revoked_by.as_deref().unwrap_or_default()),
            ],
        )?;
        for r in &t.references {
            check(
                &t.stix_id,
                &[
                    ("external_references.source_name", &r.source_name),
                    (
                        "external_references.description",
                        r.description.as_deref().unwrap_or_default(),
                    ),
                    (
                        "external_references.url",
                        r.url.as_deref().unwrap_or_default(),
                    ),
                ],
            )?;
        }
    }
    Ok(())
}

fn domain_from_name(name: &str) -> String {
    let lower = name.to_lowercase();
    if lower.contains("mobile") {
        "mobile-attack".into()
    } else if lower.contains("ics") {
        "ics-attack".into()
    } else {
        "enterprise-attack".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shared test data sits beside the project (`../shared/data`);
    /// `AEGIS_SHARED_DATA` points elsewhere.
    fn mini() -> Vec<u8> {
        let root = std::env::var("AEGIS_SHARED_DATA").unwrap_or_else(|_| {
            concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data").into()
        });
        std::fs::read(format!(
            "{root}/attack/fixtures/enterprise-attack-18.1-mini.json"
        ))
        .unwrap()
    }

    #[test]
    fn the_mini_bundle_reads_whole() {
        let catalog = parse(&mini()).unwrap();
        assert_eq!(catalog.release.domain, "enterprise-attack");
        assert_eq!(catalog.release.version, "18.1");
        assert_eq!(catalog.tactics.len(), 14);
        assert_eq!(catalog.tactics[0].short_name, "reconnaissance");
        assert_eq!(catalog.tactics[13].short_name, "impact");
        let powershell = catalog
            .techniques
            .iter()
            .find(|t| t.attack_id == "T1059.001")
            .unwrap();
        assert_eq!(powershell.parent_attack_id.as_deref(), Some("T1059"));
        let lsass = catalog
            .techniques
            .iter()
            .find(|t| t.attack_id == "T1003.001")
            .unwrap();
        let deep_instinct = lsass
            .references
            .iter()
            .find(|r| r.source_name == "Deep Instinct LSASS")
            .unwrap();
        assert!(
            deep_instinct
                .url
                .as_deref()
                .unwrap()
                .starts_with("https://www.deepinstinct.com/")
        );
        assert!(
            deep_instinct
                .description
                .as_deref()
                .unwrap()
                .starts_with("Gilboa, A. (2021")
        );
        assert!(
            lsass
                .references
                .iter()
                .all(|r| r.source_name != "mitre-attack"),
            "the technique's own ATT&CK id is no citation"
        );
        assert!(powershell.tactics.contains(&"execution".to_owned()));
        assert_eq!(catalog.techniques.iter().filter(|t| t.revoked).count(), 3);
        assert!(
            catalog
                .techniques
                .iter()
                .filter(|t| t.revoked)
                .all(|t| t.revoked_by.is_some())
        );
    }

    #[test]
    fn nul_in_kept_text_refuses_the_bundle_naming_the_object() {
        let mut bundle: Value = serde_json::from_slice(&mini()).unwrap();
        let objects = bundle["objects"].as_array_mut().unwrap();
        let technique = objects
            .iter_mut()
            .find(|o| o["type"] == "attack-pattern")
            .unwrap();
        technique["name"] = Value::String("Dump\0ing".into());
        let id = technique["id"].as_str().unwrap().to_owned();
        let error = parse(bundle.to_string().as_bytes()).unwrap_err();
        assert_eq!(
            error,
            StixError::BadObject {
                id,
                problem: "`name` contains a NUL character (U+0000), which no text may hold".into()
            }
        );
    }

    #[test]
    fn wrong_shapes_are_named_errors() {
        assert!(matches!(
            parse(b"{\"type\": \"bundle\", \"objects\": ["),
            Err(StixError::NotJson(_))
        ));
        assert!(matches!(parse(b"[1, 2]"), Err(StixError::NotABundle(_))));
        assert!(matches!(
            parse(br#"{"type": "report", "objects": []}"#),
            Err(StixError::NotABundle(_))
        ));
        assert_eq!(
            parse(br#"{"type": "bundle", "objects": []}"#).unwrap_err(),
            StixError::Missing("x-mitre-collection object")
        );
        let truncated = &mini()[..20_000];
        assert!(parse(truncated).is_err());
    }
}
