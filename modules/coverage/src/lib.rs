//! Coverage: what the completed tests say about detection, per technique,
//! per tactic and overall; KPIs; snapshots and their trends; the ATT&CK
//! Navigator export. Reads the tests and the catalog; writes only snapshots.
#![forbid(unsafe_code)]

pub mod api;
pub mod model;
pub mod navigator;
pub mod repo;
pub mod service;
pub mod settings;

use aegis_core::Kernel;
use aegis_core::module::Module;
use aegis_core::scheduler::JobSpec;

pub use api::CoverageApi;
pub use model::Scope;
pub use service::CoverageService;
pub use settings::CoverageSettings;

pub struct CoverageModule {
    service: CoverageService,
}

impl CoverageModule {
    pub fn new(kernel: &Kernel) -> Self {
        Self {
            service: CoverageService::new(kernel.clone()),
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
        vec![
            JobSpec::new(
                "coverage_snapshot",
                "0 10 2 * * *",
                "Freezes the overall coverage and KPIs for trend charts",
                |kernel: Kernel| async move {
                    let snapshot = CoverageService::new(kernel)
                        .take_snapshot("daily", &Scope::default())
                        .await?;
                    Ok(format!(
                        "snapshot {}: {} techniques covered",
                        snapshot.id, snapshot.kpis.techniques.covered
                    ))
                },
            ),
            JobSpec::new(
                "snapshot_retention",
                "0 40 2 * * *",
                "Deletes snapshots older than the retention window, never the newest",
                |kernel: Kernel| async move {
                    let removed = CoverageService::new(kernel)
                        .apply_retention(aegis_core::time::now())
                        .await?;
                    Ok(format!("{removed} snapshots deleted"))
                },
            ),
        ]
    }
}
