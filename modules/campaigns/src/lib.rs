//! Campaigns: named groups of tests with a status, progress and their own
//! KPIs; completing one takes a coverage snapshot. Imports ATT&CK Navigator
//! layers as campaigns of draft tests.
#![forbid(unsafe_code)]

pub mod api;
pub mod layer;
pub mod model;
pub mod repo;
pub mod service;

use aegis_core::Kernel;
use aegis_core::module::Module;
use aegis_mod_coverage::CoverageService;
use aegis_mod_test_cases::TestService;

pub use api::CampaignsApi;
pub use repo::CampaignRepo;
pub use service::CampaignService;

pub struct CampaignsModule {
    service: CampaignService,
}

impl CampaignsModule {
    pub fn new(kernel: &Kernel, tests: TestService, coverage: CoverageService) -> Self {
        Self {
            service: CampaignService::new(kernel.clone(), tests, coverage),
        }
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
