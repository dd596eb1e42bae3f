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
use aegis_core::scheduler::JobSpec;
use aegis_mod_coverage::CoverageService;
use aegis_mod_plugins::PluginService;

pub use api::ReportsApi;
pub use service::ReportService;

pub struct ReportsModule {
    service: ReportService,
}

impl ReportsModule {
    pub fn new(kernel: &Kernel, coverage: CoverageService, plugins: PluginService) -> Self {
        Self {
            service: ReportService::new(kernel.clone(), coverage, plugins),
        }
    }

    pub fn api(&self) -> ReportsApi {
        ReportsApi {
            service: self.service.clone(),
        }
    }
}

#[async_trait::async_trait]
impl Module for ReportsModule {
    fn id(&self) -> &'static str {
        "reports"
    }

    fn jobs(&self) -> Vec<JobSpec> {
        let service = self.service.clone();
        vec![JobSpec::new(
            "stale_report_sweep",
            "0 */10 * * * *",
            "Marks failed the reports a stopped server left unfinished",
            move |_kernel: Kernel| {
                let service = service.clone();
                async move {
                    let failed = fail_stale(&service).await?;
                    Ok(format!("{failed} unfinished reports marked failed"))
                }
            },
        )]
    }

    /// Reports a stopped server left unfinished are marked failed.
    async fn start(&self, _kernel: &Kernel) -> anyhow::Result<()> {
        let failed = fail_stale(&self.service).await?;
        if failed > 0 {
            tracing::warn!("{failed} unfinished reports marked failed");
        }
        Ok(())
    }
}

/// A report takes seconds; one unfinished after this long lost its server.
/// Others may be in progress on another replica, so younger ones are left.
const STALE_AFTER_MINUTES: i64 = 30;

async fn fail_stale(service: &ReportService) -> Result<u64, sqlx::Error> {
    let now = aegis_core::time::now();
    let before = now - chrono::Duration::minutes(STALE_AFTER_MINUTES);
    service.repo().fail_unfinished(before, now).await
}
