//! Techniques: the MITRE ATT&CK catalog (tactics, techniques, sub-techniques)
//! that tests, coverage and reports point into, the STIX 2.1 sync that
//! keeps it current (from a source, an uploaded bundle, or on a first start
//! the release built in, `data/`). Depends on the kernel only.
#![forbid(unsafe_code)]

pub mod api;
pub mod bundled;
pub mod catalog;
pub mod dto;
pub mod error;
pub mod model;
pub mod progress;
pub mod repo;
pub mod service;
pub mod settings;
pub mod source;
pub mod stix;

use aegis_core::Kernel;
use aegis_core::module::Module;
use aegis_core::scheduler::JobSpec;

pub use api::{MitreSyncApi, TechniquesApi};
pub use catalog::CatalogService;
pub use service::SyncService;
pub use settings::MitreSettings;

pub struct TechniquesModule {
    service: SyncService,
    catalog: CatalogService,
}

impl TechniquesModule {
    pub fn new(kernel: &Kernel) -> Self {
        Self {
            service: SyncService::new(kernel.clone()),
            catalog: CatalogService::new(kernel),
        }
    }

    /// The ATT&CK sync, for the command line.
    pub fn sync(&self) -> &SyncService {
        &self.service
    }

    /// The catalog's read side, for the modules that point into it.
    pub fn catalog(&self) -> &CatalogService {
        &self.catalog
    }

    pub fn apis(&self) -> (TechniquesApi, MitreSyncApi) {
        (
            TechniquesApi {
                catalog: self.catalog.clone(),
            },
            MitreSyncApi {
                service: self.service.clone(),
            },
        )
    }
}

#[async_trait::async_trait]
impl Module for TechniquesModule {
    fn id(&self) -> &'static str {
        "techniques"
    }

    fn jobs(&self) -> Vec<JobSpec> {
        vec![
            JobSpec::new(
                "mitre_sync",
                "0 0 * * * *",
                "Fetches the ATT&CK STIX bundles and updates the catalog; skips unchanged releases",
                service::mitre_sync_job,
            ),
            JobSpec::new(
                "stale_sync_sweep",
                "*/30 * * * * *",
                "Marks failed, as interrupted, the sync runs whose replica stopped (their lease ran out)",
                service::stale_sync_sweep_job,
            ),
        ]
    }

    /// Runs a crashed process left running are recorded as interrupted once
    /// their lease ran out (the sweep catches those still within it). A first
    /// start (no Enterprise catalog yet) loads the built-in release.
    async fn start(&self, _kernel: &Kernel) -> anyhow::Result<()> {
        self.service.fail_abandoned().await?;
        self.service.load_bundled_when_empty().await?;
        Ok(())
    }
}
