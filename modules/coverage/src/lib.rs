//! Coverage: what the completed tests say about detection, per technique,
//! per tactic and overall, under one rule for parent techniques and their
//! sub-techniques (`rollup`); KPIs; snapshots and their trends; the ATT&CK
//! Navigator export. Reads test facts through the test-case module's
//! published view and the catalog through its service; writes only snapshots.
//! Depends on no other module's repository.
#![forbid(unsafe_code)]

pub mod api;
pub mod error;
pub mod model;
pub mod navigator;
pub mod repo;
pub mod rollup;
pub mod service;
pub mod settings;

use aegis_core::Kernel;
use aegis_core::module::Module;
use aegis_core::scheduler::JobSpec;
use aegis_mod_techniques::CatalogService;

pub use api::CoverageApi;
pub use error::CoverageError;
pub use model::Scope;
pub use service::CoverageService;
pub use settings::CoverageSettings;

pub struct CoverageModule {
    service: CoverageService,
}

impl CoverageModule {
    pub fn new(kernel: &Kernel, catalog: CatalogService) -> Self {
        Self {
            service: CoverageService::new(kernel.clone(), catalog),
        }
    }

    pub fn service(&self) -> &CoverageService {
        &self.service
    }

    pub fn api(&self) -> CoverageApi {
        CoverageApi {
            service: self.service.clone(),
        }
    }
}

#[async_trait::async_trait]
impl Module for CoverageModule {
    fn id(&self) -> &'static str {
        "coverage"
    }

    fn jobs(&self) -> Vec<JobSpec> {
        let (snapshots, retention) = (self.service.clone(), self.service.clone());
        vec![
            JobSpec::new(
                "coverage_snapshot",
                "0 10 2 * * *",
                "Freezes the overall coverage and KPIs for trend charts",
                move |_kernel: Kernel| {
                    let service = snapshots.clone();
                    async move {
                        let snapshot = service.take_snapshot("daily", &Scope::default()).await?;
                        Ok(format!(
                            "snapshot {}: {} techniques covered",
                            snapshot.id, snapshot.kpis.techniques.covered
                        ))
                    }
                },
            ),
            JobSpec::new(
                "snapshot_retention",
                "0 40 2 * * *",
                "Deletes snapshots older than the retention window, never the newest",
                move |kernel: Kernel| {
                    let service = retention.clone();
                    async move {
                        let removed = service.apply_retention(kernel.clock.now()).await?;
                        Ok(format!("{removed} snapshots deleted"))
                    }
                },
            ),
        ]
    }
}
