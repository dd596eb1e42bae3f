//! Reports: campaign, coverage and executive documents, gathered once and
//! rendered as JSON, CSV, Markdown, HTML, PDF or by a report-format plugin,
//! generated in the background and kept in object storage.
#![forbid(unsafe_code)]

pub mod api;
pub mod document;
pub mod error;
pub mod model;
pub mod render;
pub mod repo;
pub mod service;

use aegis_core::Kernel;
use aegis_core::module::Module;
use aegis_mod_coverage::CoverageService;
use aegis_mod_plugins::PluginService;

pub use api::ReportsApi;
pub use service::ReportService;

pub struct ReportsModule {
    service: ReportService,
}

impl ReportsModule {
    pub fn new(kernel: &Kernel, coverage: CoverageService, plugins: PluginService) -> Self {
        Self { service: ReportService::new(kernel.clone(), coverage, plugins) }
    }

    pub fn api(&self) -> ReportsApi {
        ReportsApi { service: self.service.clone() }
    }
}

#[async_trait::async_trait]
impl Module for ReportsModule {
    fn id(&self) -> &'static str {
        "reports"
    }

    /// Reports a stopped server left half done are marked failed.
    async fn start(&self, _kernel: &Kernel) -> anyhow::Result<()> {
        let failed = self.service.repo().fail_unfinished(aegis_core::time::now()).await?;
        if failed > 0 {
            tracing::warn!("{failed} unfinished reports marked failed after a restart");
        }
        Ok(())
    }
}
