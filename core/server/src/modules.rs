//! The one place that lists Aegis's modules and composes their APIs. Adding a
//! module touches this file and nothing else in the server.

use aegis_core::Kernel;
use aegis_core::auth::IdentityResolver;
use aegis_core::module::Module;
use aegis_core::scheduler::JobRegistry;
use aegis_mod_alerts::{AlertsApi, AlertsModule};
use aegis_mod_campaigns::{CampaignsApi, CampaignsModule, campaign_directory};
use aegis_mod_coverage::{CoverageApi, CoverageModule};
use aegis_mod_plugins::{PluginsApi, PluginsModule};
use aegis_mod_reports::{ReportsApi, ReportsModule};
use aegis_mod_system::{HealthApi, SystemApi, SystemModule};
use aegis_mod_techniques::{MitreSyncApi, TechniquesApi, TechniquesModule};
use aegis_mod_test_cases::{EvidenceApi, TemplatesApi, TestCasesApi, TestCasesModule};
use aegis_mod_users::{AuthApi, UsersApi, UsersModule};
use poem_openapi::OpenApi;
use std::sync::Arc;

/// Every module's API, composed into one OpenAPI document.
pub type Apis = (
    HealthApi,
    AuthApi,
    UsersApi,
    SystemApi,
    TechniquesApi,
    MitreSyncApi,
    TestCasesApi,
    EvidenceApi,
    TemplatesApi,
    CampaignsApi,
    CoverageApi,
    PluginsApi,
    AlertsApi,
    ReportsApi,
);

pub struct Composition {
    pub modules: Vec<Box<dyn Module>>,
    pub identity: Arc<dyn IdentityResolver>,
    pub jobs: JobRegistry,
    pub apis: Apis,
}

pub fn compose(kernel: &Kernel) -> anyhow::Result<Composition> {
    let users = UsersModule::new(kernel);
    let (auth_api, users_api) = users.apis(kernel);
    let identity = users.identity_resolver();
    let techniques = TechniquesModule::new(kernel);
    let (techniques_api, mitre_sync_api) = techniques.apis();
    // Tests ask campaigns whether one exists through a port; campaigns use tests.
    let tests = TestCasesModule::new(
        kernel,
        identity.clone(),
        campaign_directory(kernel),
        techniques.catalog().clone(),
    );
    let (tests_api, evidence_api, templates_api) = tests.apis();
    let coverage = CoverageModule::new(kernel, techniques.catalog().clone());
    let campaigns = CampaignsModule::new(
        kernel,
        tests.tests().clone(),
        coverage.service().clone(),
        techniques.catalog().clone(),
    );
    let (campaigns_api, coverage_api) = (campaigns.api(), coverage.api());
    // The one place wasmtime enters: the host implements the kernel's plugin ports.
    let plugin_host =
        aegis_plugin_host::WasmHost::new(&kernel.settings.plugins, kernel.storage.clone())?;
    let plugins = PluginsModule::new(kernel, Arc::new(plugin_host));
    let plugins_api = plugins.api();
    let alerts = AlertsModule::new(
        kernel,
        coverage.service().clone(),
        plugins.service().clone(),
    );
    let alerts_api = alerts.api();
    let reports = ReportsModule::new(
        kernel,
        coverage.service().clone(),
        campaigns.service().clone(),
        plugins.service().clone(),
    );
    let reports_api = reports.api();
    let modules: Vec<Box<dyn Module>> = vec![
        Box::new(users),
        Box::new(SystemModule),
        Box::new(techniques),
        Box::new(tests),
        Box::new(coverage),
        Box::new(campaigns),
        Box::new(plugins),
        Box::new(alerts),
        Box::new(reports),
    ];
    aegis_core::module::check_unique_ids(&modules)?;
    let jobs = JobRegistry::new(
        modules.iter().flat_map(|m| m.jobs()).collect(),
        &kernel.settings.jobs,
    )?;
    check_unique_routes()?;
    let apis = (
        HealthApi {
            kernel: kernel.clone(),
        },
        auth_api,
        users_api,
        SystemApi {
            kernel: kernel.clone(),
            jobs: jobs.clone(),
        },
        techniques_api,
        mitre_sync_api,
        tests_api,
        evidence_api,
        templates_api,
        campaigns_api,
        coverage_api,
        plugins_api,
        alerts_api,
        reports_api,
    );
    Ok(Composition {
        modules,
        identity,
        jobs,
        apis,
    })
}

/// poem-openapi lets a later API silently replace an earlier one's route.
fn check_unique_routes() -> anyhow::Result<()> {
    let mut seen = std::collections::BTreeSet::new();
    for api in <Apis as OpenApi>::meta() {
        for path in api.paths {
            for op in path.operations {
                if !seen.insert((path.path.clone(), op.method.to_string())) {
                    anyhow::bail!("two modules declare {} {}", op.method, path.path);
                }
            }
        }
    }
    Ok(())
}
