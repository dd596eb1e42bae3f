//! The catalog's read side: what other modules and the HTTP edge ask of the
//! ATT&CK catalog, the matrix included. Other modules hold a
//! `CatalogService`, never the repository.

use aegis_core::Kernel;

use crate::model::TechniqueFilter;
use crate::repo::{CatalogRepo, StoredTactic, StoredTechnique};
use crate::stix::Release;

#[derive(Clone)]
pub struct CatalogService {
    repo: CatalogRepo,
}

/// One technique with what surrounds it in the catalog.
#[derive(Debug, Clone)]
pub struct TechniqueDetails {
    pub stored: StoredTechnique,
    /// The technique's tactics, in matrix order.
    pub tactics: Vec<StoredTactic>,
    pub parent: Option<StoredTechnique>,
    /// The technique that replaces this revoked one.
    pub replaced_by: Option<StoredTechnique>,
    pub subtechniques: Vec<StoredTechnique>,
}

/// The ATT&CK matrix of one domain: current tactics in order, each with
/// its active techniques and their active sub-techniques.
#[derive(Debug, Clone)]
pub struct CatalogMatrix {
    pub domain: String,
    pub release_version: Option<String>,
    pub columns: Vec<TacticColumn>,
}

#[derive(Debug, Clone)]
pub struct TacticColumn {
    pub tactic: StoredTactic,
    pub techniques: Vec<MatrixEntry>,
}

#[derive(Debug, Clone)]
pub struct MatrixEntry {
    pub technique: StoredTechnique,
    pub subtechniques: Vec<StoredTechnique>,
}

impl CatalogService {
    pub fn new(kernel: &Kernel) -> Self {
        Self {
            repo: CatalogRepo::new(kernel.db.clone()),
        }
    }

    /// One technique of `domain` by its ATT&CK id, current or not.
    pub async fn technique(
        &self,
        domain: &str,
        attack_id: &str,
    ) -> Result<Option<StoredTechnique>, sqlx::Error> {
        self.repo.technique(domain, attack_id).await
    }

    /// The tactics of `domain` in matrix order.
    pub async fn tactics(&self, domain: &str) -> Result<Vec<StoredTactic>, sqlx::Error> {
        self.repo.tactics(domain).await
    }

    /// The release of `domain` last synced, if any.
    pub async fn release(&self, domain: &str) -> Result<Option<Release>, sqlx::Error> {
        Ok(self.repo.release(domain).await?.map(|(release, _)| release))
    }

    /// A page of techniques matching `filter`, and how many match.
    pub async fn search(
        &self,
        filter: &TechniqueFilter,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<StoredTechnique>, i64), sqlx::Error> {
        self.repo.search(filter, limit, offset).await
    }

    /// One technique with its tactics, parent, sub-techniques and
    /// replacement; `None` when `domain` has no such technique.
    pub async fn technique_details(
        &self,
        domain: &str,
        attack_id: &str,
    ) -> Result<Option<TechniqueDetails>, sqlx::Error> {
        let Some(stored) = self.repo.technique(domain, attack_id).await? else {
            return Ok(None);
        };
        let t = &stored.technique;
        let tactics = self
            .repo
            .tactics(domain)
            .await?
            .into_iter()
            .filter(|s| t.tactics.contains(&s.tactic.short_name))
            .collect();
        let parent = match &t.parent_attack_id {
            Some(p) => self.repo.technique(domain, p).await?,
            None => None,
        };
        let replaced_by = match &t.revoked_by {
            Some(r) => self.repo.technique(domain, r).await?,
            None => None,
        };
        let subtechniques = self.repo.subtechniques(domain, &t.attack_id).await?;
        Ok(Some(TechniqueDetails {
            stored,
            tactics,
            parent,
            replaced_by,
            subtechniques,
        }))
    }

    /// The matrix of `domain`.
    pub async fn matrix(&self, domain: &str) -> Result<CatalogMatrix, sqlx::Error> {
        let tactics = self.repo.tactics(domain).await?;
        let active = self.repo.active(domain).await?;
        let release_version = self.repo.release(domain).await?.map(|(r, _)| r.version);
        let columns = tactics
            .into_iter()
            .filter(|t| t.missing_since.is_none() && !t.tactic.deprecated)
            .map(|tactic| {
                let short = &tactic.tactic.short_name;
                let techniques = active
                    .iter()
                    .filter(|s| !s.technique.is_subtechnique && s.technique.tactics.contains(short))
                    .map(|s| MatrixEntry {
                        technique: s.clone(),
                        subtechniques: active
                            .iter()
                            .filter(|sub| {
                                sub.technique.parent_attack_id.as_deref()
                                    == Some(s.technique.attack_id.as_str())
                            })
                            .cloned()
                            .collect(),
                    })
                    .collect();
                TacticColumn { tactic, techniques }
            })
            .collect();
        Ok(CatalogMatrix {
            domain: domain.to_owned(),
            release_version,
            columns,
        })
    }
}
