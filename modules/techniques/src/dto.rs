//! Response bodies of the techniques API.

use poem_openapi::Object;

use crate::catalog::{CatalogMatrix, TechniqueDetails};
use crate::model::SyncRun;
use crate::repo::{StoredTactic, StoredTechnique};

#[derive(Debug, Object)]
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
pub struct TechniqueSummary {
    /// `T1059` or `T1059.001`.
    pub attack_id: String,
    pub name: String,
    pub tactics: Vec<String>,
    pub platforms: Vec<String>,
    pub is_subtechnique: bool,
    pub parent_attack_id: Option<String>,
    pub revoked: bool,
    pub deprecated: bool,
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
pub struct TechniquePage {
    pub items: Vec<TechniqueSummary>,
    pub total: i64,
    pub limit: i64,
    pub offset: i64,
}

/// A technique in full.
#[derive(Debug, Object)]
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
    /// The technique that replaces this revoked one.
    pub replaced_by: Option<TechniqueSummary>,
    pub deprecated: bool,
    pub missing_since: Option<String>,
}

#[derive(Debug, Object)]
pub struct MatrixTechnique {
    pub attack_id: String,
    pub name: String,
    pub platforms: Vec<String>,
    pub subtechniques: Vec<TechniqueSummary>,
}

#[derive(Debug, Object)]
pub struct MatrixColumn {
    pub tactic: TacticView,
    pub techniques: Vec<MatrixTechnique>,
}

#[derive(Debug, Object)]
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
pub struct SyncRunView {
    pub id: String,
    pub started_at: String,
    pub finished_at: Option<String>,
    /// `running`, `succeeded`, `unchanged` or `failed`.
    pub status: String,
    /// `schedule`, `api` or `cli`.
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
        }
    }
}

#[derive(Debug, Object)]
pub struct SyncRunPage {
    pub items: Vec<SyncRunView>,
    pub total: i64,
    pub limit: i64,
    pub offset: i64,
}

#[derive(Debug, Object)]
pub struct SyncStarted {
    /// The run of the Enterprise source; follow it at `GET /api/v1/system/mitre-sync-runs`.
    pub run_id: String,
}
