//! Alerts: rules (built-in kinds and alert-rule plugins) evaluated hourly
//! and on demand against tests, techniques and coverage; the alerts they
//! open, deduplicated while open; evaluation records; webhook delivery.
#![forbid(unsafe_code)]

pub mod api;
pub mod error;
pub mod kinds;
pub mod model;
pub mod repo;
pub mod service;
pub mod settings;
pub mod webhook;

use aegis_core::Kernel;
use aegis_core::module::Module;
use aegis_core::scheduler::JobSpec;
use aegis_mod_coverage::CoverageService;
use aegis_mod_plugins::PluginService;

pub use api::AlertsApi;
pub use service::AlertService;
pub use settings::AlertSettings;

pub struct AlertsModule {
    service: AlertService,
}

impl AlertsModule {
    pub fn new(kernel: &Kernel, coverage: CoverageService, plugins: PluginService) -> Self {
        Self {
            service: AlertService::new(kernel.clone(), coverage, plugins),
        }
    }

    pub fn api(&self) -> AlertsApi {
        AlertsApi {
            service: self.service.clone(),
        }
    }
}

#[async_trait::async_trait]
impl Module for AlertsModule {
    fn id(&self) -> &'static str {
        "alerts"
    }

    fn jobs(&self) -> Vec<JobSpec> {
        let service = self.service.clone();
        vec![JobSpec::new(
            "alert_evaluation",
            "0 5 * * * *",
            "Evaluates every enabled alert rule",
            move |kernel: Kernel| {
                let service = service.clone();
                async move {
                    let done = service.evaluate_all(kernel.clock.now()).await?;
                    let failed = done.iter().filter(|e| e.error.is_some()).count();
                    let opened: i64 = done.iter().map(|e| e.opened).sum();
                    Ok(format!(
                        "{} rules evaluated, {failed} failed, {opened} alerts opened",
                        done.len()
                    ))
                }
            },
        )]
    }
}
