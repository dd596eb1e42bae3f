//! Campaigns: named groups of tests with a status, progress and their own
//! KPIs; completing one takes a coverage snapshot. Imports ATT&CK Navigator
//! layers as campaigns of draft tests. Reads test facts through the
//! test-case module's published view, the catalog and coverage through their
//! services; its own repository stays private. Other modules read campaigns
//! through [`CampaignService`], and the test-case module through
//! [`campaign_directory`].
#![forbid(unsafe_code)]

pub mod api;
pub mod day;
pub mod error;
pub mod layer;
pub mod model;
mod repo;
pub mod service;

use std::sync::Arc;

use aegis_core::Kernel;
use aegis_core::module::Module;
use aegis_mod_coverage::CoverageService;
use aegis_mod_techniques::CatalogService;
use aegis_mod_test_cases::TestService;
use aegis_mod_test_cases::service::CampaignDirectory;

pub use api::CampaignsApi;
pub use error::CampaignError;
pub use service::CampaignService;

/// The port the test-case module asks whether a campaign exists and what
/// its status is. Built before the campaigns module (which depends on the
/// test cases), so it is a function of the kernel alone.
pub fn campaign_directory(kernel: &Kernel) -> Arc<dyn CampaignDirectory> {
    Arc::new(repo::CampaignRepo::new(kernel.db.clone()))
}

pub struct CampaignsModule {
    service: CampaignService,
}

impl CampaignsModule {
    pub fn new(
        kernel: &Kernel,
        tests: TestService,
        coverage: CoverageService,
        catalog: CatalogService,
    ) -> Self {
        Self {
            service: CampaignService::new(kernel.clone(), tests, coverage, catalog),
        }
    }

    /// The service other modules (reports) read campaigns through.
    pub fn service(&self) -> &CampaignService {
        &self.service
    }

    pub fn api(&self) -> CampaignsApi {
        CampaignsApi {
            service: self.service.clone(),
        }
    }
}

#[async_trait::async_trait]
impl Module for CampaignsModule {
    fn id(&self) -> &'static str {
        "campaigns"
    }
}
