//! Query parameters and response bodies of the techniques API.

use poem_openapi::{Enum, Object};

use crate::catalog::{CatalogMatrix, TechniqueDetails};
use crate::model::{SyncProgress, SyncRun, TechniqueSort};
use crate::repo::{StoredTactic, StoredTechnique};
use crate::stix::Reference;

/// An ATT&CK domain: one matrix and its catalog.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Enum)]
pub enum Domain {
    #[default]
    #[oai(rename = "enterprise-attack")]
    EnterpriseAttack,
    #[oai(rename = "mobile-attack")]
    MobileAttack,
    #[oai(rename = "ics-attack")]
    IcsAttack,
}

impl Domain {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::EnterpriseAttack => "enterprise-attack",
            Self::MobileAttack => "mobile-attack",
            Self::IcsAttack => "ics-attack",
        }
    }
}

/// The order of a technique list: by `attack_id`, `name` or `modified`; a
/// leading `-` sorts descending.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Enum)]
pub enum TechniqueOrder {
    #[default]
    #[oai(rename = "attack_id")]
    AttackId,
    #[oai(rename = "-attack_id")]
    AttackIdDesc,
    #[oai(rename = "name")]
    Name,
    #[oai(rename = "-name")]
    NameDesc,
    #[oai(rename = "modified")]
    Modified,
    #[oai(rename = "-modified")]
    ModifiedDesc,
}

impl From<TechniqueOrder> for TechniqueSort {
    fn from(order: TechniqueOrder) -> Self {
        match order {
            TechniqueOrder::AttackId => Self::AttackId,
            TechniqueOrder::AttackIdDesc => Self::AttackIdDesc,
            TechniqueOrder::Name => Self::Name,
            TechniqueOrder::NameDesc => Self::NameDesc,
            TechniqueOrder::Modified => Self::Modified,
            TechniqueOrder::ModifiedDesc => Self::ModifiedDesc,
        }
    }
}

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct TacticView {
    /// `TA0002`.
    pub attack_id: String,
    /// `execution`: what techniques' tactic lists name.
    pub short_name: String,
    pub name: String,
    pub description: String,
    pub url: Option<String>,
    /// 1-based position in the matrix.
    pub matrix_order: i64,
    pub deprecated: bool,
    /// Set when the tactic is gone from the latest release.
    pub missing_since: Option<String>,
}

impl From<StoredTactic> for TacticView {
    fn from(s: StoredTactic) -> Self {
        let t = s.tactic;
        Self {
            attack_id: t.attack_id,
            short_name: t.short_name,
            name: t.name,
            description: t.description,
            url: t.url,
            matrix_order: t.matrix_order,
            deprecated: t.deprecated,
            missing_since: s.missing_since,
        }
    }
}

/// A technique in lists.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct TechniqueSummary {
    /// `T1059` or `T1059.001`.
    pub attack_id: String,
    pub name: String,
    pub tactics: Vec<String>,
    pub platforms: Vec<String>,
    pub is_subtechnique: bool,
    /// The parent of a sub-technique.
    pub parent_attack_id: Option<String>,
    pub revoked: bool,
    pub deprecated: bool,
    /// Set when the technique is gone from the latest release.
    pub missing_since: Option<String>,
    pub url: Option<String>,
}

impl From<StoredTechnique> for TechniqueSummary {
    fn from(s: StoredTechnique) -> Self {
        let t = s.technique;
        Self {
            attack_id: t.attack_id,
            name: t.name,
            tactics: t.tactics,
            platforms: t.platforms,
            is_subtechnique: t.is_subtechnique,
            parent_attack_id: t.parent_attack_id,
            revoked: t.revoked,
            deprecated: t.deprecated,
            missing_since: s.missing_since,
            url: t.url,
        }
    }
}

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct TechniquePage {
    pub items: Vec<TechniqueSummary>,
    pub total: i64,
    pub limit: i64,
    pub offset: i64,
}

/// A technique in full. `replaced_by` names the technique that replaces a
/// revoked one; `missing_since` is set when the technique is gone from the
/// latest release.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none, example)]
pub struct TechniqueDetail {
    pub attack_id: String,
    pub domain: String,
    pub name: String,
    pub description: String,
    pub detection: String,
    pub tactics: Vec<TacticView>,
    pub platforms: Vec<String>,
    pub data_sources: Vec<String>,
    pub url: Option<String>,
    pub version: Option<String>,
    pub created: String,
    pub modified: String,
    pub is_subtechnique: bool,
    pub parent: Option<TechniqueSummary>,
    pub subtechniques: Vec<TechniqueSummary>,
    pub revoked: bool,
    pub replaced_by: Option<TechniqueSummary>,
    pub deprecated: bool,
    pub missing_since: Option<String>,
    /// The sources `description` and `detection` cite as
    /// `(Citation: <source_name>)`, in the bundle's order.
    pub references: Vec<ReferenceView>,
}

/// A source a technique's texts cite.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct ReferenceView {
    /// What `(Citation: …)` names.
    pub source_name: String,
    /// The full citation: author, title, date.
    pub description: Option<String>,
    pub url: Option<String>,
}

impl From<Reference> for ReferenceView {
    fn from(r: Reference) -> Self {
        Self {
            source_name: r.source_name,
            description: r.description,
            url: r.url,
        }
    }
}

impl poem_openapi::types::Example for TechniqueDetail {
    fn example() -> Self {
        let url = |id: &str| Some(format!("https://attack.mitre.org/techniques/{id}/"));
        Self {
            attack_id: "T1059.001".into(),
            domain: "enterprise-attack".into(),
            name: "PowerShell".into(),
            description: "Adversaries may abuse PowerShell commands and scripts for execution.(Citation: TechNet PowerShell)"
                .into(),
            detection:
                "Monitor for loading and/or execution of artifacts associated with PowerShell."
                    .into(),
            tactics: vec![TacticView {
                attack_id: "TA0002".into(),
                short_name: "execution".into(),
                name: "Execution".into(),
                description: "The adversary is trying to run malicious code.".into(),
                url: Some("https://attack.mitre.org/tactics/TA0002/".into()),
                matrix_order: 4,
                deprecated: false,
                missing_since: None,
            }],
            platforms: vec!["Windows".into()],
            data_sources: vec!["Command: Command Execution".into()],
            url: url("T1059/001"),
            version: Some("1.4".into()),
            created: "2020-03-09T13:33:07.718Z".into(),
            modified: "2024-10-15T16:32:13.268Z".into(),
            is_subtechnique: true,
            parent: Some(TechniqueSummary {
                attack_id: "T1059".into(),
                name: "Command and Scripting Interpreter".into(),
                tactics: vec!["execution".into()],
                platforms: vec!["Windows".into(), "Linux".into(), "macOS".into()],
                is_subtechnique: false,
                parent_attack_id: None,
                revoked: false,
                deprecated: false,
                missing_since: None,
                url: url("T1059"),
            }),
            subtechniques: Vec::new(),
            revoked: false,
            replaced_by: None,
            deprecated: false,
            missing_since: None,
            references: vec![ReferenceView {
                source_name: "TechNet PowerShell".into(),
                description: Some("Microsoft. (n.d.). Windows PowerShell Scripting.".into()),
                url: Some("https://technet.microsoft.com/en-us/scriptcenter/dd742419.aspx".into()),
            }],
        }
    }
}

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct MatrixTechnique {
    pub attack_id: String,
    pub name: String,
    pub platforms: Vec<String>,
    pub subtechniques: Vec<TechniqueSummary>,
}

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct MatrixColumn {
    pub tactic: TacticView,
    pub techniques: Vec<MatrixTechnique>,
}

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct Matrix {
    pub domain: String,
    pub release_version: Option<String>,
    pub tactics: Vec<MatrixColumn>,
}

impl TechniqueDetail {
    pub fn new(domain: String, d: TechniqueDetails) -> Self {
        let t = d.stored.technique;
        Self {
            tactics: d.tactics.into_iter().map(Into::into).collect(),
            attack_id: t.attack_id,
            domain,
            name: t.name,
            description: t.description,
            detection: t.detection,
            platforms: t.platforms,
            data_sources: t.data_sources,
            url: t.url,
            version: t.version,
            created: t.created,
            modified: t.modified,
            is_subtechnique: t.is_subtechnique,
            parent: d.parent.map(Into::into),
            subtechniques: d.subtechniques.into_iter().map(Into::into).collect(),
            revoked: t.revoked,
            replaced_by: d.replaced_by.map(Into::into),
            deprecated: t.deprecated,
            missing_since: d.stored.missing_since,
            references: t.references.into_iter().map(Into::into).collect(),
        }
    }
}

impl From<CatalogMatrix> for Matrix {
    fn from(m: CatalogMatrix) -> Self {
        Self {
            domain: m.domain,
            release_version: m.release_version,
            tactics: m
                .columns
                .into_iter()
                .map(|column| MatrixColumn {
                    tactic: column.tactic.into(),
                    techniques: column
                        .techniques
                        .into_iter()
                        .map(|entry| MatrixTechnique {
                            attack_id: entry.technique.technique.attack_id,
                            name: entry.technique.technique.name,
                            platforms: entry.technique.technique.platforms,
                            subtechniques: entry
                                .subtechniques
                                .into_iter()
                                .map(TechniqueSummary::from)
                                .collect(),
                        })
                        .collect(),
                })
                .collect(),
        }
    }
}

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct SyncRunView {
    pub id: String,
    pub started_at: String,
    pub finished_at: Option<String>,
    /// `running`, `succeeded`, `unchanged` or `failed`.
    pub status: String,
    /// `schedule`, `api`, `upload`, `first_start` (the built-in release) or `cli`.
    pub trigger: String,
    pub domain: String,
    pub source: String,
    pub release_version: Option<String>,
    pub added: i64,
    pub updated: i64,
    pub revoked: i64,
    pub deprecated: i64,
    pub missing: i64,
    pub error: Option<String>,
    /// Where a `running` run stands.
    pub progress: Option<SyncProgressView>,
}

/// Where a running sync stands.
#[derive(Debug, Object)]
pub struct SyncProgressView {
    /// `fetching`, `parsing` or `applying`.
    pub stage: String,
    /// While applying: techniques done of `total`.
    pub done: u64,
    pub total: u64,
}

impl From<SyncProgress> for SyncProgressView {
    fn from(p: SyncProgress) -> Self {
        Self {
            stage: p.stage,
            done: p.done,
            total: p.total,
        }
    }
}

impl From<SyncRun> for SyncRunView {
    fn from(r: SyncRun) -> Self {
        Self {
            id: r.id,
            started_at: r.started_at,
            finished_at: r.finished_at,
            status: r.status,
            trigger: r.trigger_kind,
            domain: r.domain,
            source: r.source,
            release_version: r.release_version,
            added: r.added,
            updated: r.updated,
            revoked: r.revoked,
            deprecated: r.deprecated,
            missing: r.missing,
            error: r.error,
            progress: r.progress.map(Into::into),
        }
    }
}

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct SyncRunPage {
    pub items: Vec<SyncRunView>,
    pub total: i64,
    pub limit: i64,
    pub offset: i64,
}

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct SyncStarted {
    /// The run of the Enterprise source; follow it at `GET /api/v1/system/mitre-sync-runs`.
    pub run_id: String,
}

#[cfg(test)]
mod tests {
    use super::Domain;
    use crate::model::{DEFAULT_DOMAIN, DOMAINS};

    #[test]
    fn the_domain_parameter_names_the_catalog_domains() {
        let all = [
            Domain::EnterpriseAttack,
            Domain::MobileAttack,
            Domain::IcsAttack,
        ];
        assert_eq!(all.map(Domain::as_str), DOMAINS);
        assert_eq!(Domain::default().as_str(), DEFAULT_DOMAIN);
    }
}
