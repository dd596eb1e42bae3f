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
pub mod sweep;

use aegis_core::Kernel;
use aegis_core::module::Module;
use aegis_core::scheduler::JobSpec;
use aegis_mod_campaigns::CampaignService;
use aegis_mod_coverage::CoverageService;
use aegis_mod_plugins::PluginService;

pub use api::ReportsApi;
pub use service::ReportService;

pub struct ReportsModule {
    service: ReportService,
}

impl ReportsModule {
    pub fn new(
        kernel: &Kernel,
        coverage: CoverageService,
        campaigns: CampaignService,
        plugins: PluginService,
    ) -> Self {
        Self {
            service: ReportService::new(kernel.clone(), coverage, campaigns, plugins),
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
        vec![
            JobSpec::new(
                "stale_report_sweep",
                "0 */10 * * * *",
                "Marks failed the reports a stopped server left unfinished",
                move |_kernel: Kernel| {
                    let service = service.clone();
                    async move {
                        let failed = service.fail_stale().await?;
                        Ok(format!("{failed} unfinished reports marked failed"))
                    }
                },
            ),
            JobSpec::new(
                "report_orphan_sweep",
                "0 27 * * * *",
                "Removes stored report files that no report points at (a deletion or generation cut off by a storage outage)",
                report_orphan_sweep,
            ),
        ]
    }

    /// Reports a stopped server left unfinished are marked failed.
    async fn start(&self, _kernel: &Kernel) -> anyhow::Result<()> {
        let failed = self.service.fail_stale().await?;
        if failed > 0 {
            tracing::warn!("{failed} unfinished reports marked failed");
        }
        Ok(())
    }
}

async fn report_orphan_sweep(kernel: Kernel) -> anyhow::Result<String> {
    let grace = chrono::Duration::minutes(sweep::ORPHAN_GRACE_MINUTES);
    let swept = sweep::sweep_orphans(&kernel, grace).await?;
    Ok(format!("reports: {swept}"))
}
