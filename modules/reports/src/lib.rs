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
use aegis_core::backup::ObjectColumn;
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

    /// Report generation, for callers that run it themselves.
    pub fn service(&self) -> &ReportService {
        &self.service
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

    /// Rendered files; queued, running and failed reports have none.
    fn object_columns(&self) -> Vec<ObjectColumn> {
        vec![ObjectColumn {
            table: "reports_report",
            key: "storage_key",
            sha256: None,
            size: Some("size_bytes"),
        }]
    }

    fn jobs(&self) -> Vec<JobSpec> {
        let service = self.service.clone();
        vec![
            JobSpec::new(
                "stale_report_sweep",
                "*/30 * * * * *",
                "Marks failed, as interrupted, the reports whose replica stopped generating them (their lease ran out)",
                move |_kernel: Kernel| {
                    let service = service.clone();
                    async move {
                        let failed = service.fail_abandoned().await?;
                        Ok(format!("{failed} interrupted reports marked failed"))
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

    /// Reports a stopped process left unfinished are failed once their lease
    /// ran out (the sweep catches those still within it).
    async fn start(&self, _kernel: &Kernel) -> anyhow::Result<()> {
        self.service.fail_abandoned().await?;
        Ok(())
    }
}

async fn report_orphan_sweep(kernel: Kernel) -> anyhow::Result<String> {
    let grace = chrono::Duration::minutes(sweep::ORPHAN_GRACE_MINUTES);
    let swept = sweep::sweep_orphans(&kernel, grace).await?;
    Ok(format!("reports: {swept}"))
}
