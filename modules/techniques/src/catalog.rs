//! The catalog's read side: what other modules and the HTTP edge ask of the
//! ATT&CK catalog. Other modules hold a `CatalogService`, never the
//! repository.

use aegis_core::Kernel;

use crate::repo::{CatalogRepo, StoredTactic, StoredTechnique};
use crate::stix::Release;

#[derive(Clone)]
pub struct CatalogService {
    repo: CatalogRepo,
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
}
